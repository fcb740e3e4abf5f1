//! Registry projections: what one committed block changes in the rows the registries read.
//!
//! Each contract table a registry reads is a [`Source`]; every stored version of one of its rows
//! becomes one registry row version with the columns registries filter and sort on (owner
//! cooperative, account, status, kind, a reference such as a branch or a hash, creation time,
//! amount) next to the row itself. Documents are a source too: each action that carries a
//! signed document, and each version of a cooperative's contract row that holds one, adds an
//! occurrence of that document.
//!
//! Pure: the store calls [`project`] on each block it commits and writes the result in the same
//! transaction, and `mono registry verify` calls it again on the stored events to check what
//! was written.

use serde::Deserialize;
use serde_json::json;

use crate::antelope::asset::Asset;
use crate::antelope::name::Name;
use crate::antelope::time::TimePointSec;
use crate::store::{ActionRecord, BlockBatch, DeltaRecord, JsonText};

/// Version of the projection code. The store rebuilds every projection from the events when
/// the version that wrote them differs, so raise it whenever a projection changes.
pub const PROJECTION_VERSION: i64 = 5;

/// The contract accounts the registries read (their names differ between networks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contracts {
    /// Accounts, cooperatives and candidates (`accounts`, `coops`, `candidates2`).
    pub registrator: Name,
    /// Council and shareholders (`boards`, `participants`, `decisions`, `agreements3`).
    pub soviet: Name,
    /// Payments in and out (`incomes`, `outcomes`).
    pub gateway: Name,
    /// Share contributions (`deposits`, `withdraws`).
    pub wallet: Name,
    /// Branches (`branches`).
    pub branch: Name,
    /// Document templates (`drafts`, `translations`).
    pub draft: Name,
    /// Orders of property and their returns (`orders`, `retrequests`).
    pub marketplace: Name,
}

impl Default for Contracts {
    /// The names on COOPOS networks.
    fn default() -> Self {
        Self {
            registrator: Name::from_str_const("registrator"),
            soviet: Name::from_str_const("soviet"),
            gateway: Name::from_str_const("gateway"),
            wallet: Name::from_str_const("wallet"),
            branch: Name::from_str_const("branch"),
            draft: Name::from_str_const("draft"),
            marketplace: Name::from_str_const("marketplace"),
        }
    }
}

/// What a registry row version was projected from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// `registrator::accounts`, by username.
    Account,
    /// `registrator::coops`, by cooperative.
    Coop,
    /// `registrator::candidates2`, by username.
    Candidate,
    /// `soviet::participants`, by username.
    Participant,
    /// `soviet::boards`, by id.
    Board,
    /// `soviet::decisions`, by id.
    Decision,
    /// `soviet::agreements3`, by id.
    Agreement,
    /// `gateway::incomes`, by hash.
    Income,
    /// `gateway::outcomes`, by hash.
    Outcome,
    /// `wallet::deposits`, by hash.
    Deposit,
    /// `wallet::withdraws`, by hash.
    Withdraw,
    /// `branch::branches`, by branch name.
    Branch,
    /// `draft::drafts` (document templates), by registry id.
    Draft,
    /// `draft::translations` (the templates' texts per language), by id.
    Translation,
    /// `marketplace::orders`, by id.
    Order,
    /// `marketplace::retrequests` (warranty returns of orders), by id.
    ReturnRequest,
    /// A document carried by an action, by `hash:global_sequence`.
    Document,
}

impl Source {
    /// Every source, in the order digests and checks walk them.
    pub const ALL: [Self; 17] = [
        Self::Account,
        Self::Coop,
        Self::Candidate,
        Self::Participant,
        Self::Board,
        Self::Decision,
        Self::Agreement,
        Self::Income,
        Self::Outcome,
        Self::Deposit,
        Self::Withdraw,
        Self::Branch,
        Self::Draft,
        Self::Translation,
        Self::Order,
        Self::ReturnRequest,
        Self::Document,
    ];

