//! The disclosure store (migrations/0010_disclosures.sql): cleartexts and salts that open
//! the commitments in the leaves, outside the append-only log. Rows are deleted only by
//! `fairshare_erase`, which carries out an erasure entry already in the log.

use super::decode::{bigint, entry_id, hash32};
use super::{Store, StoreError};
use crate::crypto::commit::{Commitment, Salt};
use crate::entry::privacy::{CommittedField, Disclosure};
use crate::entry::{ActorId, EntryId};
use chrono::{DateTime, Utc};

/// PostgreSQL's SQLSTATE for the refusal of a deposit of an erased field.
const ERASED_STATE: &str = "23000";

/// A disclosure checked against its entry's commitment, ready to store.
#[derive(Debug, Clone)]
pub struct DisclosureRow {
    pub entry: EntryId,
    pub commitment: Commitment,
    pub subject: ActorId,
    pub disclosure: Disclosure,
}

/// What the store holds for one committed field of an entry.
#[derive(Debug, Clone)]
pub enum StoredField {
    Disclosed(Disclosure),
    /// Erased by the erasure entry at this sequence number.
    Erased(u64),
}

/// A stored disclosure named by its place: what an erasure names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisclosedField {
    pub entry: EntryId,
    pub field: CommittedField,
    pub commitment: Commitment,
}

/// field, cleartext and salt (disclosed), erasure position (erased).
type FieldRow = (String, Option<String>, Option<Vec<u8>>, Option<i64>);

impl Store {
    /// Stores checked disclosures; one already stored is kept as is. A field that was
    /// erased is refused ([`StoreError::Erased`]) and nothing of the call is stored.
    pub async fn deposit_disclosures(&self, rows: &[DisclosureRow]) -> Result<(), StoreError> {
        let entries: Vec<Vec<u8>> = rows.iter().map(|r| r.entry.0.to_vec()).collect();
        let fields: Vec<&str> = rows.iter().map(|r| r.disclosure.field.as_str()).collect();
        let commitments: Vec<Vec<u8>> = rows.iter().map(|r| r.commitment.0.to_vec()).collect();
        let subjects: Vec<&str> = rows.iter().map(|r| r.subject.as_str()).collect();
        let cleartexts: Vec<&str> = rows
            .iter()
            .map(|r| r.disclosure.cleartext.as_str())
            .collect();
        let salts: Vec<Vec<u8>> = rows.iter().map(|r| r.disclosure.salt.0.to_vec()).collect();
        let stored = sqlx::query(
            "INSERT INTO disclosures (log_id, entry, field, commitment, subject, cleartext, salt, received_at)
             SELECT $1, u.entry, u.field, u.commitment, u.subject, u.cleartext, u.salt, e.received_at
               FROM unnest($2::bytea[], $3::text[], $4::bytea[], $5::text[], $6::text[], $7::bytea[])
                    AS u(entry, field, commitment, subject, cleartext, salt)
               JOIN entries e ON e.log_id = $1 AND e.id = u.entry
             ON CONFLICT (log_id, entry, field) DO NOTHING",
        )
        .bind(&self.log_id)
        .bind(entries)
        .bind(fields)
        .bind(commitments)
        .bind(subjects)
        .bind(cleartexts)
        .bind(salts)
        .execute(&self.pool)
        .await;
        match stored {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(ERASED_STATE) => {
                Err(StoreError::Erased)
            }
            other => other.map(|_| ()).map_err(StoreError::from),
        }
    }

