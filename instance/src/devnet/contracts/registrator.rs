//! The `registrator` contract: chain accounts of members, cooperatives, and admission of a
//! participant — `reguser` files a signed statement and starts the payment, `confirmpay` puts
//! it on the council's agenda, and the council's `confirmreg`/`declinereg` callbacks close it;
//! `updatecoop` changes a registered cooperative's fees and texts.
//!
//! Tables: `accounts` (scope `registrator`), `coops` (scope `registrator`) and `candidates2`
//! (scope: the cooperative, secondary index 2 `byhash` on `registration_hash`).
//!
//! The devnet keeps no accounting ledger, so the ledger postings of the real contract are not
//! emulated; a declined candidate is closed at once, as the real contract does when no
//! registration fee is held.

use crate::antelope::abi::def::AbiDef;
use crate::antelope::asset::Asset;
use crate::antelope::checksum::Checksum256;
use crate::antelope::document::Document2;
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::symbol::Symbol;
use crate::antelope::time::TimePointSec;
use crate::antelope::transaction::{Action, PermissionLevel};
use crate::devnet::contracts::common::{
    AbiBuilder, GATEWAY, GOVERN_SYMBOL_RAW, PROVIDER, REGISTRATOR, SOVIET, SYSTEM, active,
    add_assets, chain_struct, empty_document, now_sec, require_owner_authority, verify_document,
    verify_signer_keys,
};
use crate::devnet::contracts::soviet::{ACCEPTED, PARTICIPANTS, Participant, participant_or_fail};
use crate::devnet::contracts::system::{CREATEACCNT, CreateAccnt};
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, check};
use crate::devnet::state::{
    ACTIVE, Authority, KeyWeight, OWNER, PermissionLevelWeight, SecondaryKey,
};

/// The `accounts` table (scope `registrator`).
pub const ACCOUNTS: Name = Name::from_str_const("accounts");
/// The `coops` table (scope `registrator`).
pub const COOPS: Name = Name::from_str_const("coops");
/// The `candidates2` table (scope: cooperative).
pub const CANDIDATES: Name = Name::from_str_const("candidates2");

const INIT: Name = Name::from_str_const("init");
const NEWACCOUNT: Name = Name::from_str_const("newaccount");
const REGUSER: Name = Name::from_str_const("reguser");
const CONFIRMPAY: Name = Name::from_str_const("confirmpay");
const DECLINEPAY: Name = Name::from_str_const("declinepay");
const CONFIRMREG: Name = Name::from_str_const("confirmreg");
const DECLINEREG: Name = Name::from_str_const("declinereg");
const ADDUSER: Name = Name::from_str_const("adduser");
const CHANGEKEY: Name = Name::from_str_const("changekey");
const REGCOOP: Name = Name::from_str_const("regcoop");
const UPDATECOOP: Name = Name::from_str_const("updatecoop");
const UPDATEACCNT: Name = Name::from_str_const("updateaccnt");
const NEWPACKAGE: Name = Name::from_str_const("newpackage");
const CREATEINPAY: Name = Name::from_str_const("createinpay");
const CREATEAGENDA: Name = Name::from_str_const("createagenda");
const ADDPARTCPNT: Name = Name::from_str_const("addpartcpnt");

const INDIVIDUAL: Name = Name::from_str_const("individual");
const ENTREPRENEUR: Name = Name::from_str_const("entrepreneur");
const ORGANIZATION: Name = Name::from_str_const("organization");
const STATUS_ACTIVE: Name = Name::from_str_const("active");
const STATUS_PENDING: Name = Name::from_str_const("pending");
const STATUS_CREATED: Name = Name::from_str_const("created");
const STATUS_PAYED: Name = Name::from_str_const("payed");
const JOINCOOP: Name = Name::from_str_const("joincoop");

/// The registrator contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct Registrator;

chain_struct! {
    /// A verification of an account by a verifier.
    pub(crate) struct Verification = "verification" {
        verificator: Name => "name",
        is_verified: bool => "bool",
        procedure: Name => "name",
        created_at: TimePointSec => "time_point_sec",
        last_update: TimePointSec => "time_point_sec",
        notice: String => "string",
    }
}

