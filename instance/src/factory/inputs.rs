//! Inputs of documents built from the store as of the document's block: the private records
//! (the applicant's individual, entrepreneur or organization record, the cooperative's
//! variables and organization data, payment requisites, the handwritten signature image, what
//! an order of property is of and the names of the cooperative's programmes) and the registries
//! (the cooperative's fees and council, the council's decisions and votes, branches, the
//! marketplace's orders and warranty returns).
//!
//! The asset documents (700–702 on an order, 800–802 on a warranty return of one) name their
//! order or return by the scalar `request_id`, the id the `marketplace` contract gave it. Their
//! `request` takes hash, units, prices and currency from the chain's row (for a return: its
//! hash, units returned and their cost, at the unit price of its original order) and title,
//! unit of measurement, type and programme from the cooperative's [`OrderItem`] record of the
//! order; `user` is the orderer's record; 702's `receiver` and 802's `transmitter` are the
//! trustee of the branch `braname` names, or the council's chairman without one. The
//! programme's name comes from the cooperative's [`Program`] record: COOPOS keeps programmes
//! in `soviet::programs` (`title`), but the registries do not follow that table yet and the
//! devnet's council does not emulate it.
//! What neither the chain nor the private data holds, and so must come with the request:
//! `act_id`, the number the cooperative gives an act (the contract keeps no act numbers), and
//! which council decision (`decision_id`) accepted the property (the contract at the
//! published ABI puts neither an order nor a return on the council's agenda, so nothing on
//! chain links the two). As the order must be on chain at the document's block, a 700 made
//! here is a statement on an existing order, not the `convert_statement` its `createorder`
//! carries, which is signed before the order exists.
//!
//! Generation ([`complete`]) and regeneration ([`regenerate`]) read through the same function
//! at the meta's `block_num`, and what the store answers as of a block never changes, so a
//! document regenerates byte for byte after any later edit of private data, fees, the council
//! or the template. Registry ids built here: [`SUPPORTED`].
//!
//! This is the factory's edge to the store; the rendering core stays pure.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::antelope::asset::Asset;
use crate::factory::{self as core, Factory, Generated, meta};
use crate::private_data::cooperative::{Project, SignatureImage, Vars};
use crate::private_data::market::{OrderItem, Program};
use crate::private_data::records::{
    Entrepreneur, Individual, Organization, PaymentDetails, PaymentMethod, PrivateRecord,
};
use crate::registry::projection::Contracts;
use crate::registry::{self, coop, decisions, orders, templates};
use crate::store::{self, Store};

/// Registry ids whose inputs this module builds: the agreements a member accepts on joining
/// (1 WalletAgreement, 2 RegulationElectronicSignature, 3 PrivacyPolicy, 4 UserAgreement,
/// 50 CoopenomicsAgreement), 100 ParticipantApplication, 101 SelectBranchStatement, 501
/// DecisionOfParticipantApplication, 599 ProjectFreeDecision, 600 FreeDecision, the asset
/// contribution's statement, decision and act (700–702) and the return by asset's (800–802).
pub const SUPPORTED: [u64; 16] = [
    1,
    2,
    3,
    4,
    COOPENOMICS_AGREEMENT,
    PARTICIPANT_APPLICATION,
    SELECT_BRANCH_STATEMENT,
    DECISION_OF_PARTICIPANT_APPLICATION,
    PROJECT_FREE_DECISION,
    FREE_DECISION,
    ASSET_CONTRIBUTION_STATEMENT,
    ASSET_CONTRIBUTION_DECISION,
    ASSET_CONTRIBUTION_ACT,
    RETURN_BY_ASSET_STATEMENT,
    RETURN_BY_ASSET_DECISION,
    RETURN_BY_ASSET_ACT,
];

