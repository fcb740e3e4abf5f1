//! Contract ABIs: the published [`def::AbiDef`] model and, on top of it, the ABI-driven codec that
//! turns action data and table rows into nodeos-style JSON and back.
//!
//! Architecture invariant: no I/O; hostile ABIs and bytes produce errors, never panics, unbounded
//! recursion or allocations larger than the input.

pub mod def;
