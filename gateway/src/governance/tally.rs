//! The running tally of an election: weight per selection (in definition order) and per
//! write-in name, updated with every accepted ballot and final once the election closes.

use crate::governance::action::Ballot;
use crate::governance::definition::{position_from, ElectionDefinition};
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

    /// Adds a ballot that passed every rule; returns the write-in entry each write-in was
    /// counted under (its name, or [`OTHER_WRITE_INS`] when the list is full), in ballot order,
    /// which [`Tally::remove`] needs to take the ballot back out.
    pub fn add(&mut self, ballot: &Ballot, weight: u64) -> Vec<String> {
        self.ballots += 1;
        self.weight += weight;
        let mut labels = Vec::new();
        for (contest, selection) in self.marks(ballot) {
            let tally = &mut self.contests[contest];
            tally.selections[selection.0].1 += weight;
            if let Some(name) = selection.1 {
                let label = tally.write_in_label(name);
                *tally.write_in_entry(&label) += weight;
                labels.push(label);
            }
        }
        labels
    }

    /// Takes back a ballot added earlier with its write-in `labels` (a replaced ballot under
    /// `last-counts`). Write-in entries that fall to zero are dropped, so a voter replacing
    /// ballots cannot fill the list of names.
    pub fn remove(&mut self, ballot: &Ballot, weight: u64, labels: &[String]) {
        self.ballots -= 1;
        self.weight -= weight;
        let mut labels = labels.iter();
        for (contest, selection) in self.marks(ballot) {
            let tally = &mut self.contests[contest];
            tally.selections[selection.0].1 -= weight;
            if selection.1.is_some() {
                let label = labels.next().expect("one label per write-in");
                *tally.write_in_entry(label) -= weight;
                tally.write_ins.retain(|(_, count)| *count > 0);
            }
        }
    }

    /// (contest position, (selection position, write-in name)) of every mark of a checked ballot.
    fn marks<'b>(&self, ballot: &'b Ballot) -> Vec<(usize, (usize, Option<&'b str>))> {
        let mut marks = Vec::new();
        let mut contest_from = 0;
        for vote in &ballot.contests {
            let contest = position_from(&self.contests, contest_from, |c| {
                c.contest_id == vote.contest_id
            })
            .expect("a checked ballot names only contests of its election");
            contest_from = contest + 1;
            let mut selection_from = 0;
            for selection in &vote.selections {
                let position = position_from(
                    &self.contests[contest].selections,
                    selection_from,
                    |(id, _)| *id == selection.selection_id,
                )
                .expect("a checked ballot names only selections of its contests");
                selection_from = position + 1;
                marks.push((contest, (position, selection.write_in.as_deref())));
            }
        }
        marks
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
    /// The entry a write-in `name` counts under: its own, unless the list is full.
    fn write_in_label(&self, name: &str) -> String {
        let listed = self
            .write_ins
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .is_ok();
        if listed || self.write_ins.len() < WRITE_IN_NAMES_MAX {
            name.to_string()
        } else {
            OTHER_WRITE_INS.to_string()
        }
    }

    /// The count of entry `label`, created at zero if missing.
    fn write_in_entry(&mut self, label: &str) -> &mut u64 {
        let position = match self
            .write_ins
            .binary_search_by(|(n, _)| n.as_str().cmp(label))
        {
            Ok(position) => position,
            Err(position) => {
                self.write_ins.insert(position, (label.to_string(), 0));
                position
            }
        };
        &mut self.write_ins[position].1
    }
}
