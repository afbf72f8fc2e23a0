//! The public governance gateway (`votegraph.v1`): elections, ballots, proposals and the
//! finalized-ledger stream.
//!
//! A mutating call is checked in the order that costs least first: connection rate, shape,
//! action kind, replay and pool room, signature, then the signer's rate (only a verified signer
//! is charged), then the governance rules against the current state (the same rules every validator applies later, run on a scratch overlay).
//! Only then is it submitted; the call returns its receipt once the transaction is final. The
//! early rule check is advisory: the order decides, and a transaction that the state changed
//! under is still rejected on apply, with its reason recorded.

mod backup;
mod certified;
pub mod convert;
pub mod export;
mod ledger;
mod queries;
mod services;
pub mod waiters;

use crate::client_api::WatcherSlot;
use crate::config::GatewaySection;
use crate::finality;
use crate::ledger_state::LedgerState;
use crate::pool::AdmitError;
use crate::proofs::LedgerTree;
use crate::shared::Shared;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tonic::Status;
use votegraph_gateway::envelope::EnvelopeError;
use votegraph_gateway::governance::action::Action;
use votegraph_gateway::governance::{Governance, TxContext};
use votegraph_gateway::ratelimit::RateLimiter;
use votegraph_gateway::{ChainId, Envelope};
use votegraph_proto::v1 as pb;
use votegraph_storage::Store;
use waiters::Waiters;

pub use services::{BallotsApi, ElectionsApi, LedgerApi, ProposalsApi};

pub struct Gateway {
    pub shared: Arc<Shared>,
    pub governance: Arc<Governance>,
    pub chain: ChainId,
    pub payload_bytes_max: usize,
    pub waiters: Arc<Waiters>,
    /// Chunk roots of the transaction tree, for inclusion and consistency proofs.
    tree: LedgerTree,
    /// Whether an ExportLedger call is running (one at a time).
    export_running: Arc<std::sync::atomic::AtomicBool>,
    key_limits: Mutex<RateLimiter<[u8; 32]>>,
    connection_limits: Mutex<RateLimiter<SocketAddr>>,
    finality_wait: Duration,
    streams: Arc<AtomicUsize>,
    streams_max: usize,
}

impl Gateway {
    pub fn new(
        shared: Arc<Shared>,
        governance: Arc<Governance>,
        chain: ChainId,
        payload_bytes_max: usize,
        config: &GatewaySection,
    ) -> Arc<Self> {
        let waiters = Arc::new(Waiters::new(config.waiters_max));
        Arc::clone(&waiters).spawn(Arc::clone(&shared));
        Arc::new(Gateway {
            shared,
            governance,
            chain,
            payload_bytes_max,
            waiters,
            tree: LedgerTree::default(),
            export_running: Default::default(),
            key_limits: Mutex::new(RateLimiter::new(
                config.key_rate_per_s,
                config.key_burst.max(1.0),
                config.rate_limited_clients_max,
            )),
            connection_limits: Mutex::new(RateLimiter::new(
                config.connection_rate_per_s,
                config.connection_burst.max(1.0),
                config.rate_limited_clients_max,
            )),
            finality_wait: Duration::from_secs(config.finality_wait_s.max(1)),
            streams: Arc::new(AtomicUsize::new(0)),
            streams_max: config.streams_max,
        })
    }

    /// One of the bounded StreamFinalized slots, released when the stream ends.
    pub(crate) fn stream_slot(&self) -> Result<WatcherSlot, Status> {
        WatcherSlot::take(&self.streams, self.streams_max)
    }

    /// Counts a request against its connection's rate.
    pub fn limit_connection(&self, remote: Option<SocketAddr>) -> Result<(), Status> {
        let Some(remote) = remote else {
            return Ok(());
        };
        self.connection_limits
            .lock()
            .expect("limits lock")
            .take(remote, Instant::now())
            .map_err(|e| refused("rate_limited", Status::resource_exhausted(e.to_string())))
    }