    /// The name stored in `registry_rows.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Coop => "coop",
            Self::Candidate => "candidate",
            Self::Participant => "participant",
            Self::Board => "board",
            Self::Decision => "decision",
            Self::Agreement => "agreement",
            Self::Income => "income",
            Self::Outcome => "outcome",
            Self::Deposit => "deposit",
            Self::Withdraw => "withdraw",
            Self::Branch => "branch",
            Self::Draft => "draft",
            Self::Translation => "translation",
            Self::Order => "order",
            Self::ReturnRequest => "return_request",
            Self::Document => "document",
        }
    }

    /// The source stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == text)
    }

    /// The source a contract table feeds, if any.
    fn of_table(contracts: &Contracts, code: &str, table: &str) -> Option<Self> {
        let is = |name: Name| name.to_string() == code;
        let source = if is(contracts.registrator) {
            match table {
                "accounts" => Self::Account,
                "coops" => Self::Coop,
                "candidates2" => Self::Candidate,
                _ => return None,
            }
        } else if is(contracts.soviet) {
            match table {
                "participants" => Self::Participant,
                "boards" => Self::Board,
                "decisions" => Self::Decision,
                "agreements3" => Self::Agreement,
                _ => return None,
            }
        } else if is(contracts.gateway) {
            match table {
                "incomes" => Self::Income,
                "outcomes" => Self::Outcome,
                _ => return None,
            }
        } else if is(contracts.wallet) {
            match table {
                "deposits" => Self::Deposit,
                "withdraws" => Self::Withdraw,
                _ => return None,
            }
        } else if is(contracts.branch) && table == "branches" {
            Self::Branch
        } else if is(contracts.draft) {
            match table {
                "drafts" => Self::Draft,
                "translations" => Self::Translation,
                _ => return None,
            }
        } else if is(contracts.marketplace) {
            match table {
                "orders" => Self::Order,
                "retrequests" => Self::ReturnRequest,
                _ => return None,
            }
        } else {
            return None;
        };
        Some(source)
    }

    /// The row field that names a row for good, where the contract reuses primary keys: a
    /// settled payment's id is given to the next payment, its hash never is.
    fn key_field(self) -> Option<&'static str> {
        match self {
            Self::Income => Some("income_hash"),
            Self::Outcome => Some("outcome_hash"),
            Self::Deposit => Some("deposit_hash"),
            Self::Withdraw => Some("withdraw_hash"),
            _ => None,
        }
    }

    /// Whether the table's primary key is a name (otherwise a number).
    fn keyed_by_name(self) -> bool {
        matches!(
            self,
            Self::Account | Self::Coop | Self::Candidate | Self::Participant | Self::Branch
        )
    }
}

/// The key of a number-keyed row: zero-padded so that keys sort as the numbers do.
pub fn id_key(id: u64) -> String {
    format!("{id:020}")
}

/// One registry row version: the columns registries filter and sort on, and the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRow {
    /// The cooperative the row belongs to.
    pub coopname: String,
    /// The account the row is about.
    pub username: Option<String>,
    /// The row's status as the contract names it (decisions: `voting`, `approved`,
    /// `authorized`; documents: `accepted`, `rejected`).
    pub status: Option<String>,
    /// The row's type (account type, decision type, action name of a document).
    pub kind: Option<String>,
    /// What the row points at: a branch, a payment hash, a document package.
    pub reference: Option<String>,
    /// Creation (or last update) time, seconds since 1970.
    pub created_at: Option<i64>,
    /// The row's amount in smallest units.
    pub amount: Option<i64>,
    /// The row as decoded (a document occurrence for documents).
    pub data: JsonText,
}

/// A change to one registry row in one block: a new version, or removal (`row: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowChange {
    /// The block of the change.
    pub block_num: u32,
    /// What the row is projected from.
    pub source: Source,
    /// The row's key within its source.
    pub key: String,
    /// The new version, `None` when the row was removed.
    pub row: Option<RegistryRow>,
}

/// What one committed block (or a rollback) changed in the registries, as subscribers learn it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryEvent {
    /// A block was committed; `sources` changed in it (possibly none).
    Committed {
        /// The block.
        block_num: u32,
        /// The sources with a new or closed row version, each once, in [`Source::ALL`] order.
        sources: Vec<Source>,
    },
    /// Every block after `block_num` was rolled back (a fork or a resync).
    RolledBack {
        /// The last block kept.
        block_num: u32,
    },
}

/// The event of each block of `changes` (all of `blocks`, in order).
pub fn events(blocks: &[u32], changes: &[RowChange]) -> Vec<RegistryEvent> {
    blocks
        .iter()
        .map(|block_num| {
            let sources = Source::ALL
                .into_iter()
                .filter(|source| {
                    changes
                        .iter()
                        .any(|change| change.block_num == *block_num && change.source == *source)
                })
                .collect();
            RegistryEvent::Committed {
                block_num: *block_num,
                sources,
            }
        })
        .collect()
}

