//! State History (SHiP) websocket client, as Leap 5 (COOPOS) and Spring 1.x nodes serve it.
//!
//! A session: connect; read the server's ABI (the first frame, text); check that it describes
//! the messages exactly as the decoders of [`crate::antelope::ship`] read them, so a server
//! speaking another layout is refused up front instead of misread, and number the messages as
//! that ABI does ([`Protocol`]); optionally ask the status; send one blocks request (`_v1` to
//! a Spring node, `_v0` to Leap 5); then read the block results, acknowledging them so that at
//! most `max_messages_in_flight` are ever unacknowledged.
//!
//! Every read and connect has a deadline; a silent or closed socket is an error the caller
//! answers by reconnecting with `have_positions`, so the server resumes at the first block the
//! client does not hold. Nothing here retries or sleeps.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream, tungstenite};

use serde::Deserialize;

use crate::antelope::abi::def::{StructDef, VariantDef};
use crate::antelope::binary;
use crate::antelope::ship::messages::MissingMessage;
use crate::antelope::ship::{
    self, BlockPosition, GetBlocksRequestV0, GetBlocksResult, GetStatusResult, Protocol, Request,
    ShipResult,
};
use crate::chain::tls::{TlsRoots, is_tls_failure};

/// Result of SHiP client operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a SHiP session failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not `ws://` or `wss://`.
    #[error("invalid SHiP URL {url:?}: expected ws:// or wss://")]
    InvalidUrl {
        /// The URL given.
        url: String,
    },
    /// The websocket could not be opened.
    #[error("connecting to the SHiP endpoint")]
    Connect {
        /// Handshake or connection failure.
        #[source]
        source: tungstenite::Error,
    },
    /// Nothing arrived before the deadline.
    #[error("SHiP endpoint sent nothing for {waited:?} while {doing}")]
    Timeout {
        /// What the client waited for.
        doing: &'static str,
        /// The deadline.
        waited: Duration,
    },
    /// The server closed the connection.
    #[error("SHiP endpoint closed the connection")]
    Closed,
    /// Reading or writing the socket failed.
    #[error("SHiP socket failed")]
    Socket {
        /// Websocket failure.
        #[source]
        source: tungstenite::Error,
    },
    /// The first frame was not the ABI text.
    #[error("SHiP endpoint did not send its ABI as the first, text, frame")]
    MissingAbi,
    /// The ABI text is not an ABI.
    #[error("SHiP endpoint sent an ABI that does not parse")]
    InvalidAbi {
        /// Parse failure.
        #[source]
        source: serde_json::Error,
    },
    /// The server's ABI describes a message type otherwise than this client reads it.
    #[error("SHiP endpoint's ABI defines {type_name} differently from Leap 5 and Spring")]
    IncompatibleAbi {
        /// The type that differs or is missing.
        type_name: &'static str,
    },
    /// The server's ABI lacks a message the client needs.
    #[error("SHiP endpoint's ABI lacks a message this client needs")]
    MissingMessage {
        /// What is missing.
        #[source]
        source: MissingMessage,
    },
    /// A text frame arrived where binary messages were expected.
    #[error("SHiP endpoint sent an unexpected text frame")]
    UnexpectedText,
    /// A binary message does not decode as a `result`.
    #[error("SHiP result does not decode")]
    Decode {
        /// Decode failure.
        #[source]
        source: binary::Error,
    },
    /// A status arrived where blocks were expected, or the other way round.
    #[error("SHiP endpoint sent a {got} result while {expected} was expected")]
    UnexpectedResult {
        /// The result kind expected.
        expected: &'static str,
        /// The result kind received.
        got: &'static str,
    },
}

impl Error {
    /// Whether reconnecting cannot help: a malformed URL, a failed TLS handshake, an endpoint
    /// that refuses the websocket upgrade outright (4xx), or a server whose protocol this
    /// client does not read.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::InvalidUrl { .. }
            | Self::IncompatibleAbi { .. }
            | Self::MissingMessage { .. } => true,
            Self::Connect { source } => match source {
                tungstenite::Error::Tls(_) | tungstenite::Error::Url(_) => true,
                tungstenite::Error::Io(error) => is_tls_failure(error),
                tungstenite::Error::Http(response) => response.status().is_client_error(),
                _ => false,
            },
            _ => false,
        }
    }
}

/// Deadlines and flow control of a [`ShipClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShipOptions {
    /// Deadline for the websocket handshake and the ABI frame.
    pub connect_timeout: Duration,
    /// Longest silence tolerated while waiting for a message.
    pub read_timeout: Duration,
    /// `max_messages_in_flight` of the blocks request, at least 1.
    pub max_messages_in_flight: u32,
}

