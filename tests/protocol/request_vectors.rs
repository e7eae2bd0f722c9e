//! Signed-request vectors (PROTOCOL.md, "Signed requests"): fixed keys, requests, times and
//! nonces with their Content-Digest, signature base, Signature-Input and Signature,
//! committed in tests/vectors/request/ for implementations in other languages. The
//! committed file must equal what the code makes, and each vector must verify on its own
//! bytes and fail on any change of what it covers.
//!
//! Regenerate (only for a deliberate protocol change): FAIRSHARE_WRITE_VECTORS=1 cargo test --test protocol

use crate::committed::check_or_write;
use fairshare::crypto::SecretKey;
use fairshare::crypto::request::{self, Covered};
use serde_json::{Value, json};

fn vector(name: &str, method: &str, target_uri: &str, body: &str) -> Value {
    let key = SecretKey::from_seed(&[1; 32]);
    let covered = Covered {
        method,
        target_uri,
        body: body.as_bytes(),
    };
    let created = 1_796_644_800; // 2026-12-07T12:00:00Z
    let nonce = "3q2-7wAAAAAAAAAAAAAAAA";
    let fields = request::sign(&key, "alice", &covered, created, nonce).expect("signs");
    let received =
        request::parse(&fields.signature_input, &fields.signature).expect("reads its own fields");
    json!({
        "name": name,
        "signer_seed_hex": hex::encode(key.seed()),
        "signer_public_key": key.public_key().to_base64(),
        "actor": "alice",
        "key_id": key.public_key().key_id().to_string(),
        "created": created,
        "nonce": nonce,
        "method": method,
        "target_uri": target_uri,
        "body": body,
        "content_digest": fields.content_digest,
        "signature_base": received.signature_base(&covered, fields.content_digest.as_deref()),
        "signature_input": fields.signature_input,
        "signature": fields.signature,
    })
}

fn vectors() -> Value {
    json!({
        "description": "fairshare signed requests: RFC 9421 with ed25519 over @method, @target-uri and, with a body, content-digest (RFC 9530, sha-256); signature_base is signed as UTF-8 bytes",
        "vectors": [
            vector("a read with a query", "GET", "http://127.0.0.1:8080/v1/allocations?project=novel&actor=alice", ""),
            vector("a read of the signer's own record", "GET", "https://ledger.example/v1/actors/alice", ""),
            vector("a write with a body", "POST", "https://ledger.example/v1/allocations/5a5a/retry", "{\"reason\":\"database back\"}"),
        ],
    })
}

#[test]
fn committed_request_vectors_match_the_code() {
    check_or_write("request/requests.json", &vectors());
}

fn covered(v: &Value) -> (String, String, String) {
    let text = |f: &str| v[f].as_str().expect(f).to_owned();
    (text("method"), text("target_uri"), text("body"))
}

#[test]
fn every_vector_verifies_from_its_fields_alone() {
    for v in vectors()["vectors"].as_array().expect("list") {
        let public = fairshare::crypto::PublicKey::from_base64(
            v["signer_public_key"].as_str().expect("key"),
        )
        .expect("key");
        let (method, uri, body) = covered(v);
        let received = request::parse(
            v["signature_input"].as_str().expect("input"),
            v["signature"].as_str().expect("signature"),
        )
        .expect("parses");
        let digest = v["content_digest"].as_str();
        let exact = Covered {
            method: &method,
            target_uri: &uri,
            body: body.as_bytes(),
        };
        assert_eq!(
            received.verify(&exact, digest, &public),
            Ok(()),
            "{}",
            v["name"]
        );
        // The signature covers the base: signing it directly gives the same bytes.
        let base = v["signature_base"].as_str().expect("base");
        let signature = SecretKey::from_seed(&[1; 32]).sign(base.as_bytes());
        assert!(
            v["signature"]
                .as_str()
                .expect("signature")
                .contains(&signature.to_base64())
        );
        for changed in [
            Covered {
                method: "PUT",
                ..exact
            },
            Covered {
                target_uri: &format!("{uri}&x=1"),
                ..exact
            },
            Covered {
                body: b"other",
                ..exact
            },
        ] {
            assert!(
                received.verify(&changed, digest, &public).is_err(),
                "{}",
                v["name"]
            );
        }
    }
}
