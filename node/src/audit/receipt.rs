//! Ballot receipts a voter keeps, and their offline check (`votegraph audit verify-receipt`).
//!
//! A receipt file holds the voter's transaction record, its Merkle path to the transaction
//! root of a certified checkpoint, and that certificate. With only the genesis (the validator
//! set), anyone can check that validators holding more than two thirds of the weight signed an
//! order containing exactly this signed transaction at this index. Whether the ballot counted
//! is then a matter of replaying that order (`audit verify`), which the certificate's state
//! root also pins.

use super::report::AuditReport;
use super::verify::State;
use super::AuditError;
use crate::hex;
use serde::{Deserialize, Serialize};
use votegraph_gateway::governance::action::Action;
use votegraph_gateway::governance::checkpoint::{
    Certificate, Checkpoint, ValidatorSet, ValidatorSignature,
};
use votegraph_gateway::governance::codec;
use votegraph_gateway::governance::reason::Reason;
use votegraph_gateway::governance::records::{self, RejectionRecord};
use votegraph_gateway::{ChainId, Envelope};
use votegraph_proto::v1 as pb;
use votegraph_storage::merkle::{leaf_hash, verify_inclusion, Hash};

pub const RECEIPT_FORMAT: &str = "votegraph-receipt-v1";

/// The JSON receipt file (hex for bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptFile {
    pub format: String,
    pub chain_id: String,
    pub tx_id: String,
    pub index: u64,
    /// Event id, position (u32 LE), consensus timestamp (u64 LE), envelope.
    pub record: String,
    pub tree_size: u64,
    pub path: Vec<String>,
    pub certificate: CertificateJson,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateJson {
    pub round: u64,
    pub next_index: u64,
    pub chain_head: String,
    pub transaction_root: String,
    pub state_root: String,
    pub validator_set_hash: String,
    pub weight: u64,
    pub signatures: Vec<SignatureJson>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureJson {
    pub validator: String,
    pub signature: String,
}

/// What a receipt proves, once checked.
#[derive(Debug, Serialize)]
pub struct ReceiptReport {
    pub tx_id: String,
    pub signer: String,
    pub kind: String,
    pub index: u64,
    pub consensus_timestamp_ns: u64,
    pub certified_round: u64,
    pub certified_transactions: u64,
    pub signed_weight: u64,
    pub total_weight: u64,
    pub state_root: String,
    /// With an export: what its verified replay did with the transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_export: Option<ReceiptInExport>,
}

impl ReceiptFile {
    /// A receipt file from a gateway receipt that carries an inclusion proof.
    pub fn from_receipt(chain_id: &str, receipt: &pb::Receipt) -> Result<Self, AuditError> {
        let proof = receipt.inclusion.as_ref().ok_or_else(|| {
            AuditError::new(
                "receipt",
                "no certified checkpoint covers this transaction yet; ask again after the next checkpoint",
            )
        })?;
        let certificate: Certificate = codec::decode(&proof.certificate)
            .map_err(|e| AuditError::new("receipt certificate", e.to_string()))?;
        Ok(ReceiptFile {
            format: RECEIPT_FORMAT.into(),
            chain_id: chain_id.into(),
            tx_id: hex::encode(&receipt.tx_id),
            index: proof.index,
            record: hex::encode(&proof.record),
            tree_size: proof.tree_size,
            path: proof.path.iter().map(|h| hex::encode(h)).collect(),
            certificate: CertificateJson::from(&certificate),
        })
    }

    /// Checks everything the receipt claims against `validators` (from a trusted genesis).
    pub fn verify(&self, validators: &ValidatorSet) -> Result<ReceiptReport, AuditError> {
        if self.format != RECEIPT_FORMAT {
            return Err(AuditError::new(
                "receipt",
                format!("format {:?}, expected {RECEIPT_FORMAT:?}", self.format),
            ));
        }
        if self.chain_id != validators.chain_id {
            return Err(AuditError::new(
                "receipt",
                format!(
                    "for chain {:?}; the genesis is chain {:?}",
                    self.chain_id, validators.chain_id
                ),
            ));
        }
        let certificate = self.certificate.to_certificate()?;
        let signed_weight = certificate
            .verify(validators)
            .map_err(|e| AuditError::new("receipt certificate", e.to_string()))?;
        let record = field("record", hex::decode(&self.record))?;
        self.check_path(&record, &certificate.checkpoint)?;
        let (envelope, timestamp) = self.check_transaction(&record, &validators.chain_id)?;
        Ok(ReceiptReport {
            tx_id: self.tx_id.clone(),
            signer: hex::encode(&envelope.signer),
            kind: Action::decode(&envelope.payload)
                .map(|a| a.kind().to_string())
                .unwrap_or_else(|_| "undecodable payload".into()),
            index: self.index,
            consensus_timestamp_ns: timestamp,
            certified_round: certificate.checkpoint.round,
            certified_transactions: certificate.checkpoint.next_index,
            signed_weight,
            total_weight: validators.total_weight(),
            state_root: hex::encode(&certificate.checkpoint.state_root),
            in_export: None,
        })
    }

    fn check_path(&self, record: &[u8], checkpoint: &Checkpoint) -> Result<(), AuditError> {
        if self.tree_size != checkpoint.next_index {
            return Err(AuditError::new(
                "receipt proof",
                format!(
                    "the proof is for a tree of {} transactions; the certificate covers {}",
                    self.tree_size, checkpoint.next_index
                ),
            ));
        }
        let path: Vec<Hash> = self
            .path
            .iter()
            .enumerate()
            .map(|(i, h)| field(&format!("path[{i}]"), hex::decode_array::<32>(h)))
            .collect::<Result<_, _>>()?;
        let leaf = leaf_hash(record);
        if !verify_inclusion(
            &leaf,
            self.index,
            self.tree_size,
            &path,
            &checkpoint.transaction_root,
        ) {
            return Err(AuditError::new(
                "receipt proof",
                format!(
                    "the record is not transaction {} under the certified transaction root",
                    self.index
                ),
            ));
        }
        Ok(())
    }

    /// The record holds a validly signed envelope with the receipt's transaction id.
    fn check_transaction(
        &self,
        record: &[u8],
        chain_id: &str,
    ) -> Result<(Envelope, u64), AuditError> {
        let bad = |detail: String| AuditError::new("receipt record", detail);
        if record.len() < 44 {
            return Err(bad("shorter than event id, position and timestamp".into()));
        }
        let timestamp = u64::from_le_bytes(record[36..44].try_into().expect("8 bytes"));
        let envelope = Envelope::decode(&record[44..]).map_err(|e| bad(e.to_string()))?;
        envelope
            .verify(&ChainId::from_name(chain_id), usize::MAX)
            .map_err(|e| bad(e.to_string()))?;
        let id = envelope.id().to_hex();
        if !id.eq_ignore_ascii_case(&self.tx_id) {
            return Err(bad(format!(
                "holds transaction {id}, not the receipt's {}",
                self.tx_id
            )));
        }
        Ok((envelope, timestamp))
    }
}

/// What an audited export says of a receipt's transaction.
#[derive(Debug, Serialize)]
pub struct ReceiptInExport {
    /// "counted", or the reason the replay rejected it.
    pub outcome: String,
    pub detail: String,
}

impl ReceiptFile {
    /// Checks the receipt against a verified export: its certificate is one the export's
    /// replay recomputed and checked (so the receipt's Merkle path puts its record at its index
    /// of the audited order), and what the replay did with the transaction.
    pub fn check_against(
        &self,
        report: &AuditReport,
        state: &State,
    ) -> Result<ReceiptInExport, AuditError> {
        let c = &self.certificate;
        let listed = report.certificates.iter().any(|s| {
            s.round == c.round
                && s.next_index == c.next_index
                && s.state_root == c.state_root
                && s.transaction_root == c.transaction_root
        });
        if !listed {
            return Err(AuditError::new(
                "receipt certificate",
                format!(
                    "the export has no certificate of round {} covering {} transactions with these roots",
                    c.round, c.next_index
                ),
            ));
        }
        let key = records::rejected_key(self.index);
        Ok(match state.get(&key) {
            None => ReceiptInExport {
                outcome: "counted".into(),
                detail: "applied in the replay".into(),
            },
            Some(bytes) => {
                let record: RejectionRecord = codec::decode(bytes)
                    .map_err(|e| AuditError::new("receipt outcome", e.to_string()))?;
                ReceiptInExport {
                    outcome: Reason::from_code(record.code)
                        .map_or("rejected".into(), |r| r.name().to_string()),
                    detail: record.detail,
                }
            }
        })
    }
}

impl From<&Certificate> for CertificateJson {
    fn from(c: &Certificate) -> Self {
        let cp = &c.checkpoint;
        CertificateJson {
            round: cp.round,
            next_index: cp.next_index,
            chain_head: hex::encode(&cp.chain_head),
            transaction_root: hex::encode(&cp.transaction_root),
            state_root: hex::encode(&cp.state_root),
            validator_set_hash: hex::encode(&cp.validator_set_hash),
            weight: c.weight,
            signatures: c
                .signatures
                .iter()
                .map(|s| SignatureJson {
                    validator: hex::encode(&s.validator),
                    signature: hex::encode(&s.signature),
                })
                .collect(),
        }
    }
}

impl CertificateJson {
    fn to_certificate(&self) -> Result<Certificate, AuditError> {
        let hash = |name: &str, text: &str| field(name, hex::decode_array::<32>(text));
        let signatures = self
            .signatures
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Ok(ValidatorSignature {
                    validator: hash(&format!("signatures[{i}].validator"), &s.validator)?,
                    signature: field(
                        &format!("signatures[{i}].signature"),
                        hex::decode(&s.signature),
                    )?,
                })
            })
            .collect::<Result<_, AuditError>>()?;
        Ok(Certificate {
            checkpoint: Checkpoint {
                round: self.round,
                next_index: self.next_index,
                chain_head: hash("chain_head", &self.chain_head)?,
                transaction_root: hash("transaction_root", &self.transaction_root)?,
                state_root: hash("state_root", &self.state_root)?,
                validator_set_hash: hash("validator_set_hash", &self.validator_set_hash)?,
            },
            signatures,
            weight: self.weight,
        })
    }
}

fn field<T>(name: &str, value: Result<T, String>) -> Result<T, AuditError> {
    value.map_err(|e| AuditError::new(format!("receipt field {name}"), e))
}
