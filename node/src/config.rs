//! The validator's configuration file (TOML), with `VOTEGRAPH_<SECTION>_<KEY>` environment
//! overrides so that Kubernetes can change one setting without a new file. Every option has a
//! default and a comment in `docs/operator-guide.md`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub node: NodeSection,
    #[serde(default)]
    pub storage: StorageSection,
    #[serde(default)]
    pub gossip: GossipSection,
    #[serde(default)]
    pub pool: PoolSection,
    #[serde(default)]
    pub wan: WanSection,
    #[serde(default)]
    pub gateway: GatewaySection,
}

/// The public governance gateway (`votegraph.v1`): limits per client and how long a call waits
/// for finality.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySection {
    /// Transactions per second one signer key may submit (administrators are not limited).
    pub key_rate_per_s: f64,
    /// Transactions one signer key may submit at once after being idle.
    pub key_burst: f64,
    /// Requests per second one client connection may make.
    pub connection_rate_per_s: f64,
    pub connection_burst: f64,
    /// Keys and connections tracked by the rate limits; beyond it new clients are refused.
    pub rate_limited_clients_max: usize,
    /// Callers waiting for finality at once.
    pub waiters_max: usize,
    /// A mutating call returns DEADLINE_EXCEEDED after this long without finality (the
    /// transaction stays submitted; GetReceipt finds it later).
    pub finality_wait_s: u64,
    /// Largest request message, in bytes.
    pub request_bytes_max: usize,
    /// StreamFinalized streams open at once.
    pub streams_max: usize,
    /// Address of the TLS listener for clients (e.g. `0.0.0.0:7443`); empty for none. When
    /// set, the public services (votegraph.v1, transactions, health, reflection) are served
    /// there with TLS, and `node.listen` keeps gossip, transactions, health and reflection.
    pub tls_listen: String,
    /// PEM certificate chain of the TLS listener (relative to the config file).
    pub tls_cert_file: PathBuf,
    /// PEM private key of the TLS listener.
    pub tls_key_file: PathBuf,
}

