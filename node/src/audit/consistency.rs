//! `votegraph audit consistency`: two certificates of one history, and the proof that the
//! later certified order extends the earlier one. Both certificates are checked against the
//! genesis validator set; the proof comes from any validator and needs no trust in it.

use super::AuditError;
use crate::client::GatewayClient;
use votegraph_gateway::governance::checkpoint::{Certificate, ValidatorSet};
use votegraph_gateway::governance::codec;
use votegraph_proto::v1 as pb;
use votegraph_storage::merkle::{verify_consistency, Hash};

/// Fetches the certificates covering transactions `from` and `to`, checks both, and checks
/// the consistency proof between them. Returns a one-line summary.
pub async fn check(
    client: &GatewayClient,
    validators: &ValidatorSet,
    from: u64,
    to: u64,
) -> Result<String, AuditError> {
    let earlier = certificate(client, validators, from).await?;
    let later = certificate(client, validators, to).await?;
    let (old, new) = (&earlier.checkpoint, &later.checkpoint);
    if old.next_index > new.next_index {
        return Err(AuditError::new(
            "consistency",
            format!(
                "the certificate covering {from} covers more ({}) than the one covering {to} ({})",
                old.next_index, new.next_index
            ),
        ));
    }
    let request = pb::GetConsistencyProofRequest {
        old_size: old.next_index,
        new_size: new.next_index,
    };
    let proof = client
        .ledger
        .clone()
        .get_consistency_proof(request)
        .await
        .map_err(|e| AuditError::new("consistency proof", e.to_string()))?
        .into_inner();
    let path = proof
        .path
        .iter()
        .map(|h| {
            Hash::try_from(h.as_ref())
                .map_err(|_| AuditError::new("consistency proof", "a hash is not 32 bytes"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !verify_consistency(
        old.next_index,
        new.next_index,
        &old.transaction_root,
        &new.transaction_root,
        &path,
    ) {
        return Err(AuditError::new(
            "consistency",
            format!(
                "the certified order of round {} ({} transactions) is not a prefix of the certified order of round {} ({} transactions)",
                old.round, old.next_index, new.round, new.next_index
            ),
        ));
    }
    Ok(format!(
        "consistent: the order certified at round {} ({} transactions) extends the one certified at round {} ({} transactions)",
        new.round, new.next_index, old.round, old.next_index
    ))
}

async fn certificate(
    client: &GatewayClient,
    validators: &ValidatorSet,
    covering_index: u64,
) -> Result<Certificate, AuditError> {
    let item = format!("certificate covering transaction {covering_index}");
    let reply = client
        .ledger
        .clone()
        .get_certificate(pb::GetCertificateRequest { covering_index })
        .await
        .map_err(|e| AuditError::new(&item, e.to_string()))?
        .into_inner();
    let certificate: Certificate =
        codec::decode(&reply.certificate).map_err(|e| AuditError::new(&item, e.to_string()))?;
    certificate
        .verify(validators)
        .map_err(|e| AuditError::new(&item, e.to_string()))?;
    if certificate.checkpoint.next_index <= covering_index {
        return Err(AuditError::new(
            &item,
            format!(
                "it covers only {} transactions",
                certificate.checkpoint.next_index
            ),
        ));
    }
    Ok(certificate)
}
