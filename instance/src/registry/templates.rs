//! Document templates as of a block: the `draft` contract's `drafts` rows (one per registry
//! id) joined with their `translations` rows, in the chain draft shape the factory renders.
//! A document is always rendered with the template in force at its `meta.block_num`, so a
//! later edit of a draft never changes an existing document.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::antelope::name::Name;
use crate::factory::draft::Draft;
use crate::store::{self, Store};

/// Why templates could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error("reading the chain state")]
    Store {
        /// The store's error.
        #[source]
        source: store::Error,
    },
    /// A row does not have the layout the contract publishes.
    #[error("{table} row does not have the expected fields")]
    Row {
        /// `code::table`.
        table: String,
        /// What was missing or malformed.
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct DraftRow {
    registry_id: u64,
    version: u64,
    title: String,
    description: String,
    context: String,
    model: String,
}

#[derive(Deserialize)]
struct TranslationRow {
    draft_id: u64,
    lang: String,
    data: String,
}

/// The template of `registry_id` in the standard set (scope: the contract itself) as of
/// `block_num`, with every translation in force then; `None` if there was none.
///
/// # Errors
/// [`Error`] when the store fails or a row (or its model or translation text) is malformed.
pub async fn draft_at(
    store: &Store,
    draft_contract: Name,
    registry_id: u64,
    block_num: u32,
) -> Result<Option<Draft>, Error> {
    let code = draft_contract.to_string();
    let row = store
        .table_row_at(&code, &code, "drafts", registry_id, block_num)
        .await
        .map_err(|source| Error::Store { source })?;
    let Some(value) = row.and_then(|row| row.record.value) else {
        return Ok(None);
    };
    let row: DraftRow = parse(&code, "drafts", value.as_str())?;
    let mut translations = translations_at(store, &code, block_num).await?;
    Ok(Some(draft(
        &code,
        row,
        translations.remove(&registry_id).unwrap_or_default(),
    )?))
}

/// Every template of the standard set as of `block_num`, by registry id.
///
/// # Errors
/// As [`draft_at`].
pub async fn drafts_at(
    store: &Store,
    draft_contract: Name,
    block_num: u32,
) -> Result<Vec<Draft>, Error> {
    let code = draft_contract.to_string();
    let rows = store
        .table_rows_at(&code, &code, "drafts", block_num)
        .await
        .map_err(|source| Error::Store { source })?;
    let mut translations = translations_at(store, &code, block_num).await?;
    let mut drafts = Vec::new();
    for row in rows {
        let Some(value) = row.record.value else {
            continue;
        };
        let row: DraftRow = parse(&code, "drafts", value.as_str())?;
        let texts = translations.remove(&row.registry_id).unwrap_or_default();
        drafts.push(draft(&code, row, texts)?);
    }
    Ok(drafts)
}

type Texts = BTreeMap<String, BTreeMap<String, String>>;

/// Translation rows as of `block_num`: registry id -> language -> texts (still JSON text).
async fn translations_at(
    store: &Store,
    code: &str,
    block_num: u32,
) -> Result<BTreeMap<u64, BTreeMap<String, String>>, Error> {
    let rows = store
        .table_rows_at(code, code, "translations", block_num)
        .await
        .map_err(|source| Error::Store { source })?;
    let mut by_draft: BTreeMap<u64, BTreeMap<String, String>> = BTreeMap::new();
    for row in rows {
        let Some(value) = row.record.value else {
            continue;
        };
        let row: TranslationRow = parse(code, "translations", value.as_str())?;
        by_draft
            .entry(row.draft_id)
            .or_default()
            .insert(row.lang, row.data);
    }
    Ok(by_draft)
}

fn draft(code: &str, row: DraftRow, texts: BTreeMap<String, String>) -> Result<Draft, Error> {
    let model = if row.model.trim().is_empty() {
        serde_json::Value::Null
    } else {
        parse(code, "drafts", &row.model)?
    };
    let translations: Texts = texts
        .into_iter()
        .map(|(lang, data)| Ok((lang, parse(code, "translations", &data)?)))
        .collect::<Result<_, Error>>()?;
    Ok(Draft {
        registry_id: row.registry_id,
        version: row.version,
        title: row.title,
        description: row.description,
        context: row.context,
        model,
        translations,
    })
}

fn parse<T: serde::de::DeserializeOwned>(code: &str, table: &str, text: &str) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|source| Error::Row {
        table: format!("{code}::{table}"),
        source,
    })
}
