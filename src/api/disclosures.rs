//! `POST /v1/disclosures`: a cleartext and its salt deposited beside the leaf that commits
//! to them, stored once they open the commitment; `GET /v1/disclosures/{entry}`: what the
//! store holds for each committed field of an entry, shown to its data subject and to
//! those who read everything (regulators, auditors), each field disclosed, erased or never
//! deposited (docs/PRIVACY.md). Cleartexts and salts are never logged.

use super::AppState;
use super::error::ApiError;
use crate::client::layout;
use crate::crypto::b64_encode;
use crate::entry::privacy::{CommittedField, parse_deposit};
use crate::entry::{EntryId, SignedEntry};
use crate::service::{ServiceError, privacy};
use crate::store::{StoreError, StoredField};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(layout::DISCLOSURES, post(deposit))
        .route(layout::DISCLOSURE, get(show))
}

/// 200 with every committed field of the entry (404 for an unknown entry; who may ask is
/// `access::Rule::DataSubject`). The leaf comes along, so the reader checks each opening
/// against the log itself.
async fn show(
    State(state): State<AppState>,
    Path(entry): Path<String>,
) -> Result<Response, ApiError> {
    let entry = EntryId::parse(&entry).map_err(ApiError::BadRequest)?;
    let (seq, leaf) = state
        .store
        .leaf_of(&entry)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no entry {entry}")))?;
    let (signed, _) = SignedEntry::from_leaf(&leaf)
        .map_err(|e| ApiError::Store(StoreError::Corrupt(format!("stored leaf {seq}: {e}"))))?;
    let subject = &signed.envelope.actor;
    let stored = state.store.disclosures(&entry).await?;
    let body = &signed.envelope.body;
    let fields: Vec<Value> = CommittedField::of(signed.envelope.entry_type)
        .iter()
        .filter_map(|field| Some((*field, body.commitment(*field)?)))
        .map(|(field, commitment)| {
            let mut shown = json!({"field": field.as_str(), "commitment": commitment.to_string()});
            match stored.iter().find(|(f, _)| *f == field).map(|(_, s)| s) {
                Some(StoredField::Disclosed(d)) => {
                    shown["status"] = json!("disclosed");
                    shown["cleartext"] = json!(d.cleartext);
                    shown["salt"] = json!(d.salt.to_hex());
                }
                Some(StoredField::Erased(erasure)) => {
                    shown["status"] = json!("erased");
                    shown["erasure_seq"] = json!(erasure);
                }
                None => shown["status"] = json!("not-deposited"),
            }
            shown
        })
        .collect();
    Ok(Json(
        json!({"entry": entry.to_string(), "seq": seq, "subject": subject.as_str(),
                   "leaf": b64_encode(&leaf), "fields": fields}),
    )
    .into_response())
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
