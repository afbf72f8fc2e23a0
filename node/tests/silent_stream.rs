//! A gossip stream that never says who it is does not stay open: a validator closes it at its
//! sync timeout, and goes on finalizing meanwhile.

use std::path::Path;
use votegraph_node::bench::cluster::Cluster;
use votegraph_proto::gossip::v1::gossip_client::GossipClient;
use votegraph_proto::gossip::v1::SyncFrame;

mod common;

use common::test_spec;
use common::transactions::{envelopes, finality, submit, HANG_GUARD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gossip_stream_without_a_hello_is_closed_at_the_sync_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let env = vec![("VOTEGRAPH_GOSSIP_SYNC_TIMEOUT_MS".into(), "1500".into())];
    let mut cluster = Cluster::launch(exe, &dir.path().join("net"), &test_spec(), env)
        .await
        .unwrap();
    let mut client = GossipClient::connect(cluster.addresses[0].clone())
        .await
        .unwrap();
    // Held open and silent: no hello, no end.
    let (_silent, frames) = tokio::sync::mpsc::channel::<SyncFrame>(1);
    let opening = client.sync(tokio_stream::wrappers::ReceiverStream::new(frames));
    let batch = envelopes(&cluster.chain, 9, 5);
    submit(&cluster, &[0, 1, 2, 3], &batch).await;
    finality(&cluster, 0, &batch).await;
    let closed = tokio::time::timeout(HANG_GUARD, opening)
        .await
        .expect("the validator closed the silent stream")
        .expect_err("a silent stream is not answered");
    assert_eq!(closed.code(), tonic::Code::DeadlineExceeded, "{closed:?}");
    assert!(closed.message().contains("no hello"), "{closed:?}");
    cluster.stop_all();
}
