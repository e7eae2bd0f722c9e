//! Verify-as-you-fetch: the leaves of the log, page by page, each folded into the tree's
//! frontier as it arrives; when the frontier holds the checkpoint's size its root is kept,
//! so after the last page one comparison says whether they are the leaves it signs.

use super::{ClientError, Leaf, LogClient};
use crate::crypto::hash;
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::merkle::{Frontier, Hash, leaf_hash};

pub struct LeafStream<'a> {
    client: &'a LogClient,
    checkpoint: Checkpoint,
    frontier: Frontier,
    /// Stop at the checkpoint's size (else read to the end of the log).
    stop_at_checkpoint: bool,
    /// The root of the tree when it held exactly the checkpoint's leaves.
    root_at_checkpoint: Option<Hash>,
    /// The server answered an empty page.
    exhausted: bool,
}

impl<'a> LeafStream<'a> {
    pub(super) fn new(client: &'a LogClient, checkpoint: Checkpoint, frontier: Frontier) -> Self {
        let root_at_checkpoint = (frontier.size() == checkpoint.size).then(|| frontier.root());
        Self {
            client,
            checkpoint,
            frontier,
            stop_at_checkpoint: true,
            root_at_checkpoint,
            exhausted: false,
        }
    }

    /// Reads on past the checkpoint to the end of the log (the checkpoint's leaves are
    /// still checked on the way).
    pub fn to_log_end(mut self) -> Self {
        self.stop_at_checkpoint = false;
        self
    }

    /// How many leaves are folded in: the index of the next one.
    pub fn position(&self) -> u64 {
        self.frontier.size()
    }

    /// The next page of leaves, or `None` at the end (the checkpoint's size, or the log's).
    pub async fn next_page(&mut self) -> Result<Option<Vec<Leaf>>, ClientError> {
        let start = self.frontier.size();
        let size = self.checkpoint.size;
        if self.exhausted || (self.stop_at_checkpoint && start >= size) {
            return Ok(None);
        }
        let end = self.stop_at_checkpoint.then_some(size);
        let page = self.client.leaf_page(start, end).await?;
        if page.is_empty() {
            self.exhausted = true;
            return Ok(None);
        }
        for leaf in &page {
            let expected = self.frontier.size();
            if leaf.index != expected {
                return Err(ClientError::OutOfOrder {
                    expected,
                    found: leaf.index,
                });
            }
            self.frontier
                .append_with(leaf_hash(&leaf.bytes), |_, _| {})?;
            if self.frontier.size() == size {
                self.root_at_checkpoint = Some(self.frontier.root());
            }
        }
        Ok(Some(page))
    }

    /// Every leaf still to come, in memory.
    pub async fn read_all(&mut self) -> Result<Vec<Vec<u8>>, ClientError> {
        let mut leaves = Vec::new();
        while let Some(page) = self.next_page().await? {
            leaves.extend(page.into_iter().map(|leaf| leaf.bytes));
        }
        Ok(leaves)
    }

    /// After the last page: whether the first leaves (those the stream started from, and
    /// those fetched) are exactly the ones the checkpoint signs.
    pub fn verify_root(&self) -> Result<(), ClientError> {
        let (held, size) = (self.frontier.size(), self.checkpoint.size);
        let Some(recomputed) = self.root_at_checkpoint else {
            return Err(if held > size {
                ClientError::Beyond { held, size }
            } else {
                ClientError::Short { held, size }
            });
        };
        if recomputed != self.checkpoint.root {
            return Err(ClientError::RootMismatch {
                size,
                recomputed: hash::to_hex(&recomputed),
                signed: hash::to_hex(&self.checkpoint.root),
            });
        }
        Ok(())
    }
}
