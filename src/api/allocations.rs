//! Allocations, projects and policies: `GET /v1/allocations?project=&actor=&since=`,
//! `GET /v1/allocations/{id}?actor=&offset=&limit=` (with the per-player breakdown), `POST
//! /v1/allocations/{value_id}/retry`, `GET /v1/allocations/{value_id}/status` and `GET
//! /v1/allocator` (what the allocator is working on), `GET /v1/projects/{id}/contributions`,
//! `GET /v1/policies/{hash}` (the adopted text).

use super::error::ApiError;
use super::{AppState, MAX_POSITION, number, parse_number, slug};
use crate::client::layout;
use crate::entry::body::Body;
use crate::entry::{ContentDigest, EntryId, SignedEntry, Slug};
use crate::policy::allocate::ExcludedContribution;
use crate::policy::{Allocation, Attribution, PlayerAllocation};
use crate::service::allocator;
use crate::store::LeafEntry;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(layout::ALLOCATIONS, get(list))
        .route(layout::ALLOCATION, get(one))
        .route(layout::ALLOCATION_RETRY, post(retry))
        .route(layout::ALLOCATION_STATUS, get(status))
        .route(layout::ALLOCATOR, get(working_on))
        .route(layout::PROJECT_CONTRIBUTIONS, get(contributions))
        .route(layout::POLICY, get(policy))
}

/// An entry as the API shows it: sequence number, id, received time and body.
fn view((seq, id, leaf): &LeafEntry) -> Result<(Value, SignedEntry), ApiError> {
    let (entry, received_at) = SignedEntry::from_leaf(leaf)
        .map_err(|e| ApiError::Store(crate::store::StoreError::Corrupt(e)))?;
    let stored: Value = serde_json::from_slice(leaf).unwrap_or(Value::Null);
    let shown = json!({"seq": seq, "id": id.to_string(), "received_at": received_at,
                       "type": entry.envelope.entry_type.as_str(), "actor": entry.envelope.actor.as_str(),
                       "body": stored["envelope"]["body"]});
    Ok((shown, entry))
}

/// Whether `actor` has a share or a payout in the allocation body.
pub(super) fn involves(body: &Value, actor: &str) -> bool {
    let named = |list: &Value, field: &str| {
        list.as_array()
            .is_some_and(|l| l.iter().any(|p| p[field] == actor))
    };
    let allocation = &body["allocation"];
    named(&allocation["players"], "actor")
        || named(&allocation["players"], "paid_to")
        || named(&allocation["recipients"], "actor")
}

async fn list(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let project = slug(&params, "project")?;
    let actor = slug(&params, "actor")?;
    // `since`: a sequence number, or an RFC 3339 time compared with received_at.
    let (since_seq, since_time) = match params.get("since") {
        None => (0, None),
        // Digits only: a sequence number (an RFC 3339 time never is).
        Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => {
            (parse_number("since", text, MAX_POSITION)?, None)
        }
        Some(text) => {
            let time = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| {
                ApiError::BadRequest(format!(
                    "since={text:?} is neither a sequence number nor an RFC 3339 time"
                ))
            })?;
            (0, Some(time))
        }
    };
    let rows = state
        .store
        .allocation_entries(project.as_ref().map(Slug::as_str), since_seq)
        .await?;
    let mut allocations = Vec::new();
    for row in &rows {
        let (shown, _) = view(row)?;
        let recent = since_time.is_none_or(|t| {
            shown["received_at"]
                .as_str()
                .and_then(|r| chrono::DateTime::parse_from_rfc3339(r).ok())
                .is_some_and(|r| r >= t)
        });
        if recent
            && actor
                .as_ref()
                .is_none_or(|a| involves(&shown["body"], a.as_str()))
        {
            allocations.push(shown);
        }
    }
    Ok(Json(json!({"allocations": allocations})))
}

