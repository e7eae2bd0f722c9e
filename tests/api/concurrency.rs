//! Two server processes on one database, many clients: no gap, no duplicate, no fork, every
//! checkpoint consistent with every other; and a restart continues the sequence.

use crate::helpers::{Actor, TestApp, admin_connection, fresh_database, spawn_app_on, text};
use fairshare::crypto::hash;
use fairshare::ledger::checkpoint::{NoteVerifier, open_checkpoint};
use fairshare::ledger::merkle::{MemoryTree, verify_consistency};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Two servers on one fresh database with the same server key and `flags`, the project
/// "load" opened (2 entries); the database's name.
async fn two_servers(flags: &[&str]) -> (Arc<[TestApp; 2]>, String) {
    let (url, name) = fresh_database().await;
    let data = tempfile::tempdir().expect("dir");
    let key = data.path().join("server.key");
    let first = spawn_app_on(url.clone(), name.clone(), data, flags).await;
    let second_dir = tempfile::tempdir().expect("dir");
    std::fs::copy(&key, second_dir.path().join("server.key")).expect("same server key");
    let second = spawn_app_on(url, name.clone(), second_dir, flags).await;
    first.open_project("load").await;
    (Arc::new([first, second]), name)
}

/// `clients` actors, each registering and then contributing `each` times to "load",
/// alternating between the two servers; each task yields the sequence numbers it was given.
fn contributing_clients(
    servers: &Arc<[TestApp; 2]>,
    clients: usize,
    each: usize,
) -> Vec<tokio::task::JoinHandle<Vec<u64>>> {
    (0..clients)
        .map(|c| {
            let servers = servers.clone();
            tokio::spawn(async move {
                let actor = Actor::new(&format!("client-{c}"));
                servers[c % 2].register(&actor, "human").await;
                let mut seqs = Vec::new();
                for i in 0..each {
                    let (status, receipt) = servers[(c + i) % 2]
                        .post(&actor.contribution("load", &[]))
                        .await;
                    assert_eq!(status, 201, "{receipt}");
                    seqs.push(receipt["seq"].as_u64().expect("seq"));
                }
                seqs
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_clients_two_servers_give_one_gapless_sequence() {
    let (servers, name) = two_servers(&[]).await;

    let clients = contributing_clients(&servers, 8, 500);
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
    let (status, stored) = app.get_as(&alice, "/v1/entries/3").await;
    assert_eq!(status, 200);
    assert_eq!(stored["id"], first["id"]);
    let (status, next) = app.post(&alice.contribution("novel", &[])).await;
    assert_eq!(status, 201);
    assert_eq!(next["seq"], 4);
}

/// Two server processes on one database under load, checkpointing as they go: one
/// contiguous log; every checkpoint either signed is the root of a prefix of it, so each is
/// consistent with every other (and the servers' consistency proofs say so); and each
/// server vetted entries the other appended before signing over them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_under_load_sign_one_history_and_vet_each_others_entries() {
    let (servers, name) = two_servers(&["--checkpoint-interval-ms", "20"]).await;

    let loading = Arc::new(AtomicBool::new(true));
    let watchers: Vec<_> = (0..2)
        .map(|s| {
            let (servers, loading) = (servers.clone(), loading.clone());
            tokio::spawn(async move {
                let mut notes = Vec::new();
                while loading.load(Ordering::Relaxed) {
                    let (status, note) = text(&servers[s], "/v1/log/checkpoint").await;
                    if status == 200 {
                        notes.push(note);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                notes
            })
        })
        .collect();
    let clients = contributing_clients(&servers, 6, 80);
    let mut seqs = Vec::new();
    for client in clients {
        seqs.extend(client.await.expect("client finished"));
    }
    let size = servers[0].log_size().await;
    assert_eq!(
        size,
        2 + 6 + 6 * 80,
        "the opening, 6 registrations, 480 contributions"
    );
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 6 * 80, "no sequence number given twice");
    crate::transparency::wait_for_checkpoint(&servers[0], size).await;
    loading.store(false, Ordering::Relaxed);
    let mut notes = Vec::new();
    for watcher in watchers {
        notes.extend(watcher.await.expect("watcher finished"));
    }

    // Every checkpoint stored and every one served during the load, opened with the key.
    let mut db = admin_connection(&name).await;
    let stored: Vec<(String,)> = sqlx::query_as("SELECT note FROM checkpoints")
        .fetch_all(&mut db)
        .await
        .expect("checkpoints");
    notes.extend(stored.into_iter().map(|(note,)| note));
    let (_, key) = text(&servers[0], "/v1/log/key").await;
    let verifier = NoteVerifier::from_vkey(&key).expect("the log's key");
    let mut checkpoints: Vec<(u64, [u8; 32])> = notes
        .iter()
        .map(|note| {
            let (checkpoint, _) =
                open_checkpoint(note, std::slice::from_ref(&verifier)).expect("signed");
            (checkpoint.size, checkpoint.root)
        })
        .collect();
    checkpoints.sort_unstable();
    checkpoints.dedup();
    assert!(checkpoints.len() > 2, "{checkpoints:?}");

    // One contiguous log, and each checkpoint the root of its prefix.
    let leaves: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT seq, leaf FROM entries ORDER BY seq")
        .fetch_all(&mut db)
        .await
        .expect("leaves");
    let mut tree = MemoryTree::new();
    for (i, (seq, leaf)) in leaves.iter().enumerate() {
        assert_eq!(*seq, i as i64, "contiguous");
        tree.push_leaf(leaf);
    }
    for (i, (size, root)) in checkpoints.iter().enumerate() {
        assert_eq!(tree.root_at(*size).expect("a prefix"), *root, "size {size}");
        for (later, later_root) in &checkpoints[i + 1..] {
            let proof = tree.consistency_proof(*size, *later).expect("proof");
            verify_consistency(*size, *later, &proof, root, later_root).expect("consistent");
        }
        // And what each server serves links it to the next one.
        if let Some((next, next_root)) = checkpoints.get(i + 1) {
            let path = format!("/v1/log/proof/consistency?first={size}&second={next}");
            let (status, proof) = servers[i % 2].get(&path).await;
            assert_eq!(status, 200, "{proof}");
            let proof: Vec<[u8; 32]> = proof["proof"]
                .as_array()
                .expect("list")
                .iter()
                .map(|h| hash::parse_hex32(h.as_str().expect("hex")).expect("hash"))
                .collect();
            verify_consistency(*size, *next, &proof, root, next_root).expect("served proof");
        }
    }

    for (s, server) in servers.iter().enumerate() {
        let vetting = server.server.vetting();
        assert!(
            vetting.foreign_vetted() > 0,
            "server {s} vetted none of the other's entries"
        );
        assert_eq!(vetting.refusal(), None, "server {s}");
    }
}
