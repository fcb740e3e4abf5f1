//! The devnet chain as a pure state machine: push a transaction into the pending block,
//! produce a block, replace the last blocks by another branch (fork injection), replay stored
//! blocks. Time comes in as an argument; nothing here does I/O.
//!
//! Execution follows nodeos: the top-level actions get ordinals 1..n, each action runs at its
//! receiver, then at every account it notified (`require_recipient`, in request order), then its
//! inline actions run depth first. Receipts carry the global, receiver and authorizer
//! sequences. A transaction is atomic: on any error every change it made is undone.

use std::collections::BTreeMap;

use crate::antelope::binary::{self, Encode, Writer};
use crate::antelope::checksum::Checksum256;
use crate::antelope::keys::PrivateKey;
use crate::antelope::name::Name;
use crate::antelope::ship::{
    ActionReceipt, ActionTrace, PartialTransaction, TableDelta, TransactionTrace, WireSignature,
};
use crate::antelope::signature::Signature;
use crate::antelope::time::{BlockTimestamp, TimePoint, TimePointSec};
use crate::antelope::transaction::{
    Action, PermissionLevel, Tapos, Transaction, block_num_from_id, signing_digest,
};
use crate::devnet::block::{self, BlockHeader, SignedBlock, TransactionReceipt};
use crate::devnet::contracts::system;
use crate::devnet::contracts::{ApplyContext, BlockContext, Contracts, Scheduled};
use crate::devnet::deltas::{self, Billing};
use crate::devnet::error::{ChainError, ChainErrorKind};
use crate::devnet::state::{ACTIVE, Account, EOSIO, Journal, State};
use crate::devnet::validate;

/// `max_inline_action_depth` of the default chain configuration.
pub const MAX_INLINE_ACTION_DEPTH: u32 = 4;
/// `eosio::onblock`, the implicit action that opens every block after the first.
const ONBLOCK: Name = Name::from_str_const("onblock");
/// CPU the devnet bills each transaction.
const CPU_USAGE_US: u32 = 100;

/// Settings of the chain core.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// The chain id transactions are signed for.
    pub chain_id: Checksum256,
    /// LIB = head − `lib_lag`.
    pub lib_lag: u32,
    /// The `eosio` block signing key.
    pub producer_key: PrivateKey,
}

/// A transaction as pushed: signatures and the packed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInput {
    /// Signatures over the signing digest.
    pub signatures: Vec<Signature>,
    /// The serialized `transaction`.
    pub packed_trx: Vec<u8>,
}

/// What a successful push returns: the trace and where it will land.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushResult {
    /// The transaction trace, with inline actions and notifications.
    pub trace: TransactionTrace,
    /// The pending block the transaction is in.
    pub block_num: u32,
    /// That block's timestamp.
    pub block_time: BlockTimestamp,
}

/// A produced block with what SHiP serves for it.
#[derive(Debug, Clone)]
pub struct BlockRecord {
    /// The block.
    pub block: SignedBlock,
    /// Its id.
    pub id: Checksum256,
    /// Traces of its transactions.
    pub traces: Vec<TransactionTrace>,
    /// State deltas it caused.
    pub deltas: Vec<TableDelta>,
    /// How to undo it while it is reversible; emptied at irreversibility.
    journal: Journal,
}

impl BlockRecord {
    /// Block number.
    pub fn block_num(&self) -> u32 {
        self.block.block_num()
    }
}

#[derive(Debug, Clone)]
struct Pending {
    timestamp: BlockTimestamp,
    journal: Journal,
    receipts: Vec<TransactionReceipt>,
    traces: Vec<TransactionTrace>,
    action_digests: Vec<Checksum256>,
    billed: Vec<Billing>,
}

/// The chain: state, blocks, the pending block.
#[derive(Debug)]
pub struct Chain {
    config: ChainConfig,
    contracts: Contracts,
    state: State,
    blocks: Vec<BlockRecord>,
    pending: Option<Pending>,
    lib: u32,
}

