//! Reproducing allocations while replaying a log: follow the entries in order, and recompute
//! each allocation entry from what the log held before its value entry.

use super::fairplay::{FairPlay, Target};
use super::{compute, name_actors, records_from_entries};
use crate::entry::body::Body;
use crate::entry::record::ActorRecord;
use crate::entry::{ActorId, ContentDigest, EntryId, EntryType, SignedEntry, Slug};
use crate::ledger::names::Names;
use crate::ledger::replay::{Observer, Replayed};
use crate::policy;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;

/// What the log said so far that allocations depend on, kept as compact records (the
/// policy's input records per project, each name held once in `names`, not the entries),
/// so the replay can drop each entry once it is checked and hold little per entry: a
/// project's records are kept for as long as a later value of it may need them, that is
/// to the end, and a value entry until its allocation.
#[derive(Default)]
pub struct Reproducer {
    actors: HashMap<ActorId, ActorRecord>,
    policies: HashMap<ContentDigest, String>,
    projects: Names<Slug>,
    /// Each contribution's project (its number in `projects`), for its endorsements.
    contribution_projects: HashMap<EntryId, u32>,
    /// Per project (by number), its input records.
    project_records: HashMap<u32, KeptRecords>,
    /// Actor ids, kinds and units of the kept records.
    names: Names<String>,
    /// Value entries not allocated yet.
    values: HashMap<EntryId, (u64, SignedEntry)>,
    /// Affiliations, disputes and rulings.
    fair_play: FairPlay,
}

/// A project's input records as the reproducer keeps them.
#[derive(Default)]
struct KeptRecords {
    contributions: Vec<KeptContribution>,
    endorsements: Vec<KeptEndorsement>,
    measured: Vec<policy::MeasuredCoalition>,
    /// The entry id of each measurement, in `measured`'s order (a dispute may name one).
    measured_ids: Vec<EntryId>,
}

/// A [`policy::Contribution`] with its id as 32 bytes and its strings as numbers in the
/// reproducer's `names` (about 90 bytes instead of about 300).
struct KeptContribution {
    id: EntryId,
    seq: u64,
    actor: u32,
    kind: u32,
    unit: u32,
    quantity: Decimal,
    builds_on: Box<[String]>,
}

/// A [`policy::Endorsement`] with its endorser as a number in `names`.
struct KeptEndorsement {
    /// Its own entry id (a dispute may name it).
    id: EntryId,
    contribution: String,
    endorser: u32,
    accept: bool,
    seq: u64,
}

impl Observer for Reproducer {
    fn observe(&mut self, replayed: &Replayed<'_>) -> Result<(), String> {
        self.follow(replayed.seq, replayed.id, replayed.entry)
    }
}

