//! votegraph's native election definition: a short TOML file for elections that have no
//! ElectionGuard manifest (a club, a city council's own vote, a demo).
//!
//! It says only what votegraph enforces: contests, their selections and vote limits, and ballot
//! styles. Selection ids are derived (`<contest>-<candidate>`, `<contest>-write-in-<n>`), so the
//! author cannot get them inconsistent; unknown keys are refused by name, like in the manifest.

use crate::governance::definition::{
    BallotStyle, Contest, DefinitionError, ElectionDefinition, Selection, VoteVariation,
    SELECTIONS_PER_CONTEST_MAX,
};
use crate::governance::electionguard::vote_variation;
use crate::governance::manifest_error::ManifestError;
use serde::Deserialize;

/// The candidate id of every write-in selection.
pub const WRITE_IN_CANDIDATE: &str = "write-in";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeElection {
    election_id: String,
    name: Option<String>,
    contests: Vec<NativeContest>,
    ballot_styles: Vec<NativeStyle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeContest {
    id: String,
    #[serde(default)]
    name: String,
    votes_allowed: Option<u32>,
    variation: Option<String>,
    selections: Vec<String>,
    #[serde(default)]
    write_ins: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeStyle {
    id: String,
    contests: Vec<String>,
}

/// Reads the native TOML form and checks the result.
pub fn parse_native(text: &str) -> Result<ElectionDefinition, ManifestError> {
    let file: NativeElection =
        toml::from_str(text).map_err(|e| ManifestError::Toml(e.to_string()))?;
    let contests = file
        .contests
        .into_iter()
        .map(contest)
        .collect::<Result<Vec<_>, _>>()?;
    let ballot_styles = file
        .ballot_styles
        .into_iter()
        .map(|s| BallotStyle {
            object_id: s.id,
            contest_ids: s.contests,
        })
        .collect();
    let name = file.name.unwrap_or_else(|| file.election_id.clone());
    let definition = ElectionDefinition {
        election_id: file.election_id,
        name,
        contests,
        ballot_styles,
    };
    definition.validate()?;
    Ok(definition)
}

fn contest(native: NativeContest) -> Result<Contest, ManifestError> {
    let votes_allowed = native.votes_allowed.unwrap_or(1);
    let variation = match &native.variation {
        Some(name) => vote_variation(&native.id, name)?,
        None if votes_allowed == 1 => VoteVariation::OneOfM,
        None => VoteVariation::NOfM,
    };
    // Checked before building, so that a huge `write_ins` allocates nothing.
    let count = native
        .selections
        .len()
        .saturating_add(native.write_ins as usize);
    if count > SELECTIONS_PER_CONTEST_MAX {
        return Err(DefinitionError::TooMany {
            what: "selections in one contest",
            count,
            max: SELECTIONS_PER_CONTEST_MAX,
        }
        .into());
    }
    Ok(Contest {
        selections: selections(&native),
        object_id: native.id,
        name: native.name,
        variation,
        votes_allowed,
    })
}

/// The named candidates' selections, then the write-in lines.
fn selections(native: &NativeContest) -> Vec<Selection> {
    let id = &native.id;
    let candidates = native.selections.iter().map(|candidate| Selection {
        object_id: format!("{id}-{candidate}"),
        candidate_id: candidate.clone(),
        write_in: false,
    });
    let write_ins = (1..=native.write_ins).map(|n| Selection {
        object_id: format!("{id}-write-in-{n}"),
        candidate_id: WRITE_IN_CANDIDATE.to_string(),
        write_in: true,
    });
    candidates.chain(write_ins).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CITY: &str = include_str!("../../../samples/city-election.toml");

    const MAYOR: &str = r#"
        election_id = "city-2026"
        name = "City election 2026"

        [[contests]]
        id = "mayor"
        name = "Mayor"
        selections = ["alice", "bob"]
        write_ins = 1

        [[ballot_styles]]
        id = "district-1"
        contests = ["mayor"]
    "#;

    fn selection(object_id: &str, candidate_id: &str, write_in: bool) -> Selection {
        Selection {
            object_id: object_id.to_string(),
            candidate_id: candidate_id.to_string(),
            write_in,
        }
    }

    #[test]
    fn native_file_becomes_a_definition_with_derived_selection_ids() {
        let expected = ElectionDefinition {
            election_id: "city-2026".into(),
            name: "City election 2026".into(),
            contests: vec![Contest {
                object_id: "mayor".into(),
                name: "Mayor".into(),
                variation: VoteVariation::OneOfM,
                votes_allowed: 1,
                selections: vec![
                    selection("mayor-alice", "alice", false),
                    selection("mayor-bob", "bob", false),
                    selection("mayor-write-in-1", WRITE_IN_CANDIDATE, true),
                ],
            }],
            ballot_styles: vec![BallotStyle {
                object_id: "district-1".into(),
                contest_ids: vec!["mayor".into()],
            }],
        };
        assert_eq!(parse_native(MAYOR), Ok(expected));
    }

    #[test]
    fn unknown_key_is_refused_by_name() {
        let text = MAYOR.replace("write_ins = 1", "write_ins = 1\ncolour = 1");
        let err = parse_native(&text).expect_err("unknown key");
        assert!(matches!(err, ManifestError::Toml(_)), "{err:?}");
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn n_of_m_contest_allows_votes_allowed_selections() {
        let text = MAYOR.replace(
            "selections = [\"alice\", \"bob\"]",
            "votes_allowed = 2\nvariation = \"n_of_m\"\nselections = [\"alice\", \"bob\", \"carol\"]",
        );
        let definition = parse_native(&text).expect("parses");
        let mayor = definition.contest("mayor").expect("contest");
        assert_eq!(mayor.variation, VoteVariation::NOfM);
        assert_eq!(mayor.votes_allowed, 2);
    }

    #[test]
    fn variation_defaults_to_n_of_m_when_several_votes_are_allowed() {
        let text = MAYOR.replace("write_ins = 1", "write_ins = 1\nvotes_allowed = 2");
        let definition = parse_native(&text).expect("parses");
        assert_eq!(definition.contests[0].variation, VoteVariation::NOfM);
    }

    #[test]
    fn variation_votegraph_cannot_tally_is_refused() {
        let text = MAYOR.replace("write_ins = 1", "write_ins = 1\nvariation = \"rcv\"");
        assert_eq!(
            parse_native(&text),
            Err(ManifestError::UnsupportedVariation {
                contest: "mayor".into(),
                variation: "rcv".into(),
            })
        );
    }

    #[test]
    fn style_naming_an_unknown_contest_is_refused() {
        let text = MAYOR.replace(
            "contests = [\"mayor\"]",
            "contests = [\"mayor\", \"sheriff\"]",
        );
        assert_eq!(
            parse_native(&text),
            Err(ManifestError::Definition(
                DefinitionError::UnknownContestInStyle {
                    style: "district-1".into(),
                    contest: "sheriff".into(),
                }
            ))
        );
    }

    #[test]
    fn too_many_write_ins_are_refused_before_building() {
        let text = MAYOR.replace("write_ins = 1", "write_ins = 4000000000");
        assert!(matches!(
            parse_native(&text),
            Err(ManifestError::Definition(DefinitionError::TooMany { .. }))
        ));
    }

    #[test]
    fn sample_city_election_parses() {
        let definition = parse_native(CITY).expect("the sample parses");
        assert_eq!(definition.contests.len(), 3);
        assert_eq!(definition.ballot_styles.len(), 2);
        let mayor = definition.contest("mayor").expect("contest");
        assert!(
            mayor
                .selection("mayor-write-in-1")
                .expect("write-in")
                .write_in
        );
        let council = definition.contest("council-ward-3").expect("contest");
        assert_eq!(
            (council.variation, council.votes_allowed),
            (VoteVariation::NOfM, 2)
        );
    }
}
