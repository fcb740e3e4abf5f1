//! Blocks of the devnet in the Leap 5 layout: `block_header`, `signed_block` with its
//! `transaction_receipt`s, block ids and the TaPoS values derived from them.
//!
//! A block id is the SHA-256 of the packed header with the first four bytes replaced by the
//! big-endian block number, exactly as `block_header::calculate_id`; so every id, `previous`
//! link and `ref_block_prefix` a client computes matches. The Merkle roots and the producer
//! signature use the legacy Merkle pairing but are not meant to be verified against nodeos
//! rules (the devnet has no producer schedule or block-header state).

use sha2::{Digest, Sha256};

use crate::antelope::binary::Error::InvalidValue;
use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::signature::Signature;
use crate::antelope::time::BlockTimestamp;
use crate::antelope::transaction::{block_id_from_digest, block_num_from_id};

/// `block_header` without `new_producers` (always absent) and extensions (always empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    /// Slot of the block.
    pub timestamp: BlockTimestamp,
    /// Producer, always `eosio` on the devnet.
    pub producer: Name,
    /// Blocks confirmed; 0 with a single producer.
    pub confirmed: u16,
    /// Id of the previous block; zero for block 1.
    pub previous: Checksum256,
    /// Merkle root of the transaction receipts.
    pub transaction_mroot: Checksum256,
    /// Merkle root of the action receipts.
    pub action_mroot: Checksum256,
    /// Producer schedule version.
    pub schedule_version: u32,
}

/// A transaction as a block carries it: `transaction_receipt` with a `packed_transaction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionReceipt {
    /// 0 = executed.
    pub status: u8,
    /// Billed CPU.
    pub cpu_usage_us: u32,
    /// Billed NET in 8-byte words.
    pub net_usage_words: u32,
    /// Transaction signatures.
    pub signatures: Vec<Signature>,
    /// Packed context-free data (empty).
    pub packed_context_free_data: Vec<u8>,
    /// The serialized `transaction`.
    pub packed_trx: Vec<u8>,
}

/// `signed_block`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBlock {
    /// The header.
    pub header: BlockHeader,
    /// Signature of the header digest by the producer key.
    pub producer_signature: Signature,
    /// Transactions in execution order.
    pub transactions: Vec<TransactionReceipt>,
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Checksum256 {
    Checksum256::new(Sha256::digest(bytes).into())
}

/// Legacy Antelope Merkle root: pairs hashed as `sha256(left || right)` with the left hash's
/// top bit cleared and the right's set; an odd level repeats its last node; empty is zero.
pub fn merkle_root(mut nodes: Vec<Checksum256>) -> Checksum256 {
    if nodes.is_empty() {
        return Checksum256::default();
    }
    while nodes.len() > 1 {
        if nodes.len() % 2 == 1 {
            let last = nodes[nodes.len() - 1];
            nodes.push(last);
        }
        nodes = nodes
            .chunks(2)
            .map(|pair| {
                let mut left = *pair[0].as_bytes();
                let mut right = *pair[1].as_bytes();
                left[0] &= 0x7f;
                right[0] |= 0x80;
                let mut hasher = Sha256::new();
                hasher.update(left);
                hasher.update(right);
                Checksum256::new(hasher.finalize().into())
            })
            .collect();
    }
    nodes[0]
}

impl BlockHeader {
    /// The block's number: one more than the number in `previous`.
    pub fn block_num(&self) -> u32 {
        block_num_from_id(&self.previous).wrapping_add(1)
    }

    /// SHA-256 of the packed header, the digest the producer signs.
    pub fn digest(&self) -> Checksum256 {
        sha256(&binary::to_bytes(self))
    }

    /// The block id: the digest with the big-endian block number in its first four bytes.
    pub fn id(&self) -> Checksum256 {
        block_id_from_digest(&self.digest(), self.block_num())
    }
}

impl SignedBlock {
    /// The block id.
    pub fn id(&self) -> Checksum256 {
        self.header.id()
    }

    /// The block number.
    pub fn block_num(&self) -> u32 {
        self.header.block_num()
    }
}

impl TransactionReceipt {
    /// The transaction id: SHA-256 of the packed transaction.
    pub fn trx_id(&self) -> Checksum256 {
        sha256(&self.packed_trx)
    }
}

impl Encode for BlockHeader {
    fn encode(&self, writer: &mut Writer) {
        self.timestamp.encode(writer);
        self.producer.encode(writer);
        writer.write_u16(self.confirmed);
        self.previous.encode(writer);
        self.transaction_mroot.encode(writer);
        self.action_mroot.encode(writer);
        writer.write_u32(self.schedule_version);
        // new_producers: absent; header_extensions: none.
        writer.write_u8(0);
        writer.write_length(0);
    }
}

