//! Native contracts of the devnet: the [`Contract`] trait, the [`ApplyContext`] an action runs
//! in, and the [`Contracts`] registry that deploys contracts on accounts.
//!
//! The devnet has no WASM engine. Each contract MONO relies on is a plain Rust struct that
//! implements [`Contract`]: it publishes its ABI (an `AbiDef` built in Rust) and handles every
//! action sent or notified to its account in [`Contract::apply`], exactly where nodeos would run
//! the contract's `apply` entry point.
//!
//! # Writing a contract
//!
//! ```text
//! struct Hello;
//!
//! impl Contract for Hello {
//!     fn abi(&self) -> AbiDef { /* structs, actions and tables of the real contract */ }
//!
//!     fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
//!         if ctx.is_notification() {
//!             return Ok(()); // someone else's action, we were only told about it
//!         }
//!         match action.name.to_string().as_str() {
//!             "hi" => {
//!                 let args: HiArgs = ctx.data()?;           // binary action data, `Decode`
//!                 ctx.require_auth(args.user)?;            // 3090004 when absent
//!                 check(args.user != args.friend, "cannot greet yourself")?; // 3050003
//!                 ctx.emplace(TABLE, args.user, args.user, 1, &Greeting { .. }, vec![])?;
//!                 ctx.require_recipient(args.friend);      // notification, same action
//!                 ctx.send_inline(Action { .. });          // runs after all notifications
//!                 Ok(())
//!             }
//!             _ => Ok(()), // unknown actions are accepted silently, as CDT dispatchers do
//!         }
//!     }
//! }
//! ```
//!
//! Semantics follow nodeos `apply_context`: `require_recipient` schedules the same action for
//! another receiver (once per receiver), notifications run right after the action in request
//! order, inline actions run after all notifications, depth first. Any error aborts the whole
//! transaction and undoes every row it wrote, including rows of inline actions that succeeded.
//!
//! Inline actions may carry the sending contract's own authority or any authority of the action
//! being applied; nodeos would ask for `eosio.code` in the account's permission instead, which
//! the devnet does not model.
//!
//! Contracts never do I/O and never read a clock: [`ApplyContext::current_time`] is the block's.

pub mod branch;
pub mod common;
pub mod draft;
pub mod gateway;
pub mod marketplace;
pub mod registrator;
pub mod soviet;
pub mod system;
pub mod wallet;

use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;

use crate::antelope::abi::def::AbiDef;
use crate::antelope::binary::{self, Decode, Encode};
use crate::antelope::name::Name;
use crate::antelope::time::{BlockTimestamp, TimePoint};
use crate::antelope::transaction::{Action, PermissionLevel};
use crate::devnet::error::{ChainError, ChainErrorKind};
use crate::devnet::state::{Account, EOSIO, Journal, Row, RowKey, SecondaryKey, State};

/// Why an action failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContractError {
    /// A contract `check()` failed: `eosio_assert_message_exception` (3050003).
    #[error("assertion failure with message: {0}")]
    Assert(String),
    /// `require_auth` found no authorization of the account: `missing_auth_exception` (3090004).
    #[error("missing authority of {0}")]
    MissingAuth(Name),
    /// Any other chain exception, raised by the system contract or the context.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

impl ContractError {
    /// The chain exception nodeos would report for this failure.
    pub fn into_chain_error(self) -> ChainError {
        match self {
            Self::Assert(message) => ChainError::new(
                ChainErrorKind::AssertMessage,
                format!("assertion failure with message: {message}"),
            ),
            Self::MissingAuth(account) => ChainError::new(
                ChainErrorKind::MissingAuth,
                format!("missing authority of {account}"),
            ),
            Self::Chain(error) => error,
        }
    }
}

/// Fails with `eosio_assert_message_exception` carrying `message` unless `condition` holds,
/// as CDT's `check` does.
pub fn check(condition: bool, message: impl Into<String>) -> Result<(), ContractError> {
    if condition {
        Ok(())
    } else {
        Err(ContractError::Assert(message.into()))
    }
}

/// A contract implemented natively: stateless code, state lives in the context's tables.
pub trait Contract: Send + Sync {
    /// The ABI the account publishes; served by `get_abi`/`get_raw_abi` and used to render
    /// action data and rows as JSON.
    fn abi(&self) -> AbiDef;

