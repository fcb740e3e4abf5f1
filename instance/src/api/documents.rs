//! Documents: `getDocuments`, the signed documents actions carried, as of a block, with typed
//! filters only (no query operators from the client reach the store); `getDocument`, one
//! document in full (HTML, PDF) with its verification report; `regenerateDocument`, a kept
//! document rebuilt from its meta and compared byte for byte.
//!
//! A document carries its signers' personal data, so one document is shown to the account it
//! is about, to its signers and to the council; to anyone else a document that does not exist
//! and one they may not see are refused alike.

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::ApiState;
use super::caller::Caller;
use super::error::ApiError;
use super::paging::{PageInput, Paged, as_of};
use super::policy::admit;
use super::signing;
use crate::antelope::document::{Document as LegacyDocument, Document2};
use crate::antelope::name::Name;
use crate::factory::inputs;
use crate::factory::keys::ChainKeys;
use crate::factory::verify::{self, Signed};
use crate::private_data::cooperative::StoredDocument;
use crate::registry::documents::{self, DocumentFilter};

/// Where a document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::registry::documents::DocumentStatus")]
pub enum DocumentState {
    /// Kept by the instance, not seen on chain.
    Pending,
    /// Carried by an action on chain.
    Accepted,
    /// Declined on chain.
    Rejected,
    /// Carried on chain in the package of a decision that expired undecided.
    Expired,
}

/// One document as of a block.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct Document {
    /// The document's hash (lowercase).
    pub hash: String,
    /// Where it stands.
    pub status: DocumentState,
    /// The package (decision hash) it belongs to.
    pub package: Option<String>,
    /// The account it is about.
    pub username: Option<String>,
    /// The accounts whose signatures it carries.
    pub signers: Vec<String>,
    /// The document as carried on chain (`version`, hashes, `meta`, `signatures`).
    pub document: Option<Json<serde_json::Value>>,
    /// The actions that carried it (`contract`, `action`, `field`, `global_sequence`,
    /// `block_num`), in chain order, then the contract rows that hold it (`contract`, `table`,
    /// `field`, `block_num`).
    pub occurrences: Json<serde_json::Value>,
    /// The full document the instance keeps, when it has it.
    pub stored: Option<Json<serde_json::Value>>,
}

impl From<documents::Document> for Document {
    fn from(document: documents::Document) -> Self {
        Self {
            hash: document.hash,
            status: DocumentState::from(document.status),
            package: document.package,
            username: document.username,
            signers: document.signers,
            document: document.document.map(Json),
            occurrences: Json(serde_json::to_value(&document.occurrences).unwrap_or_default()),
            stored: document.stored.map(Json),
        }
    }
}

/// Which documents to list.
#[derive(Debug, Clone, Default, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DocumentsFilter {
    /// Only documents about this account (an account may list its own).
    pub username: Option<String>,
    /// Only documents of this package (a decision's hash).
    pub package: Option<String>,
}

#[derive(Default)]
pub struct DocumentsQuery;

#[Object]
impl DocumentsQuery {
    /// Documents as of `block`, by hash: an account's own (filter by its username), or any for
    /// the council and the chairman.
    async fn get_documents(
        &self,
        ctx: &Context<'_>,
        filter: Option<DocumentsFilter>,
        page: Option<PageInput>,
        block: Option<u32>,
    ) -> async_graphql::Result<Paged<Document>> {
        let filter = filter.unwrap_or_default();
        admit(ctx, filter.username.as_deref())?;
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, block).await?;
        let page = documents::list(
            &state.store,
            &state.coopname.to_string(),
            block_num,
            &DocumentFilter {
                package: filter.package,
                username: filter.username,
            },
            &PageInput::request(page),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Paged::from_page(page, block_num))
    }

    /// Document `hash` as of `block` in full, with its verification report: the account it
    /// is about, its signers, the council.
    async fn get_document(
        &self,
        ctx: &Context<'_>,
        hash: String,
        block: Option<u32>,
    ) -> async_graphql::Result<DocumentDetail> {
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, block).await?;
        let found = readable(ctx, state, &hash, block_num).await?;
        let kept = stored_of(&found)?;
        let verification = match &kept {
            Some(kept) => Some(verification(state, &found, kept, block_num).await?),
            None => None,
        };
        Ok(DocumentDetail {
            registry_id: kept.as_ref().map(|kept| kept.registry_id),
            meta: kept.as_ref().map(|kept| Json(kept.meta.clone())),
            html: kept.as_ref().map(|kept| kept.html.clone()),
            pdf: kept.map(|kept| kept.pdf),
            document: found.into(),
            verification,
        })
    }
}

