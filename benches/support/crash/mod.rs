//! The crash test, shared by tests/api/crash.rs (a few kills within `cargo test`) and
//! benches/crash.rs (the long run behind the figures in docs/BENCHMARKS.md).
//!
//! The real `fairshare serve` runs as a child process with its embedded PostgreSQL. Clients
//! submit signed entries concurrently (single, in batches, and value realizations that the
//! allocator answers) while the harness SIGKILLs, at random moments, either the server or
//! every process of its PostgreSQL, and restarts what it killed. After every restart, with
//! the clients paused, it audits the log (audit.rs). Then it kills the node while the
//! allocator works on a value realization under a slow policy, and audits again: exactly
//! one allocation entry per value realization.

mod audit;
mod clients;
mod node;

pub use audit::Findings;
pub use node::Kill;

use audit::Audit;
use clients::{Actor, Load, Submits, client, lock};
use node::Node;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub type CrashResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How long and how hard the run is.
pub struct Settings {
    /// Kills under load, alternately the server and PostgreSQL.
    pub kills: usize,
    /// Kills while the allocator computes, alternately the server and PostgreSQL.
    pub allocation_kills: usize,
    /// Clients sending one entry per request.
    pub single_clients: usize,
    /// Clients sending batches of `batch` entries.
    pub batch_clients: usize,
    pub batch: usize,
    /// The load runs a random time in this range (milliseconds) before each kill.
    pub load_ms: std::ops::Range<u64>,
    /// Permutations the slow policy samples (how long its allocation computes).
    pub slow_samples: u64,
    pub seed: u64,
}

/// One kill and the restart after it.
pub struct Restart {
    pub kill: Kill,
    pub time: Duration,
    pub reaping: Duration,
}

/// What the run measured and found.
pub struct Figures {
    /// Each kill, the time from it until the server answered /health again, and how long
    /// of that the killed processes took to be reaped.
    pub restarts: Vec<Restart>,
    pub acknowledged: usize,
    pub values: usize,
    /// Kills while the allocator computed, and how many struck before the allocation
    /// entry was appended.
    pub allocation_kills: usize,
    pub allocations_killed_midway: usize,
    /// A clean restart of the server (SIGTERM, then start) to /health 200, at the end.
    pub clean_restart: Duration,
    /// How long one slow allocation took without a kill.
    pub slow_allocation: Duration,
    pub misreported: u64,
    pub retries: u64,
    /// Answers that were neither a receipt nor a passing failure.
    pub refused: Vec<String>,
    pub findings: Findings,
}

impl Figures {
    /// Nothing lost, forked or refused, no failure that said "nothing was stored" for a
    /// stored entry, one allocation per value, and every `fairshare check` and `fairshare
    /// verify` passed.
    pub fn clean(&self) -> bool {
        self.findings.clean() && self.refused.is_empty() && self.misreported == 0
    }

    /// Restart times after kills of `kind`, sorted; with `reaping`, the part spent
    /// waiting for the killed processes to be reaped.
    pub fn restart_times(&self, kind: Kill, reaping: bool) -> Vec<Duration> {
        let mut times: Vec<Duration> = self
            .restarts
            .iter()
            .filter(|r| r.kill == kind)
            .map(|r| if reaping { r.reaping } else { r.time })
            .collect();
        times.sort();
        times
    }
}

/// "median M, max X" of sorted times.
fn median_max(times: &[Duration]) -> String {
    match (times.get(times.len() / 2), times.last()) {
        (Some(median), Some(max)) => format!(
            "median {:.2} s, max {:.2} s",
            median.as_secs_f64(),
            max.as_secs_f64()
        ),
        _ => "none".into(),
    }
}

impl Figures {
    /// The figures as a Markdown table.
    pub fn table(&self) -> String {
        let (server, postgres, reaping) = (
            self.restart_times(Kill::Server, false),
            self.restart_times(Kill::Postgres, false),
            self.restart_times(Kill::Postgres, true),
        );
        let found = &self.findings;
        [
            "| figure | measured |\n| --- | --- |".to_owned(),
            format!(
                "| kills: server / PostgreSQL | {} / {} |",
                server.len(),
                postgres.len()
            ),
            format!(
                "| of them while the allocator computed / before it appended | {} / {} |",
                self.allocation_kills, self.allocations_killed_midway
            ),
            format!(
                "| acknowledged entries / log size at the end | {} / {} |",
                self.acknowledged, found.log_size
            ),
            format!(
                "| value realizations (one allocation entry each) | {} |",
                self.values
            ),
            format!("| lost / forked | {} / {} |", found.lost, found.forks),
            format!("| allocation errors | {:?} |", found.allocation_errors),
            format!("| failed check or verify | {:?} |", found.failed_commands),
            format!(
                "| refused / misreported 503s | {:?} / {} |",
                self.refused, self.misreported
            ),
            format!("| resubmissions after a failure | {} |", self.retries),
            format!(
                "| restart after a server kill (kill to /health 200) | {} |",
                median_max(&server)
            ),
            format!(
                "| baseline: a clean restart (SIGTERM, start, /health 200) | {:.2} s |",
                self.clean_restart.as_secs_f64()
            ),
            format!(
                "| restart after a PostgreSQL kill (kill to /health 200) | {} |",
                median_max(&postgres)
            ),
            format!(
                "| of which waiting for the killed processes to be reaped | {} |",
                median_max(&reaping)
            ),
            format!(
                "| one slow allocation, undisturbed | {:.2} s |",
                self.slow_allocation.as_secs_f64()
            ),
            format!(
                "| audits (export, check, verify, consistency proof) | {} |",
                found.audits
            ),
        ]
        .join("\n")
    }
}

