//! The `votegraph` command: validator process and operator/auditor tools.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// A validator allocates and frees many short-lived buffers per transaction (envelopes, write
/// batches, gossip frames) on several threads; with glibc's allocator that cost about 9% of a
/// validator's CPU, plus page faults on large batches. mimalloc's thread-local free lists take
/// most of it away (see docs/ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option `purge_delay` (its number in mimalloc.h's `mi_option_t`; libmimalloc-sys
/// leaves options unnamed on purpose and takes their numbers).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// By default mimalloc gives pages that stayed free for a second back to the kernel, and a
/// validator soon needs them again: each commit, gossip frame and write batch then faulted in
/// fresh pages that the kernel zeroed first. At 8,000 tx/s that zeroing (`clear_page_erms`) was
/// about 10% of the machine's CPU in `perf`; keeping the pages brought it under 2%, for about
/// 10% more resident memory (what a validator holds is bounded, so this is too; see
/// docs/ARCHITECTURE.md). An operator's `MIMALLOC_PURGE_DELAY` still wins.
fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called first in main, before any other thread exists (mimalloc's option
        // setters are not thread safe); -1 means "never purge".
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

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
    /// Independent audit: export a ledger to one file; verify a file with no node or network.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
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
    /// Run a whole election on a local cluster: roll, signed ballots, tally on every validator.
    Demo(commands::demo::DemoArgs),
    /// Elections: create, open, close, publish, get, list (administrator keys sign).
    Election {
        #[command(subcommand)]
        command: commands::governance::ElectionCommand,
        #[command(flatten)]
        connection: commands::governance::Connection,
    },
    /// Voter rolls: load a roll file into a draft election, or generate one.
    Roll {
        #[command(subcommand)]
        command: commands::governance::RollCommand,
        #[command(flatten)]
        connection: commands::governance::Connection,
    },
    /// Ballots: cast (voter key signs), or fetch a receipt.
    Ballot {
        #[command(subcommand)]
        command: commands::governance::BallotCommand,
        #[command(flatten)]
        connection: commands::governance::Connection,
    },
    /// Print an election's tally as JSON (contest → selection → count).
    Tally {
        #[arg(long)]
        election: String,
        /// Write the JSON here instead of stdout.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        #[command(flatten)]
        connection: commands::governance::Connection,
    },
    /// Community proposals: create, vote, get.
    Proposal {
        #[command(subcommand)]
        command: commands::governance::ProposalCommand,
        #[command(flatten)]
        connection: commands::governance::Connection,
    },
    /// Communities (who may propose and vote): add members (administrator keys sign).
    Community {
        #[command(subcommand)]
        command: commands::governance::CommunityCommand,
        #[command(flatten)]
        connection: commands::governance::Connection,
    },
}

fn main() -> ExitCode {
    keep_freed_pages();
    let cli = Cli::parse();
    match cli.command {
        Command::Consensus(command) => commands::consensus::run(command),
        Command::Audit(command) => commands::audit::run(command),
        Command::Backup(command) => commands::backup::run(command),
        Command::Keygen(args) => commands::node::keygen(args),
        Command::Testnet(args) => commands::node::testnet(args),
        Command::Node(args) => commands::node::node(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Election {
            command,
            connection,
        } => commands::governance::election(command, connection),
        Command::Roll {
            command,
            connection,
        } => commands::governance::roll(command, connection),
        Command::Ballot {
            command,
            connection,
        } => commands::governance::ballot(command, connection),
        Command::Tally {
            election,
            out,
            connection,
        } => commands::governance::tally(election, out, connection),
        Command::Proposal {
            command,
            connection,
        } => commands::governance::proposal(command, connection),
        Command::Community {
            command,
            connection,
        } => commands::governance::community(command, connection),
    }
}

#[cfg(test)]
mod tests {
    use super::MI_OPTION_PURGE_DELAY;

    /// The number names the option meant: mimalloc's purge delay defaults to 1000 ms, and the
    /// options next to it default to other values.
    #[test]
    fn the_option_set_at_start_is_mimallocs_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        let get = |option| unsafe { libmimalloc_sys::mi_option_get(option) };
        assert_eq!(get(MI_OPTION_PURGE_DELAY), 1000);
        assert_ne!(get(MI_OPTION_PURGE_DELAY - 1), 1000);
        assert_ne!(get(MI_OPTION_PURGE_DELAY + 1), 1000);
    }
}
