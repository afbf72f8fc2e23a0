//! Client TLS: with a TLS listener configured, the governance gateway is served over TLS with
//! the testnet's certificates (and only there), while validators keep gossiping on their
//! plaintext port with signed hellos.

use std::path::Path;
use tonic::Code;
use votegraph_gateway::governance::action::{AdminAction, ElectionSpec, SecondBallotPolicy};
use votegraph_gateway::governance::manifest::parse_native;
use votegraph_node::bench::cluster::{Cluster, ClusterSpec};
use votegraph_node::client::GatewayClient;
use votegraph_node::config::NodeConfig;
use votegraph_node::{demo, testnet};
use votegraph_proto::v1 as pb;

const DEFINITION: &str = r#"
election_id = "tls-e"
[[contests]]
id = "mayor"
selections = ["alice", "bob"]
[[ballot_styles]]
id = "all"
contests = ["mayor"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gateway_is_served_over_tls_with_the_testnet_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let spec = ClusterSpec {
        tls: true,
        ..ClusterSpec::lan(4)
    };
    let cluster = Cluster::launch(exe, &net, &spec, Vec::new()).await.unwrap();
    let config = NodeConfig::load(&testnet::validator_dir(&net, 0).join("node.toml")).unwrap();
    let port = config.gateway.tls_listen.rsplit(':').next().unwrap();
    let ca = std::fs::read(net.join("ca.pem")).unwrap();
    let secure = GatewayClient::with_tls(
        &format!("https://localhost:{port}"),
        cluster.chain,
        Some(&ca),
    )
    .unwrap();
    let admins = cluster.admin_keys(2).unwrap();
    let create = AdminAction::CreateElection(ElectionSpec {
        definition: parse_native(DEFINITION).unwrap(),
        policy: SecondBallotPolicy::FirstCounts,
        open_at_ns: None,
        close_at_ns: None,
    });
    demo::expect_applied(secure.approve(&admins, create).await.unwrap()).unwrap();
    let listed = secure
        .elections
        .clone()
        .list_elections(pb::ListElectionsRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.into_inner().elections[0].election_id, "tls-e");
    // Plaintext to the TLS port fails; the gateway is not on the plaintext port.
    let plain_to_tls =
        GatewayClient::new(&format!("http://127.0.0.1:{port}"), cluster.chain).unwrap();
    assert!(plain_to_tls
        .elections
        .clone()
        .list_elections(pb::ListElectionsRequest::default())
        .await
        .is_err());
    let plain = GatewayClient::new(&cluster.addresses[0], cluster.chain).unwrap();
    let status = plain
        .elections
        .clone()
        .list_elections(pb::ListElectionsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    // Each listener's health service reports what it serves.
    let health = |channel| tonic_health::pb::health_client::HealthClient::new(channel);
    let check = |service: &str| tonic_health::pb::HealthCheckRequest {
        service: service.into(),
    };
    let main = tonic::transport::Channel::from_shared(cluster.addresses[0].clone())
        .unwrap()
        .connect_lazy();
    let on_main = health(main.clone())
        .check(check("votegraph.v1.Elections"))
        .await;
    assert_eq!(
        on_main.unwrap_err().code(),
        Code::NotFound,
        "the gateway is not served on node.listen"
    );
    let gossip = health(main)
        .check(check("votegraph.gossip.v1.Gossip"))
        .await
        .unwrap();
    assert_eq!(
        gossip.into_inner().status,
        1,
        "gossip is SERVING on node.listen"
    );
    // A client that does not trust the testnet CA is refused.
    let other_ca = votegraph_node::tls::TestnetCa::new("other").unwrap().pem();
    let untrusting = GatewayClient::with_tls(
        &format!("https://localhost:{port}"),
        cluster.chain,
        Some(other_ca.as_bytes()),
    )
    .unwrap();
    assert!(untrusting
        .elections
        .clone()
        .list_elections(pb::ListElectionsRequest::default())
        .await
        .is_err());
}
