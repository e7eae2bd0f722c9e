//! The regulator's view: `GET /v1/audit/concentration?project=&since=&basis=&largest=`, the
//! concentration of payouts over the published allocations (see `audit::concentration` for
//! every definition), per currency; `GET /v1/audit/allocations/{id}/report`, the
//! manipulation report of one allocation (`audit::report`).

use super::error::ApiError;
use super::{AppState, number, position, slug};
use crate::audit::report::Report;
use crate::audit::{AllocationFigures, Basis, concentration};
use crate::client::layout;
use crate::entry::Slug;
use crate::entry::body::Body;
use crate::entry::{EntryId, SignedEntry};
use crate::store::MAX_LISTING;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(layout::AUDIT_CONCENTRATION, get(concentration_view))
        .route(layout::AUDIT_REPORT, get(report_view))
}

/// `GET /v1/audit/allocations/{id}/report`: the manipulation report of the allocation `id`
/// (its entry id or its value entry's), against the policies the project admits now
/// (`audit::report`). Routed like the other audit views until the authorization table
/// makes it the regulator's.
async fn report_view(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Report>, ApiError> {
    let entry_id = EntryId::parse(&id).map_err(ApiError::BadRequest)?;
    let (shown, loaded) = super::allocations::recorded(&state, &entry_id).await?;
    let loaded = loaded.ok_or_else(|| corrupt(format!("allocation {id} has no value entry")))?;
    let project = shown["body"]["project"]
        .as_str()
        .and_then(|p| Slug::parse(p).ok())
        .ok_or_else(|| corrupt(format!("allocation {id} names no project")))?;
    let value_seq = loaded.value_seq();
    let policies = match state.store.project(&project).await? {
        Some(row) => row.terms.policies,
        None => Vec::new(),
    };
    let mut admitted = Vec::with_capacity(policies.len());
    for hash in &policies {
        let (_, _, leaf) = state
            .store
            .policy_entry(hash)
            .await?
            .ok_or_else(|| corrupt(format!("admitted policy {hash} is not adopted")))?;
        let (entry, _) = SignedEntry::from_leaf(&leaf).map_err(corrupt)?;
        if let Body::PolicyAdopted(policy) = entry.envelope.body {
            admitted.push((hash.to_string(), policy.text));
        }
    }
    let signers = state
        .store
        .measurement_signers(project.as_str(), value_seq)
        .await?;
    let report = tokio::task::spawn_blocking(move || loaded.report(&admitted, &signers))
        .await
        .map_err(ApiError::Task)?;
    Ok(Json(report))
}

/// Most actors the `largest` list may name.
const MAX_LARGEST: u64 = 1000;

async fn concentration_view(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let project = slug(&params, "project")?;
    let since = position(&params, "since", Some(0))?;
    let largest = number(&params, "largest", Some(10), MAX_LARGEST)?;
    // At most MAX_LARGEST, so it fits.
    let largest = usize::try_from(largest).unwrap_or(usize::MAX);
    let basis = params
        .get("basis")
        .map_or(Ok(Basis::Earned), |b| Basis::parse(b))
        .map_err(ApiError::BadRequest)?;

    // Every allocation entry from `since` on, page by page; only the figures are kept.
    let mut figures: Vec<AllocationFigures> = Vec::new();
    let mut next = since;
    loop {
        let rows = state
            .store
            .allocation_entries(project.as_ref().map(Slug::as_str), next)
            .await?;
        for (_, id, leaf) in &rows {
            let stored: Value = serde_json::from_slice(leaf)
                .map_err(|e| corrupt(format!("allocation {id}: {e}")))?;
            figures.push(
                serde_json::from_value(stored["envelope"]["body"].clone())
                    .map_err(|e| corrupt(format!("allocation {id}: {e}")))?,
            );
        }
        match rows.last() {
            Some((seq, _, _)) if rows.len() == MAX_LISTING => next = seq + 1,
            _ => break,
        }
    }

    // Kinds of recipients that are not players (AI operators), from the registry.
    let recipients: Vec<String> = figures
        .iter()
        .filter_map(|f| f.allocation.as_ref())
        .flat_map(|a| a.recipients.iter().map(|r| r.actor.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let kinds = state
        .store
        .actor_records(&recipients)
        .await?
        .into_iter()
        .map(|(id, record)| (id.to_string(), record.kind))
        .collect();
    let currencies =
        concentration(&figures, basis, &kinds, largest).map_err(|e| corrupt(e.to_string()))?;
    Ok(Json(json!({
        "project": project.as_ref().map(Slug::as_str),
        "since": since,
        "basis": basis,
        "currencies": currencies,
    })))
}

/// Allocation entries are written by the server and reproducible from the log: one that
/// cannot be read means the store is damaged.
fn corrupt(message: String) -> ApiError {
    ApiError::Store(crate::store::StoreError::Corrupt(message))
}
