//! What the cluster tests share: a 4-validator election cluster with its gateways and two
//! administrators, and a running validator's export over its gateway.
#![allow(dead_code)]

pub mod byzantine;
pub mod network;
pub mod transactions;

use ed25519_dalek::SigningKey;
use std::path::Path;
use votegraph_gateway::Envelope;
use votegraph_node::bench::cluster::{Cluster, ClusterSpec};
use votegraph_node::client::GatewayClient;
use votegraph_node::demo::{self, DemoSpec};
use votegraph_proto::tx::v1 as txpb;
use votegraph_proto::v1 as pb;

pub struct ElectionCluster {
    pub cluster: Cluster,
    pub gateways: Vec<GatewayClient>,
    /// Two of the three administrators: the threshold.
    pub admins: Vec<SigningKey>,
}

/// The cluster the tests share: 4 validators on loopback, checkpoints every 20 rounds.
pub fn test_spec() -> ClusterSpec {
    ClusterSpec {
        checkpoint_interval_rounds: 20,
        ..ClusterSpec::lan(4)
    }
}

/// A [`test_spec`] cluster in `net`, every validator started and answering.
pub async fn running_cluster(net: &Path) -> Cluster {
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    Cluster::launch(exe, net, &test_spec(), Vec::new())
        .await
        .unwrap()
}

/// The submission of `e`.
pub fn wire(e: &Envelope) -> txpb::SubmitRequest {
    txpb::SubmitRequest {
        envelope: Some(txpb::Envelope {
            payload: e.payload.clone().into(),
            signer: e.signer.to_vec().into(),
            signature: e.signature.to_vec().into(),
            nonce: e.nonce,
        }),
    }
}

/// Launches 4 validators in `net` (checkpoints every 20 rounds) and runs the demo election
/// with `voters` voters, from `seed`.
pub async fn election_cluster(net: &Path, voters: u64, seed: u64) -> ElectionCluster {
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let cluster = Cluster::launch(exe, net, &test_spec(), demo::unlimited_gateways())
        .await
        .unwrap();
    let gateways = cluster.gateways().unwrap();
    let admins = cluster.admin_keys(2).unwrap();
    let demo_spec = DemoSpec {
        voters,
        concurrency: 16,
        seed,
        progress: false,
    };
    demo::run(&gateways, &admins, &demo_spec).await.unwrap();
    ElectionCluster {
        cluster,
        gateways,
        admins,
    }
}

/// The audit export a running validator streams over its gateway.
pub async fn export_over_gateway(gateway: &GatewayClient) -> Vec<u8> {
    let mut stream = gateway
        .ledger
        .clone()
        .export_ledger(pb::ExportLedgerRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut exported = Vec::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        exported.extend_from_slice(&chunk.data);
    }
    exported
}
