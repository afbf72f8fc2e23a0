//! Reads of governance state for the gateway's Get and List calls, judged at the ledger's
//! latest consensus time (a schedule applies from its time on, even before a transaction
//! stores the change).

use super::{convert, internal, Gateway};
use crate::finality;
use crate::ledger_state::LedgerState;
use tonic::Status;
use votegraph_gateway::governance::action::ElectionSpec;
use votegraph_gateway::governance::codec;
use votegraph_gateway::governance::overlay::Overlay;
use votegraph_gateway::governance::records::{
    self, ElectionRecord, ElectionStatus, ProposalRecord,
};
use votegraph_gateway::governance::tally::Tally;
use votegraph_gateway::TxId;
use votegraph_proto::v1 as pb;
use votegraph_storage::Store;

/// Elections one ListElections call returns at most.
pub const LIST_LIMIT_MAX: u32 = 100;

impl Gateway {
    fn read<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, Status> {
        let ledger = LedgerState(self.shared.store.as_ref());
        records::read(&Overlay::new(&ledger), key).map_err(internal)
    }

    fn now_consensus_ns(&self) -> Result<(u64, votegraph_storage::LedgerHead), Status> {
        let head = self.shared.store.head().map_err(internal)?;
        Ok((head.last_transaction_timestamp_ns, head))
    }

    fn election_parts(&self, id: &str) -> Result<(ElectionRecord, ElectionSpec, Tally), Status> {
        let record: ElectionRecord = self
            .read(&records::election_status_key(id))?
            .ok_or_else(|| Status::not_found(format!("there is no election `{id}`")))?;
        let spec = self
            .read(&records::election_spec_key(id))?
            .ok_or_else(|| internal(format!("election `{id}` has no definition")))?;
        let tally = self
            .read(&records::tally_key(id))?
            .ok_or_else(|| internal(format!("election `{id}` has no tally")))?;
        Ok((record, spec, tally))
    }

    pub fn get_election(&self, id: &str) -> Result<pb::Election, Status> {
        let (now, _) = self.now_consensus_ns()?;
        let (record, spec, tally) = self.election_parts(id)?;
        Ok(convert::election(&record, &spec, &tally, now))
    }

    pub fn list_elections(&self, after: &str, limit: u32) -> Result<Vec<pb::Election>, Status> {
        let limit = if limit == 0 {
            LIST_LIMIT_MAX
        } else {
            limit.min(LIST_LIMIT_MAX)
        };
        let after_key = (!after.is_empty()).then(|| records::election_status_key(after));
        let rows = self
            .shared
            .store
            .state_scan(
                records::ELECTION_STATUS_PREFIX,
                after_key.as_deref(),
                limit as usize,
            )
            .map_err(internal)?;
        rows.iter()
            .map(|(_, bytes)| {
                let record: ElectionRecord = codec::decode(bytes).map_err(internal)?;
                self.get_election(&record.election_id)
            })
            .collect()
    }

    /// The head is read first, so the tally is at least as new as the position it reports.
    pub fn get_tally(&self, id: &str) -> Result<pb::Tally, Status> {
        let (now, head) = self.now_consensus_ns()?;
        let (record, _, tally) = self.election_parts(id)?;
        let status = record.status_at(now);
        let mut json = tally.to_json();
        json["election_id"] = id.into();
        json["status"] = status.name().into();
        json["manifest_hash"] = crate::hex::encode(&record.manifest_hash).into();
        Ok(pb::Tally {
            election_id: id.to_string(),
            status: status.name().to_string(),
            r#final: matches!(status, ElectionStatus::Closed | ElectionStatus::Tallied),
            ballots_counted: tally.ballots,
            json: serde_json::to_string_pretty(&json).expect("json serializes"),
            as_of_index: head.next_transaction_index,
            chain_head: head.chain_head.to_vec().into(),
            manifest_hash: record.manifest_hash.to_vec().into(),
        })
    }

    pub fn get_proposal(&self, id: &[u8]) -> Result<pb::Proposal, Status> {
        let id: [u8; 32] = id
            .try_into()
            .map_err(|_| Status::invalid_argument("a proposal id is 32 bytes"))?;
        // Head first: the votes read are at least as new as the time the outcome is judged at.
        let (now, _) = self.now_consensus_ns()?;
        let record: ProposalRecord = self.read(&records::proposal_key(&id))?.ok_or_else(|| {
            Status::not_found(format!("there is no proposal {}", crate::hex::encode(&id)))
        })?;
        Ok(convert::proposal(id, &record, now))
    }

    pub fn get_receipt(&self, id: &[u8]) -> Result<pb::Receipt, Status> {
        let id = TxId(
            id.try_into()
                .map_err(|_| Status::invalid_argument("a transaction id is 32 bytes"))?,
        );
        let store = self.shared.store.as_ref();
        let found = finality::lookup(store, &id)
            .map_err(internal)?
            .ok_or_else(|| {
                Status::not_found(format!(
                    "transaction {} is not final here (unknown, or still pending)",
                    id.to_hex()
                ))
            })?;
        let (_, record) = store
            .transactions(found.index, 1)
            .map_err(internal)?
            .into_iter()
            .next()
            .ok_or_else(|| internal("a final transaction is missing from the ledger"))?;
        let mut receipt = convert::receipt(&found, *blake3::hash(&record.payload).as_bytes());
        receipt.inclusion = self.inclusion(found.index)?;
        Ok(receipt)
    }
}
