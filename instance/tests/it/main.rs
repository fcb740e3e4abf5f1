//! The crate's single integration test binary; one module per area.

mod api;
mod bundle;
mod cli;
mod crash;
mod demo;
mod desktop;
mod devnet;
mod devnet_flows;
mod factory;
mod factory_store;
mod interop;
mod join_flow;
mod parser;
mod private_records;
mod registries;
mod roles;
mod serve;
mod ship_frames;
mod store;
mod support;
mod tls;
