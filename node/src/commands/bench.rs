//! `votegraph bench`: start a local cluster, drive signed ballots at a fixed rate, and report
//! finalized throughput, finality latency, CPU and memory per validator.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use votegraph_node::bench::cluster::{Cluster, ClusterSpec};
use votegraph_node::bench::load::{self, LoadSpec};
use votegraph_node::bench::machine;
use votegraph_node::bench::report::{self, BenchReport, BenchSettings, NodeUsage};

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
    /// Payload bytes per transaction (a realistic encrypted ballot is a few hundred).
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
    let count = (args.rate * args.duration) as usize;
    eprintln!(
        "signing {count} ballots of {} bytes ...",
        args.payload_bytes
    );
    let transactions = load::presign(&cluster.chain, count, args.payload_bytes);
    cluster.start_all()?;
    cluster.wait_all_ready(Duration::from_secs(60)).await?;
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
        payload_bytes: args.payload_bytes,
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
        payload_bytes: args.payload_bytes,
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