impl Reproducer {
    /// Takes entry `seq` (already accepted by the rules) into account; for an allocation,
    /// recomputes it and explains the first difference.
    pub fn follow(&mut self, seq: u64, id: EntryId, entry: &SignedEntry) -> Result<(), String> {
        let env = &entry.envelope;
        let project = match &env.body {
            Body::ActorRegistered(reg) => {
                self.actors.insert(
                    env.actor.clone(),
                    ActorRecord {
                        kind: reg.kind,
                        operator: reg.operator.clone(),
                    },
                );
                None
            }
            Body::PolicyAdopted(policy) => {
                self.policies.insert(policy.hash, policy.text.clone());
                None
            }
            Body::Contribution(c) => {
                let project = self.projects.number(&c.project)?;
                self.contribution_projects.insert(id, project);
                Some(project)
            }
            Body::Endorsement(e) => self.contribution_projects.get(&e.contribution).copied(),
            Body::CoalitionMeasured(m) => Some(self.projects.number(&m.project)?),
            Body::ValueRealized(_) => {
                self.values.insert(id, (seq, entry.clone()));
                None
            }
            Body::Allocation(recorded) => {
                // The rules let one allocation answer a value entry: it is not needed after.
                let (value_seq, value) = self
                    .values
                    .remove(&recorded.value_entry)
                    .ok_or("allocates an unknown value entry")?;
                let Body::ValueRealized(realized) = &value.envelope.body else {
                    return Err("allocates a non-value entry".into());
                };
                let text = self
                    .policies
                    .get(&realized.policy)
                    .ok_or("names a policy that was not adopted")?;
                let inputs = self.project_inputs(&realized.project, value_seq);
                let rulings = self.fair_play.rulings_before(value_seq, &self.actors);
                let expected = compute(
                    &recorded.value_entry,
                    value_seq,
                    &value,
                    text,
                    &inputs,
                    &rulings,
                );
                if &expected != entry.body_json() {
                    return Err(difference(&expected, entry.body_json()));
                }
                None
            }
            // A project's terms decide what the rules accept, not how a value is split.
            Body::KeyRotated(_)
            | Body::KeyRevoked(_)
            | Body::ProjectOpened(_)
            | Body::ProjectUpdated(_)
            | Body::ProjectMembers(_)
            | Body::LimitsSet(_)
            | Body::Erasure(_)
            | Body::ReadGranted(_)
            | Body::ReadRevoked(_) => None,
            Body::Affiliation(_) | Body::Ruling(_) => {
                self.fair_play.follow(seq, id, entry, None);
                None
            }
            Body::Dispute(d) => {
                let target = self.locate(&d.target);
                self.fair_play.follow(seq, id, entry, target);
                None
            }
        };
        if let Some(project) = project {
            self.keep(project, id, records_from_entries([(seq, id, entry)]))?;
        }
        Ok(())
    }

    /// Keeps the input records of entry `id` for `project`, compactly.
    fn keep(&mut self, project: u32, id: EntryId, records: policy::Inputs) -> Result<(), String> {
        let names = &mut self.names;
        let kept = self.project_records.entry(project).or_default();
        for c in records.contributions {
            kept.contributions.push(KeptContribution {
                id,
                seq: c.seq,
                actor: names.number(&c.actor)?,
                kind: names.number(&c.kind)?,
                unit: names.number(&c.unit)?,
                quantity: c.quantity,
                builds_on: c.builds_on.into_boxed_slice(),
            });
        }
        for e in records.endorsements {
            kept.endorsements.push(KeptEndorsement {
                id,
                contribution: e.contribution,
                endorser: names.number(&e.endorser)?,
                accept: e.accept,
                seq: e.seq,
            });
        }
        kept.measured_ids
            .extend(std::iter::repeat_n(id, records.measured.len()));
        kept.measured.extend(records.measured);
        Ok(())
    }

    /// Where the log holds the allocation input `id`, if it is one: a linear search, run
    /// once per dispute (rare), so the kept records need no index by id.
    fn locate(&self, id: &EntryId) -> Option<Target> {
        let located = |seq, entry_type| Some(Target { seq, entry_type });
        if let Some(project) = self.contribution_projects.get(id) {
            let kept = self.project_records.get(project)?;
            let c = kept.contributions.iter().find(|c| &c.id == id)?;
            return located(c.seq, EntryType::Contribution);
        }
        for kept in self.project_records.values() {
            if let Some(e) = kept.endorsements.iter().find(|e| &e.id == id) {
                return located(e.seq, EntryType::Endorsement);
            }
            if let Some(i) = kept.measured_ids.iter().position(|m| m == id) {
                return located(kept.measured[i].seq, EntryType::CoalitionMeasured);
            }
        }
        None
    }

