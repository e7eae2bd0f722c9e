//! Planning one append batch, purely: given a snapshot of the ledger state the batch touches,
//! decide each entry's outcome in arrival order, verify signatures in parallel, and assign
//! consecutive sequence numbers. The sequencer runs this inside its locked transaction.

use super::merkle;
use super::rules::{self, LedgerView, RuleSettings};
use crate::crypto::{KeyId, PublicKey, Signature, hash};
use crate::entry::body::SolverLimits;
use crate::entry::record::{
    ActorRecord, Effect, EntryRef, KeyRecord, MeasuredSize, PolicyCost, ProjectRecord,
};
use crate::entry::{ActorId, ContentDigest, EntryError, EntryId, Rejection, SignedEntry, Slug};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// What the submitter gets once its entry is durably committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub seq: u64,
    #[serde(serialize_with = "as_display")]
    pub id: EntryId,
    #[serde(serialize_with = "as_hex")]
    pub leaf_hash: [u8; 32],
    pub received_at: String,
}

fn as_display<S: serde::Serializer>(id: &EntryId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

fn as_hex<S: serde::Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hash::to_hex(h))
}

/// An entry already in the log under the same (actor, nonce).
#[derive(Debug, Clone)]
pub struct StoredNonce {
    pub receipt: Receipt,
    pub leaf: Vec<u8>,
}

/// The part of the ledger a batch can touch, loaded by the store in the batch's transaction.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub actors: HashMap<ActorId, ActorRecord>,
    pub keys: HashMap<(ActorId, KeyId), KeyRecord>,
    pub entries: HashMap<EntryId, EntryRef>,
    pub nonces: HashMap<(ActorId, String), StoredNonce>,
    pub policies: HashSet<ContentDigest>,
    pub allocated: HashSet<EntryId>,
    pub projects: HashMap<Slug, ProjectRecord>,
    /// (project, actor) for every current member the batch may ask about.
    pub members: HashSet<(Slug, ActorId)>,
    /// The last `limits.set`, if the log has one.
    pub limits: Option<SolverLimits>,
    pub policy_costs: HashMap<ContentDigest, PolicyCost>,
    /// Of each project the batch realizes value on: its measurements and the actors named.
    pub measured: HashMap<Slug, (u64, HashSet<ActorId>)>,
}

impl LedgerView for Snapshot {
    fn actor(&self, id: &ActorId) -> Option<ActorRecord> {
        self.actors.get(id).cloned()
    }
    fn key(&self, actor: &ActorId, key: &KeyId) -> Option<KeyRecord> {
        self.keys.get(&(actor.clone(), *key)).copied()
    }
    fn active_key_count(&self, actor: &ActorId) -> usize {
        self.keys
            .iter()
            .filter(|((a, _), k)| a == actor && !k.revoked)
            .count()
    }
    fn entry(&self, id: &EntryId) -> Option<EntryRef> {
        self.entries.get(id).cloned()
    }
    fn policy_adopted(&self, hash: &ContentDigest) -> bool {
        self.policies.contains(hash)
    }
    fn allocated(&self, value_entry: &EntryId) -> bool {
        self.allocated.contains(value_entry)
    }
    fn project(&self, project: &Slug) -> ProjectRecord {
        self.projects.get(project).cloned().unwrap_or_default()
    }
    fn member(&self, project: &Slug, actor: &ActorId) -> bool {
        self.members.contains(&(project.clone(), actor.clone()))
    }
    fn limits(&self) -> SolverLimits {
        self.limits.unwrap_or(SolverLimits::DEFAULT)
    }
    fn policy_cost(&self, hash: &ContentDigest) -> Option<PolicyCost> {
        self.policy_costs.get(hash).copied()
    }
    fn measured(&self, project: &Slug) -> MeasuredSize {
        self.measured
            .get(project)
            .map_or_else(MeasuredSize::default, |(measurements, players)| {
                MeasuredSize {
                    measurements: *measurements,
                    players: players.len() as u64,
                }
            })
    }
}

