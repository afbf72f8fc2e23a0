//! `votegraph demo`: a local cluster runs a whole election through the gateways and reports
//! the tally, the throughput and the finality figures, the certificate covering the tally, and
//! one voter's receipt checked offline.

use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use votegraph_node::audit::receipt::ReceiptFile;
use votegraph_node::bench::cluster::{Cluster, ClusterSpec};
use votegraph_node::demo::{self, DemoReport, DemoSpec};
use votegraph_node::genesis::Genesis;
use votegraph_node::hex;

#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Voters on the roll; each casts one signed ballot.
    #[arg(long, default_value_t = 100_000)]
    voters: u64,
    /// Ballots in flight at once.
    #[arg(long, default_value_t = 2048)]
    concurrency: usize,
    /// Keep the cluster's files here (default: a new temporary directory).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: DemoArgs) -> ExitCode {
    crate::commands::report(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(demo(args))
    })
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let out = args.out.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("votegraph-demo-{}", std::process::id()))
    });
    let exe = std::env::current_exe().context("locating the votegraph binary")?;
    let spec = ClusterSpec::lan(args.validators);
    let mut cluster = Cluster::launch(&exe, &out, &spec, demo::unlimited_gateways()).await?;
    let result = async {
        eprintln!("{} validators up in {}", args.validators, out.display());
        let gateways = cluster.gateways()?;
        let admins = cluster.admin_keys(2)?;
        let spec = DemoSpec {
            voters: args.voters,
            concurrency: args.concurrency,
            seed: 1,
            progress: true,
        };
        demo::run(&gateways, &admins, &spec).await
    }
    .await;
    cluster.stop_all();
    let report = result?;
    let receipt = save_sample_receipt(&out, &report)?;
    println!(
        "tally of {} (ElectionGuard sample manifest):",
        report.election_id
    );
    println!("{}", report.tally_json);
    println!();
    println!("ballots cast        {}", report.ballots_cast);
    println!(
        "cast in             {:.1} s ({:.0} ballots/s, each signed and final)",
        report.cast_seconds, report.ballots_per_s
    );
    println!(
        "finality (submit → receipt)  p50 {:.0} ms  p95 {:.0} ms  p99 {:.0} ms  max {:.0} ms",
        report.finality_ms.p50,
        report.finality_ms.p95,
        report.finality_ms.p99,
        report.finality_ms.max
    );
    println!(
        "all {} validators hold this tally and chain head {} at index {}",
        args.validators,
        hex::encode(&report.chain_head),
        report.as_of_index
    );
    let certificate = &report.tally_certificate;
    println!(
        "tally certified     round {}, transactions 0..{}, signed by weight {} of {}",
        certificate.round, certificate.next_index, certificate.weight, certificate.total_weight
    );
    println!(
        "a voter's receipt   {} (checked offline: votegraph audit verify-receipt {} --genesis {})",
        receipt.display(),
        receipt.display(),
        out.join("genesis.toml").display()
    );
    Ok(())
}

/// Writes one voter's receipt beside the cluster, after checking it offline.
fn save_sample_receipt(out: &Path, report: &DemoReport) -> anyhow::Result<PathBuf> {
    let genesis = Genesis::load(&out.join("genesis.toml"))?;
    let file = ReceiptFile::from_receipt(&genesis.chain_id, &report.sample_receipt)?;
    file.verify(&genesis.validator_set()?)?;
    let path = out.join("receipt.json");
    let json = serde_json::to_string_pretty(&file).expect("a receipt serializes");
    std::fs::write(&path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