    /// The policy's inputs for a value of `project` at `before_seq`, from the entries
    /// observed so far.
    pub fn project_inputs(&self, project: &Slug, before_seq: u64) -> policy::Inputs {
        let kept = self
            .projects
            .find(project)
            .and_then(|number| self.project_records.get(&number));
        let Some(kept) = kept else {
            return name_actors(policy::Inputs::default(), &self.actors);
        };
        let before = |seq: u64| seq < before_seq;
        let name = |number: u32| self.names.name(number).clone();
        let records = policy::Inputs {
            actors: Vec::new(),
            contributions: kept
                .contributions
                .iter()
                .filter(|c| before(c.seq))
                .map(|c| policy::Contribution {
                    id: c.id.to_string(),
                    seq: c.seq,
                    actor: name(c.actor),
                    kind: name(c.kind),
                    unit: name(c.unit),
                    quantity: c.quantity,
                    builds_on: c.builds_on.to_vec(),
                })
                .collect(),
            endorsements: kept
                .endorsements
                .iter()
                .filter(|e| before(e.seq))
                .map(|e| policy::Endorsement {
                    contribution: e.contribution.clone(),
                    endorser: name(e.endorser),
                    accept: e.accept,
                    seq: e.seq,
                })
                .collect(),
            measured: kept
                .measured
                .iter()
                .filter(|m| before(m.seq))
                .cloned()
                .collect(),
        };
        name_actors(records, &self.actors)
    }
}