chain_struct! {
    /// An `accounts` row: the card of a chain account registered by a cooperative.
    pub(crate) struct AccountCard = "account" {
        username: Name => "name",
        referer: Name => "name",
        registrator: Name => "name",
        r#type: Name => "name",
        status: Name => "name",
        meta: String => "string",
        storages: Vec<Name> => "name[]",
        verifications: Vec<Verification> => "verification[]",
        registered_at: TimePointSec => "time_point_sec",
    }
}

chain_struct! {
    /// A `coops` row: a cooperative and its fees.
    pub(crate) struct Cooperative = "cooperative2" {
        username: Name => "name",
        parent_username: Name => "name",
        announce: String => "string",
        description: String => "string",
        is_cooperative: bool => "bool",
        is_branched: bool => "bool",
        is_enrolled: bool => "bool",
        coop_type: Name => "name",
        registration: Asset => "asset",
        initial: Asset => "asset",
        minimum: Asset => "asset",
        org_registration: Asset => "asset$",
        org_initial: Asset => "asset$",
        org_minimum: Asset => "asset$",
        status: Name => "name$",
        created_at: TimePointSec => "time_point_sec$",
        document: Document2 => "document2$",
        active_participants_count: u64 => "uint64$",
    }
}

chain_struct! {
    /// A `candidates2` row: a pending admission.
    pub(crate) struct Candidate = "candidate" {
        username: Name => "name",
        coopname: Name => "name",
        braname: Name => "name",
        status: Name => "name",
        created_at: TimePointSec => "time_point_sec",
        statement: Document2 => "document2",
        registration_hash: Checksum256 => "checksum256",
        initial: Asset => "asset",
        minimum: Asset => "asset",
    }
}

chain_struct! {
    /// Parameters of a cooperative filed with `regcoop`.
    pub(crate) struct OrgData = "org_data" {
        is_cooperative: bool => "bool",
        coop_type: Name => "name",
        announce: String => "string",
        description: String => "string",
        initial: Asset => "asset",
        minimum: Asset => "asset",
        org_initial: Asset => "asset",
        org_minimum: Asset => "asset",
    }
}

chain_struct! {
    /// `init`: registers the provider cooperative.
    pub(crate) struct Init = "init" {}
}

chain_struct! {
    /// `newaccount`: creates a chain account for a future member.
    pub(crate) struct NewAccount = "newaccount" {
        coopname: Name => "name",
        referer: Name => "name",
        username: Name => "name",
        public_key: PublicKey => "public_key",
        meta: String => "string",
    }
}

chain_struct! {
    /// `reguser`: files a candidate's signed statement.
    pub(crate) struct RegUser = "reguser" {
        coopname: Name => "name",
        braname: Name => "name",
        username: Name => "name",
        r#type: Name => "name",
        statement: Document2 => "document2",
        registration_hash: Checksum256 => "checksum256",
    }
}

chain_struct! {
    /// `confirmpay`: the gateway received the registration fee.
    pub(crate) struct ConfirmPay = "confirmpay" {
        coopname: Name => "name",
        registration_hash: Checksum256 => "checksum256",
    }
}

chain_struct! {
    /// `declinepay`: the registration fee was not received.
    pub(crate) struct DeclinePay = "declinepay" {
        coopname: Name => "name",
        registration_hash: Checksum256 => "checksum256",
        reason: String => "string",
    }
}

chain_struct! {
    /// `confirmreg`: the council admitted the candidate.
    pub(crate) struct ConfirmReg = "confirmreg" {
        coopname: Name => "name",
        registration_hash: Checksum256 => "checksum256",
        authorization: Document2 => "document2",
    }
}

chain_struct! {
    /// `declinereg`: the council refused the candidate.
    pub(crate) struct DeclineReg = "declinereg" {
        coopname: Name => "name",
        registration_hash: Checksum256 => "checksum256",
        reason: String => "string",
    }
}

