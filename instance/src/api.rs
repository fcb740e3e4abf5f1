//! The instance's GraphQL API at `/v1/graphql`: queries over the registries as of any block,
//! mutations of the private data, subscriptions fed by the registries' per-block notifications,
//! login by K1 signature with short-lived access tokens and rotating refresh tokens, and roles
//! read from chain state.
//!
//! - [`schema`]: the schema (query, mutation and subscription roots merged from one module per
//!   domain), its depth and complexity limits, and its SDL.
//! - [`http`]: the axum routes: POST for queries and mutations, GET for the
//!   `graphql-transport-ws` websocket or GraphiQL in a browser; body-size and time limits.
//! - [`policy`]: who may call each operation, declared once per operation in one table and
//!   enforced by a schema extension (deny by default) and, where the answer depends on the
//!   account asked about, by the resolver.
//! - [`caller`]: who is calling (anonymous, an account with its role as of the synced block, or
//!   the service), from the bearer credential.
//! - [`token`], [`challenge`], [`session`], [`rate_limit`]: access tokens, login challenges,
//!   the `authChallenge`/`login`/`refresh`/`logout` operations and their rate limit;
//!   `key_reset`: `startResetKey`/`resetKey`, a key replaced by a one-time e-mailed token.
//! - [`metrics`]: requests, latency and errors per operation for `/metrics`.
//! - `participants` (the join flow: `registerAccount`, the documents a member signs,
//!   `registerParticipant`), `documents` (lists, one document with its verification report,
//!   regeneration), `decisions` (the council's votes, the decision document, its authorization
//!   and execution), `free_decisions` (projects of free decisions put on the agenda),
//!   `branches` (the chairman's branches, a shareholder's choice of one), `payments`
//!   (`createDepositPayment`, `setPaymentStatus`), `install` (`installSystem`: the council's
//!   accounts, board and invitations), `transactions` (the cooperative's pushes
//!   and their errors) and `chain_state` (the rows the chain holds now, read before a push so
//!   that what the chain holds already is not pushed again).
//! - `extensions` (`getExtensions`, `installExtension`, `updateExtension`,
//!   `uninstallExtension`) and one module per extension with GraphQL fields under its name
//!   (`qrpay`: `qrpayPaymentInstructions`; `powerup`: `powerupStatus`), answering only while it
//!   is enabled.
//!
//! Architecture invariant: resolvers read through the registries and the store's domain-named
//! methods only; the API never writes chain events and never logs credentials or personal data.
//! What changes the chain goes through the cooperative's signed pushes; the outcome reaches the
//! registries only once the follower stores the block that carries it. Members' and council
//! members' private keys never reach the server: they sign documents and votes in the client.

pub mod caller;
pub mod challenge;
pub mod error;
pub mod http;
pub mod metrics;
pub mod policy;
pub mod rate_limit;
pub mod schema;
pub mod token;

mod accounts;
mod block_changes;
mod branches;
mod chain_state;
mod council;
mod decisions;
mod documents;
mod extensions;
mod free_decisions;
mod install;
mod key_reset;
mod paging;
mod participants;
mod payment_methods;
mod payments;
mod powerup;
mod qrpay;
mod session;
mod signing;
mod subscriptions;
mod system;
mod transactions;

use std::sync::Arc;
use std::time::Duration;

use crate::antelope::name::Name;
use crate::chain::push::Pusher;
use crate::extensions::Catalog;
use crate::factory::Factory;
use crate::mail::Mailer;
use crate::registry::projection::Contracts;
use crate::store::Store;

pub use caller::Caller;
pub use error::ApiError;
pub use metrics::ApiMetrics;
pub use token::Secret;

