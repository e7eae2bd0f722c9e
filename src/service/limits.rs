//! The server's solver limits in the log: at start, when the configured limits differ from
//! those in force (the log's last `limits.set`, else the protocol's defaults), the server
//! appends a `limits.set` entry signed by its key before it serves anything, so every
//! policy and realized value after it is priced under limits anyone can read and replay.

use super::{Sequencer, ServiceError};
use crate::crypto::SecretKey;
use crate::entry::SignedEntry;
use crate::entry::body::{EntryType, SolverLimits};
use crate::entry::envelope::{Envelope, format_timestamp};
use crate::entry::record::SERVER_ACTOR;
use crate::store::Store;
use std::sync::Arc;

/// Publishes `configured` unless it is in force already; returns whether it appended.
pub async fn publish(
    store: &Store,
    sequencer: &Sequencer,
    server_key: &SecretKey,
    configured: SolverLimits,
) -> Result<bool, ServiceError> {
    let in_force = store
        .solver_limits()
        .await?
        .unwrap_or(SolverLimits::DEFAULT);
    if in_force == configured {
        return Ok(false);
    }
    let now = chrono::Utc::now();
    let body = serde_json::json!({
        "exact_players": configured.exact_players,
        "sampled_marginals": configured.sampled_marginals,
        "measured_players": configured.measured_players,
        "measurements": configured.measurements,
    });
    let envelope = Envelope::unsigned(
        EntryType::LimitsSet,
        SERVER_ACTOR,
        server_key.public_key().key_id(),
        &format!("limits-{}", now.timestamp_micros()),
        &format_timestamp(now),
        body,
    );
    let entry = SignedEntry::sign(envelope, server_key).map_err(ServiceError::LimitsRefused)?;
    let mut results = sequencer
        .submit(vec![entry])
        .await
        .map_err(ServiceError::LimitsAppend)?;
    match results.pop() {
        Some(Ok(_)) => {
            tracing::info!(?in_force, ?configured, "published the solver limits");
            Ok(true)
        }
        Some(Err(refusal)) => Err(ServiceError::LimitsRefused(refusal)),
        None => Err(ServiceError::LimitsAppend(Arc::new(ServiceError::Stopped))),
    }
}