/// The allocation entry `id` names (its own id, or its value entry's), as shown, and what it
/// was computed from (when its value entry is in the log).
pub(super) async fn recorded(
    state: &AppState,
    id: &EntryId,
) -> Result<(Value, Option<allocator::Loaded>), ApiError> {
    let row = match state.store.entry_by_id(id, "allocation").await? {
        Some(row) => row,
        None => state
            .store
            .allocation_of(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no allocation {id}")))?,
    };
    let (shown, entry) = view(&row)?;
    let value = match &entry.envelope.body {
        Body::Allocation(recorded) => {
            state
                .store
                .entry_by_id(&recorded.value_entry, "value.realized")
                .await?
        }
        _ => None,
    };
    let inputs = match value {
        Some((value_seq, value_id, value_leaf)) => {
            Some(allocator::load(&state.store, value_seq, value_id, &value_leaf).await?)
        }
        None => None,
    };
    Ok((shown, inputs))
}

/// An allocation by its entry id, or by the id of the value entry it allocates, with each
/// player's breakdown (which rules and contributions produced the share) and the
/// contributions that did not count, recomputed from the log: the entry records only the
/// figures, and the computation is deterministic. `actor=` keeps one player's breakdown
/// (and the contributions of that actor that did not count), `offset=` and `limit=` a page
/// of players in actor order (all of them by default).
async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let entry_id = EntryId::parse(&id).map_err(ApiError::BadRequest)?;
    let page = PlayerPage {
        actor: slug(&params, "actor")?,
        // Only skipped and taken, never added: any count will do, cut to what a usize holds.
        offset: usize::try_from(number(&params, "offset", Some(0), u64::MAX)?)
            .unwrap_or(usize::MAX),
        limit: usize::try_from(number(&params, "limit", Some(u64::MAX), u64::MAX)?)
            .unwrap_or(usize::MAX),
    };
    let (shown, inputs) = recorded(&state, &entry_id).await?;
    // Written straight from the allocation's own types: a large project's breakdown is
    // hundreds of thousands of attributions, and a JSON tree of them took gigabytes.
    let json = tokio::task::spawn_blocking(move || match inputs.map(|inputs| inputs.allocate()) {
        Some(Ok(allocation)) => serde_json::to_vec(&WithBreakdown {
            entry: &shown,
            breakdown: Breakdown::of(&allocation, &page),
        }),
        _ => serde_json::to_vec(&shown),
    })
    .await
    .map_err(ApiError::Task)?
    .map_err(ApiError::Encode)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// Which players' breakdowns a reader asked for.
struct PlayerPage {
    actor: Option<Slug>,
    offset: usize,
    limit: usize,
}

/// An allocation as shown, with the breakdown beside its fields.
#[derive(Serialize)]
struct WithBreakdown<'a> {
    #[serde(flatten)]
    entry: &'a Value,
    breakdown: Breakdown<'a>,
}

#[derive(Serialize)]
struct Breakdown<'a> {
    /// Players of the whole allocation (of the one actor asked for, 0 or 1).
    total_players: usize,
    offset: usize,
    players: Vec<PlayerBreakdown<'a>>,
    /// Contributions that did not count (the one actor's, when one is asked for).
    excluded: Vec<&'a ExcludedContribution>,
}

#[derive(Serialize)]
struct PlayerBreakdown<'a> {
    actor: &'a str,
    breakdown: &'a [Attribution],
}

impl<'a> Breakdown<'a> {
    fn of(allocation: &'a Allocation, page: &PlayerPage) -> Self {
        let asked = |actor: &str| page.actor.as_ref().is_none_or(|a| actor == a.as_str());
        let chosen: Vec<&PlayerAllocation> = allocation
            .players
            .iter()
            .filter(|p| asked(&p.actor))
            .collect();
        Breakdown {
            total_players: chosen.len(),
            offset: page.offset,
            players: chosen
                .into_iter()
                .skip(page.offset)
                .take(page.limit)
                .map(|p| PlayerBreakdown {
                    actor: &p.actor,
                    breakdown: &p.breakdown,
                })
                .collect(),
            excluded: allocation
                .excluded
                .iter()
                .filter(|e| asked(&e.actor))
                .collect(),
        }
    }
}

