//! SHiP requests and results, and the [`Protocol`] that numbers them.
//!
//! A message is a variant whose index names its type. Leap 5 and Spring 1.x number the
//! alternatives of `request` and `result` differently (Spring appends the `_v1` types), so a
//! client looks each index up by type name in the ABI the server sent, instead of assuming one
//! server's numbering. The [`Encode`]/[`Decode`] impls of [`Request`] and [`ShipResult`] are the
//! Leap 5 numbering, the one the devnet's ABI declares.

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::checksum::Checksum256;
use crate::antelope::ship::unknown_variant;

/// A block's number and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPosition {
    /// Block number.
    pub block_num: u32,
    /// Block id.
    pub block_id: Checksum256,
}

/// `get_blocks_request_v0`; sent as `get_blocks_request_v1` (with `fetch_finality_data`
/// false) to servers that know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetBlocksRequestV0 {
    /// First block to send.
    pub start_block_num: u32,
    /// One past the last block to send.
    pub end_block_num: u32,
    /// How many results may be unacknowledged at once.
    pub max_messages_in_flight: u32,
    /// Blocks the client already has; the server resumes at the first whose id differs.
    pub have_positions: Vec<BlockPosition>,
    /// Send only irreversible blocks.
    pub irreversible_only: bool,
    /// Include the signed block.
    pub fetch_block: bool,
    /// Include transaction traces.
    pub fetch_traces: bool,
    /// Include table deltas.
    pub fetch_deltas: bool,
}

/// The `request` variant a client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `get_status_request_v0`.
    GetStatus,
    /// `get_blocks_request_v0` (or `_v1`).
    GetBlocks(GetBlocksRequestV0),
    /// `get_blocks_ack_request_v0 { num_messages }`.
    GetBlocksAck(u32),
}

/// `get_status_result_v0`, or Spring's `get_status_result_v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetStatusResult {
    /// Head block.
    pub head: BlockPosition,
    /// Last irreversible block.
    pub last_irreversible: BlockPosition,
    /// First block with traces.
    pub trace_begin_block: u32,
    /// One past the last block with traces.
    pub trace_end_block: u32,
    /// First block with state deltas.
    pub chain_state_begin_block: u32,
    /// One past the last block with state deltas.
    pub chain_state_end_block: u32,
    /// The chain id (a binary extension in v0, always present in v1).
    pub chain_id: Option<Checksum256>,
    /// `(finality_data_begin_block, finality_data_end_block)` of a v1 status.
    pub finality_data_blocks: Option<(u32, u32)>,
}

/// `get_blocks_result_v0`, or Spring's `get_blocks_result_v1`; `block`, `traces` and `deltas`
/// are still serialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetBlocksResult {
    /// Head block.
    pub head: BlockPosition,
    /// Last irreversible block.
    pub last_irreversible: BlockPosition,
    /// The block this result carries.
    pub this_block: Option<BlockPosition>,
    /// Its predecessor.
    pub prev_block: Option<BlockPosition>,
    /// Serialized `signed_block`.
    pub block: Option<Vec<u8>>,
    /// Serialized `transaction_trace[]`.
    pub traces: Option<Vec<u8>>,
    /// Serialized `table_delta[]`.
    pub deltas: Option<Vec<u8>>,
    /// Serialized Savanna `finality_data` of a v1 result; `None` in v0.
    pub finality_data: Option<Vec<u8>>,
}

/// The `result` variant a server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShipResult {
    /// `get_status_result_v0` or `_v1`.
    Status(GetStatusResult),
    /// `get_blocks_result_v0` or `_v1`.
    Blocks(GetBlocksResult),
}

/// The message types this crate reads and writes, by their ABI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    StatusRequestV0,
    BlocksRequestV0,
    BlocksAckRequestV0,
    BlocksRequestV1,
    StatusRequestV1,
    StatusResultV0,
    BlocksResultV0,
    BlocksResultV1,
    StatusResultV1,
}

impl Message {
    const ALL: [Self; 9] = [
        Self::StatusRequestV0,
        Self::BlocksRequestV0,
        Self::BlocksAckRequestV0,
        Self::BlocksRequestV1,
        Self::StatusRequestV1,
        Self::StatusResultV0,
        Self::BlocksResultV0,
        Self::BlocksResultV1,
        Self::StatusResultV1,
    ];

