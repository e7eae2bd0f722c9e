//! The embedded PostgreSQL starter on its own: first start (initdb), restart with the same
//! data folder, and the message when binaries are missing.

use fairshare::store::embedded::{EmbeddedPostgres, find_binaries};
use sqlx::Connection;

#[tokio::test]
async fn starts_persists_and_stops() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().to_owned();
    let mut cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&path, None))
        .await
        .expect("join")
        .expect("starts");
    let mut conn = sqlx::PgConnection::connect_with(&cluster.connect_options())
        .await
        .expect("connects");
    sqlx::query("CREATE TABLE kept (x int)")
        .execute(&mut conn)
        .await
        .expect("create");
    conn.close().await.expect("close");
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .expect("join")
        .expect("stops");

    let path = dir.path().to_owned();
    let mut cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&path, None))
        .await
        .expect("join")
        .expect("restarts");
    let mut conn = sqlx::PgConnection::connect_with(&cluster.connect_options())
        .await
        .expect("connects");
    sqlx::query("SELECT * FROM kept")
        .execute(&mut conn)
        .await
        .expect("the data folder persisted");
    conn.close().await.expect("close");
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .expect("join")
        .expect("stops");
}

#[test]
fn missing_binaries_say_what_to_do() {
    let error = find_binaries(Some(std::path::Path::new("/nonexistent")))
        .expect_err("no binaries there")
        .to_string();
    assert!(error.contains("FAIRSHARE_PG_BIN"), "{error}");
}
