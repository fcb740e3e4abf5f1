//! Signers' keys from the chain store: which keys an account had at a block, from the stored
//! actions that set them (the registrator's `newaccount` and `changekey`, the system's
//! `newaccount` and `updateauth`), so verification checks that a signature's key was the
//! signer's when it signed.
//!
//! The history is read once per account ([`ChainKeys::load`]); the answers are then pure.
//! An account's keys at a block are the union of its permissions' keys after every change up to
//! that block: the registrator sets the `owner` and `active` keys together, `newaccount` sets
//! both authorities, `updateauth` one permission.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::time::TimePointSec;
use crate::factory::verify::SignerKeys;
use crate::registry::projection::Contracts;
use crate::store::{self, KeyAction, Store};

const OWNER: Name = Name::from_str_const("owner");
const ACTIVE: Name = Name::from_str_const("active");

/// Why key history could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error("reading the key history of {account}")]
    Store {
        /// The account.
        account: Name,
        /// The failure.
        #[source]
        source: store::Error,
    },
    /// A stored action that sets keys does not have the expected fields.
    #[error("{contract}::{action} {global_sequence} does not name a key")]
    Action {
        /// The contract.
        contract: String,
        /// The action.
        action: String,
        /// The action's sequence number.
        global_sequence: u64,
    },
}

/// One change of an account's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyChange {
    block_num: u32,
    /// The block's time, whole seconds.
    block_secs: i64,
    /// The permissions it sets, each to `keys`.
    permissions: Vec<(Name, Vec<PublicKey>)>,
}

/// The key history of some accounts, as the chain store holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainKeys {
    accounts: BTreeMap<Name, Vec<KeyChange>>,
}

#[derive(Deserialize)]
struct OneKey {
    public_key: PublicKey,
}

#[derive(Deserialize)]
struct Authority {
    keys: Vec<KeyWeight>,
}

#[derive(Deserialize)]
struct KeyWeight {
    key: PublicKey,
}

#[derive(Deserialize)]
struct NewAccount {
    owner: Authority,
    active: Authority,
}

#[derive(Deserialize)]
struct UpdateAuth {
    permission: Name,
    auth: Authority,
}

impl ChainKeys {
    /// Reads the key history of `accounts` up to block `up_to` from `store`, with the
    /// registrator named in `contracts`.
    ///
    /// # Errors
    /// [`Error::Store`]; [`Error::Action`] when a stored action that sets keys names none.
    pub async fn load(
        store: &Store,
        contracts: &Contracts,
        accounts: &[Name],
        up_to: u32,
    ) -> Result<Self, Error> {
        let registrator = contracts.registrator.to_string();
        let mut history = BTreeMap::new();
        for account in accounts {
            if history.contains_key(account) {
                continue;
            }
            let actions = store
                .key_actions(&account.to_string(), &registrator, up_to)
                .await
                .map_err(|source| Error::Store {
                    account: *account,
                    source,
                })?;
            let changes = actions.iter().map(change).collect::<Result<Vec<_>, _>>()?;
            history.insert(*account, changes);
        }
        Ok(Self { accounts: history })
    }

    /// `account`'s keys after every change up to and including block `block_num`; `None`
    /// when its history was not loaded.
    pub fn keys_at(&self, account: Name, block_num: u32) -> Option<BTreeSet<PublicKey>> {
        self.keys_after(account, |change| change.block_num <= block_num)
    }

    /// `account`'s `active` keys after every change up to and including block `block_num`,
    /// the keys it signs transactions and logins with; empty when its history was not loaded.
    pub fn active_keys_at(&self, account: Name, block_num: u32) -> Vec<PublicKey> {
        let Some(changes) = self.accounts.get(&account) else {
            return Vec::new();
        };
        changes
            .iter()
            .take_while(|change| change.block_num <= block_num)
            .flat_map(|change| &change.permissions)
            .filter(|(permission, _)| *permission == ACTIVE)
            .last()
            .map(|(_, keys)| keys.clone())
            .unwrap_or_default()
    }

    /// `account`'s keys at `time`: after every change in a block of that second or earlier.
    pub fn keys_at_time(&self, account: Name, time: TimePointSec) -> Option<BTreeSet<PublicKey>> {
        let secs = i64::from(time.as_secs());
        self.keys_after(account, |change| change.block_secs <= secs)
    }

    fn keys_after(
        &self,
        account: Name,
        applies: impl Fn(&KeyChange) -> bool,
    ) -> Option<BTreeSet<PublicKey>> {
        let changes = self.accounts.get(&account)?;
        let mut permissions: BTreeMap<Name, &[PublicKey]> = BTreeMap::new();
        for change in changes.iter().take_while(|change| applies(change)) {
            for (permission, keys) in &change.permissions {
                permissions.insert(*permission, keys);
            }
        }
        Some(permissions.into_values().flatten().copied().collect())
    }
}

