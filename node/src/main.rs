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
    /// Generate a validator key file and print its public key.
    Keygen(commands::node::KeygenArgs),
    /// Write a genesis file and a config and key per validator for a new cluster.
    Testnet(commands::node::TestnetArgs),
    /// Run one validator.
    Node(commands::node::NodeArgs),
    /// Start a local cluster, drive signed transactions at it and report throughput and
    /// finality latency.
    Bench(commands::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Consensus(command) => commands::consensus::run(command),
        Command::Backup(command) => commands::backup::run(command),
        Command::Keygen(args) => commands::node::keygen(args),
        Command::Testnet(args) => commands::node::testnet(args),
        Command::Node(args) => commands::node::node(args),
        Command::Bench(args) => commands::bench::run(args),
    }
}
