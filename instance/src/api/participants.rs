//! The join flow: `registerAccount` (anyone: personal data kept, the chain account created by
//! the cooperative's `registrator::newaccount`), the documents a future member signs
//! (`generateWalletAgreement`, `generateSignatureAgreement`, `generatePrivacyAgreement`,
//! `generateUserAgreement`, `generateParticipantApplication`) and `registerParticipant` (the
//! signed documents checked against the account's key on chain and the application filed with
//! `registrator::reguser`, which also opens the registration payment); `addParticipant` (the
//! chairman adds a person who is a shareholder already, `registrator::adduser`).

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject};
use rand_core::OsRng;
use serde_json::{Value, json};

use super::ApiState;
use super::accounts::{Prepared, account_names, prepare_record, store_record};
use super::error::ApiError;
use super::paging::as_of;
use super::policy::admit;
use super::session::rate_limit;
use super::signing::{self, GeneratedDocument, SignedDocumentInput};
use super::transactions::{TransactionResult, push};
use crate::antelope::asset::Asset;
use crate::antelope::checksum::Checksum256;
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::time::TimePointSec;
use crate::chain::push::JsonAction;
use crate::factory::keys::ChainKeys;
use crate::private_data::cooperative::SignatureImage;
use crate::private_data::records::{Entrepreneur, Individual, Organization};
use crate::private_data::{FieldError, Invalid};

const REGISTRATOR: Name = Name::from_str_const("registrator");
const NEWACCOUNT: Name = Name::from_str_const("newaccount");
const REGUSER: Name = Name::from_str_const("reguser");
const ADDUSER: Name = Name::from_str_const("adduser");
const CHANGEKEY: Name = Name::from_str_const("changekey");

/// Registry ids of the documents a member signs on joining.
const WALLET_AGREEMENT: u64 = 1;
const SIGNATURE_AGREEMENT: u64 = 2;
const PRIVACY_AGREEMENT: u64 = 3;
const USER_AGREEMENT: u64 = 4;
const PARTICIPANT_APPLICATION: u64 = 100;

/// What kind of person an account is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum AccountType {
    /// A natural person.
    Individual,
    /// An individual entrepreneur.
    Entrepreneur,
    /// A legal entity.
    Organization,
}

/// A new account and its owner's personal data.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RegisterAccountInput {
    /// The owner's e-mail, kept in the personal data.
    pub email: String,
    /// The account name; twelve random letters when absent.
    pub username: Option<String>,
    /// The account's key (`PUB_K1_…`), generated in the client.
    pub public_key: String,
    /// The owner's type; the matching data field is required.
    #[graphql(name = "type")]
    pub kind: AccountType,
    /// Who invited the owner.
    pub referer: Option<String>,
    /// An individual's data, in the fields of the private store.
    pub individual_data: Option<Json<Value>>,
    /// An organization's data.
    pub organization_data: Option<Json<Value>>,
    /// An entrepreneur's data.
    pub entrepreneur_data: Option<Json<Value>>,
    /// The handwritten signature placed on the application (`data:image/png;base64,…`).
    pub signature: Option<String>,
}

/// A registered account.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RegisteredAccount {
    /// The account.
    pub username: String,
    /// The transaction that creates it on chain.
    pub transaction: TransactionResult,
}

/// Whose joining document to generate.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GenerateDocumentInput {
    /// The future member.
    pub username: String,
}

/// Whose application to generate.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GenerateParticipantApplicationInput {
    /// The future member.
    pub username: String,
    /// The branch it joins through, if any.
    pub braname: Option<String>,
    /// Hashes of the agreements the application refers to.
    pub links: Option<Vec<String>>,
}

/// The signed application and agreements of a future member.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RegisterParticipantInput {
    /// The future member.
    pub username: String,
    /// The branch it joins through, if any.
    pub braname: Option<String>,
    /// The application (100).
    pub statement: SignedDocumentInput,
    /// The wallet agreement (1).
    pub wallet_agreement: SignedDocumentInput,
    /// The agreement on electronic signatures (2).
    pub signature_agreement: SignedDocumentInput,
    /// The privacy policy (3).
    pub privacy_agreement: SignedDocumentInput,
    /// The user agreement (4).
    pub user_agreement: SignedDocumentInput,
}

