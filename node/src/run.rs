//! Starting a validator: load genesis, key and ledger, rebuild consensus from the ledger,
//! start the driver, serve gRPC (gossip, transactions, health, reflection) and metrics, and
//! gossip until told to stop.

use crate::checkpoint::Checkpointer;
use crate::client_api::TransactionService;
use crate::config::NodeConfig;
use crate::driver::{Command, Driver, DriverSettings, COMMANDS_MAX};
use crate::gateway_api::Gateway;
use crate::genesis::{Genesis, GenesisError, PeerNameError};
use crate::gossip::client::Gossiper;
use crate::gossip::context::GossipContext;
use crate::gossip::index::GossipIndex;
use crate::gossip::verify::Rules;
use crate::keys::{self, KeyFileError};
use crate::pool::{Pool, PoolLimits};
use crate::serve::{serve, Listeners};
use crate::shared::Shared;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tracing::{info, warn};
use votegraph_consensus::EngineConfig;
use votegraph_gateway::governance::Governance;
use votegraph_storage::{rebuild_engine, RecoveryError, RocksStore, StoreError};

/// Finality batches buffered for watchers.
const FINALITY_BROADCAST: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    PeerName(#[from] PeerNameError),
    #[error("the key in {0} is not a validator of this genesis")]
    NotAValidator(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("recovery from the ledger failed: {0}")]
    Recovery(#[from] RecoveryError),
    #[error("invalid address {address}: {detail}")]
    Address { address: String, detail: String },
    #[error("the ledger was written under another genesis file; use its own genesis or a new data directory")]
    WrongGenesis,
    #[error("TLS certificate or key: {0}")]
    Tls(String),
    #[error("gRPC server failed: {0}")]
    Serve(String),
    #[error("metrics exporter failed: {0}")]
    Metrics(String),
}

/// Runs a validator until SIGINT or SIGTERM.
pub async fn run(config: NodeConfig) -> Result<(), NodeError> {
    let genesis = Genesis::load(&config.node.genesis_file)?;
    let key = keys::read(&config.node.key_file)?;
    let me = genesis
        .member_of(&key.verifying_key())
        .ok_or_else(|| NodeError::NotAValidator(config.node.key_file.display().to_string()))?;
    // Checked before the ledger is opened: a mistyped peer name leaves no data directory.
    let addresses = genesis.dial_addresses(me, &config.gossip.peer_addresses)?;
    let wan_delays = genesis.wan_delays(me, &config.wan)?;
    if !config.node.metrics_listen.is_empty() {
        start_metrics(&config.node.metrics_listen)?;
    }
    let store = Arc::new(RocksStore::open(&config.node.data_dir, &config.rocks())?);
    crate::gateway_api::export::remove_stale_exports(&config.node.data_dir);
    keep_genesis_in_ledger(store.as_ref(), &genesis)?;
    let engine_config = EngineConfig {
        dag_events_max: config.node.dag_events_max,
        ..genesis.engine_config()
    };
    let members = genesis.member_set()?;
    info!(member = me.0, data = %config.node.data_dir.display(), "rebuilding consensus from the ledger");
    let recovered = rebuild_engine(
        store.as_ref(),
        engine_config.clone(),
        members.clone(),
        Some((me, key.clone())),
    )?;
    if let Some(reason) = &recovered.snapshot_refused {
        warn!(%reason, "the ledger's engine snapshot was set aside; replayed from genesis instead");
    }
    match recovered.snapshot_round {
        Some(snapshot_round) => info!(
            snapshot_round,
            events_checked = recovered.events_checked,
            last_decided_round = recovered.engine.last_decided_round(),
            "engine restored from its snapshot; the ledger after it replayed and checked"
        ),
        None => info!(
            events_checked = recovered.events_checked,
            last_decided_round = recovered.engine.last_decided_round(),
            "ledger replayed and checked from genesis"
        ),
    }
    let mut index = GossipIndex::new(members.len());
    for event in recovered.engine.events_in_memory() {
        index.add(&event);
    }
    index.assume_known_before_memory();
    let (finalized, _) = broadcast::channel(FINALITY_BROADCAST);
    let shared = Arc::new(Shared {
        index: RwLock::new(index),
        pool: Mutex::new(Pool::new(PoolLimits {
            transactions_max: config.pool.transactions_max,
            bytes_max: config.pool.bytes_max,
        })),
        finalized,
        store: Arc::clone(&store),
        verifying: Mutex::new(Default::default()),
        verdicts: Default::default(),
        wanted: Mutex::new(Vec::new()),
    });
    let (driver_tx, driver_rx) = mpsc::channel::<Command>(COMMANDS_MAX);
    let settings = DriverSettings {
        me,
        transactions_per_event_max: config
            .pool
            .transactions_per_event_max
            .min(genesis.consensus.transactions_per_event_max),
        ancient_window_rounds: engine_config.ancient_window_rounds,
        snapshot_interval_rounds: config.storage.snapshot_interval_rounds,
        keep_full_history: config.storage.keep_full_history,
        // Room for the event's own fields and per-transaction length prefixes.
        transaction_bytes_per_event_max: engine_config.event_limits.event_bytes_max / 2,
        chain: genesis.chain(),
        payload_bytes_max: genesis.consensus.transaction_bytes_max,
    };
    let governance_config = genesis.governance_config()?;
    let checkpointer = Checkpointer::load(
        store.as_ref(),
        genesis.governance.checkpoint_interval_rounds,
        key.clone(),
        genesis.chain(),
        governance_config.validators.hash(),
    )?;
    let governance = Arc::new(Governance::new(governance_config));
    let mut driver = Driver::new(
        recovered.engine,
        store.clone(),
        Arc::clone(&shared),
        Arc::clone(&governance),
        checkpointer,
        settings,
    )?;
    driver.commit_recovered(recovered.pending);
    driver.requeue_own_signature();
    let driver_thread = std::thread::Builder::new()
        .name("votegraph-driver".into())
        .spawn(move || driver.run(driver_rx))
        .expect("spawn the driver thread");
    spawn_ticks(driver_tx.clone(), config.node.status_interval_s);

    let rules = Arc::new(Rules {
        members,
        limits: engine_config.event_limits.clone(),
        chain: genesis.chain(),
        payload_bytes_max: genesis.consensus.transaction_bytes_max,
    });
    let context = Arc::new(GossipContext::new(
        me,
        key,
        genesis.hash(),
        rules,
        Arc::clone(&shared),
        driver_tx.clone(),
        config.gossip.clone(),
        config.wan.clone(),
        wan_delays,
    ));
    let gossiper =
        Gossiper::new(Arc::clone(&context), &addresses).map_err(|detail| NodeError::Address {
            address: "to dial".into(),
            detail,
        })?;
    let transactions = TransactionService {
        shared: Arc::clone(&shared),
        chain: genesis.chain(),
        payload_bytes_max: genesis.consensus.transaction_bytes_max,
        member: me.0,
        watchers_max: config.pool.watchers_max,
        watchers: Arc::new(AtomicUsize::new(0)),
    };
    let listen: SocketAddr = config.node.listen.parse().map_err(|e| NodeError::Address {
        address: config.node.listen.clone(),
        detail: format!("{e}"),
    })?;
    let gateway = Gateway::new(
        Arc::clone(&shared),
        governance,
        genesis.chain(),
        genesis.consensus.transaction_bytes_max,
        &config.gateway,
    );
    Arc::new(gossiper).spawn();
    info!(member = me.0, %listen, validators = addresses.len(), "validator serving");
    let limits = crate::serve::MessageLimits {
        gossip_bytes_max: config.gossip.message_bytes_max,
        request_bytes_max: config.gateway.request_bytes_max,
    };
    let listeners = Listeners {
        main: listen,
        tls: tls_listener(&config.gateway)?,
    };
    serve(listeners, context, transactions, gateway, limits).await?;
    drop(driver_tx);
    info!("shutting down");
    // Sync tasks still hold senders; the process exits after the server stops, and every
    // write the driver acknowledged is already durable.
    drop(driver_thread);
    Ok(())
}

/// The ledger holds the genesis it was written under (so that an audit export is
/// self-contained); a ledger of another genesis is refused rather than extended.
fn keep_genesis_in_ledger(store: &RocksStore, genesis: &Genesis) -> Result<(), NodeError> {
    use votegraph_storage::Store;
    let text = genesis.to_toml();
    let key = crate::audit::export::GENESIS_STATE_KEY;
    match store.state(key)? {
        Some(stored) if stored == text.as_bytes() => Ok(()),
        Some(_) => Err(NodeError::WrongGenesis),
        None => {
            let mut batch = votegraph_storage::Batch::new();
            batch.put_state(key.to_vec(), text.into_bytes());
            Ok(store.write(batch)?)
        }
    }
}

/// The client TLS listener, if configured: its address and identity (certificate and key).
fn tls_listener(
    gateway: &crate::config::GatewaySection,
) -> Result<Option<(SocketAddr, tonic::transport::Identity)>, NodeError> {
    if gateway.tls_listen.is_empty() {
        return Ok(None);
    }
    let address = gateway.tls_listen.parse().map_err(|e| NodeError::Address {
        address: gateway.tls_listen.clone(),
        detail: format!("{e}"),
    })?;
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| NodeError::Tls(format!("{}: {e}", path.display())))
    };
    let identity = tonic::transport::Identity::from_pem(
        read(&gateway.tls_cert_file)?,
        read(&gateway.tls_key_file)?,
    );
    Ok(Some((address, identity)))
}

fn spawn_ticks(driver: mpsc::Sender<Command>, interval_s: u64) {
    let period = Duration::from_secs(interval_s.max(1));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if driver.send(Command::Tick).await.is_err() {
                return;
            }
        }
    });
}

fn start_metrics(listen: &str) -> Result<(), NodeError> {
    let address: SocketAddr = listen.parse().map_err(|e| NodeError::Address {
        address: listen.into(),
        detail: format!("{e}"),
    })?;
    let latency_buckets = [
        0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0,
    ];
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(address)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
            &latency_buckets,
        )
        .map_err(|e| NodeError::Metrics(e.to_string()))?
        .install()
        .map_err(|e| NodeError::Metrics(e.to_string()))?;
    Ok(())
}