/// The last of the agreements 1–4 and the platform agreement: coop, vars and the member's name.
const COOPENOMICS_AGREEMENT: u64 = 50;
const PARTICIPANT_APPLICATION: u64 = 100;
const SELECT_BRANCH_STATEMENT: u64 = 101;
const DECISION_OF_PARTICIPANT_APPLICATION: u64 = 501;
const PROJECT_FREE_DECISION: u64 = 599;
const FREE_DECISION: u64 = 600;
const ASSET_CONTRIBUTION_STATEMENT: u64 = 700;
const ASSET_CONTRIBUTION_DECISION: u64 = 701;
const ASSET_CONTRIBUTION_ACT: u64 = 702;
const RETURN_BY_ASSET_STATEMENT: u64 = 800;
const RETURN_BY_ASSET_DECISION: u64 = 801;
const RETURN_BY_ASSET_ACT: u64 = 802;
/// Most payment methods of one account read when looking for its bank account.
const PAYMENT_METHODS_PAGE: u32 = 100;

/// Why a document's input could not be built from the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Inputs of this registry id are not built from the store.
    #[error("inputs of registry id {registry_id} are not built from the store")]
    Unsupported {
        /// The registry id.
        registry_id: u64,
    },
    /// The request or meta lacks a field that names the data.
    #[error("the document's recipe has no valid {field}")]
    Recipe {
        /// The field.
        field: &'static str,
    },
    /// Something the document is built from did not exist at the block.
    #[error("no {what} {key} as of block {block_num}")]
    Missing {
        /// What was looked for (`organization record`, `decision`, `draft`, …).
        what: &'static str,
        /// Its key.
        key: String,
        /// The block.
        block_num: u32,
    },
    /// A stored private record is not in its type's form.
    #[error("stored {kind} record {key} is not in the expected form")]
    Record {
        /// The record's kind.
        kind: &'static str,
        /// Its key.
        key: String,
        /// The failure.
        #[source]
        source: serde_json::Error,
    },
    /// The private store failed.
    #[error("reading private records")]
    Store(#[from] store::Error),
    /// A registry failed.
    #[error("reading the registries")]
    Registry(#[from] registry::Error),
    /// The draft could not be read from the chain's rows.
    #[error("reading the draft of registry id {registry_id}")]
    Draft {
        /// The registry id.
        registry_id: u64,
        /// The failure.
        #[source]
        source: templates::Error,
    },
    /// The document could not be made.
    #[error("rendering")]
    Render(#[from] core::Error),
}

/// Result of building inputs.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The fields of a recipe that name the data: from a request's `meta` and top level, or from a
/// document's meta.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recipe {
    registry_id: u64,
    coopname: String,
    username: String,
    block_num: u32,
    timezone: String,
    /// The applicant's type (`individual`, `entrepreneur`, `organization`), when the document
    /// names one.
    kind: Option<String>,
    braname: String,
    decision_id: Option<u64>,
    /// The project of a free decision (599, 600).
    project_id: Option<String>,
    /// The order (700–702) or warranty return (800–802) the document is about.
    request_id: Option<u64>,
}

impl Recipe {
    /// The applicant's type, which the document needs.
    fn kind(&self) -> Result<&str> {
        self.kind.as_deref().ok_or(Error::Recipe { field: "type" })
    }

    /// The decision the document is about, which it needs.
    fn decision_id(&self) -> Result<u64> {
        self.decision_id.ok_or(Error::Recipe {
            field: "decision_id",
        })
    }

    /// The order or return the document is about, which it needs.
    fn request_id(&self) -> Result<u64> {
        self.request_id.ok_or(Error::Recipe {
            field: "request_id",
        })
    }

    /// `recipe` holds `coopname`, `username`, `block_num` (and `timezone`); `scalars` the
    /// input's scalar fields (`type`, `braname`, `decision_id`, `project_id`, `request_id`).
    fn read(registry_id: u64, recipe: &Value, scalars: &Value) -> Result<Self> {
        let text = |field: &'static str| {
            recipe[field]
                .as_str()
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
                .ok_or(Error::Recipe { field })
        };
        Ok(Self {
            registry_id,
            coopname: text("coopname")?,
            username: text("username")?,
            block_num: recipe["block_num"]
                .as_u64()
                .and_then(|block_num| u32::try_from(block_num).ok())
                .ok_or(Error::Recipe { field: "block_num" })?,
            timezone: recipe["timezone"]
                .as_str()
                .unwrap_or(meta::DEFAULT_TIMEZONE)
                .to_owned(),
            kind: scalars["type"].as_str().map(str::to_owned),
            braname: scalars["braname"].as_str().unwrap_or_default().to_owned(),
            decision_id: scalars["decision_id"].as_u64(),
            project_id: scalars["project_id"].as_str().map(str::to_owned),
            request_id: scalars["request_id"].as_u64(),
        })
    }
}

