//! The driver: one thread owns the consensus engine and the ledger writes. Everything that
//! changes consensus state arrives as a [`Command`] on one bounded channel, so the engine needs
//! no locks and its steps happen in one order.
//!
//! Each step ends the same way ([`Driver::persist_and_publish`]): new events and any decided
//! rounds go to the ledger in one atomic batch (split after a checkpoint round, so that the
//! checkpoint and this validator's signature of it are committed with exactly its rounds); only after it is durable are the events offered
//! to peers and the transactions reported final. So a validator never gossips an event it could
//! forget in a crash (forking itself), and never reports finality it could lose.

use crate::advancement::Advancement;
use crate::checkpoint::{self, Checkpointer, RoundActivity};
use crate::evidence::{self, EvidenceKeeper, Verdict, PROOFS_PER_CREATOR_MAX};
use crate::finality::{self, Finalized, TxOutcome};
use crate::gossip::auth::WANTED_MAX;
use crate::ledger_state::{split_writes, LedgerState};
use crate::orphans::Orphans;
use crate::over_share::OverShare;
use crate::pool::Pending;
use crate::pool::Pool;
use crate::shared::Shared;
use crate::snapshots::Snapshots;
use crate::verdicts::{self, Settled};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};
use votegraph_consensus::{
    Admission, CreateError, Engine, EquivocationProof, EventId, InsertOutcome, InsertRejection,
    MemberId, OrderedEvent, Output, Round, VerifiedEvent,
};
use votegraph_gateway::governance::overlay::Overlay;
use votegraph_gateway::governance::reason::Rejection;
use votegraph_gateway::governance::{Applied, Governance, TxContext};
use votegraph_gateway::{verify_encoded_each, ChainId, Envelope, TxId};
use votegraph_storage::{round_batch, Batch, LedgerHead, RoundCommit, Store};

/// Most commands waiting for the driver; senders wait when it is full (backpressure).
pub const COMMANDS_MAX: usize = 256;
/// Most received events kept while waiting for a parent.
pub const ORPHANS_MAX: usize = 20_000;
/// Most bytes (canonical encodings) of received events kept while waiting for a parent.
pub const ORPHAN_BYTES_MAX: usize = 256 * 1024 * 1024;

pub enum Command {
    /// Verified events from a peer, parents first. Replies with how many were new.
    Received {
        from: MemberId,
        events: Vec<VerifiedEvent>,
        reply: oneshot::Sender<usize>,
    },
    /// A sync with `peer` finished; create an event if there is something to carry or decide.
    SyncDone {
        peer: MemberId,
        /// False while a peer holds newer events of this validator than it does.
        may_create: bool,
        reply: oneshot::Sender<bool>,
    },
    /// Periodic: log a status line and update gauges.
    Tick,
}

pub struct DriverSettings {
    pub me: MemberId,
    pub transactions_per_event_max: usize,
    /// Transaction bytes one event carries, within the engine's event size limit.
    pub transaction_bytes_per_event_max: usize,
    pub ancient_window_rounds: Round,
    pub snapshot_interval_rounds: Round,
    pub keep_full_history: bool,
    /// What a transaction signature is checked against.
    pub chain: ChainId,
    pub payload_bytes_max: usize,
}

pub struct Driver {
    engine: Engine,
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    governance: Arc<Governance>,
    checkpointer: Checkpointer,
    snapshots: Snapshots,
    head: LedgerHead,
    settings: DriverSettings,
    /// Own events not yet ordered, with the pool entries they carry (requeued if stale).
    own_unordered: HashMap<EventId, Vec<Pending>>,
    /// Events carrying transactions that are neither ordered nor stale yet.
    unordered_with_transactions: HashSet<EventId>,
    /// Received events waiting for a parent.
    orphans: Orphans,
    over_share: OverShare,
    /// How many proofs of each forking validator the ledger holds.
    evidence: EvidenceKeeper,
    /// Missing parents asked for by id since the start, summed over this validator's syncs.
    events_wanted_total: u64,
    /// Received events too old to matter (ancient): (creator, seq), for the gossip index.
    passed: Vec<(MemberId, u64)>,
    /// Which peers' new events this node has heard of: whether an empty event is worth
    /// creating.
    advancement: Advancement,
}

