//! Registration rules: proof of possession, ai operators, regulators, registration policy.

use crate::helpers::{Actor, fresh_database, spawn_app_on, spawn_public_app};
use serde_json::json;

#[tokio::test]
async fn registration_proves_possession_of_the_key() {
    let app = spawn_public_app().await;
    let alice = Actor::new("alice");
    let other = fairshare::crypto::SecretKey::generate().expect("key");
    let wrong = alice.sign_with(
        &other,
        "actor.registered",
        json!({"kind": "human", "public_key": alice.key.public_key().to_base64()}),
        &[],
    );
    assert_eq!(app.post(&wrong).await.0, 403);
    app.register(&alice, "human").await;
    let (status, problem) = app.post(&alice.registration("human")).await;
    assert_eq!(status, 409, "registered twice: {problem}");
}

#[tokio::test]
async fn ai_actor_needs_its_operators_cosignature() {
    let app = spawn_public_app().await;
    let acme = Actor::new("acme");
    app.register_by_operator(&acme, "platform").await;
    let scribe = Actor::new("scribe");
    let body = json!({"kind": "ai", "public_key": scribe.key.public_key().to_base64(), "operator": "acme",
                      "model": {"name": "scribe", "version": "2.1", "weights_hash": format!("blake3:{}", "77".repeat(32))}});
    let (status, problem) = app
        .post(&scribe.sign("actor.registered", body.clone()))
        .await;
    assert_eq!(status, 403, "{problem}");
    let cosigned = scribe.sign_with(
        &scribe.key,
        "actor.registered",
        body,
        &[("acme", &acme.key)],
    );
    let (status, receipt) = app.post(&cosigned).await;
    assert_eq!(status, 201, "{receipt}");
    let (_, actor) = app.get("/v1/actors/scribe").await;
    assert_eq!(actor["kind"], "ai");
    assert_eq!(actor["operator"], "acme");
    assert_eq!(actor["model"]["version"], "2.1");
    assert_eq!(app.get("/v1/actors/nobody").await.0, 404);
    assert_eq!(app.get("/v1/actors/Bad%20Id").await.0, 400);
}

#[tokio::test]
async fn regulators_are_registered_by_the_operator_only() {
    let app = spawn_public_app().await;
    let regulator = Actor::new("regulator");
    assert_eq!(app.post(&regulator.registration("regulator")).await.0, 403);
    app.register_by_operator(&regulator, "regulator").await;
    let deputy = Actor::new("deputy");
    let cosigned = deputy.sign_with(
        &deputy.key,
        "actor.registered",
        json!({"kind": "regulator", "public_key": deputy.key.public_key().to_base64()}),
        &[("regulator", &regulator.key)],
    );
    assert_eq!(app.post(&cosigned).await.0, 201);
}

#[tokio::test]
async fn platform_cosigned_registration_policy() {
    let (url, name) = fresh_database().await;
    let app = spawn_app_on(
        url,
        name,
        tempfile::tempdir().expect("dir"),
        &["--registration", "platform-cosigned"],
    )
    .await;
    let shop = Actor::new("shop");
    app.register_by_operator(&shop, "platform").await;
    let alice = Actor::new("alice");
    assert_eq!(app.post(&alice.registration("human")).await.0, 403);
    let body = json!({"kind": "human", "public_key": alice.key.public_key().to_base64()});
    let cosigned = alice.sign_with(&alice.key, "actor.registered", body, &[("shop", &shop.key)]);
    assert_eq!(app.post(&cosigned).await.0, 201);
}