/// One document in full as of a block, with what verifying it found.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DocumentDetail {
    /// The document as the registry has it.
    pub document: Document,
    /// The template's registry id, when the instance keeps the document.
    pub registry_id: Option<u64>,
    /// The meta (the recipe that regenerates it), when kept.
    pub meta: Option<Json<serde_json::Value>>,
    /// The HTML, when kept.
    pub html: Option<String>,
    /// The PDF, base64, when kept.
    pub pdf: Option<String>,
    /// The kept PDF checked against its meta and the signed record (the one on chain, else
    /// the kept signatures); absent when the instance does not keep the document.
    pub verification: Option<VerificationReport>,
}

/// What verifying a document found; `valid` is the verdict.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct VerificationReport {
    /// Every check passed.
    pub valid: bool,
    /// SHA-256 of the PDF, uppercase hex.
    pub doc_hash: String,
    /// sha256hex(JCS(meta)).
    pub meta_hash: String,
    /// sha256hex(meta_hash + doc_hash).
    pub hash: String,
    /// The PDF carries the meta's fingerprint.
    pub pdf_matches_meta: bool,
    /// The signed record's checks, when there is one.
    pub signed: Option<SignedRecordReport>,
}

/// Checks of the signed record.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SignedRecordReport {
    /// `document2` version, or `legacy`.
    pub version: String,
    /// The record's `doc_hash` is the PDF's.
    pub doc_hash_matches: bool,
    /// The record's meta is the kept meta.
    pub meta_matches: bool,
    /// `meta_hash` follows from the record's meta.
    pub meta_hash_matches: bool,
    /// `hash` = sha256hex(meta_hash + doc_hash).
    pub hash_matches: bool,
    /// One entry per signature, in order.
    pub signatures: Vec<SignatureReport>,
}

/// Checks of one signature.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SignatureReport {
    /// The signature's id.
    pub id: u32,
    /// Who is said to have signed.
    pub signer: String,
    /// `signed_hash` = sha256hex(hash + signed_at).
    pub signed_hash_matches: bool,
    /// The signature recovers to the stated key.
    pub key_matches: bool,
    /// The key was the signer's on chain when it signed (as of the block asked about);
    /// absent when the signer's key history is unknown.
    pub key_on_chain: Option<bool>,
}

impl From<verify::Report> for VerificationReport {
    fn from(report: verify::Report) -> Self {
        Self {
            valid: report.valid,
            doc_hash: report.doc_hash,
            meta_hash: report.meta_hash,
            hash: report.hash,
            pdf_matches_meta: report.pdf_matches_meta,
            signed: report.signed.map(|signed| SignedRecordReport {
                version: signed.version,
                doc_hash_matches: signed.doc_hash_matches,
                meta_matches: signed.meta_matches,
                meta_hash_matches: signed.meta_hash_matches,
                hash_matches: signed.hash_matches,
                signatures: signed
                    .signatures
                    .into_iter()
                    .map(|check| SignatureReport {
                        id: check.id,
                        signer: check.signer,
                        signed_hash_matches: check.signed_hash_matches,
                        key_matches: check.key_matches,
                        key_on_chain: check.key_on_chain,
                    })
                    .collect(),
            }),
        }
    }
}

/// A kept document rebuilt from its meta.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RegeneratedDocument {
    /// The kept document's hash.
    pub hash: String,
    /// The rebuilt document's hash.
    pub regenerated_hash: String,
    /// The rebuilt PDF is the kept one, byte for byte.
    pub identical: bool,
    /// The rebuilt PDF, base64.
    pub pdf: String,
}

/// The one document to show or rebuild.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RegenerateDocumentInput {
    /// The kept document's hash.
    pub hash: String,
}

#[derive(Default)]
pub struct DocumentsMutation;

