//! `fairshare check`, and vetting: recompute ids, leaf hashes, the stored tree and every
//! checkpoint's root from the stored leaves, and replay the entries through the protocol's
//! rules and signatures (`ledger::replay`, the offline verifier's code): from the last
//! signed checkpoint on (everything before it was vetted before it was signed), or with
//! [`Depth::Full`] from the first entry, allocations recomputed. The server runs it before
//! serving (unless disabled); its checkpointer vets what it did not append with [`vet_range`].

use super::ServiceError;
use crate::allocation::reproduce::Reproducer;
use crate::crypto::{PublicKey, hash};
use crate::ledger::checkpoint::{Checkpoint, NoteVerifier, open_checkpoint};
use crate::ledger::merkle::{Frontier, NodeId, leaf_hash};
use crate::ledger::replay::{BadLeaf, Window, replay_stream};
use crate::store::{LeafRow, Store, StoredCheckpoint};
use std::ops::Range;
use tokio::sync::mpsc;

/// Rows read per query.
const PAGE: u64 = 10_000;

/// How much of the log `check` replays through the rules and signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The entries after the last signed checkpoint: the server vetted every entry a
    /// checkpoint covers before signing it.
    SinceCheckpoint,
    /// Every entry, from an empty ledger, as `fairshare verify` does (allocations too).
    Full,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub entries: u64,
    pub checkpoints: usize,
    /// The first entry replayed through the rules and signatures (`entries` when none was).
    pub vetted_from: u64,
}

fn inconsistent(index: Option<u64>, reason: String) -> ServiceError {
    ServiceError::Inconsistent { index, reason }
}

impl From<BadLeaf> for ServiceError {
    fn from(bad: BadLeaf) -> Self {
        inconsistent(Some(bad.index), bad.reason)
    }
}

