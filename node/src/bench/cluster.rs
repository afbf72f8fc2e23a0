//! A local cluster of real validator processes, for the benchmark and the integration tests:
//! a testnet on free loopback ports, one `votegraph node` child per validator, started,
//! killed (SIGKILL) and restarted individually.

use crate::client::{ClientError, GatewayClient};
use crate::config::WanSection;
use crate::keys::{self, KeyFileError};
use crate::testnet::{self, TestnetSpec};
use ed25519_dalek::SigningKey;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use votegraph_gateway::ChainId;
use votegraph_proto::tx::v1::transactions_client::TransactionsClient;
use votegraph_proto::tx::v1::{GetLedgerHeadRequest, GetTransactionRequest, LedgerHead};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClusterError(pub String);

fn fail(detail: impl std::fmt::Display) -> ClusterError {
    ClusterError(detail.to_string())
}

pub struct ClusterSpec {
    pub validators: usize,
    pub wan: String,
    pub fsync: bool,
    /// Give every validator a client TLS listener (ports after the gRPC ports).
    pub tls: bool,
    pub checkpoint_interval_rounds: u64,
}

impl ClusterSpec {
    /// `validators` on loopback with no WAN delay, fsync on, no client TLS, checkpoints every
    /// 100 rounds.
    pub fn lan(validators: usize) -> Self {
        ClusterSpec {
            validators,
            wan: "lan".into(),
            fsync: true,
            tls: false,
            checkpoint_interval_rounds: 100,
        }
    }
}

/// The cores of this machine divided among the validators that share it (at least one thread
/// each): more threads than cores only add context switches between the validators.
pub fn threads_per_validator(validators: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / validators.max(1)).max(1)
}

/// `VOTEGRAPH_NODE_THREADS` for each validator, unless the caller's environment sets it.
fn default_threads(validators: usize) -> Vec<(String, String)> {
    match std::env::var_os("VOTEGRAPH_NODE_THREADS") {
        Some(_) => Vec::new(),
        None => vec![(
            "VOTEGRAPH_NODE_THREADS".into(),
            threads_per_validator(validators).to_string(),
        )],
    }
}

pub struct Cluster {
    pub dir: PathBuf,
    pub chain: ChainId,
    pub addresses: Vec<String>,
    exe: PathBuf,
    children: Vec<Option<Child>>,
    /// Environment overrides (`VOTEGRAPH_<SECTION>_<KEY>`) for validators started from now on.
    pub env: Vec<(String, String)>,
}

impl Cluster {
    /// Writes a testnet into `dir` (which must be empty or missing) on free ports.
    pub fn create(exe: &Path, dir: &Path, spec: &ClusterSpec) -> Result<Self, ClusterError> {
        let wan = WanSection::profile(&spec.wan).ok_or_else(|| {
            fail(format!(
                "unknown WAN profile {:?} (lan, three-regions)",
                spec.wan
            ))
        })?;
        let regions = if spec.wan == "three-regions" {
            vec!["a".into(), "b".into(), "c".into()]
        } else {
            vec!["a".into()]
        };
        let base_port = free_ports(spec.validators * if spec.tls { 2 } else { 1 })?;
        let genesis = testnet::create(&TestnetSpec {
            validators: spec.validators,
            out: dir.to_path_buf(),
            regions,
            chain_id: "votegraph-bench".into(),
            host: "127.0.0.1".into(),
            base_port,
            metrics_base_port: None,
            wan,
            fsync: spec.fsync,
            admins: 3,
            admin_threshold: 2,
            checkpoint_interval_rounds: spec.checkpoint_interval_rounds,
            tls_base_port: spec.tls.then(|| base_port + spec.validators as u16),
        })
        .map_err(fail)?;
        Ok(Cluster {
            dir: dir.to_path_buf(),
            chain: genesis.chain(),
            addresses: genesis
                .validators
                .iter()
                .map(|v| v.address.clone())
                .collect(),
            exe: exe.to_path_buf(),
            children: (0..spec.validators).map(|_| None).collect(),
            env: default_threads(spec.validators),
        })
    }

    /// A gateway client for each validator, in order.
    pub fn gateways(&self) -> Result<Vec<GatewayClient>, ClientError> {
        self.addresses
            .iter()
            .map(|a| GatewayClient::new(a, self.chain))
            .collect()
    }

