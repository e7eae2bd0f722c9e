//! The server vouches only for rows it vetted (issue 12, attack 5): a row INSERTed by the
//! server's own database role, behind the sequencer's back, is named by `fairshare check`
//! with its sequence number, never covered by a checkpoint, and a key that only such a row
//! vouches for signs nothing.

use crate::cli::fairshare;
use crate::helpers::{Actor, TestApp, spawn_app_with, text};
use fairshare::crypto::{SecretKey, hash};
use fairshare::entry::SignedEntry;
use fairshare::entry::envelope::format_timestamp;
use fairshare::ledger::merkle::leaf_hash;
use serde_json::Value;
use sqlx::Connection;
use std::time::Duration;

/// Checkpoints as soon as entries are committed, so a refusal shows at once.
const FAST_CHECKPOINTS: [&str; 2] = ["--checkpoint-interval-ms", "10"];

/// Appends `signed` as the next row of the log the way an attacker holding the server's
/// database role would: a plain INSERT, no sequencer. Returns its sequence number.
async fn insert_behind_the_servers_back(app: &TestApp, signed: &Value) -> u64 {
    let entry = SignedEntry::parse(signed).expect("a well-formed entry");
    let leaf = entry.leaf_bytes(&format_timestamp(chrono::Utc::now()));
    let seq = app.log_size().await;
    let env = &entry.envelope;
    let mut db = sqlx::PgConnection::connect(&app.database_url)
        .await
        .expect("the server's role logs in");
    sqlx::query(
        "INSERT INTO entries (log_id, seq, id, leaf_hash, leaf, entry_type, actor, nonce, project, received_at)
         VALUES ('default', $1, $2, $3, $4, $5, $6, $7, $8, now())",
    )
    .bind(seq as i64)
    .bind(hash::blake3(&leaf).to_vec())
    .bind(leaf_hash(&leaf).to_vec())
    .bind(&leaf)
    .bind(env.entry_type.as_str())
    .bind(env.actor.as_str())
    .bind(env.nonce.as_str())
    .bind(env.body.project().map(|p| p.as_str().to_owned()))
    .execute(&mut db)
    .await
    .expect("the server's role may INSERT");
    seq
}

/// Gives `actor` the key `key` in `actor_keys`, naming the entry at `seq` as the one that
/// added it, with a plain INSERT as the server's role.
async fn insert_key_behind_the_servers_back(app: &TestApp, actor: &str, key: &SecretKey, seq: u64) {
    let mut db = sqlx::PgConnection::connect(&app.database_url)
        .await
        .expect("the server's role logs in");
    let public_key = key.public_key();
    sqlx::query(
        "INSERT INTO actor_keys (log_id, actor, key_id, public_key, added_seq) VALUES ('default', $1, $2, $3, $4)",
    )
    .bind(actor)
    .bind(public_key.key_id().to_string())
    .bind(public_key.to_bytes().to_vec())
    .bind(seq as i64)
    .execute(&mut db)
    .await
    .expect("the server's role may INSERT");
}

