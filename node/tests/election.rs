//! Elections end to end on a real 4-validator cluster, through the gateways: a full lifecycle
//! with every validator holding the same tally at the same chain head; double votes under both
//! policies; bad ballots refused early by the gateway with the right status, and, when they
//! bypass the gateway's checks, rejected on apply with their reason recorded in the ledger;
//! administrator actions below the threshold. Nothing here is timed.

use ed25519_dalek::SigningKey;
use std::path::Path;
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::Code;
use votegraph_gateway::governance::action::*;
use votegraph_gateway::governance::manifest::parse_native;
use votegraph_gateway::Envelope;
use votegraph_node::bench::cluster::{Cluster, ClusterSpec};
use votegraph_node::client::{self, GatewayClient};
use votegraph_node::demo::{self, DemoSpec};
use votegraph_proto::tx::v1 as txpb;
use votegraph_proto::v1 as pb;

const HANG_GUARD: Duration = Duration::from_secs(120);

const DEFINITION: &str = r#"
election_id = "ELECTION"
name = "Test"

[[contests]]
id = "mayor"
name = "Mayor"
selections = ["alice", "bob"]
write_ins = 1

[[contests]]
id = "council"
name = "Council"
votes_allowed = 2
variation = "n_of_m"
selections = ["carol", "dave", "erin"]

[[ballot_styles]]
id = "full"
contests = ["mayor", "council"]
"#;

struct Setup {
    cluster: Cluster,
    gateways: Vec<GatewayClient>,
    admins: Vec<SigningKey>,
}

async fn setup(dir: &Path) -> Setup {
    setup_with(dir, demo::unlimited_gateways()).await
}

async fn setup_with(dir: &Path, env: Vec<(String, String)>) -> Setup {
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let spec = ClusterSpec {
        checkpoint_interval_rounds: 20,
        ..ClusterSpec::lan(4)
    };
    let cluster = Cluster::launch(exe, &dir.join("net"), &spec, env)
        .await
        .unwrap();
    let gateways = cluster.gateways().unwrap();
    let admins = cluster.admin_keys(3).unwrap();
    Setup {
        cluster,
        gateways,
        admins,
    }
}

