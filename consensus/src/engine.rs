//! The engine: verified events in, rounds, fame and a total order out.
//!
//! [`Engine::insert`] updates rounds, witnesses, fame and order incrementally; the results are
//! drained with [`Engine::drain_outputs`]. Nothing here does I/O, reads a clock or draws a
//! random number: time arrives as `now_ns` and the local key at construction.
//!
//! ## The horizon rule (bounded memory, deterministic)
//! An event `x` only takes into account events `e` with `e.birth_round + window >=
//! x.birth_round` (its *horizon*): an older parent is ignored as if absent, older ancestors
//! are forgotten in its last-seen vector, and older witnesses are neither seen nor counted. The
//! rule depends only on the events themselves, so every validator applies it identically, and
//! it lets the engine drop events whose birth round is two windows behind the latest decided
//! round: no event it still accepts can reach them.

use crate::arena::{Arena, FastMap, FastSet, Handle};
use crate::config::{ConfigError, EngineConfig};
use crate::error::{CreateError, InsertError, InsertRejection};
use crate::event::VerifiedEvent;
use crate::members::MemberSet;
use crate::node::Node;
use crate::output::Output;
use crate::shares::{Admission, Shares};
use crate::types::{EventId, MemberId, Round, TimestampNs};
use ed25519_dalek::SigningKey;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// What happened to an inserted event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted {
        round: Round,
        witness: bool,
    },
    /// Already known (in the DAG or the future buffer).
    Duplicate,
    /// Its birth round is ahead of this node; it waits in the future buffer.
    Buffered,
    /// Its birth round is older than the ancient window; dropped.
    Ancient,
}

/// Where consensus stands, for status lines and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub events_inserted: u64,
    pub events_ordered: u64,
    pub transactions_ordered: u64,
    pub events_stale: u64,
    pub events_ancient_dropped: u64,
    pub events_pruned: u64,
    pub forks_seen: u64,
    pub last_decided_round: Round,
    pub max_round: Round,
    pub dag_events: usize,
    pub future_events: usize,
}

/// Consensus-visible facts about an event still in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventStatus {
    pub round: Round,
    pub witness: bool,
    pub famous: Option<bool>,
    pub ordered: bool,
}

pub(crate) struct RoundState {
    pub witnesses: Vec<Handle>,
    pub undecided: usize,
    pub decided: bool,
}

/// The local member's latest event, kept even after the event itself is pruned.
#[derive(Clone, Copy)]
pub(crate) struct OwnTip {
    pub id: EventId,
    pub seq: u64,
    pub birth_round: Round,
    pub timestamp_ns: TimestampNs,
}

pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) members: MemberSet,
    pub(crate) local: Option<(MemberId, SigningKey)>,
    pub(crate) own_tip: Option<OwnTip>,
    pub(crate) dag: Arena<Node>,
    pub(crate) by_id: FastMap<EventId, Handle>,
    /// First event seen at each (creator, seq); a second one there is a fork.
    pub(crate) by_creator_seq: FastMap<(MemberId, u64), Handle>,
    pub(crate) witnesses_by_creator: Vec<BTreeMap<u64, Vec<Handle>>>,
    /// The member's event with the highest birth round still in memory.
    pub(crate) latest_by_creator: Vec<Option<Handle>>,
    pub(crate) forked: Vec<bool>,
    pub(crate) rounds: BTreeMap<Round, RoundState>,
    /// Latest round decided and ordered; rounds are ordered contiguously.
    pub(crate) last_decided: Round,
    pub(crate) by_birth_round: BTreeMap<Round, Vec<Handle>>,
    pub(crate) stale_swept_below: Round,
    pub(crate) future: BTreeMap<Round, Vec<VerifiedEvent>>,
    pub(crate) future_ids: FastSet<EventId>,
    pub(crate) future_bytes: usize,
    /// What each creator holds in the DAG and the future buffer (see `crate::shares`).
    pub(crate) shares: Shares,
    pub(crate) outputs: VecDeque<Output>,
    pub(crate) next_order: u64,
    pub(crate) next_transaction_index: u64,
    pub(crate) last_transaction_timestamp_ns: Option<TimestampNs>,
    pub(crate) stats: EngineStats,
}

