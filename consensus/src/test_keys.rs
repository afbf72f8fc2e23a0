//! Deterministic per-name signing keys for fixtures, replays and tests.
//!
//! A replayed DAG must produce the same ids and the same coin flips every time, so fixture
//! members get keys derived from their names. These keys are public knowledge: never use them
//! for a real validator.

use crate::members::{Member, MemberSet, MemberSetError};
use crate::types::Weight;
use ed25519_dalek::SigningKey;

/// The signing key of fixture member `name`: `blake3::derive_key("votegraph test key v1", name)`.
pub fn signing_key_for(name: &str) -> SigningKey {
    let seed = blake3::derive_key("votegraph test key v1", name.as_bytes());
    SigningKey::from_bytes(&seed)
}

/// A validator set of named members with their test keys and the given weights.
pub fn member_set<'a>(
    members: impl IntoIterator<Item = (&'a str, Weight)>,
) -> Result<MemberSet, MemberSetError> {
    MemberSet::new(
        members
            .into_iter()
            .map(|(name, weight)| Member {
                public_key: signing_key_for(name).verifying_key(),
                weight,
            })
            .collect(),
    )
}
