//! Submitting entries end to end: receipts, idempotency, nonces, signatures, validation.

use crate::helpers::{Actor, spawn_public_app};
use fairshare::crypto::{b64_decode, hash};
use fairshare::ledger::merkle::leaf_hash;
use serde_json::json;

#[tokio::test]
async fn submit_resubmit_replay_and_read_back() {
    let app = spawn_public_app().await;
    app.open_project("novel").await; // seq 0 and 1
    let alice = Actor::new("alice");
    let registered = app.register(&alice, "human").await;
    assert_eq!(registered["seq"], 2);

    let entry = alice.contribution("novel", &[]);
    let (status, receipt) = app.post(&entry).await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["seq"], 3);
    assert_eq!(receipt.as_object().map(|o| o.len()), Some(4), "{receipt}");

    // The same signed entry again: the original receipt, nothing appended.
    let (status, again) = app.post(&entry).await;
    assert_eq!((status, &again), (200, &receipt));
    assert_eq!(app.log_size().await, 4);

    // A different entry under a used nonce.
    let mut replay = alice.contribution("novel", &[]);
    replay["envelope"]["nonce"] = entry["envelope"]["nonce"].clone();
    let replay = fairshare::entry::envelope::sign_envelope(&replay["envelope"], &alice.key, &[])
        .expect("signs");
    let (status, problem) = app.post(&replay).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["type"], "urn:fairshare:problem:conflict");
    assert_eq!(problem["field"], "envelope.nonce");

    // Read back: the leaf bytes hash to the receipt's id and leaf hash.
    let (status, stored) = app.get("/v1/entries/3").await;
    assert_eq!(status, 200);
    let leaf = b64_decode(stored["leaf"].as_str().expect("leaf")).expect("base64");
    assert_eq!(hash::to_hex(&hash::blake3(&leaf)), receipt["id"]);
    assert_eq!(hash::to_hex(&leaf_hash(&leaf)), receipt["leaf_hash"]);
    assert_eq!(stored["envelope"], entry["envelope"]);
    assert_eq!(stored["received_at"], receipt["received_at"]);
    assert_eq!(app.get("/v1/entries/99").await.0, 404);
    assert_eq!(app.get("/v1/entries/x").await.0, 400);
}

#[tokio::test]
async fn bad_signature_is_refused_and_nothing_is_stored() {
    let app = spawn_public_app().await;
    app.open_project("novel").await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    let mut entry = alice.contribution("novel", &[]);
    entry["envelope"]["body"]["measure"]["quantity"] = json!("4000");
    let (status, problem) = app.post(&entry).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "urn:fairshare:problem:bad-signature");
    assert_eq!(app.log_size().await, 3);

    // Signed by a key that is not alice's.
    let mallory = Actor::new("mallory");
    let forged = alice.sign_with(
        &mallory.key,
        "contribution",
        entry["envelope"]["body"].clone(),
        &[],
    );
    let (status, problem) = app.post(&forged).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:fairshare:problem:unknown-signer"))
    );
    assert_eq!(app.log_size().await, 3);
}

