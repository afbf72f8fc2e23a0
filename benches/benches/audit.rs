//! Audit verification throughput: transactions per second through `audit verify` for a
//! synthetic election ledger (4 validators' signed events carrying an election's admin actions,
//! roll and signed ballots; governance applied as validators apply it), verified the way an
//! auditor runs it. Target: 30,000 tx/s on the 2-core reference machine.
//!
//! Run: `cargo bench -p votegraph-benches --bench audit`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use votegraph_consensus::sim::{member_name, member_set, GossipParams, GossipStream};
use votegraph_consensus::test_keys::signing_key_for;
use votegraph_consensus::{Engine, Output};
use votegraph_gateway::governance::action::*;
use votegraph_gateway::governance::manifest::parse_manifest;
use votegraph_gateway::governance::overlay::Overlay;
use votegraph_gateway::governance::{Governance, TxContext};
use votegraph_gateway::{hex, Envelope};
use votegraph_node::audit::export::export;
use votegraph_node::audit::verify::{verify, VerifyOptions};
use votegraph_node::client::roll;
use votegraph_node::demo::{sample_ballot, SAMPLE_MANIFEST};
use votegraph_node::genesis::{ConsensusParams, Genesis, GovernanceParams, ValidatorEntry};
use votegraph_node::ledger_state::{split_writes, LedgerState};
use votegraph_storage::{round_batch, LedgerHead, MemStore, RoundCommit, Store};

const VOTERS: u64 = 20_000;
const TRANSACTIONS_PER_EVENT: usize = 200;

fn genesis(admin: &SigningKey) -> Genesis {
    Genesis {
        chain_id: "audit-bench".into(),
        consensus: ConsensusParams::default(),
        governance: GovernanceParams {
            admins: vec![hex::encode(&admin.verifying_key().to_bytes())],
            admin_threshold: 1,
            ..GovernanceParams::default()
        },
        validators: (0..4)
            .map(|m| ValidatorEntry {
                name: member_name(m),
                public_key: hex::encode(
                    &signing_key_for(&member_name(m)).verifying_key().to_bytes(),
                ),
                weight: 1,
                address: format!("http://127.0.0.1:{}", 7100 + m),
                region: String::new(),
            })
            .collect(),
    }
}

/// The election's transactions in submission order: create, roll, open, one ballot per voter.
fn transactions(genesis: &Genesis, admin: &SigningKey) -> Vec<Vec<u8>> {
    let chain = genesis.chain();
    let definition = parse_manifest(SAMPLE_MANIFEST).unwrap();
    let styles: Vec<String> = definition
        .ballot_styles
        .iter()
        .map(|s| s.object_id.clone())
        .collect();
    let voters = roll::generate(9, VOTERS, &styles);
    let entries: Vec<RollEntry> = voters.iter().map(|(_, e)| e.clone()).collect();
    let id = definition.election_id.clone();
    let spec = ElectionSpec {
        definition: definition.clone(),
        policy: SecondBallotPolicy::FirstCounts,
        open_at_ns: None,
        close_at_ns: None,
    };
    let mut admin_actions = vec![AdminAction::CreateElection(spec)];
    admin_actions.extend(roll::amendments(&id, &entries));
    admin_actions.push(AdminAction::OpenElection { election_id: id });
    let mut txs: Vec<Vec<u8>> = admin_actions
        .into_iter()
        .enumerate()
        .map(|(nonce, a)| {
            Envelope::sign(&chain, admin, nonce as u64, Action::Admin(a).encode()).encode()
        })
        .collect();
    let hash = definition.manifest_hash();
    for (i, (key, entry)) in voters.iter().enumerate() {
        let ballot = Action::CastBallot(sample_ballot(
            &definition,
            hash,
            &entry.ballot_style,
            i as u64,
        ));
        txs.push(Envelope::sign(&chain, key, 1, ballot.encode()).encode());
    }
    txs
}

/// A ledger as a validator would write it: every event stored, every decided round committed
/// with its governance state in one batch.
fn ledger(genesis: &Genesis, txs: Vec<Vec<u8>>) -> MemStore {
    let store = MemStore::new();
    let governance = Governance::new(genesis.governance_config().unwrap());
    let mut engine = Engine::new(genesis.engine_config(), member_set(4), None).unwrap();
    let mut stream = GossipStream::new(&GossipParams::new(4, 0, 5));
    let mut pending = txs.chunks(TRANSACTIONS_PER_EVENT).map(<[Vec<u8>]>::to_vec);
    let total = txs.len() as u64;
    let mut head = LedgerHead::default();
    while head.next_transaction_index < total {
        let carried = pending.next().unwrap_or_default();
        let event = stream.next_event_carrying(engine.last_decided_round(), carried);
        let mut batch = votegraph_storage::Batch::new();
        batch.put_event(
            event.id(),
            event.creator(),
            event.creator_seq(),
            event.encode(),
        );
        store.write(batch).unwrap();
        engine.insert(event).unwrap();
        let ordered: Vec<_> = engine
            .drain_outputs()
            .into_iter()
            .filter_map(|o| match o {
                Output::Ordered(o) => Some(o),
                _ => None,
            })
            .collect();
        if ordered.is_empty() {
            continue;
        }
        let ledger = LedgerState(&store);
        let mut overlay = Overlay::new(&ledger);
        for o in &ordered {
            let stamped = o
                .event
                .transactions()
                .iter()
                .zip(&o.transaction_timestamps_ns);
            for (position, (tx, timestamp)) in stamped.enumerate() {
                let envelope = Envelope::decode(tx).unwrap();
                let context = TxContext {
                    index: o.first_transaction_index + position as u64,
                    tx_id: envelope.id().0,
                    signer: envelope.signer,
                    consensus_ns: *timestamp,
                };
                governance.advance_time(&mut overlay, &context).unwrap();
                governance
                    .apply(&mut overlay, &context, &envelope.payload)
                    .unwrap()
                    .unwrap();
            }
        }
        let (state_puts, state_deletes) = split_writes(overlay.into_writes(), Vec::new());
        let round = ordered.iter().map(|o| o.round_received).max().unwrap();
        let commit = RoundCommit {
            round,
            ordered,
            state_puts,
            state_deletes,
        };
        let (batch, next) = round_batch(&head, &commit);
        store.write(batch).unwrap();
        head = next;
    }
    store
}

fn bench_verify(c: &mut Criterion) {
    let admin = SigningKey::from_bytes(&[42; 32]);
    let genesis = genesis(&admin);
    let txs = transactions(&genesis, &admin);
    let store = ledger(&genesis, txs);
    let mut bytes = Vec::new();
    export(&store, Some(genesis.to_toml()), &mut bytes).unwrap();
    let options = VerifyOptions {
        trusted_genesis_hash: Some(genesis.hash()),
        progress: false,
    };
    let report = verify(&bytes[..], &options).unwrap();
    assert_eq!(
        report.elections[0].ballots_counted, VOTERS,
        "every ballot counts"
    );
    let mut group = c.benchmark_group("audit_verify");
    group.sample_size(10);
    group.throughput(Throughput::Elements(report.transactions));
    group.bench_function(format!("election_{VOTERS}_ballots"), |b| {
        b.iter(|| verify(&bytes[..], &options).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
