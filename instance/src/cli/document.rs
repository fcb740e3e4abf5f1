//! `mono document …`: the `document2` hash chain of a generated document.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::{Value, json};

use super::{BadInputExt, Outcome, print_json, read_input_file};
use crate::antelope::document::{self, DocumentVersion};

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
}

/// Runs one `mono document` subcommand.
pub fn run(command: DocumentCommand) -> anyhow::Result<Outcome> {
    match command {
        DocumentCommand::Hash { meta, pdf, version } => {
            let version: DocumentVersion = version.parse().bad_input("reading --version")?;
            let meta_bytes = read_input_file(&meta)?;
            let meta_json: Value = serde_json::from_slice(&meta_bytes)
                .bad_input(format!("parsing {} as JSON", meta.display()))?;
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
        }
    }
    Ok(Outcome::Success)
}
