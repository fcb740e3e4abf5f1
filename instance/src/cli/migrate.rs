//! `mono migrate`: brings a database's schema up to this version and exits, so a rollout can
//! migrate once, before any instance of the new version starts.

use anyhow::Context as _;
use clap::Args;
use serde_json::json;

use super::{Outcome, print_json};
use crate::cli::sync::open_store;

/// `mono migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Database URL: `postgres://…` or `sqlite://PATH`.
    #[arg(long, env = "MONO_DATABASE_URL")]
    database: String,
}

/// Runs `mono migrate`: opening the store runs its backend's pending migrations in order.
pub fn run(args: MigrateArgs) -> anyhow::Result<Outcome> {
    crate::telemetry::init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let cursor = runtime.block_on(async {
        let store = open_store(&args.database).await?;
        let cursor = store.cursor().await.context("reading the cursor")?;
        store.close().await;
        anyhow::Ok(cursor)
    })?;
    print_json(&json!({
        "migrated": true,
        "cursor_block": cursor.map(|cursor| cursor.block_num),
    }));
    Ok(Outcome::Success)
}