impl Engine {
    /// A new engine for `members`; `local` is this validator's index and key, or `None` for an
    /// observer (auditor, replay) that never creates events.
    pub fn new(
        config: EngineConfig,
        members: MemberSet,
        local: Option<(MemberId, SigningKey)>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        if let Some((id, key)) = &local {
            let member = members.get(*id);
            assert!(
                member.is_some_and(|m| m.public_key == key.verifying_key()),
                "the local key must belong to member {id}"
            );
        }
        let n = members.len();
        Ok(Engine {
            shares: Shares::new(&config, n),
            config,
            members,
            local,
            own_tip: None,
            dag: Arena::new(),
            by_id: FastMap::default(),
            by_creator_seq: FastMap::default(),
            witnesses_by_creator: vec![BTreeMap::new(); n],
            latest_by_creator: vec![None; n],
            forked: vec![false; n],
            rounds: BTreeMap::new(),
            last_decided: 0,
            by_birth_round: BTreeMap::new(),
            stale_swept_below: 0,
            future: BTreeMap::new(),
            future_ids: FastSet::default(),
            future_bytes: 0,
            outputs: VecDeque::new(),
            next_order: 0,
            next_transaction_index: 0,
            last_transaction_timestamp_ns: None,
            stats: EngineStats::default(),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn members(&self) -> &MemberSet {
        &self.members
    }

    /// Takes every output produced since the last call, oldest first.
    pub fn drain_outputs(&mut self) -> Vec<Output> {
        self.outputs.drain(..).collect()
    }

    pub fn last_decided_round(&self) -> Round {
        self.last_decided
    }

    /// The order index the next ordered event gets.
    pub fn next_order_index(&self) -> u64 {
        self.next_order
    }

    /// Birth rounds below this are out of memory for good: an event born earlier is dropped on
    /// arrival, so a ledger may let such events go once a snapshot of this engine is stored.
    pub fn forgotten_birth_rounds_below(&self) -> Round {
        // Witnesses kept for their fame vote are filed under the prune cut, not under their
        // own (older) birth round: the first bucket is searched for the oldest one.
        let oldest_held = self.by_birth_round.values().next().and_then(|handles| {
            let births = handles.iter().filter_map(|h| self.dag.get(*h));
            births.map(|node| node.birth_round).min()
        });
        oldest_held.map_or(self.forgotten_below(), |b| b.min(self.forgotten_below()))
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            last_decided_round: self.last_decided,
            max_round: self.rounds.keys().next_back().copied().unwrap_or(0),
            dag_events: self.dag.len(),
            future_events: self.future_ids.len(),
            ..self.stats.clone()
        }
    }

    /// True when the event is in the in-memory DAG.
    pub fn contains(&self, id: &EventId) -> bool {
        self.by_id.contains_key(id)
    }

    /// Every event still in memory, parents before children: what a restarted validator can
    /// serve to its peers.
    pub fn events_in_memory(&self) -> Vec<VerifiedEvent> {
        let events = self
            .by_birth_round
            .values()
            .flatten()
            .map(|handle| (*self.dag.get(*handle).expect("indexed node").event).clone())
            .collect();
        crate::event::parents_first(events)
    }

    /// Round, witness flag and fame of an event still in memory.
    pub fn status(&self, id: &EventId) -> Option<EventStatus> {
        let node = self.dag.get(*self.by_id.get(id)?)?;
        Some(EventStatus {
            round: node.round,
            witness: node.is_witness(),
            famous: node.fame(),
            ordered: node.status == crate::node::Status::Ordered,
        })
    }

    /// Members proven to have forked.
    pub fn forked_members(&self) -> Vec<MemberId> {
        self.members
            .ids()
            .filter(|m| self.forked[m.index()])
            .collect()
    }

    /// Birth rounds below this are ancient: such events are never ordered.
    pub(crate) fn ancient_below(&self) -> Round {
        self.last_decided
            .saturating_sub(self.config.ancient_window_rounds)
    }

    /// Birth rounds below this are out of memory: such events are dropped on arrival and pruned.
    /// No event born at or above `ancient_below` has one of them within its horizon.
    pub fn forgotten_below(&self) -> Round {
        self.last_decided
            .saturating_sub(2 * self.config.ancient_window_rounds)
    }

    /// Inserts a verified event, computing its round, witness status, the fame votes it casts
    /// and any order that follows. Events must arrive parents first; unknown parents are
    /// reported as [`InsertRejection::MissingParents`], also for an event born ahead of the
    /// node's round (buffered only once its parents are held). Only the overall bounds apply:
    /// for events already admitted once ([`Admission::Trusted`]).
    pub fn insert(&mut self, event: VerifiedEvent) -> Result<InsertOutcome, InsertError> {
        self.admit(event, Admission::Trusted)
    }

    /// [`Engine::insert`] for an event that arrived as `admission` says: from a peer, it is
    /// held within its creator's share of the DAG and of the future buffer unless another
    /// validator's event needs it (see `crate::shares`).
    pub fn admit(
        &mut self,
        event: VerifiedEvent,
        admission: Admission,
    ) -> Result<InsertOutcome, InsertError> {
        let id = event.id();
        if self.by_id.contains_key(&id) || self.future_ids.contains(&id) {
            return Ok(InsertOutcome::Duplicate);
        }
        if event.birth_round() < self.forgotten_below() {
            self.stats.events_ancient_dropped += 1;
            return Ok(InsertOutcome::Ancient);
        }
        let next_round = self.last_decided + 1;
        let window = self.config.future_window_rounds;
        if event.birth_round() > next_round.saturating_add(window) {
            let birth_round = event.birth_round();
            return Err(InsertError {
                event: Box::new(event),
                reason: InsertRejection::TooFarAhead {
                    birth_round,
                    next_round,
                    window,
                },
            });
        }
        if event.birth_round() > next_round {
            let missing = self.parents_unheld(&event);
            if !missing.is_empty() {
                return Err(InsertError {
                    event: Box::new(event),
                    reason: InsertRejection::MissingParents(missing),
                });
            }
            return self.buffer_future(event, admission);
        }
        if admission == Admission::Shared {
            if let Some(reason) = self.shares.dag_refusal(event.creator()) {
                return Err(InsertError {
                    event: Box::new(event),
                    reason,
                });
            }
        }
        let outcome = self.insert_now(event)?;
        self.release_future();
        Ok(outcome)
    }

    /// Parents of a future event held neither in the DAG nor in the future buffer, and not
    /// excused (beyond its horizon, or forgotten here). Reported at once rather than found at
    /// release: a parent that sequence vectors cannot name (the other branch of a fork) is
    /// then asked for by id, where a buffered child would wait for a round that needs it.
    fn parents_unheld(&self, event: &VerifiedEvent) -> Vec<EventId> {
        [event.self_parent(), event.other_parent()]
            .into_iter()
            .flatten()
            .filter(|p| p.birth_round + self.config.ancient_window_rounds >= event.birth_round())
            .filter(|p| p.birth_round >= self.forgotten_below())
            .filter(|p| !self.by_id.contains_key(&p.id) && !self.future_ids.contains(&p.id))
            .map(|p| p.id)
            .collect()
    }

    fn buffer_future(
        &mut self,
        event: VerifiedEvent,
        admission: Admission,
    ) -> Result<InsertOutcome, InsertError> {
        let bytes = buffered_bytes(&event);
        let full = self.future_ids.len() >= self.config.future_buffer_events_max
            || self.future_bytes + bytes > self.config.future_buffer_bytes_max;
        let refusal = if full {
            Some(InsertRejection::FutureBufferFull {
                events: self.future_ids.len(),
                bytes: self.future_bytes,
            })
        } else if admission == Admission::Shared {
            self.shares.future_refusal(event.creator(), bytes)
        } else {
            None
        };
        if let Some(reason) = refusal {
            return Err(InsertError {
                event: Box::new(event),
                reason,
            });
        }
        self.shares.future_added(event.creator(), bytes);
        self.future_bytes += bytes;
        self.future_ids.insert(event.id());
        self.future
            .entry(event.birth_round())
            .or_default()
            .push(event);
        Ok(InsertOutcome::Buffered)
    }

    /// Inserts buffered events whose birth round the node has reached, oldest birth round first;
    /// within one birth round parents go before children (each parent was held when its child
    /// was buffered).
    fn release_future(&mut self) {
        loop {
            let ready = match self.future.first_key_value() {
                Some((birth, _)) if *birth <= self.last_decided + 1 => *birth,
                _ => return,
            };
            let events = self.future.remove(&ready).expect("key just seen");
            for event in &events {
                self.future_ids.remove(&event.id());
                self.future_bytes -= buffered_bytes(event);
                self.shares
                    .future_removed(event.creator(), buffered_bytes(event));
            }
            for event in crate::event::parents_first(events) {
                if event.birth_round() < self.forgotten_below() {
                    self.stats.events_ancient_dropped += 1;
                    continue;
                }
                if let Err(err) = self.insert_now(event) {
                    self.outputs.push_back(Output::ReleasedEventRefused {
                        event: err.event,
                        reason: err.reason,
                    });
                }
            }
        }
    }

    /// Creates, signs and inserts the local member's next event with the given other-parent
    /// and transactions. The caller must persist the returned event durably **before**
    /// gossiping it: a validator that forgets its own events after a crash would fork.
    pub fn create_event(
        &mut self,
        now_ns: TimestampNs,
        other_parent: Option<EventId>,
        transactions: Vec<Vec<u8>>,
    ) -> Result<Arc<VerifiedEvent>, CreateError> {
        let (creator, key) = self.local.clone().ok_or(CreateError::NoLocalMember)?;
        let limit = self.config.dag_events_max;
        if self.dag.len() >= limit {
            return Err(CreateError::DagFull { limit });
        }
        if self.shares.dag_refusal(creator).is_some() {
            let held = self.shares.dag_events(creator);
            return Err(CreateError::ShareFull { held });
        }
        let unsigned = self.next_own_event(creator, now_ns, other_parent, transactions)?;
        let event = VerifiedEvent::sign(unsigned, &key);
        let id = event.id();
        let _ = self
            .insert_now(event)
            .expect("an event built from the engine's own DAG is valid");
        self.release_future();
        let handle = self.by_id[&id];
        Ok(Arc::clone(
            &self.dag.get(handle).expect("just inserted").event,
        ))
    }

    fn next_own_event(
        &self,
        creator: MemberId,
        now_ns: TimestampNs,
        other_parent: Option<EventId>,
        transactions: Vec<Vec<u8>>,
    ) -> Result<crate::encoding::UnsignedEvent, CreateError> {
        use crate::encoding::ParentRef;
        let limits = &self.config.event_limits;
        if transactions.len() > limits.transactions_per_event_max {
            return Err(CreateError::TooManyTransactions {
                count: transactions.len(),
                max: limits.transactions_per_event_max,
            });
        }
        if let Some((index, tx)) = transactions
            .iter()
            .enumerate()
            .find(|(_, tx)| tx.len() > limits.transaction_bytes_max)
        {
            return Err(CreateError::Limits(
                crate::event::InvalidReason::TransactionTooLarge {
                    index,
                    bytes: tx.len(),
                    max: limits.transaction_bytes_max,
                },
            ));
        }
        let other = match other_parent {
            None => None,
            Some(id) => {
                let node = self
                    .by_id
                    .get(&id)
                    .and_then(|h| self.dag.get(*h))
                    .ok_or(CreateError::UnknownOtherParent(id))?;
                if node.creator == creator {
                    return Err(CreateError::OtherParentIsOwn(id));
                }
                Some(ParentRef {
                    id,
                    birth_round: node.birth_round,
                })
            }
        };
        let tip = self.own_tip;
        let birth_round = [
            Some(self.last_decided + 1),
            tip.map(|t| t.birth_round),
            other.map(|o| o.birth_round),
        ]
        .into_iter()
        .flatten()
        .max()
        .expect("at least one birth round");
        let unsigned = crate::encoding::UnsignedEvent {
            creator,
            creator_seq: tip.map_or(0, |t| t.seq + 1),
            birth_round,
            timestamp_ns: tip.map_or(now_ns, |t| now_ns.max(t.timestamp_ns.saturating_add(1))),
            self_parent: tip.map(|t| ParentRef {
                id: t.id,
                birth_round: t.birth_round,
            }),
            other_parent: other,
            transactions,
        };
        let bytes = unsigned.encoded_len() + crate::encoding::SIGNATURE_LEN;
        if bytes > limits.event_bytes_max {
            return Err(CreateError::Limits(
                crate::event::InvalidReason::EventTooLarge {
                    bytes,
                    max: limits.event_bytes_max,
                },
            ));
        }
        Ok(unsigned)
    }
}

/// Memory an event takes in the future buffer, roughly: its encoding, signature and the
/// allocation of each transaction.
fn buffered_bytes(event: &VerifiedEvent) -> usize {
    event.unsigned().encoded_len()
        + crate::encoding::SIGNATURE_LEN
        + 32 * event.transactions().len()
}
