//! One SHiP block result to one [`BlockBatch`]: the block header, the cooperative's actions and
//! table rows decoded with the ABI in force at the block, the ABIs the block sets, and every
//! part that could not be decoded, kept with its raw bytes and the reason.
//!
//! Pure and total: bad bytes never fail the block, they become [`UndecodableRecord`]s. An ABI
//! set in a block is in force for the whole block, as the store's ABI history defines it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use sha2::{Digest, Sha256};

use crate::antelope::abi::Abi;
use crate::antelope::abi::def::AbiDef;
use crate::antelope::binary::{self, Decode as _, Reader};
use crate::antelope::name::Name;
use crate::antelope::ship::delta::decode_tables;
use crate::antelope::ship::{ContractRow, GetBlocksResult, TableDelta, TransactionTrace};
use crate::parser::filter::{EOSIO, Filter, SETABI, leading_name};
use crate::store::{
    AbiRecord, ActionRecord, BlockBatch, BlockRecord, DeltaRecord, JsonText, UndecodableKind,
    UndecodableRecord,
};

/// The state table of contract rows.
const CONTRACT_ROW: &str = "contract_row";
/// The state table of accounts, which carries their ABIs.
const ACCOUNT: &str = "account";
/// Milliseconds from the Unix epoch to the block timestamp epoch (2000-01-01T00:00:00Z).
const BLOCK_TIMESTAMP_EPOCH_MS: i64 = 946_684_800_000;
/// Milliseconds per block timestamp slot.
const BLOCK_INTERVAL_MS: i64 = 500;

/// The layouts of the system actions the parser keeps, for chains whose `eosio` account has no
/// ABI (a system contract built into the node).
const SYSTEM_ABI: &str = r#"{"version":"eosio::abi/1.1","structs":[
{"name":"permission_level","base":"","fields":[{"name":"actor","type":"name"},{"name":"permission","type":"name"}]},
{"name":"key_weight","base":"","fields":[{"name":"key","type":"public_key"},{"name":"weight","type":"uint16"}]},
{"name":"permission_level_weight","base":"","fields":[{"name":"permission","type":"permission_level"},{"name":"weight","type":"uint16"}]},
{"name":"wait_weight","base":"","fields":[{"name":"wait_sec","type":"uint32"},{"name":"weight","type":"uint16"}]},
{"name":"authority","base":"","fields":[{"name":"threshold","type":"uint32"},{"name":"keys","type":"key_weight[]"},{"name":"accounts","type":"permission_level_weight[]"},{"name":"waits","type":"wait_weight[]"}]},
{"name":"newaccount","base":"","fields":[{"name":"creator","type":"name"},{"name":"name","type":"name"},{"name":"owner","type":"authority"},{"name":"active","type":"authority"}]},
{"name":"setabi","base":"","fields":[{"name":"account","type":"name"},{"name":"abi","type":"bytes"}]},
{"name":"updateauth","base":"","fields":[{"name":"account","type":"name"},{"name":"permission","type":"name"},{"name":"parent","type":"name"},{"name":"auth","type":"authority"}]}],
"actions":[{"name":"newaccount","type":"newaccount","ricardian_contract":""},{"name":"setabi","type":"setabi","ricardian_contract":""},{"name":"updateauth","type":"updateauth","ricardian_contract":""}]}"#;

static SYSTEM: LazyLock<Arc<LoadedAbi>> = LazyLock::new(|| {
    let loaded = AbiDef::from_json_str(SYSTEM_ABI)
        .map_err(|err| err.to_string())
        .map(|def| LoadedAbi::load(&def.to_bin()));
    Arc::new(loaded.unwrap_or_else(|reason| LoadedAbi {
        hash: [0; 32],
        abi: Err(reason),
    }))
});

/// Why a SHiP result cannot become a block at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockError {
    /// The result carries no block position (the server sent an empty result).
    #[error("the SHiP result carries no block")]
    NoBlock,
}

