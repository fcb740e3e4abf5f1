//! The `draft` contract: document templates (drafts) of the registry and their translations.
//! A scope holds one set of templates — `draft` for the system-wide set, a cooperative's name
//! for its own — and only that scope's account may change it.
//!
//! Tables (scope: the template set): `drafts` (keyed by `registry_id`), `translations` and the
//! `counts` id counters. Deleting a draft deletes its translations.

use crate::antelope::abi::def::AbiDef;
use crate::antelope::name::Name;
use crate::antelope::transaction::Action;
use crate::devnet::contracts::common::{
    AbiBuilder, DRAFT, chain_struct, next_id, require_owner_authority,
};
use crate::devnet::contracts::{ApplyContext, Contract, ContractError, check};

/// The `drafts` table.
pub const DRAFTS: Name = Name::from_str_const("drafts");
/// The `translations` table.
pub const TRANSLATIONS: Name = Name::from_str_const("translations");

const CREATEDRAFT: Name = Name::from_str_const("createdraft");
const EDITDRAFT: Name = Name::from_str_const("editdraft");
const DELDRAFT: Name = Name::from_str_const("deldraft");
const UPVERSION: Name = Name::from_str_const("upversion");
const CREATETRANS: Name = Name::from_str_const("createtrans");
const EDITTRANS: Name = Name::from_str_const("edittrans");
const DELTRANS: Name = Name::from_str_const("deltrans");

/// The templates contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct DraftContract;

chain_struct! {
    /// A `drafts` row: a template of one registry id.
    pub(crate) struct Draft = "onedraft" {
        registry_id: u64 => "uint64",
        version: u64 => "uint64",
        default_translation_id: u64 => "uint64",
        title: String => "string",
        description: String => "string",
        context: String => "string",
        model: String => "string",
    }
}

chain_struct! {
    /// A `translations` row: a template's texts in one language.
    pub(crate) struct Translation = "translation" {
        id: u64 => "uint64",
        draft_id: u64 => "uint64",
        lang: Name => "name",
        data: String => "string",
    }
}

chain_struct! {
    /// `createdraft`: a new template with its first translation.
    pub(crate) struct CreateDraft = "createdraft" {
        scope: Name => "name",
        username: Name => "name",
        registry_id: u64 => "uint64",
        lang: Name => "name",
        title: String => "string",
        description: String => "string",
        context: String => "string",
        model: String => "string",
        translation_data: String => "string",
    }
}

chain_struct! {
    /// `editdraft`: replaces a template's texts.
    pub(crate) struct EditDraft = "editdraft" {
        scope: Name => "name",
        username: Name => "name",
        registry_id: u64 => "uint64",
        title: String => "string",
        description: String => "string",
        context: String => "string",
        model: String => "string",
    }
}

chain_struct! {
    /// `deldraft`: removes a template and its translations.
    pub(crate) struct DelDraft = "deldraft" {
        scope: Name => "name",
        username: Name => "name",
        registry_id: u64 => "uint64",
    }
}

chain_struct! {
    /// `upversion`: bumps a template's version.
    pub(crate) struct UpVersion = "upversion" {
        scope: Name => "name",
        username: Name => "name",
        registry_id: u64 => "uint64",
    }
}

chain_struct! {
    /// `createtrans`: adds a translation.
    pub(crate) struct CreateTrans = "createtrans" {
        scope: Name => "name",
        username: Name => "name",
        registry_id: u64 => "uint64",
        lang: Name => "name",
        data: String => "string",
    }
}

chain_struct! {
    /// `edittrans`: replaces a translation's texts.
    pub(crate) struct EditTrans = "edittrans" {
        scope: Name => "name",
        username: Name => "name",
        translate_id: u64 => "uint64",
        data: String => "string",
    }
}

chain_struct! {
    /// `deltrans`: removes a translation.
    pub(crate) struct DelTrans = "deltrans" {
        scope: Name => "name",
        username: Name => "name",
        translate_id: u64 => "uint64",
    }
}

impl Contract for DraftContract {
    fn abi(&self) -> AbiDef {
        AbiBuilder::new()
            .with_counts_table()
            .with_table::<Draft>(DRAFTS)
            .with_table::<Translation>(TRANSLATIONS)
            .with_action::<CreateDraft>(CREATEDRAFT)
            .with_action::<EditDraft>(EDITDRAFT)
            .with_action::<DelDraft>(DELDRAFT)
            .with_action::<UpVersion>(UPVERSION)
            .with_action::<CreateTrans>(CREATETRANS)
            .with_action::<EditTrans>(EDITTRANS)
            .with_action::<DelTrans>(DELTRANS)
            .build()
    }

