//! `GET /v1/entries/{seq}/proof`: the entry's C2SP tlog-proof bundle against the latest
//! published checkpoint (with its witnesses' cosignatures), for offline checking with
//! `fairshare prove`. The bundle carries the leaf, so it follows the access rules of the
//! entry itself.

use super::error::ApiError;
use super::{AppState, witness};
use crate::client::layout;
use crate::ledger::merkle;
use crate::ledger::proof::ProofBundle;
use crate::store::StoreError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route(layout::ENTRY_PROOF, get(proof_bundle))
}

async fn proof_bundle(
    State(state): State<AppState>,
    Path(seq): Path<String>,
) -> Result<Response, ApiError> {
    let row = super::entries::stored_entry(&state, &seq).await?;
    let seq = row.seq;
    let published = witness::published(&state)
        .await?
        .filter(|p| p.checkpoint.tree_size > seq)
        .ok_or_else(|| {
            ApiError::Conflict(format!("entry {seq} is not in a published checkpoint yet"))
        })?;
    let size = published.checkpoint.tree_size;
    let corrupt =
        |e: merkle::MerkleError| ApiError::Store(StoreError::Corrupt(format!("stored tree: {e}")));
    let ids = merkle::inclusion_proof_nodes(seq, size).map_err(corrupt)?;
    let nodes = state.store.tree_nodes(&ids).await?;
    let proof = merkle::inclusion_proof(seq, size, &nodes).map_err(corrupt)?;
    let bundle = ProofBundle {
        extra: Some(row.leaf),
        index: seq,
        proof,
        checkpoint: published.note(),
    };
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        bundle.to_text(),
    )
        .into_response())
}
