//! `fairshare demo`: a realistic scenario played end to end through the real API on the
//! embedded PostgreSQL (or DATABASE_URL), then the allocations, the regulator's view by actor
//! kind, and the offline verifier's verdict on the whole log.

use super::CliError;
use crate::allocation::reproduce::Reproducer;
use crate::crypto::{SecretKey, b64_decode, hash};
use crate::entry::ActorId;
use crate::entry::envelope::{format_timestamp, sign_envelope};
use crate::ledger::checkpoint::{NoteVerifier, open_checkpoint};
use crate::ledger::replay::replay;
use crate::ledger::rules::RegistrationPolicy;
use crate::server::{DatabaseConfig, RunningServer, ServerConfig};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The two policies the demo adopts, shipped in policies/.
const DEFAULT_POLICY: &str = include_str!("../../policies/default.toml");
const COCREATION_POLICY: &str = include_str!("../../policies/cocreation.toml");

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Use this PostgreSQL (a fresh log inside it) instead of a throwaway embedded cluster.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Folder for the embedded cluster and keys (default: a temporary folder, removed after).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

struct Client {
    http: reqwest::Client,
    base: String,
}

struct Actor {
    id: &'static str,
    key: SecretKey,
}

impl Actor {
    fn new(id: &'static str) -> Result<Self, CliError> {
        Ok(Self {
            id,
            key: SecretKey::generate().map_err(|e| CliError::Failed(e.to_string()))?,
        })
    }
}

fn nonce() -> String {
    let mut bytes = [0u8; 12];
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

impl Client {
    /// Signs `body` as `actor` (with `key`, co-signed by `cosigners`) and submits it.
    async fn submit(
        &self,
        actor: &str,
        key: &SecretKey,
        entry_type: &str,
        body: Value,
        cosigners: &[&Actor],
    ) -> Result<Value, CliError> {
        let envelope = json!({"v": 1, "type": entry_type, "actor": actor, "key": key.public_key().key_id().to_string(),
                              "nonce": nonce(), "ts": format_timestamp(chrono::Utc::now()), "body": body});
        let cosigners: Vec<(ActorId, &SecretKey)> = cosigners
            .iter()
            .map(|a| Ok((ActorId::parse(a.id).map_err(CliError::Failed)?, &a.key)))
            .collect::<Result<_, CliError>>()?;
        let entry = sign_envelope(&envelope, key, &cosigners)
            .map_err(|e| CliError::Failed(e.to_string()))?;
        let response = self
            .http
            .post(format!("{}/v1/entries", self.base))
            .json(&entry)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        let answer: Value = response.json().await.map_err(failed)?;
        if !status.is_success() {
            return Err(CliError::Failed(format!(
                "{entry_type} by {actor} refused: {answer}"
            )));
        }
        Ok(answer)
    }

    async fn get(&self, path: &str) -> Result<(u16, String), CliError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(failed)?;
        Ok((
            response.status().as_u16(),
            response.text().await.map_err(failed)?,
        ))
    }
}

fn failed(error: impl std::fmt::Display) -> CliError {
    CliError::Failed(error.to_string())
}

pub async fn run(args: &DemoArgs) -> Result<(), CliError> {
    let temporary = match &args.data_dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(failed)?),
    };
    let data_dir = args.data_dir.clone().unwrap_or_else(|| {
        temporary
            .as_ref()
            .map(|t| t.path().to_owned())
            .unwrap_or_default()
    });
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().map_err(failed)?,
        database: DatabaseConfig {
            database_url: args.database_url.clone(),
            data_dir: data_dir.clone(),
            pg_bin: None,
            server_key: None,
            // A fresh log, so the demo can run again in the same database.
            log_id: format!("demo-{}", chrono::Utc::now().timestamp_micros()),
            log_origin: "fairshare.local/demo".into(),
            registration: RegistrationPolicy::Open,
        },
        timestamp_skew_secs: 300,
        max_batch_entries: 1000,
        max_body_bytes: 8 * 1024 * 1024,
        commit_batch: 4000,
        checkpoint_interval_ms: 100,
        check_on_start: true,
        db_connections: 4,
    };
    println!("starting fairshare (data in {}) ...", data_dir.display());
    let server = RunningServer::start(config).await.map_err(failed)?;
    let client = Client {
        http: reqwest::Client::new(),
        base: format!("http://{}", server.addr),
    };
    let outcome = scenario(&client, &data_dir).await;
    server.stop().await;
    outcome
}

