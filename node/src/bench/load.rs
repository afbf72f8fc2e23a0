//! The load generator: pre-signed ballot-sized envelopes submitted at a fixed rate (open loop:
//! a slow cluster does not slow the offered load), spread over one SubmitStream per validator,
//! with finality observed on one validator's WatchFinalized stream.

use rayon::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use votegraph_gateway::governance::action::Action;
use votegraph_gateway::{ChainId, Envelope, TxId};
use votegraph_proto::tx::v1 as pb;
use votegraph_proto::tx::v1::transactions_client::TransactionsClient;

/// Voters signing the generated ballots.
const VOTERS: usize = 1024;
/// Submissions are released in ticks of this length.
const TICK: Duration = Duration::from_millis(5);

pub struct LoadSpec {
    pub rate_per_s: u64,
    pub duration: Duration,
    /// After the load stops, how long to wait for outstanding transactions to become final.
    pub drain: Duration,
}

/// Everything measured, as raw samples (the report computes the figures).
pub struct LoadResult {
    pub started: Instant,
    /// (submitted at, tx id), in submission order.
    pub submitted: Vec<(Instant, TxId)>,
    pub accepted: u64,
    pub refused_pool_full: u64,
    pub refused_other: u64,
    /// (final at, tx id) for final transactions, applied or rejected, but not duplicates, as the
    /// watched validator reported them.
    pub finalized: Vec<(Instant, TxId)>,
    /// How many of `finalized` governance rejected (each recorded with its reason).
    pub rejected: u64,
    /// Why the finality watch ended before the drain did; the figures then miss what was
    /// finalized after it.
    pub watch_error: Option<String>,
}

/// Signs `count` opaque payloads of `payload_bytes` in parallel (governance records each as
/// malformed: the consensus and ledger path without the governance rules).
pub fn presign(chain: &ChainId, count: usize, payload_bytes: usize) -> Vec<(TxId, pb::Envelope)> {
    let keys: Vec<_> = (0..VOTERS)
        .map(|v| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(v as u64 + 1).to_be_bytes());
            seed[8..16].copy_from_slice(&crate::gossip::context::now_ms().to_be_bytes());
            ed25519_dalek::SigningKey::from_bytes(&seed)
        })
        .collect();
    (0..count)
        .into_par_iter()
        .map(|i| {
            let payload: Vec<u8> = (0..payload_bytes).map(|b| (i + b) as u8).collect();
            wire(Envelope::sign(
                chain,
                &keys[i % VOTERS],
                (i / VOTERS) as u64,
                payload,
            ))
        })
        .collect()
}

/// Signs each voter's action (nonce 0: one transaction per key) in parallel.
pub fn presign_actions(
    chain: &ChainId,
    actions: &[(ed25519_dalek::SigningKey, Action)],
) -> Vec<(TxId, pb::Envelope)> {
    actions
        .par_iter()
        .map(|(key, action)| wire(Envelope::sign(chain, key, 0, action.encode())))
        .collect()
}

fn wire(envelope: Envelope) -> (TxId, pb::Envelope) {
    let id = envelope.id();
    let wire = pb::Envelope {
        payload: envelope.payload.into(),
        signer: envelope.signer.to_vec().into(),
        signature: envelope.signature.to_vec().into(),
        nonce: envelope.nonce,
    };
    (id, wire)
}

/// Submits `transactions` round-robin to `clients` at the spec's rate and watches finality on
/// `watch`.
pub async fn drive(
    clients: Vec<TransactionsClient<Channel>>,
    mut watch: TransactionsClient<Channel>,
    transactions: Vec<(TxId, pb::Envelope)>,
    spec: &LoadSpec,
) -> Result<LoadResult, tonic::Status> {
    let mut updates = watch
        .watch_finalized(pb::WatchFinalizedRequest {
            tx_ids: Vec::new(),
            all: true,
        })
        .await?
        .into_inner();
    let (final_tx, mut final_rx) = mpsc::unbounded_channel::<(Instant, TxId, bool)>();
    let watcher = tokio::spawn(async move {
        loop {
            let batch = match updates.message().await {
                Ok(Some(batch)) => batch,
                Ok(None) => return Some("the validator closed the stream".to_string()),
                Err(status) => return Some(status.to_string()),
            };
            let now = Instant::now();
            for f in batch.transactions.iter().filter(|f| !f.duplicate) {
                if let Ok(id) = <[u8; 32]>::try_from(f.tx_id.as_ref()) {
                    let _ = final_tx.send((now, TxId(id), f.applied));
                }
            }
        }
    });
    let mut streams = Vec::new();
    let mut responders = Vec::new();
    for mut client in clients {
        let (tx, rx) = mpsc::channel::<pb::SubmitRequest>(65_536);
        let mut responses = client
            .submit_stream(ReceiverStream::new(rx))
            .await?
            .into_inner();
        responders.push(tokio::spawn(async move {
            let mut counts = [0u64; 3];
            while let Ok(Some(r)) = responses.message().await {
                let slot = match tonic::Code::from(r.code) {
                    tonic::Code::Ok => 0,
                    tonic::Code::ResourceExhausted => 1,
                    _ => 2,
                };
                counts[slot] += 1;
            }
            counts
        }));
        streams.push(tx);
    }
    let started = Instant::now();
    let submitted = pace(&streams, transactions, spec, started).await;
    drop(streams);
    let mut counts = [0u64; 3];
    for responder in responders {
        let c = responder.await.unwrap_or_default();
        (0..3).for_each(|i| counts[i] += c[i]);
    }
    let outstanding: HashMap<TxId, ()> = submitted.iter().map(|(_, id)| (*id, ())).collect();
    let mut finalized = Vec::new();
    let mut rejected = 0u64;
    let drain_until = Instant::now() + spec.drain;
    while finalized.len() < counts[0] as usize {
        let remaining = drain_until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, final_rx.recv()).await {
            Ok(Some((at, id, applied))) if outstanding.contains_key(&id) => {
                finalized.push((at, id));
                rejected += u64::from(!applied);
            }
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let watch_error = match watcher.is_finished() {
        true => watcher.await.unwrap_or_default(),
        false => {
            watcher.abort();
            None
        }
    };
    Ok(LoadResult {
        started,
        submitted,
        accepted: counts[0],
        refused_pool_full: counts[1],
        refused_other: counts[2],
        finalized,
        rejected,
        watch_error,
    })
}

/// Releases transactions tick by tick so that `rate_per_s` is kept on average.
async fn pace(
    streams: &[mpsc::Sender<pb::SubmitRequest>],
    transactions: Vec<(TxId, pb::Envelope)>,
    spec: &LoadSpec,
    started: Instant,
) -> Vec<(Instant, TxId)> {
    let mut submitted = Vec::with_capacity(transactions.len());
    let mut next = transactions.into_iter();
    let mut sent = 0u64;
    let mut ticker = tokio::time::interval(TICK);
    let mut stream_index = 0usize;
    loop {
        ticker.tick().await;
        let elapsed = started.elapsed();
        if elapsed >= spec.duration {
            return submitted;
        }
        let due = (elapsed.as_secs_f64() * spec.rate_per_s as f64) as u64;
        while sent < due {
            let Some((id, envelope)) = next.next() else {
                return submitted;
            };
            let request = pb::SubmitRequest {
                envelope: Some(envelope),
            };
            let now = Instant::now();
            if streams[stream_index].send(request).await.is_err() {
                return submitted;
            }
            submitted.push((now, id));
            stream_index = (stream_index + 1) % streams.len();
            sent += 1;
        }
    }
}
