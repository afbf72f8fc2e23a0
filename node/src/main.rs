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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Consensus(command) => commands::consensus::run(command),
    }
}