impl Chain {
    /// A chain whose genesis state holds `accounts` and whose block 1 has `genesis_time`; every
    /// account running a registered contract publishes that contract's ABI.
    pub fn new(
        config: ChainConfig,
        contracts: Contracts,
        accounts: Vec<Account>,
        genesis_time: BlockTimestamp,
    ) -> Result<Self, ChainError> {
        let mut state = State::default();
        let mut journal = Journal::default();
        for mut account in accounts {
            if let Some(contract) = contracts.get(account.name) {
                account.abi = contract.abi().to_bin();
                account.abi_sequence = 1;
            }
            state.put_account(&mut journal, account);
        }
        let mut chain = Self {
            config,
            contracts,
            state,
            blocks: Vec::new(),
            pending: None,
            lib: 0,
        };
        // Block 1 carries the genesis accounts as its state deltas, so a SHiP reader starting
        // from the beginning learns every account and ABI.
        let mut genesis = Pending::new(genesis_time);
        genesis.journal = journal;
        chain.pending = Some(genesis);
        chain.produce_block(genesis_time.to_time_point())?;
        Ok(chain)
    }

    /// The chain id.
    pub fn chain_id(&self) -> &Checksum256 {
        &self.config.chain_id
    }

    /// Current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Deployed contracts.
    pub fn contracts(&self) -> &Contracts {
        &self.contracts
    }

    /// The head block.
    pub fn head(&self) -> &BlockRecord {
        self.blocks
            .last()
            .expect("the chain always has its genesis block")
    }

    /// Head block number.
    pub fn head_num(&self) -> u32 {
        self.head().block_num()
    }

    /// Last irreversible block number.
    pub fn lib_num(&self) -> u32 {
        self.lib
    }

    /// The block with number `block_num`, if produced.
    pub fn block(&self, block_num: u32) -> Option<&BlockRecord> {
        let idx = usize::try_from(block_num.checked_sub(1)?).ok()?;
        self.blocks.get(idx)
    }

    /// The block with this id, if on the current branch.
    pub fn block_by_id(&self, id: &Checksum256) -> Option<&BlockRecord> {
        self.block(block_num_from_id(id))
            .filter(|record| record.id == *id)
    }

    /// Validates `input` in nodeos order and applies it to the pending block.
    ///
    /// # Errors
    ///
    /// The chain error nodeos would raise; the state is then unchanged.
    pub fn push_transaction(
        &mut self,
        input: &SignedInput,
        now: TimePoint,
    ) -> Result<PushResult, ChainError> {
        self.ensure_pending(now);
        let trx: Transaction = binary::from_bytes(&input.packed_trx).map_err(|error| {
            // A truncated transaction is fc's `eof_exception`, as nodeos reports it.
            let kind = if matches!(error, binary::Error::UnexpectedEnd { .. }) {
                ChainErrorKind::Eof
            } else {
                ChainErrorKind::PackedTransactionType
            };
            ChainError::new(kind, format!("Invalid packed transaction: {error}"))
        })?;
        let pending_time = self.pending_timestamp(now);
        validate::check_expiration(trx.expiration, pending_time.to_time_point())?;
        let summary = self.block_summary(trx.ref_block_num);
        validate::check_tapos(trx.ref_block_num, trx.ref_block_prefix, summary.as_ref())?;
        let id = block::sha256(&input.packed_trx);
        validate::check_duplicate(&self.state, &id)?;
        let digest = signing_digest(&self.config.chain_id, &input.packed_trx, &[]);
        let keys = validate::recover_keys(&input.signatures, &digest)?;
        validate::check_referenced_accounts(&self.state, &trx)?;
        validate::check_authorization(&self.state, &trx, &keys)?;
        self.apply_validated(input, &trx, id)
    }

    /// Produces the next block from the pending one (or an empty one) and returns its number.
    ///
    /// # Errors
    ///
    /// Only when the producer key cannot sign, which does not happen with a valid key.
    pub fn produce_block(&mut self, now: TimePoint) -> Result<u32, ChainError> {
        self.ensure_pending(now);
        let pending = self
            .pending
            .take()
            .unwrap_or_else(|| Pending::new(BlockTimestamp::from_slot(0)));
        self.seal(pending)
    }

