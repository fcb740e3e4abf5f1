//! The crate's single integration test binary; one module per area.

mod api;
mod branch_flow;
mod bundle;
mod cli;
mod crash;
mod demo;
mod desktop;
mod devnet;
mod devnet_flows;
mod extensions;
mod factory;
mod factory_store;
mod free_decision_flow;
mod interop;
mod join_flow;
mod key_reset;
mod parser;
mod private_records;
mod registries;
mod roles;
mod serve;
mod ship_frames;
mod store;
mod support;
mod system_flow;
mod tls;
