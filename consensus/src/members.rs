//! The validator set: who may create events and how much each one's word weighs.
//!
//! Supermajority is computed in integers (`3 * w > 2 * W`) so that no rounding can ever make two
//! validators disagree about a threshold.

use crate::types::{MemberId, Weight};
use ed25519_dalek::VerifyingKey;
use std::collections::HashSet;

/// One validator: its public key and stake weight.
#[derive(Clone, Debug)]
pub struct Member {
    pub public_key: VerifyingKey,
    pub weight: Weight,
}

/// Why a validator set is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MemberSetError {
    #[error("the validator set is empty")]
    Empty,
    #[error("the validator set has {count} members; at most {max} are supported")]
    TooMany { count: usize, max: usize },
    #[error("member #{index} has weight 0; every member needs a positive weight")]
    ZeroWeight { index: usize },
    #[error("member #{index} repeats the public key of an earlier member")]
    DuplicateKey { index: usize },
    #[error("the total weight overflows 62 bits")]
    WeightOverflow,
}

/// Maximum number of members, so that member indexes fit the wire format comfortably and the
/// per-event vectors stay small.
pub const MEMBERS_MAX: usize = 1024;

/// The validator set, fixed for the life of an engine.
#[derive(Clone, Debug)]
pub struct MemberSet {
    members: Vec<Member>,
    total_weight: Weight,
}

impl MemberSet {
    pub fn new(members: Vec<Member>) -> Result<Self, MemberSetError> {
        if members.is_empty() {
            return Err(MemberSetError::Empty);
        }
        if members.len() > MEMBERS_MAX {
            return Err(MemberSetError::TooMany {
                count: members.len(),
                max: MEMBERS_MAX,
            });
        }
        let mut keys = HashSet::new();
        let mut total: Weight = 0;
        for (index, member) in members.iter().enumerate() {
            if member.weight == 0 {
                return Err(MemberSetError::ZeroWeight { index });
            }
            if !keys.insert(member.public_key.to_bytes()) {
                return Err(MemberSetError::DuplicateKey { index });
            }
            total = total
                .checked_add(member.weight)
                .filter(|t| *t < (1 << 62))
                .ok_or(MemberSetError::WeightOverflow)?;
        }
        Ok(MemberSet {
            members,
            total_weight: total,
        })
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn total_weight(&self) -> Weight {
        self.total_weight
    }

    pub fn get(&self, id: MemberId) -> Option<&Member> {
        self.members.get(id.index())
    }

    /// Weight of a member known to exist (callers hold a validated id).
    pub fn weight(&self, id: MemberId) -> Weight {
        self.members[id.index()].weight
    }

    /// `3 * weight > 2 * total`: strictly more than two thirds.
    pub fn is_supermajority(&self, weight: Weight) -> bool {
        3 * u128::from(weight) > 2 * u128::from(self.total_weight)
    }

    pub fn ids(&self) -> impl Iterator<Item = MemberId> {
        (0..self.members.len() as u32).map(MemberId)
    }

    pub fn id_of_key(&self, key: &VerifyingKey) -> Option<MemberId> {
        self.members
            .iter()
            .position(|m| m.public_key == *key)
            .map(|i| MemberId(i as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::signing_key_for;

    fn set(weights: &[Weight]) -> MemberSet {
        let names: Vec<String> = (0..weights.len()).map(|i| format!("m{i}")).collect();
        crate::test_keys::member_set(
            names
                .iter()
                .map(String::as_str)
                .zip(weights.iter().copied()),
        )
        .unwrap()
    }

    #[test]
    fn supermajority_is_strictly_more_than_two_thirds() {
        let s = set(&[1, 1, 1]);
        assert!(s.is_supermajority(3));
        assert!(
            !s.is_supermajority(2),
            "2 of 3 is exactly two thirds, not more"
        );
        let s = set(&[1, 1, 1, 1]);
        assert!(s.is_supermajority(3));
        assert!(!s.is_supermajority(2));
    }

    #[test]
    fn rejects_zero_weight_and_duplicate_keys() {
        let key = signing_key_for("x").verifying_key();
        let dup = vec![
            Member {
                public_key: key,
                weight: 1,
            },
            Member {
                public_key: key,
                weight: 1,
            },
        ];
        assert_eq!(
            MemberSet::new(dup).unwrap_err(),
            MemberSetError::DuplicateKey { index: 1 }
        );
        let zero = vec![Member {
            public_key: key,
            weight: 0,
        }];
        assert_eq!(
            MemberSet::new(zero).unwrap_err(),
            MemberSetError::ZeroWeight { index: 0 }
        );
        assert_eq!(MemberSet::new(vec![]).unwrap_err(), MemberSetError::Empty);
    }
}
