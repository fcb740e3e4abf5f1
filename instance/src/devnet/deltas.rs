//! The devnet's SHiP table deltas, in the tables, order and row layouts of Leap 5's
//! `state_history` (`create_deltas`): accounts and their metadata, contract rows with their
//! secondary-index rows, permissions, every account's resource usage that the block billed, and
//! the chain-wide resource state, which a Leap node rewrites in every block.
//!
//! The resource rows have nodeos' layout but not its accounting: the devnet bills a fixed CPU
//! time per transaction and the transaction's size as NET. Pure: the state, the block's journal
//! and the billed accounts in, the deltas out.

use std::collections::BTreeMap;

use crate::antelope::binary::{self, Encode, Writer};
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::ship::{AccountDelta, ContractRow, DeltaRow, TableDelta};
use crate::devnet::state::{Account, Journal, Row, RowKey, SecondaryKey, State};

/// Leap's secondary-index tables, in its order; [`SecondaryKey`]s map onto them in turn.
const INDEX_TABLES: [&str; 3] = ["contract_index64", "contract_index128", "contract_index256"];
/// RAM bytes nodeos bills for a table row on top of its value (`billable_size` of
/// `key_value_object`).
const ROW_OVERHEAD_BYTES: i64 = 112;
/// RAM bytes nodeos bills for a secondary-index entry of a 64-bit key (`index64_object`).
const INDEX_OVERHEAD_BYTES: i64 = 24;

/// What one transaction of the block was billed, for `resource_usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Billing {
    /// The first authorizer of the transaction's first action, who pays.
    pub payer: Name,
    /// CPU in microseconds.
    pub cpu_usage_us: u32,
    /// NET in bytes.
    pub net_usage: u64,
}

/// The deltas of one block, from the state after it and its journal of changes.
pub fn block_deltas(
    state: &State,
    journal: &Journal,
    billed: &[Billing],
    block_slot: u32,
) -> Vec<TableDelta> {
    let accounts: Vec<&Account> = journal
        .touched_accounts()
        .into_iter()
        .filter_map(|name| state.account(name))
        .collect();
    let (rows, indexes) = contract_rows(state, journal);
    let mut deltas = Vec::new();
    let mut push = |name: &str, rows: Vec<DeltaRow>| {
        if !rows.is_empty() {
            deltas.push(TableDelta {
                name: name.to_owned(),
                rows,
            });
        }
    };
    push(
        "account",
        accounts.iter().map(|a| present(account_row(a))).collect(),
    );
    push(
        "account_metadata",
        accounts.iter().map(|a| present(metadata_row(a))).collect(),
    );
    push("contract_row", rows);
    for (table, index_rows) in INDEX_TABLES.into_iter().zip(indexes) {
        push(table, index_rows);
    }
    push(
        "permission",
        accounts
            .iter()
            .flat_map(|account| permission_rows(account))
            .map(present)
            .collect(),
    );
    push("resource_usage", resource_usage_rows(billed, block_slot));
    push(
        "resource_limits_state",
        vec![present(resource_limits_state_row(billed, block_slot))],
    );
    deltas
}

/// RAM each account was billed (positive) or refunded by the row changes from `mark` on, in
/// order of first change; accounts whose changes cancel out are left out.
pub fn ram_deltas_since(state: &State, journal: &Journal, mark: usize) -> Vec<AccountDelta> {
    let mut order: Vec<Name> = Vec::new();
    let mut bytes: BTreeMap<Name, i64> = BTreeMap::new();
    let mut bill = |payer: Name, delta: i64| {
        if !order.contains(&payer) {
            order.push(payer);
        }
        *bytes.entry(payer).or_default() += delta;
    };
    for (key, before) in journal.touched_rows_since(mark) {
        if let Some(row) = before {
            bill(row.payer, -billable_bytes(row));
        }
        if let Some(row) = state.row(&key) {
            bill(row.payer, billable_bytes(row));
        }
    }
    order
        .into_iter()
        .filter_map(|account| {
            let delta = bytes.get(&account).copied().unwrap_or_default();
            (delta != 0).then_some(AccountDelta { account, delta })
        })
        .collect()
}

fn billable_bytes(row: &Row) -> i64 {
    let value = i64::try_from(row.value.len()).unwrap_or(i64::MAX);
    let indexes = i64::try_from(row.secondary.len()).unwrap_or(i64::MAX);
    ROW_OVERHEAD_BYTES + value + indexes * INDEX_OVERHEAD_BYTES
}

fn present(data: Vec<u8>) -> DeltaRow {
    DeltaRow {
        present: true,
        data,
    }
}

/// Changed contract rows, and their secondary-index rows by [`INDEX_TABLES`]: the new value
/// of a row that exists, the old one (not present) of a removed row.
fn contract_rows(state: &State, journal: &Journal) -> (Vec<DeltaRow>, [Vec<DeltaRow>; 3]) {
    let mut rows = Vec::new();
    let mut indexes: [Vec<DeltaRow>; 3] = Default::default();
    for (key, before) in journal.touched_rows() {
        let after = state.row(&key);
        if before == after {
            continue;
        }
        let (row, is_present) = match (after, before) {
            (Some(row), _) => (row, true),
            (None, Some(row)) => (row, false),
            (None, None) => continue,
        };
        rows.push(DeltaRow {
            present: is_present,
            data: contract_row(&key, row),
        });
        for (position, secondary) in row.secondary.iter().enumerate() {
            let (table_idx, data) = index_row(&key, row.payer, position, secondary);
            indexes[table_idx].push(DeltaRow {
                present: is_present,
                data,
            });
        }
    }
    (rows, indexes)
}

