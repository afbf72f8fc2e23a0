//! What `audit verify` checked and found, for people (text) and for tools (JSON).

use super::verify::Outcomes;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct AuditReport {
    pub chain_id: String,
    #[serde(serialize_with = "hex32")]
    pub genesis_hash: [u8; 32],
    /// Whether the genesis was checked against a hash the auditor trusts.
    pub genesis_trusted: bool,
    pub validators: usize,
    pub events: u64,
    pub events_ordered: u64,
    pub transactions: u64,
    #[serde(serialize_with = "hex32")]
    pub chain_head: [u8; 32],
    /// RFC 6962 Merkle root (blake3) over the transaction order.
    #[serde(serialize_with = "hex32")]
    pub merkle_root: [u8; 32],
    /// Transactions by outcome: "applied" or the rejection reason.
    pub outcomes: Outcomes,
    pub state_entries: u64,
    pub elections: Vec<ElectionResult>,
    pub proposals: Vec<ProposalResult>,
    pub equivocations: Vec<Equivocation>,
    /// Checkpoints the validators' rule puts in this order (recomputed by the replay).
    pub checkpoints: u64,
    /// Certificates, each checked: signatures, weight, and every root and hash recomputed.
    pub certificates: Vec<CertificateSummary>,
    /// Checkpoint signatures for values other than the recomputed ones (never certified).
    pub disagreeing_checkpoint_signatures: Vec<DisagreeingSignature>,
}

#[derive(Debug, Serialize)]
pub struct CertificateSummary {
    pub round: u64,
    pub next_index: u64,
    pub signers: usize,
    pub weight: u64,
    pub state_root: String,
    pub transaction_root: String,
}

#[derive(Debug, Serialize)]
pub struct DisagreeingSignature {
    pub validator: String,
    pub round: u64,
    pub next_index: u64,
    pub difference: String,
}

/// The certificate covering an election's close.
#[derive(Debug, Serialize)]
pub struct CertifiedAt {
    pub round: u64,
    pub next_index: u64,
    /// Index of the first transaction at or after the close.
    pub close_index: u64,
}

#[derive(Debug, Serialize)]
pub struct ElectionResult {
    pub election_id: String,
    /// For a closed election: the certificate whose state root pins its final tally.
    pub certified_by: Option<CertifiedAt>,
    pub status: String,
    pub ballots_counted: u64,
    pub tally: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub struct ProposalResult {
    pub proposal_id: String,
    pub title: String,
    pub votes: Vec<u64>,
    pub outcome: String,
}

#[derive(Debug, Serialize)]
pub struct Equivocation {
    pub creator: u32,
    pub sequence: u64,
    pub first: String,
    pub second: String,
}

fn hex32<S: serde::Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::hex::encode(bytes))
}

impl AuditReport {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line(format!(
            "chain            {} ({} validators)",
            self.chain_id, self.validators
        ));
        line(format!(
            "genesis          {}{}",
            crate::hex::encode(&self.genesis_hash),
            if self.genesis_trusted {
                " (matches the trusted hash)"
            } else {
                " (NOT checked: pass --genesis-hash from the operator's publication)"
            }
        ));
        line(format!(
            "events           {} verified (signatures, hash links), {} ordered by the replay",
            self.events, self.events_ordered
        ));
        line(format!(
            "transactions     {} verified (signatures, hash chain, order)",
            self.transactions
        ));
        line(format!(
            "chain head       {}",
            crate::hex::encode(&self.chain_head)
        ));
        line(format!(
            "merkle root      {} (RFC 6962, blake3, over the transaction order)",
            crate::hex::encode(&self.merkle_root)
        ));
        for (outcome, count) in &self.outcomes {
            line(format!("  {outcome:<28} {count}"));
        }
        line(format!(
            "governance state {} entries, identical to the recomputed state",
            self.state_entries
        ));
        line(format!(
            "checkpoints      {} recomputed; {} certified, every signature and root checked",
            self.checkpoints,
            self.certificates.len()
        ));
        for c in &self.certificates {
            line(format!(
                "  round {:<8} transactions 0..{:<10} {} signers, weight {}, state root {}",
                c.round, c.next_index, c.signers, c.weight, c.state_root
            ));
        }
        for d in &self.disagreeing_checkpoint_signatures {
            line(format!(
                "  validator {} signed a wrong checkpoint for round {}: {}",
                d.validator, d.round, d.difference
            ));
        }
        for e in &self.elections {
            let certified = match &e.certified_by {
                Some(c) => format!(
                    "; tally certified at round {} (close at transaction {})",
                    c.round, c.close_index
                ),
                None => String::new(),
            };
            line(format!(
                "election {}: {}, {} ballots counted{certified}",
                e.election_id, e.status, e.ballots_counted
            ));
            line(serde_json::to_string_pretty(&e.tally["contests"]).unwrap_or_default());
        }
        for p in &self.proposals {
            line(format!(
                "proposal {} \"{}\": {} (votes {:?})",
                p.proposal_id, p.title, p.outcome, p.votes
            ));
        }
        if self.equivocations.is_empty() {
            line("equivocations    none".to_string());
        }
        for q in &self.equivocations {
            line(format!(
                "equivocation     validator {} signed two events at sequence {}: {} and {}",
                q.creator, q.sequence, q.first, q.second
            ));
        }
        line("result           everything matches".to_string());
        out
    }
}
