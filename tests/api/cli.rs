//! The command line end to end: keygen, sign, cosign, submit, actor register, and the
//! one-line errors with exit code 2 on bad input (an operator registration without the
//! log's key among them).

use crate::helpers::spawn_public_app;
use serde_json::Value;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_fairshare");

/// Runs the fairshare binary without DATABASE_URL (commands name their database).
pub(crate) fn fairshare(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs")
}

/// The standard output of a command that must have succeeded.
pub(crate) fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// Multi-threaded: the blocking child processes below must not starve the in-process server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_register_sign_cosign_submit() {
    let app = spawn_public_app().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let server_key = app
        .data_dir
        .path()
        .join("server.key")
        .to_string_lossy()
        .into_owned();

    for who in ["acme", "scribe"] {
        let printed = stdout(&fairshare(&[
            "keygen",
            "--out",
            &path(&format!("{who}.key")),
        ]));
        // No --actor: a random pseudonym is proposed, never a name.
        let proposed = printed
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("actor actor-"));
        assert!(proposed.is_some_and(|hex| hex.len() == 16), "{printed}");
        assert!(printed.contains("\npublic_key "), "{printed}");
    }
    let public_key = |who: &str| -> String {
        let file: Value = serde_json::from_str(
            &std::fs::read_to_string(path(&format!("{who}.key"))).expect("key"),
        )
        .expect("json");
        file["public_key"].as_str().expect("public key").to_owned()
    };
    // The operator registers the platform with the log's key, over HTTP.
    let receipt = stdout(&fairshare(&[
        "actor",
        "register",
        "--id",
        "acme",
        "--kind",
        "platform",
        "--public-key",
        &public_key("acme"),
        "--server",
        &app.base,
        "--key",
        &server_key,
    ]));
    assert!(receipt.contains("\"seq\":0"), "{receipt}");

    // The ai actor signs its registration, its operator co-signs, the client submits.
    let body = format!(
        r#"{{"kind":"ai","public_key":"{}","operator":"acme","model":{{"name":"scribe","version":"1"}}}}"#,
        public_key("scribe")
    );
    std::fs::write(path("body.json"), body).expect("write");
    let signed = stdout(&fairshare(&[
        "sign",
        "--key",
        &path("scribe.key"),
        "--actor",
        "scribe",
        "--type",
        "actor.registered",
        "--body",
        &path("body.json"),
    ]));
    std::fs::write(path("entry.json"), signed).expect("write");
    let cosigned = stdout(&fairshare(&[
        "cosign",
        "--key",
        &path("acme.key"),
        "--actor",
        "acme",
        &path("entry.json"),
    ]));
    std::fs::write(path("cosigned.json"), cosigned).expect("write");
    let submitted = stdout(&fairshare(&[
        "submit",
        "--server",
        &app.base,
        &path("cosigned.json"),
    ]));
    assert!(submitted.contains("\"seq\":1"), "{submitted}");
    assert_eq!(app.get("/v1/actors/scribe").await.1["operator"], "acme");

    // The platform opens project p to everyone; NDJSON of many entries goes in batches.
    std::fs::write(
        path("opened.json"),
        r#"{"project":"p","currency":"EUR","membership":"open"}"#,
    )
    .expect("write");
    let opened = stdout(&fairshare(&[
        "sign",
        "--key",
        &path("acme.key"),
        "--actor",
        "acme",
        "--type",
        "project.opened",
        "--body",
        &path("opened.json"),
    ]));
    std::fs::write(path("opened.entry"), opened).expect("write");
    let submitted = stdout(&fairshare(&[
        "submit",
        "--server",
        &app.base,
        &path("opened.entry"),
    ]));
    assert!(submitted.contains("\"seq\":2"), "{submitted}");
    let contribution = r#"{"project":"p","kind":"draft","measure":{"quantity":"1","unit":"pages"},"evidence":"commit:0000000000000000000000000000000000000000000000000000000000000000"}"#;
    std::fs::write(path("c.json"), contribution).expect("write");
    let lines: Vec<String> = (0..5)
        .map(|_| {
            stdout(&fairshare(&[
                "sign",
                "--key",
                &path("scribe.key"),
                "--actor",
                "scribe",
                "--type",
                "contribution",
                "--body",
                &path("c.json"),
            ]))
            .trim()
            .to_owned()
        })
        .collect();
    std::fs::write(path("many.ndjson"), lines.join("\n")).expect("write");
    let summary = stdout(&fairshare(&[
        "submit",
        "--server",
        &app.base,
        "--batch",
        "2",
        &path("many.ndjson"),
    ]));
    assert!(summary.contains("5 accepted, 0 rejected"), "{summary}");
    assert_eq!(app.log_size().await, 8);
}

