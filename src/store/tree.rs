//! The stored Merkle tree, checkpoints and leaf pages: what proofs, export and `check` read.

use super::append::AppendTx;
use super::decode::{bigint, bigints, hash32};
use super::reads::StoredEntryColumns;
use super::{Store, StoreError};
use crate::ledger::merkle::{Frontier, Hash, NodeId, complete_subtree_hash};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A stored checkpoint: the signed note exactly as served.
#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    pub root: Hash,
    pub note: String,
    pub issued_at: DateTime<Utc>,
}

/// seq, id, leaf hash, leaf: one page row for `check`.
pub type LeafRow = (u64, Vec<u8>, Vec<u8>, Vec<u8>);

impl AppendTx {
    /// The frontier of the tree of `size` leaves, from the stored complete subtrees.
    pub async fn frontier(&mut self, size: u64) -> Result<Frontier, StoreError> {
        let ids = Frontier::node_ids(size);
        let nodes = fetch_nodes(&mut *self.tx, &self.log_id, &ids).await?;
        Frontier::from_store(size, &nodes)
            .map_err(|e| StoreError::Corrupt(format!("stored tree at size {size}: {e}")))
    }

    /// Stores the complete subtree hashes created by this batch's appends, from
    /// [`FIRST_STORED_LEVEL`] up: those below are hashed from the entries' leaf hashes when
    /// read.
    pub async fn insert_nodes(&mut self, nodes: &[(NodeId, Hash)]) -> Result<(), StoreError> {
        let nodes: Vec<&(NodeId, Hash)> = nodes
            .iter()
            .filter(|(n, _)| n.level >= FIRST_STORED_LEVEL)
            .collect();
        if nodes.is_empty() {
            return Ok(());
        }
        let levels: Vec<i16> = nodes.iter().map(|(n, _)| i16::from(n.level)).collect();
        let indexes = bigints(nodes.iter().map(|(n, _)| n.index))?;
        let hashes: Vec<Vec<u8>> = nodes.iter().map(|(_, h)| h.to_vec()).collect();
        sqlx::query(
            "INSERT INTO tree_nodes (log_id, level, idx, hash)
             SELECT $1, * FROM UNNEST($2::smallint[], $3::bigint[], $4::bytea[])",
        )
        .bind(&self.log_id)
        .bind(&levels)
        .bind(&indexes)
        .bind(&hashes)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

/// Complete subtrees below this level get no row: each is hashed, when read, from at most
/// 2^(FIRST_STORED_LEVEL - 1) leaf hashes, which every entry row keeps (`entries.leaf_hash`).
/// An append then writes about one node row per 2^FIRST_STORED_LEVEL leaves instead of two
/// per leaf, and a proof reads a few dozen leaf hashes more (at most one node per level).
const FIRST_STORED_LEVEL: u8 = 4;

/// The nodes among `ids` that the log holds (complete subtrees of its leaves), in one query.
async fn fetch_nodes<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    log_id: &str,
    ids: &[NodeId],
) -> Result<HashMap<NodeId, Hash>, StoreError> {
    let (stored, hashed): (Vec<NodeId>, Vec<NodeId>) =
        ids.iter().partition(|n| n.level >= FIRST_STORED_LEVEL);
    let levels: Vec<i16> = stored.iter().map(|n| i16::from(n.level)).collect();
    let indexes = bigints(stored.iter().map(|n| n.index))?;
    let mut leaves = bigints(hashed.iter().flat_map(|n| n.begin()..n.end()))?;
    leaves.sort_unstable();
    leaves.dedup();
    let rows: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT t.level, t.idx, t.hash FROM tree_nodes t
           JOIN UNNEST($2::smallint[], $3::bigint[]) AS w(level, idx) ON t.level = w.level AND t.idx = w.idx
          WHERE t.log_id = $1
         UNION ALL
         SELECT 0::smallint, seq, leaf_hash FROM entries WHERE log_id = $1 AND seq = ANY($4)",
    )
    .bind(log_id)
    .bind(&levels)
    .bind(&indexes)
    .bind(&leaves)
    .fetch_all(executor)
    .await?;
    let mut found = rows
        .into_iter()
        .map(|(level, idx, hash)| {
            let level = u8::try_from(level)
                .map_err(|_| StoreError::Corrupt(format!("a tree node of level {level}")))?;
            Ok((NodeId::new(level, idx as u64), hash32(&hash)?))
        })
        .collect::<Result<HashMap<_, _>, StoreError>>()?;
    // A node below the stored levels exists when all its leaves do.
    for node in hashed {
        let leaf_hashes: Option<Vec<Hash>> = (node.begin()..node.end())
            .map(|seq| found.get(&NodeId::new(0, seq)).copied())
            .collect();
        if let Some(hash) = leaf_hashes.and_then(|h| complete_subtree_hash(&h)) {
            found.insert(node, hash);
        }
    }
    Ok(found)
}