impl Snapshot {
    pub(crate) fn apply(&mut self, effect: &Effect) {
        match effect {
            Effect::RegisterActor {
                actor,
                kind,
                operator,
                public_key,
            } => {
                self.actors.insert(
                    actor.clone(),
                    ActorRecord {
                        kind: *kind,
                        operator: operator.clone(),
                    },
                );
                self.add_key(actor, *public_key);
            }
            Effect::AddKey { actor, public_key } => self.add_key(actor, *public_key),
            Effect::RevokeKey { actor, key } => {
                if let Some(k) = self.keys.get_mut(&(actor.clone(), *key)) {
                    k.revoked = true;
                }
            }
            Effect::AdoptPolicy { hash, .. } => {
                self.policies.insert(*hash);
            }
            Effect::FirstContribution { project } => {
                self.projects
                    .entry(project.clone())
                    .or_default()
                    .has_contributions = true
            }
            Effect::Allocate { value_entry } => {
                self.allocated.insert(*value_entry);
            }
            Effect::SetTerms { project, terms } => {
                self.projects.entry(project.clone()).or_default().terms = Some(terms.clone());
            }
            Effect::SetMember {
                project,
                actor,
                member,
            } => {
                let key = (project.clone(), actor.clone());
                if *member {
                    self.members.insert(key);
                } else {
                    self.members.remove(&key);
                }
            }
            Effect::SetLimits(limits) => self.limits = Some(*limits),
            // Who reads is not a rule of what may be appended.
            Effect::SetReadAll { .. } => {}
            Effect::PricePolicy { hash, cost } => {
                self.policy_costs.insert(*hash, *cost);
            }
            Effect::Measure { project, members } => {
                let (measurements, players) = self.measured.entry(project.clone()).or_default();
                *measurements += 1;
                players.extend(members.iter().cloned());
            }
        }
    }

    fn add_key(&mut self, actor: &ActorId, public_key: PublicKey) {
        self.keys.insert(
            (actor.clone(), public_key.key_id()),
            KeyRecord {
                public_key,
                revoked: false,
            },
        );
    }
}

/// An entry the batch appends.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub input: usize,
    pub receipt: Receipt,
    pub leaf: Vec<u8>,
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// Appended now (index into `Plan::accepted`).
    Appended(usize),
    /// The same signed entry was already in the log: its original receipt.
    Duplicate(Receipt),
    Rejected(EntryError),
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub accepted: Vec<Accepted>,
    pub outcomes: Vec<Outcome>,
}

/// A submitter's answer: the receipt, and whether the entry was already in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub receipt: Receipt,
    pub resubmission: bool,
}

impl Plan {
    /// The answer for input `i`, or why it was refused.
    pub fn result(&self, i: usize) -> Result<Answer, EntryError> {
        match &self.outcomes[i] {
            Outcome::Appended(a) => Ok(Answer {
                receipt: self.accepted[*a].receipt.clone(),
                resubmission: false,
            }),
            Outcome::Duplicate(r) => Ok(Answer {
                receipt: r.clone(),
                resubmission: true,
            }),
            Outcome::Rejected(e) => Err(e.clone()),
        }
    }
}

/// The signing keys (slot order) under which an entry's signatures all verified before it
/// was queued; `None` when nothing was verified ahead.
pub type Preverified = Option<Vec<[u8; 32]>>;

/// Verifies what can be verified before taking the lock: each entry's signatures under the
/// keys `view` resolves (the log as read, not yet locked). The plan skips an entry only if
/// it resolves exactly the same keys under the lock.
pub fn preverify(
    entries: &[SignedEntry],
    view: &Snapshot,
    settings: &RuleSettings,
) -> Vec<Preverified> {
    let resolved: Vec<Option<Vec<(PublicKey, Signature)>>> = entries
        .par_iter()
        .map(|entry| rules::signing_keys(entry, view, settings).ok())
        .collect();
    let pairs: Vec<(&SignedEntry, &[(PublicKey, Signature)])> = entries
        .iter()
        .zip(&resolved)
        .filter_map(|(entry, keys)| Some((entry, keys.as_deref()?)))
        .collect();
    let mut verified = rules::verify_signatures(&pairs).into_iter();
    resolved
        .iter()
        .map(|keys| {
            let keys = keys.as_ref()?;
            let valid = verified.next().is_some_and(|result| result.is_ok());
            valid.then(|| keys.iter().map(|(k, _)| k.to_bytes()).collect())
        })
        .collect()
}

