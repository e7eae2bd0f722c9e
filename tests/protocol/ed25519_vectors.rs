//! Ed25519 edge cases from "Taming the many EdDSAs" (tests/vectors/ed25519/speccheck.json,
//! origin recorded there): each signature's verdict under PROTOCOL.md's rules, one by one
//! and in batches, which must agree on every vector.

use fairshare::crypto::{PublicKey, Signature, SignatureCheck, verify_batch};
use serde_json::Value;
use std::path::PathBuf;

struct Case {
    index: u64,
    condition: String,
    message: Vec<u8>,
    /// `None` when the public key itself is refused.
    key: Option<PublicKey>,
    signature: Signature,
    valid: bool,
}

fn cases() -> Vec<Case> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/ed25519/speccheck.json");
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vector file")).expect("json");
    let hex_of =
        |v: &Value, field: &str| hex::decode(v[field].as_str().expect(field)).expect("hex");
    file["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| Case {
            index: v["index"].as_u64().expect("index"),
            condition: v["condition"].as_str().expect("condition").to_owned(),
            message: hex_of(v, "message"),
            key: PublicKey::from_bytes(&hex_of(v, "public_key")).ok(),
            signature: Signature::from_bytes(&hex_of(v, "signature")).expect("64 bytes"),
            valid: v["valid"].as_bool().expect("valid"),
        })
        .collect()
}

fn check(case: &Case) -> Option<SignatureCheck<'_>> {
    Some(SignatureCheck {
        key: case.key.as_ref()?,
        message: &case.message,
        signature: &case.signature,
    })
}

#[test]
fn every_vector_gets_its_published_verdict_alone_and_in_a_batch() {
    let cases = cases();
    assert_eq!(cases.len(), 10);
    for case in &cases {
        let single = case
            .key
            .is_some_and(|key| key.verify(&case.message, &case.signature).is_ok());
        let batch = check(case).is_some_and(|c| verify_batch(&[c]).is_ok());
        assert_eq!(
            single, case.valid,
            "vector {}: {}",
            case.index, case.condition
        );
        assert_eq!(
            batch, case.valid,
            "batch, vector {}: {}",
            case.index, case.condition
        );
    }
}

#[test]
fn a_batch_of_the_valid_vectors_passes_and_any_invalid_one_fails_it() {
    let cases = cases();
    let valid: Vec<SignatureCheck<'_>> =
        cases.iter().filter(|c| c.valid).filter_map(check).collect();
    assert_eq!(valid.len(), 3);
    assert_eq!(verify_batch(&valid), Ok(()));
    for bad in cases.iter().filter(|c| !c.valid).filter_map(check) {
        let mut mixed = valid.clone();
        mixed.insert(1, bad);
        assert!(verify_batch(&mixed).is_err());
    }
}

#[test]
fn the_cofactorless_check_refuses_what_only_the_cofactored_equation_accepts() {
    // Vectors 4 and 5 are where RFC 8032's cofactored equation and ed25519-dalek's
    // `verify_strict` (cofactorless) part ways: the reason PROTOCOL.md names the equation.
    for case in cases().iter().filter(|c| c.index == 4 || c.index == 5) {
        let key = ed25519_dalek::VerifyingKey::from_bytes(
            &case.key.expect("mixed-order key is accepted").to_bytes(),
        )
        .expect("key");
        let signature = ed25519_dalek::Signature::from_bytes(&case.signature.to_bytes());
        assert!(key.verify_strict(&case.message, &signature).is_err());
        assert!(case.valid);
    }
}
