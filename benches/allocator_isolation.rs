//! Allocator isolation (issue 12): while an allocation at the server's published solver
//! limits runs, how long a small project's allocation takes, and how much single-entry
//! ingest keeps of its rate measured in the same run before the heavy allocation started.
//! The release server runs as its own process with its default (published) limits.
//!
//! `cargo bench --bench allocator_isolation` (DATABASE_URL: the PostgreSQL to use, default
//! postgres://postgres@127.0.0.1:5432/postgres; a fresh database is created and dropped).

// Benchmark data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use fairshare::crypto::{SecretKey, hash};
use fairshare::entry::body::SolverLimits;
use fairshare::entry::envelope::{format_timestamp, sign_envelope};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[path = "support/server.rs"]
mod server;
use server::{BenchResult, server_binary, start_server_with};
#[path = "support/clients.rs"]
mod clients;
#[path = "support/opening.rs"]
mod opening;
use clients::{contributions, post_all, sign};
use opening::open_project;

const INGEST_ACTORS: usize = 32;
const SINGLE_ENTRIES: usize = 6_000;
const SINGLE_CLIENTS: usize = 32;
/// Members of one measurement: at most 25 (`coalition.measured`).
const MEMBERS: usize = 25;

fn main() {
    server::main_with(
        "allocator_isolation",
        server::with_fresh_database(
            "fairshare_isolation",
            |url, _| async move { bench(&url).await },
        ),
    );
}

struct Bench {
    client: reqwest::Client,
    base: String,
}

impl Bench {
    async fn post(&self, body: &Value) -> BenchResult<Value> {
        let response = self
            .client
            .post(format!("{}/v1/entries", self.base))
            .json(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await?;
        match (status, answer.get("rejected")) {
            (200, Some(rejected)) if rejected == 0 => Ok(answer),
            (201, None) => Ok(answer),
            _ => Err(format!("status {status}: {answer}").into()),
        }
    }

    async fn get(&self, path: &str) -> BenchResult<(u16, Value)> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await?;
        Ok((response.status().as_u16(), response.json().await?))
    }

    /// Realizes 100.00 EUR on `project`; returns the value entry's id.
    async fn realize(
        &self,
        shop: &(String, SecretKey),
        project: &str,
        policy: &str,
    ) -> BenchResult<String> {
        let value = sign(
            &shop.0,
            &shop.1,
            "value.realized",
            json!({"project": project, "amount": "100.00", "currency": "EUR", "policy": policy}),
        )?;
        let receipt = self.post(&value).await?;
        Ok(receipt["id"].as_str().ok_or("no id")?.to_owned())
    }

