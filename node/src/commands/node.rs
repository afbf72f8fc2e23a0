//! `votegraph keygen`, `votegraph testnet` and `votegraph node`.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use votegraph_node::config::{NodeConfig, WanSection};
use votegraph_node::testnet::{self, TestnetSpec};
use votegraph_node::{hex, keys};

#[derive(Args)]
pub struct KeygenArgs {
    /// Write the secret key here (mode 0600; never overwritten). The public key is printed.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct TestnetArgs {
    /// Number of validators.
    #[arg(long)]
    validators: usize,
    /// Output directory: genesis.toml and v0/, v1/, ... each with node.toml and validator.key.
    #[arg(long)]
    out: PathBuf,
    /// Comma-separated regions, assigned to validators in turn (e.g. a,b,c).
    #[arg(long, value_delimiter = ',')]
    regions: Vec<String>,
    /// Name of the chain; transactions are signed for it.
    #[arg(long, default_value = "votegraph-testnet")]
    chain_id: String,
    /// Host the validators listen on and dial.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// gRPC port of validator 0; validator i uses base + i.
    #[arg(long, default_value_t = 7100)]
    base_port: u16,
    /// Prometheus metrics port of validator 0 (base + i); 0 disables metrics.
    #[arg(long, default_value_t = 9100)]
    metrics_base_port: u16,
    /// WAN emulation profile written into every config: lan or three-regions.
    #[arg(long, default_value = "lan")]
    wan: String,
    /// Skip fsync (faster, survives process crashes but not power loss).
    #[arg(long)]
    no_fsync: bool,
    /// Election administrators: key files admin-1.key ... admin-N.key are written to --out.
    #[arg(long, default_value_t = 3)]
    admins: usize,
    /// How many distinct administrators must approve each administrative action.
    #[arg(long, default_value_t = 2)]
    admin_threshold: u32,
    /// Validators sign a checkpoint at least this many rounds apart (and at every election
    /// close and tally publication).
    #[arg(long, default_value_t = 100)]
    checkpoint_interval_rounds: u64,
    /// Also serve clients over TLS on this port of validator 0 (base + i), with certificates
    /// from a new private CA (`ca.pem` in --out; clients pass it as --tls-ca).
    #[arg(long)]
    tls_base_port: Option<u16>,
}

#[derive(Args)]
pub struct NodeArgs {
    /// The validator's config file (TOML; VOTEGRAPH_<SECTION>_<KEY> variables override it).
    #[arg(long)]
    config: PathBuf,
    /// Log lines on stdout: `text` (colours only on a terminal) or `json` (one object per
    /// line, the event's fields at the top level, for log collectors).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

pub fn keygen(args: KeygenArgs) -> ExitCode {
    crate::commands::report(|| {
        let key = keys::generate()?;
        keys::write(&args.out, &key)?;
        println!("{}", hex::encode(&key.verifying_key().to_bytes()));
        Ok(())
    })
}

pub fn testnet(args: TestnetArgs) -> ExitCode {
    crate::commands::report(|| {
        let wan = WanSection::profile(&args.wan)
            .with_context(|| format!("unknown WAN profile {:?} (lan, three-regions)", args.wan))?;
        let regions = if args.regions.is_empty() && args.wan == "three-regions" {
            vec!["a".into(), "b".into(), "c".into()]
        } else {
            args.regions
        };
        let spec = TestnetSpec {
            validators: args.validators,
            out: args.out.clone(),
            regions,
            chain_id: args.chain_id,
            host: args.host,
            base_port: args.base_port,
            metrics_base_port: (args.metrics_base_port != 0).then_some(args.metrics_base_port),
            wan,
            fsync: !args.no_fsync,
            admins: args.admins,
            admin_threshold: args.admin_threshold,
            checkpoint_interval_rounds: args.checkpoint_interval_rounds,
            tls_base_port: args.tls_base_port,
        };
        let genesis = testnet::create(&spec)?;
        println!(
            "testnet {} with {} validators in {}",
            genesis.chain_id,
            genesis.validators.len(),
            args.out.display()
        );
        for (index, v) in genesis.validators.iter().enumerate() {
            println!(
                "  {}  {}  region={}  votegraph node --config {}",
                v.name,
                v.address,
                if v.region.is_empty() { "-" } else { &v.region },
                testnet::validator_dir(&args.out, index)
                    .join("node.toml")
                    .display()
            );
        }
        Ok(())
    })
}

pub fn node(args: NodeArgs) -> ExitCode {
    init_logging(args.log_format);
    crate::commands::report(|| {
        let config = NodeConfig::load(&args.config)?;
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if config.node.threads > 0 {
            builder.worker_threads(config.node.threads);
            rayon::ThreadPoolBuilder::new()
                .num_threads(config.node.threads)
                .build_global()?;
        }
        let runtime = builder.enable_all().thread_name("votegraph-io").build()?;
        runtime.block_on(votegraph_node::run::run(config))?;
        Ok(())
    })
}

fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}
