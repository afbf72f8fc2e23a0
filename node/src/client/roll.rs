//! Voter roll files: one voter per line, `public_key_hex,ballot_style[,weight]`, with `#`
//! comments; and generated rolls (with their secret keys) for demos and tests.

use ed25519_dalek::SigningKey;
use rayon::prelude::*;
use std::io::{BufRead, Write};
use std::path::Path;
use votegraph_gateway::governance::action::{AdminAction, RollEntry};

/// Encoded roll bytes one amendment carries (under the genesis transaction size limit).
pub const AMENDMENT_BYTES_TARGET: usize = 12 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RollFileError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {detail}")]
    Line {
        path: String,
        line: usize,
        detail: String,
    },
}

pub fn read(path: &Path) -> Result<Vec<RollEntry>, RollFileError> {
    let io = |source| RollFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut entries = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        entries.push(parse_line(line).map_err(|detail| RollFileError::Line {
            path: path.display().to_string(),
            line: number + 1,
            detail,
        })?);
    }
    Ok(entries)
}

fn parse_line(line: &str) -> Result<RollEntry, String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if !(2..=3).contains(&fields.len()) {
        return Err("expected public_key_hex,ballot_style[,weight]".into());
    }
    let voter =
        crate::hex::decode_array::<32>(fields[0]).map_err(|e| format!("public key: {e}"))?;
    let weight = match fields.get(2) {
        None => 1,
        Some(w) => w
            .parse()
            .map_err(|_| format!("weight `{w}` is not a whole number"))?,
    };
    Ok(RollEntry {
        voter,
        ballot_style: fields[1].to_string(),
        weight,
    })
}

/// Roll amendments of about [`AMENDMENT_BYTES_TARGET`] bytes each.
pub fn amendments(election_id: &str, entries: &[RollEntry]) -> Vec<AdminAction> {
    let style_bytes = entries
        .iter()
        .map(|e| e.ballot_style.len())
        .max()
        .unwrap_or(0);
    let per_chunk = (AMENDMENT_BYTES_TARGET / (44 + style_bytes)).max(1);
    entries
        .chunks(per_chunk)
        .map(|chunk| AdminAction::AmendRoll {
            election_id: election_id.to_string(),
            add: chunk.to_vec(),
            remove: Vec::new(),
        })
        .collect()
}

/// The key of generated voter `index` (deterministic from `seed`, so a demo can be rerun).
pub fn generated_key(seed: u64, index: u64) -> SigningKey {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"votegraph-generated-voter-v1\0");
    hasher.update(&seed.to_be_bytes());
    hasher.update(&index.to_be_bytes());
    SigningKey::from_bytes(hasher.finalize().as_bytes())
}

/// `count` generated voters with styles assigned in turn: (key, roll entry). Deriving a key
/// costs a scalar multiplication, so a large roll is generated on every core.
pub fn generate(seed: u64, count: u64, styles: &[String]) -> Vec<(SigningKey, RollEntry)> {
    (0..count)
        .into_par_iter()
        .map(|i| {
            let key = generated_key(seed, i);
            let entry = RollEntry {
                voter: key.verifying_key().to_bytes(),
                ballot_style: styles[i as usize % styles.len()].clone(),
                weight: 1,
            };
            (key, entry)
        })
        .collect()
}

/// Writes a roll file; with `keys`, also a file of `secret_key_hex,ballot_style` lines (mode
/// 0600) for the voters.
pub fn write(
    path: &Path,
    voters: &[(SigningKey, RollEntry)],
    keys: Option<&Path>,
) -> std::io::Result<()> {
    let mut roll = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(roll, "# public_key_hex,ballot_style,weight")?;
    for (_, entry) in voters {
        writeln!(
            roll,
            "{},{},{}",
            crate::hex::encode(&entry.voter),
            entry.ballot_style,
            entry.weight
        )?;
    }
    roll.flush()?;
    if let Some(keys) = keys {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(keys)?;
        let mut out = std::io::BufWriter::new(file);
        for (key, entry) in voters {
            writeln!(
                out,
                "{},{}",
                crate::hex::encode(&key.to_bytes()),
                entry.ballot_style
            )?;
        }
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_lines_parse_with_a_default_weight_and_bad_lines_are_named() {
        let key = crate::hex::encode(&[7u8; 32]);
        let entry = parse_line(&format!("{key},north")).unwrap();
        assert_eq!((entry.voter, entry.weight), ([7u8; 32], 1));
        assert_eq!(parse_line(&format!("{key},north,3")).unwrap().weight, 3);
        assert!(parse_line("abc,north").unwrap_err().contains("public key"));
        assert!(parse_line(&format!("{key},north,x"))
            .unwrap_err()
            .contains("weight"));
    }

    #[test]
    fn amendments_stay_under_the_transaction_size_limit() {
        let styles = vec!["franklin-county-ozark-schools".to_string()];
        let voters: Vec<RollEntry> = generate(1, 2_000, &styles)
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        let chunks = amendments("e", &voters);
        assert!(chunks.len() > 1);
        let total: usize = chunks
            .iter()
            .map(|a| match a {
                AdminAction::AmendRoll { add, .. } => add.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(total, 2_000);
        for chunk in chunks {
            let bytes = votegraph_gateway::governance::action::Action::Admin(chunk)
                .encode()
                .len();
            assert!(bytes <= 16 * 1024, "{bytes} bytes");
        }
    }
}
