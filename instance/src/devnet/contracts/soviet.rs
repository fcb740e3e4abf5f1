//! The `soviet` contract: the cooperative council. Agenda items become `decisions`, board
//! members vote with signed votes, the chairman authorizes an approved decision with a signed
//! protocol, and `exec` fires the callback the item was created with; `declinedoc` declines an
//! item with the chairman's signed document and fires its decline callback. It also keeps the
//! `boards`, the `participants` (shareholders), the cooperative agreements (`coagreements`) and
//! the members' signed agreements (`agreements3`), and relays the document registry
//! notifications (`newsubmitted`, `newresolved`, `newdecision`, `newdeclined`, `newpackage`,
//! `newagreement`) to the cooperative and the member. `freedecision` puts a member's signed
//! project of a free decision on the agenda (a decision no other contract acts on: executing
//! it only publishes the protocol); `selectbranch` records the branch a shareholder chose with
//! its signed statement.
//!
//! A vote signs `sha256("<votefor|voteagainst>:<coopname>:<decision_id>:<signed_at seconds>")`
//! with a key of the member's `active` permission; a decision is approved when
//! `votes_for * 100 > members * 50`. Programs, wallets, addresses and automation are not
//! emulated.

use crate::antelope::abi::def::AbiDef;
use crate::antelope::asset::Asset;
use crate::antelope::checksum::Checksum256;
use crate::antelope::document::{Document2, vote_digest};
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::signature::Signature;
use crate::antelope::time::TimePointSec;
use crate::antelope::transaction::Action;
use crate::devnet::contracts::branch::branch_or_fail;
use crate::devnet::contracts::common::{
    AbiBuilder, CONTRACTS_WHITELIST, DRAFT, SOVIET, active, assert_recover_key_account,
    chain_struct, empty_document, next_id, now_sec, require_any_auth, require_owner_authority,
    verify_document, verify_signer_keys,
};
use crate::devnet::contracts::draft::{DRAFTS, Draft};
use crate::devnet::contracts::registrator::{NewPackage, account_card, cooperative_or_fail};
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, check};
use crate::devnet::state::{ACTIVE, SecondaryKey};

/// The `decisions` table (scope: cooperative).
pub const DECISIONS: Name = Name::from_str_const("decisions");
/// The `participants` table (scope: cooperative).
pub const PARTICIPANTS: Name = Name::from_str_const("participants");
/// The `boards` table (scope: cooperative).
pub const BOARDS: Name = Name::from_str_const("boards");
/// The `coagreements` table (scope: cooperative).
pub const COAGREEMENTS: Name = Name::from_str_const("coagreements");
/// The `agreements3` table (scope: cooperative; index 2 `byuserdraft`).
pub const AGREEMENTS: Name = Name::from_str_const("agreements3");

const CREATEAGENDA: Name = Name::from_str_const("createagenda");
const VOTEFOR: Name = Name::from_str_const("votefor");
const VOTEAGAINST: Name = Name::from_str_const("voteagainst");
const CANCELVOTE: Name = Name::from_str_const("cancelvote");
const AUTHORIZE: Name = Name::from_str_const("authorize");
const EXEC: Name = Name::from_str_const("exec");
const NEWSUBMITTED: Name = Name::from_str_const("newsubmitted");
const NEWRESOLVED: Name = Name::from_str_const("newresolved");
const NEWDECISION: Name = Name::from_str_const("newdecision");
const NEWPACKAGE: Name = Name::from_str_const("newpackage");
const NEWAGREEMENT: Name = Name::from_str_const("newagreement");
const DECLINEDOC: Name = Name::from_str_const("declinedoc");
const NEWDECLINED: Name = Name::from_str_const("newdeclined");
const ADDPARTCPNT: Name = Name::from_str_const("addpartcpnt");
const CREATEBOARD: Name = Name::from_str_const("createboard");
const UPDATEBOARD: Name = Name::from_str_const("updateboard");
const SNDAGREEMENT: Name = Name::from_str_const("sndagreement");
const CONFIRMAGREE: Name = Name::from_str_const("confirmagree");
const FREEDECISION: Name = Name::from_str_const("freedecision");
const SELECTBRANCH: Name = Name::from_str_const("selectbranch");
const DECLINEAGREE: Name = Name::from_str_const("declineagree");

const SOVIET_BOARD: Name = Name::from_str_const("soviet");
const CHAIRMAN: Name = Name::from_str_const("chairman");
const INDIVIDUAL: Name = Name::from_str_const("individual");
/// The status of a shareholder whose membership is in force.
pub(crate) const ACCEPTED: Name = Name::from_str_const("accepted");
const CONFIRMED: Name = Name::from_str_const("confirmed");
const DECLINED: Name = Name::from_str_const("declined");
/// How long an agenda item stays open (`_decision_expiration`): 30 days.
const DECISION_EXPIRATION_SECS: u32 = 30 * 24 * 60 * 60;
/// Base cooperative agreements created with the council: type and template (draft) id.
const BASE_COAGREEMENTS: [(Name, u64); 3] = [
    (Name::from_str_const("signature"), 2),
    (Name::from_str_const("user"), 4),
    (Name::from_str_const("privacy"), 3),
];

