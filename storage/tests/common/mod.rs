//! Helpers shared by the storage tests.

use votegraph_consensus::sim::{member_set, GossipParams, GossipStream};
use votegraph_consensus::{Engine, EngineConfig, Output};
use votegraph_storage::RoundCommit;

/// The decided rounds of a simulated 4-member gossip carrying transactions.
pub fn decided_rounds(events: usize, seed: u64) -> Vec<RoundCommit> {
    let mut engine = Engine::new(EngineConfig::default(), member_set(4), None).unwrap();
    let mut params = GossipParams::new(4, events, seed);
    params.transactions_per_event = 3;
    params.transaction_bytes = 250;
    let mut stream = GossipStream::new(&params);
    let mut rounds: Vec<RoundCommit> = Vec::new();
    for _ in 0..events {
        let event = stream.next_event(engine.last_decided_round());
        engine.insert(event).unwrap();
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
                Output::Ordered(o) => rounds.last_mut().unwrap().ordered.push(o),
                _ => {}
            }
        }
    }
    rounds
}