/// The slow policy: the measured game of `SLOW_PLAYERS` players, always sampled.
const SLOW_PLAYERS: usize = 20;

/// Runs the whole crash test.
pub async fn run(settings: &Settings) -> CrashResult<Figures> {
    let mut node = Node::start().await?;
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let mut audit = Audit::new(&node).await?;
    let load = Load::new(node.base.clone());
    let platform = Actor::new("crash-platform".into())?;
    let policy = set_up(&node, &platform).await?;
    let mut tasks = Vec::new();
    let kinds = (0..settings.single_clients + settings.batch_clients)
        .map(|i| {
            if i < settings.single_clients {
                Submits::Single
            } else {
                Submits::Batch(settings.batch)
            }
        })
        .chain([Submits::Values {
            project: "crash-value".into(),
            policy,
        }]);
    for (i, submits) in kinds.enumerate() {
        let actor = match submits {
            Submits::Values { .. } => Actor {
                id: platform.id.clone(),
                key: platform.key.clone(),
            },
            _ => {
                let actor = Actor::new(format!("crash-client-{i}"))?;
                post(
                    &node,
                    &actor.sign("actor.registered", registration(&actor, "human"))?,
                )
                .await?;
                actor
            }
        };
        tasks.push(tokio::spawn(client(load.clone(), actor, submits)));
    }
    let mut restarts = Vec::new();
    for round in 0..settings.kills {
        tokio::time::sleep(Duration::from_millis(
            rng.random_range(settings.load_ms.clone()),
        ))
        .await;
        let kill = [Kill::Server, Kill::Postgres][round % 2];
        restarts.push(kill_and_audit(&mut node, &mut audit, &load, kill).await?);
        load.resume();
    }
    load.stop().await;
    for task in tasks {
        task.await??;
    }
    let (slow_allocation, midway) = kill_allocations(
        &mut node,
        &mut audit,
        &load,
        &platform,
        settings,
        &mut rng,
        &mut restarts,
    )
    .await?;
    let restarted = Instant::now();
    node.restart_cleanly().await?;
    let clean_restart = restarted.elapsed();
    let refused = lock(&load.refused).clone();
    Ok(Figures {
        restarts,
        acknowledged: load.acknowledged(),
        values: lock(&load.values).len(),
        allocation_kills: settings.allocation_kills,
        allocations_killed_midway: midway,
        clean_restart,
        slow_allocation,
        misreported: load.misreported.load(Ordering::Relaxed),
        retries: load.retries.load(Ordering::Relaxed),
        refused,
        findings: std::mem::take(&mut audit.findings),
    })
}

/// Takes a checkpoint, kills, restarts, pauses the load and audits.
async fn kill_and_audit(
    node: &mut Node,
    audit: &mut Audit,
    load: &Load,
    kill: Kill,
) -> CrashResult<Restart> {
    let before = audit.checkpoint(node).await?;
    let killed = Instant::now();
    let reaping = node.kill_and_restart(kill).await?;
    let time = killed.elapsed();
    load.pause().await;
    audit.after_restart(node, load, &before).await?;
    Ok(Restart {
        kill,
        time,
        reaping,
    })
}

/// The platform (registered by the operator, signed by the server key), which opens the
/// load's project to every registered actor and the project of the values realized under
/// load, with its policy and an author whose contributions those values pay; the policy.
async fn set_up(node: &Node, platform: &Actor) -> CrashResult<String> {
    let server_key = fairshare::keyfile::read(&node.data_dir().join("server.key"))?;
    let registered = platform.sign_with(
        &server_key,
        "actor.registered",
        registration(platform, "platform"),
    )?;
    post(node, &registered).await?;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/proportional.toml"
    ))?;
    let policy = adopt(node, platform, "proportional", &text).await?;
    open_project(node, platform, clients::LOAD_PROJECT, &[]).await?;
    open_project(node, platform, "crash-value", &[&policy]).await?;
    let author = Actor::new("crash-author".into())?;
    post(
        node,
        &author.sign("actor.registered", registration(&author, "human"))?,
    )
    .await?;
    for _ in 0..2 {
        post(node, &author.contribution("crash-value")?).await?;
    }
    Ok(policy)
}

