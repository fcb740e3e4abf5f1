//! `mono serve`: the instance as it runs in production. It follows the chain into the store, as
//! `mono sync` does, and serves on one address the GraphQL API at `/v1/graphql` (see
//! [`crate::api`]) and the platform's endpoints `/health`, `/ready`, `/status` and `/metrics`
//! (see [`crate::server`]). With `--no-sync` it only serves, reading a store another instance
//! keeps in sync (an API-only replica).
//!
//! SIGTERM or Ctrl-C commits the blocks already read and exits 0; a fatal follower error exits
//! non-zero so the platform restarts the instance.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use rand_core::RngCore;

use crate::api::{self, ApiConfig, ApiState, Secret};
use crate::cli::sync::{
    ConnectionArgs, follow, metrics_server, open_store, parser_config, runtime, serve_only,
};
use crate::cli::{BadInputExt, Outcome};
use crate::parser::Metrics;
use crate::server::{self, ServerState};

/// `mono serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Address of the HTTP endpoints and the API.
    #[arg(long, env = "MONO_LISTEN", default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// File holding the key of access tokens (at least 32 bytes). Replicas serving one
    /// cooperative share it; without it a random key lives as long as the process.
    #[arg(long, env = "MONO_JWT_SECRET_FILE")]
    jwt_secret_file: Option<PathBuf>,
    /// File holding the bearer credential of the service role (at least 32 bytes); without it
    /// no caller is the service.
    #[arg(long, env = "MONO_SERVICE_TOKEN_FILE")]
    service_token_file: Option<PathBuf>,
    /// Serve the API and the endpoints from the store without following the chain.
    #[arg(long, env = "MONO_NO_SYNC")]
    no_sync: bool,
}

/// The API's configuration from the flags: secrets read from their files.
fn api_config(args: &ServeArgs) -> anyhow::Result<ApiConfig> {
    let jwt_secret = match &args.jwt_secret_file {
        Some(path) => Secret::from_file(path).bad_input("reading --jwt-secret-file")?,
        None => {
            tracing::warn!(
                "no --jwt-secret-file: access tokens are signed with a key that dies with this process"
            );
            let mut key = vec![0_u8; 32];
            rand_core::OsRng.fill_bytes(&mut key);
            Secret::new(key)
        }
    };
    let service_token = args
        .service_token_file
        .as_deref()
        .map(Secret::from_file)
        .transpose()
        .bad_input("reading --service-token-file")?;
    Ok(ApiConfig::new(jwt_secret, service_token))
}

/// Runs `mono serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let config = parser_config(&args.connection)?;
    let runtime = runtime()?;
    let api_config = api_config(&args)?;
    runtime.block_on(async {
        let store = open_store(&args.connection.database).await?;
        let metrics = Metrics::default();
        let api_state = ApiState::new(store.clone(), config.filter.coopname(), api_config);
        let routes = server::router(ServerState {
            store: store.clone(),
            metrics: metrics.clone(),
            api_metrics: api_state.metrics.clone(),
            mode: config.mode,
            coopname: config.filter.coopname(),
        })
        .merge(api::http::router(api_state));
        let mut http = vec![(args.listen, routes)];
        http.extend(metrics_server(&args.connection, &metrics));
        if args.no_sync {
            serve_only(&store, http).await.context("serving the API")
        } else {
            follow(&store, &config, &metrics, http).await
        }
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
        assert!(!serve.no_sync);
    }
}