    fn type_name(self) -> &'static str {
        match self {
            Self::StatusRequestV0 => "get_status_request_v0",
            Self::BlocksRequestV0 => "get_blocks_request_v0",
            Self::BlocksAckRequestV0 => "get_blocks_ack_request_v0",
            Self::BlocksRequestV1 => "get_blocks_request_v1",
            Self::StatusRequestV1 => "get_status_request_v1",
            Self::StatusResultV0 => "get_status_result_v0",
            Self::BlocksResultV0 => "get_blocks_result_v0",
            Self::BlocksResultV1 => "get_blocks_result_v1",
            Self::StatusResultV1 => "get_status_result_v1",
        }
    }

    fn from_type_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|message| message.type_name() == name)
    }
}

/// Leap 5's `request` alternatives, in its order.
const LEAP5_REQUESTS: [&str; 3] = [
    "get_status_request_v0",
    "get_blocks_request_v0",
    "get_blocks_ack_request_v0",
];
/// Leap 5's `result` alternatives, in its order.
const LEAP5_RESULTS: [&str; 2] = ["get_status_result_v0", "get_blocks_result_v0"];
/// Spring 1.x's `request` alternatives, in its order (`libraries/state_history/abi.cpp`).
const SPRING1_REQUESTS: [&str; 5] = [
    "get_status_request_v0",
    "get_blocks_request_v0",
    "get_blocks_ack_request_v0",
    "get_blocks_request_v1",
    "get_status_request_v1",
];
/// Spring 1.x's `result` alternatives, in its order.
const SPRING1_RESULTS: [&str; 4] = [
    "get_status_result_v0",
    "get_blocks_result_v0",
    "get_blocks_result_v1",
    "get_status_result_v1",
];

/// How one server numbers its messages: the alternatives of its ABI's `request` and `result`
/// variants, with the ones this crate understands resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    /// Each `result` alternative, by index; `None` for types this crate does not read.
    results: Vec<Option<Message>>,
    status_request: u32,
    blocks_request: (u32, Message),
    ack_request: u32,
}

/// A `request` or `result` type the client needs is not in the server's ABI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server's {variant} variant offers none of {wanted:?}")]
pub struct MissingMessage {
    /// `request` or `result`.
    pub variant: &'static str,
    /// The types looked for.
    pub wanted: &'static [&'static str],
}

impl Protocol {
    /// Leap 5's numbering, the one the devnet declares.
    pub fn leap5() -> Self {
        Self::from_variants(&LEAP5_REQUESTS, &LEAP5_RESULTS)
            .expect("Leap 5 offers every v0 message")
    }

    /// Spring 1.x's numbering, which appends the `_v1` messages to Leap 5's.
    pub fn spring1() -> Self {
        Self::from_variants(&SPRING1_REQUESTS, &SPRING1_RESULTS)
            .expect("Spring offers both generations")
    }

    /// Resolves a server's numbering from the alternatives of its `request` and `result`
    /// variants. Blocks are requested with `get_blocks_request_v1` where the server offers it,
    /// so a Spring node answers in its own generation; both result generations are read.
    ///
    /// # Errors
    /// [`MissingMessage`] when the server cannot be asked for its status or for blocks, or
    /// offers no result this crate reads.
    pub fn from_variants<S: AsRef<str>>(
        requests: &[S],
        results: &[S],
    ) -> Result<Self, MissingMessage> {
        let request_index = |message: Message| {
            requests
                .iter()
                .position(|name| name.as_ref() == message.type_name())
                .and_then(|index| u32::try_from(index).ok())
        };
        let missing = |wanted| MissingMessage {
            variant: "request",
            wanted,
        };
        let status_request =
            request_index(Message::StatusRequestV0).ok_or(missing(&["get_status_request_v0"]))?;
        let blocks_request = request_index(Message::BlocksRequestV1)
            .map(|index| (index, Message::BlocksRequestV1))
            .or_else(|| {
                request_index(Message::BlocksRequestV0)
                    .map(|index| (index, Message::BlocksRequestV0))
            })
            .ok_or(missing(&["get_blocks_request_v1", "get_blocks_request_v0"]))?;
        let ack_request = request_index(Message::BlocksAckRequestV0)
            .ok_or(missing(&["get_blocks_ack_request_v0"]))?;
        let results: Vec<Option<Message>> = results
            .iter()
            .map(|name| {
                Message::from_type_name(name.as_ref()).filter(|message| {
                    matches!(
                        message,
                        Message::StatusResultV0
                            | Message::StatusResultV1
                            | Message::BlocksResultV0
                            | Message::BlocksResultV1
                    )
                })
            })
            .collect();
        let reads = |wanted: [Message; 2]| results.iter().flatten().any(|m| wanted.contains(m));
        if !reads([Message::StatusResultV0, Message::StatusResultV1])
            || !reads([Message::BlocksResultV0, Message::BlocksResultV1])
        {
            return Err(MissingMessage {
                variant: "result",
                wanted: &[
                    "get_status_result_v0",
                    "get_status_result_v1",
                    "get_blocks_result_v0",
                    "get_blocks_result_v1",
                ],
            });
        }
        Ok(Self {
            results,
            status_request,
            blocks_request,
            ack_request,
        })
    }

