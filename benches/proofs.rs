//! Proof latency benchmark (issue 4, "Performance"): inclusion and consistency proofs served
//! over HTTP by the release server (its own process, fresh database) for a log of
//! `PROOFS_ENTRIES` entries (default 1,000,000), filled over HTTP in batches of 1000 from
//! several connections. Then a bounded load: a fixed number of requests per endpoint at random
//! indices from 1, 4 and 16 concurrent connections (`PROOFS_CONNECTIONS`); p50/p95/p99/max
//! per endpoint and concurrency. If the fill reaches its
//! time limit (`PROOFS_FILL_SECS`, default 1800) first, the log is measured at the size it
//! reached and the output says so.
//!
//! `CARGO_TARGET_DIR=... cargo bench --bench proofs` (DATABASE_URL as for benches/ingest.rs).

// Benchmark data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use fairshare::crypto::SecretKey;
use fairshare::entry::envelope::{format_timestamp, sign_envelope};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "support/opening.rs"]
mod opening;
#[path = "support/server.rs"]
mod server;
#[path = "support/workload.rs"]
mod workload;
use opening::open_project;
use server::{BenchResult, start_server};

const ACTORS: usize = 300;
const BATCH: usize = 1000;
const FILL_CONNECTIONS: usize = 4;
const REQUESTS: usize = 20_000;
/// Requests in flight, one load run each (`PROOFS_CONNECTIONS`, comma-separated).
const LOAD_CONNECTIONS: &str = "1,4,16";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    server::main_with(
        "proofs",
        server::with_fresh_database(
            "fairshare_proofs",
            |url, _| async move { bench(&url).await },
        ),
    );
}

