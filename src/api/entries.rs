//! `POST /v1/entries` (one signed entry, or `{ "entries": [...] }`) and `GET /v1/entries/{seq}`.

use super::budget::{self, BodyBudget, too_large};
use super::error::ApiError;
use super::{AppState, MAX_POSITION, parse_number};
use crate::client::layout;
use crate::crypto::{b64_encode, hash};
use crate::entry::submission::{self, Limits, Submission};
use crate::entry::{Body, EntryError, SignedEntry};
use crate::service::privacy;
use crate::store::StoreError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::borrow::Cow;

/// `body_budget` admits every submitted body (see `budget`).
pub fn router(body_budget: BodyBudget) -> Router<AppState> {
    let admitted = axum::middleware::from_fn_with_state(body_budget, budget::admit);
    Router::new()
        .route(layout::ENTRIES, post(submit).layer(admitted))
        .route(layout::ENTRY, get(get_entry))
}

/// One entry: 201 with its receipt (200 with the original receipt for a resubmission), or a
/// problem. A batch: 200 with one result per entry, in order: a receipt or a problem. The
/// body is read under the limits of `entry::submission`, one entry at a time.
async fn submit(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(state.settings.max_body_bytes),
        _ => ApiError::BadRequest(e.body_text()),
    })?;
    let now = Utc::now();
    let skew = state.settings.timestamp_skew;
    let limits = Limits::with_batch(state.settings.max_batch_entries);
    let read_entry = |value: Value| {
        SignedEntry::parse_owned(value).and_then(|e| e.check_timestamp(now, skew).map(|()| e))
    };
    let submission = submission::read(&body, &limits, read_entry)?;
    drop(body);
    let erases = match &submission {
        Submission::Single(entry) => entry.as_ref().is_ok_and(is_erasure),
        Submission::Batch(parsed) => parsed.iter().any(|p| p.as_ref().is_ok_and(is_erasure)),
    };
    let response = match submission {
        Submission::Single(entry) => submit_one(&state, entry?).await,
        Submission::Batch(parsed) => submit_batch(&state, parsed).await,
    }?;
    if erases {
        // Carried out before the answer, so the API shows the fields erased as soon as the
        // erasure is in the log (the keeper would also do it after the commit).
        privacy::apply_pending(&state.store, 0).await?;
    }
    Ok(response)
}

fn is_erasure(entry: &SignedEntry) -> bool {
    matches!(entry.envelope.body, Body::Erasure(_))
}

async fn submit_one(state: &AppState, entry: SignedEntry) -> Result<Response, ApiError> {
    let mut results = state
        .sequencer
        .submit(vec![entry])
        .await
        .map_err(ApiError::Append)?;
    let answer = results.pop().unwrap_or_else(|| Err(missing_result()))?;
    let status = if answer.resubmission {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(answer.receipt)).into_response())
}

/// Only the valid entries go to the sequencer; each result keeps its entry's slot.
async fn submit_batch(
    state: &AppState,
    parsed: Vec<Result<SignedEntry, EntryError>>,
) -> Result<Response, ApiError> {
    let valid: Vec<SignedEntry> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let mut sequenced = if valid.is_empty() {
        Vec::new().into_iter()
    } else {
        state
            .sequencer
            .submit(valid)
            .await
            .map_err(ApiError::Append)?
            .into_iter()
    };
    let results: Vec<Value> = parsed
        .into_iter()
        .map(
            |p| match p.and_then(|_| sequenced.next().unwrap_or_else(|| Err(missing_result()))) {
                Ok(answer) => json!(answer.receipt),
                Err(error) => json!(ApiError::Entry(error).problem()),
            },
        )
        .collect();
    let accepted = results.iter().filter(|r| r.get("seq").is_some()).count();
    Ok(Json(
        json!({"accepted": accepted, "rejected": results.len() - accepted, "results": results}),
    )
    .into_response())
}

fn missing_result() -> crate::entry::EntryError {
    crate::entry::EntryError::malformed("", "the sequencer returned no result for this entry")
}

/// The stored leaf's parts, borrowed: an entry can be megabytes (an allocation names every
/// player), so it is passed through as it is stored (canonical JSON), not parsed into
/// values and written again.
#[derive(Deserialize)]
struct LeafParts<'a> {
    #[serde(borrow)]
    envelope: &'a RawValue,
    #[serde(borrow)]
    signature: &'a RawValue,
    #[serde(borrow, default)]
    cosignatures: Option<&'a RawValue>,
}

/// What `GET /v1/entries/{seq}` shows of the envelope besides passing it through.
#[derive(Deserialize)]
struct EnvelopeHead<'a> {
    #[serde(rename = "type", borrow)]
    entry_type: Cow<'a, str>,
    #[serde(borrow)]
    actor: Cow<'a, str>,
}

/// `GET /v1/entries/{seq}` (members in alphabetical order, as before the pass-through).
#[derive(Serialize)]
struct StoredEntry<'a> {
    actor: &'a str,
    cosignatures: &'a RawValue,
    envelope: &'a RawValue,
    id: String,
    leaf: String,
    leaf_hash: String,
    received_at: &'a str,
    seq: u64,
    signature: &'a RawValue,
    #[serde(rename = "type")]
    entry_type: &'a str,
}

/// The stored entry a `{seq}` path segment names: 400 for a malformed number, 404 for a
/// sequence number the log does not hold.
pub(super) async fn stored_entry(
    state: &AppState,
    seq: &str,
) -> Result<crate::store::EntryRow, ApiError> {
    let seq = parse_number("seq", seq, MAX_POSITION)?;
    state
        .store
        .entry_by_seq(seq)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no entry {seq}")))
}

async fn get_entry(
    State(state): State<AppState>,
    Path(seq): Path<String>,
) -> Result<Response, ApiError> {
    let row = stored_entry(&state, &seq).await?;
    let seq = row.seq;
    let corrupt = |e: serde_json::Error| {
        ApiError::Store(StoreError::Corrupt(format!("stored leaf {seq}: {e}")))
    };
    let parts: LeafParts = serde_json::from_slice(&row.leaf).map_err(corrupt)?;
    let head: EnvelopeHead = serde_json::from_str(parts.envelope.get()).map_err(corrupt)?;
    let no_cosignatures = RawValue::from_string("[]".to_owned()).map_err(corrupt)?;
    let shown = StoredEntry {
        actor: &head.actor,
        cosignatures: parts.cosignatures.unwrap_or(&no_cosignatures),
        envelope: parts.envelope,
        id: row.id.to_string(),
        leaf: b64_encode(&row.leaf),
        leaf_hash: hash::to_hex(&row.leaf_hash),
        received_at: &row.received_at,
        seq: row.seq,
        signature: parts.signature,
        entry_type: &head.entry_type,
    };
    let body = serde_json::to_vec(&shown).map_err(corrupt)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
