//! `mono devnet`: a COOPOS-compatible development chain.
//!
//! It speaks the Chain API v1 and the SHiP websocket protocol of Leap 5 nodes, produces blocks
//! with nodeos ids and TaPoS values, validates transactions as nodeos does and runs the
//! contracts MONO relies on natively. It is a development and test tool, never a production
//! chain: one producer, no consensus, no WASM, no resource billing.
//!
//! Architecture invariant: the chain (`chain`, `block`, `state`, `contracts`) is a pure state
//! machine that takes the clock as an argument; only the HTTP and SHiP servers and the block
//! log do I/O.

pub mod block;
pub mod chain;
pub mod contracts;
pub mod error;
pub mod state;
pub mod validate;