/// A binary ABI as set on the chain, loaded once.
#[derive(Debug)]
pub struct LoadedAbi {
    hash: [u8; 32],
    abi: Result<Abi, String>,
}

impl LoadedAbi {
    /// Loads a binary `abi_def`; an ABI that does not load keeps the reason, so events it
    /// would decode are recorded as undecodable with it.
    pub fn load(binary_abi: &[u8]) -> Self {
        let abi = AbiDef::from_bin(binary_abi)
            .map_err(|err| format!("binary ABI does not parse: {err}"))
            .and_then(|def| Abi::from_def(def).map_err(|err| format!("ABI does not load: {err}")));
        Self {
            hash: Sha256::digest(binary_abi).into(),
            abi,
        }
    }

    /// SHA-256 of the binary ABI.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// Decodes `bytes` as the named action's data or table's rows, into JSON text.
    fn decode(&self, kind: Kind, name: Name, bytes: &[u8]) -> Result<JsonText, String> {
        let abi = self.abi.as_ref().map_err(Clone::clone)?;
        let type_name = match kind {
            Kind::Action => abi.action_type(name),
            Kind::Table => abi.table_type(name),
        }
        .ok_or_else(|| format!("the ABI has no {} {name}", kind.as_str()))?;
        abi.decode_to_text(type_name, bytes)
            .map(JsonText::new_unchecked)
            .map_err(|err| format!("{err:#}"))
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Action,
    Table,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Action => "action",
            Self::Table => "table",
        }
    }
}

/// The ABIs in force, by account, as the follower advances.
#[derive(Debug, Clone, Default)]
pub struct AbiSet {
    by_account: HashMap<Name, Arc<LoadedAbi>>,
}

impl AbiSet {
    /// Puts a binary ABI in force for `account`; an empty one clears it.
    pub fn set(&mut self, account: Name, binary_abi: &[u8]) {
        if binary_abi.is_empty() {
            self.by_account.remove(&account);
        } else {
            self.by_account
                .insert(account, Arc::new(LoadedAbi::load(binary_abi)));
        }
    }

    /// The ABI in force for `account`; for `eosio` without one, the built-in system layouts.
    pub fn get(&self, account: Name) -> Option<&LoadedAbi> {
        match self.by_account.get(&account) {
            Some(loaded) => Some(loaded),
            None if account == EOSIO => Some(&SYSTEM),
            None => None,
        }
    }
}

