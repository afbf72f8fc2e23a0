//! Certificates and Merkle proofs for the gateway: receipts that prove inclusion in a certified
//! order, the certificate covering a transaction, and consistency between two tree sizes.

use super::{internal, Gateway};
use tonic::Status;
use votegraph_gateway::governance::checkpoint::{self, Certificate, CERTIFICATE_PREFIX};
use votegraph_gateway::governance::codec;
use votegraph_proto::v1 as pb;
use votegraph_storage::Store;

impl Gateway {
    /// The first certificate whose checkpoint covers transaction `index` (its `next_index` is
    /// above `index`), if one does yet.
    pub fn certificate_covering(&self, index: u64) -> Result<Option<Certificate>, Status> {
        // Keys are prefix, next_index, round: start after every key of next_index <= index.
        let mut after = CERTIFICATE_PREFIX.to_vec();
        after.extend_from_slice(&index.to_be_bytes());
        after.extend_from_slice(&[0xff; 8]);
        let rows = self
            .shared
            .store
            .state_scan(CERTIFICATE_PREFIX, Some(&after), 1)
            .map_err(internal)?;
        rows.first()
            .map(|(key, value)| {
                checkpoint::decode_certificate(value).map_err(|e| {
                    internal(format!(
                        "certificate {} does not decode: {e}",
                        String::from_utf8_lossy(key)
                    ))
                })
            })
            .transpose()
    }

    pub fn get_certificate(&self, covering_index: u64) -> Result<pb::CertificateReply, Status> {
        let certificate = self.certificate_covering(covering_index)?.ok_or_else(|| {
            Status::not_found(format!(
                "no certified checkpoint covers transaction {covering_index} yet"
            ))
        })?;
        Ok(pb::CertificateReply {
            round: certificate.checkpoint.round,
            next_index: certificate.checkpoint.next_index,
            weight: certificate.weight,
            total_weight: self.governance.config().validators.total_weight(),
            certificate: codec::encode(&certificate).into(),
        })
    }

    /// The proof that transaction `index` is in the certified order, once a certificate covers it.
    pub fn inclusion(&self, index: u64) -> Result<Option<pb::InclusionProof>, Status> {
        let Some(certificate) = self.certificate_covering(index)? else {
            return Ok(None);
        };
        let store = self.shared.store.as_ref();
        let size = certificate.checkpoint.next_index;
        let path = self
            .tree
            .inclusion_proof(store, size, index)
            .map_err(internal)?;
        let (_, record) = store
            .transactions(index, 1)
            .map_err(internal)?
            .into_iter()
            .next()
            .ok_or_else(|| internal("a final transaction is missing from the ledger"))?;
        Ok(Some(pb::InclusionProof {
            record: record.unhashed_encoding().into(),
            index,
            tree_size: size,
            path: path.iter().map(|h| h.to_vec().into()).collect(),
            certificate: codec::encode(&certificate).into(),
        }))
    }

    pub fn get_consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<pb::ConsistencyProof, Status> {
        let store = self.shared.store.as_ref();
        let size = store.head().map_err(internal)?.next_transaction_index;
        if old_size == 0 || old_size > new_size || new_size > size {
            return Err(Status::invalid_argument(format!(
                "sizes must satisfy 1 <= old_size <= new_size <= {size} (the ledger's size)"
            )));
        }
        let path = self
            .tree
            .consistency_proof(store, old_size, new_size)
            .map_err(internal)?;
        Ok(pb::ConsistencyProof {
            path: path.iter().map(|h| h.to_vec().into()).collect(),
        })
    }
}
