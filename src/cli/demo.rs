//! `fairshare demo`: a realistic scenario played end to end through the real API on the
//! embedded PostgreSQL (or DATABASE_URL), then the allocations, the regulator's view by actor
//! kind, and the offline verifier's verdict on the whole log.

use super::sign::random_nonce;
use super::verify::{check_against, replay_log};
use super::{CliError, LogDestination};
use crate::client::LogClient;
use crate::crypto::commit::Commitment;
use crate::crypto::{SecretKey, hash};
use crate::entry::envelope::{Envelope, format_timestamp, sign_envelope};
use crate::entry::privacy::{CommittedField, Disclosure};
use crate::entry::{ActorId, EntryType};
use crate::ledger::merkle::Frontier;
use crate::ledger::replay::BadLeaf;
use crate::ledger::rules::RegistrationPolicy;
use crate::server::{
    AllocatorConfig, DatabaseConfig, LogFormat, RunningServer, ServerConfig, WitnessConfig,
};
use serde_json::{Value, json};
use std::net::SocketAddr;
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
    /// Show the server's log lines on stderr, among the story's, instead of writing them to
    /// --log-file.
    #[arg(long)]
    verbose: bool,
    /// Where the server's log lines go (default: fairshare-demo.log in the system's
    /// temporary folder); replaced on every run.
    #[arg(long, conflicts_with = "verbose")]
    log_file: Option<PathBuf>,
}

impl DemoArgs {
    pub(super) fn log_destination(&self) -> LogDestination {
        if self.verbose {
            return LogDestination::Stderr;
        }
        LogDestination::File(self.log_file_path())
    }

    fn log_file_path(&self) -> PathBuf {
        self.log_file
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("fairshare-demo.log"))
    }
}

struct Actor {
    id: &'static str,
    key: SecretKey,
}

impl Actor {
    fn new(id: &'static str) -> Result<Self, CliError> {
        Ok(Self {
            id,
            key: SecretKey::generate().map_err(|e| CliError::failed_because("no key", e))?,
        })
    }

    /// Signs and submits an entry of this actor's; its receipt.
    async fn submit(
        &self,
        client: &LogClient,
        entry_type: EntryType,
        body: Value,
    ) -> Result<Value, CliError> {
        submit(client, self.id, &self.key, entry_type, body, &[]).await
    }
}

/// The people, platform, regulator and AI of the story.
struct Cast {
    regulator: Actor,
    acme: Actor,
    alice: Actor,
    scribe: Actor,
    erin: Actor,
    dana: Actor,
}

impl Cast {
    fn new() -> Result<Self, CliError> {
        Ok(Self {
            regulator: Actor::new("regulator")?,
            acme: Actor::new("acme")?,
            alice: Actor::new("alice")?,
            scribe: Actor::new("scribe")?,
            erin: Actor::new("erin")?,
            dana: Actor::new("dana")?,
        })
    }
}

/// Signs `body` as `actor` with `key` (co-signed by `cosigners`) and submits it; the receipt.
async fn submit(
    client: &LogClient,
    actor: &str,
    key: &SecretKey,
    entry_type: EntryType,
    body: Value,
    cosigners: &[&Actor],
) -> Result<Value, CliError> {
    let envelope = Envelope::unsigned(
        entry_type,
        actor,
        key.public_key().key_id(),
        &random_nonce()?,
        &format_timestamp(chrono::Utc::now()),
        body,
    );
    let cosigners: Vec<(ActorId, &SecretKey)> = cosigners
        .iter()
        .map(|a| Ok((ActorId::parse(a.id).map_err(CliError::Failed)?, &a.key)))
        .collect::<Result<_, CliError>>()?;
    let entry = sign_envelope(&envelope, key, &cosigners)
        .map_err(|e| CliError::failed_because("cannot sign", e))?;
    client
        .submit(&entry)
        .await
        .map_err(|e| CliError::failed_because(format!("{} by {actor}", entry_type.as_str()), e))
}

pub async fn run(args: &DemoArgs) -> Result<(), CliError> {
    let temporary = match &args.data_dir {
        Some(_) => None,
        None => Some(
            tempfile::tempdir().map_err(|e| CliError::failed_because("no temporary folder", e))?,
        ),
    };
    let data_dir = args.data_dir.clone().unwrap_or_else(|| {
        temporary
            .as_ref()
            .map(|t| t.path().to_owned())
            .unwrap_or_default()
    });
    let config = server_config(args.database_url.clone(), data_dir.clone());
    println!("starting fairshare (data in {}) ...", data_dir.display());
    if !args.verbose {
        println!("the server's log: {}", args.log_file_path().display());
    }
    let server = RunningServer::start(config)
        .await
        .map_err(|e| CliError::failed_because("cannot start the server", e))?;
    let client = LogClient::new(&format!("http://{}", server.addr));
    let outcome = scenario(&client, &data_dir).await;
    server.stop().await;
    outcome
}

