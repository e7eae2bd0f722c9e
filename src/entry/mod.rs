//! Entries: the signed envelope, every body type, their stateless validation, and the
//! records and effects that accepting one makes. Pure: the stateless checks need only the
//! entry and the clock; the stateful rules (who may sign what) are in `ledger::rules`.

pub mod body;
pub mod currency;
pub mod decimal;
pub mod envelope;
pub mod fairplay;
mod fields;
pub mod ids;
pub mod privacy;
pub mod project;
pub mod record;
pub mod submission;

pub use body::{ActorKind, Body, EntryType};
pub use envelope::{Cosignature, SIGNING_PREFIX, SignedEntry};
pub use ids::{ActorId, ContentDigest, EntryId, Nonce, Slug};

/// Why an entry was refused. `field` is a JSON path into the submitted entry
/// (`envelope.body.measure.quantity`), so a client can point at the exact problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct EntryError {
    pub rejection: Rejection,
    pub field: String,
    pub message: String,
}

impl EntryError {
    pub fn new(rejection: Rejection, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            rejection,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn malformed(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Rejection::Malformed, field, message)
    }
}

/// The classes of refusal; the API maps each to one HTTP status and problem type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// A field is missing, of the wrong type, or not in its allowed form.
    Malformed,
    /// `ts` is too far from the server clock.
    Timestamp,
    /// A signature or co-signature does not verify.
    BadSignature,
    /// The signing actor or key is not registered.
    UnknownSigner,
    /// The signing key was revoked.
    RevokedKey,
    /// The actor may not submit this entry (wrong kind, missing co-signature).
    NotPermitted,
    /// The nonce was used by a different entry, or the actor exists already.
    Conflict,
    /// `builds_on` or an endorsement names an entry that does not exist or is not allowed.
    UnknownReference,
    /// Allocating it would cost more than the log's solver limits allow (`limits.set`).
    LimitExceeded,
}

impl Rejection {
    /// Stable machine-readable code, the last part of the problem type URI.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "malformed-entry",
            Self::Timestamp => "timestamp-out-of-range",
            Self::BadSignature => "bad-signature",
            Self::UnknownSigner => "unknown-signer",
            Self::RevokedKey => "revoked-key",
            Self::NotPermitted => "not-permitted",
            Self::Conflict => "conflict",
            Self::UnknownReference => "unknown-reference",
            Self::LimitExceeded => "limit-exceeded",
        }
    }
}
