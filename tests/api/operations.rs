//! Operations: liveness and readiness, Prometheus metrics, request ids, the read rate limit
//! and JSON log lines, against the real server.

use crate::helpers::{Actor, admin_connection, fresh_database, spawn_app, spawn_app_with, text};
use crate::transparency::tamper;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::time::Duration;

#[tokio::test]
async fn liveness_and_readiness_answer_ok_with_each_check() {
    let app = spawn_app().await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!(
        (status, &body["status"]),
        (200, &Value::from("ok")),
        "{body}"
    );
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["migrations"], "ok");
    assert_eq!(body["checks"]["startup_check"], "passed");

    let unchecked = spawn_app_with(&["--check-on-start", "false"]).await;
    let (_, body) = unchecked.get("/readyz").await;
    assert_eq!(body["checks"]["startup_check"], "skipped", "{body}");
}

#[tokio::test]
async fn readiness_fails_naming_the_database_when_it_is_gone_while_liveness_holds() {
    let app = spawn_app().await;
    crate::helpers::drop_database_under(&app).await;

    let (status, problem) = app.get("/readyz").await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["type"], "urn:fairshare:problem:not-ready");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("database"), "{detail}");
    let (status, body) = app.get("/healthz").await;
    assert_eq!(
        (status, &body["status"]),
        (200, &Value::from("ok")),
        "{body}"
    );
}

#[tokio::test]
async fn readiness_fails_naming_a_migration_the_database_lacks() {
    let app = spawn_app().await;
    let latest = {
        let mut db = admin_connection(&app.database).await;
        let latest: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
            .fetch_one(&mut db)
            .await
            .expect("migrations");
        latest
    };
    tamper(
        &app,
        &[&format!(
            "DELETE FROM _sqlx_migrations WHERE version = {latest}"
        )],
    )
    .await;

    let (status, problem) = app.get("/readyz").await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["type"], "urn:fairshare:problem:not-ready");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("migrations") && detail.contains(&latest.to_string()),
        "{detail}"
    );
}

/// The value of the sample `name` whose labels include each of `labels`, 0 when absent.
fn sample(page: &str, name: &str, labels: &[&str]) -> f64 {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| {
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name && labels.iter().all(|label| rest.contains(label))
        })
        .map(|(_, value)| value.parse::<f64>().expect("a sample value"))
        .sum()
}

async fn metrics(app: &crate::helpers::TestApp) -> String {
    let response = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("text")
}

#[tokio::test]
async fn metrics_move_after_an_ingest_a_refusal_a_proof_and_a_read() {
    let app = spawn_app().await;
    let before = metrics(&app).await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    let stranger = Actor::new("stranger");
    let (status, problem) = app.post(&stranger.contribution("novel", &[])).await;
    assert_eq!(status, 422, "{problem}");
    let (status, _) = app.get_as(&alice, "/v1/entries/0").await;
    assert_eq!(status, 200);
    let (status, _) = app
        .get("/v1/log/proof/inclusion?leaf_index=0&tree_size=1")
        .await;
    assert_eq!(status, 200);
    let after = metrics(&app).await;

    // Counters and histogram counts only grow (servers of other tests share the recorder).
    let grew = |name: &str, labels: &[&str]| {
        let (was, is) = (sample(&before, name, labels), sample(&after, name, labels));
        assert!(is > was, "{name}{labels:?}: {was} -> {is}\n{after}");
    };
    grew("fairshare_entries_appended_total", &[]);
    grew("fairshare_commit_batch_entries_count", &[]);
    grew("fairshare_commit_duration_seconds_count", &[]);
    grew("fairshare_refusals_total", &["type=\"unknown-signer\""]);
    grew(
        "fairshare_proof_duration_seconds_count",
        &["kind=\"inclusion\""],
    );
    // Requests by their route's template, never the raw path.
    grew(
        "fairshare_http_request_duration_seconds_count",
        &[
            "route=\"/v1/entries/{seq}\"",
            "method=\"GET\"",
            "status=\"200\"",
        ],
    );
    assert!(!after.contains("route=\"/v1/entries/0\""), "{after}");
    assert!(after.contains("# HELP fairshare_entries_appended_total"));
}