impl Default for ShipOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_messages_in_flight: 32,
        }
    }
}

/// Which blocks to stream; the fetch flags are always all on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocksRequest {
    /// First block wanted.
    pub start_block_num: u32,
    /// One past the last block wanted; `u32::MAX` to follow forever.
    pub end_block_num: u32,
    /// Stream only irreversible blocks.
    pub irreversible_only: bool,
    /// Blocks the client holds (newest last); the server resumes at the first that differs.
    pub have_positions: Vec<BlockPosition>,
}

/// One SHiP websocket session.
#[derive(Debug)]
pub struct ShipClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    abi_text: String,
    protocol: Protocol,
    options: ShipOptions,
    unacked: u32,
}

/// Types whose layout the typed decoders fix; the server's ABI must define each the same way.
const CHECKED_STRUCTS: [&str; 21] = [
    "block_position",
    "get_status_request_v0",
    "get_blocks_request_v0",
    "get_blocks_ack_request_v0",
    "get_status_result_v0",
    "get_blocks_result_v0",
    "action_receipt_v0",
    "account_auth_sequence",
    "account_delta",
    "permission_level",
    "action",
    "action_trace_v0",
    "action_trace_v1",
    "partial_transaction_v0",
    "extension",
    "transaction_trace_v0",
    "table_delta_v0",
    "row",
    "contract_row_v0",
    "account_v0",
    // The parser reads `previous` and `timestamp` from the front of each block's header.
    "block_header",
];

/// Spring 1.x's messages, `(name, fields)`: a server that defines one must define it so.
const SPRING_STRUCTS: [(&str, &[(&str, &str)]); 4] = [
    ("get_status_request_v1", &[]),
    (
        "get_status_result_v1",
        &[
            ("head", "block_position"),
            ("last_irreversible", "block_position"),
            ("trace_begin_block", "uint32"),
            ("trace_end_block", "uint32"),
            ("chain_state_begin_block", "uint32"),
            ("chain_state_end_block", "uint32"),
            ("chain_id", "checksum256"),
            ("finality_data_begin_block", "uint32"),
            ("finality_data_end_block", "uint32"),
        ],
    ),
    (
        "get_blocks_request_v1",
        &[
            ("start_block_num", "uint32"),
            ("end_block_num", "uint32"),
            ("max_messages_in_flight", "uint32"),
            ("have_positions", "block_position[]"),
            ("irreversible_only", "bool"),
            ("fetch_block", "bool"),
            ("fetch_traces", "bool"),
            ("fetch_deltas", "bool"),
            ("fetch_finality_data", "bool"),
        ],
    ),
    (
        "get_blocks_result_v1",
        &[
            ("head", "block_position"),
            ("last_irreversible", "block_position"),
            ("this_block", "block_position?"),
            ("prev_block", "block_position?"),
            ("block", "bytes?"),
            ("traces", "bytes?"),
            ("deltas", "bytes?"),
            ("finality_data", "bytes?"),
        ],
    ),
];

/// Variants whose leading alternatives the typed decoders fix by index, in order. `request`
/// and `result` are numbered by name instead ([`Protocol`]).
const CHECKED_VARIANTS: [&str; 7] = [
    "action_receipt",
    "action_trace",
    "partial_transaction",
    "transaction_trace",
    "table_delta",
    "contract_row",
    "account",
];