async fn scenario(client: &Client, data_dir: &std::path::Path) -> Result<(), CliError> {
    let server_key = crate::keyfile::read(&data_dir.join("server.key")).map_err(failed)?;
    let [regulator, acme, alice, scribe, erin, dana] =
        ["regulator", "acme", "alice", "scribe", "erin", "dana"].map(Actor::new);
    let (regulator, acme, alice, scribe, erin, dana) =
        (regulator?, acme?, alice?, scribe?, erin?, dana?);

    println!(
        "\n1. The operator registers the regulator and the platform; the others register themselves."
    );
    for (actor, kind) in [(&regulator, "regulator"), (&acme, "platform")] {
        let body = json!({"kind": kind, "public_key": actor.key.public_key().to_base64()});
        client
            .submit(actor.id, &server_key, "actor.registered", body, &[])
            .await?;
    }
    for (actor, kind, name) in [
        (&alice, "human", "Alice, author"),
        (&erin, "human", "Erin, editor"),
        (&dana, "human", "Dana, data curator"),
    ] {
        let body =
            json!({"kind": kind, "public_key": actor.key.public_key().to_base64(), "name": name});
        client
            .submit(actor.id, &actor.key, "actor.registered", body, &[])
            .await?;
    }
    let body = json!({"kind": "ai", "public_key": scribe.key.public_key().to_base64(), "operator": "acme",
                      "model": {"name": "scribe", "version": "2.1", "weights_hash": format!("blake3:{}", hash::to_hex(&hash::blake3(b"scribe-2.1 weights")))}});
    client
        .submit(scribe.id, &scribe.key, "actor.registered", body, &[&acme])
        .await?;
    println!(
        "   regulator, acme (platform), alice, erin, dana (humans), scribe (ai, operated by acme)"
    );

    println!("2. Policies are adopted: their text and hash go into the log.");
    let mut policy_hashes = Vec::new();
    for (name, text, by) in [
        ("default", DEFAULT_POLICY, &regulator),
        ("cocreation", COCREATION_POLICY, &acme),
    ] {
        let digest = format!("blake3:{}", hash::to_hex(&hash::blake3(text.as_bytes())));
        client
            .submit(
                by.id,
                &by.key,
                "policy.adopted",
                json!({"name": name, "text": text, "hash": digest}),
                &[],
            )
            .await?;
        println!("   {name:<10} {digest} (adopted by {})", by.id);
        policy_hashes.push(digest);
    }

    println!(
        "3. Contributions: drafts by the AI, curated by the editor; work that builds on them."
    );
    let dataset = contribute(
        client,
        &dana,
        ("data", "8000", "rows"),
        "reader survey, 8000 rows",
        &[],
    )
    .await?;
    let chapter1 = contribute(client, &alice, ("text", "1200", "words"), "chapter 1", &[]).await?;
    let mut drafts = Vec::new();
    for n in 1..=3 {
        drafts.push(
            contribute(
                client,
                &scribe,
                ("text", "2000", "words"),
                &format!("AI draft {n}"),
                &[&dataset],
            )
            .await?,
        );
    }
    for (draft, decision) in drafts.iter().zip(["accept", "accept", "reject"]) {
        client
            .submit(
                erin.id,
                &erin.key,
                "endorsement",
                json!({"contribution": draft, "decision": decision}),
                &[],
            )
            .await?;
    }
    contribute(
        client,
        &erin,
        ("review", "6", "edits"),
        "editorial pass",
        &[],
    )
    .await?;
    contribute(
        client,
        &alice,
        ("text", "1500", "words"),
        "chapter 2",
        &[&chapter1, &drafts[0]],
    )
    .await?;
    contribute(
        client,
        &acme,
        ("publish", "40", "pages"),
        "typeset edition",
        &[],
    )
    .await?;
    println!(
        "   dana: 8000 rows of data; alice: two chapters (the second builds on chapter 1 and AI draft 1);"
    );
    println!(
        "   scribe: three drafts built on the data, erin accepts two and rejects one, and reviews; acme publishes."
    );

    println!("4. Value is realized twice, under the two policies; the server allocates each.");
    let mut values = Vec::new();
    for (amount, policy) in [
        ("1000.00", &policy_hashes[0]),
        ("300.00", &policy_hashes[1]),
    ] {
        let body =
            json!({"project": "novel", "amount": amount, "currency": "EUR", "policy": policy});
        let receipt = client
            .submit(acme.id, &acme.key, "value.realized", body, &[])
            .await?;
        values.push(receipt["id"].as_str().unwrap_or_default().to_owned());
    }
    for (value, name) in values.iter().zip(["default", "cocreation"]) {
        let allocation = wait_for_allocation(client, value).await?;
        print_allocation(&allocation["body"], name);
    }

    println!(
        "\n5. The regulator's view (GET /v1/audit/concentration): payouts by actor kind over both"
    );
    println!("   allocations, the AI's share counted as the AI's though paid to its operator.");
    let (status, text) = client
        .get("/v1/audit/concentration?project=novel&basis=earned")
        .await?;
    if status != 200 {
        return Err(CliError::Failed(format!(
            "the regulator's view: HTTP {status}: {text}"
        )));
    }
    let view: Value = serde_json::from_str(&text).map_err(failed)?;
    for currency in view["currencies"].as_array().into_iter().flatten() {
        let code = currency["currency"].as_str().unwrap_or("?");
        for kind in currency["by_kind"].as_array().into_iter().flatten() {
            let share: f64 = kind["share"]["rounded"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            println!(
                "   {:<10} {:>10} {code} {:>6.1}%  {}",
                kind["kind"].as_str().unwrap_or("?"),
                kind["amount"].as_str().unwrap_or("?"),
                share * 100.0,
                bar(share)
            );
        }
        println!(
            "   HHI {}, Gini {}, largest actor's share {}",
            currency["hhi"]["rounded"].as_str().unwrap_or("-"),
            currency["gini"]["rounded"].as_str().unwrap_or("-"),
            currency["top"][0]["share"]["rounded"]
                .as_str()
                .unwrap_or("-"),
        );
    }

    println!(
        "\n6. The offline verifier replays the exported log against the log's key and checkpoint."
    );
    verify_log(client).await
}

/// Submits a contribution to the project "novel" (`measure` = kind, quantity, unit) whose
/// evidence is the digest of `artifact`; returns its entry id.
async fn contribute(
    client: &Client,
    actor: &Actor,
    measure: (&str, &str, &str),
    artifact: &str,
    builds_on: &[&String],
) -> Result<String, CliError> {
    let (kind, quantity, unit) = measure;
    let body = json!({"project": "novel", "kind": kind, "measure": {"quantity": quantity, "unit": unit},
                      "evidence": format!("blake3:{}", hash::to_hex(&hash::blake3(artifact.as_bytes()))), "builds_on": builds_on});
    let receipt = client
        .submit(actor.id, &actor.key, "contribution", body, &[])
        .await?;
    Ok(receipt["id"].as_str().unwrap_or_default().to_owned())
}

async fn wait_for_allocation(client: &Client, value: &str) -> Result<Value, CliError> {
    for _ in 0..400 {
        let (status, text) = client.get(&format!("/v1/allocations/{value}")).await?;
        if status == 200 {
            return serde_json::from_str(&text).map_err(failed);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    Err(CliError::Failed(format!(
        "no allocation appeared for value entry {value}"
    )))
}

/// "929/30" as "929/30 ≈ 30.97"; integers as they are.
fn with_decimal(fraction: &str) -> String {
    match fraction.split_once('/') {
        Some((n, d)) => match (n.parse::<f64>(), d.parse::<f64>()) {
            (Ok(n), Ok(d)) if d != 0.0 => format!("{fraction} ≈ {:.2}", n / d),
            _ => fraction.to_owned(),
        },
        None => fraction.to_owned(),
    }
}

/// A bar of up to 40 blocks for a share in [0, 1].
fn bar(share: f64) -> String {
    let blocks = (share.clamp(0.0, 1.0) * 40.0).round();
    #[allow(clippy::cast_possible_truncation)] // clamped above: a whole number in 0..=40
    "█".repeat(blocks as usize)
}

fn print_allocation(body: &Value, policy: &str) {
    let allocation = &body["allocation"];
    println!(
        "\n   {} {} under policy {policy} ({}, method {}):",
        allocation["amount"].as_str().unwrap_or("?"),
        allocation["currency"].as_str().unwrap_or(""),
        body["status"].as_str().unwrap_or("?"),
        allocation["method"].as_str().unwrap_or("?"),
    );
    if body["status"] != "ok" {
        println!("   failed: {}", body["reason"]);
        return;
    }
    println!(
        "   {:<10} {:<9} {:>24} {:>10}  {:<10} share",
        "actor", "kind", "Shapley value (exact)", "payout", "paid to"
    );
    for player in allocation["players"].as_array().into_iter().flatten() {
        let payout: f64 = player["payout"]
            .as_str()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0.0);
        let amount: f64 = allocation["amount"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or(1.0);
        let kind = player["kind"].as_str().unwrap_or("?");
        println!(
            "   {:<10} {:<9} {:>24} {:>10.2}  {:<10} {}",
            player["actor"].as_str().unwrap_or("?"),
            kind,
            with_decimal(player["shapley_value"].as_str().unwrap_or("?")),
            payout,
            player["paid_to"].as_str().unwrap_or("?"),
            bar(payout / amount)
        );
    }
}

async fn verify_log(client: &Client) -> Result<(), CliError> {
    let (_, key) = client.get("/v1/log/key").await?;
    let verifier = NoteVerifier::from_vkey(key.trim()).map_err(failed)?;
    let mut leaves = Vec::new();
    loop {
        let (_, page) = client
            .get(&format!("/v1/log/entries?start={}", leaves.len()))
            .await?;
        if page.is_empty() {
            break;
        }
        for line in page.lines() {
            let value: Value = serde_json::from_str(line).map_err(failed)?;
            leaves.push(b64_decode(value["leaf"].as_str().unwrap_or_default()).map_err(failed)?);
        }
    }
    // Wait for the checkpoint that covers the whole log.
    let mut note = String::new();
    for _ in 0..200 {
        note = client.get("/v1/log/checkpoint").await?.1;
        if note.lines().nth(1) == Some(leaves.len().to_string().as_str()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let (checkpoint, _) =
        open_checkpoint(&note, std::slice::from_ref(&verifier)).map_err(failed)?;
    let server_key =
        crate::crypto::PublicKey::from_bytes(verifier.public_key().as_bytes()).map_err(failed)?;
    let report = replay(
        &leaves,
        server_key,
        &[checkpoint.size],
        &mut Reproducer::default(),
        &|_, _| {},
    )
    .map_err(|bad| CliError::Failed(format!("verification failed at {bad}")))?;
    if report.roots.get(&checkpoint.size) != Some(&checkpoint.root) {
        return Err(CliError::Failed(
            "the log does not match its checkpoint".into(),
        ));
    }
    println!(
        "   ok: {} entries, {} actors; every signature and rule checked, every allocation recomputed;\n   root {} matches the signed checkpoint of size {}.",
        report.entries,
        report.actors,
        hash::to_hex(&report.root),
        checkpoint.size
    );
    Ok(())
}