/// The council contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct Soviet;

chain_struct! {
    /// A member of a board.
    pub(crate) struct BoardMember = "board_member" {
        username: Name => "name",
        is_voting: bool => "bool",
        position_title: String => "string",
        position: Name => "name",
    }
}

chain_struct! {
    /// A `boards` row.
    pub(crate) struct Board = "boards" {
        id: u64 => "uint64",
        r#type: Name => "name",
        name: String => "string",
        description: String => "string",
        members: Vec<BoardMember> => "board_member[]",
        created_at: TimePointSec => "time_point_sec",
        last_update: TimePointSec => "time_point_sec",
    }
}

chain_struct! {
    /// A `decisions` row: an agenda item with its votes and authorization.
    pub(crate) struct Decision = "decision" {
        id: u64 => "uint64",
        coopname: Name => "name",
        username: Name => "name",
        r#type: Name => "name",
        batch_id: u64 => "uint64",
        statement: Document2 => "document2",
        votes_for: Vec<Name> => "name[]",
        votes_against: Vec<Name> => "name[]",
        validated: bool => "bool",
        approved: bool => "bool",
        authorized: bool => "bool",
        authorized_by: Name => "name",
        authorization: Document2 => "document2",
        created_at: TimePointSec => "time_point_sec",
        expired_at: TimePointSec => "time_point_sec$",
        meta: String => "string$",
        callback_contract: Name => "name$",
        confirm_callback: Name => "name$",
        decline_callback: Name => "name$",
        hash: Checksum256 => "checksum256$",
    }
}

chain_struct! {
    /// A `participants` row: a shareholder of the cooperative.
    pub(crate) struct Participant = "participant" {
        username: Name => "name",
        created_at: TimePointSec => "time_point_sec",
        last_update: TimePointSec => "time_point_sec",
        last_min_pay: TimePointSec => "time_point_sec",
        status: Name => "name",
        is_initial: bool => "bool",
        is_minimum: bool => "bool",
        has_vote: bool => "bool",
        r#type: Name => "name$",
        braname: Name => "name$",
        initial_amount: Asset => "asset$",
        minimum_amount: Asset => "asset$",
    }
}

chain_struct! {
    /// A `coagreements` row: an agreement every member signs, and its template.
    pub(crate) struct CoAgreement = "coagreement" {
        r#type: Name => "name",
        coopname: Name => "name",
        program_id: u64 => "uint64",
        draft_id: u64 => "uint64",
    }
}

chain_struct! {
    /// An `agreements3` row: a member's signed agreement.
    pub(crate) struct Agreement = "agreement2" {
        id: u64 => "uint64",
        coopname: Name => "name",
        username: Name => "name",
        r#type: Name => "name",
        program_id: u64 => "uint64",
        draft_id: u64 => "uint64",
        version: u64 => "uint64",
        document: Document2 => "document2",
        status: Name => "name",
        updated_at: TimePointSec => "time_point_sec",
    }
}

chain_struct! {
    /// `createagenda`: puts an item on the council's agenda.
    pub(crate) struct CreateAgenda = "createagenda" {
        coopname: Name => "name",
        username: Name => "name",
        r#type: Name => "name",
        hash: Checksum256 => "checksum256",
        callback_contract: Name => "name",
        confirm_callback: Name => "name",
        decline_callback: Name => "name",
        statement: Document2 => "document2",
        meta: String => "string",
    }
}

chain_struct! {
    /// `votefor`: a signed vote for a decision.
    pub(crate) struct VoteFor = "votefor" {
        version: String => "string",
        coopname: Name => "name",
        username: Name => "name",
        decision_id: u64 => "uint64",
        signed_at: TimePointSec => "time_point_sec",
        signed_hash: Checksum256 => "checksum256",
        signature: Signature => "signature",
        public_key: PublicKey => "public_key",
    }
}

chain_struct! {
    /// `voteagainst`: a signed vote against a decision.
    pub(crate) struct VoteAgainst = "voteagainst" {
        version: String => "string",
        coopname: Name => "name",
        username: Name => "name",
        decision_id: u64 => "uint64",
        signed_at: TimePointSec => "time_point_sec",
        signed_hash: Checksum256 => "checksum256",
        signature: Signature => "signature",
        public_key: PublicKey => "public_key",
    }
}

chain_struct! {
    /// `cancelvote`: withdraws a member's vote.
    pub(crate) struct CancelVote = "cancelvote" {
        coopname: Name => "name",
        member: Name => "name",
        decision_id: u64 => "uint64",
    }
}

