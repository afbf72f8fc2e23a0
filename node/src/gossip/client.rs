//! The caller side: `syncs_in_flight` loops, each picking a peer not already being synced,
//! running one sync exchange, and asking the driver to create an event afterwards. A loop
//! whose sync exchanged nothing pauses (`idle_interval_ms`), so an idle cluster is quiet.

use super::auth::HelloRole;
use super::context::{now_ms, GossipContext};
use super::delay::delayed_channel;
use super::exchange::{receive_all, send_events, Received};
use crate::driver::Command;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};
use tonic::Status;
use tracing::{debug, error, info, warn};
use votegraph_consensus::sim::SplitMix64;
use votegraph_consensus::MemberId;
use votegraph_proto::gossip::v1::gossip_client::GossipClient;
use votegraph_proto::gossip::v1::{sync_frame::Frame, SyncFrame};

const FRAMES_IN_FLIGHT: usize = 8;
/// Pause after a failed sync before trying that loop again.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// One peer as the caller sees it.
struct Peer {
    id: MemberId,
    client: GossipClient<Channel>,
    /// Last outcome, to log changes once rather than every failure.
    state: Mutex<Option<PeerState>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PeerState {
    Up,
    Down,
    TooFarBehind,
}

pub struct Gossiper {
    context: Arc<GossipContext>,
    peers: Vec<Arc<Peer>>,
    busy: Mutex<HashSet<MemberId>>,
}

/// The outcome of one sync.
#[derive(Debug, Default)]
pub struct SyncOutcome {
    /// What the peer holds of this validator's own chain (its hello's vector).
    pub peer_known_mine: u64,
    pub received: u64,
    pub new_events: u64,
    pub sent_bytes: u64,
    pub sent_events: u64,
}

impl Gossiper {
    /// Lazily connected clients for every other validator at `addresses`.
    pub fn new(context: Arc<GossipContext>, addresses: &[String]) -> Result<Self, String> {
        let message_max = context.settings.message_bytes_max;
        let mut peers = Vec::new();
        for (index, address) in addresses.iter().enumerate() {
            let id = MemberId(index as u32);
            if id == context.me {
                continue;
            }
            let endpoint = Endpoint::from_shared(address.clone())
                .map_err(|e| format!("validator #{index} address {address}: {e}"))?
                .connect_timeout(Duration::from_millis(context.settings.connect_timeout_ms))
                .tcp_nodelay(true);
            let client = GossipClient::new(endpoint.connect_lazy())
                .max_decoding_message_size(message_max)
                .max_encoding_message_size(message_max);
            peers.push(Arc::new(Peer {
                id,
                client,
                state: Mutex::new(None),
            }));
        }
        Ok(Gossiper {
            context,
            peers,
            busy: Mutex::new(HashSet::new()),
        })
    }

    /// Starts the sync loops; they run for the life of the process.
    pub fn spawn(self: Arc<Self>) {
        if self.peers.is_empty() {
            return;
        }
        for loop_index in 0..self.context.settings.syncs_in_flight {
            let gossiper = Arc::clone(&self);
            let seed = now_ms() ^ ((self.context.me.0 as u64) << 32) ^ loop_index as u64;
            tokio::spawn(async move { gossiper.sync_loop(SplitMix64::new(seed)).await });
        }
    }

    async fn sync_loop(self: Arc<Self>, mut rng: SplitMix64) {
        let idle = Duration::from_millis(self.context.settings.idle_interval_ms);
        let interval_min = Duration::from_millis(self.context.settings.sync_interval_min_ms);
        loop {
            let Some(peer) = self.pick(&mut rng) else {
                tokio::time::sleep(idle).await;
                continue;
            };
            let started = tokio::time::Instant::now();
            let outcome = self.sync_and_create(&peer, &mut rng).await;
            self.busy.lock().expect("busy lock").remove(&peer.id);
            match outcome {
                Ok(o) if o.received == 0 && o.sent_events == 0 => tokio::time::sleep(idle).await,
                Ok(_) => tokio::time::sleep_until(started + interval_min).await,
                Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
            }
        }
    }

    fn pick(&self, rng: &mut SplitMix64) -> Option<Arc<Peer>> {
        let mut busy = self.busy.lock().expect("busy lock");
        let free: Vec<&Arc<Peer>> = self
            .peers
            .iter()
            .filter(|p| !busy.contains(&p.id))
            .collect();
        if free.is_empty() {
            return None;
        }
        let peer = free[rng.below(free.len() as u64) as usize];
        busy.insert(peer.id);
        Some(Arc::clone(peer))
    }