chain_struct! {
    /// `adduser`: adds an existing member without the admission procedure.
    pub(crate) struct AddUser = "adduser" {
        coopname: Name => "name",
        referer: Name => "name",
        username: Name => "name",
        r#type: Name => "name",
        created_at: TimePointSec => "time_point_sec",
        initial: Asset => "asset",
        minimum: Asset => "asset",
        spread_initial: bool => "bool",
        meta: String => "string",
        registration_hash: Checksum256 => "checksum256",
    }
}

chain_struct! {
    /// `changekey`: replaces a member's active key.
    pub(crate) struct ChangeKey = "changekey" {
        coopname: Name => "name",
        changer: Name => "name",
        username: Name => "name",
        public_key: PublicKey => "public_key",
    }
}

chain_struct! {
    /// `regcoop`: registers or updates a cooperative.
    pub(crate) struct RegCoop = "regcoop" {
        coopname: Name => "name",
        username: Name => "name",
        params: OrgData => "org_data",
        document: Document2 => "document2",
    }
}

chain_struct! {
    /// `updatecoop`: replaces a cooperative's fees, announcement and description.
    pub(crate) struct UpdateCoop = "updatecoop" {
        coopname: Name => "name",
        username: Name => "name",
        initial: Asset => "asset",
        minimum: Asset => "asset",
        org_initial: Asset => "asset",
        org_minimum: Asset => "asset",
        announce: String => "string",
        description: String => "string",
    }
}

chain_struct! {
    /// `updateaccnt`: replaces an account card's meta.
    pub(crate) struct UpdateAccnt = "updateaccnt" {
        username: Name => "name",
        account_to_change: Name => "name",
        meta: String => "string",
    }
}

chain_struct! {
    /// The data of `eosio::updateauth`.
    struct SystemUpdateAuth = "updateauth" {
        account: Name => "name",
        permission: Name => "name",
        parent: Name => "name",
        auth: Authority => "authority",
    }
}

chain_struct! {
    /// The data of `soviet::newpackage`.
    pub(crate) struct NewPackage = "newpackage" {
        coopname: Name => "name",
        username: Name => "name",
        action: Name => "name",
        package: Checksum256 => "checksum256",
    }
}

impl Contract for Registrator {
    fn abi(&self) -> AbiDef {
        AbiBuilder::new()
            .with_document2()
            .with_struct::<Verification>()
            .with_struct::<OrgData>()
            .with_table::<AccountCard>(ACCOUNTS)
            .with_table::<Cooperative>(COOPS)
            .with_table::<Candidate>(CANDIDATES)
            .with_action::<Init>(INIT)
            .with_action::<NewAccount>(NEWACCOUNT)
            .with_action::<RegUser>(REGUSER)
            .with_action::<ConfirmPay>(CONFIRMPAY)
            .with_action::<DeclinePay>(DECLINEPAY)
            .with_action::<ConfirmReg>(CONFIRMREG)
            .with_action::<DeclineReg>(DECLINEREG)
            .with_action::<AddUser>(ADDUSER)
            .with_action::<ChangeKey>(CHANGEKEY)
            .with_action::<RegCoop>(REGCOOP)
            .with_action::<UpdateCoop>(UPDATECOOP)
            .with_action::<UpdateAccnt>(UPDATEACCNT)
            .build()
    }

    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match action.name {
            INIT => init(ctx),
            NEWACCOUNT => new_account(ctx, ctx.data()?),
            REGUSER => reg_user(ctx, ctx.data()?),
            CONFIRMPAY => confirm_pay(ctx, ctx.data()?),
            DECLINEPAY => {
                let args: DeclinePay = ctx.data()?;
                ctx.require_auth(GATEWAY)?;
                close_candidate(ctx, args.coopname, &args.registration_hash)
            }
            CONFIRMREG => confirm_reg(ctx, ctx.data()?),
            DECLINEREG => {
                let args: DeclineReg = ctx.data()?;
                ctx.require_auth(SOVIET)?;
                close_candidate(ctx, args.coopname, &args.registration_hash)
            }
            ADDUSER => add_user(ctx, ctx.data()?),
            CHANGEKEY => change_key(ctx, ctx.data()?),
            REGCOOP => reg_coop(ctx, ctx.data()?),
            UPDATECOOP => update_coop(ctx, ctx.data()?),
            UPDATEACCNT => update_account(ctx, ctx.data()?),
            _ => Ok(()),
        }
    }
}