impl Driver {
    pub fn new(
        engine: Engine,
        store: Arc<dyn Store>,
        shared: Arc<Shared>,
        governance: Arc<Governance>,
        checkpointer: Checkpointer,
        settings: DriverSettings,
    ) -> Result<Self, votegraph_storage::StoreError> {
        let head = store.head()?;
        let unordered: Vec<VerifiedEvent> = engine
            .events_in_memory()
            .iter()
            .filter(|e| !e.transactions().is_empty())
            .filter(|e| engine.status(&e.id()).is_some_and(|s| !s.ordered))
            .map(|e| (*e).clone())
            .collect();
        let unordered_with_transactions = unordered.iter().map(VerifiedEvent::id).collect();
        let advancement = Advancement::new(engine.members(), settings.me);
        let members = engine.members().len();
        let evidence = EvidenceKeeper::load(store.as_ref(), members)?;
        let snapshots = Snapshots::new(
            settings.snapshot_interval_rounds,
            settings.keep_full_history,
            &engine,
            store.as_ref(),
        )?;
        Ok(Driver {
            snapshots,
            engine,
            store,
            shared,
            governance,
            checkpointer,
            head,
            settings,
            own_unordered: HashMap::new(),
            unordered_with_transactions,
            advancement,
            orphans: Orphans::new(members, ORPHANS_MAX, ORPHAN_BYTES_MAX),
            over_share: OverShare::new(members),
            evidence,
            events_wanted_total: 0,
            passed: Vec::new(),
        }
        .checking_in_background(unordered))
    }

    /// Starts the signature check of `events`' transactions (see `crate::verdicts`).
    fn checking_in_background(self, events: Vec<VerifiedEvent>) -> Self {
        self.check_in_background(events);
        self
    }

    /// Checks the transaction signatures of `events` on their own pool, off the path of
    /// consensus; the commit that applies them takes the verdicts (or waits for them). A peer's
    /// transactions that verify are then marked in flight in the pool (a forgery marks
    /// nothing, so it cannot hold the real transaction off).
    fn check_in_background(&self, events: Vec<VerifiedEvent>) {
        if events.is_empty() {
            return;
        }
        let ids: Vec<EventId> = events.iter().map(VerifiedEvent::id).collect();
        self.shared.verdicts.begin(&ids);
        let shared = Arc::clone(&self.shared);
        let chain = self.settings.chain;
        let payload_bytes_max = self.settings.payload_bytes_max;
        let me = self.settings.me;
        verdicts::spawn(move || {
            let found = verdicts::check(&events, &chain, payload_bytes_max);
            {
                let mut pool = shared.pool.lock().expect("pool lock");
                for (event, settled) in events.iter().zip(&found) {
                    if event.creator() != me {
                        mark_in_flight(&mut pool, event, settled);
                    }
                }
            }
            shared.verdicts.settle(ids.into_iter().zip(found).collect());
        });
    }

    /// What the check of `event`'s transactions found: from the background check, or checked
    /// here when it has not seen the event (rounds recovered at a restart, or past the cache's
    /// bound).
    fn verdicts(&self, event: &VerifiedEvent) -> Settled {
        if event.transactions().is_empty() {
            return None;
        }
        match self.shared.verdicts.take(&event.id()) {
            Some(settled) => settled,
            None => verdicts::settled(verify_encoded_each(
                event.transactions(),
                &self.settings.chain,
                self.settings.payload_bytes_max,
            )),
        }
    }

    /// Commits rounds a crash left decided but unwritten (from recovery), before anything else.
    pub fn commit_recovered(&mut self, pending: Vec<OrderedEvent>) {
        if pending.is_empty() {
            return;
        }
        info!(
            events = pending.len(),
            "committing rounds decided before the restart"
        );
        let outputs = pending.into_iter().map(Output::Ordered).collect();
        self.persist_and_publish(Vec::new(), outputs);
    }

