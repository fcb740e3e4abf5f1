//! The devnet's chain state: accounts with their permissions and ABIs, contract table rows with
//! their secondary keys, and the sequence counters that action receipts carry.
//!
//! Every change goes through [`State`] methods that record the previous value in a [`Journal`],
//! so a failed transaction, a dropped block or an injected fork is undone exactly by replaying
//! the journal backwards. Nothing here does I/O or reads a clock.

use std::collections::BTreeMap;

use crate::antelope::binary::Error::InvalidValue;
use crate::antelope::binary::{Decode, Encode, Reader, Writer};
use crate::antelope::checksum::Checksum256;
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::time::{BlockTimestamp, TimePoint, TimePointSec};
use crate::antelope::transaction::PermissionLevel;

/// The system account.
pub const EOSIO: Name = Name::from_str_const("eosio");
/// The `owner` permission.
pub const OWNER: Name = Name::from_str_const("owner");
/// The `active` permission.
pub const ACTIVE: Name = Name::from_str_const("active");

/// A key and the weight it contributes to an authority's threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWeight {
    /// The K1 public key.
    pub key: PublicKey,
    /// Weight added when the key signed.
    pub weight: u16,
}

/// An account permission and the weight it contributes when satisfied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionLevelWeight {
    /// The `actor@permission` that must be satisfied.
    pub permission: PermissionLevel,
    /// Weight added when it is.
    pub weight: u16,
}

/// A delay and its weight; kept for wire compatibility, never satisfied by the devnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitWeight {
    /// Delay in seconds.
    pub wait_sec: u32,
    /// Weight added after the delay.
    pub weight: u16,
}

/// An Antelope `authority`: satisfied when the weights of the keys and permissions that are
/// present reach `threshold`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Weight needed.
    pub threshold: u32,
    /// Keys, sorted as nodeos requires.
    pub keys: Vec<KeyWeight>,
    /// Permissions of other accounts.
    pub accounts: Vec<PermissionLevelWeight>,
    /// Delays.
    pub waits: Vec<WaitWeight>,
}

/// One named permission of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// Permission name (`owner`, `active`, …).
    pub name: Name,
    /// Parent permission; empty for `owner`.
    pub parent: Name,
    /// Who satisfies it.
    pub auth: Authority,
    /// When it last changed.
    pub last_updated: TimePoint,
}

/// An account and its on-chain metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Account name.
    pub name: Name,
    /// Block time of creation.
    pub creation_date: BlockTimestamp,
    /// Whether the account is privileged (only `eosio`).
    pub privileged: bool,
    /// Permissions, in creation order (`owner` first).
    pub permissions: Vec<Permission>,
    /// The binary `abi_def`, empty when none was set.
    pub abi: Vec<u8>,
    /// Hash of the code set with `setcode`; zero when none.
    pub code_hash: Checksum256,
    /// When the code last changed.
    pub last_code_update: TimePoint,
    /// Incremented by every `setcode`.
    pub code_sequence: u32,
    /// Incremented by every `setabi`.
    pub abi_sequence: u32,
}

/// Per-account receipt counters, kept apart from [`Account`] so counting stays cheap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sequences {
    recv: u64,
    auth: u64,
}

impl Account {
    /// The named permission, if the account has it.
    pub fn permission(&self, name: Name) -> Option<&Permission> {
        self.permissions.iter().find(|perm| perm.name == name)
    }
}

/// A secondary index key of a table row, in the key types the cooperative contracts use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecondaryKey {
    /// `idx64`: `name` and `i64` keys.
    U64(u64),
    /// `idx128`.
    U128(u128),
    /// `idx256`: `sha256` keys such as document hashes.
    Checksum256(Checksum256),
}

/// Where a row lives: `(code, scope, table, primary_key)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey {
    /// Contract that owns the table.
    pub code: Name,
    /// Scope inside the contract.
    pub scope: Name,
    /// Table name.
    pub table: Name,
    /// Primary key.
    pub primary_key: u64,
}

/// A stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Account billed for the row's RAM.
    pub payer: Name,
    /// The row bytes in the table's ABI type.
    pub value: Vec<u8>,
    /// Secondary keys, index position 2 first.
    pub secondary: Vec<SecondaryKey>,
}

