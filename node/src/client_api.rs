//! The client transaction API: Submit, SubmitStream, WatchFinalized, GetLedgerHead and
//! GetTransaction. Domain errors become gRPC status codes here and nowhere else.

use crate::finality::{self, Finalized, FinalizedBatch, TxOutcome};
use crate::pool::{AdmitError, Ahead};
use crate::shared::Shared;
use std::collections::HashSet;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Code, Request, Response, Status, Streaming};
use votegraph_gateway::governance::reason::Reason;
use votegraph_gateway::{verify_each, ChainId, Envelope, EnvelopeError, TxId};
use votegraph_proto::tx::v1 as pb;
use votegraph_proto::tx::v1::transactions_server::Transactions;
use votegraph_storage::Store;

/// Most transaction ids one WatchFinalized call may name.
pub const WATCH_IDS_MAX: usize = 10_000;
/// Finality messages buffered per watcher before it counts as too slow.
const WATCH_BUFFER: usize = 256;
/// Most transactions in one finality message: a round of a busy cluster finalizes tens of
/// thousands at once, and one message of them all would pass gRPC's 4 MiB default that
/// clients decode (about 200 bytes each with the reason in words).
pub const FINALITY_MESSAGE_TRANSACTIONS_MAX: usize = 1024;
/// Most submissions of one stream admitted together (see `admit_all`).
const SUBMIT_BATCH_MAX: usize = 64;

#[derive(Clone)]
pub struct TransactionService {
    pub shared: Arc<Shared>,
    pub chain: ChainId,
    pub payload_bytes_max: usize,
    pub member: u32,
    pub watchers_max: usize,
    pub watchers: Arc<AtomicUsize>,
}

