//! The append-only guards, from SQL: triggers refuse UPDATE, DELETE and TRUNCATE even for the
//! owner, and the server's login role lacks the privileges in the first place, whatever
//! role it tries to become.

use crate::helpers::{Actor, admin_connection, spawn_app};
use sqlx::{Connection, Executor};
use std::str::FromStr;

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
    // As the server's role, the privilege is missing before any trigger runs.
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

/// The server logs in as its own role: no `RESET ROLE` or `SET ROLE` gives it more.
#[tokio::test]
async fn the_servers_login_role_cannot_change_the_log_even_after_reset_role() {
    let app = spawn_app().await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    let options =
        sqlx::postgres::PgConnectOptions::from_str(&app.database_url).expect("server's URL");
    let mut db = sqlx::PgConnection::connect_with(&options)
        .await
        .expect("the server's role logs in");
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut db)
        .await
        .expect("role");
    assert_eq!(role, fairshare::store::setup::APP_ROLE);
    db.execute("RESET ROLE").await.expect("reset role");
    for owner in ["fairshare_owner", "postgres"] {
        let error = db
            .execute(sqlx::AssertSqlSafe(format!("SET ROLE {owner}")))
            .await
            .expect_err(owner)
            .to_string();
        assert!(error.contains("permission denied"), "{owner}: {error}");
    }
    for statement in [
        "UPDATE entries SET log_id = log_id",
        "DELETE FROM entries",
        "TRUNCATE entries",
        "UPDATE actor_keys SET public_key = public_key",
        "ALTER TABLE entries DISABLE TRIGGER ALL",
        "SET session_replication_role = replica",
    ] {
        let error = db
            .execute(statement)
            .await
            .expect_err(statement)
            .to_string();
        assert!(
            error.contains("permission denied") || error.contains("must be owner"),
            "{statement}: {error}"
        );
    }
    assert_eq!(app.log_size().await, 1);
}

/// A superuser, or the tables' owner, is refused as the server's role, and so is a database
/// whose migrations were not applied: the server never runs with power over its own log.
#[tokio::test]
async fn the_server_refuses_a_role_that_could_change_the_log() {
    let app = spawn_app().await;
    let mut url = url::Url::parse(&app.database_url).expect("url");
    let data = app.data_dir.path().to_string_lossy().into_owned();
    for (user, expected) in [
        ("postgres", "is a superuser"),
        ("fairshare_owner", "owns the log tables"),
    ] {
        url.set_username(user).expect("user");
        let args = [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            url.as_str(),
            "--data-dir",
            &data,
        ];
        let refused = fairshare::server::RunningServer::start(crate::helpers::server_config(&args))
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains(expected), "{user}: {refused}");
    }

    // An empty database: nothing migrated.
    let mut admin = admin_connection("postgres").await;
    let empty = format!("{}_empty", app.database);
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{empty}\"")))
        .await
        .expect("create");
    url.set_username(fairshare::store::setup::APP_ROLE)
        .expect("user");
    url.set_path(&empty);
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        url.as_str(),
        "--data-dir",
        &data,
    ];
    let refused = fairshare::server::RunningServer::start(crate::helpers::server_config(&args))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("lacks migrations"), "{refused}");
    let _ = admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE \"{empty}\" WITH (FORCE)"
        )))
        .await;
}
