//! The project's own drafts for the standard registry ids, from `templates/` at the
//! repository's top: one folder per id, `<registry_id>-<Name>/`, holding the chain's draft
//! fields one per file — `draft.json` (`registry_id`, `version`, `title`, `description`),
//! `context.html` (the template), `model.json` (JSON Schema of the input), `ru.json` (the
//! translation) — and `example.json`, a complete input the model accepts.
//!
//! The files are data: the devnet publishes them into its `draft` contract at genesis and
//! documents render from the chain's rows. They are built into the binary so the devnet and
//! `mono document example` need no files at run time; [`assemble`] reads the same shape from
//! texts a caller loaded from any folder.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::factory::draft::Draft;

/// The texts of one template folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateFiles<'a> {
    /// The folder's name, `<registry_id>-<Name>`.
    pub folder: &'a str,
    /// `draft.json`.
    pub draft: &'a str,
    /// `context.html`.
    pub context: &'a str,
    /// `model.json`.
    pub model: &'a str,
    /// `ru.json`.
    pub ru: &'a str,
    /// `example.json`.
    pub example: &'a str,
}

/// Why a template folder does not make a draft.
#[derive(Debug, thiserror::Error)]
#[error("template {folder}: {file} is not valid")]
pub struct TemplateFilesError {
    /// The folder.
    pub folder: String,
    /// The file.
    pub file: &'static str,
    /// Why.
    #[source]
    pub source: serde_json::Error,
}

/// The file names of a template folder, in [`TemplateFiles`] order after the folder.
pub const FILE_NAMES: [&str; 5] = [
    "draft.json",
    "context.html",
    "model.json",
    "ru.json",
    "example.json",
];

macro_rules! builtin {
    ($($folder:literal),* $(,)?) => {
        [$(TemplateFiles {
            folder: $folder,
            draft: include_str!(concat!("../../../templates/", $folder, "/draft.json")),
            context: include_str!(concat!("../../../templates/", $folder, "/context.html")),
            model: include_str!(concat!("../../../templates/", $folder, "/model.json")),
            ru: include_str!(concat!("../../../templates/", $folder, "/ru.json")),
            example: include_str!(concat!("../../../templates/", $folder, "/example.json")),
        }),*]
    };
}

/// Every built-in template folder, by registry id.
pub const BUILTIN: [TemplateFiles<'static>; 16] = builtin!(
    "1-WalletAgreement",
    "2-RegulationElectronicSignature",
    "3-PrivacyPolicy",
    "4-UserAgreement",
    "50-CoopenomicsAgreement",
    "100-ParticipantApplication",
    "101-SelectBranchStatement",
    "501-DecisionOfParticipantApplication",
    "599-ProjectFreeDecision",
    "600-FreeDecision",
    "700-AssetContributionStatement",
    "701-AssetContributionDecision",
    "702-AssetContributionAct",
    "800-ReturnByAssetStatement",
    "801-ReturnByAssetDecision",
    "802-ReturnByAssetAct",
);

#[derive(Deserialize)]
struct DraftHeader {
    registry_id: u64,
    #[serde(default = "first_version")]
    version: u64,
    title: String,
    #[serde(default)]
    description: String,
}

fn first_version() -> u64 {
    1
}

/// A template folder's draft and example input.
///
/// # Errors
/// [`TemplateFilesError`] naming the file that is not valid JSON of its shape.
pub fn assemble(files: &TemplateFiles<'_>) -> Result<(Draft, Value), TemplateFilesError> {
    let fail = |file: &'static str| {
        let folder = files.folder.to_owned();
        move |source| TemplateFilesError {
            folder,
            file,
            source,
        }
    };
    let header: DraftHeader = serde_json::from_str(files.draft).map_err(fail("draft.json"))?;
    let model: Value = serde_json::from_str(files.model).map_err(fail("model.json"))?;
    let ru: BTreeMap<String, String> = serde_json::from_str(files.ru).map_err(fail("ru.json"))?;
    let example: Value = serde_json::from_str(files.example).map_err(fail("example.json"))?;
    let draft = Draft {
        registry_id: header.registry_id,
        version: header.version,
        title: header.title,
        description: header.description,
        context: files.context.to_owned(),
        model,
        translations: BTreeMap::from([("ru".to_owned(), ru)]),
    };
    Ok((draft, example))
}

/// The built-in drafts with their examples, by registry id.
///
/// # Errors
/// [`TemplateFilesError`] if a built-in file is broken (a test guards against it).
pub fn builtin() -> Result<Vec<(Draft, Value)>, TemplateFilesError> {
    BUILTIN.iter().map(assemble).collect()
}

/// The built-in draft and example of `registry_id`.
///
/// # Errors
/// As [`builtin`].
pub fn builtin_for(registry_id: u64) -> Result<Option<(Draft, Value)>, TemplateFilesError> {
    for files in &BUILTIN {
        let (draft, example) = assemble(files)?;
        if draft.registry_id == registry_id {
            return Ok(Some((draft, example)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_folders_assemble_and_name_their_ids() {
        let drafts = builtin().expect("built-in templates are valid");
        assert_eq!(drafts.len(), BUILTIN.len());
        for ((draft, example), files) in drafts.iter().zip(&BUILTIN) {
            assert!(
                files.folder.starts_with(&format!("{}-", draft.registry_id)),
                "{}",
                files.folder
            );
            assert!(
                draft.validate(example).is_ok(),
                "{}: {:?}",
                files.folder,
                draft.validate(example).err()
            );
        }
        assert!(builtin_for(100).expect("valid").is_some());
        assert!(builtin_for(9999).expect("valid").is_none());
    }
}
