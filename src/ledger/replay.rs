//! Replaying an exported log offline, purely: every leaf is canonical and well formed, every
//! entry obeys the rules and carries valid signatures under the keys the log itself had
//! registered at that point, and the Merkle roots at the sizes asked for. The first bad leaf
//! is named. An [`Observer`] sees every accepted entry in log order: the verifier's
//! recomputes every allocation entry from the log before it. Parsing (a window at
//! a time), signature checks and leaf hashing use all cores; signatures are checked in
//! chunks on the pool while the rules replay on this thread, and each parsed entry is
//! dropped once checked (what allocations need is kept as compact records).

use super::batch::Snapshot;
use super::merkle::{Frontier, Hash, leaf_hash};
use super::rules::{self, Checked, RegistrationPolicy, RuleSettings};
use crate::crypto::PublicKey;
use crate::entry::record::EntryRef;
use crate::entry::{ActorId, EntryId, SignedEntry};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Entries whose signatures one pool task checks.
const CHUNK: usize = 256;
/// Leaves parsed at once (on all cores) before their rules run.
const WINDOW: usize = 1 << 13;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub entries: u64,
    pub actors: usize,
    /// The root of the whole log.
    pub root: Hash,
    /// Roots at the sizes asked for (those not beyond the log).
    pub roots: HashMap<u64, Hash>,
}

/// The first bad leaf and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("leaf {index}: {reason}")]
pub struct BadLeaf {
    pub index: u64,
    pub reason: String,
}

/// Sees every entry the rules accepted, in log order, and may refuse it. The verifier's
/// observer (`allocation::reproduce::Reproducer`) recomputes allocations: the ledger replays,
/// the allocation engine reproduces, and neither module depends on the other's internals.
pub trait Observer {
    fn observe(&mut self, seq: u64, id: EntryId, entry: &SignedEntry) -> Result<(), String>;
}

