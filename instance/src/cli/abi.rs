//! `mono abi …`: encode and decode values with a contract ABI.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::Value;

use super::{BadInputExt, Outcome, argument_or_stdin, print_json, read_input_file};
use crate::antelope::abi::Abi;

/// Subcommands of `mono abi`.
#[derive(Debug, Subcommand)]
pub enum AbiCommand {
    /// Encode a JSON value of an ABI type; prints lowercase hex.
    Encode {
        /// The contract ABI as a JSON file (`eosio::abi/1.x`).
        #[arg(long)]
        abi: PathBuf,
        /// The type to encode: a struct, alias, variant or built-in type, with `[]`/`?` suffixes.
        #[arg(long = "type")]
        type_name: String,
        /// The value as JSON; read from standard input when absent.
        json: Option<String>,
    },
    /// Decode hex bytes of an ABI type; prints JSON in nodeos conventions.
    Decode {
        /// The contract ABI as a JSON file (`eosio::abi/1.x`).
        #[arg(long)]
        abi: PathBuf,
        /// The type to decode.
        #[arg(long = "type")]
        type_name: String,
        /// The bytes as hex.
        hex: String,
    },
}

/// Runs one `mono abi` subcommand.
pub fn run(command: AbiCommand) -> anyhow::Result<Outcome> {
    match command {
        AbiCommand::Encode {
            abi,
            type_name,
            json,
        } => {
            let abi = load_abi(&abi)?;
            let text = argument_or_stdin(json)?;
            let value: Value = serde_json::from_str(&text).bad_input("parsing the JSON value")?;
            let bytes = abi
                .encode(&type_name, &value)
                .bad_input(format!("encoding a {type_name}"))?;
            println!("{}", hex::encode(bytes));
        }
        AbiCommand::Decode {
            abi,
            type_name,
            hex: hex_text,
        } => {
            let abi = load_abi(&abi)?;
            let bytes = hex::decode(hex_text.trim()).bad_input("parsing the hex bytes")?;
            let value = abi
                .decode(&type_name, &bytes)
                .bad_input(format!("decoding a {type_name}"))?;
            print_json(&value);
        }
    }
    Ok(Outcome::Success)
}

/// Reads and validates an ABI file named on the command line.
pub(super) fn load_abi(path: &Path) -> anyhow::Result<Abi> {
    let bytes = read_input_file(path)?;
    let text = String::from_utf8(bytes).bad_input(format!("reading {}", path.display()))?;
    Abi::from_json_str(&text).bad_input(format!("loading the ABI {}", path.display()))
}
