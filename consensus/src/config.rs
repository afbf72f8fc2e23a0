//! Every limit the engine enforces, with a name and a default.
//!
//! Each thing that can grow has a bound here, so that a slow, partitioned or hostile peer can
//! cost a validator at most a known amount of memory.

use crate::types::Round;

/// Limits on one event, checked before its signature is trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLimits {
    /// Most transactions one event may carry.
    pub transactions_per_event_max: usize,
    /// Largest single transaction, in bytes.
    pub transaction_bytes_max: usize,
    /// Largest canonical encoding of a whole signed event, in bytes.
    pub event_bytes_max: usize,
}

impl Default for EventLimits {
    fn default() -> Self {
        EventLimits {
            transactions_per_event_max: 4096,
            transaction_bytes_max: 64 * 1024,
            event_bytes_max: 4 * 1024 * 1024,
        }
    }
}

/// Configuration of the consensus engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Every `coin_frequency`-th voting round is a coin round. Must be greater than 2.
    pub coin_frequency: u64,
    /// An event is ancient once its birth round is more than this many rounds below the latest
    /// decided round. Ancient events are not accepted, not used as parents, and leave memory.
    pub ancient_window_rounds: Round,
    /// Most events held back because their birth round is ahead of this node.
    pub future_buffer_events_max: usize,
    /// Most bytes (canonical encodings) held in the future buffer.
    pub future_buffer_bytes_max: usize,
    /// Events born more than this many rounds ahead of this node's next round are refused
    /// (retryable): a node that far behind must catch up before it can use them.
    pub future_window_rounds: Round,
    /// Most events held in the in-memory DAG at once; beyond it insertion is refused
    /// (backpressure) until consensus catches up and old events are pruned.
    pub dag_events_max: usize,
    pub event_limits: EventLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            coin_frequency: 12,
            ancient_window_rounds: 26,
            future_buffer_events_max: 100_000,
            future_buffer_bytes_max: 256 * 1024 * 1024,
            future_window_rounds: 26,
            dag_events_max: 1_000_000,
            event_limits: EventLimits::default(),
        }
    }
}

/// Why a configuration is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("coin_frequency must be greater than 2, got {0}")]
    CoinFrequencyTooSmall(u64),
    #[error("ancient_window_rounds must be at least 2, got {0}")]
    AncientWindowTooSmall(Round),
    #[error("dag_events_max must be positive")]
    DagEventsMaxZero,
    #[error("ancient_window_rounds {0} is too large")]
    AncientWindowTooLarge(Round),
    #[error("future_window_rounds must be at least 1")]
    FutureWindowZero,
    #[error("future_buffer_bytes_max must hold at least one event of event_bytes_max")]
    FutureBufferTooSmall,
}

impl EngineConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.coin_frequency <= 2 {
            return Err(ConfigError::CoinFrequencyTooSmall(self.coin_frequency));
        }
        if self.ancient_window_rounds < 2 {
            return Err(ConfigError::AncientWindowTooSmall(
                self.ancient_window_rounds,
            ));
        }
        if self.ancient_window_rounds > Round::MAX / 8 {
            return Err(ConfigError::AncientWindowTooLarge(
                self.ancient_window_rounds,
            ));
        }
        if self.dag_events_max == 0 {
            return Err(ConfigError::DagEventsMaxZero);
        }
        if self.future_window_rounds == 0 {
            return Err(ConfigError::FutureWindowZero);
        }
        if self.future_buffer_bytes_max < self.event_limits.event_bytes_max {
            return Err(ConfigError::FutureBufferTooSmall);
        }
        Ok(())
    }
}
