//! Transparency endpoints: the log's verifier key, checkpoints, inclusion and consistency
//! proofs (RFC 9162), and the leaves as NDJSON pages for export.

use super::error::ApiError;
use super::witness;
use super::{AppState, MAX_POSITION, parse_number, position};
use crate::client::layout;
use crate::crypto::hash;
use crate::ledger::merkle::{self, Hash, NodeId};
use crate::service::telemetry;
use crate::store::StoreError;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::time::Instant;

/// Most leaves in one export page.
pub const MAX_PAGE: u64 = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(layout::LOG_KEY, get(log_key))
        .route(layout::LOG_CHECKPOINT, get(latest_checkpoint))
        .route(layout::LOG_CHECKPOINT_OF_SIZE, get(checkpoint))
        .route(layout::INCLUSION_PROOF, get(inclusion_proof))
        .route(layout::CONSISTENCY_PROOF, get(consistency_proof))
        .route(layout::LOG_ENTRIES, get(entries))
}

type Params = Query<HashMap<String, String>>;

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// A checkpoint changes with the log: tlog-tiles asks that it not be cached beyond a few
/// seconds, so caches revalidate it every time.
fn checkpoint_text(note: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        note,
    )
        .into_response()
}

fn hex_list(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| hash::to_hex(h)).collect()
}

/// The C2SP signed-note verifier key (`<name>+<key hash>+<base64(0x01 || key)>`).
async fn log_key(State(state): State<AppState>) -> Response {
    text(state.settings.log_key.clone())
}

/// The latest published checkpoint (tlog-tiles' `<prefix>/checkpoint`), with its
/// witnesses' cosignatures: with witnesses configured, the latest their quorum cosigned.
async fn latest_checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let published = witness::published(&state)
        .await?
        .ok_or_else(|| ApiError::NotFound("no published checkpoint yet".into()))?;
    Ok(checkpoint_text(published.note()))
}

async fn checkpoint(
    State(state): State<AppState>,
    Path(size): Path<String>,
) -> Result<Response, ApiError> {
    let size = parse_number("tree_size", &size, MAX_POSITION)?;
    let stored = witness::cosigned(&state, size)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no checkpoint of size {size}")))?;
    Ok(checkpoint_text(stored.note()))
}

/// The stored nodes `ids` of the tree of the first `size` leaves, in one query. Nodes are
/// stored with their entries, so the tree's last leaf (fetched along) is there exactly when
/// the log holds `size` leaves; the log's size is read only to explain a refusal.
async fn tree_nodes_within_log(
    state: &AppState,
    mut ids: Vec<NodeId>,
    size: u64,
    name: &str,
) -> Result<HashMap<NodeId, Hash>, ApiError> {
    let Some(last) = size.checked_sub(1).map(|i| NodeId::new(0, i)) else {
        return Ok(HashMap::new());
    };
    ids.push(last);
    let nodes = state.store.tree_nodes(&ids).await?;
    if !nodes.contains_key(&last) {
        let log_size = state.store.size().await?;
        return Err(ApiError::BadRequest(format!(
            "{name}={size} is beyond the log's {log_size} entries"
        )));
    }
    Ok(nodes)
}

/// The latency of one proof served, from its request's parameters to the proof built.
fn record_proof(kind: &'static str, started: Instant) {
    metrics::histogram!(telemetry::PROOF_SECONDS, "kind" => kind)
        .record(started.elapsed().as_secs_f64());
}

/// A proof from nodes of a tree the log holds can only fail if the stored tree lacks nodes.
fn missing_nodes(error: merkle::MerkleError) -> ApiError {
    ApiError::Store(StoreError::Corrupt(format!("stored tree: {error}")))
}

/// `?leaf_index=I&tree_size=N`, or `?leaf_hash=<hex>&tree_size=N` (the first leaf with that hash).
async fn inclusion_proof(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    let started = Instant::now();
    let tree_size = position(&params, "tree_size", None)?;
    let leaf_index = match params.get("leaf_hash") {
        Some(text) => {
            let leaf_hash = hash::parse_hex32(text).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "leaf_hash={text:?} is not 64 lowercase hex characters"
                ))
            })?;
            state
                .store
                .leaf_index_by_hash(&leaf_hash)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no leaf with hash {text}")))?
        }
        None => position(&params, "leaf_index", None)?,
    };
    if leaf_index >= tree_size {
        return Err(ApiError::BadRequest(format!(
            "leaf_index={leaf_index} is not below tree_size={tree_size}"
        )));
    }
    let ids = merkle::inclusion_proof_nodes(leaf_index, tree_size)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let nodes = tree_nodes_within_log(&state, ids, tree_size, "tree_size").await?;
    let proof = merkle::inclusion_proof(leaf_index, tree_size, &nodes).map_err(missing_nodes)?;
    record_proof("inclusion", started);
    Ok(Json(
        json!({"leaf_index": leaf_index, "tree_size": tree_size, "proof": hex_list(&proof)}),
    ))
}

async fn consistency_proof(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    let started = Instant::now();
    let first = position(&params, "first", None)?;
    let second = position(&params, "second", None)?;
    if first > second {
        return Err(ApiError::BadRequest(format!(
            "first={first} is greater than second={second}"
        )));
    }
    let ids = merkle::consistency_proof_nodes(first, second)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let nodes = tree_nodes_within_log(&state, ids, second, "second").await?;
    let proof = merkle::consistency_proof(first, second, &nodes).map_err(missing_nodes)?;
    record_proof("consistency", started);
    Ok(Json(
        json!({"first": first, "second": second, "proof": hex_list(&proof)}),
    ))
}

/// `?start=S&end=E`: NDJSON lines `{"index", "leaf"}` (leaf = base64 of the exact bytes) for
/// leaves S..E, at most [`MAX_PAGE`] per request; fewer lines mean the log ends there.
async fn entries(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let start = position(&params, "start", Some(0))?;
    // No wrap: start is at most MAX_POSITION (2^63 - 1), far below u64::MAX - MAX_PAGE.
    let page_end = (start + MAX_PAGE).min(MAX_POSITION);
    let end = position(&params, "end", Some(page_end))?;
    if end < start {
        return Err(ApiError::BadRequest(format!(
            "end={end} is before start={start}"
        )));
    }
    let rows = state.store.leaves(start, end.min(page_end)).await?;
    let mut body = String::new();
    for (index, leaf) in rows {
        body.push_str(&layout::leaf_line(index, &leaf));
        body.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}