impl ShipClient {
    /// Connects to `url` (`wss://` trusting `roots`), reads the server's ABI frame and checks
    /// it.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`], [`Error::Connect`], [`Error::Timeout`], [`Error::MissingAbi`],
    /// [`Error::InvalidAbi`], [`Error::IncompatibleAbi`] or [`Error::MissingMessage`].
    pub async fn connect(url: &str, options: ShipOptions, roots: &TlsRoots) -> Result<Self> {
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(Error::InvalidUrl {
                url: url.to_owned(),
            });
        }
        // Nagle's algorithm would hold back the small acknowledgements behind unacknowledged
        // data, stalling the stream by the peer's delayed-ACK time on every window.
        let disable_nagle = true;
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            url,
            None,
            disable_nagle,
            Some(Connector::Rustls(roots.client_config().clone())),
        );
        let (socket, _response) = tokio::time::timeout(options.connect_timeout, connecting)
            .await
            .map_err(|_| Error::Timeout {
                doing: "connecting",
                waited: options.connect_timeout,
            })?
            .map_err(|source| Error::Connect { source })?;
        let mut client = Self {
            socket,
            abi_text: String::new(),
            protocol: Protocol::leap5(),
            options,
            unacked: 0,
        };
        let frame = client
            .read_frame("reading the ABI", options.connect_timeout)
            .await?;
        let Message::Text(text) = frame else {
            return Err(Error::MissingAbi);
        };
        client.protocol = check_abi(&ShipAbi::from_json_str(text.as_str())?)?;
        client.abi_text = text.as_str().to_owned();
        Ok(client)
    }

    /// The ABI text the server sent.
    pub fn abi_text(&self) -> &str {
        &self.abi_text
    }

    /// How the server numbers its messages.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }

    /// Asks the server's status; call before [`ShipClient::request_blocks`].
    ///
    /// # Errors
    /// Socket, timeout and decode errors; [`Error::UnexpectedResult`] for a blocks result.
    pub async fn status(&mut self) -> Result<GetStatusResult> {
        self.send(&Request::GetStatus).await?;
        match self.read_result("waiting for the status").await? {
            ShipResult::Status(status) => Ok(status),
            ShipResult::Blocks(_) => Err(Error::UnexpectedResult {
                expected: "status",
                got: "blocks",
            }),
        }
    }

    /// Starts streaming blocks as `request` says.
    ///
    /// # Errors
    /// [`Error::Socket`] when the request cannot be sent.
    pub async fn request_blocks(&mut self, request: &BlocksRequest) -> Result<()> {
        let request = Request::GetBlocks(GetBlocksRequestV0 {
            start_block_num: request.start_block_num,
            end_block_num: request.end_block_num,
            max_messages_in_flight: self.options.max_messages_in_flight.max(1),
            have_positions: request.have_positions.clone(),
            irreversible_only: request.irreversible_only,
            fetch_block: true,
            fetch_traces: true,
            fetch_deltas: true,
        });
        self.unacked = 0;
        self.send(&request).await
    }

    /// The next streamed result; acknowledges received results in batches of half the window,
    /// so the server never stalls on a full window.
    ///
    /// # Errors
    /// Socket, timeout and decode errors; [`Error::UnexpectedResult`] for a status result.
    pub async fn next_blocks(&mut self) -> Result<GetBlocksResult> {
        let result = self.read_result("waiting for blocks").await?;
        self.unacked += 1;
        let ack_every = (self.options.max_messages_in_flight / 2).max(1);
        if self.unacked >= ack_every {
            let unacked = self.unacked;
            self.send(&Request::GetBlocksAck(unacked)).await?;
            self.unacked = 0;
        }
        match result {
            ShipResult::Blocks(blocks) => Ok(blocks),
            ShipResult::Status(_) => Err(Error::UnexpectedResult {
                expected: "blocks",
                got: "status",
            }),
        }
    }

    /// Closes the session politely; errors are irrelevant at this point and ignored.
    pub async fn close(mut self) {
        let _closing = self.socket.close(None).await;
    }

    async fn send(&mut self, request: &Request) -> Result<()> {
        let bytes = self.protocol.encode_request(request);
        self.socket
            .send(Message::binary(bytes))
            .await
            .map_err(|source| Error::Socket { source })
    }

    async fn read_result(&mut self, doing: &'static str) -> Result<ShipResult> {
        loop {
            match self.read_frame(doing, self.options.read_timeout).await? {
                Message::Binary(bytes) => {
                    return self
                        .protocol
                        .decode_result(&bytes)
                        .map_err(|source| Error::Decode { source });
                }
                Message::Text(_) => return Err(Error::UnexpectedText),
                // Pings are answered by tungstenite; control frames carry no result.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                Message::Close(_) => return Err(Error::Closed),
            }
        }
    }

    async fn read_frame(&mut self, doing: &'static str, deadline: Duration) -> Result<Message> {
        match tokio::time::timeout(deadline, self.socket.next()).await {
            Err(_) => Err(Error::Timeout {
                doing,
                waited: deadline,
            }),
            Ok(None) => Err(Error::Closed),
            Ok(Some(Err(source))) => Err(Error::Socket { source }),
            Ok(Some(Ok(message))) => Ok(message),
        }
    }
}

/// The parts of a SHiP ABI the client checks. SHiP ABIs name tables with strings longer than
/// account names (`contract_index_double`), so they are not contract ABIs and are not read as one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ShipAbi {
    /// Struct layouts.
    #[serde(default)]
    pub structs: Vec<StructDef>,
    /// Variants.
    #[serde(default)]
    pub variants: Vec<VariantDef>,
}

impl ShipAbi {
    /// Parses the ABI text of the first frame.
    ///
    /// # Errors
    /// [`Error::InvalidAbi`] when the text is not an ABI.
    pub fn from_json_str(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|source| Error::InvalidAbi { source })
    }
}