    /// Checks, submits and waits for finality; the receipt says where and what it did.
    pub async fn submit(
        &self,
        remote: Option<SocketAddr>,
        wire: pb::SignedTransaction,
        expected: &[&str],
    ) -> Result<pb::Receipt, Status> {
        self.limit_connection(remote)?;
        let envelope = Envelope::from_parts(
            &wire.signer,
            wire.nonce,
            wire.payload.to_vec(),
            &wire.signature,
        )
        .map_err(|e| refused("invalid", Status::invalid_argument(e.to_string())))?;
        let action = Action::decode(&envelope.payload)
            .map_err(|e| refused("invalid", Status::invalid_argument(format!("payload: {e}"))))?;
        if !expected.contains(&action.kind()) {
            let message = format!(
                "this call takes {}; the payload is {}",
                expected.join(" or "),
                action.kind()
            );
            return Err(refused("invalid", Status::invalid_argument(message)));
        }
        let encoded = envelope.encode();
        let tx_hash = *blake3::hash(&encoded).as_bytes();
        self.check_authentic(&envelope, encoded.len())?;
        // Only a verified signer is charged (or exempted as an administrator): a forger cannot
        // drain a voter's allowance.
        if !self.governance.config().admins.contains(&envelope.signer) {
            self.key_limits
                .lock()
                .expect("limits lock")
                .take(envelope.signer, Instant::now())
                .map_err(|e| refused("rate_limited", Status::resource_exhausted(e.to_string())))?;
        }
        self.check_rules(&envelope, &action)?;
        let id = envelope.id();
        // Registered before admission, so the finality cannot be missed; forgotten when this
        // call ends in any way (answered, timed out, or dropped by a client that went away).
        let mut waiter = self.waiters.register(id)?;
        self.shared
            .pool
            .lock()
            .expect("pool lock")
            .admit(id, encoded, Instant::now())
            .map_err(admit_status)?;
        metrics::counter!("votegraph_gateway_submitted_total", "kind" => action.kind())
            .increment(1);
        match tokio::time::timeout(self.finality_wait, &mut waiter.receiver).await {
            Ok(Ok(finalized)) => Ok(convert::receipt(&finalized, tx_hash)),
            Ok(Err(_)) => Err(Status::unavailable("the validator is shutting down")),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "transaction {} was submitted but is not final after {} s; ask GetReceipt later",
                id.to_hex(),
                self.finality_wait.as_secs()
            ))),
        }
    }

    /// Replay and pool room (cheap), then the signature.
    fn check_authentic(&self, envelope: &Envelope, bytes: usize) -> Result<(), Status> {
        let id = envelope.id();
        self.shared
            .pool
            .lock()
            .expect("pool lock")
            .precheck(&id, bytes)
            .map_err(admit_status)?;
        let store = self.shared.store.as_ref();
        if let Some(f) = finality::lookup(store, &id).map_err(internal)? {
            let message = format!(
                "transaction {} is already final at index {}",
                id.to_hex(),
                f.index
            );
            return Err(refused("duplicate", Status::already_exists(message)));
        }
        envelope
            .verify(&self.chain, self.payload_bytes_max)
            .map_err(|e| match e {
                EnvelopeError::BadSignature | EnvelopeError::BadSignerKey => {
                    refused("unauthenticated", Status::unauthenticated(e.to_string()))
                }
                other => refused("invalid", Status::invalid_argument(other.to_string())),
            })
    }

    /// The governance rules on the validator's committed state, as if ordered now.
    fn check_rules(&self, envelope: &Envelope, action: &Action) -> Result<(), Status> {
        let id = envelope.id();
        let store = self.shared.store.as_ref();
        let head = store.head().map_err(internal)?;
        let context = TxContext {
            index: head.next_transaction_index,
            tx_id: id.0,
            signer: envelope.signer,
            consensus_ns: now_ns().max(head.last_transaction_timestamp_ns),
        };
        match self.governance.check(&LedgerState(store), &context, action) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(rejection)) => Err(refused(
                rejection.reason.name(),
                convert::status_of(&rejection),
            )),
            Err(e) => Err(internal(e)),
        }
    }
}

fn admit_status(e: AdmitError) -> Status {
    match e {
        AdmitError::Duplicate(_) => refused("duplicate", Status::already_exists(e.to_string())),
        AdmitError::Full { .. } => refused("pool_full", Status::resource_exhausted(e.to_string())),
    }
}

/// Counts a refusal by reason and passes the status on.
fn refused(reason: &'static str, status: Status) -> Status {
    metrics::counter!("votegraph_gateway_refused_total", "reason" => reason).increment(1);
    status
}

pub fn internal(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