/// How long credentials live and how big requests may be.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Key of the HS256 access tokens.
    pub jwt_secret: Secret,
    /// The service's bearer credential; no service access without it.
    pub service_token: Option<Secret>,
    /// Lifetime of an access token.
    pub access_ttl: Duration,
    /// Lifetime of a refresh token (each rotation starts a new one).
    pub refresh_ttl: Duration,
    /// Lifetime of a login challenge.
    pub challenge_ttl: Duration,
    /// Schema and request limits.
    pub limits: Limits,
    /// Login attempts and challenges allowed per account and per client address per minute
    /// (key reset requests count per e-mail address).
    pub logins_per_minute: u32,
    /// Lifetime of an e-mailed key reset token.
    pub key_reset_ttl: Duration,
}

/// Limits on what one request may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest selection nesting.
    pub depth: usize,
    /// Largest query complexity (each selected field counts 1).
    pub complexity: usize,
    /// Largest request body in bytes.
    pub body_bytes: usize,
    /// Longest a request may run.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 10,
            complexity: 2_000,
            body_bytes: 64 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}

impl ApiConfig {
    /// A configuration with the default lifetimes and limits: 15-minute access tokens, 30-day
    /// refresh tokens, 5-minute challenges, 10 logins per minute, 30-minute key reset tokens.
    pub fn new(jwt_secret: Secret, service_token: Option<Secret>) -> Self {
        Self {
            jwt_secret,
            service_token,
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            challenge_ttl: Duration::from_secs(5 * 60),
            limits: Limits::default(),
            logins_per_minute: 10,
            key_reset_ttl: Duration::from_secs(30 * 60),
        }
    }
}

/// Seconds since 1970; a function so tests can move time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
            })
    })
}

/// What the resolvers share; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    /// The store the registries read.
    pub store: Store,
    /// The cooperative served.
    pub coopname: Name,
    /// The contracts the registries read.
    pub contracts: Contracts,
    /// Credentials and limits.
    pub config: Arc<ApiConfig>,
    /// Requests, latency and errors per operation.
    pub metrics: ApiMetrics,
    /// Login and challenge attempts.
    pub limiter: Arc<rate_limit::RateLimiter>,
    /// The time.
    pub clock: Clock,
    /// Signs and pushes the cooperative's transactions; `None` on an instance without the
    /// cooperative's key, whose mutations that act on chain answer `UNAVAILABLE`.
    pub cooperative: Option<Pusher>,
    /// The document factory, made at the first document: it parses fonts.
    pub factory: Arc<tokio::sync::OnceCell<Factory>>,
    /// The extensions this binary has.
    pub extensions: Catalog,
    /// Sends e-mail (key reset tokens); `None` on an instance without SMTP, whose
    /// `startResetKey` answers `UNAVAILABLE`.
    pub mailer: Option<Arc<dyn Mailer>>,
    /// What recent blocks changed, read once for all subscribers.
    pub block_changes: Arc<block_changes::BlockChanges>,
}

impl ApiState {
    /// The state for `store` and `coopname` with `config`, on the system clock.
    pub fn new(store: Store, coopname: Name, config: ApiConfig) -> Self {
        Self::with_clock(store, coopname, config, system_clock())
    }

    /// As [`ApiState::new`], on `clock`.
    pub fn with_clock(store: Store, coopname: Name, config: ApiConfig, clock: Clock) -> Self {
        let limiter = rate_limit::RateLimiter::new(config.logins_per_minute, 60);
        Self {
            store,
            coopname,
            contracts: Contracts::default(),
            config: Arc::new(config),
            metrics: ApiMetrics::default(),
            limiter: Arc::new(limiter),
            clock,
            cooperative: None,
            factory: Arc::default(),
            extensions: Catalog::builtin(),
            mailer: None,
            block_changes: Arc::default(),
        }
    }

    /// This state pushing the cooperative's transactions with `pusher`.
    #[must_use]
    pub fn with_cooperative(mut self, pusher: Pusher) -> Self {
        self.cooperative = Some(pusher);
        self
    }

    /// This state sending e-mail with `mailer`.
    #[must_use]
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Seconds since 1970.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }
}
