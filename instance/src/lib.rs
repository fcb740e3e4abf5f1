//! MONO instance: one cooperative's private node next to the COOPOS chain.
//!
//! The crate is a library first; `src/main.rs` only parses the command line and calls into it,
//! so tests and benches reach every part through the same public items.
//! See `docs/architecture.md` for the map of modules and the invariants between them.

// async-graphql nests every field resolver's future in the schema's `resolve_field`; laying
// that type out in an optimised build takes the compiler past its default query depth of 128.
#![recursion_limit = "256"]

pub mod antelope;
pub mod api;
pub mod bundle;
pub mod chain;
pub mod cli;
pub mod demo;
pub mod desktop;
pub mod devnet;
pub mod extensions;
pub mod factory;
pub mod mail;
pub mod parser;
pub mod private_data;
pub mod registry;
pub mod server;
pub mod store;
pub mod telemetry;