/// The cooperative's `coops` row, or the contract's failure.
pub(crate) fn cooperative_or_fail(
    ctx: &ApplyContext<'_>,
    coopname: Name,
) -> Result<Cooperative, ContractError> {
    ctx.find(REGISTRATOR, REGISTRATOR, COOPS, coopname.as_u64())?
        .ok_or_else(|| ContractError::Assert("Кооператив не найден".to_owned()))
}

/// The account card of `username`, if registered.
pub(crate) fn account_card(
    ctx: &ApplyContext<'_>,
    username: Name,
) -> Result<Option<AccountCard>, ContractError> {
    ctx.find(REGISTRATOR, REGISTRATOR, ACCOUNTS, username.as_u64())
}

fn rub(amount: i64) -> Result<Asset, ContractError> {
    Symbol::from_raw(GOVERN_SYMBOL_RAW)
        .ok()
        .and_then(|symbol| Asset::new(amount, symbol).ok())
        .ok_or_else(|| ContractError::Assert("invalid symbol".to_owned()))
}

fn init(ctx: &mut ApplyContext<'_>) -> Result<(), ContractError> {
    ctx.require_auth(SYSTEM)?;
    check(
        account_card(ctx, PROVIDER)?.is_none(),
        "Контракт регистратора уже инициализирован для указанного провайдера",
    )?;
    let now = now_sec(ctx);
    let card = AccountCard {
        username: PROVIDER,
        referer: Name::default(),
        registrator: SYSTEM,
        r#type: ORGANIZATION,
        status: STATUS_ACTIVE,
        meta: String::new(),
        storages: vec![PROVIDER],
        verifications: Vec::new(),
        registered_at: now,
    };
    add_card(ctx, REGISTRATOR, &card)?;
    let (initial, minimum) = (rub(1_000_000)?, rub(3_000_000)?);
    let (org_initial, org_minimum) = (rub(10_000_000)?, rub(30_000_000)?);
    let coop = Cooperative {
        username: PROVIDER,
        parent_username: Name::default(),
        announce: String::new(),
        description: String::new(),
        is_cooperative: true,
        is_branched: false,
        is_enrolled: false,
        coop_type: Name::from_str_const("conscoop"),
        registration: add_assets(initial, minimum)?,
        initial,
        minimum,
        org_registration: add_assets(org_initial, org_minimum)?,
        org_initial,
        org_minimum,
        status: STATUS_ACTIVE,
        created_at: now,
        document: empty_document(),
        active_participants_count: 0,
    };
    ctx.emplace(
        COOPS,
        REGISTRATOR,
        REGISTRATOR,
        PROVIDER.as_u64(),
        &coop,
        Vec::new(),
    )
}

/// An authority satisfied by the registrator's `active` permission, as member accounts' owner
/// permission is.
pub(crate) fn registrator_authority() -> Authority {
    Authority {
        threshold: 1,
        keys: Vec::new(),
        accounts: vec![PermissionLevelWeight {
            permission: PermissionLevel {
                actor: REGISTRATOR,
                permission: ACTIVE,
            },
            weight: 1,
        }],
        waits: Vec::new(),
    }
}

/// Has the system contract create `username` for `coopname` (`eosio::createaccnt`), its owner
/// permission held by the registrator; fails when `username` already has an account card.
fn create_chain_account(
    ctx: &mut ApplyContext<'_>,
    coopname: Name,
    username: Name,
    active_auth: Authority,
) -> Result<(), ContractError> {
    let data = CreateAccnt {
        coopname,
        new_account_name: username,
        owner: registrator_authority(),
        active: active_auth,
    };
    ctx.send_inline_data(SYSTEM, CREATEACCNT, active(REGISTRATOR), &data)?;
    check(
        account_card(ctx, username)?.is_none(),
        "Аккаунт уже зарегистририван",
    )
}

