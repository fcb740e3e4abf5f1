//! `mono status`: the store's cursor, event counts, events digest and registry digest as one
//! JSON line, all or only up to a block, so two stores can be compared at the same height; and
//! how many row versions and registry rows disagree with the events (0 in a sound store).

use anyhow::Context as _;
use clap::Args;
use serde_json::json;

use crate::cli::sync::open_store;
use crate::cli::{Outcome, print_json};
use crate::registry::check;
use crate::registry::projection::Contracts;

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
        let registry_block = args.block.or(cursor.map(|c| c.block_num)).unwrap_or(0);
        let registry_digest = check::digest(&store, registry_block)
            .await
            .context("computing the registry digest")?;
        let registry = check::verify(&store, &Contracts::default())
            .await
            .context("checking the registry projections")?;
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
            "registry_digest": registry_digest,
            "registry_differences": registry.differences.len(),
        }))
    })?;
    print_json(&status);
    Ok(Outcome::Success)
}
