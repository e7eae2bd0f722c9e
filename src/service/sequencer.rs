//! The sequencer: the one append path. Submissions queue up while a batch commits; the next
//! batch takes everything queued (group commit), so one fsync serves many submitters.

use super::ServiceError;
use super::checkpointer::Vetting;
use super::telemetry;
use crate::crypto::KeyId;
use crate::entry::envelope::format_timestamp;
use crate::entry::record::{ActorRecord, KeyRecord};
use crate::entry::{ActorId, EntryError, SignedEntry};
use crate::ledger::batch::{self, Answer, Plan, Preverified, Snapshot};
use crate::ledger::merkle::Frontier;
use crate::ledger::rules::RuleSettings;
use crate::store::{AppendTx, Store};
use chrono::{SubsecRound, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
    signers: Arc<Mutex<SignerCache>>,
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
            signers: Arc::default(),
        }
    }

    /// Appends `entries` (in order) and returns, once durably committed, one result each.
    /// Signatures are verified here first, in the submitter's task and off the lock, so
    /// concurrent submitters verify in parallel while the sequencer commits.
    pub async fn submit(
        &self,
        entries: Vec<SignedEntry>,
    ) -> Result<Vec<EntryResult>, Arc<ServiceError>> {
        let view = self.signer_view(&entries).await?;
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

    /// The signers' actors and keys to pre-verify `entries` against: from the cache when it
    /// knows every key they are signed with, else read from the log and remembered.
    async fn signer_view(&self, entries: &[SignedEntry]) -> Result<Snapshot, Arc<ServiceError>> {
        if let Some(view) = self.signers().view(entries) {
            return Ok(view);
        }
        let view = self
            .store
            .signer_snapshot(entries)
            .await
            .map_err(|e| Arc::new(e.into()))?;
        self.signers().remember(&view);
        Ok(view)
    }

    fn signers(&self) -> std::sync::MutexGuard<'_, SignerCache> {
        self.signers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Most signing keys the cache holds; past that it starts over.
const SIGNER_CACHE_KEYS: usize = 100_000;

/// Signers' actors and keys as read for earlier submissions, so that later ones from the
/// same signers are pre-verified without a database round trip. It may be stale, and that is
/// safe: pre-verification only spares the sequencer the signature checks of an entry whose
/// keys the rules resolve, under the append lock, to exactly the same ones; a key revoked
/// since is refused there, and a key the cache lacks is read from the log.
#[derive(Debug, Default)]
struct SignerCache {
    actors: HashMap<ActorId, ActorRecord>,
    keys: HashMap<(ActorId, KeyId), KeyRecord>,
}

impl SignerCache {
    /// The view for `entries` if the cache knows every (actor, key) that signed them.
    fn view(&self, entries: &[SignedEntry]) -> Option<Snapshot> {
        let mut view = Snapshot::default();
        for entry in entries {
            let env = &entry.envelope;
            let cosigners = entry.cosignatures.iter().map(|c| (&c.actor, c.key));
            for (actor, key) in std::iter::once((&env.actor, env.key)).chain(cosigners) {
                let signer = (actor.clone(), key);
                let record = *self.keys.get(&signer)?;
                view.actors
                    .insert(actor.clone(), self.actors.get(actor)?.clone());
                view.keys.insert(signer, record);
            }
        }
        Some(view)
    }

    /// Keeps the actors and keys of `view` (as read from the log).
    fn remember(&mut self, view: &Snapshot) {
        if self.keys.len() + view.keys.len() > SIGNER_CACHE_KEYS {
            *self = Self::default();
        }
        self.actors
            .extend(view.actors.iter().map(|(a, r)| (a.clone(), r.clone())));
        self.keys
            .extend(view.keys.iter().map(|(k, r)| (k.clone(), *r)));
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
    // The next batch's transaction, begun (and its lock asked for) while the previous batch
    // committed, because jobs were already waiting for it.
    let mut locked: Option<AppendTx> = None;
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
        let outcome = async {
            let tx = match locked.take() {
                Some(tx) => tx,
                None => store.begin_append().await?,
            };
            let staged = stage(tx, &settings, entries.clone(), preverified, &mut frontier).await?;
            // Jobs already queued get the next transaction, whose lock PostgreSQL grants as
            // this one commits: the next batch does not wait for its BEGIN and lock after
            // this fsync. Never while idle, so the lock is not held with nothing to append.
            let committing = staged.commit(&mut frontier);
            if queue.is_empty() {
                committing.await
            } else {
                let (plan, next) = tokio::join!(committing, store.begin_append());
                locked = next.ok();
                plan
            }
        }
        .await;
        match outcome {
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
/// signature checks on all cores), insert, commit. `frontier` is the tree's frontier after
/// the caller's previous commit, if it kept one: used when the log has not moved since, and
/// replaced by the new one after the commit (cleared on failure).
pub async fn append_batch(
    store: &Store,
    settings: &Arc<RuleSettings>,
    entries: Arc<Vec<SignedEntry>>,
    preverified: Vec<Preverified>,
    frontier: &mut Option<Frontier>,
) -> Result<Plan, ServiceError> {
    let tx = store.begin_append().await?;
    stage(tx, settings, entries, preverified, frontier)
        .await?
        .commit(frontier)
        .await
}

/// A batch written in its locked transaction, not yet committed.
struct Staged {
    tx: AppendTx,
    plan: Plan,
    tree: Frontier,
}

impl Staged {
    /// Commits durably; only then does `frontier` become the batch's tree.
    async fn commit(self, frontier: &mut Option<Frontier>) -> Result<Plan, ServiceError> {
        self.tx.commit().await?;
        *frontier = Some(self.tree);
        Ok(self.plan)
    }
}

/// Everything of the append transaction `tx` (already locked) but its commit: read the head
/// and the state the batch touches, plan, insert the rows and the tree's new nodes.
async fn stage(
    mut tx: AppendTx,
    settings: &Arc<RuleSettings>,
    entries: Arc<Vec<SignedEntry>>,
    preverified: Vec<Preverified>,
    frontier: &mut Option<Frontier>,
) -> Result<Staged, ServiceError> {
    let known = frontier.take();
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
    Ok(Staged {
        tx,
        plan: planned,
        tree,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::entry::ActorKind;
    use crate::entry::envelope::sign_envelope;
    use crate::entry::record::Effect;
    use serde_json::json;

    fn entry(signer: &SecretKey) -> SignedEntry {
        let envelope = json!({"v": 3, "type": "contribution", "actor": "alice",
            "key": signer.public_key().key_id().to_string(), "nonce": "nonce-0001",
            "ts": "2026-11-29T12:00:00Z", "body": {"project": "p", "kind": "k",
            "measure": {"quantity": "1", "unit": "u"}, "evidence": format!("commit:{}", "00".repeat(32))}});
        SignedEntry::parse(&sign_envelope(&envelope, signer, &[]).expect("signs")).expect("valid")
    }

    fn read_from_log(key: &SecretKey) -> Snapshot {
        let mut view = Snapshot::default();
        view.apply(&Effect::RegisterActor {
            actor: ActorId::parse("alice").expect("slug"),
            kind: ActorKind::Human,
            operator: None,
            public_key: key.public_key(),
        });
        view
    }

    #[test]
    fn the_signer_cache_answers_only_for_keys_it_has_read() {
        let (first, rotated) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[2; 32]),
        );
        let mut cache = SignerCache::default();
        assert!(cache.view(&[entry(&first)]).is_none());
        cache.remember(&read_from_log(&first));
        let view = cache.view(&[entry(&first)]).expect("known key");
        assert_eq!(view.keys, read_from_log(&first).keys);
        // A key the cache has not read (rotated in since) sends the submission to the log.
        assert!(cache.view(&[entry(&first), entry(&rotated)]).is_none());
    }

    #[test]
    fn the_signer_cache_starts_over_when_full() {
        let mut cache = SignerCache::default();
        for seed in 0..=SIGNER_CACHE_KEYS / 20_000 {
            let mut view = Snapshot::default();
            for i in 0..20_000_u32 {
                let actor = ActorId::parse(&format!("a{seed}-{i}")).expect("slug");
                let key = SecretKey::from_seed(&[7; 32]).public_key();
                view.keys.insert(
                    (actor, key.key_id()),
                    KeyRecord {
                        public_key: key,
                        revoked: false,
                    },
                );
            }
            cache.remember(&view);
            assert!(cache.keys.len() <= SIGNER_CACHE_KEYS);
        }
        assert_eq!(cache.keys.len(), 20_000);
    }
}
