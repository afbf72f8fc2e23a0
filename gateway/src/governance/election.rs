//! Elections: creation from a checked definition, the voter roll (amendable only while the
//! election is a draft), and the lifecycle draft → open → closed → tallied, by administrator
//! action or by schedule, always judged at the transaction's consensus time.

use crate::governance::action::{ElectionSpec, RollEntry};
use crate::governance::overlay::{Overlay, StateError};
use crate::governance::reason::{reject, Reason, Rejection};
use crate::governance::records::{self, ElectionRecord, ElectionStatus};
use crate::governance::tally::Tally;
use crate::governance::TxContext;

/// Most voters added or removed by one roll amendment.
pub const ROLL_ENTRIES_PER_ACTION_MAX: usize = 10_000;
/// Largest weight of one voter or community member (so sums cannot overflow).
pub const WEIGHT_MAX: u64 = 1_000_000;

type Checked = Result<Result<(), Rejection>, StateError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Open,
    Close,
    Publish,
}

pub fn check_create(state: &Overlay, tx: &TxContext, spec: &ElectionSpec) -> Checked {
    let id = &spec.definition.election_id;
    if let Err(r) = records::check_key_id("election", id) {
        return Ok(Err(r));
    }
    if let Err(e) = spec.definition.validate() {
        return Ok(reject(Reason::InvalidDefinition, e.to_string()));
    }
    if let (Some(open), Some(close)) = (spec.open_at_ns, spec.close_at_ns) {
        if close <= open {
            return Ok(reject(
                Reason::InvalidSchedule,
                "the scheduled close is not after the scheduled open",
            ));
        }
    }
    if spec
        .close_at_ns
        .is_some_and(|close| close <= tx.consensus_ns)
    {
        return Ok(reject(
            Reason::InvalidSchedule,
            "the scheduled close is already past in consensus time",
        ));
    }
    if state.get(&records::election_status_key(id))?.is_some() {
        return Ok(reject(
            Reason::ElectionExists,
            format!("election `{id}` already exists"),
        ));
    }
    Ok(Ok(()))
}

pub fn create(state: &mut Overlay, tx: &TxContext, spec: &ElectionSpec) -> Result<(), StateError> {
    let definition = &spec.definition;
    let id = &definition.election_id;
    let record = ElectionRecord {
        election_id: id.clone(),
        manifest_hash: definition.manifest_hash(),
        status: ElectionStatus::Draft,
        open_at_ns: spec.open_at_ns,
        close_at_ns: spec.close_at_ns,
        created_index: tx.index,
        opened_ns: None,
        closed_ns: None,
        roll_voters: 0,
        roll_weight: 0,
    };
    records::write(state, records::election_status_key(id), &record);
    records::write(state, records::election_spec_key(id), spec);
    records::write(state, records::tally_key(id), &Tally::empty(definition));
    if let Some(close_at) = spec.close_at_ns {
        schedule_close(state, close_at, id)?;
    }
    Ok(())
}

/// Scheduled closes not passed yet, earliest first: (close time, election id).
type Schedule = Vec<(u64, String)>;

const SCHEDULE_KEY: &[u8] = b"gov/schedule/closes";

fn schedule_close(state: &mut Overlay, close_at: u64, id: &str) -> Result<(), StateError> {
    let mut schedule: Schedule = records::read(state, SCHEDULE_KEY)?.unwrap_or_default();
    let entry = (close_at, id.to_string());
    let at = schedule.partition_point(|e| *e < entry);
    schedule.insert(at, entry);
    records::write(state, SCHEDULE_KEY.to_vec(), &schedule);
    Ok(())
}

/// Closes, as of `tx`'s consensus time, every election whose scheduled close has passed and
/// that is still a draft or open (its record says so from then on). Returns how many it
/// closed. Validators and auditors run it before every ordered transaction, so a scheduled
/// close takes effect at the same place in the order everywhere, even with no transaction
/// touching the election.
pub fn close_due(state: &mut Overlay, tx: &TxContext) -> Result<usize, StateError> {
    let Some(schedule) = records::read::<Schedule>(state, SCHEDULE_KEY)? else {
        return Ok(0);
    };
    let due = schedule.partition_point(|(at, _)| *at <= tx.consensus_ns);
    if due == 0 {
        return Ok(0);
    }
    let mut closed = 0;
    for (_, id) in &schedule[..due] {
        let key = records::election_status_key(id);
        let before = records::read::<ElectionRecord>(state, &key)?.map(|r| r.status);
        let after = current(state, tx, id)?.map(|r| r.status);
        if before != after && after == Some(ElectionStatus::Closed) {
            closed += 1;
        }
    }
    let rest: Schedule = schedule[due..].to_vec();
    if rest.is_empty() {
        state.delete(SCHEDULE_KEY.to_vec());
    } else {
        records::write(state, SCHEDULE_KEY.to_vec(), &rest);
    }
    Ok(closed)
}

