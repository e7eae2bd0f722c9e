//! The C2SP tlog-tiles read API under the prefix `/v1/log`: hash tiles
//! `tile/<L>/<N>[.p/<W>]` and entry bundles `tile/entries/<N>[.p/<W>]`, read from the stored
//! tree (`<prefix>/checkpoint` is `log.rs`'s checkpoint). A tile is served once the latest
//! checkpoint covers it, so every tile belongs to a tree the log's key signed.
//!
//! Hash tiles are public. Entry bundles carry leaves, so they follow the access rules of
//! `GET /v1/log/entries` (the authorization table decides both alike) and are cached only
//! privately.

use super::AppState;
use super::error::ApiError;
use crate::client::layout;
use crate::ledger::tiles::{self, Tile, TileKind};
use crate::store::StoreError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route(layout::LOG_TILE, get(tile))
}

/// The content of a tile path never changes (a partial tile of width W is the first W
/// hashes of the full one), so every tile is immutable; entry bundles are kept out of shared
/// caches because they follow the access rules.
fn cache_control(tile: &Tile) -> &'static str {
    match tile.kind {
        TileKind::Hashes { .. } => "public, max-age=31536000, immutable",
        TileKind::Entries => "private, max-age=31536000, immutable",
    }
}

async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let tile =
        Tile::parse(&format!("tile/{path}")).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let not_found =
        || ApiError::NotFound(format!("no {} in the latest checkpoint", tile.to_path()));
    let needed = tile.tree_size_needed().ok_or_else(not_found)?;
    if needed > state.store.checkpointed_size().await? {
        return Err(not_found());
    }
    // `first` and `first + width` fit: the size the tile needs is at least as large.
    let first = tile.first().ok_or_else(not_found)?;
    let missing = || {
        ApiError::Store(StoreError::Corrupt(format!(
            "the log lacks rows of {} below the checkpointed size",
            tile.to_path()
        )))
    };
    let body = match tile.kind {
        TileKind::Hashes { .. } => {
            let level = u8::try_from(tile.tree_level()).map_err(|_| not_found())?;
            let hashes = state.store.level_hashes(level, first, tile.width).await?;
            if hashes.len() as u64 != tile.width {
                return Err(missing());
            }
            tiles::hash_tile_bytes(&hashes)
        }
        TileKind::Entries => {
            let leaves = state.store.leaves(first, first + tile.width).await?;
            if leaves.len() as u64 != tile.width {
                return Err(missing());
            }
            tiles::entry_bundle(leaves.iter().map(|(i, leaf)| (*i, leaf.as_slice()))).map_err(
                |e| {
                    ApiError::Conflict(format!(
                        "{e}: read it from {}",
                        layout::leaf_page(e.index, Some(e.index + 1))
                    ))
                },
            )?
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache_control(&tile)),
        ],
        body,
    )
        .into_response())
}