    /// Replaces the last `depth` blocks by a new branch of `depth + 1` blocks with later
    /// timestamps. Transactions of the dropped blocks (and of the pending block) are applied
    /// again in the first new block where they are still valid, and dropped otherwise. Returns
    /// the fork point: the last block both branches share.
    ///
    /// # Errors
    ///
    /// When `depth` is 0 or would reach at or below the last irreversible block.
    pub fn fork(&mut self, depth: u32, now: TimePoint) -> Result<u32, ChainError> {
        let head = self.head_num();
        if depth == 0 || head.saturating_sub(depth) < self.lib.max(1) {
            return Err(ChainError::new(
                ChainErrorKind::Transaction,
                format!(
                    "cannot fork {depth} blocks: head is {head}, last irreversible block is {}",
                    self.lib
                ),
            ));
        }
        let old_head_slot = self.head().block.header.timestamp.slot();
        let mut dropped = Vec::new();
        if let Some(pending) = self.pending.take() {
            self.state.undo(pending.journal);
            dropped.push(pending.receipts);
        }
        for _ in 0..depth {
            let record = self.blocks.pop().expect("depth is below the head");
            self.state.undo(record.journal);
            dropped.push(record.block.transactions);
        }
        let fork_point = self.head_num();
        let now_slot = BlockTimestamp::from_time_point(now).map_or(0, |ts| ts.slot());
        let first_slot = old_head_slot.max(now_slot).saturating_add(1);
        self.pending = Some(self.open_block(BlockTimestamp::from_slot(first_slot)));
        for receipt in dropped.into_iter().rev().flatten() {
            let input = SignedInput {
                signatures: receipt.signatures,
                packed_trx: receipt.packed_trx,
            };
            // A transaction that is no longer valid on the new branch is dropped, as nodeos
            // drops it when it switches forks.
            let _dropped = self.push_transaction(
                &input,
                BlockTimestamp::from_slot(first_slot).to_time_point(),
            );
        }
        for offset in 0..=depth {
            let pending = match self.pending.take() {
                Some(pending) => pending,
                None => self.open_block(BlockTimestamp::from_slot(first_slot + offset)),
            };
            self.seal(pending)?;
        }
        Ok(fork_point)
    }

    /// Re-executes a stored block on top of the head, as at restart; fails unless it yields
    /// the same id.
    pub fn replay_block(&mut self, stored: &SignedBlock) -> Result<(), ChainError> {
        if let Some(pending) = self.pending.take() {
            self.state.undo(pending.journal);
        }
        self.pending = Some(self.open_block(stored.header.timestamp));
        for receipt in &stored.transactions {
            let input = SignedInput {
                signatures: receipt.signatures.clone(),
                packed_trx: receipt.packed_trx.clone(),
            };
            self.push_transaction(&input, stored.header.timestamp.to_time_point())?;
        }
        self.produce_block(stored.header.timestamp.to_time_point())?;
        let produced = self.head().id;
        if produced == stored.id() {
            Ok(())
        } else {
            Err(ChainError::new(
                ChainErrorKind::Transaction,
                format!(
                    "replayed block {} has id {produced}, stored id {}",
                    stored.block_num(),
                    stored.id()
                ),
            ))
        }
    }

    /// Runs a read-only check of which `available` keys would authorize `trx`
    /// (`get_required_keys`): the smallest set the authorization check accepts, found by
    /// trying each key alone, then all of them.
    pub fn required_keys(
        &self,
        trx: &Transaction,
        available: &[crate::antelope::keys::PublicKey],
    ) -> Result<Vec<crate::antelope::keys::PublicKey>, ChainError> {
        validate::check_referenced_accounts(&self.state, trx)?;
        let all: std::collections::BTreeSet<_> = available.iter().copied().collect();
        let mut needed = std::collections::BTreeSet::new();
        for action in &trx.actions {
            for level in &action.authorization {
                let single = Transaction {
                    actions: vec![Action {
                        account: action.account,
                        name: action.name,
                        authorization: vec![*level],
                        data: Vec::new(),
                    }],
                    ..trx.clone()
                };
                let alone = all.iter().find(|key| {
                    let one = std::iter::once(**key).collect();
                    validate::check_authorization(&self.state, &single, &one).is_ok()
                });
                match alone {
                    Some(key) => {
                        needed.insert(*key);
                    }
                    None => {
                        validate::check_authorization(&self.state, &single, &all)?;
                        needed.extend(all.iter().copied());
                    }
                }
            }
        }
        Ok(needed.into_iter().collect())
    }

    fn ensure_pending(&mut self, now: TimePoint) {
        if self.pending.is_none() {
            let timestamp = self.pending_timestamp(now);
            self.pending = Some(self.open_block(timestamp));
        }
    }

