//! Liveness for load balancers and docker-compose: answers only when the database does.

use super::AppState;
use super::error::ApiError;
use crate::client::layout;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new().route(layout::HEALTH, get(health))
}

async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    Ok(Json(json!({"status": "ok"})))
}
