//! Client commands: `votegraph election|roll|ballot|tally|proposal|community ...`, talking to
//! any validator's gateway with key files.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use votegraph_gateway::governance::action::*;
use votegraph_gateway::governance::manifest::parse_definition;
use votegraph_gateway::ChainId;
use votegraph_node::audit::receipt::ReceiptFile;
use votegraph_node::client::{self, ballot, roll, GatewayClient};
use votegraph_node::genesis::Genesis;
use votegraph_node::{hex, keys};
use votegraph_proto::v1 as pb;

#[derive(Args, Clone)]
pub struct Connection {
    /// A validator's gRPC address.
    #[arg(long, default_value = "http://127.0.0.1:7100", global = true)]
    gateway: String,
    /// The cluster's genesis file (transactions are signed for its chain id).
    #[arg(long, global = true)]
    genesis: Option<PathBuf>,
    /// PEM certificate authority to trust for an https:// gateway.
    #[arg(long, global = true)]
    tls_ca: Option<PathBuf>,
}

impl Connection {
    fn client(&self) -> anyhow::Result<GatewayClient> {
        let chain = match &self.genesis {
            Some(path) => Genesis::load(path)?.chain(),
            // Queries need no chain; a signing command without it is refused in `admins`/`key`.
            None => ChainId([0; 32]),
        };
        let ca = match &self.tls_ca {
            Some(path) => {
                Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
            }
            None => None,
        };
        Ok(GatewayClient::with_tls(
            &self.gateway,
            chain,
            ca.as_deref(),
        )?)
    }

    fn signing_client(&self) -> anyhow::Result<GatewayClient> {
        if self.genesis.is_none() {
            bail!("--genesis FILE is needed to sign transactions for the cluster's chain");
        }
        self.client()
    }
}

#[derive(Args)]
pub struct AdminKeys {
    /// Administrator key files; each approves in turn (give at least the threshold).
    #[arg(long = "admin-key", required = true)]
    admin_keys: Vec<PathBuf>,
}

impl AdminKeys {
    fn load(&self) -> anyhow::Result<Vec<SigningKey>> {
        self.admin_keys.iter().map(|p| Ok(keys::read(p)?)).collect()
    }
}

#[derive(Subcommand)]
pub enum ElectionCommand {
    /// Create an election from an ElectionGuard manifest (.json) or a native definition (.toml).
    Create {
        #[arg(long)]
        definition: PathBuf,
        /// first-counts or last-counts: what a voter's second ballot does.
        #[arg(long, default_value = "first-counts")]
        policy: String,
        /// Consensus time (Unix seconds) at which it opens by itself.
        #[arg(long)]
        open_at: Option<u64>,
        /// Consensus time (Unix seconds) at which it closes by itself.
        #[arg(long)]
        close_at: Option<u64>,
        #[command(flatten)]
        admins: AdminKeys,
    },
    Open {
        #[arg(long)]
        election: String,
        #[command(flatten)]
        admins: AdminKeys,
    },
    Close {
        #[arg(long)]
        election: String,
        #[command(flatten)]
        admins: AdminKeys,
    },
    /// Mark a closed election's tally as published.
    Publish {
        #[arg(long)]
        election: String,
        #[command(flatten)]
        admins: AdminKeys,
    },
    Get {
        #[arg(long)]
        election: String,
    },
    List,
}

