//! Reads behind fair play: the log's affiliations, disputes and rulings (few entries,
//! found by the partial index of migrations/0014_fair_play.sql), where each disputed entry is, and who
//! signed a project's measurements (for the report's self-dealing flags).

use super::decode::{bigint, entry_id};
use super::{Store, StoreError};
use crate::allocation::fairplay::{FairPlay, Target};
use crate::entry::body::Body;
use crate::entry::{EntryId, EntryType, SignedEntry};
use std::collections::HashMap;

impl Store {
    /// The affiliations, disputes and rulings logged before `before_seq`, followed in log
    /// order.
    pub async fn fair_play(&self, before_seq: u64) -> Result<FairPlay, StoreError> {
        let before = bigint(before_seq)?;
        let leaves = self
            .leaf_entries(
                "SELECT seq, id, leaf FROM entries
                  WHERE log_id = $1 AND entry_type IN ('affiliation', 'dispute', 'ruling')
                    AND seq < $2 ORDER BY seq",
                |q| q.bind(before),
            )
            .await?;
        let entries = leaves
            .into_iter()
            .map(|(seq, id, leaf)| {
                let (entry, _) = SignedEntry::from_leaf(&leaf).map_err(StoreError::Corrupt)?;
                Ok((seq, id, entry))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let targets: Vec<Vec<u8>> = entries
            .iter()
            .filter_map(|(_, _, e)| match &e.envelope.body {
                Body::Dispute(d) => Some(d.target.0.to_vec()),
                _ => None,
            })
            .collect();
        let located = self.locate(&targets).await?;
        let mut fair_play = FairPlay::default();
        for (seq, id, entry) in &entries {
            let target = match &entry.envelope.body {
                Body::Dispute(d) => located.get(&d.target).copied(),
                _ => None,
            };
            fair_play.follow(*seq, *id, entry, target);
        }
        Ok(fair_play)
    }

    /// Where the log holds each of `ids` (32-byte entry ids).
    async fn locate(&self, ids: &[Vec<u8>]) -> Result<HashMap<EntryId, Target>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(Vec<u8>, i64, String)> = sqlx::query_as(
            "SELECT id, seq, entry_type FROM entries WHERE log_id = $1 AND id = ANY($2)",
        )
        .bind(&self.log_id)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, seq, entry_type)| {
                let entry_type = EntryType::parse(&entry_type).map_err(StoreError::Corrupt)?;
                Ok((
                    entry_id(&id)?,
                    Target {
                        seq: seq as u64,
                        entry_type,
                    },
                ))
            })
            .collect()
    }

    /// The signer of each of the project's `coalition.measured` entries before
    /// `before_seq`, by sequence number.
    pub async fn measurement_signers(
        &self,
        project: &str,
        before_seq: u64,
    ) -> Result<HashMap<u64, String>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, actor FROM entries
              WHERE log_id = $1 AND project = $2 AND seq < $3 AND entry_type = 'coalition.measured'",
        )
        .bind(&self.log_id)
        .bind(project)
        .bind(bigint(before_seq)?)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, actor)| (seq as u64, actor))
            .collect())
    }
}
