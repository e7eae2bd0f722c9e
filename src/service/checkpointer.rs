//! Issues signed checkpoints: after commits, at most once per interval, each one kept.

use super::ServiceError;
use crate::ledger::checkpoint::{Checkpoint, NoteSigner, sign_checkpoint};
use crate::ledger::merkle::{self, Hash};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Starts the checkpointer; returns the handle the sequencer notifies after each commit, and
/// the task (aborted at shutdown). A first checkpoint (possibly of the empty log) is issued
/// at once.
pub fn spawn(
    store: Store,
    signer: NoteSigner,
    origin: String,
    interval: Duration,
) -> (Arc<Notify>, tokio::task::JoinHandle<()>) {
    let committed = Arc::new(Notify::new());
    let wake = committed.clone();
    let task = tokio::spawn(async move {
        let mut last_issued: Option<Instant> = None;
        loop {
            if let Some(last) = last_issued {
                wake.notified().await;
                tokio::time::sleep_until(last + interval).await;
            }
            if let Err(error) = issue(&store, &signer, &origin).await {
                tracing::error!(
                    error = &error as &dyn std::error::Error,
                    "could not issue a checkpoint"
                );
            }
            last_issued = Some(Instant::now());
        }
    });
    (committed, task)
}

/// Signs and stores a checkpoint of the current log, unless one of that size exists.
pub async fn issue(
    store: &Store,
    signer: &NoteSigner,
    origin: &str,
) -> Result<Option<u64>, ServiceError> {
    let size = store.size().await?;
    if store.checkpoint(size).await?.is_some() {
        return Ok(None);
    }
    let root = root_at(store, size).await?;
    let checkpoint = Checkpoint::new(origin, size, root)?;
    let note = sign_checkpoint(&checkpoint, signer)?;
    store.insert_checkpoint(size, &root, &note).await?;
    Ok(Some(size))
}

/// The root of the tree of `size` leaves, from the stored subtrees (O(log n) reads).
pub async fn root_at(store: &Store, size: u64) -> Result<Hash, ServiceError> {
    let nodes = store.tree_nodes(&merkle::root_nodes(size)).await?;
    merkle::root_at(size, &nodes).map_err(ServiceError::StoredTree)
}
