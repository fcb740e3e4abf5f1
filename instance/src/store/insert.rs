//! Bulk inserts of a commit's events, one way per backend.
//!
//! PostgreSQL gets one statement per table whatever the number of rows: every column is bound
//! as one array and `UNNEST` turns the arrays back into rows, so the statement text is fixed,
//! prepared once per connection, and its parameters travel in binary. SQLite gets multi-row
//! `VALUES` statements, chunked below its bind limit.
//!
//! Both write exactly the same rows; `Store::commit_blocks` calls them inside its transaction.
//!
//! Row versions: a delta's `valid_to_block` is the block of its row's next version. The deltas
//! of a commit get theirs when they are inserted (computed here from the commit itself), and
//! the version each changed row had before the commit is closed by one primary-key seek per
//! row, so the cost follows the commit's size, never the table's or a row's history.

use sqlx::{PgConnection, QueryBuilder, Sqlite, SqliteConnection};

use std::collections::HashMap;

use super::codec::u64_to_db;
use super::{AbiRecord, BlockBatch, DeltaRecord, JsonText, Result};

/// Most bind parameters in one SQLite statement, below its limit of 32766.
const MAX_SQLITE_BINDS: usize = 30_000;

const INSERT_BLOCKS_UNNEST: &str = "INSERT INTO blocks (block_num, block_id, previous, timestamp_ms) \
     SELECT * FROM UNNEST($1::int8[], $2::bytea[], $3::bytea[], $4::int8[])";

const INSERT_ACTIONS_UNNEST: &str = "INSERT INTO actions (global_sequence, block_num, trx_id, \
     action_ordinal, creator_action_ordinal, receiver, account, name, \"authorization\", data, \
     raw, abi_hash) \
     SELECT g, b, t, o, c, r, a, n, au::json, d::json, raw, h FROM UNNEST($1::int8[], \
     $2::int8[], $3::bytea[], $4::int8[], $5::int8[], $6::text[], $7::text[], $8::text[], \
     $9::text[], $10::text[], $11::bytea[], $12::bytea[]) AS x(g, b, t, o, c, r, a, n, au, d, raw, h)";

const INSERT_DELTAS_UNNEST: &str = "INSERT INTO deltas (code, scope, table_name, primary_key, \
     block_num, present, payer, value, raw, abi_hash, valid_to_block) \
     SELECT c, s, t, k, b, p, y, v::json, raw, h, vt FROM UNNEST($1::text[], $2::text[], \
     $3::text[], $4::int8[], $5::int8[], $6::bool[], $7::text[], $8::text[], $9::bytea[], \
     $10::bytea[], $11::int8[]) AS x(c, s, t, k, b, p, y, v, raw, h, vt)";

/// Closes the latest version before the commit of each row the commit changes, at the first
/// block that changes it.
const CLOSE_PREVIOUS_UNNEST: &str = "UPDATE deltas d SET valid_to_block = u.first_change \
     FROM (SELECT c, s, t, k, f AS first_change, (SELECT MAX(p.block_num) FROM deltas p \
     WHERE p.code = c AND p.scope = s AND p.table_name = t AND p.primary_key = k \
     AND p.block_num < f) AS previous FROM UNNEST($1::text[], $2::text[], $3::text[], \
     $4::int8[], $5::int8[]) AS x(c, s, t, k, f)) AS u \
     WHERE d.code = u.c AND d.scope = u.s AND d.table_name = u.t AND d.primary_key = u.k \
     AND d.block_num = u.previous";

/// [`CLOSE_PREVIOUS_UNNEST`] for one row, on SQLite.
const CLOSE_PREVIOUS_ONE: &str = "UPDATE deltas SET valid_to_block = $5 WHERE code = $1 \
     AND scope = $2 AND table_name = $3 AND primary_key = $4 AND block_num = \
     (SELECT MAX(block_num) FROM deltas WHERE code = $1 AND scope = $2 AND table_name = $3 \
     AND primary_key = $4 AND block_num < $5)";

