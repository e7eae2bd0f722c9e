//! `GET /v1/projects/{id}`: a project's owner, currency, membership mode, admitted policies,
//! realizers and current members (PROTOCOL.md, "Projects and who may act in them").

use super::AppState;
use super::error::ApiError;
use crate::client::layout;
use crate::entry::Slug;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new().route(layout::PROJECT, get(get_project))
}

async fn get_project(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project = Slug::parse(&id).map_err(ApiError::BadRequest)?;
    let row = state
        .store
        .project(&project)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no project {id} was opened")))?;
    let terms = &row.terms;
    Ok(Json(json!({
        "project": project.as_str(),
        "owner": terms.owner.as_str(),
        "currency": terms.currency,
        "membership": if terms.members_only { "members" } else { "open" },
        "policies": terms.policies.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "realizers": terms.realizers.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "members": row.members.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
    })))
}