chain_struct! {
    /// `authorize`: the chairman's signed protocol of an approved decision.
    pub(crate) struct Authorize = "authorize" {
        coopname: Name => "name",
        chairman: Name => "name",
        decision_id: u64 => "uint64",
        document: Document2 => "document2",
    }
}

chain_struct! {
    /// `exec`: runs an authorized decision.
    pub(crate) struct Exec = "exec" {
        executer: Name => "name",
        coopname: Name => "name",
        decision_id: u64 => "uint64",
    }
}

chain_struct! {
    /// `newsubmitted`: a document entered the registry.
    pub(crate) struct NewSubmitted = "newsubmitted" {
        coopname: Name => "name",
        username: Name => "name",
        action: Name => "name",
        package: Checksum256 => "checksum256",
        document: Document2 => "document2",
    }
}

chain_struct! {
    /// `newresolved`: a submitted document was resolved by the council.
    pub(crate) struct NewResolved = "newresolved" {
        coopname: Name => "name",
        username: Name => "name",
        action: Name => "name",
        package: Checksum256 => "checksum256",
        document: Document2 => "document2",
    }
}

chain_struct! {
    /// `newdecision`: the council's authorized decision document.
    pub(crate) struct NewDecision = "newdecision" {
        coopname: Name => "name",
        username: Name => "name",
        action: Name => "name",
        package: Checksum256 => "checksum256",
        document: Document2 => "document2",
    }
}

chain_struct! {
    /// `declinedoc`: the chairman declines a decision on the agenda (named by its hash) with a
    /// signed document.
    pub(crate) struct DeclineDocument = "declinedoc" {
        coopname: Name => "name",
        username: Name => "name",
        hash: Checksum256 => "checksum256",
        document: Document2 => "document2",
    }
}

chain_struct! {
    /// `newdeclined`: a submitted document was declined by the council.
    pub(crate) struct NewDeclined = "newdeclined" {
        coopname: Name => "name",
        username: Name => "name",
        package: Checksum256 => "checksum256",
        document: Document2 => "document2",
    }
}

chain_struct! {
    /// The data of a decision's decline callback: the decision's hash and why.
    struct DeclineCallback = "decline_callback" {
        coopname: Name => "name",
        hash: Checksum256 => "checksum256",
        reason: String => "string",
    }
}

chain_struct! {
    /// `newagreement`: a member signed an agreement.
    pub(crate) struct NewAgreement = "newagreement" {
        coopname: Name => "name",
        username: Name => "name",
        r#type: Name => "name",
        document: Document2 => "document2",
    }
}

chain_struct! {
    /// `addpartcpnt`: adds a shareholder.
    pub(crate) struct AddParticipant = "addpartcpnt" {
        coopname: Name => "name",
        username: Name => "name",
        braname: Name => "name",
        r#type: Name => "name",
        created_at: TimePointSec => "time_point_sec",
        initial: Asset => "asset",
        minimum: Asset => "asset",
        spread_initial: bool => "bool",
    }
}

chain_struct! {
    /// `freedecision`: puts a member's signed project of a free decision on the agenda.
    pub(crate) struct FreeDecision = "freedecision" {
        coopname: Name => "name",
        username: Name => "name",
        document: Document2 => "document2",
        meta: String => "string",
    }
}

chain_struct! {
    /// `selectbranch`: a shareholder's signed choice of a branch.
    pub(crate) struct SelectBranch = "selectbranch" {
        coopname: Name => "name",
        username: Name => "name",
        braname: Name => "name",
        document: Document2 => "document2",
    }
}

chain_struct! {
    /// `createboard`: creates a board.
    pub(crate) struct CreateBoard = "createboard" {
        coopname: Name => "name",
        username: Name => "name",
        r#type: Name => "name",
        members: Vec<BoardMember> => "board_member[]",
        name: String => "string",
        description: String => "string",
    }
}

chain_struct! {
    /// `updateboard`: replaces a board's members and texts.
    pub(crate) struct UpdateBoard = "updateboard" {
        coopname: Name => "name",
        username: Name => "name",
        board_id: u64 => "uint64",
        members: Vec<BoardMember> => "board_member[]",
        name: String => "string",
        description: String => "string",
    }
}

chain_struct! {
    /// `sndagreement`: a member's signed agreement.
    pub(crate) struct SendAgreement = "sndagreement" {
        coopname: Name => "name",
        administrator: Name => "name",
        username: Name => "name",
        agreement_type: Name => "name",
        document: Document2 => "document2",
    }
}

chain_struct! {
    /// `confirmagree`: the cooperative accepts a member's agreement.
    pub(crate) struct ConfirmAgreement = "confirmagree" {
        coopname: Name => "name",
        administrator: Name => "name",
        username: Name => "name",
        agreement_id: u64 => "uint64",
    }
}

chain_struct! {
    /// `declineagree`: the cooperative rejects a member's agreement.
    pub(crate) struct DeclineAgreement = "declineagree" {
        coopname: Name => "name",
        administrator: Name => "name",
        username: Name => "name",
        agreement_id: u64 => "uint64",
        comment: String => "string",
    }
}

