//! From a realized value to its allocation entry. `compute` is pure and deterministic: the
//! server's allocator and the offline verifier both call it with the same log prefix, so
//! every allocation in the log can be reproduced byte for byte. `service::allocator` is the
//! server's shell around it.

pub mod fairplay;
pub mod reproduce;

use crate::crypto::hash;
use crate::entry::body::{
    Body, CoalitionMeasured, Contribution, Decision, Endorsement, ValueRealized,
};
use crate::entry::record::ActorRecord;
use crate::entry::{ActorId, EntryId, SignedEntry};
use crate::policy::{self, Detail, Policy};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// The sampling seed of an allocation: derived from the value entry's id, kept below 2^53
/// so it is an exact JSON number everywhere.
pub fn seed(value_entry: &EntryId) -> u64 {
    let digest = hash::derive(
        "fairshare 2026-11 allocation sampling seed v1",
        &value_entry.0,
    );
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes) & ((1 << 53) - 1)
}

/// The allocation of the value entry `value` (which must be a `value.realized`) over the
/// project's `inputs` (logged before it) under the effects of the `rulings` logged before
/// it, solved under `policy_text`, explained as much as `detail` asks. `Err` is the reason
/// the inputs determine that it cannot be made.
pub fn allocate(
    value_id: &EntryId,
    value: &SignedEntry,
    policy_text: &str,
    inputs: &policy::Inputs,
    rulings: &policy::Rulings,
    detail: Detail,
) -> Result<policy::Allocation, String> {
    // Erasable data (the note's commitment, whose opening can be erased) is bound to `_`
    // by name: a new field forces a decision here, and nothing erasable reaches the policy.
    let Body::ValueRealized(ValueRealized {
        project: _,
        amount,
        currency,
        policy: _,
        note: _,
    }) = &value.envelope.body
    else {
        return Err("not a value.realized entry".into());
    };
    let policy = Policy::parse(policy_text.as_bytes()).map_err(|e| e.to_string())?;
    let realized = policy::Realized {
        amount: *amount,
        currency: currency.code().to_owned(),
        minor_unit_scale: currency.minor_units(),
    };
    policy::allocate_ruled(&policy, inputs, rulings, &realized, seed(value_id), detail)
        .map_err(|e| e.to_string())
}

/// The body of the allocation entry for the value entry `value` at `value_seq`: what the
/// entry must record (every player's exact Shapley value and payout, recipients, method,
/// sampling seed and bound) without the per-contribution breakdown, which
/// `GET /v1/allocations/{id}` recomputes on demand: it would make the entry as large as the
/// project. A failure the inputs determine is an outcome too: `status: failed` and the reason.
pub fn compute(
    value_id: &EntryId,
    value_seq: u64,
    value: &SignedEntry,
    policy_text: &str,
    inputs: &policy::Inputs,
    rulings: &policy::Rulings,
) -> Value {
    let project = match &value.envelope.body {
        Body::ValueRealized(realized) => realized.project.as_str(),
        _ => "",
    };
    let outcome = allocate(
        value_id,
        value,
        policy_text,
        inputs,
        rulings,
        Detail::Figures,
    )
    .and_then(|allocation| {
        let mut compact = serde_json::to_value(&allocation).map_err(|e| e.to_string())?;
        if let Some(object) = compact.as_object_mut() {
            object.remove("excluded");
        }
        for player in compact["players"].as_array_mut().into_iter().flatten() {
            if let Some(object) = player.as_object_mut() {
                object.remove("breakdown");
            }
        }
        Ok(compact)
    });
    // The inputs are the log up to and including the value entry.
    let tree_size = value_seq + 1;
    match outcome {
        Ok(allocation) => {
            json!({"value_entry": value_id.to_string(), "project": project, "tree_size": tree_size,
                                 "status": "ok", "allocation": allocation})
        }
        Err(reason) => {
            json!({"value_entry": value_id.to_string(), "project": project, "tree_size": tree_size,
                              "status": "failed", "reason": reason})
        }
    }
}

