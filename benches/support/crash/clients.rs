//! The load: concurrent clients submitting signed entries, single or in batches, each
//! resubmitting the same signed entries until they are acknowledged (a resubmission is
//! idempotent), and keeping every receipt. The harness pauses them to audit the log.

use super::CrashResult;
use chrono::{DateTime, Utc};
use fairshare::crypto::SecretKey;
use fairshare::entry::ActorId;
use fairshare::entry::envelope::{format_timestamp, sign_envelope};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// An actor of the harness with its key.
pub struct Actor {
    pub id: String,
    pub key: SecretKey,
}

impl Actor {
    pub fn new(id: String) -> CrashResult<Self> {
        Ok(Self {
            id,
            key: SecretKey::generate()?,
        })
    }

    /// A signed entry of this actor, signed by `key` (its own, or the server's for the
    /// operator's registrations).
    pub fn sign_with(&self, key: &SecretKey, entry_type: &str, body: Value) -> CrashResult<Value> {
        static NONCE: AtomicU64 = AtomicU64::new(0);
        let envelope = json!({
            "v": 3, "type": entry_type, "actor": self.id,
            "key": key.public_key().key_id().to_string(),
            "nonce": format!("crash-{:010}", NONCE.fetch_add(1, Ordering::Relaxed)),
            "ts": format_timestamp(chrono::Utc::now()), "body": body,
        });
        Ok(sign_envelope(
            &envelope,
            key,
            &[] as &[(ActorId, &SecretKey)],
        )?)
    }

    pub fn sign(&self, entry_type: &str, body: Value) -> CrashResult<Value> {
        self.sign_with(&self.key, entry_type, body)
    }

    pub fn contribution(&self, project: &str) -> CrashResult<Value> {
        self.sign(
            "contribution",
            json!({"project": project, "kind": "text", "measure": {"quantity": "100", "unit": "words"},
                   "evidence": format!("commit:{}", "5a".repeat(32))}),
        )
    }
}

/// A receipt a client was given: the entry's sequence number, id and leaf hash.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub seq: u64,
    pub id: String,
    pub leaf_hash: String,
}

impl Receipt {
    pub fn parse(answer: &Value) -> Option<Self> {
        Some(Self {
            seq: answer["seq"].as_u64()?,
            id: answer["id"].as_str()?.to_owned(),
            leaf_hash: answer["leaf_hash"].as_str()?.to_owned(),
        })
    }
}

/// What the clients share with the harness.
#[derive(Default)]
pub struct Load {
    pub base: Arc<RwLock<String>>,
    pub receipts: Mutex<Vec<Receipt>>,
    /// Receipts of `value.realized` entries: each must get exactly one allocation.
    pub values: Mutex<Vec<Receipt>>,
    /// Answers that were neither a receipt nor a passing failure (a refusal): each is a bug.
    pub refused: Mutex<Vec<String>>,
    /// Single entries found stored (on resubmission) with a receipt older than a failure
    /// that said "nothing was stored": a false statement.
    pub misreported: AtomicU64,
    /// Submissions repeated after a failure (no answer, or a 5xx).
    pub retries: AtomicU64,
    paused: AtomicBool,
    busy: AtomicUsize,
    stopped: AtomicBool,
}

impl Load {
    pub fn new(base: Arc<RwLock<String>>) -> Arc<Self> {
        Arc::new(Self {
            base,
            ..Self::default()
        })
    }

