//! `/metrics` in Prometheus text format (metrics-exporter-prometheus behind the `metrics`
//! facade), and the one layer that times every request by its matched route.

use super::AppState;
use crate::client::layout;
use crate::service::telemetry;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Latency buckets in seconds, from 100 µs to 30 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];
/// Entries per commit, up to the largest `--commit-batch` worth telling apart.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
];
/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder: the `metrics` facade has one global recorder, so every server in
/// a process (the tests start many) shares it.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = install().unwrap_or_else(|error| {
            // Another recorder was installed first (only possible in a host program): this
            // process then serves an empty page rather than failing to start.
            tracing::warn!(%error, "metrics recorder not installed");
            PrometheusBuilder::new().build_recorder().handle()
        });
        // The exporter keeps one help text per name, whatever the metric's kind.
        for (name, help) in telemetry::DESCRIPTIONS {
            metrics::describe_histogram!(*name, *help);
        }
        handle
    })
}

fn install() -> Result<PrometheusHandle, BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full(telemetry::COMMIT_BATCH_ENTRIES.into()),
            BATCH_BUCKETS,
        )?
        .install_recorder()
}

/// Folds recorded samples into the histograms every few seconds, so memory stays flat
/// between scrapes. The server aborts the task at shutdown.
pub fn spawn_upkeep() -> tokio::task::JoinHandle<()> {
    let handle = recorder();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP_EVERY).await;
            handle.run_upkeep();
        }
    })
}

pub fn router() -> Router<AppState> {
    Router::new().route(layout::METRICS, get(render))
}

async fn render(State(state): State<AppState>) -> Response {
    // The lag is read when scraped; a database that does not answer leaves the last value.
    if let Err(error) = super::witness::publication(&state).await {
        tracing::warn!(
            error = &error as &dyn std::error::Error,
            "metrics: publication lag"
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        recorder().render(),
    )
        .into_response()
}

/// Records each request's duration by method, matched route template (never the raw URI,
/// whose ids would make a series per entry) and status.
pub async fn time_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    metrics::histogram!(
        telemetry::REQUEST_SECONDS,
        "method" => method,
        "route" => route,
        "status" => response.status().as_str().to_owned(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}
