//! Deterministic replay of a DAG fixture: the engine's test and audit surface.
//!
//! A fixture names members and events; the replay gives each member a deterministic test key
//! ([`crate::test_keys`]), builds and signs the events in the order listed, inserts them into
//! an observer engine and reports, for every event, what consensus decided about it.

use crate::config::EngineConfig;
use crate::encoding::{ParentRef, UnsignedEvent};
use crate::engine::{Engine, InsertOutcome};
use crate::event::VerifiedEvent;
use crate::members::MemberSet;
use crate::output::Output;
use crate::test_keys::signing_key_for;
use crate::types::{EventId, MemberId, Round, TimestampNs};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A DAG fixture. `weights` default to 1 and `coin_frequency` to the engine default.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Fixture {
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coin_frequency: Option<u64>,
    pub events: Vec<FixtureEvent>,
}

/// One event, parents listed before it. `birth_round` defaults to the replaying engine's latest
/// decided round + 1 (raised to the parents' birth rounds).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FixtureEvent {
    pub id: String,
    pub creator: String,
    pub self_parent: Option<String>,
    pub other_parent: Option<String>,
    pub timestamp: TimestampNs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_round: Option<Round>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transactions: Vec<String>,
}

/// What consensus decided about one event; `None` is JSON null (not decided, or never entered
/// the DAG).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventReport {
    pub id: String,
    pub round: Option<Round>,
    pub witness: Option<bool>,
    pub famous: Option<bool>,
    pub round_received: Option<Round>,
    pub consensus_timestamp: Option<TimestampNs>,
    pub order: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReplayReport {
    pub events: Vec<EventReport>,
}

/// A bad fixture, in one line naming the culprit.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("malformed fixture JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("fixture lists no members")]
    NoMembers,
    #[error("member {0:?} is listed twice")]
    DuplicateMember(String),
    #[error("{weights} weights given for {members} members")]
    WeightCount { weights: usize, members: usize },
    #[error("bad validator set: {0}")]
    Members(#[from] crate::members::MemberSetError),
    #[error("bad engine configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("event {event:?}: id is used by an earlier event")]
    DuplicateId { event: String },
    #[error("event {event:?}: creator {creator:?} is not a member")]
    UnknownCreator { event: String, creator: String },
    #[error("event {event:?}: parent {parent:?} is not listed before it")]
    UnknownParent { event: String, parent: String },
    #[error("event {event:?}: self-parent {parent:?} was created by {parent_creator:?}, not {creator:?}")]
    SelfParentWrongCreator {
        event: String,
        parent: String,
        parent_creator: String,
        creator: String,
    },
    #[error("event {event:?}: rejected by the engine: {reason}")]
    Rejected { event: String, reason: String },
}

struct Built {
    id: EventId,
    creator: MemberId,
    seq: u64,
    birth_round: Round,
}

impl Fixture {
    pub fn from_json(text: &str) -> Result<Fixture, FixtureError> {
        Ok(serde_json::from_str(text)?)
    }

