//! Entry vectors: fixed keys and envelopes with their canonical bytes, signing message,
//! signatures, leaf bytes, entry id and leaf hash, committed in tests/vectors/entry/ for
//! implementations in other languages. The committed file must equal what the code makes.
//!
//! Regenerate (only for a deliberate protocol change): FAIRSHARE_WRITE_VECTORS=1 cargo test --test protocol

use crate::committed::check_or_write;
use fairshare::crypto::commit::{Commitment, Purpose, Salt};
use fairshare::crypto::{SecretKey, hash};
use fairshare::entry::SignedEntry;
use fairshare::entry::envelope::sign_envelope;
use fairshare::ledger::merkle::leaf_hash;
use serde_json::{Value, json};

/// The commitment to `content` for `purpose` under the salt of 32 bytes `salt_byte`.
pub fn commitment(purpose: Purpose, salt_byte: u8, content: &[u8]) -> String {
    Commitment::new(purpose, &Salt([salt_byte; 32]), content).to_string()
}

fn key(byte: u8) -> SecretKey {
    SecretKey::from_seed(&[byte; 32])
}

fn vector(
    name: &str,
    envelope: Value,
    signer: &SecretKey,
    cosigners: &[(&str, &SecretKey)],
) -> Value {
    let cosigners: Vec<_> = cosigners
        .iter()
        .map(|(a, k)| (fairshare::entry::ActorId::parse(a).expect("actor"), *k))
        .collect();
    let submitted = sign_envelope(&envelope, signer, &cosigners).expect("signs");
    let entry = SignedEntry::parse(&submitted).expect("valid entry");
    let received_at = "2026-11-29T12:00:00.123456Z";
    let leaf = entry.leaf_bytes(received_at);
    json!({
        "name": name,
        "signer_seed_hex": hex::encode(signer.seed()),
        "signer_public_key": signer.public_key().to_base64(),
        "signer_key_id": signer.public_key().key_id().to_string(),
        "cosigner_seeds_hex": cosigners.iter().map(|(_, k)| hex::encode(k.seed())).collect::<Vec<_>>(),
        "submitted": submitted,
        "canonical_envelope": String::from_utf8(entry.canonical_envelope().to_vec()).expect("utf-8"),
        "signing_message_hex": hex::encode(entry.signing_message()),
        "received_at": received_at,
        "leaf": String::from_utf8(leaf.clone()).expect("utf-8"),
        "entry_id": hash::to_hex(&hash::blake3(&leaf)),
        "leaf_hash": hash::to_hex(&leaf_hash(&leaf)),
    })
}

pub fn vectors() -> Value {
    let (alice, acme, scribe) = (key(1), key(2), key(3));
    let registration = json!({
        "v": 3, "type": "actor.registered", "actor": "alice", "key": alice.public_key().key_id().to_string(),
        "nonce": "vector-0001", "ts": "2026-11-29T12:00:00Z",
        "body": {"kind": "human", "public_key": alice.public_key().to_base64(),
                 "name": commitment(Purpose::ActorName, 0x11, "Alice Ünicode €".as_bytes())},
    });
    let contribution = json!({
        "v": 3, "type": "contribution", "actor": "alice", "key": alice.public_key().key_id().to_string(),
        "nonce": "vector-0002", "ts": "2026-11-29T12:00:00Z",
        "body": {"project": "novel", "kind": "draft", "measure": {"quantity": "1200.5", "unit": "words"},
                 "evidence": commitment(Purpose::Evidence, 0x12, &hash::blake3(b"chapter one")), "builds_on": [],
                 "note": commitment(Purpose::Note, 0x13, b"first draft, with Bob")},
    });
    let ai = json!({
        "v": 3, "type": "actor.registered", "actor": "scribe", "key": scribe.public_key().key_id().to_string(),
        "nonce": "vector-0003", "ts": "2026-11-29T12:00:00Z",
        "body": {"kind": "ai", "public_key": scribe.public_key().to_base64(), "operator": "acme",
                 "model": {"name": "scribe", "version": "2.1"}},
    });
    let policy = format!("blake3:{}", hash::to_hex(&hash::blake3(b"name = \"p\"\n")));
    let acme_entry = |nonce: &str, entry_type: &str, body: Value| {
        json!({
            "v": 3, "type": entry_type, "actor": "acme", "key": acme.public_key().key_id().to_string(),
            "nonce": nonce, "ts": "2026-11-29T12:00:00Z", "body": body,
        })
    };
    let opened = acme_entry(
        "vector-0004",
        "project.opened",
        json!({"project": "novel", "currency": "EUR", "membership": "members",
               "policies": [policy], "realizers": ["shop"]}),
    );
    let updated = acme_entry(
        "vector-0005",
        "project.updated",
        json!({"project": "novel", "owner": "shop", "realizers": []}),
    );
    let members = acme_entry(
        "vector-0006",
        "project.members",
        json!({"project": "novel", "admit": ["alice", "scribe"], "remove": ["bob"]}),
    );
    let server = key(4);
    let limits = json!({
        "v": 3, "type": "limits.set", "actor": "server", "key": server.public_key().key_id().to_string(),
        "nonce": "vector-0007", "ts": "2026-11-29T12:00:00Z",
        "body": {"exact_players": 20, "sampled_marginals": 10_000_000, "measured_players": 100, "measurements": 256},
    });
    let registered = vector("human registration", registration, &alice, &[]);
    let erasure = json!({
        "v": 3, "type": "erasure", "actor": "alice", "key": alice.public_key().key_id().to_string(),
        "nonce": "vector-0008", "ts": "2026-11-29T12:00:00Z",
        "body": {"authority": "subject", "erased": [
            {"entry": registered["entry_id"], "field": "name",
             "commitment": commitment(Purpose::ActorName, 0x11, "Alice Ünicode €".as_bytes())}]},
    });
    json!({
        "description": "fairshare entry vectors: signature = ed25519(signing_message); signing_message = \"fairshare/entry/v1\\n\" || canonical_envelope (RFC 8785); leaf = RFC 8785 of {envelope, signature, cosignatures?, received_at}; entry_id = blake3(leaf); leaf_hash = SHA-256(0x00 || leaf)",
        "vectors": [
            registered,
            vector("contribution", contribution, &alice, &[]),
            vector("ai registration co-signed by its operator", ai, &scribe, &[("acme", &acme)]),
            vector("project opened by its owner", opened, &acme, &[]),
            vector("project handed over", updated, &acme, &[]),
            vector("project members admitted and removed", members, &acme, &[]),
            vector("solver limits, signed by the server key", limits, &server, &[]),
            vector("erasure by the data subject", erasure, &alice, &[]),
        ],
    })
}

#[test]
fn committed_entry_vectors_match_the_code() {
    check_or_write("entry/entries.json", &vectors());
}

#[test]
fn every_vector_verifies_independently() {
    for v in vectors()["vectors"].as_array().expect("list") {
        let public =
            fairshare::crypto::PublicKey::from_base64(v["signer_public_key"].as_str().expect("pk"))
                .expect("key");
        let message = hex::decode(v["signing_message_hex"].as_str().expect("msg")).expect("hex");
        let signature = fairshare::crypto::Signature::from_base64(
            v["submitted"]["signature"].as_str().expect("sig"),
        )
        .expect("sig");
        assert_eq!(public.verify(&message, &signature), Ok(()));
        let leaf = v["leaf"].as_str().expect("leaf").as_bytes();
        assert_eq!(v["entry_id"], hash::to_hex(&hash::blake3(leaf)));
    }
}