async fn bench(db_url: &str) -> BenchResult<()> {
    let target = env_number("PROOFS_ENTRIES", 1_000_000);
    let fill_limit = Duration::from_secs(env_number("PROOFS_FILL_SECS", 1800) as u64);
    let data_dir = tempfile::tempdir()?;
    let server = start_server(db_url, data_dir.path()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(300))
        .build()?;
    open_project(&client, &server, data_dir.path(), "bench").await?;

    let keys: Arc<Vec<SecretKey>> = Arc::new(
        (0..ACTORS)
            .map(|i| {
                let mut seed = [0u8; 32];
                seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
                SecretKey::from_seed(&seed)
            })
            .collect(),
    );

    // Fill: the registrations first, then a producer signs batch after batch on all cores
    // and FILL_CONNECTIONS post them.
    let fill_start = Instant::now();
    let registrations: Vec<Value> = (0..ACTORS)
        .map(|i| entry(i, &keys))
        .collect::<BenchResult<_>>()?;
    let answer: Value = client
        .post(format!("{}/v1/entries", server.base))
        .json(&json!({ "entries": registrations }))
        .send()
        .await?
        .json()
        .await?;
    if answer["accepted"] != ACTORS {
        return Err(format!("registrations: {answer}").into());
    }
    let batches = (target - ACTORS).div_ceil(BATCH);
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    let producer = {
        let keys = keys.clone();
        tokio::task::spawn_blocking(move || -> BenchResult<()> {
            for b in 0..batches {
                if fill_start.elapsed() > fill_limit {
                    break;
                }
                let range = ACTORS + b * BATCH..(ACTORS + (b + 1) * BATCH).min(target);
                let entries: Vec<Value> = range
                    .into_par_iter()
                    .map(|i| entry(i, &keys))
                    .collect::<BenchResult<_>>()?;
                let body = serde_json::to_vec(&json!({ "entries": entries }))?;
                if sender.blocking_send(body).is_err() {
                    break;
                }
            }
            Ok(())
        })
    };
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let accepted = Arc::new(AtomicUsize::new(0));
    let url = format!("{}/v1/entries", server.base);
    let posters: Vec<_> = (0..FILL_CONNECTIONS)
        .map(|_| {
            let (client, receiver, accepted, url) = (
                client.clone(),
                receiver.clone(),
                accepted.clone(),
                url.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let Some(body) = receiver.lock().await.recv().await else {
                        return Ok::<(), String>(());
                    };
                    let response = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    let answer: Value = response.json().await.map_err(|e| e.to_string())?;
                    if answer["rejected"] != 0 {
                        return Err(format!("rejected entries: {answer}"));
                    }
                    let n = answer["accepted"].as_u64().unwrap_or(0) as usize;
                    let total = accepted.fetch_add(n, Ordering::Relaxed) + n;
                    if total / 100_000 != (total - n) / 100_000 {
                        eprintln!(
                            "filled {total} in {:.0} s",
                            fill_start.elapsed().as_secs_f64()
                        );
                    }
                }
            })
        })
        .collect();
    producer.await??;
    for poster in posters {
        poster.await??;
    }
    let size = ACTORS + accepted.load(Ordering::Relaxed);
    let fill_secs = fill_start.elapsed().as_secs_f64();
    println!(
        "filled {size} entries in {fill_secs:.1} s ({:.0} entries/s){}",
        size as f64 / fill_secs,
        if size < target {
            format!("; STOPPED AT THE TIME LIMIT, {target} wanted")
        } else {
            String::new()
        }
    );

    // The checkpoint for the whole log.
    let wait = Instant::now();
    loop {
        let note = client
            .get(format!("{}/v1/log/checkpoint", server.base))
            .send()
            .await?
            .text()
            .await?;
        if note.lines().nth(1) == Some(size.to_string().as_str()) {
            break;
        }
        if wait.elapsed() > Duration::from_secs(60) {
            return Err(format!("no checkpoint of size {size} after 60 s: {note}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let size = size as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let inclusion: Vec<String> = (0..REQUESTS)
        .map(|_| {
            format!(
                "{}/v1/log/proof/inclusion?leaf_index={}&tree_size={size}",
                server.base,
                rng.random_range(0..size)
            )
        })
        .collect();
    let consistency: Vec<String> = (0..REQUESTS)
        .map(|_| {
            format!(
                "{}/v1/log/proof/consistency?first={}&second={size}",
                server.base,
                rng.random_range(1..size)
            )
        })
        .collect();
    println!(
        "{:<12} {:>8} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "endpoint",
        "requests",
        "conns",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "proof len"
    );
    let connections: Vec<usize> = std::env::var("PROOFS_CONNECTIONS")
        .unwrap_or_else(|_| LOAD_CONNECTIONS.to_owned())
        .split(',')
        .map(|c| {
            c.trim()
                .parse()
                .map_err(|_| format!("PROOFS_CONNECTIONS: {c:?}"))
        })
        .collect::<Result<_, _>>()?;
    for &in_flight in &connections {
        for (name, urls) in [("inclusion", &inclusion), ("consistency", &consistency)] {
            let start = Instant::now();
            let (mut latencies, proof_len) = load(&client, urls.clone(), in_flight).await?;
            let secs = start.elapsed().as_secs_f64();
            latencies.sort_by(f64::total_cmp);
            let at = |q: f64| {
                latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
            };
            println!(
                "{name:<12} {:>8} {in_flight:>6} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {proof_len:>9.1}",
                latencies.len(),
                latencies.len() as f64 / secs,
                at(0.50),
                at(0.95),
                at(0.99),
                latencies[latencies.len() - 1],
            );
        }
    }
    Ok(())
}

/// Gets every URL from `in_flight` tasks; latencies in ms and the mean proof length.
async fn load(
    client: &reqwest::Client,
    urls: Vec<String>,
    in_flight: usize,
) -> BenchResult<(Vec<f64>, f64)> {
    let urls = Arc::new(urls);
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..in_flight)
        .map(|_| {
            let (client, urls, next) = (client.clone(), urls.clone(), next.clone());
            tokio::spawn(async move {
                let (mut latencies, mut hashes) = (Vec::new(), 0usize);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(url) = urls.get(i) else {
                        return Ok::<_, String>((latencies, hashes));
                    };
                    let start = Instant::now();
                    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.map_err(|e| e.to_string())?;
                    latencies.push(start.elapsed().as_secs_f64() * 1000.0);
                    if status != 200 {
                        return Err(format!("{url}: status {status}: {body}"));
                    }
                    hashes += body["proof"].as_array().map_or(0, Vec::len);
                }
            })
        })
        .collect();
    let (mut all, mut hashes) = (Vec::new(), 0);
    for task in tasks {
        let (latencies, h) = task.await??;
        all.extend(latencies);
        hashes += h;
    }
    let mean = hashes as f64 / all.len() as f64;
    Ok((all, mean))
}

/// Entry `i` of the workload, signed now.
fn entry(i: usize, keys: &[SecretKey]) -> BenchResult<Value> {
    let key = &keys[i % ACTORS];
    let envelope =
        workload::workload_envelope(i, ACTORS, key, &format_timestamp(chrono::Utc::now()));
    Ok(sign_envelope(&envelope, key, &[])?)
}
