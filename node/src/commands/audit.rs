//! `votegraph audit export` and `votegraph audit verify`.

use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use votegraph_node::audit::export::export;
use votegraph_node::audit::verify::{verify, VerifyOptions};
use votegraph_node::genesis::Genesis;
use votegraph_node::hex;
use votegraph_storage::{RocksConfig, RocksStore};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Write a ledger (a validator's data directory, also while it runs, or a restored backup)
    /// as one portable audit file.
    Export {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// The genesis file, for a ledger that does not hold its own.
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Check an audit file with no node and no network; exit code 0 only if everything matches.
    Verify {
        file: PathBuf,
        /// The genesis hash the election's operator published (64 hex digits).
        #[arg(long)]
        genesis_hash: Option<String>,
        /// Or the genesis file itself, obtained from a trusted source.
        #[arg(long, conflicts_with = "genesis_hash")]
        genesis: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: AuditCommand) -> ExitCode {
    match command {
        AuditCommand::Export { data, out, genesis } => crate::commands::report(|| {
            let store = RocksStore::open_read_only(&data, &RocksConfig::default())
                .with_context(|| format!("opening the ledger in {}", data.display()))?;
            let genesis = match genesis {
                Some(path) => Some(Genesis::load(&path)?.to_toml()),
                None => None,
            };
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("creating {} (it must not exist)", out.display()))?;
            let summary = export(&store, genesis, std::io::BufWriter::new(file))?;
            println!(
                "exported {} events, {} transactions, {} governance state entries and {} equivocations to {}",
                summary.events,
                summary.transactions,
                summary.state_entries,
                summary.equivocations,
                out.display()
            );
            Ok(())
        }),
        AuditCommand::Verify {
            file,
            genesis_hash,
            genesis,
            json,
        } => verify_file(file, genesis_hash, genesis, json),
    }
}

fn verify_file(
    file: PathBuf,
    genesis_hash: Option<String>,
    genesis: Option<PathBuf>,
    json: bool,
) -> ExitCode {
    let trusted = match (genesis_hash, genesis) {
        (Some(text), _) => match hex::decode_array::<32>(&text) {
            Ok(hash) => Some(hash),
            Err(e) => return fail(&format!("--genesis-hash: {e}")),
        },
        (None, Some(path)) => match Genesis::load(&path) {
            Ok(g) => Some(g.hash()),
            Err(e) => return fail(&e.to_string()),
        },
        (None, None) => None,
    };
    let input = match std::fs::File::open(&file) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) => return fail(&format!("{}: {e}", file.display())),
    };
    let options = VerifyOptions {
        trusted_genesis_hash: trusted,
        progress: !json,
    };
    match verify(input, &options) {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("report serializes")
                );
            } else {
                print!("{}", report.render());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("verification FAILED at {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
