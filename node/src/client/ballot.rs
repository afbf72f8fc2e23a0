//! Building a voter's ballot from `contest=selection` choices or an ElectionGuard plaintext
//! ballot file, against the election's definition as the gateway reports it.

use votegraph_gateway::governance::action::{Ballot, ContestVote, SelectionVote};
use votegraph_gateway::governance::definition::ElectionDefinition;
use votegraph_gateway::governance::manifest::parse_plaintext_ballot;
use votegraph_proto::v1 as pb;

/// The definition and manifest hash of an election from its GetElection answer.
pub fn definition_of(election: &pb::Election) -> Result<(ElectionDefinition, [u8; 32]), String> {
    let definition: ElectionDefinition = serde_json::from_str(&election.definition_json)
        .map_err(|e| format!("the gateway's election definition does not parse: {e}"))?;
    let hash: [u8; 32] = election
        .manifest_hash
        .as_ref()
        .try_into()
        .map_err(|_| "the gateway's manifest hash is not 32 bytes".to_string())?;
    Ok((definition, hash))
}

/// A ballot marking `choices` (`contest=selection` or `contest=selection:write-in name`).
pub fn from_choices(
    definition: &ElectionDefinition,
    manifest_hash: [u8; 32],
    style: &str,
    choices: &[String],
) -> Result<Ballot, String> {
    let mut contests: Vec<ContestVote> = Vec::new();
    for choice in choices {
        let (contest, rest) = choice
            .split_once('=')
            .ok_or_else(|| format!("choice `{choice}` is not contest=selection"))?;
        let (selection, write_in) = match rest.split_once(':') {
            Some((s, name)) => (s, Some(name.to_string())),
            None => (rest, None),
        };
        let vote = SelectionVote {
            selection_id: selection.to_string(),
            write_in,
        };
        match contests.iter_mut().find(|c| c.contest_id == contest) {
            Some(c) => c.selections.push(vote),
            None => contests.push(ContestVote {
                contest_id: contest.to_string(),
                selections: vec![vote],
            }),
        }
    }
    Ok(Ballot {
        election_id: definition.election_id.clone(),
        manifest_hash,
        ballot_style: style.to_string(),
        contests,
    })
}

/// A ballot from an ElectionGuard plaintext-ballot JSON file.
pub fn from_plaintext_file(
    definition: &ElectionDefinition,
    manifest_hash: [u8; 32],
    text: &str,
) -> Result<Ballot, String> {
    parse_plaintext_ballot(text, definition, manifest_hash).map_err(|e| e.to_string())
}