    pub fn member_set(&self) -> Result<MemberSet, FixtureError> {
        if self.members.is_empty() {
            return Err(FixtureError::NoMembers);
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = self.members.iter().find(|m| !seen.insert(*m)) {
            return Err(FixtureError::DuplicateMember(dup.clone()));
        }
        let weights = match &self.weights {
            Some(w) if w.len() != self.members.len() => {
                return Err(FixtureError::WeightCount {
                    weights: w.len(),
                    members: self.members.len(),
                })
            }
            Some(w) => w.clone(),
            None => vec![1; self.members.len()],
        };
        let named = self.members.iter().map(String::as_str).zip(weights);
        Ok(crate::test_keys::member_set(named)?)
    }

    /// The engine configuration of a replay. A fixture that gives no birth rounds (a graph
    /// written by hand) is replayed with nothing ever ancient, exactly by the reference rules;
    /// one with birth rounds (generated from a simulated network) keeps the default window, so
    /// that its replay also exercises pruning.
    pub fn engine_config(&self) -> EngineConfig {
        let mut config = EngineConfig::default();
        if let Some(c) = self.coin_frequency {
            config.coin_frequency = c;
        }
        if self.events.iter().all(|e| e.birth_round.is_none()) {
            config.ancient_window_rounds = UNBOUNDED_ANCIENT_WINDOW;
        }
        config
    }
}

/// An ancient window no DAG can reach (and no sum of rounds can overflow).
pub const UNBOUNDED_ANCIENT_WINDOW: Round = u64::MAX / 8;

/// Replays a fixture with the configuration it asks for ([`Fixture::engine_config`]).
pub fn replay(fixture: &Fixture) -> Result<ReplayReport, FixtureError> {
    replay_with(fixture, fixture.engine_config())
}

/// Replays a fixture with an explicit engine configuration.
pub fn replay_with(fixture: &Fixture, config: EngineConfig) -> Result<ReplayReport, FixtureError> {
    Ok(run(fixture, config)?.0)
}

/// The birth round each event of the fixture gets when replayed in the listed order.
pub fn birth_rounds(fixture: &Fixture) -> Result<Vec<Round>, FixtureError> {
    Ok(run(fixture, fixture.engine_config())?.1)
}

fn run(
    fixture: &Fixture,
    config: EngineConfig,
) -> Result<(ReplayReport, Vec<Round>), FixtureError> {
    let members = fixture.member_set()?;
    let mut engine = Engine::new(config, members, None)?;
    let mut recorder = Recorder::new(fixture);
    let mut builder = Builder::new(fixture);
    let mut births = Vec::with_capacity(fixture.events.len());
    for (position, fe) in fixture.events.iter().enumerate() {
        let event = builder.build(fe, engine.last_decided_round())?;
        recorder.ids.insert(event.id(), position);
        births.push(event.birth_round());
        let outcome = engine.insert(event).map_err(|e| FixtureError::Rejected {
            event: fe.id.clone(),
            reason: e.reason.to_string(),
        })?;
        if let InsertOutcome::Inserted { round, witness } = outcome {
            recorder.reports[position].round = Some(round);
            recorder.reports[position].witness = Some(witness);
        }
        recorder.absorb(engine.drain_outputs());
    }
    recorder.fill_from_engine(&engine, &builder, fixture);
    let report = ReplayReport {
        events: recorder.reports,
    };
    Ok((report, births))
}

/// The fixture's events, built and signed with the test keys, in the listed order. A missing
/// `birth_round` becomes the highest of the parents' (1 without parents).
pub fn signed_events(fixture: &Fixture) -> Result<Vec<VerifiedEvent>, FixtureError> {
    let mut builder = Builder::new(fixture);
    fixture
        .events
        .iter()
        .map(|fe| builder.build(fe, 0))
        .collect()
}

/// Turns fixture events into signed events, remembering what later events need of them.
struct Builder<'f> {
    fixture: &'f Fixture,
    index: HashMap<&'f str, MemberId>,
    built: HashMap<&'f str, Built>,
}

impl<'f> Builder<'f> {
    fn new(fixture: &'f Fixture) -> Self {
        Builder {
            fixture,
            index: fixture
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| (m.as_str(), MemberId(i as u32)))
                .collect(),
            built: HashMap::new(),
        }
    }

    /// Builds and signs `fe`; without a fixture birth round it is born in
    /// `last_decided + 1`, raised to its parents' birth rounds.
    fn build(
        &mut self,
        fe: &'f FixtureEvent,
        last_decided: Round,
    ) -> Result<VerifiedEvent, FixtureError> {
        let event = build_event(self.fixture, fe, &self.index, &self.built, last_decided)?;
        let built = Built {
            id: event.id(),
            creator: event.creator(),
            seq: event.creator_seq(),
            birth_round: event.birth_round(),
        };
        self.built.insert(fe.id.as_str(), built);
        Ok(event)
    }

    fn id_of(&self, name: &str) -> Option<EventId> {
        self.built.get(name).map(|b| b.id)
    }
}

