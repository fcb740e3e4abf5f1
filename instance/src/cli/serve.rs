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

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, Command};

    /// `mono devnet` and `mono serve` run side by side on one machine with their defaults.
    #[test]
    fn devnet_and_serve_listen_on_different_ports_by_default() {
        let Command::Devnet(devnet) = Cli::parse_from(["mono", "devnet", "--ephemeral"]).command
        else {
            panic!("devnet parses");
        };
        let serve = Cli::parse_from([
            "mono",
            "serve",
            "--database",
            "sqlite://mono.db",
            "--chain-api",
            "http://127.0.0.1:8888",
            "--ship",
            "ws://127.0.0.1:8070",
            "--coopname",
            "voskhod",
        ]);
        let Command::Serve(serve) = serve.command else {
            panic!("serve parses");
        };
        let devnet_ports = [devnet.http.port(), devnet.ship.port()];
        assert!(
            !devnet_ports.contains(&serve.listen.port()),
            "{devnet_ports:?}"
        );
    }
}
