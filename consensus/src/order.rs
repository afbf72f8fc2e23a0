//! findOrder: once a round and all rounds below it are decided, the events that every judge of
//! the round has as an ancestor receive that round and take their place in the total order.
//!
//! For each judge the engine walks up its own unordered self-chain, marking the unordered
//! ancestors of each self-ancestor not yet marked: the first self-ancestor to reach an event
//! is the earliest one that has it as an ancestor, whose timestamp is the judge's stamp on it.
//! The work is proportional to the events being ordered, not to the DAG.

use crate::arena::{FastMap, Handle};
use crate::engine::Engine;
use crate::node::Status;
use crate::output::{OrderedEvent, Output};
use crate::types::{EventId, Round, TimestampNs};
use std::sync::Arc;

#[derive(Default)]
struct Reach {
    last_judge: usize,
    judges: usize,
    stamps: Vec<TimestampNs>,
}

impl Engine {
    /// Orders every round that is decided and follows the last ordered one.
    pub(crate) fn advance_order(&mut self) {
        loop {
            let next = self.last_decided + 1;
            match self.rounds.get(&next) {
                Some(state) if state.decided => {}
                _ => return,
            }
            self.order_round(next);
            self.last_decided = next;
            self.sweep_stale();
            self.prune();
        }
    }

    /// Unique famous witnesses of a decided round, sorted by id.
    fn judges(&self, round: Round) -> Vec<Handle> {
        let state = self.rounds.get(&round).expect("decided round exists");
        let famous: Vec<Handle> = state
            .witnesses
            .iter()
            .copied()
            .filter(|h| self.dag.get(*h).is_some_and(|n| n.fame() == Some(true)))
            .collect();
        let mut per_creator = vec![0usize; self.members.len()];
        for h in &famous {
            per_creator[self.dag.get(*h).expect("famous").creator.index()] += 1;
        }
        let mut judges: Vec<Handle> = famous
            .into_iter()
            .filter(|h| per_creator[self.dag.get(*h).expect("famous").creator.index()] == 1)
            .collect();
        judges.sort_by_key(|h| self.dag.get(*h).expect("judge").id);
        judges
    }

    fn order_round(&mut self, round: Round) {
        let judges = self.judges(round);
        let judge_ids: Vec<EventId> = judges
            .iter()
            .map(|h| self.dag.get(*h).expect("judge").id)
            .collect();
        self.outputs.push_back(Output::RoundDecided {
            round,
            judges: judge_ids.clone(),
        });
        if judges.is_empty() {
            return;
        }
        let whitening = judge_ids
            .iter()
            .fold(EventId([0; 32]), |acc, id| acc.xor(id));
        let reach = self.reach_from_judges(&judges);
        let mut received: Vec<(TimestampNs, EventId, Handle)> = reach
            .into_iter()
            .filter(|(_, r)| r.judges == judges.len())
            .map(|(handle, mut r)| {
                r.stamps.sort_unstable();
                let timestamp = r.stamps[r.stamps.len() / 2];
                let id = self.dag.get(handle).expect("reached").id;
                (timestamp, id.xor(&whitening), handle)
            })
            .collect();
        received.sort_unstable_by_key(|r| (r.0, r.1));
        for (timestamp, _, handle) in received {
            self.emit_ordered(handle, round, timestamp);
        }
    }

    fn reach_from_judges(&self, judges: &[Handle]) -> FastMap<Handle, Reach> {
        let mut reach: FastMap<Handle, Reach> = FastMap::default();
        let mut stack = Vec::new();
        for (index, &judge) in judges.iter().enumerate() {
            let judge_mark = index + 1;
            for z in self.unordered_self_chain(judge) {
                let stamp = self.dag.get(z).expect("chain").timestamp_ns;
                stack.push(z);
                while let Some(h) = stack.pop() {
                    let Some(node) = self.dag.get(h) else {
                        continue;
                    };
                    if node.status != Status::Pending {
                        continue;
                    }
                    let entry = reach.entry(h).or_default();
                    if entry.last_judge == judge_mark {
                        continue;
                    }
                    entry.last_judge = judge_mark;
                    entry.judges += 1;
                    entry.stamps.push(stamp);
                    stack.extend(node.parents());
                }
            }
        }
        reach
    }

    /// The judge and its pending self-ancestors, oldest first.
    fn unordered_self_chain(&self, judge: Handle) -> Vec<Handle> {
        let mut chain = Vec::new();
        let mut current = Some(judge);
        while let Some(node) = current.and_then(|h| self.dag.get(h).map(|n| (h, n))) {
            if node.1.status != Status::Pending {
                break;
            }
            chain.push(node.0);
            current = node.1.self_parent;
        }
        chain.reverse();
        chain
    }

    fn emit_ordered(&mut self, handle: Handle, round: Round, timestamp: TimestampNs) {
        let node = self.dag.get_mut(handle).expect("received event");
        node.status = Status::Ordered;
        let event = Arc::clone(&node.event);
        let mut transaction_timestamps_ns = Vec::with_capacity(event.transactions().len());
        for _ in event.transactions() {
            let ts = match self.last_transaction_timestamp_ns {
                Some(previous) => timestamp.max(previous.saturating_add(1)),
                None => timestamp,
            };
            self.last_transaction_timestamp_ns = Some(ts);
            transaction_timestamps_ns.push(ts);
        }
        let ordered = OrderedEvent {
            order: self.next_order,
            round_received: round,
            consensus_timestamp_ns: timestamp,
            first_transaction_index: self.next_transaction_index,
            transaction_timestamps_ns,
            event,
        };
        self.next_order += 1;
        let count = ordered.transaction_timestamps_ns.len() as u64;
        self.next_transaction_index += count;
        self.stats.events_ordered += 1;
        self.stats.transactions_ordered += count;
        self.outputs.push_back(Output::Ordered(ordered));
    }
}
