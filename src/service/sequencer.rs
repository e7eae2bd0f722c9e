//! The sequencer: the one append path. Submissions queue up while a batch commits; the next
//! batch takes everything queued (group commit), so one fsync serves many submitters.

use super::ServiceError;
use super::checkpointer::Vetting;
use super::telemetry;
use crate::entry::envelope::format_timestamp;
use crate::entry::{EntryError, SignedEntry};
use crate::ledger::batch::{self, Answer, Plan, Preverified};
use crate::ledger::merkle::Frontier;
use crate::ledger::rules::RuleSettings;
use crate::store::Store;
use chrono::{SubsecRound, Utc};
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot};

/// One entry's answer: its receipt, or why it was refused.
pub type EntryResult = Result<Answer, EntryError>;

struct Job {
    entries: Vec<SignedEntry>,
    preverified: Vec<Preverified>,
    reply: oneshot::Sender<Result<Vec<EntryResult>, Arc<ServiceError>>>,
}

/// A handle on the sequencer task; cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    jobs: mpsc::Sender<Job>,
    store: Store,
    settings: Arc<RuleSettings>,
}

impl Sequencer {
    /// Starts the sequencer task. `max_batch` bounds the entries of one transaction;
    /// Each of `committed` is notified after every commit (the checkpointer and the
    /// allocator wait on them), and `vetting` hears which entries it appended (the
    /// checkpointer checks only the others).
    pub fn spawn(
        store: Store,
        settings: RuleSettings,
        max_batch: usize,
        committed: Vec<Arc<Notify>>,
        vetting: Arc<Vetting>,
    ) -> Self {
        let (jobs, queue) = mpsc::channel(1024);
        let settings = Arc::new(settings);
        tokio::spawn(run(
            queue,
            store.clone(),
            settings.clone(),
            max_batch,
            committed,
            vetting,
        ));
        Self {
            jobs,
            store,
            settings,
        }
    }

    /// Appends `entries` (in order) and returns, once durably committed, one result each.
    /// Signatures are verified here first, in the submitter's task and off the lock, so
    /// concurrent submitters verify in parallel while the sequencer commits.
    pub async fn submit(
        &self,
        entries: Vec<SignedEntry>,
    ) -> Result<Vec<EntryResult>, Arc<ServiceError>> {
        let view = self
            .store
            .signer_snapshot(&entries)
            .await
            .map_err(|e| Arc::new(e.into()))?;
        let (entries, preverified) = {
            let settings = self.settings.clone();
            tokio::task::spawn_blocking(move || {
                let preverified = batch::preverify(&entries, &view, &settings);
                (entries, preverified)
            })
            .await
            .map_err(|e| Arc::new(ServiceError::Task(e)))?
        };
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                entries,
                preverified,
                reply,
            })
            .await
            .map_err(|_| Arc::new(ServiceError::Stopped))?;
        answer.await.map_err(|_| Arc::new(ServiceError::Stopped))?
    }
}

async fn run(
    mut queue: mpsc::Receiver<Job>,
    store: Store,
    settings: Arc<RuleSettings>,
    max_batch: usize,
    committed: Vec<Arc<Notify>>,
    vetting: Arc<Vetting>,
) {
    // The tree's frontier after this task's last commit: the next batch extends it without
    // reading it back, unless another appender (`fairshare actor register`) moved the log.
    let mut frontier: Option<Frontier> = None;
    while let Some(first) = queue.recv().await {
        let mut count = first.entries.len();
        let mut jobs = vec![first];
        while count < max_batch {
            match queue.try_recv() {
                Ok(job) => {
                    count += job.entries.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let mut entries = Vec::with_capacity(count);
        let mut preverified = Vec::with_capacity(count);
        let mut replies = Vec::with_capacity(jobs.len());
        for job in jobs {
            replies.push((job.entries.len(), job.reply));
            entries.extend(job.entries);
            preverified.extend(job.preverified);
        }
        let entries = Arc::new(entries);
        let started = std::time::Instant::now();
        match append_batch(
            &store,
            &settings,
            entries.clone(),
            preverified,
            &mut frontier,
        )
        .await
        {
            Ok(plan) => {
                if let (Some(first), Some(last)) = (plan.accepted.first(), plan.accepted.last()) {
                    vetting.appended(first.receipt.seq..last.receipt.seq + 1);
                }
                committed.iter().for_each(|n| n.notify_one());
                record_commit(entries.len(), plan.accepted.len(), started.elapsed());
                let mut next = 0;
                for (len, reply) in replies {
                    let _ = reply.send(Ok((next..next + len).map(|i| plan.result(i)).collect()));
                    next += len;
                }
            }
            Err(error) => {
                let outcome = if error.is_outcome_unknown() {
                    "the outcome is unknown"
                } else {
                    "nothing was stored"
                };
                tracing::error!(
                    error = &error as &dyn std::error::Error,
                    entries = entries.len(),
                    "append batch failed; {outcome}"
                );
                let error = Arc::new(error);
                for (_, reply) in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// The ingest metrics of one committed batch.
fn record_commit(batch: usize, appended: usize, took: std::time::Duration) {
    metrics::counter!(telemetry::ENTRIES_APPENDED).increment(appended as u64);
    metrics::histogram!(telemetry::COMMIT_BATCH_ENTRIES).record(batch as f64);
    metrics::histogram!(telemetry::COMMIT_SECONDS).record(took.as_secs_f64());
}

/// One append transaction: lock, read the head and the state the batch touches, plan (with
/// signature checks on all cores), insert, commit. Used by the sequencer task and by the
/// operator's `fairshare actor register`. `frontier` is the tree's frontier after the
/// caller's previous commit, if it kept one: used when the log has not moved since, and
/// replaced by the new one after the commit (cleared on failure).
pub async fn append_batch(
    store: &Store,
    settings: &Arc<RuleSettings>,
    entries: Arc<Vec<SignedEntry>>,
    preverified: Vec<Preverified>,
    frontier: &mut Option<Frontier>,
) -> Result<Plan, ServiceError> {
    let known = frontier.take();
    let mut tx = store.begin_append().await?;
    let next_seq = tx.next_seq().await?;
    let snapshot = tx.load_snapshot(&entries).await?;
    // Microseconds: what PostgreSQL's timestamptz keeps, so the column equals the leaf.
    let received_at = Utc::now().trunc_subsecs(6);
    let planned = {
        let (entries, settings) = (entries.clone(), settings.clone());
        let stamp = format_timestamp(received_at);
        tokio::task::spawn_blocking(move || {
            batch::plan(
                &entries,
                &preverified,
                &snapshot,
                &settings,
                next_seq,
                &stamp,
            )
        })
        .await?
    };
    tx.insert(&planned, &entries, received_at).await?;
    // Extend the stored tree in the same transaction: proofs never rehash the log.
    let mut tree = match known {
        Some(known) if known.size() == next_seq => known,
        _ => tx.frontier(next_seq).await?,
    };
    let mut nodes = Vec::with_capacity(planned.accepted.len() * 2);
    for accepted in &planned.accepted {
        tree.append_with(accepted.receipt.leaf_hash, |node, hash| {
            nodes.push((node, hash))
        })
        .map_err(ServiceError::Tree)?;
    }
    tx.insert_nodes(&nodes).await?;
    tx.commit().await?;
    *frontier = Some(tree);
    Ok(planned)
}
