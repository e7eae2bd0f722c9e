//! The HTTP API (axum): one file per resource, each exposing `router()`; errors become
//! RFC 9457 problem+json in [`error`], and nowhere else.

mod access;
mod actors;
mod allocations;
mod audit;
pub mod auth;
mod budget;
mod disclosures;
mod entries;
pub mod error;
mod health;
mod limits;
mod log;
pub mod metrics;
mod projects;
mod proofs;
mod tiles;
mod witness;

use crate::service::Sequencer;
use crate::service::allocator::Allocator;
use crate::store::Store;
use axum::Router;
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use health::StartupCheck;
pub use limits::ReadQuota;

/// Limits and settings the handlers need.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most entries in one batch request.
    pub max_batch_entries: usize,
    /// Most memory all request bodies being read and parsed may hold at once, in bytes.
    pub max_body_memory: usize,
    /// How far an entry's `ts` may be from the server clock.
    pub timestamp_skew: chrono::Duration,
    /// The log's signed-note verifier key, served at /v1/log/key.
    pub log_key: String,
    /// What the start-up check did (reported by /readyz).
    pub startup_check: StartupCheck,
    /// The rate limit on reads per client address; none when off.
    pub read_quota: Option<ReadQuota>,
    /// How far a signed request's `created` time may be from the server clock; its nonce
    /// is remembered that long after `created`.
    pub request_window: chrono::Duration,
    /// `scheme://host[:port]` clients reach the server at, which their `@target-uri`
    /// starts with; `http://` and the Host field when unset.
    pub public_origin: Option<String>,
    /// Every read public, as before signed requests (`--public-reads`).
    pub public_reads: bool,
    /// The witnesses whose cosignatures the server keeps, and how many make a checkpoint
    /// published.
    pub witnesses: crate::ledger::witness::WitnessPolicy,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub sequencer: Sequencer,
    pub allocator: Allocator,
    pub settings: Arc<ApiSettings>,
    /// The nonces of recent signed requests (replay protection).
    pub nonces: auth::NonceCache,
}

/// The largest position or count in the log a request may name: what the store's `bigint`
/// columns hold (2^63 - 1). Anything larger is refused before it is added to, multiplied or
/// cast.
const MAX_POSITION: u64 = i64::MAX.unsigned_abs();

/// `text`, the value of the parameter `name`, as an integer from 0 to `max`.
fn parse_number(name: &str, text: &str, max: u64) -> Result<u64, error::ApiError> {
    text.parse().ok().filter(|n| *n <= max).ok_or_else(|| {
        error::ApiError::BadRequest(format!("{name}={text:?} is not an integer from 0 to {max}"))
    })
}

/// A required (or defaulted) integer query parameter from 0 to `max`.
fn number(
    params: &std::collections::HashMap<String, String>,
    name: &str,
    default: Option<u64>,
    max: u64,
) -> Result<u64, error::ApiError> {
    match params.get(name) {
        Some(text) => parse_number(name, text, max),
        None => default.ok_or_else(|| {
            error::ApiError::BadRequest(format!("the query parameter {name} is required"))
        }),
    }
}

/// A position or count in the log (sequence number, tree size, leaf index) as a query
/// parameter.
fn position(
    params: &std::collections::HashMap<String, String>,
    name: &str,
    default: Option<u64>,
) -> Result<u64, error::ApiError> {
    number(params, name, default, MAX_POSITION)
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
    // With the peer's address, which the read limit keys on.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.max_body_bytes;
    let read_quota = state.settings.read_quota;
    let budget = budget::BodyBudget::new(state.settings.max_body_memory, body_limit);
    let app = Router::new()
        .merge(health::router())
        .merge(metrics::router())
        .merge(entries::router(budget))
        .merge(actors::router())
        .merge(log::router())
        .merge(tiles::router())
        .merge(witness::router())
        .merge(proofs::router())
        .merge(allocations::router())
        .merge(audit::router())
        .merge(projects::router())
        .merge(disclosures::router())
        .fallback(error::not_found_fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::map_response(
            error::problem_for_bare_errors,
        ));
    with_operations(app, read_quota).with_state(state)
}

/// The layers every request passes, outermost first: its request id (the client's
/// `x-request-id`, or a new UUID), its trace span carrying that id (so every log line of the
/// request names it), the id copied to the response, its timing by route, the read limit.
fn with_operations(app: Router<AppState>, read_quota: Option<ReadQuota>) -> Router<AppState> {
    let app = match read_quota {
        Some(quota) => app.layer(axum::middleware::from_fn_with_state(
            limits::ReadLimit::new(quota),
            limits::limit_reads,
        )),
        None => app,
    };
    app.layer(axum::middleware::from_fn(metrics::time_request))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The span of one request, at info level so that info lines inside it carry its id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        request_id,
    )
}