/// Stores a new account card under its username, paid by `payer`.
fn add_card(
    ctx: &mut ApplyContext<'_>,
    payer: Name,
    card: &AccountCard,
) -> Result<(), ContractError> {
    ctx.emplace(
        ACCOUNTS,
        REGISTRATOR,
        payer,
        card.username.as_u64(),
        card,
        Vec::new(),
    )
}

/// Replaces an account card; a `payer` of `None` keeps the row's payer.
fn save_card(
    ctx: &mut ApplyContext<'_>,
    payer: Option<Name>,
    card: &AccountCard,
) -> Result<(), ContractError> {
    ctx.modify(
        ACCOUNTS,
        REGISTRATOR,
        payer,
        card.username.as_u64(),
        card,
        Vec::new(),
    )
}

fn new_account(ctx: &mut ApplyContext<'_>, args: NewAccount) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    create_chain_account(
        ctx,
        args.coopname,
        args.username,
        Authority::single_key(args.public_key),
    )?;
    let card = AccountCard {
        username: args.username,
        referer: args.referer,
        registrator: args.coopname,
        r#type: Name::default(),
        status: STATUS_PENDING,
        meta: args.meta,
        storages: Vec::new(),
        verifications: Vec::new(),
        registered_at: now_sec(ctx),
    };
    add_card(ctx, args.coopname, &card)
}

fn check_user_type(user_type: Name) -> Result<(), ContractError> {
    check(
        [INDIVIDUAL, ENTREPRENEUR, ORGANIZATION].contains(&user_type),
        "Неверный тип пользователя, допустимы только: individual, entrepreneur и organization.",
    )
}

fn reg_user(ctx: &mut ApplyContext<'_>, args: RegUser) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    let cooperative = cooperative_or_fail(ctx, args.coopname)?;
    let mut card = account_card(ctx, args.username)?.ok_or_else(|| {
        ContractError::Assert("Участник не найден в картотеке аккаунтов".to_owned())
    })?;
    check(
        card.r#type == Name::default(),
        "Аккаунт уже получил карточку участника, повторное получение невозможно.",
    )?;
    check_user_type(args.r#type)?;
    let participant: Option<Participant> =
        ctx.find(SOVIET, args.coopname, PARTICIPANTS, args.username.as_u64())?;
    check(
        participant.is_none(),
        "Участник уже является членом кооператива",
    )?;
    card.r#type = args.r#type;
    card.storages = vec![args.coopname];
    save_card(ctx, Some(args.coopname), &card)?;
    let (initial, minimum) = if args.r#type == ORGANIZATION {
        (cooperative.org_initial, cooperative.org_minimum)
    } else {
        (cooperative.initial, cooperative.minimum)
    };
    if args.braname != Name::default() {
        crate::devnet::contracts::branch::branch_or_fail(ctx, args.coopname, args.braname)?;
    }
    verify_document(&args.statement, &[])?;
    verify_signer_keys(ctx, &args.statement, args.username)?;
    let existing: Option<Candidate> = ctx.find(
        REGISTRATOR,
        args.coopname,
        CANDIDATES,
        args.username.as_u64(),
    )?;
    check(existing.is_none(), "Кандидат уже существует")?;
    let candidate = Candidate {
        username: args.username,
        coopname: args.coopname,
        braname: args.braname,
        status: STATUS_CREATED,
        created_at: now_sec(ctx),
        statement: args.statement,
        registration_hash: args.registration_hash,
        initial,
        minimum,
    };
    ctx.emplace(
        CANDIDATES,
        args.coopname,
        args.coopname,
        args.username.as_u64(),
        &candidate,
        vec![SecondaryKey::Checksum256(args.registration_hash)],
    )?;
    let package = NewPackage {
        coopname: args.coopname,
        username: args.username,
        action: JOINCOOP,
        package: args.registration_hash,
    };
    ctx.send_inline_data(SOVIET, NEWPACKAGE, active(REGISTRATOR), &package)?;
    let payment = crate::devnet::contracts::gateway::CreateInPay {
        coopname: args.coopname,
        username: args.username,
        income_hash: args.registration_hash,
        quantity: add_assets(initial, minimum)?,
        callback_contract: REGISTRATOR,
        confirm_callback: CONFIRMPAY,
        decline_callback: DECLINEPAY,
    };
    ctx.send_inline_data(GATEWAY, CREATEINPAY, active(REGISTRATOR), &payment)
}