impl SignerKeys for ChainKeys {
    /// Whether `key` was one of `signer`'s keys when it signed; `None` for a signer whose
    /// history was not loaded.
    fn key_in_force(&self, signer: Name, key: &PublicKey, signed_at: TimePointSec) -> Option<bool> {
        self.keys_at_time(signer, signed_at)
            .map(|keys| keys.contains(key))
    }
}

fn change(action: &KeyAction) -> Result<KeyChange, Error> {
    let malformed = || Error::Action {
        contract: action.contract.clone(),
        action: action.action.clone(),
        global_sequence: action.global_sequence,
    };
    let data = action.data.as_ref().ok_or_else(malformed)?.as_str();
    let permissions = match (action.contract.as_str(), action.action.as_str()) {
        ("eosio", "newaccount") => {
            let created: NewAccount = serde_json::from_str(data).map_err(|_| malformed())?;
            vec![
                (OWNER, keys_of(created.owner)),
                (ACTIVE, keys_of(created.active)),
            ]
        }
        ("eosio", "updateauth") => {
            let update: UpdateAuth = serde_json::from_str(data).map_err(|_| malformed())?;
            vec![(update.permission, keys_of(update.auth))]
        }
        _ => {
            let set: OneKey = serde_json::from_str(data).map_err(|_| malformed())?;
            vec![
                (OWNER, vec![set.public_key]),
                (ACTIVE, vec![set.public_key]),
            ]
        }
    };
    Ok(KeyChange {
        block_num: action.block_num,
        block_secs: action.block_time_ms.div_euclid(1000),
        permissions,
    })
}

fn keys_of(authority: Authority) -> Vec<PublicKey> {
    authority
        .keys
        .into_iter()
        .map(|weight| weight.key)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::antelope::keys::PrivateKey;
    use crate::store::JsonText;

    fn key(seed: u8) -> PublicKey {
        PrivateKey::from_bytes(&[seed; 32])
            .expect("a valid scalar")
            .public_key()
    }

    fn action(sequence: u64, block_num: u32, contract: &str, name: &str, data: &str) -> KeyAction {
        KeyAction {
            global_sequence: sequence,
            block_num,
            block_time_ms: i64::from(block_num) * 500,
            contract: contract.to_owned(),
            action: name.to_owned(),
            data: Some(JsonText::parse(data.to_owned()).expect("json")),
        }
    }

    #[test]
    fn keys_follow_every_kind_of_change() {
        let alice = Name::from_str_const("alice");
        let authority = |key: PublicKey| {
            format!(
                r#"{{"threshold":1,"keys":[{{"key":"{key}","weight":1}}],"accounts":[],"waits":[]}}"#
            )
        };
        let actions = [
            action(
                1,
                10,
                "eosio",
                "newaccount",
                &format!(
                    r#"{{"creator":"eosio","name":"alice","owner":{},"active":{}}}"#,
                    authority(key(1)),
                    authority(key(1))
                ),
            ),
            action(
                2,
                20,
                "registrator",
                "changekey",
                &format!(
                    r#"{{"coopname":"voskhod","changer":"voskhod","username":"alice","public_key":"{}"}}"#,
                    key(2)
                ),
            ),
            action(
                3,
                30,
                "eosio",
                "updateauth",
                &format!(
                    r#"{{"account":"alice","permission":"active","parent":"owner","auth":{}}}"#,
                    authority(key(3))
                ),
            ),
        ];
        let history = ChainKeys {
            accounts: BTreeMap::from([(
                alice,
                actions
                    .iter()
                    .map(change)
                    .collect::<Result<_, _>>()
                    .expect("changes"),
            )]),
        };
        let check = |block_num: u32, expected: &[u8]| {
            let keys = history.keys_at(alice, block_num).expect("loaded");
            assert_eq!(
                keys,
                expected.iter().map(|seed| key(*seed)).collect(),
                "block {block_num}"
            );
        };
        check(9, &[]);
        check(10, &[1]);
        check(29, &[2]);
        check(30, &[2, 3]);
        // Logins and transactions answer to the active permission alone.
        for (block_num, expected) in [(9, None), (10, Some(1)), (29, Some(2)), (30, Some(3))] {
            assert_eq!(
                history.active_keys_at(alice, block_num),
                expected.map(key).into_iter().collect::<Vec<_>>(),
                "block {block_num}"
            );
        }
        assert!(
            history
                .active_keys_at(Name::from_str_const("bob"), 30)
                .is_empty()
        );
        // Block 20 is at 10 s; a signature at 10 s sees its change, one at 9 s does not.
        let at = TimePointSec::from_secs;
        assert_eq!(history.key_in_force(alice, &key(2), at(10)), Some(true));
        assert_eq!(history.key_in_force(alice, &key(1), at(10)), Some(false));
        assert_eq!(history.key_in_force(alice, &key(1), at(9)), Some(true));
        assert_eq!(
            history.key_in_force(Name::from_str_const("bob"), &key(1), at(9)),
            None
        );
        let broken = action(4, 40, "registrator", "changekey", r#"{"username":"alice"}"#);
        assert!(matches!(
            change(&broken),
            Err(Error::Action {
                global_sequence: 4,
                ..
            })
        ));
    }
}
