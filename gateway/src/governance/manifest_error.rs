//! Why an election definition file (ElectionGuard manifest or native TOML) or an ElectionGuard
//! plaintext ballot file is refused. Every variant names the offending object, so an
//! administrator can fix the file without guessing; parser errors keep their line and column.

use crate::governance::definition::DefinitionError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Malformed JSON, a missing or unknown field, or a wrong type (with line and column).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Malformed TOML, a missing or unknown key, or a wrong type (with line and column).
    #[error("invalid TOML: {0}")]
    Toml(String),
    #[error("spec_version `{0}` is not supported (expected `v0.95` or `1.0`)")]
    UnsupportedSpecVersion(String),
    #[error(
        "contest `{contest}` uses vote_variation `{variation}`, which votegraph does not tally \
         (supported: one_of_m, n_of_m)"
    )]
    UnsupportedVariation { contest: String, variation: String },
    #[error("contest `{contest}` is n_of_m but gives neither votes_allowed nor number_elected")]
    MissingVotesAllowed { contest: String },
    #[error("{what} id `{id}` is used twice in the manifest")]
    DuplicateManifestId { what: &'static str, id: String },
    #[error(
        "selection `{selection}` of contest `{contest}` names candidate `{candidate}`, \
         which the manifest does not list"
    )]
    UnknownCandidate {
        contest: String,
        selection: String,
        candidate: String,
    },
    #[error(
        "contest `{contest}` has electoral_district_id `{district}`, \
         which is not a geopolitical unit of the manifest"
    )]
    UnknownElectoralDistrict { contest: String, district: String },
    #[error(
        "ballot style `{style}` names geopolitical unit `{unit}`, which the manifest does not list"
    )]
    UnknownGeopoliticalUnit { style: String, unit: String },
    #[error("ballot style `{style}` gets no contests: no contest is in its geopolitical units")]
    StyleWithoutContests { style: String },
    #[error("selection `{selection}` of contest `{contest}` has vote {vote}; it must be 0 or 1")]
    InvalidVote {
        contest: String,
        selection: String,
        vote: i64,
    },
    #[error(transparent)]
    Definition(#[from] DefinitionError),
}