    /// Whether blocks are requested in Spring's generation (`get_blocks_request_v1`).
    pub fn requests_v1_blocks(&self) -> bool {
        self.blocks_request.1 == Message::BlocksRequestV1
    }

    /// Serializes `request` with this server's numbering.
    pub fn encode_request(&self, request: &Request) -> Vec<u8> {
        let mut writer = Writer::new();
        match request {
            Request::GetStatus => writer.write_varuint32(self.status_request),
            Request::GetBlocks(request) => {
                writer.write_varuint32(self.blocks_request.0);
                encode_blocks_request(request, &mut writer);
                if self.blocks_request.1 == Message::BlocksRequestV1 {
                    // fetch_finality_data: the follower does not use Savanna finality data.
                    writer.write_bool(false);
                }
            }
            Request::GetBlocksAck(num_messages) => {
                writer.write_varuint32(self.ack_request);
                writer.write_u32(*num_messages);
            }
        }
        writer.into_bytes()
    }

    /// Reads one whole `result` message with this server's numbering.
    ///
    /// # Errors
    /// A [`binary::Error`] for an index this crate does not read, malformed bytes, or bytes
    /// left over.
    pub fn decode_result(&self, bytes: &[u8]) -> binary::Result<ShipResult> {
        let mut reader = Reader::new(bytes);
        let position = reader.position();
        let index = reader.read_varuint32()?;
        let message = usize::try_from(index)
            .ok()
            .and_then(|index| self.results.get(index).copied().flatten())
            .ok_or_else(|| unknown_variant("result", position, index))?;
        let result = decode_result_body(message, &mut reader)?;
        reader.finish()?;
        Ok(result)
    }
}

fn encode_blocks_request(request: &GetBlocksRequestV0, writer: &mut Writer) {
    writer.write_u32(request.start_block_num);
    writer.write_u32(request.end_block_num);
    writer.write_u32(request.max_messages_in_flight);
    request.have_positions.encode(writer);
    writer.write_bool(request.irreversible_only);
    writer.write_bool(request.fetch_block);
    writer.write_bool(request.fetch_traces);
    writer.write_bool(request.fetch_deltas);
}

fn decode_result_body(message: Message, reader: &mut Reader<'_>) -> binary::Result<ShipResult> {
    match message {
        Message::StatusResultV0 | Message::StatusResultV1 => {
            let head = BlockPosition::decode(reader)?;
            let last_irreversible = BlockPosition::decode(reader)?;
            let trace_begin_block = reader.read_u32()?;
            let trace_end_block = reader.read_u32()?;
            let chain_state_begin_block = reader.read_u32()?;
            let chain_state_end_block = reader.read_u32()?;
            let v1 = message == Message::StatusResultV1;
            // v0's chain_id is a binary extension: absent when nothing follows.
            let chain_id = if v1 || !reader.is_at_end() {
                Some(Checksum256::decode(reader)?)
            } else {
                None
            };
            let finality_data_blocks = if v1 {
                Some((reader.read_u32()?, reader.read_u32()?))
            } else {
                None
            };
            Ok(ShipResult::Status(GetStatusResult {
                head,
                last_irreversible,
                trace_begin_block,
                trace_end_block,
                chain_state_begin_block,
                chain_state_end_block,
                chain_id,
                finality_data_blocks,
            }))
        }
        Message::BlocksResultV0 | Message::BlocksResultV1 => {
            let head = BlockPosition::decode(reader)?;
            let last_irreversible = BlockPosition::decode(reader)?;
            let this_block = Option::decode(reader)?;
            let prev_block = Option::decode(reader)?;
            let mut optional_bytes = || -> binary::Result<Option<Vec<u8>>> {
                if reader.read_optional_flag()? {
                    Ok(Some(reader.read_bytes()?.to_vec()))
                } else {
                    Ok(None)
                }
            };
            let block = optional_bytes()?;
            let traces = optional_bytes()?;
            let deltas = optional_bytes()?;
            let finality_data = if message == Message::BlocksResultV1 {
                optional_bytes()?
            } else {
                None
            };
            Ok(ShipResult::Blocks(GetBlocksResult {
                head,
                last_irreversible,
                this_block,
                prev_block,
                block,
                traces,
                deltas,
                finality_data,
            }))
        }
        request => Err(binary::Error::InvalidValue {
            type_name: "result",
            position: reader.position(),
            source: format!("{} is a request", request.type_name()).into(),
        }),
    }
}