fn candidate_by_hash(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    registration_hash: &Checksum256,
) -> Result<Candidate, ContractError> {
    ctx.find_by_secondary(
        REGISTRATOR,
        coopname,
        CANDIDATES,
        2,
        &SecondaryKey::Checksum256(*registration_hash),
    )?
    .map(|(_, candidate)| candidate)
    .ok_or_else(|| ContractError::Assert("Кандидат не найден".to_owned()))
}

fn confirm_pay(ctx: &mut ApplyContext<'_>, args: ConfirmPay) -> Result<(), ContractError> {
    ctx.require_auth(GATEWAY)?;
    let mut candidate = candidate_by_hash(ctx, args.coopname, &args.registration_hash)?;
    candidate.status = STATUS_PAYED;
    ctx.modify(
        CANDIDATES,
        args.coopname,
        Some(REGISTRATOR),
        candidate.username.as_u64(),
        &candidate,
        vec![SecondaryKey::Checksum256(candidate.registration_hash)],
    )?;
    let agenda = crate::devnet::contracts::soviet::CreateAgenda {
        coopname: args.coopname,
        username: candidate.username,
        r#type: JOINCOOP,
        hash: candidate.registration_hash,
        callback_contract: REGISTRATOR,
        confirm_callback: CONFIRMREG,
        decline_callback: DECLINEREG,
        statement: candidate.statement,
        meta: String::new(),
    };
    ctx.send_inline_data(SOVIET, CREATEAGENDA, active(REGISTRATOR), &agenda)
}

fn confirm_reg(ctx: &mut ApplyContext<'_>, args: ConfirmReg) -> Result<(), ContractError> {
    ctx.require_auth(SOVIET)?;
    let candidate = candidate_by_hash(ctx, args.coopname, &args.registration_hash)?;
    let mut card = account_card(ctx, candidate.username)?
        .ok_or_else(|| ContractError::Assert("Аккаунт не найден".to_owned()))?;
    ctx.require_recipient(candidate.username);
    card.status = STATUS_ACTIVE;
    save_card(ctx, Some(args.coopname), &card)?;
    let participant = crate::devnet::contracts::soviet::AddParticipant {
        coopname: args.coopname,
        username: candidate.username,
        braname: candidate.braname,
        r#type: card.r#type,
        created_at: now_sec(ctx),
        initial: candidate.initial,
        minimum: candidate.minimum,
        spread_initial: true,
    };
    ctx.send_inline_data(SOVIET, ADDPARTCPNT, active(REGISTRATOR), &participant)?;
    count_participant(ctx, args.coopname)?;
    ctx.erase(CANDIDATES, args.coopname, candidate.username.as_u64())
}

fn count_participant(ctx: &mut ApplyContext<'_>, coopname: Name) -> Result<(), ContractError> {
    let found: Option<Cooperative> =
        ctx.find(REGISTRATOR, REGISTRATOR, COOPS, coopname.as_u64())?;
    if let Some(mut coop) = found.filter(|coop| coop.is_cooperative) {
        coop.active_participants_count = coop.active_participants_count.saturating_add(1);
        ctx.modify(
            COOPS,
            REGISTRATOR,
            Some(coopname),
            coopname.as_u64(),
            &coop,
            Vec::new(),
        )?;
    }
    Ok(())
}

/// Closes a refused candidate and frees the account card for a new statement.
fn close_candidate(
    ctx: &mut ApplyContext<'_>,
    coopname: Name,
    registration_hash: &Checksum256,
) -> Result<(), ContractError> {
    let candidate = candidate_by_hash(ctx, coopname, registration_hash)?;
    ctx.require_recipient(candidate.username);
    ctx.erase(CANDIDATES, coopname, candidate.username.as_u64())?;
    if let Some(mut card) = account_card(ctx, candidate.username)? {
        card.r#type = Name::default();
        card.storages = Vec::new();
        save_card(ctx, None, &card)?;
    }
    Ok(())
}