pub async fn check(
    store: &Store,
    verifier: &NoteVerifier,
    server_key: PublicKey,
    depth: Depth,
) -> Result<CheckReport, ServiceError> {
    let checkpoints = store.checkpoints().await?;
    let vetted_from = match depth {
        Depth::Full => 0,
        Depth::SinceCheckpoint => checkpoints.last().map_or(0, |c| c.tree_size),
    };
    let mut pending = checkpoints.iter().peekable();
    let mut frontier = Frontier::new();
    let mut replay = (depth == Depth::Full).then(|| FullReplay::start(server_key));
    check_checkpoints_at(&frontier, &mut pending, verifier)?;
    loop {
        let rows = store.leaf_rows(frontier.size(), PAGE).await?;
        if rows.is_empty() {
            break;
        }
        let first = frontier.size();
        let leaves = verify_page(store, &mut frontier, rows, |frontier| {
            check_checkpoints_at(frontier, &mut pending, verifier)
        })
        .await?;
        match &mut replay {
            Some(replay) => replay.push(leaves).await,
            None if frontier.size() > vetted_from => {
                let skip = vetted_from.saturating_sub(first);
                let leaves = leaves
                    .into_iter()
                    .skip(usize::try_from(skip).unwrap_or(usize::MAX))
                    .collect();
                vet(store, server_key, first + skip, leaves).await?;
            }
            None => {}
        }
    }
    if let Some(replay) = replay {
        replay.finish().await?;
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
    check_vouching(store).await?;
    Ok(CheckReport {
        entries: frontier.size(),
        checkpoints: checkpoints.len(),
        vetted_from: vetted_from.min(frontier.size()),
    })
}

/// Every stored checkpoint of the frontier's size: signed by the log's key, over the root
/// recomputed from the leaves.
fn check_checkpoints_at(
    frontier: &Frontier,
    pending: &mut std::iter::Peekable<std::slice::Iter<'_, StoredCheckpoint>>,
    verifier: &NoteVerifier,
) -> Result<(), ServiceError> {
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
}

/// Checks a page of stored rows that extends `frontier`: consecutive from its size, each id
/// and leaf hash recomputed from the leaf, and the tree nodes they complete as stored;
/// `at_size` runs after each leaf joins the tree. Returns the leaves.
async fn verify_page(
    store: &Store,
    frontier: &mut Frontier,
    rows: Vec<LeafRow>,
    mut at_size: impl FnMut(&Frontier) -> Result<(), ServiceError>,
) -> Result<Vec<Vec<u8>>, ServiceError> {
    let mut created: Vec<(NodeId, [u8; 32])> = Vec::with_capacity(rows.len() * 2);
    let mut leaves = Vec::with_capacity(rows.len());
    for (seq, id, stored_leaf_hash, leaf) in rows {
        if seq != frontier.size() {
            return Err(inconsistent(
                Some(frontier.size()),
                format!("missing; the next stored entry is {seq}"),
            ));
        }
        if id.as_slice() != hash::blake3(&leaf) {
            return Err(inconsistent(
                Some(seq),
                "the stored id is not blake3 of the leaf".into(),
            ));
        }
        let recomputed = leaf_hash(&leaf);
        if stored_leaf_hash.as_slice() != recomputed {
            return Err(inconsistent(
                Some(seq),
                "the stored leaf hash is not SHA-256(0x00 || leaf)".into(),
            ));
        }
        frontier
            .append_with(recomputed, |node, h| created.push((node, h)))
            .map_err(|e| inconsistent(Some(seq), e.to_string()))?;
        at_size(frontier)?;
        leaves.push(leaf);
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
    Ok(leaves)
}

/// Replays stored leaves `first..first + leaves.len()` through the protocol's rules and
/// signatures, against the ledger's state before `first` as the store holds it (actor and
/// key rows only where their leaves vouch for them). The first bad leaf is the error.
pub async fn vet(
    store: &Store,
    server_key: PublicKey,
    first: u64,
    leaves: Vec<Vec<u8>>,
) -> Result<(), ServiceError> {
    let window = tokio::task::spawn_blocking(move || Window::parse(first, leaves)).await?;
    let state = store.state_before(&window.entries(), first).await?;
    tokio::task::spawn_blocking(move || window.vet(state, server_key)).await??;
    Ok(())
}

/// Vets the stored entries in `range` as [`check`] does, a page at a time: rows, ids, leaf
/// hashes and the tree nodes they complete, then rules and signatures ([`vet`]).
pub async fn vet_range(
    store: &Store,
    server_key: PublicKey,
    range: Range<u64>,
) -> Result<(), ServiceError> {
    let nodes = store.tree_nodes(&Frontier::node_ids(range.start)).await?;
    let mut frontier =
        Frontier::from_store(range.start, &nodes).map_err(ServiceError::StoredTree)?;
    while frontier.size() < range.end {
        let first = frontier.size();
        let rows = store.leaf_rows(first, PAGE.min(range.end - first)).await?;
        if rows.is_empty() {
            return Err(inconsistent(Some(first), "missing".into()));
        }
        let leaves = verify_page(store, &mut frontier, rows, |_| Ok(())).await?;
        vet(store, server_key, first, leaves).await?;
    }
    Ok(())
}

/// Every `actors` and `actor_keys` row is made by the leaf it names.
async fn check_vouching(store: &Store) -> Result<(), ServiceError> {
    let Some(row) = store.unvouched_rows().await?.into_iter().next() else {
        return Ok(());
    };
    let what = match &row.key_id {
        Some(key) => format!("the actor_keys row giving {} the key {key}", row.actor),
        None => format!("the actors row registering {}", row.actor),
    };
    Err(inconsistent(
        Some(row.seq),
        format!(
            "{what} names this entry, which did not make it: a row written behind the server's back"
        ),
    ))
}

/// The whole log replayed by the offline verifier's engine while `check` reads it: pages go
/// to a blocking task (rules on its thread, signatures on the pool, allocations recomputed).
struct FullReplay {
    pages: mpsc::Sender<Vec<Vec<u8>>>,
    task: tokio::task::JoinHandle<Result<(), BadLeaf>>,
}

impl FullReplay {
    fn start(server_key: PublicKey) -> Self {
        let (pages, mut received) = mpsc::channel::<Vec<Vec<u8>>>(2);
        let task = tokio::task::spawn_blocking(move || {
            let windows =
                std::iter::from_fn(move || received.blocking_recv()).map(Ok::<_, BadLeaf>);
            let mut reproducer = Reproducer::default();
            replay_stream(windows, server_key, &[], &mut reproducer, &|_, _| {}).map(|_| ())
        });
        FullReplay { pages, task }
    }

    /// Hands the next page over; once the replay has stopped at a bad leaf, pages are
    /// dropped (the replay's result says where).
    async fn push(&mut self, leaves: Vec<Vec<u8>>) {
        let _ = self.pages.send(leaves).await;
    }

    async fn finish(self) -> Result<(), ServiceError> {
        drop(self.pages);
        self.task.await??;
        Ok(())
    }
}
