//! `votegraph backup create|restore|verify`: consistent copies of a ledger, taken while a
//! validator may be writing to it, and checked by their hash chain.

use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use votegraph_storage::{verify_chain, ChainReport, RocksConfig, RocksStore, Store};

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Copy the ledger in --data to --out (a new directory) and verify the copy.
    Create(CreateArgs),
    /// Copy a verified backup into an empty or missing data directory.
    Restore(RestoreArgs),
    /// Check a backup (or any ledger directory): every record's checksum and the hash chain.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// The validator's data directory (it may be in use).
    #[arg(long)]
    data: PathBuf,
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
        BackupCommand::Create(args) => copy_verified(&args.data, &args.out, "backup"),
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

fn verify_dir(dir: &Path) -> anyhow::Result<ChainReport> {
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
