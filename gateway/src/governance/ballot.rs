//! Casting a ballot: the rules every validator checks at the ballot's consensus time, the
//! second-ballot policy, and the tally update.

use crate::governance::action::{Ballot, ContestVote, SecondBallotPolicy, SelectionVote};
use crate::governance::definition::{position_from, Contest, ElectionDefinition, Selection};
use crate::governance::election;
use crate::governance::overlay::{Overlay, StateError};
use crate::governance::reason::{reject, Reason, Rejection};
use crate::governance::records::{self, BallotRecord, ElectionStatus};
use crate::governance::spec_cache::SpecCache;
use crate::governance::tally::Tally;
use crate::governance::{Applied, TxContext};
use std::borrow::Cow;

/// Longest write-in name.
pub const WRITE_IN_BYTES_MAX: usize = 128;

/// A ballot that passed every rule, with what counting it needs.
struct Admitted {
    /// Where the voter's ballot record is kept.
    ballot_key: Vec<u8>,
    weight: u64,
    /// The voter's counted ballot before this one (only under last-counts).
    earlier: Option<BallotRecord<'static>>,
    ballots_accepted: u32,
}

impl Admitted {
    fn applied(&self) -> Applied {
        Applied::BallotCounted {
            replaced_earlier: self.ballots_accepted > 1,
        }
    }
}

