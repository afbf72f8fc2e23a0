//! `votegraph audit export`, `votegraph audit verify` and `votegraph audit verify-receipt`.

use anyhow::Context;
use clap::Subcommand;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use votegraph_gateway::ChainId;
use votegraph_node::audit::consistency;
use votegraph_node::audit::export::export;
use votegraph_node::audit::format::ExportReader;
use votegraph_node::audit::receipt::ReceiptFile;
use votegraph_node::audit::verify::{verify, verify_with_state, VerifyOptions};
use votegraph_node::client::GatewayClient;
use votegraph_node::genesis::Genesis;
use votegraph_node::hex;
use votegraph_proto::v1 as pb;
use votegraph_storage::{RocksConfig, RocksStore};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Write a ledger (a validator's data directory, also while it runs, or a restored backup;
    /// or a running validator's ledger over its gateway) as one portable audit file.
    Export {
        #[arg(long, required_unless_present = "gateway")]
        data: Option<PathBuf>,
        /// A running validator's gRPC address (e.g. http://10.0.0.5:7100), instead of --data.
        #[arg(long, conflicts_with_all = ["data", "genesis"])]
        gateway: Option<String>,
        /// PEM certificate authority to trust for an https:// gateway.
        #[arg(long, requires = "gateway")]
        tls_ca: Option<PathBuf>,
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
    /// Check that the certified order covering transaction --to extends the one covering
    /// transaction --from: both certificates against the genesis validator set, and the
    /// running validator's consistency proof between their transaction roots.
    Consistency {
        /// A running validator's gRPC address.
        #[arg(long)]
        gateway: String,
        /// PEM certificate authority to trust for an https:// gateway.
        #[arg(long)]
        tls_ca: Option<PathBuf>,
        /// The genesis file, obtained from a trusted source.
        #[arg(long)]
        genesis: PathBuf,
        /// A transaction index the earlier certificate covers.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// A transaction index the later certificate covers.
        #[arg(long)]
        to: u64,
    },
    /// Check a saved ballot receipt offline: its certificate's signatures against the genesis
    /// validator set, and its Merkle path to the certified transaction root. Exit code 0 only
    /// if it holds.
    VerifyReceipt {
        receipt: PathBuf,
        /// The genesis file, obtained from a trusted source.
        #[arg(long)]
        genesis: PathBuf,
        /// Also verify this audit export (as `audit verify` does, with the genesis as trusted)
        /// and check the receipt against it: its certificate is one the export recomputes, and
        /// what the replay did with the ballot (counted, or the rejection reason).
        #[arg(long)]
        export: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: AuditCommand) -> ExitCode {
    match command {
        AuditCommand::Export {
            data: None,
            gateway: Some(gateway),
            tls_ca,
            out,
            ..
        } => crate::commands::report(|| export_over_gateway(&gateway, tls_ca.as_deref(), &out)),
        AuditCommand::Export { data: None, .. } => fail("give --data DIR or --gateway ADDRESS"),
        AuditCommand::Export {
            data: Some(data),
            out,
            genesis,
            ..
        } => crate::commands::report(|| {
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
        AuditCommand::Consistency {
            gateway,
            tls_ca,
            genesis,
            from,
            to,
        } => crate::commands::report(|| {
            let ca = match &tls_ca {
                Some(path) => Some(
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
                ),
                None => None,
            };
            let validators = Genesis::load(&genesis)?.validator_set()?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let checked = runtime.block_on(async {
                let client = GatewayClient::with_tls(&gateway, ChainId([0; 32]), ca.as_deref())?;
                anyhow::Ok(consistency::check(&client, &validators, from, to).await?)
            })?;
            println!("{checked}");
            Ok(())
        }),
        AuditCommand::VerifyReceipt {
            receipt,
            genesis,
            export,
            json,
        } => verify_receipt(&receipt, &genesis, export.as_deref(), json),
    }
}

/// Streams a running validator's export into `out` (a new file, removed if the stream fails).
fn export_over_gateway(address: &str, tls_ca: Option<&Path>, out: &Path) -> anyhow::Result<()> {
    let ca = match tls_ca {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        None => None,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .with_context(|| format!("creating {} (it must not exist)", out.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let received = runtime.block_on(async {
        let client = GatewayClient::with_tls(address, ChainId([0; 32]), ca.as_deref())?;
        let mut stream = client
            .ledger
            .clone()
            .export_ledger(pb::ExportLedgerRequest {})
            .await?
            .into_inner();
        let mut bytes = 0u64;
        while let Some(chunk) = stream.message().await? {
            file.write_all(&chunk.data)?;
            bytes += chunk.data.len() as u64;
        }
        file.sync_all()?;
        anyhow::Ok(bytes)
    });
    // A stream that ended early without an error status still lacks the End frame.
    let received = received.and_then(|bytes| {
        let mut reader = ExportReader::new(std::io::BufReader::new(std::fs::File::open(out)?))?;
        while reader.next_frame()?.is_some() {}
        Ok(bytes)
    });
    match received {
        Ok(bytes) => {
            println!("exported {bytes} bytes from {address} to {}", out.display());
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(out);
            Err(e.context(format!("exporting from {address}")))
        }
    }
}

fn verify_receipt(receipt: &Path, genesis: &Path, export: Option<&Path>, json: bool) -> ExitCode {
    let checked = || -> anyhow::Result<_> {
        let genesis = Genesis::load(genesis)?;
        let text = std::fs::read_to_string(receipt)
            .with_context(|| format!("reading {}", receipt.display()))?;
        let file: ReceiptFile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a receipt file", receipt.display()))?;
        let mut report = file.verify(&genesis.validator_set()?)?;
        if let Some(export) = export {
            let input = std::io::BufReader::new(
                std::fs::File::open(export)
                    .with_context(|| format!("opening {}", export.display()))?,
            );
            let options = VerifyOptions {
                trusted_genesis_hash: Some(genesis.hash()),
                progress: !json,
            };
            let (audit, state) = verify_with_state(input, &options)
                .map_err(|e| anyhow::anyhow!("the export does not verify: {e}"))?;
            report.in_export = Some(file.check_against(&audit, &state)?);
        }
        Ok(report)
    };
    match checked() {
        Ok(report) if json => {
            let text = serde_json::to_string_pretty(&report).expect("report serializes");
            println!("{text}");
            ExitCode::SUCCESS
        }
        Ok(r) => {
            println!(
                "receipt OK: transaction {} ({}, signer {}) is at index {} of the order that validators with weight {} of {} certified at round {} ({} transactions, state root {})",
                r.tx_id,
                r.kind,
                r.signer,
                r.index,
                r.signed_weight,
                r.total_weight,
                r.certified_round,
                r.certified_transactions,
                r.state_root
            );
            if let Some(found) = &r.in_export {
                println!(
                    "the verified export holds it under that certificate; its replay: {} ({})",
                    found.outcome, found.detail
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("receipt verification FAILED: {e:#}")),
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