/// The registry changes of one block, in the order of its events.
///
/// Contracts erase a payment, a candidate or a decision when it is settled; the action that
/// settles it in the same block says how (see [`CLOSINGS`]), and the row's last version then
/// stays in the registry with that outcome as its status instead of disappearing.
pub fn project(contracts: &Contracts, batch: &BlockBatch) -> Vec<RowChange> {
    let block_num = batch.block.block_num;
    let block_secs = batch.block.timestamp_ms.div_euclid(1000);
    let settled = settlements(contracts, &batch.actions);
    let mut changes: Vec<RowChange> = batch
        .deltas
        .iter()
        .filter_map(|delta| project_delta(contracts, block_num, delta, &settled))
        .collect();
    for action in &batch.actions {
        changes.extend(project_documents(block_num, block_secs, action));
    }
    for delta in batch.deltas.iter().filter(|delta| delta.present) {
        changes.extend(project_row_documents(block_num, block_secs, delta));
    }
    changes
}

/// An action that settles a row its contract erases in the same block.
struct Closing {
    /// The contract of the action.
    contract: fn(&Contracts) -> Name,
    /// The action.
    action: &'static str,
    /// The rows it settles.
    source: Source,
    /// The action's field naming the row.
    action_field: &'static str,
    /// The row's field with the same value.
    row_field: &'static str,
    /// The row's status once settled.
    status: &'static str,
}

/// How payments, candidates and decisions end.
const CLOSINGS: [Closing; 15] = [
    closing(
        |c| c.gateway,
        "incomplete",
        Source::Income,
        "income_hash",
        "income_hash",
        "completed",
    ),
    closing(
        |c| c.gateway,
        "indecline",
        Source::Income,
        "income_hash",
        "income_hash",
        "declined",
    ),
    closing(
        |c| c.gateway,
        "outcomplete",
        Source::Outcome,
        "outcome_hash",
        "outcome_hash",
        "completed",
    ),
    closing(
        |c| c.gateway,
        "outdecline",
        Source::Outcome,
        "outcome_hash",
        "outcome_hash",
        "declined",
    ),
    closing(
        |c| c.wallet,
        "completedpst",
        Source::Deposit,
        "deposit_hash",
        "deposit_hash",
        "completed",
    ),
    closing(
        |c| c.wallet,
        "declinedpst",
        Source::Deposit,
        "deposit_hash",
        "deposit_hash",
        "declined",
    ),
    closing(
        |c| c.wallet,
        "completewthd",
        Source::Withdraw,
        "withdraw_hash",
        "withdraw_hash",
        "completed",
    ),
    closing(
        |c| c.wallet,
        "declinewthd",
        Source::Withdraw,
        "withdraw_hash",
        "withdraw_hash",
        "declined",
    ),
    closing(
        |c| c.registrator,
        "confirmreg",
        Source::Candidate,
        "registration_hash",
        "registration_hash",
        "registered",
    ),
    closing(
        |c| c.registrator,
        "declinereg",
        Source::Candidate,
        "registration_hash",
        "registration_hash",
        "declined",
    ),
    closing(
        |c| c.registrator,
        "declinepay",
        Source::Candidate,
        "registration_hash",
        "registration_hash",
        "declined",
    ),
    closing(
        |c| c.soviet,
        "exec",
        Source::Decision,
        "decision_id",
        "id",
        "executed",
    ),
    closing(
        |c| c.soviet,
        "declinedoc",
        Source::Decision,
        "hash",
        "hash",
        "declined",
    ),
    closing(
        |c| c.soviet,
        "cancelexprd",
        Source::Decision,
        "decision_id",
        "id",
        "expired",
    ),
    closing(
        |c| c.soviet,
        "cancelreg",
        Source::Candidate,
        "registration_hash",
        "registration_hash",
        "declined",
    ),
];

const fn closing(
    contract: fn(&Contracts) -> Name,
    action: &'static str,
    source: Source,
    action_field: &'static str,
    row_field: &'static str,
    status: &'static str,
) -> Closing {
    Closing {
        contract,
        action,
        source,
        action_field,
        row_field,
        status,
    }
}

/// What the block's actions settle: source, row field, its value (lowercase), and the status.
type Settlement = (Source, &'static str, String, &'static str);

fn settlements(contracts: &Contracts, actions: &[ActionRecord]) -> Vec<Settlement> {
    let mut settled = Vec::new();
    for action in actions
        .iter()
        .filter(|action| action.receiver == action.account)
    {
        let closings = CLOSINGS.iter().filter(|closing| {
            closing.action == action.name
                && (closing.contract)(contracts).to_string() == action.account
        });
        for closing in closings {
            let value = action
                .data
                .as_ref()
                .and_then(|data| field_text(data, closing.action_field));
            if let Some(value) = value {
                settled.push((closing.source, closing.row_field, value, closing.status));
            }
        }
    }
    settled
}

