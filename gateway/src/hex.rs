//! Hex for keys and hashes in files and logs.

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex (an even number of digits), or a message saying what is wrong.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    if let Some(at) = text.find(|c: char| !c.is_ascii_hexdigit()) {
        return Err(format!("not hex at position {at}"));
    }
    if !text.len().is_multiple_of(2) {
        return Err(format!("an odd number of hex digits ({})", text.len()));
    }
    (0..text.len() / 2)
        .map(|i| {
            u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("not hex at position {}", 2 * i))
        })
        .collect()
}

/// Exactly `N` bytes from hex, or a message saying what is wrong.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let bytes = decode(text)?;
    if bytes.len() != N {
        return Err(format!(
            "expected {} hex digits, got {}",
            2 * N,
            2 * bytes.len()
        ));
    }
    Ok(bytes.try_into().expect("length checked"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_round_trips_and_refuses_bad_input() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(super::encode(&bytes), "0001abff");
        assert_eq!(super::decode_array::<4>("0001abff").unwrap(), bytes);
        assert!(super::decode_array::<4>("0001ab").is_err());
        assert!(super::decode_array::<2>("zz00").is_err());
        assert!(super::decode_array::<2>("é00").is_err());
        assert!(super::decode("+f").is_err(), "a sign is not a digit");
    }
}