    async fn sync_and_create(
        &self,
        peer: &Peer,
        rng: &mut SplitMix64,
    ) -> Result<SyncOutcome, Status> {
        let loss = self.context.wan.loss;
        if loss > 0.0 && (rng.next_u64() as f64 / u64::MAX as f64) < loss {
            metrics::counter!("votegraph_sync_dropped_total").increment(1);
            return Err(Status::unavailable("dropped by WAN emulation"));
        }
        let started = Instant::now();
        let timeout = Duration::from_millis(self.context.settings.sync_timeout_ms);
        let result = match tokio::time::timeout(timeout, self.sync(peer)).await {
            Ok(result) => result,
            Err(_) => Err(Status::deadline_exceeded("sync timed out")),
        };
        self.note_peer(peer, &result);
        let outcome = result?;
        metrics::histogram!("votegraph_sync_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        // A peer holding newer events of this validator than it holds itself (a ledger restored
        // from an older backup, say): creating now would reuse their sequence numbers and fork.
        let mine_held = self
            .context
            .shared
            .index
            .read()
            .expect("index lock")
            .known()[self.context.me.index()];
        let own_chain_behind = outcome.peer_known_mine > mine_held;
        if own_chain_behind {
            warn!(
                peer = peer.id.0,
                held = mine_held,
                peer_holds = outcome.peer_known_mine,
                "a peer holds newer events of this validator; creating none until they arrive"
            );
        }
        let (reply, created) = oneshot::channel();
        let command = Command::SyncDone {
            peer: peer.id,
            may_create: !own_chain_behind,
            reply,
        };
        if self.context.driver.send(command).await.is_ok() {
            let _ = created.await;
        }
        Ok(outcome)
    }

    /// One exchange with `peer`.
    async fn sync(&self, peer: &Peer) -> Result<SyncOutcome, Status> {
        let context = &self.context;
        let (out, frames) = delayed_channel(FRAMES_IN_FLIGHT, context.delay_to(peer.id));
        let request = context.hello_to(peer.id);
        let request_signature = request.signature.clone();
        let hello = SyncFrame {
            frame: Some(Frame::Hello(request)),
        };
        out.send(hello)
            .await
            .map_err(|_| Status::internal("outbound frames closed"))?;
        let mut client = peer.client.clone();
        let mut inbound = client.sync(ReceiverStream::new(frames)).await?.into_inner();
        let answer = match inbound.message().await? {
            Some(SyncFrame {
                frame: Some(Frame::Hello(hello)),
            }) => hello,
            _ => {
                return Err(Status::invalid_argument(
                    "the peer did not answer with a hello",
                ))
            }
        };
        context
            .checker
            .check(&answer, now_ms(), HelloRole::AnswerTo(&request_signature))
            .map_err(|e| Status::unauthenticated(e.to_string()))?;
        if answer.from_member != peer.id.0 {
            return Err(Status::unauthenticated(format!(
                "answer signed by member {}, expected {}",
                answer.from_member, peer.id.0
            )));
        }
        let missing = context.events_for(&answer).await.unwrap_or_else(|behind| {
            debug!(peer = peer.id.0, %behind, "peer lacks events this node no longer holds");
            Vec::new()
        });
        let sent_events = missing.len() as u64;
        let limits = context.frame_limits();
        let sender = tokio::spawn(async move { send_events(&out, missing, limits).await });
        let mut received = Received::default();
        receive_all(context, peer.id, &mut inbound, &mut received).await?;
        let sent_bytes = sender.await.ok().flatten().unwrap_or(0);
        Ok(SyncOutcome {
            peer_known_mine: answer.known.get(context.me.index()).copied().unwrap_or(0),
            received: received.events,
            new_events: received.new_events,
            sent_bytes,
            sent_events,
        })
    }

    fn note_peer(&self, peer: &Peer, result: &Result<SyncOutcome, Status>) {
        if let Err(status) = result {
            if status.code() == tonic::Code::ResourceExhausted {
                // Reachable, but still winding down earlier syncs from this validator.
                debug!(peer = peer.id.0, reason = status.message(), "peer busy");
                return;
            }
        }
        let now = match result {
            Ok(_) => PeerState::Up,
            Err(s) if s.code() == tonic::Code::FailedPrecondition => PeerState::TooFarBehind,
            Err(_) => PeerState::Down,
        };
        let mut state = peer.state.lock().expect("peer lock");
        let before = state.replace(now);
        drop(state);
        if before == Some(now) {
            return;
        }
        match (now, result) {
            (PeerState::Up, _) => info!(peer = peer.id.0, "peer reachable"),
            (PeerState::TooFarBehind, Err(status)) => error!(
                peer = peer.id.0,
                reason = status.message(),
                "this validator is too far behind to catch up by gossip"
            ),
            (_, Err(status)) if before.is_some() => {
                info!(
                    peer = peer.id.0,
                    reason = status.message(),
                    "peer unreachable"
                )
            }
            (_, Err(status)) => {
                debug!(
                    peer = peer.id.0,
                    reason = status.message(),
                    "peer not reachable yet"
                )
            }
            _ => {}
        }
        let connected = self
            .peers
            .iter()
            .filter(|p| *p.state.lock().expect("peer lock") == Some(PeerState::Up))
            .count();
        metrics::gauge!("votegraph_peers_connected").set(connected as f64);
    }
}