/// A top-level field of JSON text as lowercase text (strings and numbers alike).
fn field_text(data: &JsonText, field: &str) -> Option<String> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(data.as_str()).ok()?;
    match object.get(field)? {
        serde_json::Value::String(text) => Some(text.to_ascii_lowercase()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The fields registries read from contract rows; every one is optional because each table
/// has only some of them.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Fields {
    coopname: Option<String>,
    username: Option<String>,
    registrator: Option<String>,
    referer: Option<String>,
    parent_username: Option<String>,
    trustee: Option<String>,
    status: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    coop_type: Option<String>,
    braname: Option<String>,
    created_at: Option<String>,
    registered_at: Option<String>,
    updated_at: Option<String>,
    registration: Option<String>,
    initial: Option<String>,
    minimum: Option<String>,
    initial_amount: Option<String>,
    quantity: Option<String>,
    callback_contract: Option<String>,
    approved: Option<bool>,
    authorized: Option<bool>,
    hash: Option<String>,
    income_hash: Option<String>,
    outcome_hash: Option<String>,
    deposit_hash: Option<String>,
    withdraw_hash: Option<String>,
    document: Option<DocumentHash>,
    lang: Option<String>,
    version: Option<serde_json::Value>,
    draft_id: Option<serde_json::Value>,
    orderer: Option<String>,
    total_cost: Option<String>,
    fact_cost: Option<String>,
    original_order_hash: Option<String>,
}

#[derive(Deserialize)]
struct DocumentHash {
    hash: String,
}

fn project_delta(
    contracts: &Contracts,
    block_num: u32,
    delta: &DeltaRecord,
    settled: &[Settlement],
) -> Option<RowChange> {
    let source = Source::of_table(contracts, &delta.code, &delta.table_name)?;
    let stable_key = source
        .key_field()
        .zip(delta.value.as_ref())
        .and_then(|(field, value)| field_text(value, field));
    let key = match stable_key {
        Some(key) => key,
        None if source.keyed_by_name() => Name::from_u64(delta.primary_key).to_string(),
        None => id_key(delta.primary_key),
    };
    let row = if delta.present {
        Some(registry_row(source, &delta.scope, delta.value.as_ref()))
    } else {
        // A removed row carries its last value: settled, it stays with the outcome.
        let settlement = delta.value.as_ref().and_then(|value| {
            settled.iter().find(|(settled_source, field, expected, _)| {
                *settled_source == source
                    && field_text(value, field).as_deref() == Some(expected.as_str())
            })
        });
        settlement.map(|(_, _, _, status)| {
            let mut row = registry_row(source, &delta.scope, delta.value.as_ref());
            row.status = Some((*status).to_owned());
            row
        })
    };
    Some(RowChange {
        block_num,
        source,
        key,
        row,
    })
}

/// A gateway payment's purpose: its `type` when the contract set one; else what the contract
/// that opened it, the one called back when it settles, opens it for, since COOPOS's gateway
/// leaves `type` empty.
fn payment_purpose(
    source: Source,
    kind: Option<String>,
    callback_contract: Option<String>,
) -> Option<String> {
    if let Some(kind) = kind.filter(|kind| !kind.is_empty()) {
        return Some(kind);
    }
    let contract = callback_contract.filter(|contract| !contract.is_empty())?;
    let purpose = match (source, contract.as_str()) {
        (Source::Income, "registrator") => "registration",
        (Source::Income, "wallet") => "deposit",
        (Source::Outcome, "wallet") => "withdraw",
        _ => return Some(contract),
    };
    Some(purpose.to_owned())
}

fn registry_row(source: Source, scope: &str, value: Option<&JsonText>) -> RegistryRow {
    // A row the ABI could not decode is kept (as `null`) so the registry still knows it exists.
    let fields = value
        .and_then(|value| serde_json::from_str::<Fields>(value.as_str()).ok())
        .unwrap_or_default();
    let data = value
        .cloned()
        .unwrap_or_else(|| JsonText::from_value(&json!(null)));
    let coopname = match source {
        Source::Account => fields.registrator.clone(),
        Source::Coop => fields.username.clone(),
        _ => fields.coopname.clone(),
    }
    .unwrap_or_else(|| scope.to_owned());
    let time = |text: &Option<String>| {
        text.as_deref()
            .and_then(|text| text.parse::<TimePointSec>().ok())
            .map(|time| i64::from(time.as_secs()))
    };
    let amount = |text: &Option<String>| {
        text.as_deref()
            .and_then(|text| text.parse::<Asset>().ok())
            .map(|asset| asset.amount())
    };
    let lower = |text: &Option<String>| text.as_deref().map(str::to_ascii_lowercase);
    let mut row = RegistryRow {
        coopname,
        username: fields.username.clone(),
        status: fields.status.clone(),
        kind: fields.kind.clone(),
        reference: None,
        created_at: time(&fields.created_at),
        amount: None,
        data,
    };
    match source {
        Source::Account => {
            row.reference = fields.referer;
            row.created_at = time(&fields.registered_at);
        }
        Source::Coop => {
            row.kind = fields.coop_type;
            row.reference = fields.parent_username;
            row.amount = amount(&fields.registration);
        }
        Source::Candidate => {
            row.reference = fields.braname;
            row.amount = amount(&fields.initial)
                .zip(amount(&fields.minimum))
                .map(|(initial, minimum)| initial + minimum);
        }
        Source::Participant => {
            row.reference = fields.braname;
            row.amount = amount(&fields.initial_amount);
        }
        Source::Board => {}
        Source::Decision => {
            row.status = Some(decision_status(fields.approved, fields.authorized).to_owned());
            row.reference = lower(&fields.hash);
        }
        Source::Agreement => {
            row.reference = fields.document.map(|doc| doc.hash.to_ascii_lowercase());
            row.created_at = time(&fields.updated_at);
        }
        Source::Income => {
            row.reference = lower(&fields.income_hash);
            row.amount = amount(&fields.quantity);
            row.kind = payment_purpose(source, fields.kind, fields.callback_contract);
        }
        Source::Outcome => {
            row.reference = lower(&fields.outcome_hash);
            row.amount = amount(&fields.quantity);
            row.kind = payment_purpose(source, fields.kind, fields.callback_contract);
        }
        Source::Deposit => {
            row.reference = lower(&fields.deposit_hash);
            row.amount = amount(&fields.quantity);
        }
        Source::Withdraw => {
            row.reference = lower(&fields.withdraw_hash);
            row.amount = amount(&fields.quantity);
        }
        Source::Branch => {
            row.username = fields.trustee;
        }
        Source::Draft => {
            row.reference = fields.version.as_ref().and_then(number_text);
        }
        Source::Translation => {
            row.kind = fields.lang;
            row.reference = fields.draft_id.as_ref().and_then(number_text);
        }
        Source::Order => {
            row.username = fields.orderer;
            row.reference = lower(&fields.hash);
            row.amount = amount(&fields.total_cost);
        }
        Source::ReturnRequest => {
            row.username = fields.orderer;
            row.reference = lower(&fields.original_order_hash);
            row.amount = amount(&fields.fact_cost);
        }
        Source::Document => {}
    }
    row
}

/// A 64-bit number as text; nodeos writes those above 2^32 as strings.
fn number_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::String(text) => Some(text.clone()),
        _ => None,
    }
}