/// Checks that `abi` defines the message types as the typed decoders read them, and resolves
/// how it numbers requests and results (pure).
///
/// # Errors
/// [`Error::IncompatibleAbi`] naming the first type that is missing or differs;
/// [`Error::MissingMessage`] when the server cannot be asked for what the client needs.
pub fn check_abi(abi: &ShipAbi) -> Result<Protocol> {
    let reference: ShipAbi =
        serde_json::from_value(ship::abi_json()).map_err(|source| Error::InvalidAbi { source })?;
    for type_name in CHECKED_STRUCTS {
        let ours = reference.structs.iter().find(|s| s.name == type_name);
        let theirs = abi.structs.iter().find(|s| s.name == type_name);
        let same = match (ours, theirs) {
            (Some(ours), Some(theirs)) => ours.base == theirs.base && ours.fields == theirs.fields,
            _ => false,
        };
        if !same {
            return Err(Error::IncompatibleAbi { type_name });
        }
    }
    for (type_name, fields) in SPRING_STRUCTS {
        if let Some(theirs) = abi.structs.iter().find(|s| s.name == type_name) {
            let same = theirs.base.is_empty()
                && theirs.fields.len() == fields.len()
                && theirs
                    .fields
                    .iter()
                    .zip(fields)
                    .all(|(field, (name, type_))| field.name == *name && field.type_name == *type_);
            if !same {
                return Err(Error::IncompatibleAbi { type_name });
            }
        }
    }
    for type_name in CHECKED_VARIANTS {
        let ours = reference.variants.iter().find(|v| v.name == type_name);
        let theirs = abi.variants.iter().find(|v| v.name == type_name);
        let same = match (ours, theirs) {
            (Some(ours), Some(theirs)) => theirs.types.starts_with(&ours.types),
            _ => false,
        };
        if !same {
            return Err(Error::IncompatibleAbi { type_name });
        }
    }
    let alternatives = |name: &'static str| {
        abi.variants
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.types.as_slice())
            .ok_or(Error::IncompatibleAbi { type_name: name })
    };
    Protocol::from_variants(alternatives("request")?, alternatives("result")?)
        .map_err(|source| Error::MissingMessage { source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> ShipAbi {
        ShipAbi::from_json_str(&ship::abi_text()).expect("the protocol ABI parses")
    }

    #[test]
    fn the_protocol_abi_is_compatible() {
        assert_eq!(
            check_abi(&reference()).expect("compatible"),
            Protocol::leap5()
        );
    }

    #[test]
    fn the_published_leap5_abi_is_compatible() {
        let published =
            ShipAbi::from_json_str(include_str!("../../tests/data/ship/leap5-ship-abi.json"))
                .expect("parses");
        assert_eq!(
            check_abi(&published).expect("compatible"),
            Protocol::leap5()
        );
    }

    #[test]
    fn a_changed_partial_transaction_is_refused() {
        let mut abi = reference();
        let partial = abi
            .structs
            .iter_mut()
            .find(|s| s.name == "partial_transaction_v0")
            .expect("defined");
        partial.fields.pop();
        assert!(matches!(
            check_abi(&abi),
            Err(Error::IncompatibleAbi {
                type_name: "partial_transaction_v0"
            })
        ));
    }

    #[test]
    fn a_changed_spring_message_is_refused() {
        let mut abi = reference();
        let mut result = abi
            .structs
            .iter()
            .find(|s| s.name == "get_blocks_result_v0")
            .expect("defined")
            .clone();
        result.name = "get_blocks_result_v1".to_owned();
        abi.structs.push(result);
        assert!(matches!(
            check_abi(&abi),
            Err(Error::IncompatibleAbi {
                type_name: "get_blocks_result_v1"
            })
        ));
    }

    #[test]
    fn a_changed_field_is_refused() {
        let mut abi = reference();
        let result = abi
            .structs
            .iter_mut()
            .find(|s| s.name == "get_blocks_result_v0")
            .expect("defined");
        result.fields.swap(0, 1);
        assert!(matches!(
            check_abi(&abi),
            Err(Error::IncompatibleAbi {
                type_name: "get_blocks_result_v0"
            })
        ));
    }

    #[test]
    fn a_missing_variant_is_refused() {
        let mut abi = reference();
        abi.variants.retain(|v| v.name != "result");
        assert!(matches!(
            check_abi(&abi),
            Err(Error::IncompatibleAbi {
                type_name: "result"
            })
        ));
    }

    #[test]
    fn a_variant_with_later_versions_is_accepted() {
        let mut abi = reference();
        let result = abi
            .variants
            .iter_mut()
            .find(|v| v.name == "result")
            .expect("defined");
        result.types.push("get_blocks_result_v1".to_owned());
        check_abi(&abi).expect("a server may know newer versions");
    }
}
