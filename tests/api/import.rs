//! Restore from an export: `fairshare import` rebuilds an empty database from an exported
//! log; the restored server answers as the original did and continues the log; a tampered
//! export, a database that holds a log, or another server key change nothing.

use crate::allocation_inputs::wait_for_allocations;
use crate::cli::{fairshare, stdout as succeeded};
use crate::helpers::{
    Actor, PUBLIC_READS, TestApp, admin_connection, fresh_database, spawn_app_on, text,
};
use crate::transparency::wait_for_checkpoint;
use fairshare::crypto::{SecretKey, hash};
use fairshare::ledger::checkpoint::{NoteVerifier, open_checkpoint};
use fairshare::ledger::merkle::verify_consistency;
use fairshare::server::RunningServer;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

async fn receipt(app: &TestApp, entry: &Value) -> Value {
    let (status, receipt) = app.post(entry).await;
    assert_eq!(status, 201, "{receipt}");
    receipt
}

/// Words the default policy weighs.
fn words(by: &Actor, project: &str, quantity: &str, builds_on: &[&Value]) -> Value {
    by.sign(
        "contribution",
        json!({"project": project, "kind": "text", "measure": {"quantity": quantity, "unit": "words"},
               "evidence": format!("commit:{}", "3c".repeat(32)), "builds_on": builds_on}),
    )
}

/// A server with fast checkpoints, on a fresh database.
async fn fast_server(database: (String, String), data_dir: tempfile::TempDir) -> TestApp {
    let (url, name) = database;
    spawn_app_on(
        url,
        name,
        data_dir,
        &["--checkpoint-interval-ms", "20", PUBLIC_READS],
    )
    .await
}

/// Every entry type: registrations by the operator, by an actor itself and co-signed by an
/// AI model's operator; a key rotation and a revocation; a policy; contributions with
/// lineage; endorsements; a measured coalition; two realized values and the server's two
/// allocations. Returns the actors and the policy's hash.
async fn every_entry_type(app: &TestApp) -> (Vec<Actor>, String) {
    let (alice, bob, shop, scribe, watchdog) = (
        Actor::new("alice"),
        Actor::new("bob"),
        Actor::new("shop"),
        Actor::new("scribe"),
        Actor::new("watchdog"),
    );
    app.register(&alice, "human").await;
    app.register(&bob, "human").await;
    app.register_by_operator(&shop, "platform").await;
    app.register_by_operator(&watchdog, "regulator").await;
    app.register_ai(&scribe, &shop).await;
    let policy = app.adopt_policy(&shop, "default").await;
    app.open_project_as(&shop, "novel", &[&policy], "members")
        .await;
    app.open_project_as(&shop, "atlas", &[&policy], "open")
        .await;
    let members = shop.sign(
        "project.members",
        json!({"project": "novel", "admit": ["alice", "bob", "scribe"]}),
    );
    receipt(app, &members).await;

    let text = receipt(app, &words(&alice, "novel", "1000", &[])).await["id"].clone();
    let draft = receipt(app, &words(&scribe, "novel", "3000", &[&text])).await["id"].clone();
    receipt(
        app,
        &alice.sign(
            "endorsement",
            json!({"contribution": draft, "decision": "accept"}),
        ),
    )
    .await;
    // Bob moves to a new key and retires the old one.
    let new_key = SecretKey::generate().expect("key");
    let rotation = bob.sign_with(
        &bob.key,
        "key.rotated",
        json!({"public_key": new_key.public_key().to_base64()}),
        &[("bob", &new_key)],
    );
    receipt(app, &rotation).await;
    let revocation = bob.sign_with(
        &new_key,
        "key.revoked",
        json!({"key": bob.key_id(), "reason": crate::helpers::commit(fairshare::entry::privacy::CommittedField::Reason, "laptop lost").0}),
        &[],
    );
    receipt(app, &revocation).await;
    let bob = Actor {
        id: "bob".into(),
        key: new_key,
    };
    for i in 0..12 {
        let by = if i % 2 == 0 { &alice } else { &bob };
        receipt(app, &words(by, "novel", "120", &[&draft])).await;
    }
    receipt(
        app,
        &shop.sign(
            "coalition.measured",
            json!({"project": "novel", "members": ["alice", "scribe"], "value": "40.00"}),
        ),
    )
    .await;
    for (project, amount) in [("novel", "1000.00"), ("atlas", "5.00")] {
        if project == "atlas" {
            receipt(app, &words(&bob, "atlas", "50", &[])).await;
        }
        let value = shop.sign(
            "value.realized",
            json!({"project": project, "amount": amount, "currency": "EUR", "policy": policy}),
        );
        receipt(app, &value).await;
        // Each allocation is in the log before the next entry.
        let count = if project == "novel" { 1 } else { 2 };
        wait_for_allocations(app, count).await;
    }
    (vec![alice, bob, shop, scribe, watchdog], policy)
}

