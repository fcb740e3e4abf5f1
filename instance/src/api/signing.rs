//! Documents members sign in their client: generation (the input built from the store as of
//! the synced block, rendered from the chain's draft in force, kept as pending) and the
//! signatures clients send back, each checked against the signer's key on chain before it is
//! added to the kept document.

use async_graphql::{InputObject, Json, SimpleObject};
use serde_json::{Value, json};

use super::ApiState;
use super::error::ApiError;
use super::paging::as_of;
use crate::antelope::document::{Document2, SignatureInfo, signed_hash};
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::signature::Signature;
use crate::antelope::time::TimePointSec;
use crate::factory::keys::ChainKeys;
use crate::factory::store as kept;
use crate::factory::{Factory, inputs};
use crate::private_data::cooperative::StoredDocument;
use crate::private_data::records::{Entrepreneur, Individual, Organization, PrivateRecord};
use crate::registry::templates;

/// A generated document, kept as pending until signed and carried on chain.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GeneratedDocument {
    /// The hash a signer signs with `signed_at` (lowercase hex).
    pub hash: String,
    /// The template's registry id.
    pub registry_id: u64,
    /// The hash of the PDF.
    pub doc_hash: String,
    /// The hash of the meta.
    pub meta_hash: String,
    /// The meta: the recipe that regenerates the document.
    pub meta: Json<Value>,
    /// The document as HTML, to show before signing.
    pub html: String,
    /// The block whose data it was built from.
    pub block_num: u32,
}

impl From<StoredDocument> for GeneratedDocument {
    fn from(document: StoredDocument) -> Self {
        let block_num = document.meta["block_num"]
            .as_u64()
            .and_then(|block_num| u32::try_from(block_num).ok())
            .unwrap_or_default();
        Self {
            hash: document.hash,
            registry_id: document.registry_id,
            doc_hash: document.doc_hash,
            meta_hash: document.meta_hash,
            meta: Json(document.meta),
            html: document.html,
            block_num,
        }
    }
}

/// A signature a client made over a document.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SignatureInput {
    /// When it was signed (`2026-01-02T03:04:05`, UTC); the signed digest is
    /// sha256(`<hash>` + `<signed_at>`) as `document2` defines it.
    pub signed_at: String,
    /// `SIG_K1_…` over that digest.
    pub signature: String,
    /// The signing key, `PUB_K1_…`.
    pub public_key: String,
}

/// A kept document and its signer's signature.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SignedDocumentInput {
    /// The document's hash, as generation returned it.
    pub hash: String,
    /// The signature.
    pub signature: SignatureInput,
}

/// Generates the document `registry_id` about `username` from the store as of the synced
/// block, with the scalar fields of `scalars` (`braname`, `decision_id`, …), and keeps it.
///
/// # Errors
/// [`ApiError::BadInput`] when the data it is built from is missing, and the store's errors.
pub(super) async fn generate(
    state: &ApiState,
    registry_id: u64,
    username: &str,
    scalars: Value,
) -> Result<GeneratedDocument, ApiError> {
    let block_num = as_of(state, None).await?;
    let created_at = format!("{}.000Z", TimePointSec::from_secs(secs(state.now())));
    let mut request = json!({
        "meta": {
            "coopname": state.coopname.to_string(),
            "username": username,
            "created_at": created_at,
            "block_num": block_num,
        },
    });
    if let Value::Object(scalars) = scalars {
        for (key, value) in scalars {
            match (key.as_str(), value) {
                // Recipe fields the caller adds (`links`) join the server's.
                ("meta", Value::Object(fields)) => {
                    if let Some(meta) = request["meta"].as_object_mut() {
                        meta.extend(fields);
                    }
                }
                (_, value) => request[key.as_str()] = value,
            }
        }
    }
    let input = inputs::complete(&state.store, registry_id, &request).await?;
    let draft = templates::draft_at(&state.store, state.contracts.draft, registry_id, block_num)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound("the draft in force"))?;
    let factory = factory(state).await?;
    let generated = factory.render(&draft, &input).map_err(|err| match err {
        // The input is built from the account's personal data, which the caller provides.
        err @ crate::factory::Error::Invalid { .. } => ApiError::bad_input(err.to_string()),
        other => ApiError::internal(other),
    })?;
    let (_, record) = kept::keep(&state.store, &generated).await?;
    Ok(record.into())
}

/// The shared factory, made at the first document.
pub(super) async fn factory(state: &ApiState) -> Result<&Factory, ApiError> {
    state
        .factory
        .get_or_try_init(|| async { Factory::new() })
        .await
        .map_err(ApiError::internal)
}

