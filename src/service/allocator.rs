//! The allocator: after commits, allocates every `value.realized` entry that has no
//! allocation yet, and appends the result (signed by the server key) through the sequencer.
//! It never blocks ingestion; what fails for a passing reason (database) is retried on the
//! next commit or tick.

use super::{Sequencer, ServiceError};
use crate::allocation::{allocate, compute, name_actors};
use crate::crypto::SecretKey;
use crate::entry::EntryId;
use crate::entry::body::{Body, EntryType};
use crate::entry::envelope::{Envelope, format_timestamp};
use crate::entry::record::SERVER_ACTOR;
use crate::entry::{Rejection, SignedEntry};
use crate::policy::{self, Detail};
use crate::store::{Store, StoreError};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How often pending work is looked for without a commit (retries after passing failures).
const RETRY_EVERY: Duration = Duration::from_secs(10);

/// What the rest of the server sees of the allocator: a way to wake it (the sequencer does
/// after each commit, an operator's retry on demand) and why its last run was deferred.
#[derive(Clone, Default)]
pub struct Allocator {
    due: Arc<Notify>,
    deferred: Arc<Mutex<Option<Deferral>>>,
}

/// A run that failed for a passing reason (the database, most likely); nothing was appended
/// for the values it was allocating, and they are tried again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deferral {
    pub at: String,
    pub reason: String,
}

impl Allocator {
    /// The notification that wakes the allocator, for the sequencer's list.
    pub fn due(&self) -> Arc<Notify> {
        self.due.clone()
    }

    /// Runs the allocator now rather than at its next commit or tick.
    pub fn wake(&self) {
        self.due.notify_one();
    }

    /// Why the last run was deferred, unless a run has succeeded since.
    pub fn deferral(&self) -> Option<Deferral> {
        self.deferred
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record(&self, deferral: Option<Deferral>) {
        *self.deferred.lock().unwrap_or_else(|e| e.into_inner()) = deferral;
    }
}

/// Starts the allocator; the task is aborted at shutdown.
pub fn spawn(
    store: Store,
    sequencer: Sequencer,
    server_key: SecretKey,
    allocator: Allocator,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match allocate_pending(&store, &sequencer, &server_key).await {
                Ok(count) => {
                    if count > 0 {
                        tracing::info!(count, "appended allocations");
                    }
                    allocator.record(None);
                }
                Err(error) => {
                    tracing::warn!(
                        error = &error as &dyn std::error::Error,
                        "allocation deferred; will retry"
                    );
                    allocator.record(Some(Deferral {
                        at: format_timestamp(chrono::Utc::now()),
                        reason: super::describe(&error),
                    }));
                }
            }
            let _ = tokio::time::timeout(RETRY_EVERY, allocator.due.notified()).await;
        }
    })
}

/// Allocates pending value entries, oldest first; returns how many allocations it appended.
pub async fn allocate_pending(
    store: &Store,
    sequencer: &Sequencer,
    server_key: &SecretKey,
) -> Result<usize, ServiceError> {
    let mut appended = 0;
    let pending = store.pending_values(100).await?;
    let queue = metrics::gauge!(super::telemetry::ALLOCATION_QUEUE);
    queue.set(pending.len() as f64);
    for (seq, value_id, leaf) in pending {
        let started = Instant::now();
        let inputs = load(store, seq, value_id, &leaf).await?;
        let loaded = started.elapsed();
        let body = tokio::task::spawn_blocking(move || inputs.compute()).await?;
        let computed = started.elapsed();

        let envelope = Envelope::unsigned(
            EntryType::Allocation,
            SERVER_ACTOR,
            server_key.public_key().key_id(),
            // One nonce per value entry: a second allocator process is refused, not duplicated.
            &format!("allocation-{}", &value_id.to_string()[..32]),
            &format_timestamp(chrono::Utc::now()),
            body,
        );
        let entry = SignedEntry::sign(envelope, server_key).map_err(|source| {
            ServiceError::AllocationEntry {
                value: value_id,
                source,
            }
        })?;
        let mut results = sequencer.submit(vec![entry]).await.map_err(|source| {
            ServiceError::AllocationAppend {
                value: value_id,
                source,
            }
        })?;
        tracing::info!(value = %value_id, ?loaded, ?computed, appended = ?started.elapsed(),
                       "allocation: inputs read, computed, appended (times since start)");
        metrics::histogram!(super::telemetry::ALLOCATION_SECONDS)
            .record(started.elapsed().as_secs_f64());
        queue.decrement(1);
        match results.pop() {
            Some(Ok(_)) => appended += 1,
            Some(Err(e)) if e.rejection == Rejection::Conflict => {}
            Some(Err(source)) => {
                return Err(ServiceError::AllocationRefused {
                    value: value_id,
                    source,
                });
            }
            None => {}
        }
    }
    Ok(appended)
}

