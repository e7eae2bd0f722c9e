//! Checkpoints and proofs over HTTP, export and the offline verifier, and tampering done as a
//! database superuser with the guards switched off: each kind is caught and named.

use crate::helpers::{
    Actor, PUBLIC_READS, TestApp, admin_connection, fresh_database, spawn_app_on, text,
};
use fairshare::crypto::hash;
use fairshare::ledger::checkpoint::{
    Checkpoint, NoteSigner, NoteVerifier, open_checkpoint, sign_checkpoint,
};
use fairshare::ledger::merkle::{MemoryTree, verify_consistency, verify_inclusion};
use serde_json::{Value, json};
use sqlx::Executor;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_fairshare");

/// A server with fast checkpoints and a log of `entries + 1` entries: the operator registers
/// the platform alice, which opens project novel to everyone (entry 1) and contributes to it
/// (entries 2 to `entries`).
pub async fn app_with_log(entries: usize) -> TestApp {
    let app = app_with_flags(&[]).await;
    append_log(&app, entries).await;
    wait_for_checkpoint(&app, entries as u64 + 1).await;
    app
}

/// A server with fast checkpoints and `extra` flags, on an empty log.
pub async fn app_with_flags(extra: &[&str]) -> TestApp {
    let (url, name) = fresh_database().await;
    let mut flags = vec!["--checkpoint-interval-ms", "20", PUBLIC_READS];
    flags.extend_from_slice(extra);
    spawn_app_on(url, name, tempfile::tempdir().expect("dir"), &flags).await
}

/// Appends the log of [`app_with_log`] to an empty log: `entries + 1` entries.
pub async fn append_log(app: &TestApp, entries: usize) {
    let alice = Actor::new("alice");
    let registration = app.sign_as_server(
        "alice",
        "actor.registered",
        json!({"kind": "platform", "public_key": alice.key.public_key().to_base64()}),
    );
    let opened = alice.sign(
        "project.opened",
        json!({"project": "novel", "currency": "EUR", "membership": "open"}),
    );
    let mut log = vec![registration, opened];
    log.extend((1..entries).map(|_| alice.contribution("novel", &[])));
    let (status, body) = app.post(&json!({"entries": log})).await;
    assert_eq!(
        (status, body["rejected"].as_u64()),
        (200, Some(0)),
        "{body}"
    );
}

pub(crate) async fn wait_for_checkpoint(app: &TestApp, size: u64) -> String {
    wait_for_checkpoint_at(app, "/v1/log/checkpoint", size).await
}