impl Encode for BlockPosition {
    fn encode(&self, writer: &mut Writer) {
        writer.write_u32(self.block_num);
        self.block_id.encode(writer);
    }
}

impl Decode for BlockPosition {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            block_num: reader.read_u32()?,
            block_id: Checksum256::decode(reader)?,
        })
    }
}

/// Leap 5's numbering.
impl Encode for Request {
    fn encode(&self, writer: &mut Writer) {
        writer.write_raw(&Protocol::leap5().encode_request(self));
    }
}

/// Leap 5's numbering: what the devnet reads.
impl Decode for Request {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let position = reader.position();
        match reader.read_varuint32()? {
            0 => Ok(Self::GetStatus),
            1 => Ok(Self::GetBlocks(GetBlocksRequestV0 {
                start_block_num: reader.read_u32()?,
                end_block_num: reader.read_u32()?,
                max_messages_in_flight: reader.read_u32()?,
                have_positions: Vec::decode(reader)?,
                irreversible_only: reader.read_bool()?,
                fetch_block: reader.read_bool()?,
                fetch_traces: reader.read_bool()?,
                fetch_deltas: reader.read_bool()?,
            })),
            2 => Ok(Self::GetBlocksAck(reader.read_u32()?)),
            index => Err(unknown_variant("request", position, index)),
        }
    }
}

/// Leap 5's numbering: what the devnet sends. A v1 result is written as its v0 form.
impl Encode for ShipResult {
    fn encode(&self, writer: &mut Writer) {
        match self {
            Self::Status(status) => {
                writer.write_varuint32(0);
                status.head.encode(writer);
                status.last_irreversible.encode(writer);
                writer.write_u32(status.trace_begin_block);
                writer.write_u32(status.trace_end_block);
                writer.write_u32(status.chain_state_begin_block);
                writer.write_u32(status.chain_state_end_block);
                // A binary extension: written only when present.
                if let Some(chain_id) = &status.chain_id {
                    chain_id.encode(writer);
                }
            }
            Self::Blocks(result) => {
                writer.write_varuint32(1);
                result.head.encode(writer);
                result.last_irreversible.encode(writer);
                result.this_block.encode(writer);
                result.prev_block.encode(writer);
                for bytes in [&result.block, &result.traces, &result.deltas] {
                    match bytes {
                        Some(bytes) => {
                            writer.write_u8(1);
                            writer.write_bytes(bytes);
                        }
                        None => writer.write_u8(0),
                    }
                }
            }
        }
    }
}

