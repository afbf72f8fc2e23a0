//! `votegraph backup create|restore|verify`: consistent copies of a ledger, taken while a
//! validator may be writing to it, and checked by their hash chain.

use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use votegraph_storage::{verify_chain, ChainReport, RocksConfig, RocksStore, Store};

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Copy the ledger in --data to --out (a new directory) and verify the copy; or, with
    /// --gateway, have the running validator take a RocksDB checkpoint and receive it.
    Create(CreateArgs),
    /// Copy a verified backup into an empty or missing data directory.
    Restore(RestoreArgs),
    /// Check a backup (or any ledger directory): every record's checksum and the hash chain.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// The validator's data directory (it may be in use): a record-by-record copy.
    #[arg(long, required_unless_present = "gateway")]
    data: Option<PathBuf>,
    /// A running validator's gRPC address (e.g. http://10.0.0.5:7100), instead of --data: the
    /// validator takes a RocksDB checkpoint of one point in time and streams it.
    #[arg(long, conflicts_with = "data")]
    gateway: Option<String>,
    /// PEM certificate authority to trust for an https:// gateway.
    #[arg(long, requires = "gateway")]
    tls_ca: Option<PathBuf>,
    /// Where to write the backup; must not hold a ledger already.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup to restore.
    #[arg(long)]
    from: PathBuf,
    /// The data directory to restore into; must not hold a ledger already.
    #[arg(long)]
    data: PathBuf,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The backup or ledger directory.
    dir: PathBuf,
}

pub fn run(command: BackupCommand) -> ExitCode {
    let result = match command {
        BackupCommand::Create(args) => create(args),
        BackupCommand::Restore(args) => {
            verify_dir(&args.from).and_then(|_| copy_verified(&args.from, &args.data, "restore"))
        }
        BackupCommand::Verify(args) => verify_dir(&args.dir).map(|report| {
            println!("{}: ledger verified", args.dir.display());
            print_report(&report);
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn create(args: CreateArgs) -> anyhow::Result<()> {
    match (&args.gateway, &args.data) {
        (Some(gateway), _) => {
            let report = super::backup_remote::backup_over_gateway(
                gateway,
                args.tls_ca.as_deref(),
                &args.out,
            )?;
            println!(
                "backup: received a checkpoint of {gateway} into {}",
                args.out.display()
            );
            print_report(&report);
            Ok(())
        }
        (None, Some(data)) => copy_verified(data, &args.out, "backup"),
        (None, None) => unreachable!("clap requires --data or --gateway"),
    }
}

fn copy_verified(from: &Path, to: &Path, what: &str) -> anyhow::Result<()> {
    let config = RocksConfig::default();
    let source = RocksStore::open_read_only(from, &config)
        .with_context(|| format!("opening {}", from.display()))?;
    let records = source
        .copy_to(to, &config)
        .with_context(|| format!("copying into {}", to.display()))?;
    let report = verify_dir(to)?;
    anyhow::ensure!(
        source.head()?.chain_head == report.chain_head,
        "the copy's chain head differs from the source's"
    );
    println!(
        "{what}: copied {records} records from {} to {}",
        from.display(),
        to.display()
    );
    print_report(&report);
    Ok(())
}

pub(super) fn verify_dir(dir: &Path) -> anyhow::Result<ChainReport> {
    let store = RocksStore::open_read_only(dir, &RocksConfig::default())
        .with_context(|| format!("opening {}", dir.display()))?;
    verify_chain(&store).with_context(|| format!("verifying {}", dir.display()))
}

fn print_report(report: &ChainReport) {
    let head: String = report
        .chain_head
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("  events ordered  {}", report.events_ordered);
    println!("  transactions    {}", report.transactions);
    println!("  chain head      {head}");
}