fn build_event(
    fixture: &Fixture,
    fe: &FixtureEvent,
    index: &HashMap<&str, MemberId>,
    built: &HashMap<&str, Built>,
    last_decided: Round,
) -> Result<VerifiedEvent, FixtureError> {
    if built.contains_key(fe.id.as_str()) {
        return Err(FixtureError::DuplicateId {
            event: fe.id.clone(),
        });
    }
    let creator = *index
        .get(fe.creator.as_str())
        .ok_or_else(|| FixtureError::UnknownCreator {
            event: fe.id.clone(),
            creator: fe.creator.clone(),
        })?;
    let parent = |name: &Option<String>| -> Result<Option<&Built>, FixtureError> {
        name.as_ref()
            .map(|p| {
                built
                    .get(p.as_str())
                    .ok_or_else(|| FixtureError::UnknownParent {
                        event: fe.id.clone(),
                        parent: p.clone(),
                    })
            })
            .transpose()
    };
    let self_parent = parent(&fe.self_parent)?;
    let other_parent = parent(&fe.other_parent)?;
    if let Some(sp) = self_parent {
        if sp.creator != creator {
            return Err(FixtureError::SelfParentWrongCreator {
                event: fe.id.clone(),
                parent: fe.self_parent.clone().unwrap_or_default(),
                parent_creator: fixture.members[sp.creator.index()].clone(),
                creator: fe.creator.clone(),
            });
        }
    }
    let parent_births = self_parent
        .iter()
        .chain(&other_parent)
        .map(|p| p.birth_round);
    let birth_round = fe
        .birth_round
        .unwrap_or_else(|| parent_births.fold(last_decided + 1, Round::max));
    let to_ref = |p: &Built| ParentRef {
        id: p.id,
        birth_round: p.birth_round,
    };
    let unsigned = UnsignedEvent {
        creator,
        creator_seq: self_parent.map_or(0, |sp| sp.seq + 1),
        birth_round,
        timestamp_ns: fe.timestamp,
        self_parent: self_parent.map(to_ref),
        other_parent: other_parent.map(to_ref),
        transactions: fe
            .transactions
            .iter()
            .map(|t| t.as_bytes().to_vec())
            .collect(),
    };
    let key = signing_key_for(&fe.creator);
    Ok(VerifiedEvent::sign(unsigned, &key))
}

struct Recorder {
    ids: HashMap<EventId, usize>,
    reports: Vec<EventReport>,
}

impl Recorder {
    fn new(fixture: &Fixture) -> Recorder {
        Recorder {
            ids: HashMap::new(),
            reports: fixture
                .events
                .iter()
                .map(|e| EventReport {
                    id: e.id.clone(),
                    round: None,
                    witness: None,
                    famous: None,
                    round_received: None,
                    consensus_timestamp: None,
                    order: None,
                })
                .collect(),
        }
    }

    fn absorb(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::FameDecided {
                    witness, famous, ..
                } => {
                    if let Some(&i) = self.ids.get(&witness) {
                        self.reports[i].famous = Some(famous);
                    }
                }
                Output::Ordered(o) => {
                    if let Some(&i) = self.ids.get(&o.event.id()) {
                        let r = &mut self.reports[i];
                        r.round_received = Some(o.round_received);
                        r.consensus_timestamp = Some(o.consensus_timestamp_ns);
                        r.order = Some(o.order);
                    }
                }
                _ => {}
            }
        }
    }

    /// Events released from the future buffer were inserted without an outcome: ask the engine.
    fn fill_from_engine(&mut self, engine: &Engine, builder: &Builder, fixture: &Fixture) {
        for (report, fe) in self.reports.iter_mut().zip(&fixture.events) {
            if report.round.is_some() {
                continue;
            }
            if let Some(status) = builder.id_of(&fe.id).and_then(|id| engine.status(&id)) {
                report.round = Some(status.round);
                report.witness = Some(status.witness);
            }
        }
    }
}