/// A log of every entry type, exported with its checkpoint, beside its key.
struct Exported {
    original: TestApp,
    actors: Vec<Actor>,
    policy: String,
    dir: tempfile::TempDir,
    size: u64,
}

impl Exported {
    async fn new() -> Self {
        let original = fast_server(fresh_database().await, tempfile::tempdir().expect("dir")).await;
        let (actors, policy) = every_entry_type(&original).await;
        let size = original.log_size().await;
        wait_for_checkpoint(&original, size).await;
        let dir = tempfile::tempdir().expect("dir");
        let log = dir.path().join("log.ndjson");
        succeeded(&fairshare(&[
            "export",
            "--server",
            &original.base,
            "--out",
            &log.to_string_lossy(),
        ]));
        let (status, key) = text(&original, "/v1/log/key").await;
        assert_eq!(status, 200);
        std::fs::write(dir.path().join("log.vkey"), key).expect("key file");
        Self {
            original,
            actors,
            policy,
            dir,
            size,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn server_key(&self) -> PathBuf {
        self.original.data_dir.path().join("server.key")
    }

    /// `fairshare import` of this export into `database_url`, with `extra` flags.
    fn import(&self, log: &str, database_url: &str, data_dir: &Path, extra: &[&str]) -> Output {
        let (data_dir, log_key) = (data_dir.to_string_lossy(), self.path("log.vkey"));
        let mut args = vec![
            "import",
            "--log",
            log,
            "--log-key",
            &log_key,
            "--database-url",
            database_url,
            "--data-dir",
            &data_dir,
        ];
        args.extend_from_slice(extra);
        fairshare(&args)
    }
}

/// How many entries and checkpoints the database holds, read as its superuser.
async fn holdings(database: &str) -> (i64, i64) {
    let mut db = admin_connection(database).await;
    sqlx::query_as("SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM checkpoints)")
        .fetch_one(&mut db)
        .await
        .expect("counts")
}

/// Every read the API offers over the log, answered by `app`.
async fn answers(app: &TestApp, actors: &[Actor], size: u64) -> Vec<(String, u16, Value)> {
    let mut paths = vec![
        "/v1/log/key".to_owned(),
        "/v1/log/checkpoint".to_owned(),
        format!("/v1/log/checkpoints/{size}"),
        format!("/v1/log/entries?start=0&end={size}"),
        "/v1/allocations".to_owned(),
        "/v1/allocations?project=novel".to_owned(),
        "/v1/audit/concentration".to_owned(),
        "/v1/audit/concentration?project=novel&basis=received".to_owned(),
        "/v1/projects/novel/contributions".to_owned(),
        "/v1/projects/atlas/contributions".to_owned(),
    ];
    for seq in 0..size {
        paths.push(format!("/v1/entries/{seq}"));
        paths.push(format!(
            "/v1/log/proof/inclusion?leaf_index={seq}&tree_size={size}"
        ));
        paths.push(format!(
            "/v1/log/proof/consistency?first={seq}&second={size}"
        ));
    }
    for actor in actors {
        paths.push(format!("/v1/actors/{}", actor.id));
        paths.push(format!("/v1/allocations?actor={}", actor.id));
    }
    let listed = app.get("/v1/allocations").await.1;
    for allocation in listed["allocations"].as_array().expect("allocations") {
        let id = allocation["id"].as_str().expect("id");
        let value = allocation["body"]["value_entry"]
            .as_str()
            .expect("value entry");
        paths.push(format!("/v1/allocations/{id}"));
        paths.push(format!("/v1/allocations/{value}"));
        paths.push(format!("/v1/allocations/{id}?actor=alice"));
    }
    let mut answered = Vec::new();
    for path in paths {
        let (status, body) = if path.starts_with("/v1/log/key")
            || path.starts_with("/v1/log/checkpoint")
            || path.starts_with("/v1/log/entries")
        {
            let (status, body) = text(app, &path).await;
            (status, Value::String(body))
        } else {
            app.get(&path).await
        };
        answered.push((path, status, body));
    }
    answered
}

// Multi-threaded: the blocking child processes below must not starve the in-process servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_log_answers_as_the_original_and_continues_it() {
    let exported = Exported::new().await;
    let (url, name) = fresh_database().await;
    let data = tempfile::tempdir().expect("dir");
    std::fs::copy(exported.server_key(), data.path().join("server.key")).expect("key copy");
    let printed = succeeded(&exported.import(&exported.path("log.ndjson"), &url, data.path(), &[]));
    assert!(
        printed.contains(&format!("imported {} entries", exported.size)),
        "{printed}"
    );
    assert!(!printed.contains("no server key"), "{printed}");

    // The restored server checks the stored tree and checkpoints before serving (the
    // default), and answers every read as the original does.
    let restored = fast_server((url, name), data).await;
    let before = answers(&exported.original, &exported.actors, exported.size).await;
    let after = answers(&restored, &exported.actors, exported.size).await;
    assert_eq!(before.len(), after.len());
    for (original, restored) in before.iter().zip(&after) {
        assert_eq!(
            original, restored,
            "the restored server answers differently"
        );
        assert_eq!(original.1, 200, "{} answered {}", original.0, original.2);
    }

    // The log continues: new entries, a new allocation by the restored server's allocator,
    // a checkpoint consistent with the exported one, and the whole log verifies offline
    // against the exported checkpoint.
    let (alice, shop) = (&exported.actors[0], &exported.actors[2]);
    receipt(&restored, &words(alice, "novel", "70", &[])).await;
    let value = shop.sign(
        "value.realized",
        json!({"project": "novel", "amount": "10.00", "currency": "EUR", "policy": exported.policy}),
    );
    receipt(&restored, &value).await;
    let listed = wait_for_allocations(&restored, 3).await;
    let statuses: Vec<&Value> = listed["allocations"]
        .as_array()
        .expect("allocations")
        .iter()
        .map(|a| &a["body"]["status"])
        .collect();
    assert_eq!(statuses, ["ok", "ok", "ok"], "{listed}");
    let grown = restored.log_size().await;
    assert_eq!(grown, exported.size + 3);
    let note = wait_for_checkpoint(&restored, grown).await;
    let verifier =
        NoteVerifier::from_vkey(&std::fs::read_to_string(exported.path("log.vkey")).expect("key"))
            .expect("key");
    let (latest, _) = open_checkpoint(&note, std::slice::from_ref(&verifier)).expect("signed");
    let (old, _) = open_checkpoint(
        &std::fs::read_to_string(exported.path("log.ndjson.checkpoint")).expect("checkpoint"),
        std::slice::from_ref(&verifier),
    )
    .expect("signed");
    let proof = restored
        .get(&format!(
            "/v1/log/proof/consistency?first={}&second={grown}",
            exported.size
        ))
        .await
        .1;
    let proof: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(|h| hash::parse_hex32(h.as_str().expect("hex")).expect("hash"))
        .collect();
    verify_consistency(old.size, latest.size, &proof, &old.root, &latest.root)
        .expect("the continued log extends the exported one");
    let again = exported.path("again.ndjson");
    succeeded(&fairshare(&[
        "export",
        "--server",
        &restored.base,
        "--out",
        &again,
    ]));
    let verified = succeeded(&fairshare(&[
        "verify",
        "--log",
        &again,
        "--log-key",
        &exported.path("log.vkey"),
        "--previous-checkpoint",
        &exported.path("log.ndjson.checkpoint"),
    ]));
    assert!(
        verified.contains("consistent with the previous checkpoint"),
        "{verified}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_export_is_refused_at_its_first_bad_leaf_and_changes_nothing() {
    let exported = Exported::new().await;
    let lines: Vec<String> = std::fs::read_to_string(exported.path("log.ndjson"))
        .expect("export")
        .lines()
        .map(str::to_owned)
        .collect();
    // Leaf 15, a contribution, says 121 words instead of 120: still canonical JSON, but its
    // signature no longer holds.
    let mut tampered = lines.clone();
    let line: Value = serde_json::from_str(&tampered[15]).expect("line");
    let leaf = fairshare::crypto::b64_decode(line["leaf"].as_str().expect("leaf")).expect("b64");
    let leaf = String::from_utf8(leaf).expect("utf-8");
    let forged = leaf.replace(r#""quantity":"120""#, r#""quantity":"121""#);
    assert_ne!(leaf, forged);
    tampered[15] =
        json!({"index": 15, "leaf": fairshare::crypto::b64_encode(forged.as_bytes())}).to_string();
    // Leaf 15 dropped: leaf 16 is where 15 should be.
    let mut dropped = lines.clone();
    dropped.remove(15);
    for (name, text, reason) in [
        ("tampered.ndjson", tampered.join("\n"), "signature"),
        ("dropped.ndjson", dropped.join("\n"), "index 16"),
    ] {
        let path = exported.path(name);
        std::fs::write(&path, text + "\n").expect("write");
        std::fs::copy(
            exported.path("log.ndjson.checkpoint"),
            format!("{path}.checkpoint"),
        )
        .expect("checkpoint");
        let (url, database) = fresh_database().await;
        let data = tempfile::tempdir().expect("dir");
        std::fs::copy(exported.server_key(), data.path().join("server.key")).expect("key");
        let output = exported.import(&path, &url, data.path(), &[]);
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("leaf 15"), "{name}: {stderr}");
        assert!(stderr.contains(reason), "{name}: {stderr}");
        assert!(stderr.contains("nothing was imported"), "{name}: {stderr}");
        assert_eq!(holdings(&database).await, (0, 0), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_holds_a_log_is_refused_and_keeps_it() {
    let exported = Exported::new().await;
    let before = holdings(&exported.original.database).await;
    let data = tempfile::tempdir().expect("dir");
    std::fs::copy(exported.server_key(), data.path().join("server.key")).expect("key");
    let output = exported.import(
        &exported.path("log.ndjson"),
        &exported.original.database_url,
        data.path(),
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already holds"), "{stderr}");
    assert_eq!(holdings(&exported.original.database).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_server_key_the_log_is_restored_but_not_served() {
    let exported = Exported::new().await;
    let (url, name) = fresh_database().await;

    // Another key in the key file: refused before the database is touched.
    let data = tempfile::tempdir().expect("dir");
    let other = data.path().join("other.key");
    fairshare::keyfile::write(&other, &SecretKey::generate().expect("key")).expect("key file");
    let output = exported.import(
        &exported.path("log.ndjson"),
        &url,
        data.path(),
        &["--server-key", &other.to_string_lossy()],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is not the log's key"),
        "{output:?}"
    );
    assert_eq!(holdings(&name).await, (0, 0));

    // No key file: the log is restored and the operator told what is missing; a server
    // with a new key refuses the restored log (its checkpoints do not verify under it).
    let printed = succeeded(&exported.import(&exported.path("log.ndjson"), &url, data.path(), &[]));
    assert!(printed.contains("no server key"), "{printed}");
    assert!(!data.path().join("server.key").exists());
    assert_eq!(holdings(&name).await, (exported.size as i64, 1));
    let data_dir = data.path().to_string_lossy().into_owned();
    let config = crate::helpers::server_config(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &url,
        "--data-dir",
        &data_dir,
    ]);
    let refused = RunningServer::start(config).await.err().expect("refused");
    assert!(refused.to_string().contains("checkpoint"), "{refused}");
}