/// A person who is a shareholder already (joined before the cooperative kept its registry
/// here), added by the chairman.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AddParticipantInput {
    /// The account and its owner's personal data, as `registerAccount` takes them.
    #[graphql(flatten)]
    pub account: RegisterAccountInput,
    /// When the person became a shareholder (`2024-01-02T03:04:05`, UTC, in the past).
    pub created_at: String,
    /// The entrance fee paid (`100.0000 RUB`).
    pub initial: String,
    /// The minimum share contribution paid.
    pub minimum: String,
    /// Whether the entrance fee is spread over time.
    #[graphql(default)]
    pub spread_initial: bool,
}

/// The public key given as the field `public_key`.
///
/// # Errors
/// [`ApiError::BadInput`] naming `public_key`.
pub(super) fn public_key_field(text: &str) -> Result<PublicKey, ApiError> {
    text.parse().map_err(|_| {
        ApiError::from(vec![FieldError {
            field: "public_key".to_owned(),
            reason: Invalid::Format {
                expected: "a public key, PUB_K1_…",
            },
        }])
    })
}

#[derive(Default)]
pub struct ParticipantsMutation;

#[Object]
impl ParticipantsMutation {
    /// Registers a new account: its personal data is kept from the next block and the
    /// cooperative creates the chain account with the given key. Anyone; rate limited as login.
    async fn register_account(
        &self,
        ctx: &Context<'_>,
        data: RegisterAccountInput,
    ) -> async_graphql::Result<RegisteredAccount> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let username: Name = match &data.username {
            Some(name) => name
                .parse()
                .map_err(|_| ApiError::bad_input("username is not an account name"))?,
            None => Name::random_user(&mut OsRng),
        };
        let username_text = username.to_string();
        rate_limit(ctx, state, &username_text)?;
        let public_key = public_key_field(&data.public_key)?;
        let referer = match &data.referer {
            Some(referer) => referer
                .parse::<Name>()
                .map_err(|_| ApiError::bad_input("referer is not an account name"))?
                .to_string(),
            None => String::new(),
        };
        // Every field is checked before anything reaches the chain.
        let records = account_records(&username_text, &data)?;
        let pushed = push(
            state,
            &[JsonAction::new(
                REGISTRATOR,
                NEWACCOUNT,
                json!({
                    "coopname": state.coopname,
                    "referer": referer,
                    "username": username,
                    "public_key": public_key,
                    "meta": "",
                }),
            )],
        )
        .await?;
        for record in records {
            store_record(state, record).await?;
        }
        Ok(RegisteredAccount {
            username: username_text,
            transaction: pushed.into(),
        })
    }

    /// Adds a person who is a shareholder already: `registrator::adduser` creates the account
    /// with its shareholder row and `registrator::changekey` gives it the member's key, in one
    /// transaction; the personal data is kept from the next block. The chairman.
    async fn add_participant(
        &self,
        ctx: &Context<'_>,
        data: AddParticipantInput,
    ) -> async_graphql::Result<RegisteredAccount> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let username = match &data.account.username {
            Some(name) => account_names([("username", name.as_str())])?[0],
            None => Name::random_user(&mut OsRng),
        };
        let username_text = username.to_string();
        let mut errors = Vec::new();
        let mut checked = |field: &str, result: Option<Value>, expected: &'static str| {
            result.unwrap_or_else(|| {
                errors.push(FieldError {
                    field: field.to_owned(),
                    reason: Invalid::Format { expected },
                });
                Value::Null
            })
        };
        let public_key = checked(
            "public_key",
            data.account
                .public_key
                .parse::<PublicKey>()
                .ok()
                .map(|key| json!(key)),
            "a public key, PUB_K1_…",
        );
        let created_at = checked(
            "created_at",
            data.created_at
                .parse::<TimePointSec>()
                .ok()
                .map(|time| json!(time)),
            "a time in the past, 2024-01-02T03:04:05",
        );
        let fees = [("initial", &data.initial), ("minimum", &data.minimum)].map(|(field, text)| {
            checked(
                field,
                text.parse::<Asset>()
                    .ok()
                    .filter(|asset| asset.amount() >= 0)
                    .map(|asset| json!(asset)),
                "an amount with its currency, 100.0000 RUB",
            )
        });
        let referer = match &data.account.referer {
            Some(referer) => account_names([("referer", referer.as_str())])?[0].to_string(),
            None => String::new(),
        };
        let records = account_records(&username_text, &data.account);
        // Every invalid field at once, the personal data's among them.
        let records = match records {
            Err(ApiError::BadInput { fields, .. }) if !fields.is_empty() => {
                errors.extend(fields);
                None
            }
            other => Some(other?),
        };
        let Some(records) = records.filter(|_| errors.is_empty()) else {
            return Err(ApiError::from(errors).into());
        };
        let pushed = push(
            state,
            &[
                add_user(
                    state.coopname,
                    &Shareholder {
                        username,
                        referer: &referer,
                        kind: data.account.kind,
                        created_at,
                        initial: fees[0].clone(),
                        minimum: fees[1].clone(),
                        spread_initial: data.spread_initial,
                    },
                ),
                JsonAction::new(
                    REGISTRATOR,
                    CHANGEKEY,
                    json!({"coopname": state.coopname, "changer": state.coopname,
                           "username": username, "public_key": public_key}),
                ),
            ],
        )
        .await?;
        for record in records {
            store_record(state, record).await?;
        }
        Ok(RegisteredAccount {
            username: username_text,
            transaction: pushed.into(),
        })
    }

    /// The wallet agreement (1) for `username` to sign: the account itself, the council.
    async fn generate_wallet_agreement(
        &self,
        ctx: &Context<'_>,
        data: GenerateDocumentInput,
    ) -> async_graphql::Result<GeneratedDocument> {
        generate_agreement(ctx, &data, WALLET_AGREEMENT).await
    }

    /// The agreement on electronic signatures (2).
    async fn generate_signature_agreement(
        &self,
        ctx: &Context<'_>,
        data: GenerateDocumentInput,
    ) -> async_graphql::Result<GeneratedDocument> {
        generate_agreement(ctx, &data, SIGNATURE_AGREEMENT).await
    }

    /// The privacy policy (3).
    async fn generate_privacy_agreement(
        &self,
        ctx: &Context<'_>,
        data: GenerateDocumentInput,
    ) -> async_graphql::Result<GeneratedDocument> {
        generate_agreement(ctx, &data, PRIVACY_AGREEMENT).await
    }

    /// The user agreement (4).
    async fn generate_user_agreement(
        &self,
        ctx: &Context<'_>,
        data: GenerateDocumentInput,
    ) -> async_graphql::Result<GeneratedDocument> {
        generate_agreement(ctx, &data, USER_AGREEMENT).await
    }

    /// The application to join (100), from the account's personal data and handwritten
    /// signature: the account itself, the council.
    async fn generate_participant_application(
        &self,
        ctx: &Context<'_>,
        data: GenerateParticipantApplicationInput,
    ) -> async_graphql::Result<GeneratedDocument> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, None).await?;
        let kind = signing::applicant_kind(state, &data.username, block_num).await?;
        let mut scalars = json!({"type": kind, "braname": data.braname.unwrap_or_default()});
        if let Some(links) = data.links {
            scalars["meta"] = json!({ "links": links });
        }
        Ok(signing::generate(state, PARTICIPANT_APPLICATION, &data.username, scalars).await?)
    }

    /// Files the signed application: every signature is checked against the account's key on
    /// chain, added to its kept document, and `registrator::reguser` submits the application,
    /// which opens the registration payment. The account itself, the chairman.
    async fn register_participant(
        &self,
        ctx: &Context<'_>,
        data: RegisterParticipantInput,
    ) -> async_graphql::Result<TransactionResult> {
        admit(ctx, Some(&data.username))?;
        let state = ctx.data::<ApiState>()?;
        let username: Name = data
            .username
            .parse()
            .map_err(|_| ApiError::bad_input("username is not an account name"))?;
        let block_num = as_of(state, None).await?;
        let keys = ChainKeys::load(&state.store, &state.contracts, &[username], block_num)
            .await
            .map_err(ApiError::from)?;
        let mut checked = Vec::with_capacity(5);
        for (signed, registry_id) in [
            (&data.statement, PARTICIPANT_APPLICATION),
            (&data.wallet_agreement, WALLET_AGREEMENT),
            (&data.signature_agreement, SIGNATURE_AGREEMENT),
            (&data.privacy_agreement, PRIVACY_AGREEMENT),
            (&data.user_agreement, USER_AGREEMENT),
        ] {
            checked.push(
                signing::check(
                    state,
                    &keys,
                    block_num,
                    signed,
                    registry_id,
                    &data.username,
                    username,
                )
                .await?,
            );
        }
        let statement = checked[0].document()?;
        let kind = checked[0].record.meta["type"]
            .as_str()
            .ok_or_else(|| ApiError::bad_input("the application names no type"))?
            .to_owned();
        let braname = match &data.braname {
            Some(braname) => braname
                .parse::<Name>()
                .map_err(|_| ApiError::bad_input("braname is not an account name"))?
                .to_string(),
            None => String::new(),
        };
        // Kept before the push, so the kept documents carry whatever reaches the chain; a
        // checked signature stays valid whatever the chain decides.
        for document in &checked {
            document.keep(state).await?;
        }
        let pushed = push(
            state,
            &[JsonAction::new(
                REGISTRATOR,
                REGUSER,
                json!({
                    "coopname": state.coopname,
                    "braname": braname,
                    "username": username,
                    "type": kind,
                    "registration_hash": statement.hash,
                    "statement": statement,
                }),
            )],
        )
        .await?;
        Ok(pushed.into())
    }
}

