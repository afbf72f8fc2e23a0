//! The governance client: builds governance actions, signs them with key files and sends them
//! to any validator's gateway. Used by the `votegraph election|roll|ballot|tally|proposal`
//! commands, the demo, and the end-to-end tests.

pub mod ballot;
pub mod roll;

use ed25519_dalek::SigningKey;
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use votegraph_gateway::governance::action::{Action, AdminAction};
use votegraph_gateway::governance::reason::Reason;
use votegraph_gateway::{ChainId, Envelope};
use votegraph_proto::v1 as pb;
use votegraph_proto::v1::{
    ballots_client::BallotsClient, elections_client::ElectionsClient, ledger_client::LedgerClient,
    proposals_client::ProposalsClient,
};

/// One validator's gateway, for one chain.
#[derive(Clone)]
pub struct GatewayClient {
    pub chain: ChainId,
    pub elections: ElectionsClient<Channel>,
    pub ballots: BallotsClient<Channel>,
    pub proposals: ProposalsClient<Channel>,
    pub ledger: LedgerClient<Channel>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("gateway address {address}: {detail}")]
    Address { address: String, detail: String },
    #[error("{code:?}: {message}")]
    Refused { code: tonic::Code, message: String },
    #[error("the system random source failed: {0}")]
    Random(String),
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        ClientError::Refused {
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}

impl GatewayClient {
    /// A client of the gateway at `address` (e.g. `http://127.0.0.1:7100`); connects lazily.
    pub fn new(address: &str, chain: ChainId) -> Result<Self, ClientError> {
        GatewayClient::with_tls(address, chain, None)
    }

    /// A client that, for an `https://` address, trusts the PEM certificate authority `ca`.
    pub fn with_tls(address: &str, chain: ChainId, ca: Option<&[u8]>) -> Result<Self, ClientError> {
        let invalid = |detail: String| ClientError::Address {
            address: address.to_string(),
            detail,
        };
        let mut endpoint = Channel::from_shared(address.to_string())
            .map_err(|e| invalid(e.to_string()))?
            .connect_timeout(Duration::from_secs(5));
        if address.starts_with("https://") {
            let ca = ca.ok_or_else(|| {
                invalid("an https address needs a CA certificate (--tls-ca)".into())
            })?;
            let host = endpoint.uri().host().unwrap_or("localhost").to_string();
            let tls = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(ca))
                .domain_name(host);
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| invalid(e.to_string()))?;
        }
        let channel = endpoint.connect_lazy();
        Ok(GatewayClient {
            chain,
            elections: ElectionsClient::new(channel.clone()),
            ballots: BallotsClient::new(channel.clone()),
            proposals: ProposalsClient::new(channel.clone()),
            ledger: LedgerClient::new(channel),
        })
    }

    /// Signs `action` with `key` under a fresh random nonce.
    pub fn sign(
        &self,
        key: &SigningKey,
        action: &Action,
    ) -> Result<pb::SignedTransaction, ClientError> {
        Ok(signed(&self.chain, key, random_nonce()?, action))
    }

    /// Sends a signed transaction to the call its action belongs to; returns the receipt.
    pub async fn send(
        &self,
        action: &Action,
        tx: pb::SignedTransaction,
    ) -> Result<pb::Receipt, ClientError> {
        let receipt = match action {
            Action::CastBallot(_) => self.ballots.clone().cast_ballot(tx).await,
            Action::CreateProposal(_) => self.proposals.clone().create_proposal(tx).await,
            Action::VoteProposal(_) => self.proposals.clone().vote_proposal(tx).await,
            Action::SignCheckpoint(_) => {
                return Err(ClientError::Refused {
                    code: tonic::Code::InvalidArgument,
                    message: "validators sign checkpoints themselves; no gateway call takes them"
                        .into(),
                })
            }
            Action::Admin(admin) => {
                let mut e = self.elections.clone();
                match admin {
                    AdminAction::CreateElection(_) => e.create_election(tx).await,
                    AdminAction::AmendRoll { .. } => e.amend_roll(tx).await,
                    AdminAction::OpenElection { .. } => e.open_election(tx).await,
                    AdminAction::CloseElection { .. } => e.close_election(tx).await,
                    AdminAction::PublishTally { .. } => e.publish_tally(tx).await,
                    AdminAction::AmendCommunity { .. } => {
                        self.proposals.clone().amend_community(tx).await
                    }
                }
            }
        };
        Ok(receipt?.into_inner())
    }

    /// Signs and sends.
    pub async fn submit(
        &self,
        key: &SigningKey,
        action: &Action,
    ) -> Result<pb::Receipt, ClientError> {
        let tx = self.sign(key, action)?;
        self.send(action, tx).await
    }

    /// One approval per administrator key, in turn, until the action executes; the last
    /// receipt, which says whether it executed or waits for more administrators. An
    /// administrator who approved before (an interrupted run) is skipped.
    pub async fn approve(
        &self,
        admins: &[SigningKey],
        action: AdminAction,
    ) -> Result<pb::Receipt, ClientError> {
        let action = Action::Admin(action);
        let mut last = None;
        for key in admins {
            match self.submit(key, &action).await {
                Ok(receipt) => {
                    // Stop once it executed, or at a rejection (the rest would fail alike).
                    let done = executed(&receipt) || !receipt.applied;
                    last = Some(receipt);
                    if done {
                        break;
                    }
                }
                Err(ClientError::Refused { code, message })
                    if code == tonic::Code::AlreadyExists
                        && message.starts_with(Reason::AlreadyApproved.name()) => {}
                Err(e) => return Err(e),
            }
        }
        last.ok_or_else(|| ClientError::Refused {
            code: tonic::Code::AlreadyExists,
            message: "every administrator key given has already approved this action".into(),
        })
    }
}

/// Whether an approval's receipt says the action executed with it.
pub fn executed(receipt: &pb::Receipt) -> bool {
    receipt.applied && receipt.executed
}

/// Whether `error` says the action was executed already (by an earlier run).
pub fn already_executed(error: &ClientError) -> bool {
    matches!(error, ClientError::Refused { code, message }
        if *code == tonic::Code::AlreadyExists
            && message.starts_with(Reason::ActionAlreadyExecuted.name()))
}

pub fn signed(
    chain: &ChainId,
    key: &SigningKey,
    nonce: u64,
    action: &Action,
) -> pb::SignedTransaction {
    let envelope = Envelope::sign(chain, key, nonce, action.encode());
    pb::SignedTransaction {
        signer: envelope.signer.to_vec().into(),
        nonce: envelope.nonce,
        payload: envelope.payload.into(),
        signature: envelope.signature.to_vec().into(),
    }
}

pub fn random_nonce() -> Result<u64, ClientError> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).map_err(|e| ClientError::Random(e.to_string()))?;
    Ok(u64::from_le_bytes(bytes))
}

/// A receipt in one line.
pub fn describe(receipt: &pb::Receipt) -> String {
    let outcome = if receipt.applied {
        receipt.detail.clone()
    } else {
        format!(
            "REJECTED {} ({}): {}",
            receipt.reject_reason, receipt.reject_code, receipt.detail
        )
    };
    format!(
        "final at index {} (consensus time {} ns, chain head {}, tx {}): {outcome}",
        receipt.index,
        receipt.consensus_timestamp_ns,
        crate::hex::encode(&receipt.chain_head),
        crate::hex::encode(&receipt.tx_id),
    )
}