const INSERT_ABIS_UNNEST: &str = "INSERT INTO abis (account, block_num, abi_hash, abi) \
     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::bytea[], $4::bytea[])";

const INSERT_UNDECODABLE_UNNEST: &str = "INSERT INTO undecodable (block_num, kind, locator, raw, \
     reason) SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::bytea[], $5::text[])";

/// Inserts the blocks and events of `new` (consecutive, not yet stored) on PostgreSQL.
pub(super) async fn postgres(tx: &mut PgConnection, new: &[BlockBatch]) -> Result<()> {
    let mut block_nums = Vec::with_capacity(new.len());
    let mut block_ids = Vec::with_capacity(new.len());
    let mut previous = Vec::with_capacity(new.len());
    let mut timestamps = Vec::with_capacity(new.len());
    for batch in new {
        block_nums.push(i64::from(batch.block.block_num));
        block_ids.push(&batch.block.block_id[..]);
        previous.push(&batch.block.previous[..]);
        timestamps.push(batch.block.timestamp_ms);
    }
    sqlx::query(INSERT_BLOCKS_UNNEST)
        .bind(block_nums)
        .bind(block_ids)
        .bind(previous)
        .bind(timestamps)
        .execute(&mut *tx)
        .await?;

    let actions = events(new, |batch| &batch.actions);
    if !actions.is_empty() {
        let mut columns = ActionColumns::with_capacity(actions.len());
        for (block_num, action) in &actions {
            columns
                .global_sequence
                .push(u64_to_db(action.global_sequence));
            columns.block_num.push(i64::from(*block_num));
            columns.trx_id.push(&action.trx_id[..]);
            columns
                .action_ordinal
                .push(i64::from(action.action_ordinal));
            columns
                .creator_action_ordinal
                .push(i64::from(action.creator_action_ordinal));
            columns.receiver.push(action.receiver.as_str());
            columns.account.push(action.account.as_str());
            columns.name.push(action.name.as_str());
            columns.authorization.push(action.authorization.as_str());
            columns
                .data
                .push(action.data.as_ref().map(JsonText::as_str));
            columns.raw.push(action.raw.as_slice());
            columns
                .abi_hash
                .push(action.abi_hash.as_ref().map(|hash| &hash[..]));
        }
        sqlx::query(INSERT_ACTIONS_UNNEST)
            .bind(columns.global_sequence)
            .bind(columns.block_num)
            .bind(columns.trx_id)
            .bind(columns.action_ordinal)
            .bind(columns.creator_action_ordinal)
            .bind(columns.receiver)
            .bind(columns.account)
            .bind(columns.name)
            .bind(columns.authorization)
            .bind(columns.data)
            .bind(columns.raw)
            .bind(columns.abi_hash)
            .execute(&mut *tx)
            .await?;
    }

    let deltas = events(new, |batch| &batch.deltas);
    if !deltas.is_empty() {
        let versions = RowVersions::of(&deltas, delta_key);
        let mut columns = DeltaColumns::with_capacity(deltas.len());
        for ((block_num, delta), valid_to) in deltas.iter().zip(&versions.valid_to) {
            columns.valid_to_block.push(valid_to.map(i64::from));
            columns.code.push(delta.code.as_str());
            columns.scope.push(delta.scope.as_str());
            columns.table_name.push(delta.table_name.as_str());
            columns.primary_key.push(u64_to_db(delta.primary_key));
            columns.block_num.push(i64::from(*block_num));
            columns.present.push(delta.present);
            columns.payer.push(delta.payer.as_str());
            columns
                .value
                .push(delta.value.as_ref().map(JsonText::as_str));
            columns.raw.push(delta.raw.as_slice());
            columns
                .abi_hash
                .push(delta.abi_hash.as_ref().map(|hash| &hash[..]));
        }
        sqlx::query(INSERT_DELTAS_UNNEST)
            .bind(columns.code)
            .bind(columns.scope)
            .bind(columns.table_name)
            .bind(columns.primary_key)
            .bind(columns.block_num)
            .bind(columns.present)
            .bind(columns.payer)
            .bind(columns.value)
            .bind(columns.raw)
            .bind(columns.abi_hash)
            .bind(columns.valid_to_block)
            .execute(&mut *tx)
            .await?;
        let rows = &versions.first_changes;
        sqlx::query(CLOSE_PREVIOUS_UNNEST)
            .bind(
                rows.iter()
                    .map(|(d, _)| d.code.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                rows.iter()
                    .map(|(d, _)| d.scope.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                rows.iter()
                    .map(|(d, _)| d.table_name.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                rows.iter()
                    .map(|(d, _)| u64_to_db(d.primary_key))
                    .collect::<Vec<_>>(),
            )
            .bind(rows.iter().map(|(_, b)| i64::from(*b)).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
    }

    let abis = last_abi_per_account(new);
    if !abis.is_empty() {
        let accounts: Vec<&str> = abis.iter().map(|(_, abi)| abi.account.as_str()).collect();
        let block_nums: Vec<i64> = abis.iter().map(|(num, _)| i64::from(*num)).collect();
        let hashes: Vec<Vec<u8>> = abis
            .iter()
            .map(|(_, abi)| abi.abi_hash().to_vec())
            .collect();
        let binaries: Vec<&[u8]> = abis.iter().map(|(_, abi)| abi.abi.as_slice()).collect();
        sqlx::query(INSERT_ABIS_UNNEST)
            .bind(accounts)
            .bind(block_nums)
            .bind(hashes)
            .bind(binaries)
            .execute(&mut *tx)
            .await?;
    }

    let undecodable = events(new, |batch| &batch.undecodable);
    if !undecodable.is_empty() {
        let block_nums: Vec<i64> = undecodable.iter().map(|(num, _)| i64::from(*num)).collect();
        let kinds: Vec<&str> = undecodable.iter().map(|(_, r)| r.kind.as_str()).collect();
        let locators: Vec<&str> = undecodable
            .iter()
            .map(|(_, r)| r.locator.as_str())
            .collect();
        let raws: Vec<&[u8]> = undecodable.iter().map(|(_, r)| r.raw.as_slice()).collect();
        let reasons: Vec<&str> = undecodable.iter().map(|(_, r)| r.reason.as_str()).collect();
        sqlx::query(INSERT_UNDECODABLE_UNNEST)
            .bind(block_nums)
            .bind(kinds)
            .bind(locators)
            .bind(raws)
            .bind(reasons)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Inserts the blocks and events of `new` (consecutive, not yet stored) on SQLite.
pub(super) async fn sqlite(tx: &mut SqliteConnection, new: &[BlockBatch]) -> Result<()> {
    for chunk in new.chunks(MAX_SQLITE_BINDS / 4) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO blocks (block_num, block_id, previous, timestamp_ms) ",
        );
        insert.push_values(chunk, |mut row, batch| {
            row.push_bind(i64::from(batch.block.block_num))
                .push_bind(&batch.block.block_id[..])
                .push_bind(&batch.block.previous[..])
                .push_bind(batch.block.timestamp_ms);
        });
        insert.build().persistent(false).execute(&mut *tx).await?;
    }

    let actions = events(new, |batch| &batch.actions);
    for chunk in actions.chunks(MAX_SQLITE_BINDS / 12) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO actions (global_sequence, block_num, trx_id, action_ordinal, \
             creator_action_ordinal, receiver, account, name, \"authorization\", data, \
             raw, abi_hash) ",
        );
        insert.push_values(chunk, |mut row, (block_num, action)| {
            row.push_bind(u64_to_db(action.global_sequence))
                .push_bind(i64::from(*block_num))
                .push_bind(&action.trx_id[..])
                .push_bind(i64::from(action.action_ordinal))
                .push_bind(i64::from(action.creator_action_ordinal))
                .push_bind(action.receiver.as_str())
                .push_bind(action.account.as_str())
                .push_bind(action.name.as_str())
                .push_bind(action.authorization.as_str())
                .push_bind(action.data.as_ref().map(JsonText::as_str))
                .push_bind(action.raw.as_slice())
                .push_bind(action.abi_hash.as_ref().map(|hash| &hash[..]));
        });
        insert.build().persistent(false).execute(&mut *tx).await?;
    }

    let deltas = events(new, |batch| &batch.deltas);
    let versions = RowVersions::of(&deltas, delta_key);
    let with_valid_to: Vec<_> = deltas.iter().zip(&versions.valid_to).collect();
    for chunk in with_valid_to.chunks(MAX_SQLITE_BINDS / 11) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO deltas (code, scope, table_name, primary_key, block_num, \
             present, payer, value, raw, abi_hash, valid_to_block) ",
        );
        insert.push_values(chunk, |mut row, ((block_num, delta), valid_to)| {
            row.push_bind(delta.code.as_str())
                .push_bind(delta.scope.as_str())
                .push_bind(delta.table_name.as_str())
                .push_bind(u64_to_db(delta.primary_key))
                .push_bind(i64::from(*block_num))
                .push_bind(delta.present)
                .push_bind(delta.payer.as_str())
                .push_bind(delta.value.as_ref().map(JsonText::as_str))
                .push_bind(delta.raw.as_slice())
                .push_bind(delta.abi_hash.as_ref().map(|hash| &hash[..]))
                .push_bind(valid_to.map(i64::from));
        });
        insert.build().persistent(false).execute(&mut *tx).await?;
    }
    for (delta, first_change) in &versions.first_changes {
        sqlx::query(CLOSE_PREVIOUS_ONE)
            .bind(delta.code.as_str())
            .bind(delta.scope.as_str())
            .bind(delta.table_name.as_str())
            .bind(u64_to_db(delta.primary_key))
            .bind(i64::from(*first_change))
            .execute(&mut *tx)
            .await?;
    }

    let abis = last_abi_per_account(new);
    for chunk in abis.chunks(MAX_SQLITE_BINDS / 4) {
        let mut insert =
            QueryBuilder::<Sqlite>::new("INSERT INTO abis (account, block_num, abi_hash, abi) ");
        insert.push_values(chunk, |mut row, (block_num, abi)| {
            row.push_bind(abi.account.as_str())
                .push_bind(i64::from(*block_num))
                .push_bind(abi.abi_hash().to_vec())
                .push_bind(abi.abi.as_slice());
        });
        insert.build().persistent(false).execute(&mut *tx).await?;
    }

    let undecodable = events(new, |batch| &batch.undecodable);
    for chunk in undecodable.chunks(MAX_SQLITE_BINDS / 5) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO undecodable (block_num, kind, locator, raw, reason) ",
        );
        insert.push_values(chunk, |mut row, (block_num, record)| {
            row.push_bind(i64::from(*block_num))
                .push_bind(record.kind.as_str())
                .push_bind(record.locator.as_str())
                .push_bind(record.raw.as_slice())
                .push_bind(record.reason.as_str());
        });
        insert.build().persistent(false).execute(&mut *tx).await?;
    }
    Ok(())
}