/// The records a new account keeps: its owner's personal record of the given type, from the
/// field of that type with the e-mail added, and the handwritten signature image when given;
/// every field checked.
fn account_records(username: &str, data: &RegisterAccountInput) -> Result<Vec<Prepared>, ApiError> {
    let (given, field) = match data.kind {
        AccountType::Individual => (&data.individual_data, "individual_data"),
        AccountType::Entrepreneur => (&data.entrepreneur_data, "entrepreneur_data"),
        AccountType::Organization => (&data.organization_data, "organization_data"),
    };
    let Some(Json(value)) = given else {
        return Err(ApiError::from(vec![FieldError {
            field: field.to_owned(),
            reason: Invalid::Missing,
        }]));
    };
    let mut records = vec![personal_record(username, data.kind, value, &data.email)?];
    if let Some(image) = &data.signature {
        records.push(prepare_record::<SignatureImage>(
            username,
            json!({ "signature": image }),
        )?);
    }
    Ok(records)
}

/// The personal record of `kind` about `username` from `value` with `email` added, every
/// field checked.
pub(super) fn personal_record(
    username: &str,
    kind: AccountType,
    value: &Value,
    email: &str,
) -> Result<Prepared, ApiError> {
    let mut value = value.clone();
    if let Some(object) = value.as_object_mut() {
        object.insert("email".to_owned(), Value::from(email));
    }
    match kind {
        AccountType::Individual => prepare_record::<Individual>(username, value),
        AccountType::Entrepreneur => prepare_record::<Entrepreneur>(username, value),
        AccountType::Organization => prepare_record::<Organization>(username, value),
    }
}

