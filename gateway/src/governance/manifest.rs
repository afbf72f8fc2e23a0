//! One entry point for reading an election definition, whichever form it is written in: an
//! ElectionGuard manifest (JSON) or votegraph's native TOML. Callers (the CLI, the admin API)
//! pass a file name or a hint and the text, and get one checked [`ElectionDefinition`].

pub use crate::governance::electionguard::{parse_manifest, parse_plaintext_ballot};
pub use crate::governance::manifest_error::ManifestError;
pub use crate::governance::native::parse_native;

use crate::governance::definition::ElectionDefinition;
use std::path::Path;

/// Reads `text` as JSON when `path_or_name` ends in `.json`, as TOML when it ends in `.toml`;
/// otherwise as JSON when the text starts with `{`, else as TOML.
pub fn parse_definition(
    path_or_name: &str,
    text: &str,
) -> Result<ElectionDefinition, ManifestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let extension = Path::new(path_or_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => parse_manifest(text),
        Some("toml") => parse_native(text),
        _ if text.trim_start().starts_with('{') => parse_manifest(text),
        _ => parse_native(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = include_str!("../../../samples/electionguard-small/manifest.json");
    const CITY: &str = include_str!("../../../samples/city-election.toml");

    #[test]
    fn extension_picks_the_form() {
        let json = parse_definition("samples/manifest.JSON", MANIFEST).expect("json");
        assert_eq!(json.election_id, "franklin-county-general-march2020");
        let toml = parse_definition("city-election.toml", CITY).expect("toml");
        assert_eq!(toml.election_id, "springfield-municipal-2026");
    }

    #[test]
    fn without_an_extension_a_leading_brace_means_json() {
        let json = parse_definition("-", MANIFEST).expect("json");
        assert_eq!(json.election_id, "franklin-county-general-march2020");
        let toml = parse_definition("-", CITY).expect("toml");
        assert_eq!(toml.election_id, "springfield-municipal-2026");
    }

    #[test]
    fn extension_wins_over_content() {
        assert!(matches!(
            parse_definition("election.toml", MANIFEST),
            Err(ManifestError::Toml(_))
        ));
    }
}
