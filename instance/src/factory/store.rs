//! Generated documents kept in the private store: the full document (HTML, PDF, meta, hashes,
//! signatures) the chain has only the hashes of, keyed by its hash and kept from the block of
//! its generation (the meta's `block_num`, the last irreversible block then).
//!
//! A kept document is written once as `pending`; it is never rewritten when the chain accepts
//! or declines it. What it is at a block comes from the documents registry, which joins the
//! kept copy with the actions that carried it: accepted once one did, rejected once one
//! declined it ([`crate::registry::documents`]).
//!
//! This is the factory's edge to the store; the rendering core stays pure.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::antelope::document::{Document2, DocumentVersion, SignatureInfo, meta_text};
use crate::factory::Generated;
use crate::private_data::FieldError;
use crate::private_data::cooperative::{StoredDocument, StoredStatus};
use crate::private_data::records::PrivateRecord;
use crate::registry::{self, documents};
use crate::store::{self, JsonText, Store};

/// Attempts at adding a signature while other signatures are added to the same document.
const SIGNATURE_ATTEMPTS: usize = 20;

/// Why a document could not be kept or read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The document's meta names no block to keep it from.
    #[error("the document's meta has no block_num")]
    NoBlock,
    /// The document does not make a valid stored record.
    #[error("document {hash} is not a valid stored document ({} fields)", .fields.len())]
    Invalid {
        /// The document's hash.
        hash: String,
        /// Every failing field.
        fields: Vec<FieldError>,
    },
    /// A signature does not serialise (never happens for parsed signatures).
    #[error("serialising a signature of document {hash}")]
    Signature {
        /// The document's hash.
        hash: String,
        /// The failure.
        #[source]
        source: serde_json::Error,
    },
    /// No document with this hash is kept.
    #[error("no document {hash} is kept")]
    NotKept {
        /// The document's hash.
        hash: String,
    },
    /// Other signers kept changing the document while this signature was being added.
    #[error("document {hash} is being signed by too many at once; try again")]
    Contended {
        /// The document's hash.
        hash: String,
    },
    /// A kept record is not a stored document.
    #[error("the kept record of document {hash} is not in the expected form")]
    Corrupt {
        /// The document's hash.
        hash: String,
        /// The failure.
        #[source]
        source: serde_json::Error,
    },
    /// A kept document's hashes or meta do not make a `document2`.
    #[error("the kept document {hash} does not make a document2")]
    NotADocument {
        /// The document's hash.
        hash: String,
    },
    /// The store failed.
    #[error("the private store")]
    Store(#[from] store::Error),
    /// The documents registry failed.
    #[error("the documents registry")]
    Registry(#[from] registry::Error),
}

/// Result of keeping documents.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The record the store keeps of `generated`: hashes in lowercase, the PDF in base64, the
/// signatures the document carries, status pending.
///
/// # Errors
/// [`Error::Invalid`] when the document does not make a valid record (no HTML, a meta that is
/// not an object), [`Error::Signature`].
pub fn record(generated: &Generated) -> Result<StoredDocument> {
    let document = &generated.document;
    let hash = document.hash.to_hex().to_ascii_lowercase();
    let signatures = document
        .signatures
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| Error::Signature {
            hash: hash.clone(),
            source,
        })?;
    StoredDocument {
        hash: hash.clone(),
        doc_hash: document.doc_hash.to_hex(),
        meta_hash: document.meta_hash.to_hex(),
        registry_id: generated.meta["registry_id"].as_u64().unwrap_or_default(),
        html: generated.html.clone(),
        pdf: STANDARD.encode(&generated.pdf),
        meta: generated.meta.clone(),
        signatures,
        status: StoredStatus::Pending,
    }
    .validated()
    .map_err(|fields| Error::Invalid { hash, fields })
}

/// Keeps `generated` in the private store from the block of its generation (its meta's
/// `block_num`), as pending; returns that block and the record. Keeping the same document again
/// writes nothing.
///
/// # Errors
/// [`Error::NoBlock`], the errors of [`record`], and [`Error::Store`] — among them
/// [`store::Error::PrivateRecordBehind`] when the store already keeps a later version of it.
pub async fn keep(store: &Store, generated: &Generated) -> Result<(u32, StoredDocument)> {
    let block_num = generated.meta["block_num"]
        .as_u64()
        .and_then(|block_num| u32::try_from(block_num).ok())
        .ok_or(Error::NoBlock)?;
    let record = record(generated)?;
    write(store, &record, block_num).await?;
    Ok((block_num, record))
}