/// The note `path` serves once it is a checkpoint of `size`.
pub(crate) async fn wait_for_checkpoint_at(app: &TestApp, path: &str, size: u64) -> String {
    for _ in 0..200 {
        let (status, note) = text(app, path).await;
        if status == 200 && note.lines().nth(1) == Some(size.to_string().as_str()) {
            return note;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no checkpoint of size {size}");
}

pub(crate) async fn verifier(app: &TestApp) -> (String, NoteVerifier) {
    let (status, key) = text(app, "/v1/log/key").await;
    assert_eq!(status, 200);
    let verifier = NoteVerifier::from_vkey(&key).expect("a C2SP verifier key");
    (key, verifier)
}

fn hex32(value: &Value) -> [u8; 32] {
    hash::parse_hex32(value.as_str().expect("hex")).expect("32 bytes")
}

pub(crate) fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_and_proofs_verify_against_the_log_key() {
    let app = app_with_log(20).await;
    let (_, verifier) = verifier(&app).await;
    let first_note = text(&app, "/v1/log/checkpoints/21").await.1;
    let (first, _) = open_checkpoint(&first_note, std::slice::from_ref(&verifier))
        .expect("signed by the log key");
    assert_eq!(first.size, 21);

    let alice = Actor::new("bob");
    app.register(&alice, "human").await;
    for _ in 0..5 {
        app.post(&alice.contribution("novel", &[])).await;
    }
    let note = wait_for_checkpoint(&app, 27).await;
    let (latest, _) = open_checkpoint(&note, std::slice::from_ref(&verifier)).expect("signed");

    for index in [0u64, 1, 13, 20, 26] {
        let entry = app.get(&format!("/v1/entries/{index}")).await.1;
        let leaf_hash = hex32(&entry["leaf_hash"]);
        for query in [
            format!("leaf_index={index}"),
            format!("leaf_hash={}", hash::to_hex(&leaf_hash)),
        ] {
            let (status, proof) = app
                .get(&format!("/v1/log/proof/inclusion?{query}&tree_size=27"))
                .await;
            assert_eq!(status, 200, "{proof}");
            assert_eq!(proof["leaf_index"], index);
            let path: Vec<[u8; 32]> = proof["proof"]
                .as_array()
                .expect("list")
                .iter()
                .map(hex32)
                .collect();
            verify_inclusion(&leaf_hash, index, 27, &path, &latest.root)
                .expect("inclusion verifies");
        }
    }
    let (status, proof) = app
        .get("/v1/log/proof/consistency?first=21&second=27")
        .await;
    assert_eq!(status, 200);
    let path: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .expect("list")
        .iter()
        .map(hex32)
        .collect();
    verify_consistency(21, 27, &path, &first.root, &latest.root).expect("consistent");

    for bad in [
        "/v1/log/proof/inclusion?leaf_index=27&tree_size=27",
        "/v1/log/proof/inclusion?leaf_index=0&tree_size=28",
        // Every node of this proof exists; only the tree's last leaf does not.
        "/v1/log/proof/inclusion?leaf_index=27&tree_size=28",
        "/v1/log/proof/consistency?first=27&second=28",
        "/v1/log/proof/inclusion?tree_size=5",
        "/v1/log/proof/inclusion?leaf_index=x&tree_size=5",
        "/v1/log/proof/consistency?first=9&second=3",
        "/v1/log/proof/consistency?first=1&second=99",
    ] {
        let response = app
            .client
            .get(format!("{}{bad}", app.base))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 400, "{bad}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    assert_eq!(text(&app, "/v1/log/checkpoints/999").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_resumes_and_verifies_offline() {
    let app = app_with_log(30).await;
    let (key, _) = verifier(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("log.ndjson").to_string_lossy().into_owned();
    let (ok, said) = run(&["export", "--server", &app.base, "--out", &out]);
    assert!(ok, "{said}");
    let full = std::fs::read(&out).expect("export");
    // A partial file (cut inside a line) is completed, not duplicated.
    std::fs::write(&out, &full[..full.len() / 2]).expect("truncate");
    let (ok, said) = run(&["export", "--server", &app.base, "--out", &out]);
    assert!(ok, "{said}");
    assert_eq!(std::fs::read(&out).expect("export"), full);
    let (ok, said) = run(&["verify", "--log", &out, "--log-key", &key]);
    assert!(ok, "{said}");
    assert!(said.contains("ok: 31 entries"), "{said}");
    let (ok, said) = run(&["verify", "--log", &app.base, "--log-key", &key]);
    assert!(ok, "{said}");
    let (ok, said) = run(&["verify", "--log", &out, "--log-key", "not-a-key"]);
    assert!(!ok && said.contains("--log-key"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_line_of_an_exported_file_is_named() {
    let app = app_with_log(12).await;
    let (key, _) = verifier(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("log.ndjson").to_string_lossy().into_owned();
    let (ok, said) = run(&["export", "--server", &app.base, "--out", &out]);
    assert!(ok, "{said}");
    let lines: Vec<String> = std::fs::read_to_string(&out)
        .expect("export")
        .lines()
        .map(str::to_owned)
        .collect();
    let verify_lines = |lines: &[String]| {
        std::fs::write(&out, lines.join("\n") + "\n").expect("write");
        run(&["verify", "--log", &out, "--log-key", &key])
    };
    let leaf = |line: &str| serde_json::from_str::<Value>(line).expect("line")["leaf"].clone();

    // Leaf 8 at position 7 too: valid there, so the reused nonce is found at leaf 8.
    let mut repeated = lines.clone();
    repeated[7] = json!({"index": 7, "leaf": leaf(&lines[8])}).to_string();
    let (ok, said) = verify_lines(&repeated);
    assert!(
        !ok && said.contains("leaf 8:") && said.contains("used twice"),
        "{said}"
    );

    let mut missing = lines.clone();
    missing.remove(5);
    let (ok, said) = verify_lines(&missing);
    assert!(
        !ok && said.contains("leaf 5: the export holds index 6"),
        "{said}"
    );

    let (ok, said) = verify_lines(&lines[..10]);
    assert!(!ok && said.contains("entries were removed"), "{said}");
    let (ok, said) = verify_lines(&lines);
    assert!(ok && said.contains("ok: 13 entries"), "{said}");
}

/// Runs `statements` as a superuser with triggers (and so the append-only guards) disabled.
pub async fn tamper(app: &TestApp, statements: &[&str]) {
    let mut db = admin_connection(&app.database).await;
    db.execute("SET session_replication_role = replica")
        .await
        .expect("superuser");
    for statement in statements {
        db.execute(sqlx::AssertSqlSafe(statement.to_string()))
            .await
            .expect(statement);
    }
}

fn check(app: &TestApp) -> (bool, String) {
    let key = app
        .data_dir
        .path()
        .join("server.key")
        .to_string_lossy()
        .into_owned();
    run(&[
        "check",
        "--database-url",
        &app.database_url,
        "--server-key",
        &key,
    ])
}

/// `fairshare check` reads the log's key; without it, it fails and makes none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_without_the_server_key_makes_none() {
    let app = app_with_log(2).await;
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("server.key");
    let (ok, said) = run(&[
        "check",
        "--database-url",
        &app.database_url,
        "--server-key",
        &missing.to_string_lossy(),
    ]);
    assert!(!ok && said.contains("server.key"), "{said}");
    assert!(!missing.exists(), "no key was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_byte_is_named() {
    let app = app_with_log(8).await;
    let (key, _) = verifier(&app).await;
    assert!(check(&app).0);
    tamper(&app, &["UPDATE entries SET leaf = overlay(leaf placing '\\x41'::bytea from 60 for 1) WHERE seq = 4"]).await;
    let (ok, said) = run(&["verify", "--log", &app.base, "--log-key", &key]);
    assert!(!ok && said.contains("leaf 4"), "{said}");
    let (ok, said) = check(&app);
    assert!(!ok && said.contains("leaf 4"), "{said}");

    // A server starting on this database refuses to serve.
    let data = app.data_dir.path().to_string_lossy().into_owned();
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &app.database_url,
        "--data-dir",
        &data,
    ];
    let config = crate::helpers::server_config(&args);
    let refused = fairshare::server::RunningServer::start(config)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        refused.as_deref().is_some_and(|e| e.contains("leaf 4")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_last_entry_is_caught() {
    let app = app_with_log(8).await;
    let (key, _) = verifier(&app).await;
    tamper(&app, &["DELETE FROM entries WHERE seq = 8"]).await;
    let (ok, said) = run(&["verify", "--log", &app.base, "--log-key", &key]);
    assert!(!ok && said.contains("entries were removed"), "{said}");
    let (ok, said) = check(&app);
    assert!(!ok && said.contains("beyond the log"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_entries_are_caught() {
    let app = app_with_log(8).await;
    let (key, _) = verifier(&app).await;
    tamper(
        &app,
        &["UPDATE entries e SET leaf = o.leaf, leaf_hash = o.leaf_hash
                    FROM entries o WHERE (e.seq, o.seq) IN ((2, 6), (6, 2))"],
    )
    .await;
    let (ok, said) = run(&["verify", "--log", &app.base, "--log-key", &key]);
    assert!(
        !ok && said.contains("differs from the checkpoint"),
        "{said}"
    );
    let (ok, said) = check(&app);
    assert!(!ok && said.contains("leaf 2"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewritten_history_with_a_new_checkpoint_is_exposed_by_the_saved_one() {
    let app = app_with_log(8).await;
    let (key, _) = verifier(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let saved = dir.path().join("saved.checkpoint");
    std::fs::write(&saved, text(&app, "/v1/log/checkpoint").await.1).expect("regulator saves it");

    // The attacker holds the server key: reorders history and signs a new checkpoint for
    // the same size.
    tamper(&app, &["UPDATE entries e SET leaf = o.leaf FROM entries o WHERE (e.seq, o.seq) IN ((2, 6), (6, 2))",
                   "DELETE FROM checkpoints"]).await;
    let leaves = app.server.store().leaves(0, 9).await.expect("leaves");
    let mut tree = MemoryTree::new();
    leaves.iter().for_each(|(_, leaf)| {
        tree.push_leaf(leaf);
    });
    let server_key =
        fairshare::keyfile::read(&app.data_dir.path().join("server.key")).expect("key");
    let signer = NoteSigner::ed25519(
        "fairshare.local/log",
        ed25519_dalek::SigningKey::from_bytes(&server_key.seed()),
    )
    .expect("signer");
    let forged = sign_checkpoint(
        &Checkpoint::new("fairshare.local/log", 9, tree.root()).expect("checkpoint"),
        &signer,
    )
    .expect("signs");
    let forged_path = dir.path().join("forged.checkpoint");
    std::fs::write(&forged_path, forged).expect("write");

    let (ok, said) = run(&[
        "verify",
        "--log",
        &app.base,
        "--log-key",
        &key,
        "--checkpoint",
        &forged_path.to_string_lossy(),
    ]);
    assert!(
        ok,
        "the forged history is self-consistent on its own: {said}"
    );
    let (ok, said) = run(&[
        "verify",
        "--log",
        &app.base,
        "--log-key",
        &key,
        "--checkpoint",
        &forged_path.to_string_lossy(),
        "--previous-checkpoint",
        &saved.to_string_lossy(),
    ]);
    assert!(!ok && said.contains("inconsistent checkpoints"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_stays_whole_when_another_appender_moves_the_log() {
    // The sequencer keeps the tree's frontier between its commits; a second server process
    // on the same database appends in between, so the next commit must notice the log moved
    // and extend the stored tree from the right place.
    let app = app_with_log(3).await;
    let second_dir = tempfile::tempdir().expect("dir");
    std::fs::copy(
        app.data_dir.path().join("server.key"),
        second_dir.path().join("server.key"),
    )
    .expect("copies the server key");
    let second = spawn_app_on(
        app.database_url.clone(),
        app.database.clone(),
        second_dir,
        &[],
    )
    .await;
    let operator = Actor::new("acme");
    let (status, body) = second.post(&operator.registration("human")).await;
    assert_eq!((status, &body["seq"]), (201, &json!(4)), "{body}");
    let (status, body) = app.post(&operator.contribution("novel", &[])).await;
    assert_eq!((status, &body["seq"]), (201, &json!(5)), "{body}");
    wait_for_checkpoint(&app, 6).await;
    let (ok, report) = check(&app);
    assert!(ok, "{report}");
}
