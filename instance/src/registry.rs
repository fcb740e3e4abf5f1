//! Registries: what the cooperative's council and members look at, built from the chain events
//! the follower stores and the private data the instance keeps, answerable as of any block.
//!
//! - [`projection`]: what each committed block changes in the registry rows (pure); the store
//!   writes it in the block's transaction, so registries and the cursor never disagree.
//! - [`roles`]: what an account is to the cooperative at a block (stranger, user, member,
//!   council member, chairman), from the council board and the shareholders on chain.
//!
//! Architecture invariant: registries read through [`crate::store::Store`] only, and what they
//! answer as of block N depends on nothing after N.

pub mod projection;
pub mod roles;