    /// Applies `action` at `ctx.receiver()`: either the action's own account, or an account the
    /// action was forwarded to with `require_recipient` (then [`ApplyContext::is_notification`]).
    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError>;
}

/// Which contract runs on which account.
#[derive(Clone, Default)]
pub struct Contracts {
    by_account: BTreeMap<Name, Arc<dyn Contract>>,
}

impl std::fmt::Debug for Contracts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_account.keys()).finish()
    }
}

impl Contracts {
    /// A registry with only the system contract on `eosio`.
    pub fn with_system() -> Self {
        let mut contracts = Self::default();
        contracts.register(EOSIO, Arc::new(system::System));
        contracts
    }

    /// The system contract and every cooperative contract on its COOPOS account.
    pub fn with_cooperative() -> Self {
        let mut contracts = Self::with_system();
        contracts.register(common::REGISTRATOR, Arc::new(registrator::Registrator));
        contracts.register(common::SOVIET, Arc::new(soviet::Soviet));
        contracts.register(common::GATEWAY, Arc::new(gateway::Gateway));
        contracts.register(common::BRANCH, Arc::new(branch::Branch));
        contracts.register(common::DRAFT, Arc::new(draft::DraftContract));
        contracts.register(common::WALLET, Arc::new(wallet::Wallet));
        contracts.register(common::MARKETPLACE, Arc::new(marketplace::Marketplace));
        contracts
    }

    /// Deploys `contract` on `account`, replacing what ran there.
    pub fn register(&mut self, account: Name, contract: Arc<dyn Contract>) {
        self.by_account.insert(account, contract);
    }

    /// The contract on `account`, if any.
    pub fn get(&self, account: Name) -> Option<&Arc<dyn Contract>> {
        self.by_account.get(&account)
    }

    /// Accounts that run a contract, with the contract.
    pub fn iter(&self) -> impl Iterator<Item = (Name, &Arc<dyn Contract>)> {
        self.by_account
            .iter()
            .map(|(name, contract)| (*name, contract))
    }
}

/// The block an action executes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    /// Number of the block being built.
    pub block_num: u32,
    /// Its timestamp.
    pub timestamp: BlockTimestamp,
}

/// Something an action asked for, in the order asked; the executor turns these into action
/// traces so ordinals come out as nodeos assigns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scheduled {
    Notify(Name),
    Inline(Action),
}

/// What a contract sees while applying one action at one receiver.
pub struct ApplyContext<'a> {
    state: &'a mut State,
    journal: &'a mut Journal,
    block: BlockContext,
    receiver: Name,
    action: &'a Action,
    scheduled: Vec<Scheduled>,
}

impl<'a> ApplyContext<'a> {
    pub(crate) fn new(
        state: &'a mut State,
        journal: &'a mut Journal,
        block: BlockContext,
        receiver: Name,
        action: &'a Action,
    ) -> Self {
        Self {
            state,
            journal,
            block,
            receiver,
            action,
            scheduled: Vec::new(),
        }
    }

    pub(crate) fn into_scheduled(self) -> Vec<Scheduled> {
        self.scheduled
    }

    /// The account whose code runs now.
    pub fn receiver(&self) -> Name {
        self.receiver
    }

    /// The account the action was sent to (`get_first_receiver`).
    pub fn first_receiver(&self) -> Name {
        self.action.account
    }

    /// Whether this is a notification: the receiver is not the action's account.
    pub fn is_notification(&self) -> bool {
        self.receiver != self.action.account
    }

    /// The block the action runs in.
    pub fn block(&self) -> BlockContext {
        self.block
    }

    /// Block time (`current_time_point` in CDT).
    pub fn current_time(&self) -> TimePoint {
        self.block.timestamp.to_time_point()
    }

    /// Decodes the action data as `T`. Trailing bytes are ignored, as CDT's `unpack_action_data`
    /// ignores them; too few bytes fail like CDT's datastream check.
    pub fn data<T: Decode>(&self) -> Result<T, ContractError> {
        unpack(&self.action.data)
    }

    /// Whether `account` declared any permission on the action (`has_auth`).
    pub fn has_auth(&self, account: Name) -> bool {
        self.action
            .authorization
            .iter()
            .any(|level| level.actor == account)
    }

    /// Fails with `missing_auth_exception` unless `account` authorized the action.
    pub fn require_auth(&self, account: Name) -> Result<(), ContractError> {
        if self.has_auth(account) {
            Ok(())
        } else {
            Err(ContractError::MissingAuth(account))
        }
    }