    /// Starts the block after the head, as nodeos does: with the implicit `eosio::onblock`
    /// transaction, whose action carries the head block's header and takes the block's first
    /// action receipt. It is in the block's traces (first) but not among its transactions.
    fn open_block(&mut self, timestamp: BlockTimestamp) -> Pending {
        let mut pending = Pending::new(timestamp);
        let head = self.head();
        let act = Action {
            account: EOSIO,
            name: ONBLOCK,
            authorization: vec![PermissionLevel {
                actor: EOSIO,
                permission: ACTIVE,
            }],
            data: binary::to_bytes(&head.block.header),
        };
        let tapos = Tapos::from_block_id(&head.id);
        let expiration = TimePointSec::from_secs(
            u32::try_from(timestamp.to_time_point().as_micros() / 1_000_000 + 1)
                .unwrap_or(u32::MAX),
        );
        let trx = Transaction::new(expiration, tapos, vec![act.clone()]);
        let mut action_traces = Vec::new();
        push_trace(&mut action_traces, act.clone(), EOSIO, 0, 0);
        action_traces[0].receipt =
            Some(receipt(&mut self.state, &mut pending.journal, EOSIO, &act));
        pending.add_trace(TransactionTrace {
            id: trx.id(),
            status: 0,
            cpu_usage_us: 0,
            net_usage_words: 0,
            elapsed: 50,
            net_usage: 0,
            scheduled: false,
            action_traces,
            account_ram_delta: None,
            except: None,
            error_code: None,
            failed_dtrx_trace: None,
            // Leap's trace converter keeps the packed transaction of every trace it sends,
            // the implicit onblock's (unsigned) included.
            partial: Some(partial(&trx, &[])),
        });
        pending
    }

    /// The pending block's timestamp: the next slot after the head, or the slot of `now` when
    /// later.
    fn pending_timestamp(&self, now: TimePoint) -> BlockTimestamp {
        if let Some(pending) = &self.pending {
            return pending.timestamp;
        }
        let after_head = self
            .blocks
            .last()
            .map_or(0, |record| record.block.header.timestamp.slot() + 1);
        let now_slot = BlockTimestamp::from_time_point(now).map_or(0, |ts| ts.slot());
        BlockTimestamp::from_slot(after_head.max(now_slot))
    }

    /// The id of the most recent block whose number ends in `ref_block_num` (nodeos' block
    /// summary table).
    fn block_summary(&self, ref_block_num: u16) -> Option<Checksum256> {
        let head = self.head_num();
        let candidate = (head & !0xffff) | u32::from(ref_block_num);
        let block_num = if candidate > head {
            candidate.checked_sub(0x1_0000)?
        } else {
            candidate
        };
        self.block(block_num).map(|record| record.id)
    }

    fn apply_validated(
        &mut self,
        input: &SignedInput,
        trx: &Transaction,
        id: Checksum256,
    ) -> Result<PushResult, ChainError> {
        let pending = self.pending.as_ref().expect("ensure_pending ran");
        let context = BlockContext {
            block_num: self.head_num() + 1,
            timestamp: pending.timestamp,
        };
        let mut journal = Journal::default();
        self.state
            .record_transaction(&mut journal, id, trx.expiration);
        let mut traces = Vec::new();
        for action in &trx.actions {
            push_trace(&mut traces, action.clone(), action.account, 0, 0);
        }
        let mut result = Ok(());
        for ordinal in 1..=trx.actions.len() {
            result = execute_action(
                &mut self.state,
                &self.contracts,
                &mut journal,
                context,
                &mut traces,
                ordinal,
                0,
            );
            if result.is_err() {
                break;
            }
        }
        if let Err(error) = result {
            self.state.undo(journal);
            return Err(error);
        }
        let net_usage_words =
            u32::try_from(input.packed_trx.len().div_ceil(8) + 12).unwrap_or(u32::MAX);
        let trace = TransactionTrace {
            id,
            status: 0,
            cpu_usage_us: CPU_USAGE_US,
            net_usage_words,
            elapsed: 100,
            net_usage: u64::from(net_usage_words) * 8,
            scheduled: false,
            action_traces: traces,
            // Leap bills a transaction's own RAM only when it is delayed; the devnet never is.
            account_ram_delta: None,
            except: None,
            error_code: None,
            failed_dtrx_trace: None,
            partial: Some(partial(trx, &input.signatures)),
        };
        let receipt = TransactionReceipt {
            status: 0,
            cpu_usage_us: trace.cpu_usage_us,
            net_usage_words,
            signatures: input.signatures.clone(),
            packed_context_free_data: Vec::new(),
            packed_trx: input.packed_trx.clone(),
        };
        let payer = trx
            .actions
            .first()
            .and_then(|action| action.authorization.first());
        if let Some(payer) = payer {
            system::bill(
                &mut self.state,
                &mut journal,
                payer.actor,
                u64::from(trace.cpu_usage_us),
                trace.net_usage,
            );
        }
        let pending = self.pending.as_mut().expect("ensure_pending ran");
        pending.journal.extend(journal);
        if let Some(payer) = payer {
            pending.billed.push(Billing {
                payer: payer.actor,
                cpu_usage_us: trace.cpu_usage_us,
                net_usage: trace.net_usage,
            });
        }
        pending.receipts.push(receipt);
        pending.add_trace(trace.clone());
        Ok(PushResult {
            trace,
            block_num: context.block_num,
            block_time: context.timestamp,
        })
    }

