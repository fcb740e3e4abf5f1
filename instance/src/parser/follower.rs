//! The follower: the I/O shell around [`decode_block`]. It resumes from the store's cursor,
//! streams blocks over SHiP, commits them with their events and the cursor in one transaction
//! (several blocks per transaction while catching up), rolls forks back to the fork point, and
//! reconnects with backoff when the chain or the database is away.
//!
//! While catching up, one commit runs on its own task as the next blocks are read and decoded;
//! the next commit starts only after it finished, so blocks reach the store in order, and
//! every other step (fork rollback, shutdown, stop block, reconnect) first waits for it.
//!
//! Shutdown (the watch channel turning `true`, fired by SIGTERM in `mono sync`) commits the
//! blocks already decoded and returns; a block is never half written, whatever stops the process.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;

use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::ship::{BlockPosition, GetBlocksResult};
use crate::chain::api::{ApiOptions, ChainApi};
use crate::chain::ship::{BlocksRequest, ShipClient, ShipOptions};
use crate::chain::tls::TlsRoots;
use crate::parser::block::{AbiSet, decode_block};
use crate::parser::filter::Filter;
use crate::parser::metrics::Metrics;
use crate::parser::{Error, Result};
use crate::store::{AbiRecord, BlockBatch, Store};

/// Which blocks are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Only irreversible blocks: no fork is ever seen (the safe default).
    #[default]
    Irreversible,
    /// Every block up to the head; forks are rolled back to the fork point.
    Head,
}

/// Everything the follower needs to know.
#[derive(Debug, Clone)]
pub struct ParserConfig {
    /// SHiP websocket URL (`ws://host:8080`).
    pub ship_url: String,
    /// Chain API base URL (`http://host:8888`).
    pub chain_api_url: String,
    /// The chain the node must serve; `None` accepts any.
    pub chain_id: Option<Checksum256>,
    /// PEM certificates trusted for `https://` and `wss://` besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The cooperative's share of the chain.
    pub filter: Filter,
    /// Irreversible-only or head-following.
    pub mode: Mode,
    /// First block to read when the store is empty.
    pub start_block: u32,
    /// Stop once this block is committed; `None` follows forever.
    pub stop_after: Option<u32>,
    /// Most blocks committed in one transaction while catching up.
    pub batch_blocks: usize,
    /// SHiP deadlines and window.
    pub ship: ShipOptions,
    /// Chain API deadlines and retries.
    pub api: ApiOptions,
    /// First wait before reconnecting; doubled after each failure.
    pub reconnect_delay: Duration,
    /// Longest wait before reconnecting.
    pub max_reconnect_delay: Duration,
}

impl ParserConfig {
    /// Defaults for following `ship_url`/`chain_api_url` with `filter`: irreversible-only from
    /// block 1, forever.
    pub fn new(ship_url: &str, chain_api_url: &str, filter: Filter) -> Self {
        Self {
            ship_url: ship_url.to_owned(),
            chain_api_url: chain_api_url.to_owned(),
            chain_id: None,
            ca_file: None,
            filter,
            mode: Mode::Irreversible,
            start_block: 1,
            stop_after: None,
            batch_blocks: 500,
            ship: ShipOptions::default(),
            api: ApiOptions::default(),
            reconnect_delay: Duration::from_millis(250),
            max_reconnect_delay: Duration::from_secs(10),
        }
    }
}

/// Why [`follow`] returned normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Shutdown was requested; every decoded block was committed.
    Shutdown,
    /// `stop_after` was committed.
    Reached(u32),
}

/// Longest time decoded blocks wait before they are committed while catching up.
const MAX_PENDING_AGE: Duration = Duration::from_millis(250);