/// One recorded change, holding the value before it.
#[derive(Debug, Clone)]
enum Undo {
    Account {
        name: Name,
        previous: Option<Box<Account>>,
    },
    Row {
        key: RowKey,
        previous: Option<Row>,
    },
    GlobalSequence(u64),
    Sequences {
        name: Name,
        previous: Sequences,
    },
    Transaction(Checksum256),
}

/// Changes in the order they were made, each with the value it replaced.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    entries: Vec<Undo>,
}

impl Journal {
    /// Appends all of `other`'s changes after this journal's.
    pub fn extend(&mut self, other: Journal) {
        self.entries.extend(other.entries);
    }

    /// How many changes were recorded; a mark for [`Journal::touched_rows_since`].
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Rows touched, each once, in order of first change, with the value before the first change.
    pub fn touched_rows(&self) -> Vec<(RowKey, Option<&Row>)> {
        self.touched_rows_since(0)
    }

    /// Rows touched by the changes from `mark` on, as [`Journal::touched_rows`].
    pub fn touched_rows_since(&self, mark: usize) -> Vec<(RowKey, Option<&Row>)> {
        let mut seen = BTreeMap::new();
        let mut order = Vec::new();
        for entry in self.entries.iter().skip(mark) {
            if let Undo::Row { key, previous } = entry
                && !seen.contains_key(key)
            {
                seen.insert(*key, ());
                order.push((*key, previous.as_ref()));
            }
        }
        order
    }

    /// Accounts touched, each once, in order of first change.
    pub fn touched_accounts(&self) -> Vec<Name> {
        let mut order: Vec<Name> = Vec::new();
        for entry in &self.entries {
            if let Undo::Account { name, .. } = entry
                && !order.contains(name)
            {
                order.push(*name);
            }
        }
        order
    }
}

/// The whole mutable state of the devnet chain.
#[derive(Debug, Clone, Default)]
pub struct State {
    accounts: BTreeMap<Name, Account>,
    rows: BTreeMap<RowKey, Row>,
    global_sequence: u64,
    sequences: BTreeMap<Name, Sequences>,
    transactions: BTreeMap<Checksum256, TimePointSec>,
}

impl State {
    /// The account, if it exists.
    pub fn account(&self, name: Name) -> Option<&Account> {
        self.accounts.get(&name)
    }

    /// All accounts by name.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// Creates or replaces an account.
    pub fn put_account(&mut self, journal: &mut Journal, account: Account) {
        let name = account.name;
        let previous = self.accounts.insert(name, account).map(Box::new);
        journal.entries.push(Undo::Account { name, previous });
    }

    /// The row at `key`, if present.
    pub fn row(&self, key: &RowKey) -> Option<&Row> {
        self.rows.get(key)
    }

    /// Stores (`Some`) or erases (`None`) the row at `key`.
    pub fn set_row(&mut self, journal: &mut Journal, key: RowKey, row: Option<Row>) {
        let previous = match row {
            Some(row) => self.rows.insert(key, row),
            None => self.rows.remove(&key),
        };
        journal.entries.push(Undo::Row { key, previous });
    }

    /// Rows of one table in one scope, by ascending primary key.
    pub fn table_rows(
        &self,
        code: Name,
        scope: Name,
        table: Name,
    ) -> impl DoubleEndedIterator<Item = (&RowKey, &Row)> {
        let start = RowKey {
            code,
            scope,
            table,
            primary_key: 0,
        };
        let end = RowKey {
            code,
            scope,
            table,
            primary_key: u64::MAX,
        };
        self.rows.range(start..=end)
    }

    /// The last global sequence handed out (0 before the first action).
    pub fn global_sequence(&self) -> u64 {
        self.global_sequence
    }

    /// Hands out the next global action sequence.
    pub fn next_global_sequence(&mut self, journal: &mut Journal) -> u64 {
        journal
            .entries
            .push(Undo::GlobalSequence(self.global_sequence));
        self.global_sequence += 1;
        self.global_sequence
    }

