//! Read queries behind the API.

use super::decode::{entry_id, hash32, parse_kind, slug, stored_received_at};
use super::{Store, StoreError};
use crate::entry::{ActorId, ActorKind, EntryId};

/// One log entry as stored.
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub seq: u64,
    pub id: EntryId,
    pub leaf_hash: [u8; 32],
    pub leaf: Vec<u8>,
    pub received_at: String,
}

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub key_id: String,
    pub public_key: Vec<u8>,
    pub added_seq: u64,
    pub revoked_seq: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ActorRow {
    pub id: ActorId,
    pub kind: ActorKind,
    pub operator: Option<ActorId>,
    pub registration: EntryRow,
    pub keys: Vec<KeyRow>,
}

/// A key of an actor, with what a request signed by it needs: the actor's kind, whether
/// the key was revoked (or rotated out, which revokes it) and whether a regulator's grant
/// lets the actor read the whole log.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kind: ActorKind,
    pub public_key: Vec<u8>,
    pub revoked_seq: Option<u64>,
    pub reads_all: bool,
}

impl Store {
    /// The key `key_id` of `actor`, if the actor registered or rotated it in.
    pub async fn signing_key(
        &self,
        actor: &ActorId,
        key_id: &str,
    ) -> Result<Option<SigningKey>, StoreError> {
        let row: Option<(String, Vec<u8>, Option<i64>, bool)> = sqlx::query_as(
            "SELECT a.kind, k.public_key, r.revoked_seq,
                    COALESCE((SELECT g.granted FROM read_grants g
                               WHERE g.log_id = k.log_id AND g.auditor = k.actor
                               ORDER BY g.seq DESC LIMIT 1), false)
               FROM actor_keys k
               JOIN actors a ON a.log_id = k.log_id AND a.id = k.actor
               LEFT JOIN key_revocations r
                 ON r.log_id = k.log_id AND r.actor = k.actor AND r.key_id = k.key_id
              WHERE k.log_id = $1 AND k.actor = $2 AND k.key_id = $3",
        )
        .bind(&self.log_id)
        .bind(actor.as_str())
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(kind, public_key, revoked, reads_all)| {
            Ok(SigningKey {
                kind: parse_kind(&kind)?,
                public_key,
                revoked_seq: revoked.map(|r| r as u64),
                reads_all,
            })
        })
        .transpose()
    }

    pub async fn entry_by_seq(&self, seq: u64) -> Result<Option<EntryRow>, StoreError> {
        let row: Option<StoredEntryColumns> = sqlx::query_as(
            "SELECT seq, id, leaf_hash, leaf FROM entries WHERE log_id = $1 AND seq = $2",
        )
        .bind(&self.log_id)
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .fetch_optional(&self.pool)
        .await?;
        row.map(entry_row).transpose()
    }

    /// Number of entries in the log.
    pub async fn size(&self) -> Result<u64, StoreError> {
        let (next,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(seq) + 1, 0) FROM entries WHERE log_id = $1")
                .bind(&self.log_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(next as u64)
    }

    pub async fn actor(&self, id: &ActorId) -> Result<Option<ActorRow>, StoreError> {
        let row: Option<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT kind, operator, registered_seq FROM actors WHERE log_id = $1 AND id = $2",
        )
        .bind(&self.log_id)
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some((kind, operator, registered_seq)) = row else {
            return Ok(None);
        };
        let keys: Vec<(String, Vec<u8>, i64, Option<i64>)> = sqlx::query_as(
            "SELECT k.key_id, k.public_key, k.added_seq, r.revoked_seq
               FROM actor_keys k
               LEFT JOIN key_revocations r USING (log_id, actor, key_id)
              WHERE k.log_id = $1 AND k.actor = $2
              ORDER BY k.added_seq, k.key_id",
        )
        .bind(&self.log_id)
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let registration = self
            .entry_by_seq(registered_seq as u64)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("actor {id} has no registration entry")))?;
        Ok(Some(ActorRow {
            id: id.clone(),
            kind: parse_kind(&kind)?,
            operator: operator.map(|o| slug(&o)).transpose()?,
            registration,
            keys: keys
                .into_iter()
                .map(|(key_id, public_key, added, revoked)| KeyRow {
                    key_id,
                    public_key,
                    added_seq: added as u64,
                    revoked_seq: revoked.map(|r| r as u64),
                })
                .collect(),
        }))
    }
}

/// seq, id, leaf hash, leaf.
pub(super) type StoredEntryColumns = (i64, Vec<u8>, Vec<u8>, Vec<u8>);

fn entry_row((seq, id, leaf_hash, leaf): StoredEntryColumns) -> Result<EntryRow, StoreError> {
    Ok(EntryRow {
        seq: seq as u64,
        id: entry_id(&id)?,
        leaf_hash: hash32(&leaf_hash)?,
        received_at: stored_received_at(&leaf)?,
        leaf,
    })
}
