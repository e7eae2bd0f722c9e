//! blake3, the content hash everywhere (entry ids, key ids, evidence and policy digests).
//!
//! Domain separation: the protocol's content addresses (entry id, key id, evidence, policy)
//! are plain blake3 of self-delimiting inputs, so that anyone can recompute them with `b3sum`
//! (PROTOCOL.md); any value the system derives from them for another purpose (a sampling
//! seed, a lock key) goes through [`derive`] with a context string of its own, so it can never
//! be mistaken for a content address.

/// 32-byte blake3 digest of `bytes`.
pub fn blake3(bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(bytes).as_bytes()
}

/// blake3 in key-derivation mode: `context` names the purpose (globally unique, hard-coded,
/// for example "fairshare 2026-11 advisory lock v1").
pub fn derive(context: &str, material: &[u8]) -> [u8; 32] {
    blake3::derive_key(context, material)
}

/// Lowercase hex of a digest, the text form of every hash in the protocol.
pub fn to_hex(digest: &[u8]) -> String {
    // A table lookup per nibble: an allocation's inputs turn a quarter of a million ids
    // into text, where the hex crate's per-character iterator was visible.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(digest.len() * 2);
    for &byte in digest {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Parses exactly 64 lowercase hex characters.
pub fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blake3_of_empty_input_matches_the_reference() {
        // From the BLAKE3 reference test vectors (test_vectors.json, input_len 0).
        assert_eq!(
            to_hex(&blake3(b"")),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn derived_values_differ_from_plain_hashes_and_by_context() {
        let plain = blake3(b"x");
        assert_ne!(derive("fairshare test a", b"x"), plain);
        assert_ne!(
            derive("fairshare test a", b"x"),
            derive("fairshare test b", b"x")
        );
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        let every_byte: Vec<u8> = (0..=255).collect();
        let expected: String = every_byte.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(to_hex(&every_byte), expected);
    }

    #[test]
    fn hex_parsing_is_strict() {
        let h = to_hex(&blake3(b"abc"));
        assert_eq!(parse_hex32(&h), Some(blake3(b"abc")));
        assert_eq!(parse_hex32(&h.to_uppercase()), None);
        assert_eq!(parse_hex32(&h[..62]), None);
    }
}