    /// What the store holds for each committed field of the entry `entry`.
    pub async fn disclosures(
        &self,
        entry: &EntryId,
    ) -> Result<Vec<(CommittedField, StoredField)>, StoreError> {
        let rows: Vec<FieldRow> = sqlx::query_as(
            "SELECT field, cleartext, salt, NULL::bigint FROM disclosures WHERE log_id = $1 AND entry = $2
             UNION ALL
             SELECT field, NULL, NULL, erasure_seq FROM erased WHERE log_id = $1 AND entry = $2
             ORDER BY 1",
        )
        .bind(&self.log_id)
        .bind(entry.0.to_vec())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(field, cleartext, salt, erasure_seq)| {
                let field = CommittedField::parse(&field).map_err(StoreError::Corrupt)?;
                let stored = match (cleartext, salt, erasure_seq) {
                    (_, _, Some(seq)) => StoredField::Erased(super::decode::count(seq)?),
                    (Some(cleartext), Some(salt), None) => {
                        let salt = Salt(hash32(&salt)?);
                        StoredField::Disclosed(
                            Disclosure::new(field, cleartext, salt).map_err(StoreError::Corrupt)?,
                        )
                    }
                    _ => {
                        return Err(StoreError::Corrupt(
                            "a disclosure row without its salt".into(),
                        ));
                    }
                };
                Ok((field, stored))
            })
            .collect()
    }

    /// The erasure entries from position `from` on not carried out yet, oldest first.
    pub async fn pending_erasures(&self, from: u64) -> Result<Vec<u64>, StoreError> {
        let seqs: Vec<(i64,)> = sqlx::query_as(
            "SELECT e.seq FROM entries e
              WHERE e.log_id = $1 AND e.entry_type = 'erasure' AND e.seq >= $2
                AND NOT EXISTS (SELECT 1 FROM erasures_applied a WHERE a.log_id = e.log_id AND a.seq = e.seq)
              ORDER BY e.seq",
        )
        .bind(&self.log_id)
        .bind(bigint(from)?)
        .fetch_all(&self.pool)
        .await?;
        seqs.into_iter()
            .map(|(seq,)| super::decode::count(seq))
            .collect()
    }

    /// Carries out the erasure entry at `seq`; the number of disclosures it deleted.
    pub async fn erase(&self, seq: u64) -> Result<u64, StoreError> {
        let (deleted,): (i64,) = sqlx::query_as("SELECT fairshare_erase($1, $2)")
            .bind(&self.log_id)
            .bind(bigint(seq)?)
            .fetch_one(&self.pool)
            .await?;
        super::decode::count(deleted)
    }

    /// Up to `limit` disclosed fields of kind `field` of entries received before `before`:
    /// what the retention setting erases.
    pub async fn disclosed_before(
        &self,
        field: CommittedField,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DisclosedField>, StoreError> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT entry, commitment FROM disclosures
              WHERE log_id = $1 AND field = $2 AND received_at < $3
              ORDER BY received_at LIMIT $4",
        )
        .bind(&self.log_id)
        .bind(field.as_str())
        .bind(before)
        .bind(bigint(limit as u64)?)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(entry, commitment)| {
                Ok(DisclosedField {
                    entry: entry_id(&entry)?,
                    field,
                    commitment: Commitment(hash32(&commitment)?),
                })
            })
            .collect()
    }

    /// Every disclosed field whose data subject is `subject`, in the order entries were
    /// received: what erasing all of one actor's data names.
    pub async fn disclosed_of(&self, subject: &ActorId) -> Result<Vec<DisclosedField>, StoreError> {
        let rows: Vec<(Vec<u8>, String, Vec<u8>)> = sqlx::query_as(
            "SELECT entry, field, commitment FROM disclosures
              WHERE log_id = $1 AND subject = $2 ORDER BY received_at, entry, field",
        )
        .bind(&self.log_id)
        .bind(subject.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(entry, field, commitment)| {
                Ok(DisclosedField {
                    entry: entry_id(&entry)?,
                    field: CommittedField::parse(&field).map_err(StoreError::Corrupt)?,
                    commitment: Commitment(hash32(&commitment)?),
                })
            })
            .collect()
    }

    /// The stored entry with this id, whatever its type: (seq, leaf).
    pub async fn leaf_of(&self, id: &EntryId) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let row: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, leaf FROM entries WHERE log_id = $1 AND id = $2")
                .bind(&self.log_id)
                .bind(id.0.to_vec())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(seq, leaf)| Ok((super::decode::count(seq)?, leaf)))
            .transpose()
    }
}
