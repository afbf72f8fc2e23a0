//! `votegraph demo`: a local cluster runs a whole election through the gateways and reports
//! the tally, the throughput and the finality figures.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use votegraph_node::bench::cluster::{Cluster, ClusterSpec};
use votegraph_node::client::GatewayClient;
use votegraph_node::demo::{self, DemoSpec};
use votegraph_node::{hex, keys};

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
    let spec = ClusterSpec {
        validators: args.validators,
        wan: "lan".into(),
        fsync: true,
        tls: false,
        checkpoint_interval_rounds: 100,
    };
    let mut cluster = Cluster::launch(&exe, &out, &spec, demo::unlimited_gateways()).await?;
    let result = async {
        eprintln!("{} validators up in {}", args.validators, out.display());
        let gateways = cluster
            .addresses
            .iter()
            .map(|a| GatewayClient::new(a, cluster.chain))
            .collect::<Result<Vec<_>, _>>()?;
        let admins = (1..=2)
            .map(|i| keys::read(&out.join(format!("admin-{i}.key"))))
            .collect::<Result<Vec<_>, _>>()?;
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
    Ok(())
}