fn contract_row(key: &RowKey, row: &Row) -> Vec<u8> {
    binary::to_bytes(&ContractRow {
        code: key.code,
        scope: key.scope,
        table: key.table,
        primary_key: key.primary_key,
        payer: row.payer,
        value: row.value.clone(),
    })
}

/// A secondary-index row and its table's place in [`INDEX_TABLES`]: multi_index stores index
/// `position` (0 for the first secondary index) in a table named like the row's table with the
/// position in its low four bits.
fn index_row(
    key: &RowKey,
    payer: Name,
    position: usize,
    secondary: &SecondaryKey,
) -> (usize, Vec<u8>) {
    let index_table = (key.table.as_u64() & !0xf) | (position as u64 & 0xf);
    let mut writer = Writer::new();
    writer.write_varuint32(0);
    key.code.encode(&mut writer);
    key.scope.encode(&mut writer);
    Name::from_u64(index_table).encode(&mut writer);
    writer.write_u64(key.primary_key);
    payer.encode(&mut writer);
    let table_idx = match secondary {
        SecondaryKey::U64(value) => {
            writer.write_u64(*value);
            0
        }
        SecondaryKey::U128(value) => {
            writer.write_raw(&value.to_le_bytes());
            1
        }
        SecondaryKey::Checksum256(value) => {
            value.encode(&mut writer);
            2
        }
    };
    (table_idx, writer.into_bytes())
}

fn account_row(account: &Account) -> Vec<u8> {
    let mut writer = Writer::new();
    writer.write_varuint32(0);
    account.name.encode(&mut writer);
    account.creation_date.encode(&mut writer);
    writer.write_bytes(&account.abi);
    writer.into_bytes()
}

fn metadata_row(account: &Account) -> Vec<u8> {
    let mut writer = Writer::new();
    writer.write_varuint32(0);
    account.name.encode(&mut writer);
    writer.write_bool(account.privileged);
    account.last_code_update.encode(&mut writer);
    if account.code_hash == Checksum256::default() {
        writer.write_u8(0);
    } else {
        // code_id { vm_type: 0, vm_version: 0, code_hash }.
        writer.write_u8(1);
        writer.write_u8(0);
        writer.write_u8(0);
        account.code_hash.encode(&mut writer);
    }
    writer.into_bytes()
}

fn permission_rows(account: &Account) -> Vec<Vec<u8>> {
    account
        .permissions
        .iter()
        .map(|permission| {
            let mut writer = Writer::new();
            writer.write_varuint32(0);
            account.name.encode(&mut writer);
            permission.name.encode(&mut writer);
            permission.parent.encode(&mut writer);
            permission.last_updated.encode(&mut writer);
            permission.auth.encode(&mut writer);
            writer.into_bytes()
        })
        .collect()
}

/// `usage_accumulator_v0 { last_ordinal, value_ex, consumed }`.
fn usage_accumulator(writer: &mut Writer, last_ordinal: u32, consumed: u64) {
    writer.write_varuint32(0);
    writer.write_u32(last_ordinal);
    writer.write_u64(0);
    writer.write_u64(consumed);
}

/// `resource_usage_v0` of each payer, with what the block billed it.
fn resource_usage_rows(billed: &[Billing], block_slot: u32) -> Vec<DeltaRow> {
    let mut usage: Vec<(Name, u64, u64)> = Vec::new();
    for billing in billed {
        match usage
            .iter_mut()
            .find(|(payer, _, _)| *payer == billing.payer)
        {
            Some((_, net, cpu)) => {
                *net += billing.net_usage;
                *cpu += u64::from(billing.cpu_usage_us);
            }
            None => usage.push((
                billing.payer,
                billing.net_usage,
                u64::from(billing.cpu_usage_us),
            )),
        }
    }
    usage
        .into_iter()
        .map(|(owner, net, cpu)| {
            let mut writer = Writer::new();
            writer.write_varuint32(0);
            owner.encode(&mut writer);
            usage_accumulator(&mut writer, block_slot, net);
            usage_accumulator(&mut writer, block_slot, cpu);
            // ram_usage: not tracked by the devnet.
            writer.write_u64(0);
            present(writer.into_bytes())
        })
        .collect()
}

/// `resource_limits_state_v0`: the block's average usage and the chain-wide totals.
fn resource_limits_state_row(billed: &[Billing], block_slot: u32) -> Vec<u8> {
    let net: u64 = billed.iter().map(|billing| billing.net_usage).sum();
    let cpu: u64 = billed
        .iter()
        .map(|billing| u64::from(billing.cpu_usage_us))
        .sum();
    let mut writer = Writer::new();
    writer.write_varuint32(0);
    usage_accumulator(&mut writer, block_slot, net);
    usage_accumulator(&mut writer, block_slot, cpu);
    // total_net_weight, total_cpu_weight, total_ram_bytes: no staking on the devnet.
    writer.write_u64(0);
    writer.write_u64(0);
    writer.write_u64(0);
    // virtual_net_limit, virtual_cpu_limit: nodeos' defaults for an idle chain.
    writer.write_u64(1_048_576);
    writer.write_u64(200_000);
    writer.into_bytes()
}