fn add_user(ctx: &mut ApplyContext<'_>, args: AddUser) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    let cooperative = cooperative_or_fail(ctx, args.coopname)?;
    check(
        args.initial.symbol() == cooperative.initial.symbol(),
        "Неверный символ",
    )?;
    check(
        args.minimum.symbol() == cooperative.minimum.symbol(),
        "Неверный символ",
    )?;
    check(
        args.created_at <= now_sec(ctx),
        "Дата created_at должна быть в прошлом",
    )?;
    create_chain_account(ctx, args.coopname, args.username, registrator_authority())?;
    check_user_type(args.r#type)?;
    let card = AccountCard {
        username: args.username,
        referer: args.referer,
        registrator: args.coopname,
        r#type: args.r#type,
        status: STATUS_ACTIVE,
        meta: args.meta,
        storages: vec![args.coopname],
        verifications: Vec::new(),
        registered_at: now_sec(ctx),
    };
    add_card(ctx, args.coopname, &card)?;
    count_participant(ctx, args.coopname)?;
    let participant = crate::devnet::contracts::soviet::AddParticipant {
        coopname: args.coopname,
        username: args.username,
        braname: Name::default(),
        r#type: args.r#type,
        created_at: args.created_at,
        initial: args.initial,
        minimum: args.minimum,
        spread_initial: args.spread_initial,
    };
    ctx.send_inline_data(SOVIET, ADDPARTCPNT, active(REGISTRATOR), &participant)
}

fn change_key(ctx: &mut ApplyContext<'_>, args: ChangeKey) -> Result<(), ContractError> {
    ctx.require_auth(args.changer)?;
    let cooperative = cooperative_or_fail(ctx, args.coopname)?;
    check(args.changer == args.coopname, "Недостаточно прав доступа")?;
    let participant = participant_or_fail(ctx, args.coopname, args.username)?;
    check(
        participant.status == ACCEPTED,
        "Пайщик не активен в кооперативе",
    )?;
    check(
        cooperative.status == STATUS_ACTIVE,
        "Кооператив не активен и не может изменять ключи доступа",
    )?;
    check(
        account_card(ctx, args.username)?.is_some(),
        "Аккаунт кооператива не найден",
    )?;
    let data = SystemUpdateAuth {
        account: args.username,
        permission: ACTIVE,
        parent: OWNER,
        auth: Authority {
            threshold: 1,
            keys: vec![KeyWeight {
                key: args.public_key,
                weight: 1,
            }],
            accounts: Vec::new(),
            waits: Vec::new(),
        },
    };
    let owner = vec![PermissionLevel {
        actor: args.username,
        permission: OWNER,
    }];
    ctx.send_inline_data(SYSTEM, Name::from_str_const("updateauth"), owner, &data)
}

fn reg_coop(ctx: &mut ApplyContext<'_>, args: RegCoop) -> Result<(), ContractError> {
    check(
        ctx.has_auth(args.coopname) || ctx.has_auth(args.username),
        "Недостаточно прав доступа",
    )?;
    cooperative_or_fail(ctx, PROVIDER)?;
    let card = account_card(ctx, args.coopname)?.ok_or_else(|| {
        ContractError::Assert("Участник не найден в картотеке аккаунтов".to_owned())
    })?;
    check(
        card.r#type != Name::default(),
        "Аккаунт не переведен в статус пользователя (reguser)",
    )?;
    check(
        card.r#type == ORGANIZATION,
        "Только организация может быть подключена к системе",
    )?;
    let params = args.params;
    check_fees(
        [
            params.initial,
            params.minimum,
            params.org_initial,
            params.org_minimum,
        ],
        "Неверные символы для взносов",
    )?;
    check(
        params.is_cooperative,
        "Только кооператив может быть подключен к системе",
    )?;
    let existing: Option<Cooperative> =
        ctx.find(REGISTRATOR, REGISTRATOR, COOPS, args.coopname.as_u64())?;
    let mut coop = existing.clone().unwrap_or(Cooperative {
        username: args.coopname,
        parent_username: Name::default(),
        announce: String::new(),
        description: String::new(),
        is_cooperative: true,
        is_branched: false,
        is_enrolled: false,
        coop_type: Name::default(),
        registration: params.initial,
        initial: params.initial,
        minimum: params.minimum,
        org_registration: params.org_initial,
        org_initial: params.org_initial,
        org_minimum: params.org_minimum,
        status: STATUS_PENDING,
        created_at: now_sec(ctx),
        document: empty_document(),
        active_participants_count: 0,
    });
    coop.is_cooperative = params.is_cooperative;
    coop.coop_type = params.coop_type;
    coop.announce = params.announce;
    coop.description = params.description;
    coop.registration = add_assets(params.initial, params.minimum)?;
    coop.initial = params.initial;
    coop.minimum = params.minimum;
    coop.org_registration = add_assets(params.org_initial, params.org_minimum)?;
    coop.org_initial = params.org_initial;
    coop.org_minimum = params.org_minimum;
    coop.document = args.document;
    if existing.is_some() {
        ctx.modify(
            COOPS,
            REGISTRATOR,
            Some(args.coopname),
            args.coopname.as_u64(),
            &coop,
            Vec::new(),
        )
    } else {
        ctx.emplace(
            COOPS,
            REGISTRATOR,
            args.coopname,
            args.coopname.as_u64(),
            &coop,
            Vec::new(),
        )
    }
}

/// As the contract does: the provider may change any cooperative; otherwise `username` must
/// authorize and hold the right (the devnet keeps no staff, so only the cooperative itself
/// does). The registration fees follow their parts.
/// Refuses fees (an individual's and an organization's entrance fee and minimum share) not in
/// the governing currency or not positive; `symbol_message` is the contract's wording, which
/// differs between its actions.
fn check_fees(fees: [Asset; 4], symbol_message: &str) -> Result<(), ContractError> {
    let govern = rub(0)?.symbol();
    check(
        fees.iter().all(|fee| fee.symbol() == govern),
        symbol_message,
    )?;
    check(
        fees.iter().all(|fee| fee.amount() > 0),
        "Вступительный и минимальный паевые взносы должны быть положительными",
    )
}

fn update_coop(ctx: &mut ApplyContext<'_>, args: UpdateCoop) -> Result<(), ContractError> {
    if !ctx.has_auth(PROVIDER) {
        require_owner_authority(ctx, args.coopname, args.username)?;
    }
    check(
        account_card(ctx, args.username)?.is_some(),
        "Аккаунт не зарегистрирован",
    )?;
    let mut coop: Cooperative = ctx
        .find(REGISTRATOR, REGISTRATOR, COOPS, args.coopname.as_u64())?
        .ok_or_else(|| ContractError::Assert("Организация не найдена".to_owned()))?;
    check(coop.is_cooperative, "Кооператив не найден")?;
    check_fees(
        [
            args.initial,
            args.minimum,
            args.org_initial,
            args.org_minimum,
        ],
        "Неверные символы взносов",
    )?;
    coop.registration = add_assets(args.initial, args.minimum)?;
    coop.initial = args.initial;
    coop.minimum = args.minimum;
    coop.org_registration = add_assets(args.org_initial, args.org_minimum)?;
    coop.org_initial = args.org_initial;
    coop.org_minimum = args.org_minimum;
    coop.announce = args.announce;
    coop.description = args.description;
    ctx.modify(
        COOPS,
        REGISTRATOR,
        Some(args.coopname),
        args.coopname.as_u64(),
        &coop,
        Vec::new(),
    )
}

fn update_account(ctx: &mut ApplyContext<'_>, args: UpdateAccnt) -> Result<(), ContractError> {
    ctx.require_auth(args.username)?;
    let mut card = account_card(ctx, args.account_to_change)?
        .ok_or_else(|| ContractError::Assert("Аккаунт не зарегистрирован".to_owned()))?;
    check(
        args.username == args.account_to_change || args.username == card.registrator,
        "Недостаточно прав доступа",
    )?;
    card.meta = args.meta;
    save_card(ctx, None, &card)
}