/// A server on a free local port, with a fresh log (so the demo can run again in the same
/// database) and checkpoints every 100 ms.
fn server_config(database_url: Option<String>, data_dir: PathBuf) -> ServerConfig {
    ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database: DatabaseConfig {
            database_url,
            data_dir,
            pg_bin: None,
            server_key: None,
            log_id: format!("demo-{}", chrono::Utc::now().timestamp_micros()),
            log_origin: "fairshare.local/demo".into(),
            registration: RegistrationPolicy::Open,
        },
        timestamp_skew_secs: 300,
        max_batch_entries: 1000,
        max_body_bytes: 8 * 1024 * 1024,
        max_body_memory: 128 * 1024 * 1024,
        commit_batch: 4000,
        checkpoint_interval_ms: 100,
        check_on_start: true,
        db_connections: 4,
        read_limit: 0,
        read_burst: 100,
        note_retention_secs: None,
        log_format: LogFormat::Text,
        allocator: AllocatorConfig::default(),
        request_window_secs: 300,
        public_origin: None,
        // The demo shows every view of one log, so its log is public.
        public_reads: true,
        witnesses: WitnessConfig::default(),
    }
}

async fn scenario(client: &LogClient, data_dir: &std::path::Path) -> Result<(), CliError> {
    let server_key = crate::keyfile::read(&data_dir.join("server.key"))
        .map_err(|e| CliError::failed_because("cannot read the server key", e))?;
    let cast = Cast::new()?;
    let danas_registration = register(client, &server_key, &cast).await?;
    let policies = adopt_policies(client, &cast).await?;
    open_the_novel(client, &cast, &policies).await?;
    contribute_to_the_novel(client, &cast).await?;
    let allocated = realize_values(client, &cast, &policies).await?;
    regulators_view(client).await?;
    let log_size = erase_a_name(client, &cast, &danas_registration)
        .await?
        .max(allocated);
    println!(
        "\n7. The offline verifier replays the exported log against the log's key and checkpoint."
    );
    verify_log(client, log_size).await
}

/// A registration whose name was committed to, and the commitment.
struct NamedRegistration {
    entry: String,
    name: Commitment,
}

/// Commits to `cleartext` for `field`; the commitment for the body, and the deposit item
/// that opens it.
fn commit(field: CommittedField, cleartext: String) -> Result<(Commitment, Value), CliError> {
    let (commitment, disclosure) =
        Disclosure::commit(field, cleartext).map_err(CliError::Failed)?;
    let item = json!({"field": field.as_str(), "cleartext": disclosure.cleartext,
                      "salt": disclosure.salt.to_hex()});
    Ok((commitment, item))
}

/// Dana erases her name: the disclosure store forgets it, the log records the erasure (its
/// commitment, on her authority), and everything still verifies. Returns the log's size.
async fn erase_a_name(
    client: &LogClient,
    cast: &Cast,
    registration: &NamedRegistration,
) -> Result<u64, CliError> {
    println!(
        "\n6. Dana asks for her name to be erased: the server deletes the cleartext and salt, and\n   the log records which commitment was erased and on whose authority, never the name."
    );
    let body = json!({"authority": "subject", "erased": [
        {"entry": registration.entry, "field": "name", "commitment": registration.name.to_string()}]});
    let receipt = cast.dana.submit(client, EntryType::Erasure, body).await?;
    println!(
        "   erasure entry {} at seq {}",
        receipt["id"].as_str().unwrap_or("?"),
        receipt["seq"]
    );
    Ok(receipt["seq"].as_u64().unwrap_or(0) + 1)
}