#[derive(Subcommand)]
pub enum RollCommand {
    /// Load a roll file (`public_key_hex,ballot_style[,weight]` per line) into a draft election.
    Load {
        #[arg(long)]
        election: String,
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        admins: AdminKeys,
    },
    /// Generate voters: a roll file and a file of their secret keys (for tests and demos).
    Generate {
        #[arg(long)]
        count: u64,
        /// Comma-separated ballot styles, assigned in turn.
        #[arg(long, value_delimiter = ',', required = true)]
        styles: Vec<String>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        keys_out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
pub enum BallotCommand {
    /// Cast a signed ballot and wait for its receipt.
    Cast {
        #[arg(long)]
        election: String,
        /// The voter's key file.
        #[arg(long)]
        key: PathBuf,
        /// An ElectionGuard plaintext ballot (JSON); or use --style and --choice.
        #[arg(long)]
        ballot: Option<PathBuf>,
        #[arg(long)]
        style: Option<String>,
        /// contest=selection, or contest=selection:Name for a write-in; repeat per mark.
        #[arg(long)]
        choice: Vec<String>,
    },
    /// A final transaction's receipt, by transaction id (hex).
    Receipt {
        #[arg(long)]
        tx: String,
        /// Also save the receipt with its inclusion proof and certificate (JSON), checked
        /// against --genesis first, for `votegraph audit verify-receipt`.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum ProposalCommand {
    Create {
        #[arg(long)]
        community: String,
        #[arg(long)]
        title: String,
        #[arg(long = "option", required = true)]
        options: Vec<String>,
        /// Consensus time (Unix seconds) when voting ends.
        #[arg(long)]
        deadline: u64,
        /// Share of the community's weight that must vote, as p/q (e.g. 1/2).
        #[arg(long, default_value = "0/1")]
        quorum: String,
        /// simple-majority, two-thirds, or p/q (at least that share of the votes cast).
        #[arg(long, default_value = "simple-majority")]
        threshold: String,
        #[arg(long)]
        key: PathBuf,
    },
    Vote {
        #[arg(long)]
        proposal: String,
        #[arg(long)]
        option: u32,
        #[arg(long)]
        key: PathBuf,
    },
    Get {
        #[arg(long)]
        proposal: String,
    },
}

#[derive(Subcommand)]
pub enum CommunityCommand {
    /// Add members (hex public key, optionally :weight) to a community.
    Add {
        #[arg(long)]
        community: String,
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        #[command(flatten)]
        admins: AdminKeys,
    },
}

fn block_on(body: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    crate::commands::report(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(body)
    })
}

/// Writes the receipt file after checking it as `audit verify-receipt` will.
fn save_receipt(conn: &Connection, receipt: &pb::Receipt, out: &Path) -> anyhow::Result<()> {
    let Some(genesis) = &conn.genesis else {
        bail!("--out needs --genesis FILE: the receipt is checked against its validator set");
    };
    let genesis = Genesis::load(genesis)?;
    let file = ReceiptFile::from_receipt(&genesis.chain_id, receipt)?;
    let report = file.verify(&genesis.validator_set()?)?;
    let json = serde_json::to_string_pretty(&file).expect("a receipt serializes");
    std::fs::write(out, json + "\n").with_context(|| format!("writing {}", out.display()))?;
    println!(
        "receipt saved to {}: transaction {} is in the order certified at round {} ({} transactions, weight {} of {})",
        out.display(),
        report.index,
        report.certified_round,
        report.certified_transactions,
        report.signed_weight,
        report.total_weight
    );
    Ok(())
}

fn print_receipt(receipt: &pb::Receipt) -> anyhow::Result<()> {
    println!("{}", client::describe(receipt));
    if !receipt.applied {
        bail!("the transaction was rejected ({})", receipt.reject_reason);
    }
    Ok(())
}

pub fn election(command: ElectionCommand, conn: Connection) -> ExitCode {
    block_on(async move {
        let id_action = |election: String, make: fn(String) -> AdminAction| make(election);
        let (action, admins) = match command {
            ElectionCommand::Get { election } => {
                let e = conn
                    .client()?
                    .elections
                    .get_election(pb::GetElectionRequest {
                        election_id: election,
                    })
                    .await?;
                print_election(&e.into_inner());
                return Ok(());
            }
            ElectionCommand::List => {
                let mut after = String::new();
                let mut c = conn.client()?;
                loop {
                    let page = c
                        .elections
                        .list_elections(pb::ListElectionsRequest {
                            after: after.clone(),
                            limit: 100,
                        })
                        .await?
                        .into_inner();
                    for e in &page.elections {
                        println!(
                            "{}  {}  {} voters  {} ballots  {}",
                            e.election_id, e.status, e.roll_voters, e.ballots_counted, e.name
                        );
                    }
                    match page.elections.last() {
                        Some(last) => after = last.election_id.clone(),
                        None => return Ok(()),
                    }
                }
            }
            ElectionCommand::Create {
                definition,
                policy,
                open_at,
                close_at,
                admins,
            } => {
                let text = std::fs::read_to_string(&definition)
                    .with_context(|| format!("reading {}", definition.display()))?;
                let parsed = parse_definition(&definition.display().to_string(), &text)
                    .with_context(|| {
                        format!(
                            "{} is not a valid election definition",
                            definition.display()
                        )
                    })?;
                let policy = match policy.as_str() {
                    "first-counts" => SecondBallotPolicy::FirstCounts,
                    "last-counts" => SecondBallotPolicy::LastCounts,
                    other => bail!("--policy {other}: use first-counts or last-counts"),
                };
                let spec = ElectionSpec {
                    definition: parsed,
                    policy,
                    open_at_ns: open_at.map(|s| s * 1_000_000_000),
                    close_at_ns: close_at.map(|s| s * 1_000_000_000),
                };
                (AdminAction::CreateElection(spec), admins)
            }
            ElectionCommand::Open { election, admins } => (
                id_action(election, |election_id| AdminAction::OpenElection {
                    election_id,
                }),
                admins,
            ),
            ElectionCommand::Close { election, admins } => (
                id_action(election, |election_id| AdminAction::CloseElection {
                    election_id,
                }),
                admins,
            ),
            ElectionCommand::Publish { election, admins } => (
                id_action(election, |election_id| AdminAction::PublishTally {
                    election_id,
                }),
                admins,
            ),
        };
        let client = conn.signing_client()?;
        print_receipt(&client.approve(&admins.load()?, action).await?)
    })
}

fn print_election(e: &pb::Election) {
    println!("election   {}  ({})", e.election_id, e.name);
    println!("status     {}", e.status);
    println!("manifest   {}", hex::encode(&e.manifest_hash));
    println!("policy     {}", e.policy);
    println!(
        "roll       {} voters, weight {}",
        e.roll_voters, e.roll_weight
    );
    println!("ballots    {}", e.ballots_counted);
}

pub fn roll(command: RollCommand, conn: Connection) -> ExitCode {
    block_on(async move {
        match command {
            RollCommand::Generate {
                count,
                styles,
                out,
                keys_out,
                seed,
            } => {
                let voters = roll::generate(seed, count, &styles);
                roll::write(&out, &voters, Some(&keys_out))
                    .with_context(|| format!("writing {}", out.display()))?;
                println!(
                    "{count} voters written to {} (keys in {})",
                    out.display(),
                    keys_out.display()
                );
                Ok(())
            }
            RollCommand::Load {
                election,
                file,
                admins,
            } => {
                let entries = roll::read(&file)?;
                let amendments = roll::amendments(&election, &entries);
                let client = conn.signing_client()?;
                let admins = admins.load()?;
                let total = amendments.len();
                let mut executed = 0;
                for (i, amendment) in amendments.into_iter().enumerate() {
                    match client.approve(&admins, amendment).await {
                        Ok(receipt) if !receipt.applied => print_receipt(&receipt)?,
                        Ok(receipt) => executed += usize::from(client::executed(&receipt)),
                        // Loaded by an earlier, interrupted run: go on with the rest.
                        Err(e) if client::already_executed(&e) => executed += 1,
                        Err(e) => return Err(e.into()),
                    }
                    eprint!("\r  roll amendment {}/{total}", i + 1);
                }
                eprintln!();
                if executed == total {
                    println!("{} voters loaded into {election}", entries.len());
                } else {
                    println!(
                        "{total} roll amendments approved, {executed} executed; the others wait for more administrators' approvals"
                    );
                }
                Ok(())
            }
        }
    })
}

pub fn ballot(command: BallotCommand, conn: Connection) -> ExitCode {
    block_on(async move {
        match command {
            BallotCommand::Receipt { tx, out } => {
                let id = hex::decode_array::<32>(&tx).map_err(anyhow::Error::msg)?;
                let receipt = conn
                    .client()?
                    .ballots
                    .get_receipt(pb::GetReceiptRequest {
                        tx_id: id.to_vec().into(),
                    })
                    .await?
                    .into_inner();
                if let Some(out) = out {
                    save_receipt(&conn, &receipt, &out)?;
                }
                print_receipt(&receipt)
            }
            BallotCommand::Cast {
                election,
                key,
                ballot: file,
                style,
                choice,
            } => {
                let client = conn.signing_client()?;
                let key = keys::read(&key)?;
                let e = client
                    .elections
                    .clone()
                    .get_election(pb::GetElectionRequest {
                        election_id: election,
                    })
                    .await?
                    .into_inner();
                let (definition, hash) = ballot::definition_of(&e).map_err(anyhow::Error::msg)?;
                let built = match (file, style) {
                    (Some(path), _) => {
                        let text = std::fs::read_to_string(&path)
                            .with_context(|| format!("reading {}", path.display()))?;
                        ballot::from_plaintext_file(&definition, hash, &text)
                    }
                    (None, Some(style)) => ballot::from_choices(&definition, hash, &style, &choice),
                    (None, None) => bail!("give --ballot FILE, or --style and --choice"),
                }
                .map_err(anyhow::Error::msg)?;
                print_receipt(&client.submit(&key, &Action::CastBallot(built)).await?)
            }
        }
    })
}

pub fn tally(election: String, out: Option<PathBuf>, conn: Connection) -> ExitCode {
    block_on(async move {
        let t = conn
            .client()?
            .elections
            .get_tally(pb::GetTallyRequest {
                election_id: election,
            })
            .await?
            .into_inner();
        match out {
            Some(path) => std::fs::write(&path, &t.json)
                .with_context(|| format!("writing {}", path.display()))?,
            None => println!("{}", t.json),
        }
        eprintln!(
            "{} ballots, {} ({}), as of index {} with chain head {}",
            t.ballots_counted,
            t.status,
            if t.r#final { "final" } else { "not final" },
            t.as_of_index,
            hex::encode(&t.chain_head)
        );
        Ok(())
    })
}

fn fraction(text: &str) -> anyhow::Result<Fraction> {
    let (p, q) = text
        .split_once('/')
        .with_context(|| format!("`{text}` is not p/q"))?;
    Ok(Fraction::new(p.trim().parse()?, q.trim().parse()?))
}

pub fn proposal(command: ProposalCommand, conn: Connection) -> ExitCode {
    block_on(async move {
        match command {
            ProposalCommand::Get { proposal } => {
                let id = hex::decode_array::<32>(&proposal).map_err(anyhow::Error::msg)?;
                let p = conn
                    .client()?
                    .proposals
                    .get_proposal(pb::GetProposalRequest {
                        proposal_id: id.to_vec().into(),
                    })
                    .await?
                    .into_inner();
                println!("{}  [{}]  outcome: {}", p.title, p.community_id, p.outcome);
                for (i, (option, votes)) in p.options.iter().zip(&p.votes).enumerate() {
                    println!("  {i}: {option}  {votes}");
                }
                println!(
                    "voters {}  eligible weight {}  quorum {}  threshold {}",
                    p.voters, p.eligible_weight, p.quorum, p.threshold
                );
                Ok(())
            }
            ProposalCommand::Vote {
                proposal,
                option,
                key,
            } => {
                let proposal_id = hex::decode_array::<32>(&proposal).map_err(anyhow::Error::msg)?;
                let action = Action::VoteProposal(ProposalVote {
                    proposal_id,
                    option,
                });
                print_receipt(
                    &conn
                        .signing_client()?
                        .submit(&keys::read(&key)?, &action)
                        .await?,
                )
            }
            ProposalCommand::Create {
                community,
                title,
                options,
                deadline,
                quorum,
                threshold,
                key,
            } => {
                let threshold = match threshold.as_str() {
                    "simple-majority" => PassThreshold::SimpleMajority,
                    "two-thirds" => PassThreshold::TwoThirds,
                    other => PassThreshold::AtLeast(fraction(other)?),
                };
                let spec = ProposalSpec {
                    community_id: community,
                    title,
                    options,
                    deadline_ns: deadline * 1_000_000_000,
                    quorum: fraction(&quorum)?,
                    threshold,
                };
                let receipt = conn
                    .signing_client()?
                    .submit(&keys::read(&key)?, &Action::CreateProposal(spec))
                    .await?;
                print_receipt(&receipt)?;
                println!("proposal id {}", hex::encode(&receipt.tx_id));
                Ok(())
            }
        }
    })
}

pub fn community(command: CommunityCommand, conn: Connection) -> ExitCode {
    block_on(async move {
        let CommunityCommand::Add {
            community,
            members,
            admins,
        } = command;
        let add = members
            .iter()
            .map(|m| {
                let (key, weight) = m.split_once(':').unwrap_or((m, "1"));
                Ok(Member {
                    key: hex::decode_array::<32>(key).map_err(anyhow::Error::msg)?,
                    weight: weight.parse()?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let action = AdminAction::AmendCommunity {
            community_id: community,
            add,
            remove: Vec::new(),
        };
        print_receipt(
            &conn
                .signing_client()?
                .approve(&admins.load()?, action)
                .await?,
        )
    })
}