/// `fairshare actor register` run where the server key is not: a one-line error, exit code
/// 2, no key file made and nothing appended; with a key that is not the log's, the same
/// before anything is sent (issue 12, attack 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_register_without_the_log_key_appends_nothing() {
    let app = spawn_public_app().await;
    let elsewhere = tempfile::tempdir().expect("dir");
    let regulator = fairshare::crypto::SecretKey::generate().expect("key");
    let register = |extra: &[&str]| {
        let mut args = vec![
            "actor",
            "register",
            "--server",
            &app.base,
            "--id",
            "mallory",
            "--kind",
            "regulator",
        ];
        args.extend_from_slice(extra);
        let public_key = regulator.public_key().to_base64();
        Command::new(BIN)
            .args(&args)
            .args(["--public-key", &public_key])
            .current_dir(elsewhere.path())
            .env_remove("FAIRSHARE_SERVER_KEY")
            .output()
            .expect("runs")
    };

    let output = register(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot read the key file"), "{stderr}");
    assert!(
        std::fs::read_dir(elsewhere.path())
            .expect("dir")
            .next()
            .is_none(),
        "no key was made"
    );

    let stranger_key = elsewhere.path().join("stranger.key");
    let stranger_key = stranger_key.to_string_lossy();
    stdout(&fairshare(&["keygen", "--out", &stranger_key]));
    let output = register(&["--key", &stranger_key]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not the log's operator key"), "{stderr}");
    assert_eq!(app.log_size().await, 0, "nothing appended");
    assert_eq!(app.get("/v1/actors/mallory").await.0, 404);
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().expect("dir");
    let key = dir.path().join("k.key").to_string_lossy().into_owned();
    stdout(&fairshare(&["keygen", "--out", &key]));
    let again = fairshare(&["keygen", "--out", &key]);
    assert_eq!(again.status.code(), Some(2), "refuses to overwrite");
    let body = dir.path().join("b.json").to_string_lossy().into_owned();
    std::fs::write(&body, r#"{"project":"P"}"#).expect("write");
    let output = fairshare(&[
        "sign",
        "--key",
        &key,
        "--actor",
        "a",
        "--type",
        "contribution",
        "--body",
        &body,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("envelope.body"), "{stderr}");
    assert_eq!(
        fairshare(&[
            "sign", "--key", "/missing", "--actor", "a", "--type", "x", "--body", &body
        ])
        .status
        .code(),
        Some(2)
    );
    for command in ["serve", "actor", "keygen", "sign", "cosign", "submit"] {
        let help = fairshare(&[command, "--help"]);
        assert!(help.status.success(), "{command} --help");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_end_to_end() {
    let (url, _) = crate::helpers::fresh_database().await;
    let folder = tempfile::tempdir().expect("temporary folder");
    let log_file = folder.path().join("server.log");
    let log_file = log_file.to_str().expect("utf-8 path");
    let output = Command::new(BIN)
        .args(["demo", "--database-url", &url, "--log-file", log_file])
        .output()
        .expect("runs");
    let printed = stdout(&output);
    // The story alone on the terminal; the server's log lines in the file it names.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains(&format!("the server's log: {log_file}")),
        "{printed}"
    );
    let logged = std::fs::read_to_string(log_file).expect("the log file");
    assert!(logged.contains("fairshare is serving"), "{logged}");
    assert!(!printed.contains(" INFO "), "{printed}");
    assert!(printed.contains("under policy default (ok"), "{printed}");
    assert!(printed.contains("under policy cocreation (ok"), "{printed}");
    assert!(printed.contains("The regulator's view"), "{printed}");
    // The view comes from the audit endpoint: kinds with their amounts, and the indices.
    assert!(printed.contains("   ai "), "{printed}");
    assert!(printed.contains("HHI 0."), "{printed}");
    // Dana's name is erased, and the log with the erasure entry still verifies.
    assert!(printed.contains("erasure entry "), "{printed}");
    assert!(printed.contains("ok: 26 entries"), "{printed}");
}
