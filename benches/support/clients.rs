//! What the load benches' clients share: signed entries made just before they are sent
//! (`ts` must be within the server's skew) and many concurrent posters.

use super::server::BenchResult;
use fairshare::crypto::SecretKey;
use fairshare::entry::envelope::{format_timestamp, sign_envelope};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

pub fn sign(actor: &str, key: &SecretKey, entry_type: &str, body: Value) -> BenchResult<Value> {
    static NONCE: AtomicU64 = AtomicU64::new(0);
    let envelope = json!({
        "v": 3, "type": entry_type, "actor": actor, "key": key.public_key().key_id().to_string(),
        "nonce": format!("bench-nonce-{}", NONCE.fetch_add(1, Ordering::Relaxed)),
        "ts": format_timestamp(chrono::Utc::now()), "body": body,
    });
    Ok(sign_envelope(&envelope, key, &[])?)
}

/// `count` signed contributions, round-robin over the actors.
pub fn contributions(actors: &[(String, SecretKey)], count: usize) -> BenchResult<Vec<Value>> {
    (0..count)
        .map(|i| {
            let (id, key) = &actors[i % actors.len()];
            sign(
                id,
                key,
                "contribution",
                json!({"project": "bench", "kind": "draft", "measure": {"quantity": "3", "unit": "pages"},
                       "evidence": format!("commit:{}", "5a".repeat(32)), "builds_on": []}),
            )
        })
        .collect()
}

/// Posts every body from `workers` concurrent tasks (one shared queue); every entry must get
/// a receipt. Returns the number of entries accepted.
pub async fn post_all(
    client: &reqwest::Client,
    base: &str,
    bodies: Vec<Vec<u8>>,
    workers: usize,
    expected_status: u16,
) -> BenchResult<usize> {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let url = format!("{base}/v1/entries");
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (client, bodies, next, url) =
                (client.clone(), bodies.clone(), next.clone(), url.clone());
            tokio::spawn(async move {
                let mut accepted = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else {
                        return Ok::<usize, String>(accepted);
                    };
                    let response = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    let status = response.status().as_u16();
                    let answer: Value = response.json().await.map_err(|e| e.to_string())?;
                    if status != expected_status {
                        return Err(format!("status {status}: {answer}"));
                    }
                    accepted += match answer.get("accepted") {
                        Some(n) => {
                            if answer["rejected"] != 0 {
                                return Err(format!("rejected entries: {}", answer["results"]));
                            }
                            n.as_u64().unwrap_or(0) as usize
                        }
                        None if answer.get("seq").is_some() => 1,
                        None => return Err(format!("no receipt: {answer}")),
                    };
                }
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await??;
    }
    Ok(accepted)
}
