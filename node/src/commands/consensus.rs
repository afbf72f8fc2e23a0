//! `votegraph consensus replay|generate`: the engine's deterministic test and audit surface.

use anyhow::Context;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use votegraph_consensus::replay::{self, Fixture, ReplayReport};
use votegraph_consensus::sim::{self, GossipParams};
use votegraph_consensus::Engine;

/// Exit code for bad input (a fixture that cannot be replayed).
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Subcommand)]
pub enum ConsensusCommand {
    /// Replay a DAG fixture and print what consensus decided, as JSON on stdout.
    Replay(ReplayArgs),
    /// Write a DAG fixture from a simulated random gossip.
    Generate(GenerateArgs),
}

#[derive(Args)]
pub struct ReplayArgs {
    /// The fixture (JSON); `-` reads standard input.
    file: PathBuf,
    /// Print a human-readable summary instead of the JSON report.
    #[arg(long)]
    summary: bool,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Number of members (validators), named m0, m1, ...
    #[arg(long, default_value_t = 4)]
    members: usize,
    /// Number of events to generate.
    #[arg(long, default_value_t = 1000)]
    events: usize,
    /// Seed of the simulated gossip; the same seed gives the same fixture.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Comma-separated stake weights, one per member (default: all 1).
    #[arg(long, value_delimiter = ',')]
    weights: Option<Vec<u64>>,
    /// Coin frequency recorded in the fixture (default: the engine's, 12).
    #[arg(long)]
    coin_frequency: Option<u64>,
    /// Transactions carried by each event.
    #[arg(long, default_value_t = 0)]
    transactions_per_event: usize,
    /// Size of each generated transaction in bytes.
    #[arg(long, default_value_t = 250)]
    transaction_bytes: usize,
    /// Output file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(command: ConsensusCommand) -> ExitCode {
    let result = match command {
        ConsensusCommand::Replay(args) => run_replay(&args),
        ConsensusCommand::Generate(args) => run_generate(&args).map_err(Failure::Other),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(Failure::Other(err)) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    BadInput(String),
    Other(anyhow::Error),
}

fn read_input(path: &PathBuf) -> std::io::Result<String> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
}

fn run_replay(args: &ReplayArgs) -> Result<(), Failure> {
    let text = read_input(&args.file)
        .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", args.file.display())))?;
    let fixture = Fixture::from_json(&text).map_err(|e| Failure::BadInput(e.to_string()))?;
    let started = Instant::now();
    let report = replay::replay(&fixture).map_err(|e| Failure::BadInput(e.to_string()))?;
    let elapsed = started.elapsed();
    let mut stdout = std::io::stdout().lock();
    if args.summary {
        // Signing every event with its test key is part of a replay but not of consensus:
        // time the two apart, the engine on the same events signed beforehand.
        let timing = time_phases(&fixture, elapsed.as_secs_f64())?;
        print_summary(&mut stdout, &fixture, &report, &timing)
    } else {
        serde_json::to_writer(&mut stdout, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout))
    }
    .map_err(|e| Failure::Other(e.into()))
}

struct Timing {
    total_s: f64,
    signing_s: f64,
    engine_s: f64,
}

/// Times signing the fixture's events, then inserting them into a fresh engine.
fn time_phases(fixture: &Fixture, total_s: f64) -> Result<Timing, Failure> {
    let bad = |e: String| Failure::BadInput(e);
    let started = Instant::now();
    let events = replay::signed_events(fixture).map_err(|e| bad(e.to_string()))?;
    let signing_s = started.elapsed().as_secs_f64();
    let members = fixture.member_set().map_err(|e| bad(e.to_string()))?;
    let mut engine =
        Engine::new(fixture.engine_config(), members, None).map_err(|e| bad(e.to_string()))?;
    let started = Instant::now();
    for event in events {
        engine.insert(event).map_err(|e| bad(e.to_string()))?;
        engine.drain_outputs();
    }
    Ok(Timing {
        total_s,
        signing_s,
        engine_s: started.elapsed().as_secs_f64(),
    })
}

fn print_summary(
    out: &mut impl Write,
    fixture: &Fixture,
    report: &ReplayReport,
    timing: &Timing,
) -> std::io::Result<()> {
    let events = &report.events;
    let rounds = events.iter().filter_map(|e| e.round).max().unwrap_or(0);
    let decided = events
        .iter()
        .filter_map(|e| e.round_received)
        .max()
        .unwrap_or(0);
    let witnesses = events.iter().filter(|e| e.witness == Some(true)).count();
    let famous = events.iter().filter(|e| e.famous == Some(true)).count();
    let not_famous = events.iter().filter(|e| e.famous == Some(false)).count();
    let ordered = events.iter().filter(|e| e.order.is_some()).count();
    writeln!(out, "members            {}", fixture.members.len())?;
    writeln!(out, "events replayed    {}", events.len())?;
    writeln!(out, "rounds created     {rounds}")?;
    writeln!(out, "rounds decided     {decided} (highest round received)")?;
    writeln!(
        out,
        "witnesses          {witnesses} ({famous} famous, {not_famous} not famous, {} undecided)",
        witnesses - famous - not_famous
    )?;
    writeln!(out, "events ordered     {ordered}")?;
    writeln!(
        out,
        "replay time        {:.3} s (signing the events with test keys: {:.3} s)",
        timing.total_s, timing.signing_s
    )?;
    writeln!(
        out,
        "events per second  {:.0} through the consensus engine ({:.3} s for {} events)",
        events.len() as f64 / timing.engine_s.max(1e-9),
        timing.engine_s,
        events.len()
    )?;
    let mut first: Vec<_> = events.iter().filter(|e| e.order.is_some()).collect();
    first.sort_by_key(|e| e.order);
    writeln!(out, "first ordered events:")?;
    for e in first.iter().take(8) {
        writeln!(
            out,
            "  #{:<4} {:<10} round {:>3}  received in round {:>3}  consensus time {}",
            e.order.unwrap_or(0),
            e.id,
            e.round.unwrap_or(0),
            e.round_received.unwrap_or(0),
            e.consensus_timestamp.unwrap_or(0)
        )?;
    }
    Ok(())
}

fn run_generate(args: &GenerateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.members >= 2, "--members must be at least 2");
    let params = GossipParams {
        weights: args.weights.clone(),
        coin_frequency: args.coin_frequency,
        transactions_per_event: args.transactions_per_event,
        transaction_bytes: args.transaction_bytes,
        ..GossipParams::new(args.members, args.events, args.seed)
    };
    if let Some(w) = &params.weights {
        anyhow::ensure!(
            w.len() == args.members,
            "--weights needs {} values, got {}",
            args.members,
            w.len()
        );
    }
    let fixture = sim::generate(&params);
    let json = serde_json::to_string(&fixture)?;
    match &args.out {
        Some(path) => std::fs::write(path, json + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{json}"),
    }
    Ok(())
}