chain_struct! {
    /// The data of the `confirm_callback` a decision fires.
    struct ConfirmCallback = "confirm_callback" {
        coopname: Name => "name",
        hash: Checksum256 => "checksum256",
        authorization: Document2 => "document2",
    }
}

impl Contract for Soviet {
    fn abi(&self) -> AbiDef {
        AbiBuilder::new()
            .with_document2()
            .with_counts_table()
            .with_struct::<BoardMember>()
            .with_table::<Decision>(DECISIONS)
            .with_table::<Participant>(PARTICIPANTS)
            .with_table::<Board>(BOARDS)
            .with_table::<CoAgreement>(COAGREEMENTS)
            .with_table::<Agreement>(AGREEMENTS)
            .with_action::<CreateAgenda>(CREATEAGENDA)
            .with_action::<VoteFor>(VOTEFOR)
            .with_action::<VoteAgainst>(VOTEAGAINST)
            .with_action::<CancelVote>(CANCELVOTE)
            .with_action::<Authorize>(AUTHORIZE)
            .with_action::<Exec>(EXEC)
            .with_action::<DeclineDocument>(DECLINEDOC)
            .with_action::<NewDeclined>(NEWDECLINED)
            .with_action::<NewSubmitted>(NEWSUBMITTED)
            .with_action::<NewResolved>(NEWRESOLVED)
            .with_action::<NewDecision>(NEWDECISION)
            .with_action::<NewPackage>(NEWPACKAGE)
            .with_action::<NewAgreement>(NEWAGREEMENT)
            .with_action::<AddParticipant>(ADDPARTCPNT)
            .with_action::<CreateBoard>(CREATEBOARD)
            .with_action::<UpdateBoard>(UPDATEBOARD)
            .with_action::<SendAgreement>(SNDAGREEMENT)
            .with_action::<ConfirmAgreement>(CONFIRMAGREE)
            .with_action::<DeclineAgreement>(DECLINEAGREE)
            .with_action::<FreeDecision>(FREEDECISION)
            .with_action::<SelectBranch>(SELECTBRANCH)
            .build()
    }

    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match action.name {
            CREATEAGENDA => create_agenda(ctx, ctx.data()?),
            // `voteagainst` has the layout of `votefor`, so one type reads both.
            VOTEFOR | VOTEAGAINST => vote(ctx, action.name, ctx.data()?),
            CANCELVOTE => cancel_vote(ctx, ctx.data()?),
            AUTHORIZE => authorize(ctx, ctx.data()?),
            EXEC => exec(ctx, ctx.data()?),
            DECLINEDOC => decline_document(ctx, ctx.data()?),
            NEWDECLINED => {
                let args: NewDeclined = ctx.data()?;
                relay(ctx, args.coopname, args.username)
            }
            NEWSUBMITTED | NEWRESOLVED | NEWDECISION | NEWPACKAGE => {
                let args: NewPackage = ctx.data()?;
                relay(ctx, args.coopname, args.username)
            }
            NEWAGREEMENT => {
                let args: NewAgreement = ctx.data()?;
                relay(ctx, args.coopname, args.username)
            }
            ADDPARTCPNT => add_participant(ctx, ctx.data()?),
            FREEDECISION => free_decision(ctx, ctx.data()?),
            SELECTBRANCH => select_branch(ctx, ctx.data()?),
            CREATEBOARD => create_board(ctx, ctx.data()?),
            UPDATEBOARD => update_board(ctx, ctx.data()?),
            SNDAGREEMENT => send_agreement(ctx, ctx.data()?),
            CONFIRMAGREE => {
                let args: ConfirmAgreement = ctx.data()?;
                set_agreement_status(
                    ctx,
                    args.coopname,
                    args.administrator,
                    args.agreement_id,
                    CONFIRMED,
                )
            }
            DECLINEAGREE => {
                let args: DeclineAgreement = ctx.data()?;
                set_agreement_status(
                    ctx,
                    args.coopname,
                    args.administrator,
                    args.agreement_id,
                    DECLINED,
                )
            }
            _ => Ok(()),
        }
    }
}

/// Whether a decision with `votes_for` votes in favour is approved by a board of
/// `members` (`votes_for * 100 > members * 50`).
pub fn is_approved(votes_for: usize, members: usize) -> bool {
    votes_for.saturating_mul(100) > members.saturating_mul(50)
}

/// The shareholder `username` of `coopname`, or the failure every contract reports without one.
pub(crate) fn participant_or_fail(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    username: Name,
) -> Result<Participant, ContractError> {
    ctx.find(SOVIET, coopname, PARTICIPANTS, username.as_u64())?
        .ok_or_else(|| ContractError::Assert("Пайщик не найден в кооперативе".to_owned()))
}