/// Applies the ballot: the rules, then the tally and the voter's ballot record.
pub fn cast(
    specs: &SpecCache,
    state: &mut Overlay,
    tx: &TxContext,
    ballot: &Ballot,
) -> Result<Result<Applied, Rejection>, StateError> {
    let admitted = match admit(specs, state, tx, ballot)? {
        Ok(admitted) => admitted,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let applied = admitted.applied();
    count(state, tx, ballot, admitted)?;
    Ok(Ok(applied))
}

/// The verdict `cast` would give, without counting. Counting cannot reject a ballot that the
/// rules admitted, and it is the costly part for a long ballot (the election's whole tally is
/// decoded), so the gateway's early check, run for every submission, stops before it.
pub fn check(
    specs: &SpecCache,
    state: &mut Overlay,
    tx: &TxContext,
    ballot: &Ballot,
) -> Result<Result<Applied, Rejection>, StateError> {
    Ok(admit(specs, state, tx, ballot)?.map(|admitted| admitted.applied()))
}

/// Every rule of a ballot at its consensus time; reads only.
fn admit(
    specs: &SpecCache,
    state: &mut Overlay,
    tx: &TxContext,
    ballot: &Ballot,
) -> Result<Result<Admitted, Rejection>, StateError> {
    let id = &ballot.election_id;
    let Some(record) = election::current(state, tx, id)? else {
        return Ok(reject(
            Reason::UnknownElection,
            format!("there is no election `{id}`"),
        ));
    };
    if record.manifest_hash != ballot.manifest_hash {
        return Ok(reject(
            Reason::WrongManifest,
            format!(
                "the ballot names manifest {}, election `{id}` has {}",
                crate::hex::encode(&ballot.manifest_hash),
                crate::hex::encode(&record.manifest_hash)
            ),
        ));
    }
    if record.status != ElectionStatus::Open {
        return Ok(reject(
            Reason::NotOpen,
            format!(
                "election `{id}` is {} at this ballot's consensus time",
                record.status.name()
            ),
        ));
    }
    let Some(entry) = records::read_roll(state, id, &tx.signer)? else {
        return Ok(reject(
            Reason::NotOnRoll,
            format!(
                "voter {} is not on the roll of `{id}`",
                crate::hex::encode(&tx.signer)
            ),
        ));
    };
    if entry.ballot_style != ballot.ballot_style {
        return Ok(reject(
            Reason::WrongBallotStyle,
            format!(
                "the ballot uses style `{}`; this voter's style is `{}`",
                ballot.ballot_style, entry.ballot_style
            ),
        ));
    }
    let spec = specs.get(state, id)?.expect("an election has a spec");
    if let Err(rejection) = check_selections(&spec.definition, ballot) {
        return Ok(Err(rejection));
    }
    let ballot_key = records::ballot_key(id, &tx.signer);
    let earlier: Option<BallotRecord<'static>> = records::read(state, &ballot_key)?;
    let mut ballots_accepted = 1;
    if let Some(earlier) = &earlier {
        if spec.policy == SecondBallotPolicy::FirstCounts {
            return Ok(reject(
                Reason::AlreadyVoted,
                format!(
                    "this voter's ballot at index {} counts (policy first-counts)",
                    earlier.index
                ),
            ));
        }
        ballots_accepted = earlier.ballots_accepted + 1;
    }
    Ok(Ok(Admitted {
        ballot_key,
        weight: entry.weight,
        earlier,
        ballots_accepted,
    }))
}

/// Counts an admitted ballot. Nothing rejects it here, as a change to the kept tally requires.
fn count(
    state: &mut Overlay,
    tx: &TxContext,
    ballot: &Ballot,
    admitted: Admitted,
) -> Result<(), StateError> {
    let Admitted {
        ballot_key,
        weight,
        earlier,
        ballots_accepted,
    } = admitted;
    let add = |tally: &mut Tally| {
        if let Some(earlier) = &earlier {
            tally.remove(&earlier.ballot, earlier.weight, &earlier.write_in_labels);
        }
        tally.add(ballot, weight)
    };
    let write_in_labels = state
        .update_decoded(&records::tally_key(&ballot.election_id), add)?
        .expect("an election has a tally");
    let stored = BallotRecord {
        tx_id: tx.tx_id,
        index: tx.index,
        weight,
        ballot: Cow::Borrowed(ballot),
        write_in_labels,
        ballots_accepted,
    };
    records::write(state, ballot_key, &stored);
    Ok(())
}

/// Style, contests and selections: everything about a ballot that needs only the definition.
pub fn check_selections(definition: &ElectionDefinition, ballot: &Ballot) -> Result<(), Rejection> {
    let Some(style) = definition.ballot_style(&ballot.ballot_style) else {
        return reject(
            Reason::WrongBallotStyle,
            format!("the election has no ballot style `{}`", ballot.ballot_style),
        );
    };
    if ballot.contests.is_empty() {
        return reject(Reason::EmptyBallot, "the ballot marks no contest");
    }
    let mut contests_seen = vec![false; definition.contests.len()];
    let (mut in_style_from, mut contest_from) = (0, 0);
    for vote in &ballot.contests {
        let named = |id: &String| *id == vote.contest_id;
        let Some(in_style) = position_from(&style.contest_ids, in_style_from, named) else {
            return reject(
                Reason::ContestNotInStyle,
                format!(
                    "contest `{}` is not on ballot style `{}`",
                    vote.contest_id, style.object_id
                ),
            );
        };
        in_style_from = in_style + 1;
        let position = position_from(&definition.contests, contest_from, |c| {
            c.object_id == vote.contest_id
        })
        .expect("styles name defined contests");
        contest_from = position + 1;
        if std::mem::replace(&mut contests_seen[position], true) {
            return reject(
                Reason::DuplicateContest,
                format!("contest `{}` appears twice", vote.contest_id),
            );
        }
        check_contest(&definition.contests[position], vote)?;
    }
    Ok(())
}

/// The selections of one contest on the ballot.
fn check_contest(contest: &Contest, vote: &ContestVote) -> Result<(), Rejection> {
    if vote.selections.is_empty() {
        return reject(
            Reason::EmptyBallot,
            format!(
                "contest `{}` is listed with no selection; leave it out",
                vote.contest_id
            ),
        );
    }
    if vote.selections.len() > contest.votes_allowed as usize {
        return reject(
            Reason::Overvote,
            format!(
                "contest `{}` allows {} selections; the ballot marks {}",
                contest.object_id,
                contest.votes_allowed,
                vote.selections.len()
            ),
        );
    }
    let mut selections_seen = vec![false; contest.selections.len()];
    let mut from = 0;
    for selection in &vote.selections {
        let named = |s: &Selection| s.object_id == selection.selection_id;
        let Some(position) = position_from(&contest.selections, from, named) else {
            return reject(
                Reason::UnknownSelection,
                format!(
                    "contest `{}` has no selection `{}`",
                    contest.object_id, selection.selection_id
                ),
            );
        };
        from = position + 1;
        if std::mem::replace(&mut selections_seen[position], true) {
            return reject(
                Reason::DuplicateSelection,
                format!("selection `{}` is marked twice", selection.selection_id),
            );
        }
        check_write_in(&contest.selections[position], selection)?;
    }
    Ok(())
}

fn check_write_in(defined: &Selection, selection: &SelectionVote) -> Result<(), Rejection> {
    let Some(name) = &selection.write_in else {
        return Ok(());
    };
    if !defined.write_in {
        return reject(
            Reason::WriteInNotAllowed,
            format!("selection `{}` is not a write-in line", defined.object_id),
        );
    }
    if name.trim().is_empty() || name.len() > WRITE_IN_BYTES_MAX {
        return reject(
            Reason::WriteInNotAllowed,
            format!("a write-in name must be 1 to {WRITE_IN_BYTES_MAX} bytes"),
        );
    }
    Ok(())
}
