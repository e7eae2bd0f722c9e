//! Witnesses (`fairshare witness`, C2SP tlog-witness checks, pulling): cosignatures kept
//! beside checkpoints, publication by quorum, verifiers that require it, and a split view
//! caught by the witness and by `fairshare verify`.

use crate::helpers::{PUBLIC_READS, TestApp, fresh_database, spawn_app_on, text};
use crate::transparency::{app_with_flags, append_log, run, verifier, wait_for_checkpoint_at};
use fairshare::crypto::SecretKey;
use fairshare::ledger::checkpoint::NoteSigner;
use fairshare::ledger::witness::WitnessPolicy;
use std::path::{Path, PathBuf};

const TO_COSIGN: &str = "/v1/log/witness/checkpoint";

/// A witness's key file in `dir` and its verifier key.
fn witness_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = SecretKey::generate().expect("key");
    let path = dir.join(format!("{}.key", name.replace('/', "_")));
    fairshare::keyfile::write(&path, &key).expect("key file");
    let signer = NoteSigner::cosigner(name, ed25519_dalek::SigningKey::from_bytes(&key.seed()))
        .expect("a witness");
    (path, signer.verifier().to_vkey())
}

/// Runs `fairshare witness --once` against `app`; whether it succeeded, and what it said.
async fn witness_once(app: &TestApp, key: &Path, name: &str, state: &Path) -> (bool, String) {
    let (log_key, _) = verifier(app).await;
    run(&[
        "witness",
        "--log",
        &app.base,
        "--log-key",
        &log_key,
        "--key",
        &key.to_string_lossy(),
        "--name",
        name,
        "--state",
        &state.to_string_lossy(),
        "--once",
    ])
}