fn secs(now: i64) -> u32 {
    u32::try_from(now.max(0)).unwrap_or(u32::MAX)
}

/// Which personal record `username` has as of `block_num`: `individual`, `entrepreneur` or
/// `organization`.
///
/// # Errors
/// [`ApiError::BadInput`] when it has none.
pub(super) async fn applicant_kind(
    state: &ApiState,
    username: &str,
    block_num: u32,
) -> Result<&'static str, ApiError> {
    for kind in [Individual::KIND, Entrepreneur::KIND, Organization::KIND] {
        if state
            .store
            .private_at(kind, username, block_num)
            .await?
            .is_some()
        {
            return Ok(kind);
        }
    }
    Err(ApiError::bad_input(format!(
        "{username} has no personal data kept"
    )))
}

/// A kept document with a signer's signature checked: the document is kept, of
/// `registry_id`, about `subject`; the signature is over its hash and by one of `signer`'s
/// keys on chain as of `block_num`.
pub(super) struct Checked {
    /// The kept document.
    pub record: StoredDocument,
    /// The signature to add.
    pub signature: SignatureInfo,
}

impl Checked {
    /// The `document2` with its kept signatures and this one.
    ///
    /// # Errors
    /// As [`kept::document`].
    pub fn document(&self) -> Result<Document2, ApiError> {
        let mut document = kept::document(&self.record)?;
        if !document.signatures.contains(&self.signature) {
            document.signatures.push(self.signature.clone());
        }
        Ok(document)
    }

    /// Adds the signature to the kept document from the block after the synced one.
    ///
    /// # Errors
    /// The store's.
    pub async fn keep(&self, state: &ApiState) -> Result<(), ApiError> {
        kept::add_signature(&state.store, &self.record.hash, &self.signature).await?;
        Ok(())
    }
}

/// Checks `signed` as [`check`] does, against `signer`'s key history as of the synced block.
///
/// # Errors
/// As [`check`], and the store's.
pub(super) async fn check_signed_by(
    state: &ApiState,
    signed: &SignedDocumentInput,
    registry_id: u64,
    subject: &str,
    signer: Name,
) -> Result<Checked, ApiError> {
    let block_num = as_of(state, None).await?;
    let keys = ChainKeys::load(&state.store, &state.contracts, &[signer], block_num).await?;
    check(
        state,
        &keys,
        block_num,
        signed,
        registry_id,
        subject,
        signer,
    )
    .await
}

/// Checks `signed` (see [`Checked`]).
///
/// # Errors
/// [`ApiError::NotFound`] for a document not kept, [`ApiError::BadInput`] for another type or
/// subject, a signature that does not verify, or a key that is not the signer's.
pub(super) async fn check(
    state: &ApiState,
    keys: &ChainKeys,
    block_num: u32,
    signed: &SignedDocumentInput,
    registry_id: u64,
    subject: &str,
    signer: Name,
) -> Result<Checked, ApiError> {
    let record = kept::kept(&state.store, &signed.hash, block_num)
        .await?
        .ok_or(ApiError::NotFound("document"))?;
    if record.registry_id != registry_id || record.meta["username"] != subject {
        return Err(ApiError::bad_input(format!(
            "document {} is not the document {registry_id} of {subject}",
            record.hash
        )));
    }
    let input = &signed.signature;
    let signed_at: TimePointSec = input
        .signed_at
        .parse()
        .map_err(|_| ApiError::bad_input("signed_at is not a time"))?;
    let signature: Signature = input
        .signature
        .parse()
        .map_err(|_| ApiError::bad_input("signature is not a signature"))?;
    let public_key: PublicKey = input
        .public_key
        .parse()
        .map_err(|_| ApiError::bad_input("public_key is not a public key"))?;
    let digest: crate::antelope::checksum::Checksum256 = signed_hash(&record.hash, signed_at)
        .parse()
        .map_err(ApiError::internal)?;
    if !signature.verify(digest.as_bytes(), &public_key) {
        return Err(ApiError::bad_input(format!(
            "the signature of document {} does not verify with the key given",
            record.hash
        )));
    }
    if !keys
        .keys_at(signer, block_num)
        .is_some_and(|keys| keys.contains(&public_key))
    {
        return Err(ApiError::bad_input(format!(
            "the key that signed document {} is not {signer}'s key on chain",
            record.hash
        )));
    }
    let id = u32::try_from(record.signatures.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    Ok(Checked {
        signature: SignatureInfo {
            id,
            signed_hash: digest,
            signer,
            public_key,
            signature,
            signed_at,
            meta: "{}".to_owned(),
        },
        record,
    })
}
