//! Network faults between validators. Each ordered pair of validators talks through a TCP
//! proxy of its own (the dialer's `gossip.peer_addresses` points at it), so a test can cut any
//! set of links while every process runs on. A cut link carries nothing and says nothing, as
//! packets are lost across a real partition: connections stay open and silent, so validators
//! find out only through their own timeouts; they close when the link heals. Clients still
//! reach every validator directly.

use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use votegraph_node::bench::cluster::Cluster;
use votegraph_node::genesis::Genesis;
use votegraph_node::testnet;

/// The links of a cluster, one proxy per (dialer, listener) pair.
pub struct Mesh {
    /// `true` while the link is cut.
    links: HashMap<(usize, usize), watch::Sender<bool>>,
}

impl Mesh {
    /// Starts a proxy for every ordered pair of `cluster`'s validators and writes them into
    /// each validator's `node.toml`; validators started afterwards dial their peers through them.
    pub async fn install(cluster: &Cluster) -> Mesh {
        let genesis = Genesis::load(&cluster.dir.join("genesis.toml")).unwrap();
        let mut links = HashMap::new();
        for from in 0..cluster.len() {
            let mut overrides = toml::Table::new();
            for (to, peer) in genesis.validators.iter().enumerate() {
                if to == from {
                    continue;
                }
                let target = socket_address(&peer.address);
                let (cut, listening) = watch::channel(false);
                let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let address = format!("http://{}", proxy.local_addr().unwrap());
                overrides.insert(peer.name.clone(), toml::Value::String(address));
                tokio::spawn(forward(proxy, target, listening));
                links.insert((from, to), cut);
            }
            set_peer_addresses(cluster, from, overrides);
        }
        Mesh { links }
    }

    /// Cuts every link between validators of different `groups`, in both directions.
    pub fn partition(&self, groups: &[&[usize]]) {
        let group_of = |v: usize| groups.iter().position(|g| g.contains(&v));
        for (&(from, to), cut) in &self.links {
            cut.send_replace(group_of(from) != group_of(to));
        }
    }

    /// Restores every link.
    pub fn heal(&self) {
        for cut in self.links.values() {
            cut.send_replace(false);
        }
    }
}

fn socket_address(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

fn set_peer_addresses(cluster: &Cluster, index: usize, overrides: toml::Table) {
    let path = testnet::validator_dir(&cluster.dir, index).join("node.toml");
    let mut config: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let gossip = config
        .entry("gossip")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    gossip
        .as_table_mut()
        .unwrap()
        .insert("peer_addresses".into(), toml::Value::Table(overrides));
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
}

/// Accepts connections for one link, each piped to `target` while the link is up.
async fn forward(proxy: TcpListener, target: SocketAddr, cut: watch::Receiver<bool>) {
    loop {
        let (inbound, _) = proxy.accept().await.expect("the proxy accepts connections");
        tokio::spawn(pipe(inbound, target, cut.clone()));
    }
}

/// Pipes one connection until the link is cut, then holds it silent until the link heals.
async fn pipe(mut inbound: TcpStream, target: SocketAddr, mut cut: watch::Receiver<bool>) {
    if !*cut.borrow() {
        let Ok(mut outbound) = TcpStream::connect(target).await else {
            return;
        };
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => return,
            _ = cut.wait_for(|cut| *cut) => {}
        }
        let _ = cut.wait_for(|cut| !*cut).await;
        return;
    }
    let _ = cut.wait_for(|cut| !*cut).await;
}
