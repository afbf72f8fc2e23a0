//! Governance throughput: ballots per second through `Governance::apply`, one commit of ballots
//! on one overlay as a validator applies a round, over committed state in memory; and through
//! `Governance::check`, the gateway's early check of each submission. No signatures
//! and no ledger: the state machine alone, for the bundled sample manifest (3 contests) and a
//! long ballot (40 contests of 8 selections, every voter marking each), where the cost of
//! touching the election's tally per ballot shows.
//!
//! Run: `cargo bench --workspace --bench governance`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::collections::BTreeMap;
use votegraph_gateway::governance::action::*;
use votegraph_gateway::governance::checkpoint::ValidatorSet;
use votegraph_gateway::governance::definition::ElectionDefinition;
use votegraph_gateway::governance::manifest::{parse_manifest, parse_native};
use votegraph_gateway::governance::overlay::Overlay;
use votegraph_gateway::governance::{Governance, GovernanceConfig, TxContext};
use votegraph_node::client::roll;
use votegraph_node::demo::{sample_ballot, SAMPLE_MANIFEST};

/// Ballots in one commit (a round at about 10,000 ballots per second).
const BALLOTS_PER_COMMIT: u64 = 5_000;
const ADMIN: [u8; 32] = [42; 32];
const SECOND_NS: u64 = 1_000_000_000;

/// The bundled long ballot: 40 contests of 8 selections, all on one ballot style.
const LONG_BALLOT: &str = include_str!("../../samples/long-ballot.toml");

fn voter(index: u64) -> [u8; 32] {
    let mut key = [7; 32];
    key[..8].copy_from_slice(&index.to_be_bytes());
    key
}

/// The transaction at `index`, signed by `signer`, one second after the one before.
fn context(index: u64, signer: &[u8; 32]) -> TxContext {
    TxContext {
        index,
        tx_id: voter(u64::MAX - index),
        signer: *signer,
        consensus_ns: (1_000 + index) * SECOND_NS,
    }
}

/// Committed state, and the ballots of one commit.
struct Election {
    governance: Governance,
    state: BTreeMap<Vec<u8>, Vec<u8>>,
    ballots: Vec<([u8; 32], Vec<u8>)>,
}

impl Election {
    /// `definition` created, its roll loaded and opened; one ballot per voter of the roll.
    fn open(definition: ElectionDefinition) -> Self {
        let governance = Governance::new(GovernanceConfig {
            admins: vec![ADMIN],
            admin_threshold: 1,
            validators: ValidatorSet {
                chain_id: "governance-bench".into(),
                validators: Vec::new(),
            },
        });
        let id = definition.election_id.clone();
        let style = definition.ballot_styles[0].object_id.clone();
        let roll: Vec<RollEntry> = (0..BALLOTS_PER_COMMIT)
            .map(|i| RollEntry {
                voter: voter(i),
                ballot_style: style.clone(),
                weight: 1,
            })
            .collect();
        let mut admin = vec![AdminAction::CreateElection(ElectionSpec {
            definition: definition.clone(),
            policy: SecondBallotPolicy::FirstCounts,
            open_at_ns: None,
            close_at_ns: None,
        })];
        admin.extend(roll::amendments(&id, &roll));
        admin.push(AdminAction::OpenElection { election_id: id });
        let hash = definition.manifest_hash();
        let ballots = roll
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let ballot = sample_ballot(&definition, hash, &style, i as u64);
                (entry.voter, Action::CastBallot(ballot).encode())
            })
            .collect();
        let mut election = Election {
            governance,
            state: BTreeMap::new(),
            ballots,
        };
        let setup: Vec<_> = admin
            .into_iter()
            .map(|a| (ADMIN, Action::Admin(a).encode()))
            .collect();
        let writes = election.commit(&setup, 0);
        election.state.extend(
            writes
                .into_iter()
                .map(|(k, v)| (k, v.expect("setup deletes nothing"))),
        );
        election
    }

    /// Applies `txs` as one commit from index `first`; every one must be applied.
    fn commit(
        &self,
        txs: &[([u8; 32], Vec<u8>)],
        first: u64,
    ) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        let mut overlay = Overlay::new(&self.state);
        for (position, (signer, payload)) in txs.iter().enumerate() {
            let index = first + position as u64;
            let tx = context(index, signer);
            self.governance.advance_time(&mut overlay, &tx).unwrap();
            let outcome = self.governance.apply(&mut overlay, &tx, payload).unwrap();
            assert!(outcome.is_ok(), "transaction {index}: {outcome:?}");
        }
        overlay.into_writes()
    }

    /// The gateway's early check of every ballot on committed state; each must pass.
    fn check_all(&self, first: u64) {
        for (position, (signer, payload)) in self.ballots.iter().enumerate() {
            let index = first + position as u64;
            let tx = context(index, signer);
            let action = Action::decode(payload).unwrap();
            let outcome = self.governance.check(&self.state, &tx, &action).unwrap();
            assert!(outcome.is_ok(), "transaction {index}: {outcome:?}");
        }
    }
}

fn bench_ballots(c: &mut Criterion) {
    let sample = parse_manifest(SAMPLE_MANIFEST).unwrap();
    let long_ballot = parse_native(LONG_BALLOT).unwrap();
    let mut group = c.benchmark_group("governance_apply");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BALLOTS_PER_COMMIT));
    let elections = [("sample", sample), ("long_ballot", long_ballot)]
        .map(|(name, definition)| (name, Election::open(definition)));
    for (name, election) in &elections {
        group.bench_function(format!("{name}_{BALLOTS_PER_COMMIT}_ballots"), |b| {
            b.iter(|| election.commit(&election.ballots, 1_000_000))
        });
    }
    group.finish();
    // The same ballots through the gateway's early check, each on its own scratch overlay.
    let mut group = c.benchmark_group("governance_check");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BALLOTS_PER_COMMIT));
    for (name, election) in &elections {
        group.bench_function(format!("{name}_{BALLOTS_PER_COMMIT}_ballots"), |b| {
            b.iter(|| election.check_all(1_000_000))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_ballots);
criterion_main!(benches);