/// Leap 5's numbering.
impl Decode for ShipResult {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let position = reader.position();
        let index = reader.read_varuint32()?;
        let message = match index {
            0 => Message::StatusResultV0,
            1 => Message::BlocksResultV0,
            index => return Err(unknown_variant("result", position, index)),
        };
        decode_result_body(message, reader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(block_num: u32) -> BlockPosition {
        BlockPosition {
            block_num,
            block_id: Checksum256::new([block_num as u8; 32]),
        }
    }

    fn blocks_request() -> GetBlocksRequestV0 {
        GetBlocksRequestV0 {
            start_block_num: 2,
            end_block_num: u32::MAX,
            max_messages_in_flight: 10,
            have_positions: vec![position(1)],
            irreversible_only: false,
            fetch_block: true,
            fetch_traces: true,
            fetch_deltas: false,
        }
    }

    #[test]
    fn requests_round_trip_in_leap5_numbering() {
        let requests = [
            Request::GetStatus,
            Request::GetBlocks(blocks_request()),
            Request::GetBlocksAck(1),
        ];
        for request in requests {
            let bytes = binary::to_bytes(&request);
            assert_eq!(
                binary::from_bytes::<Request>(&bytes).expect("decodes"),
                request
            );
        }
        assert_eq!(
            binary::to_bytes(&Request::GetBlocksAck(1)),
            vec![2, 1, 0, 0, 0]
        );
    }

    #[test]
    fn spring_is_asked_for_v1_blocks() {
        let leap5 = Protocol::leap5();
        let spring = Protocol::spring1();
        assert!(!leap5.requests_v1_blocks());
        assert!(spring.requests_v1_blocks());
        let request = Request::GetBlocks(blocks_request());
        let v0 = leap5.encode_request(&request);
        let v1 = spring.encode_request(&request);
        assert_eq!(v0[0], 1);
        assert_eq!(v1[0], 3);
        // v1 is v0 plus `fetch_finality_data = false`.
        assert_eq!(&v1[1..v1.len() - 1], &v0[1..]);
        assert_eq!(v1.last(), Some(&0));
        assert_eq!(spring.encode_request(&Request::GetStatus), vec![0]);
        assert_eq!(spring.encode_request(&Request::GetBlocksAck(3))[0], 2);
    }

    #[test]
    fn results_round_trip_in_leap5_numbering() {
        let results = [
            ShipResult::Status(GetStatusResult {
                head: position(5),
                last_irreversible: position(4),
                trace_begin_block: 1,
                trace_end_block: 6,
                chain_state_begin_block: 1,
                chain_state_end_block: 6,
                chain_id: Some(Checksum256::new([7; 32])),
                finality_data_blocks: None,
            }),
            ShipResult::Blocks(GetBlocksResult {
                head: position(5),
                last_irreversible: position(4),
                this_block: Some(position(3)),
                prev_block: None,
                block: Some(vec![1, 2, 3]),
                traces: None,
                deltas: Some(Vec::new()),
                finality_data: None,
            }),
        ];
        for result in results {
            let bytes = binary::to_bytes(&result);
            assert_eq!(
                binary::from_bytes::<ShipResult>(&bytes).expect("decodes"),
                result
            );
            assert_eq!(
                Protocol::leap5().decode_result(&bytes).expect("decodes"),
                result
            );
        }
    }

    #[test]
    fn spring_results_carry_finality_data() {
        let mut status = binary::to_bytes(&ShipResult::Status(GetStatusResult {
            head: position(5),
            last_irreversible: position(4),
            trace_begin_block: 1,
            trace_end_block: 6,
            chain_state_begin_block: 1,
            chain_state_end_block: 6,
            chain_id: Some(Checksum256::new([7; 32])),
            finality_data_blocks: None,
        }));
        status[0] = 3;
        status.extend(2_u32.to_le_bytes());
        status.extend(6_u32.to_le_bytes());
        let ShipResult::Status(decoded) = Protocol::spring1()
            .decode_result(&status)
            .expect("v1 status")
        else {
            panic!("a status");
        };
        assert_eq!(decoded.finality_data_blocks, Some((2, 6)));

        let mut blocks = binary::to_bytes(&ShipResult::Blocks(GetBlocksResult {
            head: position(5),
            last_irreversible: position(4),
            this_block: Some(position(3)),
            prev_block: Some(position(2)),
            block: None,
            traces: None,
            deltas: None,
            finality_data: None,
        }));
        blocks[0] = 2;
        blocks.extend([1, 2, 0xaa, 0xbb]);
        let ShipResult::Blocks(decoded) = Protocol::spring1()
            .decode_result(&blocks)
            .expect("v1 blocks")
        else {
            panic!("blocks");
        };
        assert_eq!(decoded.finality_data, Some(vec![0xaa, 0xbb]));
        // Leap 5 has no alternative 2: the same bytes are refused, not misread.
        assert!(Protocol::leap5().decode_result(&blocks).is_err());
    }

    #[test]
    fn a_server_without_blocks_requests_is_refused() {
        let refused = Protocol::from_variants(
            &["get_status_request_v0", "get_blocks_ack_request_v0"],
            &["get_status_result_v0", "get_blocks_result_v0"],
        );
        assert_eq!(refused.expect_err("no blocks request").variant, "request");
        let refused = Protocol::from_variants(
            &LEAP5_REQUESTS,
            &["get_status_result_v0", "get_blocks_result_v9"],
        );
        assert_eq!(refused.expect_err("no blocks result").variant, "result");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = binary::to_bytes(&ShipResult::Blocks(GetBlocksResult {
            head: position(5),
            last_irreversible: position(4),
            this_block: None,
            prev_block: None,
            block: None,
            traces: None,
            deltas: None,
            finality_data: None,
        }));
        bytes.push(0);
        assert!(Protocol::leap5().decode_result(&bytes).is_err());
    }
}