    /// The first `count` administrator keys the testnet wrote (`admin-1.key`, ...).
    pub fn admin_keys(&self, count: usize) -> Result<Vec<SigningKey>, KeyFileError> {
        (1..=count)
            .map(|i| keys::read(&self.dir.join(format!("admin-{i}.key"))))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// Starts validator `index`, logging to `v<index>/node.log` (appended across restarts).
    pub fn start(&mut self, index: usize) -> Result<(), ClusterError> {
        let dir = testnet::validator_dir(&self.dir, index);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))
            .map_err(fail)?;
        let child = Command::new(&self.exe)
            .arg("node")
            .arg("--config")
            .arg(dir.join("node.toml"))
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(fail)?)
            .stderr(log)
            .spawn()
            .map_err(|e| fail(format!("cannot start {}: {e}", self.exe.display())))?;
        self.children[index] = Some(child);
        Ok(())
    }

    pub fn start_all(&mut self) -> Result<(), ClusterError> {
        (0..self.len()).try_for_each(|i| self.start(i))
    }

    pub fn pid(&self, index: usize) -> Option<u32> {
        self.children[index].as_ref().map(|c| c.id())
    }

    /// SIGKILL: the process gets no chance to flush or say goodbye.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.children[index].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM to every validator, then wait for them (SIGKILL after 10 s).
    pub fn stop_all(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for slot in &mut self.children {
            if let Some(mut child) = slot.take() {
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// A client of validator `index` (connects on first use).
    pub fn client(&self, index: usize) -> Result<TransactionsClient<Channel>, ClusterError> {
        let channel = Channel::from_shared(self.addresses[index].clone())
            .map_err(fail)?
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        Ok(TransactionsClient::new(channel))
    }

    pub async fn head(&self, index: usize) -> Result<LedgerHead, ClusterError> {
        let mut client = self.client(index)?;
        Ok(client
            .get_ledger_head(GetLedgerHeadRequest {})
            .await
            .map_err(|s| fail(format!("validator {index}: {}", s.message())))?
            .into_inner())
    }

    /// Chain hash after transaction `index` on validator `node`.
    pub async fn chain_hash_at(&self, node: usize, index: u64) -> Result<Vec<u8>, ClusterError> {
        let mut client = self.client(node)?;
        let tx = client
            .get_transaction(GetTransactionRequest { index })
            .await
            .map_err(|s| fail(format!("validator {node}: {}", s.message())))?
            .into_inner();
        Ok(tx.chain_hash.to_vec())
    }

    /// Creates a cluster in `dir`, starts every validator with `env` overrides, and waits
    /// until all answer.
    pub async fn launch(
        exe: &Path,
        dir: &Path,
        spec: &ClusterSpec,
        env: Vec<(String, String)>,
    ) -> Result<Self, ClusterError> {
        let mut cluster = Cluster::create(exe, dir, spec)?;
        cluster.env.extend(env);
        cluster.start_all()?;
        if let Err(e) = cluster.wait_all_ready(Duration::from_secs(60)).await {
            cluster.stop_all();
            return Err(e);
        }
        Ok(cluster)
    }

    /// Waits until validator `index` answers, or fails after `timeout` naming its log.
    pub async fn wait_ready(&self, index: usize, timeout: Duration) -> Result<(), ClusterError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.head(index).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log = testnet::validator_dir(&self.dir, index).join("node.log");
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(10).collect();
                return Err(fail(format!(
                    "validator {index} did not answer within {timeout:?}; last log lines:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_all_ready(&self, timeout: Duration) -> Result<(), ClusterError> {
        for index in 0..self.len() {
            self.wait_ready(index, timeout).await?;
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for index in 0..self.children.len() {
            self.kill(index);
        }
    }
}

/// A base port with `count` consecutive free ports after it: a free run of `count` loopback ports below Linux's ephemeral range (32768 and up by
/// default), where the kernel's own choice of a client connection's port cannot take one
/// between this check and the validator's bind.
pub fn free_ports(count: usize) -> Result<u16, ClusterError> {
    const FIRST: u16 = 20_000;
    const END: u16 = 32_768;
    let seed = std::process::id() as u64 ^ Instant::now().elapsed().as_nanos() as u64;
    let mut rng = votegraph_consensus::sim::SplitMix64::new(seed ^ nanos());
    for _ in 0..200 {
        let base = FIRST + rng.below((END - FIRST) as u64 - count as u64) as u16;
        let free = (0..count as u16).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return Ok(base);
        }
    }
    Err(fail("no free range of loopback ports found"))
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
