//! Allocation vectors, committed in tests/vectors/allocation/ for implementations in other
//! languages: the sampling seed of a value entry (docs/PROTOCOL.md), the random stream and
//! permutations of the sampled measured game, and whole allocation entry bodies, sampled
//! ones included, bit for bit (docs/POLICIES.md, "Sampling").
//!
//! Regenerate (only for a deliberate change): FAIRSHARE_WRITE_VECTORS=1 cargo test --test protocol

use crate::committed::check_or_write;
use fairshare::allocation::{compute, seed};
use fairshare::crypto::{SecretKey, hash};
use fairshare::entry::envelope::sign_envelope;
use fairshare::entry::{EntryId, SignedEntry};
use fairshare::policy::{
    Actor, ActorKind, Contribution, Endorsement, Inputs, MeasuredCoalition, Policy,
};
use fairshare::shapley::sampling::{block_rng, shuffle};
use rand::Rng;
use serde_json::{Value, json};

const SEED_CONTEXT: &str = "fairshare 2026-11 allocation sampling seed v1";

/// The estimator tag of Shapley permutation sampling, 24 bytes (docs/POLICIES.md).
const SHAPLEY_TAG: &[u8; 24] = b"fairshare/shapley/perm\0\0";

fn seed_vector(value_entry: [u8; 32]) -> Value {
    let derived = hash::derive(SEED_CONTEXT, &value_entry);
    json!({
        "value_entry": hex::encode(value_entry),
        "derived_key": hex::encode(derived),
        "seed": seed(&EntryId(value_entry)),
    })
}

fn seeds() -> Value {
    let mut counting = [0u8; 32];
    for (i, byte) in counting.iter_mut().enumerate() {
        *byte = u8::try_from(i).expect("32 bytes");
    }
    json!({
        "description": "seed = the first 8 bytes, big-endian, of BLAKE3 in key-derivation mode \
                        (derive_key) with the context string below over the value entry id's 32 \
                        raw bytes (not its hex), masked to its low 53 bits",
        "context": SEED_CONTEXT,
        "vectors": [
            seed_vector([0; 32]),
            seed_vector([0xff; 32]),
            seed_vector(counting),
            seed_vector(hash::blake3(b"fairshare value entry")),
        ],
    })
}

fn stream(seed: u64, block: u64, words: usize) -> Value {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..].copy_from_slice(SHAPLEY_TAG);
    let mut rng = block_rng(seed, SHAPLEY_TAG, block);
    let words: Vec<u32> = (0..words).map(|_| rng.next_u32()).collect();
    json!({"seed": seed, "block": block, "key": hex::encode(key), "words": words})
}

fn permutations(seed: u64, block: u64, players: usize, count: usize) -> Value {
    let mut rng = block_rng(seed, SHAPLEY_TAG, block);
    let mut order: Vec<usize> = (0..players).collect();
    let list: Vec<Vec<usize>> = (0..count)
        .map(|_| {
            shuffle(&mut rng, &mut order);
            order.clone()
        })
        .collect();
    json!({"seed": seed, "block": block, "players": players, "permutations": list})
}

fn actor(id: &str, kind: ActorKind, operator: Option<&str>) -> Actor {
    Actor {
        id: id.into(),
        kind,
        operator: operator.map(Into::into),
    }
}

fn actors() -> Vec<Actor> {
    vec![
        actor("alice", ActorKind::Human, None),
        actor("bob", ActorKind::Human, None),
        actor("model", ActorKind::Ai, Some("plat")),
        actor("plat", ActorKind::Platform, None),
    ]
}

fn measured(members: &[&str], worth: &str, seq: u64) -> MeasuredCoalition {
    MeasuredCoalition {
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        worth: worth.parse().expect("decimal"),
        seq,
    }
}

/// The inputs as the vector file states them.
fn inputs_json(inputs: &Inputs) -> Value {
    json!({
        "actors": inputs.actors.iter().map(|a| json!({"id": a.id, "kind": a.kind, "operator": a.operator})).collect::<Vec<_>>(),
        "contributions": inputs.contributions.iter().map(|c| json!({"id": c.id, "seq": c.seq, "actor": c.actor,
            "kind": c.kind, "unit": c.unit, "quantity": c.quantity.to_string(), "builds_on": c.builds_on})).collect::<Vec<_>>(),
        "endorsements": inputs.endorsements.iter().map(|e| json!({"contribution": e.contribution,
            "endorser": e.endorser, "accept": e.accept, "seq": e.seq})).collect::<Vec<_>>(),
        "measured": inputs.measured.iter().map(|m| json!({"members": m.members,
            "worth": m.worth.to_string(), "seq": m.seq})).collect::<Vec<_>>(),
    })
}

/// A value entry of `project` under `policy_text`, signed by a fixed test key.
fn value_entry(project: &str, amount: &str, policy_text: &str) -> SignedEntry {
    let key = SecretKey::from_seed(&[7; 32]);
    let policy = format!(
        "blake3:{}",
        hash::to_hex(&hash::blake3(policy_text.as_bytes()))
    );
    let envelope = json!({"v": 3, "type": "value.realized", "actor": "plat",
        "key": key.public_key().key_id().to_string(), "nonce": "vector-value", "ts": "2026-11-29T12:00:00Z",
        "body": {"project": project, "amount": amount, "currency": "EUR", "policy": policy}});
    SignedEntry::parse(&sign_envelope(&envelope, &key, &[]).expect("signs")).expect("valid")
}

