//! Chain API v1 client (`POST /v1/chain/<call>`), as nodeos' `chain_api_plugin` serves it.
//!
//! Every call has a timeout. Reads are retried with exponential backoff when the request fails
//! in transport (connection refused or reset, timeout); a push is retried only when the
//! connection could not be made, so the node never saw it. A response from the node is never
//! retried: an error body becomes [`Error::Node`] with nodeos' code, name and first detail
//! message (for a contract `check()` failure, the contract's text).
//!
//! This module never panics on what a node sends; malformed bodies are [`Error::Response`].

use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::antelope::checksum::Checksum256;
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::time::TimePoint;
use crate::antelope::transaction::PackedTransaction;
use crate::chain::tls::{TlsRoots, is_tls_failure};

/// Result of Chain API calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a Chain API call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL is not an `http://` or `https://` URL.
    #[error("invalid Chain API URL {url:?}: expected http:// or https://")]
    InvalidUrl {
        /// The URL given.
        url: String,
    },
    /// The HTTP client could not be built.
    #[error("building the HTTP client")]
    Client {
        /// Builder failure.
        #[source]
        source: reqwest::Error,
    },
    /// The trusted TLS roots could not be set up.
    #[error("setting up TLS")]
    Tls {
        /// Why.
        #[source]
        source: crate::chain::tls::TlsError,
    },
    /// The request failed in transport on every attempt.
    #[error("calling {endpoint} failed after {attempts} attempt(s)")]
    Transport {
        /// Chain API call, e.g. `get_info`.
        endpoint: &'static str,
        /// Attempts made.
        attempts: u32,
        /// Last transport failure.
        #[source]
        source: reqwest::Error,
    },
    /// The node answered with an error body.
    #[error("{endpoint} rejected by the node: {error}")]
    Node {
        /// Chain API call.
        endpoint: &'static str,
        /// The node's error.
        error: NodeError,
    },
    /// The node answered with an error status and a body that is not a nodeos error.
    #[error("{endpoint} answered HTTP {status}")]
    Status {
        /// Chain API call.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
    },
    /// The node answered success with a body that does not have the expected shape.
    #[error("{endpoint} answered an unexpected body")]
    Response {
        /// Chain API call.
        endpoint: &'static str,
        /// Parse failure.
        #[source]
        source: serde_json::Error,
    },
    /// `get_raw_abi` returned an `abi` that is not base64.
    #[error("the raw ABI of {account} is not base64")]
    AbiEncoding {
        /// Account whose ABI was read.
        account: Name,
        /// Decode failure.
        #[source]
        source: base64::DecodeError,
    },
}

impl Error {
    /// Whether trying again cannot help: a malformed URL, a client that cannot be built, or a
    /// TLS handshake that failed (an untrusted or mismatched certificate, a server that does
    /// not speak TLS).
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::InvalidUrl { .. } | Self::Client { .. } | Self::Tls { .. } => true,
            Self::Transport { source, .. } => is_tls_failure(source),
            _ => false,
        }
    }

    /// The nodeos error when the node rejected the call, `None` for transport and shape failures.
    pub fn node_error(&self) -> Option<&NodeError> {
        match self {
            Self::Node { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// An error as nodeos reports it: `{"code":500,"message":…,"error":{"code","name","what","details"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeError {
    /// HTTP status of the response.
    pub http_status: u16,
    /// Chain exception code, e.g. 3050003 for a contract assertion.
    pub code: i64,
    /// Chain exception name, e.g. `eosio_assert_message_exception`.
    pub name: String,
    /// Generic description of the exception.
    pub what: String,
    /// The `details[].message` lines, in order.
    pub details: Vec<String>,
}

impl NodeError {
    /// The most specific message: the first detail, or `what` when there is none.
    pub fn message(&self) -> &str {
        self.details
            .first()
            .map_or(self.what.as_str(), String::as_str)
    }
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.name, self.code, self.message())
    }
}

