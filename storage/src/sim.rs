//! Simulated ledgers for tests, benchmarks and demos: the decided rounds of a random gossip,
//! as a validator would commit them.

use crate::commit::{round_batch, RoundCommit};
use crate::error::StoreError;
use crate::records::LedgerHead;
use crate::store::Store;
use votegraph_consensus::sim::{member_set, GossipParams, GossipStream};
use votegraph_consensus::{Engine, EngineConfig, Output};

/// The decided rounds of `events` events of a 4-member gossip whose events carry
/// `transactions_per_event` transactions of 250 bytes. Each round also sets the state key
/// `round/<n>`.
pub fn simulated_rounds(
    events: usize,
    transactions_per_event: usize,
    seed: u64,
) -> Vec<RoundCommit> {
    let mut engine =
        Engine::new(EngineConfig::default(), member_set(4), None).expect("valid config");
    let mut params = GossipParams::new(4, events, seed);
    params.transactions_per_event = transactions_per_event;
    params.transaction_bytes = 250;
    let mut stream = GossipStream::new(&params);
    let mut rounds: Vec<RoundCommit> = Vec::new();
    for _ in 0..events {
        let event = stream.next_event(engine.last_decided_round());
        engine.insert(event).expect("simulated events are valid");
        for output in engine.drain_outputs() {
            match output {
                Output::RoundDecided { round, .. } => rounds.push(RoundCommit {
                    round,
                    state_puts: vec![(
                        format!("round/{round}").into_bytes(),
                        round.to_le_bytes().to_vec(),
                    )],
                    ..RoundCommit::default()
                }),
                Output::Ordered(o) => rounds
                    .last_mut()
                    .expect("a round precedes its events")
                    .ordered
                    .push(o),
                _ => {}
            }
        }
    }
    rounds
}

/// Commits the rounds one batch each on top of the store's head; returns the new head.
pub fn commit_rounds(store: &dyn Store, rounds: &[RoundCommit]) -> Result<LedgerHead, StoreError> {
    let mut head = store.head()?;
    for round in rounds {
        let (batch, next) = round_batch(&head, round);
        store.write(batch)?;
        head = next;
    }
    Ok(head)
}
