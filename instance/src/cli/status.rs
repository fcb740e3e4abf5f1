//! `mono status`: the store's cursor, event counts and events digest as one JSON line, all or
//! only up to a block, so two stores can be compared at the same height.

use anyhow::Context as _;
use clap::Args;
use serde_json::json;

use crate::cli::sync::open_store;
use crate::cli::{Outcome, print_json};

/// `mono status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Database URL: `postgres://…` or `sqlite://PATH`.
    #[arg(long, env = "MONO_DATABASE_URL")]
    database: String,
    /// Count and digest only events of blocks up to this one.
    #[arg(long, env = "MONO_STATUS_BLOCK")]
    block: Option<u32>,
}

/// Runs `mono status`.
pub fn run(args: StatusArgs) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let status = runtime.block_on(async {
        let store = open_store(&args.database).await?;
        let cursor = store.cursor().await.context("reading the cursor")?;
        let counts = store.counts(args.block).await.context("counting events")?;
        let digest = store
            .events_digest(args.block)
            .await
            .context("computing the events digest")?;
        let wrong_row_versions = store
            .wrong_row_versions()
            .await
            .context("checking the row versions")?;
        store.close().await;
        anyhow::Ok(json!({
            "cursor_block": cursor.map(|c| c.block_num),
            "cursor_id": cursor.map(|c| hex::encode(c.block_id)),
            "lib": cursor.map(|c| c.lib),
            "blocks": counts.blocks,
            "actions": counts.actions,
            "deltas": counts.deltas,
            "abis": counts.abis,
            "undecodable": counts.undecodable,
            "events_digest": digest,
            "wrong_row_versions": wrong_row_versions,
        }))
    })?;
    print_json(&status);
    Ok(Outcome::Success)
}
