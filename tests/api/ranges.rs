//! Numbers at the edges: every number in a request is range-checked before it is added to,
//! multiplied or cast (a 400 naming the parameter, before the store is asked), and every
//! numeric flag of `fairshare serve` is range-checked at start (exit code 2, one line
//! naming the flag).

use crate::helpers::spawn_public_app;
use std::process::Command;

const BEYOND_BIGINT: &str = "9223372036854775808";
const U64_MAX: &str = "18446744073709551615";

#[tokio::test]
async fn request_numbers_beyond_the_log_are_refused_by_name() {
    let app = spawn_public_app().await;
    let near_max = (u64::MAX - 5).to_string();
    let refused = [
        // `start + 1000` wrapped around here.
        (format!("/v1/log/entries?start={near_max}"), "start"),
        (format!("/v1/log/entries?start=0&end={U64_MAX}"), "end"),
        (format!("/v1/entries/{BEYOND_BIGINT}"), "seq"),
        (format!("/v1/log/checkpoints/{U64_MAX}"), "tree_size"),
        (
            format!("/v1/log/proof/inclusion?leaf_index=0&tree_size={BEYOND_BIGINT}"),
            "tree_size",
        ),
        (
            format!("/v1/log/proof/inclusion?leaf_index={U64_MAX}&tree_size=1"),
            "leaf_index",
        ),
        (
            format!("/v1/log/proof/consistency?first={U64_MAX}&second=1"),
            "first",
        ),
        (
            format!("/v1/log/proof/consistency?first=0&second={BEYOND_BIGINT}"),
            "second",
        ),
        (format!("/v1/allocations?since={BEYOND_BIGINT}"), "since"),
        (format!("/v1/audit/concentration?since={U64_MAX}"), "since"),
        ("/v1/audit/concentration?largest=1001".to_owned(), "largest"),
        (
            format!("/v1/allocations/{}?offset=-1", "ab".repeat(32)),
            "offset",
        ),
    ];
    for (path, parameter) in refused {
        let (status, problem) = app.get(&path).await;
        assert_eq!(status, 400, "{path}: {problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with(&format!("{parameter}=")),
            "{path}: {detail}"
        );
    }

    // The largest position there is reads as an empty page, not a wrapped range.
    let largest = i64::MAX;
    let response = app
        .client
        .get(format!("{}/v1/log/entries?start={largest}", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.expect("text"), "");
    let (status, problem) = app.get(&format!("/v1/entries/{largest}")).await;
    assert_eq!(status, 404, "{problem}");
}

/// `fairshare serve` with `args`: its exit code and what it wrote to stderr.
fn serve(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_fairshare"))
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn numeric_flags_out_of_range_stop_the_server_at_start() {
    for (flag, values) in [
        // A negative or zero skew refused every entry.
        ("--timestamp-skew-secs", ["-5", "0", "31536001"]),
        ("--max-batch-entries", ["0", "-1", "1000001"]),
        ("--max-body-bytes", ["0", "1023", "1073741825"]),
        ("--commit-batch", ["0", "-1", "1000001"]),
        ("--db-connections", ["0", "-1", "1001"]),
        // Zero checkpointed on every commit; a huge interval overflowed the clock.
        ("--checkpoint-interval-ms", ["0", "-1", U64_MAX]),
    ] {
        for value in values {
            let (code, stderr) = serve(&[&format!("{flag}={value}")], &[]);
            assert_eq!(code, Some(2), "{flag}={value}: {stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "{flag}={value}: {stderr}");
            assert!(stderr.contains(flag), "{flag}={value}: {stderr}");
        }
    }
    // The environment is checked the same way, and named by its flag.
    let (code, stderr) = serve(&[], &[("FAIRSHARE_TIMESTAMP_SKEW", "-1")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--timestamp-skew-secs"), "{stderr}");
}