/// `owner` opens `project` in EUR to every registered actor, admitting `policies`.
async fn open_project(
    node: &Node,
    owner: &Actor,
    project: &str,
    policies: &[&str],
) -> CrashResult<()> {
    let opened = owner.sign(
        "project.opened",
        json!({"project": project, "currency": "EUR", "membership": "open", "policies": policies}),
    )?;
    post(node, &opened).await?;
    Ok(())
}

fn registration(actor: &Actor, kind: &str) -> Value {
    json!({"kind": kind, "public_key": actor.key.public_key().to_base64()})
}

/// Adopts a policy text as `platform`; its `blake3:<hex>` hash.
async fn adopt(node: &Node, platform: &Actor, name: &str, text: &str) -> CrashResult<String> {
    let hash = format!(
        "blake3:{}",
        fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(text.as_bytes()))
    );
    let entry = platform.sign(
        "policy.adopted",
        json!({"name": name, "text": text, "hash": hash}),
    )?;
    post(node, &entry).await?;
    Ok(hash)
}

/// Submits one entry of the set-up, which must be accepted; its receipt.
async fn post(node: &Node, entry: &Value) -> CrashResult<Value> {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/entries", node.base()))
        .json(entry)
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    if status.as_u16() != 201 {
        return Err(format!("set-up entry refused ({status}): {answer}").into());
    }
    Ok(answer)
}

/// The allocation phase: a project whose policy samples the measured game of
/// `SLOW_PLAYERS` players; one value allocated undisturbed (timed), then one value per
/// kill, the kill struck while the allocator computes. Returns the undisturbed time and how
/// many kills struck before the allocation was appended.
async fn kill_allocations(
    node: &mut Node,
    audit: &mut Audit,
    load: &Load,
    platform: &Actor,
    settings: &Settings,
    rng: &mut ChaCha8Rng,
    restarts: &mut Vec<Restart>,
) -> CrashResult<(Duration, usize)> {
    let policy = slow_project(node, platform, settings.slow_samples).await?;
    let realize = || {
        platform.sign(
            "value.realized",
            json!({"project": "crash-slow", "amount": "100.00", "currency": "EUR", "policy": policy}),
        )
    };
    let started = Instant::now();
    let first = value_receipt(node, load, &realize()?).await?;
    audit.wait_allocated(node, &first).await?;
    let slow_allocation = started.elapsed();
    let mut midway = 0;
    for round in 0..settings.allocation_kills {
        let value = value_receipt(node, load, &realize()?).await?;
        let fraction = rng.random_range(0.2..0.6);
        tokio::time::sleep(slow_allocation.mul_f64(fraction)).await;
        if !audit.is_allocated(node, &value).await? {
            midway += 1;
        }
        let kill = [Kill::Server, Kill::Postgres][round % 2];
        restarts.push(kill_and_audit(node, audit, load, kill).await?);
    }
    Ok((slow_allocation, midway))
}

/// Submits a value realization; its receipt, kept with the load's values and receipts.
async fn value_receipt(node: &Node, load: &Load, entry: &Value) -> CrashResult<String> {
    let answer = post(node, entry).await?;
    let receipt = clients::Receipt::parse(&answer).ok_or("a receipt")?;
    let id = receipt.id.clone();
    lock(&load.values).push(receipt.clone());
    lock(&load.receipts).push(receipt);
    Ok(id)
}

/// The slow project: `SLOW_PLAYERS` registered humans with a contribution each, measured coalitions of the first k
/// of them worth k², and a policy that samples its game `samples` times.
async fn slow_project(node: &Node, platform: &Actor, samples: u64) -> CrashResult<String> {
    let text = format!(
        "name = \"crash-slow\"\ndescription = \"The measured game, sampled: a slow allocation.\"\n\
         [measured]\nfill = \"max-subset\"\nscale = 1\n[solver]\nexact_limit = 1\nsamples = {samples}\n"
    );
    let policy = adopt(node, platform, "crash-slow", &text).await?;
    open_project(node, platform, "crash-slow", &[&policy]).await?;
    let players: Vec<Actor> = (0..SLOW_PLAYERS)
        .map(|i| Actor::new(format!("crash-player-{i:02}")))
        .collect::<CrashResult<_>>()?;
    for player in &players {
        post(
            node,
            &player.sign("actor.registered", registration(player, "human"))?,
        )
        .await?;
        // A value needs contributions to allocate to; their worth is the measured game's.
        post(node, &player.contribution("crash-slow")?).await?;
    }
    for k in 1..=SLOW_PLAYERS {
        let members: Vec<&str> = players[..k].iter().map(|p| p.id.as_str()).collect();
        let measured = platform.sign(
            "coalition.measured",
            json!({"project": "crash-slow", "members": members, "value": (k * k).to_string()}),
        )?;
        post(node, &measured).await?;
    }
    Ok(policy)
}
