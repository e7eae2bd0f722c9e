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
use super::names::Names;
use super::rules::{self, Checked, LedgerView, RegistrationPolicy, RuleSettings};
use crate::crypto::{KeyId, PublicKey, hash};
use crate::entry::body::{EntryType, SolverLimits};
use crate::entry::record::{
    ActorRecord, Effect, EntryRef, KeyRecord, MeasuredSize, PolicyCost, ProjectRecord,
};
use crate::entry::{ActorId, ContentDigest, EntryId, SignedEntry, Slug};
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

/// An entry the rules accepted, as the replay hands it to its [`Observer`]. Its signatures
/// are verified on the pool meanwhile: the replay's result says whether they all held.
pub struct Replayed<'a> {
    pub seq: u64,
    pub id: EntryId,
    /// The leaf exactly as read.
    pub leaf: &'a [u8],
    pub leaf_hash: Hash,
    /// The leaf's `received_at`, as written there.
    pub received_at: &'a str,
    pub entry: &'a SignedEntry,
    /// What accepting it changes (the rules' effects).
    pub effects: &'a [Effect],
}

/// Sees every entry the rules accepted, in log order, and may refuse it. The verifier's
/// observer (`allocation::reproduce::Reproducer`) recomputes allocations; `fairshare import`'s
/// also writes each entry's rows. The ledger replays, the observers reproduce or store, and
/// neither depends on the other's internals.
pub trait Observer {
    fn observe(&mut self, entry: &Replayed<'_>) -> Result<(), String>;
}

/// Replays `leaves` (leaf `i` at position `i`). `server_key` verifies operator registrations;
/// `observer` sees each accepted entry; `progress` hears (phase, leaves done) now and then.
pub fn replay(
    leaves: &[Vec<u8>],
    server_key: PublicKey,
    sizes: &[u64],
    observer: &mut dyn Observer,
    progress: &(dyn Fn(&'static str, u64) + Sync),
) -> Result<ReplayReport, BadLeaf> {
    replay_stream(
        leaves.chunks(WINDOW).map(Ok),
        server_key,
        sizes,
        observer,
        progress,
    )
}

/// [`replay`] over a log that arrives in windows (consecutive runs of leaves from leaf 0, of
/// any length), so that only the window being replayed and the state the rules keep are in
/// memory. A window that could not be read is the bad leaf where reading stopped.
pub fn replay_stream<W: AsRef<[Vec<u8>]>>(
    windows: impl Iterator<Item = Result<W, BadLeaf>>,
    server_key: PublicKey,
    sizes: &[u64],
    observer: &mut dyn Observer,
    progress: &(dyn Fn(&'static str, u64) + Sync),
) -> Result<ReplayReport, BadLeaf> {
    let mut rules = RulesPass::new(server_key, Snapshot::default(), sizes, observer);
    let parsed = windows.map(|window| {
        window.map(|window| {
            let parsed = parse_window(window.as_ref());
            (window, parsed)
        })
    });
    match run_rules(parsed, 0, &mut rules, progress) {
        Some(bad) => Err(bad),
        None => Ok(rules.report()),
    }
}

/// Stored leaves parsed on all cores, to be vetted against the ledger's state before them:
/// the entries say what state to read (`entries`), then `vet` replays them.
pub struct Window {
    first: u64,
    leaves: Vec<Vec<u8>>,
    parsed: Vec<Result<Parsed, String>>,
}

impl Window {
    /// Leaves `first..first + leaves.len()` of a log.
    pub fn parse(first: u64, leaves: Vec<Vec<u8>>) -> Self {
        let parsed = parse_window(&leaves);
        Window {
            first,
            leaves,
            parsed,
        }
    }

    /// The entries of the leaves that parsed, in log order.
    pub fn entries(&self) -> Vec<&SignedEntry> {
        self.parsed
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|p| &p.entry))
            .collect()
    }

    /// Replays the window as [`replay`] does, from `state` (the ledger before leaf `first`,
    /// holding at least what the window's entries touch): each leaf well formed and
    /// canonical, every rule kept, every signature valid. The first bad leaf is named.
    pub fn vet(self, state: Snapshot, server_key: PublicKey) -> Result<(), BadLeaf> {
        let mut observer = Unobserved;
        let mut rules = RulesPass::new(server_key, state, &[], &mut observer);
        let window = std::iter::once(Ok((self.leaves, self.parsed)));
        match run_rules(window, self.first, &mut rules, &|_, _| {}) {
            Some(bad) => Err(bad),
            None => Ok(()),
        }
    }
}

/// An observer that only lets the rules and signatures run.
struct Unobserved;

impl Observer for Unobserved {
    fn observe(&mut self, _: &Replayed<'_>) -> Result<(), String> {
        Ok(())
    }
}

/// The pipeline of [`replay_stream`] and [`Window::vet`]: windows of parsed leaves, the first
/// at position `first`, through `rules` in log order on this thread, with the signatures of
/// each chunk of checked entries verified on the pool meanwhile. The first bad leaf, if any.
fn run_rules<W: AsRef<[Vec<u8>]>>(
    windows: impl Iterator<Item = Result<(W, Vec<Result<Parsed, String>>), BadLeaf>>,
    first: u64,
    rules: &mut RulesPass<'_>,
    progress: &(dyn Fn(&'static str, u64) + Sync),
) -> Option<BadLeaf> {
    let verified = AtomicU64::new(0);
    // Rules in log order on this thread; a rule failure ends the pass (later state would be
    // meaningless). Each full chunk of checked entries goes to the pool, which owns it, for
    // its signatures, while the rules go on; an entry is dropped once verified, so memory is
    // reused.
    let bad_signature: Mutex<Option<BadLeaf>> = Mutex::new(None);
    let mut first_bad: Option<BadLeaf> = None;
    rayon::in_place_scope(|scope| {
        let verify = |chunk: Vec<(u64, SignedEntry, Checked)>| {
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
        let mut next = first;
        'replay: for window in windows {
            let (window, parsed) = match window {
                Ok(window) => window,
                Err(bad) => {
                    first_bad = Some(bad);
                    break;
                }
            };
            let window = window.as_ref();
            for ((parsed, leaf), i) in parsed.into_iter().zip(window).zip(next..) {
                let checked = parsed.and_then(|parsed| {
                    let checked = rules.accept(&parsed, leaf, i)?;
                    Ok((parsed.entry, checked))
                });
                match checked {
                    Ok((entry, checked)) => {
                        chunk.push((i, entry, checked));
                        if chunk.len() == CHUNK {
                            verify(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
                        }
                    }
                    Err(reason) => {
                        first_bad = Some(BadLeaf { index: i, reason });
                        break 'replay;
                    }
                }
            }
            next += window.len() as u64;
            progress("replaying", next);
        }
        if !chunk.is_empty() {
            verify(chunk);
        }
        progress("verifying signatures", verified.load(Ordering::Relaxed));
    });

    let bad_signature = bad_signature
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    [first_bad, bad_signature]
        .into_iter()
        .flatten()
        .min_by_key(|b| b.index)
}

/// The leaves of `window` parsed on all cores, each with its id (blake3) and leaf hash
/// (SHA-256), off the rules' thread.
fn parse_window(window: &[Vec<u8>]) -> Vec<Result<Parsed, String>> {
    window
        .par_iter()
        .map(|leaf| {
            parse_leaf(leaf).map(|(entry, received_at)| Parsed {
                entry,
                received_at,
                id: EntryId::of_leaf(leaf),
                leaf_hash: leaf_hash(leaf),
            })
        })
        .collect()
}

/// The rules' side of the replay, in log order: the ledger's state so far, the nonces used
/// and the tree, which every entry is checked against and then changes. What grows with
/// the log is kept compact: a nonce as a 16-byte hash, an entry as its id and an
/// [`EntryIndex`] reference (no leaf, no entry, no string per entry).
struct RulesPass<'a> {
    settings: RuleSettings,
    /// Actors, keys, policies, allocations and projects, and the entries a vetted window
    /// refers to (read for it); the entries replayed go to `entries`.
    state: Snapshot,
    entries: EntryIndex,
    nonces: HashSet<NonceHash>,
    frontier: Frontier,
    /// The tree sizes whose roots are asked for, and those found so far.
    wanted: HashSet<u64>,
    roots: HashMap<u64, Hash>,
    observer: &'a mut dyn Observer,
}

impl<'a> RulesPass<'a> {
    fn new(
        server_key: PublicKey,
        state: Snapshot,
        sizes: &[u64],
        observer: &'a mut dyn Observer,
    ) -> Self {
        let frontier = Frontier::new();
        let wanted: HashSet<u64> = sizes.iter().copied().collect();
        let roots = wanted
            .contains(&0)
            .then(|| (0, frontier.root()))
            .into_iter()
            .collect();
        RulesPass {
            settings: RuleSettings {
                registration: RegistrationPolicy::Open,
                server_key,
            },
            state,
            entries: EntryIndex::default(),
            nonces: HashSet::new(),
            frontier,
            wanted,
            roots,
            observer,
        }
    }

    /// Leaf `seq` through the rules: a nonce its actor has not used yet, every rule kept;
    /// its effects then change the state, the observer sees it and it joins the tree. The
    /// signatures it still needs to verify come back.
    fn accept(&mut self, parsed: &Parsed, leaf: &[u8], seq: u64) -> Result<Checked, String> {
        let (entry, env) = (&parsed.entry, &parsed.entry.envelope);
        if !self
            .nonces
            .insert(nonce_hash(&env.actor, env.nonce.as_str()))
        {
            return Err(format!(
                "nonce {:?} of {} is used twice",
                env.nonce.as_str(),
                env.actor
            ));
        }
        let view = ReplayView {
            state: &self.state,
            entries: &self.entries,
        };
        let checked = rules::check(entry, &view, &self.settings).map_err(|e| e.to_string())?;
        for effect in &checked.effects {
            self.state.apply(effect);
        }
        self.entries
            .insert(parsed.id, env.entry_type, &env.actor, env.body.project())?;
        self.observer.observe(&Replayed {
            seq,
            id: parsed.id,
            leaf,
            leaf_hash: parsed.leaf_hash,
            received_at: &parsed.received_at,
            entry,
            effects: &checked.effects,
        })?;
        self.frontier
            .append_with(parsed.leaf_hash, |_, _| {})
            .map_err(|e| e.to_string())?;
        if self.wanted.contains(&self.frontier.size()) {
            self.roots
                .insert(self.frontier.size(), self.frontier.root());
        }
        Ok(checked)
    }

    fn report(self) -> ReplayReport {
        ReplayReport {
            entries: self.frontier.size(),
            actors: self.state.actors.len(),
            root: self.frontier.root(),
            roots: self.roots,
        }
    }
}

/// An (actor, nonce) pair as the replay remembers it: 16 bytes of a domain-separated blake3
/// hash. Two pairs share one only by a 2^-128 accident, which would refuse a valid log
/// (never accept a reused nonce).
type NonceHash = [u8; 16];

fn nonce_hash(actor: &ActorId, nonce: &str) -> NonceHash {
    let actor = actor.as_str().as_bytes();
    // Length-prefixed, so no two pairs give the same material.
    let material = [
        &(actor.len() as u64).to_le_bytes()[..],
        actor,
        nonce.as_bytes(),
    ]
    .concat();
    let digest = hash::derive("fairshare replay nonce v1", &material);
    let mut short = [0; 16];
    short.copy_from_slice(&digest[..16]);
    short
}

/// Every entry of the log so far, as the rules look it up: its full id (a reference names
/// any 32 bytes, so nothing shorter would do) and a 12-byte reference to its type, actor and
/// project, whose names are held once each.
#[derive(Default)]
struct EntryIndex {
    refs: HashMap<EntryId, CompactRef>,
    actors: Names<ActorId>,
    projects: Names<Slug>,
}

#[derive(Clone, Copy)]
struct CompactRef {
    entry_type: EntryType,
    actor: u32,
    /// The project's number plus one, or 0 for none.
    project: u32,
}

impl EntryIndex {
    fn insert(
        &mut self,
        id: EntryId,
        entry_type: EntryType,
        actor: &ActorId,
        project: Option<&Slug>,
    ) -> Result<(), String> {
        let project = match project {
            Some(p) => self.projects.number(p)? + 1,
            None => 0,
        };
        let reference = CompactRef {
            entry_type,
            actor: self.actors.number(actor)?,
            project,
        };
        self.refs.insert(id, reference);
        Ok(())
    }

    fn get(&self, id: &EntryId) -> Option<EntryRef> {
        let reference = self.refs.get(id)?;
        Some(EntryRef {
            entry_type: reference.entry_type,
            actor: self.actors.name(reference.actor).clone(),
            project: reference
                .project
                .checked_sub(1)
                .map(|p| self.projects.name(p).clone()),
        })
    }
}

/// The rules' view during the replay: the state, with entries from the compact index.
struct ReplayView<'a> {
    state: &'a Snapshot,
    entries: &'a EntryIndex,
}

impl LedgerView for ReplayView<'_> {
    fn actor(&self, id: &ActorId) -> Option<ActorRecord> {
        self.state.actor(id)
    }
    fn key(&self, actor: &ActorId, key: &KeyId) -> Option<KeyRecord> {
        self.state.key(actor, key)
    }
    fn active_key_count(&self, actor: &ActorId) -> usize {
        self.state.active_key_count(actor)
    }
    fn entry(&self, id: &EntryId) -> Option<EntryRef> {
        self.entries.get(id).or_else(|| self.state.entry(id))
    }
    fn policy_adopted(&self, hash: &ContentDigest) -> bool {
        self.state.policy_adopted(hash)
    }
    fn allocated(&self, value_entry: &EntryId) -> bool {
        self.state.allocated(value_entry)
    }
    fn project(&self, project: &Slug) -> ProjectRecord {
        self.state.project(project)
    }
    fn member(&self, project: &Slug, actor: &ActorId) -> bool {
        self.state.member(project, actor)
    }
    fn limits(&self) -> SolverLimits {
        self.state.limits()
    }
    fn policy_cost(&self, hash: &ContentDigest) -> Option<PolicyCost> {
        self.state.policy_cost(hash)
    }
    fn measured(&self, project: &Slug) -> MeasuredSize {
        self.state.measured(project)
    }
}

/// A leaf parsed on the pool, with its hashes.
struct Parsed {
    entry: SignedEntry,
    received_at: String,
    id: EntryId,
    leaf_hash: Hash,
}

/// The first bad signature in `chunk` (entries in log order with their checked signatures),
/// verified as the server verifies them (`rules::verify_signatures`, in batches).
fn verify_chunk(chunk: &[(u64, SignedEntry, Checked)]) -> Option<BadLeaf> {
    let pairs: Vec<_> = chunk
        .iter()
        .map(|(_, entry, checked)| (entry, checked.signatures.as_slice()))
        .collect();
    chunk
        .iter()
        .zip(rules::verify_signatures(&pairs))
        .find_map(|((i, _, _), result)| {
            result.err().map(|e| BadLeaf {
                index: *i,
                reason: e.to_string(),
            })
        })
}

/// A leaf must be canonical JSON of exactly `{envelope, signature, cosignatures?, received_at}`
/// holding a well-formed signed entry: rebuilding it from its parts gives the same bytes.
/// Returns the entry and the leaf's `received_at`.
fn parse_leaf(leaf: &[u8]) -> Result<(SignedEntry, String), String> {
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
    Ok((entry, received_at))
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
        fn observe(&mut self, _: &Replayed<'_>) -> Result<(), String> {
            Ok(())
        }
    }

    fn leaf(key: &SecretKey, actor: &str, nonce: &str, body: Value, entry_type: &str) -> Vec<u8> {
        let envelope = json!({"v": 3, "type": entry_type, "actor": actor, "key": key.public_key().key_id().to_string(),
                              "nonce": nonce, "ts": "2026-11-29T12:00:00Z", "body": body});
        let signed =
            SignedEntry::parse(&sign_envelope(&envelope, key, &[]).expect("signs")).expect("valid");
        signed.leaf_bytes("2026-11-29T12:00:00.000001Z")
    }

    /// The platform `shop`, registered by the log operator, opens project `p` to everyone.
    fn opening(server: &SecretKey) -> Vec<Vec<u8>> {
        let shop = SecretKey::from_seed(&[3; 32]);
        vec![
            leaf(
                server,
                "shop",
                "nonce-s01",
                json!({"kind": "platform", "public_key": shop.public_key().to_base64()}),
                "actor.registered",
            ),
            leaf(
                &shop,
                "shop",
                "nonce-s02",
                json!({"project": "p", "currency": "EUR", "membership": "open"}),
                "project.opened",
            ),
        ]
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
        let body = json!({"project": "p", "kind": "k", "measure": {"quantity": "1", "unit": "u"}, "evidence": format!("commit:{}", "00".repeat(32))});
        let contributions = (0..5).map(|i| {
            leaf(
                &alice,
                "alice",
                &format!("nonce-c{i:03}"),
                body.clone(),
                "contribution",
            )
        });
        let mut leaves = vec![registration];
        leaves.extend(opening(&server));
        leaves.extend(contributions);
        (leaves, server)
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
        assert_eq!((report.entries, report.actors), (8, 2));
        let mut tree = crate::ledger::merkle::MemoryTree::new();
        leaves.iter().for_each(|l| {
            tree.push_leaf(l);
        });
        assert_eq!(report.roots.get(&3), tree.root_at(3).ok().as_ref());
        assert_eq!(report.root, tree.root());
        assert!(!report.roots.contains_key(&99));
    }

    /// Alice registers, `shop` opens the project, then `count` contributions; leaf
    /// `OPENING + i` for `i` in `forged` is signed by another key under Alice's key id (well
    /// formed and canonical, bad signature).
    fn long_log(count: usize, forged: &[usize]) -> Vec<Vec<u8>> {
        let (alice, mallory) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[2; 32]),
        );
        let body = json!({"project": "p", "kind": "k", "measure": {"quantity": "1", "unit": "u"}, "evidence": format!("commit:{}", "00".repeat(32))});
        let mut leaves = vec![leaf(
            &alice,
            "alice",
            "nonce-reg",
            json!({"kind": "human", "public_key": alice.public_key().to_base64()}),
            "actor.registered",
        )];
        leaves.extend(opening(&SecretKey::from_seed(&[9; 32])));
        for i in 1..=count {
            let envelope = json!({"v": 3, "type": "contribution", "actor": "alice",
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

    /// The leaves [`opening`] puts before the contributions of [`long_log`].
    const OPENING: usize = 2;

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
            assert_eq!(bad.index, (OPENING + forged[0]) as u64, "{bad}");
            assert!(bad.reason.contains("signature"), "{bad}");
        }
    }

    /// Records what the replay hands its observer.
    #[derive(Default)]
    struct Recording(Vec<(u64, Hash, String, usize)>);

    impl Observer for Recording {
        fn observe(&mut self, r: &Replayed<'_>) -> Result<(), String> {
            assert_eq!(r.id, EntryId::of_leaf(r.leaf));
            self.0.push((
                r.seq,
                r.leaf_hash,
                r.received_at.to_owned(),
                r.effects.len(),
            ));
            Ok(())
        }
    }

    #[test]
    fn windows_of_any_size_replay_as_one_log() {
        let server = SecretKey::from_seed(&[9; 32]).public_key();
        let leaves = long_log(300, &[]);
        let sizes = [0, 7, 256, 301];
        let whole = replay(&leaves, server, &sizes, &mut RulesOnly, &|_, _| {}).expect("valid");
        for size in [1, 5, 256, 1000] {
            let mut seen = Recording::default();
            let windows = leaves.chunks(size).map(Ok);
            let streamed =
                replay_stream(windows, server, &sizes, &mut seen, &|_, _| {}).expect("valid");
            assert_eq!(streamed, whole, "windows of {size}");
            let expected: Vec<(u64, Hash, String, usize)> = leaves
                .iter()
                .zip(0..)
                .map(|(leaf, i)| {
                    // Two registrations, the project's opening, then its first contribution.
                    let effects = usize::from(i <= 3);
                    (
                        i,
                        leaf_hash(leaf),
                        "2026-11-29T12:00:00.000001Z".into(),
                        effects,
                    )
                })
                .collect();
            assert_eq!(seen.0, expected);
        }
        // A window that cannot be read ends the replay: that position is the bad leaf.
        let unreadable = BadLeaf {
            index: 200,
            reason: "cannot read the file".into(),
        };
        let windows = leaves
            .chunks(100)
            .take(2)
            .map(Ok)
            .chain(std::iter::once(Err(unreadable.clone())));
        let bad = replay_stream(windows, server, &sizes, &mut RulesOnly, &|_, _| {})
            .expect_err("unreadable");
        assert_eq!(bad, unreadable);
    }

    /// The replay as it was before its state was made compact: the whole `Snapshot`
    /// (entries as `EntryRef`s), nonces as (actor, nonce) pairs, one leaf at a time, each
    /// signature verified after its rules. The reference the streamed replay must agree with.
    fn reference_replay(leaves: &[Vec<u8>], server: PublicKey) -> Result<(u64, Hash), BadLeaf> {
        let settings = RuleSettings {
            registration: RegistrationPolicy::Open,
            server_key: server,
        };
        let (mut state, mut nonces, mut tree) =
            (Snapshot::default(), HashSet::new(), Frontier::new());
        for (leaf, index) in leaves.iter().zip(0..) {
            let bad = |reason: String| BadLeaf { index, reason };
            let (entry, _) = parse_leaf(leaf).map_err(bad)?;
            let env = &entry.envelope;
            if !nonces.insert((env.actor.clone(), env.nonce.as_str().to_owned())) {
                let nonce = env.nonce.as_str();
                return Err(bad(format!(
                    "nonce {nonce:?} of {} is used twice",
                    env.actor
                )));
            }
            let checked =
                rules::check(&entry, &state, &settings).map_err(|e| bad(e.to_string()))?;
            checked.effects.iter().for_each(|e| state.apply(e));
            let reference = EntryRef {
                entry_type: env.entry_type,
                actor: env.actor.clone(),
                project: env.body.project().cloned(),
            };
            state.entries.insert(EntryId::of_leaf(leaf), reference);
            rules::verify_signatures(&[(&entry, checked.signatures.as_slice())])
                .remove(0)
                .map_err(|e| bad(e.to_string()))?;
            tree.append_with(leaf_hash(leaf), |_, _| {})
                .map_err(|e| bad(e.to_string()))?;
        }
        Ok((tree.size(), tree.root()))
    }

    /// One entry of a generated log: what it is, who signs it, what it points at (an earlier
    /// leaf, by position modulo the log so far) and whether it is forged.
    #[derive(Debug, Clone)]
    struct Step {
        kind: u8,
        actor: usize,
        target: usize,
        forged: bool,
    }

    /// Leaves from `steps` (after [`opening`]): registrations, contributions (to p, or to q,
    /// never opened) building on earlier leaves or on made-up ids, endorsements of earlier leaves (others', one's own, not contributions),
    /// reused nonces, unregistered actors and forged signatures.
    fn generated_log(steps: &[Step]) -> Vec<Vec<u8>> {
        let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
        let mallory = SecretKey::from_seed(&[66; 32]);
        let (mut leaves, mut contributions): (Vec<Vec<u8>>, Vec<Vec<u8>>) =
            (Vec::new(), Vec::new());
        for (n, step) in steps.iter().enumerate() {
            let key = &keys[step.actor];
            // An earlier contribution mostly, now and then any earlier leaf; a made-up id
            // when there is none.
            let pool: &[Vec<u8>] = if contributions.is_empty() || step.target % 16 == 0 {
                &leaves
            } else {
                &contributions
            };
            let earlier = match pool.len() {
                0 => "ab".repeat(32),
                len => EntryId::of_leaf(&pool[step.target % len]).to_string(),
            };
            let evidence = format!("commit:{}", "00".repeat(32));
            let (entry_type, body) = match step.kind {
                0 => (
                    "actor.registered",
                    json!({"kind": "human", "public_key": key.public_key().to_base64()}),
                ),
                1 => (
                    "contribution",
                    json!({"project": if step.target % 32 == 0 { "q" } else { "p" }, "kind": "k",
                        "measure": {"quantity": "1", "unit": "u"}, "evidence": evidence, "builds_on": [earlier]}),
                ),
                2 => (
                    "endorsement",
                    json!({"contribution": earlier, "decision": "accept"}),
                ),
                _ => (
                    "contribution",
                    json!({"project": "p", "kind": "k",
                        "measure": {"quantity": "2", "unit": "u"}, "evidence": evidence}),
                ),
            };
            // Kind 4 reuses a nonce of the same actor now and then.
            let nonce = if step.kind == 4 {
                format!("nonce-00{}", step.target % 3)
            } else {
                format!("nonce-{n:03}")
            };
            let envelope = json!({"v": 3, "type": entry_type, "actor": format!("a{}", step.actor),
                                  "key": key.public_key().key_id().to_string(), "nonce": nonce,
                                  "ts": "2026-11-29T12:00:00Z", "body": body});
            let signer = if step.forged { &mallory } else { key };
            let signed = SignedEntry::parse(&sign_envelope(&envelope, signer, &[]).expect("signs"))
                .expect("valid");
            let leaf = signed.leaf_bytes("2026-11-29T12:00:00.000001Z");
            if entry_type == "contribution" {
                contributions.push(leaf.clone());
            }
            leaves.push(leaf);
        }
        leaves
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        // Mostly valid entries, so that most logs go on well past their start.
        let kind =
            prop_oneof![50 => Just(3u8), 20 => Just(1), 15 => Just(2), 3 => Just(4), 2 => Just(0)];
        (kind, 0usize..4, 0usize..64, proptest::bool::weighted(0.01)).prop_map(
            |(kind, actor, target, forged)| Step {
                kind,
                actor,
                target,
                forged,
            },
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Streamed, in windows of any size, with compact state: the same verdict, the same
        /// first bad leaf and reason, the same root as the replay before it.
        #[test]
        fn streamed_replay_agrees_with_the_reference(
            registrations in proptest::collection::vec(proptest::bool::weighted(0.9), 4),
            steps in proptest::collection::vec(step(), 0..40),
            window in 1usize..20,
        ) {
            let server = SecretKey::from_seed(&[9; 32]).public_key();
            // Most actors register first, so that most logs go on past their first entries.
            let first = registrations.iter().enumerate().filter(|(_, r)| **r).map(|(actor, _)| {
                Step { kind: 0, actor, target: 0, forged: false }
            });
            let steps: Vec<Step> = first.chain(steps).collect();
            // Project p opened first (by a platform the server registers); q never is.
            let mut leaves = opening(&SecretKey::from_seed(&[9; 32]));
            leaves.extend(generated_log(&steps));
            let expected = reference_replay(&leaves, server);
            let size = leaves.len() as u64;
            let streamed = replay_stream(leaves.chunks(window).map(Ok), server, &[size], &mut RulesOnly, &|_, _| {})
                .map(|report| (report.entries, report.root));
            proptest::prop_assert_eq!(streamed, expected);
        }
    }

    #[test]
    fn a_window_is_vetted_from_the_state_before_it() {
        let server = SecretKey::from_seed(&[9; 32]).public_key();
        let alice = SecretKey::from_seed(&[1; 32]);
        // What the store holds before leaf 1: alice's registration (leaf 0); the shop and
        // its project (the opening) come next, in the window.
        let mut state = Snapshot::default();
        state.apply(&Effect::RegisterActor {
            actor: ActorId::parse("alice").expect("id"),
            kind: crate::entry::ActorKind::Human,
            operator: None,
            public_key: alice.public_key(),
        });
        let leaves = long_log(2 * CHUNK, &[]);
        assert!(
            Window::parse(1, leaves[1..].to_vec())
                .vet(state.clone(), server)
                .is_ok()
        );
        let forged = long_log(2 * CHUNK, &[300]);
        let bad = Window::parse(1, forged[1..].to_vec())
            .vet(state, server)
            .expect_err("forged signature");
        assert_eq!(bad.index, (300 + OPENING) as u64, "{bad}");
        // Without alice's registration in the state, her first entry (after the project's
        // opening, by the server) is the bad one.
        let bad = Window::parse(1, leaves[1..].to_vec())
            .vet(Snapshot::default(), server)
            .expect_err("unknown actor");
        assert_eq!(bad.index, (1 + OPENING) as u64, "{bad}");
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
            // A platform is registered by the log operator (the server key).
            leaf(
                &server,
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
                &shop,
                "shop",
                "nonce-004",
                json!({"project": "p", "currency": "EUR", "membership": "open", "policies": [hash]}),
                "project.opened",
            ),
            leaf(
                &alice,
                "alice",
                "nonce-004",
                json!({"project": "p", "kind": "text", "measure": {"quantity": "10", "unit": "words"}, "evidence": format!("commit:{}", "00".repeat(32))}),
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
        let value_id = EntryId::of_leaf(&leaves[5]).to_string();
        let allocation = |project: &str| {
            leaf(
                &server,
                "server",
                "nonce-006",
                json!({"value_entry": value_id, "project": project, "tree_size": 6,
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
        assert_eq!(bad.index, 6, "{bad}");
        assert!(bad.reason.contains("names project q"), "{bad}");
        // The right project passes the rules (the made-up outcome is for the observer that
        // recomputes allocations to catch: allocation::reproduce's tests).
        leaves[6] = allocation("p");
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