#[tokio::test]
async fn every_response_carries_a_request_id_kept_when_the_client_sent_one() {
    let app = spawn_app().await;
    for path in ["/healthz", "/v1/entries/0"] {
        let response = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("request");
        let generated = response.headers()["x-request-id"].to_str().expect("ascii");
        assert_eq!(generated.len(), 36, "{path}: a UUID, not {generated:?}");

        let response = app
            .client
            .get(format!("{}{path}", app.base))
            .header("x-request-id", "trace-me-42")
            .send()
            .await
            .expect("request");
        assert_eq!(response.headers()["x-request-id"], "trace-me-42", "{path}");
    }
}

#[tokio::test]
async fn reads_past_the_limit_get_a_429_problem_with_retry_after() {
    let app = spawn_app_with(&["--read-limit", "1", "--read-burst", "2"]).await;
    // The bucket holds two reads and refills one a second: some read of twenty is refused.
    let mut refused = None;
    for _ in 0..20 {
        let response = app
            .client
            .get(format!("{}/v1/log/key", app.base))
            .send()
            .await
            .expect("request");
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
    }
    let response = refused.expect("a read refused with 429");
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let problem: Value = response.json().await.expect("JSON");
    assert_eq!(problem["type"], "urn:fairshare:problem:too-many-requests");
    assert_eq!(problem["status"], 429);

    // Monitoring and writes are not reads.
    let (status, _) = app.get("/readyz").await;
    assert_eq!(status, 200);
    let (status, _) = text(&app, "/metrics").await;
    assert_eq!(status, 200);
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
}

#[tokio::test]
async fn reads_are_not_limited_by_default() {
    let app = spawn_app().await;
    for _ in 0..150 {
        let (status, _) = text(&app, "/v1/log/key").await;
        assert_eq!(status, 200);
    }
}

/// A `fairshare serve` process, killed when dropped.
pub(crate) struct ServeProcess(pub(crate) std::process::Child);

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines of `log` once one of them contains `wanted` (waits up to 60 s).
/// The base URL a server logging JSON lines to `log` announces once it serves.
pub(crate) async fn serving_base(log: &std::path::Path) -> String {
    let started = log_lines_until(log, "fairshare is serving").await;
    let serving: Value = started
        .iter()
        .find(|line| line.contains("fairshare is serving"))
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .expect("the serving line");
    format!(
        "http://{}",
        serving["fields"]["addr"].as_str().expect("addr")
    )
}

pub(crate) async fn log_lines_until(log: &std::path::Path, wanted: &str) -> Vec<String> {
    for _ in 0..600 {
        let file = std::fs::File::open(log).expect("log file");
        let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
        if lines.iter().any(|line| line.contains(wanted)) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no log line contains {wanted:?}");
}

#[tokio::test]
async fn json_log_lines_parse_and_carry_the_request_id() {
    let (url, _) = fresh_database().await;
    let data_dir = tempfile::tempdir().expect("tempdir");
    let log = data_dir.path().join("server.log");
    let _server = ServeProcess(
        std::process::Command::new(env!("CARGO_BIN_EXE_fairshare"))
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            // The read below is about its log lines, not who may make it.
            .arg("--public-reads")
            .args(["--database-url", &url, "--db-connections", "2"])
            .arg("--data-dir")
            .arg(data_dir.path())
            .env("FAIRSHARE_LOG", "info,tower_http=debug")
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("fairshare serve starts"),
    );
    let base = serving_base(&log).await;
    let response = reqwest::Client::new()
        .get(format!("{base}/v1/entries/0"))
        .header("x-request-id", "json-log-7")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);

    let lines = log_lines_until(&log, "json-log-7").await;
    for line in &lines {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    let of_request: Vec<Value> = lines
        .iter()
        .filter(|line| line.contains("json-log-7"))
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    assert!(
        of_request
            .iter()
            .all(|line| line["span"]["request_id"] == "json-log-7"),
        "{of_request:?}"
    );
}
