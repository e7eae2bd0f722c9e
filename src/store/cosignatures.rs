//! Witness cosignatures of checkpoints, and the checkpoints that count as published: those
//! a quorum of the configured witnesses cosigned.

use super::decode::{bigint, hash32};
use super::tree::StoredCheckpoint;
use super::{Store, StoreError};
use chrono::{DateTime, Utc};

/// A stored checkpoint with the cosignature lines of the configured witnesses.
#[derive(Debug, Clone)]
pub struct CosignedCheckpoint {
    pub checkpoint: StoredCheckpoint,
    /// `— <name> <base64>` lines, without their newlines.
    pub cosignatures: Vec<String>,
}

impl CosignedCheckpoint {
    /// The signed note with the cosignature lines after the log's signature.
    pub fn note(&self) -> String {
        let mut note = self.checkpoint.note.clone();
        for line in &self.cosignatures {
            note.push_str(line);
            note.push('\n');
        }
        note
    }
}

type CheckpointColumns = (i64, Vec<u8>, String, DateTime<Utc>, Vec<String>);

fn decode(row: CheckpointColumns) -> Result<CosignedCheckpoint, StoreError> {
    let (tree_size, root, note, issued_at, cosignatures) = row;
    Ok(CosignedCheckpoint {
        checkpoint: StoredCheckpoint {
            tree_size: tree_size as u64,
            root: hash32(&root)?,
            note,
            issued_at,
        },
        cosignatures,
    })
}

impl Store {
    /// Stores cosignatures (witness vkey, signature line) of the checkpoint of `tree_size`;
    /// a witness's second cosignature of one checkpoint is not kept. How many were new.
    pub async fn insert_cosignatures(
        &self,
        tree_size: u64,
        cosignatures: &[(String, String)],
    ) -> Result<u64, StoreError> {
        let (witnesses, lines): (Vec<&str>, Vec<&str>) = cosignatures
            .iter()
            .map(|(w, l)| (w.as_str(), l.as_str()))
            .unzip();
        let done = sqlx::query(
            "INSERT INTO checkpoint_cosignatures (log_id, tree_size, witness, line, received_at)
             SELECT $1, $2, w, l, now() FROM UNNEST($3::text[], $4::text[]) AS u(w, l)
             ON CONFLICT DO NOTHING",
        )
        .bind(&self.log_id)
        .bind(bigint(tree_size)?)
        .bind(&witnesses)
        .bind(&lines)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The checkpoint of `tree_size` with the cosignatures of `witnesses` (vkeys).
    pub async fn cosigned_checkpoint(
        &self,
        tree_size: u64,
        witnesses: &[String],
    ) -> Result<Option<CosignedCheckpoint>, StoreError> {
        let row: Option<CheckpointColumns> = sqlx::query_as(
            "SELECT c.tree_size, c.root, c.note, c.issued_at,
                    ARRAY(SELECT s.line FROM checkpoint_cosignatures s
                           WHERE s.log_id = c.log_id AND s.tree_size = c.tree_size
                             AND s.witness = ANY($2)
                           ORDER BY s.witness)
               FROM checkpoints c
              WHERE c.log_id = $1 AND c.tree_size = $3",
        )
        .bind(&self.log_id)
        .bind(witnesses)
        .bind(bigint(tree_size)?)
        .fetch_optional(&self.pool)
        .await?;
        row.map(decode).transpose()
    }

    /// The largest checkpoint that at least `quorum` of `witnesses` cosigned (with quorum
    /// 0, the latest), with their cosignatures. Both read from the top of an index and stop
    /// at the first match, however many checkpoints there are.
    pub async fn published_checkpoint(
        &self,
        witnesses: &[String],
        quorum: usize,
    ) -> Result<Option<CosignedCheckpoint>, StoreError> {
        let size = if quorum == 0 {
            let (size,): (Option<i64>,) =
                sqlx::query_as("SELECT MAX(tree_size) FROM checkpoints WHERE log_id = $1")
                    .bind(&self.log_id)
                    .fetch_one(&self.pool)
                    .await?;
            size
        } else {
            let row: Option<(i64,)> = sqlx::query_as(
                "SELECT tree_size FROM checkpoint_cosignatures
                  WHERE log_id = $1 AND witness = ANY($2)
                  GROUP BY tree_size HAVING count(*) >= $3
                  ORDER BY tree_size DESC LIMIT 1",
            )
            .bind(&self.log_id)
            .bind(witnesses)
            .bind(i64::try_from(quorum).unwrap_or(i64::MAX))
            .fetch_optional(&self.pool)
            .await?;
            row.map(|(size,)| size)
        };
        match size {
            Some(size) => self.cosigned_checkpoint(size as u64, witnesses).await,
            None => Ok(None),
        }
    }

    /// The smallest checkpoint above `size` that one of `witnesses` cosigned: the one the
    /// others are asked to cosign until it is published.
    pub async fn first_cosigned_above(
        &self,
        size: u64,
        witnesses: &[String],
    ) -> Result<Option<u64>, StoreError> {
        let (first,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(tree_size) FROM checkpoint_cosignatures
              WHERE log_id = $1 AND tree_size > $2 AND witness = ANY($3)",
        )
        .bind(&self.log_id)
        .bind(bigint(size)?)
        .bind(witnesses)
        .fetch_one(&self.pool)
        .await?;
        Ok(first.map(|size| size as u64))
    }
}
