//! The document factory: a chain draft and its inputs in, a document out — HTML, PDF, meta
//! and the `document2` hashes — byte for byte the same on every run and machine.
//!
//! - [`draft`]: the chain's draft shape and JSON Schema validation of inputs;
//! - [`template`]: Nunjucks on minijinja, with the drafts' `trans` tag;
//! - [`html`]: the kept HTML page with its print stylesheet;
//! - [`pdf`]: the HTML subset laid out on A4 pages with printpdf, fonts embedded as subsets;
//! - [`meta`]: the meta, a complete recipe for regeneration;
//! - [`templates`]: the project's own drafts for the standard registry ids (`templates/`);
//! - [`verify`]: the verification report of a document and its signatures;
//! - [`store`], [`keys`], [`inputs`]: the edge to the store — generated documents kept
//!   pending, signers' key history from the chain events, and inputs of documents read from
//!   private records and registries as of their block.
//!
//! Architecture invariant: the core (all but the three edge modules) is pure. No I/O, no
//! clock, no randomness: the creation time and the block come in the input's `meta`, the
//! templates come from the caller (read from the chain's `draft` rows as of the document's
//! block, or from a draft file).

pub mod draft;
pub mod html;
pub mod inputs;
pub mod keys;
pub mod meta;
pub mod pdf;
pub mod store;
pub mod template;
pub mod templates;
pub mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::antelope::document::{self, Document2, DocumentError, DocumentVersion};
use crate::factory::draft::{Draft, DraftError, FieldError};
use crate::factory::meta::Generator;
use crate::factory::pdf::{Fonts, PdfError, PdfInfo};
use crate::factory::template::{Compiled, TemplateError};

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The inputs do not fit the draft, field by field.
    #[error("invalid input: {}", describe(.fields))]
    Invalid {
        /// Every failing field.
        fields: Vec<FieldError>,
    },
    /// The draft cannot be used (bad model, no translation).
    #[error(transparent)]
    Draft(DraftError),
    /// The template did not render.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The PDF could not be made.
    #[error("laying out the PDF")]
    Pdf(#[from] PdfError),
    /// The hashes could not be computed.
    #[error("hashing the document")]
    Hash(#[from] DocumentError),
    /// Regeneration produced another meta than the one it was asked to reproduce.
    #[error("the regenerated meta differs from the document's meta")]
    MetaMismatch,
}

/// Result of factory operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A generated document: what the store keeps and what goes on chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The HTML page, print stylesheet included.
    pub html: String,
    /// The PDF bytes; `doc_hash` is their SHA-256.
    pub pdf: Vec<u8>,
    /// The meta, the recipe for regeneration.
    pub meta: Value,
    /// The unsigned `document2` (version 1.1.0) with its hashes.
    pub document: Document2,
}

/// Most compiled models, and most compiled templates, a factory keeps; past it a cache starts
/// over.
const MAX_COMPILED: usize = 64;

/// Renders documents; holds the parsed fonts and the compiled models of the drafts it
/// rendered, so make one and share it.
pub struct Factory {
    fonts: Fonts,
    /// Compiled models by their JSON text: compiling one costs more than the rest of a
    /// validation, and a draft's model is the same for all its documents.
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    /// Parsed templates by the SHA-256 of their text and translation: parsing one costs more
    /// than rendering it.
    templates: Mutex<HashMap<[u8; 32], Arc<Compiled>>>,
}

impl std::fmt::Debug for Factory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factory")
            .field("fonts", &self.fonts)
            .finish_non_exhaustive()
    }
}

impl Factory {
    /// A factory with the built-in fonts.
    ///
    /// # Errors
    /// [`Error::Pdf`] if the built-in fonts do not parse (a broken build).
    pub fn new() -> Result<Self> {
        Ok(Self {
            fonts: Fonts::embedded()?,
            validators: Mutex::new(HashMap::new()),
            templates: Mutex::new(HashMap::new()),
        })
    }

