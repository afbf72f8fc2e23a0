//! The canonical binary encoding of governance payloads and state: postcard (serde), which is
//! deterministic for the types used here (structs, enums, vectors, options; no maps), with
//! trailing bytes refused so that one value has one encoding that decodes.

use serde::{de::DeserializeOwned, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("payload is empty")]
    Empty,
    #[error("payload version {0} is not supported (expected 1)")]
    UnknownVersion(u8),
    #[error("not a valid encoding: {0}")]
    Malformed(String),
    #[error("{0} bytes follow the encoded value")]
    TrailingBytes(usize),
}

impl CodecError {
    /// A description that depends only on this crate (not on the decoder library's wording),
    /// for rejection records, which are ledger state every validator must write identically.
    pub fn stable_detail(&self) -> String {
        match self {
            CodecError::Malformed(_) => "the payload does not decode as a governance action".into(),
            other => other.to_string(),
        }
    }
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("encoding into a vector cannot fail")
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, rest) =
        postcard::take_from_bytes(bytes).map_err(|e| CodecError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CodecError::TrailingBytes(rest.len()));
    }
    Ok(value)
}
