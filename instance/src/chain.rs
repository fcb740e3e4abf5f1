//! Clients for a real chain node: the Chain API v1 over HTTP or HTTPS ([`api`]) and the State
//! History websocket, `ws://` or `wss://` ([`ship`]), both trusting the roots of [`tls`], and
//! the transactions an account of the instance signs and pushes itself ([`push`]).
//!
//! Architecture invariant: this module, with `devnet`, is the only one that opens chain sockets.
//! It turns wire formats into the protocol types of [`crate::antelope`] and typed errors; it keeps
//! no state between calls beyond a connection (and the contracts' ABIs a pusher read), and it
//! never writes to the store.

pub mod api;
pub mod push;
pub mod ship;
pub mod tls;
