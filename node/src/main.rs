//! The `votegraph` command: validator process and operator/auditor tools.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "votegraph",
    version,
    about = "votegraph: hashgraph consensus for high-integrity voting"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Consensus engine tools: replay and generate DAG fixtures.
    #[command(subcommand)]
    Consensus(commands::consensus::ConsensusCommand),
    /// Ledger backups: create (while a validator runs), restore, verify.
    #[command(subcommand)]
    Backup(commands::backup::BackupCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Consensus(command) => commands::consensus::run(command),
        Command::Backup(command) => commands::backup::run(command),
    }
}
