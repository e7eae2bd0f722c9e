//! Liveness and readiness for load balancers, orchestrators and docker-compose.
//!
//! - `/healthz`: the process is up and serving (nothing else is asked).
//! - `/readyz`: the database answers, every migration this build knows is applied, and the
//!   start-up check is behind (the server listens only once it has passed or was turned off).
//! - `/health`: the older check (the process and its database), kept for health checks
//!   configured before `/readyz`.

use super::AppState;
use super::error::ApiError;
use crate::client::layout;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// What the start-up check did before the server began to listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartupCheck {
    /// The stored tree and checkpoints agree with the leaves.
    Passed,
    /// Turned off (`--check-on-start false`).
    Skipped,
}

impl StartupCheck {
    fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Skipped => "skipped",
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(layout::HEALTH, get(health))
        .route(layout::HEALTHZ, get(live))
        .route(layout::READYZ, get(ready))
}

async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    Ok(Json(json!({"status": "ok"})))
}

async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 with each check's state, or a 503 `not-ready` problem naming what is missing.
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let pending = state.store.pending_migrations().await.map_err(|error| {
        tracing::warn!(
            error = &error as &dyn std::error::Error,
            "readiness: database"
        );
        ApiError::NotReady("the database does not answer".into())
    })?;
    if !pending.is_empty() {
        return Err(ApiError::NotReady(format!(
            "the database lacks migrations {pending:?}: run `fairshare db migrate`"
        )));
    }
    let (head, published) = super::witness::publication(&state).await?;
    Ok(Json(json!({
        "status": "ok",
        "checks": {
            "database": "ok",
            "migrations": "ok",
            "startup_check": state.settings.startup_check.as_str(),
        },
        "publication": {
            "checkpoint_size": head,
            "published_size": published,
            "lag_entries": head.saturating_sub(published),
            "witness_quorum": state.settings.witnesses.quorum(),
        }
    })))
}
