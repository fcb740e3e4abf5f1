//! The block follower: reads the chain over SHiP, keeps the cooperative's actions and table
//! rows decoded with the ABI in force at each block, and commits each block's events with the
//! cursor in one store transaction.
//!
//! - [`filter`]: which actions and rows are the cooperative's (pure).
//! - [`block`]: one SHiP result to one [`crate::store::BlockBatch`] (pure, total: what does not
//!   decode is recorded with its raw bytes and the reason, never dropped, never fatal).
//! - [`follower`]: the I/O shell: resume, stream, batch commits, fork rollback, reconnects.
//! - [`metrics`]: Prometheus metrics of the follower.
//!
//! Architecture invariant: the parser writes only through [`crate::store::Store`]; a block is
//! stored whole with its cursor or not at all, so a killed process resumes exactly where the
//! store says. Irreversible-only is the default; in head mode a fork is rolled back to the fork
//! point in one store transaction before the new branch is written.

pub mod block;
pub mod filter;
#[cfg(test)]
mod fixtures;
pub mod follower;
pub mod metrics;

pub use block::{AbiSet, BlockError, decode_block};
pub use filter::Filter;
pub use follower::{DEFAULT_CONTRACTS, Mode, ParserConfig, Stopped, follow};
pub use metrics::Metrics;

use crate::antelope::checksum::Checksum256;
use crate::chain::{api, ship};
use crate::store;

/// Result of following.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why following stopped or was interrupted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SHiP session failed.
    #[error("reading the chain over SHiP")]
    Ship {
        /// Client failure.
        #[source]
        source: ship::Error,
    },
    /// A Chain API call failed.
    #[error("calling the Chain API")]
    Api {
        /// Client failure.
        #[source]
        source: api::Error,
    },
    /// The store failed.
    #[error("writing the event store")]
    Store {
        /// Store failure.
        #[source]
        source: store::Error,
    },
    /// The server skipped blocks.
    #[error("SHiP sent block {got} where block {expected} was expected")]
    Gap {
        /// The block expected next.
        expected: u32,
        /// The block received.
        got: u32,
    },
    /// A fork was rolled back below the block the server resumed at; the stream restarts.
    #[error("fork rolled back to block {block_num}; restarting the stream there")]
    Resume {
        /// The fork point.
        block_num: u32,
    },
    /// The task committing blocks was cancelled before it reported; following resumes from the
    /// cursor, which says whether that commit was stored.
    #[error("the commit task was cancelled")]
    CommitCancelled,
    /// The trusted TLS roots could not be set up.
    #[error("setting up TLS for the chain endpoints")]
    Tls {
        /// Why.
        #[source]
        source: crate::chain::tls::TlsError,
    },
    /// The node serves another chain than the one configured.
    #[error("the node serves chain {got}, not the configured chain {expected}")]
    WrongChain {
        /// The configured chain id.
        expected: Checksum256,
        /// The node's chain id.
        got: Checksum256,
    },
    /// No stored block above the last irreversible one matches the chain: the store does not
    /// belong to this chain, or the chain rewrote irreversible history.
    #[error("no fork point above the last irreversible block {lib} (reached block {block_num})")]
    ForkBelowLib {
        /// Lowest block compared.
        block_num: u32,
        /// The last irreversible block.
        lib: u32,
    },
}

impl Error {
    fn store(source: store::Error) -> Self {
        Self::Store { source }
    }

    /// Low-cardinality label for the errors metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Ship { .. } => "ship",
            Self::Api { .. } => "chain_api",
            Self::Store { .. } => "store",
            Self::Gap { .. } => "gap",
            Self::Resume { .. } => "fork_resume",
            Self::CommitCancelled => "commit_cancelled",
            Self::ForkBelowLib { .. } => "fork_below_lib",
            Self::Tls { .. } => "tls",
            Self::WrongChain { .. } => "wrong_chain",
        }
    }

    /// Whether waiting and reconnecting cannot help: a misconfiguration (a malformed URL, TLS
    /// that cannot succeed, another chain, a server speaking another protocol) or a store that
    /// does not belong to the chain.
    pub fn is_fatal(&self) -> bool {
        match self {
            Self::ForkBelowLib { .. } | Self::Tls { .. } | Self::WrongChain { .. } => true,
            Self::Ship { source } => source.is_permanent(),
            Self::Api { source } => source.is_permanent(),
            _ => false,
        }
    }
}
