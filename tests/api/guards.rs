//! The append-only guards, from SQL: triggers refuse UPDATE, DELETE and TRUNCATE even for the
//! owner, and the application role lacks the privileges in the first place.

use crate::helpers::{Actor, admin_connection, spawn_app};
use sqlx::Executor;

#[tokio::test]
async fn update_delete_and_truncate_fail_from_sql() {
    let app = spawn_app().await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    let mut db = admin_connection(&app.database).await;
    for table in ["entries", "actors", "actor_keys"] {
        for statement in [
            format!("UPDATE {table} SET log_id = log_id"),
            format!("DELETE FROM {table}"),
            format!("TRUNCATE {table} CASCADE"),
        ] {
            let error = db
                .execute(sqlx::AssertSqlSafe(statement.clone()))
                .await
                .expect_err(&statement)
                .to_string();
            assert!(error.contains("append-only"), "{statement}: {error}");
        }
    }
    // As the application role, the privilege is missing before any trigger runs.
    db.execute("SET ROLE fairshare_app")
        .await
        .expect("role exists");
    for statement in [
        "UPDATE entries SET log_id = log_id",
        "DELETE FROM entries",
        "TRUNCATE entries",
    ] {
        let error = db
            .execute(statement)
            .await
            .expect_err(statement)
            .to_string();
        assert!(error.contains("permission denied"), "{statement}: {error}");
    }
    assert_eq!(app.log_size().await, 1);
}
