//! What `fairshare import` needs beyond the append's row writing (`rows.rs`): whether the
//! log is still empty, and the exported checkpoints stored in the import's transaction.

use super::StoreError;
use super::append::AppendTx;
use super::tree::insert_checkpoint;
use crate::ledger::merkle::Hash;

/// What a log already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub entries: u64,
    pub checkpoints: u64,
}

impl Holdings {
    pub fn is_empty(&self) -> bool {
        self.entries == 0 && self.checkpoints == 0
    }
}

impl AppendTx {
    /// How many entries and checkpoints the log holds, read under the append lock.
    pub async fn holdings(&mut self) -> Result<Holdings, StoreError> {
        let (entries, checkpoints): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM entries WHERE log_id = $1),
                    (SELECT count(*) FROM checkpoints WHERE log_id = $1)",
        )
        .bind(&self.log_id)
        .fetch_one(&mut *self.tx)
        .await?;
        let count =
            |n: i64| u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("a count of {n}")));
        Ok(Holdings {
            entries: count(entries)?,
            checkpoints: count(checkpoints)?,
        })
    }

    /// Stores a checkpoint signed elsewhere (an exported one) in this transaction.
    pub async fn insert_checkpoint(
        &mut self,
        tree_size: u64,
        root: &Hash,
        note: &str,
    ) -> Result<(), StoreError> {
        insert_checkpoint(&mut *self.tx, &self.log_id, tree_size, root, note).await
    }
}
