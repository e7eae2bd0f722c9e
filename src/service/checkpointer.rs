//! Issues signed checkpoints: after commits, at most once per interval, each one kept. A
//! checkpoint vouches for every entry it covers, so before signing one the checkpointer
//! vets, by the protocol's rules and signatures (`check::vet_range`), every entry in it
//! that this process's sequencer did not append: another server process's, an operator
//! command's, or a row INSERTed behind the server's back, which it then refuses to sign
//! over. The sequencer's own entries passed the same rules when they were appended.

use super::{ServiceError, check};
use crate::crypto::PublicKey;
use crate::ledger::checkpoint::{Checkpoint, NoteSigner, open_checkpoint, sign_checkpoint};
use crate::ledger::merkle::{self, Hash};
use crate::store::Store;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What this process knows is vetted: everything before a point, and the ranges its own
/// sequencer appended since. Shared by the sequencer (which records its commits) and the
/// checkpointer.
#[derive(Debug, Default)]
pub struct Vetting {
    state: Mutex<VettingState>,
}

#[derive(Debug, Default)]
struct VettingState {
    /// Every entry before this one is vetted.
    vetted: u64,
    /// Ranges this process's sequencer appended at or after `vetted`, in order, merged.
    own: Vec<Range<u64>>,
    /// Entries of other writers vetted so far by this process.
    foreign_vetted: u64,
    /// Why the last checkpoint was not signed, while that lasts.
    refusal: Option<Refusal>,
}

/// A checkpoint not signed because an entry in it failed vetting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The size of the checkpoint that was not signed.
    pub size: u64,
    /// The entry that failed, when one did.
    pub index: Option<u64>,
    pub reason: String,
}

impl Vetting {
    /// Everything before `vetted` is vetted (what `check` at start covered).
    pub fn new(vetted: u64) -> Self {
        Vetting {
            state: Mutex::new(VettingState {
                vetted,
                ..VettingState::default()
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, VettingState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sequencer appended (and committed) `range`: those entries need no second check.
    pub fn appended(&self, range: Range<u64>) {
        let mut state = self.state();
        match state.own.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => state.own.push(range),
        }
    }

    /// How many entries appended by other writers this process has vetted.
    pub fn foreign_vetted(&self) -> u64 {
        self.state().foreign_vetted
    }

    /// Why the checkpointer last refused to sign, unless it has signed since.
    pub fn refusal(&self) -> Option<Refusal> {
        self.state().refusal.clone()
    }

    /// The runs of `from..to` this process's sequencer did not append.
    fn foreign(&self, from: u64, to: u64) -> Vec<Range<u64>> {
        let from = from.max(self.state().vetted);
        gaps(&self.state().own, from..to)
    }

    /// Everything before `size` is vetted, `foreign` entries of it by this process now.
    fn vetted_to(&self, size: u64, foreign: u64) {
        let mut state = self.state();
        state.vetted = state.vetted.max(size);
        let vetted = state.vetted;
        state.own.retain(|r| r.end > vetted);
        state.foreign_vetted += foreign;
        state.refusal = None;
    }

    fn refuse(&self, size: u64, error: &ServiceError) {
        let (index, reason) = match error {
            ServiceError::Inconsistent { index, reason } => (*index, reason.clone()),
            other => (None, super::describe(other)),
        };
        self.state().refusal = Some(Refusal {
            size,
            index,
            reason,
        });
    }
}

/// The parts of `range` that no range of `own` (sorted, disjoint) covers.
fn gaps(own: &[Range<u64>], range: Range<u64>) -> Vec<Range<u64>> {
    let mut gaps = Vec::new();
    let mut next = range.start;
    for covered in own {
        if covered.start >= range.end {
            break;
        }
        if covered.start > next {
            gaps.push(next..covered.start);
        }
        next = next.max(covered.end);
    }
    if next < range.end {
        gaps.push(next..range.end);
    }
    gaps
}

/// Starts the checkpointer; returns the handle the sequencer notifies after each commit, and
/// the task (aborted at shutdown). A first checkpoint (possibly of the empty log) is issued
/// at once. `server_key` is the log's key, which the rules know as the operator's.
pub fn spawn(
    store: Store,
    signer: NoteSigner,
    server_key: PublicKey,
    interval: Duration,
    vetting: Arc<Vetting>,
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
            if let Err(error) = issue(&store, &signer, server_key, &vetting).await {
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

/// Vets what the log holds beyond the vetted point, then signs and stores a checkpoint of
/// it, unless one of that size exists. An entry that fails vetting is the error, and no
/// checkpoint is signed over it (now or later: the vetted point stays before it).
pub async fn issue(
    store: &Store,
    signer: &NoteSigner,
    server_key: PublicKey,
    vetting: &Vetting,
) -> Result<Option<u64>, ServiceError> {
    let size = store.size().await?;
    let from = signed_point(store, signer, size).await?;
    let mut foreign = 0;
    for run in vetting.foreign(from, size) {
        if let Err(error) = check::vet_range(store, server_key, run.clone()).await {
            if !error.is_unavailable() {
                vetting.refuse(size, &error);
            }
            return Err(ServiceError::Unvetted {
                size,
                source: Box::new(error),
            });
        }
        foreign += run.end - run.start;
    }
    vetting.vetted_to(size, foreign);
    if store.checkpoint(size).await?.is_some() {
        return Ok(None);
    }
    let root = root_at(store, size).await?;
    let checkpoint = Checkpoint::new(signer.name(), size, root)?;
    let note = sign_checkpoint(&checkpoint, signer)?;
    store.insert_checkpoint(size, &root, &note).await?;
    Ok(Some(size))
}

/// The size of the latest checkpoint signed by the log's key, at most `size`: another
/// server process of this log vetted every entry it covers before signing it. (A stored
/// row that does not verify under the key vouches for nothing: the error says so.)
async fn signed_point(store: &Store, signer: &NoteSigner, size: u64) -> Result<u64, ServiceError> {
    let Some(latest) = store.latest_checkpoint().await? else {
        return Ok(0);
    };
    let verifier = signer.verifier();
    let (note, _) =
        open_checkpoint(&latest.note, std::slice::from_ref(&verifier)).map_err(|e| {
            ServiceError::Inconsistent {
                index: None,
                reason: format!("checkpoint of size {}: {e}", latest.tree_size),
            }
        })?;
    Ok(note.size.min(size))
}

/// The root of the tree of `size` leaves, from the stored subtrees (O(log n) reads).
pub async fn root_at(store: &Store, size: u64) -> Result<Hash, ServiceError> {
    let nodes = store.tree_nodes(&merkle::root_nodes(size)).await?;
    merkle::root_at(size, &nodes).map_err(ServiceError::StoredTree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runs_the_sequencer_did_not_append_are_vetted() {
        assert_eq!(gaps(&[], 3..9), vec![3..9]);
        assert_eq!(gaps(&[0..4, 6..7, 8..20], 3..9), vec![4..6, 7..8]);
        assert_eq!(
            gaps(std::slice::from_ref(&(3..9)), 3..9),
            Vec::<Range<u64>>::new()
        );
        assert_eq!(gaps(std::slice::from_ref(&(10..12)), 3..9), vec![3..9]);

        let vetting = Vetting::new(2);
        vetting.appended(4..6);
        vetting.appended(6..8);
        vetting.appended(10..11);
        assert_eq!(vetting.foreign(0, 12), vec![2..4, 8..10, 11..12]);
        vetting.vetted_to(9, 3);
        assert_eq!(vetting.foreign(0, 12), vec![9..10, 11..12]);
        assert_eq!(vetting.foreign_vetted(), 3);
    }
}
