//! Replaying an exported log offline, purely: every leaf is canonical and well formed, every
//! entry obeys the rules and carries valid signatures under the keys the log itself had
//! registered at that point, and the Merkle roots at the sizes asked for. The first bad leaf
//! is named. Parsing and signature checks use all cores.

use super::batch::Snapshot;
use super::merkle::{Frontier, Hash, leaf_hash};
use crate::crypto::{PublicKey, canonical};
use crate::entry::rules::{self, Checked, EntryRef, RegistrationPolicy, RuleSettings};
use crate::entry::{EntryId, SignedEntry};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Replays `leaves` (leaf `i` at position `i`). `server_key` verifies operator registrations;
/// `progress` hears (phase, leaves done) now and then.
pub fn replay(
    leaves: &[Vec<u8>],
    server_key: PublicKey,
    sizes: &[u64],
    progress: &(dyn Fn(&'static str, u64) + Sync),
) -> Result<ReplayReport, BadLeaf> {
    let done = AtomicU64::new(0);
    let tick = |phase: &'static str| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(4096) {
            progress(phase, n);
        }
    };
    let parsed: Vec<Result<SignedEntry, String>> = leaves
        .par_iter()
        .map(|leaf| {
            tick("parsing");
            parse_leaf(leaf)
        })
        .collect();

    // Rules in log order; a rule failure ends the pass (later state would be meaningless).
    let settings = RuleSettings {
        registration: RegistrationPolicy::Open,
        server_key,
    };
    let mut state = Snapshot::default();
    let mut nonces = HashSet::new();
    let mut checks: Vec<(usize, Checked)> = Vec::with_capacity(leaves.len());
    let mut first_bad: Option<BadLeaf> = None;
    for (i, entry) in parsed.iter().enumerate() {
        let bad = |reason: String| BadLeaf {
            index: i as u64,
            reason,
        };
        let outcome = entry
            .as_ref()
            .map_err(|e| bad(e.clone()))
            .and_then(|entry| {
                let env = &entry.envelope;
                if !nonces.insert((env.actor.clone(), env.nonce.as_str().to_owned())) {
                    return Err(bad(format!(
                        "nonce {:?} of {} is used twice",
                        env.nonce.as_str(),
                        env.actor
                    )));
                }
                let checked =
                    rules::check(entry, &state, &settings).map_err(|e| bad(e.to_string()))?;
                for effect in &checked.effects {
                    state.apply(effect);
                }
                let reference = EntryRef {
                    entry_type: env.entry_type,
                    actor: env.actor.clone(),
                };
                state
                    .entries
                    .insert(EntryId::of_leaf(&leaves[i]), reference);
                Ok(checked)
            });
        match outcome {
            Ok(checked) => checks.push((i, checked)),
            Err(error) => {
                first_bad = Some(error);
                break;
            }
        }
        if i % 4096 == 4095 {
            progress("replaying", i as u64 + 1);
        }
    }

    done.store(0, Ordering::Relaxed);
    let bad_signature = checks
        .par_iter()
        .filter_map(|(i, checked)| {
            tick("verifying signatures");
            rules::verify_signatures(parsed[*i].as_ref().ok()?, checked)
                .err()
                .map(|e| BadLeaf {
                    index: *i as u64,
                    reason: e.to_string(),
                })
        })
        .min_by_key(|bad| bad.index);
    if let Some(bad) = [first_bad, bad_signature]
        .into_iter()
        .flatten()
        .min_by_key(|b| b.index)
    {
        return Err(bad);
    }

    let hashes: Vec<Hash> = leaves.par_iter().map(|leaf| leaf_hash(leaf)).collect();
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
    Ok(ReplayReport {
        entries: leaves.len() as u64,
        actors: state.actors.len(),
        root: frontier.root(),
        roots,
    })
}

/// A leaf must be canonical JSON of exactly `{envelope, signature, cosignatures?, received_at}`
/// holding a well-formed signed entry: rebuilding it from its parts gives the same bytes.
fn parse_leaf(leaf: &[u8]) -> Result<SignedEntry, String> {
    let value: Value = serde_json::from_slice(leaf).map_err(|e| format!("not JSON: {e}"))?;
    let received_at = value["received_at"]
        .as_str()
        .ok_or("no received_at")?
        .to_owned();
    let mut submission = value.clone();
    if let Some(object) = submission.as_object_mut() {
        object.remove("received_at");
    }
    let entry = SignedEntry::parse(&submission).map_err(|e| e.to_string())?;
    if entry.leaf_bytes(&received_at) != leaf
        || canonical::to_vec(&value).ok().as_deref() != Some(leaf)
    {
        return Err("the leaf bytes are not the canonical form of the entry".into());
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::entry::envelope::sign_envelope;
    use serde_json::json;

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
        let report =
            replay(&leaves, server.public_key(), &[0, 3, 6, 99], &|_, _| {}).expect("valid");
        assert_eq!((report.entries, report.actors), (6, 1));
        let mut tree = crate::ledger::merkle::MemoryTree::new();
        leaves.iter().for_each(|l| {
            tree.push_leaf(l);
        });
        assert_eq!(report.roots.get(&3), tree.root_at(3).ok().as_ref());
        assert_eq!(report.root, tree.root());
        assert!(!report.roots.contains_key(&99));
    }

    #[test]
    fn the_first_bad_leaf_is_named() {
        let (mut leaves, server) = log();
        let text = String::from_utf8(leaves[3].clone())
            .expect("utf-8")
            .replace("\"quantity\":\"1\"", "\"quantity\":\"2\"");
        leaves[3] = text.into_bytes();
        let bad = replay(&leaves, server.public_key(), &[], &|_, _| {}).expect_err("tampered");
        assert_eq!(bad.index, 3, "{bad}");

        let (mut leaves, server) = log();
        leaves.swap(0, 2);
        let bad = replay(&leaves, server.public_key(), &[], &|_, _| {})
            .expect_err("contribution before registration");
        assert_eq!(bad.index, 0, "{bad}");

        let (mut leaves, server) = log();
        leaves[4].insert(1, b' ');
        assert_eq!(
            replay(&leaves, server.public_key(), &[], &|_, _| {})
                .expect_err("not canonical")
                .index,
            4
        );
    }
}