    /// `draft`'s text parsed with the translation `texts`, from the cache or parsed now.
    fn template(
        &self,
        draft: &Draft,
        texts: &std::collections::BTreeMap<String, String>,
    ) -> Result<Arc<Compiled>> {
        let mut hasher = Sha256::new();
        hasher.update(draft.registry_id.to_le_bytes());
        for text in std::iter::once(&draft.context).chain(texts.iter().flat_map(|(k, v)| [k, v])) {
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        let key: [u8; 32] = hasher.finalize().into();
        if let Some(compiled) = self
            .templates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Arc::clone(compiled));
        }
        let compiled = Arc::new(Compiled::new(draft.registry_id, &draft.context, texts)?);
        let mut cache = self
            .templates
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_COMPILED {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&compiled));
        Ok(compiled)
    }

    /// The compiled model of `draft`, from the cache or compiled now; `None` without a model.
    fn validator(&self, draft: &Draft) -> Result<Option<Arc<jsonschema::Validator>>> {
        if draft.model.is_null() {
            return Ok(None);
        }
        let key = draft.model.to_string();
        if let Some(validator) = self
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Some(Arc::clone(validator)));
        }
        let Some(validator) = draft.validator().map_err(Error::Draft)? else {
            return Ok(None);
        };
        let validator = Arc::new(validator);
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_COMPILED {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&validator));
        Ok(Some(validator))
    }

    /// Renders `draft` with `input` (the template's model; its `meta` object holds the recipe
    /// fields) as this build of MONO.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming every field that breaks the draft's model or the recipe; the
    /// other variants when the draft, template or PDF fail.
    pub fn render(&self, draft: &Draft, input: &Value) -> Result<Generated> {
        self.render_as(draft, input, &Generator::current())
    }

    /// Renders as `generator`, which goes into the meta and the PDF.
    ///
    /// # Errors
    /// As [`Factory::render`].
    pub fn render_as(
        &self,
        draft: &Draft,
        input: &Value,
        generator: &Generator,
    ) -> Result<Generated> {
        let validator = self.validator(draft)?;
        let mut fields = match draft.validate_compiled(validator.as_deref(), input) {
            Ok(()) => Vec::new(),
            Err(DraftError::Invalid(fields)) => fields,
            Err(other) => return Err(Error::Draft(other)),
        };
        let meta = match meta::build(draft, input, generator) {
            Ok(meta) => Some(meta),
            Err(more) => {
                for field in more {
                    if !fields.iter().any(|known| known.field == field.field) {
                        fields.push(field);
                    }
                }
                None
            }
        };
        let Some(meta) = meta.filter(|_| fields.is_empty()) else {
            fields.sort_by(|a, b| a.field.cmp(&b.field));
            return Err(Error::Invalid { fields });
        };
        let lang = meta["lang"].as_str().unwrap_or(meta::DEFAULT_LANG);
        let texts = draft.translation(lang).map_err(Error::Draft)?;
        let mut model = input.clone();
        if let Some(object) = model.as_object_mut() {
            object.insert(meta::META_KEY.to_owned(), meta.clone());
        }
        let body = self.template(draft, texts)?.render(&model)?;
        let html = html::page(&draft.title, lang, &body);
        let meta_hash = document::meta_hash(DocumentVersion::V1_1_0, &meta)?;
        let info = PdfInfo {
            title: draft.title.clone(),
            subject: format!("Документ по реестру №{}", draft.registry_id),
            creator: format!("{}-{}", generator.name, generator.version),
            keywords: format!("meta:{meta_hash}"),
            created_at: meta["created_at"]
                .as_str()
                .and_then(|text| text.parse().ok())
                .unwrap_or_default(),
            id_seed: meta_hash.clone().into_bytes(),
        };
        let pdf = pdf::render(&self.fonts, &html, &info)?;
        let document = Document2::new(DocumentVersion::V1_1_0, &meta, &pdf)?;
        Ok(Generated {
            html,
            pdf,
            meta,
            document,
        })
    }

    /// Rebuilds the document `meta` describes from `data` (the model's objects as they were
    /// at `meta.block_num`) and `draft` (the template in force then), as the meta's
    /// generator; the result is byte-identical to the original.
    ///
    /// # Errors
    /// As [`Factory::render`], and [`Error::MetaMismatch`] when the meta does not come out
    /// the same (a different draft or different scalar inputs).
    pub fn regenerate(&self, draft: &Draft, meta: &Value, data: &Value) -> Result<Generated> {
        let generator = meta::generator(meta).ok_or(Error::MetaMismatch)?;
        let mut input = data.clone();
        if let (Some(object), Some(fields)) = (input.as_object_mut(), meta.as_object()) {
            object.insert(meta::META_KEY.to_owned(), meta::recipe(meta));
            for (key, value) in fields {
                if !meta::BASE_FIELDS.contains(&key.as_str()) {
                    object.insert(key.clone(), value.clone());
                }
            }
        }
        let generated = self.render_as(draft, &input, &generator)?;
        if generated.meta != *meta {
            return Err(Error::MetaMismatch);
        }
        Ok(generated)
    }
}

fn describe(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|err| {
            if err.field.is_empty() {
                err.message.clone()
            } else {
                format!("{}: {}", err.field, err.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