/// The complete input of a document of `registry_id` from `request`: its `meta` (`coopname`,
/// `username`, `created_at`, `block_num`, optionally `timezone`, `lang`, `links`) and scalar
/// fields (`type`; `braname` for 100, 101, 702 and 802; `decision_id` for 501, 600, 701,
/// 702, 801 and 802; `project_id` for 599 and 600; `request_id` for 700–702 and 800–802),
/// with every object read from the store as of `meta.block_num`.
///
/// # Errors
/// [`Error::Unsupported`], [`Error::Recipe`], [`Error::Missing`] and the store's errors.
pub async fn complete(store: &Store, registry_id: u64, request: &Value) -> Result<Value> {
    let recipe = Recipe::read(registry_id, &request[meta::META_KEY], request)?;
    let mut input = data(store, &recipe).await?;
    if let Some(fields) = request.as_object() {
        for (key, value) in fields {
            input.insert(key.clone(), value.clone());
        }
    }
    Ok(Value::Object(input))
}

/// Regenerates the document `meta` describes from the store: the draft in force at
/// `meta.block_num` (the `draft` contract's rows) and the data as of then.
///
/// # Errors
/// [`Error::Missing`] when the draft or data did not exist then, [`Error::Render`] (among
/// them [`core::Error::MetaMismatch`]) and the store's errors.
pub async fn regenerate(
    store: &Store,
    factory: &Factory,
    contracts: &Contracts,
    meta: &Value,
) -> Result<Generated> {
    let registry_id = meta["registry_id"].as_u64().ok_or(Error::Recipe {
        field: "registry_id",
    })?;
    let recipe = Recipe::read(registry_id, meta, meta)?;
    let draft = templates::draft_at(store, contracts.draft, registry_id, recipe.block_num)
        .await
        .map_err(|source| Error::Draft {
            registry_id,
            source,
        })?
        .ok_or_else(|| Error::Missing {
            what: "draft",
            key: registry_id.to_string(),
            block_num: recipe.block_num,
        })?;
    let data = Value::Object(data(store, &recipe).await?);
    Ok(factory.regenerate(&draft, meta, &data)?)
}

