//! A whole election on a running cluster, through the gateways: create it from the bundled
//! ElectionGuard sample manifest, load a generated roll, open, cast every voter's signed ballot,
//! close, publish, and check that every validator holds the same tally (equal to the one the
//! ballots cast add up to) at the same chain head. `make demo` and the end-to-end tests run it.

use crate::bench::report::{percentiles, Percentiles};
use crate::client::{self, roll, GatewayClient};
use anyhow::{bail, ensure, Context};
use ed25519_dalek::SigningKey;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use votegraph_gateway::governance::action::*;
use votegraph_gateway::governance::definition::ElectionDefinition;
use votegraph_gateway::governance::manifest::parse_manifest;
use votegraph_proto::v1 as pb;

/// The ElectionGuard "small" sample election, bundled.
pub const SAMPLE_MANIFEST: &str = include_str!("../../samples/electionguard-small/manifest.json");

pub struct DemoSpec {
    pub voters: u64,
    /// Ballots in flight at once, spread over the gateways.
    pub concurrency: usize,
    pub seed: u64,
    pub progress: bool,
}

pub struct DemoReport {
    pub election_id: String,
    pub ballots_cast: u64,
    pub cast_seconds: f64,
    pub ballots_per_s: f64,
    pub finality_ms: Percentiles,
    pub tally_json: String,
    pub chain_head: Vec<u8>,
    pub as_of_index: u64,
    /// The certificate covering the tally's publication.
    pub tally_certificate: pb::CertificateReply,
    /// One voter's ballot receipt, with its inclusion proof against a certificate.
    pub sample_receipt: pb::Receipt,
}

/// Environment overrides lifting the per-connection rate limit that protects a public
/// gateway: every voter casts from this one machine over a few connections.
pub fn unlimited_gateways() -> Vec<(String, String)> {
    vec![
        (
            "VOTEGRAPH_GATEWAY_CONNECTION_RATE_PER_S".into(),
            "1000000".into(),
        ),
        (
            "VOTEGRAPH_GATEWAY_CONNECTION_BURST".into(),
            "1000000".into(),
        ),
    ]
}

/// An election created through the gateways, its roll loaded and open.
pub struct OpenedElection {
    pub definition: ElectionDefinition,
    pub manifest_hash: [u8; 32],
    /// Each voter's key and roll entry, in roll order.
    pub voters: Vec<(SigningKey, RollEntry)>,
}

impl OpenedElection {
    pub fn id(&self) -> &str {
        &self.definition.election_id
    }

    /// Each voter's key and a valid ballot for it (see [`sample_ballot`]).
    pub fn ballots(&self) -> Vec<(SigningKey, Action)> {
        self.voters
            .par_iter()
            .enumerate()
            .map(|(i, (key, entry))| {
                let ballot = sample_ballot(
                    &self.definition,
                    self.manifest_hash,
                    &entry.ballot_style,
                    i as u64,
                );
                (key.clone(), Action::CastBallot(ballot))
            })
            .collect()
    }
}

/// The bundled ElectionGuard sample manifest's election.
pub fn sample_definition() -> anyhow::Result<ElectionDefinition> {
    parse_manifest(SAMPLE_MANIFEST).context("the bundled sample manifest")
}

/// Creates the election `definition` with `policy`, loads a roll of `voters` generated from
/// `seed`, and opens it, through the gateways with administrator keys `admins` (enough of them
/// for the threshold).
pub async fn open_election(
    gateways: &[GatewayClient],
    admins: &[SigningKey],
    definition: ElectionDefinition,
    voters: u64,
    seed: u64,
    policy: SecondBallotPolicy,
    progress: bool,
) -> anyhow::Result<OpenedElection> {
    let id = definition.election_id.clone();
    let first = &gateways[0];
    say(
        progress,
        &format!(
            "creating election {id} ({} contests)",
            definition.contests.len()
        ),
    );
    let create = AdminAction::CreateElection(ElectionSpec {
        definition: definition.clone(),
        policy,
        open_at_ns: None,
        close_at_ns: None,
    });
    expect_applied(first.approve(admins, create).await?)?;
    // Roll amendments go to every gateway, and each checks them against its own state.
    wait_for_status(gateways, &id, "draft").await?;
    let styles: Vec<String> = definition
        .ballot_styles
        .iter()
        .map(|s| s.object_id.clone())
        .collect();
    let voters_on_roll = roll::generate(seed, voters, &styles);
    load_roll(gateways, admins, &id, &voters_on_roll, progress).await?;
    expect_applied(
        first
            .approve(
                admins,
                AdminAction::OpenElection {
                    election_id: id.clone(),
                },
            )
            .await?,
    )?;
    let election = wait_for_status(gateways, &id, "open").await?;
    ensure!(
        election.roll_voters == voters,
        "roll has {} voters, expected {voters}",
        election.roll_voters,
    );
    let manifest_hash: [u8; 32] = election
        .manifest_hash
        .as_ref()
        .try_into()
        .context("manifest hash")?;
    Ok(OpenedElection {
        definition,
        manifest_hash,
        voters: voters_on_roll,
    })
}

