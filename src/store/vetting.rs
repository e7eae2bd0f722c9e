//! What vetting reads: the ledger's state before a stored entry, for replaying entries this
//! process did not append, and the actor and key rows that no leaf vouches for.

use super::append::load_state;
use super::decode::{bigint, count, leaf_adds_key, leaf_registers};
use super::{Store, StoreError};
use crate::crypto::PublicKey;
use crate::entry::SignedEntry;
use crate::ledger::batch::Snapshot;
use futures::TryStreamExt;

/// A projection row that the leaf it names did not make: an `actors` or `actor_keys` row
/// written behind the sequencer's back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnvouchedRow {
    /// `actors` or `actor_keys`.
    pub table: &'static str,
    pub actor: String,
    /// For an `actor_keys` row, its key id.
    pub key_id: Option<String>,
    /// The sequence number the row names as the entry that made it.
    pub seq: u64,
}

impl Store {
    /// The state `entries` can touch as it stood before sequence number `before` (what the
    /// append reads at the head, bounded there): the rules' view for vetting stored entries
    /// from `before` on.
    pub async fn state_before(
        &self,
        entries: &[&SignedEntry],
        before: u64,
    ) -> Result<Snapshot, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_state(&mut conn, &self.log_id, entries, bigint(before)?).await
    }

    /// Every `actors` and `actor_keys` row whose leaf (at the sequence number the row names)
    /// does not register that actor or add that key, in table and sequence order. Streamed:
    /// one row and its leaf in memory at a time.
    pub async fn unvouched_rows(&self) -> Result<Vec<UnvouchedRow>, StoreError> {
        let mut found = Vec::new();
        let mut conn = self.pool.acquire().await?;
        let mut rows = sqlx::query_as::<_, (String, String, Option<String>, i64, Vec<u8>)>(
            "SELECT a.id, a.kind, a.operator, a.registered_seq, e.leaf
               FROM actors a
               JOIN entries e ON e.log_id = a.log_id AND e.seq = a.registered_seq
              WHERE a.log_id = $1
              ORDER BY a.registered_seq",
        )
        .bind(&self.log_id)
        .fetch(&mut *conn);
        while let Some((actor, kind, operator, seq, leaf)) = rows.try_next().await? {
            if !leaf_registers(&leaf, &actor, &kind, operator.as_deref()) {
                found.push(UnvouchedRow {
                    table: "actors",
                    actor,
                    key_id: None,
                    seq: count(seq)?,
                });
            }
        }
        drop(rows);
        let mut rows = sqlx::query_as::<_, (String, String, Vec<u8>, i64, Vec<u8>)>(
            "SELECT k.actor, k.key_id, k.public_key, k.added_seq, e.leaf
               FROM actor_keys k
               JOIN entries e ON e.log_id = k.log_id AND e.seq = k.added_seq
              WHERE k.log_id = $1
              ORDER BY k.added_seq",
        )
        .bind(&self.log_id)
        .fetch(&mut *conn);
        while let Some((actor, key_id, public_key, seq, leaf)) = rows.try_next().await? {
            let vouched = PublicKey::from_bytes(&public_key)
                .is_ok_and(|key| leaf_adds_key(&leaf, &actor, &key_id, &key));
            if !vouched {
                found.push(UnvouchedRow {
                    table: "actor_keys",
                    actor,
                    key_id: Some(key_id),
                    seq: count(seq)?,
                });
            }
        }
        Ok(found)
    }
}