    /// Fails with `missing_auth_exception` unless `account@permission` authorized the action.
    pub fn require_auth2(&self, account: Name, permission: Name) -> Result<(), ContractError> {
        let found = self
            .action
            .authorization
            .iter()
            .any(|level| level.actor == account && level.permission == permission);
        if found {
            Ok(())
        } else {
            Err(ContractError::Chain(ChainError::new(
                ChainErrorKind::MissingAuth,
                format!("missing authority of {account}/{permission}"),
            )))
        }
    }

    /// Whether the account exists.
    pub fn is_account(&self, account: Name) -> bool {
        self.state.account(account).is_some()
    }

    /// The account, for the public keys of its permissions (`assert_recover_key_account`).
    pub fn account(&self, account: Name) -> Option<&Account> {
        self.state.account(account)
    }

    /// Forwards this action to `recipient` after the current receiver; a no-op for an account
    /// already notified of it.
    pub fn require_recipient(&mut self, recipient: Name) {
        self.scheduled.push(Scheduled::Notify(recipient));
    }

    /// Queues an inline action; it runs after this action's notifications.
    ///
    /// # Errors
    ///
    /// `unsatisfied_authorization` when an authorization is neither the receiver's nor one the
    /// current action carries, and `action_validate_exception` when the target account does
    /// not exist.
    pub fn send_inline(&mut self, action: Action) -> Result<(), ContractError> {
        if !self.is_account(action.account) {
            return Err(ContractError::Chain(ChainError::new(
                ChainErrorKind::ActionValidate,
                format!(
                    "inline action's code account {} does not exist",
                    action.account
                ),
            )));
        }
        for level in &action.authorization {
            let granted = level.actor == self.receiver
                || self.action.authorization.contains(level)
                || self.delegates_to_receiver(*level);
            if !granted {
                return Err(ContractError::Chain(ChainError::new(
                    ChainErrorKind::UnsatisfiedAuthorization,
                    format!(
                        "transaction declares authority '{{\"actor\":\"{}\",\"permission\":\"{}\"}}', \
                         but does not have signatures for it under a provided delay of 0 ms, \
                         provided permissions [{{\"actor\":\"{}\",\"permission\":\"eosio.code\"}}]",
                        level.actor, level.permission, self.receiver
                    ),
                )));
            }
        }
        self.scheduled.push(Scheduled::Inline(action));
        Ok(())
    }

    /// Whether `level` is satisfied by the receiver's own authority alone, as an account whose
    /// permission names `receiver@active` (holding `eosio.code`) is on nodeos.
    fn delegates_to_receiver(&self, level: PermissionLevel) -> bool {
        self.state
            .account(level.actor)
            .and_then(|account| account.permission(level.permission))
            .is_some_and(|perm| {
                perm.auth.accounts.iter().any(|weight| {
                    weight.permission.actor == self.receiver
                        && u32::from(weight.weight) >= perm.auth.threshold
                })
            })
    }

    /// Convenience for [`send_inline`](Self::send_inline) with data encoded from `T`.
    pub fn send_inline_data<T: Encode>(
        &mut self,
        account: Name,
        name: Name,
        authorization: Vec<PermissionLevel>,
        data: &T,
    ) -> Result<(), ContractError> {
        self.send_inline(Action {
            account,
            name,
            authorization,
            data: binary::to_bytes(data),
        })
    }

    /// The row with `primary_key` in `code`'s `table` under `scope`, decoded as `T`.
    pub fn find<T: Decode>(
        &self,
        code: Name,
        scope: Name,
        table: Name,
        primary_key: u64,
    ) -> Result<Option<T>, ContractError> {
        let key = RowKey {
            code,
            scope,
            table,
            primary_key,
        };
        self.state
            .row(&key)
            .map(|row| unpack(&row.value))
            .transpose()
    }

    /// All rows of `code`'s `table` under `scope`, by ascending primary key.
    pub fn rows<T: Decode>(
        &self,
        code: Name,
        scope: Name,
        table: Name,
    ) -> Result<Vec<(u64, T)>, ContractError> {
        self.state
            .table_rows(code, scope, table)
            .map(|(key, row)| Ok((key.primary_key, unpack(&row.value)?)))
            .collect()
    }