    /// Hands out `account`'s next receiver sequence.
    pub fn next_recv_sequence(&mut self, journal: &mut Journal, account: Name) -> u64 {
        let sequences = self.sequences.entry(account).or_default();
        journal.entries.push(Undo::Sequences {
            name: account,
            previous: *sequences,
        });
        sequences.recv += 1;
        sequences.recv
    }

    /// Hands out `account`'s next authorizer sequence.
    pub fn next_auth_sequence(&mut self, journal: &mut Journal, account: Name) -> u64 {
        let sequences = self.sequences.entry(account).or_default();
        journal.entries.push(Undo::Sequences {
            name: account,
            previous: *sequences,
        });
        sequences.auth += 1;
        sequences.auth
    }

    /// Whether a transaction with this id is remembered (not yet expired).
    pub fn has_transaction(&self, id: &Checksum256) -> bool {
        self.transactions.contains_key(id)
    }

    /// Remembers a transaction id until its expiration, for duplicate detection.
    pub fn record_transaction(
        &mut self,
        journal: &mut Journal,
        id: Checksum256,
        expiration: TimePointSec,
    ) {
        self.transactions.insert(id, expiration);
        journal.entries.push(Undo::Transaction(id));
    }

    /// Forgets transaction ids that expired before `now`; they can no longer be replayed, since
    /// an expired transaction is rejected before the duplicate check. Not journaled: dropping
    /// them changes no observable outcome.
    pub fn prune_transactions(&mut self, now: TimePointSec) {
        self.transactions.retain(|_, expiration| *expiration >= now);
    }

    /// Undoes every change of `journal`, newest first.
    pub fn undo(&mut self, journal: Journal) {
        for entry in journal.entries.into_iter().rev() {
            match entry {
                Undo::Account { name, previous } => match previous {
                    Some(account) => {
                        self.accounts.insert(name, *account);
                    }
                    None => {
                        self.accounts.remove(&name);
                    }
                },
                Undo::Row { key, previous } => match previous {
                    Some(row) => {
                        self.rows.insert(key, row);
                    }
                    None => {
                        self.rows.remove(&key);
                    }
                },
                Undo::GlobalSequence(previous) => self.global_sequence = previous,
                Undo::Sequences { name, previous } => {
                    self.sequences.insert(name, previous);
                }
                Undo::Transaction(id) => {
                    self.transactions.remove(&id);
                }
            }
        }
    }
}

impl Encode for KeyWeight {
    fn encode(&self, writer: &mut Writer) {
        writer.write_raw(&self.key.to_wire());
        writer.write_u16(self.weight);
    }
}

impl Decode for KeyWeight {
    fn decode(reader: &mut Reader<'_>) -> crate::antelope::binary::Result<Self> {
        let position = reader.position();
        let wire = reader.read_slice(PublicKey::WIRE_LEN)?;
        let key = PublicKey::from_wire(wire).map_err(|error| InvalidValue {
            type_name: "public_key",
            position,
            source: Box::new(error),
        })?;
        Ok(Self {
            key,
            weight: reader.read_u16()?,
        })
    }
}

impl Encode for PermissionLevelWeight {
    fn encode(&self, writer: &mut Writer) {
        self.permission.encode(writer);
        writer.write_u16(self.weight);
    }
}

impl Decode for PermissionLevelWeight {
    fn decode(reader: &mut Reader<'_>) -> crate::antelope::binary::Result<Self> {
        Ok(Self {
            permission: PermissionLevel::decode(reader)?,
            weight: reader.read_u16()?,
        })
    }
}

impl Encode for WaitWeight {
    fn encode(&self, writer: &mut Writer) {
        writer.write_u32(self.wait_sec);
        writer.write_u16(self.weight);
    }
}

impl Decode for WaitWeight {
    fn decode(reader: &mut Reader<'_>) -> crate::antelope::binary::Result<Self> {
        Ok(Self {
            wait_sec: reader.read_u32()?,
            weight: reader.read_u16()?,
        })
    }
}

impl Encode for Authority {
    fn encode(&self, writer: &mut Writer) {
        writer.write_u32(self.threshold);
        self.keys.encode(writer);
        self.accounts.encode(writer);
        self.waits.encode(writer);
    }
}

