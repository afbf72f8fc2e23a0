//! Deterministic per-name signing keys for fixtures, replays and tests.
//!
//! A replayed DAG must produce the same ids and the same coin flips every time, so fixture
//! members get keys derived from their names. These keys are public knowledge: never use them
//! for a real validator.

use ed25519_dalek::SigningKey;

/// The signing key of fixture member `name`: `blake3::derive_key("votegraph test key v1", name)`.
pub fn signing_key_for(name: &str) -> SigningKey {
    let seed = blake3::derive_key("votegraph test key v1", name.as_bytes());
    SigningKey::from_bytes(&seed)
}