/// A decision's stage from its flags: the chairman's authorization follows the council's
/// approval; before either it is being voted on.
fn decision_status(approved: Option<bool>, authorized: Option<bool>) -> &'static str {
    match (approved, authorized) {
        (_, Some(true)) => "authorized",
        (Some(true), _) => "approved",
        _ => "voting",
    }
}

/// Actions that reject the document they carry.
const REJECTING_ACTIONS: [&str; 2] = ["newdeclined", "declinedoc"];

/// The top-level fields of JSON text, when it may hold a document: most actions and rows carry
/// none, and a substring test of the decoder's own JSON (keys are never escaped) spares parsing
/// them.
fn fields_with_documents(data: &JsonText) -> Option<serde_json::Map<String, serde_json::Value>> {
    if !data.as_str().contains("\"hash\"") {
        return None;
    }
    serde_json::from_str(data.as_str()).ok()
}

/// The signed documents among top-level `fields` as (field, lowercase hash, document):
/// `document2` objects (`hash`, `doc_hash`, `meta_hash`, `signatures`) and legacy `document`
/// objects (`hash`, `public_key`, `signature`). An all-zero hash is the contracts' "no
/// document".
fn documents_in(
    fields: &serde_json::Map<String, serde_json::Value>,
) -> impl Iterator<Item = (&String, String, &serde_json::Map<String, serde_json::Value>)> {
    fields.iter().filter_map(|(field, value)| {
        let document = value.as_object()?;
        let is_document2 = ["hash", "doc_hash", "meta_hash", "signatures"]
            .iter()
            .all(|key| document.contains_key(*key));
        let is_legacy = ["hash", "public_key", "signature"]
            .iter()
            .all(|key| document.contains_key(*key));
        let hash = document.get("hash")?.as_str()?;
        if !(is_document2 || is_legacy) || hash.bytes().all(|byte| byte == b'0') {
            return None;
        }
        Some((field, hash.to_ascii_lowercase(), document))
    })
}