/// The action columns bound as PostgreSQL arrays, one entry per action.
struct ActionColumns<'a> {
    global_sequence: Vec<i64>,
    block_num: Vec<i64>,
    trx_id: Vec<&'a [u8]>,
    action_ordinal: Vec<i64>,
    creator_action_ordinal: Vec<i64>,
    receiver: Vec<&'a str>,
    account: Vec<&'a str>,
    name: Vec<&'a str>,
    authorization: Vec<&'a str>,
    data: Vec<Option<&'a str>>,
    raw: Vec<&'a [u8]>,
    abi_hash: Vec<Option<&'a [u8]>>,
}

impl ActionColumns<'_> {
    fn with_capacity(len: usize) -> Self {
        Self {
            global_sequence: Vec::with_capacity(len),
            block_num: Vec::with_capacity(len),
            trx_id: Vec::with_capacity(len),
            action_ordinal: Vec::with_capacity(len),
            creator_action_ordinal: Vec::with_capacity(len),
            receiver: Vec::with_capacity(len),
            account: Vec::with_capacity(len),
            name: Vec::with_capacity(len),
            authorization: Vec::with_capacity(len),
            data: Vec::with_capacity(len),
            raw: Vec::with_capacity(len),
            abi_hash: Vec::with_capacity(len),
        }
    }
}