/// The objects of the input (everything but `meta` and the scalars) as of the recipe's block.
async fn data(store: &Store, recipe: &Recipe) -> Result<Map<String, Value>> {
    let mut data = Map::new();
    let vars: Vars = record(store, &recipe.coopname, recipe.block_num).await?;
    data.insert("coop".to_owned(), cooperative(store, recipe, &vars).await?);
    data.insert("vars".to_owned(), vars_object(&vars)?);
    match recipe.registry_id {
        1..=4 | COOPENOMICS_AGREEMENT => {
            if let Some(full_name) = full_name(store, &recipe.username, recipe.block_num).await? {
                data.insert("user".to_owned(), json!({ "full_name": full_name }));
            }
        }
        PARTICIPANT_APPLICATION => {
            let kind = recipe.kind()?;
            data.insert(kind.to_owned(), applicant(store, recipe, kind).await?);
            let image: SignatureImage = record(store, &recipe.username, recipe.block_num).await?;
            data.insert("signature".to_owned(), Value::from(image.signature));
            if !recipe.braname.is_empty() {
                data.insert("branch".to_owned(), branch(store, recipe).await?);
            }
        }
        SELECT_BRANCH_STATEMENT => {
            let kind = recipe.kind()?;
            data.insert(kind.to_owned(), applicant(store, recipe, kind).await?);
            if recipe.braname.is_empty() {
                return Err(Error::Recipe { field: "braname" });
            }
            data.insert("branch".to_owned(), branch(store, recipe).await?);
        }
        DECISION_OF_PARTICIPANT_APPLICATION => {
            let kind = recipe.kind()?;
            data.insert(kind.to_owned(), applicant(store, recipe, kind).await?);
            let id = recipe.decision_id()?;
            data.insert("decision".to_owned(), decision(store, recipe, id).await?);
        }
        PROJECT_FREE_DECISION => {
            data.insert("project".to_owned(), project(store, recipe).await?);
            let suggester = full_name(store, &recipe.username, recipe.block_num)
                .await?
                .ok_or_else(|| Error::Missing {
                    what: "personal data",
                    key: recipe.username.clone(),
                    block_num: recipe.block_num,
                })?;
            data.insert("suggester_name".to_owned(), Value::from(suggester));
        }
        FREE_DECISION => {
            data.insert("project".to_owned(), project(store, recipe).await?);
            let id = recipe.decision_id()?;
            data.insert("decision".to_owned(), decision(store, recipe, id).await?);
        }
        ASSET_CONTRIBUTION_STATEMENT..=ASSET_CONTRIBUTION_ACT
        | RETURN_BY_ASSET_STATEMENT..=RETURN_BY_ASSET_ACT => {
            asset_document(store, recipe, &mut data).await?;
        }
        registry_id => return Err(Error::Unsupported { registry_id }),
    }
    Ok(data)
}

/// The objects of an asset document (700–702, 800–802): `user` and `request`; `decision` for
/// the decisions and acts; `program`, the cooperative's signer (`receiver` of 702,
/// `transmitter` of 802) and `branch` when `braname` names one, for the acts.
async fn asset_document(
    store: &Store,
    recipe: &Recipe,
    data: &mut Map<String, Value>,
) -> Result<()> {
    let is_return = recipe.registry_id >= RETURN_BY_ASSET_STATEMENT;
    let (orderer, item, request) = if is_return {
        return_request(store, recipe).await?
    } else {
        order_request(store, recipe).await?
    };
    data.insert(
        "user".to_owned(),
        member(store, &orderer, recipe.block_num).await?,
    );
    data.insert("request".to_owned(), request);
    // x00 is the member's statement, x01 the council's decision on it, x02 the act.
    let step = recipe.registry_id % 100;
    if step >= 1 {
        let id = recipe.decision_id()?;
        data.insert("decision".to_owned(), decision(store, recipe, id).await?);
    }
    if step == 2 {
        let key = format!("{}/{}", recipe.coopname, item.program_id);
        let program: Program = record(store, &key, recipe.block_num).await?;
        data.insert("program".to_owned(), json!({ "name": program.name }));
        let signer = if recipe.braname.is_empty() {
            chairman(store, recipe).await?
        } else {
            let branch = branch(store, recipe).await?;
            let trustee = branch["trustee"].clone();
            data.insert("branch".to_owned(), branch);
            trustee
        };
        let side = if is_return { "transmitter" } else { "receiver" };
        data.insert(side.to_owned(), signer);
    }
    Ok(())
}

/// The order named by the recipe: its orderer, its item record and the documents' `request`.
async fn order_request(store: &Store, recipe: &Recipe) -> Result<(String, OrderItem, Value)> {
    let order = order(store, recipe, recipe.request_id()?).await?;
    let item = order_item(store, recipe, &order.hash).await?;
    let request = request_object(
        &order.hash,
        &item,
        order.quantity,
        order.unit_price,
        order.total_cost,
    );
    Ok((order.orderer, item, request))
}

