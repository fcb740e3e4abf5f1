//! The Antelope protocol as COOPOS speaks it: names, assets, time types, checksums, K1 keys and
//! signatures, the ABI model and the ABI-driven binary <-> JSON codec, transactions and documents.
//!
//! Architecture invariant: this module does no I/O and never panics on bad input; every parser
//! and decoder returns a typed error instead.

pub mod abi;
pub mod asset;
pub mod binary;
pub mod checksum;
pub mod document;
pub mod json;
pub mod keys;
pub mod name;
pub mod ship;
pub mod signature;
pub mod symbol;
pub mod time;
pub mod transaction;
pub mod varint;
