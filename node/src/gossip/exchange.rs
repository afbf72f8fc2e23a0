//! The half of a sync both sides share: streaming the events a peer lacks in bounded frames,
//! and taking in the events a peer sends (verified in parallel, then handed to the driver in
//! the order received, so parents still come first).

use super::context::GossipContext;
use super::verify::{decode, verify_on_pool, Rules};
use crate::driver::Command;
use crate::shared::Shared;
use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;
use tracing::warn;
use votegraph_consensus::{EventId, MemberId, UncheckedEvent};
use votegraph_proto::gossip::v1::{sync_frame::Frame, Done, EventBatch, SyncFrame};

/// Frame limits for one side of a sync.
#[derive(Clone, Copy)]
pub struct FrameLimits {
    pub events_per_frame_max: usize,
    pub frame_bytes_max: usize,
}

/// Sends `events` in frames within `limits`, then Done. Returns the bytes sent, or `None` if the
/// other side went away.
pub async fn send_events(
    out: &mpsc::Sender<SyncFrame>,
    events: Vec<Bytes>,
    limits: FrameLimits,
) -> Option<u64> {
    let count = events.len() as u64;
    let mut sent_bytes = 0u64;
    let mut frame: Vec<Bytes> = Vec::new();
    let mut frame_bytes = 0usize;
    for event in events {
        let full = frame.len() >= limits.events_per_frame_max
            || (!frame.is_empty() && frame_bytes + event.len() > limits.frame_bytes_max);
        if full {
            sent_bytes += frame_bytes as u64;
            let batch = Frame::Events(EventBatch {
                events: std::mem::take(&mut frame),
            });
            out.send(SyncFrame { frame: Some(batch) }).await.ok()?;
            frame_bytes = 0;
        }
        frame_bytes += event.len();
        frame.push(event);
    }
    if !frame.is_empty() {
        sent_bytes += frame_bytes as u64;
        let batch = Frame::Events(EventBatch { events: frame });
        out.send(SyncFrame { frame: Some(batch) }).await.ok()?;
    }
    let done = Frame::Done(Done { events_sent: count });
    out.send(SyncFrame { frame: Some(done) }).await.ok()?;
    metrics::counter!("votegraph_sync_bytes_total", "direction" => "sent").increment(sent_bytes);
    Some(sent_bytes)
}

/// What one side took in.
#[derive(Default, Debug)]
pub struct Received {
    pub events: u64,
    pub new_events: u64,
}

/// Hands one received frame to the driver after verifying it. Events this node already holds,
/// or that another sync is verifying right now, are skipped before their signatures are
/// checked: verification is the scarcest resource of a validator.
async fn take_in(
    rules: &Arc<Rules>,
    shared: &Arc<Shared>,
    driver: &mpsc::Sender<Command>,
    from: MemberId,
    batch: EventBatch,
    received: &mut Received,
) -> Result<(), Status> {
    let bytes: u64 = batch.events.iter().map(|e| e.len() as u64).sum();
    metrics::counter!("votegraph_sync_bytes_total", "direction" => "received").increment(bytes);
    received.events += batch.events.len() as u64;
    let mut claim = Claim::new(shared, rules, batch.events);
    let (verified, refused) = verify_on_pool(Arc::clone(rules), claim.take_fresh()).await;
    for r in &refused {
        warn!(peer = from.0, reason = %r.reason, bytes = r.bytes.len(), "peer sent an invalid event");
    }
    metrics::counter!("votegraph_events_invalid_total").increment(refused.len() as u64);
    if verified.is_empty() {
        return Ok(());
    }
    let (reply, accepted) = oneshot::channel();
    driver
        .send(Command::Received {
            from,
            events: verified,
            reply,
        })
        .await
        .map_err(|_| Status::unavailable("validator is shutting down"))?;
    received.new_events += accepted
        .await
        .map_err(|_| Status::unavailable("validator is shutting down"))?
        as u64;
    drop(claim);
    Ok(())
}

/// Events of one frame claimed for verification by this sync; released when dropped (after
/// the driver has taken them in, or when the sync fails).
struct Claim {
    shared: Arc<Shared>,
    claimed: Vec<EventId>,
    fresh: Vec<(Bytes, Result<UncheckedEvent, String>)>,
}

impl Claim {
    fn new(shared: &Arc<Shared>, rules: &Rules, events: Vec<Bytes>) -> Self {
        let mut claim = Claim {
            shared: Arc::clone(shared),
            claimed: Vec::new(),
            fresh: Vec::new(),
        };
        let index = shared.index.read().expect("index lock");
        let mut verifying = shared.verifying.lock().expect("verifying lock");
        for bytes in events {
            let decoded = decode(rules, &bytes);
            if let Ok(event) = &decoded {
                let id = event.unsigned.id();
                if index.contains(&id) || !verifying.insert(id) {
                    metrics::counter!("votegraph_events_duplicate_total").increment(1);
                    continue;
                }
                claim.claimed.push(id);
            }
            claim.fresh.push((bytes, decoded));
        }
        claim
    }

    fn take_fresh(&mut self) -> Vec<(Bytes, Result<UncheckedEvent, String>)> {
        std::mem::take(&mut self.fresh)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut verifying = self.shared.verifying.lock().expect("verifying lock");
        for id in &self.claimed {
            verifying.remove(id);
        }
    }
}

/// Takes in the peer's event frames until its Done (or the end of the stream).
pub async fn receive_all(
    context: &GossipContext,
    peer: MemberId,
    inbound: &mut tonic::Streaming<SyncFrame>,
    received: &mut Received,
) -> Result<(), Status> {
    while let Some(frame) = inbound.message().await? {
        match frame.frame {
            Some(Frame::Events(batch)) => {
                take_in(
                    &context.rules,
                    &context.shared,
                    &context.driver,
                    peer,
                    batch,
                    received,
                )
                .await?
            }
            Some(Frame::Done(_)) => return Ok(()),
            _ => return Err(Status::invalid_argument("unexpected frame in a sync")),
        }
    }
    Ok(())
}
