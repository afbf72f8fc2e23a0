//! Decoded election definitions, cached by the hash of their stored bytes. Every ballot needs
//! its election's definition, and decoding it (dozens of strings) costs more than the rest of
//! the ballot's checks. The cache is keyed by content, so it can never return a definition
//! other than the one the state holds: it changes speed, never results. Within a commit the
//! overlay keeps the definition decoded, so the bytes are hashed once per commit, not once per
//! ballot (their size grows with the manifest's).

use crate::governance::action::ElectionSpec;
use crate::governance::codec;
use crate::governance::overlay::{Overlay, StateError};
use crate::governance::records;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Definitions kept; the cache is emptied when it would grow past this.
const ENTRIES_MAX: usize = 256;

#[derive(Default)]
pub struct SpecCache {
    specs: Mutex<HashMap<[u8; 32], Arc<ElectionSpec>>>,
}

impl SpecCache {
    /// The definition of `election_id` as `state` holds it.
    pub fn get(
        &self,
        state: &Overlay,
        election_id: &str,
    ) -> Result<Option<Arc<ElectionSpec>>, StateError> {
        let key = records::election_spec_key(election_id);
        state.get_decoded(&key, |bytes| self.decode(election_id, bytes))
    }

    fn decode(&self, election_id: &str, bytes: &[u8]) -> Result<Arc<ElectionSpec>, StateError> {
        let hash = *blake3::hash(bytes).as_bytes();
        if let Some(spec) = self.specs.lock().expect("spec cache lock").get(&hash) {
            return Ok(Arc::clone(spec));
        }
        let spec: ElectionSpec = codec::decode(bytes).map_err(|e| {
            StateError(format!(
                "election definition of `{election_id}` does not decode: {e}"
            ))
        })?;
        let spec = Arc::new(spec);
        let mut specs = self.specs.lock().expect("spec cache lock");
        if specs.len() >= ENTRIES_MAX {
            specs.clear();
        }
        specs.insert(hash, Arc::clone(&spec));
        Ok(spec)
    }
}