#[tokio::test]
async fn rotation_and_revocation() {
    let app = spawn_public_app().await;
    let bob = Actor::new("bob");
    app.register(&bob, "human").await;
    app.open_project("novel").await;
    let new_key = fairshare::crypto::SecretKey::generate().expect("key");
    let new_b64 = new_key.public_key().to_base64();

    // Without the new key's co-signature: no proof of possession.
    let (status, problem) = app
        .post(&bob.sign("key.rotated", json!({"public_key": new_b64})))
        .await;
    assert_eq!(status, 403, "{problem}");
    let rotation = bob.sign_with(
        &bob.key,
        "key.rotated",
        json!({"public_key": new_b64}),
        &[("bob", &new_key)],
    );
    assert_eq!(app.post(&rotation).await.0, 201);

    // Revoke the first key (signed by the new one); the old key then signs nothing.
    let revoke = bob.sign_with(
        &new_key,
        "key.revoked",
        json!({"key": bob.key_id(), "reason": crate::helpers::commit(fairshare::entry::privacy::CommittedField::Reason, "laptop lost").0}),
        &[],
    );
    let (status, body) = app.post(&revoke).await;
    assert_eq!(status, 201, "{body}");
    let (status, problem) = app.post(&bob.contribution("novel", &[])).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (403, Some("urn:fairshare:problem:revoked-key")),
        "{problem}"
    );
    let by_new_key = bob.sign_with(
        &new_key,
        "contribution",
        bob.contribution("novel", &[])["envelope"]["body"].clone(),
        &[],
    );
    assert_eq!(app.post(&by_new_key).await.0, 201);

    // The last active key cannot be revoked.
    let last = bob.sign_with(
        &new_key,
        "key.revoked",
        json!({"key": new_key.public_key().key_id().to_string()}),
        &[],
    );
    assert_eq!(app.post(&last).await.0, 403);

    let (status, actor) = app.get("/v1/actors/bob").await;
    assert_eq!(status, 200);
    assert_eq!(actor["keys"][0]["status"], "revoked");
    assert_eq!(actor["keys"][1]["status"], "active");
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let app = spawn_public_app().await;
    app.open_project("novel").await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    let cases = [
        (
            json!({"project": "Novel!", "kind": "draft", "measure": {"quantity": "1", "unit": "pages"}, "evidence": format!("commit:{}", "00".repeat(32))}),
            "envelope.body.project",
        ),
        (
            json!({"project": "novel", "kind": "draft", "measure": {"quantity": 1.5, "unit": "pages"}, "evidence": format!("commit:{}", "00".repeat(32))}),
            "envelope.body.measure.quantity",
        ),
        (
            json!({"project": "novel", "kind": "draft", "measure": {"quantity": "1", "unit": "pages"}, "evidence": format!("blake3:{}", "00".repeat(32))}),
            "envelope.body.evidence",
        ),
        (
            json!({"project": "novel", "kind": "draft", "measure": {"quantity": "1", "unit": "pages"}, "evidence": format!("commit:{}", "00".repeat(32)), "builds_on": ["ab".repeat(32)]}),
            "envelope.body.builds_on[0]",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = app.post(&alice.sign("contribution", body)).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let mut stale = alice.contribution("novel", &[]);
    stale["envelope"]["ts"] = json!("2020-01-01T00:00:00Z");
    let stale = fairshare::entry::envelope::sign_envelope(&stale["envelope"], &alice.key, &[])
        .expect("signs");
    let (status, problem) = app.post(&stale).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:fairshare:problem:timestamp-out-of-range"))
    );

    let response = app
        .client
        .post(format!("{}/v1/entries", app.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(app.get("/nowhere").await.0, 404);
    assert_eq!(app.log_size().await, 3);
}

#[tokio::test]
async fn batches_answer_each_entry_in_order() {
    let app = spawn_public_app().await;
    app.open_project("novel").await; // seq 0 and 1
    let alice = Actor::new("alice");
    let carol = Actor::new("carol");
    let mut bad = alice.contribution("novel", &[]);
    bad["signature"] = carol.contribution("x", &[])["signature"].clone();
    let batch = json!({"entries": [alice.registration("human"), alice.contribution("novel", &[]), bad, {"envelope": 1}, carol.registration("human")]});
    let (status, body) = app.post(&batch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["accepted"].as_u64(), body["rejected"].as_u64()),
        (Some(3), Some(2))
    );
    let results = body["results"].as_array().expect("results");
    assert_eq!(results[0]["seq"], 2);
    assert_eq!(results[1]["seq"], 3);
    assert_eq!(results[2]["type"], "urn:fairshare:problem:bad-signature");
    assert_eq!(results[3]["field"], "envelope");
    assert_eq!(results[4]["seq"], 4);

    let too_many: Vec<_> = (0..1001).map(|_| json!({})).collect();
    assert_eq!(app.post(&json!({"entries": too_many})).await.0, 400);
    let huge = "x".repeat(9 * 1024 * 1024);
    let response = app
        .client
        .post(format!("{}/v1/entries", app.base))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 413);
}

