//! The running tally of an election: weight per selection (in definition order) and per
//! write-in name, updated with every accepted ballot and final once the election closes.

use crate::governance::action::Ballot;
use crate::governance::definition::ElectionDefinition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Distinct write-in names kept per contest; further names count under [`OTHER_WRITE_INS`].
pub const WRITE_IN_NAMES_MAX: usize = 1000;
pub const OTHER_WRITE_INS: &str = "(other write-ins)";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub contests: Vec<ContestTally>,
    pub ballots: u64,
    pub weight: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContestTally {
    pub contest_id: String,
    /// (selection id, weight), in the definition's order.
    pub selections: Vec<(String, u64)>,
    /// (written name, weight), sorted by name.
    pub write_ins: Vec<(String, u64)>,
}

impl Tally {
    /// All zeros for every contest and selection of `definition`.
    pub fn empty(definition: &ElectionDefinition) -> Self {
        let contests = definition
            .contests
            .iter()
            .map(|c| ContestTally {
                contest_id: c.object_id.clone(),
                selections: c
                    .selections
                    .iter()
                    .map(|s| (s.object_id.clone(), 0))
                    .collect(),
                write_ins: Vec::new(),
            })
            .collect();
        Tally {
            contests,
            ballots: 0,
            weight: 0,
        }
    }

    /// Adds a ballot that passed every rule.
    pub fn add(&mut self, ballot: &Ballot, weight: u64) {
        self.ballots += 1;
        self.weight += weight;
        self.apply(ballot, |count| *count += weight);
    }

    /// Takes back a ballot added earlier (a replaced ballot under `last-counts`).
    pub fn remove(&mut self, ballot: &Ballot, weight: u64) {
        self.ballots -= 1;
        self.weight -= weight;
        // Names stay listed at zero, so every name keeps mapping to the same entry.
        self.apply(ballot, |count| *count -= weight);
    }

    fn apply(&mut self, ballot: &Ballot, mut change: impl FnMut(&mut u64)) {
        for vote in &ballot.contests {
            let contest = self
                .contests
                .iter_mut()
                .find(|c| c.contest_id == vote.contest_id)
                .expect("a checked ballot names only contests of its election");
            for selection in &vote.selections {
                let count = contest
                    .selections
                    .iter_mut()
                    .find(|(id, _)| *id == selection.selection_id)
                    .map(|(_, count)| count)
                    .expect("a checked ballot names only selections of its contests");
                change(count);
                if let Some(name) = &selection.write_in {
                    change(contest.write_in_count(name));
                }
            }
        }
    }

    /// The export auditors and operators read: contest id → selection id → weight.
    pub fn to_json(&self) -> serde_json::Value {
        let contests: BTreeMap<&str, serde_json::Value> = self
            .contests
            .iter()
            .map(|c| {
                let selections: BTreeMap<&str, u64> = c
                    .selections
                    .iter()
                    .map(|(id, n)| (id.as_str(), *n))
                    .collect();
                let write_ins: BTreeMap<&str, u64> = c
                    .write_ins
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(id, n)| (id.as_str(), *n))
                    .collect();
                (
                    c.contest_id.as_str(),
                    serde_json::json!({ "selections": selections, "write_ins": write_ins }),
                )
            })
            .collect();
        serde_json::json!({
            "ballots_counted": self.ballots,
            "weight_counted": self.weight,
            "contests": contests,
        })
    }
}

impl ContestTally {
    fn write_in_count(&mut self, name: &str) -> &mut u64 {
        let name = match self
            .write_ins
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
        {
            Ok(position) => return &mut self.write_ins[position].1,
            Err(_) if self.write_ins.len() >= WRITE_IN_NAMES_MAX => OTHER_WRITE_INS,
            Err(_) => name,
        };
        let position = match self
            .write_ins
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
        {
            Ok(position) => position,
            Err(position) => {
                self.write_ins.insert(position, (name.to_string(), 0));
                position
            }
        };
        &mut self.write_ins[position].1
    }
}