    fn seal(&mut self, pending: Pending) -> Result<u32, ChainError> {
        let previous = self
            .blocks
            .last()
            .map_or_else(Checksum256::default, |record| record.id);
        let header = BlockHeader {
            timestamp: pending.timestamp,
            producer: EOSIO,
            confirmed: 0,
            previous,
            transaction_mroot: block::merkle_root(
                pending
                    .receipts
                    .iter()
                    .map(|receipt| block::sha256(&binary::to_bytes(receipt)))
                    .collect(),
            ),
            action_mroot: block::merkle_root(pending.action_digests),
            schedule_version: 0,
        };
        let producer_signature = self
            .config
            .producer_key
            .sign_digest(header.digest().as_bytes())
            .map_err(|error| {
                ChainError::new(
                    ChainErrorKind::Assert,
                    format!("cannot sign block: {error}"),
                )
            })?;
        let deltas = deltas::block_deltas(
            &self.state,
            &pending.journal,
            &pending.billed,
            pending.timestamp.slot(),
        );
        let block = SignedBlock {
            header,
            producer_signature,
            transactions: pending.receipts,
        };
        let id = block.id();
        let block_num = block.block_num();
        self.blocks.push(BlockRecord {
            block,
            id,
            traces: pending.traces,
            deltas,
            journal: pending.journal,
        });
        let lib = block_num.saturating_sub(self.config.lib_lag).max(self.lib);
        for settled in self.lib..lib {
            if let Some(idx) = usize::try_from(settled)
                .ok()
                .filter(|idx| *idx < self.blocks.len())
            {
                self.blocks[idx].journal = Journal::default();
            }
        }
        self.lib = lib;
        self.state
            .prune_transactions(crate::antelope::time::TimePointSec::from_secs(
                u32::try_from(
                    self.head()
                        .block
                        .header
                        .timestamp
                        .to_time_point()
                        .as_micros()
                        / 1_000_000,
                )
                .unwrap_or(u32::MAX),
            ));
        Ok(block_num)
    }
}

impl Pending {
    fn new(timestamp: BlockTimestamp) -> Self {
        Self {
            timestamp,
            journal: Journal::default(),
            receipts: Vec::new(),
            traces: Vec::new(),
            action_digests: Vec::new(),
            billed: Vec::new(),
        }
    }

    /// Adds an executed transaction's trace and its action receipts' digests.
    fn add_trace(&mut self, trace: TransactionTrace) {
        self.action_digests.extend(
            trace
                .action_traces
                .iter()
                .filter_map(|action| action.receipt.as_ref())
                .map(|r| block::sha256(&binary::to_bytes(r))),
        );
        self.traces.push(trace);
    }
}

fn push_trace(
    traces: &mut Vec<ActionTrace>,
    act: Action,
    receiver: Name,
    creator: u32,
    closest: u32,
) -> usize {
    let ordinal = traces.len() + 1;
    traces.push(ActionTrace {
        action_ordinal: u32::try_from(ordinal).unwrap_or(u32::MAX),
        creator_action_ordinal: creator,
        closest_unnotified_ancestor_action_ordinal: closest,
        receipt: None,
        receiver,
        act,
        context_free: false,
        elapsed: 0,
        console: String::new(),
        account_ram_deltas: Vec::new(),
        except: None,
        error_code: None,
        return_value: Vec::new(),
    });
    ordinal
}

/// The `partial` a Leap node writes into a transaction's trace: its header and signatures.
fn partial(trx: &Transaction, signatures: &[Signature]) -> PartialTransaction {
    PartialTransaction {
        expiration: trx.expiration,
        ref_block_num: trx.ref_block_num,
        ref_block_prefix: trx.ref_block_prefix,
        max_net_usage_words: trx.max_net_usage_words,
        max_cpu_usage_ms: trx.max_cpu_usage_ms,
        delay_sec: trx.delay_sec,
        transaction_extensions: trx.transaction_extensions.clone(),
        signatures: signatures.iter().map(WireSignature::from_k1).collect(),
        context_free_data: Vec::new(),
    }
}

