//! Witnesses' side of the log (docs/PROTOCOL.md, "Witnesses"). Witnesses pull: each reads
//! the checkpoint it is asked to cosign and a consistency proof from its last one, makes the
//! checks of c2sp.org/tlog-witness add-checkpoint itself, and posts the cosigned checkpoint
//! back. The server keeps the cosignature lines of the witnesses it is configured with, and
//! a checkpoint counts as published once the configured quorum of them cosigned it.

use super::AppState;
use super::error::ApiError;
use crate::client::layout;
use crate::ledger::checkpoint::{NoteVerifier, SignedNote, open_checkpoint};
use crate::service::telemetry;
use crate::store::CosignedCheckpoint;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(layout::LOG_CHECKPOINT_TO_COSIGN, get(to_cosign))
        .route(layout::LOG_COSIGNATURES, post(cosignatures))
}

/// The configured witnesses' vkeys, as the store keys their cosignatures.
fn witness_vkeys(state: &AppState) -> Vec<String> {
    state
        .settings
        .witnesses
        .witnesses()
        .iter()
        .map(NoteVerifier::to_vkey)
        .collect()
}

/// The latest published checkpoint: with no witness configured, the latest checkpoint.
pub(super) async fn published(state: &AppState) -> Result<Option<CosignedCheckpoint>, ApiError> {
    let policy = &state.settings.witnesses;
    Ok(state
        .store
        .published_checkpoint(&witness_vkeys(state), policy.quorum())
        .await?)
}

/// The checkpoint of `size` with the configured witnesses' cosignatures.
pub(super) async fn cosigned(
    state: &AppState,
    size: u64,
) -> Result<Option<CosignedCheckpoint>, ApiError> {
    Ok(state
        .store
        .cosigned_checkpoint(size, &witness_vkeys(state))
        .await?)
}

/// How far the published checkpoint lags the latest one, in entries, as readiness and the
/// metrics report it: (latest size, published size).
pub(super) async fn publication(state: &AppState) -> Result<(u64, u64), ApiError> {
    let head = state.store.checkpointed_size().await?;
    let published = published(state)
        .await?
        .map_or(0, |c| c.checkpoint.tree_size);
    metrics::gauge!(telemetry::PUBLICATION_LAG).set(head.saturating_sub(published) as f64);
    Ok((head, published))
}

fn note_text(note: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        note,
    )
        .into_response()
}

/// The checkpoint witnesses are asked to cosign: the smallest one above the published one
/// that a configured witness already cosigned (so the others cosign the same one and it
/// reaches the quorum), else the latest.
async fn to_cosign(State(state): State<AppState>) -> Result<Response, ApiError> {
    let vkeys = witness_vkeys(&state);
    let published_size = published(&state)
        .await?
        .map_or(0, |c| c.checkpoint.tree_size);
    let size = match state
        .store
        .first_cosigned_above(published_size, &vkeys)
        .await?
    {
        Some(size) => size,
        None => state.store.checkpointed_size().await?,
    };
    let checkpoint = cosigned(&state, size)
        .await?
        .ok_or_else(|| ApiError::NotFound("no checkpoint yet".into()))?;
    Ok(note_text(checkpoint.note()))
}

/// A checkpoint of this log cosigned by configured witnesses (text, a signed note): their
/// lines are verified and kept beside the checkpoint. Lines of other keys are ignored.
async fn cosignatures(
    State(state): State<AppState>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let log = NoteVerifier::from_vkey(&state.settings.log_key)
        .map_err(|e| ApiError::Conflict(format!("the log's own key does not read: {e}")))?;
    let (checkpoint, _) = open_checkpoint(&body, std::slice::from_ref(&log))
        .map_err(|e| ApiError::BadRequest(format!("not a checkpoint signed by this log: {e}")))?;
    let stored = state
        .store
        .checkpoint(checkpoint.size)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no checkpoint of size {}", checkpoint.size)))?;
    if stored.root != checkpoint.root {
        return Err(ApiError::Conflict(format!(
            "the checkpoint of size {} has another root",
            checkpoint.size
        )));
    }
    let note = SignedNote::parse(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let lines = state
        .settings
        .witnesses
        .cosignatures(&note)
        .map_err(|e| ApiError::BadRequest(format!("a witness's cosignature: {e}")))?;
    if lines.is_empty() {
        return Err(ApiError::BadRequest(
            "no cosignature by a witness this server is configured with".into(),
        ));
    }
    let rows: Vec<(String, String)> = lines
        .iter()
        .map(|(witness, line)| (witness.to_vkey(), line.to_line().trim_end().to_owned()))
        .collect();
    let stored = state
        .store
        .insert_cosignatures(checkpoint.size, &rows)
        .await?;
    Ok(Json(
        json!({"tree_size": checkpoint.size, "stored": stored}),
    ))
}
