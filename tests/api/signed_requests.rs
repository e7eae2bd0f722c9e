//! Signed requests end to end (PROTOCOL.md, "Signed requests"): what the server accepts and
//! each way it refuses a signature with 401 problem+json saying why.

use crate::helpers::{Actor, TestApp, spawn_app};
use serde_json::{Value, json};

/// A server with `alice`, a registered human.
async fn with_alice() -> (TestApp, Actor) {
    let app = spawn_app().await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    (app, alice)
}

fn refused_because(answer: &(u16, Value), words: &str) {
    assert_eq!(answer.0, 401, "{}", answer.1);
    assert_eq!(answer.1["type"], "urn:fairshare:problem:unauthenticated");
    let detail = answer.1["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(words), "{detail:?} should say {words:?}");
}

#[tokio::test]
async fn a_valid_signature_is_accepted_and_its_replay_refused() {
    let (app, alice) = with_alice().await;
    let url = format!("{}/v1/actors/alice", app.base);
    let headers = alice
        .request_signer()
        .sign("GET", &url, b"")
        .expect("signs");
    let first = app
        .send_with("GET", "/v1/actors/alice", headers.clone(), b"")
        .await;
    assert_eq!(first.0, 200, "{}", first.1);
    let replayed = app.send_with("GET", "/v1/actors/alice", headers, b"").await;
    refused_because(&replayed, "already used");
}

#[tokio::test]
async fn a_forged_signature_is_refused() {
    let (app, alice) = with_alice().await;
    // Mallory signs with her own key but names alice's key.
    let mallory = Actor {
        id: "alice".into(),
        key: fairshare::crypto::SecretKey::generate().expect("key"),
    };
    let url = format!("{}/v1/actors/alice", app.base);
    let mut headers = mallory
        .request_signer()
        .sign("GET", &url, b"")
        .expect("signs");
    let input = headers["signature-input"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let forged = input.replace(&mallory.key_id(), &alice.key_id());
    headers.insert("signature-input", forged.parse().expect("header"));
    refused_because(
        &app.send_with("GET", "/v1/actors/alice", headers, b"").await,
        "does not verify",
    );
}

#[tokio::test]
async fn a_signature_for_another_uri_or_method_is_refused() {
    let (app, alice) = with_alice().await;
    let other = format!("{}/v1/actors/alice?x=1", app.base);
    let headers = alice
        .request_signer()
        .sign("GET", &other, b"")
        .expect("signs");
    refused_because(
        &app.send_with("GET", "/v1/actors/alice", headers, b"").await,
        "does not verify",
    );
    let url = format!("{}/v1/actors/alice", app.base);
    let headers = alice
        .request_signer()
        .sign("HEAD", &url, b"")
        .expect("signs");
    refused_because(
        &app.send_with("GET", "/v1/actors/alice", headers, b"").await,
        "does not verify",
    );
}

#[tokio::test]
async fn a_stale_or_future_timestamp_is_refused() {
    let (app, alice) = with_alice().await;
    let url = format!("{}/v1/actors/alice", app.base);
    let now = chrono::Utc::now().timestamp();
    for created in [now - 301, now + 301] {
        let headers = alice
            .request_signer()
            .sign_at("GET", &url, b"", created, "stale-or-future-nonce")
            .expect("signs");
        refused_because(
            &app.send_with("GET", "/v1/actors/alice", headers, b"").await,
            "from the server's clock",
        );
    }
}

#[tokio::test]
async fn a_body_that_does_not_match_its_digest_is_refused() {
    let (app, alice) = with_alice().await;
    let path = format!("/v1/allocations/{}/retry", "5a".repeat(32));
    let url = format!("{}{path}", app.base);
    let body = br#"{"why":"retry"}"#;
    let headers = alice
        .request_signer()
        .sign("POST", &url, body)
        .expect("signs");
    refused_because(
        &app.send_with("POST", &path, headers.clone(), br#"{"why":"other"}"#)
            .await,
        "does not match its Content-Digest",
    );
    // The same signature over its own body is authenticated: the rules refuse it (alice
    // is no party of an allocation that does not exist), not the signature.
    let (status, problem) = app.send_with("POST", &path, headers, body).await;
    assert_eq!(status, 403, "{problem}");
}

#[tokio::test]
async fn a_revoked_or_unknown_key_is_refused() {
    let (app, alice) = with_alice().await;
    let second = fairshare::crypto::SecretKey::generate().expect("key");
    let rotation = alice.sign_with(
        &alice.key,
        "key.rotated",
        json!({"public_key": second.public_key().to_base64(), "retire": alice.key_id()}),
        &[("alice", &second)],
    );
    let (status, body) = app.post(&rotation).await;
    assert_eq!(status, 201, "{body}");
    refused_because(
        &app.get_as(&alice, "/v1/actors/alice").await,
        "was revoked at entry",
    );
    let rotated = Actor {
        id: "alice".into(),
        key: second,
    };
    assert_eq!(app.get_as(&rotated, "/v1/actors/alice").await.0, 200);
    let stranger = Actor::new("stranger");
    refused_because(
        &app.get_as(&stranger, "/v1/actors/alice").await,
        "is registered",
    );
}

#[tokio::test]
async fn malformed_signature_fields_are_refused_and_ask_for_a_signature() {
    let (app, alice) = with_alice().await;
    let url = format!("{}/v1/actors/alice", app.base);
    let good = alice
        .request_signer()
        .sign("GET", &url, b"")
        .expect("signs");
    let mut only_input = good.clone();
    only_input.remove("signature");
    refused_because(
        &app.send_with("GET", "/v1/actors/alice", only_input, b"")
            .await,
        "both Signature-Input and Signature",
    );
    let mut garbled = good;
    garbled.insert("signature-input", "fairshare=(".parse().expect("header"));
    let response = app
        .client
        .get(&url)
        .headers(garbled)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401);
    let accepted = response
        .headers()
        .get("accept-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(accepted.contains("fairshare/request/v1"), "{accepted:?}");
}

/// One random change to a valid signed request: a character of a field, the method, the
/// path or the body; a field dropped or replaced.
fn mutate(
    rng: &mut rand_chacha::ChaCha8Rng,
    method: &mut String,
    path: &mut String,
    headers: &mut reqwest::header::HeaderMap,
    body: &mut Vec<u8>,
) {
    use rand::RngExt;
    let printable = |rng: &mut rand_chacha::ChaCha8Rng| char::from(rng.random_range(0x21u8..0x7f));
    let change_char = |rng: &mut rand_chacha::ChaCha8Rng, text: &str| {
        let mut chars: Vec<char> = text.chars().collect();
        if !chars.is_empty() {
            let at = rng.random_range(0..chars.len());
            chars[at] = printable(rng);
        }
        chars.into_iter().collect::<String>()
    };
    let names = ["signature-input", "signature", "content-digest"];
    match rng.random_range(0..7) {
        0..=2 => {
            let name = names[rng.random_range(0..2)];
            let text = headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let changed = change_char(rng, &text);
            if let Ok(value) = changed.parse() {
                headers.insert(name, value);
            }
        }
        3 => *method = ["POST", "PUT", "DELETE", "HEAD", "PATCH"][rng.random_range(0..5)].into(),
        4 => {
            let changed = change_char(rng, path);
            // Only what a URL can carry: the client refuses anything else before sending.
            if changed.starts_with('/') && !changed.contains(['#', '?', '%', '\\']) {
                *path = changed;
            } else {
                path.push_str("?x=1");
            }
        }
        5 => {
            headers.remove(names[rng.random_range(0..3)]);
        }
        _ => body.extend_from_slice(b"{\"extra\":true}"),
    }
}

#[tokio::test]
async fn thousands_of_mutated_signed_requests_never_fail_the_server_or_change_the_log() {
    use rand::{RngExt, SeedableRng};
    let (app, alice) = with_alice().await;
    let regulator = Actor::new("reg");
    app.register_by_operator(&regulator, "regulator").await;
    let size = app.log_size().await;
    let paths = [
        "/v1/actors/alice",
        "/v1/entries/0",
        "/v1/allocations?actor=alice",
        "/v1/projects/novel",
        "/v1/log/entries?start=0",
        "/v1/audit/concentration",
        "/v1/allocations/5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a/retry",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..3000 {
        let signer = if rng.random_bool(0.5) {
            &alice
        } else {
            &regulator
        };
        let mut path = paths[rng.random_range(0..paths.len())].to_owned();
        let mut method = if path.ends_with("/retry") {
            "POST"
        } else {
            "GET"
        }
        .to_owned();
        let mut body = if rng.random_bool(0.2) {
            b"{\"why\":\"now\"}".to_vec()
        } else {
            Vec::new()
        };
        let url = format!("{}{path}", app.base);
        let mut headers = signer
            .request_signer()
            .sign(&method, &url, &body)
            .expect("signs");
        mutate(&mut rng, &mut method, &mut path, &mut headers, &mut body);
        let response = app
            .client
            .request(
                method.parse().expect("method"),
                format!("{}{path}", app.base),
            )
            .headers(headers)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        assert!(status < 500, "{method} {path}: {status}");
        *statuses.entry(status).or_insert(0) += 1;
    }
    // The mutations were refused for their signatures, mostly: the test exercised them.
    assert!(
        statuses.get(&401).copied().unwrap_or(0) > 1000,
        "{statuses:?}"
    );
    assert_eq!(app.log_size().await, size, "no request changed the log");
}