/// Runs the action at `ordinal`: at its receiver, at every notified account, then its inline
/// actions (nodeos `apply_context::exec`).
fn execute_action(
    state: &mut State,
    contracts: &Contracts,
    journal: &mut Journal,
    context: BlockContext,
    traces: &mut Vec<ActionTrace>,
    ordinal: usize,
    depth: u32,
) -> Result<(), ChainError> {
    let act = traces[ordinal - 1].act.clone();
    let first_receiver_ordinal = u32::try_from(ordinal).unwrap_or(u32::MAX);
    let mut notified = vec![(traces[ordinal - 1].receiver, ordinal)];
    let mut inline = Vec::new();
    let mut idx = 0;
    while idx < notified.len() {
        let (receiver, current) = notified[idx];
        if state.account(receiver).is_none() {
            return Err(ChainError::new(
                ChainErrorKind::ActionValidate,
                format!("notified account {receiver} does not exist"),
            ));
        }
        let mark = journal.len();
        let scheduled = match contracts.get(receiver) {
            Some(contract) => {
                let mut ctx = ApplyContext::new(state, journal, context, receiver, &act);
                contract
                    .apply(&mut ctx, &act)
                    .map_err(|error| error.into_chain_error())?;
                ctx.into_scheduled()
            }
            None => Vec::new(),
        };
        traces[current - 1].account_ram_deltas = deltas::ram_deltas_since(state, journal, mark);
        let current_ordinal = u32::try_from(current).unwrap_or(u32::MAX);
        for item in scheduled {
            match item {
                Scheduled::Notify(recipient) => {
                    if !notified.iter().any(|(name, _)| *name == recipient) {
                        let new = push_trace(
                            traces,
                            act.clone(),
                            recipient,
                            current_ordinal,
                            first_receiver_ordinal,
                        );
                        notified.push((recipient, new));
                    }
                }
                Scheduled::Inline(action) => {
                    let account = action.account;
                    inline.push(push_trace(
                        traces,
                        action,
                        account,
                        current_ordinal,
                        first_receiver_ordinal,
                    ));
                }
            }
        }
        traces[current - 1].receipt = Some(receipt(state, journal, receiver, &act));
        idx += 1;
    }
    if !inline.is_empty() && depth >= MAX_INLINE_ACTION_DEPTH {
        return Err(ChainError::new(
            ChainErrorKind::Transaction,
            "max inline action depth per transaction reached",
        ));
    }
    for ordinal in inline {
        execute_action(
            state,
            contracts,
            journal,
            context,
            traces,
            ordinal,
            depth + 1,
        )?;
    }
    Ok(())
}

fn receipt(
    state: &mut State,
    journal: &mut Journal,
    receiver: Name,
    act: &Action,
) -> ActionReceipt {
    let global_sequence = state.next_global_sequence(journal);
    let recv_sequence = state.next_recv_sequence(journal, receiver);
    let mut auth_sequence = BTreeMap::new();
    for level in &act.authorization {
        auth_sequence.insert(level.actor, state.next_auth_sequence(journal, level.actor));
    }
    let (code_sequence, abi_sequence) = state.account(act.account).map_or((0, 0), |account| {
        (account.code_sequence, account.abi_sequence)
    });
    ActionReceipt {
        receiver,
        act_digest: action_digest(act),
        global_sequence,
        recv_sequence,
        auth_sequence: auth_sequence.into_iter().collect(),
        code_sequence,
        abi_sequence,
    }
}

