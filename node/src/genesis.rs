//! The genesis file: the chain's name, its validator set (keys, weights, addresses, regions)
//! and consensus parameters. Every validator must run the same one; its hash is checked in
//! every gossip hello, so a validator with another genesis is refused at once.

use crate::config::WanSection;
use crate::hex;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use votegraph_consensus::{EngineConfig, Member, MemberId, MemberSet};
use votegraph_gateway::governance::checkpoint::ValidatorSet;
use votegraph_gateway::governance::GovernanceConfig;
use votegraph_gateway::ChainId;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The chain's name; transactions are signed for it.
    pub chain_id: String,
    #[serde(default)]
    pub consensus: ConsensusParams,
    #[serde(default)]
    pub governance: GovernanceParams,
    pub validators: Vec<ValidatorEntry>,
}

/// Who administers elections and communities: `admin_threshold` of `admins` must approve each
/// administrative action.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GovernanceParams {
    /// ed25519 public keys, 64 hex digits each.
    pub admins: Vec<String>,
    pub admin_threshold: u32,
    /// Validators sign a checkpoint after the first round with transactions this many rounds
    /// past the last checkpoint (and after every round that closes an election or publishes a
    /// tally).
    pub checkpoint_interval_rounds: u64,
}

impl Default for GovernanceParams {
    fn default() -> Self {
        GovernanceParams {
            admins: Vec::new(),
            admin_threshold: 1,
            checkpoint_interval_rounds: 100,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ValidatorEntry {
    pub name: String,
    /// ed25519 public key, 64 hex digits.
    pub public_key: String,
    pub weight: u64,
    /// gRPC address peers dial, e.g. `http://10.0.0.5:7100`.
    pub address: String,
    /// Region label, used by WAN emulation and reports.
    #[serde(default)]
    pub region: String,
}

/// Consensus parameters every validator must share (they change the order).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusParams {
    pub coin_frequency: u64,
    pub ancient_window_rounds: u64,
    pub transactions_per_event_max: usize,
    pub transaction_bytes_max: usize,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        let engine = EngineConfig::default();
        ConsensusParams {
            coin_frequency: engine.coin_frequency,
            ancient_window_rounds: engine.ancient_window_rounds,
            transactions_per_event_max: 1024,
            transaction_bytes_max: 16 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("cannot read genesis file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("genesis file {path} is not valid: {detail}")]
    Parse { path: String, detail: String },
    #[error("validator #{index} ({name}): {detail}")]
    Validator {
        index: usize,
        name: String,
        detail: String,
    },
    #[error("validator set: {0}")]
    Members(#[from] votegraph_consensus::members::MemberSetError),
    #[error("governance: {0}")]
    Governance(String),
    #[error("consensus parameters: {0}")]
    Consensus(#[from] votegraph_consensus::config::ConfigError),
}

/// An entry of a per-peer setting (`setting`, keyed by validator name) that names no peer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeerNameError {
    #[error("{setting} names {name:?}, which is not a validator of the genesis")]
    Unknown { setting: &'static str, name: String },
    #[error("{setting} names {name:?}, which is this validator")]
    Own { setting: &'static str, name: String },
}

impl Genesis {
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Genesis::parse(&text, &path.display().to_string())
    }

    /// A genesis from its TOML text, checked; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, GenesisError> {
        let path = origin;
        let genesis: Genesis = toml::from_str(text).map_err(|e| GenesisError::Parse {
            path: path.to_string(),
            detail: e.to_string(),
        })?;
        genesis.member_set()?;
        genesis.governance_config()?;
        genesis.engine_config().validate()?;
        if genesis.consensus.transactions_per_event_max == 0 {
            return Err(GenesisError::Parse {
                path: path.to_string(),
                detail: "consensus.transactions_per_event_max must be positive".into(),
            });
        }
        Ok(genesis)
    }

    /// The address to dial for each validator, in order: its genesis address unless
    /// `overrides` names it (by validator name) with another. `me` dials no one at its own name.
    pub fn dial_addresses(
        &self,
        me: MemberId,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, PeerNameError> {
        self.check_peer_names(me, "gossip.peer_addresses", overrides.keys())?;
        Ok(self
            .validators
            .iter()
            .map(|v| overrides.get(&v.name).unwrap_or(&v.address).clone())
            .collect())
    }

    /// The emulated one-way delay of what `me` sends to each validator, in order: `wan`'s
    /// delay to that peer by name if it has one, else the delay between the two regions.
    pub fn wan_delays(
        &self,
        me: MemberId,
        wan: &WanSection,
    ) -> Result<Vec<Duration>, PeerNameError> {
        self.check_peer_names(me, "wan.peer_delay_ms", wan.peer_delay_ms.keys())?;
        let my_region = &self.validators[me.index()].region;
        Ok(self
            .validators
            .iter()
            .map(|v| match wan.peer_delay_ms.get(&v.name) {
                Some(ms) => *ms,
                None => wan.delay_ms(my_region, &v.region),
            })
            .map(Duration::from_millis)
            .collect())
    }

    /// Every name is a validator of the genesis other than `me`.
    fn check_peer_names<'a>(
        &self,
        me: MemberId,
        setting: &'static str,
        names: impl Iterator<Item = &'a String>,
    ) -> Result<(), PeerNameError> {
        for name in names {
            match self.validators.iter().position(|v| &v.name == name) {
                None => {
                    let name = name.clone();
                    return Err(PeerNameError::Unknown { setting, name });
                }
                Some(index) if index == me.index() => {
                    let name = name.clone();
                    return Err(PeerNameError::Own { setting, name });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("genesis serializes")
    }

    /// blake3 of the canonical TOML rendering: equal for equal content.
    pub fn hash(&self) -> [u8; 32] {
        *blake3::hash(self.to_toml().as_bytes()).as_bytes()
    }

    pub fn chain(&self) -> ChainId {
        ChainId::from_name(&self.chain_id)
    }

    pub fn public_keys(&self) -> Result<Vec<VerifyingKey>, GenesisError> {
        self.validators
            .iter()
            .enumerate()
            .map(|(index, v)| {
                let invalid = |detail: String| GenesisError::Validator {
                    index,
                    name: v.name.clone(),
                    detail,
                };
                let bytes = hex::decode_array::<32>(&v.public_key)
                    .map_err(|e| invalid(format!("public_key: {e}")))?;
                VerifyingKey::from_bytes(&bytes)
                    .map_err(|_| invalid("public_key is not an ed25519 point".into()))
            })
            .collect()
    }

    /// The administrator set, checked: distinct valid keys and 1 <= threshold <= admins.
    pub fn governance_config(&self) -> Result<GovernanceConfig, GenesisError> {
        let params = &self.governance;
        let mut admins = Vec::new();
        for (index, text) in params.admins.iter().enumerate() {
            let key = hex::decode_array::<32>(text)
                .map_err(|e| GenesisError::Governance(format!("admins[{index}]: {e}")))?;
            VerifyingKey::from_bytes(&key).map_err(|_| {
                GenesisError::Governance(format!("admins[{index}] is not an ed25519 point"))
            })?;
            if admins.contains(&key) {
                return Err(GenesisError::Governance(format!(
                    "admins[{index}] is listed twice"
                )));
            }
            admins.push(key);
        }
        let threshold = params.admin_threshold;
        if threshold == 0 || (!admins.is_empty() && threshold as usize > admins.len()) {
            return Err(GenesisError::Governance(format!(
                "admin_threshold is {threshold}; it must be 1 to {} (the number of admins)",
                admins.len().max(1)
            )));
        }
        if params.checkpoint_interval_rounds == 0 {
            return Err(GenesisError::Governance(
                "checkpoint_interval_rounds must be at least 1".into(),
            ));
        }
        Ok(GovernanceConfig {
            admins,
            admin_threshold: threshold,
            validators: self.validator_set()?,
        })
    }

    /// The validators and weights that sign checkpoints, bound to the chain id.
    pub fn validator_set(&self) -> Result<ValidatorSet, GenesisError> {
        let validators = self
            .public_keys()?
            .iter()
            .zip(&self.validators)
            .map(|(key, v)| (key.to_bytes(), v.weight))
            .collect();
        Ok(ValidatorSet {
            chain_id: self.chain_id.clone(),
            validators,
        })
    }

    pub fn member_set(&self) -> Result<MemberSet, GenesisError> {
        let members = self
            .public_keys()?
            .into_iter()
            .zip(&self.validators)
            .map(|(public_key, v)| Member {
                public_key,
                weight: v.weight,
            })
            .collect();
        Ok(MemberSet::new(members)?)
    }

    pub fn engine_config(&self) -> EngineConfig {
        let mut config = EngineConfig {
            coin_frequency: self.consensus.coin_frequency,
            ancient_window_rounds: self.consensus.ancient_window_rounds,
            future_window_rounds: self.consensus.ancient_window_rounds,
            ..EngineConfig::default()
        };
        config.event_limits.transactions_per_event_max = self.consensus.transactions_per_event_max;
        // An envelope adds its fixed fields to the payload.
        config.event_limits.transaction_bytes_max = self.consensus.transaction_bytes_max + 256;
        config
    }

    /// The member whose public key is `key`'s.
    pub fn member_of(&self, key: &VerifyingKey) -> Option<MemberId> {
        let keys = self.public_keys().ok()?;
        keys.iter()
            .position(|k| k == key)
            .map(|i| MemberId(i as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Genesis {
        let key = |seed: u8| {
            ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .to_bytes()
        };
        Genesis {
            chain_id: "test".into(),
            consensus: ConsensusParams::default(),
            governance: GovernanceParams {
                admins: vec![hex::encode(&key(9)), hex::encode(&key(10))],
                admin_threshold: 2,
                ..GovernanceParams::default()
            },
            validators: (0..4)
                .map(|i| ValidatorEntry {
                    name: format!("v{i}"),
                    public_key: hex::encode(&key(i + 1)),
                    weight: 1,
                    address: format!("http://127.0.0.1:{}", 7100 + i as u16),
                    region: "a".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn genesis_round_trips_through_toml_with_a_stable_hash() {
        let genesis = sample();
        let parsed: Genesis = toml::from_str(&genesis.to_toml()).unwrap();
        assert_eq!(parsed, genesis);
        assert_eq!(parsed.hash(), genesis.hash());
        assert_eq!(parsed.member_set().unwrap().len(), 4);
    }

    #[test]
    fn a_bad_validator_key_is_named() {
        let mut genesis = sample();
        genesis.validators[2].public_key = "00".into();
        let error = genesis.member_set().unwrap_err().to_string();
        assert!(error.contains("validator #2 (v2)"), "{error}");
    }

    #[test]
    fn an_admin_threshold_above_the_admin_count_is_refused() {
        let mut genesis = sample();
        assert_eq!(genesis.governance_config().unwrap().admins.len(), 2);
        genesis.governance.admin_threshold = 3;
        let error = genesis.governance_config().unwrap_err().to_string();
        assert!(error.contains("admin_threshold is 3"), "{error}");
        genesis.governance.admins[1] = genesis.governance.admins[0].clone();
        genesis.governance.admin_threshold = 1;
        assert!(genesis.governance_config().is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = sample().to_toml() + "\nsurprise = 1\n";
        assert!(toml::from_str::<Genesis>(&text).is_err());
    }

    #[test]
    fn peer_address_overrides_replace_only_the_named_validators() {
        let genesis = sample();
        let overrides = BTreeMap::from([("v2".to_string(), "http://10.1.0.7:7100".to_string())]);
        let addresses = genesis.dial_addresses(MemberId(0), &overrides).unwrap();
        assert_eq!(addresses[2], "http://10.1.0.7:7100");
        for i in [0, 1, 3] {
            assert_eq!(addresses[i], genesis.validators[i].address);
        }
        let unknown = BTreeMap::from([("v9".to_string(), "http://10.1.0.9:7100".to_string())]);
        assert_eq!(
            genesis.dial_addresses(MemberId(0), &unknown),
            Err(PeerNameError::Unknown {
                setting: "gossip.peer_addresses",
                name: "v9".into()
            })
        );
        assert_eq!(
            genesis.dial_addresses(MemberId(2), &overrides),
            Err(PeerNameError::Own {
                setting: "gossip.peer_addresses",
                name: "v2".into()
            })
        );
    }

    #[test]
    fn a_peer_delay_replaces_the_region_delay_to_that_peer_only() {
        let mut genesis = sample();
        for (validator, region) in genesis.validators.iter_mut().zip(["a", "b", "c", "a"]) {
            validator.region = region.to_string();
        }
        let mut wan = WanSection::profile("three-regions").unwrap();
        let by_region = genesis.wan_delays(MemberId(0), &wan).unwrap();
        assert_eq!(by_region, [1, 40, 160, 1].map(Duration::from_millis));
        wan.peer_delay_ms.insert("v2".into(), 300);
        let delays = genesis.wan_delays(MemberId(0), &wan).unwrap();
        assert_eq!(delays, [1, 40, 300, 1].map(Duration::from_millis));
        wan.peer_delay_ms.insert("v9".into(), 5);
        assert_eq!(
            genesis.wan_delays(MemberId(0), &wan),
            Err(PeerNameError::Unknown {
                setting: "wan.peer_delay_ms",
                name: "v9".into()
            })
        );
        wan.peer_delay_ms.remove("v9");
        assert_eq!(
            genesis.wan_delays(MemberId(2), &wan),
            Err(PeerNameError::Own {
                setting: "wan.peer_delay_ms",
                name: "v2".into()
            })
        );
    }
}