/// A person the cooperative adds as a shareholder already, with the fields of
/// `registrator::adduser` as JSON for its ABI.
pub(super) struct Shareholder<'a> {
    pub(super) username: Name,
    pub(super) referer: &'a str,
    pub(super) kind: AccountType,
    pub(super) created_at: Value,
    pub(super) initial: Value,
    pub(super) minimum: Value,
    pub(super) spread_initial: bool,
}

/// `registrator::adduser` of `shareholder` by `coopname`, under a fresh registration hash: the
/// person filed no application here.
pub(super) fn add_user(coopname: Name, shareholder: &Shareholder<'_>) -> JsonAction {
    let mut registration_hash = [0_u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut registration_hash);
    JsonAction::new(
        REGISTRATOR,
        ADDUSER,
        json!({
            "coopname": coopname,
            "referer": shareholder.referer,
            "username": shareholder.username,
            "type": type_name(shareholder.kind),
            "created_at": shareholder.created_at,
            "initial": shareholder.initial,
            "minimum": shareholder.minimum,
            "spread_initial": shareholder.spread_initial,
            "meta": "",
            "registration_hash": Checksum256::new(registration_hash),
        }),
    )
}

/// The name of `kind` as the contracts spell it.
fn type_name(kind: AccountType) -> &'static str {
    match kind {
        AccountType::Individual => "individual",
        AccountType::Entrepreneur => "entrepreneur",
        AccountType::Organization => "organization",
    }
}

async fn generate_agreement(
    ctx: &Context<'_>,
    data: &GenerateDocumentInput,
    registry_id: u64,
) -> async_graphql::Result<GeneratedDocument> {
    admit(ctx, Some(&data.username))?;
    let state = ctx.data::<ApiState>()?;
    Ok(signing::generate(state, registry_id, &data.username, json!({})).await?)
}
