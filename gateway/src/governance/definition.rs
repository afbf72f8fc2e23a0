//! An election as votegraph enforces it: contests with their selections, how many selections a
//! voter may mark, and ballot styles saying which contests each voter sees.
//!
//! Both input forms (the ElectionGuard manifest JSON and the native TOML) become this one type,
//! which is checked for consistency once, encoded canonically, and hashed. Ballots name that
//! hash, so a ballot signed for one definition is worthless for any other.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Longest object id (the ElectionGuard schema's limit for its strings).
pub const ID_BYTES_MAX: usize = 256;
/// Most contests in one election.
pub const CONTESTS_MAX: usize = 256;
/// Most selections in one contest.
pub const SELECTIONS_PER_CONTEST_MAX: usize = 256;
/// Most ballot styles in one election.
pub const BALLOT_STYLES_MAX: usize = 1024;
/// Longest election or contest name kept.
pub const NAME_BYTES_MAX: usize = 512;

const MANIFEST_HASH_DOMAIN: &[u8] = b"votegraph-manifest-v1\0";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionDefinition {
    /// The election's id (ElectionGuard `election_scope_id`).
    pub election_id: String,
    pub name: String,
    pub contests: Vec<Contest>,
    pub ballot_styles: Vec<BallotStyle>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoteVariation {
    /// Exactly one winner: at most one selection.
    OneOfM,
    /// At most `votes_allowed` selections.
    NOfM,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contest {
    pub object_id: String,
    pub name: String,
    pub variation: VoteVariation,
    pub votes_allowed: u32,
    pub selections: Vec<Selection>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub object_id: String,
    pub candidate_id: String,
    /// A write-in line: a vote for it may carry the written name.
    pub write_in: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotStyle {
    pub object_id: String,
    /// The contests a voter with this style may vote in.
    pub contest_ids: Vec<String>,
}

/// Why a definition is refused; each names the offending object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error("{what} id is empty")]
    EmptyId { what: &'static str },
    #[error("{what} id `{id}` is longer than {ID_BYTES_MAX} bytes")]
    IdTooLong { what: &'static str, id: String },
    #[error("name of {what} `{id}` is longer than {NAME_BYTES_MAX} bytes")]
    NameTooLong { what: &'static str, id: String },
    #[error("the election has no contests")]
    NoContests,
    #[error("the election has no ballot styles")]
    NoBallotStyles,
    #[error("{count} {what}, more than the {max} allowed")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error("{what} id `{id}` is used twice")]
    DuplicateId { what: &'static str, id: String },
    #[error("contest `{contest}` has no selections")]
    NoSelections { contest: String },
    #[error("contest `{contest}` allows {votes_allowed} votes; it must allow 1 to {selections} (its selection count)")]
    VotesAllowed {
        contest: String,
        votes_allowed: u32,
        selections: usize,
    },
    #[error("contest `{contest}` is one_of_m but allows {votes_allowed} votes")]
    OneOfMAllowsMore { contest: String, votes_allowed: u32 },
    #[error("ballot style `{style}` names contest `{contest}`, which the election does not have")]
    UnknownContestInStyle { style: String, contest: String },
    #[error("ballot style `{style}` has no contests")]
    EmptyStyle { style: String },
}

impl ElectionDefinition {
    /// Checks ids, limits and cross references; a definition that passes can be enforced.
    pub fn validate(&self) -> Result<(), DefinitionError> {
        check_id("election", &self.election_id)?;
        check_name("election", &self.election_id, &self.name)?;
        if self.contests.is_empty() {
            return Err(DefinitionError::NoContests);
        }
        if self.ballot_styles.is_empty() {
            return Err(DefinitionError::NoBallotStyles);
        }
        check_count("contests", self.contests.len(), CONTESTS_MAX)?;
        check_count("ballot styles", self.ballot_styles.len(), BALLOT_STYLES_MAX)?;
        let mut contest_ids = HashSet::new();
        // Selection ids are unique across the election: a tally maps them to counts.
        let mut selection_ids = HashSet::new();
        for contest in &self.contests {
            check_id("contest", &contest.object_id)?;
            check_name("contest", &contest.object_id, &contest.name)?;
            unique("contest", &contest.object_id, &mut contest_ids)?;
            contest.validate(&mut selection_ids)?;
        }
        let mut style_ids = HashSet::new();
        for style in &self.ballot_styles {
            check_id("ballot style", &style.object_id)?;
            unique("ballot style", &style.object_id, &mut style_ids)?;
            if style.contest_ids.is_empty() {
                return Err(DefinitionError::EmptyStyle {
                    style: style.object_id.clone(),
                });
            }
            let mut seen = HashSet::new();
            for contest in &style.contest_ids {
                if !contest_ids.contains(contest.as_str()) {
                    return Err(DefinitionError::UnknownContestInStyle {
                        style: style.object_id.clone(),
                        contest: contest.clone(),
                    });
                }
                unique("contest in a ballot style", contest, &mut seen)?;
            }
        }
        Ok(())
    }

    /// The canonical encoding (what the hash covers and what the ledger stores).
    pub fn encode(&self) -> Vec<u8> {
        crate::governance::codec::encode(self)
    }

    /// blake3 over the canonical encoding, with a domain prefix. Ballots sign this.
    pub fn manifest_hash(&self) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new();
        hasher.update(MANIFEST_HASH_DOMAIN);
        hasher.update(&self.encode());
        *hasher.finalize().as_bytes()
    }

    pub fn contest(&self, object_id: &str) -> Option<&Contest> {
        self.contests.iter().find(|c| c.object_id == object_id)
    }

    pub fn ballot_style(&self, object_id: &str) -> Option<&BallotStyle> {
        self.ballot_styles.iter().find(|s| s.object_id == object_id)
    }
}

impl Contest {
    fn validate<'a>(&'a self, selection_ids: &mut HashSet<&'a str>) -> Result<(), DefinitionError> {
        if self.selections.is_empty() {
            return Err(DefinitionError::NoSelections {
                contest: self.object_id.clone(),
            });
        }
        check_count(
            "selections in one contest",
            self.selections.len(),
            SELECTIONS_PER_CONTEST_MAX,
        )?;
        if self.votes_allowed == 0 || self.votes_allowed as usize > self.selections.len() {
            return Err(DefinitionError::VotesAllowed {
                contest: self.object_id.clone(),
                votes_allowed: self.votes_allowed,
                selections: self.selections.len(),
            });
        }
        if self.variation == VoteVariation::OneOfM && self.votes_allowed != 1 {
            return Err(DefinitionError::OneOfMAllowsMore {
                contest: self.object_id.clone(),
                votes_allowed: self.votes_allowed,
            });
        }
        for selection in &self.selections {
            check_id("selection", &selection.object_id)?;
            check_id("candidate", &selection.candidate_id)?;
            unique("selection", &selection.object_id, selection_ids)?;
        }
        Ok(())
    }

    pub fn selection(&self, object_id: &str) -> Option<&Selection> {
        self.selections.iter().find(|s| s.object_id == object_id)
    }
}

/// Where the first item from `start` on (wrapping around to the beginning) matches. Ballots list
/// contests and selections in the definition's order, so a search that starts after the
/// previous match finds the next one at once; a search from the start would make a ballot of
/// many contests cost their square.
pub fn position_from<T>(items: &[T], start: usize, matches: impl Fn(&T) -> bool) -> Option<usize> {
    let start = start.min(items.len());
    (start..items.len())
        .chain(0..start)
        .find(|&i| matches(&items[i]))
}

fn check_id(what: &'static str, id: &str) -> Result<(), DefinitionError> {
    if id.is_empty() {
        return Err(DefinitionError::EmptyId { what });
    }
    if id.len() > ID_BYTES_MAX {
        return Err(DefinitionError::IdTooLong {
            what,
            id: id.chars().take(64).collect(),
        });
    }
    Ok(())
}

fn check_name(what: &'static str, id: &str, name: &str) -> Result<(), DefinitionError> {
    if name.len() > NAME_BYTES_MAX {
        return Err(DefinitionError::NameTooLong {
            what,
            id: id.to_string(),
        });
    }
    Ok(())
}

fn check_count(what: &'static str, count: usize, max: usize) -> Result<(), DefinitionError> {
    if count > max {
        return Err(DefinitionError::TooMany { what, count, max });
    }
    Ok(())
}

fn unique<'a>(
    what: &'static str,
    id: &'a str,
    seen: &mut HashSet<&'a str>,
) -> Result<(), DefinitionError> {
    if !seen.insert(id) {
        return Err(DefinitionError::DuplicateId {
            what,
            id: id.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::position_from;

    #[test]
    fn a_search_from_a_position_wraps_around_and_finds_every_item_once() {
        let items = ["a", "b", "c", "d"];
        for start in 0..6 {
            for (expected, item) in items.iter().enumerate() {
                assert_eq!(
                    position_from(&items, start, |i| i == item),
                    Some(expected),
                    "start {start}"
                );
            }
            assert_eq!(position_from(&items, start, |i| *i == "e"), None);
        }
        assert_eq!(position_from(&[] as &[&str], 3, |_| true), None);
    }
}
