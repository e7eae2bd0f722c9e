//! `POST /v1/disclosures`: a cleartext and its salt deposited beside the leaf that commits
//! to them, stored once they open the commitment (docs/PRIVACY.md). Cleartexts and salts are
//! never logged.

use super::AppState;
use super::error::ApiError;
use crate::client::layout;
use crate::entry::privacy::parse_deposit;
use crate::service::{ServiceError, privacy};
use crate::store::StoreError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new().route(layout::DISCLOSURES, post(deposit))
}

/// 201 when every disclosure opens its commitment and is stored (or was already), 422 at
/// the first that does not, 404 for an unknown entry, 409 for an erased field.
async fn deposit(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let (entry, disclosures) = parse_deposit(&value)?;
    let count = disclosures.len();
    privacy::deposit(&state.store, &entry, disclosures)
        .await
        .map_err(refusal)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"entry": entry.to_string(), "stored": count})),
    )
        .into_response())
}

/// The service's refusals of a deposit, as the client's errors they are.
fn refusal(error: ServiceError) -> ApiError {
    match error {
        ServiceError::Disclosure(refused) => ApiError::Entry(refused),
        ServiceError::UnknownEntry(entry) => ApiError::NotFound(format!("no entry {entry}")),
        ServiceError::Store(StoreError::Erased) => ApiError::Conflict(
            "a field of this deposit was erased: it is never disclosed again".into(),
        ),
        other => ApiError::Service(other),
    }
}