/// Turns one SHiP result into the batch the store commits, and puts the ABIs the block sets in
/// force in `abis` (for this block and the following ones).
///
/// # Errors
/// [`BlockError::NoBlock`] when the result has no `this_block`.
pub fn decode_block(
    result: &GetBlocksResult,
    lib: u32,
    filter: &Filter,
    abis: &mut AbiSet,
) -> Result<BlockBatch, BlockError> {
    let this_block = result.this_block.ok_or(BlockError::NoBlock)?;
    let mut undecodable = Vec::new();
    let header = match result.block.as_deref() {
        Some(bytes) => read_header(bytes).map_err(|err| (bytes.to_vec(), err.to_string())),
        None => Err((Vec::new(), "the result carries no signed block".to_owned())),
    };
    let (previous, timestamp_ms) = match header {
        Ok(header) => header,
        Err((raw, reason)) => {
            undecodable.push(UndecodableRecord {
                kind: UndecodableKind::Block,
                locator: "block".to_owned(),
                raw,
                reason,
            });
            let previous = result
                .prev_block
                .map_or([0; 32], |prev| *prev.block_id.as_bytes());
            (previous, 0)
        }
    };
    let mut batch = BlockBatch::new(
        BlockRecord {
            block_num: this_block.block_num,
            block_id: *this_block.block_id.as_bytes(),
            previous,
            timestamp_ms,
        },
        lib,
    );
    batch.undecodable = undecodable;

    let traces = decode_part(
        result.traces.as_deref(),
        Part::Traces,
        &mut batch,
        binary::from_bytes::<Vec<TransactionTrace>>,
    );
    // Only these state tables matter; every other table's rows are passed over unread.
    let deltas = decode_part(
        result.deltas.as_deref(),
        Part::Deltas,
        &mut batch,
        |bytes| decode_tables(bytes, &[CONTRACT_ROW, ACCOUNT]),
    );

    collect_abis(&traces, &deltas, filter, &mut batch);
    for abi in &batch.abis {
        if let Ok(account) = abi.account.parse::<Name>() {
            abis.set(account, &abi.abi);
            if let Some(Err(reason)) = abis.get(account).map(|loaded| &loaded.abi) {
                batch.undecodable.push(UndecodableRecord {
                    kind: UndecodableKind::Abi,
                    locator: format!("abi {account}"),
                    raw: abi.abi.clone(),
                    reason: reason.clone(),
                });
            }
        }
    }

    // The traces are consumed so each kept action's bytes move into its record.
    for trx in traces.into_iter().filter(|trx| trx.status == 0) {
        let trx_id = *trx.id.as_bytes();
        for trace in trx
            .action_traces
            .into_iter()
            .filter(|trace| filter.keeps_trace(trace))
        {
            let Some(global_sequence) = trace.receipt.as_ref().map(|r| r.global_sequence) else {
                continue;
            };
            let act = trace.act;
            let decoded = match abis.get(act.account) {
                Some(loaded) => loaded
                    .decode(Kind::Action, act.name, &act.data)
                    .map(|data| (data, loaded.hash())),
                None => Err(format!("no ABI of {} is in force", act.account)),
            };
            let (data, abi_hash) = match decoded {
                Ok((data, _)) if !filter.keeps_action_data(&data) => continue,
                Ok((data, hash)) => (Some(data), Some(hash)),
                Err(reason) => {
                    batch.undecodable.push(UndecodableRecord {
                        kind: UndecodableKind::Action,
                        locator: format!("action {global_sequence}"),
                        raw: act.data.clone(),
                        reason,
                    });
                    (None, None)
                }
            };
            batch.actions.push(ActionRecord {
                global_sequence,
                trx_id,
                action_ordinal: trace.action_ordinal,
                creator_action_ordinal: trace.creator_action_ordinal,
                receiver: trace.receiver.to_string(),
                account: act.account.to_string(),
                name: act.name.to_string(),
                authorization: authorization_json(&act),
                data,
                raw: act.data,
                abi_hash,
            });
        }
    }

    for (delta_idx, delta) in deltas.iter().enumerate() {
        if delta.name != CONTRACT_ROW {
            continue;
        }
        for (row_idx, delta_row) in delta.rows.iter().enumerate() {
            let row = match binary::from_bytes::<ContractRow>(&delta_row.data) {
                Ok(row) => row,
                Err(err) => {
                    batch.undecodable.push(UndecodableRecord {
                        kind: UndecodableKind::Delta,
                        locator: format!("delta {delta_idx} row {row_idx}"),
                        raw: delta_row.data.clone(),
                        reason: err.to_string(),
                    });
                    continue;
                }
            };
            if !filter.keeps_row(&row) {
                continue;
            }
            let decoded = match abis.get(row.code) {
                Some(loaded) => loaded
                    .decode(Kind::Table, row.table, &row.value)
                    .map(|value| (value, loaded.hash())),
                None => Err(format!("no ABI of {} is in force", row.code)),
            };
            let (value, abi_hash) = match decoded {
                Ok((value, hash)) => (Some(value), Some(hash)),
                Err(reason) => {
                    batch.undecodable.push(UndecodableRecord {
                        kind: UndecodableKind::Delta,
                        locator: format!(
                            "{}/{}/{}/{}",
                            row.code, row.scope, row.table, row.primary_key
                        ),
                        raw: row.value.clone(),
                        reason,
                    });
                    (None, None)
                }
            };
            batch.deltas.push(DeltaRecord {
                code: row.code.to_string(),
                scope: row.scope.to_string(),
                table_name: row.table.to_string(),
                primary_key: row.primary_key,
                present: delta_row.present,
                payer: row.payer.to_string(),
                value,
                raw: row.value,
                abi_hash,
            });
        }
    }
    Ok(batch)
}