/// Timeouts and retry policy of a [`ChainApi`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiOptions {
    /// Deadline of one HTTP request, connection included.
    pub timeout: Duration,
    /// Attempts per call, at least one.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled before each later one.
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// `get_info` as Leap 5 returns it (the fields MONO uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Info {
    /// Node software version.
    pub server_version: String,
    /// Chain id.
    pub chain_id: Checksum256,
    /// Head block number.
    pub head_block_num: u32,
    /// Head block id.
    pub head_block_id: Checksum256,
    /// Head block time.
    pub head_block_time: TimePoint,
    /// Producer of the head block.
    pub head_block_producer: Name,
    /// Last irreversible block number.
    pub last_irreversible_block_num: u32,
    /// Last irreversible block id.
    pub last_irreversible_block_id: Checksum256,
}

/// `get_block_info`: a block's fixed-size header summary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct BlockInfo {
    /// Block number.
    pub block_num: u32,
    /// Block id.
    pub id: Checksum256,
    /// Id of the previous block.
    pub previous: Checksum256,
    /// Block time (`block_timestamp_type` printed as a time point).
    pub timestamp: TimePoint,
    /// Producer.
    pub producer: Name,
    /// TaPoS `ref_block_num` (low 16 bits of the block number).
    pub ref_block_num: u16,
    /// TaPoS `ref_block_prefix`.
    pub ref_block_prefix: u32,
}

/// `get_raw_abi`: an account's binary ABI and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAbi {
    /// The account.
    pub account_name: Name,
    /// SHA-256 of the account's code (zero when none).
    pub code_hash: Checksum256,
    /// SHA-256 of the binary ABI (zero when none).
    pub abi_hash: Checksum256,
    /// The binary `abi_def`; empty when the account has no ABI.
    pub abi: Vec<u8>,
}

/// A `get_table_rows` query; rows come back as JSON decoded by the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableQuery {
    /// Contract.
    pub code: Name,
    /// Scope, a name or a number as text.
    pub scope: String,
    /// Table.
    pub table: Name,
    /// Inclusive lower bound of the index key, as nodeos parses it for `key_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_bound: Option<String>,
    /// Inclusive upper bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper_bound: Option<String>,
    /// Rows per page.
    pub limit: u32,
    /// `"primary"`, `"secondary"`, … or `"1"`..`"10"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_position: Option<String>,
    /// `i64`, `i128`, `name`, `sha256`, … for secondary indices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// Walk the index backwards.
    pub reverse: bool,
}

impl TableQuery {
    /// All rows of `code`'s `table` in `scope`, by primary key, 100 per page.
    pub fn new(code: Name, scope: &str, table: Name) -> Self {
        Self {
            code,
            scope: scope.to_owned(),
            table,
            lower_bound: None,
            upper_bound: None,
            limit: 100,
            index_position: None,
            key_type: None,
            reverse: false,
        }
    }
}

/// One page of `get_table_rows`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TableRows {
    /// Rows as JSON.
    pub rows: Vec<Value>,
    /// Whether rows remain after this page.
    #[serde(default)]
    pub more: bool,
    /// Key to pass as the next `lower_bound` when `more`.
    #[serde(default)]
    pub next_key: String,
}

/// `get_account` (permissions and CPU and NET; RAM is not read).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    /// The account.
    pub account_name: Name,
    /// Its permissions.
    pub permissions: Vec<AccountPermission>,
    /// Its CPU, in microseconds.
    #[serde(default = "AccountLimit::unlimited")]
    pub cpu_limit: AccountLimit,
    /// Its NET, in bytes.
    #[serde(default = "AccountLimit::unlimited")]
    pub net_limit: AccountLimit,
}

/// One resource of an account; `-1` for `available` and `max` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct AccountLimit {
    /// Used in the current window.
    #[serde(with = "crate::antelope::json::i64_str")]
    pub used: i64,
    /// Left.
    #[serde(with = "crate::antelope::json::i64_str")]
    pub available: i64,
    /// The most the account may use.
    #[serde(with = "crate::antelope::json::i64_str")]
    pub max: i64,
}

impl AccountLimit {
    /// What a node reports for an account without limits.
    pub fn unlimited() -> Self {
        Self {
            used: 0,
            available: -1,
            max: -1,
        }
    }

    /// Whether the account has no limit on this resource.
    pub fn is_unlimited(&self) -> bool {
        self.max < 0
    }
}

/// One permission of an account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountPermission {
    /// Permission name (`owner`, `active`, …).
    pub perm_name: Name,
    /// Parent permission (empty name for `owner`).
    pub parent: Name,
    /// Who may act with it.
    pub required_auth: RequiredAuth,
}

