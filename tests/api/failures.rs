//! Failures on the server's side: 500 when the server or its stored data fails, 503 only
//! when the database is unavailable; "nothing was stored" only where the request wrote.

use crate::helpers::{Actor, spawn_public_app};
use crate::transparency::tamper;

#[tokio::test]
async fn a_corrupt_stored_row_is_a_500() {
    let app = spawn_public_app().await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    tamper(
        &app,
        &["UPDATE entries SET leaf = '\\x7b'::bytea WHERE seq = 0"],
    )
    .await;

    let (status, problem) = app.get("/v1/entries/0").await;
    assert_eq!(status, 500, "{problem}");
    assert_eq!(problem["type"], "urn:fairshare:problem:internal");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        !detail.contains("stored"),
        "a read stores nothing: {detail}"
    );
}

#[tokio::test]
async fn the_database_gone_is_a_503() {
    let app = spawn_public_app().await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    crate::helpers::drop_database_under(&app).await;

    for path in ["/v1/entries/0", "/health"] {
        let (status, problem) = app.get(path).await;
        assert_eq!(status, 503, "{path}: {problem}");
        assert_eq!(problem["type"], "urn:fairshare:problem:unavailable");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(!detail.contains("stored"), "{path}: {detail}");
    }
    let (status, problem) = app.post(&alice.contribution("novel", &[])).await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["type"], "urn:fairshare:problem:unavailable");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("nothing was stored")),
        "{problem}"
    );
}