/// Stores a signed checkpoint, issued now (unless one of that size is stored).
pub(super) async fn insert_checkpoint<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    log_id: &str,
    tree_size: u64,
    root: &Hash,
    note: &str,
) -> Result<(), StoreError> {
    // Two processes may sign the same size: ed25519 is deterministic, so the notes are equal.
    sqlx::query(
        "INSERT INTO checkpoints (log_id, tree_size, root, note, issued_at) VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (log_id, tree_size) DO NOTHING",
    )
    .bind(log_id)
    .bind(bigint(tree_size)?)
    .bind(root.to_vec())
    .bind(note)
    .execute(executor)
    .await?;
    Ok(())
}

impl Store {
    /// The stored complete subtree hashes among `ids`, in one query.
    pub async fn tree_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
        fetch_nodes(&self.pool, &self.log_id, ids).await
    }

    /// Hashes `start..start + count` of tree level `level` (level 0: leaf hashes), in
    /// order: what a tile holds. Stops at the first the log does not hold.
    pub async fn level_hashes(
        &self,
        level: u8,
        start: u64,
        count: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let end = start.saturating_add(count);
        if level == 0 {
            let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
                "SELECT leaf_hash FROM entries WHERE log_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq",
            )
            .bind(&self.log_id)
            .bind(bigint(start)?)
            .bind(bigint(end)?)
            .fetch_all(&self.pool)
            .await?;
            return rows.iter().map(|(hash,)| hash32(hash)).collect();
        }
        let ids: Vec<NodeId> = (start..end).map(|i| NodeId::new(level, i)).collect();
        let found = fetch_nodes(&self.pool, &self.log_id, &ids).await?;
        Ok(ids.iter().map_while(|id| found.get(id).copied()).collect())
    }

    /// The size of the latest checkpoint (0 before the first).
    pub async fn checkpointed_size(&self) -> Result<u64, StoreError> {
        let (size,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(tree_size), 0) FROM checkpoints WHERE log_id = $1")
                .bind(&self.log_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(size as u64)
    }

    pub async fn leaf_index_by_hash(&self, leaf_hash: &Hash) -> Result<Option<u64>, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT min(seq) FROM entries WHERE log_id = $1 AND leaf_hash = $2 HAVING min(seq) IS NOT NULL")
            .bind(&self.log_id)
            .bind(leaf_hash.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(seq,)| seq as u64))
    }

    /// Leaves `start..end` (at most `end - start`), in order.
    pub async fn leaves(&self, start: u64, end: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, leaf FROM entries WHERE log_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq")
                .bind(&self.log_id)
                .bind(bigint(start)?)
                .bind(bigint(end)?)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, leaf)| (seq as u64, leaf))
            .collect())
    }

    /// A page of stored rows with their hashes, for recomputation by `check`.
    pub async fn leaf_rows(&self, start: u64, limit: u64) -> Result<Vec<LeafRow>, StoreError> {
        let rows: Vec<StoredEntryColumns> = sqlx::query_as(
            "SELECT seq, id, leaf_hash, leaf FROM entries WHERE log_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
        )
        .bind(&self.log_id)
        .bind(bigint(start)?)
        .bind(bigint(limit)?)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, id, lh, leaf)| (seq as u64, id, lh, leaf))
            .collect())
    }

    pub async fn insert_checkpoint(
        &self,
        tree_size: u64,
        root: &Hash,
        note: &str,
    ) -> Result<(), StoreError> {
        insert_checkpoint(&self.pool, &self.log_id, tree_size, root, note).await
    }

    /// Every checkpoint, smallest tree first.
    pub async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let rows: Vec<(i64, Vec<u8>, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT tree_size, root, note, issued_at FROM checkpoints WHERE log_id = $1 ORDER BY tree_size",
        )
        .bind(&self.log_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(tree_size, root, note, issued_at)| {
                Ok(StoredCheckpoint {
                    tree_size: tree_size as u64,
                    root: hash32(&root)?,
                    note,
                    issued_at,
                })
            })
            .collect()
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.checkpoint_where("ORDER BY tree_size DESC LIMIT 1", None)
            .await
    }

    pub async fn checkpoint(&self, tree_size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.checkpoint_where("AND tree_size = $2", Some(tree_size))
            .await
    }

    async fn checkpoint_where(
        &self,
        clause: &'static str,
        size: Option<u64>,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let sql = format!(
            "SELECT tree_size, root, note, issued_at FROM checkpoints WHERE log_id = $1 {clause}"
        );
        let mut query =
            sqlx::query_as::<_, (i64, Vec<u8>, String, DateTime<Utc>)>(sqlx::AssertSqlSafe(sql))
                .bind(&self.log_id);
        if let Some(size) = size {
            query = query.bind(bigint(size)?);
        }
        let row = query.fetch_optional(&self.pool).await?;
        row.map(|(tree_size, root, note, issued_at)| {
            Ok(StoredCheckpoint {
                tree_size: tree_size as u64,
                root: hash32(&root)?,
                note,
                issued_at,
            })
        })
        .transpose()
    }
}
