//! Import of ElectionGuard 1.x files: the election manifest becomes an [`ElectionDefinition`]
//! and a plaintext ballot becomes a [`Ballot`].
//!
//! Election authorities already describe elections in ElectionGuard's manifest format, so
//! votegraph reads it rather than inventing another. The reading is strict: every field the 1.0
//! schema defines is declared and any other is refused by name (a typo must not silently change
//! an election), cross references are checked, and vote variations votegraph cannot tally are
//! refused instead of being counted as something they are not.

use crate::governance::action::{Ballot, ContestVote, SelectionVote};
use crate::governance::definition::{
    BallotStyle, Contest, ElectionDefinition, Selection, VoteVariation,
};
use crate::governance::manifest_error::ManifestError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

/// The manifest `spec_version`s this reader understands (the 1.0 schema's enum).
pub const SPEC_VERSIONS: [&str; 2] = ["v0.95", "1.0"];

// The manifest as ElectionGuard writes it. Fields votegraph ignores are still declared, so that
// `deny_unknown_fields` accepts exactly the schema's fields; hence `allow(dead_code)`.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Manifest {
    election_scope_id: String,
    spec_version: String,
    #[serde(rename = "type")]
    election_type: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    geopolitical_units: Vec<GeopoliticalUnit>,
    parties: Option<Vec<Party>>,
    candidates: Vec<Candidate>,
    contests: Vec<ContestDescription>,
    ballot_styles: Vec<BallotStyleDescription>,
    name: Option<InternationalizedText>,
    contact_information: Option<ContactInformation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InternationalizedText {
    #[serde(default)]
    text: Vec<Language>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Language {
    #[serde(default)]
    value: String,
    language: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ContactInformation {
    address_line: Option<Vec<String>>,
    email: Option<Vec<AnnotatedString>>,
    phone: Option<Vec<AnnotatedString>>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct AnnotatedString {
    annotation: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct GeopoliticalUnit {
    object_id: String,
    name: Option<String>,
    #[serde(rename = "type")]
    unit_type: Option<String>,
    contact_information: Option<ContactInformation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Party {
    object_id: String,
    name: Option<InternationalizedText>,
    abbreviation: Option<String>,
    color: Option<String>,
    logo_uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Candidate {
    object_id: String,
    name: Option<InternationalizedText>,
    party_id: Option<String>,
    image_uri: Option<String>,
    is_write_in: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ContestDescription {
    object_id: String,
    sequence_order: Option<u64>,
    electoral_district_id: String,
    vote_variation: String,
    number_elected: Option<u32>,
    votes_allowed: Option<u32>,
    name: Option<String>,
    ballot_selections: Vec<SelectionDescription>,
    ballot_title: Option<InternationalizedText>,
    ballot_subtitle: Option<InternationalizedText>,
    primary_party_ids: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectionDescription {
    object_id: String,
    sequence_order: Option<u64>,
    candidate_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct BallotStyleDescription {
    object_id: String,
    geopolitical_unit_ids: Option<Vec<String>>,
    party_ids: Option<Vec<String>>,
    image_uri: Option<String>,
}

// A plaintext ballot as ElectionGuard writes it.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PlaintextBallot {
    object_id: String,
    style_id: String,
    contests: Vec<PlaintextContest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PlaintextContest {
    object_id: String,
    sequence_order: Option<u64>,
    ballot_selections: Vec<PlaintextSelection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PlaintextSelection {
    object_id: String,
    sequence_order: Option<u64>,
    vote: i64,
    is_placeholder_selection: Option<bool>,
    write_in: Option<String>,
    extended_data: Option<ExtendedData>,
}

/// ElectionGuard's (Python) carrier for a write-in name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ExtendedData {
    value: String,
    length: Option<u64>,
}

/// Reads an ElectionGuard manifest (spec_version `v0.95` or `1.0`) and checks the result.
pub fn parse_manifest(json: &str) -> Result<ElectionDefinition, ManifestError> {
    let manifest: Manifest = from_json(json)?;
    if !SPEC_VERSIONS.contains(&manifest.spec_version.as_str()) {
        return Err(ManifestError::UnsupportedSpecVersion(
            manifest.spec_version.clone(),
        ));
    }
    let candidates = candidate_write_ins(&manifest.candidates)?;
    let units = unit_ids(&manifest.geopolitical_units)?;
    let mut ordered: Vec<&ContestDescription> = manifest.contests.iter().collect();
    ordered.sort_by_key(|c| order(c.sequence_order));
    let contests = ordered
        .iter()
        .map(|c| contest(c, &candidates, &units))
        .collect::<Result<Vec<_>, _>>()?;
    let ballot_styles = manifest
        .ballot_styles
        .iter()
        .map(|s| ballot_style(s, &ordered, &units))
        .collect::<Result<Vec<_>, _>>()?;
    let definition = ElectionDefinition {
        election_id: manifest.election_scope_id.clone(),
        name: election_name(&manifest),
        contests,
        ballot_styles,
    };
    definition.validate()?;
    Ok(definition)
}

/// Reads an ElectionGuard plaintext ballot for `definition`, keeping the marked (vote 1),
/// non-placeholder selections; contests with none are left out. Only the file's shape is
/// checked here: whether its style, contests and selections exist is for the state machine,
/// which records the reason when it rejects a ballot.
pub fn parse_plaintext_ballot(
    json: &str,
    definition: &ElectionDefinition,
    manifest_hash: [u8; 32],
) -> Result<Ballot, ManifestError> {
    let ballot: PlaintextBallot = from_json(json)?;
    let mut contests = Vec::with_capacity(ballot.contests.len());
    for contest in ballot.contests {
        if let Some(vote) = contest_vote(contest)? {
            contests.push(vote);
        }
    }
    Ok(Ballot {
        election_id: definition.election_id.clone(),
        manifest_hash,
        ballot_style: ballot.style_id,
        contests,
    })
}

/// Maps a vote variation name to what votegraph tallies; any other is refused.
pub(crate) fn vote_variation(contest: &str, name: &str) -> Result<VoteVariation, ManifestError> {
    match name {
        "one_of_m" => Ok(VoteVariation::OneOfM),
        "n_of_m" => Ok(VoteVariation::NOfM),
        other => Err(ManifestError::UnsupportedVariation {
            contest: contest.to_string(),
            variation: other.to_string(),
        }),
    }
}

fn from_json<T: DeserializeOwned>(json: &str) -> Result<T, ManifestError> {
    serde_json::from_str(json).map_err(|e| ManifestError::Json(e.to_string()))
}

/// Sort key: a missing sequence_order sorts last; the stable sort keeps file order for ties.
fn order(sequence_order: Option<u64>) -> u64 {
    sequence_order.unwrap_or(u64::MAX)
}

/// The first non-empty name, English preferred; else the election's id.
fn election_name(manifest: &Manifest) -> String {
    let texts: &[Language] = manifest
        .name
        .as_ref()
        .map(|n| n.text.as_slice())
        .unwrap_or_default();
    let named = move || texts.iter().filter(|t| !t.value.is_empty());
    named()
        .find(is_english)
        .or_else(|| named().next())
        .map_or_else(|| manifest.election_scope_id.clone(), |t| t.value.clone())
}

fn is_english(text: &&Language) -> bool {
    matches!(text.language.as_deref(), Some(l) if l == "en" || l.starts_with("en-"))
}

/// Candidate id → whether it is a write-in line.
fn candidate_write_ins(candidates: &[Candidate]) -> Result<HashMap<&str, bool>, ManifestError> {
    let mut map = HashMap::with_capacity(candidates.len());
    for candidate in candidates {
        let write_in = candidate.is_write_in == Some(true);
        if map.insert(candidate.object_id.as_str(), write_in).is_some() {
            return Err(duplicate("candidate", &candidate.object_id));
        }
    }
    Ok(map)
}

fn unit_ids(units: &[GeopoliticalUnit]) -> Result<HashSet<&str>, ManifestError> {
    let mut ids = HashSet::with_capacity(units.len());
    for unit in units {
        if !ids.insert(unit.object_id.as_str()) {
            return Err(duplicate("geopolitical unit", &unit.object_id));
        }
    }
    Ok(ids)
}

fn duplicate(what: &'static str, id: &str) -> ManifestError {
    ManifestError::DuplicateManifestId {
        what,
        id: id.to_string(),
    }
}

fn contest(
    description: &ContestDescription,
    candidates: &HashMap<&str, bool>,
    units: &HashSet<&str>,
) -> Result<Contest, ManifestError> {
    let variation = vote_variation(&description.object_id, &description.vote_variation)?;
    if !units.contains(description.electoral_district_id.as_str()) {
        return Err(ManifestError::UnknownElectoralDistrict {
            contest: description.object_id.clone(),
            district: description.electoral_district_id.clone(),
        });
    }
    let mut ordered: Vec<&SelectionDescription> = description.ballot_selections.iter().collect();
    ordered.sort_by_key(|s| order(s.sequence_order));
    let selections = ordered
        .into_iter()
        .map(|s| selection(description, s, candidates))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Contest {
        object_id: description.object_id.clone(),
        name: description.name.clone().unwrap_or_default(),
        variation,
        votes_allowed: votes_allowed(description, variation)?,
        selections,
    })
}

/// `votes_allowed`, or by default 1 for one_of_m and `number_elected` for n_of_m.
fn votes_allowed(
    description: &ContestDescription,
    variation: VoteVariation,
) -> Result<u32, ManifestError> {
    match (description.votes_allowed, variation) {
        (Some(votes), _) => Ok(votes),
        (None, VoteVariation::OneOfM) => Ok(1),
        (None, VoteVariation::NOfM) => {
            description
                .number_elected
                .ok_or_else(|| ManifestError::MissingVotesAllowed {
                    contest: description.object_id.clone(),
                })
        }
    }
}

fn selection(
    contest: &ContestDescription,
    description: &SelectionDescription,
    candidates: &HashMap<&str, bool>,
) -> Result<Selection, ManifestError> {
    let write_in = candidates
        .get(description.candidate_id.as_str())
        .copied()
        .ok_or_else(|| ManifestError::UnknownCandidate {
            contest: contest.object_id.clone(),
            selection: description.object_id.clone(),
            candidate: description.candidate_id.clone(),
        })?;
    Ok(Selection {
        object_id: description.object_id.clone(),
        candidate_id: description.candidate_id.clone(),
        write_in,
    })
}

/// A style gets every contest (in contest order) held in one of its geopolitical units.
fn ballot_style(
    style: &BallotStyleDescription,
    contests: &[&ContestDescription],
    units: &HashSet<&str>,
) -> Result<BallotStyle, ManifestError> {
    let style_units = style.geopolitical_unit_ids.as_deref().unwrap_or_default();
    if let Some(unit) = style_units.iter().find(|u| !units.contains(u.as_str())) {
        return Err(ManifestError::UnknownGeopoliticalUnit {
            style: style.object_id.clone(),
            unit: unit.clone(),
        });
    }
    let contest_ids: Vec<String> = contests
        .iter()
        .filter(|c| style_units.contains(&c.electoral_district_id))
        .map(|c| c.object_id.clone())
        .collect();
    if contest_ids.is_empty() {
        return Err(ManifestError::StyleWithoutContests {
            style: style.object_id.clone(),
        });
    }
    Ok(BallotStyle {
        object_id: style.object_id.clone(),
        contest_ids,
    })
}

/// The marked selections of one contest, or `None` when none is marked. Write-in text comes
/// from `write_in`, else from `extended_data.value`; blank text counts as none.
fn contest_vote(contest: PlaintextContest) -> Result<Option<ContestVote>, ManifestError> {
    let mut selections = Vec::new();
    for selection in contest.ballot_selections {
        if !(0..=1).contains(&selection.vote) {
            return Err(ManifestError::InvalidVote {
                contest: contest.object_id,
                selection: selection.object_id,
                vote: selection.vote,
            });
        }
        if selection.vote == 1 && selection.is_placeholder_selection != Some(true) {
            let extended = selection.extended_data;
            selections.push(SelectionVote {
                selection_id: selection.object_id,
                write_in: selection
                    .write_in
                    .or_else(|| extended.map(|d| d.value))
                    .filter(|name| !name.trim().is_empty()),
            });
        }
    }
    if selections.is_empty() {
        return Ok(None);
    }
    Ok(Some(ContestVote {
        contest_id: contest.object_id,
        selections,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::definition::DefinitionError;
    use serde_json::{json, Value};

    const MANIFEST: &str = include_str!("../../../samples/electionguard-small/manifest.json");
    const BALLOTS: [&str; 5] = [
        include_str!("../../../samples/electionguard-small/plaintext_ballots/plaintext_ballot_ballot-4b645088-73fc-11ec-b8bd-acde48001122.json"),
        include_str!("../../../samples/electionguard-small/plaintext_ballots/plaintext_ballot_ballot-4b645678-73fc-11ec-b8bd-acde48001122.json"),
        include_str!("../../../samples/electionguard-small/plaintext_ballots/plaintext_ballot_ballot-4b645b28-73fc-11ec-b8bd-acde48001122.json"),
        include_str!("../../../samples/electionguard-small/plaintext_ballots/plaintext_ballot_ballot-4b645e34-73fc-11ec-b8bd-acde48001122.json"),
        include_str!("../../../samples/electionguard-small/plaintext_ballots/plaintext_ballot_ballot-4b646136-73fc-11ec-b8bd-acde48001122.json"),
    ];
    const HASH: [u8; 32] = [7; 32];

    fn sample() -> ElectionDefinition {
        parse_manifest(MANIFEST).expect("the sample manifest parses")
    }

    /// The sample manifest after `edit`, as JSON text.
    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let mut manifest: Value = serde_json::from_str(MANIFEST).expect("sample is JSON");
        edit(&mut manifest);
        manifest.to_string()
    }

    fn style_contests<'a>(definition: &'a ElectionDefinition, style: &str) -> Vec<&'a str> {
        let style = definition.ballot_style(style).expect("style exists");
        style.contest_ids.iter().map(String::as_str).collect()
    }

    /// (contest, selection) of every selection whose `vote` is 1 in a plaintext ballot file.
    fn marked_in_file(json: &str) -> Vec<(String, String)> {
        let ballot: Value = serde_json::from_str(json).expect("ballot is JSON");
        let mut marked = Vec::new();
        for contest in ballot["contests"].as_array().expect("contests") {
            for selection in contest["ballot_selections"].as_array().expect("selections") {
                if selection["vote"] == 1 {
                    let contest_id = contest["object_id"].as_str().expect("contest id");
                    let selection_id = selection["object_id"].as_str().expect("selection id");
                    marked.push((contest_id.to_string(), selection_id.to_string()));
                }
            }
        }
        marked
    }

    fn marked_in_ballot(ballot: &Ballot) -> Vec<(String, String)> {
        let pairs = ballot.contests.iter().flat_map(|c| {
            c.selections
                .iter()
                .map(move |s| (c.contest_id.clone(), s.selection_id.clone()))
        });
        pairs.collect()
    }

    fn vote(selection_id: &str, write_in: Option<&str>) -> SelectionVote {
        SelectionVote {
            selection_id: selection_id.to_string(),
            write_in: write_in.map(str::to_string),
        }
    }

    #[test]
    fn sample_manifest_gives_three_contests_in_sequence_order() {
        let definition = sample();
        assert_eq!(definition.election_id, "franklin-county-general-march2020");
        let ids: Vec<&str> = definition
            .contests
            .iter()
            .map(|c| c.object_id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "congressional-race-01",
                "referendum-pineapple",
                "ozark-school-board-race"
            ]
        );
        assert_eq!(definition.contests[1].name, "The Pineapple Question");
    }

    #[test]
    fn ballot_style_gets_the_contests_of_its_geopolitical_units() {
        let definition = sample();
        assert_eq!(definition.ballot_styles.len(), 2);
        assert_eq!(
            style_contests(&definition, "franklin-county-no-schooldistrict"),
            ["congressional-race-01", "referendum-pineapple"]
        );
        assert_eq!(
            style_contests(&definition, "franklin-county-ozark-schools"),
            [
                "congressional-race-01",
                "referendum-pineapple",
                "ozark-school-board-race"
            ]
        );
    }

    #[test]
    fn selection_for_a_write_in_candidate_is_a_write_in() {
        let definition = sample();
        let race = definition
            .contest("congressional-race-01")
            .expect("contest");
        let write_ins: Vec<&str> = race
            .selections
            .iter()
            .filter(|s| s.write_in)
            .map(|s| s.object_id.as_str())
            .collect();
        assert_eq!(write_ins, ["write-in-selection"]);
    }

    #[test]
    fn n_of_m_contest_keeps_its_votes_allowed() {
        let definition = sample();
        let board = definition
            .contest("ozark-school-board-race")
            .expect("contest");
        assert_eq!(board.variation, VoteVariation::NOfM);
        assert_eq!(board.votes_allowed, 2);
        let pineapple = definition.contest("referendum-pineapple").expect("contest");
        assert_eq!(pineapple.variation, VoteVariation::OneOfM);
        assert_eq!(pineapple.votes_allowed, 1);
    }

    #[test]
    fn selections_follow_sequence_order_not_file_order() {
        let json = edited(|m| {
            let selections = m["contests"][2]["ballot_selections"]
                .as_array_mut()
                .expect("array");
            selections.reverse();
        });
        let definition = parse_manifest(&json).expect("parses");
        let board = definition
            .contest("ozark-school-board-race")
            .expect("contest");
        let ids: Vec<&str> = board
            .selections
            .iter()
            .map(|s| s.object_id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "john-adams-selection",
                "samuel-adams-selection",
                "thomas-jefferson-selection"
            ]
        );
    }

    #[test]
    fn election_name_prefers_english() {
        assert_eq!(
            sample().name,
            "Franklin County Small General Election March 2020"
        );
        let json = edited(|m| m["name"]["text"].as_array_mut().expect("array").reverse());
        let definition = parse_manifest(&json).expect("parses");
        assert_eq!(
            definition.name,
            "Franklin County Small General Election March 2020"
        );
    }

    #[test]
    fn election_without_a_name_is_named_by_its_scope_id() {
        let json = edited(|m| m["name"] = json!({ "text": [] }));
        let definition = parse_manifest(&json).expect("parses");
        assert_eq!(definition.name, "franklin-county-general-march2020");
    }

    #[test]
    fn n_of_m_without_votes_allowed_allows_number_elected() {
        let json = edited(|m| m["contests"][2]["votes_allowed"] = Value::Null);
        let definition = parse_manifest(&json).expect("parses");
        let board = definition
            .contest("ozark-school-board-race")
            .expect("contest");
        assert_eq!(board.votes_allowed, 2);
    }

    #[test]
    fn n_of_m_without_votes_allowed_or_number_elected_is_refused() {
        let json = edited(|m| {
            m["contests"][2]["votes_allowed"] = Value::Null;
            m["contests"][2]["number_elected"] = Value::Null;
        });
        assert_eq!(
            parse_manifest(&json),
            Err(ManifestError::MissingVotesAllowed {
                contest: "ozark-school-board-race".into()
            })
        );
    }

    #[test]
    fn unknown_field_is_refused_by_name() {
        let json = edited(|m| m["contests"][1]["colour"] = json!(1));
        let err = parse_manifest(&json).expect_err("unknown field");
        assert!(matches!(err, ManifestError::Json(_)), "{err:?}");
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn selection_naming_an_unlisted_candidate_is_refused() {
        let json = edited(|m| {
            m["contests"][2]["ballot_selections"][0]["candidate_id"] = json!("john-quincy-adams")
        });
        assert_eq!(
            parse_manifest(&json),
            Err(ManifestError::UnknownCandidate {
                contest: "ozark-school-board-race".into(),
                selection: "john-adams-selection".into(),
                candidate: "john-quincy-adams".into(),
            })
        );
    }

    #[test]
    fn vote_variation_votegraph_cannot_tally_is_refused() {
        let json = edited(|m| m["contests"][2]["vote_variation"] = json!("rcv"));
        let err = parse_manifest(&json).expect_err("rcv");
        assert_eq!(
            err,
            ManifestError::UnsupportedVariation {
                contest: "ozark-school-board-race".into(),
                variation: "rcv".into(),
            }
        );
        assert!(err.to_string().contains("`rcv`"), "{err}");
    }

    #[test]
    fn contest_in_an_unlisted_district_is_refused() {
        let json = edited(|m| m["contests"][0]["electoral_district_id"] = json!("atlantis"));
        assert_eq!(
            parse_manifest(&json),
            Err(ManifestError::UnknownElectoralDistrict {
                contest: "congressional-race-01".into(),
                district: "atlantis".into(),
            })
        );
    }

    #[test]
    fn ballot_style_naming_an_unlisted_unit_is_refused() {
        let json = edited(|m| {
            m["ballot_styles"][0]["geopolitical_unit_ids"] = json!(["franklin-county", "atlantis"])
        });
        assert_eq!(
            parse_manifest(&json),
            Err(ManifestError::UnknownGeopoliticalUnit {
                style: "franklin-county-no-schooldistrict".into(),
                unit: "atlantis".into(),
            })
        );
    }

    #[test]
    fn ballot_style_that_gets_no_contests_is_refused() {
        let json = edited(|m| m["ballot_styles"][0]["geopolitical_unit_ids"] = json!([]));
        assert_eq!(
            parse_manifest(&json),
            Err(ManifestError::StyleWithoutContests {
                style: "franklin-county-no-schooldistrict".into(),
            })
        );
    }

    #[test]
    fn unsupported_spec_version_is_refused() {
        let json = edited(|m| m["spec_version"] = json!("2.0"));
        assert_eq!(
            parse_manifest(&json),
            Err(ManifestError::UnsupportedSpecVersion("2.0".into()))
        );
    }

    #[test]
    fn definition_rules_apply_to_manifests() {
        let json = edited(|m| m["contests"][0]["votes_allowed"] = json!(2));
        assert_eq!(
            parse_manifest(&json),
            Err(ManifestError::Definition(
                DefinitionError::OneOfMAllowsMore {
                    contest: "congressional-race-01".into(),
                    votes_allowed: 2,
                }
            ))
        );
    }

    #[test]
    fn every_sample_ballot_keeps_exactly_its_vote_1_selections() {
        let definition = sample();
        for json in BALLOTS {
            let ballot = parse_plaintext_ballot(json, &definition, HASH).expect("parses");
            assert_eq!(ballot.election_id, definition.election_id);
            assert_eq!(ballot.manifest_hash, HASH);
            assert!(definition.ballot_style(&ballot.ballot_style).is_some());
            assert_eq!(marked_in_ballot(&ballot), marked_in_file(json));
            assert!(ballot.contests.iter().all(|c| !c.selections.is_empty()));
        }
    }

    #[test]
    fn sample_ballot_maps_to_its_marks() {
        let ballot = parse_plaintext_ballot(BALLOTS[0], &sample(), HASH).expect("parses");
        let expected = Ballot {
            election_id: "franklin-county-general-march2020".into(),
            manifest_hash: HASH,
            ballot_style: "franklin-county-no-schooldistrict".into(),
            contests: vec![
                ContestVote {
                    contest_id: "congressional-race-01".into(),
                    selections: vec![vote("benjamin-franklin-selection", None)],
                },
                ContestVote {
                    contest_id: "referendum-pineapple".into(),
                    selections: vec![vote("referendum-pineapple-affirmative-selection", None)],
                },
            ],
        };
        assert_eq!(ballot, expected);
    }

    #[test]
    fn vote_other_than_0_or_1_is_refused_naming_the_selection() {
        assert!(BALLOTS[0].contains("\"vote\": 1"));
        let json = BALLOTS[0].replacen("\"vote\": 1", "\"vote\": 2", 1);
        assert_eq!(
            parse_plaintext_ballot(&json, &sample(), HASH),
            Err(ManifestError::InvalidVote {
                contest: "congressional-race-01".into(),
                selection: "benjamin-franklin-selection".into(),
                vote: 2,
            })
        );
    }

    #[test]
    fn placeholders_and_unmarked_contests_are_left_out() {
        let json = r#"{
            "object_id": "b1",
            "style_id": "franklin-county-no-schooldistrict",
            "contests": [
                { "object_id": "referendum-pineapple", "ballot_selections": [
                    { "object_id": "referendum-pineapple-affirmative-selection", "vote": 0 },
                    { "object_id": "referendum-pineapple-negative-selection", "vote": 0 } ] },
                { "object_id": "congressional-race-01", "ballot_selections": [
                    { "object_id": "john-hancock-selection", "vote": 1 },
                    { "object_id": "placeholder-1", "vote": 1, "is_placeholder_selection": true } ] }
            ]
        }"#;
        let ballot = parse_plaintext_ballot(json, &sample(), HASH).expect("parses");
        assert_eq!(
            ballot.contests,
            [ContestVote {
                contest_id: "congressional-race-01".into(),
                selections: vec![vote("john-hancock-selection", None)],
            }]
        );
    }

    #[test]
    fn write_in_text_comes_from_write_in_or_extended_data_and_blank_is_none() {
        let json = r#"{
            "object_id": "b2",
            "style_id": "franklin-county-no-schooldistrict",
            "contests": [
                { "object_id": "congressional-race-01", "ballot_selections": [
                    { "object_id": "write-in-selection", "vote": 1, "write_in": "Ada Lovelace" },
                    { "object_id": "john-hancock-selection", "vote": 1, "write_in": " " } ] },
                { "object_id": "other-race", "ballot_selections": [
                    { "object_id": "other-write-in", "vote": 1,
                      "extended_data": { "value": "Grace Hopper", "length": 12 } } ] }
            ]
        }"#;
        let ballot = parse_plaintext_ballot(json, &sample(), HASH).expect("parses");
        assert_eq!(
            ballot.contests[0].selections,
            [
                vote("write-in-selection", Some("Ada Lovelace")),
                vote("john-hancock-selection", None)
            ]
        );
        assert_eq!(
            ballot.contests[1].selections,
            [vote("other-write-in", Some("Grace Hopper"))]
        );
    }

    #[test]
    fn unknown_field_in_a_ballot_is_refused_by_name() {
        let json = BALLOTS[0].replacen("\"style_id\"", "\"colour\": 1, \"style_id\"", 1);
        let err = parse_plaintext_ballot(&json, &sample(), HASH).expect_err("unknown field");
        assert!(err.to_string().contains("colour"), "{err}");
    }
}
