//! The edges of the API an attacker reaches first (issue 12, attacks 7 and 8): bodies built
//! to take memory, and the strictness of what is accepted at all.

use crate::helpers::{Actor, fresh_database, spawn_app};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[path = "../../benches/support/bombs.rs"]
mod bombs;

const BIN: &str = env!("CARGO_BIN_EXE_fairshare");
const MIB: usize = 1024 * 1024;

/// The release-shaped server as its own process, so that its memory can be read; killed on
/// drop.
struct ServerProcess {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    async fn start(extra: &[&str]) -> Self {
        let (url, _) = fresh_database().await;
        let data = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(BIN)
            .args(["serve", "--listen", &listen, "--database-url", &url])
            .arg("--data-dir")
            .arg(data.path())
            .args(extra)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let server = Self {
            child,
            base: format!("http://{listen}"),
            _data: data,
        };
        for _ in 0..600 {
            let health = reqwest::get(format!("{}/health", server.base)).await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not answer /health");
    }

    /// The process's peak resident memory so far (VmHWM), in bytes.
    fn peak_memory(&self) -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status");
        let kib: usize = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM");
        kib * 1024
    }
}

/// Attack 7: 16 bodies of 8 MiB built to take memory, sent at once to a server with default
/// settings, are each refused with a problem, and the server's peak memory grows by less
/// than its default body budget, 128 MiB (before that budget, 16 such bodies took it from 12
/// to 651 MiB).
#[tokio::test]
async fn memory_bombs_are_refused_within_the_body_budget() {
    let server = ServerProcess::start(&[]).await;
    let before = server.peak_memory();
    let client = reqwest::Client::new();
    let bombs: Vec<Vec<u8>> = bombs::memory_bombs(8 * MIB)
        .into_iter()
        .map(|(_, body)| body)
        .collect();
    let requests = (0..16).map(|i| {
        let request = client
            .post(format!("{}/v1/entries", server.base))
            .header("content-type", "application/json")
            .body(bombs[i % bombs.len()].clone());
        async move {
            let response = request.send().await.expect("an answer");
            let status = response.status().as_u16();
            let problem: Value = response.json().await.expect("a problem");
            (status, problem)
        }
    });
    for (status, problem) in futures::future::join_all(requests).await {
        assert!(matches!(status, 400 | 413 | 422), "{status}: {problem}");
        assert!(problem["type"].is_string(), "{problem}");
    }
    let grown = server.peak_memory().saturating_sub(before);
    assert!(
        grown < 128 * MIB,
        "the server's peak memory grew by {} MiB",
        grown / MIB
    );
}

/// A batch is counted while it is read: past the limit, the rest of the body is not read
/// (here it is not even JSON), and the refusal says why.
#[tokio::test]
async fn a_batch_is_refused_at_its_limit_before_the_rest_is_read() {
    let app = spawn_app().await;
    let mut body = br#"{"entries":["#.to_vec();
    body.extend(std::iter::repeat_n(&b"{},"[..], 1001).flatten());
    body.extend_from_slice(b"{not json at all");
    let response = app
        .client
        .post(format!("{}/v1/entries", app.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 400);
    let problem: Value = response.json().await.expect("a problem");
    assert_eq!(
        problem["detail"], "a batch holds 1 to 1000 entries, this one more",
        "{problem}"
    );
}

/// Attack 8: what was accepted or answered loosely before is refused, each with a problem.
#[tokio::test]
async fn strict_edges() {
    let app = spawn_app().await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    let url = format!("{}/v1/entries", app.base);
    let post = |content_type: Option<&str>, body: Vec<u8>| {
        let request = app.client.post(&url).body(body);
        let request = match content_type {
            Some(t) => request.header("content-type", t),
            None => request,
        };
        async move {
            let response = request.send().await.expect("sent");
            let status = response.status().as_u16();
            let kind = response.headers()["content-type"].clone();
            assert_eq!(kind, "application/problem+json", "{status}");
            let problem: Value = response.json().await.expect("a problem");
            (status, problem)
        }
    };
    let json = Some("application/json");

    // An unknown field beside `entries`.
    let batch = json!({"entries": [alice.contribution("novel", &[])], "note": "x"});
    let (status, problem) = post(json, batch.to_string().into_bytes()).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("note")),
        "{problem}"
    );

    // A key twice: serde_json would keep the last one.
    let entry = alice.contribution("novel", &[]).to_string();
    let twice = entry.replacen(
        r#""project":"novel""#,
        r#""project":"novel","project":"other""#,
        1,
    );
    assert_ne!(twice, entry);
    let (status, problem) = post(json, twice.into_bytes()).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("envelope.body.project")),
        "{problem}"
    );

    // A leap second, and more fractional digits than nanoseconds.
    for ts in [
        "2026-12-07T12:00:60Z",
        "2026-12-07T12:00:00.000000000000000000000000000001Z",
    ] {
        let mut envelope = alice.contribution("novel", &[])["envelope"].clone();
        envelope["ts"] = json!(ts);
        let entry =
            fairshare::entry::envelope::sign_envelope(&envelope, &alice.key, &[]).expect("signs");
        let (status, problem) = post(json, entry.to_string().into_bytes()).await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (422, Some("envelope.ts")),
            "{ts}: {problem}"
        );
    }

    // Another media type, or none.
    let entry = alice.contribution("novel", &[]).to_string().into_bytes();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let (status, problem) = post(content_type, entry.clone()).await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (415, Some("urn:fairshare:problem:unsupported-media-type")),
            "{content_type:?}: {problem}"
        );
    }
    // `application/json` with parameters is still JSON (and this body is not).
    let (status, _) = post(
        Some("application/json; charset=utf-8"),
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(status, 400);

    // A method the path does not answer: a problem, and the methods it does answer.
    let response = app.client.delete(&url).send().await.expect("sent");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.expect("a problem");
    assert_eq!(problem["type"], "urn:fairshare:problem:method-not-allowed");
    assert_eq!(app.log_size().await, 1, "nothing refused was stored");
}