    /// Stops new submissions and waits until every client holds only acknowledged entries.
    pub async fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        while self.busy.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    /// Pauses for good: the client tasks end.
    pub async fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.pause().await;
    }

    /// Waits for the go-ahead; false once stopped. On true the caller is counted as busy.
    async fn enter(&self) -> bool {
        loop {
            // Busy first, then the flag: `pause` sets the flag, then waits for no one busy.
            self.busy.fetch_add(1, Ordering::SeqCst);
            if !self.paused.load(Ordering::SeqCst) {
                return true;
            }
            self.busy.fetch_sub(1, Ordering::SeqCst);
            if self.stopped.load(Ordering::SeqCst) {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn leave(&self) {
        self.busy.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn acknowledged(&self) -> usize {
        lock(&self.receipts).len()
    }
}

pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The project every load client contributes to (opened to every registered actor).
pub const LOAD_PROJECT: &str = "crash-load";

/// How one client submits.
#[derive(Clone)]
pub enum Submits {
    /// One contribution per request.
    Single,
    /// Batches of this many contributions.
    Batch(usize),
    /// A `value.realized` of 1.00 EUR on `project` under `policy`, then a pause.
    Values { project: String, policy: String },
}

/// Runs one client until the load stops.
pub async fn client(load: Arc<Load>, actor: Actor, submits: Submits) -> CrashResult<()> {
    let http = reqwest::Client::new();
    let project = LOAD_PROJECT;
    while load.enter().await {
        let outcome = match &submits {
            Submits::Single => {
                let entry = actor.contribution(project)?;
                acknowledge(&load, &http, &entry).await.map(|r| vec![r])
            }
            Submits::Batch(size) => {
                let entries = (0..*size)
                    .map(|_| actor.contribution(project))
                    .collect::<CrashResult<Vec<_>>>()?;
                acknowledge_batch(&load, &http, &json!({"entries": entries})).await
            }
            Submits::Values { project, policy } => {
                let entry = actor.sign(
                    "value.realized",
                    json!({"project": project, "amount": "1.00", "currency": "EUR", "policy": policy}),
                )?;
                let receipt = acknowledge(&load, &http, &entry).await;
                if let Some(receipt) = &receipt {
                    lock(&load.values).push(receipt.clone());
                }
                receipt.map(|r| vec![r])
            }
        };
        lock(&load.receipts).extend(outcome.into_iter().flatten());
        load.leave();
        if matches!(submits, Submits::Values { .. }) {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    Ok(())
}

/// One POST, retried until the server answers other than with a passing failure (no
/// answer, or a 5xx): the status, the answer, and when a failure last said "nothing was
/// stored".
async fn post_until_answered(
    load: &Load,
    http: &reqwest::Client,
    body: &Value,
) -> (u16, Value, Option<DateTime<Utc>>) {
    let mut said_nothing_stored = None;
    loop {
        let base = load.base.read().unwrap_or_else(|e| e.into_inner()).clone();
        let sent = http
            .post(format!("{base}/v1/entries"))
            .json(body)
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        if let Ok(response) = sent {
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if status < 500 {
                return (status, answer, said_nothing_stored);
            }
            if answer["detail"]
                .as_str()
                .is_some_and(|d| d.contains("nothing was stored"))
            {
                said_nothing_stored = Some(Utc::now());
            }
        }
        load.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Submits one entry until acknowledged; its receipt, or None (recorded) if refused. A
/// resubmission's receipt received before a failure said "nothing was stored" shows that
/// failure's statement false.
async fn acknowledge(load: &Load, http: &reqwest::Client, entry: &Value) -> Option<Receipt> {
    let (status, answer, said_nothing_stored) = post_until_answered(load, http, entry).await;
    let receipt = Receipt::parse(&answer).filter(|_| status == 200 || status == 201);
    let Some(receipt) = receipt else {
        lock(&load.refused).push(format!("{status}: {answer}"));
        return None;
    };
    let received_at = answer["received_at"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    if let (Some(said), Some(received_at)) = (said_nothing_stored, received_at)
        && received_at < said
    {
        load.misreported.fetch_add(1, Ordering::Relaxed);
    }
    Some(receipt)
}

/// Submits a batch until acknowledged; its receipts (refusals are recorded).
async fn acknowledge_batch(
    load: &Load,
    http: &reqwest::Client,
    batch: &Value,
) -> Option<Vec<Receipt>> {
    let (status, answer, _) = post_until_answered(load, http, batch).await;
    let results = answer["results"].as_array().filter(|_| status == 200);
    let receipts: Option<Vec<Receipt>> =
        results.and_then(|results| results.iter().map(Receipt::parse).collect());
    if receipts.is_none() {
        lock(&load.refused).push(format!("{status}: {answer}"));
    }
    receipts
}
