//! Transactions as clients sign them, and the rules every validator applies to them.
//!
//! The consensus engine orders opaque bytes; this crate gives those bytes a meaning that every
//! validator checks the same way: a signed [`Envelope`] with one canonical encoding, whose
//! payload is a governance [`governance::action::Action`] applied by the deterministic
//! [`governance::Governance`] state machine.

pub mod envelope;
pub mod envelope_batch;
pub mod governance;
pub mod hex;
pub mod ratelimit;

pub use envelope::{check_encoded, ChainId, Envelope, EnvelopeError, TxId};
pub use envelope_batch::{check_form_each, verify_each, verify_encoded_each};
