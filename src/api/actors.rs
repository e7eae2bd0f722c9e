//! `GET /v1/actors/{id}`: an actor's kind, operator, model provenance and keys.

use super::AppState;
use super::error::ApiError;
use crate::client::layout;
use crate::crypto::b64_encode;
use crate::entry::ActorId;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new().route(layout::ACTOR, get(get_actor))
}

async fn get_actor(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let actor_id = ActorId::parse(&id).map_err(ApiError::BadRequest)?;
    let actor = state
        .store
        .actor(&actor_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no actor {id}")))?;
    let registration: Value =
        serde_json::from_slice(&actor.registration.leaf).unwrap_or(Value::Null);
    let body = &registration["envelope"]["body"];
    let keys: Vec<Value> = actor
        .keys
        .iter()
        .map(|k| {
            json!({
                "key": k.key_id,
                "public_key": b64_encode(&k.public_key),
                "status": if k.revoked_seq.is_some() { "revoked" } else { "active" },
                "added_seq": k.added_seq,
                "revoked_seq": k.revoked_seq,
            })
        })
        .collect();
    Ok(Json(json!({
        "id": actor.id.as_str(),
        "kind": actor.kind.as_str(),
        "name": body.get("name"),
        "operator": actor.operator.as_ref().map(|o| o.as_str()),
        "model": body.get("model"),
        "registered_seq": actor.registration.seq,
        "keys": keys,
    })))
}
