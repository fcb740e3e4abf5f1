//! `mono serve`: the instance as it runs in production. It follows the chain into the store, as
//! `mono sync` does, and serves the platform's endpoints on one address: `/health`, `/ready`,
//! `/status` and `/metrics` (see [`crate::server`]).
//!
//! SIGTERM or Ctrl-C commits the blocks already read and exits 0; a fatal follower error exits
//! non-zero so the platform restarts the instance.

use std::net::SocketAddr;

use clap::Args;

use crate::cli::Outcome;
use crate::cli::sync::{
    ConnectionArgs, follow, metrics_server, open_store, parser_config, runtime,
};
use crate::parser::Metrics;
use crate::server::{self, ServerState};

/// `mono serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Address of the HTTP endpoints.
    #[arg(long, env = "MONO_LISTEN", default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
}

/// Runs `mono serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let config = parser_config(&args.connection)?;
    runtime()?.block_on(async {
        let store = open_store(&args.connection.database).await?;
        let metrics = Metrics::default();
        let routes = server::router(ServerState {
            store: store.clone(),
            metrics: metrics.clone(),
            mode: config.mode,
            coopname: config.filter.coopname(),
        });
        let mut http = vec![(args.listen, routes)];
        http.extend(metrics_server(&args.connection, &metrics));
        follow(&store, &config, &metrics, http).await
    })
}
