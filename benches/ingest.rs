//! Ingest benchmark (issue 2, "Performance"): signed entries per second end to end (HTTP,
//! verified, durably committed) against the release server running as its own process, with
//! the raw limits measured in the same run: ed25519 verifications per second on one core,
//! plain batched INSERTs per second of the same leaf rows, and the serial durable commit
//! rate (one ~300-byte row per committed transaction, from 1 and from 32 connections: what
//! single entries from 32 clients must beat, issue 17). For the single entries it also reads
//! the server's /metrics before and after: commits, entries per commit, time in the append
//! transaction and per request. Figures go in docs/BENCHMARKS.md.
//!
//! `CARGO_TARGET_DIR=... cargo bench --bench ingest` (DATABASE_URL: the PostgreSQL to use,
//! default postgres://postgres@127.0.0.1:5432/postgres; a fresh database is created and
//! dropped).

// Benchmark data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use fairshare::crypto::{PublicKey, SecretKey, Signature};
use fairshare::entry::envelope::format_timestamp;
use fairshare::entry::{EntryId, SignedEntry};
use fairshare::ledger::merkle;
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "support/clients.rs"]
mod clients;
#[path = "support/opening.rs"]
mod opening;
#[path = "support/server.rs"]
mod server;
use clients::{contributions, post_all, sign};
use opening::{open_project, submit_new};
use server::{BenchResult, Server, start_server};

const ACTORS: usize = 32;
const BATCH_1000_ENTRIES: usize = 20_000;
const BATCH_1000_CONNECTIONS: usize = 4;
const BATCH_100_ENTRIES: usize = 10_000;
const BATCH_100_CONNECTIONS: usize = 4;
const SINGLE_ENTRIES: usize = 8_000;
const SINGLE_CLIENTS: usize = 32;
const RAW_VERIFY: usize = 20_000;
const RAW_INSERT: usize = 20_000;
const RAW_INSERT_BATCH: usize = 1_000;
const SERIAL_COMMITS: usize = 4_000;
const SERIAL_COMMIT_CONNECTIONS: usize = 32;
/// The payload of one serially committed row, as in pgbench's custom-script reference.
const SERIAL_ROW_BYTES: usize = 300;

fn main() {
    server::main_with(
        "ingest",
        server::with_fresh_database("fairshare_bench", |url, options| async move {
            bench(&url, options).await
        }),
    );
}

/// What one timed phase measured.
struct Phase {
    name: String,
    entries: usize,
    seconds: f64,
    server_cpu: f64,
    machine_busy: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.entries as f64 / self.seconds
    }
}