fn decision_or_fail(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    decision_id: u64,
    message: &str,
) -> Result<Decision, ContractError> {
    ctx.find(SOVIET, coopname, DECISIONS, decision_id)?
        .ok_or_else(|| ContractError::Assert(message.to_owned()))
}

fn board_by_type(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    board_type: Name,
) -> Result<Option<(u64, Board)>, ContractError> {
    Ok(ctx
        .rows::<Board>(SOVIET, coopname, BOARDS)?
        .into_iter()
        .find(|(_, board)| board.r#type == board_type))
}

fn soviet_board_or_fail(ctx: &ApplyContext<'_>, coopname: Name) -> Result<Board, ContractError> {
    board_by_type(ctx, coopname, SOVIET_BOARD)?
        .map(|(_, board)| board)
        .ok_or_else(|| ContractError::Assert("Совет не найден".to_owned()))
}

fn relay(ctx: &mut ApplyContext<'_>, coopname: Name, username: Name) -> Result<(), ContractError> {
    require_any_auth(ctx, &CONTRACTS_WHITELIST)?;
    ctx.require_recipient(coopname);
    ctx.require_recipient(username);
    Ok(())
}

fn create_agenda(ctx: &mut ApplyContext<'_>, args: CreateAgenda) -> Result<(), ContractError> {
    require_any_auth(ctx, &CONTRACTS_WHITELIST)?;
    open_decision(ctx, args)
}

/// Puts a signed project of a free decision on the agenda. The decision has no callback
/// contract: no other contract acts on it.
fn free_decision(ctx: &mut ApplyContext<'_>, args: FreeDecision) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    cooperative_or_fail(ctx, args.coopname)?;
    soviet_board_or_fail(ctx, args.coopname)?;
    verify_document(&args.document, &[args.username])?;
    verify_signer_keys(ctx, &args.document, args.username)?;
    open_decision(
        ctx,
        CreateAgenda {
            coopname: args.coopname,
            username: args.username,
            r#type: FREEDECISION,
            hash: args.document.hash,
            callback_contract: Name::default(),
            confirm_callback: Name::default(),
            decline_callback: Name::default(),
            statement: args.document,
            meta: args.meta,
        },
    )
}

/// Records the branch a shareholder chose, with its statement signed by the shareholder.
fn select_branch(ctx: &mut ApplyContext<'_>, args: SelectBranch) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    let mut participant = participant_or_fail(ctx, args.coopname, args.username)?;
    branch_or_fail(ctx, args.coopname, args.braname)?;
    verify_document(&args.document, &[args.username])?;
    verify_signer_keys(ctx, &args.document, args.username)?;
    participant.braname = args.braname;
    participant.last_update = now_sec(ctx);
    ctx.modify(
        PARTICIPANTS,
        args.coopname,
        None,
        args.username.as_u64(),
        &participant,
        Vec::new(),
    )
}

/// Opens decision `args` on the agenda and tells the registry of its document.
fn open_decision(ctx: &mut ApplyContext<'_>, args: CreateAgenda) -> Result<(), ContractError> {
    let id = next_id(ctx, args.coopname, DECISIONS)?;
    let now = now_sec(ctx);
    let decision = Decision {
        id,
        coopname: args.coopname,
        username: args.username,
        r#type: args.r#type,
        batch_id: 0,
        statement: args.statement.clone(),
        votes_for: Vec::new(),
        votes_against: Vec::new(),
        validated: false,
        approved: false,
        authorized: false,
        authorized_by: Name::default(),
        authorization: empty_document(),
        created_at: now,
        expired_at: TimePointSec::from_secs(now.as_secs().saturating_add(DECISION_EXPIRATION_SECS)),
        meta: args.meta,
        callback_contract: args.callback_contract,
        confirm_callback: args.confirm_callback,
        decline_callback: args.decline_callback,
        hash: args.hash,
    };
    ctx.emplace(
        DECISIONS,
        args.coopname,
        args.coopname,
        id,
        &decision,
        Vec::new(),
    )?;
    let submitted = NewSubmitted {
        coopname: args.coopname,
        username: args.username,
        action: args.r#type,
        package: args.hash,
        document: args.statement,
    };
    ctx.send_inline_data(SOVIET, NEWSUBMITTED, active(SOVIET), &submitted)
}

fn vote(ctx: &mut ApplyContext<'_>, action: Name, args: VoteFor) -> Result<(), ContractError> {
    if ctx.has_auth(args.username) {
        ctx.require_auth(args.username)?;
    } else {
        ctx.require_auth(args.coopname)?;
    }
    check(args.version == "1.0.0", "Неверная версия")?;
    let mut decision = decision_or_fail(
        ctx,
        args.coopname,
        args.decision_id,
        "Документ с указанным ID не найден",
    )?;
    let board = soviet_board_or_fail(ctx, args.coopname)?;
    check(
        board
            .members
            .iter()
            .any(|member| member.username == args.username && member.is_voting),
        "У вас нет права голоса",
    )?;
    check(
        !decision.votes_for.contains(&args.username)
            && !decision.votes_against.contains(&args.username),
        "Участник уже проголосовал",
    )?;
    check(
        args.signed_hash == vote_digest(action, args.coopname, args.decision_id, args.signed_at),
        "Подписанный хэш не соответствует голосу за это решение",
    )?;
    assert_recover_key_account(
        ctx,
        &args.signed_hash,
        &args.signature,
        &args.public_key,
        args.username,
        ACTIVE,
    )?;
    if action == VOTEFOR {
        decision.votes_for.push(args.username);
    } else {
        decision.votes_against.push(args.username);
    }
    save_tally(ctx, args.coopname, &mut decision, board.members.len())
}

/// Recomputes approval from the votes and the board's size, then stores the decision.
fn save_tally(
    ctx: &mut ApplyContext<'_>,
    coopname: Name,
    decision: &mut Decision,
    board_size: usize,
) -> Result<(), ContractError> {
    decision.approved = is_approved(decision.votes_for.len(), board_size);
    ctx.modify(
        DECISIONS,
        coopname,
        Some(SOVIET),
        decision.id,
        decision,
        Vec::new(),
    )
}

fn cancel_vote(ctx: &mut ApplyContext<'_>, args: CancelVote) -> Result<(), ContractError> {
    ctx.require_auth(args.member)?;
    let mut decision =
        decision_or_fail(ctx, args.coopname, args.decision_id, "Решение не найдено")?;
    let board = soviet_board_or_fail(ctx, args.coopname)?;
    let before = decision.votes_for.len() + decision.votes_against.len();
    decision.votes_for.retain(|name| *name != args.member);
    decision.votes_against.retain(|name| *name != args.member);
    check(
        decision.votes_for.len() + decision.votes_against.len() < before,
        "Голос не найден",
    )?;
    save_tally(ctx, args.coopname, &mut decision, board.members.len())
}

fn authorize(ctx: &mut ApplyContext<'_>, args: Authorize) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    let mut decision =
        decision_or_fail(ctx, args.coopname, args.decision_id, "Документ не найден")?;
    let board = soviet_board_or_fail(ctx, args.coopname)?;
    check(
        board
            .members
            .iter()
            .any(|member| member.username == args.chairman && member.position == CHAIRMAN),
        "Только председатель совета может утвердить решение",
    )?;
    check(
        decision.approved,
        "Консенсус совета по решению не достигнут",
    )?;
    verify_document(&args.document, &[args.chairman])?;
    let signature = args
        .document
        .signatures
        .iter()
        .find(|info| info.signer == args.chairman)
        .ok_or_else(|| ContractError::Assert("На протоколе нет подписи председателя".to_owned()))?;
    assert_recover_key_account(
        ctx,
        &signature.signed_hash,
        &signature.signature,
        &signature.public_key,
        args.chairman,
        ACTIVE,
    )?;
    decision.authorized_by = args.chairman;
    decision.authorized = !decision.authorized;
    decision.authorization = args.document;
    ctx.modify(
        DECISIONS,
        args.coopname,
        Some(args.coopname),
        decision.id,
        &decision,
        Vec::new(),
    )
}

fn exec(ctx: &mut ApplyContext<'_>, args: Exec) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    let decision = decision_or_fail(
        ctx,
        args.coopname,
        args.decision_id,
        "Решение не найдено в оперативной памяти",
    )?;
    check(
        decision.authorized,
        "Только авторизованное решение может быть исполнено",
    )?;
    // A free decision has no callback contract: its protocol is its whole effect.
    if decision.callback_contract != Name::default() {
        let callback = ConfirmCallback {
            coopname: args.coopname,
            hash: decision.hash,
            authorization: decision.authorization.clone(),
        };
        ctx.send_inline_data(
            decision.callback_contract,
            decision.confirm_callback,
            active(SOVIET),
            &callback,
        )?;
    }
    let resolved = NewResolved {
        coopname: args.coopname,
        username: decision.username,
        action: decision.r#type,
        package: decision.hash,
        document: decision.statement,
    };
    ctx.send_inline_data(SOVIET, NEWRESOLVED, active(SOVIET), &resolved)?;
    let decided = NewDecision {
        coopname: args.coopname,
        username: decision.username,
        action: decision.r#type,
        package: decision.hash,
        document: decision.authorization,
    };
    ctx.send_inline_data(SOVIET, NEWDECISION, active(SOVIET), &decided)?;
    ctx.erase(DECISIONS, args.coopname, decision.id)
}

/// Declines the decision whose hash the chairman's signed document names: the decision's
/// contract hears of it through the decline callback, the registry through `newdeclined`, and
/// the decision leaves the agenda.
fn decline_document(
    ctx: &mut ApplyContext<'_>,
    args: DeclineDocument,
) -> Result<(), ContractError> {
    ctx.require_auth(args.coopname)?;
    let board = soviet_board_or_fail(ctx, args.coopname)?;
    check(
        board
            .members
            .iter()
            .any(|member| member.username == args.username && member.position == CHAIRMAN),
        "Только председатель совета может отклонить решение",
    )?;
    verify_document(&args.document, &[args.username])?;
    let decision = ctx
        .rows::<Decision>(SOVIET, args.coopname, DECISIONS)?
        .into_iter()
        .map(|(_, decision)| decision)
        .find(|decision| decision.hash == args.hash)
        .ok_or_else(|| ContractError::Assert("Решение не найдено".to_owned()))?;
    if decision.callback_contract != Name::default() {
        let callback = DeclineCallback {
            coopname: args.coopname,
            hash: decision.hash,
            reason: "Отклонено советом".to_owned(),
        };
        ctx.send_inline_data(
            decision.callback_contract,
            decision.decline_callback,
            active(SOVIET),
            &callback,
        )?;
    }
    let declined = NewDeclined {
        coopname: args.coopname,
        username: decision.username,
        package: decision.hash,
        document: args.document,
    };
    ctx.send_inline_data(SOVIET, NEWDECLINED, active(SOVIET), &declined)?;
    ctx.erase(DECISIONS, args.coopname, decision.id)
}

fn add_participant(ctx: &mut ApplyContext<'_>, args: AddParticipant) -> Result<(), ContractError> {
    require_any_auth(ctx, &CONTRACTS_WHITELIST)?;
    cooperative_or_fail(ctx, args.coopname)?;
    check(
        account_card(ctx, args.username)?.is_some(),
        "Аккаунт не найден",
    )?;
    let participant = Participant {
        username: args.username,
        created_at: args.created_at,
        last_update: now_sec(ctx),
        last_min_pay: args.created_at,
        status: ACCEPTED,
        is_initial: true,
        is_minimum: true,
        has_vote: true,
        r#type: args.r#type,
        braname: args.braname,
        initial_amount: args.initial,
        minimum_amount: args.minimum,
    };
    ctx.emplace(
        PARTICIPANTS,
        args.coopname,
        SOVIET,
        args.username.as_u64(),
        &participant,
        Vec::new(),
    )
}

fn check_soviet_members(
    ctx: &ApplyContext<'_>,
    coopname: Name,
    members: &[BoardMember],
) -> Result<(), ContractError> {
    let mut seen = Vec::new();
    let mut chairmen = 0_usize;
    for member in members {
        let participant: Participant = ctx
            .find(SOVIET, coopname, PARTICIPANTS, member.username.as_u64())?
            .ok_or_else(|| {
                ContractError::Assert("Один из аккаунтов не найден в реестре пайщиков".to_owned())
            })?;
        check(
            participant.r#type == INDIVIDUAL,
            "Только физическое лицо может быть членом Совета",
        )?;
        check(
            !seen.contains(&member.username),
            "Обнаружено повторение username",
        )?;
        seen.push(member.username);
        if member.position == CHAIRMAN {
            check(chairmen == 0, "Обнаружено более одного председателя")?;
            chairmen += 1;
        }
    }
    check(
        chairmen == 1,
        "Председатель кооператива должен быть указан в членах совета",
    )
}

fn create_board(ctx: &mut ApplyContext<'_>, args: CreateBoard) -> Result<(), ContractError> {
    ctx.require_recipient(args.coopname);
    require_owner_authority(ctx, args.coopname, args.username)?;
    let coop = ctx
        .find::<crate::devnet::contracts::registrator::Cooperative>(
            crate::devnet::contracts::common::REGISTRATOR,
            crate::devnet::contracts::common::REGISTRATOR,
            crate::devnet::contracts::registrator::COOPS,
            args.coopname.as_u64(),
        )?
        .ok_or_else(|| ContractError::Assert("Организация не найдена".to_owned()))?;
    check(coop.is_cooperative, "Организация - не кооператив")?;
    if args.r#type == SOVIET_BOARD {
        check(
            board_by_type(ctx, args.coopname, SOVIET_BOARD)?.is_none(),
            "Совет кооператива уже создан",
        )?;
        check_soviet_members(ctx, args.coopname, &args.members)?;
        for (agreement_type, draft_id) in BASE_COAGREEMENTS {
            let row = CoAgreement {
                r#type: agreement_type,
                coopname: args.coopname,
                program_id: 0,
                draft_id,
            };
            ctx.emplace(
                COAGREEMENTS,
                args.coopname,
                args.coopname,
                agreement_type.as_u64(),
                &row,
                Vec::new(),
            )?;
        }
    } else {
        soviet_board_or_fail(ctx, args.coopname)?;
    }
    let now = now_sec(ctx);
    let id = ctx.available_primary_key(args.coopname, BOARDS);
    let board = Board {
        id,
        r#type: args.r#type,
        name: args.name,
        description: args.description,
        members: args.members,
        created_at: now,
        last_update: now,
    };
    ctx.emplace(BOARDS, args.coopname, args.coopname, id, &board, Vec::new())
}