/// Follows the chain into `store` until shutdown, `stop_after`, or a fatal error.
///
/// # Errors
/// Only fatal errors: a fork below the last irreversible block, a SHiP server speaking another
/// protocol, a misconfigured URL. Outages of the chain or the database are waited out.
pub async fn follow(
    store: &Store,
    config: &ParserConfig,
    metrics: &Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> Result<Stopped> {
    let roots = TlsRoots::new(config.ca_file.as_deref()).map_err(|source| Error::Tls { source })?;
    let api = ChainApi::with_roots(&config.chain_api_url, config.api, &roots)
        .map_err(|source| Error::Api { source })?;
    let mut session = Session {
        store,
        api: &api,
        roots: &roots,
        config,
        metrics,
        abis: AbiSet::default(),
        progress: Progress::new(),
        committed_any: false,
        in_flight: None,
    };
    let mut delay = config.reconnect_delay;
    loop {
        if *shutdown.borrow() {
            return Ok(Stopped::Shutdown);
        }
        session.committed_any = false;
        match session.run(&mut shutdown).await {
            Ok(stopped) => return Ok(stopped),
            Err(err) if err.is_fatal() => {
                metrics.count_error(err.metric_label());
                tracing::error!(error = %ErrorChain(&err), "follower stopped");
                return Err(err);
            }
            Err(err) => {
                metrics.count_error(err.metric_label());
                if session.committed_any {
                    delay = config.reconnect_delay;
                }
                tracing::warn!(
                    error = %ErrorChain(&err),
                    retry_in_ms = delay.as_millis() as u64,
                    "follower interrupted, reconnecting"
                );
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => return Ok(Stopped::Shutdown),
                }
                delay = (delay * 2).min(config.max_reconnect_delay);
            }
        }
    }
}

/// One connection's worth of following, with the state kept across reconnects.
struct Session<'a> {
    store: &'a Store,
    api: &'a ChainApi,
    roots: &'a TlsRoots,
    config: &'a ParserConfig,
    metrics: &'a Metrics,
    abis: AbiSet,
    progress: Progress,
    committed_any: bool,
    /// The commit running while the next blocks are read and decoded; at most one, so commits
    /// reach the store in block order.
    in_flight: Option<tokio::task::JoinHandle<crate::store::Result<()>>>,
}

/// What one commit stored, for the metrics.
#[derive(Debug, Clone, Copy)]
struct CommitSummary {
    last_block_num: u32,
    blocks: usize,
    actions: usize,
    deltas: usize,
    undecodable: usize,
}

impl CommitSummary {
    /// Counts a finished commit in the metrics, as soon as it is in the store.
    fn record(&self, metrics: &Metrics) {
        metrics.processed_block.set(i64::from(self.last_block_num));
        metrics.blocks.inc_by(self.blocks as u64);
        metrics.actions.inc_by(self.actions as u64);
        metrics.deltas.inc_by(self.deltas as u64);
        metrics.undecodable.inc_by(self.undecodable as u64);
        tracing::debug!(
            block_num = self.last_block_num,
            blocks = self.blocks,
            actions = self.actions,
            deltas = self.deltas,
            "committed"
        );
    }

    fn of(batches: &[BlockBatch]) -> Option<Self> {
        let last = batches.last()?;
        Some(Self {
            last_block_num: last.block.block_num,
            blocks: batches.len(),
            actions: batches.iter().map(|batch| batch.actions.len()).sum(),
            deltas: batches.iter().map(|batch| batch.deltas.len()).sum(),
            undecodable: batches.iter().map(|batch| batch.undecodable.len()).sum(),
        })
    }
}

