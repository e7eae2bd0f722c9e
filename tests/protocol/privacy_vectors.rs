//! Commitment and disclosure vectors (PROTOCOL.md, "Commitments, disclosures and
//! erasures"), committed in tests/vectors/privacy/ for implementations in other languages;
//! the erasure entry itself is among the entry vectors.
//!
//! Regenerate (only for a deliberate protocol change): FAIRSHARE_WRITE_VECTORS=1 cargo test --test protocol

use crate::committed::check_or_write;
use crate::entry_vectors;
use fairshare::crypto::commit::{Commitment, Purpose, Salt};
use fairshare::crypto::hash;
use fairshare::entry::SignedEntry;
use fairshare::entry::privacy::{CommittedField, Disclosure, parse_deposit};
use serde_json::{Value, json};

fn commitment_case(purpose: Purpose, salt_byte: u8, content: &[u8], about: &str) -> Value {
    let salt = Salt([salt_byte; 32]);
    let mut material = salt.0.to_vec();
    material.extend_from_slice(content);
    json!({
        "about": about,
        "purpose": format!("{purpose:?}"),
        "context": purpose.context(),
        "salt_hex": salt.to_hex(),
        "content_hex": hex::encode(content),
        "material_hex": hex::encode(&material),
        "commitment": Commitment::new(purpose, &salt, content).to_string(),
    })
}

fn vectors() -> Value {
    let artifact = b"chapter one";
    let commitments = vec![
        commitment_case(
            Purpose::ActorName,
            0x11,
            "Alice Ünicode €".as_bytes(),
            "an actor's name, UTF-8",
        ),
        commitment_case(Purpose::Note, 0x13, b"first draft, with Bob", "a note"),
        commitment_case(
            Purpose::Note,
            0x14,
            b"first draft, with Bob",
            "the same note under another salt",
        ),
        commitment_case(Purpose::Note, 0x00, b"", "an empty note"),
        commitment_case(
            Purpose::Reason,
            0x15,
            b"laptop lost",
            "a key revocation's reason",
        ),
        commitment_case(
            Purpose::Evidence,
            0x12,
            &hash::blake3(artifact),
            "evidence: the 32 raw bytes of blake3(\"chapter one\")",
        ),
    ];
    // The contribution of the entry vectors commits to its evidence and note with salts
    // 0x12.. and 0x13..: these deposits open them, and the wrong ones do not.
    let entries = entry_vectors::vectors();
    let contribution = &entries["vectors"][1];
    let entry_id = contribution["entry_id"].clone();
    let deposit = |note: &str, salt_byte: u8| {
        json!({"entry": entry_id, "disclosures": [
            {"field": "evidence", "cleartext": format!("blake3:{}", hash::to_hex(&hash::blake3(artifact))),
             "salt": Salt([0x12; 32]).to_hex()},
            {"field": "note", "cleartext": note, "salt": Salt([salt_byte; 32]).to_hex()}]})
    };
    json!({
        "description": "commitment = blake3 derive_key(context, salt || content); written \"commit:\" || lowercase hex; salt = 32 bytes, lowercase hex; content = UTF-8 of the text, or the 32 raw bytes of the artifact's blake3 digest for evidence",
        "commitments": commitments,
        "disclosures": [
            {"about": "opens the contribution vector's evidence and note", "leaf": contribution["leaf"],
             "deposit": deposit("first draft, with Bob", 0x13), "opens": true},
            {"about": "a changed cleartext opens nothing", "leaf": contribution["leaf"],
             "deposit": deposit("first draft, with Bob!", 0x13), "opens": false},
            {"about": "another salt opens nothing", "leaf": contribution["leaf"],
             "deposit": deposit("first draft, with Bob", 0x14), "opens": false},
        ],
    })
}

#[test]
fn committed_privacy_vectors_match_the_code() {
    check_or_write("privacy/commitments.json", &vectors());
}