async fn lag(app: &TestApp) -> u64 {
    let (status, ready) = app.get("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    ready["publication"]["lag_entries"].as_u64().expect("a lag")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_is_published_once_the_witness_cosigned_it() {
    let dir = tempfile::tempdir().expect("dir");
    let name = "regulator.example/witness";
    let (key, vkey) = witness_key(dir.path(), name);
    let (second_key, second) = witness_key(dir.path(), "second.example/witness");
    let flags = [
        "--witness",
        &vkey,
        "--witness",
        &second,
        "--witness-quorum",
        "1",
    ];
    let app = app_with_flags(&flags).await;
    append_log(&app, 5).await;
    wait_for_checkpoint_at(&app, TO_COSIGN, 6).await;
    assert_eq!(
        text(&app, "/v1/log/checkpoint").await.0,
        404,
        "nothing published yet"
    );
    assert_eq!(lag(&app).await, 6);

    let state = dir.path().join("state");
    let (ok, said) = witness_once(&app, &key, name, &state).await;
    assert!(
        ok && said.contains("cosigned size 6") && said.contains(&vkey),
        "{said}"
    );
    let (status, note) = text(&app, "/v1/log/checkpoint").await;
    assert_eq!(status, 200);
    let (_, log) = verifier(&app).await;
    let policy = WitnessPolicy::new(
        vec![fairshare::ledger::checkpoint::NoteVerifier::from_vkey(&vkey).expect("vkey")],
        1,
    )
    .expect("policy");
    let (checkpoint, cosignatures) = policy
        .open(&note, &log)
        .expect("published with its cosignature");
    assert_eq!((checkpoint.size, cosignatures.len()), (6, 1));
    assert_eq!(lag(&app).await, 0);
    let (_, metrics) = text(&app, "/metrics").await;
    assert!(
        metrics.contains("fairshare_checkpoint_publication_lag_entries 0"),
        "{metrics}"
    );

    // The log grows; the witness checks consistency from 6 and cosigns again.
    app.open_project("later").await;
    wait_for_checkpoint_at(&app, TO_COSIGN, 8).await;
    let (ok, said) = witness_once(&app, &key, name, &state).await;
    assert!(ok && said.contains("cosigned size 8"), "{said}");
    let (ok, said) = witness_once(&app, &key, name, &state).await;
    assert!(ok && !said.contains("cosigned size"), "nothing new: {said}");
    // A witness whose post was lost (its state holds the checkpoint, the log lacks its
    // line) cosigns it again; one whose line the log holds does not.
    let lost = dir.path().join("lost");
    std::fs::create_dir_all(&lost).expect("dir");
    let (_, served) = text(&app, "/v1/log/checkpoints/8").await;
    let bare: String = served.lines().take(5).map(|l| format!("{l}\n")).collect();
    std::fs::write(lost.join("checkpoint"), &bare).expect("state");
    let (ok, said) = witness_once(&app, &second_key, "second.example/witness", &lost).await;
    assert!(ok && said.contains("cosigned size 8 again"), "{said}");
    let (_, served) = text(&app, "/v1/log/checkpoints/8").await;
    assert_eq!(served.matches('\u{2014}').count(), 3, "{served}");
    let (ok, said) = witness_once(&app, &second_key, "second.example/witness", &lost).await;
    assert!(ok && !said.contains("again"), "{said}");
    verify_with_witnesses(&app, &vkey, dir.path()).await;
    prove_an_entry(&app, &vkey, dir.path()).await;
}

/// An entry's proof bundle, checked offline by `fairshare prove`.
async fn prove_an_entry(app: &TestApp, vkey: &str, dir: &Path) {
    let (log_key, _) = verifier(app).await;
    let (status, bundle) = text(app, "/v1/entries/2/proof").await;
    assert_eq!(status, 200, "{bundle}");
    assert!(
        bundle.starts_with("c2sp.org/tlog-proof@v1\nextra "),
        "{bundle}"
    );
    let path = dir.join("2.tlog-proof");
    std::fs::write(&path, &bundle).expect("saved");
    let file = path.to_string_lossy().into_owned();
    let (ok, said) = run(&[
        "prove",
        "--bundle",
        &file,
        "--log-key",
        &log_key,
        "--witness",
        vkey,
    ]);
    assert!(
        ok && said.contains("is leaf 2 of the log's checkpoint of size 8, cosigned by 1"),
        "{said}"
    );
    let (ok, said) = run(&["prove", "--bundle", &file, "--log-key", vkey]);
    assert!(!ok, "a witness key is not the log's: {said}");
    std::fs::write(&path, bundle.replacen("index 2", "index 3", 1)).expect("saved");
    let (ok, said) = run(&["prove", "--bundle", &file, "--log-key", &log_key]);
    assert!(!ok && said.contains("not entry 3"), "{said}");
    // Entries past the published checkpoint have no bundle yet.
    app.open_project("unpublished").await;
    let size = app.log_size().await;
    assert_eq!(
        text(app, &format!("/v1/entries/{}/proof", size - 1))
            .await
            .0,
        409
    );
}

/// `fairshare verify` counts the named witnesses' cosignatures.
async fn verify_with_witnesses(app: &TestApp, vkey: &str, dir: &Path) {
    let (log_key, _) = verifier(app).await;
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "--log", &app.base, "--log-key", &log_key];
        args.extend_from_slice(extra);
        run(&args)
    };
    let (ok, said) = verify(&["--witness", vkey, "--quorum", "1"]);
    assert!(
        ok && said.contains("cosigned by 1 of the named witnesses"),
        "{said}"
    );
    let (_, other) = witness_key(dir, "other.example/witness");
    let (ok, said) = verify(&["--witness", vkey, "--witness", &other, "--quorum", "2"]);
    assert!(
        !ok && said.contains("1 of the named witnesses cosigned the checkpoint, 2 are required"),
        "{said}"
    );
    let (ok, said) = verify(&["--witness", vkey, "--quorum", "2"]);
    assert!(!ok && said.contains("--quorum"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosignatures_of_unknown_witnesses_or_other_checkpoints_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let (_, vkey) = witness_key(dir.path(), "w1.example");
    let app = app_with_flags(&["--witness", &vkey]).await;
    append_log(&app, 2).await;
    let note = wait_for_checkpoint_at(&app, TO_COSIGN, 3).await;
    let stranger = NoteSigner::cosigner(
        "w1.example",
        ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
    )
    .expect("a witness");
    let cosigned =
        fairshare::ledger::checkpoint::add_cosignature(&note, &stranger, 1).expect("cosigns");
    let post = |body: String| {
        app.client
            .post(format!("{}/v1/log/witness/cosignatures", app.base))
            .body(body)
            .send()
    };
    let answer = post(cosigned).await.expect("answers");
    assert_eq!(answer.status().as_u16(), 400);
    let answer = post(note.replacen("\n3\n", "\n4\n", 1))
        .await
        .expect("answers");
    assert_eq!(
        answer.status().as_u16(),
        400,
        "a checkpoint the log did not sign"
    );
}

/// Two servers of one log key (same origin) hold two histories of the same size: a split
/// view. The witness cosigns one, refuses the other with a report holding both signed
/// checkpoints, and `fairshare verify` catches the second with the cosigned one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_view_is_refused_by_the_witness_and_caught_by_verify() {
    let dir = tempfile::tempdir().expect("dir");
    let name = "regulator.example/witness";
    let (key, vkey) = witness_key(dir.path(), name);
    let honest = app_with_flags(&["--witness", &vkey]).await;
    append_log(&honest, 3).await;
    let (url, database) = fresh_database().await;
    let other_dir = tempfile::tempdir().expect("dir");
    std::fs::copy(
        honest.data_dir.path().join("server.key"),
        other_dir.path().join("server.key"),
    )
    .expect("the same log key");
    let split = spawn_app_on(
        url,
        database,
        other_dir,
        &["--checkpoint-interval-ms", "20", PUBLIC_READS],
    )
    .await;
    append_log(&split, 3).await;
    wait_for_checkpoint_at(&honest, TO_COSIGN, 4).await;
    wait_for_checkpoint_at(&split, TO_COSIGN, 4).await;
    assert_eq!(verifier(&honest).await.0, verifier(&split).await.0);

    let state = dir.path().join("state");
    let (ok, said) = witness_once(&honest, &key, name, &state).await;
    assert!(ok && said.contains("cosigned size 4"), "{said}");
    let (ok, said) = witness_once(&split, &key, name, &state).await;
    assert!(!ok && said.contains("forked"), "{said}");
    let report = std::fs::read_dir(&state)
        .expect("state")
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("fork-"))
        .expect("a fork report");
    let report = std::fs::read_to_string(report.path()).expect("report");
    let split_note = text(&split, TO_COSIGN).await.1;
    let honest_note = text(&honest, "/v1/log/checkpoint").await.1;
    assert!(report.contains(&split_note), "{report}");
    assert!(
        report.contains(honest_note.split("\n\n").next().expect("text")),
        "{report}"
    );

    let (log_key, _) = verifier(&split).await;
    let cosigned = state.join("checkpoint").to_string_lossy().into_owned();
    let (ok, said) = run(&[
        "verify",
        "--log",
        &split.base,
        "--log-key",
        &log_key,
        "--previous-checkpoint",
        &cosigned,
    ]);
    assert!(!ok && said.contains("inconsistent checkpoints"), "{said}");
    let (ok, said) = run(&[
        "verify",
        "--log",
        &split.base,
        "--log-key",
        &log_key,
        "--witness",
        &vkey,
    ]);
    assert!(!ok && said.contains("not witnessed"), "{said}");
}
