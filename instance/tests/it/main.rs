//! The crate's single integration test binary; one module per area.

mod cli;
mod parser;
mod store;
