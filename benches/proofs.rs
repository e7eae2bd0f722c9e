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
use fairshare::ledger::tiles::{Tile, TileKind};
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
use server::{BenchResult, Server, server_binary, start_server_with};

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
    let mut witness = Witness::new(data_dir.path())?;
    let server = start_server_with(
        &server_binary(),
        db_url,
        data_dir.path(),
        &["--witness", &witness.vkey],
    )
    .await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(300))
        .build()?;
    open_project(&client, &server, data_dir.path(), "bench").await?;
    witness.log_key = client
        .get(format!("{}/v1/log/key", server.base))
        .send()
        .await?
        .text()
        .await?;

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
    // The witness cosigns the log as it is now; it will catch up once the log is full.
    wait_for_checkpoint(&client, &server, TO_COSIGN, ACTORS as u64 + 2).await?;
    witness.once(&server)?;
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

    // The checkpoint for the whole log, then the witness's catch-up to it: one consistency
    // proof from where it stopped, checked, cosigned and posted. The baseline is the same
    // command again, with nothing new to cosign.
    let size = size as u64;
    wait_for_checkpoint(&client, &server, TO_COSIGN, size).await?;
    let catch_up = witness.once(&server)?;
    let idle = witness.once(&server)?;
    println!(
        "witness catch-up from {} to {size} entries: {catch_up:.3} s (the same command with nothing new: {idle:.3} s)",
        ACTORS + 2
    );
    wait_for_checkpoint(&client, &server, PUBLISHED, size).await?;
    commit_to_cosigned(&client, &server, &witness, &keys, size as usize).await?;

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
    // Full level-0 tiles and entry bundles (256 leaves each) of the published tree.
    let tile_urls = |kind: TileKind| -> Vec<String> {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        (0..REQUESTS)
            .map(|_| {
                let index = rng.random_range(0..size / 256);
                let tile = Tile {
                    kind,
                    index,
                    width: 256,
                };
                format!("{}/v1/log/{}", server.base, tile.to_path())
            })
            .collect()
    };
    let tiles = tile_urls(TileKind::Hashes { level: 0 });
    let bundles = tile_urls(TileKind::Entries);
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
        for (name, urls) in [
            ("inclusion", &inclusion),
            ("consistency", &consistency),
            ("tile", &tiles),
            ("bundle", &bundles),
        ] {
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
                    let body = response.bytes().await.map_err(|e| e.to_string())?;
                    latencies.push(start.elapsed().as_secs_f64() * 1000.0);
                    if status != 200 {
                        return Err(format!(
                            "{url}: status {status}: {}",
                            String::from_utf8_lossy(&body)
                        ));
                    }
                    // A proof's hashes, or a tile's (a bundle's bytes over 32: a size only).
                    hashes += match serde_json::from_slice::<Value>(&body) {
                        Ok(answer) => answer["proof"].as_array().map_or(0, Vec::len),
                        Err(_) => body.len() / 32,
                    };
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

const TO_COSIGN: &str = "/v1/log/witness/checkpoint";
const PUBLISHED: &str = "/v1/log/checkpoint";

/// Waits until `path` serves a checkpoint of `size` entries.
async fn wait_for_checkpoint(
    client: &reqwest::Client,
    server: &Server,
    path: &str,
    size: u64,
) -> BenchResult<()> {
    let wait = Instant::now();
    loop {
        let note = client
            .get(format!("{}{path}", server.base))
            .send()
            .await?
            .text()
            .await?;
        if note.lines().nth(1) == Some(size.to_string().as_str()) {
            return Ok(());
        }
        if wait.elapsed() > Duration::from_secs(120) {
            return Err(format!("{path}: no checkpoint of size {size} after 120 s: {note}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One local witness (`fairshare witness`, this build's) of the bench's server.
struct Witness {
    key: std::path::PathBuf,
    state: std::path::PathBuf,
    vkey: String,
    /// The log's verifier key, read from the server once it runs.
    log_key: String,
}

impl Witness {
    const NAME: &str = "bench.local/witness";

    fn new(dir: &std::path::Path) -> BenchResult<Self> {
        let key = SecretKey::from_seed(&[7; 32]);
        let path = dir.join("witness.key");
        fairshare::keyfile::write(&path, &key)?;
        let signer = fairshare::ledger::checkpoint::NoteSigner::cosigner(
            Self::NAME,
            ed25519_dalek::SigningKey::from_bytes(&key.seed()),
        )?;
        Ok(Self {
            key: path,
            state: dir.join("witness-state"),
            vkey: signer.verifier().to_vkey(),
            log_key: String::new(),
        })
    }

    fn command(&self, server: &Server) -> std::process::Command {
        let mut command = std::process::Command::new(server_binary());
        command
            .args(["witness", "--log", &server.base, "--log-key", &self.log_key])
            .args(["--name", Self::NAME, "--key"])
            .arg(&self.key)
            .arg("--state")
            .arg(&self.state);
        command
    }

    /// Runs the witness once; its wall time in seconds.
    fn once(&self, server: &Server) -> BenchResult<f64> {
        let start = Instant::now();
        let output = self.command(server).arg("--once").output()?;
        if !output.status.success() {
            return Err(format!("witness: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        Ok(start.elapsed().as_secs_f64())
    }
}

/// Time from one entry's receipt to a published (cosigned) checkpoint holding it, with the
/// witness polling every 100 ms; beside it, to the first checkpoint holding it (the
/// baseline: what the witness adds).
async fn commit_to_cosigned(
    client: &reqwest::Client,
    server: &Server,
    witness: &Witness,
    keys: &[SecretKey],
    size: usize,
) -> BenchResult<()> {
    let mut polling = witness
        .command(server)
        .args(["--interval-ms", "100"])
        .spawn()?;
    let (mut signed, mut cosigned) = (Vec::new(), Vec::new());
    for k in 0..20 {
        let receipt: Value = client
            .post(format!("{}/v1/entries", server.base))
            .json(&entry(size + k, keys)?)
            .send()
            .await?
            .json()
            .await?;
        let start = Instant::now();
        let seq = receipt["seq"]
            .as_u64()
            .ok_or(format!("no receipt: {receipt}"))?;
        wait_for_checkpoint(client, server, TO_COSIGN, seq + 1).await?;
        signed.push(start.elapsed().as_secs_f64());
        wait_for_checkpoint(client, server, PUBLISHED, seq + 1).await?;
        cosigned.push(start.elapsed().as_secs_f64());
    }
    let _ = polling.kill();
    let _ = polling.wait();
    for list in [&mut signed, &mut cosigned] {
        list.sort_by(f64::total_cmp);
    }
    println!(
        "receipt -> cosigned checkpoint, one local witness polling every 100 ms, 20 entries one at a time: median {:.3} s, max {:.3} s (receipt -> signed checkpoint: median {:.3} s, max {:.3} s)",
        cosigned[10], cosigned[19], signed[10], signed[19]
    );
    Ok(())
}

/// Entry `i` of the workload, signed now.
fn entry(i: usize, keys: &[SecretKey]) -> BenchResult<Value> {
    let key = &keys[i % ACTORS];
    let envelope =
        workload::workload_envelope(i, ACTORS, key, &format_timestamp(chrono::Utc::now()));
    Ok(sign_envelope(&envelope, key, &[])?)
}