/// Registers the cast; humans commit to their names and deposit them. Dana's registration.
async fn register(
    client: &LogClient,
    server_key: &SecretKey,
    cast: &Cast,
) -> Result<NamedRegistration, CliError> {
    println!(
        "\n1. The operator registers the regulator and the platform; the others register themselves."
    );
    let registered = EntryType::ActorRegistered;
    for (actor, kind) in [(&cast.regulator, "regulator"), (&cast.acme, "platform")] {
        let body = json!({"kind": kind, "public_key": actor.key.public_key().to_base64()});
        submit(client, actor.id, server_key, registered, body, &[]).await?;
    }
    let mut danas = None;
    for (actor, kind, name) in [
        (&cast.alice, "human", "Alice, author"),
        (&cast.erin, "human", "Erin, editor"),
        (&cast.dana, "human", "Dana, data curator"),
    ] {
        // The name enters the leaf only as a salted commitment; its cleartext and salt are
        // deposited beside the entry, where an erasure can delete them.
        let (name, item) = commit(CommittedField::Name, name.to_owned())?;
        let body = json!({"kind": kind, "public_key": actor.key.public_key().to_base64(),
                          "name": name.to_string()});
        let receipt = actor.submit(client, registered, body).await?;
        let entry = receipt["id"].as_str().unwrap_or_default().to_owned();
        client
            .deposit_disclosures(&json!({"entry": entry, "disclosures": [item]}))
            .await?;
        danas = Some(NamedRegistration { entry, name });
    }
    let scribe = &cast.scribe;
    let body = json!({"kind": "ai", "public_key": scribe.key.public_key().to_base64(), "operator": "acme",
                      "model": {"name": "scribe", "version": "2.1", "weights_hash": digest(b"scribe-2.1 weights")}});
    submit(
        client,
        scribe.id,
        &scribe.key,
        registered,
        body,
        &[&cast.acme],
    )
    .await?;
    println!(
        "   regulator, acme (platform), alice, erin, dana (humans), scribe (ai, operated by acme)"
    );
    danas.ok_or_else(|| CliError::Failed("dana was not registered".into()))
}

/// `blake3:<hex>` of `bytes`.
fn digest(bytes: &[u8]) -> String {
    format!("blake3:{}", hash::to_hex(&hash::blake3(bytes)))
}

/// Adopts the two policies; their hashes.
async fn adopt_policies(client: &LogClient, cast: &Cast) -> Result<[String; 2], CliError> {
    println!("2. Policies are adopted: their text and hash go into the log.");
    let mut hashes = [String::new(), String::new()];
    for ((name, text, by), adopted) in [
        ("default", DEFAULT_POLICY, &cast.regulator),
        ("cocreation", COCREATION_POLICY, &cast.acme),
    ]
    .into_iter()
    .zip(&mut hashes)
    {
        let hash = digest(text.as_bytes());
        let body = json!({"name": name, "text": text, "hash": hash});
        by.submit(client, EntryType::PolicyAdopted, body).await?;
        println!("   {name:<10} {hash} (adopted by {})", by.id);
        *adopted = hash;
    }
    Ok(hashes)
}

/// acme opens the project: its currency, the policies it admits, and its members.
async fn open_the_novel(
    client: &LogClient,
    cast: &Cast,
    policies: &[String; 2],
) -> Result<(), CliError> {
    let opened = json!({"project": "novel", "currency": "EUR", "membership": "members", "policies": policies});
    cast.acme
        .submit(client, EntryType::ProjectOpened, opened)
        .await?;
    let members: Vec<&str> = [&cast.alice, &cast.scribe, &cast.erin, &cast.dana]
        .iter()
        .map(|a| a.id)
        .collect();
    let admitted = json!({"project": "novel", "admit": members});
    cast.acme
        .submit(client, EntryType::ProjectMembers, admitted)
        .await?;
    println!(
        "   acme opens project novel (EUR, both policies) and admits {}: only they contribute and endorse.",
        members.join(", ")
    );
    Ok(())
}

async fn contribute_to_the_novel(client: &LogClient, cast: &Cast) -> Result<(), CliError> {
    println!(
        "3. Contributions: drafts by the AI, curated by the editor; work that builds on them."
    );
    let data = ("data", "8000", "rows");
    let dataset = contribute(client, &cast.dana, data, "reader survey, 8000 rows", &[]).await?;
    let words = |count| ("text", count, "words");
    let chapter1 = contribute(client, &cast.alice, words("1200"), "chapter 1", &[]).await?;
    let mut drafts = Vec::new();
    for n in 1..=3 {
        let artifact = format!("AI draft {n}");
        let builds_on = [&dataset];
        let draft = contribute(client, &cast.scribe, words("2000"), &artifact, &builds_on);
        drafts.push(draft.await?);
    }
    for (draft, decision) in drafts.iter().zip(["accept", "accept", "reject"]) {
        let body = json!({"contribution": draft, "decision": decision});
        cast.erin
            .submit(client, EntryType::Endorsement, body)
            .await?;
    }
    let review = ("review", "6", "edits");
    contribute(client, &cast.erin, review, "editorial pass", &[]).await?;
    let builds_on = [&chapter1, &drafts[0]];
    contribute(client, &cast.alice, words("1500"), "chapter 2", &builds_on).await?;
    let publish = ("publish", "40", "pages");
    contribute(client, &cast.acme, publish, "typeset edition", &[]).await?;
    println!(
        "   dana: 8000 rows of data; alice: two chapters (the second builds on chapter 1 and AI draft 1);"
    );
    println!(
        "   scribe: three drafts built on the data, erin accepts two and rejects one, and reviews; acme publishes."
    );
    Ok(())
}