/// An authority: a threshold over weighted keys and accounts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RequiredAuth {
    /// Weight needed.
    pub threshold: u32,
    /// Weighted keys.
    #[serde(default)]
    pub keys: Vec<KeyWeight>,
    /// Weighted account permissions.
    #[serde(default)]
    pub accounts: Vec<AccountWeight>,
}

/// A weighted key of an authority.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KeyWeight {
    /// The key (`EOS…` or `PUB_K1_…`).
    pub key: PublicKey,
    /// Its weight.
    pub weight: u16,
}

/// A weighted account permission of an authority.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountWeight {
    /// The permission.
    pub permission: PermissionRef,
    /// Its weight.
    pub weight: u16,
}

/// `actor@permission`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PermissionRef {
    /// Account.
    pub actor: Name,
    /// Permission.
    pub permission: Name,
}

/// What the node returns for an accepted transaction.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PushResult {
    /// Transaction id.
    pub transaction_id: Checksum256,
    /// The transaction trace as JSON, inline actions included.
    pub processed: Value,
}

/// A Chain API v1 client for one node; cheap to clone.
#[derive(Debug, Clone)]
pub struct ChainApi {
    http: reqwest::Client,
    base_url: String,
    options: ApiOptions,
}

/// Whether a call may be repeated after a transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// A read: retry on any transport failure.
    Transport,
    /// A push: retry only when the connection was never made.
    ConnectOnly,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: i64,
    name: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    details: Vec<ErrorMessage>,
}

#[derive(Deserialize)]
struct ErrorMessage {
    message: String,
}

#[derive(Deserialize)]
struct RawAbiBody {
    account_name: Name,
    code_hash: Checksum256,
    abi_hash: Checksum256,
    #[serde(default)]
    abi: Option<String>,
}

impl RawAbiBody {
    fn into_raw_abi(self, account: Name) -> Result<RawAbi> {
        let abi = match self.abi.as_deref() {
            Some(text) => BASE64
                .decode(text)
                .map_err(|source| Error::AbiEncoding { account, source })?,
            None => Vec::new(),
        };
        Ok(RawAbi {
            account_name: self.account_name,
            code_hash: self.code_hash,
            abi_hash: self.abi_hash,
            abi,
        })
    }
}

