//! Two server processes on one database, many clients: no gap, no duplicate, no fork; and a
//! restart continues the sequence.

use crate::helpers::{Actor, admin_connection, fresh_database, spawn_app_on};
use std::collections::HashSet;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_clients_two_servers_give_one_gapless_sequence() {
    let (url, name) = fresh_database().await;
    let data = tempfile::tempdir().expect("dir");
    let key = data.path().join("server.key");
    let first = spawn_app_on(url.clone(), name.clone(), data, &[]).await;
    let second_dir = tempfile::tempdir().expect("dir");
    std::fs::copy(&key, second_dir.path().join("server.key")).expect("same server key");
    let second = spawn_app_on(url, name.clone(), second_dir, &[]).await;
    first.open_project("load").await;
    let servers = Arc::new([first, second]);

    let mut clients = Vec::new();
    for c in 0..8 {
        let servers = servers.clone();
        clients.push(tokio::spawn(async move {
            let actor = Actor::new(&format!("client-{c}"));
            servers[c % 2].register(&actor, "human").await;
            let mut seqs = Vec::new();
            for i in 0..500 {
                let (status, receipt) = servers[(c + i) % 2]
                    .post(&actor.contribution("load", &[]))
                    .await;
                assert_eq!(status, 201, "{receipt}");
                seqs.push(receipt["seq"].as_u64().expect("seq"));
            }
            seqs
        }));
    }
    let mut all = HashSet::new();
    for client in clients {
        for seq in client.await.expect("client finished") {
            assert!(all.insert(seq), "sequence number {seq} given twice");
        }
    }
    assert_eq!(all.len(), 4000);

    let mut db = admin_connection(&name).await;
    let (count, distinct, max): (i64, i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT seq), max(seq) FROM entries")
            .fetch_one(&mut db)
            .await
            .expect("query");
    assert_eq!(
        (count, distinct, max),
        (4010, 4010, 4009),
        "the project's owner and opening, 8 registrations + 4000 contributions, seq 0..4009"
    );
    let (registrations,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM entries WHERE entry_type = 'actor.registered'")
            .fetch_one(&mut db)
            .await
            .expect("query");
    assert_eq!(registrations, 9);
    assert!(all.iter().all(|s| *s <= 4009));
}

#[tokio::test]
async fn restart_keeps_the_log_and_continues_the_sequence() {
    let (url, name) = fresh_database().await;
    let data = tempfile::tempdir().expect("dir");
    let data_path = data.path().to_owned();
    let app = spawn_app_on(url.clone(), name.clone(), data, &[]).await;
    app.open_project("novel").await; // seq 0 and 1
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    let (_, first) = app.post(&alice.contribution("novel", &[])).await;
    let crate::helpers::TestApp {
        server, data_dir, ..
    } = app;
    server.stop().await;

    let app = spawn_app_on(url, name, data_dir, &[]).await;
    assert_eq!(app.data_dir.path(), data_path);
    let (status, stored) = app.get("/v1/entries/3").await;
    assert_eq!(status, 200);
    assert_eq!(stored["id"], first["id"]);
    let (status, next) = app.post(&alice.contribution("novel", &[])).await;
    assert_eq!(status, 201);
    assert_eq!(next["seq"], 4);
}