impl Decode for BlockHeader {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let header = Self {
            timestamp: BlockTimestamp::decode(reader)?,
            producer: Name::decode(reader)?,
            confirmed: reader.read_u16()?,
            previous: Checksum256::decode(reader)?,
            transaction_mroot: Checksum256::decode(reader)?,
            action_mroot: Checksum256::decode(reader)?,
            schedule_version: reader.read_u32()?,
        };
        let position = reader.position();
        if reader.read_optional_flag()? || reader.read_length(3)? != 0 {
            return Err(InvalidValue {
                type_name: "block_header",
                position,
                source: "producer schedules and header extensions are not supported".into(),
            });
        }
        Ok(header)
    }
}

fn encode_signature(signature: &Signature, writer: &mut Writer) {
    writer.write_raw(&signature.to_wire());
}

fn decode_signature(reader: &mut Reader<'_>) -> binary::Result<Signature> {
    let position = reader.position();
    let wire = reader.read_slice(Signature::WIRE_LEN)?;
    Signature::from_wire(wire).map_err(|error| InvalidValue {
        type_name: "signature",
        position,
        source: Box::new(error),
    })
}

impl Encode for TransactionReceipt {
    fn encode(&self, writer: &mut Writer) {
        writer.write_u8(self.status);
        writer.write_u32(self.cpu_usage_us);
        writer.write_varuint32(self.net_usage_words);
        // transaction_variant index 1: packed_transaction.
        writer.write_varuint32(1);
        writer.write_length(self.signatures.len());
        for signature in &self.signatures {
            encode_signature(signature, writer);
        }
        writer.write_u8(0);
        writer.write_bytes(&self.packed_context_free_data);
        writer.write_bytes(&self.packed_trx);
    }
}

impl Decode for TransactionReceipt {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let status = reader.read_u8()?;
        let cpu_usage_us = reader.read_u32()?;
        let net_usage_words = reader.read_varuint32()?;
        let position = reader.position();
        if reader.read_varuint32()? != 1 {
            return Err(InvalidValue {
                type_name: "transaction_receipt",
                position,
                source: "only packed transactions are supported".into(),
            });
        }
        let count = reader.read_length(Signature::WIRE_LEN)?;
        let mut signatures = Vec::with_capacity(count);
        for _ in 0..count {
            signatures.push(decode_signature(reader)?);
        }
        let position = reader.position();
        if reader.read_u8()? != 0 {
            return Err(InvalidValue {
                type_name: "packed_transaction",
                position,
                source: "compressed transactions are not stored".into(),
            });
        }
        Ok(Self {
            status,
            cpu_usage_us,
            net_usage_words,
            signatures,
            packed_context_free_data: reader.read_bytes()?.to_vec(),
            packed_trx: reader.read_bytes()?.to_vec(),
        })
    }
}

impl Encode for SignedBlock {
    fn encode(&self, writer: &mut Writer) {
        self.header.encode(writer);
        encode_signature(&self.producer_signature, writer);
        self.transactions.encode(writer);
        writer.write_length(0);
    }
}

impl Decode for SignedBlock {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let header = BlockHeader::decode(reader)?;
        let producer_signature = decode_signature(reader)?;
        let transactions = Vec::decode(reader)?;
        let position = reader.position();
        if reader.read_length(3)? != 0 {
            return Err(InvalidValue {
                type_name: "signed_block",
                position,
                source: "block extensions are not supported".into(),
            });
        }
        Ok(Self {
            header,
            producer_signature,
            transactions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_carries_block_number_and_tapos() {
        let mut previous = [0xab; 32];
        previous[..4].copy_from_slice(&41_u32.to_be_bytes());
        let header = BlockHeader {
            timestamp: BlockTimestamp::from_slot(1000),
            producer: Name::from_str_const("eosio"),
            confirmed: 0,
            previous: Checksum256::new(previous),
            transaction_mroot: Checksum256::default(),
            action_mroot: Checksum256::default(),
            schedule_version: 0,
        };
        let id = header.id();
        assert_eq!(header.block_num(), 42);
        assert_eq!(block_num_from_id(&id), 42);
        assert_eq!(&id.as_bytes()[4..], &header.digest().as_bytes()[4..]);
    }

    #[test]
    fn merkle_root_pairs_canonically() {
        let leaf = |byte: u8| Checksum256::new([byte; 32]);
        assert_eq!(merkle_root(Vec::new()), Checksum256::default());
        assert_eq!(merkle_root(vec![leaf(1)]), leaf(1));
        let two = merkle_root(vec![leaf(1), leaf(2)]);
        let mut left = [1; 32];
        let mut right = [2; 32];
        left[0] &= 0x7f;
        right[0] |= 0x80;
        assert_eq!(two, sha256(&[left, right].concat()));
        // An odd level repeats its last node.
        assert_eq!(
            merkle_root(vec![leaf(1), leaf(2), leaf(3)]),
            merkle_root(vec![leaf(1), leaf(2), leaf(3), leaf(3)])
        );
    }
}
