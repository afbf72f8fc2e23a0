//! The votegraph validator: configuration, gossip over gRPC, the driver that owns consensus
//! and the ledger, the client transaction API, and the tools around them (key generation,
//! local testnets, the cluster benchmark).

pub mod advancement;
pub mod asks;
pub mod audit;
pub mod bench;
pub mod checkpoint;
pub mod client;
pub mod client_api;
pub mod config;
pub mod demo;
pub mod driver;
pub mod evidence;
pub mod finality;
pub mod gateway_api;
pub mod genesis;
pub mod gossip;
pub use votegraph_gateway::hex;
pub mod keys;
pub mod ledger_state;
pub mod orphans;
pub mod over_share;
pub mod pool;
pub mod proofs;
pub mod run;
pub mod serve;
pub mod shared;
pub mod snapshots;
pub mod testnet;
pub mod tls;
pub mod verdicts;