/// Decides `entries` in order against `base`; the first appended entry gets sequence number
/// `next_seq`. Entries whose signature fails are removed and the batch is re-planned, since
/// later entries may depend on them (a forged registration must not enable anything).
/// `preverified[i]` (if any) names keys entry `i` was already verified under.
pub fn plan(
    entries: &[SignedEntry],
    preverified: &[Preverified],
    base: &Snapshot,
    settings: &RuleSettings,
    next_seq: u64,
    received_at: &str,
) -> Plan {
    let mut bad_signatures: HashMap<usize, EntryError> = HashMap::new();
    // (input, signing keys) already verified: a re-plan only verifies what changed.
    let mut verified: HashSet<(usize, Vec<[u8; 32]>)> = preverified
        .iter()
        .enumerate()
        .filter_map(|(i, keys)| Some((i, keys.clone()?)))
        .collect();
    let signers = |i: usize, checked: &rules::Checked| {
        (
            i,
            checked
                .signatures
                .iter()
                .map(|(k, _)| k.to_bytes())
                .collect::<Vec<_>>(),
        )
    };
    loop {
        let (plan, checks) = plan_once(
            entries,
            base,
            settings,
            next_seq,
            received_at,
            &bad_signatures,
        );
        let unverified: Vec<&(usize, rules::Checked)> = checks
            .iter()
            .filter(|(i, checked)| !verified.contains(&signers(*i, checked)))
            .collect();
        let pairs: Vec<(&SignedEntry, &[(PublicKey, Signature)])> = unverified
            .iter()
            .map(|(i, checked)| (&entries[*i], checked.signatures.as_slice()))
            .collect();
        let failures: Vec<(usize, EntryError)> = unverified
            .iter()
            .zip(rules::verify_signatures(&pairs))
            .filter_map(|((i, _), result)| result.err().map(|e| (*i, e)))
            .collect();
        if failures.is_empty() {
            return plan;
        }
        for (i, checked) in &checks {
            if !failures.iter().any(|(f, _)| f == i) {
                verified.insert(signers(*i, checked));
            }
        }
        bad_signatures.extend(failures);
    }
}

fn plan_once(
    entries: &[SignedEntry],
    base: &Snapshot,
    settings: &RuleSettings,
    next_seq: u64,
    received_at: &str,
    bad_signatures: &HashMap<usize, EntryError>,
) -> (Plan, Vec<(usize, rules::Checked)>) {
    let mut state = base.clone();
    let mut plan = Plan::default();
    let mut checks = Vec::new();
    // (actor, nonce) -> index into plan.accepted, for nonces first used in this batch.
    let mut batch_nonces: HashMap<(ActorId, String), usize> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let env = &entry.envelope;
        let nonce_key = (env.actor.clone(), env.nonce.as_str().to_owned());
        let outcome = if let Some(error) = bad_signatures.get(&i) {
            Outcome::Rejected(error.clone())
        } else if let Some(stored) = base.nonces.get(&nonce_key) {
            if entry.matches_leaf(&stored.leaf) {
                Outcome::Duplicate(stored.receipt.clone())
            } else {
                Outcome::Rejected(nonce_reused(entry))
            }
        } else if let Some(&a) = batch_nonces.get(&nonce_key) {
            if entries[plan.accepted[a].input].same_signed_content(entry) {
                Outcome::Duplicate(plan.accepted[a].receipt.clone())
            } else {
                Outcome::Rejected(nonce_reused(entry))
            }
        } else {
            match rules::check(entry, &state, settings) {
                Err(error) => Outcome::Rejected(error),
                Ok(checked) => {
                    for effect in &checked.effects {
                        state.apply(effect);
                    }
                    let leaf = entry.leaf_bytes(received_at);
                    let id = EntryId::of_leaf(&leaf);
                    state.entries.insert(
                        id,
                        EntryRef {
                            entry_type: env.entry_type,
                            actor: env.actor.clone(),
                            project: env.body.project().cloned(),
                        },
                    );
                    let receipt = Receipt {
                        seq: next_seq + plan.accepted.len() as u64,
                        id,
                        leaf_hash: merkle::leaf_hash(&leaf),
                        received_at: received_at.to_owned(),
                    };
                    batch_nonces.insert(nonce_key, plan.accepted.len());
                    plan.accepted.push(Accepted {
                        input: i,
                        receipt,
                        leaf,
                        effects: checked.effects.clone(),
                    });
                    checks.push((i, checked));
                    Outcome::Appended(plan.accepted.len() - 1)
                }
            }
        };
        plan.outcomes.push(outcome);
    }
    (plan, checks)
}