async fn bench(db_url: &str, db_options: PgConnectOptions) -> BenchResult<()> {
    let data_dir = tempfile::tempdir()?;
    let server = start_server(db_url, data_dir.path()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(300))
        .build()?;

    open_project(&client, &server, data_dir.path(), "bench").await?;
    // Actors, registered through the API with their own keys.
    let actors: Vec<(String, SecretKey)> = (0..ACTORS)
        .map(|i| Ok((format!("bench-{i}"), SecretKey::generate()?)))
        .collect::<BenchResult<_>>()?;
    for (id, key) in &actors {
        let entry = sign(
            id,
            key,
            "actor.registered",
            json!({"kind": "human", "public_key": key.public_key().to_base64()}),
        )?;
        submit_new(&client, &server, &entry, &format!("registering {id}")).await?;
    }

    let rss_peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (pid, peak) = (server.pid(), rss_peak.clone());
        tokio::spawn(async move {
            loop {
                if let Some(kib) = proc_status_kib(pid, "VmRSS:") {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    let mut phases = Vec::new();
    // Each phase signs its entries just before it runs (ts must be within the server's skew),
    // outside the timed section.
    let batch_1000 = contributions(&actors, BATCH_1000_ENTRIES)?;
    let bodies = batch_bodies(&batch_1000, 1000)?;
    phases.push(
        timed(
            &server,
            "HTTP batch 1000",
            BATCH_1000_ENTRIES,
            post_all(&client, &server.base, bodies, BATCH_1000_CONNECTIONS, 200),
        )
        .await?,
    );
    let batch_100 = contributions(&actors, BATCH_100_ENTRIES)?;
    let bodies = batch_bodies(&batch_100, 100)?;
    phases.push(
        timed(
            &server,
            "HTTP batch 100",
            BATCH_100_ENTRIES,
            post_all(&client, &server.base, bodies, BATCH_100_CONNECTIONS, 200),
        )
        .await?,
    );
    let singles = contributions(&actors, SINGLE_ENTRIES)?;
    let bodies = singles
        .iter()
        .map(serde_json::to_vec)
        .collect::<Result<Vec<_>, _>>()?;
    let metrics_before = ServerMetrics::read(&client, &server).await?;
    phases.push(
        timed(
            &server,
            "HTTP single, 32 clients",
            SINGLE_ENTRIES,
            post_all(&client, &server.base, bodies, SINGLE_CLIENTS, 201),
        )
        .await?,
    );
    let singles_metrics = ServerMetrics::read(&client, &server)
        .await?
        .since(&metrics_before);
    sampler.abort();
    let rss_peak_kib = rss_peak.load(Ordering::Relaxed);
    let hwm_kib = proc_status_kib(server.pid(), "VmHWM:").ok_or("no VmHWM for the server")?;
    drop(server);

    // Raw limits, same machine, same run, server stopped.
    let parsed: Vec<SignedEntry> = batch_1000
        .iter()
        .map(SignedEntry::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{e:?}"))?;
    let keys: std::collections::HashMap<&str, PublicKey> = actors
        .iter()
        .map(|(id, key)| (id.as_str(), key.public_key()))
        .collect();
    let checks: Vec<(PublicKey, Vec<u8>, Signature)> = parsed
        .iter()
        .cycle()
        .take(RAW_VERIFY)
        .map(|e| {
            (
                keys[e.envelope.actor.as_str()],
                e.signing_message(),
                e.signature,
            )
        })
        .collect();
    let verify_rate = tokio::task::spawn_blocking(move || -> BenchResult<f64> {
        let start = Instant::now();
        for (key, message, signature) in &checks {
            key.verify(message, signature)?;
        }
        Ok(checks.len() as f64 / start.elapsed().as_secs_f64())
    })
    .await??;
    let insert_rate = raw_inserts(db_options.clone(), &parsed).await?;
    let serial = serial_commits(&db_options, 1).await?;
    let concurrent = serial_commits(&db_options, SERIAL_COMMIT_CONNECTIONS).await?;

    print_table(&phases, verify_rate, insert_rate, rss_peak_kib, hwm_kib);
    println!(
        "{:<26} {:>8} {:>8} {:>10.0}",
        "durable commits, 1 conn.", SERIAL_COMMITS, "", serial
    );
    println!(
        "{:<26} {:>8} {:>8} {:>10.0}",
        "durable commits, 32 conn.", SERIAL_COMMITS, "", concurrent
    );
    if let Some(single) = phases.iter().find(|p| p.name.starts_with("HTTP single")) {
        println!(
            "single entries, 32 clients / serial durable commits: {:.2} x ({:.2} x the 32-connection commit rate)",
            single.rate() / serial,
            single.rate() / concurrent
        );
    }
    println!("single entries, server side: {singles_metrics}");
    Ok(())
}

/// Durable commits per second: `connections` sessions each INSERT one row of
/// [`SERIAL_ROW_BYTES`] per transaction (autocommit, synchronous_commit on, as the server
/// commits), [`SERIAL_COMMITS`] in all. With one connection, the serial durable commit rate:
/// the physical reference for group commit.
async fn serial_commits(options: &PgConnectOptions, connections: usize) -> BenchResult<f64> {
    let mut setup = PgConnection::connect_with(options).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_serial_commits (id bigserial PRIMARY KEY, payload bytea NOT NULL)",
    )
    .execute(&mut setup)
    .await?;
    let mut sessions = Vec::with_capacity(connections);
    for _ in 0..connections {
        sessions.push(PgConnection::connect_with(options).await?);
    }
    let per_session = SERIAL_COMMITS / connections;
    let start = Instant::now();
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|mut conn| {
            tokio::spawn(async move {
                let payload = vec![0x5a_u8; SERIAL_ROW_BYTES];
                for _ in 0..per_session {
                    sqlx::query("INSERT INTO bench_serial_commits (payload) VALUES ($1)")
                        .bind(&payload)
                        .execute(&mut conn)
                        .await?;
                }
                conn.close().await
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let rate = (per_session * connections) as f64 / start.elapsed().as_secs_f64();
    setup.close().await?;
    Ok(rate)
}

/// The server's append figures from /metrics (Prometheus text): the sums and counts of the
/// commit histograms and of the POST /v1/entries latency.
#[derive(Debug, Clone, Copy, Default)]
struct ServerMetrics {
    commits: f64,
    committed_entries: f64,
    commit_seconds: f64,
    posts: f64,
    post_seconds: f64,
}

impl ServerMetrics {
    async fn read(client: &reqwest::Client, server: &Server) -> BenchResult<Self> {
        let text = client
            .get(format!("{}/metrics", server.base))
            .send()
            .await?
            .text()
            .await?;
        let sample = |name: &str, labels: &[&str]| -> f64 {
            text.lines()
                .filter(|line| {
                    line.starts_with(name)
                        && line[name.len()..].starts_with(['{', ' '])
                        && labels.iter().all(|l| line.contains(l))
                })
                .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
                .sum()
        };
        let post = ["method=\"POST\"", "route=\"/v1/entries\""];
        Ok(Self {
            commits: sample("fairshare_commit_batch_entries_count", &[]),
            committed_entries: sample("fairshare_commit_batch_entries_sum", &[]),
            commit_seconds: sample("fairshare_commit_duration_seconds_sum", &[]),
            posts: sample("fairshare_http_request_duration_seconds_count", &post),
            post_seconds: sample("fairshare_http_request_duration_seconds_sum", &post),
        })
    }

    fn since(self, before: &Self) -> Self {
        Self {
            commits: self.commits - before.commits,
            committed_entries: self.committed_entries - before.committed_entries,
            commit_seconds: self.commit_seconds - before.commit_seconds,
            posts: self.posts - before.posts,
            post_seconds: self.post_seconds - before.post_seconds,
        }
    }
}

impl std::fmt::Display for ServerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let per = |total: f64, count: f64| if count > 0.0 { total / count } else { 0.0 };
        write!(
            f,
            "{:.0} commits, {:.1} entries per commit, {:.2} ms per append transaction ({:.2} s in all), {:.2} ms per POST",
            self.commits,
            per(self.committed_entries, self.commits),
            per(self.commit_seconds, self.commits) * 1000.0,
            self.commit_seconds,
            per(self.post_seconds, self.posts) * 1000.0,
        )
    }
}

fn batch_bodies(entries: &[Value], size: usize) -> BenchResult<Vec<Vec<u8>>> {
    Ok(entries
        .chunks(size)
        .map(|chunk| serde_json::to_vec(&json!({ "entries": chunk })))
        .collect::<Result<_, _>>()?)
}

async fn timed(
    server: &Server,
    name: &str,
    entries: usize,
    work: impl std::future::Future<Output = BenchResult<usize>>,
) -> BenchResult<Phase> {
    let (cpu_before, machine_before) = (proc_cpu_seconds(server.pid()), machine_ticks());
    let start = Instant::now();
    let accepted = work.await?;
    let seconds = start.elapsed().as_secs_f64();
    let (cpu_after, machine_after) = (proc_cpu_seconds(server.pid()), machine_ticks());
    if accepted != entries {
        return Err(format!("{name}: {accepted} of {entries} entries got a receipt").into());
    }
    let (busy, total) = (
        machine_after.0 - machine_before.0,
        machine_after.1 - machine_before.1,
    );
    Ok(Phase {
        name: name.to_owned(),
        entries,
        seconds,
        server_cpu: (cpu_after - cpu_before) / seconds,
        machine_busy: if total > 0.0 { busy / total } else { 0.0 },
    })
}

/// The same leaf rows the server stores, INSERTed without verification into a scratch table
/// shaped like `entries` (same columns, keys and indexes), in batches of 1000 with UNNEST,
/// one transaction (and one commit) per batch.
async fn raw_inserts(options: PgConnectOptions, entries: &[SignedEntry]) -> BenchResult<f64> {
    let mut conn = PgConnection::connect_with(&options).await?;
    sqlx::query("CREATE TABLE bench_raw_entries (LIKE entries INCLUDING ALL)")
        .execute(&mut conn)
        .await?;
    let received_at = chrono::Utc::now();
    let stamp = format_timestamp(received_at);
    struct Rows {
        seq: Vec<i64>,
        id: Vec<Vec<u8>>,
        leaf_hash: Vec<Vec<u8>>,
        leaf: Vec<Vec<u8>>,
        entry_type: Vec<String>,
        actor: Vec<String>,
        nonce: Vec<String>,
        project: Vec<Option<String>>,
    }
    let batches: Vec<Rows> = entries
        .iter()
        .cycle()
        .take(RAW_INSERT)
        .enumerate()
        .collect::<Vec<_>>()
        .chunks(RAW_INSERT_BATCH)
        .map(|chunk| {
            let mut rows = Rows {
                seq: Vec::new(),
                id: Vec::new(),
                leaf_hash: Vec::new(),
                leaf: Vec::new(),
                entry_type: Vec::new(),
                actor: Vec::new(),
                nonce: Vec::new(),
                project: Vec::new(),
            };
            for (seq, entry) in chunk {
                let leaf = entry.leaf_bytes(&stamp);
                rows.seq.push(*seq as i64);
                rows.id.push(EntryId::of_leaf(&leaf).0.to_vec());
                rows.leaf_hash.push(merkle::leaf_hash(&leaf).to_vec());
                rows.leaf.push(leaf);
                let envelope = entry.to_json()["envelope"].clone();
                rows.entry_type
                    .push(envelope["type"].as_str().unwrap_or_default().to_owned());
                rows.actor.push(entry.envelope.actor.as_str().to_owned());
                // Unique per row even when the entries repeat (the cycle above).
                rows.nonce.push(format!(
                    "{}-{seq}",
                    envelope["nonce"].as_str().unwrap_or_default()
                ));
                rows.project
                    .push(envelope["body"]["project"].as_str().map(str::to_owned));
            }
            rows
        })
        .collect();
    let start = Instant::now();
    for rows in &batches {
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO bench_raw_entries (log_id, seq, id, leaf_hash, leaf, entry_type, actor, nonce, project, received_at)
             SELECT $1, u.*, $10
               FROM UNNEST($2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[], $9::text[]) AS u",
        )
        .bind("default")
        .bind(&rows.seq)
        .bind(&rows.id)
        .bind(&rows.leaf_hash)
        .bind(&rows.leaf)
        .bind(&rows.entry_type)
        .bind(&rows.actor)
        .bind(&rows.nonce)
        .bind(&rows.project)
        .bind(received_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    let rate = RAW_INSERT as f64 / start.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(rate)
}

fn print_table(phases: &[Phase], verify_rate: f64, insert_rate: f64, rss_kib: u64, hwm_kib: u64) {
    println!(
        "{:<26} {:>8} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "measure", "entries", "seconds", "entries/s", "/verify", "/insert", "srv CPU", "machine"
    );
    for p in phases {
        println!(
            "{:<26} {:>8} {:>8.2} {:>10.0} {:>9.3} {:>9.3} {:>8.0}% {:>8.0}%",
            p.name,
            p.entries,
            p.seconds,
            p.rate(),
            p.rate() / verify_rate,
            p.rate() / insert_rate,
            p.server_cpu * 100.0,
            p.machine_busy * 100.0
        );
    }
    println!(
        "{:<26} {:>8} {:>8} {:>10.0}",
        "raw ed25519 verify, 1 core", RAW_VERIFY, "", verify_rate
    );
    println!(
        "{:<26} {:>8} {:>8} {:>10.0}",
        "raw INSERT (UNNEST x1000)", RAW_INSERT, "", insert_rate
    );
    println!(
        "server RSS: peak sampled VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        rss_kib as f64 / 1024.0,
        hwm_kib as f64 / 1024.0
    );
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// User + system CPU seconds of a process.
fn proc_cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After "pid (comm)": state is field 0, utime 11, stime 12.
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    ticks / clock_ticks()
}

/// (busy, total) jiffies of the whole machine, from /proc/stat.
fn machine_ticks() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next() else {
        return (0.0, 0.0);
    };
    let values: Vec<f64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: f64 = values.iter().take(8).sum();
    let idle = values.get(3).unwrap_or(&0.0) + values.get(4).unwrap_or(&0.0);
    (total - idle, total)
}

#[allow(unsafe_code)] // std has no sysconf
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}