/// Everything an allocation is computed from, read from the store.
pub struct Loaded {
    value_id: EntryId,
    value_seq: u64,
    value: SignedEntry,
    policy_text: String,
    inputs: policy::Inputs,
}

impl Loaded {
    /// The policy's inputs, as read from the allocation inputs projection.
    pub fn inputs(&self) -> &policy::Inputs {
        &self.inputs
    }

    /// The allocation entry's body.
    pub fn compute(&self) -> Value {
        compute(
            &self.value_id,
            self.value_seq,
            &self.value,
            &self.policy_text,
            &self.inputs,
        )
    }

    /// The full allocation, with each player's breakdown and the contributions that did not count.
    pub fn allocate(&self) -> Result<policy::Allocation, String> {
        allocate(
            &self.value_id,
            &self.value,
            &self.policy_text,
            &self.inputs,
            Detail::Breakdown,
        )
    }
}

/// Reads the inputs of the value entry `value_id` (at `value_seq`, stored as `leaf`): the
/// adopted policy's text, the project's contributions, endorsements and measured
/// coalitions from their projection (plain columns: no leaf is parsed), and their actors.
pub async fn load(
    store: &Store,
    value_seq: u64,
    value_id: EntryId,
    leaf: &[u8],
) -> Result<Loaded, ServiceError> {
    let (value, _) = SignedEntry::from_leaf(leaf).map_err(corrupt)?;
    let Body::ValueRealized(realized) = &value.envelope.body else {
        return Err(corrupt(format!("entry {value_id} is not a value.realized")));
    };
    let (_, _, policy_leaf) = store
        .policy_entry(&realized.policy)
        .await?
        .ok_or_else(|| corrupt("adopted policy missing".into()))?;
    let (policy_entry, _) = SignedEntry::from_leaf(&policy_leaf).map_err(corrupt)?;
    let Body::PolicyAdopted(policy) = policy_entry.envelope.body else {
        return Err(corrupt("not a policy entry".into()));
    };
    let records = store
        .allocation_inputs(realized.project.as_str(), value_seq)
        .await?;
    // Sorted and deduplicated in one vector: a tree set of 130,000 names took longer.
    let mut names: Vec<&str> = Vec::with_capacity(
        records.contributions.len() + records.endorsements.len() + records.measured.len(),
    );
    names.extend(records.contributions.iter().map(|c| c.actor.as_str()));
    names.extend(records.endorsements.iter().map(|e| e.endorser.as_str()));
    names.extend(
        records
            .measured
            .iter()
            .flat_map(|m| m.members.iter().map(String::as_str)),
    );
    names.sort_unstable();
    names.dedup();
    let names: Vec<String> = names.into_iter().map(str::to_owned).collect();
    let mut actors = store.actor_records(&names).await?;
    let operators: Vec<String> = actors
        .values()
        .filter_map(|a| a.operator.as_ref().map(ToString::to_string))
        .collect();
    actors.extend(store.actor_records(&operators).await?);
    Ok(Loaded {
        value_id,
        value_seq,
        value,
        policy_text: policy.text,
        inputs: name_actors(records, &actors),
    })
}

fn corrupt(message: String) -> ServiceError {
    ServiceError::Store(StoreError::Corrupt(message))
}