/// `previous` and the time in Unix milliseconds from the front of a serialized `signed_block`.
fn read_header(bytes: &[u8]) -> binary::Result<([u8; 32], i64)> {
    let mut reader = Reader::new(bytes);
    let slot = reader.read_u32()?;
    let _producer = reader.read_u64()?;
    let _confirmed = reader.read_u16()?;
    let previous = reader.read_array::<32>()?;
    Ok((
        previous,
        BLOCK_TIMESTAMP_EPOCH_MS + i64::from(slot) * BLOCK_INTERVAL_MS,
    ))
}

/// The serialized parts of a block result that decode as a whole.
#[derive(Debug, Clone, Copy)]
enum Part {
    Traces,
    Deltas,
}

/// Decodes a serialized part with `decode`, recording the whole blob as undecodable when it
/// does not decode.
fn decode_part<T>(
    bytes: Option<&[u8]>,
    part: Part,
    batch: &mut BlockBatch,
    decode: impl FnOnce(&[u8]) -> binary::Result<Vec<T>>,
) -> Vec<T> {
    let Some(bytes) = bytes else {
        return Vec::new();
    };
    match decode(bytes) {
        Ok(items) => items,
        Err(err) => {
            let (kind, locator) = match part {
                Part::Traces => (UndecodableKind::Transaction, "traces"),
                Part::Deltas => (UndecodableKind::Delta, "deltas"),
            };
            batch.undecodable.push(UndecodableRecord {
                kind,
                locator: locator.to_owned(),
                raw: bytes.to_vec(),
                reason: err.to_string(),
            });
            Vec::new()
        }
    }
}

/// ABIs the block sets on tracked accounts: from executed `eosio::setabi` actions, then from
/// `account` state rows, which hold the ABI as it is at the end of the block.
fn collect_abis(
    traces: &[TransactionTrace],
    deltas: &[TableDelta],
    filter: &Filter,
    batch: &mut BlockBatch,
) {
    let setabis = traces
        .iter()
        .filter(|trx| trx.status == 0)
        .flat_map(|trx| &trx.action_traces)
        .filter(|trace| {
            trace.receipt.is_some()
                && trace.receiver == EOSIO
                && trace.act.account == EOSIO
                && trace.act.name == SETABI
        });
    for trace in setabis {
        if let Some((account, abi)) = read_setabi(&trace.act.data)
            && filter.tracks_abi(account)
        {
            batch.abis.push(AbiRecord {
                account: account.to_string(),
                abi,
            });
        }
    }
    let account_rows = deltas
        .iter()
        .filter(|delta| delta.name == ACCOUNT)
        .flat_map(|delta| &delta.rows)
        .filter(|row| row.present);
    for row in account_rows {
        if let Ok((account, abi)) = read_account_row(&row.data)
            && filter.tracks_abi(account)
        {
            batch
                .abis
                .retain(|known| known.account != account.to_string());
            batch.abis.push(AbiRecord {
                account: account.to_string(),
                abi,
            });
        }
    }
}

/// `setabi { account: name, abi: bytes }`.
fn read_setabi(data: &[u8]) -> Option<(Name, Vec<u8>)> {
    let account = leading_name(data, 0)?;
    let mut reader = Reader::new(data.get(8..)?);
    let abi = reader.read_bytes().ok()?.to_vec();
    Some((account, abi))
}

