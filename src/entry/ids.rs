//! Validated identifiers that appear in envelopes and bodies.

use crate::crypto::hash;
use std::fmt;

/// An actor id, project id, contribution kind or unit: `[a-z0-9][a-z0-9._-]{0,63}`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        let first_ok = bytes
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = bytes.iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
        if !first_ok || !rest_ok || bytes.len() > 64 {
            return Err(format!(
                "{text:?} is not a slug: 1 to 64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Actors are named by slugs.
pub type ActorId = Slug;

/// A nonce: 8 to 128 printable ASCII characters without spaces, unique per actor.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Nonce(String);

impl Nonce {
    pub fn parse(text: &str) -> Result<Self, String> {
        let printable = text.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if !(8..=128).contains(&text.len()) || !printable {
            return Err("a nonce is 8 to 128 printable ASCII characters without spaces".into());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An entry id: blake3 of the entry's leaf bytes, written as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub [u8; 32]);

impl EntryId {
    pub fn of_leaf(leaf_bytes: &[u8]) -> Self {
        Self(hash::blake3(leaf_bytes))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        hash::parse_hex32(text)
            .map(Self)
            .ok_or_else(|| format!("{text:?} is not an entry id (64 lowercase hex characters)"))
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hash::to_hex(&self.0))
    }
}

impl fmt::Debug for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryId({self})")
    }
}

/// A digest of off-ledger content, written `blake3:<64 lowercase hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentDigest(pub [u8; 32]);

impl ContentDigest {
    pub fn parse(text: &str) -> Result<Self, String> {
        text.strip_prefix("blake3:")
            .and_then(hash::parse_hex32)
            .map(Self)
            .ok_or_else(|| {
                format!("{text:?} is not a digest of the form blake3:<64 lowercase hex>")
            })
    }
}

impl fmt::Display for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blake3:{}", hash::to_hex(&self.0))
    }
}

impl fmt::Debug for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["a", "0", "alice", "gpt-5.1_mini", &"a".repeat(64)] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            ".a",
            "_a",
            "Alice",
            "a b",
            "é",
            "a/b",
            &"a".repeat(65),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nonces() {
        assert!(Nonce::parse("12345678").is_ok());
        assert!(Nonce::parse(&"x".repeat(128)).is_ok());
        assert!(Nonce::parse("1234567").is_err());
        assert!(Nonce::parse(&"x".repeat(129)).is_err());
        assert!(Nonce::parse("1234 5678").is_err());
    }

    #[test]
    fn digests_and_entry_ids() {
        let hex = "ab".repeat(32);
        assert!(ContentDigest::parse(&format!("blake3:{hex}")).is_ok());
        assert!(ContentDigest::parse(&hex).is_err());
        assert!(ContentDigest::parse(&format!("sha256:{hex}")).is_err());
        assert!(EntryId::parse(&hex).is_ok());
        assert!(EntryId::parse(&"AB".repeat(32)).is_err());
    }
}
