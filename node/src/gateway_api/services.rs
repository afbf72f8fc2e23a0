//! The `votegraph.v1` service traits, each a thin layer over [`Gateway`].

use super::{backup, export, ledger, Gateway};
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use votegraph_proto::v1 as pb;
use votegraph_proto::v1::{
    ballots_server::Ballots, elections_server::Elections, ledger_server::Ledger,
    proposals_server::Proposals,
};

#[derive(Clone)]
pub struct ElectionsApi(pub Arc<Gateway>);
#[derive(Clone)]
pub struct BallotsApi(pub Arc<Gateway>);
#[derive(Clone)]
pub struct ProposalsApi(pub Arc<Gateway>);
#[derive(Clone)]
pub struct LedgerApi(pub Arc<Gateway>);

type Reply<T> = Result<Response<T>, Status>;

async fn submit(
    gateway: &Gateway,
    request: Request<pb::SignedTransaction>,
    expected: &[&str],
) -> Reply<pb::Receipt> {
    let remote = request.remote_addr();
    let receipt = gateway
        .submit(remote, request.into_inner(), expected)
        .await?;
    Ok(Response::new(receipt))
}

/// Read calls count against the connection's rate too.
fn query<Q, T>(
    gateway: &Gateway,
    request: Request<Q>,
    read: impl FnOnce(Q) -> Result<T, Status>,
) -> Reply<T> {
    gateway.limit_connection(request.remote_addr())?;
    read(request.into_inner()).map(Response::new)
}

/// A read that may take many ledger reads (Merkle proofs over a cold chunk cache): on a
/// blocking thread, so that gossip and other calls keep their async workers.
async fn blocking_query<Q: Send + 'static, T: Send + 'static>(
    gateway: &Arc<Gateway>,
    request: Request<Q>,
    read: impl FnOnce(&Gateway, Q) -> Result<T, Status> + Send + 'static,
) -> Reply<T> {
    gateway.limit_connection(request.remote_addr())?;
    let gateway = Arc::clone(gateway);
    let query = request.into_inner();
    tokio::task::spawn_blocking(move || read(&gateway, query))
        .await
        .map_err(|e| Status::internal(format!("query task failed: {e}")))?
        .map(Response::new)
}

#[tonic::async_trait]
impl Elections for ElectionsApi {
    async fn create_election(&self, r: Request<pb::SignedTransaction>) -> Reply<pb::Receipt> {
        submit(&self.0, r, &["create_election"]).await
    }
    async fn amend_roll(&self, r: Request<pb::SignedTransaction>) -> Reply<pb::Receipt> {
        submit(&self.0, r, &["amend_roll"]).await
    }
    async fn open_election(&self, r: Request<pb::SignedTransaction>) -> Reply<pb::Receipt> {
        submit(&self.0, r, &["open_election"]).await
    }
    async fn close_election(&self, r: Request<pb::SignedTransaction>) -> Reply<pb::Receipt> {
        submit(&self.0, r, &["close_election"]).await
    }
    async fn publish_tally(&self, r: Request<pb::SignedTransaction>) -> Reply<pb::Receipt> {
        submit(&self.0, r, &["publish_tally"]).await
    }
    async fn get_election(&self, r: Request<pb::GetElectionRequest>) -> Reply<pb::Election> {
        query(&self.0, r, |q| self.0.get_election(&q.election_id))
    }
    async fn list_elections(
        &self,
        r: Request<pb::ListElectionsRequest>,
    ) -> Reply<pb::ListElectionsResponse> {
        query(&self.0, r, |q| {
            let elections = self.0.list_elections(&q.after, q.limit)?;
            Ok(pb::ListElectionsResponse { elections })
        })
    }
    async fn get_tally(&self, r: Request<pb::GetTallyRequest>) -> Reply<pb::Tally> {
        query(&self.0, r, |q| self.0.get_tally(&q.election_id))
    }
}

#[tonic::async_trait]
impl Ballots for BallotsApi {
    async fn cast_ballot(&self, r: Request<pb::SignedTransaction>) -> Reply<pb::Receipt> {
        submit(&self.0, r, &["cast_ballot"]).await
    }
    async fn get_receipt(&self, r: Request<pb::GetReceiptRequest>) -> Reply<pb::Receipt> {
        blocking_query(&self.0, r, |g, q| g.get_receipt(&q.tx_id)).await
    }
}

#[tonic::async_trait]
impl Proposals for ProposalsApi {
    async fn create_proposal(&self, r: Request<pb::SignedTransaction>) -> Reply<pb::Receipt> {
        submit(&self.0, r, &["create_proposal"]).await
    }
    async fn vote_proposal(&self, r: Request<pb::SignedTransaction>) -> Reply<pb::Receipt> {
        submit(&self.0, r, &["vote_proposal"]).await
    }
    async fn amend_community(&self, r: Request<pb::SignedTransaction>) -> Reply<pb::Receipt> {
        submit(&self.0, r, &["amend_community"]).await
    }
    async fn get_proposal(&self, r: Request<pb::GetProposalRequest>) -> Reply<pb::Proposal> {
        query(&self.0, r, |q| self.0.get_proposal(&q.proposal_id))
    }
}

type Records = Pin<Box<dyn Stream<Item = Result<pb::FinalizedRecord, Status>> + Send>>;
type ExportChunks = Pin<Box<dyn Stream<Item = Result<pb::ExportChunk, Status>> + Send>>;
type BackupChunks = Pin<Box<dyn Stream<Item = Result<pb::BackupChunk, Status>> + Send>>;

#[tonic::async_trait]
impl Ledger for LedgerApi {
    type StreamFinalizedStream = Records;
    type ExportLedgerStream = ExportChunks;
    type BackupLedgerStream = BackupChunks;

    async fn backup_ledger(
        &self,
        r: Request<pb::BackupLedgerRequest>,
    ) -> Reply<Self::BackupLedgerStream> {
        self.0.limit_connection(r.remote_addr())?;
        let slot = export::ExportSlot::take(&self.0.export_running)?;
        let (tx, rx) = mpsc::channel(4);
        backup::stream(Arc::clone(&self.0), tx, slot);
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn export_ledger(
        &self,
        r: Request<pb::ExportLedgerRequest>,
    ) -> Reply<Self::ExportLedgerStream> {
        self.0.limit_connection(r.remote_addr())?;
        let slot = export::ExportSlot::take(&self.0.export_running)?;
        let (tx, rx) = mpsc::channel(4);
        export::stream(Arc::clone(&self.0), tx, slot);
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn stream_finalized(
        &self,
        r: Request<pb::StreamFinalizedRequest>,
    ) -> Reply<Self::StreamFinalizedStream> {
        self.0.limit_connection(r.remote_addr())?;
        let slot = self.0.stream_slot()?;
        let (tx, rx) = mpsc::channel(256);
        ledger::stream(Arc::clone(&self.0), r.into_inner().from_index, tx, slot);
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_certificate(
        &self,
        r: Request<pb::GetCertificateRequest>,
    ) -> Reply<pb::CertificateReply> {
        blocking_query(&self.0, r, |g, q| g.get_certificate(q.covering_index)).await
    }

    async fn get_consistency_proof(
        &self,
        r: Request<pb::GetConsistencyProofRequest>,
    ) -> Reply<pb::ConsistencyProof> {
        blocking_query(&self.0, r, |g, q| {
            g.get_consistency_proof(q.old_size, q.new_size)
        })
        .await
    }
}