/// The warranty return named by the recipe, with what its original order was of.
async fn return_request(store: &Store, recipe: &Recipe) -> Result<(String, OrderItem, Value)> {
    let block_num = recipe.block_num;
    let id = recipe.request_id()?;
    let returned = orders::return_request(store, &recipe.coopname, block_num, id)
        .await?
        .ok_or_else(|| Error::Missing {
            what: "return request",
            key: id.to_string(),
            block_num,
        })?;
    let order = order(store, recipe, returned.original_order_id).await?;
    let item = order_item(store, recipe, &order.hash).await?;
    let request = request_object(
        &returned.hash,
        &item,
        returned.actual_quantity,
        order.unit_price,
        returned.fact_cost,
    );
    Ok((returned.orderer, item, request))
}

async fn order(store: &Store, recipe: &Recipe, id: u64) -> Result<orders::Order> {
    orders::order(store, &recipe.coopname, recipe.block_num, id)
        .await?
        .ok_or_else(|| Error::Missing {
            what: "order",
            key: id.to_string(),
            block_num: recipe.block_num,
        })
}

async fn order_item(store: &Store, recipe: &Recipe, hash: &str) -> Result<OrderItem> {
    record(
        store,
        &format!("{}/{hash}", recipe.coopname),
        recipe.block_num,
    )
    .await
}

/// `request` as the asset documents print it.
fn request_object(
    hash: &str,
    item: &OrderItem,
    units: u64,
    unit_cost: Asset,
    total_cost: Asset,
) -> Value {
    json!({
        "hash": hash,
        "title": item.title,
        "unit_of_measurement": item.unit_of_measurement,
        "units": units,
        "unit_cost": unit_cost.to_string(),
        "total_cost": total_cost.to_string(),
        "currency": unit_cost.symbol().code().to_string(),
        "type": item.kind,
        "program_id": item.program_id,
    })
}

/// A member as the asset documents name it: an individual's or entrepreneur's full name, an
/// organization's short name; an individual's birth date (`DD.MM.YYYY`), otherwise the OGRN.
async fn member(store: &Store, username: &str, block_num: u32) -> Result<Value> {
    let user = |name: String, birthdate_or_ogrn: String| json!({"full_name_or_short_name": name, "birthdate_or_ogrn": birthdate_or_ogrn});
    if let Some(person) = optional_record::<Individual>(store, username, block_num).await? {
        let name = joined_name(&person.last_name, &person.first_name, &person.middle_name);
        return Ok(user(name, printed_date(&person.birthdate)));
    }
    if let Some(person) = optional_record::<Entrepreneur>(store, username, block_num).await? {
        let name = joined_name(&person.last_name, &person.first_name, &person.middle_name);
        return Ok(user(name, person.details.ogrn));
    }
    let organization: Organization = record(store, username, block_num).await?;
    Ok(user(organization.short_name, organization.details.ogrn))
}

/// `YYYY-MM-DD` as Russian documents print a date, `DD.MM.YYYY`; other text unchanged.
fn printed_date(date: &str) -> String {
    let parts: Vec<&str> = date.split('-').collect();
    match parts.as_slice() {
        [year, month, day] => format!("{day}.{month}.{year}"),
        _ => date.to_owned(),
    }
}

/// The council's chairman at the recipe's block, by name.
async fn chairman(store: &Store, recipe: &Recipe) -> Result<Value> {
    let block_num = recipe.block_num;
    let seat = coop::council(store, &recipe.coopname, block_num)
        .await?
        .into_iter()
        .find(|seat| seat.position == "chairman")
        .ok_or_else(|| Error::Missing {
            what: "chairman",
            key: recipe.coopname.clone(),
            block_num,
        })?;
    let person: Individual = record(store, &seat.username, block_num).await?;
    Ok(json!({
        "last_name": person.last_name,
        "first_name": person.first_name,
        "middle_name": person.middle_name,
    }))
}

/// The cooperative's project of a free decision named by the recipe's `project_id`.
async fn project(store: &Store, recipe: &Recipe) -> Result<Value> {
    let id = recipe.project_id.as_deref().ok_or(Error::Recipe {
        field: "project_id",
    })?;
    let key = format!("{}/{id}", recipe.coopname);
    let project: Project = record(store, &key, recipe.block_num).await?;
    Ok(json!({"id": project.id, "question": project.question, "decision": project.decision}))
}

