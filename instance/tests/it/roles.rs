//! Roles read from chain state as of a block, on SQLite and PostgreSQL: the devnet's demo
//! cooperative has a chairman and two council members on its board from block 2; a member the
//! cooperative adds later is a member from the block that adds them, and a stranger before.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use mono_instance::antelope::name::Name;
use mono_instance::antelope::time::TimePointSec;
use mono_instance::devnet::Storage;
use mono_instance::parser::{Filter, Metrics, ParserConfig, Stopped, follow};
use mono_instance::registry::projection::Contracts;
use mono_instance::registry::roles::{Role, role_at};
use mono_instance::store::Store;
use tokio::sync::watch;

use crate::crash::{Traffic, devnet, loopback, produce};
use crate::support::two_database_test;

const DEADLINE: Duration = Duration::from_secs(60);

two_database_test!(
    roles_come_from_the_board_and_the_shareholders_as_of_a_block,
    |urls: [String; 2]| async move {
        let devnet = devnet(Storage::Ephemeral, loopback()?, loopback()?).await?;
        produce(&devnet, 2)?;
        let traffic = Traffic::new(&devnet).await?;
        let newcomer = devnet
            .node()
            .bootstrap()
            .synthetic_member(7, TimePointSec::from_secs(0))
            .data["username"]
            .as_str()
            .context("adduser names the member")?
            .parse::<Name>()?;
        let before = produce(&devnet, 1)?;
        traffic.add_member(&devnet, 7).await?;
        let joined = produce(&devnet, 1)?;
        let lib = produce(&devnet, 2)? - 1;

        let ready = devnet.ready();
        let mut config = ParserConfig::new(
            &ready.ship,
            &ready.http,
            Filter::new(&ready.contracts(), ready.coopname),
        );
        config.stop_after = Some(lib);
        let store = Store::open(&urls[0]).await?;
        let (_stop, shutdown) = watch::channel(false);
        let stopped = tokio::time::timeout(
            DEADLINE,
            follow(&store, &config, &Metrics::default(), shutdown),
        )
        .await
        .context("sync in time")??;
        ensure!(stopped == Stopped::Reached(lib), "{stopped:?}");

        let coop = ready.coopname;
        let role = |account: &str, block_num: u32| {
            let store = store.clone();
            let account = account.parse::<Name>();
            async move {
                anyhow::Ok(role_at(&store, Contracts::default(), coop, account?, block_num).await?)
            }
        };
        let expected = [
            ("chairman", lib, Role::Chairman),
            ("member1", lib, Role::Council),
            ("member2", lib, Role::Council),
            ("nobody", lib, Role::Stranger),
            // Before the cooperative set up its board, nobody is anything to it.
            ("chairman", 1, Role::Stranger),
        ];
        for (account, block_num, role_expected) in expected {
            let got = role(account, block_num).await?;
            ensure!(got == role_expected, "{account} at {block_num}: {got:?}");
        }
        let newcomer = newcomer.to_string();
        ensure!(role(&newcomer, before).await? == Role::Stranger);
        ensure!(role(&newcomer, joined).await? == Role::Member);
        store.close().await;
        devnet.stop().await?;
        Ok(())
    }
);