    /// The first row (lowest primary key) whose secondary key at `index_position` (2 = first
    /// secondary index) equals `key`.
    pub fn find_by_secondary<T: Decode>(
        &self,
        code: Name,
        scope: Name,
        table: Name,
        index_position: usize,
        key: &SecondaryKey,
    ) -> Result<Option<(u64, T)>, ContractError> {
        let slot = index_position.checked_sub(2);
        let found = self.state.table_rows(code, scope, table).find(|(_, row)| {
            slot.and_then(|slot| row.secondary.get(slot))
                .is_some_and(|value| value == key)
        });
        found
            .map(|(row_key, row)| Ok((row_key.primary_key, unpack(&row.value)?)))
            .transpose()
    }

    /// The next free primary key of the receiver's table: one past the largest, 0 when empty
    /// (`available_primary_key`).
    pub fn available_primary_key(&self, scope: Name, table: Name) -> u64 {
        self.state
            .table_rows(self.receiver, scope, table)
            .next_back()
            .map_or(0, |(key, _)| key.primary_key.saturating_add(1))
    }

    /// Inserts a row into the receiver's `table` under `scope`.
    ///
    /// # Errors
    ///
    /// An assertion failure when the primary key is taken, as `multi_index::emplace` reports it.
    pub fn emplace<T: Encode>(
        &mut self,
        table: Name,
        scope: Name,
        payer: Name,
        primary_key: u64,
        row: &T,
        secondary: Vec<SecondaryKey>,
    ) -> Result<(), ContractError> {
        let key = self.own_row_key(table, scope, primary_key);
        check(
            self.state.row(&key).is_none(),
            "could not insert object, most likely a uniqueness constraint was violated",
        )?;
        self.put_row(key, payer, row, secondary);
        Ok(())
    }

    /// Replaces an existing row of the receiver's `table`; `payer` of `None` keeps the payer.
    ///
    /// # Errors
    ///
    /// An assertion failure when there is no such row.
    pub fn modify<T: Encode>(
        &mut self,
        table: Name,
        scope: Name,
        payer: Option<Name>,
        primary_key: u64,
        row: &T,
        secondary: Vec<SecondaryKey>,
    ) -> Result<(), ContractError> {
        let key = self.own_row_key(table, scope, primary_key);
        let Some(existing) = self.state.row(&key) else {
            return Err(ContractError::Assert(
                "cannot pass end iterator to modify".to_owned(),
            ));
        };
        let payer = payer.unwrap_or(existing.payer);
        self.put_row(key, payer, row, secondary);
        Ok(())
    }

    /// Removes a row of the receiver's `table`.
    ///
    /// # Errors
    ///
    /// An assertion failure when there is no such row.
    pub fn erase(
        &mut self,
        table: Name,
        scope: Name,
        primary_key: u64,
    ) -> Result<(), ContractError> {
        let key = self.own_row_key(table, scope, primary_key);
        check(
            self.state.row(&key).is_some(),
            "cannot pass end iterator to erase",
        )?;
        self.state.set_row(self.journal, key, None);
        Ok(())
    }

    /// The key of a row in the receiver's own `table`, the only tables a contract may write.
    fn own_row_key(&self, table: Name, scope: Name, primary_key: u64) -> RowKey {
        RowKey {
            code: self.receiver,
            scope,
            table,
            primary_key,
        }
    }

    /// Writes `row` under `key`, replacing whatever is there.
    fn put_row<T: Encode>(
        &mut self,
        key: RowKey,
        payer: Name,
        row: &T,
        secondary: Vec<SecondaryKey>,
    ) {
        let row = Row {
            payer,
            value: binary::to_bytes(row),
            secondary,
        };
        self.state.set_row(self.journal, key, Some(row));
    }

    /// Replaces an account's record; only the system contract on `eosio` may.
    pub(crate) fn put_account(&mut self, account: Account) -> Result<(), ContractError> {
        if self.receiver != EOSIO {
            return Err(ContractError::Chain(ChainError::new(
                ChainErrorKind::ActionValidate,
                format!("{} is not privileged", self.receiver),
            )));
        }
        self.state.put_account(self.journal, account);
        Ok(())
    }
}

/// Decodes a row or action data, failing as CDT's datastream check does.
fn unpack<T: Decode>(bytes: &[u8]) -> Result<T, ContractError> {
    let mut reader = binary::Reader::new(bytes);
    T::decode(&mut reader)
        .map_err(|_| ContractError::Assert("datastream attempted to read past the end".to_owned()))
}