/// The text of top-level field `field`, when it is a string.
fn text_field(fields: &serde_json::Map<String, serde_json::Value>, field: &str) -> Option<String> {
    fields
        .get(field)
        .and_then(|value| value.as_str())
        .map(str::to_owned)
}

/// The documents an action carries in its top-level fields. Notifications repeat their action,
/// so only the trace executed by the action's own contract counts.
fn project_documents(block_num: u32, block_secs: i64, action: &ActionRecord) -> Vec<RowChange> {
    if action.receiver != action.account {
        return Vec::new();
    }
    let Some(data) = action.data.as_ref().and_then(fields_with_documents) else {
        return Vec::new();
    };
    let Some(coopname) = text_field(&data, "coopname") else {
        return Vec::new();
    };
    let username = text_field(&data, "username").or_else(|| text_field(&data, "chairman"));
    let package = text_field(&data, "package").map(|hash| hash.to_ascii_lowercase());
    let status = if REJECTING_ACTIONS.contains(&action.name.as_str()) {
        "rejected"
    } else {
        "accepted"
    };
    documents_in(&data)
        .map(|(field, hash, document)| RowChange {
            block_num,
            source: Source::Document,
            key: format!("{hash}:{}", id_key(action.global_sequence)),
            row: Some(RegistryRow {
                coopname: coopname.clone(),
                username: username.clone(),
                status: Some(status.to_owned()),
                kind: Some(action.name.clone()),
                reference: package.clone(),
                created_at: Some(block_secs),
                amount: None,
                data: JsonText::from_value(&json!({
                    "contract": action.account,
                    "action": action.name,
                    "field": field,
                    "global_sequence": action.global_sequence,
                    "document": document,
                })),
            }),
        })
        .collect()
}

