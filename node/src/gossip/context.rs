//! Everything a sync needs, on either side: who this validator is, how it signs and checks
//! hellos, the rules events must pass, the driver, and the WAN emulation settings.

use super::auth::{sign_hello, HelloChecker};
use super::exchange::FrameLimits;
use super::history;
use super::index::Behind;
use super::open_syncs::OpenSyncs;
use super::verify::Rules;
use crate::config::{GossipSection, WanSection};
use crate::driver::Command;
use crate::shared::Shared;
use bytes::Bytes;
use ed25519_dalek::SigningKey;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use votegraph_consensus::{EventId, MemberId};
use votegraph_proto::gossip::v1::Hello;

pub struct GossipContext {
    pub me: MemberId,
    pub key: SigningKey,
    pub genesis_hash: [u8; 32],
    pub checker: HelloChecker,
    pub rules: Arc<Rules>,
    pub shared: Arc<Shared>,
    pub driver: mpsc::Sender<Command>,
    pub settings: GossipSection,
    pub wan: WanSection,
    /// The emulated one-way delay of frames to each validator, by member index.
    delays: Vec<Duration>,
    /// Syncs each peer has open with this validator (the callee side).
    pub open_syncs: OpenSyncs,
    last_hello_ms: AtomicU64,
    ledger_reads: tokio::sync::Semaphore,
}

impl GossipContext {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        me: MemberId,
        key: SigningKey,
        genesis_hash: [u8; 32],
        rules: Arc<Rules>,
        shared: Arc<Shared>,
        driver: mpsc::Sender<Command>,
        settings: GossipSection,
        wan: WanSection,
        delays: Vec<Duration>,
    ) -> Self {
        let keys: Vec<_> = rules
            .members
            .ids()
            .map(|id| rules.members.get(id).expect("member").public_key)
            .collect();
        let open_syncs = OpenSyncs::new(keys.len(), settings.syncs_open_per_peer_max);
        let checker = HelloChecker::new(genesis_hash, me.0, keys, settings.clock_skew_ms_max);
        GossipContext {
            me,
            key,
            genesis_hash,
            checker,
            rules,
            shared,
            driver,
            settings,
            wan,
            delays,
            open_syncs,
            last_hello_ms: AtomicU64::new(0),
            ledger_reads: tokio::sync::Semaphore::new(1),
        }
    }

    /// A signed hello to `peer` carrying what this node knows, with a timestamp strictly
    /// greater than any earlier one (so the peer's replay check never refuses a real hello).
    pub fn hello_to(&self, peer: MemberId) -> Hello {
        self.hello(peer, &[])
    }

    /// A signed answer to `request` from `peer` (see [`Self::hello_to`]).
    pub fn answer_to(&self, peer: MemberId, request: &Hello) -> Hello {
        self.hello(peer, &request.signature)
    }

    fn hello(&self, peer: MemberId, in_reply_to: &[u8]) -> Hello {
        let now = now_ms();
        let mut last = self.last_hello_ms.load(Ordering::SeqCst);
        let timestamp = loop {
            let next = now.max(last + 1);
            match self.last_hello_ms.compare_exchange(
                last,
                next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break next,
                Err(actual) => last = actual,
            }
        };
        let (known, wanted) = {
            let index = self.shared.index.read().expect("index lock");
            let wanted = self.shared.wanted.lock().expect("wanted lock");
            // One may have arrived since the driver chose them.
            let still_missing = wanted.iter().filter(|id| !index.contains(id));
            (index.known(), still_missing.copied().collect::<Vec<_>>())
        };
        sign_hello(
            &self.key,
            self.genesis_hash,
            self.me.0,
            peer.0,
            timestamp,
            known,
            &wanted,
            in_reply_to,
        )
    }

    /// The emulated one-way delay for frames this node sends to `peer`.
    pub fn delay_to(&self, peer: MemberId) -> Duration {
        self.delays[peer.index()]
    }

    /// What a peer whose hello says it knows `known` and lacks `wanted` needs: from memory,
    /// or, when the peer is behind what memory holds, from the ledger (oldest rounds first).
    /// `Behind` only when the ledger cannot help either.
    pub async fn events_for(self: &Arc<Self>, hello: &Hello) -> Result<Vec<Bytes>, Behind> {
        let known = &hello.known;
        let wanted: Vec<EventId> = hello
            .wanted
            .iter()
            .filter_map(|id| Some(EventId(id[..].try_into().ok()?)))
            .collect();
        let from_memory = self.shared.index.read().expect("index lock").missing_for(
            known,
            &wanted,
            self.settings.events_per_sync_max,
            self.settings.bytes_per_sync_max,
        );
        let behind = match from_memory {
            Ok(events) => return Ok(events),
            Err(behind) => behind,
        };
        // One ledger scan at a time: catch-up must not starve the validator's own work.
        let Ok(_permit) = self.ledger_reads.acquire().await else {
            return Err(behind);
        };
        let context = Arc::clone(self);
        let known = known.to_vec();
        let held_next = self.shared.index.read().expect("index lock").known();
        let from_ledger = tokio::task::spawn_blocking(move || {
            history::missing_from_ledger(
                context.shared.store.as_ref(),
                &context.rules.limits,
                &known,
                &held_next,
                context.settings.bytes_per_sync_max,
            )
        })
        .await;
        match from_ledger {
            Ok(Ok(events)) if !events.is_empty() => {
                metrics::counter!("votegraph_catch_up_events_sent_total")
                    .increment(events.len() as u64);
                Ok(events)
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "ledger read failed while serving catch-up");
                Err(behind)
            }
            _ => Err(behind),
        }
    }

    pub fn frame_limits(&self) -> FrameLimits {
        FrameLimits {
            events_per_frame_max: self.settings.events_per_frame_max,
            frame_bytes_max: self.settings.message_bytes_max / 2,
        }
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