/// `account_v0 { name, creation_date, abi }`.
fn read_account_row(data: &[u8]) -> binary::Result<(Name, Vec<u8>)> {
    let mut reader = Reader::new(data);
    let _version = reader.read_varuint32()?;
    let account = Name::decode(&mut reader)?;
    let _creation_date = reader.read_u32()?;
    let abi = reader.read_bytes()?.to_vec();
    Ok((account, abi))
}

/// The authorization list as JSON text, `[{"actor":…,"permission":…}]`; names never need
/// escaping.
fn authorization_json(act: &crate::antelope::transaction::Action) -> JsonText {
    let levels: Vec<String> = act
        .authorization
        .iter()
        .map(|level| {
            format!(
                r#"{{"actor":"{}","permission":"{}"}}"#,
                level.actor, level.permission
            )
        })
        .collect();
    JsonText::new_unchecked(format!("[{}]", levels.join(",")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::antelope::binary::{Encode as _, Writer};
    use crate::antelope::checksum::Checksum256;
    use crate::antelope::ship::{ActionTrace, BlockPosition, DeltaRow};
    use crate::parser::fixtures::action_trace;

    const SOVIET: Name = Name::from_str_const("soviet");
    const COOP: Name = Name::from_str_const("voskhod");
    const OTHER: Name = Name::from_str_const("othercoop");

    fn soviet_abi() -> Vec<u8> {
        AbiDef::from_json_str(
            r#"{"version":"eosio::abi/1.1","structs":[
            {"name":"votefor","base":"","fields":[{"name":"coopname","type":"name"},{"name":"decision_id","type":"uint64"}]},
            {"name":"decision","base":"","fields":[{"name":"id","type":"uint64"},{"name":"approved","type":"bool"}]}],
            "actions":[{"name":"votefor","type":"votefor","ricardian_contract":""}],
            "tables":[{"name":"decisions","type":"decision","index_type":"i64","key_names":[],"key_types":[]}]}"#,
        )
        .expect("test ABI parses")
        .to_bin()
    }

    fn filter() -> Filter {
        Filter::new(&[SOVIET], COOP)
    }

    fn position(block_num: u32) -> BlockPosition {
        BlockPosition {
            block_num,
            block_id: Checksum256::new([block_num as u8; 32]),
        }
    }

    fn trace(global_sequence: u64, account: Name, name: &str, data: Vec<u8>) -> ActionTrace {
        action_trace(account, account, name, data, global_sequence)
    }

    fn setabi(global_sequence: u64, account: Name, abi: &[u8]) -> ActionTrace {
        let mut data = Writer::new();
        account.encode(&mut data);
        data.write_bytes(abi);
        trace(global_sequence, EOSIO, "setabi", data.into_bytes())
    }

    fn votefor(global_sequence: u64, coopname: Name, decision_id: u64) -> ActionTrace {
        let mut data = Writer::new();
        coopname.encode(&mut data);
        data.write_u64(decision_id);
        trace(global_sequence, SOVIET, "votefor", data.into_bytes())
    }

    fn transaction(status: u8, action_traces: Vec<ActionTrace>) -> TransactionTrace {
        TransactionTrace {
            id: Checksum256::new([0x11; 32]),
            status,
            cpu_usage_us: 100,
            net_usage_words: 10,
            elapsed: 0,
            net_usage: 80,
            scheduled: false,
            action_traces,
            account_ram_delta: None,
            except: None,
            error_code: None,
            failed_dtrx_trace: None,
            partial: None,
        }
    }

    fn row(scope: Name, primary_key: u64, value: Vec<u8>, present: bool) -> DeltaRow {
        DeltaRow {
            present,
            data: binary::to_bytes(&ContractRow {
                code: SOVIET,
                scope,
                table: Name::from_str_const("decisions"),
                primary_key,
                payer: COOP,
                value,
            }),
        }
    }

    fn decision(id: u64, approved: bool) -> Vec<u8> {
        let mut bytes = id.to_le_bytes().to_vec();
        bytes.push(u8::from(approved));
        bytes
    }

    fn header(block_num: u32) -> Vec<u8> {
        let mut bytes = Writer::new();
        bytes.write_u32(1_000 + block_num);
        EOSIO.encode(&mut bytes);
        bytes.write_u16(0);
        position(block_num - 1).block_id.encode(&mut bytes);
        bytes.into_bytes()
    }

    fn result(block_num: u32, traces: Option<Vec<u8>>, deltas: Option<Vec<u8>>) -> GetBlocksResult {
        GetBlocksResult {
            head: position(block_num + 2),
            last_irreversible: position(block_num + 1),
            this_block: Some(position(block_num)),
            prev_block: Some(position(block_num - 1)),
            block: Some(header(block_num)),
            traces,
            deltas,
            finality_data: None,
        }
    }

    /// Decodes a result of block 5, irreversible, with no ABI known beforehand.
    fn decode_without_abis(result: &GetBlocksResult) -> BlockBatch {
        decode_block(result, 5, &filter(), &mut AbiSet::default()).expect("a block")
    }

    fn deltas(rows: Vec<DeltaRow>) -> Vec<u8> {
        binary::to_bytes(&vec![TableDelta {
            name: "contract_row".to_owned(),
            rows,
        }])
    }

    #[test]
    fn an_abi_set_in_the_block_decodes_the_block() {
        let abi = soviet_abi();
        let traces = binary::to_bytes(&vec![
            transaction(0, vec![votefor(1, COOP, 7), setabi(2, SOVIET, &abi)]),
            transaction(0, vec![votefor(3, OTHER, 8)]),
            transaction(1, vec![votefor(4, COOP, 9)]),
        ]);
        let mut abis = AbiSet::default();
        let batch =
            decode_block(&result(5, Some(traces), None), 6, &filter(), &mut abis).expect("a block");
        assert_eq!(batch.block.block_num, 5);
        assert_eq!(batch.block.previous, [4; 32]);
        assert_eq!(batch.block.timestamp_ms, 946_684_800_000 + 1_005 * 500);
        assert_eq!(batch.lib, 6);
        assert_eq!(
            batch.abis,
            vec![AbiRecord {
                account: "soviet".to_owned(),
                abi: abi.clone()
            }]
        );
        let kept: Vec<_> = batch
            .actions
            .iter()
            .map(|a| (a.global_sequence, a.name.as_str()))
            .collect();
        assert_eq!(kept, vec![(1, "votefor"), (2, "setabi")]);
        assert_eq!(
            batch.actions[0].data,
            Some(json!({"coopname": "voskhod", "decision_id": 7}).into())
        );
        assert_eq!(batch.actions[0].abi_hash, Some(Sha256::digest(&abi).into()));
        assert_eq!(
            batch.actions[0].authorization,
            json!([{"actor": "voskhod", "permission": "active"}]).into()
        );
        let setabi = batch.actions[1].data.as_ref().expect("setabi decodes");
        assert_eq!(
            setabi.to_value().ok().map(|d| d["account"].clone()),
            Some(json!("soviet"))
        );
        assert!(batch.undecodable.is_empty(), "{:?}", batch.undecodable);
        assert!(abis.get(SOVIET).is_some());
    }

    #[test]
    fn an_action_without_abi_is_kept_raw_and_reported() {
        let traces = binary::to_bytes(&vec![transaction(0, vec![votefor(1, COOP, 7)])]);
        let batch = decode_without_abis(&result(5, Some(traces), None));
        assert_eq!(batch.actions.len(), 1);
        assert_eq!(batch.actions[0].data, None);
        assert_eq!(batch.actions[0].abi_hash, None);
        assert_eq!(batch.undecodable.len(), 1);
        assert_eq!(batch.undecodable[0].kind, UndecodableKind::Action);
        assert_eq!(batch.undecodable[0].locator, "action 1");
        assert_eq!(batch.undecodable[0].raw, batch.actions[0].raw);
    }

    #[test]
    fn rows_are_filtered_and_decoded() {
        let mut abis = AbiSet::default();
        abis.set(SOVIET, &soviet_abi());
        let rows = deltas(vec![
            row(COOP, 1, decision(1, true), true),
            row(OTHER, 2, decision(2, true), true),
            row(COOP, 3, vec![1, 2], false),
        ]);
        let batch =
            decode_block(&result(5, None, Some(rows)), 5, &filter(), &mut abis).expect("a block");
        let keys: Vec<_> = batch
            .deltas
            .iter()
            .map(|d| (d.primary_key, d.present))
            .collect();
        assert_eq!(keys, vec![(1, true), (3, false)]);
        assert_eq!(
            batch.deltas[0].value,
            Some(json!({"id": 1, "approved": true}).into())
        );
        assert_eq!(batch.deltas[1].value, None);
        assert_eq!(batch.undecodable.len(), 1);
        assert_eq!(batch.undecodable[0].locator, "soviet/voskhod/decisions/3");
    }

    #[test]
    fn garbage_is_recorded_and_the_block_still_stored() {
        let garbage = vec![5, 1, 2, 3];
        let mut bad = result(5, Some(garbage.clone()), Some(garbage.clone()));
        bad.block = Some(vec![1]);
        let batch = decode_without_abis(&bad);
        assert_eq!(batch.block.previous, [4; 32]);
        let kinds: Vec<_> = batch
            .undecodable
            .iter()
            .map(|u| (u.kind, u.locator.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (UndecodableKind::Block, "block"),
                (UndecodableKind::Transaction, "traces"),
                (UndecodableKind::Delta, "deltas"),
            ]
        );
        assert!(batch.actions.is_empty() && batch.deltas.is_empty());
    }

    #[test]
    fn an_abi_that_does_not_load_is_reported() {
        let traces = binary::to_bytes(&vec![transaction(0, vec![setabi(1, SOVIET, &[9, 9, 9])])]);
        let batch = decode_without_abis(&result(5, Some(traces), None));
        assert_eq!(batch.abis.len(), 1);
        assert!(
            batch
                .undecodable
                .iter()
                .any(|u| u.kind == UndecodableKind::Abi && u.locator == "abi soviet")
        );
    }

    #[test]
    fn an_account_row_overrides_setabi() {
        let abi = soviet_abi();
        let traces = binary::to_bytes(&vec![transaction(0, vec![setabi(1, SOVIET, &[])])]);
        let mut account = Writer::new();
        account.write_varuint32(0);
        SOVIET.encode(&mut account);
        account.write_u32(0);
        account.write_bytes(&abi);
        let state = binary::to_bytes(&vec![TableDelta {
            name: "account".to_owned(),
            rows: vec![DeltaRow {
                present: true,
                data: account.into_bytes(),
            }],
        }]);
        let batch = decode_without_abis(&result(5, Some(traces), Some(state)));
        assert_eq!(
            batch.abis,
            vec![AbiRecord {
                account: "soviet".to_owned(),
                abi
            }]
        );
    }

    #[test]
    fn a_result_without_a_block_is_refused() {
        let mut empty = result(5, None, None);
        empty.this_block = None;
        assert_eq!(
            decode_block(&empty, 5, &filter(), &mut AbiSet::default()).err(),
            Some(BlockError::NoBlock)
        );
    }

    #[test]
    fn system_actions_decode_without_an_eosio_abi() {
        let abis = AbiSet::default();
        let system = abis.get(EOSIO).expect("built-in layouts");
        let mut data = Writer::new();
        SOVIET.encode(&mut data);
        data.write_bytes(&[1, 2]);
        assert_eq!(
            system.decode(Kind::Action, SETABI, data.as_bytes()),
            Ok(json!({"account": "soviet", "abi": "0102"}).into())
        );
    }
}
