//! Validator key files: the 32-byte ed25519 secret as hex, readable by the owner only.

use crate::hex;
use ed25519_dalek::SigningKey;
use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path} is not a 64-digit hex ed25519 secret key: {detail}")]
    Malformed { path: String, detail: String },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("the system random source failed: {0}")]
    Random(String),
}

/// A fresh key from the operating system's random source.
pub fn generate() -> Result<SigningKey, KeyFileError> {
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(|e| KeyFileError::Random(e.to_string()))?;
    Ok(SigningKey::from_bytes(&secret))
}

pub fn read(path: &Path) -> Result<SigningKey, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let secret = hex::decode_array::<32>(&text).map_err(|detail| KeyFileError::Malformed {
        path: path.display().to_string(),
        detail,
    })?;
    Ok(SigningKey::from_bytes(&secret))
}

/// Writes a new key file with mode 0600; refuses to overwrite an existing file.
pub fn write(path: &Path, key: &SigningKey) -> Result<(), KeyFileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let error = |source| KeyFileError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(error)?;
    writeln!(file, "{}", hex::encode(&key.to_bytes())).map_err(error)?;
    file.sync_all().map_err(error)
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_file_round_trips_and_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.key");
        let key = super::generate().unwrap();
        super::write(&path, &key).unwrap();
        assert_eq!(super::read(&path).unwrap().to_bytes(), key.to_bytes());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(super::write(&path, &key).is_err(), "never overwrites a key");
    }
}
