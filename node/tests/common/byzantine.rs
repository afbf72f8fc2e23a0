//! A Byzantine validator's tools: its latest event read from a ledger, and syncs (one that hands
//! events to a validator, one held open), authenticated with the validator's key.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use votegraph_consensus::{MemberId, UncheckedEvent, VerifiedEvent};
use votegraph_node::genesis::Genesis;
use votegraph_node::gossip::auth::sign_hello;
use votegraph_node::keys;
use votegraph_proto::gossip::v1::gossip_client::GossipClient;
use votegraph_proto::gossip::v1::{sync_frame::Frame, Done, EventBatch, SyncFrame};
use votegraph_storage::{RocksConfig, RocksStore, Store};

/// The events of `creator` in the ledger at `data` (opened read-only), by sequence number.
pub fn events_of(data: &Path, genesis: &Genesis, creator: u32) -> Vec<VerifiedEvent> {
    let store = RocksStore::open_read_only(data, &RocksConfig::default()).unwrap();
    let limits = genesis.engine_config().event_limits;
    let members = genesis.member_set().unwrap();
    let mut events: Vec<VerifiedEvent> = store
        .all_event_ids()
        .unwrap()
        .into_iter()
        .filter_map(|id| {
            let bytes = store.event(&id).unwrap()?;
            let event = UncheckedEvent::decode(&bytes, &limits).ok()?;
            event.verify(&members, &limits).ok()
        })
        .filter(|e| e.creator() == MemberId(creator))
        .collect();
    events.sort_by_key(|e| e.creator_seq());
    events
}

/// The latest event of `creator` in the ledger at `data` (opened read-only).
pub fn latest_event_of(data: &Path, genesis: &Genesis, creator: u32) -> VerifiedEvent {
    events_of(data, genesis, creator)
        .pop()
        .expect("the creator made events")
}

/// Events in one frame: the validators' default bound (`gossip.events_per_frame_max`).
const EVENTS_PER_FRAME: usize = 256;

/// Hello timestamps, strictly increasing within this test process (a validator refuses a hello
/// not newer than the last one from the same sender).
fn next_hello_ms() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(last.max(now_ms) + 1)
        })
        .unwrap();
    previous.max(now_ms) + 1
}

/// Opens a sync with validator `receiver` at `address`, authenticated as validator `sender` with
/// the key in `key_file`, claiming to know everything (so that the receiver sends nothing
/// back). Returns the caller's side (its hello sent; the sync stays open while it lives) and
/// the receiver's answer, or the receiver's refusal.
pub async fn open_sync_as(
    genesis: &Genesis,
    (receiver, address): (u32, &str),
    key_file: &Path,
    sender: u32,
) -> Result<(mpsc::Sender<SyncFrame>, Streaming<SyncFrame>), Status> {
    let key = keys::read(key_file).unwrap();
    let members = genesis.validators.len();
    let hello = sign_hello(
        &key,
        genesis.hash(),
        sender,
        receiver,
        next_hello_ms(),
        vec![u64::MAX; members],
        &[],
        &[],
    );
    let (out, frames) = mpsc::channel(4);
    out.send(SyncFrame {
        frame: Some(Frame::Hello(hello)),
    })
    .await
    .unwrap();
    let mut client = GossipClient::connect(address.to_string()).await.unwrap();
    let inbound = client.sync(ReceiverStream::new(frames)).await?.into_inner();
    Ok((out, inbound))
}

/// Sends `events` (parents first, at most `gossip.events_per_sync_max`) to validator `receiver`
/// at `address` in one sync, authenticated as validator `sender` with the key in `key_file`.
pub async fn gossip_as(
    genesis: &Genesis,
    receiver: (u32, &str),
    key_file: &Path,
    sender: u32,
    events: &[VerifiedEvent],
) {
    let (out, mut inbound) = open_sync_as(genesis, receiver, key_file, sender)
        .await
        .unwrap();
    let answer = inbound.message().await.unwrap();
    assert!(matches!(
        answer,
        Some(SyncFrame {
            frame: Some(Frame::Hello(_))
        })
    ));
    let batches = events.chunks(EVENTS_PER_FRAME).map(|chunk| {
        Frame::Events(EventBatch {
            events: chunk.iter().map(|e| e.encode().into()).collect(),
        })
    });
    let done = Frame::Done(Done {
        events_sent: events.len() as u64,
    });
    for frame in batches.chain([done]) {
        out.send(SyncFrame { frame: Some(frame) }).await.unwrap();
    }
    drop(out);
    while inbound.message().await.ok().flatten().is_some() {}
}
