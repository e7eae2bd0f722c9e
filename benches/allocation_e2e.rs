//! Issue 5's end-to-end figure: one value realization over the synthetic project of
//! `benches/support/project.rs` (10,000 actors, 100,000 contributions with lineage and
//! endorsed AI drafts), submitted as signed entries to the release server; measures the time
//! from the value entry's receipt to its allocation entry (reading the inputs from
//! PostgreSQL, building and solving the game, paying out, appending), and the server's peak
//! memory; then, apart, the time of `GET /v1/allocations/{id}`, which recomputes every
//! player's breakdown for the reader, and of the same for one actor (`?actor=`). `E2E_CONTRIBUTIONS` / `E2E_ACTORS` change the size.

// Benchmark data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

#[path = "support/project.rs"]
mod project;
#[path = "support/server.rs"]
mod server;

use fairshare::crypto::{SecretKey, hash};
use fairshare::entry::ActorId;
use fairshare::entry::envelope::{format_timestamp, sign_envelope};
use fairshare::policy::ActorKind;
use rayon::prelude::*;
use serde_json::{Value, json};
use server::{BenchResult, Server, server_binary, start_server_with};
use std::time::{Duration, Instant};

const POLICY: &str = include_str!("../policies/default.toml");

fn main() {
    server::main_with(
        "allocation_e2e",
        server::with_fresh_database("fairshare_alloc", |url, _| async move { bench(&url).await }),
    );
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn key(i: usize) -> SecretKey {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    SecretKey::from_seed(&seed)
}

fn sign(
    actor: &str,
    key: &SecretKey,
    entry_type: &str,
    nonce: String,
    body: Value,
    cosigner: Option<(&str, &SecretKey)>,
) -> Value {
    let envelope = json!({"v": 3, "type": entry_type, "actor": actor, "key": key.public_key().key_id().to_string(),
                          "nonce": nonce, "ts": format_timestamp(chrono::Utc::now()), "body": body});
    let cosigners: Vec<(ActorId, &SecretKey)> = cosigner
        .into_iter()
        .map(|(a, k)| (ActorId::parse(a).expect("id"), k))
        .collect();
    sign_envelope(&envelope, key, &cosigners).expect("signs")
}

/// Posts entries in batches of 1000; returns the entry id of each, in order.
async fn post(
    client: &reqwest::Client,
    server: &Server,
    entries: Vec<Value>,
) -> BenchResult<Vec<String>> {
    let mut ids = Vec::with_capacity(entries.len());
    for batch in entries.chunks(1000) {
        let answer: Value = client
            .post(format!("{}/v1/entries", server.base))
            .json(&json!({"entries": batch}))
            .send()
            .await?
            .json()
            .await?;
        for result in answer["results"].as_array().ok_or("no results")? {
            ids.push(
                result["id"]
                    .as_str()
                    .ok_or_else(|| format!("refused: {result}"))?
                    .to_owned(),
            );
        }
    }
    Ok(ids)
}

async fn bench(db_url: &str) -> BenchResult<()> {
    let (actor_count, contribution_count) = (
        env_number("E2E_ACTORS", 10_000),
        env_number("E2E_CONTRIBUTIONS", 100_000),
    );
    let inputs = project::project(actor_count, contribution_count);
    let data = tempfile::tempdir()?;
    // Reads as on a public log: the figure is the allocation's, not access's.
    let server =
        start_server_with(&server_binary(), db_url, data.path(), &["--public-reads"]).await?;
    let client = reqwest::Client::new();
    let keys: Vec<SecretKey> = (0..inputs.actors.len()).into_par_iter().map(key).collect();
    let index: std::collections::HashMap<&str, usize> = inputs
        .actors
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();

    // Platforms first (the operator attests them with the server key; they co-sign their
    // AI models), then humans, then the models.
    let server_key = fairshare::keyfile::read(&data.path().join("server.key"))?;
    let setup = Instant::now();
    for kinds in [[ActorKind::Platform], [ActorKind::Human], [ActorKind::Ai]] {
        let registrations: Vec<Value> = inputs
            .actors
            .par_iter()
            .enumerate()
            .filter(|(_, a)| kinds.contains(&a.kind))
            .map(|(i, a)| {
                let mut body = json!({"kind": a.kind.as_str(), "public_key": keys[i].public_key().to_base64()});
                let operator = a.operator.as_deref().map(|o| (o, &keys[index[o]]));
                if let Some((o, _)) = operator {
                    body["operator"] = json!(o);
                    body["model"] = json!({"name": "model", "version": "1"});
                }
                let signer = if a.kind == ActorKind::Platform { &server_key } else { &keys[i] };
                sign(&a.id, signer, "actor.registered", format!("reg-{i:08}"), body, operator)
            })
            .collect();
        post(&client, &server, registrations).await?;
    }
    let platform = inputs
        .actors
        .iter()
        .position(|a| a.kind == ActorKind::Platform)
        .ok_or("no platform")?;
    let policy = format!("blake3:{}", hash::to_hex(&hash::blake3(POLICY.as_bytes())));
    let platform_id = inputs.actors[platform].id.clone();
    // The platform adopts the policy and opens the project to every registered actor.
    let opening = [
        (
            "policy.adopted",
            json!({"name": "default", "text": POLICY, "hash": policy}),
        ),
        (
            "project.opened",
            json!({"project": "big", "currency": "EUR", "membership": "open", "policies": [policy]}),
        ),
    ];
    for (n, (entry_type, body)) in opening.into_iter().enumerate() {
        let entry = sign(
            &platform_id,
            &keys[platform],
            entry_type,
            format!("setup-{n:04}"),
            body,
            None,
        );
        post(&client, &server, vec![entry]).await?;
    }

    // Contributions in chunks of 1000; builds_on may name only contributions of earlier
    // chunks (ids are known once committed); endorsements follow each chunk.
    let mut entry_ids: Vec<String> = Vec::with_capacity(inputs.contributions.len());
    let mut endorsements = inputs.endorsements.iter().peekable();
    for chunk_start in (0..inputs.contributions.len()).step_by(1000) {
        let chunk = &inputs.contributions
            [chunk_start..(chunk_start + 1000).min(inputs.contributions.len())];
        let signed: Vec<Value> = chunk
            .par_iter()
            .enumerate()
            .map(|(k, c)| {
                let builds_on: Vec<&String> = c
                    .builds_on
                    .iter()
                    .filter_map(|p| usize::from_str_radix(p, 16).ok())
                    .filter(|p| *p < chunk_start)
                    .map(|p| &entry_ids[p])
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let i = index[c.actor.as_str()];
                sign(&c.actor, &keys[i], "contribution", format!("c-{:08}", chunk_start + k),
                     json!({"project": "big", "kind": c.kind, "measure": {"quantity": c.quantity.to_string(), "unit": c.unit},
                            "evidence": format!("commit:{}", "00".repeat(32)), "builds_on": builds_on}), None)
            })
            .collect();
        entry_ids.extend(post(&client, &server, signed).await?);
        let mut due = Vec::new();
        while let Some(e) = endorsements.next_if(|e| {
            usize::from_str_radix(&e.contribution, 16).is_ok_and(|c| c < entry_ids.len())
        }) {
            let c = usize::from_str_radix(&e.contribution, 16)?;
            let i = index[e.endorser.as_str()];
            due.push(sign(&e.endorser, &keys[i], "endorsement", format!("e-{}-{c:08}", due.len() + c),
                          json!({"contribution": entry_ids[c], "decision": if e.accept { "accept" } else { "reject" }}), None));
        }
        post(&client, &server, due).await?;
    }
    // Printed before the timed part, so a profiler can attach to the server now.
    println!(
        "actors {}, contributions {}, endorsements {} (set up in {:.1} s)",
        inputs.actors.len(),
        inputs.contributions.len(),
        inputs.endorsements.len(),
        setup.elapsed().as_secs_f64()
    );

    let value = sign(
        &platform_id,
        &keys[platform],
        "value.realized",
        "value-0001".into(),
        json!({"project": "big", "amount": "1000000.00", "currency": "EUR", "policy": policy}),
        None,
    );
    let hwm_before = status_kib(server.pid(), "VmHWM:").unwrap_or(0);
    let started = Instant::now();
    let receipt: Value = client
        .post(format!("{}/v1/entries", server.base))
        .json(&json!({"entries": [value]}))
        .send()
        .await?
        .json()
        .await?;
    let received = started.elapsed().as_secs_f64();
    let receipt = &receipt["results"][0];
    let (value_id, value_seq) = (
        receipt["id"].as_str().ok_or("value refused")?.to_owned(),
        receipt["seq"].as_u64().ok_or("value refused")?,
    );
    // Nothing else appends: the next entry is the allocation. Asking for it by sequence
    // number costs no breakdown (`GET /v1/allocations/{id}` recomputes one; timed below).
    let next_entry = format!("{}/v1/entries/{}", server.base, value_seq + 1);
    // The clock stops when the server answers that the entry is in the log (committed);
    // reading its megabytes into this client's JSON tree is timed apart.
    let response = loop {
        let response = client.get(&next_entry).send().await?;
        if response.status().is_success() {
            break response;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err("no allocation within 600 s".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let entry: Value = response.json().await?;
    let body = entry["envelope"]["body"].clone();
    let with_body = started.elapsed().as_secs_f64();
    let hwm_allocated = status_kib(server.pid(), "VmHWM:").unwrap_or(0);

    let read = Instant::now();
    let response = client
        .get(format!("{}/v1/allocations/{value_id}", server.base))
        .send()
        .await?;
    let status = response.status();
    let breakdown_bytes = response.bytes().await?.len();
    let read_seconds = read.elapsed().as_secs_f64();
    // What one actor asks ("where does my share come from?"): the game is rebuilt all the
    // same, but only one player's attributions are written.
    let one_actor = body["allocation"]["players"][0]["actor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let read_one = Instant::now();
    let one_bytes = client
        .get(format!(
            "{}/v1/allocations/{value_id}?actor={one_actor}",
            server.base
        ))
        .send()
        .await?
        .bytes()
        .await?
        .len();
    let read_one_seconds = read_one.elapsed().as_secs_f64();

    println!(
        "value receipt -> allocation entry: {seconds:.3} s (receipt after {received:.3} s; {with_body:.3} s with the entry read by this client); status {}; method {}; players {}",
        body["status"],
        body["allocation"]["method"],
        body["allocation"]["players"].as_array().map_or(0, Vec::len)
    );
    // Apart from the value entry's id (its timestamp differs from run to run), the body is
    // a pure function of the inputs: its hash shows whether a change kept every figure.
    let mut figures = body.clone();
    if let Some(object) = figures.as_object_mut() {
        object.remove("value_entry");
    }
    println!(
        "allocation body blake3 (without value_entry): {}",
        hash::to_hex(&hash::blake3(&fairshare::crypto::canonical::to_vec(
            &figures
        )?))
    );
    println!(
        "GET /v1/allocations/{{id}} with the breakdown: {read_seconds:.3} s, HTTP {status}, {:.1} MiB; ?actor= (one player): {read_one_seconds:.3} s, {:.1} MiB",
        breakdown_bytes as f64 / (1024.0 * 1024.0),
        one_bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "server VmHWM: {:.1} MiB before the value entry, {:.1} MiB after the allocation, {:.1} MiB after the breakdown read",
        hwm_before as f64 / 1024.0,
        hwm_allocated as f64 / 1024.0,
        status_kib(server.pid(), "VmHWM:").unwrap_or(0) as f64 / 1024.0
    );
    if body["status"] != "ok" {
        println!("reason: {}", body["reason"]);
    }
    Ok(())
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