impl Decode for Authority {
    fn decode(reader: &mut Reader<'_>) -> crate::antelope::binary::Result<Self> {
        Ok(Self {
            threshold: reader.read_u32()?,
            keys: Vec::decode(reader)?,
            accounts: Vec::decode(reader)?,
            waits: Vec::decode(reader)?,
        })
    }
}

impl Authority {
    /// An authority satisfied by one key alone.
    pub fn single_key(key: PublicKey) -> Self {
        Self {
            threshold: 1,
            keys: vec![KeyWeight { key, weight: 1 }],
            accounts: Vec::new(),
            waits: Vec::new(),
        }
    }

    /// An authority satisfied by one account permission alone.
    pub fn single_account(permission: PermissionLevel) -> Self {
        Self {
            threshold: 1,
            keys: Vec::new(),
            accounts: vec![PermissionLevelWeight {
                permission,
                weight: 1,
            }],
            waits: Vec::new(),
        }
    }

    /// Whether the authority can ever be satisfied: positive threshold, reachable by its
    /// weights, keys and accounts without duplicates (nodeos `validate`).
    pub fn is_valid(&self) -> bool {
        let total: u64 = self.keys.iter().map(|kw| u64::from(kw.weight)).sum::<u64>()
            + self
                .accounts
                .iter()
                .map(|aw| u64::from(aw.weight))
                .sum::<u64>()
            + self
                .waits
                .iter()
                .map(|ww| u64::from(ww.weight))
                .sum::<u64>();
        let keys_unique = self.keys.windows(2).all(|pair| pair[0].key != pair[1].key);
        let accounts_unique = self
            .accounts
            .windows(2)
            .all(|pair| pair[0].permission != pair[1].permission);
        self.threshold > 0 && total >= u64::from(self.threshold) && keys_unique && accounts_unique
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: &str, scope: &str, table: &str, primary_key: u64) -> RowKey {
        RowKey {
            code: Name::from_str_const(code),
            scope: Name::from_str_const(scope),
            table: Name::from_str_const(table),
            primary_key,
        }
    }

    fn row(byte: u8) -> Row {
        Row {
            payer: Name::from_str_const("alice"),
            value: vec![byte],
            secondary: Vec::new(),
        }
    }

    #[test]
    fn undo_restores_rows_and_sequences() {
        let mut state = State::default();
        let mut base = Journal::default();
        state.set_row(
            &mut base,
            key("soviet", "voskhod", "decisions", 1),
            Some(row(1)),
        );
        let before = state.clone();

        let mut journal = Journal::default();
        state.set_row(
            &mut journal,
            key("soviet", "voskhod", "decisions", 1),
            Some(row(2)),
        );
        state.set_row(
            &mut journal,
            key("soviet", "voskhod", "decisions", 2),
            Some(row(3)),
        );
        state.set_row(&mut journal, key("soviet", "voskhod", "decisions", 1), None);
        assert_eq!(state.next_global_sequence(&mut journal), 1);
        assert_eq!(journal.touched_rows().len(), 2);
        assert_eq!(journal.touched_rows()[0].1, Some(&row(1)));
        state.undo(journal);

        assert_eq!(state.rows, before.rows);
        assert_eq!(state.global_sequence(), 0);
    }

    #[test]
    fn table_rows_stay_inside_one_table() {
        let mut state = State::default();
        let mut journal = Journal::default();
        for (table, primary_key) in [("a", 5), ("b", 0), ("b", u64::MAX), ("c", 1)] {
            state.set_row(
                &mut journal,
                key("code", "scope", table, primary_key),
                Some(row(0)),
            );
        }
        let keys: Vec<u64> = state
            .table_rows(
                Name::from_str_const("code"),
                Name::from_str_const("scope"),
                Name::from_str_const("b"),
            )
            .map(|(key, _)| key.primary_key)
            .collect();
        assert_eq!(keys, vec![0, u64::MAX]);
    }

    #[test]
    fn authority_validity_follows_nodeos() {
        let level = PermissionLevel {
            actor: Name::from_str_const("alice"),
            permission: Name::from_str_const("active"),
        };
        assert!(Authority::single_account(level).is_valid());
        let mut unreachable = Authority::single_account(level);
        unreachable.threshold = 2;
        assert!(!unreachable.is_valid());
    }
}