impl Session<'_> {
    async fn run(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<Stopped> {
        self.settle().await?;
        let cursor = self.store.cursor().await.map_err(Error::store)?;
        if let (Some(cursor), Some(stop)) = (cursor, self.config.stop_after)
            && cursor.block_num >= stop
        {
            return Ok(Stopped::Reached(cursor.block_num));
        }
        self.abis = self.load_abis(cursor.map_or(0, |c| c.block_num)).await?;
        let mut client = ShipClient::connect(&self.config.ship_url, self.config.ship, self.roots)
            .await
            .map_err(|source| Error::Ship { source })?;
        let status = client
            .status()
            .await
            .map_err(|source| Error::Ship { source })?;
        self.check_chain(status.chain_id).await?;
        self.metrics
            .head_block
            .set(i64::from(status.head.block_num));
        self.metrics
            .lib_block
            .set(i64::from(status.last_irreversible.block_num));

        let mut bootstrap = Vec::new();
        let (start_block_num, have_positions) = match cursor {
            Some(cursor) => (
                cursor.block_num.saturating_add(1),
                vec![BlockPosition {
                    block_num: cursor.block_num,
                    block_id: Checksum256::new(cursor.block_id),
                }],
            ),
            None => {
                let first_available = status.trace_begin_block.max(status.chain_state_begin_block);
                let start = self.config.start_block.max(first_available).max(1);
                if start > 1 {
                    // History before `start` is not read: take the ABIs in force now.
                    bootstrap = self.bootstrap_abis().await?;
                }
                (start, Vec::new())
            }
        };
        tracing::info!(
            start_block_num,
            head = status.head.block_num,
            lib = status.last_irreversible.block_num,
            mode = ?self.config.mode,
            "following the chain"
        );
        client
            .request_blocks(&BlocksRequest {
                start_block_num,
                end_block_num: self
                    .config
                    .stop_after
                    .map_or(u32::MAX, |stop| stop.saturating_add(1)),
                irreversible_only: self.config.mode == Mode::Irreversible,
                have_positions,
            })
            .await
            .map_err(|source| Error::Ship { source })?;

        let mut last = cursor.map(|c| (c.block_num, c.block_id, c.lib));
        let mut pending: Vec<BlockBatch> = Vec::new();
        let mut pending_since = Instant::now();
        loop {
            let next = tokio::select! {
                next = client.next_blocks() => next,
                _ = shutdown.changed() => {
                    self.flush(&mut pending).await?;
                    self.progress.finish();
                    client.close().await;
                    return Ok(Stopped::Shutdown);
                }
            };
            let result = match next {
                Ok(result) => result,
                Err(source) => {
                    self.flush(&mut pending).await?;
                    return Err(Error::Ship { source });
                }
            };
            self.metrics
                .head_block
                .set(i64::from(result.head.block_num));
            self.metrics
                .lib_block
                .set(i64::from(result.last_irreversible.block_num));
            let Some(this_block) = result.this_block else {
                continue;
            };
            if let Some((last_num, last_id, last_lib)) = last {
                let extends = this_block.block_num == last_num.saturating_add(1)
                    && result
                        .prev_block
                        .is_none_or(|prev| prev.block_id.as_bytes() == &last_id);
                if !extends {
                    if this_block.block_num > last_num.saturating_add(1) {
                        self.flush(&mut pending).await?;
                        return Err(Error::Gap {
                            expected: last_num.saturating_add(1),
                            got: this_block.block_num,
                        });
                    }
                    self.flush(&mut pending).await?;
                    let prev_id = result.prev_block.map(|prev| *prev.block_id.as_bytes());
                    let fork_point = self
                        .roll_back_fork(this_block.block_num, prev_id, last_lib)
                        .await?;
                    if fork_point.0 != this_block.block_num.saturating_sub(1) {
                        // The new branch starts below what the server sends: resume from the
                        // rolled-back cursor with a new request.
                        return Err(Error::Resume {
                            block_num: fork_point.0,
                        });
                    }
                    last = Some((fork_point.0, fork_point.1, last_lib.min(fork_point.0)));
                }
            }
            let lib = result.last_irreversible.block_num;
            let mut batch = match decode_block(&result, lib, &self.config.filter, &mut self.abis) {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(error = %err, "skipping a SHiP result without a block");
                    continue;
                }
            };
            if !bootstrap.is_empty() {
                let mut abis = std::mem::take(&mut bootstrap);
                abis.append(&mut batch.abis);
                batch.abis = abis;
            }
            if !batch.undecodable.is_empty() {
                for record in &batch.undecodable {
                    tracing::warn!(
                        block_num = batch.block.block_num,
                        kind = record.kind.as_str(),
                        locator = %record.locator,
                        reason = %record.reason,
                        "recorded undecodable input"
                    );
                }
            }
            last = Some((batch.block.block_num, batch.block.block_id, lib));
            if pending.is_empty() {
                pending_since = Instant::now();
            }
            pending.push(batch);
            let target = match self.config.mode {
                Mode::Irreversible => result.last_irreversible.block_num,
                Mode::Head => result.head.block_num,
            };
            let reached_stop = self
                .config
                .stop_after
                .is_some_and(|stop| this_block.block_num >= stop);
            if reached_stop {
                self.flush(&mut pending).await?;
            } else if pending.len() >= self.config.batch_blocks.max(1)
                || this_block.block_num >= target
                || pending_since.elapsed() >= MAX_PENDING_AGE
            {
                self.commit_behind(&mut pending).await?;
                self.metrics
                    .lag_blocks
                    .set(i64::from(target.saturating_sub(this_block.block_num)));
                let until = self
                    .config
                    .stop_after
                    .map_or(target, |stop| stop.min(target));
                self.progress
                    .report(self.metrics, this_block.block_num, until, &result);
            }
            if reached_stop {
                self.progress.finish();
                client.close().await;
                return Ok(Stopped::Reached(this_block.block_num));
            }
        }
    }

    /// Refuses a node of another chain than the configured one: by the chain id of the SHiP
    /// status, or of `get_info` when the status does not carry it.
    async fn check_chain(&self, ship_chain_id: Option<Checksum256>) -> Result<()> {
        let Some(expected) = self.config.chain_id else {
            return Ok(());
        };
        let got = match ship_chain_id {
            Some(chain_id) => chain_id,
            None => {
                self.api
                    .get_info()
                    .await
                    .map_err(|source| Error::Api { source })?
                    .chain_id
            }
        };
        if got == expected {
            Ok(())
        } else {
            Err(Error::WrongChain { expected, got })
        }
    }

    /// The ABIs in force at `block_num` for every tracked account.
    async fn load_abis(&self, block_num: u32) -> Result<AbiSet> {
        let mut abis = AbiSet::default();
        for account in self.config.filter.abi_accounts() {
            let stored = self
                .store
                .abi_at(&account.to_string(), block_num)
                .await
                .map_err(Error::store)?;
            if let Some(version) = stored {
                abis.set(account, &version.abi);
            }
        }
        Ok(abis)
    }

    /// The current ABIs of tracked accounts from the Chain API, put in force now.
    async fn bootstrap_abis(&mut self) -> Result<Vec<AbiRecord>> {
        let mut records = Vec::new();
        for account in self.config.filter.abi_accounts() {
            let raw = self
                .api
                .get_raw_abi(account)
                .await
                .map_err(|source| Error::Api { source })?;
            if !raw.abi.is_empty() {
                self.abis.set(account, &raw.abi);
                records.push(AbiRecord {
                    account: account.to_string(),
                    abi: raw.abi,
                });
            }
        }
        Ok(records)
    }

    /// Rolls the store back to the last stored block the new branch shares, in one store
    /// transaction, and reloads the ABIs in force there. Returns the fork point.
    async fn roll_back_fork(
        &mut self,
        block_num: u32,
        prev_id: Option<[u8; 32]>,
        lib: u32,
    ) -> Result<(u32, [u8; 32])> {
        let mut candidate = block_num.saturating_sub(1);
        let mut expected_id = prev_id;
        // Walk back at most down to LIB: blocks at or below it never change.
        let fork_point = loop {
            let stored = self.store.block(candidate).await.map_err(Error::store)?;
            let expected = match expected_id {
                Some(id) => id,
                None => *self
                    .api
                    .get_block_info(candidate)
                    .await
                    .map_err(|source| Error::Api { source })?
                    .id
                    .as_bytes(),
            };
            match stored {
                Some(block) if block.block_id == expected => break (candidate, expected),
                _ if candidate <= lib || candidate == 0 => {
                    return Err(Error::ForkBelowLib {
                        block_num: candidate,
                        lib,
                    });
                }
                _ => {
                    candidate -= 1;
                    expected_id = None;
                }
            }
        };
        self.store
            .rollback_to(fork_point.0, &fork_point.1)
            .await
            .map_err(Error::store)?;
        self.metrics.forks.inc();
        self.metrics.processed_block.set(i64::from(fork_point.0));
        tracing::warn!(
            fork_point = fork_point.0,
            block_num,
            "fork: rolled back to the fork point"
        );
        self.abis = self.load_abis(fork_point.0).await?;
        Ok(fork_point)
    }

    /// Waits for the previous commit, then starts committing the decoded blocks, if any, on
    /// their own task, so reading and decoding the next blocks overlaps with the write.
    async fn commit_behind(&mut self, pending: &mut Vec<BlockBatch>) -> Result<()> {
        self.settle().await?;
        let batches = std::mem::take(pending);
        let Some(summary) = CommitSummary::of(&batches) else {
            return Ok(());
        };
        let store = self.store.clone();
        let metrics = self.metrics.clone();
        // The task counts its commit itself, so the metrics do not wait for the next commit
        // when the chain is quiet.
        let task = tokio::spawn(async move {
            store.commit_blocks(&batches).await?;
            summary.record(&metrics);
            Ok(())
        });
        self.in_flight = Some(task);
        Ok(())
    }

    /// Waits for the commit in flight, if any.
    async fn settle(&mut self) -> Result<()> {
        let Some(in_flight) = self.in_flight.take() else {
            return Ok(());
        };
        match in_flight.await {
            Ok(result) => result.map_err(Error::store)?,
            Err(join_error) => match join_error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_cancelled) => return Err(Error::CommitCancelled),
            },
        }
        self.committed_any = true;
        Ok(())
    }

    /// Commits the decoded blocks, if any, with their cursor, after the commit in flight.
    async fn flush(&mut self, pending: &mut Vec<BlockBatch>) -> Result<()> {
        self.settle().await?;
        let Some(summary) = CommitSummary::of(pending) else {
            return Ok(());
        };
        self.store
            .commit_blocks(pending)
            .await
            .map_err(Error::store)?;
        pending.clear();
        summary.record(self.metrics);
        self.committed_any = true;
        Ok(())
    }
}

