//! The HTTP API (axum): one file per resource, each exposing `router()`; errors become
//! RFC 9457 problem+json in [`error`], and nowhere else.

mod actors;
mod allocations;
mod audit;
mod entries;
pub mod error;
mod health;
mod log;

use crate::service::Sequencer;
use crate::service::allocator::Allocator;
use crate::store::Store;
use axum::Router;
use std::sync::Arc;

/// Limits and settings the handlers need.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most entries in one batch request.
    pub max_batch_entries: usize,
    /// How far an entry's `ts` may be from the server clock.
    pub timestamp_skew: chrono::Duration,
    /// The log's signed-note verifier key, served at /v1/log/key.
    pub log_key: String,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub sequencer: Sequencer,
    pub allocator: Allocator,
    pub settings: Arc<ApiSettings>,
}

/// A required (or defaulted) non-negative integer query parameter.
fn number(
    params: &std::collections::HashMap<String, String>,
    name: &str,
    default: Option<u64>,
) -> Result<u64, error::ApiError> {
    match params.get(name) {
        Some(text) => text.parse().map_err(|_| {
            error::ApiError::BadRequest(format!("{name}={text:?} is not a non-negative integer"))
        }),
        None => default.ok_or_else(|| {
            error::ApiError::BadRequest(format!("the query parameter {name} is required"))
        }),
    }
}

/// An optional query parameter that must be a slug (project and actor ids).
fn slug(
    params: &std::collections::HashMap<String, String>,
    name: &str,
) -> Result<Option<crate::entry::Slug>, error::ApiError> {
    params
        .get(name)
        .map(|text| crate::entry::Slug::parse(text).map_err(error::ApiError::BadRequest))
        .transpose()
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.max_body_bytes;
    Router::new()
        .merge(health::router())
        .merge(entries::router())
        .merge(actors::router())
        .merge(log::router())
        .merge(allocations::router())
        .merge(audit::router())
        .fallback(error::not_found_fallback)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