    /// Seconds from now until the allocation of `value` is in the log.
    async fn seconds_to_allocation(&self, value: &str, started: Instant) -> BenchResult<f64> {
        loop {
            let (status, _) = self.get(&format!("/v1/allocations/{value}")).await?;
            if status == 200 {
                return Ok(started.elapsed().as_secs_f64());
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err(format!("{value} not allocated within 600 s").into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn state(&self, value: &str) -> BenchResult<Value> {
        Ok(self
            .get(&format!("/v1/allocations/{value}/status"))
            .await?
            .1)
    }

    /// Single entries from 32 clients: entries per second.
    async fn ingest(&self, actors: &[(String, SecretKey)]) -> BenchResult<f64> {
        let bodies = contributions(actors, SINGLE_ENTRIES)?
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()?;
        let start = Instant::now();
        let accepted = post_all(&self.client, &self.base, bodies, SINGLE_CLIENTS, 201).await?;
        if accepted != SINGLE_ENTRIES {
            return Err(format!("{accepted} of {SINGLE_ENTRIES} entries got a receipt").into());
        }
        Ok(accepted as f64 / start.elapsed().as_secs_f64())
    }
}

fn digest(text: &str) -> String {
    format!("blake3:{}", hash::to_hex(&hash::blake3(text.as_bytes())))
}

async fn bench(db_url: &str) -> BenchResult<()> {
    let data_dir = tempfile::tempdir()?;
    // Reads as on a public log: the figure is the allocator's, not access's.
    let server = start_server_with(
        &server_binary(),
        db_url,
        data_dir.path(),
        &["--public-reads"],
    )
    .await?;
    let bench = Bench {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .timeout(Duration::from_secs(300))
            .build()?,
        base: server.base.clone(),
    };
    let limits = SolverLimits::DEFAULT;
    let shop = ("shop".to_owned(), SecretKey::generate()?);
    let server_key = fairshare::keyfile::read(&data_dir.path().join("server.key"))?;
    let envelope = json!({
        "v": 3, "type": "actor.registered", "actor": shop.0, "key": server_key.public_key().key_id().to_string(),
        "nonce": "bench-shop", "ts": format_timestamp(chrono::Utc::now()),
        "body": {"kind": "platform", "public_key": shop.1.public_key().to_base64()},
    });
    bench
        .post(&sign_envelope(&envelope, &server_key, &[])?)
        .await?;
    let ingest_actors = register(&bench, "ingest", INGEST_ACTORS).await?;
    open_project(&bench.client, &server, data_dir.path(), "bench").await?;
    let heavy_policy = heavy_project(&bench, &shop, &limits).await?;
    let light_policy = light_project(&bench, &shop, &ingest_actors[0]).await?;

    // Without the heavy allocation.
    let started = Instant::now();
    let value = bench.realize(&shop, "light", &light_policy).await?;
    let light_alone = bench.seconds_to_allocation(&value, started).await?;
    let ingest_alone = bench.ingest(&ingest_actors).await?;

    // With it: once it is solving, a small project's value, then the same ingest.
    let heavy = bench.realize(&shop, "heavy", &heavy_policy).await?;
    while bench.state(&heavy).await?["step"] != "solving" {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let value = bench.realize(&shop, "light", &light_policy).await?;
    let light_beside = bench.seconds_to_allocation(&value, started).await?;
    let ingest_beside = bench.ingest(&ingest_actors).await?;
    let still_solving = bench.state(&heavy).await?["step"] == "solving";
    let heavy_seconds = bench.seconds_to_allocation(&heavy, Instant::now()).await?;
    let heavy_state = bench.state(&heavy).await?;

    println!("allocator isolation: heavy allocation at the published limits {limits:?}");
    println!("| figure | without the heavy allocation | while it runs |");
    println!("| --- | --- | --- |");
    println!(
        "| small project's allocation, value to entry | {light_alone:.3} s | {light_beside:.3} s |"
    );
    println!(
        "| single-entry ingest, {SINGLE_CLIENTS} clients | {ingest_alone:.0} entries/s | {ingest_beside:.0} entries/s ({:.0} %) |",
        100.0 * ingest_beside / ingest_alone
    );
    println!(
        "heavy allocation: solve {} ms (still solving after both measurements: {still_solving}; done {heavy_seconds:.1} s later)",
        heavy_state["solve_ms"]
    );
    Ok(())
}

/// `count` humans registered with their own keys.
async fn register(
    bench: &Bench,
    prefix: &str,
    count: usize,
) -> BenchResult<Vec<(String, SecretKey)>> {
    let actors: Vec<(String, SecretKey)> = (0..count)
        .map(|i| Ok((format!("{prefix}-{i}"), SecretKey::generate()?)))
        .collect::<BenchResult<_>>()?;
    let entries = actors
        .iter()
        .map(|(id, key)| {
            sign(
                id,
                key,
                "actor.registered",
                json!({"kind": "human", "public_key": key.public_key().to_base64()}),
            )
        })
        .collect::<BenchResult<Vec<_>>>()?;
    bench.post(&json!({ "entries": entries })).await?;
    Ok(actors)
}

/// Project `heavy` at the limits: `measured_players` players, `measurements` measurements
/// of 25 of them each, and a policy sampling `sampled_marginals / measured_players`
/// permutations. Returns the policy's hash.
async fn heavy_project(
    bench: &Bench,
    shop: &(String, SecretKey),
    limits: &SolverLimits,
) -> BenchResult<String> {
    let players = register(bench, "player", limits.measured_players as usize).await?;
    let n = players.len();
    let samples = limits.sampled_marginals / limits.measured_players;
    let text = format!(
        "name = \"at-the-limits\"\n\n[measured]\nfill = \"max-subset\"\nscale = 1\n\n\
         [solver]\nexact_limit = {}\nsamples = {samples}\n",
        limits.exact_players
    );
    let policy = adopt(bench, shop, &text).await?;
    open(bench, shop, "heavy", &policy).await?;
    let mut entries = vec![sign(
        &players[0].0,
        &players[0].1,
        "contribution",
        json!({"project": "heavy", "kind": "text", "measure": {"quantity": "10", "unit": "words"},
               "evidence": format!("commit:{}", "4e".repeat(32))}),
    )?];
    for k in 0..limits.measurements as usize {
        // 13 is prime to 100: 25 distinct players, a different window each time.
        let members: Vec<&str> = (0..MEMBERS)
            .map(|j| players[(k * 7 + j * 13) % n].0.as_str())
            .collect();
        entries.push(sign(
            &shop.0,
            &shop.1,
            "coalition.measured",
            json!({"project": "heavy", "members": members, "value": format!("{}", k + 1)}),
        )?);
    }
    bench.post(&json!({ "entries": entries })).await?;
    Ok(policy)
}

/// Project `light`: one contribution under a proportional policy.
async fn light_project(
    bench: &Bench,
    shop: &(String, SecretKey),
    author: &(String, SecretKey),
) -> BenchResult<String> {
    let policy = adopt(
        bench,
        shop,
        "name = \"light\"\n\n[[weights]]\nkind = \"text\"\nunit = \"words\"\nweight = 0.01\n",
    )
    .await?;
    open(bench, shop, "light", &policy).await?;
    bench
        .post(&sign(
            &author.0,
            &author.1,
            "contribution",
            json!({"project": "light", "kind": "text", "measure": {"quantity": "500", "unit": "words"},
                   "evidence": format!("commit:{}", "4f".repeat(32))}),
        )?)
        .await?;
    Ok(policy)
}

/// `shop` opens `project` to anyone, admitting `policy`.
async fn open(
    bench: &Bench,
    shop: &(String, SecretKey),
    project: &str,
    policy: &str,
) -> BenchResult<()> {
    bench
        .post(&sign(
            &shop.0,
            &shop.1,
            "project.opened",
            json!({"project": project, "currency": "EUR", "membership": "open", "policies": [policy]}),
        )?)
        .await?;
    Ok(())
}

async fn adopt(bench: &Bench, shop: &(String, SecretKey), text: &str) -> BenchResult<String> {
    let hash = digest(text);
    bench
        .post(&sign(
            &shop.0,
            &shop.1,
            "policy.adopted",
            json!({"name": "p", "text": text, "hash": hash}),
        )?)
        .await?;
    Ok(hash)
}