/// One allocation: its inputs, the value entry's id and position, and the body `compute`
/// makes of them (what the server signs as the `allocation` entry's body).
fn allocation(name: &str, policy_text: &str, inputs: &Inputs, amount: &str) -> Value {
    Policy::parse(policy_text.as_bytes()).expect("the vector's policy is valid");
    let value_id = EntryId(hash::blake3(name.as_bytes()));
    let value_seq = 100;
    let value = value_entry("p", amount, policy_text);
    json!({
        "name": name,
        "policy_text": policy_text,
        "inputs": inputs_json(inputs),
        "value": {"entry": value_id.to_string(), "seq": value_seq, "project": "p", "amount": amount, "currency": "EUR"},
        "seed": seed(&value_id),
        "body": compute(&value_id, value_seq, &value, policy_text, inputs, &Default::default()),
    })
}

const MEASURED: &str = "name = \"measured\"\n\n[measured]\nfill = \"max-subset\"\n\n[solver]\nexact_limit = 2\nsamples = 1000\n";

const RULES_AND_MEASURED: &str = "name = \"rules-and-measured\"\n\n[[weights]]\nkind = \"text\"\nunit = \"words\"\nweight = 0.01\n\n[measured]\nfill = \"zero\"\nscale = 0.5\n\n[solver]\nexact_limit = 3\nsamples = 5000\ntarget_error = 2\nconfidence = 0.9\n";

fn allocations() -> Value {
    let ab_test = Inputs {
        actors: actors(),
        measured: vec![
            measured(&["alice", "plat"], "60", 1),
            measured(&["alice", "model", "plat"], "90", 2),
            measured(&["plat", "model", "alice"], "100", 3),
            measured(&["plat"], "10", 4),
        ],
        ..Inputs::default()
    };
    let exact = MEASURED.replace("exact_limit = 2", "exact_limit = 3");
    let mut mixed = ab_test.clone();
    mixed.measured.push(measured(&["bob", "alice"], "30", 5));
    mixed
        .measured
        .push(measured(&["alice", "bob", "model", "plat"], "120", 8));
    mixed.contributions.push(Contribution {
        id: "c1".into(),
        seq: 6,
        actor: "bob".into(),
        kind: "text".into(),
        unit: "words".into(),
        quantity: "1500".parse().expect("decimal"),
        builds_on: Vec::new(),
    });
    mixed.endorsements.push(Endorsement {
        contribution: "c1".into(),
        endorser: "alice".into(),
        accept: true,
        seq: 7,
    });
    let nothing = Inputs {
        actors: actors(),
        measured: vec![measured(&["alice"], "0", 1)],
        ..Inputs::default()
    };
    json!({
        "description": "allocation entry bodies: body = compute(value entry, its seq, policy text, inputs); \
                        the seed is derived from value.entry (seeds.json); docs/POLICIES.md, \"Sampling\", \
                        gives the estimator",
        "vectors": [
            allocation("measured game, exact (no rules: method exact)", &exact, &ab_test, "300.00"),
            allocation("measured game, sampled (no rules: method monte-carlo)", MEASURED, &ab_test, "300.00"),
            allocation("rules and a sampled measured game with a target error", RULES_AND_MEASURED, &mixed, "1000.00"),
            allocation("a game worth nothing fails", &exact, &nothing, "10.00"),
        ],
    })
}

fn sampling() -> Value {
    json!({
        "description": "ChaCha8 (64-bit block counter from 0, 64-bit stream id = block index; \
                        key = seed as 8 bytes little-endian then the 24-byte tag \
                        \"fairshare/shapley/perm\" + two zero bytes), each output word a \
                        little-endian u32; permutations by the Fisher-Yates shuffle of \
                        docs/POLICIES.md, applied again and again to the same list",
        "streams": [stream(0, 0, 36), stream(0, 1, 16), stream(seed(&EntryId([0xff; 32])), 3, 16)],
        "permutations": [permutations(7, 0, 3, 8), permutations(7, 1, 5, 4)],
    })
}

#[test]
fn committed_seed_vectors_match_the_code() {
    check_or_write("allocation/seeds.json", &seeds());
}

#[test]
fn committed_sampling_vectors_match_the_code() {
    check_or_write("allocation/sampling.json", &sampling());
}

#[test]
fn committed_allocation_vectors_match_the_code() {
    let vectors = check_or_write("allocation/allocations.json", &allocations());
    let methods: Vec<&str> = vectors["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| {
            v["body"]["allocation"]["method"]
                .as_str()
                .unwrap_or("failed")
        })
        .collect();
    assert_eq!(
        methods,
        [
            "exact",
            "monte-carlo",
            "closed-form/mc-nets+monte-carlo",
            "failed"
        ]
    );
}