/// Names the first player whose figures differ, with both figures.
fn difference(expected: &Value, recorded: &Value) -> String {
    let players = |v: &Value| {
        v["allocation"]["players"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    for e in players(expected) {
        let r = players(recorded)
            .into_iter()
            .find(|r| r["actor"] == e["actor"])
            .unwrap_or(Value::Null);
        for field in ["shapley_value", "payout", "paid_to"] {
            if e[field] != r[field] {
                return format!(
                    "the allocation differs for player {}: {field} recomputed {}, recorded {}",
                    e["actor"], e[field], r[field]
                );
            }
        }
    }
    format!(
        "the allocation differs from its recomputation: recomputed {expected}, recorded {recorded}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{SecretKey, hash};
    use crate::entry::envelope::sign_envelope;
    use serde_json::json;

    const POLICY: &str = include_str!("../../policies/proportional.toml");

    fn entry(
        actor: &str,
        key: &SecretKey,
        entry_type: &str,
        nonce: &str,
        body: Value,
    ) -> SignedEntry {
        let envelope = json!({"v": 3, "type": entry_type, "actor": actor, "key": key.public_key().key_id().to_string(),
                              "nonce": nonce, "ts": "2026-11-29T12:00:00Z", "body": body});
        SignedEntry::parse(&sign_envelope(&envelope, key, &[]).expect("signs")).expect("valid")
    }

    fn id(n: usize) -> EntryId {
        EntryId([u8::try_from(n).expect("a short log"); 32])
    }

    /// A reproducer that followed `log`, none of it an allocation.
    fn followed(log: &[SignedEntry]) -> Reproducer {
        let mut replay = Reproducer::default();
        for (seq, e) in log.iter().enumerate() {
            replay.follow(seq as u64, id(seq), e).expect("fine");
        }
        replay
    }

    #[test]
    fn allocations_are_recomputed_and_differences_named() {
        let (alice, bob, shop, server) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[2; 32]),
            SecretKey::from_seed(&[3; 32]),
            SecretKey::from_seed(&[9; 32]),
        );
        let policy_hash = format!("blake3:{}", hash::to_hex(&hash::blake3(POLICY.as_bytes())));
        let words = |who: &str, key: &SecretKey, nonce: &str, n: &str| {
            entry(
                who,
                key,
                "contribution",
                nonce,
                json!({"project": "novel", "kind": "text", "measure": {"quantity": n, "unit": "words"},
                                                          "evidence": format!("commit:{}", "00".repeat(32))}),
            )
        };
        let log = [
            entry(
                "alice",
                &alice,
                "actor.registered",
                "nonce-a01",
                json!({"kind": "human", "public_key": alice.public_key().to_base64()}),
            ),
            entry(
                "bob",
                &bob,
                "actor.registered",
                "nonce-b01",
                json!({"kind": "human", "public_key": bob.public_key().to_base64()}),
            ),
            entry(
                "shop",
                &server,
                "actor.registered",
                "nonce-s01",
                json!({"kind": "platform", "public_key": shop.public_key().to_base64()}),
            ),
            entry(
                "shop",
                &shop,
                "policy.adopted",
                "nonce-s02",
                json!({"name": "proportional", "text": POLICY, "hash": policy_hash}),
            ),
            words("alice", &alice, "nonce-a02", "1000"),
            words("bob", &bob, "nonce-b02", "3000"),
            entry(
                "shop",
                &shop,
                "value.realized",
                "nonce-s03",
                json!({"project": "novel", "amount": "100.00", "currency": "EUR", "policy": policy_hash}),
            ),
        ];
        let mut reproducer = Reproducer::default();
        for (seq, e) in log.iter().enumerate() {
            reproducer
                .follow(seq as u64, id(seq), e)
                .expect("not an allocation");
        }
        let inputs = name_actors(
            records_from_entries([4usize, 5].iter().map(|&i| (i as u64, id(i), &log[i]))),
            &reproducer.actors,
        );
        let body = compute(&id(6), 6, &log[6], POLICY, &inputs, &Default::default());
        assert_eq!(body["status"], "ok", "{body}");
        let allocation = |body: Value| entry("server", &server, "allocation", "allocation-1", body);

        let faithful = allocation(body.clone());
        let mut replay = followed(&log);
        assert_eq!(replay.follow(7, id(7), &faithful), Ok(()));
        // One allocation per value entry (the rules'): the value is forgotten after it.
        assert!(replay.follow(8, id(8), &faithful).is_err());

        let mut tampered = body;
        for player in tampered["allocation"]["players"]
            .as_array_mut()
            .expect("players")
        {
            if player["actor"] == "bob" {
                player["payout"] = json!("80.00");
            }
        }
        let forged = allocation(tampered);
        let message = followed(&log)
            .follow(7, id(7), &forged)
            .expect_err("differs");
        assert!(
            message.contains("\"bob\"") && message.contains("80.00") && message.contains("75.00"),
            "{message}"
        );
    }

    #[test]
    fn a_replay_with_the_reproducer_catches_a_made_up_outcome() {
        let (alice, shop, server) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[3; 32]),
            SecretKey::from_seed(&[9; 32]),
        );
        let policy_hash = format!("blake3:{}", hash::to_hex(&hash::blake3(POLICY.as_bytes())));
        let stamp = "2026-11-29T12:00:00.000001Z";
        let mut leaves: Vec<Vec<u8>> = [
            entry("alice", &alice, "actor.registered", "nonce-a01",
                  json!({"kind": "human", "public_key": alice.public_key().to_base64()})),
            entry("shop", &server, "actor.registered", "nonce-s01",
                  json!({"kind": "platform", "public_key": shop.public_key().to_base64()})),
            entry("shop", &shop, "policy.adopted", "nonce-s02",
                  json!({"name": "proportional", "text": POLICY, "hash": policy_hash})),
            entry("shop", &shop, "project.opened", "nonce-s04",
                  json!({"project": "p", "currency": "EUR", "membership": "open", "policies": [policy_hash]})),
            entry("alice", &alice, "contribution", "nonce-a02",
                  json!({"project": "p", "kind": "text", "measure": {"quantity": "10", "unit": "words"},
                         "evidence": format!("commit:{}", "00".repeat(32))})),
            entry("shop", &shop, "value.realized", "nonce-s03",
                  json!({"project": "p", "amount": "10.00", "currency": "EUR", "policy": policy_hash})),
        ]
        .iter()
        .map(|e| e.leaf_bytes(stamp))
        .collect();
        let value_id = EntryId::of_leaf(&leaves[5]).to_string();
        let made_up = json!({"value_entry": value_id, "project": "p", "tree_size": 6,
                             "status": "failed", "reason": "made up"});
        leaves.push(entry("server", &server, "allocation", "nonce-x01", made_up).leaf_bytes(stamp));
        let bad = crate::ledger::replay::replay(
            &leaves,
            server.public_key(),
            &[],
            &mut Reproducer::default(),
            &|_, _| {},
        )
        .expect_err("made up");
        assert_eq!(bad.index, 6, "{bad}");
        assert!(bad.reason.contains("differs"), "{bad}");
    }
}