/// Progress: a bar on a terminal (blocks committed of those behind the target, with rates and
/// the time left), a structured log line with the rates otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    last_report: Instant,
    last_blocks: u64,
    last_actions: u64,
}

impl Progress {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} blocks, {per_sec}, {eta} left  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            last_report: Instant::now(),
            last_blocks: 0,
            last_actions: 0,
        }
    }

    /// Hears of a commit that reached `block_num`, with `target` the block followed up to.
    fn report(&mut self, metrics: &Metrics, block_num: u32, target: u32, result: &GetBlocksResult) {
        let blocks = metrics.blocks.get();
        if let Some(bar) = &self.bar {
            bar.set_length(blocks + u64::from(target.saturating_sub(block_num)));
            bar.set_position(blocks);
        }
        let interval = if self.bar.is_some() {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(10)
        };
        let elapsed = self.last_report.elapsed();
        if elapsed < interval {
            return;
        }
        let actions = metrics.actions.get();
        let seconds = elapsed.as_secs_f64();
        let blocks_per_second = (blocks - self.last_blocks) as f64 / seconds;
        let actions_per_second = (actions - self.last_actions) as f64 / seconds;
        metrics.blocks_per_second.set(blocks_per_second);
        metrics.actions_per_second.set(actions_per_second);
        self.last_report = Instant::now();
        self.last_blocks = blocks;
        self.last_actions = actions;
        let head = result.head.block_num;
        let lib = result.last_irreversible.block_num;
        match &self.bar {
            Some(bar) => bar.set_message(format!(
                "block {block_num}  lib {lib}  head {head}  {actions_per_second:.0} actions/s"
            )),
            None => tracing::info!(
                block_num,
                lib,
                head,
                blocks_per_second,
                actions_per_second,
                "progress"
            ),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Displays an error with its sources, `a: b: c`.
struct ErrorChain<'a>(&'a Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(self.0);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// The names `mono sync` follows when none are given: COOPOS production contract accounts.
pub const DEFAULT_CONTRACTS: [Name; 12] = [
    Name::from_str_const("registrator"),
    Name::from_str_const("soviet"),
    Name::from_str_const("gateway"),
    Name::from_str_const("wallet"),
    Name::from_str_const("draft"),
    Name::from_str_const("branch"),
    Name::from_str_const("fund"),
    Name::from_str_const("meet"),
    Name::from_str_const("marketplace"),
    Name::from_str_const("capital"),
    Name::from_str_const("ledger"),
    Name::from_str_const("loan"),
];