    /// Runs until every sender is gone.
    pub fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        while let Some(command) = commands.blocking_recv() {
            match command {
                Command::Received {
                    from,
                    events,
                    reply,
                } => {
                    let accepted = self.receive(from, events);
                    let _ = reply.send(accepted);
                }
                Command::SyncDone {
                    peer,
                    may_create,
                    reply,
                } => {
                    let created = may_create && self.maybe_create(peer);
                    let _ = reply.send(created);
                    self.orphans.sync_ended();
                    let wanted = self.orphans.wanted(WANTED_MAX);
                    self.events_wanted_total += wanted.len() as u64;
                    metrics::counter!("votegraph_events_wanted_total")
                        .increment(wanted.len() as u64);
                    *self.shared.wanted.lock().expect("wanted lock") = wanted;
                }
                Command::Tick => self.status(),
            }
        }
        info!("driver stopped");
    }

    fn receive(&mut self, from: MemberId, events: Vec<VerifiedEvent>) -> usize {
        let mut accepted = Vec::new();
        let needed = self.orphans.needed_in(&events);
        let mut queue: VecDeque<(VerifiedEvent, bool)> = events
            .into_iter()
            .map(|e| {
                let is_needed = needed.contains(&e.id());
                (e, is_needed)
            })
            .collect();
        while let Some((event, is_needed)) = queue.pop_front() {
            let id = event.id();
            let carries = !event.transactions().is_empty();
            let admission = if is_needed || self.orphans.needs(&event) {
                Admission::Needed
            } else {
                Admission::Shared
            };
            match self.engine.admit(event.clone(), admission) {
                Ok(InsertOutcome::Inserted { .. }) | Ok(InsertOutcome::Buffered) => {
                    if carries {
                        self.unordered_with_transactions.insert(id);
                    }
                    accepted.push(event);
                    queue.extend(self.orphans.released_by(&id));
                }
                Ok(InsertOutcome::Duplicate) => {}
                Ok(InsertOutcome::Ancient) => {
                    self.passed.push((event.creator(), event.creator_seq()))
                }
                Err(e) => match e.reason {
                    InsertRejection::MissingParents(missing) => {
                        self.orphans.keep(*e.event, &missing);
                    }
                    reason => self.refused(from, reason, &e.event),
                },
            }
        }
        let count = accepted.len();
        self.check_in_background(
            accepted
                .iter()
                .filter(|e| !e.transactions().is_empty())
                .cloned()
                .collect(),
        );
        for event in &accepted {
            self.advancement.heard(event.creator());
        }
        metrics::counter!("votegraph_events_received_total").increment(count as u64);
        metrics::gauge!("votegraph_orphan_events").set(self.orphans.len() as f64);
        let outputs = self.engine.drain_outputs();
        self.persist_and_publish(accepted, outputs);
        count
    }

    /// Counts a fork, and whether its proof is stored (see `crate::evidence`).
    fn evidence_to_keep(&mut self, proof: &EquivocationProof) -> bool {
        metrics::counter!("votegraph_forks_seen_total").increment(1);
        let creator = proof.first.creator().0;
        let (first, second) = (proof.first.id(), proof.second.id());
        let verdict = self.evidence.judge(proof);
        match verdict {
            Verdict::Keep | Verdict::KeepLast => warn!(
                creator, %first, %second,
                "fork: a validator signed two conflicting events"
            ),
            Verdict::CountOnly => debug!(creator, %first, %second, "fork counted, not stored"),
        }
        if verdict == Verdict::KeepLast {
            warn!(
                creator,
                stored = PROOFS_PER_CREATOR_MAX,
                "further forks of this validator are counted, not stored"
            );
        }
        verdict != Verdict::CountOnly
    }

    fn refused(&mut self, from: MemberId, reason: InsertRejection, event: &VerifiedEvent) {
        metrics::counter!("votegraph_events_refused_total").increment(1);
        match reason {
            InsertRejection::CreatorShareFull { creator, held, .. }
            | InsertRejection::FutureShareFull {
                creator,
                events: held,
                ..
            } => self.over_share.refused(creator, held, &reason),
            InsertRejection::MissingParents(_)
            | InsertRejection::DagFull { .. }
            | InsertRejection::FutureBufferFull { .. }
            | InsertRejection::TooFarAhead { .. } => {
                debug!(peer = from.0, event = %event.id(), %reason, "event not inserted yet");
            }
            _ => warn!(
                peer = from.0,
                creator = event.creator().0,
                event = %event.id(),
                %reason,
                "invalid event refused (evidence: its creator signed it)"
            ),
        }
    }

    /// After a sync: create an event when there are transactions to carry, or when
    /// transactions are still waiting for consensus and the peers heard from grew since the
    /// last own event (see `crate::advancement`). Idle validators create nothing; busy ones
    /// create at most one event per sync.
    fn maybe_create(&mut self, peer: MemberId) -> bool {
        let pool_waiting = !self.shared.pool.lock().expect("pool lock").is_empty();
        let consensus_waiting =
            self.advancement.worth_an_empty_event() && !self.unordered_with_transactions.is_empty();
        if !pool_waiting && !consensus_waiting {
            return false;
        }
        let pending = self.shared.pool.lock().expect("pool lock").take(
            self.settings.transactions_per_event_max,
            self.settings.transaction_bytes_per_event_max,
        );
        let transactions: Vec<Vec<u8>> = pending.iter().map(|p| p.bytes.clone()).collect();
        let other_parent = self
            .shared
            .index
            .read()
            .expect("index lock")
            .latest_of(peer);
        let now_ns = now_ns();
        let created = match self
            .engine
            .create_event(now_ns, other_parent, transactions.clone())
        {
            Err(CreateError::UnknownOtherParent(_)) | Err(CreateError::OtherParentIsOwn(_)) => {
                self.engine.create_event(now_ns, None, transactions)
            }
            other => other,
        };
        let event = match created {
            Ok(event) => event,
            Err(e) => {
                debug!(error = %e, "no event created");
                self.shared.pool.lock().expect("pool lock").requeue(pending);
                return false;
            }
        };
        metrics::counter!("votegraph_events_created_total").increment(1);
        self.advancement.created();
        if !pending.is_empty() {
            // Its transactions were checked when they were admitted.
            self.shared.verdicts.settle(vec![(event.id(), None)]);
            self.unordered_with_transactions.insert(event.id());
            self.own_unordered.insert(event.id(), pending);
        }
        let outputs = self.engine.drain_outputs();
        self.persist_and_publish(vec![(*event).clone()], outputs);
        true
    }

    /// Writes new events and decided rounds in one batch (two or more when a checkpoint falls
    /// inside), then offers the events to peers and reports finality. A ledger write that fails stops the validator: continuing would gossip
    /// or report what is not durable.
    fn persist_and_publish(&mut self, events: Vec<VerifiedEvent>, outputs: Vec<Output>) {
        let mut ordered = Vec::new();
        let mut rounds_decided = 0u64;
        let mut round = self.head.last_decided_round;
        let mut evidence = Vec::new();
        let mut unheld = Vec::new();
        for output in outputs {
            match output {
                Output::Ordered(o) => {
                    round = round.max(o.round_received);
                    ordered.push(o);
                }
                Output::RoundDecided { round: r, .. } => {
                    rounds_decided += 1;
                    round = round.max(r);
                }
                Output::Stale { id } => self.stale(id),
                Output::Equivocation(proof) => {
                    if self.evidence_to_keep(&proof) {
                        evidence.push(proof);
                    }
                }
                Output::ReleasedEventRefused { event, reason } => {
                    debug!(event = %event.id(), %reason, "buffered event refused on release");
                    self.stale(event.id());
                    unheld.push(*event);
                }
                Output::FameDecided { .. } => {}
            }
        }
        let mut batch = Batch::new();
        for event in &events {
            batch.put_event(
                event.id(),
                event.creator(),
                event.creator_seq(),
                event.encode(),
            );
        }
        // A buffered event was stored when it arrived; one the engine refused on release must
        // not be replayed (or served) from the ledger.
        for event in &unheld {
            batch.delete_event(event.id(), event.creator(), event.creator_seq());
        }
        for proof in &evidence {
            let (key, value) = evidence::entry(proof);
            batch.put_state(key, value);
        }
        // One batch, unless a checkpoint falls inside: then the rounds up to it form a batch of
        // their own, whose state root is that of the ledger exactly at the checkpoint.
        let mut finalized = Vec::new();
        let mut rest = ordered.as_slice();
        loop {
            let mut segment = if rest.is_empty() {
                Segment::default()
            } else {
                self.commit_batch(round, rest)
            };
            batch.append(std::mem::take(&mut segment.batch));
            self.write(batch);
            batch = Batch::new();
            finalized.extend(segment.finalized);
            if let Some((id, bytes)) = segment.own_signature {
                self.queue_own_signature(id, bytes);
            }
            rest = &rest[segment.events..];
            if rest.is_empty() {
                break;
            }
        }
        self.offer(&events, &unheld);
        self.publish(ordered.len(), rounds_decided, finalized);
        let snapshot = self
            .snapshots
            .after_commit(&self.engine, &self.head, self.store.as_ref());
        if let Err(e) = snapshot {
            error!(error = %e, "ledger write failed; stopping the validator");
            std::process::exit(74);
        }
    }

    /// Commits `ordered` from its start up to its end or the end of the first round that is a
    /// checkpoint, whichever comes first: the batch with the governance state its transactions
    /// produce, and the finality records it will make true. `round` is the latest decided
    /// round, for a segment that reaches the end.
    fn commit_batch(&mut self, round: Round, ordered: &[OrderedEvent]) -> Segment {
        let ledger = LedgerState(self.store.as_ref());
        let mut overlay = Overlay::new(&ledger);
        let mut seen_here: HashSet<TxId> = HashSet::new();
        let mut outcomes = Vec::new();
        let mut finality_puts = Vec::new();
        let mut activity = RoundActivity::default();
        let mut segment = Segment::default();
        for (position, o) in ordered.iter().enumerate() {
            self.unordered_with_transactions.remove(&o.event.id());
            self.own_unordered.remove(&o.event.id());
            let verdicts = self.verdicts(&o.event);
            let stamped = o
                .event
                .transactions()
                .iter()
                .zip(&o.transaction_timestamps_ns);
            for (offset, (tx, timestamp)) in stamped.enumerate() {
                let index = o.first_transaction_index + offset as u64;
                // Every ordered transaction passed the form check when its event arrived.
                let envelope = Envelope::decode(tx).expect("ordered transactions are envelopes");
                let invalid = verdicts.as_ref().and_then(|v| v[offset].as_ref().err());
                let id = envelope.id();
                let context = TxContext {
                    index,
                    tx_id: id.0,
                    signer: envelope.signer,
                    consensus_ns: *timestamp,
                };
                activity.ends_voting |= self.advance_time(&mut overlay, &context) > 0;
                let outcome = if let Some(e) = invalid {
                    // No finality record: the signer and nonce stay free for the real one.
                    let detail = e.to_string();
                    self.governance
                        .reject_invalid_signature(&mut overlay, &context, &detail);
                    activity.observe(&envelope.payload, &Err(()));
                    TxOutcome::invalid_signature(detail)
                } else if seen_here.insert(id) && self.not_final_before(&id) {
                    finality_puts.push((
                        finality::tx_state_key(&id),
                        finality::tx_state_value(index, o.round_received),
                    ));
                    let applied = self.apply(&mut overlay, &context, &envelope.payload);
                    activity.observe(&envelope.payload, &applied);
                    TxOutcome::from(applied)
                } else {
                    self.governance.reject_duplicate(&mut overlay, &context);
                    activity.observe(&envelope.payload, &Err(()));
                    TxOutcome::duplicate()
                };
                outcomes.push((id, outcome, o.round_received));
            }
            let round_ends = ordered
                .get(position + 1)
                .is_none_or(|next| next.round_received != o.round_received);
            if !round_ends {
                continue;
            }
            if self.checkpointer.due(o.round_received, &activity) {
                segment.checkpoint_round = Some(o.round_received);
                segment.events = position + 1;
                break;
            }
            activity = RoundActivity::default();
        }
        if segment.checkpoint_round.is_none() {
            segment.events = ordered.len();
        }
        if let Some(r) = segment.checkpoint_round {
            self.checkpointer.checkpointed(r);
        }
        let writes = overlay.into_writes();
        if let Err(e) = self.checkpointer.apply_writes(self.store.as_ref(), &writes) {
            error!(error = %e, "ledger read failed; stopping the validator");
            std::process::exit(74);
        }
        let (state_puts, state_deletes) = split_writes(writes, finality_puts);
        let commit = RoundCommit {
            round: match segment.checkpoint_round {
                Some(r) if segment.events < ordered.len() => r,
                _ => round,
            },
            ordered: ordered[..segment.events].to_vec(),
            state_puts,
            state_deletes,
        };
        let (mut batch, head) = round_batch(&self.head, &commit);
        self.checkpointer
            .append(batch.transactions().map(|(_, record)| record));
        for (key, value) in self.checkpointer.state_puts() {
            batch.put_state(key, value);
        }
        if let Some(round) = segment.checkpoint_round {
            let (id, bytes) = self.sign_checkpoint(&head, round);
            let (key, value) = checkpoint::own_signature_entry(bytes.clone());
            batch.put_state(key, value);
            segment.own_signature = Some((id, bytes));
        }
        segment.finalized = batch
            .transactions()
            .zip(outcomes)
            .map(
                |((index, record), (tx_id, outcome, round_received))| Finalized {
                    tx_id,
                    index,
                    chain_hash: record.chain_hash,
                    consensus_timestamp_ns: record.consensus_timestamp_ns,
                    round_received,
                    event_id: record.event_id,
                    outcome,
                },
            )
            .collect();
        segment.batch = batch;
        self.head = head;
        segment
    }

    /// This validator's signature transaction for the checkpoint at `head` (ending `round`).
    fn sign_checkpoint(&self, head: &LedgerHead, round: Round) -> (TxId, Vec<u8>) {
        let checkpoint = self.checkpointer.checkpoint(head, round);
        metrics::counter!("votegraph_checkpoints_signed_total").increment(1);
        info!(
            round,
            next_index = checkpoint.next_index,
            state_root = %crate::hex::encode(&checkpoint.state_root),
            transaction_root = %crate::hex::encode(&checkpoint.transaction_root),
            "checkpoint signed"
        );
        self.checkpointer.signature_transaction(&checkpoint)
    }

    /// Queues this validator's checkpoint signature first in the pool (once its commit is
    /// durable, or again after a restart while it is not final).
    fn queue_own_signature(&self, id: TxId, bytes: Vec<u8>) {
        let admitted =
            self.shared
                .pool
                .lock()
                .expect("pool lock")
                .admit_own(id, bytes, Instant::now());
        if let Err(e) = admitted {
            debug!(error = %e, "checkpoint signature already queued");
        }
    }

    /// Whether one of this validator's events, not ordered yet, carries `transaction`.
    fn carried_by_own_unordered_event(&self, transaction: &[u8]) -> bool {
        self.engine.events_in_memory().iter().any(|e| {
            e.creator() == self.settings.me
                && self.engine.status(&e.id()).is_some_and(|s| !s.ordered)
                && e.transactions().iter().any(|t| t == transaction)
        })
    }

    /// After a restart: the latest own checkpoint signature goes out again if it is not final.
    pub fn requeue_own_signature(&self) {
        match checkpoint::unordered_own_signature(self.store.as_ref()) {
            Ok(Some((id, bytes))) if !self.carried_by_own_unordered_event(&bytes) => {
                info!(tx = %id.to_hex(), "checkpoint signature queued again after the restart");
                self.queue_own_signature(id, bytes);
            }
            Ok(Some(_)) => {}
            Ok(None) => {}
            Err(e) => {
                error!(error = %e, "ledger read failed; stopping the validator");
                std::process::exit(74);
            }
        }
    }

    fn write(&self, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.write(batch) {
            error!(error = %e, "ledger write failed; stopping the validator");
            std::process::exit(74);
        }
    }

    fn advance_time(&self, overlay: &mut Overlay, context: &TxContext) -> usize {
        match self.governance.advance_time(overlay, context) {
            Ok(closed) => closed,
            Err(e) => {
                error!(error = %e, "ledger state read failed; stopping the validator");
                std::process::exit(74);
            }
        }
    }

    fn apply(
        &self,
        overlay: &mut Overlay,
        context: &TxContext,
        payload: &[u8],
    ) -> Result<Applied, Rejection> {
        match self.governance.apply(overlay, context, payload) {
            Ok(outcome) => outcome,
            Err(e) => {
                error!(error = %e, "ledger state read failed; stopping the validator");
                std::process::exit(74);
            }
        }
    }

    fn not_final_before(&self, id: &TxId) -> bool {
        match self.store.state(&finality::tx_state_key(id)) {
            Ok(found) => found.is_none(),
            Err(e) => {
                error!(error = %e, "ledger read failed; stopping the validator");
                std::process::exit(74);
            }
        }
    }

    fn stale(&mut self, id: EventId) {
        self.unordered_with_transactions.remove(&id);
        // After any check under way, which may still mark its transactions in flight.
        self.shared.verdicts.take(&id);
        self.shared
            .pool
            .lock()
            .expect("pool lock")
            .forget_event(&id);
        if let Some(pending) = self.own_unordered.remove(&id) {
            info!(event = %id, transactions = pending.len(), "own event went stale; its transactions are queued again");
            self.shared.pool.lock().expect("pool lock").requeue(pending);
        }
    }

    /// Makes durable events available to peers and forgets what the engine forgot.
    fn offer(&mut self, events: &[VerifiedEvent], unheld: &[VerifiedEvent]) {
        let forgotten_below = self
            .engine
            .last_decided_round()
            .saturating_sub(2 * self.settings.ancient_window_rounds);
        let mut index = self.shared.index.write().expect("index lock");
        for event in events {
            index.add(event);
        }
        for event in unheld {
            index.remove(event.creator(), event.creator_seq(), &event.id());
        }
        for (creator, seq) in self.passed.drain(..) {
            index.passed(creator, seq);
        }
        index.prune_born_before(forgotten_below);
    }

    fn publish(&self, events_ordered: usize, rounds_decided: u64, finalized: Vec<Finalized>) {
        metrics::counter!("votegraph_rounds_decided_total").increment(rounds_decided);
        metrics::counter!("votegraph_events_ordered_total").increment(events_ordered as u64);
        if finalized.is_empty() {
            return;
        }
        metrics::counter!("votegraph_transactions_ordered_total").increment(finalized.len() as u64);
        let (finalized, forged): (Vec<Finalized>, Vec<Finalized>) =
            finalized.into_iter().partition(|f| f.outcome.is_genuine());
        // A forgery is not the outcome of the transaction its id names: no watcher hears of
        // it, and the pool's copy of the real one (if any) stays pending.
        for f in &forged {
            warn!(
                index = f.index,
                event = %f.event_id,
                tx = %f.tx_id.to_hex(),
                "an ordered transaction's signature does not verify; rejected (evidence: the event's creator signed it)"
            );
            metrics::counter!("votegraph_transactions_invalid_signature_total").increment(1);
        }
        {
            let mut pool = self.shared.pool.lock().expect("pool lock");
            let now = Instant::now();
            for f in &finalized {
                if let Some(admitted) = pool.finalized(&f.tx_id, &f.event_id) {
                    metrics::histogram!("votegraph_finality_latency_seconds")
                        .record(now.duration_since(admitted).as_secs_f64());
                }
            }
            metrics::gauge!("votegraph_pool_transactions").set(pool.len() as f64);
        }
        // No subscriber is not an error.
        let _ = self.shared.finalized.send(Arc::new(finalized));
    }

    fn status(&mut self) {
        self.orphans.drop_born_before(self.engine.forgotten_below());
        let stats = self.engine.stats();
        let pool = self.shared.pool.lock().expect("pool lock").len();
        let (index_events, index_bytes) = {
            let index = self.shared.index.read().expect("index lock");
            (index.len(), index.bytes())
        };
        metrics::gauge!("votegraph_pool_transactions").set(pool as f64);
        metrics::gauge!("votegraph_dag_events").set(stats.dag_events as f64);
        metrics::gauge!("votegraph_last_decided_round").set(stats.last_decided_round as f64);
        info!(
            member = self.settings.me.0,
            last_decided_round = stats.last_decided_round,
            max_round = stats.max_round,
            events_inserted = stats.events_inserted,
            transactions_ordered = self.head.next_transaction_index,
            dag_events = stats.dag_events,
            pool,
            gossip_events = index_events,
            gossip_bytes = index_bytes,
            forks = stats.forks_seen,
            orphans = self.orphans.len(),
            events_wanted = self.events_wanted_total,
            "status"
        );
    }
}

/// A peer's event carries these verified transactions: a client resubmitting one of them here
/// is refused as a replay (the ledger's duplicate rule covers what this cannot see).
fn mark_in_flight(pool: &mut Pool, event: &VerifiedEvent, settled: &Settled) {
    for (offset, tx) in event.transactions().iter().enumerate() {
        let verified = settled.as_ref().is_none_or(|v| v[offset].is_ok());
        if let (true, Ok(envelope)) = (verified, Envelope::decode(tx)) {
            pool.carried_by_peer(envelope.id(), event.id());
        }
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// What one commit of ordered events produced.
#[derive(Default)]
struct Segment {
    batch: Batch,
    finalized: Vec<Finalized>,
    /// How many of the ordered events it commits.
    events: usize,
    /// The round it ends with, when that round is a checkpoint.
    checkpoint_round: Option<Round>,
    /// This validator's signature of that checkpoint: its id and envelope bytes.
    own_signature: Option<(TxId, Vec<u8>)>,
}
