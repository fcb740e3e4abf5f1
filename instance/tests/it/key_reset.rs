//! Key reset by a one-time e-mailed token, through the API on SQLite and PostgreSQL against the
//! devnet: the answer to `startResetKey` does not tell whether the address is known, a token
//! works once and only before it expires, the reset revokes the account's refresh tokens, and
//! once the follower stored `registrator::changekey` the new key logs in and the old one does
//! not.

use std::sync::{Arc, Mutex};

use anyhow::{Context as _, ensure};
use mono_instance::antelope::keys::PrivateKey;
use mono_instance::chain::api::{ApiOptions, ChainApi};
use mono_instance::chain::push::Pusher;
use mono_instance::devnet::Storage;
use mono_instance::mail::{self, Mail, Mailer};
use mono_instance::store::{JsonText, Store};
use serde_json::json;

use crate::api::{Api, bootstrap_key, error_code, sync_to};
use crate::crash::{devnet, loopback, produce};
use crate::support::two_database_test;

/// The test's mailer: keeps what it was asked to send.
#[derive(Default)]
pub(crate) struct Outbox(Mutex<Vec<Mail>>);

#[async_trait::async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: &Mail) -> Result<(), mail::Error> {
        self.0.lock().expect("not poisoned").push(mail.clone());
        Ok(())
    }
}

impl Outbox {
    pub(crate) fn len(&self) -> usize {
        self.0.lock().expect("not poisoned").len()
    }

    /// The token in the last message, and its recipient.
    pub(crate) fn last_token(&self) -> anyhow::Result<(String, String)> {
        let sent = self.0.lock().expect("not poisoned");
        let mail = sent.last().context("a message")?;
        let token = mail
            .body
            .lines()
            .map(str::trim)
            .find(|line| line.len() == 43 && !line.contains(' '))
            .context("a token line")?;
        Ok((token.to_owned(), mail.to.clone()))
    }
}

const START: &str = "mutation($e: String!) { startResetKey(data: {email: $e}) }";
const RESET: &str = "mutation($t: String!, $k: String!) { resetKey(data: {token: $t, public_key: $k}) { transaction_id } }";

two_database_test!(
    a_key_is_reset_once_by_an_emailed_token,
    |urls: [String; 2]| async move {
        let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
        let ready = devnet.ready();
        let store = Store::open(&urls[0]).await?;
        // member2, a council member of the devnet, registered with this address.
        let person = json!({"username": "member2", "first_name": "Андрей",
                            "last_name": "Кузнецов", "email": "member2@voskhod.coop"});
        store
            .put_private("individual", "member2", &JsonText::from_value(&person), 1)
            .await?;
        let lib = produce(&devnet, 2)? - 1;
        sync_to(&devnet, &store, lib).await?;
        let chain = ChainApi::new(&ready.http, ApiOptions::default())?;
        let pusher = Pusher::new(chain, ready.coopname, bootstrap_key(&devnet, "voskhod")?);
        let outbox = Arc::new(Outbox::default());
        let api = Api::start_mailing(
            store.clone(),
            ready.coopname,
            Some(pusher),
            Some(outbox.clone()),
        )
        .await?;
        let old_key = bootstrap_key(&devnet, "member2")?;
        let new_key = PrivateKey::from_bytes(&[0x42; 32])?;
        let (_, refresh, _) = api.login("member2", &old_key).await?;

        // The same answer for an unknown address, and nothing is sent.
        let unknown = api
            .data(None, START, json!({"e": "nobody@voskhod.coop"}))
            .await?;
        let known = api
            .data(None, START, json!({"e": " Member2@Voskhod.coop "}))
            .await?;
        ensure!(
            unknown == known && known["startResetKey"] == true,
            "{unknown} {known}"
        );
        ensure!(outbox.len() == 1, "one message, to the known address");
        let (token, to) = outbox.last_token()?;
        ensure!(to == "member2@voskhod.coop", "{to}");

        // A wrong token and a bad key are refused, and spend nothing.
        let new_public = new_key.public_key().to_string();
        let wrong = api
            .call(None, RESET, json!({"t": "x".repeat(43), "k": new_public}))
            .await?;
        ensure!(error_code(&wrong) == Some("UNAUTHENTICATED"), "{wrong}");
        let bad_key = api
            .call(None, RESET, json!({"t": token, "k": "EOS-not-a-key"}))
            .await?;
        ensure!(error_code(&bad_key) == Some("BAD_USER_INPUT"), "{bad_key}");
        ensure!(bad_key["errors"][0]["extensions"]["fields"][0]["field"] == "public_key");

        // The token works once; the account's sessions end.
        let reset = api
            .data(None, RESET, json!({"t": token, "k": new_public}))
            .await?;
        ensure!(reset["resetKey"]["transaction_id"].is_string(), "{reset}");
        let again = api
            .call(None, RESET, json!({"t": token, "k": new_public}))
            .await?;
        ensure!(error_code(&again) == Some("UNAUTHENTICATED"), "{again}");
        let revoked = api.refresh(&refresh).await?;
        ensure!(error_code(&revoked) == Some("UNAUTHENTICATED"), "{revoked}");

        // Once the block with changekey is stored, the new key logs in and the old one not.
        let lib = produce(&devnet, 2)? - 1;
        sync_to(&devnet, &store, lib).await?;
        let (_, _, role) = api.login("member2", &new_key).await?;
        ensure!(role == "council", "{role}");
        ensure!(
            api.login("member2", &old_key).await.is_err(),
            "the old key is refused"
        );

        // An expired token is refused.
        api.data(None, START, json!({"e": "member2@voskhod.coop"}))
            .await?;
        let (late, _) = outbox.last_token()?;
        api.advance(31 * 60);
        let expired = api
            .call(
                None,
                RESET,
                json!({"t": late, "k": old_key.public_key().to_string()}),
            )
            .await?;
        ensure!(error_code(&expired) == Some("UNAUTHENTICATED"), "{expired}");
        store.close().await;
        devnet.stop().await?;
        Ok(())
    }
);