/// A project's input records from its log entries, given in log order as (seq, id, entry):
/// how the offline verifier reads them (the allocator reads the same records from the
/// store's projection). Entries of other types are skipped; `actors` is left to
/// [`name_actors`].
///
/// Allocation inputs never depend on erasable data (PRIVACY.md): every body field is bound
/// here by name, commitments (`evidence`, `note`) to `_`, so that erasing a disclosure can
/// never change an allocation and a new body field cannot slip in unseen.
pub fn records_from_entries<'a>(
    entries: impl IntoIterator<Item = (u64, EntryId, &'a SignedEntry)>,
) -> policy::Inputs {
    let mut records = policy::Inputs::default();
    for (seq, id, entry) in entries {
        let actor = &entry.envelope.actor;
        match &entry.envelope.body {
            Body::Contribution(Contribution {
                project: _,
                kind,
                quantity,
                unit,
                evidence: _,
                builds_on,
                note: _,
            }) => records.contributions.push(policy::Contribution {
                id: id.to_string(),
                seq,
                actor: actor.to_string(),
                kind: kind.to_string(),
                unit: unit.to_string(),
                quantity: *quantity,
                builds_on: builds_on.iter().map(ToString::to_string).collect(),
            }),
            Body::Endorsement(Endorsement {
                contribution,
                decision,
                note: _,
            }) => records.endorsements.push(policy::Endorsement {
                contribution: contribution.to_string(),
                endorser: actor.to_string(),
                accept: *decision == Decision::Accept,
                seq,
            }),
            Body::CoalitionMeasured(CoalitionMeasured {
                project: _,
                members,
                value,
                note: _,
            }) => records.measured.push(policy::MeasuredCoalition {
                members: members.iter().map(ToString::to_string).collect(),
                worth: *value,
                seq,
            }),
            _ => {}
        }
    }
    records
}

/// The policy's inputs from a project's input records (each list in log order, however
/// they were read): `actors` lists every registered actor the records name, in the order
/// the log first names them, each newly named AI's operator right after it. Both the
/// allocator and the offline verifier end here, so they hand the policy identical inputs.
pub fn name_actors(
    mut records: policy::Inputs,
    registry: &HashMap<ActorId, ActorRecord>,
) -> policy::Inputs {
    records.actors = named_actors(&records, registry);
    records
}

