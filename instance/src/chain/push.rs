//! Transactions an account of the instance signs itself (the cooperative, with its own key):
//! actions given as JSON are encoded with the contracts' ABIs read from the node, wrapped in a
//! transaction with TaPoS on the last irreversible block and a two-minute expiry, as wallets
//! build them, signed and pushed.
//!
//! A push is idempotent by transaction id: when the answer to a push is lost in transport, the
//! same signed bytes are pushed again, and the node's "duplicate transaction" answer means the
//! first push went through, so it is reported as pushed rather than done twice. The same holds
//! for a caller asking again before the head moves: the same actions make the same transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::antelope::abi::Abi;
use crate::antelope::abi::def::AbiDef;
use crate::antelope::checksum::Checksum256;
use crate::antelope::keys::PrivateKey;
use crate::antelope::name::Name;
use crate::antelope::time::TimePointSec;
use crate::antelope::transaction::{Action, PermissionLevel, Tapos, Transaction, TransactionError};
use crate::chain::api::{self, ChainApi};

/// How long a pushed transaction stays valid, as wharfkit sets it.
pub const EXPIRATION_SECS: u32 = 120;
/// Pushes of the same signed transaction when answers are lost in transport.
const PUSH_ATTEMPTS: u32 = 3;
/// The chain's exception code of a transaction it already has.
const TX_DUPLICATE: i64 = 3_040_008;
const ACTIVE: Name = Name::from_str_const("active");

/// Why a transaction was not pushed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node could not be asked (its ABI, its head, the push itself).
    #[error("calling the chain")]
    Chain(#[source] api::Error),
    /// The node refused the transaction (a contract's check failed, a missing authority, …).
    #[error("the chain refused {action}: {message}")]
    Rejected {
        /// The first action, `contract::action`.
        action: String,
        /// The chain's most specific message.
        message: String,
    },
    /// The contract's ABI could not be read.
    #[error("reading the ABI of {contract}")]
    Abi {
        /// The contract.
        contract: Name,
        /// The failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The contract has no such action.
    #[error("{contract} has no action {action}")]
    NoAction {
        /// The contract.
        contract: Name,
        /// The action.
        action: Name,
    },
    /// The action's data does not fit the ABI.
    #[error("encoding {contract}::{action}")]
    Encode {
        /// The contract.
        contract: Name,
        /// The action.
        action: Name,
        /// The failure.
        #[source]
        source: crate::antelope::abi::Error,
    },
    /// The head block time cannot give an expiry.
    #[error("head block time out of range")]
    Time,
    /// Signing failed.
    #[error("signing the transaction")]
    Sign(#[source] TransactionError),
}

/// One action to push, its data in the ABI's JSON form.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonAction {
    /// The contract.
    pub contract: Name,
    /// The action.
    pub action: Name,
    /// The data.
    pub data: Value,
}

impl JsonAction {
    /// `contract::action` with `data`.
    pub fn new(contract: Name, action: Name, data: Value) -> Self {
        Self {
            contract,
            action,
            data,
        }
    }
}

/// A transaction the chain accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// Its id.
    pub transaction_id: Checksum256,
    /// The block it went into, when this push was the one that put it there.
    pub block_num: Option<u32>,
}

/// Signs transactions with one account's active key and pushes them; cheap to clone.
#[derive(Clone)]
pub struct Pusher {
    api: ChainApi,
    actor: Name,
    key: Arc<PrivateKey>,
    abis: Arc<Mutex<HashMap<Name, Arc<Abi>>>>,
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher")
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

impl Pusher {
    /// Pushes through `api` as `actor@active`, signing with `key`.
    pub fn new(api: ChainApi, actor: Name, key: PrivateKey) -> Self {
        Self {
            api,
            actor,
            key: Arc::new(key),
            abis: Arc::default(),
        }
    }

    /// The node's client.
    pub fn api(&self) -> &ChainApi {
        &self.api
    }

    /// Pushes `actions` in one transaction authorized by the actor.
    ///
    /// # Errors
    /// [`Error::Rejected`] when the chain refuses it; the other variants when it could not be
    /// built or the node not reached.
    pub async fn push(&self, actions: &[JsonAction]) -> Result<Pushed, Error> {
        let mut encoded = Vec::with_capacity(actions.len());
        for action in actions {
            let abi = self.abi(action.contract).await?;
            let type_name = abi.action_type(action.action).ok_or(Error::NoAction {
                contract: action.contract,
                action: action.action,
            })?;
            let data = abi
                .encode(type_name, &action.data)
                .map_err(|source| Error::Encode {
                    contract: action.contract,
                    action: action.action,
                    source,
                })?;
            encoded.push(Action {
                account: action.contract,
                name: action.action,
                authorization: vec![PermissionLevel {
                    actor: self.actor,
                    permission: ACTIVE,
                }],
                data,
            });
        }
        let info = self.api.get_info().await.map_err(Error::Chain)?;
        let head_secs = info.head_block_time.as_micros() / 1_000_000;
        let expiration = u32::try_from(head_secs)
            .ok()
            .and_then(|secs| secs.checked_add(EXPIRATION_SECS))
            .ok_or(Error::Time)?;
        let trx = Transaction::new(
            TimePointSec::from_secs(expiration),
            Tapos::from_block_id(&info.last_irreversible_block_id),
            encoded,
        );
        let transaction_id = trx.id();
        let packed = trx
            .sign(&info.chain_id, [self.key.as_ref()])
            .map_err(Error::Sign)?
            .to_packed();
        let first = actions
            .first()
            .map(|action| format!("{}::{}", action.contract, action.action))
            .unwrap_or_default();
        let mut attempt = 1;
        loop {
            match self.api.push_transaction(&packed).await {
                Ok(result) => {
                    let block_num = result.processed["block_num"]
                        .as_u64()
                        .and_then(|num| u32::try_from(num).ok());
                    return Ok(Pushed {
                        transaction_id,
                        block_num,
                    });
                }
                Err(err) => match err.node_error() {
                    // Only these signed bytes have this id: the chain has them already.
                    Some(node) if node.code == TX_DUPLICATE => {
                        return Ok(Pushed {
                            transaction_id,
                            block_num: None,
                        });
                    }
                    Some(node) => {
                        return Err(Error::Rejected {
                            action: first,
                            message: node.message().to_owned(),
                        });
                    }
                    None if attempt < PUSH_ATTEMPTS && !err.is_permanent() => {
                        tracing::warn!(attempt, error = %err, "push failed, pushing the same transaction again");
                        attempt += 1;
                    }
                    None => return Err(Error::Chain(err)),
                },
            }
        }
    }

    /// The ABI of `contract`, read from the node once.
    async fn abi(&self, contract: Name) -> Result<Arc<Abi>, Error> {
        if let Some(abi) = self.cached(contract) {
            return Ok(abi);
        }
        let raw = self
            .api
            .get_raw_abi(contract)
            .await
            .map_err(|source| Error::Abi {
                contract,
                source: Box::new(source),
            })?;
        let def = AbiDef::from_bin(&raw.abi).map_err(|source| Error::Abi {
            contract,
            source: Box::new(source),
        })?;
        let abi = Arc::new(Abi::from_def(def).map_err(|source| Error::Abi {
            contract,
            source: Box::new(source),
        })?);
        if let Ok(mut abis) = self.abis.lock() {
            abis.insert(contract, abi.clone());
        }
        Ok(abi)
    }

    fn cached(&self, contract: Name) -> Option<Arc<Abi>> {
        self.abis.lock().ok()?.get(&contract).cloned()
    }
}
