//! Converting between domain values and stored columns. A stored value that does not
//! decode is data the application never wrote: [`StoreError::Corrupt`].

use super::StoreError;
use crate::crypto::PublicKey;
use crate::entry::body::EntryType;
use crate::entry::body::SolverLimits;
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

/// What a leaf says about the actor and key rows it made, read without parsing the whole
/// entry: the projection rows `actors` and `actor_keys` are each checked against the leaf
/// their sequence number names, so a row INSERTed behind the sequencer's back, which no
/// leaf vouches for, is never read as part of the log. (Whether the leaf itself obeys the
/// rules is the vetting's concern: `service::check`.)
#[derive(serde::Deserialize)]
struct VouchingLeaf<'a> {
    #[serde(borrow)]
    envelope: VouchingEnvelope<'a>,
}

#[derive(serde::Deserialize)]
struct VouchingEnvelope<'a> {
    #[serde(rename = "type")]
    entry_type: &'a str,
    actor: &'a str,
    #[serde(borrow)]
    body: VouchingBody<'a>,
}

#[derive(serde::Deserialize)]
struct VouchingBody<'a> {
    #[serde(borrow)]
    kind: Option<&'a str>,
    #[serde(borrow)]
    operator: Option<&'a str>,
    #[serde(borrow)]
    public_key: Option<&'a str>,
}

fn vouching(leaf: &[u8]) -> Option<VouchingEnvelope<'_>> {
    serde_json::from_slice::<VouchingLeaf<'_>>(leaf)
        .ok()
        .map(|l| l.envelope)
}

/// Whether `leaf` registers `actor` as `kind` under `operator`.
pub(super) fn leaf_registers(leaf: &[u8], actor: &str, kind: &str, operator: Option<&str>) -> bool {
    vouching(leaf).is_some_and(|env| {
        env.entry_type == EntryType::ActorRegistered.as_str()
            && env.actor == actor
            && env.body.kind == Some(kind)
            && env.body.operator == operator
    })
}

/// Whether `leaf` gives `actor` the key `public_key` (a registration or a rotation), and
/// `key_id` is that key's id.
pub(super) fn leaf_adds_key(
    leaf: &[u8],
    actor: &str,
    key_id: &str,
    public_key: &PublicKey,
) -> bool {
    public_key.key_id().to_string() == key_id
        && vouching(leaf).is_some_and(|env| {
            [EntryType::ActorRegistered, EntryType::KeyRotated]
                .iter()
                .any(|t| t.as_str() == env.entry_type)
                && env.actor == actor
                && env.body.public_key == Some(public_key.to_base64().as_str())
        })
}

/// A stored count (a limit, samples, a number of rows), which is never negative.
pub(super) fn count(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("a negative count {value}")))
}

pub(super) fn decode_limits(
    (exact_players, sampled_marginals, measured_players, measurements): (i64, i64, i64, i64),
) -> Result<SolverLimits, StoreError> {
    Ok(SolverLimits {
        exact_players: count(exact_players)?,
        sampled_marginals: count(sampled_marginals)?,
        measured_players: count(measured_players)?,
        measurements: count(measurements)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use serde_json::json;

    #[test]
    fn a_row_counts_only_where_its_leaf_made_it() {
        let (alice, mallory) = (
            SecretKey::from_seed(&[1; 32]).public_key(),
            SecretKey::from_seed(&[2; 32]).public_key(),
        );
        let leaf = |entry_type: &str, body: serde_json::Value| {
            serde_json::to_vec(&json!({"envelope": {"v": 1, "type": entry_type, "actor": "alice",
                "key": "00", "nonce": "n", "ts": "t", "body": body}, "signature": "s", "received_at": "t"}))
            .expect("json")
        };
        let registration = leaf(
            "actor.registered",
            json!({"kind": "human", "public_key": alice.to_base64()}),
        );
        let id = |key: &PublicKey| key.key_id().to_string();
        assert!(leaf_adds_key(&registration, "alice", &id(&alice), &alice));
        assert!(!leaf_adds_key(
            &registration,
            "alice",
            &id(&mallory),
            &mallory
        ));
        assert!(!leaf_adds_key(&registration, "bob", &id(&alice), &alice));
        assert!(!leaf_adds_key(
            &registration,
            "alice",
            &id(&mallory),
            &alice
        ));
        assert!(leaf_registers(&registration, "alice", "human", None));
        assert!(!leaf_registers(&registration, "alice", "regulator", None));
        assert!(!leaf_registers(
            &registration,
            "alice",
            "human",
            Some("shop")
        ));

        let rotation = leaf("key.rotated", json!({"public_key": mallory.to_base64()}));
        assert!(leaf_adds_key(&rotation, "alice", &id(&mallory), &mallory));
        assert!(!leaf_registers(&rotation, "alice", "human", None));
        let contribution = leaf("contribution", json!({"public_key": mallory.to_base64()}));
        assert!(!leaf_adds_key(
            &contribution,
            "alice",
            &id(&mallory),
            &mallory
        ));
        assert!(!leaf_adds_key(b"not json", "alice", &id(&alice), &alice));
    }
}