#[test]
fn commitments_are_blake3_key_derivation_over_salt_and_content() {
    for case in vectors()["commitments"].as_array().expect("list") {
        let material = hex::decode(case["material_hex"].as_str().expect("hex")).expect("hex");
        let derived = blake3::derive_key(case["context"].as_str().expect("context"), &material);
        assert_eq!(
            case["commitment"],
            format!("commit:{}", hash::to_hex(&derived))
        );
    }
}

#[test]
fn deposits_open_the_leaf_exactly_when_the_vector_says() {
    for case in vectors()["disclosures"].as_array().expect("list") {
        let leaf = case["leaf"].as_str().expect("leaf").as_bytes();
        let (entry, _) = SignedEntry::from_leaf(leaf).expect("leaf");
        let (_, disclosures) = parse_deposit(&case["deposit"]).expect("deposit");
        let opens = disclosures.iter().all(|d| d.opens(&entry.envelope.body));
        assert_eq!(Value::Bool(opens), case["opens"], "{}", case["about"]);
    }
}

#[test]
fn a_disclosure_for_another_field_never_opens() {
    let (_, note) = Disclosure::commit(CommittedField::Note, "n".into()).expect("commits");
    let leaf = entry_vectors::vectors()["vectors"][0]["leaf"].clone();
    let (registration, _) =
        SignedEntry::from_leaf(leaf.as_str().expect("leaf").as_bytes()).expect("leaf");
    assert!(!note.opens(&registration.envelope.body));
}

mod properties {
    use fairshare::crypto::commit::Commitment;
    use fairshare::entry::privacy::{CommittedField, Disclosure, parse_deposit};
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// Fresh salts: committing to the same cleartext twice never gives the same
        /// commitment, so equal notes cannot be linked through the log.
        #[test]
        fn equal_cleartexts_never_repeat_a_commitment(text in "\\PC{0,64}", field in 0usize..3) {
            let field = [CommittedField::Name, CommittedField::Note, CommittedField::Reason][field];
            let (first, a) = Disclosure::commit(field, text.clone()).expect("commits");
            let (second, b) = Disclosure::commit(field, text).expect("commits");
            prop_assert_ne!(first, second);
            prop_assert_ne!(a.salt, b.salt);
        }

        /// Only `commit:` and 64 lowercase hex characters parse, and they print back the same.
        #[test]
        fn commitment_parsing_accepts_exactly_its_form(text in "(commit:)?[0-9a-fA-F:]{0,70}") {
            let well_formed = text.len() == 71
                && text.starts_with("commit:")
                && text[7..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            match Commitment::parse(&text) {
                Ok(c) => {
                    prop_assert!(well_formed);
                    prop_assert_eq!(c.to_string(), text);
                }
                Err(_) => prop_assert!(!well_formed),
            }
        }

        /// Any change to one character of a commitment's hex is another commitment or none.
        #[test]
        fn a_changed_commitment_never_opens(text in "\\PC{0,32}", at in 0usize..64) {
            let (commitment, disclosure) =
                Disclosure::commit(CommittedField::Note, text).expect("commits");
            let mut printed = commitment.to_string().into_bytes();
            let i = 7 + at;
            printed[i] = if printed[i] == b'0' { b'1' } else { b'0' };
            let changed = Commitment::parse(std::str::from_utf8(&printed).expect("ascii")).expect("form");
            prop_assert_ne!(disclosure.commitment().expect("commitment"), changed);
        }

        /// A deposit never panics, whatever JSON it is.
        #[test]
        fn deposits_of_any_shape_parse_or_are_refused(field in "\\PC{0,10}", salt in "[0-9a-f]{0,66}", text in "\\PC{0,20}") {
            let value = json!({"entry": "ab".repeat(32), "disclosures": [{"field": field, "cleartext": text, "salt": salt}]});
            let _ = parse_deposit(&value);
        }
    }
}
