//! `votegraph bench`: start a local cluster, drive signed ballots at a fixed rate, and report
//! finalized throughput, finality latency, CPU and memory per validator.

use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use votegraph_gateway::governance::action::SecondBallotPolicy;
use votegraph_gateway::governance::definition::ElectionDefinition;
use votegraph_gateway::governance::manifest::parse_definition;
use votegraph_gateway::TxId;
use votegraph_node::bench::cluster::{Cluster, ClusterSpec};
use votegraph_node::bench::load::{self, LoadSpec};
use votegraph_node::bench::machine;
use votegraph_node::bench::report::{self, BenchReport, BenchSettings, NodeUsage};
use votegraph_node::demo;
use votegraph_proto::tx::v1 as pb;

#[derive(Args)]
pub struct BenchArgs {
    /// Number of validator processes.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Offered load, signed transactions per second.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Seconds at the start left out of throughput and latency figures.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// WAN emulation: lan or three-regions (40-160 ms one-way between regions a, b, c).
    #[arg(long, default_value = "lan")]
    wan: String,
    /// What to submit: `opaque` signed payloads of --payload-bytes, which governance records
    /// as malformed (consensus and ledger only), or `ballots`: an election of --manifest with
    /// one voter per ballot (rate x duration voters on its roll, loaded before the load
    /// starts), each voter's signed ballot applied by governance.
    #[arg(long, value_enum, default_value_t = Workload::Opaque)]
    workload: Workload,
    /// The election of the `ballots` workload: an ElectionGuard manifest (.json) or a native
    /// definition (.toml). Default: the bundled ElectionGuard sample (3 contests).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Payload bytes per opaque transaction (a realistic encrypted ballot is a few hundred).
    #[arg(long, default_value_t = 200)]
    payload_bytes: usize,
    /// Skip fsync in the validators' ledgers.
    #[arg(long)]
    no_fsync: bool,
    /// Directory for the cluster, logs, bench.json and bench.svg (default: a new temporary
    /// directory, kept).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Workload {
    Opaque,
    Ballots,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Opaque => "opaque",
            Workload::Ballots => "ballots",
        }
    }
}

pub fn run(args: BenchArgs) -> ExitCode {
    crate::commands::report(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(bench(args))
    })
}