/// Why a submission was refused, mapped to a status code in one place.
#[derive(Debug, thiserror::Error)]
enum SubmitError {
    #[error("the request has no envelope")]
    NoEnvelope,
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Admit(#[from] AdmitError),
    #[error("transaction {0} is already final")]
    AlreadyFinal(String),
    #[error("ledger read failed: {0}")]
    Store(#[from] votegraph_storage::StoreError),
}

impl SubmitError {
    fn code(&self) -> Code {
        match self {
            SubmitError::NoEnvelope | SubmitError::Envelope(_) => Code::InvalidArgument,
            SubmitError::Admit(AdmitError::Duplicate(_)) | SubmitError::AlreadyFinal(_) => {
                Code::AlreadyExists
            }
            SubmitError::Admit(AdmitError::Full { .. }) => Code::ResourceExhausted,
            SubmitError::Store(_) => Code::Internal,
        }
    }
}

/// What one submission came to: its transaction id (when the request held a well-formed
/// envelope) and whether it was admitted.
type Admission = (Option<TxId>, Result<(), SubmitError>);

/// Submissions that passed the checks before the signature, waiting for it together.
#[derive(Default)]
struct Candidates {
    positions: Vec<usize>,
    ids: Vec<TxId>,
    envelopes: Vec<Envelope>,
    encodings: Vec<Vec<u8>>,
    encoded_bytes: usize,
}

impl TransactionService {
    /// Admits `requests` in order. Everything cheap (decoding, a full pool, a replay) is
    /// checked first, one request at a time; the signatures of the rest are then checked
    /// together, which shares one field inversion among them (the verdicts are those of
    /// [`Envelope::verify`]).
    fn admit_all(&self, requests: Vec<pb::SubmitRequest>) -> Vec<Admission> {
        let mut admissions: Vec<Admission> = Vec::with_capacity(requests.len());
        let mut candidates = Candidates::default();
        for request in requests {
            let ahead = Ahead {
                transactions: candidates.ids.len(),
                bytes: candidates.encoded_bytes,
            };
            match self.precheck(request, ahead) {
                Ok((id, envelope, encoded)) => {
                    candidates.positions.push(admissions.len());
                    candidates.ids.push(id);
                    candidates.envelopes.push(envelope);
                    candidates.encoded_bytes += encoded.len();
                    candidates.encodings.push(encoded);
                    admissions.push((Some(id), Ok(())));
                }
                Err(refused) => admissions.push(refused),
            }
        }
        let verdicts = verify_each(&candidates.envelopes, &self.chain, self.payload_bytes_max);
        let now = Instant::now();
        let mut pool = self.shared.pool.lock().expect("pool lock");
        let checked = candidates.positions.into_iter().zip(candidates.ids);
        for ((position, id), (verdict, encoded)) in
            checked.zip(verdicts.into_iter().zip(candidates.encodings))
        {
            admissions[position].1 = verdict
                .map_err(SubmitError::from)
                .and_then(|()| Ok(pool.admit(id, encoded, now)?));
        }
        drop(pool);
        for (_, result) in &admissions {
            count(result);
        }
        admissions
    }

    /// The request's envelope, its id and encoding, unless it is refused before its signature
    /// is checked: malformed, a replay of one pending or final, or arriving at a pool that is
    /// full once the submissions `ahead` of it are admitted.
    fn precheck(
        &self,
        request: pb::SubmitRequest,
        ahead: Ahead,
    ) -> Result<(TxId, Envelope, Vec<u8>), Admission> {
        let wire = request
            .envelope
            .ok_or((None, Err(SubmitError::NoEnvelope)))?;
        let envelope = Envelope::from_parts(
            &wire.signer,
            wire.nonce,
            wire.payload.to_vec(),
            &wire.signature,
        )
        .map_err(|e| (None, Err(e.into())))?;
        let id = envelope.id();
        let encoded = envelope.encode();
        self.refused_before_signature(&id, encoded.len(), ahead)
            .map_err(|e| (Some(id), Err(e)))?;
        Ok((id, envelope, encoded))
    }

    fn refused_before_signature(
        &self,
        id: &TxId,
        bytes: usize,
        ahead: Ahead,
    ) -> Result<(), SubmitError> {
        self.shared
            .pool
            .lock()
            .expect("pool lock")
            .precheck_behind(id, bytes, ahead)?;
        if self
            .shared
            .store
            .state(&finality::tx_state_key(id))?
            .is_some()
        {
            return Err(SubmitError::AlreadyFinal(id.to_hex()));
        }
        Ok(())
    }
}

/// Counts a submission's outcome.
fn count(result: &Result<(), SubmitError>) {
    let Err(e) = result else {
        metrics::counter!("votegraph_transactions_submitted_total").increment(1);
        return;
    };
    let reason = match e.code() {
        Code::ResourceExhausted => "pool_full",
        Code::AlreadyExists => "duplicate",
        Code::InvalidArgument => "invalid",
        _ => "error",
    };
    metrics::counter!("votegraph_transactions_refused_total", "reason" => reason).increment(1);
}

/// The future's output if it is ready without waiting.
fn ready_now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

fn response(id: Option<TxId>, result: &Result<(), SubmitError>) -> pb::SubmitResponse {
    let (code, message) = match result {
        Ok(()) => (Code::Ok, String::new()),
        Err(e) => (e.code(), e.to_string()),
    };
    pb::SubmitResponse {
        tx_id: id.map(|i| i.0.to_vec().into()).unwrap_or_default(),
        code: code as i32,
        message,
    }
}

pub fn to_wire(f: &Finalized) -> pb::FinalizedTransaction {
    pb::FinalizedTransaction {
        tx_id: f.tx_id.0.to_vec().into(),
        index: f.index,
        chain_hash: f.chain_hash.to_vec().into(),
        consensus_timestamp_ns: f.consensus_timestamp_ns,
        round_received: f.round_received,
        event_id: f.event_id.as_bytes().to_vec().into(),
        applied: f.outcome.is_applied(),
        duplicate: matches!(
            f.outcome,
            TxOutcome::Rejected {
                reason: Reason::DuplicateTransaction,
                ..
            }
        ),
        reject_code: match &f.outcome {
            TxOutcome::Rejected { reason, .. } => reason.code() as u32,
            TxOutcome::Applied { .. } => 0,
        },
        reject_reason: match &f.outcome {
            TxOutcome::Rejected { reason, .. } => reason.name().to_string(),
            TxOutcome::Applied { .. } => String::new(),
        },
        detail: f.outcome.detail().to_string(),
    }
}

type Boxed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl Transactions for TransactionService {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let (id, result) = self
            .admit_all(vec![request.into_inner()])
            .pop()
            .expect("one admission per request");
        match result {
            Ok(()) => Ok(Response::new(response(id, &result))),
            Err(e) => Err(Status::new(e.code(), e.to_string())),
        }
    }

    type SubmitStreamStream = Boxed<pb::SubmitResponse>;

    async fn submit_stream(
        &self,
        request: Request<Streaming<pb::SubmitRequest>>,
    ) -> Result<Response<Self::SubmitStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(1024);
        let service = TransactionService {
            shared: Arc::clone(&self.shared),
            chain: self.chain,
            payload_bytes_max: self.payload_bytes_max,
            member: self.member,
            watchers_max: self.watchers_max,
            watchers: Arc::clone(&self.watchers),
        };
        tokio::spawn(async move {
            let mut open = true;
            while open {
                let Ok(Some(first)) = inbound.message().await else {
                    return;
                };
                // What else the client has already sent is admitted with it.
                let mut requests = vec![first];
                while requests.len() < SUBMIT_BATCH_MAX {
                    match ready_now(inbound.message()) {
                        Some(Ok(Some(next))) => requests.push(next),
                        Some(Ok(None) | Err(_)) => {
                            open = false;
                            break;
                        }
                        None => break,
                    }
                }
                for (id, result) in service.admit_all(requests) {
                    if tx.send(Ok(response(id, &result))).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    type WatchFinalizedStream = Boxed<pb::FinalizedBatch>;

    async fn watch_finalized(
        &self,
        request: Request<pb::WatchFinalizedRequest>,
    ) -> Result<Response<Self::WatchFinalizedStream>, Status> {
        let request = request.into_inner();
        if request.tx_ids.len() > WATCH_IDS_MAX {
            return Err(Status::invalid_argument(format!(
                "at most {WATCH_IDS_MAX} transaction ids per watch"
            )));
        }
        let mut wanted = HashSet::new();
        for raw in &request.tx_ids {
            let bytes: [u8; 32] = raw
                .as_ref()
                .try_into()
                .map_err(|_| Status::invalid_argument("transaction ids are 32 bytes"))?;
            wanted.insert(TxId(bytes));
        }
        let slot = WatcherSlot::take(&self.watchers, self.watchers_max)?;
        // Subscribe before looking up, so nothing final in between is missed.
        let updates = self.shared.finalized.subscribe();
        let store = Arc::clone(&self.shared.store);
        let ids: Vec<TxId> = wanted.iter().copied().collect();
        let found = tokio::task::spawn_blocking(move || {
            ids.iter()
                .filter_map(|id| finality::lookup(store.as_ref(), id).transpose())
                .collect::<Result<Vec<Finalized>, _>>()
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| Status::internal(e.to_string()))?;
        let mut already = Vec::new();
        for f in &found {
            wanted.remove(&f.tx_id);
            already.push(to_wire(f));
        }
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        for message in finality_messages(already) {
            let _ = tx.send(Ok(message)).await;
        }
        let all = request.all;
        if all || !wanted.is_empty() {
            tokio::spawn(forward_finality(updates, tx, wanted, all, slot));
        }
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_ledger_head(
        &self,
        _request: Request<pb::GetLedgerHeadRequest>,
    ) -> Result<Response<pb::LedgerHead>, Status> {
        let head = self
            .shared
            .store
            .head()
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(pb::LedgerHead {
            next_transaction_index: head.next_transaction_index,
            chain_head: head.chain_head.to_vec().into(),
            next_order_index: head.next_order_index,
            last_decided_round: head.last_decided_round,
            member: self.member,
        }))
    }

    async fn get_transaction(
        &self,
        request: Request<pb::GetTransactionRequest>,
    ) -> Result<Response<pb::OrderedTransaction>, Status> {
        let index = request.into_inner().index;
        let found = self
            .shared
            .store
            .transactions(index, 1)
            .map_err(|e| Status::internal(e.to_string()))?;
        let Some((index, record)) = found.into_iter().next().filter(|(i, _)| *i == index) else {
            return Err(Status::not_found(format!(
                "no transaction at index {index}"
            )));
        };
        Ok(Response::new(pb::OrderedTransaction {
            index,
            payload: record.payload.into(),
            chain_hash: record.chain_hash.to_vec().into(),
            consensus_timestamp_ns: record.consensus_timestamp_ns,
            event_id: record.event_id.as_bytes().to_vec().into(),
            position: record.position,
        }))
    }
}

/// Streams finality updates to one watcher until it has all it asked for, goes away, or falls
/// too far behind (then it is told so, instead of being buffered without limit).
async fn forward_finality(
    mut updates: broadcast::Receiver<FinalizedBatch>,
    tx: mpsc::Sender<Result<pb::FinalizedBatch, Status>>,
    mut wanted: HashSet<TxId>,
    all: bool,
    _slot: WatcherSlot,
) {
    loop {
        let received = tokio::select! {
            received = updates.recv() => received,
            // The watcher went away: free its slot now, not at the next finality.
            _ = tx.closed() => return,
        };
        let batch = match received {
            Ok(batch) => batch,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let status = Status::resource_exhausted(format!(
                    "watcher too slow: {missed} finality batches dropped; watch again"
                ));
                let _ = tx.send(Err(status)).await;
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let transactions: Vec<pb::FinalizedTransaction> = batch
            .iter()
            .filter(|f| all || wanted.remove(&f.tx_id))
            .map(to_wire)
            .collect();
        for message in finality_messages(transactions) {
            if tx.try_send(Ok(message)).is_err() {
                let status = Status::resource_exhausted("watcher too slow; watch again");
                let _ = tx.send(Err(status)).await;
                return;
            }
        }
        if !all && wanted.is_empty() {
            return;
        }
    }
}

/// `transactions` as finality messages of at most [`FINALITY_MESSAGE_TRANSACTIONS_MAX`] each,
/// in order; none for none.
fn finality_messages(transactions: Vec<pb::FinalizedTransaction>) -> Vec<pb::FinalizedBatch> {
    let mut messages = Vec::new();
    let mut rest = transactions.into_iter().peekable();
    while rest.peek().is_some() {
        let transactions = rest
            .by_ref()
            .take(FINALITY_MESSAGE_TRANSACTIONS_MAX)
            .collect();
        messages.push(pb::FinalizedBatch { transactions });
    }
    messages
}

/// One of the bounded number of watcher slots, released on drop.
pub(crate) struct WatcherSlot(Arc<AtomicUsize>);

impl WatcherSlot {
    pub(crate) fn take(count: &Arc<AtomicUsize>, max: usize) -> Result<Self, Status> {
        let previous = count.fetch_add(1, Ordering::SeqCst);
        if previous >= max {
            count.fetch_sub(1, Ordering::SeqCst);
            return Err(Status::resource_exhausted(format!(
                "{max} finality watchers already; try later"
            )));
        }
        Ok(WatcherSlot(Arc::clone(count)))
    }
}

impl Drop for WatcherSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn finalized(index: u64) -> pb::FinalizedTransaction {
        pb::FinalizedTransaction {
            tx_id: vec![7; 32].into(),
            index,
            chain_hash: vec![8; 32].into(),
            event_id: vec![9; 32].into(),
            reject_reason: "payload_not_a_command".into(),
            detail: "x".repeat(300),
            ..Default::default()
        }
    }

    #[test]
    fn a_large_finality_batch_goes_out_in_bounded_messages_in_order() {
        let count = 2 * FINALITY_MESSAGE_TRANSACTIONS_MAX + 1;
        let messages = finality_messages((0..count as u64).map(finalized).collect());
        let sizes: Vec<usize> = messages.iter().map(|m| m.transactions.len()).collect();
        let max = FINALITY_MESSAGE_TRANSACTIONS_MAX;
        assert_eq!(sizes, vec![max, max, 1]);
        let indexes: Vec<u64> = messages
            .iter()
            .flat_map(|m| m.transactions.iter().map(|t| t.index))
            .collect();
        assert_eq!(indexes, (0..count as u64).collect::<Vec<_>>());
        let bytes_max = messages.iter().map(Message::encoded_len).max().unwrap();
        assert!(bytes_max < 4 << 20, "{bytes_max} bytes in one message");
    }

    #[test]
    fn no_finality_means_no_message() {
        assert!(finality_messages(Vec::new()).is_empty());
    }
}