fn voter(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

/// Creates and opens election `id` with voters 1..=6 on the roll (style `full`).
async fn open_election(s: &Setup, id: &str, policy: SecondBallotPolicy) -> [u8; 32] {
    let definition = parse_native(&DEFINITION.replace("ELECTION", id)).unwrap();
    let hash = definition.manifest_hash();
    let spec = ElectionSpec {
        definition,
        policy,
        open_at_ns: None,
        close_at_ns: None,
    };
    let g = &s.gateways[0];
    demo::expect_applied(
        g.approve(&s.admins[..2], AdminAction::CreateElection(spec))
            .await
            .unwrap(),
    )
    .unwrap();
    let add = (1..=6)
        .map(|n| RollEntry {
            voter: voter(n).verifying_key().to_bytes(),
            ballot_style: "full".into(),
            weight: 1,
        })
        .collect();
    let roll = AdminAction::AmendRoll {
        election_id: id.into(),
        add,
        remove: vec![],
    };
    demo::expect_applied(g.approve(&s.admins[1..], roll).await.unwrap()).unwrap();
    let open = AdminAction::OpenElection {
        election_id: id.into(),
    };
    demo::expect_applied(g.approve(&s.admins[..2], open).await.unwrap()).unwrap();
    demo::wait_for_status(&s.gateways, id, "open")
        .await
        .unwrap();
    hash
}

fn ballot(id: &str, hash: [u8; 32], marks: &[(&str, &str)]) -> Action {
    let mut contests: Vec<ContestVote> = Vec::new();
    for (contest, selection) in marks {
        let vote = SelectionVote {
            selection_id: format!("{contest}-{selection}"),
            write_in: None,
        };
        match contests.iter_mut().find(|c| c.contest_id == *contest) {
            Some(c) => c.selections.push(vote),
            None => contests.push(ContestVote {
                contest_id: contest.to_string(),
                selections: vec![vote],
            }),
        }
    }
    Action::CastBallot(Ballot {
        election_id: id.into(),
        manifest_hash: hash,
        ballot_style: "full".into(),
        contests,
    })
}

/// Validator 0's gateway (the one the setup's transactions went through, so it has committed
/// them) refuses `action` signed by `key` with `code`.
async fn refused(s: &Setup, key: &SigningKey, action: &Action, code: Code) {
    match s.gateways[0].submit(key, action).await {
        Err(client::ClientError::Refused { code: got, message }) => {
            assert_eq!(got, code, "{message}")
        }
        other => panic!(
            "expected {code:?}, got {:?}",
            other.map(|r| client::describe(&r))
        ),
    }
}

/// Submits through the raw transaction API (no governance pre-check) and returns how the
/// ordered transaction was judged: (applied, reject reason).
async fn ordered_outcome(
    s: &Setup,
    key: &SigningKey,
    action: &Action,
    nonce: u64,
) -> (bool, String) {
    let envelope = Envelope::sign(&s.cluster.chain, key, nonce, action.encode());
    let mut raw = s.cluster.client(2).unwrap();
    let mut watch = raw
        .watch_finalized(txpb::WatchFinalizedRequest {
            tx_ids: vec![envelope.id().0.to_vec().into()],
            all: false,
        })
        .await
        .unwrap()
        .into_inner();
    let wire = txpb::Envelope {
        payload: envelope.payload.clone().into(),
        signer: envelope.signer.to_vec().into(),
        signature: envelope.signature.to_vec().into(),
        nonce,
    };
    raw.submit(txpb::SubmitRequest {
        envelope: Some(wire),
    })
    .await
    .unwrap();
    let batch = tokio::time::timeout(HANG_GUARD, watch.next())
        .await
        .expect("final in time")
        .unwrap()
        .unwrap();
    let f = &batch.transactions[0];
    (f.applied, f.reject_reason.clone())
}

/// The tally as validator 3 holds it once it has committed the transaction at `after`.
async fn tally(s: &Setup, id: &str, after: u64) -> serde_json::Value {
    loop {
        let request = pb::GetTallyRequest {
            election_id: id.into(),
        };
        let t = s.gateways[3]
            .elections
            .clone()
            .get_tally(request)
            .await
            .unwrap()
            .into_inner();
        if t.as_of_index > after {
            return serde_json::from_str(&t.json).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_election_gives_every_validator_the_same_tally_at_the_same_chain_head() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path()).await;
    let spec = DemoSpec {
        voters: 300,
        concurrency: 64,
        seed: 7,
        progress: false,
    };
    // `run` checks the tally against the ballots cast and across all four validators.
    let report = tokio::time::timeout(HANG_GUARD, demo::run(&s.gateways, &s.admins[..2], &spec))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.ballots_cast, 300);
    let listed = s.gateways[2]
        .elections
        .clone()
        .list_elections(pb::ListElectionsRequest::default())
        .await
        .unwrap();
    let listed = listed.into_inner().elections;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, "tallied");
    assert_eq!(listed[0].ballots_counted, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn double_votes_follow_the_election_policy() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path()).await;
    let first = open_election(&s, "first", SecondBallotPolicy::FirstCounts).await;
    let last = open_election(&s, "last", SecondBallotPolicy::LastCounts).await;
    let g = &s.gateways[0];
    for (id, hash) in [("first", first), ("last", last)] {
        let receipt = g
            .submit(&voter(1), &ballot(id, hash, &[("mayor", "alice")]))
            .await
            .unwrap();
        assert!(receipt.applied, "{}", client::describe(&receipt));
    }
    // first-counts: the gateway refuses the second ballot; sent past it, the order rejects it.
    refused(
        &s,
        &voter(1),
        &ballot("first", first, &[("mayor", "bob")]),
        Code::AlreadyExists,
    )
    .await;
    let (applied, reason) = ordered_outcome(
        &s,
        &voter(1),
        &ballot("first", first, &[("mayor", "bob")]),
        77,
    )
    .await;
    assert_eq!((applied, reason.as_str()), (false, "already_voted"));
    // last-counts: the second ballot replaces the first.
    let receipt = g
        .submit(&voter(1), &ballot("last", last, &[("mayor", "bob")]))
        .await
        .unwrap();
    assert!(
        receipt.applied && receipt.detail.contains("replaces"),
        "{}",
        client::describe(&receipt)
    );
    let first_tally = tally(&s, "first", receipt.index).await;
    assert_eq!(
        first_tally["contests"]["mayor"]["selections"]["mayor-alice"],
        1
    );
    assert_eq!(
        first_tally["contests"]["mayor"]["selections"]["mayor-bob"],
        0
    );
    let last_tally = tally(&s, "last", receipt.index).await;
    assert_eq!(
        last_tally["contests"]["mayor"]["selections"]["mayor-alice"],
        0
    );
    assert_eq!(
        last_tally["contests"]["mayor"]["selections"]["mayor-bob"],
        1
    );
    let open = pb::GetTallyRequest {
        election_id: "last".into(),
    };
    let t = s.gateways[0]
        .elections
        .clone()
        .get_tally(open)
        .await
        .unwrap();
    assert!(
        !t.into_inner().r#final,
        "an open election's tally is not final"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_ballots_are_refused_early_and_rejected_with_their_reason_when_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path()).await;
    let hash = open_election(&s, "e1", SecondBallotPolicy::FirstCounts).await;
    let other = open_election(&s, "e2", SecondBallotPolicy::FirstCounts).await;
    let stranger = voter(99);
    let good = ballot("e1", hash, &[("mayor", "alice")]);
    let overvote = ballot(
        "e1",
        hash,
        &[
            ("council", "carol"),
            ("council", "dave"),
            ("council", "erin"),
        ],
    );
    // Signed for e2's manifest but sent to e1.
    let cross = ballot("e1", other, &[("mayor", "alice")]);
    let voters = [voter(2), voter(3), voter(4)];
    let cases: Vec<(&SigningKey, &Action, Code, &str)> = vec![
        (&s.admins[0], &good, Code::PermissionDenied, "not_on_roll"),
        (&voters[0], &overvote, Code::InvalidArgument, "overvote"),
        (&voters[1], &cross, Code::InvalidArgument, "wrong_manifest"),
    ];
    for (nonce, (key, action, code, reason)) in cases.into_iter().enumerate() {
        refused(&s, key, action, code).await;
        let outcome = ordered_outcome(&s, key, action, 1000 + nonce as u64).await;
        assert_eq!(outcome, (false, reason.to_string()), "{action:?}");
    }
    refused(&s, &stranger, &good, Code::PermissionDenied).await;
    assert_eq!(
        ordered_outcome(&s, &stranger, &good, 5).await,
        (false, "not_on_roll".into())
    );
    // A forged signature never reaches the order: the gateway refuses it.
    let mut forged = s.gateways[1].sign(&voters[2], &good).unwrap();
    let mut signature = forged.signature.to_vec();
    signature[0] ^= 1;
    forged.signature = signature.into();
    match s.gateways[1].send(&good, forged).await {
        Err(client::ClientError::Refused { code, .. }) => assert_eq!(code, Code::Unauthenticated),
        other => panic!(
            "a forged ballot was not refused: {:?}",
            other.map(|r| client::describe(&r))
        ),
    }
    // The same signed ballot sent twice is a replay.
    let tx = s.gateways[1].sign(&voters[2], &good).unwrap();
    assert!(s.gateways[1].send(&good, tx.clone()).await.unwrap().applied);
    // Through the same gateway, which has committed it.
    match s.gateways[1].send(&good, tx).await {
        Err(client::ClientError::Refused { code, .. }) => assert_eq!(code, Code::AlreadyExists),
        other => panic!(
            "a replay was not refused: {:?}",
            other.map(|r| client::describe(&r))
        ),
    }
    // A closed election refuses ballots; ordered anyway, they are rejected.
    let close = AdminAction::CloseElection {
        election_id: "e1".into(),
    };
    let closed =
        demo::expect_applied(s.gateways[0].approve(&s.admins[..2], close).await.unwrap()).unwrap();
    demo::wait_for_status(&s.gateways, "e1", "closed")
        .await
        .unwrap();
    let late = ballot("e1", hash, &[("mayor", "bob")]);
    refused(&s, &voter(5), &late, Code::FailedPrecondition).await;
    assert_eq!(
        ordered_outcome(&s, &voter(5), &late, 9).await,
        (false, "election_not_open".into())
    );
    let t = tally(&s, "e1", closed.index).await;
    assert_eq!(
        t["ballots_counted"], 1,
        "only the one good ballot counts: {t}"
    );
    demo::same_tally_everywhere(&s.gateways, "e1")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn administrator_actions_below_the_threshold_are_not_executed() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path()).await;
    let definition = parse_native(&DEFINITION.replace("ELECTION", "solo")).unwrap();
    let create = Action::Admin(AdminAction::CreateElection(ElectionSpec {
        definition,
        policy: SecondBallotPolicy::FirstCounts,
        open_at_ns: None,
        close_at_ns: None,
    }));
    let g = &s.gateways[0];
    let receipt = g.submit(&s.admins[0], &create).await.unwrap();
    assert!(receipt.applied, "{}", client::describe(&receipt));
    let counted = (
        receipt.approvals,
        receipt.approvals_needed,
        receipt.executed,
    );
    assert_eq!(counted, (1, 2, false), "{}", client::describe(&receipt));
    let missing = g
        .elections
        .clone()
        .get_election(pb::GetElectionRequest {
            election_id: "solo".into(),
        })
        .await;
    assert_eq!(missing.unwrap_err().code(), Code::NotFound);
    refused(&s, &voter(1), &create, Code::PermissionDenied).await;
    refused(&s, &s.admins[0], &create, Code::AlreadyExists).await;
    let receipt = g.submit(&s.admins[2], &create).await.unwrap();
    let counted = (
        receipt.approvals,
        receipt.approvals_needed,
        receipt.executed,
    );
    assert_eq!(counted, (2, 2, true), "{}", client::describe(&receipt));
    // The receipt read back later (from the ledger) says the same.
    let again = g
        .ballots
        .clone()
        .get_receipt(pb::GetReceiptRequest {
            tx_id: receipt.tx_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, receipt);
    let election = g
        .elections
        .clone()
        .get_election(pb::GetElectionRequest {
            election_id: "solo".into(),
        })
        .await
        .unwrap();
    assert_eq!(election.into_inner().status, "draft");
    // With more keys than the threshold, approving stops once the action executes; an action
    // executed before is reported as such (what lets `roll load` resume).
    let open = AdminAction::OpenElection {
        election_id: "solo".into(),
    };
    let receipt = g.approve(&s.admins, open.clone()).await.unwrap();
    assert!(client::executed(&receipt), "{}", client::describe(&receipt));
    let again = g.approve(&s.admins, open).await.unwrap_err();
    assert!(client::already_executed(&again), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_proposal_passes_by_the_votes_ordered_before_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path()).await;
    let g = &s.gateways[0];
    let add = (1..=4)
        .map(|n| Member {
            key: voter(n).verifying_key().to_bytes(),
            weight: 1,
        })
        .collect();
    let amend = AdminAction::AmendCommunity {
        community_id: "town".into(),
        add,
        remove: vec![],
    };
    demo::expect_applied(g.approve(&s.admins[..2], amend).await.unwrap()).unwrap();
    // Room for four finalities on a loaded machine; the test then waits for the deadline.
    let deadline_ns = votegraph_node::gateway_api::now_ns() + 20_000_000_000;
    let spec = ProposalSpec {
        community_id: "town".into(),
        title: "Bridge".into(),
        options: vec!["yes".into(), "no".into()],
        deadline_ns,
        quorum: Fraction::new(1, 2),
        threshold: PassThreshold::TwoThirds,
    };
    let created = demo::expect_applied(
        g.submit(&voter(1), &Action::CreateProposal(spec))
            .await
            .unwrap(),
    )
    .unwrap();
    let proposal_id: [u8; 32] = created.tx_id.as_ref().try_into().unwrap();
    for (n, option) in [(1, 0), (2, 0), (3, 1)] {
        let vote = Action::VoteProposal(ProposalVote {
            proposal_id,
            option,
        });
        demo::expect_applied(g.submit(&voter(n), &vote).await.unwrap()).unwrap();
    }
    refused(
        &s,
        &voter(9),
        &Action::VoteProposal(ProposalVote {
            proposal_id,
            option: 0,
        }),
        Code::PermissionDenied,
    )
    .await;
    // After the deadline a late vote is rejected, and its consensus time moves the ledger past
    // the deadline, which fixes the outcome: 2 of 3 votes is exactly two thirds.
    let left_ns = deadline_ns.saturating_sub(votegraph_node::gateway_api::now_ns());
    tokio::time::sleep(Duration::from_nanos(left_ns) + Duration::from_secs(1)).await;
    let late = Action::VoteProposal(ProposalVote {
        proposal_id,
        option: 1,
    });
    assert_eq!(
        ordered_outcome(&s, &voter(4), &late, 1).await,
        (false, "voting_closed".into())
    );
    for gateway in &s.gateways {
        // Each validator fixes the outcome once it has committed the late vote.
        let p = loop {
            let request = pb::GetProposalRequest {
                proposal_id: proposal_id.to_vec().into(),
            };
            let p = gateway
                .proposals
                .clone()
                .get_proposal(request)
                .await
                .unwrap()
                .into_inner();
            if p.outcome != "voting" {
                break p;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(
            (p.outcome.as_str(), p.passed_option, p.votes.clone()),
            ("passed", 0, vec![2, 1])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fast_key_and_an_oversized_request_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let env = |key: &str, value: &str| (format!("VOTEGRAPH_GATEWAY_{key}"), value.to_string());
    let limits = vec![
        env("KEY_RATE_PER_S", "0.001"),
        env("KEY_BURST", "1"),
        env("REQUEST_BYTES_MAX", "4096"),
    ];
    let s = setup_with(dir.path(), limits).await;
    let hash = open_election(&s, "e1", SecondBallotPolicy::LastCounts).await;
    let first = ballot("e1", hash, &[("mayor", "alice")]);
    // Forgeries naming this voter are refused without using up the voter's allowance.
    for _ in 0..3 {
        let mut forged = s.gateways[0].sign(&voter(1), &first).unwrap();
        forged.nonce += 1;
        match s.gateways[0].send(&first, forged).await {
            Err(client::ClientError::Refused { code, .. }) => {
                assert_eq!(code, Code::Unauthenticated)
            }
            other => panic!(
                "a forgery was not refused: {:?}",
                other.map(|r| client::describe(&r))
            ),
        }
    }
    assert!(
        s.gateways[0]
            .submit(&voter(1), &first)
            .await
            .unwrap()
            .applied
    );
    // Administrators are not limited by key; this voter is, at one transaction per 1,000 s.
    let second = ballot("e1", hash, &[("mayor", "bob")]);
    refused(&s, &voter(1), &second, Code::ResourceExhausted).await;
    let mut huge = s.gateways[0].sign(&voter(2), &first).unwrap();
    huge.payload = vec![1u8; 8192].into();
    match s.gateways[0].send(&first, huge).await {
        Err(client::ClientError::Refused { code, .. }) => assert_eq!(code, Code::OutOfRange),
        other => panic!(
            "an oversized request was not refused: {:?}",
            other.map(|r| client::describe(&r))
        ),
    }
}