#[Object]
impl DocumentsMutation {
    /// Rebuilds kept document `hash` from its meta (the draft and data as of its block) and
    /// compares the PDF with the kept one; nothing is written. Who may see the document.
    async fn regenerate_document(
        &self,
        ctx: &Context<'_>,
        data: RegenerateDocumentInput,
    ) -> async_graphql::Result<RegeneratedDocument> {
        let state = ctx.data::<ApiState>()?;
        let block_num = as_of(state, None).await?;
        let found = readable(ctx, state, &data.hash, block_num).await?;
        let kept = stored_of(&found)?.ok_or(ApiError::NotFound("kept document"))?;
        let factory = signing::factory(state).await?;
        let regenerated = inputs::regenerate(&state.store, factory, &state.contracts, &kept.meta)
            .await
            .map_err(|err| match err {
                // A meta that no longer regenerates is what the caller asked to learn.
                err @ (inputs::Error::Missing { .. }
                | inputs::Error::Recipe { .. }
                | inputs::Error::Render(_)) => ApiError::bad_input(format!(
                    "document {} does not regenerate: {err}",
                    kept.hash
                )),
                other => ApiError::from(other),
            })?;
        let identical = STANDARD
            .decode(&kept.pdf)
            .is_ok_and(|pdf| pdf == regenerated.pdf);
        Ok(RegeneratedDocument {
            hash: kept.hash,
            regenerated_hash: regenerated.document.hash.to_hex(),
            identical,
            pdf: STANDARD.encode(&regenerated.pdf),
        })
    }
}

/// Document `hash` as of `block_num`, once the caller may see it. A caller the policy admits
/// for no document learns nothing of its existence.
async fn readable(
    ctx: &Context<'_>,
    state: &ApiState,
    hash: &str,
    block_num: u32,
) -> Result<documents::Document, ApiError> {
    let found = documents::get(&state.store, &state.coopname.to_string(), block_num, hash).await?;
    let Some(found) = found else {
        admit(ctx, None)?;
        return Err(ApiError::NotFound("document"));
    };
    let kept_subject = found
        .stored
        .as_ref()
        .and_then(|stored| stored["meta"]["username"].as_str());
    let subjects = found
        .username
        .as_deref()
        .into_iter()
        .chain(kept_subject)
        .chain(found.signers.iter().map(String::as_str));
    let admitted: Option<Caller> = subjects
        .map(Some)
        .chain([None])
        .find_map(|subject| admit(ctx, subject).ok());
    match admitted {
        Some(_) => Ok(found),
        None => Err(admit(ctx, None).err().unwrap_or(ApiError::Forbidden)),
    }
}

/// The kept copy the registry joined to `found`, when the instance keeps it.
fn stored_of(found: &documents::Document) -> Result<Option<StoredDocument>, ApiError> {
    found
        .stored
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(ApiError::internal)
}

/// Verifies the kept PDF against its meta and the signed record: the chain's when an action
/// carried the document, else the kept signatures; signers' keys as of `block_num`.
async fn verification(
    state: &ApiState,
    found: &documents::Document,
    kept: &StoredDocument,
    block_num: u32,
) -> Result<VerificationReport, ApiError> {
    let pdf = STANDARD.decode(&kept.pdf).map_err(ApiError::internal)?;
    let signed = match &found.document {
        Some(document) if document.get("signatures").is_some() => {
            serde_json::from_value::<Document2>(document.clone())
                .map(Signed::Document2)
                .map_err(ApiError::internal)?
        }
        Some(document) => serde_json::from_value::<LegacyDocument>(document.clone())
            .map(Signed::Legacy)
            .map_err(ApiError::internal)?,
        None => Signed::Document2(crate::factory::store::document(kept)?),
    };
    let signers: Vec<Name> = match &signed {
        Signed::Document2(record) => record.signatures.iter().map(|sig| sig.signer).collect(),
        Signed::Legacy(_) => kept.meta["username"]
            .as_str()
            .and_then(|name| name.parse().ok())
            .into_iter()
            .collect(),
    };
    let keys = ChainKeys::load(&state.store, &state.contracts, &signers, block_num).await?;
    Ok(verify::verify(&pdf, &kept.meta, Some(&signed), &keys).into())
}