/// Adds `signature` to the kept document `hash` from the block after the store's cursor on (a
/// member signs after generation); the store chooses that block in the writing transaction, so
/// a block already committed never gains the signature. A signature the document already
/// carries is not added twice. Returns the record as kept.
///
/// # Errors
/// [`Error::NotKept`], [`Error::Corrupt`], [`Error::Signature`], [`Error::Store`].
pub async fn add_signature(
    store: &Store,
    hash: &str,
    signature: &SignatureInfo,
) -> Result<StoredDocument> {
    let hash = hash.to_ascii_lowercase();
    // Signers of one document may sign at once: each adds its signature to the version it read,
    // and one that lost the race reads again.
    for _ in 0..SIGNATURE_ATTEMPTS {
        let Some(version) = store
            .private_at(StoredDocument::KIND, &hash, u32::MAX)
            .await?
        else {
            return Err(Error::NotKept { hash });
        };
        let mut record: StoredDocument =
            serde_json::from_str(version.data.as_str()).map_err(|source| Error::Corrupt {
                hash: hash.clone(),
                source,
            })?;
        let value = serde_json::to_value(signature).map_err(|source| Error::Signature {
            hash: record.hash.clone(),
            source,
        })?;
        if record.signatures.contains(&value) {
            return Ok(record);
        }
        record.signatures.push(value);
        match store
            .put_private_next_if(
                StoredDocument::KIND,
                &record.hash,
                &data_of(&record)?,
                version.version,
            )
            .await
        {
            Ok(_) => return Ok(record),
            Err(store::Error::VersionConflict { .. }) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Contended { hash })
}

/// The `document2` of a kept document, with the signatures it carries, as actions put it on
/// chain: version 1.1.0, the meta as its `JSON.stringify` text.
///
/// # Errors
/// [`Error::NotADocument`], [`Error::Corrupt`] for a signature that is not one.
pub fn document(record: &StoredDocument) -> Result<Document2> {
    let not_a_document = || Error::NotADocument {
        hash: record.hash.clone(),
    };
    let checksum = |hex: &str| hex.parse().map_err(|_| not_a_document());
    let signatures = record
        .signatures
        .iter()
        .map(|value| serde_json::from_value::<SignatureInfo>(value.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| Error::Corrupt {
            hash: record.hash.clone(),
            source,
        })?;
    Ok(Document2 {
        version: DocumentVersion::V1_1_0.as_str().to_owned(),
        hash: checksum(&record.hash)?,
        doc_hash: checksum(&record.doc_hash)?,
        meta_hash: checksum(&record.meta_hash)?,
        meta: meta_text(DocumentVersion::V1_0_0, &record.meta).map_err(|_| not_a_document())?,
        signatures,
    })
}

/// The kept copy of document `hash` as of `block_num`, as it was written.
///
/// # Errors
/// [`Error::Corrupt`], [`Error::Store`].
pub async fn kept(store: &Store, hash: &str, block_num: u32) -> Result<Option<StoredDocument>> {
    let hash = hash.to_ascii_lowercase();
    let Some(version) = store
        .private_at(StoredDocument::KIND, &hash, block_num)
        .await?
    else {
        return Ok(None);
    };
    serde_json::from_str(version.data.as_str())
        .map(Some)
        .map_err(|source| Error::Corrupt { hash, source })
}

/// Where document `hash` of `coopname` stands as of `block_num`: pending while only the
/// instance has it, accepted once an action carried it, rejected once one declined it,
/// expired once the decision of its package expired; `None`
/// when neither the chain nor the store knows it.
///
/// # Errors
/// [`Error::Registry`].
pub async fn status(
    store: &Store,
    coopname: &str,
    hash: &str,
    block_num: u32,
) -> Result<Option<documents::DocumentStatus>> {
    Ok(documents::get(store, coopname, block_num, hash)
        .await?
        .map(|document| document.status))
}

/// The record as stored.
fn data_of(record: &StoredDocument) -> Result<JsonText> {
    let value = serde_json::to_value(record).map_err(|source| Error::Corrupt {
        hash: record.hash.clone(),
        source,
    })?;
    Ok(JsonText::from_value(&value))
}

async fn write(store: &Store, record: &StoredDocument, block_num: u32) -> Result<()> {
    let data = data_of(record)?;
    if let Some(current) = store
        .private_at(StoredDocument::KIND, &record.hash, block_num)
        .await?
        && current.data == data
    {
        return Ok(());
    }
    store
        .put_private(StoredDocument::KIND, &record.hash, &data, block_num)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factory::{Factory, templates};

    #[test]
    fn the_record_carries_the_document_whole() {
        let factory = Factory::new().expect("fonts");
        let (draft, example) = templates::builtin_for(599)
            .expect("valid")
            .expect("template");
        let generated = factory.render(&draft, &example).expect("renders");
        let kept = record(&generated).expect("a valid record");
        assert_eq!(kept.hash, generated.document.hash.to_hex());
        assert_eq!(kept.hash, kept.hash.to_ascii_lowercase());
        assert_eq!(kept.registry_id, 599);
        assert_eq!(kept.status, StoredStatus::Pending);
        assert_eq!(STANDARD.decode(&kept.pdf).expect("base64"), generated.pdf);
        assert_eq!(kept.meta, generated.meta);
        assert_eq!(kept.key(), kept.hash);

        let mut broken = generated;
        broken.html.clear();
        assert!(matches!(record(&broken), Err(Error::Invalid { fields, .. }) if fields.len() == 1));
    }
}