fn update_board(ctx: &mut ApplyContext<'_>, args: UpdateBoard) -> Result<(), ContractError> {
    ctx.require_recipient(args.coopname);
    require_owner_authority(ctx, args.coopname, args.username)?;
    let mut board: Board = ctx
        .find(SOVIET, args.coopname, BOARDS, args.board_id)?
        .ok_or_else(|| ContractError::Assert("Доска не найдена".to_owned()))?;
    if board.r#type == SOVIET_BOARD {
        check_soviet_members(ctx, args.coopname, &args.members)?;
    }
    board.members = args.members;
    board.name = args.name;
    board.description = args.description;
    board.last_update = now_sec(ctx);
    ctx.modify(BOARDS, args.coopname, None, board.id, &board, Vec::new())
}

fn user_draft_key(username: Name, draft_id: u64) -> SecondaryKey {
    SecondaryKey::U128((u128::from(username.as_u64()) << 64) | u128::from(draft_id))
}

fn send_agreement(ctx: &mut ApplyContext<'_>, args: SendAgreement) -> Result<(), ContractError> {
    check(
        ctx.has_auth(args.username) || ctx.has_auth(args.administrator),
        "Недостаточно прав доступа",
    )?;
    cooperative_or_fail(ctx, args.coopname)?;
    if ctx.has_auth(args.administrator) {
        require_owner_authority(ctx, args.coopname, args.administrator)?;
    }
    verify_document(&args.document, &[])?;
    verify_signer_keys(ctx, &args.document, args.username)?;
    let coagreement: CoAgreement = ctx
        .find(
            SOVIET,
            args.coopname,
            COAGREEMENTS,
            args.agreement_type.as_u64(),
        )?
        .ok_or_else(|| ContractError::Assert("Соглашение кооператива не найдено".to_owned()))?;
    let version = if coagreement.draft_id > 0 {
        let draft: Draft = ctx
            .find(DRAFT, DRAFT, DRAFTS, coagreement.draft_id)?
            .ok_or_else(|| ContractError::Assert("Шаблон не найден".to_owned()))?;
        draft.version
    } else {
        0
    };
    let agreement_id = next_id(ctx, args.coopname, Name::from_str_const("agreements"))?;
    let key = user_draft_key(args.username, coagreement.draft_id);
    let existing =
        ctx.find_by_secondary::<Agreement>(SOVIET, args.coopname, AGREEMENTS, 2, &key)?;
    let now = now_sec(ctx);
    match existing {
        Some((primary_key, mut agreement)) => {
            check(agreement.status != CONFIRMED, "Соглашение уже принято")?;
            agreement.status = Name::default();
            agreement.program_id = coagreement.program_id;
            agreement.version = version;
            agreement.document = args.document.clone();
            agreement.updated_at = now;
            ctx.modify(
                AGREEMENTS,
                args.coopname,
                Some(SOVIET),
                primary_key,
                &agreement,
                vec![key],
            )?;
        }
        None => {
            let agreement = Agreement {
                id: agreement_id,
                coopname: args.coopname,
                username: args.username,
                r#type: args.agreement_type,
                program_id: coagreement.program_id,
                draft_id: coagreement.draft_id,
                version,
                document: args.document.clone(),
                status: Name::default(),
                updated_at: now,
            };
            ctx.emplace(
                AGREEMENTS,
                args.coopname,
                SOVIET,
                agreement_id,
                &agreement,
                vec![key],
            )?;
        }
    }
    let notice = NewAgreement {
        coopname: args.coopname,
        username: args.username,
        r#type: args.agreement_type,
        document: args.document,
    };
    ctx.send_inline_data(SOVIET, NEWAGREEMENT, active(SOVIET), &notice)
}

fn set_agreement_status(
    ctx: &mut ApplyContext<'_>,
    coopname: Name,
    administrator: Name,
    agreement_id: u64,
    status: Name,
) -> Result<(), ContractError> {
    require_owner_authority(ctx, coopname, administrator)?;
    let mut agreement: Agreement = ctx
        .find(SOVIET, coopname, AGREEMENTS, agreement_id)?
        .ok_or_else(|| ContractError::Assert("Соглашение не найдено".to_owned()))?;
    agreement.status = status;
    agreement.updated_at = now_sec(ctx);
    let key = user_draft_key(agreement.username, agreement.draft_id);
    ctx.modify(
        AGREEMENTS,
        coopname,
        None,
        agreement_id,
        &agreement,
        vec![key],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_needs_a_strict_majority() {
        let cases = [
            (0, 1, false),
            (1, 1, true),
            (1, 2, false),
            (2, 3, true),
            (2, 4, false),
            (3, 4, true),
        ];
        for (votes_for, members, expected) in cases {
            assert_eq!(
                is_approved(votes_for, members),
                expected,
                "{votes_for} of {members}"
            );
        }
    }
}
