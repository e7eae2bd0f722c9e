//! Converting between domain values and stored columns. A stored value that does not
//! decode is data the application never wrote: [`StoreError::Corrupt`].

use super::StoreError;
use crate::entry::{ActorId, ActorKind, EntryId};

pub(super) fn slug(text: &str) -> Result<ActorId, StoreError> {
    ActorId::parse(text).map_err(StoreError::Corrupt)
}

pub(super) fn parse_kind(text: &str) -> Result<ActorKind, StoreError> {
    ActorKind::parse(text).map_err(StoreError::Corrupt)
}

pub(super) fn entry_id(bytes: &[u8]) -> Result<EntryId, StoreError> {
    hash32(bytes).map(EntryId)
}

pub(super) fn hash32(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("a stored hash has {} bytes", bytes.len())))
}

/// The received_at string exactly as the leaf holds it (the timestamptz column is an index
/// for queries; the leaf is authoritative).
pub(super) fn stored_received_at(leaf: &[u8]) -> Result<String, StoreError> {
    serde_json::from_slice::<serde_json::Value>(leaf)
        .ok()
        .and_then(|v| v["received_at"].as_str().map(str::to_owned))
        .ok_or_else(|| StoreError::Corrupt("a stored leaf has no received_at".into()))
}

/// A position or count as a `bigint` parameter. Sequence numbers and tree sizes stay far
/// below 2^63; a larger one comes from a caller that skipped its range check.
pub(super) fn bigint(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange(value))
}

/// Each of `values` as a `bigint` parameter.
pub(super) fn bigints(values: impl IntoIterator<Item = u64>) -> Result<Vec<i64>, StoreError> {
    values.into_iter().map(bigint).collect()
}