/// `username`'s name as documents print it: an individual's or entrepreneur's last, first and
/// middle name, an organization's full name; `None` without any of these records.
async fn full_name(store: &Store, username: &str, block_num: u32) -> Result<Option<String>> {
    if let Some(person) = optional_record::<Individual>(store, username, block_num).await? {
        return Ok(Some(joined_name(
            &person.last_name,
            &person.first_name,
            &person.middle_name,
        )));
    }
    if let Some(person) = optional_record::<Entrepreneur>(store, username, block_num).await? {
        return Ok(Some(joined_name(
            &person.last_name,
            &person.first_name,
            &person.middle_name,
        )));
    }
    Ok(optional_record::<Organization>(store, username, block_num)
        .await?
        .map(|organization| organization.full_name))
}

/// A person's last, first and middle name, the empty ones left out.
fn joined_name(last: &str, first: &str, middle: &str) -> String {
    [last, first, middle]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Private record `key` of type `T` as of `block_num`; its absence is an error.
async fn record<T>(store: &Store, key: &str, block_num: u32) -> Result<T>
where
    T: PrivateRecord + for<'de> Deserialize<'de>,
{
    optional_record(store, key, block_num)
        .await?
        .ok_or_else(|| Error::Missing {
            what: T::KIND,
            key: key.to_owned(),
            block_num,
        })
}

async fn optional_record<T>(store: &Store, key: &str, block_num: u32) -> Result<Option<T>>
where
    T: PrivateRecord + for<'de> Deserialize<'de>,
{
    let Some(version) = store.private_at(T::KIND, key, block_num).await? else {
        return Ok(None);
    };
    serde_json::from_str(version.data.as_str())
        .map(Some)
        .map_err(|source| Error::Record {
            kind: T::KIND,
            key: key.to_owned(),
            source,
        })
}

fn vars_object(vars: &Vars) -> Result<Value> {
    let mut value = serde_json::to_value(vars).map_err(|source| Error::Record {
        kind: Vars::KIND,
        key: vars.coopname.clone(),
        source,
    })?;
    value["passport_request"] = Value::from(if vars.passport_request { "yes" } else { "no" });
    Ok(value)
}

/// The cooperative: requisites from its organization record, council names from the members'
/// records, fees and `is_branched` from its `coops` row, all as of the block.
async fn cooperative(store: &Store, recipe: &Recipe, vars: &Vars) -> Result<Value> {
    let block_num = recipe.block_num;
    let profile = coop::get(store, &recipe.coopname, block_num)
        .await?
        .ok_or_else(|| Error::Missing {
            what: "cooperative",
            key: recipe.coopname.clone(),
            block_num,
        })?;
    let organization: Organization = record(store, &recipe.coopname, block_num).await?;
    let mut members = Vec::with_capacity(profile.council.len());
    let mut chairman = Value::Null;
    for seat in &profile.council {
        let person: Individual = record(store, &seat.username, block_num).await?;
        let is_chairman = seat.position == "chairman";
        let names = json!({
            "last_name": person.last_name,
            "first_name": person.first_name,
            "middle_name": person.middle_name,
        });
        if is_chairman {
            chairman = names.clone();
        }
        let mut member = names;
        member["is_chairman"] = Value::from(is_chairman);
        members.push(member);
    }
    let fees = &profile.fees;
    let mut coop = json!({
        "full_name": organization.full_name,
        "short_name": organization.short_name,
        "city": organization.city,
        "full_address": organization.full_address,
        "phone": organization.phone,
        "email": organization.email,
        "website": vars.website,
        "details": organization.details,
        "chairman": chairman,
        "members": members,
        "is_branched": profile.row["is_branched"].as_bool().unwrap_or(false),
        "initial": fees.initial,
        "minimum": fees.minimum,
        "org_initial": fees.org_initial.as_ref().or(fees.initial.as_ref()),
        "org_minimum": fees.org_minimum.as_ref().or(fees.minimum.as_ref()),
    });
    if let Some(account) = bank_account(store, &recipe.coopname, block_num).await? {
        coop["bank_account"] = account;
    }
    Ok(coop)
}

/// The applicant's record of type `kind`, with its bank account for entrepreneurs and
/// organizations.
async fn applicant(store: &Store, recipe: &Recipe, kind: &str) -> Result<Value> {
    let (username, block_num) = (recipe.username.as_str(), recipe.block_num);
    let encode = |value: Result<Value, serde_json::Error>, kind: &'static str| {
        value.map_err(|source| Error::Record {
            kind,
            key: username.to_owned(),
            source,
        })
    };
    let mut value = match kind {
        "individual" => encode(
            serde_json::to_value(record::<Individual>(store, username, block_num).await?),
            Individual::KIND,
        )?,
        "entrepreneur" => encode(
            serde_json::to_value(record::<Entrepreneur>(store, username, block_num).await?),
            Entrepreneur::KIND,
        )?,
        "organization" => encode(
            serde_json::to_value(record::<Organization>(store, username, block_num).await?),
            Organization::KIND,
        )?,
        _ => return Err(Error::Recipe { field: "type" }),
    };
    if kind != "individual"
        && let Some(account) = bank_account(store, username, block_num).await?
    {
        value["bank_account"] = account;
    }
    Ok(value)
}

