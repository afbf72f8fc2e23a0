//! The validator's gRPC listeners. `node.listen` serves gossip, the low-level transaction API
//! (no governance pre-checks or per-key limits: for operators and the benchmark), health and
//! reflection; the public governance gateway (`votegraph.v1`) is served there too, unless a TLS
//! listener is configured, in which case the gateway is served only over TLS on
//! `gateway.tls_listen` (with the transaction API beside it). With TLS, keep `node.listen` on
//! the validators' private network.

use crate::client_api::TransactionService;
use crate::gateway_api::{BallotsApi, ElectionsApi, Gateway, LedgerApi, ProposalsApi};
use crate::gossip::context::GossipContext;
use crate::gossip::server::GossipService;
use crate::run::NodeError;
use std::net::SocketAddr;
use std::sync::Arc;
use tonic::transport::server::{Router, Server};
use tonic::transport::{Identity, ServerTlsConfig};
use votegraph_proto::gossip::v1::gossip_server::GossipServer;
use votegraph_proto::tx::v1::transactions_server::TransactionsServer;
use votegraph_proto::v1::{
    ballots_server::BallotsServer, elections_server::ElectionsServer, ledger_server::LedgerServer,
    proposals_server::ProposalsServer,
};

pub struct MessageLimits {
    pub gossip_bytes_max: usize,
    pub request_bytes_max: usize,
}

/// Where to listen: the validator's address, and optionally a TLS address for clients.
pub struct Listeners {
    pub main: SocketAddr,
    pub tls: Option<(SocketAddr, Identity)>,
}

/// The services clients use, cheap to clone (each holds an `Arc`).
#[derive(Clone)]
struct Public {
    transactions: TransactionsServer<TransactionService>,
    elections: ElectionsServer<ElectionsApi>,
    ballots: BallotsServer<BallotsApi>,
    proposals: ProposalsServer<ProposalsApi>,
    ledger: LedgerServer<LedgerApi>,
}

impl Public {
    fn new(transactions: TransactionService, gateway: Arc<Gateway>, request_max: usize) -> Self {
        Public {
            transactions: TransactionsServer::new(transactions)
                .max_decoding_message_size(request_max),
            elections: ElectionsServer::new(ElectionsApi(Arc::clone(&gateway)))
                .max_decoding_message_size(request_max),
            ballots: BallotsServer::new(BallotsApi(Arc::clone(&gateway)))
                .max_decoding_message_size(request_max),
            proposals: ProposalsServer::new(ProposalsApi(Arc::clone(&gateway)))
                .max_decoding_message_size(request_max),
            ledger: LedgerServer::new(LedgerApi(gateway)).max_decoding_message_size(request_max),
        }
    }

    fn add_gateway(self, router: Router) -> Router {
        router
            .add_service(self.elections)
            .add_service(self.ballots)
            .add_service(self.proposals)
            .add_service(self.ledger)
    }
}

fn reflection() -> Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    NodeError,
> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(votegraph_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| NodeError::Serve(e.to_string()))
}

pub async fn serve(
    listeners: Listeners,
    context: Arc<GossipContext>,
    transactions: TransactionService,
    gateway: Arc<Gateway>,
    limits: MessageLimits,
) -> Result<(), NodeError> {
    // Each listener's health service reports exactly the services it serves.
    let mut tls_health = None;
    let (main_health_reporter, main_health) = tonic_health::server::health_reporter();
    main_health_reporter
        .set_serving::<GossipServer<GossipService>>()
        .await;
    main_health_reporter
        .set_serving::<TransactionsServer<TransactionService>>()
        .await;
    let gateway_health_reporter = match listeners.tls {
        None => main_health_reporter,
        Some(_) => {
            let (reporter, health) = tonic_health::server::health_reporter();
            reporter
                .set_serving::<TransactionsServer<TransactionService>>()
                .await;
            tls_health = Some(health);
            reporter
        }
    };
    gateway_health_reporter
        .set_serving::<ElectionsServer<ElectionsApi>>()
        .await;
    gateway_health_reporter
        .set_serving::<BallotsServer<BallotsApi>>()
        .await;
    gateway_health_reporter
        .set_serving::<ProposalsServer<ProposalsApi>>()
        .await;
    gateway_health_reporter
        .set_serving::<LedgerServer<LedgerApi>>()
        .await;
    let gossip = GossipServer::new(GossipService { context })
        .max_decoding_message_size(limits.gossip_bytes_max)
        .max_encoding_message_size(limits.gossip_bytes_max);
    let public = Public::new(transactions, gateway, limits.request_bytes_max);
    let mut main = Server::builder()
        .tcp_nodelay(true)
        .add_service(main_health)
        .add_service(reflection()?)
        .add_service(gossip)
        .add_service(public.transactions.clone());
    let Some((tls_address, identity)) = listeners.tls else {
        main = public.add_gateway(main);
        return main
            .serve_with_shutdown(listeners.main, shutdown_signal())
            .await
            .map_err(|e| NodeError::Serve(e.to_string()));
    };
    let tls = Server::builder()
        .tls_config(ServerTlsConfig::new().identity(identity))
        .map_err(|e| NodeError::Serve(format!("TLS configuration: {e}")))?
        .tcp_nodelay(true)
        .add_service(tls_health.expect("a TLS listener has its health service"))
        .add_service(reflection()?)
        .add_service(public.transactions.clone());
    let tls = public.add_gateway(tls);
    let main = main.serve_with_shutdown(listeners.main, shutdown_signal());
    let tls = tls.serve_with_shutdown(tls_address, shutdown_signal());
    tokio::try_join!(main, tls)
        .map(|_| ())
        .map_err(|e| NodeError::Serve(e.to_string()))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
