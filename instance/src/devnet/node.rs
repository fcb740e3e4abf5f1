//! The running devnet node: the chain behind a lock, the block log it writes ahead, and the
//! channel that tells SHiP sessions which blocks were accepted.
//!
//! The HTTP and SHiP servers and the block producer share one [`Node`]. Each operation locks
//! the chain for the duration of one pure state-machine call, writes a produced block to the
//! log before announcing it, and reads the wall clock only here, at the edge.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;

use crate::antelope::abi::Abi;
use crate::antelope::abi::def::AbiDef;
use crate::antelope::name::Name;
use crate::antelope::time::TimePoint;
use crate::devnet::blocklog::BlockLog;
use crate::devnet::bootstrap::Bootstrap;
use crate::devnet::chain::{Chain, PushResult, SignedInput};
use crate::devnet::error::{ChainError, ChainErrorKind};
use crate::devnet::state::Account;

/// How many block announcements a slow SHiP session may fall behind before it re-reads from
/// the last irreversible block.
const ANNOUNCEMENT_CAPACITY: usize = 4096;

/// A block accepted on the current branch; after a fork the first announced number is the
/// first block of the new branch, at or below numbers announced before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Number of the accepted block.
    pub block_num: u32,
}

/// An ABI loaded for the codec and the bytes it was loaded from.
type LoadedAbi = (Vec<u8>, Arc<Abi>);

/// Shared state of a running devnet.
#[derive(Debug)]
pub struct Node {
    chain: Mutex<Chain>,
    log: Option<Mutex<BlockLog>>,
    accepted: broadcast::Sender<Accepted>,
    bootstrap: Bootstrap,
    /// Loaded ABIs by account, with the bytes they were loaded from.
    abis: Mutex<HashMap<Name, LoadedAbi>>,
}

impl Node {
    /// A node over `chain`, writing blocks to `log` when given.
    pub fn new(chain: Chain, log: Option<BlockLog>, bootstrap: Bootstrap) -> Self {
        let (accepted, _) = broadcast::channel(ANNOUNCEMENT_CAPACITY);
        Self {
            chain: Mutex::new(chain),
            log: log.map(Mutex::new),
            accepted,
            bootstrap,
            abis: Mutex::new(HashMap::new()),
        }
    }

    /// The bootstrap the chain was created from.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// Runs `read` with the chain locked.
    pub fn read<R>(&self, read: impl FnOnce(&Chain) -> R) -> R {
        read(&self.lock())
    }

    /// The account's ABI loaded for the codec, cached until its bytes change (a fork may bring
    /// back an older ABI); `None` when it has no ABI or one that does not load.
    pub fn abi(&self, account: &Account) -> Option<Arc<Abi>> {
        let mut abis = self.abis.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((bytes, abi)) = abis.get(&account.name)
            && *bytes == account.abi
        {
            return Some(Arc::clone(abi));
        }
        if account.abi.is_empty() {
            return None;
        }
        let abi = Arc::new(Abi::from_def(AbiDef::from_bin(&account.abi).ok()?).ok()?);
        abis.insert(account.name, (account.abi.clone(), Arc::clone(&abi)));
        Some(abi)
    }

    /// Announcements of accepted blocks.
    pub fn subscribe(&self) -> broadcast::Receiver<Accepted> {
        self.accepted.subscribe()
    }

    /// Pushes a transaction into the pending block.
    pub fn push(&self, input: &SignedInput) -> Result<PushResult, ChainError> {
        self.lock().push_transaction(input, now())
    }

    /// Produces the next block, logs it and announces it.
    pub fn produce(&self) -> Result<u32, ChainError> {
        let mut chain = self.lock();
        let block_num = chain.produce_block(now())?;
        if let Some(record) = chain.block(block_num) {
            self.append(|log| log.append_block(&record.block))?;
        }
        drop(chain);
        // No subscriber is not an error: SHiP sessions come and go.
        let _receivers = self.accepted.send(Accepted { block_num });
        Ok(block_num)
    }

    /// Replaces the last `depth` blocks by a new branch, logs and announces it; returns the
    /// fork point.
    pub fn fork(&self, depth: u32) -> Result<u32, ChainError> {
        let mut chain = self.lock();
        let fork_point = chain.fork(depth, now())?;
        self.append(|log| log.append_rollback(fork_point))?;
        for block_num in fork_point + 1..=chain.head_num() {
            if let Some(record) = chain.block(block_num) {
                self.append(|log| log.append_block(&record.block))?;
            }
        }
        let head = chain.head_num();
        drop(chain);
        for block_num in fork_point + 1..=head {
            let _receivers = self.accepted.send(Accepted { block_num });
        }
        Ok(fork_point)
    }

    fn append(
        &self,
        write: impl FnOnce(&mut BlockLog) -> std::io::Result<()>,
    ) -> Result<(), ChainError> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
        write(&mut log).map_err(|error| {
            ChainError::new(
                ChainErrorKind::Transaction,
                format!("writing the block log: {error}"),
            )
        })
    }

    fn lock(&self) -> MutexGuard<'_, Chain> {
        // A panic while holding the lock cannot leave the chain half-changed: every mutation
        // is journaled and completed or undone inside one call.
        self.chain.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The wall clock as a `time_point`.
pub fn now() -> TimePoint {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
        });
    TimePoint::from_micros(micros)
}
