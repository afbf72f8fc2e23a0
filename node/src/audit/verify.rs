//! `votegraph audit verify`: checks an export with no node and no network. Every event's
//! signature and hash links, the consensus order (re-run from the events), both hash chains,
//! every transaction's signature, the governance state (re-applied from the order), and the
//! equivocation evidence. The first discrepancy is the error and names the item.

use super::format::{ExportReader, Frame, Totals};
use super::progress::Progress;
use super::report::{
    AuditReport, CertificateSummary, CertifiedAt, ElectionResult, Equivocation, ProposalResult,
};
use super::AuditError;
use super::{certificates, replay};
use crate::genesis::Genesis;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;
use votegraph_consensus::{EventLimits, MemberSet, UncheckedEvent, VerifiedEvent};
use votegraph_gateway::governance::records::{
    self, ElectionRecord, ElectionStatus, ProposalRecord,
};
use votegraph_gateway::governance::{codec, proposal};
use votegraph_gateway::{check_form_each, verify_encoded_each};
use votegraph_storage::{
    merkle, replay_events, verify_chain, Batch, LedgerHead, MemStore, OrderRecord, Store,
    TransactionRecord,
};

pub struct VerifyOptions {
    /// The genesis hash published by the election's operator, if the auditor has it.
    pub trusted_genesis_hash: Option<[u8; 32]>,
    pub progress: bool,
}

/// The export's sections, read in their required order.
#[derive(Default)]
struct Sections {
    genesis: String,
    events: Vec<(u64, Vec<u8>)>,
    orders: Vec<(u64, OrderRecord)>,
    transactions: Vec<(u64, TransactionRecord)>,
    state: Vec<(Vec<u8>, Vec<u8>)>,
    evidence: Vec<(u64, Vec<u8>, Vec<u8>)>,
    totals: Option<Totals>,
}

pub fn verify(input: impl Read, options: &VerifyOptions) -> Result<AuditReport, AuditError> {
    verify_with_state(input, options).map(|(report, state)| {
        free_in_background(state);
        report
    })
}