/// Waits until the checkpointer has refused to sign; returns the entry it named.
async fn refused_entry(app: &TestApp) -> u64 {
    for _ in 0..400 {
        if let Some(refusal) = app.server.vetting().refusal() {
            return refusal.index.expect("the refusal names the entry");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the checkpointer signed over every entry");
}

/// The size of the log's latest checkpoint.
async fn checkpoint_size(app: &TestApp) -> u64 {
    let (status, note) = text(app, "/v1/log/checkpoint").await;
    assert_eq!(status, 200, "{note}");
    note.lines()
        .nth(1)
        .and_then(|size| size.parse().ok())
        .expect("a checkpoint's second line is its size")
}

/// `fairshare check` (with `extra` flags) on the app's database and key: its exit status
/// and what it printed.
fn check(app: &TestApp, extra: &[&str]) -> (bool, String) {
    let data = app.data_dir.path().to_string_lossy().into_owned();
    let mut args = vec![
        "check",
        "--database-url",
        &app.database_url,
        "--data-dir",
        &data,
    ];
    args.extend_from_slice(extra);
    let output = fairshare(&args);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

/// Entries before alice's registration: the platform and its open project.
const OPENING: u64 = 2;

/// Opens project "novel", registers alice and one contribution of hers, and waits until a
/// checkpoint covers them.
async fn honest_start(app: &TestApp) -> Actor {
    app.open_project("novel").await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    let (status, body) = app.post(&alice.contribution("novel", &[])).await;
    assert_eq!(status, 201, "{body}");
    crate::transparency::wait_for_checkpoint(app, OPENING + 2).await;
    alice
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inserted_forged_entry_is_named_by_check_and_never_checkpointed() {
    let app = spawn_app_with(&FAST_CHECKPOINTS).await;
    let alice = honest_start(&app).await;
    assert!(check(&app, &[]).0 && check(&app, &["--full"]).0);

    // "alice" under an attacker's key, INSERTed with the server's role.
    let mallory = SecretKey::generate().expect("key");
    let forged = alice.sign_with(&mallory, "contribution", contribution_body(), &[]);
    let forged_seq = insert_behind_the_servers_back(&app, &forged).await;
    let (status, body) = app.post(&alice.contribution("novel", &[])).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["seq"],
        forged_seq + 1,
        "the sequencer appends after it"
    );

    assert_eq!(refused_entry(&app).await, forged_seq);
    let (status, body) = app.post(&alice.contribution("novel", &[])).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        refused_entry(&app).await,
        forged_seq,
        "and again after the next commit"
    );
    assert!(checkpoint_size(&app).await <= forged_seq);

    for depth in [&[][..], &["--full"][..]] {
        let (ok, printed) = check(&app, depth);
        assert!(!ok, "{depth:?}: {printed}");
        assert!(
            printed.contains(&format!("leaf {forged_seq}:")),
            "{depth:?}: {printed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_only_an_inserted_row_vouches_for_signs_nothing() {
    let app = spawn_app_with(&FAST_CHECKPOINTS).await;
    let alice = honest_start(&app).await;

    // An attacker's key for alice, naming alice's registration as its origin.
    let mallory = SecretKey::generate().expect("key");
    insert_key_behind_the_servers_back(&app, &alice.id, &mallory, OPENING).await;
    let (status, body) = app
        .post(&alice.sign_with(&mallory, "contribution", contribution_body(), &[]))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(app.log_size().await, OPENING + 2, "nothing was appended");
    let (ok, printed) = check(&app, &[]);
    assert!(!ok, "{printed}");
    assert!(
        printed.contains(&format!("leaf {OPENING}:")) && printed.contains("actor_keys"),
        "{printed}"
    );

    // An entry signed with that key, INSERTed too: vetting does not take the row's word.
    let forged = alice.sign_with(&mallory, "contribution", contribution_body(), &[]);
    let forged_seq = insert_behind_the_servers_back(&app, &forged).await;
    let (status, body) = app.post(&alice.contribution("novel", &[])).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(refused_entry(&app).await, forged_seq);
    assert!(checkpoint_size(&app).await <= forged_seq);
    let (ok, printed) = check(&app, &[]);
    assert!(!ok, "{printed}");
    assert!(
        printed.contains(&format!("leaf {forged_seq}:")),
        "{printed}"
    );
}

#[tokio::test]
async fn check_vets_from_the_last_checkpoint_and_full_from_the_first_entry() {
    let app = spawn_app_with(&FAST_CHECKPOINTS).await;
    honest_start(&app).await;
    let (ok, printed) = check(&app, &[]);
    assert!(ok, "{printed}");
    assert!(printed.contains("entries 4..4 obey the rules"), "{printed}");
    let (ok, printed) = check(&app, &["--full"]);
    assert!(ok, "{printed}");
    assert!(printed.contains("entries 0..4 obey the rules"), "{printed}");
}

fn contribution_body() -> Value {
    serde_json::json!({"project": "novel", "kind": "draft",
        "measure": {"quantity": "3", "unit": "pages"},
        "evidence": format!("commit:{}", "5a".repeat(32))})
}