impl Default for GatewaySection {
    fn default() -> Self {
        GatewaySection {
            key_rate_per_s: 5.0,
            key_burst: 20.0,
            connection_rate_per_s: 10_000.0,
            connection_burst: 20_000.0,
            rate_limited_clients_max: 200_000,
            waiters_max: 100_000,
            finality_wait_s: 30,
            request_bytes_max: 64 * 1024,
            streams_max: 256,
            tls_listen: String::new(),
            tls_cert_file: PathBuf::new(),
            tls_key_file: PathBuf::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// The validator's secret key file (relative paths are relative to the config file).
    pub key_file: PathBuf,
    pub genesis_file: PathBuf,
    /// The ledger directory (RocksDB).
    pub data_dir: PathBuf,
    /// gRPC listen address: gossip, transactions, health and reflection.
    pub listen: String,
    /// Prometheus metrics over HTTP; empty to disable.
    #[serde(default)]
    pub metrics_listen: String,
    /// Seconds between one-line status logs.
    #[serde(default = "default_status_interval_s")]
    pub status_interval_s: u64,
    /// Threads of the async runtime, and of the pool that checks signatures: 0 for one per
    /// core. Validators sharing one machine (a local cluster) run best with their share.
    #[serde(default)]
    pub threads: usize,
    /// Most events held in the consensus engine's memory; each validator's events get an equal
    /// share of it (see docs/ARCHITECTURE.md, "Per-validator shares").
    #[serde(default = "NodeSection::default_dag_events_max")]
    pub dag_events_max: usize,
}

impl NodeSection {
    pub fn default_dag_events_max() -> usize {
        votegraph_consensus::EngineConfig::default().dag_events_max
    }
}

/// More threads than this is a typo, not a machine.
const THREADS_MAX: usize = 1024;

fn default_status_interval_s() -> u64 {
    10
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// fsync the write-ahead log before a write returns (survives power loss).
    pub fsync: bool,
    pub block_cache_bytes: usize,
    pub write_buffer_bytes: usize,
    /// Store a snapshot of the consensus engine every this many decided rounds, so that a
    /// restart replays only the events after it.
    pub snapshot_interval_rounds: u64,
    /// Keep every event in the ledger (the default). Set to false to drop, after each snapshot,
    /// the events it no longer needs: the disk stays bounded, but the ledger can no longer be
    /// exported for an audit, and peers further behind than it holds cannot catch up from it.
    pub keep_full_history: bool,
}

impl Default for StorageSection {
    fn default() -> Self {
        let rocks = votegraph_storage::RocksConfig::default();
        StorageSection {
            fsync: rocks.fsync,
            block_cache_bytes: rocks.block_cache_bytes,
            write_buffer_bytes: rocks.write_buffer_bytes,
            snapshot_interval_rounds: 50,
            keep_full_history: true,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GossipSection {
    /// Syncs with different peers running at once.
    pub syncs_in_flight: usize,
    /// Syncs one peer may have open with this validator at once; more are refused with
    /// RESOURCE_EXHAUSTED. An honest peer opens one at a time (a second while the first winds
    /// down); the bound keeps a faulty one from holding an answer of `bytes_per_sync_max` per
    /// stream it opens.
    pub syncs_open_per_peer_max: usize,
    /// Pause after a sync that exchanged nothing (idle), in milliseconds.
    pub idle_interval_ms: u64,
    /// Least time between the starts of two syncs of one loop, in milliseconds: bounds the
    /// event creation rate under load (at most syncs_in_flight * 1000 / this per second).
    pub sync_interval_min_ms: u64,
    /// Events per EventBatch frame.
    pub events_per_frame_max: usize,
    /// Events one side sends in one sync; the rest follow in the next.
    pub events_per_sync_max: usize,
    /// Event bytes one side sends in one sync (bounds the signature checks one sync costs).
    pub bytes_per_sync_max: usize,
    /// Largest gossip message, in bytes.
    pub message_bytes_max: usize,
    /// Hellos whose timestamp is further than this from the local clock are refused.
    pub clock_skew_ms_max: u64,
    /// Give up a sync after this long.
    pub sync_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Addresses this validator dials instead of the genesis ones, by validator name
    /// (`v2 = "http://10.1.0.7:7100"`): where a network reaches some peers by another route.
    pub peer_addresses: BTreeMap<String, String>,
}

impl Default for GossipSection {
    fn default() -> Self {
        GossipSection {
            syncs_in_flight: 2,
            syncs_open_per_peer_max: 4,
            idle_interval_ms: 50,
            sync_interval_min_ms: 10,
            events_per_frame_max: 256,
            events_per_sync_max: 5_000,
            bytes_per_sync_max: 2 * 1024 * 1024,
            message_bytes_max: 16 * 1024 * 1024,
            clock_skew_ms_max: 30_000,
            sync_timeout_ms: 20_000,
            connect_timeout_ms: 2_000,
            peer_addresses: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSection {
    /// Transactions waiting for an event; beyond it submissions get RESOURCE_EXHAUSTED.
    pub transactions_max: usize,
    pub bytes_max: usize,
    /// Transactions one event carries (at most the genesis limit).
    pub transactions_per_event_max: usize,
    /// Finality subscribers at once.
    pub watchers_max: usize,
}

impl Default for PoolSection {
    fn default() -> Self {
        PoolSection {
            transactions_max: 20_000,
            bytes_max: 128 * 1024 * 1024,
            transactions_per_event_max: 500,
            watchers_max: 1024,
        }
    }
}

/// WAN emulation: a delay added to every gossip frame this node sends, chosen by the regions
/// of the two validators or set for one peer, and an optional loss rate of whole syncs.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WanSection {
    /// One-way delay by region pair, `"a-b" = 40` (either order); pairs not listed get 0.
    pub one_way_delay_ms: BTreeMap<String, u64>,
    /// One-way delay to one peer by validator name, `v2 = 300`, in place of its region pair's.
    pub peer_delay_ms: BTreeMap<String, u64>,
    /// Probability in [0, 1) that a sync is dropped as if the connection failed.
    pub loss: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {detail}")]
    Parse { path: String, detail: String },
    #[error("environment variable {name}: {detail}")]
    Env { name: String, detail: String },
    #[error("invalid setting {name}: {detail}")]
    Invalid { name: &'static str, detail: String },
}

impl NodeConfig {
    /// Reads `path`, applies environment overrides, resolves relative paths against the
    /// file's directory, and validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut value: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        apply_env(&mut value, std::env::vars())?;
        let mut config: NodeConfig =
            toml::Value::Table(value)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.node.key_file = base.join(&config.node.key_file);
        config.node.genesis_file = base.join(&config.node.genesis_file);
        config.node.data_dir = base.join(&config.node.data_dir);
        if !config.gateway.tls_listen.is_empty() {
            config.gateway.tls_cert_file = base.join(&config.gateway.tls_cert_file);
            config.gateway.tls_key_file = base.join(&config.gateway.tls_key_file);
        }
        config.validate()?;
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = |name: &'static str, value: usize| {
            if value == 0 {
                Err(ConfigError::Invalid {
                    name,
                    detail: "must be positive".into(),
                })
            } else {
                Ok(())
            }
        };
        positive(
            "storage.snapshot_interval_rounds",
            self.storage.snapshot_interval_rounds as usize,
        )?;
        if self.node.threads > THREADS_MAX {
            return Err(ConfigError::Invalid {
                name: "node.threads",
                detail: format!("{} is more than {THREADS_MAX}", self.node.threads),
            });
        }
        positive("node.dag_events_max", self.node.dag_events_max)?;
        positive("gossip.syncs_in_flight", self.gossip.syncs_in_flight)?;
        positive(
            "gossip.syncs_open_per_peer_max",
            self.gossip.syncs_open_per_peer_max,
        )?;
        positive(
            "gossip.events_per_frame_max",
            self.gossip.events_per_frame_max,
        )?;
        positive(
            "gossip.events_per_sync_max",
            self.gossip.events_per_sync_max,
        )?;
        positive("gossip.bytes_per_sync_max", self.gossip.bytes_per_sync_max)?;
        positive("pool.transactions_max", self.pool.transactions_max)?;
        positive(
            "pool.transactions_per_event_max",
            self.pool.transactions_per_event_max,
        )?;
        positive("pool.watchers_max", self.pool.watchers_max)?;
        positive("pool.bytes_max", self.pool.bytes_max)?;
        positive("gateway.waiters_max", self.gateway.waiters_max)?;
        positive(
            "gateway.rate_limited_clients_max",
            self.gateway.rate_limited_clients_max,
        )?;
        positive("gateway.request_bytes_max", self.gateway.request_bytes_max)?;
        positive("gateway.streams_max", self.gateway.streams_max)?;
        let tls_files = [&self.gateway.tls_cert_file, &self.gateway.tls_key_file];
        if !self.gateway.tls_listen.is_empty() && tls_files.iter().any(|f| f.as_os_str().is_empty())
        {
            return Err(ConfigError::Invalid {
                name: "gateway.tls_listen",
                detail: "needs gateway.tls_cert_file and gateway.tls_key_file".into(),
            });
        }
        for (name, value) in [
            ("gateway.key_rate_per_s", self.gateway.key_rate_per_s),
            ("gateway.key_burst", self.gateway.key_burst),
            (
                "gateway.connection_rate_per_s",
                self.gateway.connection_rate_per_s,
            ),
            ("gateway.connection_burst", self.gateway.connection_burst),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ConfigError::Invalid {
                    name,
                    detail: format!("{value} is not a positive number"),
                });
            }
        }
        if !(0.0..1.0).contains(&self.wan.loss) {
            return Err(ConfigError::Invalid {
                name: "wan.loss",
                detail: format!("{} is not in [0, 1)", self.wan.loss),
            });
        }
        Ok(())
    }

    pub fn rocks(&self) -> votegraph_storage::RocksConfig {
        votegraph_storage::RocksConfig {
            fsync: self.storage.fsync,
            block_cache_bytes: self.storage.block_cache_bytes,
            write_buffer_bytes: self.storage.write_buffer_bytes,
            ..votegraph_storage::RocksConfig::default()
        }
    }
}

impl WanSection {
    /// One-way delay from a validator in `from` to one in `to`.
    pub fn delay_ms(&self, from: &str, to: &str) -> u64 {
        let forward = format!("{from}-{to}");
        let backward = format!("{to}-{from}");
        self.one_way_delay_ms
            .get(&forward)
            .or_else(|| self.one_way_delay_ms.get(&backward))
            .copied()
            .unwrap_or(0)
    }

    /// A named profile: `lan` (no delay) or `three-regions` (regions a, b, c with one-way
    /// delays of 40, 120 and 160 ms between them and 1 ms inside a region).
    pub fn profile(name: &str) -> Option<Self> {
        let pairs: &[(&str, u64)] = match name {
            "lan" => &[],
            "three-regions" => &[
                ("a-a", 1),
                ("b-b", 1),
                ("c-c", 1),
                ("a-b", 40),
                ("b-c", 120),
                ("a-c", 160),
            ],
            _ => return None,
        };
        Some(WanSection {
            one_way_delay_ms: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            peer_delay_ms: BTreeMap::new(),
            loss: 0.0,
        })
    }
}

/// Applies `VOTEGRAPH_<SECTION>_<KEY>=value` overrides: the value is parsed as TOML (a number,
/// `true`/`false`, or a quoted string) and taken as a bare string when that fails.
fn apply_env(
    table: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    const SECTIONS: [&str; 6] = ["node", "storage", "gossip", "pool", "wan", "gateway"];
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix("VOTEGRAPH_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let Some((section, key)) = SECTIONS
            .iter()
            .find_map(|s| rest.strip_prefix(&format!("{s}_")).map(|k| (*s, k)))
        else {
            continue;
        };
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(section_table) = entry.as_table_mut() else {
            return Err(ConfigError::Env {
                name,
                detail: format!("[{section}] is not a table in the file"),
            });
        };
        section_table.insert(key.to_string(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[node]
key_file = "v0.key"
genesis_file = "genesis.toml"
data_dir = "data"
listen = "127.0.0.1:7100"
"#;

    #[test]
    fn environment_overrides_file_values_with_typed_values() {
        let mut table: toml::Table = toml::from_str(MINIMAL).unwrap();
        let vars = [
            ("VOTEGRAPH_NODE_LISTEN", "0.0.0.0:9000"),
            ("VOTEGRAPH_GOSSIP_SYNCS_IN_FLIGHT", "4"),
            ("VOTEGRAPH_STORAGE_FSYNC", "false"),
            ("UNRELATED", "x"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        apply_env(&mut table, vars.into_iter()).unwrap();
        let config: NodeConfig = toml::Value::Table(table).try_into().unwrap();
        assert_eq!(config.node.listen, "0.0.0.0:9000");
        assert_eq!(config.gossip.syncs_in_flight, 4);
        assert!(!config.storage.fsync);
        assert_eq!(config.pool, PoolSection::default());
    }

    #[test]
    fn load_resolves_paths_against_the_file_and_validates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, MINIMAL).unwrap();
        let config = NodeConfig::load(&path).unwrap();
        assert_eq!(config.node.data_dir, dir.path().join("data"));
        std::fs::write(&path, format!("{MINIMAL}\n[wan]\nloss = 1.5\n")).unwrap();
        let error = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(error.contains("wan.loss"), "{error}");
        let threads = MINIMAL.replace("[node]\n", "[node]\nthreads = 1025\n");
        std::fs::write(&path, threads).unwrap();
        let error = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(error.contains("node.threads"), "{error}");
    }

    #[test]
    fn wan_delay_is_symmetric_and_profiles_are_named() {
        let wan = WanSection::profile("three-regions").unwrap();
        assert_eq!(wan.delay_ms("a", "c"), 160);
        assert_eq!(wan.delay_ms("c", "a"), 160);
        assert_eq!(wan.delay_ms("b", "b"), 1);
        assert_eq!(wan.delay_ms("x", "y"), 0);
        assert!(WanSection::profile("moon").is_none());
    }
}