/// `username`'s bank account as of the block: its default bank-transfer method, else its first.
async fn bank_account(store: &Store, username: &str, block_num: u32) -> Result<Option<Value>> {
    let prefix = format!("{username}/");
    let versions = store
        .private_list_at(
            PaymentMethod::KIND,
            block_num,
            Some(&prefix),
            PAYMENT_METHODS_PAGE,
        )
        .await?;
    let mut accounts = Vec::new();
    for version in versions
        .iter()
        .take_while(|version| version.key.starts_with(&prefix))
    {
        let method: PaymentMethod =
            serde_json::from_str(version.data.as_str()).map_err(|source| Error::Record {
                kind: PaymentMethod::KIND,
                key: version.key.clone(),
                source,
            })?;
        if let PaymentDetails::BankTransfer {
            bank_name,
            account_number,
            details,
            ..
        } = method.details
        {
            accounts.push((
                method.is_default,
                json!({"bank_name": bank_name, "account_number": account_number, "details": details}),
            ));
        }
    }
    let chosen = accounts
        .iter()
        .position(|(is_default, _)| *is_default)
        .unwrap_or(0);
    Ok((chosen < accounts.len()).then(|| accounts.swap_remove(chosen).1))
}

/// The branch `braname`: its organization record and its trustee's names.
async fn branch(store: &Store, recipe: &Recipe) -> Result<Value> {
    let block_num = recipe.block_num;
    let organization: Organization = record(store, &recipe.braname, block_num).await?;
    let page = registry::branches::list(
        store,
        &recipe.coopname,
        block_num,
        None,
        &registry::PageRequest::first(registry::MAX_PAGE),
    )
    .await?;
    let trustee = page
        .items
        .iter()
        .find(|branch| branch.braname == recipe.braname)
        .and_then(|branch| branch.trustee.clone())
        .ok_or_else(|| Error::Missing {
            what: "branch",
            key: recipe.braname.clone(),
            block_num,
        })?;
    let person: Individual = record(store, &trustee, block_num).await?;
    Ok(json!({
        "short_name": organization.short_name,
        "full_name": organization.full_name,
        "full_address": organization.full_address,
        "trustee": {
            "last_name": person.last_name,
            "first_name": person.first_name,
            "middle_name": person.middle_name,
        },
    }))
}

