//! `mono document …`: the `document2` hash chain, and the document factory — example inputs,
//! rendering a draft into HTML, PDF and meta (and keeping it in a store), and verifying a
//! document (with signers' keys from a store's chain history).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::{Value, json};

use super::sync::open_store;
use super::{BadInput, BadInputExt, Outcome, print_json, read_input_file};
use crate::antelope::document::{self, Document, Document2, DocumentVersion};
use crate::antelope::name::Name;
use crate::factory::draft::Draft;
use crate::factory::inputs;
use crate::factory::keys::ChainKeys;
use crate::factory::templates::{self, FILE_NAMES, TemplateFiles};
use crate::factory::verify::{self, NoKeyHistory, Signed};
use crate::factory::{self as factory_core, Factory, Generated};
use crate::registry::projection::Contracts;

/// Subcommands of `mono document`.
#[derive(Debug, Subcommand)]
pub enum DocumentCommand {
    /// Compute `doc_hash`, `meta_hash` and `hash` of a document from its meta and PDF.
    Hash {
        /// The document's meta as a JSON file.
        #[arg(long)]
        meta: PathBuf,
        /// The document's PDF file.
        #[arg(long)]
        pdf: PathBuf,
        /// Hashing rule version: 1.1.0 (canonical JSON meta, current) or 1.0.0 (legacy).
        #[arg(long, default_value = "1.1.0")]
        version: String,
    },
    /// Print a complete, valid example input of a registry id's template.
    Example {
        /// The registry id (1, 2, 3, 4, 50, 100, 101, 501, 599, 600, 700–702, 800–802).
        #[arg(long)]
        registry_id: u64,
        /// A templates folder to read instead of the set built into `mono`.
        #[arg(long, env = "MONO_TEMPLATES")]
        templates: Option<PathBuf>,
    },
    /// Render a document into DIR: document.html, document.pdf and meta.json.
    Render {
        /// The registry id of a template of the project's set.
        #[arg(long, conflicts_with = "draft", required_unless_present = "draft")]
        registry_id: Option<u64>,
        /// A draft in the chain's shape: {"registry_id", "title", "context", "model", "translations"}.
        #[arg(long)]
        draft: Option<PathBuf>,
        /// The template's input (its model) as JSON; `meta` holds coopname, username,
        /// created_at, block_num.
        #[arg(long)]
        input: PathBuf,
        /// The folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// A templates folder to read instead of the set built into `mono`.
        #[arg(long, env = "MONO_TEMPLATES")]
        templates: Option<PathBuf>,
        /// Also keep the document in this store (`postgres://…` or `sqlite://PATH`), pending
        /// from its meta's `block_num` until the chain carries it.
        #[arg(long)]
        database: Option<String>,
    },
    /// Regenerate the document META.json describes from a store: the draft and the data as
    /// of its block; writes DIR/document.html, document.pdf and meta.json.
    Regenerate {
        /// The document's meta.json.
        #[arg(long)]
        meta: PathBuf,
        /// The store holding the chain events and private records (`postgres://…` or
        /// `sqlite://PATH`).
        #[arg(long)]
        database: String,
        /// The folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a PDF against its meta and, when given, the signed chain record.
    Verify {
        /// The document's PDF.
        pdf: PathBuf,
        /// The document's meta.json.
        #[arg(long)]
        meta: PathBuf,
        /// The signed record as JSON: a `document2` or a legacy `document`.
        #[arg(long)]
        signed: Option<PathBuf>,
        /// A store whose chain history says which keys each signer had when signing; without
        /// it signer keys are reported as not checked.
        #[arg(long)]
        database: Option<String>,
    },
}

/// Runs one `mono document` subcommand.
pub fn run(command: DocumentCommand) -> anyhow::Result<Outcome> {
    match command {
        DocumentCommand::Hash { meta, pdf, version } => {
            let version: DocumentVersion = version.parse().bad_input("reading --version")?;
            let meta_json = read_json(&meta)?;
            let pdf_bytes = read_input_file(&pdf)?;
            let doc_hash = document::doc_hash(&pdf_bytes);
            let meta_hash = document::meta_hash(version, &meta_json)
                .bad_input(format!("hashing the meta of {}", meta.display()))?;
            let hash = document::hash(&meta_hash, &doc_hash);
            print_json(&json!({
                "doc_hash": doc_hash,
                "meta_hash": meta_hash,
                "hash": hash,
            }));
            Ok(Outcome::Success)
        }
        DocumentCommand::Example {
            registry_id,
            templates,
        } => {
            let (_, example) = project_template(registry_id, templates.as_deref())?;
            println!("{}", serde_json::to_string_pretty(&example)?);
            Ok(Outcome::Success)
        }
        DocumentCommand::Render {
            registry_id,
            draft,
            input,
            out,
            templates,
            database,
        } => render(
            registry_id,
            draft.as_deref(),
            &input,
            &out,
            templates.as_deref(),
            database.as_deref(),
        ),
        DocumentCommand::Regenerate {
            meta,
            database,
            out,
        } => regenerate(&meta, &database, &out),
        DocumentCommand::Verify {
            pdf,
            meta,
            signed,
            database,
        } => verify(&pdf, &meta, signed.as_deref(), database.as_deref()),
    }
}

fn render(
    registry_id: Option<u64>,
    draft_path: Option<&Path>,
    input: &Path,
    out: &Path,
    templates: Option<&Path>,
    database: Option<&str>,
) -> anyhow::Result<Outcome> {
    let draft: Draft = match (draft_path, registry_id) {
        (Some(path), _) => serde_json::from_slice(&read_input_file(path)?)
            .bad_input(format!("reading the draft {}", path.display()))?,
        (None, Some(registry_id)) => project_template(registry_id, templates)?.0,
        (None, None) => return Err(BadInput::new("give --registry-id or --draft").into()),
    };
    let mut input_json = read_json(input)?;
    // The clock is read here, at the edge, and only when the input names no creation time;
    // the meta then records it, so the document can still be regenerated exactly.
    if let Some(meta) = input_json.get_mut("meta").and_then(Value::as_object_mut)
        && !meta.contains_key("created_at")
    {
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        meta.insert("created_at".to_owned(), Value::from(now));
    }
    let factory = Factory::new().context("loading the document fonts")?;
    let generated = match factory.render(&draft, &input_json) {
        Ok(generated) => generated,
        Err(err @ factory_core::Error::Invalid { .. }) => {
            return Err::<Outcome, _>(err).bad_input(format!(
                "checking {} against registry id {}",
                input.display(),
                draft.registry_id
            ));
        }
        Err(err) => {
            return Err(anyhow::Error::new(err))
                .with_context(|| format!("rendering registry id {}", draft.registry_id));
        }
    };
    let mut line = write_document(out, &generated)?;
    if let Some(url) = database {
        line["stored_from_block"] = Value::from(keep(url, &generated)?);
    }
    print_json(&line);
    Ok(Outcome::Success)
}

/// Writes `document.html`, `document.pdf` and `meta.json` into `out`; returns the line to
/// print: the hashes and the paths.
fn write_document(out: &Path, generated: &Generated) -> anyhow::Result<Value> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let html_path = out.join("document.html");
    let pdf_path = out.join("document.pdf");
    let meta_path = out.join("meta.json");
    std::fs::write(&html_path, &generated.html)
        .with_context(|| format!("writing {}", html_path.display()))?;
    std::fs::write(&pdf_path, &generated.pdf)
        .with_context(|| format!("writing {}", pdf_path.display()))?;
    std::fs::write(
        &meta_path,
        format!("{}\n", serde_json::to_string_pretty(&generated.meta)?),
    )
    .with_context(|| format!("writing {}", meta_path.display()))?;
    let record = &generated.document;
    Ok(json!({
        "doc_hash": record.doc_hash.to_hex().to_ascii_uppercase(),
        "meta_hash": record.meta_hash.to_hex(),
        "hash": record.hash.to_hex(),
        "version": record.version,
        "html": html_path,
        "pdf": pdf_path,
        "meta": meta_path,
    }))
}