/// The documents a contract row holds in its top-level fields (a decision's statement and
/// authorization, an agreement, …), one occurrence per row and field. A removed row leaves
/// its occurrences in force: the document was on chain.
fn project_row_documents(block_num: u32, block_secs: i64, delta: &DeltaRecord) -> Vec<RowChange> {
    let Some(data) = delta.value.as_ref().and_then(fields_with_documents) else {
        return Vec::new();
    };
    let coopname = text_field(&data, "coopname").unwrap_or_else(|| delta.scope.clone());
    let username = text_field(&data, "username");
    let package = text_field(&data, "package").map(|hash| hash.to_ascii_lowercase());
    documents_in(&data)
        .map(|(field, hash, document)| RowChange {
            block_num,
            source: Source::Document,
            // After the action occurrences (`hash:` and digits) of the same document.
            key: format!(
                "{hash}:row:{}:{}:{}:{}:{field}",
                delta.code,
                delta.table_name,
                delta.scope,
                id_key(delta.primary_key)
            ),
            row: Some(RegistryRow {
                coopname: coopname.clone(),
                username: username.clone(),
                status: Some("accepted".to_owned()),
                kind: Some(delta.table_name.clone()),
                reference: package.clone(),
                created_at: Some(block_secs),
                amount: None,
                data: JsonText::from_value(&json!({
                    "contract": delta.code,
                    "table": delta.table_name,
                    "field": field,
                    "primary_key": delta.primary_key,
                    "document": document,
                })),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::BlockRecord;

    fn batch() -> BlockBatch {
        BlockBatch::new(
            BlockRecord {
                block_num: 7,
                block_id: [7; 32],
                previous: [6; 32],
                timestamp_ms: 1_750_000_000_500,
            },
            6,
        )
    }

    fn delta(
        code: &str,
        scope: &str,
        table: &str,
        key: u64,
        value: Option<serde_json::Value>,
    ) -> DeltaRecord {
        DeltaRecord {
            code: code.to_owned(),
            scope: scope.to_owned(),
            table_name: table.to_owned(),
            primary_key: key,
            present: value.is_some(),
            payer: code.to_owned(),
            value: value.as_ref().map(JsonText::from_value),
            raw: Vec::new(),
            abi_hash: None,
        }
    }

    fn action(receiver: &str, account: &str, name: &str, data: serde_json::Value) -> ActionRecord {
        ActionRecord {
            global_sequence: 42,
            trx_id: [1; 32],
            action_ordinal: 1,
            creator_action_ordinal: 0,
            receiver: receiver.to_owned(),
            account: account.to_owned(),
            name: name.to_owned(),
            authorization: JsonText::from_value(&json!([])),
            data: Some(JsonText::from_value(&data)),
            raw: Vec::new(),
            abi_hash: None,
        }
    }

    #[test]
    fn rows_get_the_columns_registries_filter_on() {
        let mut batch = batch();
        let alice = Name::from_str_const("alice");
        batch.deltas.push(delta(
            "soviet",
            "voskhod",
            "participants",
            alice.as_u64(),
            Some(json!({"username": "alice", "created_at": "2025-06-15T14:13:20", "status": "accepted",
                        "type": "individual", "braname": "", "initial_amount": "100.0000 RUB"})),
        ));
        batch.deltas.push(delta(
            "soviet",
            "voskhod",
            "decisions",
            3,
            Some(
                json!({"id": 3, "coopname": "voskhod", "username": "alice", "type": "joincoop",
                        "approved": true, "authorized": false, "hash": "ABCD",
                        "created_at": "2025-06-15T14:13:20"}),
            ),
        ));
        batch
            .deltas
            .push(delta("gateway", "voskhod", "incomes", 9, None));
        batch.deltas.push(delta(
            "eosio.token",
            "alice",
            "accounts",
            1,
            Some(json!({})),
        ));
        let changes = project(&Contracts::default(), &batch);
        assert_eq!(changes.len(), 3, "{changes:?}");

        let participant = changes[0].row.as_ref().unwrap();
        assert_eq!(
            (changes[0].source, changes[0].key.as_str()),
            (Source::Participant, "alice")
        );
        assert_eq!(participant.coopname, "voskhod");
        assert_eq!(participant.status.as_deref(), Some("accepted"));
        assert_eq!(participant.kind.as_deref(), Some("individual"));
        assert_eq!(participant.amount, Some(1_000_000));
        assert_eq!(participant.created_at, Some(1_749_996_800));

        let decision = changes[1].row.as_ref().unwrap();
        assert_eq!(changes[1].key, "00000000000000000003");
        assert_eq!(decision.status.as_deref(), Some("approved"));
        assert_eq!(decision.reference.as_deref(), Some("abcd"));

        assert_eq!(
            (changes[2].source, changes[2].row.as_ref()),
            (Source::Income, None)
        );
    }

    #[test]
    fn marketplace_rows_are_keyed_by_id_with_their_orderer_and_hashes() {
        let mut batch = batch();
        batch.deltas.push(delta(
            "marketplace",
            "voskhod",
            "orders",
            0,
            Some(
                json!({"id": 0, "hash": "AB".repeat(32), "coopname": "voskhod", "orderer": "alice",
                        "status": "active", "total_cost": "13000.0000 RUB"}),
            ),
        ));
        batch.deltas.push(delta(
            "marketplace",
            "voskhod",
            "retrequests",
            3,
            Some(
                json!({"id": 3, "hash": "CD".repeat(32), "coopname": "voskhod", "orderer": "alice",
                        "original_order_hash": "AB".repeat(32), "status": "pendrev",
                        "fact_cost": "3250.0000 RUB"}),
            ),
        ));
        batch.deltas.push(delta(
            "marketplace",
            "voskhod",
            "config",
            0,
            Some(json!({})),
        ));
        let changes = project(&Contracts::default(), &batch);
        assert_eq!(changes.len(), 2, "{changes:?}");
        let expected = [
            (Source::Order, id_key(0), "active", "ab", 130_000_000),
            (
                Source::ReturnRequest,
                id_key(3),
                "pendrev",
                "ab",
                32_500_000,
            ),
        ];
        for (change, (source, key, status, reference, amount)) in changes.iter().zip(expected) {
            let row = change.row.as_ref().unwrap();
            assert_eq!((change.source, change.key.as_str()), (source, key.as_str()));
            assert_eq!(row.username.as_deref(), Some("alice"));
            assert_eq!(row.status.as_deref(), Some(status));
            assert_eq!(row.reference, Some(reference.repeat(32)));
            assert_eq!(row.amount, Some(amount));
        }
    }

    #[test]
    fn documents_come_from_the_action_that_carries_them() {
        let document = json!({"version": "1.1.0", "hash": "AB".repeat(32), "doc_hash": "11".repeat(32),
                              "meta_hash": "22".repeat(32), "meta": "{}", "signatures": []});
        let empty = json!({"version": "", "hash": "0".repeat(64), "doc_hash": "0".repeat(64),
                           "meta_hash": "0".repeat(64), "meta": "", "signatures": []});
        let data = json!({"coopname": "voskhod", "username": "alice", "action": "joincoop",
                          "package": "CD".repeat(32), "document": document, "other": empty});
        let mut batch = batch();
        batch
            .actions
            .push(action("soviet", "soviet", "newdeclined", data.clone()));
        // The same action notified to another contract is not a second occurrence.
        batch
            .actions
            .push(action("registrator", "soviet", "newdeclined", data));
        let changes = project(&Contracts::default(), &batch);
        assert_eq!(changes.len(), 1, "{changes:?}");
        let row = changes[0].row.as_ref().unwrap();
        assert_eq!(
            changes[0].key,
            format!("{}:{}", "ab".repeat(32), id_key(42))
        );
        assert_eq!(row.status.as_deref(), Some("rejected"));
        assert_eq!(row.reference, Some("cd".repeat(32)));
        assert_eq!(row.created_at, Some(1_750_000_000));
        assert_eq!(row.username.as_deref(), Some("alice"));
    }

    #[test]
    fn gateway_payments_are_named_by_the_contract_that_opened_them() {
        let payment = |table: &str, id: u64, kind: &str, callback: &str| {
            let hash = "AB".repeat(32);
            delta(
                "gateway",
                "voskhod",
                table,
                id,
                Some(
                    json!({"id": id, "coopname": "voskhod", "username": "alice", "type": kind,
                            "income_hash": hash, "outcome_hash": hash,
                            "callback_contract": callback, "quantity": "400.0000 RUB",
                            "status": "pending"}),
                ),
            )
        };
        let mut batch = batch();
        batch.deltas.extend([
            payment("incomes", 1, "", "registrator"),
            payment("incomes", 2, "", "wallet"),
            payment("outcomes", 3, "", "wallet"),
            payment("incomes", 4, "", "capital"),
            payment("incomes", 5, "membership", "registrator"),
            payment("incomes", 6, "", ""),
        ]);
        let purposes: Vec<Option<String>> = project(&Contracts::default(), &batch)
            .into_iter()
            .map(|change| change.row.and_then(|row| row.kind))
            .collect();
        let expected = [
            Some("registration"),
            Some("deposit"),
            Some("withdraw"),
            Some("capital"),
            Some("membership"),
            None,
        ];
        assert_eq!(purposes, expected.map(|purpose| purpose.map(str::to_owned)));
    }

    #[test]
    fn documents_held_by_rows_stay_after_the_row_is_erased() {
        let statement = json!({"version": "1.1.0", "hash": "EF".repeat(32), "doc_hash": "11".repeat(32),
                               "meta_hash": "22".repeat(32), "meta": "{}", "signatures": []});
        let unsigned = json!({"version": "", "hash": "0".repeat(64), "doc_hash": "0".repeat(64),
                              "meta_hash": "0".repeat(64), "meta": "", "signatures": []});
        let row = json!({"id": 7, "coopname": "voskhod", "username": "alice", "type": "joincoop",
                         "statement": statement, "authorization": unsigned});
        let mut batch = batch();
        batch.deltas.push(delta(
            "soviet",
            "voskhod",
            "decisions",
            7,
            Some(row.clone()),
        ));
        let changes = project(&Contracts::default(), &batch);
        let documents: Vec<&RowChange> = changes
            .iter()
            .filter(|change| change.source == Source::Document)
            .collect();
        assert_eq!(documents.len(), 1, "{changes:?}");
        assert_eq!(
            documents[0].key,
            format!(
                "{}:row:soviet:decisions:voskhod:{}:statement",
                "ef".repeat(32),
                id_key(7)
            )
        );
        let kept = documents[0].row.as_ref().unwrap();
        assert_eq!(kept.status.as_deref(), Some("accepted"));
        assert_eq!(kept.username.as_deref(), Some("alice"));
        assert_eq!(kept.data.to_value().unwrap()["table"], "decisions");

        let mut erased = delta("soviet", "voskhod", "decisions", 7, Some(row));
        erased.present = false;
        let mut batch = self::batch();
        batch.deltas.push(erased);
        let changes = project(&Contracts::default(), &batch);
        assert!(
            changes
                .iter()
                .all(|change| change.source != Source::Document),
            "{changes:?}"
        );
    }
}