/// The base64 nodeos writes (`fc::base64_encode`, padded); unpadded text is accepted too.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl ChainApi {
    /// A client for the node at `base_url` (`http://host:8888`, with or without a trailing `/`).
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] for a URL that is not HTTP(S), [`Error::Client`] when the HTTP
    /// client cannot be built.
    pub fn new(base_url: &str, options: ApiOptions) -> Result<Self> {
        let roots = TlsRoots::system().map_err(|source| Error::Tls { source })?;
        Self::with_roots(base_url, options, &roots)
    }

    /// A client for the node at `base_url` that trusts `roots` over HTTPS.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] unless `http://` or `https://`; [`Error::Client`] when the HTTP
    /// client cannot be built.
    pub fn with_roots(base_url: &str, options: ApiOptions, roots: &TlsRoots) -> Result<Self> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::InvalidUrl {
                url: base_url.to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .tls_backend_preconfigured(roots.client_config().as_ref().clone())
            .build()
            .map_err(|source| Error::Client { source })?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            options,
        })
    }

    /// `get_info`: head, LIB and chain id.
    ///
    /// # Errors
    /// As every call: [`Error::Transport`], [`Error::Node`], [`Error::Status`], [`Error::Response`].
    pub async fn get_info(&self) -> Result<Info> {
        self.call("get_info", &json!({}), Retry::Transport).await
    }

    /// `get_block_info` of `block_num`; an unknown block is [`Error::Node`] with code 3100002.
    ///
    /// # Errors
    /// As [`ChainApi::get_info`].
    pub async fn get_block_info(&self, block_num: u32) -> Result<BlockInfo> {
        self.call(
            "get_block_info",
            &json!({ "block_num": block_num }),
            Retry::Transport,
        )
        .await
    }

    /// `get_raw_abi` of `account`: its current binary ABI (empty when it has none).
    ///
    /// # Errors
    /// As [`ChainApi::get_info`], and [`Error::AbiEncoding`] when `abi` is not base64.
    pub async fn get_raw_abi(&self, account: Name) -> Result<RawAbi> {
        let body: RawAbiBody = self
            .call(
                "get_raw_abi",
                &json!({ "account_name": account }),
                Retry::Transport,
            )
            .await?;
        body.into_raw_abi(account)
    }

    /// One page of `get_table_rows`, rows decoded to JSON by the node.
    ///
    /// # Errors
    /// As [`ChainApi::get_info`].
    pub async fn get_table_rows(&self, query: &TableQuery) -> Result<TableRows> {
        let mut body = serde_json::to_value(query).map_err(|source| Error::Response {
            endpoint: "get_table_rows",
            source,
        })?;
        if let Some(object) = body.as_object_mut() {
            object.insert("json".to_owned(), Value::Bool(true));
        }
        self.call("get_table_rows", &body, Retry::Transport).await
    }

    /// Every row `query` selects, page after page, stopping after `max_rows` rows.
    ///
    /// # Errors
    /// As [`ChainApi::get_info`].
    pub async fn get_all_table_rows(
        &self,
        query: &TableQuery,
        max_rows: usize,
    ) -> Result<Vec<Value>> {
        let mut page_query = query.clone();
        let mut rows = Vec::new();
        // Each page adds at least one row or ends the walk, so the loop is bounded by `max_rows`.
        while rows.len() < max_rows {
            let page = self.get_table_rows(&page_query).await?;
            let got_rows = !page.rows.is_empty();
            rows.extend(page.rows);
            if !page.more || !got_rows || page.next_key.is_empty() {
                break;
            }
            page_query.lower_bound = Some(page.next_key);
        }
        rows.truncate(max_rows);
        Ok(rows)
    }

    /// `get_account`: the account's permissions.
    ///
    /// # Errors
    /// As [`ChainApi::get_info`]; an unknown account is [`Error::Node`].
    pub async fn get_account(&self, account: Name) -> Result<Account> {
        self.call(
            "get_account",
            &json!({ "account_name": account }),
            Retry::Transport,
        )
        .await
    }

    /// `push_transaction`: executes the transaction on the node and returns its trace.
    ///
    /// # Errors
    /// As [`ChainApi::get_info`]; a rejected transaction is [`Error::Node`] and never retried.
    pub async fn push_transaction(&self, trx: &PackedTransaction) -> Result<PushResult> {
        self.push("push_transaction", trx).await
    }

    /// `send_transaction`: the asynchronous form of [`ChainApi::push_transaction`].
    ///
    /// # Errors
    /// As [`ChainApi::push_transaction`].
    pub async fn send_transaction(&self, trx: &PackedTransaction) -> Result<PushResult> {
        self.push("send_transaction", trx).await
    }

    async fn push(&self, endpoint: &'static str, trx: &PackedTransaction) -> Result<PushResult> {
        let body =
            serde_json::to_value(trx).map_err(|source| Error::Response { endpoint, source })?;
        self.call(endpoint, &body, Retry::ConnectOnly).await
    }

    /// Posts `body` to `/v1/chain/{endpoint}` and parses the answer, retrying per `retry`.
    async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        body: &Value,
        retry: Retry,
    ) -> Result<T> {
        let url = format!("{}/v1/chain/{endpoint}", self.base_url);
        let max_attempts = self.options.max_attempts.max(1);
        let mut backoff = self.options.initial_backoff;
        let mut attempt = 1;
        loop {
            match self.attempt(&url, body).await {
                Ok((status, bytes)) => return parse_response(endpoint, status, &bytes),
                Err(source) => {
                    let retryable = match retry {
                        Retry::Transport => true,
                        Retry::ConnectOnly => source.is_connect(),
                    };
                    if !retryable || attempt >= max_attempts {
                        return Err(Error::Transport {
                            endpoint,
                            attempts: attempt,
                            source,
                        });
                    }
                    tracing::warn!(endpoint, attempt, error = %source, "chain API call failed, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.options.max_backoff);
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(&self, url: &str, body: &Value) -> reqwest::Result<(u16, Vec<u8>)> {
        let response = self.http.post(url).json(body).send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok((status, bytes.to_vec()))
    }
}

/// Reads a node's answer to `get_raw_abi` of `account` (pure): what [`ChainApi::get_raw_abi`]
/// does with the HTTP status and body it receives.
///
/// # Errors
/// As [`parse_response`], and [`Error::AbiEncoding`] when `abi` is not base64.
pub fn parse_raw_abi(account: Name, status: u16, body: &[u8]) -> Result<RawAbi> {
    parse_response::<RawAbiBody>("get_raw_abi", status, body)?.into_raw_abi(account)
}

/// Turns a node's answer into the expected value or the node's error (pure).
///
/// # Errors
/// [`Error::Response`] for a success status with a body of another shape, [`Error::Node`] for
/// a nodeos error body, [`Error::Status`] for any other error answer.
pub fn parse_response<T: DeserializeOwned>(
    endpoint: &'static str,
    status: u16,
    body: &[u8],
) -> Result<T> {
    if (200..300).contains(&status) {
        return serde_json::from_slice(body).map_err(|source| Error::Response { endpoint, source });
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => Err(Error::Node {
            endpoint,
            error: NodeError {
                http_status: status,
                code: error.code,
                name: error.name,
                what: error.what,
                details: error
                    .details
                    .into_iter()
                    .map(|detail| detail.message)
                    .collect(),
            },
        }),
        Err(_) => Err(Error::Status { endpoint, status }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nodeos_error_body_becomes_a_node_error() {
        let body = br#"{"code":500,"message":"Internal Service Error","error":{"code":3050003,
            "name":"eosio_assert_message_exception","what":"eosio_assert_message assertion failure",
            "details":[{"message":"assertion failure with message: no such decision","file":"x.cpp",
            "line_number":14,"method":"eosio_assert"}]}}"#;
        let err = parse_response::<Info>("push_transaction", 500, body).expect_err("rejected");
        let node = err.node_error().expect("node error");
        assert_eq!(node.http_status, 500);
        assert_eq!(node.code, 3050003);
        assert_eq!(node.name, "eosio_assert_message_exception");
        assert_eq!(
            node.message(),
            "assertion failure with message: no such decision"
        );
    }

    #[test]
    fn an_error_without_details_reports_what() {
        let body = br#"{"code":400,"message":"Unknown Block","error":{"code":3100002,
            "name":"unknown_block_exception","what":"Unknown block","details":[]}}"#;
        let err = parse_response::<BlockInfo>("get_block_info", 400, body).expect_err("rejected");
        assert_eq!(
            err.node_error().map(NodeError::message),
            Some("Unknown block")
        );
    }

    #[test]
    fn a_foreign_error_body_is_a_status_error() {
        let err =
            parse_response::<Info>("get_info", 502, b"<html>bad gateway</html>").expect_err("502");
        assert!(matches!(err, Error::Status { status: 502, .. }), "{err:?}");
    }

    #[test]
    fn a_malformed_success_body_is_a_response_error() {
        let err = parse_response::<Info>("get_info", 200, b"{\"head_block_num\":\"x\"}")
            .expect_err("bad");
        assert!(
            matches!(
                err,
                Error::Response {
                    endpoint: "get_info",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn get_info_reads_leap_5_fields() {
        let body = br#"{"server_version":"d133c641","chain_id":"73e4385a2708e6d7048834fbc1079f2fabb17b3c125b146af438971e90716c4d",
            "head_block_num":10,"last_irreversible_block_num":9,
            "last_irreversible_block_id":"00000009aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "head_block_id":"0000000abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "head_block_time":"2024-01-01T00:00:05.000","head_block_producer":"eosio",
            "virtual_block_cpu_limit":200000000,"block_cpu_limit":200000,"total_cpu_weight":"120605064695421"}"#;
        let info: Info = parse_response("get_info", 200, body).expect("parses");
        assert_eq!(info.head_block_num, 10);
        assert_eq!(info.last_irreversible_block_num, 9);
        assert_eq!(info.head_block_producer.to_string(), "eosio");
    }

    #[test]
    fn urls_must_be_http() {
        assert!(matches!(
            ChainApi::new("ws://127.0.0.1:1", ApiOptions::default()),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(ChainApi::new("http://127.0.0.1:1/", ApiOptions::default()).is_ok());
    }
}