fn regenerate(meta: &Path, database: &str, out: &Path) -> anyhow::Result<Outcome> {
    let meta_json = read_json(meta)?;
    let generated = super::sync::runtime()?.block_on(async {
        let store = open_store(database).await?;
        let factory = Factory::new().context("loading the document fonts")?;
        let generated =
            inputs::regenerate(&store, &factory, &Contracts::default(), &meta_json).await;
        store.close().await;
        generated.with_context(|| format!("regenerating the document of {}", meta.display()))
    })?;
    print_json(&write_document(out, &generated)?);
    Ok(Outcome::Success)
}

/// Keeps `generated` in the store at `url`; returns the block it is kept from.
fn keep(url: &str, generated: &Generated) -> anyhow::Result<u32> {
    super::sync::runtime()?.block_on(async {
        let store = open_store(url).await?;
        let kept = factory_core::store::keep(&store, generated).await;
        store.close().await;
        let (block_num, _) = kept.with_context(|| {
            format!("keeping document {} in the store", generated.document.hash)
        })?;
        Ok(block_num)
    })
}

/// Signer key history from the store at `url`, as of its cursor, for the signers of `signed`.
fn chain_keys(url: &str, signed: Option<&Signed>, meta: &Value) -> anyhow::Result<ChainKeys> {
    let signers: Vec<Name> = match signed {
        Some(Signed::Document2(record)) => record.signatures.iter().map(|sig| sig.signer).collect(),
        Some(Signed::Legacy(_)) => meta["username"]
            .as_str()
            .and_then(|name| name.parse().ok())
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    super::sync::runtime()?.block_on(async {
        let store = open_store(url).await?;
        let up_to = store
            .cursor()
            .await
            .context("reading the store's cursor")?
            .map_or(0, |cursor| cursor.block_num);
        let keys = ChainKeys::load(&store, &Contracts::default(), &signers, up_to).await;
        store.close().await;
        keys.context("reading signers' keys from the store")
    })
}

fn verify(
    pdf: &Path,
    meta: &Path,
    signed: Option<&Path>,
    database: Option<&str>,
) -> anyhow::Result<Outcome> {
    let pdf_bytes = read_input_file(pdf)?;
    let meta_json = read_json(meta)?;
    let signed = match signed {
        Some(path) => {
            let value = read_json(path)?;
            let record = if value.get("signatures").is_some() {
                Signed::Document2(
                    serde_json::from_value::<Document2>(value)
                        .bad_input(format!("reading the document2 record {}", path.display()))?,
                )
            } else {
                Signed::Legacy(
                    serde_json::from_value::<Document>(value)
                        .bad_input(format!("reading the document record {}", path.display()))?,
                )
            };
            Some(record)
        }
        None => None,
    };
    // Key history needs the chain store; without one, keys are reported as not checked.
    let report = match database {
        Some(url) => {
            let keys = chain_keys(url, signed.as_ref(), &meta_json)?;
            verify::verify(&pdf_bytes, &meta_json, signed.as_ref(), &keys)
        }
        None => verify::verify(&pdf_bytes, &meta_json, signed.as_ref(), &NoKeyHistory),
    };
    print_json(&serde_json::to_value(&report)?);
    Ok(if report.valid {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}

/// The project's template of `registry_id`, from `folder` when given, else the built-in set.
fn project_template(registry_id: u64, folder: Option<&Path>) -> anyhow::Result<(Draft, Value)> {
    let Some(folder) = folder else {
        return templates::builtin_for(registry_id)
            .context("reading the built-in templates")?
            .ok_or_else(|| {
                BadInput::new(format!("no template for registry id {registry_id}")).into()
            });
    };
    let prefix = format!("{registry_id}-");
    let entries = std::fs::read_dir(folder).bad_input(format!("reading {}", folder.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", folder.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&prefix) {
            continue;
        }
        let texts = FILE_NAMES
            .iter()
            .map(|file| {
                let path = entry.path().join(file);
                std::fs::read_to_string(&path).bad_input(format!("reading {}", path.display()))
            })
            .collect::<anyhow::Result<Vec<String>>>()?;
        let files = TemplateFiles {
            folder: &name,
            draft: &texts[0],
            context: &texts[1],
            model: &texts[2],
            ru: &texts[3],
            example: &texts[4],
        };
        return templates::assemble(&files).bad_input(format!("reading the template {name}"));
    }
    Err(BadInput::new(format!(
        "no template for registry id {registry_id} in {}",
        folder.display()
    ))
    .into())
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    serde_json::from_slice(&read_input_file(path)?)
        .bad_input(format!("parsing {} as JSON", path.display()))
}