    fn apply(&self, ctx: &mut ApplyContext<'_>, action: &Action) -> Result<(), ContractError> {
        if ctx.is_notification() {
            return Ok(());
        }
        match action.name {
            CREATEDRAFT => create_draft(ctx, ctx.data()?),
            EDITDRAFT => {
                let args: EditDraft = ctx.data()?;
                update_draft(ctx, args.scope, args.username, args.registry_id, |draft| {
                    draft.title = args.title;
                    draft.description = args.description;
                    draft.context = args.context;
                    draft.model = args.model;
                })
            }
            DELDRAFT => {
                let args: DelDraft = ctx.data()?;
                editable_draft(ctx, args.scope, args.username, args.registry_id)?;
                let translations: Vec<(u64, Translation)> =
                    ctx.rows(DRAFT, args.scope, TRANSLATIONS)?;
                for (id, translation) in translations {
                    if translation.draft_id == args.registry_id {
                        ctx.erase(TRANSLATIONS, args.scope, id)?;
                    }
                }
                ctx.erase(DRAFTS, args.scope, args.registry_id)
            }
            UPVERSION => {
                let args: UpVersion = ctx.data()?;
                update_draft(ctx, args.scope, args.username, args.registry_id, |draft| {
                    draft.version = draft.version.saturating_add(1);
                })
            }
            CREATETRANS => {
                let args: CreateTrans = ctx.data()?;
                editable_draft(ctx, args.scope, args.username, args.registry_id)?;
                add_translation(ctx, args.scope, args.registry_id, args.lang, args.data)?;
                Ok(())
            }
            EDITTRANS => {
                let args: EditTrans = ctx.data()?;
                require_owner_authority(ctx, args.scope, args.username)?;
                let mut translation = translation_or_fail(ctx, args.scope, args.translate_id)?;
                translation.data = args.data;
                ctx.modify(
                    TRANSLATIONS,
                    args.scope,
                    None,
                    args.translate_id,
                    &translation,
                    Vec::new(),
                )
            }
            DELTRANS => {
                let args: DelTrans = ctx.data()?;
                require_owner_authority(ctx, args.scope, args.username)?;
                let translation = translation_or_fail(ctx, args.scope, args.translate_id)?;
                let draft: Option<Draft> =
                    ctx.find(DRAFT, args.scope, DRAFTS, translation.draft_id)?;
                check(
                    draft.is_none_or(|draft| draft.default_translation_id != args.translate_id),
                    "Нельзя удалить перевод по умолчанию",
                )?;
                ctx.erase(TRANSLATIONS, args.scope, args.translate_id)
            }
            _ => Ok(()),
        }
    }
}

fn editable_draft(
    ctx: &ApplyContext<'_>,
    scope: Name,
    username: Name,
    registry_id: u64,
) -> Result<Draft, ContractError> {
    require_owner_authority(ctx, scope, username)?;
    ctx.find(DRAFT, scope, DRAFTS, registry_id)?
        .ok_or_else(|| ContractError::Assert("Шаблон не найден".to_owned()))
}

/// Applies `change` to a draft the caller may edit and stores it, keeping the row's payer.
fn update_draft(
    ctx: &mut ApplyContext<'_>,
    scope: Name,
    username: Name,
    registry_id: u64,
    change: impl FnOnce(&mut Draft),
) -> Result<(), ContractError> {
    let mut draft = editable_draft(ctx, scope, username, registry_id)?;
    change(&mut draft);
    ctx.modify(DRAFTS, scope, None, registry_id, &draft, Vec::new())
}

fn translation_or_fail(
    ctx: &ApplyContext<'_>,
    scope: Name,
    translate_id: u64,
) -> Result<Translation, ContractError> {
    ctx.find(DRAFT, scope, TRANSLATIONS, translate_id)?
        .ok_or_else(|| ContractError::Assert("Перевод не найден".to_owned()))
}

fn add_translation(
    ctx: &mut ApplyContext<'_>,
    scope: Name,
    draft_id: u64,
    lang: Name,
    data: String,
) -> Result<u64, ContractError> {
    let existing: Vec<(u64, Translation)> = ctx.rows(DRAFT, scope, TRANSLATIONS)?;
    check(
        !existing
            .iter()
            .any(|(_, translation)| translation.draft_id == draft_id && translation.lang == lang),
        "Перевод на этот язык уже существует",
    )?;
    let id = next_id(ctx, scope, TRANSLATIONS)?;
    let translation = Translation {
        id,
        draft_id,
        lang,
        data,
    };
    ctx.emplace(TRANSLATIONS, scope, scope, id, &translation, Vec::new())?;
    Ok(id)
}

fn create_draft(ctx: &mut ApplyContext<'_>, args: CreateDraft) -> Result<(), ContractError> {
    require_owner_authority(ctx, args.scope, args.username)?;
    let existing: Option<Draft> = ctx.find(DRAFT, args.scope, DRAFTS, args.registry_id)?;
    check(
        existing.is_none(),
        "Шаблон с указанным registry_id уже существует",
    )?;
    let translation_id = add_translation(
        ctx,
        args.scope,
        args.registry_id,
        args.lang,
        args.translation_data,
    )?;
    let draft = Draft {
        registry_id: args.registry_id,
        version: 1,
        default_translation_id: translation_id,
        title: args.title,
        description: args.description,
        context: args.context,
        model: args.model,
    };
    ctx.emplace(
        DRAFTS,
        args.scope,
        args.scope,
        args.registry_id,
        &draft,
        Vec::new(),
    )
}