/// Runs the election on the gateways `addresses`, with administrator keys `admins` (enough
/// of them for the threshold).
pub async fn run(
    gateways: &[GatewayClient],
    admins: &[SigningKey],
    spec: &DemoSpec,
) -> anyhow::Result<DemoReport> {
    let election = open_election(
        gateways,
        admins,
        sample_definition()?,
        spec.voters,
        spec.seed,
        SecondBallotPolicy::FirstCounts,
        spec.progress,
    )
    .await?;
    let first = &gateways[0];
    let id = election.id().to_string();
    let definition = &election.definition;
    let ballots = election.ballots();
    let expected = expected_tally(definition, &ballots);
    let started = Instant::now();
    let (mut latencies, sample_ballot_id) = cast_all(gateways, ballots, spec).await?;
    let cast_seconds = started.elapsed().as_secs_f64();
    expect_applied(
        first
            .approve(
                admins,
                AdminAction::CloseElection {
                    election_id: id.clone(),
                },
            )
            .await?,
    )?;
    let published = expect_applied(
        first
            .approve(
                admins,
                AdminAction::PublishTally {
                    election_id: id.clone(),
                },
            )
            .await?,
    )?;
    let tally = same_tally_everywhere(gateways, &id).await?;
    let counted: serde_json::Value = serde_json::from_str(&tally.json)?;
    ensure!(
        counted["contests"] == expected,
        "the tally differs from the ballots cast:\n counted {}\n expected {expected}",
        counted["contests"]
    );
    say(
        spec.progress,
        "waiting for the certificate covering the tally ...",
    );
    let tally_certificate = certificate_covering(first, published.index).await?;
    let sample_receipt = certified_receipt(first, &sample_ballot_id).await?;
    Ok(DemoReport {
        tally_certificate,
        sample_receipt,
        election_id: id,
        ballots_cast: spec.voters,
        cast_seconds,
        ballots_per_s: spec.voters as f64 / cast_seconds.max(1e-9),
        finality_ms: percentiles(&mut latencies),
        tally_json: tally.json,
        chain_head: tally.chain_head.to_vec(),
        as_of_index: tally.as_of_index,
    })
}

/// How long a certificate may take to appear after the transaction it must cover.
const CERTIFICATE_WAIT: Duration = Duration::from_secs(60);