/// [`verify`], also returning the recomputed governance state (for checks of single items,
/// such as a voter's receipt, against the audited ledger).
pub fn verify_with_state(
    input: impl Read,
    options: &VerifyOptions,
) -> Result<(AuditReport, State), AuditError> {
    let started = std::time::Instant::now();
    let say = |line: &str| {
        if options.progress {
            eprintln!("[{:6.2} s] {line}", started.elapsed().as_secs_f64());
        }
    };
    say("reading the export ...");
    let sections = read_sections(input)?;
    let totals = sections
        .totals
        .clone()
        .expect("read_sections requires an End frame");
    let genesis = check_genesis(&sections.genesis, options)?;
    let members = genesis
        .member_set()
        .map_err(|e| AuditError::new("genesis", e.to_string()))?;
    let config = genesis.engine_config();
    say(&format!(
        "checking {} event signatures ...",
        sections.events.len()
    ));
    let events = verify_events(&sections.events, &members, &config.event_limits)?;
    let store = load_ledger(&events, &sections, &totals)?;
    say(&format!(
        "checking the hash chains of {} transactions ...",
        totals.transactions
    ));
    let chain = verify_chain(&store).map_err(|e| AuditError::new("ledger", e.to_string()))?;
    say(&format!(
        "re-running consensus and governance, checking {} transaction signatures ...",
        totals.transactions
    ));
    // Signature checks (parallel) overlap the two replays (sequential); the first failure in
    // the order consensus, signatures, governance is the one reported.
    let leaves = transaction_leaves(&sections.transactions);
    // Each transaction is counted twice: its signature, and its place in the governance replay.
    let progress = Progress::new(2 * sections.transactions.len() as u64);
    let bar = options.progress.then(|| progress.draw());
    let (signatures, replays) = rayon::join(
        || verify_envelopes(&sections.transactions, &genesis, &progress),
        || {
            // The events were verified above (in parallel); the replay does not check them again.
            let replay = replay_events(
                &store,
                config.clone(),
                members.clone(),
                None,
                events.clone(),
            )
            .map_err(|e| AuditError::new("consensus replay", e.to_string()));
            // Optimistic: every signature verifies. Redone below if one does not.
            let governance = replay::replay(
                &sections.orders,
                &sections.transactions,
                &leaves,
                &genesis,
                &InvalidSignatures::new(),
                &progress,
            );
            (replay, governance)
        },
    );
    drop(bar);
    let (replay, governance) = replays;
    let replay = replay?;
    let invalid = signatures?;
    let replayed = match invalid.is_empty() {
        true => governance?,
        false => {
            say(&format!(
                "{} ordered transactions do not verify; re-running governance with them rejected ...",
                invalid.len()
            ));
            replay::replay(
                &sections.orders,
                &sections.transactions,
                &leaves,
                &genesis,
                &invalid,
                &Progress::new(sections.transactions.len() as u64),
            )?
        }
    };
    let state = &replayed.state;
    compare_state(state, &sections.state)?;
    say("checking certificates ...");
    let validators = genesis
        .validator_set()
        .map_err(|e| AuditError::new("genesis", e.to_string()))?;
    let findings = certificates::check(state, &replayed.checkpoints, &validators)?;
    say("checking equivocation evidence ...");
    let equivocations = verify_evidence(&sections.evidence, &members, &config.event_limits)?;
    let now = sections
        .transactions
        .last()
        .map(|(_, t)| t.consensus_timestamp_ns)
        .unwrap_or(0);
    let report = AuditReport {
        chain_id: genesis.chain_id.clone(),
        genesis_hash: genesis.hash(),
        genesis_trusted: options.trusted_genesis_hash.is_some(),
        validators: genesis.validators.len(),
        events: events.len() as u64,
        events_ordered: replay.events_checked,
        transactions: chain.transactions,
        chain_head: chain.chain_head,
        merkle_root: merkle::root(&leaves),
        outcomes: replayed.outcomes.clone(),
        state_entries: state.len() as u64,
        elections: elections(state, now, &sections.transactions, &findings.certificates)?,
        proposals: proposals(state, now)?,
        equivocations,
        checkpoints: replayed.checkpoints.len() as u64,
        certificates: findings.certificates,
        disagreeing_checkpoint_signatures: findings.disagreeing,
    };
    free_in_background((sections, store, events, leaves));
    Ok((report, replayed.state))
}

/// Drops a large value (the export's sections, the in-memory ledger: millions of allocations)
/// on another thread, so the verdict is not kept waiting for the memory to be given back.
/// Where no thread can be started, the value is freed here.
fn free_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("audit-free".into())
        .spawn(move || drop(value));
}

fn read_sections(input: impl Read) -> Result<Sections, AuditError> {
    let mut reader =
        ExportReader::new(input).map_err(|e| AuditError::new("export file", e.to_string()))?;
    let mut s = Sections::default();
    let mut rank = 0u8;
    let mut frames = 0u64;
    while let Some((offset, frame)) = reader
        .next_frame()
        .map_err(|e| AuditError::new("export file", e.to_string()))?
    {
        let at = |detail: String| AuditError::new(format!("frame at byte {offset}"), detail);
        let frame_rank = section_rank(&frame);
        if frame_rank < rank || (frame_rank == 0 && frames > 0) {
            return Err(at("out of section order (genesis, events, orders, transactions, state, evidence, end)".into()));
        }
        if frames == 0 && frame_rank != 0 {
            return Err(at("the first frame must be the genesis".into()));
        }
        rank = frame_rank;
        match frame {
            Frame::Genesis(text) => s.genesis = text,
            Frame::Event(bytes) => s.events.push((offset, bytes)),
            Frame::Order(index, record) => {
                expect_index(index, s.orders.len(), "order record").map_err(at)?;
                s.orders.push((index, record));
            }
            Frame::Transaction(index, record) => {
                expect_index(index, s.transactions.len(), "transaction").map_err(at)?;
                s.transactions.push((index, record));
            }
            Frame::State(key, value) => {
                if s.state.last().is_some_and(|(last, _)| *last >= key) {
                    return Err(at(format!(
                        "state key {} is not after the one before",
                        show_key(&key)
                    )));
                }
                s.state.push((key, value));
            }
            Frame::Evidence(first, second) => s.evidence.push((offset, first, second)),
            Frame::End(totals) => {
                if totals.frames != frames {
                    return Err(at(format!(
                        "End counts {} frames; the file has {frames}",
                        totals.frames
                    )));
                }
                s.totals = Some(totals);
            }
        }
        frames += 1;
    }
    if s.totals.is_none() {
        return Err(AuditError::new("export file", "no End frame"));
    }
    Ok(s)
}