/// The delta columns bound as PostgreSQL arrays, one entry per delta.
struct DeltaColumns<'a> {
    code: Vec<&'a str>,
    scope: Vec<&'a str>,
    table_name: Vec<&'a str>,
    primary_key: Vec<i64>,
    block_num: Vec<i64>,
    present: Vec<bool>,
    payer: Vec<&'a str>,
    value: Vec<Option<&'a str>>,
    raw: Vec<&'a [u8]>,
    abi_hash: Vec<Option<&'a [u8]>>,
    valid_to_block: Vec<Option<i64>>,
}

impl DeltaColumns<'_> {
    fn with_capacity(len: usize) -> Self {
        Self {
            code: Vec::with_capacity(len),
            scope: Vec::with_capacity(len),
            table_name: Vec::with_capacity(len),
            primary_key: Vec::with_capacity(len),
            block_num: Vec::with_capacity(len),
            present: Vec::with_capacity(len),
            payer: Vec::with_capacity(len),
            value: Vec::with_capacity(len),
            raw: Vec::with_capacity(len),
            abi_hash: Vec::with_capacity(len),
            valid_to_block: Vec::with_capacity(len),
        }
    }
}

/// The row versions a commit writes: for each of its records (in order) the block of the same
/// row's next record in the commit, and each changed row once with the first block changing it.
/// Deltas and registry changes share it, each with its own row key.
pub(super) struct RowVersions<'a, T> {
    pub(super) valid_to: Vec<Option<u32>>,
    pub(super) first_changes: Vec<(&'a T, u32)>,
}