/// Decision `id` as the protocol prints it: its opening date and time in the document's time
/// zone and the tallies of the council of the block (seats that cast no vote abstained).
async fn decision(store: &Store, recipe: &Recipe, id: u64) -> Result<Value> {
    let block_num = recipe.block_num;
    let found = decisions::get(store, &recipe.coopname, block_num, id)
        .await?
        .ok_or_else(|| Error::Missing {
            what: "decision",
            key: id.to_string(),
            block_num,
        })?;
    let seats = coop::council(store, &recipe.coopname, block_num)
        .await?
        .len();
    let votes_for = found.votes_for.len();
    let votes_against = found.votes_against.len();
    let votes_abstained = seats.saturating_sub(votes_for + votes_against);
    let voters_percent = ((votes_for + votes_against) * 100 + seats / 2)
        .checked_div(seats)
        .unwrap_or(0);
    let (date, time) = local_date_time(found.created_at.unwrap_or_default(), &recipe.timezone)
        .ok_or(Error::Recipe { field: "timezone" })?;
    Ok(json!({
        "id": id,
        "date": date,
        "time": time,
        "votes_for": votes_for,
        "votes_against": votes_against,
        "votes_abstained": votes_abstained,
        "voters_percent": voters_percent,
    }))
}

/// `YYYY-MM-DD` and `HH:MM` of `secs` in `timezone`.
fn local_date_time(secs: i64, timezone: &str) -> Option<(String, String)> {
    let zone = jiff::tz::TimeZoneDatabase::bundled().get(timezone).ok()?;
    let local = jiff::Timestamp::from_second(secs).ok()?.to_zoned(zone);
    Some((
        local.strftime("%Y-%m-%d").to_string(),
        local.strftime("%H:%M").to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_name_their_missing_fields() {
        let meta = json!({"coopname": "voskhod", "username": "ivanov", "block_num": 7});
        let scalars = json!({"type": "individual"});
        let recipe = Recipe::read(100, &meta, &scalars).expect("complete");
        assert_eq!(recipe.timezone, meta::DEFAULT_TIMEZONE);
        assert_eq!((recipe.block_num, recipe.decision_id), (7, None));
        assert_eq!(recipe.kind.as_deref(), Some("individual"));
        let agreement = Recipe::read(4, &meta, &json!({})).expect("no type needed");
        assert_eq!(agreement.kind, None);
        for (meta, scalars, field) in [
            (
                json!({"username": "a", "block_num": 1}),
                json!({"type": "individual"}),
                "coopname",
            ),
            (
                json!({"coopname": "c", "username": "a"}),
                json!({"type": "individual"}),
                "block_num",
            ),
            (
                json!({"coopname": "c", "block_num": 1}),
                json!({"type": "individual"}),
                "username",
            ),
        ] {
            assert!(
                matches!(Recipe::read(100, &meta, &scalars), Err(Error::Recipe { field: got }) if got == field),
                "{field}"
            );
        }
    }

    #[test]
    fn asset_documents_name_their_order_or_return() {
        let meta = json!({"coopname": "voskhod", "username": "ivanov", "block_num": 7});
        let recipe = Recipe::read(702, &meta, &json!({"request_id": 4, "decision_id": 2}))
            .expect("complete");
        assert_eq!(recipe.request_id().ok(), Some(4));
        assert_eq!(recipe.decision_id().ok(), Some(2));
        let without = Recipe::read(700, &meta, &json!({})).expect("read");
        assert!(matches!(
            without.request_id(),
            Err(Error::Recipe {
                field: "request_id"
            })
        ));
    }

    #[test]
    fn birth_dates_are_printed_day_first() {
        assert_eq!(printed_date("1985-06-17"), "17.06.1985");
        assert_eq!(printed_date("17.06.1985"), "17.06.1985");
    }

    #[test]
    fn decision_times_are_local_to_the_document() {
        // 2025-03-14T09:26:31Z is 12:26 in Moscow.
        assert_eq!(
            local_date_time(1_741_944_391, "Europe/Moscow"),
            Some(("2025-03-14".to_owned(), "12:26".to_owned()))
        );
        assert_eq!(local_date_time(0, "Nowhere/City"), None);
    }
}
