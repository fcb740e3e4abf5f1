//! The devnet's block log: an append-only file of produced blocks and fork rollbacks, written
//! and flushed to disk before a block is announced, so a crash loses at most the block being
//! built. At start the chain is rebuilt by replaying the log.
//!
//! Record layout: a kind byte (1 = `signed_block`, 2 = rollback to a block number), a
//! little-endian u32 payload length, the payload. A record cut short by a crash is ignored
//! and cut off when the log is opened.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use thiserror::Error;

use crate::antelope::binary;
use crate::devnet::block::SignedBlock;

const KIND_BLOCK: u8 = 1;
const KIND_ROLLBACK: u8 = 2;

/// Why the block log could not be read.
#[derive(Debug, Error)]
pub enum BlockLogError {
    /// The file could not be opened, read or truncated.
    #[error("accessing the block log")]
    Io(#[from] io::Error),
    /// A complete record holds bytes that are not a block.
    #[error("block log record at byte {offset} is not a valid block")]
    Block {
        /// Where the record starts.
        offset: u64,
        /// Decoder error.
        #[source]
        source: binary::Error,
    },
    /// A record of unknown kind.
    #[error("block log record at byte {offset} has unknown kind {kind}")]
    Kind {
        /// Where the record starts.
        offset: u64,
        /// The kind byte.
        kind: u8,
    },
}

/// An open block log, positioned at its end.
#[derive(Debug)]
pub struct BlockLog {
    file: File,
}

impl BlockLog {
    /// Opens (creating if needed) the log at `path` and returns it with the blocks of the
    /// current branch, in order, after applying rollbacks.
    pub fn open(path: &Path) -> Result<(Self, Vec<SignedBlock>), BlockLogError> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (blocks, complete) = parse(&bytes)?;
        file.set_len(complete)?;
        file.seek(SeekFrom::End(0))?;
        Ok((Self { file }, blocks))
    }

    /// Appends a produced block and syncs it to disk.
    pub fn append_block(&mut self, block: &SignedBlock) -> io::Result<()> {
        self.append(KIND_BLOCK, &binary::to_bytes(block))
    }

    /// Records that blocks after `block_num` were dropped by a fork, and syncs it.
    pub fn append_rollback(&mut self, block_num: u32) -> io::Result<()> {
        self.append(KIND_ROLLBACK, &block_num.to_le_bytes())
    }

    fn append(&mut self, kind: u8, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record too large"))?;
        let mut record = Vec::with_capacity(payload.len() + 5);
        record.push(kind);
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(payload);
        self.file.write_all(&record)?;
        self.file.sync_data()
    }
}

/// The current branch's blocks, and how many bytes of complete records there are.
fn parse(bytes: &[u8]) -> Result<(Vec<SignedBlock>, u64), BlockLogError> {
    let mut blocks: Vec<SignedBlock> = Vec::new();
    let mut offset = 0_usize;
    while let Some(header) = bytes.get(offset..offset + 5) {
        let kind = header[0];
        let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let Some(payload) = bytes.get(offset + 5..offset + 5 + len) else {
            break;
        };
        let record_offset = offset as u64;
        match kind {
            KIND_BLOCK => {
                let block = binary::from_bytes(payload).map_err(|source| BlockLogError::Block {
                    offset: record_offset,
                    source,
                })?;
                blocks.push(block);
            }
            KIND_ROLLBACK => {
                let num = payload
                    .get(..4)
                    .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                blocks.retain(|block: &SignedBlock| block.block_num() <= num);
            }
            kind => {
                return Err(BlockLogError::Kind {
                    offset: record_offset,
                    kind,
                });
            }
        }
        offset += 5 + len;
    }
    Ok((blocks, offset as u64))
}