/// How long a retry waits for the allocator to append the allocation before answering 202.
const RETRY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs the allocator now for a value entry still waiting for its allocation (one whose
/// last attempts failed for a passing reason, such as the database being away): 200 with
/// the allocation once appended, or 202 with why the last attempt was deferred. An
/// allocation already in the log, even one with `status: failed`, is final: the outcome is
/// a function of the log before the value entry, so a retry would reproduce it (409).
async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let value_id = EntryId::parse(&id).map_err(ApiError::BadRequest)?;
    if state
        .store
        .entry_by_id(&value_id, "value.realized")
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!("no value.realized entry {id}")));
    }
    if let Some(row) = state.store.allocation_of(&value_id).await? {
        let (shown, _) = view(&row)?;
        let outcome = match shown["body"]["status"].as_str() {
            Some("failed") => format!(
                "failed: {}; the outcome follows from the log before the value entry, so a \
                 retry would reproduce it (realize the value again, under another policy if \
                 that is the cause)",
                shown["body"]["reason"]
                    .as_str()
                    .unwrap_or("no reason recorded")
            ),
            _ => "succeeded".to_owned(),
        };
        return Err(ApiError::Conflict(format!(
            "{id} already has its allocation, entry {}, which {outcome}",
            shown["id"].as_str().unwrap_or("?")
        )));
    }
    state.allocator.wake();
    let deadline = tokio::time::Instant::now() + RETRY_WAIT;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if let Some(row) = state.store.allocation_of(&value_id).await? {
            let (shown, _) = view(&row)?;
            return Ok(Json(json!({"status": "allocated", "allocation": shown})).into_response());
        }
    }
    let pending = json!({"status": "pending", "value_entry": id,
                         "deferred": state.allocator.deferral()});
    Ok((StatusCode::ACCEPTED, Json(pending)).into_response())
}

/// Where the allocation of a value entry stands: `queued`, `running` (with its `step`) or
/// `done`, with its timings when this server process handled it.
async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<allocator::Progress>, ApiError> {
    let value_id = EntryId::parse(&id).map_err(ApiError::BadRequest)?;
    if let Some(progress) = state.allocator.progress(&value_id) {
        return Ok(Json(progress));
    }
    let (_, _, leaf) = state
        .store
        .entry_by_id(&value_id, "value.realized")
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no value.realized entry {id}")))?;
    let allocation = state.store.allocation_of(&value_id).await?.map(|row| row.1);
    Ok(Json(allocator::Progress::from_log(
        value_id, &leaf, allocation,
    )?))
}

/// What the allocator is working on: its settings, the allocations running, those waiting
/// after a deferral, and the last finished ones.
async fn working_on(State(state): State<AppState>) -> Json<allocator::Overview> {
    Json(state.allocator.overview())
}

async fn contributions(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project = Slug::parse(&project).map_err(ApiError::BadRequest)?;
    let rows = state.store.project_contributions(project.as_str()).await?;
    let mut contributions: Vec<Value> = Vec::new();
    let mut endorsements: HashMap<String, Vec<Value>> = HashMap::new();
    for row in &rows {
        let (shown, entry) = view(row)?;
        match &entry.envelope.body {
            Body::Endorsement(e) => endorsements.entry(e.contribution.to_string()).or_default().push(json!({
                "seq": shown["seq"], "id": shown["id"], "actor": shown["actor"], "decision": shown["body"]["decision"],
            })),
            _ => contributions.push(shown),
        }
    }
    for c in &mut contributions {
        let id = c["id"].as_str().unwrap_or_default().to_owned();
        c["endorsements"] = json!(endorsements.remove(&id).unwrap_or_default());
    }
    Ok(Json(
        json!({"project": project.as_str(), "contributions": contributions}),
    ))
}

async fn policy(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let digest = ContentDigest::parse(&hash).map_err(ApiError::BadRequest)?;
    let row = state
        .store
        .policy_entry(&digest)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no adopted policy {hash}")))?;
    let (_, entry) = view(&row)?;
    let Body::PolicyAdopted(adopted) = entry.envelope.body else {
        return Err(ApiError::NotFound(format!("no adopted policy {hash}")));
    };
    Ok((
        [(header::CONTENT_TYPE, "application/toml; charset=utf-8")],
        adopted.text,
    )
        .into_response())
}