/// The first certificate covering transaction `index`, once validators have signed it.
pub async fn certificate_covering(
    gateway: &GatewayClient,
    index: u64,
) -> anyhow::Result<pb::CertificateReply> {
    let deadline = Instant::now() + CERTIFICATE_WAIT;
    loop {
        let request = pb::GetCertificateRequest {
            covering_index: index,
        };
        match gateway.ledger.clone().get_certificate(request).await {
            Ok(reply) => return Ok(reply.into_inner()),
            Err(status) if status.code() == tonic::Code::NotFound => {
                ensure!(
                    Instant::now() < deadline,
                    "no certificate covers transaction {index} after {CERTIFICATE_WAIT:?}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => return Err(status.into()),
        }
    }
}

/// The receipt of transaction `id` once it carries an inclusion proof.
pub async fn certified_receipt(gateway: &GatewayClient, id: &[u8]) -> anyhow::Result<pb::Receipt> {
    let deadline = Instant::now() + CERTIFICATE_WAIT;
    loop {
        let request = pb::GetReceiptRequest {
            tx_id: id.to_vec().into(),
        };
        let receipt = gateway
            .ballots
            .clone()
            .get_receipt(request)
            .await?
            .into_inner();
        if receipt.inclusion.is_some() {
            return Ok(receipt);
        }
        ensure!(
            Instant::now() < deadline,
            "no certificate covers the receipt after {CERTIFICATE_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn say(progress: bool, line: &str) {
    if progress {
        eprintln!("{line}");
    }
}

pub fn expect_applied(receipt: pb::Receipt) -> anyhow::Result<pb::Receipt> {
    if !receipt.applied {
        bail!("rejected: {}", client::describe(&receipt));
    }
    Ok(receipt)
}

async fn load_roll(
    gateways: &[GatewayClient],
    admins: &[SigningKey],
    election_id: &str,
    voters: &[(SigningKey, RollEntry)],
    progress: bool,
) -> anyhow::Result<()> {
    let entries: Vec<RollEntry> = voters.iter().map(|(_, e)| e.clone()).collect();
    let amendments = roll::amendments(election_id, &entries);
    say(
        progress,
        &format!(
            "registering {} voters in {} roll amendments",
            entries.len(),
            amendments.len()
        ),
    );
    let limit = Arc::new(Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, amendment) in amendments.into_iter().enumerate() {
        let gateway = gateways[i % gateways.len()].clone();
        let admins = admins.to_vec();
        let permit = Arc::clone(&limit).acquire_owned().await?;
        tasks.spawn(async move {
            let _permit = permit;
            gateway.approve(&admins, amendment).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        expect_applied(done??)?;
    }
    Ok(())
}

/// A valid ballot for voter `index`: one or `votes_allowed` selections per contest of the
/// style, chosen by the index (no write-ins).
pub fn sample_ballot(
    definition: &ElectionDefinition,
    manifest_hash: [u8; 32],
    style: &str,
    index: u64,
) -> Ballot {
    let style_def = definition
        .ballot_style(style)
        .expect("generated styles exist");
    let contests = style_def
        .contest_ids
        .iter()
        .map(|contest_id| {
            let contest = definition
                .contest(contest_id)
                .expect("styles name contests");
            let choosable: Vec<_> = contest.selections.iter().filter(|s| !s.write_in).collect();
            let marks = 1 + (index as usize / 7) % contest.votes_allowed as usize;
            let selections = (0..marks)
                .map(|k| SelectionVote {
                    selection_id: choosable[(index as usize + k) % choosable.len()]
                        .object_id
                        .clone(),
                    write_in: None,
                })
                .collect();
            ContestVote {
                contest_id: contest_id.clone(),
                selections,
            }
        })
        .collect();
    Ballot {
        election_id: definition.election_id.clone(),
        manifest_hash,
        ballot_style: style.to_string(),
        contests,
    }
}

/// What the tally's `contests` must be for these ballots (weight 1 each).
fn expected_tally(
    definition: &ElectionDefinition,
    ballots: &[(SigningKey, Action)],
) -> serde_json::Value {
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = definition
        .contests
        .iter()
        .map(|c| {
            (
                c.object_id.clone(),
                c.selections
                    .iter()
                    .map(|s| (s.object_id.clone(), 0))
                    .collect(),
            )
        })
        .collect();
    for (_, action) in ballots {
        let Action::CastBallot(ballot) = action else {
            continue;
        };
        for vote in &ballot.contests {
            for s in &vote.selections {
                *counts
                    .get_mut(&vote.contest_id)
                    .unwrap()
                    .get_mut(&s.selection_id)
                    .unwrap() += 1;
            }
        }
    }
    let contests: BTreeMap<String, serde_json::Value> = counts
        .into_iter()
        .map(|(c, s)| (c, serde_json::json!({ "selections": s, "write_ins": {} })))
        .collect();
    serde_json::to_value(contests).expect("json")
}

/// Casts every ballot, `spec.concurrency` in flight across the gateways; the finality
/// latency (submit to receipt) of each, in milliseconds.
async fn cast_all(
    gateways: &[GatewayClient],
    ballots: Vec<(SigningKey, Action)>,
    spec: &DemoSpec,
) -> anyhow::Result<(Vec<f64>, Vec<u8>)> {
    let total = ballots.len();
    let done = Arc::new(AtomicUsize::new(0));
    let progress = spec
        .progress
        .then(|| spawn_progress(Arc::clone(&done), total));
    let limit = Arc::new(Semaphore::new(spec.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut latencies = Vec::with_capacity(total);
    for (i, (key, action)) in ballots.into_iter().enumerate() {
        let gateway = gateways[i % gateways.len()].clone();
        let permit = Arc::clone(&limit).acquire_owned().await?;
        let done = Arc::clone(&done);
        tasks.spawn(async move {
            let _permit = permit;
            let tx = gateway.sign(&key, &action)?;
            let sent = Instant::now();
            let receipt = gateway.send(&action, tx).await?;
            done.fetch_add(1, Ordering::Relaxed);
            anyhow::Ok((receipt, sent.elapsed().as_secs_f64() * 1000.0))
        });
        while let Some(finished) = tasks.try_join_next() {
            latencies.push(counted(finished)?);
        }
    }
    while let Some(finished) = tasks.join_next().await {
        latencies.push(counted(finished)?);
    }
    let (latencies, ids): (Vec<f64>, Vec<Vec<u8>>) = latencies.into_iter().unzip();
    let sample = ids.into_iter().next().context("no ballot was cast")?;
    if let Some(progress) = progress {
        progress.abort();
        eprintln!("\r  cast {total}/{total} ballots{:20}", "");
    }
    Ok((latencies, sample))
}

fn counted(
    finished: Result<anyhow::Result<(pb::Receipt, f64)>, tokio::task::JoinError>,
) -> anyhow::Result<(f64, Vec<u8>)> {
    let (receipt, ms) = finished??;
    let receipt = expect_applied(receipt)?;
    Ok((ms, receipt.tx_id.to_vec()))
}

fn spawn_progress(done: Arc<AtomicUsize>, total: usize) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let n = done.load(Ordering::Relaxed);
            let width = 30;
            let filled = width * n / total.max(1);
            eprint!(
                "\r  [{}{}] {n}/{total} ballots final, {:.0}/s ",
                "#".repeat(filled),
                " ".repeat(width - filled),
                n as f64 / started.elapsed().as_secs_f64()
            );
        }
    })
}

/// Waits until every validator has committed the transaction that gave election `id`
/// `status` (a receipt comes from one validator; the others follow within moments).
pub async fn wait_for_status(
    gateways: &[GatewayClient],
    id: &str,
    status: &str,
) -> anyhow::Result<pb::Election> {
    let deadline = Instant::now() + Duration::from_secs(60);
    for gateway in gateways {
        loop {
            let request = pb::GetElectionRequest {
                election_id: id.to_string(),
            };
            match gateway.elections.clone().get_election(request).await {
                Ok(e) if e.get_ref().status == status => break,
                Ok(_) => {}
                Err(s) if s.code() == tonic::Code::NotFound => {}
                Err(s) => return Err(s.into()),
            }
            ensure!(
                Instant::now() < deadline,
                "election {id} is not {status} on every validator within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let request = pb::GetElectionRequest {
        election_id: id.to_string(),
    };
    Ok(gateways[0]
        .elections
        .clone()
        .get_election(request)
        .await?
        .into_inner())
}

/// Waits until every validator reports the tally at the same ledger position, then checks
/// that the tallies and chain heads are identical.
pub async fn same_tally_everywhere(
    gateways: &[GatewayClient],
    election_id: &str,
) -> anyhow::Result<pb::Tally> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut tallies = Vec::new();
        for gateway in gateways {
            let request = pb::GetTallyRequest {
                election_id: election_id.to_string(),
            };
            tallies.push(
                gateway
                    .elections
                    .clone()
                    .get_tally(request)
                    .await?
                    .into_inner(),
            );
        }
        let first = &tallies[0];
        if tallies.iter().all(|t| t.as_of_index == first.as_of_index) {
            for (i, t) in tallies.iter().enumerate() {
                ensure!(
                    t.r#final,
                    "validator {i}: the tally is not final ({})",
                    t.status
                );
                ensure!(
                    t.json == first.json,
                    "validator {i} holds another tally:\n{}\nvs\n{}",
                    t.json,
                    first.json
                );
                ensure!(
                    t.chain_head == first.chain_head,
                    "validator {i} holds another chain head at index {}",
                    t.as_of_index
                );
            }
            return Ok(tallies.swap_remove(0));
        }
        ensure!(
            Instant::now() < deadline,
            "validators did not reach the same ledger position within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
