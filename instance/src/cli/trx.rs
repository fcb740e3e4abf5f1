//! `mono trx …`: transaction id, signing digest and packed bytes of a nodeos-shaped transaction.

use std::collections::HashMap;

use anyhow::anyhow;
use clap::Subcommand;
use serde_json::{Value, json};

use super::abi::load_abi;
use super::{BadInput, BadInputExt, Outcome, argument_or_stdin, print_json};
use crate::antelope::abi::Abi;
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::transaction::Transaction;

/// Subcommands of `mono trx`.
#[derive(Debug, Subcommand)]
pub enum TrxCommand {
    /// Print a transaction's id, signing digest and `packed_trx` hex.
    Digest {
        /// Chain id as 64 hex characters.
        #[arg(long)]
        chain_id: String,
        /// ABI used to encode JSON action data of one account, as ACCOUNT=FILE; repeatable.
        #[arg(long = "abi", value_name = "ACCOUNT=FILE")]
        abis: Vec<String>,
        /// The transaction as nodeos prints it; action `data` is hex, or JSON when an ABI for
        /// its account is given. Read from standard input when absent.
        json: Option<String>,
    },
}

/// Runs one `mono trx` subcommand.
pub fn run(command: TrxCommand) -> anyhow::Result<Outcome> {
    match command {
        TrxCommand::Digest {
            chain_id,
            abis,
            json,
        } => {
            let chain_id: Checksum256 = chain_id.parse().bad_input("parsing --chain-id")?;
            let abis = load_account_abis(&abis)?;
            let text = argument_or_stdin(json)?;
            let value: Value =
                serde_json::from_str(&text).bad_input("parsing the transaction JSON")?;
            let transaction = Transaction::from_json(&value, |account, action, data| {
                encode_action_data(&abis, account, action, data)
            })
            .bad_input("reading the transaction")?;
            print_json(&json!({
                "id": transaction.id().to_hex(),
                "digest": hex::encode(transaction.signing_digest(&chain_id)),
                "packed_trx": hex::encode(transaction.pack()),
            }));
        }
    }
    Ok(Outcome::Success)
}

/// Parses `ACCOUNT=FILE` arguments and loads each ABI.
fn load_account_abis(arguments: &[String]) -> anyhow::Result<HashMap<Name, Abi>> {
    let mut abis = HashMap::new();
    for argument in arguments {
        let Some((account, path)) = argument.split_once('=') else {
            return Err(anyhow!(BadInput::new(format!(
                "--abi {argument:?} must be ACCOUNT=FILE"
            ))));
        };
        let account: Name = account
            .parse()
            .bad_input(format!("parsing the account of --abi {argument:?}"))?;
        abis.insert(account, load_abi(path.as_ref())?);
    }
    Ok(abis)
}

/// Encodes JSON action data with the ABI given for the action's account.
fn encode_action_data(
    abis: &HashMap<Name, Abi>,
    account: Name,
    action: Name,
    data: &Value,
) -> Result<Vec<u8>, String> {
    let abi = abis.get(&account).ok_or_else(|| {
        format!("action data of {account}::{action} is JSON, but no --abi {account}=FILE was given")
    })?;
    let type_name = abi
        .action_type(action)
        .ok_or_else(|| format!("the ABI of {account} has no action {action}"))?;
    abi.encode(type_name, data)
        .map_err(|err| format!("{:#}", anyhow::Error::new(err)))
}
