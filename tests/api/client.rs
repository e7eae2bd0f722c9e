//! The log client against the real server: checkpoints verified under the log's key, and
//! leaves checked against the checkpoint as they arrive, from the start or from leaves
//! already held; export refuses leaves that are not those its checkpoint signs.

use crate::helpers::Actor;
use crate::transparency::{app_with_log, tamper};
use fairshare::client::{ClientError, LogClient};
use fairshare::ledger::checkpoint::NoteVerifier;
use fairshare::ledger::merkle::{Frontier, leaf_hash};
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaves_are_checked_against_the_checkpoint_as_they_come() {
    let app = app_with_log(12).await;
    let client = LogClient::new(&format!("{}/", app.base));
    let verifier = client.log_key().await.expect("the log key");
    let checkpoint = client
        .checkpoint(&verifier)
        .await
        .expect("verifies")
        .checkpoint;
    assert_eq!(checkpoint.size, 13);

    let mut stream = client.leaves(checkpoint.clone(), Frontier::new());
    let leaves = stream.read_all().await.expect("leaves");
    assert_eq!(leaves.len(), 13);
    stream
        .verify_root()
        .expect("the leaves the checkpoint signs");

    // Read on past the checkpoint, its leaves are still checked on the way.
    let bob = Actor::new("bob");
    app.register(&bob, "human").await;
    let mut stream = client
        .leaves(checkpoint.clone(), Frontier::new())
        .to_log_end();
    assert_eq!(stream.read_all().await.expect("leaves").len(), 14);
    stream
        .verify_root()
        .expect("the first 13 are the signed ones");

    // Resuming from leaves already held fetches only the rest.
    let mut held = Frontier::new();
    for leaf in &leaves[..5] {
        held.append(leaf_hash(leaf)).expect("appends");
    }
    let mut stream = client.leaves(checkpoint.clone(), held);
    let page = stream.next_page().await.expect("a page").expect("leaves");
    assert_eq!(page.first().map(|leaf| leaf.index), Some(5));
    assert!(stream.next_page().await.expect("the end").is_none());
    stream.verify_root().expect("still the signed tree");

    // Leaves held that are not the log's do not make its root.
    let mut wrong = Frontier::new();
    wrong.append(leaf_hash(b"another log")).expect("appends");
    let mut stream = client.leaves(checkpoint, wrong);
    stream.read_all().await.expect("leaves");
    assert!(matches!(
        stream.verify_root(),
        Err(ClientError::RootMismatch { size: 13, .. })
    ));

    // A checkpoint does not verify under another log's key.
    let other = NoteVerifier::ed25519(
        "fairshare.local/log",
        fairshare::crypto::SecretKey::generate()
            .map(|k| ed25519_dalek::SigningKey::from_bytes(&k.seed()).verifying_key())
            .expect("key"),
    )
    .expect("verifier");
    assert!(matches!(
        client.checkpoint(&other).await,
        Err(ClientError::Checkpoint(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_refuses_leaves_its_checkpoint_does_not_sign() {
    let app = app_with_log(8).await;
    tamper(&app, &["UPDATE entries SET leaf = overlay(leaf placing '\\x41'::bytea from 60 for 1) WHERE seq = 4"]).await;
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("log.ndjson");
    let output = Command::new(env!("CARGO_BIN_EXE_fairshare"))
        .args(["export", "--server", &app.base, "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("differs from the checkpoint"), "{said}");
    assert!(
        !dir.path().join("log.ndjson.checkpoint").exists(),
        "no checkpoint is saved beside leaves it does not sign"
    );
}
