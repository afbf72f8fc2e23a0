//! `votegraph testnet`: a genesis file and one directory per validator (config and key), for a
//! local cluster or as the starting point of a real deployment.

use crate::config::{GatewaySection, NodeConfig, NodeSection, WanSection};
use crate::genesis::{ConsensusParams, Genesis, GovernanceParams, ValidatorEntry};
use crate::tls::TestnetCa;
use crate::{hex, keys};
use std::path::{Path, PathBuf};

pub struct TestnetSpec {
    pub validators: usize,
    pub out: PathBuf,
    pub regions: Vec<String>,
    pub chain_id: String,
    pub host: String,
    pub base_port: u16,
    pub metrics_base_port: Option<u16>,
    pub wan: WanSection,
    pub fsync: bool,
    /// Administrator keys written as `admin-N.key` in `out`, and how many must approve.
    pub admins: usize,
    pub admin_threshold: u32,
    pub checkpoint_interval_rounds: u64,
    /// Client TLS listener port of validator 0 (base + i): writes `ca.pem` to `out` and a
    /// certificate and key per validator. None: no TLS listener.
    pub tls_base_port: Option<u16>,
}

#[derive(Debug, thiserror::Error)]
pub enum TestnetError {
    #[error("{0} already exists; choose a new --out directory")]
    Exists(String),
    #[error("at least one validator is needed")]
    NoValidators,
    #[error("admin threshold {threshold} must be 1 to the number of admins ({admins})")]
    AdminThreshold { threshold: u32, admins: usize },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] keys::KeyFileError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsFileError),
}

/// The directory of validator `index` inside a testnet.
pub fn validator_dir(out: &Path, index: usize) -> PathBuf {
    out.join(format!("v{index}"))
}

pub fn create(spec: &TestnetSpec) -> Result<Genesis, TestnetError> {
    if spec.validators == 0 {
        return Err(TestnetError::NoValidators);
    }
    if spec.admin_threshold == 0 || (spec.admins > 0 && spec.admin_threshold as usize > spec.admins)
    {
        return Err(TestnetError::AdminThreshold {
            threshold: spec.admin_threshold,
            admins: spec.admins,
        });
    }
    if spec.out.exists()
        && std::fs::read_dir(&spec.out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(TestnetError::Exists(spec.out.display().to_string()));
    }
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|source| TestnetError::Write {
            path: path.display().to_string(),
            source,
        })
    };
    let mkdir = |path: &Path| {
        std::fs::create_dir_all(path).map_err(|source| TestnetError::Write {
            path: path.display().to_string(),
            source,
        })
    };
    mkdir(&spec.out)?;
    let ca = match spec.tls_base_port {
        Some(_) => {
            let ca = TestnetCa::new(&spec.chain_id)?;
            write(&spec.out.join("ca.pem"), &ca.pem())?;
            Some(ca)
        }
        None => None,
    };
    let mut validators = Vec::new();
    for index in 0..spec.validators {
        let dir = validator_dir(&spec.out, index);
        mkdir(&dir)?;
        let key = keys::generate()?;
        keys::write(&dir.join("validator.key"), &key)?;
        let region = if spec.regions.is_empty() {
            String::new()
        } else {
            spec.regions[index % spec.regions.len()].clone()
        };
        let port = spec.base_port + index as u16;
        validators.push(ValidatorEntry {
            name: format!("v{index}"),
            public_key: hex::encode(&key.verifying_key().to_bytes()),
            weight: 1,
            address: format!("http://{}:{port}", spec.host),
            region,
        });
        let config = NodeConfig {
            node: NodeSection {
                key_file: "validator.key".into(),
                genesis_file: "../genesis.toml".into(),
                data_dir: "data".into(),
                listen: format!("{}:{port}", spec.host),
                metrics_listen: spec
                    .metrics_base_port
                    .map(|p| format!("{}:{}", spec.host, p + index as u16))
                    .unwrap_or_default(),
                status_interval_s: 10,
                threads: 0,
                dag_events_max: crate::config::NodeSection::default_dag_events_max(),
            },
            storage: crate::config::StorageSection {
                fsync: spec.fsync,
                ..Default::default()
            },
            gossip: Default::default(),
            pool: Default::default(),
            wan: spec.wan.clone(),
            gateway: match (&ca, spec.tls_base_port) {
                (Some(ca), Some(tls_port)) => {
                    ca.issue(&spec.host, &dir.join("tls.crt"), &dir.join("tls.key"))?;
                    GatewaySection {
                        tls_listen: format!("{}:{}", spec.host, tls_port + index as u16),
                        tls_cert_file: "tls.crt".into(),
                        tls_key_file: "tls.key".into(),
                        ..Default::default()
                    }
                }
                _ => GatewaySection::default(),
            },
        };
        write(&dir.join("node.toml"), &config.to_toml())?;
    }
    let mut admins = Vec::new();
    for index in 1..=spec.admins {
        let key = keys::generate()?;
        keys::write(&spec.out.join(format!("admin-{index}.key")), &key)?;
        admins.push(hex::encode(&key.verifying_key().to_bytes()));
    }
    let genesis = Genesis {
        chain_id: spec.chain_id.clone(),
        consensus: ConsensusParams::default(),
        governance: GovernanceParams {
            admins,
            admin_threshold: spec.admin_threshold,
            checkpoint_interval_rounds: spec.checkpoint_interval_rounds,
        },
        validators,
    };
    write(&spec.out.join("genesis.toml"), &genesis.to_toml())?;
    Ok(genesis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_testnet_loads_back_as_valid_configs_and_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let spec = TestnetSpec {
            validators: 3,
            out: out.clone(),
            regions: vec!["a".into(), "b".into()],
            chain_id: "t".into(),
            host: "127.0.0.1".into(),
            base_port: 7100,
            metrics_base_port: Some(9100),
            wan: WanSection::profile("three-regions").unwrap(),
            fsync: true,
            admins: 3,
            admin_threshold: 2,
            checkpoint_interval_rounds: 50,
            tls_base_port: Some(7443),
        };
        let genesis = create(&spec).unwrap();
        assert_eq!(genesis.governance_config().unwrap().admins.len(), 3);
        assert!(out.join("admin-3.key").exists());
        assert!(out.join("ca.pem").exists());
        assert_eq!(Genesis::load(&out.join("genesis.toml")).unwrap(), genesis);
        assert_eq!(genesis.validators[2].region, "a");
        let config = NodeConfig::load(&validator_dir(&out, 1).join("node.toml")).unwrap();
        let key = keys::read(&config.node.key_file).unwrap();
        assert_eq!(genesis.member_of(&key.verifying_key()).unwrap().0, 1);
        assert_eq!(config.wan.delay_ms("a", "c"), 160);
        assert_eq!(config.gateway.tls_listen, "127.0.0.1:7444");
        assert!(config.gateway.tls_key_file.exists());
        assert!(matches!(create(&spec), Err(TestnetError::Exists(_))));
    }
}
