//! Clients for a real chain node: the Chain API v1 over HTTP or HTTPS ([`api`]) and the State
//! History websocket, `ws://` or `wss://` ([`ship`]), both trusting the roots of [`tls`].
//!
//! Architecture invariant: this module, with `devnet`, is the only one that opens chain sockets.
//! It turns wire formats into the protocol types of [`crate::antelope`] and typed errors; it keeps
//! no state between calls beyond a connection, and it never writes to the store.

pub mod api;
pub mod push;
pub mod ship;
pub mod tls;
