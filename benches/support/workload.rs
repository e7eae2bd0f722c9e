//! The workload of the proofs and verify benches.

/// The load benches' workload, entry `i` of `actors` actors (`keys[i % actors]` signs):
/// self-registrations for the first `actors` entries, then contributions round-robin.
pub fn workload_envelope(
    i: usize,
    actors: usize,
    key: &fairshare::crypto::SecretKey,
    ts: &str,
) -> serde_json::Value {
    let (entry_type, body) = if i < actors {
        (
            "actor.registered",
            serde_json::json!({"kind": "human", "public_key": key.public_key().to_base64()}),
        )
    } else {
        (
            "contribution",
            serde_json::json!({"project": "bench", "kind": "draft", "measure": {"quantity": "3", "unit": "pages"},
                               "evidence": format!("commit:{}", "5a".repeat(32)), "builds_on": []}),
        )
    };
    serde_json::json!({
        "v": 3, "type": entry_type, "actor": format!("bench-{}", i % actors),
        "key": key.public_key().key_id().to_string(), "nonce": format!("n-{i:08}"), "ts": ts, "body": body,
    })
}