impl<'a, T> RowVersions<'a, T> {
    pub(super) fn of<K: Eq + std::hash::Hash>(
        records: &[(u32, &'a T)],
        key: impl Fn(&'a T) -> K,
    ) -> Self {
        let mut valid_to = vec![None; records.len()];
        let mut latest: HashMap<K, usize> = HashMap::with_capacity(records.len());
        let mut first_changes = Vec::new();
        for (idx, (block_num, record)) in records.iter().enumerate() {
            match latest.insert(key(record), idx) {
                Some(previous) => valid_to[previous] = Some(*block_num),
                None => first_changes.push((*record, *block_num)),
            }
        }
        Self {
            valid_to,
            first_changes,
        }
    }
}

/// The row key of a delta.
fn delta_key(delta: &DeltaRecord) -> (&str, &str, &str, u64) {
    (
        delta.code.as_str(),
        delta.scope.as_str(),
        delta.table_name.as_str(),
        delta.primary_key,
    )
}

/// One kind of event of all batches, each paired with its block number, in batch order.
fn events<T>(batches: &[BlockBatch], select: impl Fn(&BlockBatch) -> &Vec<T>) -> Vec<(u32, &T)> {
    batches
        .iter()
        .flat_map(|batch| {
            select(batch)
                .iter()
                .map(|event| (batch.block.block_num, event))
        })
        .collect()
}

/// ABIs of all batches, keeping only the last one set per account and block.
fn last_abi_per_account(batches: &[BlockBatch]) -> Vec<(u32, &AbiRecord)> {
    let mut abis = Vec::new();
    for batch in batches {
        let start = abis.len();
        for abi in batch.abis.iter().rev() {
            let seen = abis[start..]
                .iter()
                .any(|(_, kept): &(u32, &AbiRecord)| kept.account == abi.account);
            if !seen {
                abis.push((batch.block.block_num, abi));
            }
        }
    }
    abis
}