/// The election's record with its schedule applied at the transaction's time (and stored, if
/// the schedule changed its status).
pub fn current(
    state: &mut Overlay,
    tx: &TxContext,
    election_id: &str,
) -> Result<Option<ElectionRecord>, StateError> {
    let key = records::election_status_key(election_id);
    let Some(mut record) = records::read::<ElectionRecord>(state, &key)? else {
        return Ok(None);
    };
    let status = record.status_at(tx.consensus_ns);
    if status != record.status {
        if status == ElectionStatus::Open {
            record.opened_ns = record.open_at_ns;
        }
        if status == ElectionStatus::Closed {
            record.closed_ns = record.close_at_ns;
        }
        record.status = status;
        records::write(state, key, &record);
    }
    Ok(Some(record))
}

fn read_at(
    state: &Overlay,
    tx: &TxContext,
    election_id: &str,
) -> Result<Result<ElectionRecord, Rejection>, StateError> {
    match records::read::<ElectionRecord>(state, &records::election_status_key(election_id))? {
        None => Ok(reject(
            Reason::UnknownElection,
            format!("there is no election `{election_id}`"),
        )),
        Some(mut record) => {
            record.status = record.status_at(tx.consensus_ns);
            Ok(Ok(record))
        }
    }
}

pub fn check_amend_roll(
    state: &Overlay,
    tx: &TxContext,
    election_id: &str,
    add: &[RollEntry],
    remove: &[[u8; 32]],
) -> Checked {
    let record = match read_at(state, tx, election_id)? {
        Ok(record) => record,
        Err(r) => return Ok(Err(r)),
    };
    if record.status != ElectionStatus::Draft {
        return Ok(reject(
            Reason::NotDraft,
            format!(
                "the roll of `{election_id}` can only change while it is a draft; it is {}",
                record.status.name()
            ),
        ));
    }
    if add.len() + remove.len() > ROLL_ENTRIES_PER_ACTION_MAX {
        return Ok(reject(
            Reason::InvalidRoll,
            format!("at most {ROLL_ENTRIES_PER_ACTION_MAX} roll entries per amendment"),
        ));
    }
    let spec = records::read_spec(state, election_id)?.expect("an election has a spec");
    for entry in add {
        if spec.definition.ballot_style(&entry.ballot_style).is_none() {
            return Ok(reject(
                Reason::InvalidRoll,
                format!(
                    "voter {} has ballot style `{}`, which election `{election_id}` does not define",
                    crate::hex::encode(&entry.voter),
                    entry.ballot_style
                ),
            ));
        }
        if entry.weight == 0 || entry.weight > WEIGHT_MAX {
            return Ok(reject(
                Reason::InvalidRoll,
                format!(
                    "voter {} has weight {}; it must be 1 to {WEIGHT_MAX}",
                    crate::hex::encode(&entry.voter),
                    entry.weight
                ),
            ));
        }
    }
    Ok(Ok(()))
}

pub fn amend_roll(
    state: &mut Overlay,
    election_id: &str,
    add: &[RollEntry],
    remove: &[[u8; 32]],
) -> Result<(), StateError> {
    let key = records::election_status_key(election_id);
    let mut record: ElectionRecord = records::read(state, &key)?.expect("checked before");
    for voter in remove {
        let roll_key = records::roll_key(election_id, voter);
        if let Some(old) = records::read::<RollEntry>(state, &roll_key)? {
            record.roll_voters -= 1;
            record.roll_weight -= old.weight;
            state.delete(roll_key);
        }
    }
    for entry in add {
        let roll_key = records::roll_key(election_id, &entry.voter);
        match records::read::<RollEntry>(state, &roll_key)? {
            Some(old) => record.roll_weight -= old.weight,
            None => record.roll_voters += 1,
        }
        record.roll_weight += entry.weight;
        records::write(state, roll_key, entry);
    }
    records::write(state, key, &record);
    Ok(())
}

pub fn check_transition(
    state: &Overlay,
    tx: &TxContext,
    election_id: &str,
    transition: Transition,
) -> Checked {
    let record = match read_at(state, tx, election_id)? {
        Ok(record) => record,
        Err(r) => return Ok(Err(r)),
    };
    let (needed, reason) = match transition {
        Transition::Open => (ElectionStatus::Draft, Reason::NotDraft),
        Transition::Close => (ElectionStatus::Open, Reason::NotOpen),
        Transition::Publish => (ElectionStatus::Closed, Reason::NotClosed),
    };
    if record.status != needed {
        return Ok(reject(
            reason,
            format!(
                "election `{election_id}` is {}; this needs it {}",
                record.status.name(),
                needed.name()
            ),
        ));
    }
    Ok(Ok(()))
}

pub fn transition(
    state: &mut Overlay,
    tx: &TxContext,
    election_id: &str,
    transition: Transition,
) -> Result<(), StateError> {
    let mut record = current(state, tx, election_id)?.expect("checked before");
    match transition {
        Transition::Open => {
            record.status = ElectionStatus::Open;
            record.opened_ns = Some(tx.consensus_ns);
        }
        Transition::Close => {
            record.status = ElectionStatus::Closed;
            record.closed_ns = Some(tx.consensus_ns);
        }
        Transition::Publish => record.status = ElectionStatus::Tallied,
    }
    records::write(state, records::election_status_key(election_id), &record);
    Ok(())
}