fn named_actors(
    records: &policy::Inputs,
    registry: &HashMap<ActorId, ActorRecord>,
) -> Vec<policy::Actor> {
    let mut named: Vec<(u64, &str)> = Vec::with_capacity(
        records.contributions.len() + records.endorsements.len() + records.measured.len(),
    );
    named.extend(
        records
            .contributions
            .iter()
            .map(|c| (c.seq, c.actor.as_str())),
    );
    named.extend(
        records
            .endorsements
            .iter()
            .map(|e| (e.seq, e.endorser.as_str())),
    );
    for m in &records.measured {
        named.extend(m.members.iter().map(|a| (m.seq, a.as_str())));
    }
    // Stable: a measurement's members keep their listed order.
    named.sort_by_key(|&(seq, _)| seq);

    let by_id: HashMap<&str, &ActorRecord> =
        registry.iter().map(|(id, r)| (id.as_str(), r)).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut actors = Vec::new();
    // Adds a registered actor once; returns its operator when it was new.
    let mut add = |id: &str, actors: &mut Vec<policy::Actor>| {
        let (&id, &record) = by_id.get_key_value(id)?;
        if !seen.insert(id) {
            return None;
        }
        actors.push(policy::Actor {
            id: id.to_owned(),
            kind: record.kind,
            operator: record.operator.as_ref().map(ToString::to_string),
        });
        record.operator.as_ref()
    };
    for (_, id) in named {
        if let Some(operator) = add(id, &mut actors) {
            add(operator.as_str(), &mut actors);
        }
    }
    actors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::entry::ActorKind;
    use crate::entry::envelope::sign_envelope;

    const POLICY: &str = include_str!("../../policies/default.toml");

    fn entry(actor: &str, seed: u8, entry_type: &str, nonce: &str, body: Value) -> SignedEntry {
        let key = SecretKey::from_seed(&[seed; 32]);
        let envelope = json!({"v": 3, "type": entry_type, "actor": actor, "key": key.public_key().key_id().to_string(),
                              "nonce": nonce, "ts": "2026-11-29T12:00:00Z", "body": body});
        SignedEntry::parse(&sign_envelope(&envelope, &key, &[]).expect("signs")).expect("valid")
    }

    #[test]
    fn the_same_log_gives_byte_identical_allocations_on_any_thread_count() {
        let text = |i: usize, actor: &str| {
            entry(
                actor,
                1,
                "contribution",
                &format!("nonce-{i:04}"),
                json!({"project": "p", "kind": "text",
                "measure": {"quantity": format!("{}", 100 + i * 7), "unit": "words"}, "evidence": format!("commit:{}", "00".repeat(32))}),
            )
        };
        let entries: Vec<SignedEntry> = (0..200)
            .map(|i| text(i, ["alice", "bob", "scribe"][i % 3]))
            .collect();
        let records = records_from_entries(entries.iter().enumerate().map(|(i, e)| {
            (
                i as u64,
                EntryId([u8::try_from(i).expect("a short log"); 32]),
                e,
            )
        }));
        let mut actors = HashMap::new();
        for (id, kind) in [
            ("alice", ActorKind::Human),
            ("bob", ActorKind::Human),
            ("acme", ActorKind::Platform),
        ] {
            actors.insert(
                ActorId::parse(id).expect("id"),
                ActorRecord {
                    kind,
                    operator: None,
                },
            );
        }
        actors.insert(
            ActorId::parse("scribe").expect("id"),
            ActorRecord {
                kind: ActorKind::Ai,
                operator: Some(ActorId::parse("acme").expect("id")),
            },
        );
        let value = entry(
            "acme",
            2,
            "value.realized",
            "nonce-value",
            json!({"project": "p", "amount": "999.99", "currency": "EUR",
            "policy": format!("blake3:{}", crate::crypto::hash::to_hex(&crate::crypto::hash::blake3(POLICY.as_bytes())))}),
        );
        let inputs = name_actors(records, &actors);
        let value_id = EntryId([200; 32]);
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            pool.install(|| {
                let rulings = policy::Rulings::default();
                serde_json::to_vec(&compute(&value_id, 200, &value, POLICY, &inputs, &rulings))
                    .expect("json")
            })
        };
        let once = on(1);
        assert!(
            String::from_utf8_lossy(&once).contains("\"status\":\"ok\""),
            "{}",
            String::from_utf8_lossy(&once)
        );
        assert_eq!(on(2), once);
        assert_eq!(on(3), once);
        assert_eq!(on(1), once);
    }

    /// Allocation inputs never depend on erasable data: two logs that differ only in every
    /// commitment (evidence and notes, whose openings an erasure deletes) allocate alike.
    #[test]
    fn allocations_never_read_commitments() {
        let commitment = |salt: u8| format!("commit:{}", hash::to_hex(&[salt; 32]));
        let allocate_log = |salt: u8| {
            let contributions: Vec<SignedEntry> = (0..6u8)
                .map(|i| {
                    entry(["alice", "bob"][usize::from(i % 2)], 1 + i % 2, "contribution", &format!("nonce-{i:04}"),
                          json!({"project": "p", "kind": "text", "measure": {"quantity": format!("{}", 10 + i), "unit": "words"},
                                 "evidence": commitment(salt.wrapping_add(i)), "note": commitment(salt ^ i)}))
                })
                .collect();
            let records = records_from_entries(
                contributions
                    .iter()
                    .zip(0u8..)
                    .map(|(e, i)| (u64::from(i), EntryId([i; 32]), e)),
            );
            let actors: HashMap<ActorId, ActorRecord> = ["alice", "bob"]
                .into_iter()
                .map(|id| {
                    (
                        ActorId::parse(id).expect("id"),
                        ActorRecord {
                            kind: ActorKind::Human,
                            operator: None,
                        },
                    )
                })
                .collect();
            let value = entry(
                "acme",
                3,
                "value.realized",
                "nonce-value",
                json!({"project": "p", "amount": "10.00", "currency": "EUR", "note": commitment(salt),
                       "policy": format!("blake3:{}", hash::to_hex(&hash::blake3(POLICY.as_bytes())))}),
            );
            compute(
                &EntryId([9; 32]),
                6,
                &value,
                POLICY,
                &name_actors(records, &actors),
                &policy::Rulings::default(),
            )
        };
        let one = allocate_log(1);
        assert_eq!(one["status"], "ok", "{one}");
        assert_eq!(allocate_log(200), one);
    }
}
