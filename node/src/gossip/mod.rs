//! Gossip between validators: the signed hello, the index of events a node can serve, the
//! sync exchange (server and client sides), and WAN emulation.

pub mod auth;
pub mod client;
pub mod context;
pub mod delay;
pub mod exchange;
pub mod history;
pub mod index;
pub mod open_syncs;
pub mod server;
pub mod verify;