fn nonce_reused(entry: &SignedEntry) -> EntryError {
    EntryError::new(
        Rejection::Conflict,
        "envelope.nonce",
        format!(
            "nonce {:?} was already used by {} for a different entry",
            entry.envelope.nonce.as_str(),
            entry.envelope.actor
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::entry::ActorKind;
    use crate::entry::envelope::sign_envelope;
    use serde_json::json;

    fn settings() -> RuleSettings {
        RuleSettings {
            registration: rules::RegistrationPolicy::Open,
            server_key: SecretKey::from_seed(&[9; 32]).public_key(),
        }
    }

    fn registered(key: &SecretKey) -> Snapshot {
        let mut base = Snapshot::default();
        base.apply(&Effect::RegisterActor {
            actor: ActorId::parse("alice").expect("slug"),
            kind: ActorKind::Human,
            operator: None,
            public_key: key.public_key(),
        });
        base.apply(&Effect::SetTerms {
            project: Slug::parse("p").expect("slug"),
            terms: crate::entry::record::ProjectTerms {
                owner: ActorId::parse("alice").expect("slug"),
                currency: "EUR".into(),
                members_only: false,
                policies: Vec::new(),
                realizers: Vec::new(),
            },
        });
        base
    }

    fn contribution(signer: &SecretKey, key_id: String) -> SignedEntry {
        let envelope = json!({"v": 3, "type": "contribution", "actor": "alice", "key": key_id, "nonce": "nonce-0001",
            "ts": "2026-11-29T12:00:00Z", "body": {"project": "p", "kind": "k", "measure": {"quantity": "1", "unit": "u"},
            "evidence": format!("commit:{}", "00".repeat(32))}});
        SignedEntry::parse(&sign_envelope(&envelope, signer, &[]).expect("signs")).expect("valid")
    }

    #[test]
    fn preverification_counts_only_for_the_keys_resolved_under_the_lock() {
        let (alice, other) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[2; 32]),
        );
        let base = registered(&alice);
        let good = contribution(&alice, alice.public_key().key_id().to_string());
        let preverified = preverify(std::slice::from_ref(&good), &base, &settings());
        assert_eq!(preverified, vec![Some(vec![alice.public_key().to_bytes()])]);
        let planned = plan(
            &[good],
            &preverified,
            &base,
            &settings(),
            0,
            "2026-11-29T12:00:00.000000Z",
        );
        assert!(planned.result(0).is_ok());

        // Signed by another key under alice's key id: a claim of pre-verification under some
        // other key does not exempt it from verification under alice's key.
        let forged = contribution(&other, alice.public_key().key_id().to_string());
        assert_eq!(
            preverify(std::slice::from_ref(&forged), &base, &settings()),
            vec![None]
        );
        let claimed = vec![Some(vec![other.public_key().to_bytes()])];
        let planned = plan(
            &[forged],
            &claimed,
            &base,
            &settings(),
            0,
            "2026-11-29T12:00:00.000000Z",
        );
        assert_eq!(
            planned.result(0).map_err(|e| e.rejection),
            Err(Rejection::BadSignature)
        );
    }

    /// The replay (the verifier's core) prices a realized value as the server did: under the
    /// last `limits.set` it has seen, with the project's measurements so far.
    #[test]
    fn a_value_beyond_the_logged_limits_is_refused_when_replayed() {
        let shop = SecretKey::from_seed(&[3; 32]);
        let mut state = Snapshot::default();
        let project = Slug::parse("p").expect("slug");
        let policy = ContentDigest([7; 32]);
        let effects = [
            Effect::RegisterActor {
                actor: ActorId::parse("shop").expect("slug"),
                kind: ActorKind::Platform,
                operator: None,
                public_key: shop.public_key(),
            },
            Effect::FirstContribution {
                project: project.clone(),
            },
            Effect::SetTerms {
                project: project.clone(),
                terms: crate::entry::record::ProjectTerms {
                    owner: ActorId::parse("shop").expect("slug"),
                    currency: "EUR".into(),
                    members_only: false,
                    policies: vec![policy],
                    realizers: Vec::new(),
                },
            },
            Effect::AdoptPolicy {
                hash: policy,
                name: Slug::parse("m").expect("slug"),
            },
            Effect::PricePolicy {
                hash: policy,
                cost: PolicyCost {
                    exact_limit: 2,
                    samples: 10,
                },
            },
            Effect::Measure {
                project: project.clone(),
                members: vec![ActorId::parse("shop").expect("slug")],
            },
        ];
        effects.iter().for_each(|e| state.apply(e));
        let envelope = json!({"v": 3, "type": "value.realized", "actor": "shop",
            "key": shop.public_key().key_id().to_string(), "nonce": "nonce-0002", "ts": "2026-11-29T12:00:00Z",
            "body": {"project": "p", "amount": "1.00", "currency": "EUR", "policy": policy.to_string()}});
        let value = SignedEntry::parse(&sign_envelope(&envelope, &shop, &[]).expect("signs"))
            .expect("valid");
        assert!(rules::check(&value, &state, &settings()).is_ok());

        let mut limits = SolverLimits::DEFAULT;
        limits.measured_players = 5;
        limits.sampled_marginals = 49;
        state.apply(&Effect::SetLimits(limits));
        let refused = rules::check(&value, &state, &settings()).expect_err("beyond the limits");
        assert_eq!(refused.rejection, Rejection::LimitExceeded);
        assert!(refused.message.contains("sampled_marginals"), "{refused:?}");

        limits.sampled_marginals = 50;
        limits.measurements = 0;
        state.apply(&Effect::SetLimits(limits));
        let refused = rules::check(&value, &state, &settings()).expect_err("beyond the limits");
        assert_eq!(refused.field, "envelope.body.project");
        assert!(refused.message.contains("measurements"), "{refused:?}");
    }
}