/// Realizes value twice and prints each allocation; the log's size after them.
async fn realize_values(
    client: &LogClient,
    cast: &Cast,
    policies: &[String; 2],
) -> Result<u64, CliError> {
    println!("4. Value is realized twice, under the two policies; the server allocates each.");
    let mut log_size = 0;
    for ((amount, policy), name) in [("1000.00", &policies[0]), ("300.00", &policies[1])]
        .into_iter()
        .zip(["default", "cocreation"])
    {
        let body =
            json!({"project": "novel", "amount": amount, "currency": "EUR", "policy": policy});
        let receipt = cast
            .acme
            .submit(client, EntryType::ValueRealized, body)
            .await?;
        let value = receipt["id"].as_str().unwrap_or_default();
        let allocation = wait_for_allocation(client, value).await?;
        print_allocation(&allocation["body"], name);
        // Allocations are the last entries appended.
        log_size = log_size.max(allocation["seq"].as_u64().unwrap_or_default() + 1);
    }
    Ok(log_size)
}

async fn regulators_view(client: &LogClient) -> Result<(), CliError> {
    println!(
        "\n5. The regulator's view (GET /v1/audit/concentration): payouts by actor kind over both"
    );
    println!("   allocations, the AI's share counted as the AI's though paid to its operator.");
    let view = client
        .concentration("project=novel&basis=earned")
        .await
        .map_err(|e| CliError::failed_because("the regulator's view", e))?;
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
    Ok(())
}

/// Submits a contribution to the project "novel" (`measure` = kind, quantity, unit) whose
/// evidence commits to the digest of `artifact` (the salt stays with the contributor);
/// returns its entry id.
async fn contribute(
    client: &LogClient,
    actor: &Actor,
    measure: (&str, &str, &str),
    artifact: &str,
    builds_on: &[&String],
) -> Result<String, CliError> {
    let (kind, quantity, unit) = measure;
    let (evidence, _) = commit(CommittedField::Evidence, digest(artifact.as_bytes()))?;
    let body = json!({"project": "novel", "kind": kind, "measure": {"quantity": quantity, "unit": unit},
                      "evidence": evidence.to_string(), "builds_on": builds_on});
    let receipt = actor.submit(client, EntryType::Contribution, body).await?;
    Ok(receipt["id"].as_str().unwrap_or_default().to_owned())
}

async fn wait_for_allocation(client: &LogClient, value: &str) -> Result<Value, CliError> {
    for _ in 0..400 {
        if let Some(allocation) = client.allocation(value).await? {
            return Ok(allocation);
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

/// Fetches the log of `size` entries, checked against its signed checkpoint as it comes,
/// and replays it as `fairshare verify` does.
async fn verify_log(client: &LogClient, size: u64) -> Result<(), CliError> {
    let verifier = client.log_key().await?;
    // The checkpointer signs a checkpoint of the whole log shortly after the last commit.
    let mut signed = client.checkpoint(&verifier).await?;
    for _ in 0..200 {
        if signed.checkpoint.size >= size {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        signed = client.checkpoint(&verifier).await?;
    }
    let checkpoint = signed.checkpoint;
    let mut stream = client.leaves(checkpoint.clone(), Frontier::new());
    let leaves = stream.read_all().await?;
    stream.verify_root()?;
    let windows = std::iter::once(Ok::<_, BadLeaf>(leaves));
    let report = replay_log(windows, checkpoint.size, &verifier, vec![checkpoint.size]).await?;
    check_against(&checkpoint, &report, "checkpoint")?;
    println!(
        "   ok: {} entries, {} actors; every signature and rule checked, every allocation recomputed;\n   root {} matches the signed checkpoint of size {}.",
        report.entries,
        report.actors,
        hash::to_hex(&report.root),
        checkpoint.size
    );
    Ok(())
}