fn section_rank(frame: &Frame) -> u8 {
    match frame {
        Frame::Genesis(_) => 0,
        Frame::Event(_) => 1,
        Frame::Order(..) => 2,
        Frame::Transaction(..) => 3,
        Frame::State(..) => 4,
        Frame::Evidence(..) => 5,
        Frame::End(_) => 6,
    }
}

fn expect_index(index: u64, expected: usize, what: &str) -> Result<(), String> {
    if index != expected as u64 {
        return Err(format!("{what} {index} where {what} {expected} belongs"));
    }
    Ok(())
}

pub fn show_key(key: &[u8]) -> String {
    key.iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

/// The genesis must be in its canonical form (so no byte of it goes unchecked) and, when the
/// auditor has the published hash, equal to it.
fn check_genesis(text: &str, options: &VerifyOptions) -> Result<Genesis, AuditError> {
    let genesis = Genesis::parse(text, "the export's genesis")
        .map_err(|e| AuditError::new("genesis", e.to_string()))?;
    if genesis.to_toml() != text {
        return Err(AuditError::new(
            "genesis",
            "not in canonical form (the exporter writes it canonically)",
        ));
    }
    if let Some(trusted) = options.trusted_genesis_hash {
        if genesis.hash() != trusted {
            return Err(AuditError::new(
                "genesis",
                format!(
                    "hash {} differs from the trusted {}",
                    crate::hex::encode(&genesis.hash()),
                    crate::hex::encode(&trusted)
                ),
            ));
        }
    }
    Ok(genesis)
}

/// Decodes and verifies every event in parallel, and checks their order in the file.
fn verify_events(
    events: &[(u64, Vec<u8>)],
    members: &MemberSet,
    limits: &EventLimits,
) -> Result<Vec<VerifiedEvent>, AuditError> {
    let verified: Vec<VerifiedEvent> = events
        .par_iter()
        .map(|(offset, bytes)| {
            let invalid =
                |detail: String| AuditError::new(format!("event frame at byte {offset}"), detail);
            let unchecked =
                UncheckedEvent::decode(bytes, limits).map_err(|e| invalid(e.to_string()))?;
            unchecked
                .verify(members, limits)
                .map_err(|e| invalid(e.reason.to_string()))
        })
        .collect::<Result<_, _>>()?;
    for (pair, (offset, _)) in verified.windows(2).zip(events.iter().skip(1)) {
        let key = |e: &VerifiedEvent| (e.creator().0, e.creator_seq(), e.id());
        if key(&pair[0]) >= key(&pair[1]) {
            return Err(AuditError::new(
                format!("event frame at byte {offset}"),
                format!(
                    "event {} is not after event {} (creator, sequence, id order)",
                    pair[1].id(),
                    pair[0].id()
                ),
            ));
        }
    }
    Ok(verified)
}

/// The exported ledger as a store, for the same checks a validator runs on its own.
fn load_ledger(
    events: &[VerifiedEvent],
    s: &Sections,
    totals: &Totals,
) -> Result<MemStore, AuditError> {
    let mut batch = Batch::new();
    for event in events {
        batch.put_event(
            event.id(),
            event.creator(),
            event.creator_seq(),
            event.encode(),
        );
    }
    // Each order record is followed by its transactions, as a validator commits them; the
    // store checks every index, link and running hash on write.
    let mut transactions = s.transactions.iter().peekable();
    for (index, record) in &s.orders {
        batch.put_order(*index, record.clone());
        let end = record.first_transaction_index + record.transaction_count as u64;
        while let Some((i, tx)) = transactions.next_if(|(i, _)| *i < end) {
            batch.put_transaction(*i, tx.clone());
        }
    }
    for (index, record) in transactions {
        batch.put_transaction(*index, record.clone());
    }
    batch.set_head(LedgerHead {
        next_order_index: totals.events_ordered,
        next_transaction_index: totals.transactions,
        chain_head: totals.chain_head,
        order_chain_head: totals.order_chain_head,
        last_decided_round: s
            .orders
            .iter()
            .map(|(_, o)| o.round_received)
            .max()
            .unwrap_or(0),
        last_transaction_timestamp_ns: s
            .transactions
            .last()
            .map(|(_, t)| t.consensus_timestamp_ns)
            .unwrap_or(0),
    });
    let store = MemStore::new();
    store
        .write(batch)
        .map_err(|e| AuditError::new("ledger", e.to_string()))?;
    Ok(store)
}

/// Transaction signatures checked together: enough to share one inversion among many (see
/// `votegraph_consensus::strict_signature`), few enough to spread over rayon's threads.
const ENVELOPES_PER_CHECK: usize = 64;

/// Ordered transactions whose signature fails, by index, with why: a faulty validator's event
/// carried them, and validators record them as rejected (`invalid_signature`).
pub type InvalidSignatures = BTreeMap<u64, String>;

/// Checks every ordered transaction: its form (an envelope within the size limit, which every
/// validator checks before an event is admitted: a failure fails the audit) and its signature
/// (a failure is a verdict the governance replay must follow).
fn verify_envelopes(
    transactions: &[(u64, TransactionRecord)],
    genesis: &Genesis,
    progress: &Progress,
) -> Result<InvalidSignatures, AuditError> {
    let chain = genesis.chain();
    let payload_max = genesis.consensus.transaction_bytes_max;
    let chunks: Vec<InvalidSignatures> = transactions
        .par_chunks(ENVELOPES_PER_CHECK)
        .map(|chunk| {
            progress.add(chunk.len() as u64);
            let encodings: Vec<&[u8]> = chunk.iter().map(|(_, r)| &r.payload[..]).collect();
            check_form_each(&encodings, payload_max).map_err(|(i, e)| {
                AuditError::new(format!("transaction {}", chunk[i].0), e.to_string())
            })?;
            let verdicts = verify_encoded_each(&encodings, &chain, payload_max);
            Ok(chunk
                .iter()
                .zip(verdicts)
                .filter_map(|((index, _), verdict)| Some((*index, verdict.err()?.to_string())))
                .collect())
        })
        .collect::<Result<_, AuditError>>()?;
    Ok(chunks.into_iter().flatten().collect())
}

/// The RFC 6962 leaf hashes (blake3) of the transaction order; a leaf is a transaction record
/// without its running hash (event, position, consensus timestamp, envelope).
pub fn transaction_leaves(transactions: &[(u64, TransactionRecord)]) -> Vec<merkle::Hash> {
    transactions
        .par_iter()
        .map(|(_, record)| merkle::leaf_hash(&record.unhashed_encoding()))
        .collect()
}

/// Governance state: key to value.
pub type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// Outcome counts by reason name ("applied" for applied transactions).
pub type Outcomes = BTreeMap<String, u64>;

/// The validator's governance state must be exactly the recomputed one.
fn compare_state(recomputed: &State, exported: &[(Vec<u8>, Vec<u8>)]) -> Result<(), AuditError> {
    let mut theirs = exported.iter();
    for (key, value) in recomputed {
        match theirs.next() {
            Some((k, v)) if k == key && v == value => {}
            Some((k, _)) if k == key => {
                return Err(AuditError::new(
                    format!("state {}", show_key(key)),
                    "the exported value differs from the recomputed one",
                ))
            }
            Some((k, _)) if k < key => {
                return Err(AuditError::new(
                    format!("state {}", show_key(k)),
                    "exported, but re-applying the ledger does not produce it",
                ))
            }
            _ => {
                return Err(AuditError::new(
                    format!("state {}", show_key(key)),
                    "re-applying the ledger produces it, but the export lacks it",
                ))
            }
        }
    }
    if let Some((k, _)) = theirs.next() {
        return Err(AuditError::new(
            format!("state {}", show_key(k)),
            "exported, but re-applying the ledger does not produce it",
        ));
    }
    Ok(())
}

fn verify_evidence(
    evidence: &[(u64, Vec<u8>, Vec<u8>)],
    members: &MemberSet,
    limits: &EventLimits,
) -> Result<Vec<Equivocation>, AuditError> {
    evidence
        .iter()
        .map(|(offset, first, second)| {
            let invalid = |detail: String| {
                AuditError::new(format!("evidence frame at byte {offset}"), detail)
            };
            let check = |bytes: &[u8]| {
                UncheckedEvent::decode(bytes, limits)
                    .map_err(|e| invalid(e.to_string()))?
                    .verify(members, limits)
                    .map_err(|e| invalid(e.reason.to_string()))
            };
            let (a, b) = (check(first)?, check(second)?);
            if a.creator() != b.creator() || a.creator_seq() != b.creator_seq() || a.id() == b.id()
            {
                return Err(invalid(
                    "the two events are not a fork (same creator and sequence, different events)"
                        .into(),
                ));
            }
            Ok(Equivocation {
                creator: a.creator().0,
                sequence: a.creator_seq(),
                first: a.id().to_hex(),
                second: b.id().to_hex(),
            })
        })
        .collect()
}

fn elections(
    state: &State,
    now: u64,
    transactions: &[(u64, TransactionRecord)],
    certificates: &[CertificateSummary],
) -> Result<Vec<ElectionResult>, AuditError> {
    let decode_error =
        |key: &[u8], e: String| AuditError::new(format!("state {}", show_key(key)), e);
    let mut out = Vec::new();
    for (key, value) in state
        .range(records::ELECTION_STATUS_PREFIX.to_vec()..)
        .take_while(|(k, _)| k.starts_with(records::ELECTION_STATUS_PREFIX))
    {
        let record: ElectionRecord =
            codec::decode(value).map_err(|e| decode_error(key, e.to_string()))?;
        let tally_key = records::tally_key(&record.election_id);
        let tally: votegraph_gateway::governance::tally::Tally =
            codec::decode(state.get(&tally_key).map(Vec::as_slice).unwrap_or_default())
                .map_err(|e| decode_error(&tally_key, e.to_string()))?;
        let status = record.status_at(now);
        out.push(ElectionResult {
            certified_by: certified_close(&record, status, transactions, certificates),
            election_id: record.election_id.clone(),
            status: status.name().to_string(),
            ballots_counted: tally.ballots,
            tally: tally.to_json(),
        });
    }
    Ok(out)
}

fn proposals(state: &State, now: u64) -> Result<Vec<ProposalResult>, AuditError> {
    let mut out = Vec::new();
    for (key, value) in state
        .range(records::PROPOSAL_PREFIX.to_vec()..)
        .take_while(|(k, _)| k.starts_with(records::PROPOSAL_PREFIX))
    {
        let record: ProposalRecord = codec::decode(value)
            .map_err(|e| AuditError::new(format!("state {}", show_key(key)), e.to_string()))?;
        let outcome = proposal::outcome(&record, now);
        out.push(ProposalResult {
            proposal_id: crate::hex::encode(&key[records::PROPOSAL_PREFIX.len()..]),
            title: record.spec.title.clone(),
            votes: record.votes.clone(),
            outcome: match outcome {
                proposal::ProposalOutcome::Passed { option } => {
                    format!("passed: {}", record.spec.options[option as usize])
                }
                other => other.name().to_string(),
            },
        });
    }
    Ok(out)
}

/// The first certificate covering a closed election's close: the closing transaction, or for
/// a scheduled close the first transaction ordered at or after the close time. Ballots after
/// the close are refused, so that certificate's state root pins the final tally.
fn certified_close(
    record: &ElectionRecord,
    status: ElectionStatus,
    transactions: &[(u64, TransactionRecord)],
    certificates: &[CertificateSummary],
) -> Option<CertifiedAt> {
    if !matches!(status, ElectionStatus::Closed | ElectionStatus::Tallied) {
        return None;
    }
    let closed_ns = record.closed_ns.or(record.close_at_ns)?;
    let close_index =
        transactions.partition_point(|(_, t)| t.consensus_timestamp_ns < closed_ns) as u64;
    certificates
        .iter()
        .find(|c| c.next_index > close_index)
        .map(|c| CertifiedAt {
            round: c.round,
            next_index: c.next_index,
            close_index,
        })
}
