//! The disclosure store's keeper (docs/PRIVACY.md): deposits are checked against the
//! commitments of their entry's leaf before they are stored; erasure entries are carried out
//! once they are in the log (after each commit, and again at start for any a crash left
//! undone); the retention setting erases notes older than its age, on the authority of
//! `retention`, by appending an erasure entry signed with the server key.

use super::{Sequencer, ServiceError};
use crate::crypto::SecretKey;
use crate::entry::body::EntryType;
use crate::entry::envelope::{Envelope, format_timestamp};
use crate::entry::privacy::{CommittedField, Disclosure, MAX_ERASED};
use crate::entry::record::SERVER_ACTOR;
use crate::entry::{EntryError, EntryId, SignedEntry};
use crate::store::{DisclosedField, DisclosureRow, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Checks each disclosure against the commitment in its field of entry `entry`'s leaf, and
/// stores them all, or none. A disclosure that does not open its commitment is refused with
/// its path in `disclosures`.
pub async fn deposit(
    store: &Store,
    entry: &EntryId,
    disclosures: Vec<Disclosure>,
) -> Result<(), ServiceError> {
    let (_, leaf) = store
        .leaf_of(entry)
        .await?
        .ok_or(ServiceError::UnknownEntry(*entry))?;
    let (signed, _) = SignedEntry::from_leaf(&leaf).map_err(|e| ServiceError::Inconsistent {
        index: None,
        reason: format!("stored leaf of {entry}: {e}"),
    })?;
    let body = &signed.envelope.body;
    let mut rows = Vec::with_capacity(disclosures.len());
    for (i, disclosure) in disclosures.into_iter().enumerate() {
        let at = format!("disclosures[{i}]");
        let Some(commitment) = body.commitment(disclosure.field) else {
            return Err(ServiceError::Disclosure(EntryError::malformed(
                format!("{at}.field"),
                format!("entry {entry} commits to no {}", disclosure.field.as_str()),
            )));
        };
        if !disclosure.opens(body) {
            return Err(ServiceError::Disclosure(EntryError::malformed(
                at,
                format!(
                    "the cleartext and salt do not open the {} commitment of entry {entry}",
                    disclosure.field.as_str()
                ),
            )));
        }
        rows.push(DisclosureRow {
            entry: *entry,
            commitment,
            subject: signed.envelope.actor.clone(),
            disclosure,
        });
    }
    store.deposit_disclosures(&rows).await?;
    Ok(())
}

/// Carries out every erasure entry from `from` on that is not carried out yet; returns the
/// position to look from next time.
pub async fn apply_pending(store: &Store, from: u64) -> Result<u64, ServiceError> {
    let mut next = from;
    for seq in store.pending_erasures(from).await? {
        let deleted = store.erase(seq).await?;
        // Positions and counts only: never what was erased.
        tracing::info!(erasure_seq = seq, deleted, "carried out an erasure");
        next = seq + 1;
    }
    Ok(next)
}

/// How the keeper runs.
#[derive(Debug, Clone, Copy)]
pub struct KeeperSettings {
    /// Erase disclosed notes of entries received longer ago than this.
    erase_notes_after: Option<chrono::Duration>,
    /// How often the retention setting is applied (erasures are carried out after each
    /// commit as well).
    sweep_every: Duration,
}

/// The longest wait between two applications of the retention setting.
const LONGEST_SWEEP: Duration = Duration::from_secs(3600);

impl KeeperSettings {
    /// Notes kept `seconds` (none: until erased), looked for at least that often and at
    /// least hourly, so a note outlives its retention by at most one sweep.
    pub fn retaining_notes_for(seconds: Option<u64>) -> Self {
        let age = seconds.map(Duration::from_secs);
        KeeperSettings {
            erase_notes_after: age.and_then(|a| chrono::Duration::from_std(a).ok()),
            sweep_every: age.map_or(LONGEST_SWEEP, |a| a.min(LONGEST_SWEEP)),
        }
    }
}

/// Starts the keeper; `wake` wakes it (the sequencer notifies it after each commit, so an
/// erasure entry is carried out right after it is appended).
pub fn spawn(
    store: Store,
    sequencer: Sequencer,
    server_key: SecretKey,
    settings: KeeperSettings,
    wake: Arc<Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut from = 0;
        let mut next_sweep = tokio::time::Instant::now();
        loop {
            match apply_pending(&store, from).await {
                Ok(next) => from = next,
                Err(error) => tracing::error!(
                    error = &error as &dyn std::error::Error,
                    "could not carry out an erasure"
                ),
            }
            if let Some(age) = settings.erase_notes_after
                && tokio::time::Instant::now() >= next_sweep
            {
                if let Err(error) = retain(&store, &sequencer, &server_key, age).await {
                    tracing::error!(
                        error = &error as &dyn std::error::Error,
                        "could not apply the retention setting"
                    );
                }
                next_sweep = tokio::time::Instant::now() + settings.sweep_every;
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep_until(next_sweep) => {}
            }
        }
    })
}

/// Erases the disclosed notes older than `age`, up to [`MAX_ERASED`] per erasure entry,
/// until none is left; returns how many it named.
pub async fn retain(
    store: &Store,
    sequencer: &Sequencer,
    server_key: &SecretKey,
    age: chrono::Duration,
) -> Result<usize, ServiceError> {
    let before = chrono::Utc::now() - age;
    let mut named = 0;
    loop {
        let expired = store
            .disclosed_before(CommittedField::Note, before, MAX_ERASED)
            .await?;
        if expired.is_empty() {
            return Ok(named);
        }
        named += expired.len();
        let seq = append_erasure(sequencer, server_key, &expired).await?;
        store.erase(seq).await?;
        tracing::info!(
            erasure_seq = seq,
            fields = expired.len(),
            "retention erased notes"
        );
    }
}

/// Appends the erasure of `fields` on the authority of the retention setting; its position.
async fn append_erasure(
    sequencer: &Sequencer,
    server_key: &SecretKey,
    fields: &[DisclosedField],
) -> Result<u64, ServiceError> {
    let now = chrono::Utc::now();
    let erased: Vec<_> = fields
        .iter()
        .map(|f| {
            serde_json::json!({"entry": f.entry.to_string(), "field": f.field.as_str(),
                               "commitment": f.commitment.to_string()})
        })
        .collect();
    let envelope = Envelope::unsigned(
        EntryType::Erasure,
        SERVER_ACTOR,
        server_key.public_key().key_id(),
        &format!("retention-{}", now.timestamp_micros()),
        &format_timestamp(now),
        serde_json::json!({"authority": "retention", "erased": erased}),
    );
    let entry = SignedEntry::sign(envelope, server_key).map_err(ServiceError::ErasureRefused)?;
    let mut results = sequencer
        .submit(vec![entry])
        .await
        .map_err(ServiceError::ErasureAppend)?;
    match results.pop() {
        Some(Ok(answer)) => Ok(answer.receipt.seq),
        Some(Err(refusal)) => Err(ServiceError::ErasureRefused(refusal)),
        None => Err(ServiceError::ErasureAppend(Arc::new(ServiceError::Stopped))),
    }
}
