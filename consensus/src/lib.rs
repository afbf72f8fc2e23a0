//! votegraph-consensus: the hashgraph engine (gossip about gossip, virtual voting).
//!
//! A pure, deterministic state machine: verified events in, rounds, fame, a total order of
//! events and transactions, and proofs of equivocation out. No I/O, clocks or randomness:
//! time and keys are inputs, so the same events give the same order on every machine, which is
//! what lets an auditor re-run consensus from a ledger. The rules are those of
//! `shared/reference/hashgraph.md`; `docs/ARCHITECTURE.md` records the choices made here.

mod arena;
pub mod config;
pub mod encoding;
mod engine;
pub mod error;
pub mod event;
mod fame;
mod graph;
mod insert;
pub mod members;
mod node;
mod order;
pub mod output;
mod prune;
pub mod replay;
mod shares;
pub mod sim;
pub mod snapshot;
pub mod strict_signature;
pub mod test_keys;
pub mod types;

pub use config::{EngineConfig, EventLimits};
pub use engine::{Engine, EngineStats, EventStatus, InsertOutcome};
pub use error::{CreateError, InsertError, InsertRejection};
pub use event::{InvalidEvent, InvalidReason, UncheckedEvent, VerifiedEvent};
pub use members::{Member, MemberSet};
pub use output::{EquivocationProof, OrderedEvent, Output};
pub use shares::Admission;
pub use snapshot::SnapshotError;
pub use types::{EventId, MemberId, Round, TimestampNs, Weight};