async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.warmup < args.duration,
        "--warmup must be shorter than --duration"
    );
    anyhow::ensure!(
        args.manifest.is_none() || args.workload == Workload::Ballots,
        "--manifest needs --workload ballots"
    );
    let definition = match &args.manifest {
        Some(path) => read_definition(path)?,
        None => demo::sample_definition()?,
    };
    let out = match args.out.clone() {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("votegraph-bench-{}", std::process::id())),
    };
    eprintln!("measuring this machine's ed25519 verification rate ...");
    let machine = machine::describe();
    let exe = std::env::current_exe().context("locating the votegraph binary")?;
    let mut cluster = Cluster::create(
        &exe,
        &out.join("cluster"),
        &ClusterSpec {
            validators: args.validators,
            wan: args.wan.clone(),
            fsync: !args.no_fsync,
            tls: false,
            checkpoint_interval_rounds: 100,
        },
    )?;
    if args.workload == Workload::Ballots {
        // The roll is loaded through the gateways from this one client.
        cluster.env.extend(demo::unlimited_gateways());
    }
    let count = (args.rate * args.duration) as usize;
    let transactions = match args.workload {
        Workload::Opaque => {
            eprintln!(
                "signing {count} transactions of {} bytes ...",
                args.payload_bytes
            );
            let signed = load::presign(&cluster.chain, count, args.payload_bytes);
            start(&mut cluster).await?;
            signed
        }
        Workload::Ballots => {
            start(&mut cluster).await?;
            presign_ballots(&cluster, definition.clone(), count).await?
        }
    };
    let payload_bytes = mean_payload_bytes(&transactions);
    eprintln!(
        "{} validators up in {}; offering {} tx/s for {} s",
        args.validators,
        out.display(),
        args.rate,
        args.duration
    );
    let clients = (0..cluster.len())
        .map(|i| cluster.client(i))
        .collect::<Result<Vec<_>, _>>()?;
    let pids: Vec<u32> = (0..cluster.len()).filter_map(|i| cluster.pid(i)).collect();
    let cpu_before: Vec<f64> = pids
        .iter()
        .map(|p| machine::cpu_seconds(*p).unwrap_or(0.0))
        .collect();
    let wall = Instant::now();
    let spec = LoadSpec {
        rate_per_s: args.rate,
        duration: Duration::from_secs(args.duration),
        drain: Duration::from_secs(15),
    };
    let result = load::drive(clients, cluster.client(0)?, transactions, &spec).await?;
    let elapsed = wall.elapsed().as_secs_f64();
    let nodes = pids
        .iter()
        .enumerate()
        .map(|(member, pid)| {
            let cpu = machine::cpu_seconds(*pid).unwrap_or(0.0) - cpu_before[member];
            let (rss, peak) = machine::memory_mib(*pid).unwrap_or((0.0, 0.0));
            NodeUsage {
                member,
                cpu_percent: 100.0 * cpu / elapsed,
                rss_mib: rss,
                rss_mib_peak: peak,
            }
        })
        .collect();
    let agreement = agreement(&cluster).await;
    cluster.stop_all();
    let settings = BenchSettings {
        validators: args.validators,
        rate_per_s: args.rate,
        duration_s: args.duration,
        warmup_s: args.warmup,
        wan: args.wan.clone(),
        workload: args.workload.name().into(),
        election: (args.workload == Workload::Ballots).then(|| {
            format!(
                "{} ({} contests)",
                definition.election_id,
                definition.contests.len()
            )
        }),
        payload_bytes,
        fsync: !args.no_fsync,
    };
    let figures = report::figures(&result, &settings);
    let ceiling = machine.ed25519_verifications_per_s_per_core * machine.cores as f64
        / args.validators as f64;
    let report = BenchReport {
        machine,
        settings,
        submitted: result.submitted.len() as u64,
        accepted: result.accepted,
        refused_pool_full: result.refused_pool_full,
        refused_other: result.refused_other,
        finalized: figures.finalized,
        rejected_by_governance: result.rejected,
        finalized_per_s: figures.finalized_per_s,
        watch_error: result.watch_error.clone(),
        latency_ms: figures.latency_ms,
        verification_ceiling_tx_per_s: ceiling,
        nodes,
        agreement,
        timeline: figures.timeline,
    };
    print!("{}", report::render_table(&report));
    std::fs::write(
        out.join("bench.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(out.join("bench.svg"), report::render_svg(&report))?;
    println!("report: {0}/bench.json, plot: {0}/bench.svg", out.display());
    Ok(())
}

async fn start(cluster: &mut Cluster) -> anyhow::Result<()> {
    cluster.start_all()?;
    cluster.wait_all_ready(Duration::from_secs(60)).await?;
    Ok(())
}

/// Opens an election with a roll of `count` voters and signs one ballot for each.
async fn presign_ballots(
    cluster: &Cluster,
    definition: ElectionDefinition,
    count: usize,
) -> anyhow::Result<Vec<(TxId, pb::Envelope)>> {
    let gateways = cluster.gateways()?;
    let admins = cluster.admin_keys(2)?;
    let election = demo::open_election(
        &gateways,
        &admins,
        definition,
        count as u64,
        BALLOT_SEED,
        SecondBallotPolicy::FirstCounts,
        true,
    )
    .await?;
    eprintln!("signing {count} ballots, one per voter ...");
    Ok(load::presign_actions(&cluster.chain, &election.ballots()))
}

/// The election definition in the file at `path` (ElectionGuard JSON or native TOML).
fn read_definition(path: &Path) -> anyhow::Result<ElectionDefinition> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the manifest {}", path.display()))?;
    parse_definition(&path.to_string_lossy(), &text)
        .with_context(|| format!("the manifest {}", path.display()))
}

/// Seed of the generated roll (any: every run opens a new cluster).
const BALLOT_SEED: u64 = 1;

fn mean_payload_bytes(transactions: &[(TxId, pb::Envelope)]) -> usize {
    let total: usize = transactions.iter().map(|(_, e)| e.payload.len()).sum();
    total / transactions.len().max(1)
}

/// Whether every validator has the same chain hash at the highest index all of them reached.
async fn agreement(cluster: &Cluster) -> String {
    let mut heads = Vec::new();
    for i in 0..cluster.len() {
        match cluster.head(i).await {
            Ok(h) => heads.push(h.next_transaction_index),
            Err(e) => return format!("unknown ({e})"),
        }
    }
    let common = heads.iter().copied().min().unwrap_or(0);
    if common == 0 {
        return "no transaction final on every validator".into();
    }
    let mut hashes = Vec::new();
    for i in 0..cluster.len() {
        match cluster.chain_hash_at(i, common - 1).await {
            Ok(h) => hashes.push(h),
            Err(e) => return format!("unknown ({e})"),
        }
    }
    if hashes.windows(2).all(|w| w[0] == w[1]) {
        format!(
            "all {} validators have the same chain hash at index {}",
            cluster.len(),
            common - 1
        )
    } else {
        format!("DISAGREEMENT at index {}", common - 1)
    }
}
