//! `mono devnet`: runs the development chain until Ctrl-C or SIGTERM.

use anyhow::Context as _;

use super::{BadInputExt, Outcome};
use crate::devnet::{self, DevnetArgs, DevnetError};

/// Runs `mono devnet`.
pub fn run(args: DevnetArgs) -> anyhow::Result<Outcome> {
    crate::telemetry::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match runtime.block_on(devnet::run(args.into(), devnet::shutdown_signal())) {
        Ok(()) => Ok(Outcome::Success),
        // A bootstrap file that does not describe a chain is the caller's input.
        Err(err @ DevnetError::Bootstrap(_)) => Err(err).bad_input("starting the devnet"),
        Err(err) => Err(err).context("running the devnet"),
    }
}