/// Replays `leaves` (leaf `i` at position `i`). `server_key` verifies operator registrations;
/// `observer` sees each accepted entry; `progress` hears (phase, leaves done) now and then.
pub fn replay(
    leaves: &[Vec<u8>],
    server_key: PublicKey,
    sizes: &[u64],
    observer: &mut (dyn Observer + Send),
    progress: &(dyn Fn(&'static str, u64) + Sync),
) -> Result<ReplayReport, BadLeaf> {
    let verified = AtomicU64::new(0);
    // Rules in log order on this thread; a rule failure ends the pass (later state would be
    // meaningless). The log is parsed a window at a time on all cores; each full chunk of
    // checked entries then goes to the pool, which owns it, for its signatures, while the
    // rules go on; an entry is dropped once verified, so memory is reused. The leaf hashes
    // are computed on the pool meanwhile.
    let bad_signature: Mutex<Option<BadLeaf>> = Mutex::new(None);
    let mut hashes: Vec<Hash> = vec![[0; 32]; leaves.len()];
    let mut rules = RulesPass::new(server_key, leaves.len(), observer);
    let mut first_bad: Option<BadLeaf> = None;
    rayon::scope(|scope| {
        for (leaves, hashes) in leaves.chunks(1 << 14).zip(hashes.chunks_mut(1 << 14)) {
            scope.spawn(move |_| {
                for (leaf, hash) in leaves.iter().zip(hashes) {
                    *hash = leaf_hash(leaf);
                }
            });
        }
        let verify = |chunk: Vec<(usize, SignedEntry, Checked)>| {
            let (bad_signature, verified) = (&bad_signature, &verified);
            scope.spawn(move |_| {
                let count = chunk.len() as u64;
                if let Some(bad) = verify_chunk(&chunk) {
                    let mut slot = bad_signature.lock().unwrap_or_else(|e| e.into_inner());
                    if slot.as_ref().is_none_or(|b| bad.index < b.index) {
                        *slot = Some(bad);
                    }
                }
                verified.fetch_add(count, Ordering::Relaxed);
            });
        };
        let mut chunk = Vec::with_capacity(CHUNK);
        'replay: for (window, first) in leaves.chunks(WINDOW).zip((0..).step_by(WINDOW)) {
            // Each entry's id (a hash of its leaf) is computed here too, off the rules' thread.
            let parsed: Vec<Result<(SignedEntry, EntryId), String>> = window
                .par_iter()
                .map(|leaf| parse_leaf(leaf).map(|entry| (entry, EntryId::of_leaf(leaf))))
                .collect();
            for (entry, i) in parsed.into_iter().zip(first..) {
                let checked = entry.and_then(|(entry, id)| {
                    let checked = rules.accept(&entry, id, i as u64)?;
                    Ok((entry, checked))
                });
                match checked {
                    Ok((entry, checked)) => {
                        chunk.push((i, entry, checked));
                        if chunk.len() == CHUNK {
                            verify(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
                        }
                    }
                    Err(reason) => {
                        first_bad = Some(BadLeaf {
                            index: i as u64,
                            reason,
                        });
                        break 'replay;
                    }
                }
            }
            progress("replaying", (first + window.len()) as u64);
        }
        if !chunk.is_empty() {
            verify(chunk);
        }
        progress("verifying signatures", verified.load(Ordering::Relaxed));
    });

    let bad_signature = bad_signature
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(bad) = [first_bad, bad_signature]
        .into_iter()
        .flatten()
        .min_by_key(|b| b.index)
    {
        return Err(bad);
    }
    let (root, roots) = tree_roots(hashes, sizes)?;
    Ok(ReplayReport {
        entries: leaves.len() as u64,
        actors: rules.state.actors.len(),
        root,
        roots,
    })
}

/// The rules' side of the replay, in log order: the ledger's state so far and the nonces
/// used, which every entry is checked against and then changes.
struct RulesPass<'a> {
    settings: RuleSettings,
    state: Snapshot,
    nonces: HashSet<(ActorId, String)>,
    observer: &'a mut (dyn Observer + Send),
}

impl<'a> RulesPass<'a> {
    fn new(server_key: PublicKey, leaves: usize, observer: &'a mut (dyn Observer + Send)) -> Self {
        let mut state = Snapshot::default();
        state.entries.reserve(leaves);
        RulesPass {
            settings: RuleSettings {
                registration: RegistrationPolicy::Open,
                server_key,
            },
            state,
            nonces: HashSet::with_capacity(leaves),
            observer,
        }
    }

    /// Entry `seq` (with id `id`) through the rules: a nonce its actor has not used yet,
    /// every rule kept; its effects then change the state and the observer sees it. The
    /// signatures it still needs to verify come back.
    fn accept(&mut self, entry: &SignedEntry, id: EntryId, seq: u64) -> Result<Checked, String> {
        let env = &entry.envelope;
        if !self
            .nonces
            .insert((env.actor.clone(), env.nonce.as_str().to_owned()))
        {
            return Err(format!(
                "nonce {:?} of {} is used twice",
                env.nonce.as_str(),
                env.actor
            ));
        }
        let checked =
            rules::check(entry, &self.state, &self.settings).map_err(|e| e.to_string())?;
        for effect in &checked.effects {
            self.state.apply(effect);
        }
        let reference = EntryRef {
            entry_type: env.entry_type,
            actor: env.actor.clone(),
            project: env.body.project().cloned(),
        };
        self.state.entries.insert(id, reference);
        self.observer.observe(seq, id, entry)?;
        Ok(checked)
    }
}

/// The root of the tree over `hashes` (the leaf hashes in order), and the roots at `sizes`
/// (those not beyond it).
fn tree_roots(hashes: Vec<Hash>, sizes: &[u64]) -> Result<(Hash, HashMap<u64, Hash>), BadLeaf> {
    let mut frontier = Frontier::new();
    let mut roots = HashMap::new();
    let wanted: HashSet<u64> = sizes.iter().copied().collect();
    if wanted.contains(&0) {
        roots.insert(0, frontier.root());
    }
    for hash in hashes {
        frontier.append_with(hash, |_, _| {}).map_err(|e| BadLeaf {
            index: frontier.size(),
            reason: e.to_string(),
        })?;
        if wanted.contains(&frontier.size()) {
            roots.insert(frontier.size(), frontier.root());
        }
    }
    Ok((frontier.root(), roots))
}

/// The first bad signature in `chunk` (entries in log order with their checked signatures),
/// verified as the server verifies them (`rules::verify_signatures`, in batches).
fn verify_chunk(chunk: &[(usize, SignedEntry, Checked)]) -> Option<BadLeaf> {
    let pairs: Vec<_> = chunk
        .iter()
        .map(|(_, entry, checked)| (entry, checked.signatures.as_slice()))
        .collect();
    chunk
        .iter()
        .zip(rules::verify_signatures(&pairs))
        .find_map(|((i, _, _), result)| {
            result.err().map(|e| BadLeaf {
                index: *i as u64,
                reason: e.to_string(),
            })
        })
}

/// A leaf must be canonical JSON of exactly `{envelope, signature, cosignatures?, received_at}`
/// holding a well-formed signed entry: rebuilding it from its parts gives the same bytes.
fn parse_leaf(leaf: &[u8]) -> Result<SignedEntry, String> {
    let mut value: Value = serde_json::from_slice(leaf).map_err(|e| format!("not JSON: {e}"))?;
    let received_at = match value.as_object_mut().and_then(|o| o.remove("received_at")) {
        Some(Value::String(text)) => text,
        _ => return Err("no received_at".into()),
    };
    let entry = SignedEntry::parse(&value).map_err(|e| e.to_string())?;
    // The bytes equal the canonical form of the rebuilt leaf, so they are canonical JSON of
    // exactly these members: no need to canonicalize `value` again.
    if entry.leaf_bytes(&received_at) != leaf {
        return Err("the leaf bytes are not the canonical form of the entry".into());
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{SecretKey, canonical};
    use crate::entry::envelope::sign_envelope;
    use serde_json::json;

    /// Replays the rules and signatures alone.
    struct RulesOnly;

    impl Observer for RulesOnly {
        fn observe(&mut self, _: u64, _: EntryId, _: &SignedEntry) -> Result<(), String> {
            Ok(())
        }
    }

    fn leaf(key: &SecretKey, actor: &str, nonce: &str, body: Value, entry_type: &str) -> Vec<u8> {
        let envelope = json!({"v": 1, "type": entry_type, "actor": actor, "key": key.public_key().key_id().to_string(),
                              "nonce": nonce, "ts": "2026-11-29T12:00:00Z", "body": body});
        let signed =
            SignedEntry::parse(&sign_envelope(&envelope, key, &[]).expect("signs")).expect("valid");
        signed.leaf_bytes("2026-11-29T12:00:00.000001Z")
    }

    fn log() -> (Vec<Vec<u8>>, SecretKey) {
        let (server, alice) = (
            SecretKey::from_seed(&[9; 32]),
            SecretKey::from_seed(&[1; 32]),
        );
        let registration = leaf(
            &alice,
            "alice",
            "nonce-001",
            json!({"kind": "human", "public_key": alice.public_key().to_base64()}),
            "actor.registered",
        );
        let body = json!({"project": "p", "kind": "k", "measure": {"quantity": "1", "unit": "u"}, "evidence": format!("blake3:{}", "00".repeat(32))});
        let contributions = (0..5).map(|i| {
            leaf(
                &alice,
                "alice",
                &format!("nonce-c{i:03}"),
                body.clone(),
                "contribution",
            )
        });
        (
            std::iter::once(registration).chain(contributions).collect(),
            server,
        )
    }

    #[test]
    fn a_valid_log_replays_with_its_roots() {
        let (leaves, server) = log();
        let report = replay(
            &leaves,
            server.public_key(),
            &[0, 3, 6, 99],
            &mut RulesOnly,
            &|_, _| {},
        )
        .expect("valid");
        assert_eq!((report.entries, report.actors), (6, 1));
        let mut tree = crate::ledger::merkle::MemoryTree::new();
        leaves.iter().for_each(|l| {
            tree.push_leaf(l);
        });
        assert_eq!(report.roots.get(&3), tree.root_at(3).ok().as_ref());
        assert_eq!(report.root, tree.root());
        assert!(!report.roots.contains_key(&99));
    }

    /// Alice registers, then `count` contributions; leaf `i` for `i` in `forged` is signed by
    /// another key under Alice's key id (well formed and canonical, bad signature).
    fn long_log(count: usize, forged: &[usize]) -> Vec<Vec<u8>> {
        let (alice, mallory) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[2; 32]),
        );
        let body = json!({"project": "p", "kind": "k", "measure": {"quantity": "1", "unit": "u"}, "evidence": format!("blake3:{}", "00".repeat(32))});
        let mut leaves = vec![leaf(
            &alice,
            "alice",
            "nonce-reg",
            json!({"kind": "human", "public_key": alice.public_key().to_base64()}),
            "actor.registered",
        )];
        for i in 1..=count {
            let envelope = json!({"v": 1, "type": "contribution", "actor": "alice",
                                  "key": alice.public_key().key_id().to_string(),
                                  "nonce": format!("nonce-{i:05}"), "ts": "2026-11-29T12:00:00Z", "body": body.clone()});
            let signer = if forged.contains(&i) {
                &mallory
            } else {
                &alice
            };
            let signed = SignedEntry::parse(&sign_envelope(&envelope, signer, &[]).expect("signs"))
                .expect("valid");
            leaves.push(signed.leaf_bytes("2026-11-29T12:00:00.000001Z"));
        }
        leaves
    }

    #[test]
    fn a_bad_signature_inside_a_chunk_is_named_exactly() {
        let server = SecretKey::from_seed(&[9; 32]).public_key();
        // 1 + 3 chunks of entries, verified on the pool while the rules go on.
        let leaves = long_log(3 * CHUNK, &[]);
        assert!(replay(&leaves, server, &[], &mut RulesOnly, &|_, _| {}).is_ok());
        for forged in [vec![300], vec![300, 301, 700], vec![1], vec![3 * CHUNK]] {
            let leaves = long_log(3 * CHUNK, &forged);
            let bad = replay(&leaves, server, &[], &mut RulesOnly, &|_, _| {})
                .expect_err("forged signature");
            assert_eq!(bad.index, forged[0] as u64, "{bad}");
            assert!(bad.reason.contains("signature"), "{bad}");
        }
    }

    #[test]
    fn a_small_order_r_is_refused() {
        // R = identity (small order), S = 0: verification refuses R of small order.
        let server = SecretKey::from_seed(&[9; 32]).public_key();
        let mut leaves = long_log(CHUNK, &[]);
        let mut value: Value = serde_json::from_slice(&leaves[5]).expect("json");
        let mut identity = [0u8; 64];
        identity[0] = 1;
        value["signature"] = Value::String(crate::crypto::b64_encode(&identity));
        leaves[5] = canonical::to_vec(&value).expect("canonical");
        let bad =
            replay(&leaves, server, &[], &mut RulesOnly, &|_, _| {}).expect_err("small-order R");
        assert_eq!(bad.index, 5, "{bad}");
    }

    #[test]
    fn an_allocation_must_name_its_value_entrys_project() {
        let (alice, shop, server) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[3; 32]),
            SecretKey::from_seed(&[9; 32]),
        );
        let policy = include_str!("../../policies/default.toml");
        let hash = format!(
            "blake3:{}",
            crate::crypto::hash::to_hex(&crate::crypto::hash::blake3(policy.as_bytes()))
        );
        let mut leaves = vec![
            leaf(
                &alice,
                "alice",
                "nonce-001",
                json!({"kind": "human", "public_key": alice.public_key().to_base64()}),
                "actor.registered",
            ),
            leaf(
                &shop,
                "shop",
                "nonce-002",
                json!({"kind": "platform", "public_key": shop.public_key().to_base64()}),
                "actor.registered",
            ),
            leaf(
                &shop,
                "shop",
                "nonce-003",
                json!({"name": "default", "text": policy, "hash": hash}),
                "policy.adopted",
            ),
            leaf(
                &alice,
                "alice",
                "nonce-004",
                json!({"project": "p", "kind": "text", "measure": {"quantity": "10", "unit": "words"}, "evidence": format!("blake3:{}", "00".repeat(32))}),
                "contribution",
            ),
            leaf(
                &shop,
                "shop",
                "nonce-005",
                json!({"project": "p", "amount": "10.00", "currency": "EUR", "policy": hash}),
                "value.realized",
            ),
        ];
        let value_id = EntryId::of_leaf(&leaves[4]).to_string();
        let allocation = |project: &str| {
            leaf(
                &server,
                "server",
                "nonce-006",
                json!({"value_entry": value_id, "project": project, "tree_size": 5,
                                                 "status": "failed", "reason": "made up"}),
                "allocation",
            )
        };
        leaves.push(allocation("q"));
        let bad = replay(
            &leaves,
            server.public_key(),
            &[],
            &mut RulesOnly,
            &|_, _| {},
        )
        .expect_err("wrong project");
        assert_eq!(bad.index, 5, "{bad}");
        assert!(bad.reason.contains("names project q"), "{bad}");
        // The right project passes the rules (the made-up outcome is for the observer that
        // recomputes allocations to catch: allocation::reproduce's tests).
        leaves[5] = allocation("p");
        assert!(
            replay(
                &leaves,
                server.public_key(),
                &[],
                &mut RulesOnly,
                &|_, _| {}
            )
            .is_ok()
        );
    }

    #[test]
    fn the_first_bad_leaf_is_named() {
        let (mut leaves, server) = log();
        let text = String::from_utf8(leaves[3].clone())
            .expect("utf-8")
            .replace("\"quantity\":\"1\"", "\"quantity\":\"2\"");
        leaves[3] = text.into_bytes();
        let bad = replay(
            &leaves,
            server.public_key(),
            &[],
            &mut RulesOnly,
            &|_, _| {},
        )
        .expect_err("tampered");
        assert_eq!(bad.index, 3, "{bad}");

        let (mut leaves, server) = log();
        leaves.swap(0, 2);
        let bad = replay(
            &leaves,
            server.public_key(),
            &[],
            &mut RulesOnly,
            &|_, _| {},
        )
        .expect_err("contribution before registration");
        assert_eq!(bad.index, 0, "{bad}");

        let (mut leaves, server) = log();
        leaves[4].insert(1, b' ');
        assert_eq!(
            replay(
                &leaves,
                server.public_key(),
                &[],
                &mut RulesOnly,
                &|_, _| {}
            )
            .expect_err("not canonical")
            .index,
            4
        );
    }
}