/// `generate_action_digest` with an empty return value:
/// `sha256(sha256(account, name, authorization) || sha256(data, return_value))`.
pub fn action_digest(act: &Action) -> Checksum256 {
    let mut base = Writer::new();
    act.account.encode(&mut base);
    act.name.encode(&mut base);
    act.authorization.encode(&mut base);
    let mut rest = Writer::new();
    rest.write_bytes(&act.data);
    rest.write_bytes(&[]);
    let left = block::sha256(base.as_bytes());
    let right = block::sha256(rest.as_bytes());
    block::sha256(&[*left.as_bytes(), *right.as_bytes()].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::antelope::keys::PublicKey;
    use crate::antelope::transaction::PermissionLevel;
    use crate::devnet::fixtures::{
        ALICE, BANK, BOOM, CAROL, NOTE, PUT, ROWS, bank_action, chain, key, now, signed,
    };
    use crate::devnet::state::Authority;

    #[test]
    fn notifications_and_inline_actions_get_nodeos_ordinals() {
        let mut chain = chain();
        let input = signed(&chain, vec![bank_action(PUT, 7)], &[&key(3)]);
        let result = chain.push_transaction(&input, now(&chain)).expect("pushed");
        let shape: Vec<(u32, u32, Name, Name, u64)> = result
            .trace
            .action_traces
            .iter()
            .map(|trace| {
                let receipt = trace.receipt.as_ref().expect("executed");
                (
                    trace.action_ordinal,
                    trace.creator_action_ordinal,
                    trace.receiver,
                    trace.act.name,
                    receipt.global_sequence,
                )
            })
            .collect();
        assert_eq!(
            shape,
            // Sequence 1 went to the block's onblock.
            vec![
                (1, 0, BANK, PUT, 2),
                (2, 1, CAROL, PUT, 3),
                (3, 1, BANK, NOTE, 4)
            ]
        );
        let block_num = chain.produce_block(now(&chain)).expect("block");
        let record = chain.block(block_num).expect("stored");
        assert_eq!(record.block.transactions.len(), 1);
        assert_eq!(
            record
                .deltas
                .iter()
                .map(|delta| delta.name.as_str())
                .collect::<Vec<_>>(),
            vec![
                "contract_row",
                "contract_index64",
                "resource_usage",
                "resource_limits_state"
            ]
        );
    }

    #[test]
    fn blocks_carry_onblock_partial_and_ram_deltas_as_leap_does() {
        let mut chain = chain();
        let previous_header = chain.head().block.header.clone();
        let input = signed(&chain, vec![bank_action(PUT, 7)], &[&key(3)]);
        chain.push_transaction(&input, now(&chain)).expect("pushed");
        let block_num = chain.produce_block(now(&chain)).expect("block");
        let record = chain.block(block_num).expect("stored");
        let [onblock, pushed] = record.traces.as_slice() else {
            panic!("onblock and the pushed transaction: {:?}", record.traces);
        };
        let onblock_partial = onblock.partial.as_ref().expect("onblock has its partial");
        assert!(
            onblock_partial.signatures.is_empty(),
            "implicit, so unsigned"
        );
        assert_eq!(onblock.action_traces.len(), 1);
        let act = &onblock.action_traces[0].act;
        assert_eq!((act.account, act.name), (EOSIO, ONBLOCK));
        assert_eq!(act.data, binary::to_bytes(&previous_header));
        let partial = pushed
            .partial
            .as_ref()
            .expect("an input transaction has its partial");
        let signatures: Vec<_> = partial
            .signatures
            .iter()
            .map(WireSignature::to_k1)
            .collect();
        assert_eq!(
            signatures,
            input
                .signatures
                .iter()
                .copied()
                .map(Some)
                .collect::<Vec<_>>()
        );
        let put = &pushed.action_traces[0];
        assert!(
            put.account_ram_deltas.iter().any(|delta| delta.delta > 0),
            "the new row is billed: {:?}",
            put.account_ram_deltas
        );
        // The onblock receipt counts towards the block's action Merkle root.
        let digests: Vec<Checksum256> = record
            .traces
            .iter()
            .flat_map(|trx| &trx.action_traces)
            .filter_map(|trace| trace.receipt.as_ref())
            .map(|r| block::sha256(&binary::to_bytes(r)))
            .collect();
        assert_eq!(
            record.block.header.action_mroot,
            block::merkle_root(digests)
        );
    }

    #[test]
    fn failing_inline_action_rolls_back_the_whole_transaction() {
        let mut chain = chain();
        let input = signed(&chain, vec![bank_action(BOOM, 5)], &[&key(3)]);
        let error = chain
            .push_transaction(&input, now(&chain))
            .expect_err("second put fails");
        assert_eq!(error.kind(), ChainErrorKind::AssertMessage);
        assert!(error.message().contains("uniqueness constraint"));
        assert_eq!(chain.state().table_rows(BANK, BANK, ROWS).count(), 0);
        // Only the pending block's onblock took a sequence number.
        assert_eq!(chain.state().global_sequence(), 1);
        // The id was not remembered, so the same transaction may be pushed again.
        assert!(
            !chain
                .state()
                .has_transaction(&block::sha256(&input.packed_trx))
        );
    }

    #[test]
    fn authorization_failures_use_nodeos_codes() {
        let mut chain = chain();
        let wrong_key = signed(&chain, vec![bank_action(PUT, 1)], &[&key(2)]);
        let error = chain
            .push_transaction(&wrong_key, now(&chain))
            .expect_err("alice cannot sign for bank");
        assert_eq!(error.kind(), ChainErrorKind::UnsatisfiedAuthorization);
        let extra_key = signed(&chain, vec![bank_action(PUT, 1)], &[&key(3), &key(2)]);
        let error = chain
            .push_transaction(&extra_key, now(&chain))
            .expect_err("alice's key is irrelevant");
        assert_eq!(error.kind(), ChainErrorKind::TxIrrelevantSig);
        let ok = signed(&chain, vec![bank_action(PUT, 1)], &[&key(3)]);
        chain.push_transaction(&ok, now(&chain)).expect("pushed");
        let error = chain
            .push_transaction(&ok, now(&chain))
            .expect_err("duplicate");
        assert_eq!(error.kind(), ChainErrorKind::TxDuplicate);
    }

    #[test]
    fn newaccount_creates_an_account_with_owner_and_active() {
        let mut chain = chain();
        let dave = Name::from_str_const("dave");
        let dave_key: PublicKey = key(5).public_key();
        let mut data = Writer::new();
        ALICE.encode(&mut data);
        dave.encode(&mut data);
        Authority::single_key(dave_key).encode(&mut data);
        Authority::single_key(dave_key).encode(&mut data);
        let action = Action {
            account: EOSIO,
            name: Name::from_str_const("newaccount"),
            authorization: vec![PermissionLevel {
                actor: ALICE,
                permission: Name::from_str_const("active"),
            }],
            data: data.into_bytes(),
        };
        let input = signed(&chain, vec![action], &[&key(2)]);
        chain
            .push_transaction(&input, now(&chain))
            .expect("created");
        let account = chain.state().account(dave).expect("exists");
        assert_eq!(account.permissions.len(), 2);
        let again = signed(&chain, vec![chain_action_again(&input)], &[&key(2)]);
        let error = chain
            .push_transaction(&again, now(&chain))
            .expect_err("taken");
        assert_eq!(error.kind(), ChainErrorKind::AccountNameExists);
    }

    fn chain_action_again(input: &SignedInput) -> Action {
        let trx: Transaction = binary::from_bytes(&input.packed_trx).expect("decodes");
        let mut action = trx.actions[0].clone();
        // Same action in a new transaction: a different id, the same account name.
        action.authorization.push(PermissionLevel {
            actor: ALICE,
            permission: Name::from_str_const("owner"),
        });
        action
    }

    #[test]
    fn fork_replaces_blocks_and_reapplies_transactions() {
        let mut chain = chain();
        for _ in 0..4 {
            chain.produce_block(now(&chain)).expect("block");
        }
        let input = signed(&chain, vec![bank_action(PUT, 3)], &[&key(3)]);
        chain.push_transaction(&input, now(&chain)).expect("pushed");
        let in_block = chain.produce_block(now(&chain)).expect("block");
        chain.produce_block(now(&chain)).expect("block");
        let old_id = chain.block(in_block).expect("block").id;
        let head = chain.head_num();
        let fork_point = chain.fork(2, now(&chain)).expect("forked");
        assert_eq!(fork_point, head - 2);
        assert_eq!(chain.head_num(), head + 1);
        let new_block = chain.block(in_block).expect("replaced");
        assert_ne!(new_block.id, old_id);
        assert_eq!(new_block.block.transactions.len(), 1);
        assert_eq!(chain.state().table_rows(BANK, BANK, ROWS).count(), 1);
        assert!(
            chain.fork(chain.head_num(), now(&chain)).is_err(),
            "cannot fork below LIB"
        );
    }

    #[test]
    fn genesis_block_carries_the_accounts_as_deltas() {
        let chain = chain();
        let genesis = chain.block(1).expect("block 1");
        let names: Vec<&str> = genesis
            .deltas
            .iter()
            .map(|delta| delta.name.as_str())
            .collect();
        assert_eq!(
            names,
            vec![
                "account",
                "account_metadata",
                "permission",
                "resource_limits_state"
            ]
        );
        assert_eq!(genesis.deltas[0].rows.len(), 4);
    }

    #[test]
    fn replay_reproduces_block_ids() {
        let mut chain = chain();
        let input = signed(&chain, vec![bank_action(PUT, 9)], &[&key(3)]);
        chain.push_transaction(&input, now(&chain)).expect("pushed");
        chain.produce_block(now(&chain)).expect("block");
        chain.produce_block(now(&chain)).expect("block");
        let stored: Vec<SignedBlock> = (2..=chain.head_num())
            .map(|num| chain.block(num).expect("block").block.clone())
            .collect();
        let mut again = self::chain();
        for block in &stored {
            again.replay_block(block).expect("same id");
        }
        assert_eq!(again.head().id, chain.head().id);
    }
}
