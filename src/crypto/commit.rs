//! Salted commitments: how personal data and evidence enter a leaf without their content
//! (PROTOCOL.md, "Commitments").
//!
//! commitment = blake3 `derive_key(context(purpose), salt || content)`, where the salt is 32
//! fresh random bytes per field and the context names the purpose, so a commitment made for
//! one purpose never matches another's and never equals a content address. Without the salt,
//! holding (or guessing) the content says nothing about which commitment, if any, it opens.

use super::CryptoError;
use super::hash::{derive, parse_hex32, to_hex};
use std::fmt;

/// Bytes of a salt: 256 bits, twice the 128 the protocol requires, so a salt drawn from the
/// operating system never repeats in practice.
pub const SALT_BYTES: usize = 32;
/// Text prefix of a commitment in a body.
const PREFIX: &str = "commit:";

/// What a committed field holds: each purpose has its own key-derivation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Purpose {
    /// `actor.registered.name`.
    ActorName,
    /// Every entry's `note`.
    Note,
    /// `key.revoked.reason`.
    Reason,
    /// `contribution.evidence`: the content is the artifact's 32-byte blake3 digest.
    Evidence,
}

impl Purpose {
    pub const ALL: [Purpose; 4] = [
        Purpose::ActorName,
        Purpose::Note,
        Purpose::Reason,
        Purpose::Evidence,
    ];

    /// The blake3 key-derivation context string (hard-coded, globally unique).
    pub fn context(self) -> &'static str {
        match self {
            Purpose::ActorName => "fairshare 2026-12 commitment actor name v1",
            Purpose::Note => "fairshare 2026-12 commitment note v1",
            Purpose::Reason => "fairshare 2026-12 commitment reason v1",
            Purpose::Evidence => "fairshare 2026-12 commitment evidence v1",
        }
    }
}

/// A random salt, written as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Salt(pub [u8; SALT_BYTES]);

impl Salt {
    /// A fresh salt from the operating system's generator.
    pub fn random() -> Result<Self, CryptoError> {
        let mut bytes = [0u8; SALT_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| CryptoError::Randomness(e.to_string()))?;
        Ok(Salt(bytes))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        parse_hex32(text)
            .map(Salt)
            .ok_or_else(|| "a salt is 64 lowercase hex characters (32 bytes)".to_owned())
    }

    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }
}

impl fmt::Debug for Salt {
    // A salt opens a commitment: keep it out of debug output and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt(..)")
    }
}

/// A commitment: `commit:` followed by 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Commitment(pub [u8; 32]);

impl Commitment {
    /// Commits to `content` (UTF-8 text, or the raw digest for evidence) under `salt`.
    pub fn new(purpose: Purpose, salt: &Salt, content: &[u8]) -> Self {
        let mut material = Vec::with_capacity(SALT_BYTES + content.len());
        material.extend_from_slice(&salt.0);
        material.extend_from_slice(content);
        Commitment(derive(purpose.context(), &material))
    }

    /// Whether `content` under `salt` is what this commitment was made from.
    pub fn opens(&self, purpose: Purpose, salt: &Salt, content: &[u8]) -> bool {
        Self::new(purpose, salt, content) == *self
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        text.strip_prefix(PREFIX)
            .and_then(parse_hex32)
            .map(Commitment)
            .ok_or_else(|| {
                format!(
                    "{text:?} is not a commitment: \"{PREFIX}\" and 64 lowercase hex characters"
                )
            })
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", to_hex(&self.0))
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_separate_commitments() {
        let salt = Salt([9; SALT_BYTES]);
        let all: std::collections::HashSet<_> = Purpose::ALL
            .iter()
            .map(|p| Commitment::new(*p, &salt, b"same"))
            .collect();
        assert_eq!(all.len(), Purpose::ALL.len());
    }

    #[test]
    fn text_round_trips_and_parsing_is_strict() {
        let c = Commitment::new(Purpose::Note, &Salt([1; SALT_BYTES]), b"hello");
        assert_eq!(Commitment::parse(&c.to_string()), Ok(c));
        let hex = to_hex(&c.0);
        for bad in [
            hex.clone(),
            format!("blake3:{hex}"),
            format!("commit:{}", hex.to_uppercase()),
            format!("commit:{}", &hex[..62]),
            format!("commit:{hex}0"),
            format!(" commit:{hex}"),
        ] {
            assert!(Commitment::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn opening_needs_the_salt_and_the_content() {
        let salt = Salt([3; SALT_BYTES]);
        let c = Commitment::new(Purpose::Note, &salt, b"private");
        assert!(c.opens(Purpose::Note, &salt, b"private"));
        assert!(!c.opens(Purpose::Note, &Salt([4; SALT_BYTES]), b"private"));
        assert!(!c.opens(Purpose::Note, &salt, b"privatE"));
        assert!(!c.opens(Purpose::Reason, &salt, b"private"));
    }

    #[test]
    fn salts_hide_debug_output() {
        assert_eq!(format!("{:?}", Salt([5; SALT_BYTES])), "Salt(..)");
    }
}
