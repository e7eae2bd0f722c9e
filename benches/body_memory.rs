//! Server memory under hostile bodies (issue 12, "Memory bounded by design"): 16 POSTs at
//! once of 8 MiB bodies built to take memory, against the release server as its own process
//! with default settings; its peak resident memory (VmHWM in /proc/PID/status) is read at
//! start and once every answer is in. Each shape runs on a fresh server process, first of
//! the baseline build (`BENCH_BASELINE_BIN`, e.g. main's `target/release/fairshare`), then
//! of this build, in the same run. Figures go in docs/BENCHMARKS.md.
//!
//! `BENCH_BASELINE_BIN=PATH cargo bench --bench body_memory` (DATABASE_URL: the PostgreSQL
//! to use, default postgres://postgres@127.0.0.1:5432/postgres; a fresh database is created
//! and dropped).

use fairshare::crypto::SecretKey;
use fairshare::entry::envelope::{format_timestamp, sign_envelope};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[path = "support/server.rs"]
#[allow(dead_code)] // This bench starts two builds by their paths, not `start_server`.
mod server;
use server::{BenchResult, start_server_from};

#[path = "support/bombs.rs"]
mod bombs;

const MIB: usize = 1024 * 1024;
const BODY_BYTES: usize = 8 * MIB;
const CONCURRENT: usize = 16;

fn main() {
    server::main_with(
        "body_memory",
        server::with_fresh_database("fairshare_bench", |url, _| async move { bench(&url).await }),
    );
}

/// One shape against one build.
struct Row {
    shape: String,
    build: &'static str,
    idle_kib: u64,
    peak_kib: u64,
    answers: BTreeMap<u16, usize>,
    seconds: f64,
}

async fn bench(db_url: &str) -> BenchResult<()> {
    let mut builds: Vec<(&'static str, PathBuf)> = Vec::new();
    if let Some(baseline) = std::env::var_os("BENCH_BASELINE_BIN") {
        builds.push(("baseline", baseline.into()));
    }
    builds.push(("this build", env!("CARGO_BIN_EXE_fairshare").into()));
    // The well-formed batch first: its timestamps must still be within the server's skew.
    let mut shapes: Vec<(String, Vec<Vec<u8>>)> = vec![(
        "1000 well-formed unsigned entries".to_owned(),
        vec![well_formed()?],
    )];
    let attacks: Vec<(String, Vec<Vec<u8>>)> = bombs::memory_bombs(BODY_BYTES)
        .into_iter()
        .map(|(name, body)| (name.to_owned(), vec![body]))
        .collect();
    let mixed = attacks.iter().flat_map(|(_, b)| b.clone()).collect();
    shapes.extend(attacks);
    shapes.push(("the four bombs, 4 each".to_owned(), mixed));

    // One data folder: every server of the run signs with the same log key.
    let data_dir = tempfile::tempdir()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let mut rows = Vec::new();
    for (shape, bodies) in &shapes {
        for (build, binary) in &builds {
            let server = start_server_from(binary, db_url, data_dir.path()).await?;
            let idle_kib = vm_hwm_kib(server.pid())?;
            let start = Instant::now();
            let sends = (0..CONCURRENT).map(|i| {
                client
                    .post(format!("{}/v1/entries", server.base))
                    .header("content-type", "application/json")
                    .body(bodies[i % bodies.len()].clone())
                    .send()
            });
            let mut answers = BTreeMap::new();
            for response in futures::future::join_all(sends).await {
                let status = response.map_or(0, |r| r.status().as_u16());
                *answers.entry(status).or_insert(0) += 1;
            }
            let seconds = start.elapsed().as_secs_f64();
            let peak_kib = vm_hwm_kib(server.pid())?;
            rows.push(Row {
                shape: shape.clone(),
                build,
                idle_kib,
                peak_kib,
                answers,
                seconds,
            });
        }
    }
    print_table(&rows);
    Ok(())
}

/// A batch of 1000 contributions that parse (64 `builds_on`, a 512-character note: about
/// 5 KiB each), signed by a key no actor has: every entry is read and kept until the
/// sequencer refuses its signer.
fn well_formed() -> BenchResult<Vec<u8>> {
    let key = SecretKey::generate()?;
    let ts = format_timestamp(chrono::Utc::now() + chrono::Duration::seconds(60));
    let entries = (0..1000)
        .map(|i| {
            let builds_on: Vec<String> = (0..64).map(|j| format!("{:064x}", i * 64 + j)).collect();
            let envelope = json!({
                "v": 3, "type": "contribution", "actor": "ghost",
                "key": key.public_key().key_id().to_string(), "nonce": format!("bomb-{i:08}"),
                "ts": ts,
                "body": {"project": "bench", "kind": "draft", "measure": {"quantity": "1", "unit": "pages"},
                         "evidence": format!("commit:{}", "5a".repeat(32)), "builds_on": builds_on,
                         "note": format!("commit:{}", "6e".repeat(32))},
            });
            Ok(sign_envelope(&envelope, &key, &[])?)
        })
        .collect::<BenchResult<Vec<Value>>>()?;
    Ok(serde_json::to_vec(&json!({ "entries": entries }))?)
}

fn vm_hwm_kib(pid: u32) -> BenchResult<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM for the server".into())
}

fn print_table(rows: &[Row]) {
    println!(
        "{} concurrent POSTs of {} MiB bodies; server VmHWM at start and after the answers",
        CONCURRENT,
        BODY_BYTES / MIB
    );
    println!(
        "{:<36} {:<11} {:>9} {:>9} {:>8}  answers (status × count)",
        "shape", "build", "idle MiB", "peak MiB", "seconds"
    );
    let mib = |kib: u64| kib as f64 / 1024.0;
    for r in rows {
        let answers: Vec<String> = r
            .answers
            .iter()
            .map(|(status, n)| format!("{status} × {n}"))
            .collect();
        println!(
            "{:<36} {:<11} {:>9.1} {:>9.1} {:>8.2}  {}",
            r.shape,
            r.build,
            mib(r.idle_kib),
            mib(r.peak_kib),
            r.seconds,
            answers.join(", ")
        );
    }
}
