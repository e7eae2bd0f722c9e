//! `fairshare check`: recompute ids, leaf hashes, the stored tree and every checkpoint's
//! root from the stored leaves. The server runs it before serving (unless disabled).

use super::ServiceError;
use crate::crypto::hash;
use crate::ledger::checkpoint::{Checkpoint, NoteVerifier, open_checkpoint};
use crate::ledger::merkle::{Frontier, NodeId, leaf_hash};
use crate::store::Store;

/// Rows read per query.
const PAGE: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub entries: u64,
    pub checkpoints: usize,
}

pub async fn check(store: &Store, verifier: &NoteVerifier) -> Result<CheckReport, ServiceError> {
    let checkpoints = store.checkpoints().await?;
    let mut pending = checkpoints.iter().peekable();
    let mut frontier = Frontier::new();
    let inconsistent =
        |index: Option<u64>, reason: String| ServiceError::Inconsistent { index, reason };
    let check_checkpoints_at = |frontier: &Frontier,
                                pending: &mut std::iter::Peekable<
        std::slice::Iter<'_, crate::store::StoredCheckpoint>,
    >| {
        while let Some(stored) = pending.next_if(|c| c.tree_size == frontier.size()) {
            let (note, _) =
                open_checkpoint(&stored.note, std::slice::from_ref(verifier)).map_err(|e| {
                    inconsistent(
                        None,
                        format!("checkpoint of size {}: {e}", stored.tree_size),
                    )
                })?;
            let expected = Checkpoint::new(note.origin.clone(), frontier.size(), frontier.root())
                .map_err(|e| inconsistent(None, e.to_string()))?;
            if note != expected || stored.root != frontier.root() {
                return Err(inconsistent(
                    None,
                    format!(
                        "checkpoint of size {} does not match the root recomputed from the leaves",
                        stored.tree_size
                    ),
                ));
            }
        }
        Ok(())
    };
    check_checkpoints_at(&frontier, &mut pending)?;
    loop {
        let rows = store.leaf_rows(frontier.size(), PAGE).await?;
        if rows.is_empty() {
            break;
        }
        let mut created: Vec<(NodeId, [u8; 32])> = Vec::with_capacity(rows.len() * 2);
        for (seq, id, stored_leaf_hash, leaf) in &rows {
            if *seq != frontier.size() {
                return Err(inconsistent(
                    Some(frontier.size()),
                    format!("missing; the next stored entry is {seq}"),
                ));
            }
            if id.as_slice() != hash::blake3(leaf) {
                return Err(inconsistent(
                    Some(*seq),
                    "the stored id is not blake3 of the leaf".into(),
                ));
            }
            let recomputed = leaf_hash(leaf);
            if stored_leaf_hash.as_slice() != recomputed {
                return Err(inconsistent(
                    Some(*seq),
                    "the stored leaf hash is not SHA-256(0x00 || leaf)".into(),
                ));
            }
            frontier
                .append_with(recomputed, |node, h| created.push((node, h)))
                .map_err(|e| inconsistent(Some(*seq), e.to_string()))?;
            check_checkpoints_at(&frontier, &mut pending)?;
        }
        let ids: Vec<NodeId> = created.iter().map(|(n, _)| *n).collect();
        let stored = store.tree_nodes(&ids).await?;
        for (node, expected) in &created {
            if stored.get(node) != Some(expected) {
                return Err(inconsistent(
                    Some(node.begin()),
                    format!(
                        "stored tree node (level {}, index {}) disagrees with the leaves",
                        node.level, node.index
                    ),
                ));
            }
        }
    }
    if let Some(beyond) = pending.next() {
        return Err(inconsistent(
            None,
            format!(
                "checkpoint of size {} is beyond the log's {} entries",
                beyond.tree_size,
                frontier.size()
            ),
        ));
    }
    Ok(CheckReport {
        entries: frontier.size(),
        checkpoints: checkpoints.len(),
    })
}