#[tokio::test]
async fn entry_rules_for_endorsements_value_and_lineage() {
    let app = spawn_public_app().await;
    let (alice, editor, shop) = (
        Actor::new("alice"),
        Actor::new("editor"),
        Actor::new("shop"),
    );
    app.register(&alice, "human").await;
    app.register(&editor, "human").await;
    app.register_by_operator(&shop, "platform").await;
    let policy = app.adopt_policy(&shop, "proportional").await;
    app.open_project_as(&shop, "novel", &[&policy], "open")
        .await;

    let (_, draft) = app.post(&alice.contribution("novel", &[])).await;
    let draft_id = draft["id"].as_str().expect("id");
    let (status, body) = app.post(&alice.contribution("novel", &[draft_id])).await;
    assert_eq!(status, 201, "{body}");

    let endorse = |who: &Actor, target: &str| {
        who.sign(
            "endorsement",
            json!({"contribution": target, "decision": "accept"}),
        )
    };
    assert_eq!(app.post(&endorse(&editor, draft_id)).await.0, 201);
    assert_eq!(
        app.post(&endorse(&alice, draft_id)).await.0,
        403,
        "no self-endorsement"
    );
    assert_eq!(
        app.post(&endorse(&shop, draft_id)).await.0,
        403,
        "only humans endorse"
    );
    let registration_id = app.get("/v1/entries/0").await.1["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        app.post(&endorse(&editor, &registration_id)).await.0,
        422,
        "only contributions"
    );

    let value = |who: &Actor| {
        who.sign(
            "value.realized",
            json!({"project": "novel", "amount": "1000.00", "currency": "EUR", "policy": policy}),
        )
    };
    assert_eq!(app.post(&value(&shop)).await.0, 201);
    assert_eq!(
        app.post(&value(&alice)).await.0,
        403,
        "only platforms declare value"
    );
}

#[tokio::test]
async fn value_realizations_are_refused_before_anything_is_stored() {
    let app = spawn_public_app().await;
    let (alice, shop) = (Actor::new("alice"), Actor::new("shop"));
    app.register(&alice, "human").await;
    app.register_by_operator(&shop, "platform").await;
    let policy = app.adopt_policy(&shop, "proportional").await;
    app.open_project_as(&shop, "novel", &[&policy], "open")
        .await;
    let value = |project: &str, amount: &str, currency: &str, policy: &str| {
        shop.sign(
            "value.realized",
            json!({"project": project, "amount": amount, "currency": currency, "policy": policy}),
        )
    };
    let size = app.log_size().await;
    let unknown_policy = format!("blake3:{}", "cd".repeat(32));
    for (entry, status, field) in [
        (
            value("novel", "10.00", "EUR", &unknown_policy),
            422,
            "envelope.body.policy",
        ),
        (
            value("novel", "10.00", "EUR", &policy),
            422,
            "envelope.body.project",
        ),
        (
            value("novel", "0", "EUR", &policy),
            422,
            "envelope.body.amount",
        ),
    ] {
        let (got, problem) = app.post(&entry).await;
        assert_eq!(
            (got, problem["field"].as_str()),
            (status, Some(field)),
            "{problem}"
        );
    }
    assert_eq!(app.log_size().await, size, "refusals store nothing");

    app.post(&alice.contribution("novel", &[])).await;
    assert_eq!(
        app.post(&value("novel", "10.00", "EUR", &policy)).await.0,
        201
    );
    let (status, problem) = app.post(&value("novel", "10", "USD", &policy)).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (409, Some("envelope.body.currency")),
        "{problem}"
    );

    // A policy is adopted once, by a platform or regulator, and must parse.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/proportional.toml"
    ))
    .expect("policy");
    let hash = format!(
        "blake3:{}",
        fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(text.as_bytes()))
    );
    let again = shop.sign(
        "policy.adopted",
        json!({"name": "proportional", "text": text, "hash": hash}),
    );
    assert_eq!(app.post(&again).await.0, 409);
    let by_human = alice.sign("policy.adopted", json!({"name": "x", "text": "name = 1", "hash": format!("blake3:{}", fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(b"name = 1")))}));
    assert_eq!(app.post(&by_human).await.0, 403);
    let invalid = shop.sign("policy.adopted", json!({"name": "x", "text": "name = 1", "hash": format!("blake3:{}", fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(b"name = 1")))}));
    let (status, problem) = app.post(&invalid).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("envelope.body.text")),
        "{problem}"
    );
}
