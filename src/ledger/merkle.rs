//! The log's Merkle tree: RFC 6962 / RFC 9162 with SHA-256, pure (no IO).
//!
//! - Hashing: `leaf_hash = SHA-256(0x00 || leaf)`, `node_hash = SHA-256(0x01 || left || right)`,
//!   the empty tree hashes to `SHA-256("")` (RFC 9162 §2.1.1).
//! - [`Frontier`] appends leaves in O(log n) and reports every complete subtree it completes, as
//!   `(level, index)` pairs: the node at `(level, index)` covers leaves
//!   `[index << level, (index + 1) << level)`. The sequencer stores all of them (the RFC 6962
//!   "stored tree", called tiles by tessera and Trillian).
//! - Every node of the RFC tree of ANY size `n` is a range `[begin, end)` whose hash folds, right to
//!   left, the complete subtrees covering it. So roots, inclusion proofs (§2.1.3) and consistency
//!   proofs (§2.1.4) for any `n` up to the stored size need only O(log n) stored hashes, listed in
//!   advance by [`root_nodes`], [`inclusion_proof_nodes`] and [`consistency_proof_nodes`] so the
//!   store can fetch them in one query and answer through a [`HashStore`].
//! - Verification follows the RFC 9162 algorithms step by step ([`verify_inclusion`],
//!   [`verify_consistency`]) and fails with a precise [`MerkleError`].

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, a node hash or a root.
pub type Hash = [u8; 32];

/// Domain separation prefixes of RFC 6962 §2.1 (a leaf can never be mistaken for a node).
const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// Trees are addressed by `u64` leaf indexes, so no level above 63 can exist.
const MAX_LEVEL: u8 = 63;

/// MTH({}) = SHA-256() (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// MTH({d(0)}) = SHA-256(0x00 || d(0)).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The hash of a complete subtree from its leaf hashes in order; their count must be a
/// power of two (`None` otherwise, and for none).
pub fn complete_subtree_hash(leaf_hashes: &[Hash]) -> Option<Hash> {
    if !leaf_hashes.len().is_power_of_two() {
        return None;
    }
    let mut level = leaf_hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level.first().copied()
}

/// Everything that can go wrong computing or verifying a root or proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    #[error("leaf index {index} is beyond tree size {size}")]
    IndexBeyondSize { index: u64, size: u64 },
    #[error("tree size {size} is beyond the log's size {log_size}")]
    SizeBeyondLog { size: u64, log_size: u64 },
    #[error("first tree size {first} is greater than second tree size {second}")]
    FirstAfterSecond { first: u64, second: u64 },
    #[error("proof has {actual} hashes, expected {expected}")]
    WrongProofLength { expected: usize, actual: usize },
    #[error("the proof does not lead to the expected root hash")]
    RootMismatch,
    #[error("the consistency proof does not lead to the first (older) root hash")]
    FirstRootMismatch,
    #[error("the consistency proof does not lead to the second (newer) root hash")]
    SecondRootMismatch,
    #[error("equal tree sizes {size} with different root hashes")]
    EqualSizesDifferentRoots { size: u64 },
    #[error("the root of the empty tree must be SHA-256 of the empty string")]
    EmptyTreeRootMismatch,
    #[error("stored tree has no hash for node (level {level}, index {index})")]
    MissingNode { level: u8, index: u64 },
    #[error("a frontier of tree size {size} has {expected} subtree roots, got {actual}")]
    FrontierLength {
        size: u64,
        expected: usize,
        actual: usize,
    },
    #[error("tree size {size} would overflow")]
    TreeFull { size: u64 },
}

/// A complete subtree of the stored tree: covers leaves `[index << level, (index + 1) << level)`.
/// Level 0 nodes are leaf hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// First leaf covered.
    pub fn begin(&self) -> u64 {
        self.index << self.level
    }

    /// One past the last leaf covered.
    pub fn end(&self) -> u64 {
        (self.index + 1) << self.level
    }

    /// The smallest tree size in which this node is complete (and therefore stored).
    pub fn complete_at_size(&self) -> u64 {
        self.end()
    }
}

/// Read access to the stored tree: the hash of the complete subtree `(level, index)`.
///
/// Contract: after the leaves `0..n` are appended through [`Frontier::append`], and every
/// `(NodeId, Hash)` it reported was stored, `get` answers every `(level, index)` with
/// `(index + 1) << level <= n`. Nothing else is ever asked for sizes up to `n`.
pub trait HashStore {
    fn get(&self, level: u8, index: u64) -> Option<Hash>;
}

impl<F> HashStore for F
where
    F: Fn(u8, u64) -> Option<Hash>,
{
    fn get(&self, level: u8, index: u64) -> Option<Hash> {
        self(level, index)
    }
}

/// The map a store layer builds from one query over [`inclusion_proof_nodes`] and friends.
impl HashStore for HashMap<NodeId, Hash> {
    fn get(&self, level: u8, index: u64) -> Option<Hash> {
        HashMap::get(self, &NodeId::new(level, index)).copied()
    }
}

impl HashStore for BTreeMap<NodeId, Hash> {
    fn get(&self, level: u8, index: u64) -> Option<Hash> {
        BTreeMap::get(self, &NodeId::new(level, index)).copied()
    }
}

/// An in-memory stored tree (one vector per level), for tests, benches, the offline verifier
/// and `fairshare check`.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    levels: Vec<Vec<Hash>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a node reported by [`Frontier::append`]. Nodes of one level arrive in index order,
    /// which is what `append` produces.
    pub fn put(&mut self, node: NodeId, hash: Hash) {
        let level = usize::from(node.level);
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        let row = &mut self.levels[level];
        match usize::try_from(node.index) {
            Ok(i) if i < row.len() => row[i] = hash,
            Ok(i) if i == row.len() => row.push(hash),
            _ => panic!(
                "MemoryStore::put out of order: {node:?} after {} nodes",
                row.len()
            ),
        }
    }

    /// Number of leaves stored.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |row| row.len() as u64)
    }
}

impl HashStore for MemoryStore {
    fn get(&self, level: u8, index: u64) -> Option<Hash> {
        let row = self.levels.get(usize::from(level))?;
        row.get(usize::try_from(index).ok()?).copied()
    }
}

/// The compact range `[0, size)`: the roots of the maximal complete subtrees, largest (leftmost)
/// first, one per set bit of `size`. Enough to append and to compute the current root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    roots: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores a frontier from the hashes of [`Frontier::node_ids`]`(size)`, in that order.
    pub fn from_parts(size: u64, roots: Vec<Hash>) -> Result<Self, MerkleError> {
        let expected = size.count_ones() as usize;
        if roots.len() != expected {
            return Err(MerkleError::FrontierLength {
                size,
                expected,
                actual: roots.len(),
            });
        }
        Ok(Self { size, roots })
    }

    /// Restores the frontier of tree size `size` from the stored tree (after a restart).
    pub fn from_store(size: u64, store: &impl HashStore) -> Result<Self, MerkleError> {
        let roots = Self::node_ids(size)
            .into_iter()
            .map(|id| fetch(store, id))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_parts(size, roots)
    }

    /// The stored nodes forming the frontier of tree size `size`, leftmost first.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        range_node_ids(0, size)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier's subtree roots, leftmost (largest) first.
    pub fn roots(&self) -> &[Hash] {
        &self.roots
    }

    /// MTH(D[0:size]): folds the frontier right to left.
    pub fn root(&self) -> Hash {
        fold_right(&self.roots).unwrap_or_else(empty_root)
    }

    /// Appends one leaf (by its [`leaf_hash`]) and hands every complete subtree this append
    /// creates to `created`, lowest level first: always `(0, i)` for the new leaf `i`, then
    /// `(1, i >> 1)`, ... `(t, i >> t)` where `t` is the number of trailing one bits of `i`.
    /// Returns the new leaf's index.
    pub fn append_with(
        &mut self,
        leaf_hash: Hash,
        mut created: impl FnMut(NodeId, Hash),
    ) -> Result<u64, MerkleError> {
        let leaf_index = self.size;
        let new_size = leaf_index
            .checked_add(1)
            .ok_or(MerkleError::TreeFull { size: self.size })?;
        let mut hash = leaf_hash;
        let mut node = NodeId::new(0, leaf_index);
        created(node, hash);
        // Each trailing one bit of the old size is a frontier root of that level waiting for a
        // right sibling; merge them bottom-up, exactly like binary carry propagation.
        for _ in 0..leaf_index.trailing_ones() {
            let left = self
                .roots
                .pop()
                .expect("frontier holds one root per set bit of size");
            hash = node_hash(&left, &hash);
            node = NodeId::new(node.level + 1, node.index >> 1);
            created(node, hash);
        }
        self.roots.push(hash);
        self.size = new_size;
        Ok(leaf_index)
    }

    /// [`Frontier::append_with`] collecting the created nodes.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
        let mut created = Vec::with_capacity(2);
        self.append_with(leaf_hash, |id, hash| created.push((id, hash)))?;
        Ok(created)
    }
}

/// Convenience: a [`Frontier`] with its [`MemoryStore`], i.e. a whole in-memory log tree.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    frontier: Frontier,
    store: MemoryStore,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends raw leaf bytes; returns the leaf index.
    pub fn push_leaf(&mut self, leaf: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(leaf))
    }

    /// Appends a precomputed leaf hash; returns the leaf index.
    pub fn push_leaf_hash(&mut self, hash: Hash) -> u64 {
        let store = &mut self.store;
        self.frontier
            .append_with(hash, |id, h| store.put(id, h))
            .expect("an in-memory tree cannot reach 2^64 leaves")
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    pub fn store(&self) -> &MemoryStore {
        &self.store
    }

    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    pub fn root_at(&self, size: u64) -> Result<Hash, MerkleError> {
        self.check_size(size)?;
        root_at(size, &self.store)
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(size)?;
        inclusion_proof(index, size, &self.store)
    }

    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(second)?;
        consistency_proof(first, second, &self.store)
    }

    fn check_size(&self, size: u64) -> Result<(), MerkleError> {
        if size > self.size() {
            return Err(MerkleError::SizeBeyondLog {
                size,
                log_size: self.size(),
            });
        }
        Ok(())
    }
}

/// A range of leaves `[begin, end)` that is a node of some RFC 6962 tree: `begin` is a multiple
/// of the largest power of two not above `end - begin`, so it splits into complete subtrees of
/// strictly decreasing size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LeafRange {
    begin: u64,
    end: u64,
}

/// The largest power of two strictly smaller than `n` (`n >= 2`): the RFC's split point `k`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Complete subtrees covering `[begin, end)`, leftmost (largest) first. The caller guarantees
/// `begin` is aligned to the largest of them (true for every node of an RFC 6962 tree).
fn range_node_ids(begin: u64, end: u64) -> Vec<NodeId> {
    let mut ids = Vec::with_capacity((end - begin).count_ones() as usize);
    push_range_node_ids(begin, end, &mut ids);
    ids
}

/// The level of the largest complete subtree that fits in `leaves` (> 0): its highest set bit.
fn largest_subtree_level(leaves: u64) -> u8 {
    // ilog2 of a u64 is at most 63, so it fits in a u8.
    u8::try_from(leaves.ilog2()).unwrap_or(u8::MAX)
}

fn push_range_node_ids(begin: u64, end: u64, out: &mut Vec<NodeId>) {
    let mut position = begin;
    let mut remaining = end - begin;
    while remaining != 0 {
        let level = largest_subtree_level(remaining);
        debug_assert!(level <= MAX_LEVEL);
        debug_assert_eq!(position % (1 << level), 0, "unaligned range");
        out.push(NodeId::new(level, position >> level));
        position += 1 << level;
        remaining -= 1 << level;
    }
}

/// RFC 9162 §2.1.3.1 PATH(m, D[0:n]), as the ranges whose MTH forms the proof, in proof order
/// (from the leaf's sibling up to the root's child).
fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<LeafRange>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexBeyondSize { index, size });
    }
    let (mut begin, mut end) = (0, size);
    let mut ranges = Vec::with_capacity(64 - size.leading_zeros() as usize);
    while end - begin > 1 {
        let middle = begin + split_point(end - begin);
        if index < middle {
            // PATH(m, D[0:k]) : MTH(D[k:n])
            ranges.push(LeafRange { begin: middle, end });
            end = middle;
        } else {
            // PATH(m - k, D[k:n]) : MTH(D[0:k])
            ranges.push(LeafRange { begin, end: middle });
            begin = middle;
        }
    }
    // The recursion appends after descending, so the deepest sibling comes first.
    ranges.reverse();
    Ok(ranges)
}

/// RFC 9162 §2.1.4.1 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true), as ranges in proof order.
/// `m == 0` and `m == n` have empty proofs (RFC 9162 defines the proof for 0 < m < n).
fn consistency_ranges(first: u64, second: u64) -> Result<Vec<LeafRange>, MerkleError> {
    if first > second {
        return Err(MerkleError::FirstAfterSecond { first, second });
    }
    if first == 0 || first == second {
        return Ok(Vec::new());
    }
    let (mut begin, mut end) = (0, second);
    // `first` stays an absolute leaf count: SUBPROOF's m is `first - begin`.
    let mut first_is_known_root = true; // SUBPROOF's flag b
    let mut ranges = Vec::with_capacity(64 - second.leading_zeros() as usize + 1);
    loop {
        if first == end {
            // SUBPROOF(m, D[m], b): [] if b, else [MTH(D[m])].
            if !first_is_known_root {
                ranges.push(LeafRange { begin, end });
            }
            break;
        }
        let middle = begin + split_point(end - begin);
        if first <= middle {
            // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            ranges.push(LeafRange { begin: middle, end });
            end = middle;
        } else {
            // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            ranges.push(LeafRange { begin, end: middle });
            begin = middle;
            first_is_known_root = false;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

fn ranges_node_ids(ranges: &[LeafRange]) -> Vec<NodeId> {
    let mut ids = Vec::with_capacity(ranges.len() + 64);
    for range in ranges {
        push_range_node_ids(range.begin, range.end, &mut ids);
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn fetch(store: &impl HashStore, id: NodeId) -> Result<Hash, MerkleError> {
    store
        .get(id.level, id.index)
        .ok_or(MerkleError::MissingNode {
            level: id.level,
            index: id.index,
        })
}

/// Folds subtree roots right to left: h0 ⊕ (h1 ⊕ (... ⊕ hk)).
fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |acc, left| node_hash(left, &acc)),
    )
}

/// MTH(D[begin:end]) from the stored complete subtrees covering it.
fn range_hash(store: &impl HashStore, range: LeafRange) -> Result<Hash, MerkleError> {
    let mut position = range.begin;
    let mut remaining = range.end - range.begin;
    let mut parts: Vec<Hash> = Vec::with_capacity(remaining.count_ones() as usize);
    while remaining != 0 {
        let level = largest_subtree_level(remaining);
        parts.push(fetch(store, NodeId::new(level, position >> level))?);
        position += 1 << level;
        remaining -= 1 << level;
    }
    fold_right(&parts).ok_or(MerkleError::MissingNode {
        level: 0,
        index: range.begin,
    })
}

fn ranges_hashes(store: &impl HashStore, ranges: &[LeafRange]) -> Result<Vec<Hash>, MerkleError> {
    ranges
        .iter()
        .map(|&range| range_hash(store, range))
        .collect()
}

/// The stored nodes that [`root_at`] reads for tree size `size` (one per set bit of `size`).
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    range_node_ids(0, size)
}

/// The stored nodes that [`inclusion_proof`] reads, sorted and deduplicated: fetch them in one
/// query and pass the result as a [`HashStore`] (e.g. a `HashMap<NodeId, Hash>`).
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Result<Vec<NodeId>, MerkleError> {
    Ok(ranges_node_ids(&inclusion_ranges(index, size)?))
}

/// The stored nodes that [`consistency_proof`] reads, sorted and deduplicated.
pub fn consistency_proof_nodes(first: u64, second: u64) -> Result<Vec<NodeId>, MerkleError> {
    Ok(ranges_node_ids(&consistency_ranges(first, second)?))
}

/// MTH(D[0:size]) of any tree size the store holds.
pub fn root_at(size: u64, store: &impl HashStore) -> Result<Hash, MerkleError> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(
        store,
        LeafRange {
            begin: 0,
            end: size,
        },
    )
}

/// RFC 9162 §2.1.3.1: the inclusion proof of leaf `index` in the tree of size `size`.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    store: &impl HashStore,
) -> Result<Vec<Hash>, MerkleError> {
    ranges_hashes(store, &inclusion_ranges(index, size)?)
}

/// RFC 9162 §2.1.4.1: the consistency proof from tree size `first` to tree size `second`.
pub fn consistency_proof(
    first: u64,
    second: u64,
    store: &impl HashStore,
) -> Result<Vec<Hash>, MerkleError> {
    ranges_hashes(store, &consistency_ranges(first, second)?)
}

/// Number of hashes in a valid inclusion proof.
pub fn inclusion_proof_len(index: u64, size: u64) -> Result<usize, MerkleError> {
    Ok(inclusion_ranges(index, size)?.len())
}

/// Number of hashes in a valid consistency proof.
pub fn consistency_proof_len(first: u64, second: u64) -> Result<usize, MerkleError> {
    Ok(consistency_ranges(first, second)?.len())
}

/// Shifts `fn` and `sn` right together until `fn`'s lowest bit is set or `fn` is 0.
fn shift_until_odd_or_zero(first_node: &mut u64, second_node: &mut u64) {
    while *first_node & 1 == 0 && *first_node != 0 {
        *first_node >>= 1;
        *second_node >>= 1;
    }
}

/// RFC 9162 §2.1.3.2 steps 1-3: the root an inclusion proof leads to.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, MerkleError> {
    // Step 1 (index < size) is checked by the expected length; an exact length also makes the
    // RFC's "sn is 0 before the path ends" failure impossible, and gives a precise error.
    let expected = inclusion_proof_len(index, size)?;
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let mut first_node = index; // fn
    let mut second_node = size - 1; // sn
    let mut hash = *leaf_hash; // r
    for sibling in proof {
        if second_node == 0 {
            return Err(MerkleError::WrongProofLength {
                expected,
                actual: proof.len(),
            });
        }
        if first_node & 1 == 1 || first_node == second_node {
            hash = node_hash(sibling, &hash);
            if first_node & 1 == 0 {
                shift_until_odd_or_zero(&mut first_node, &mut second_node);
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        first_node >>= 1;
        second_node >>= 1;
    }
    if second_node != 0 {
        return Err(MerkleError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    Ok(hash)
}

/// RFC 9162 §2.1.3.2: verifies that `leaf_hash` is leaf `index` of the tree of size `size`
/// whose root is `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if &computed != root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: verifies that the tree of size `first` with root `first_root` is a prefix
/// of the tree of size `second` with root `second_root`.
///
/// Edge cases outside the RFC's `0 < first < second`: `first == second` needs an empty proof
/// and equal roots; `first == 0` needs an empty proof and the empty-tree root as `first_root`.
pub fn verify_consistency(
    first: u64,
    second: u64,
    proof: &[Hash],
    first_root: &Hash,
    second_root: &Hash,
) -> Result<(), MerkleError> {
    let expected = consistency_proof_len(first, second)?;
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    if first == 0 {
        if first_root != &empty_root() {
            return Err(MerkleError::EmptyTreeRootMismatch);
        }
        return Ok(());
    }
    if first == second {
        if first_root != second_root {
            return Err(MerkleError::EqualSizesDifferentRoots { size: first });
        }
        return Ok(());
    }
    let wrong_length = MerkleError::WrongProofLength {
        expected,
        actual: proof.len(),
    };
    // Step 1: an empty path fails (cannot happen here: the length was checked above).
    // Step 2: if first is an exact power of 2, prepend first_hash to the path.
    let path: Vec<&Hash> = if first.is_power_of_two() {
        std::iter::once(first_root).chain(proof.iter()).collect()
    } else {
        proof.iter().collect()
    };
    let Some((&seed, rest)) = path.split_first() else {
        return Err(wrong_length);
    };
    // Step 3.
    let mut first_node = first - 1; // fn
    let mut second_node = second - 1; // sn
    // Step 4: if LSB(fn) is set, shift both right until it is not.
    while first_node & 1 == 1 {
        first_node >>= 1;
        second_node >>= 1;
    }
    // Step 5.
    let mut first_hash = *seed; // fr
    let mut second_hash = *seed; // sr
    // Step 6.
    for &sibling in rest {
        if second_node == 0 {
            return Err(wrong_length);
        }
        if first_node & 1 == 1 || first_node == second_node {
            first_hash = node_hash(sibling, &first_hash);
            second_hash = node_hash(sibling, &second_hash);
            if first_node & 1 == 0 {
                shift_until_odd_or_zero(&mut first_node, &mut second_node);
            }
        } else {
            second_hash = node_hash(&second_hash, sibling);
        }
        first_node >>= 1;
        second_node >>= 1;
    }
    // Step 7.
    if second_node != 0 {
        return Err(wrong_length);
    }
    if &first_hash != first_root {
        return Err(MerkleError::FirstRootMismatch);
    }
    if &second_hash != second_root {
        return Err(MerkleError::SecondRootMismatch);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // test trees have at most a few hundred leaves
mod tests {
    use super::*;

    #[test]
    fn complete_subtree_hash_is_the_stored_node() {
        let mut tree = MemoryTree::new();
        for i in 0..16u8 {
            tree.push_leaf(&[i]);
        }
        let leaves: Vec<Hash> = (0..16u8).map(|i| leaf_hash(&[i])).collect();
        for level in 0..=4u8 {
            for index in 0..(16u64 >> level) {
                let node = NodeId::new(level, index);
                let range = node.begin() as usize..node.end() as usize;
                assert_eq!(
                    complete_subtree_hash(&leaves[range]),
                    tree.store().get(level, index),
                    "({level}, {index})"
                );
            }
        }
        assert_eq!(complete_subtree_hash(&leaves[..3]), None);
        assert_eq!(complete_subtree_hash(&[]), None);
    }

    /// Definition-level MTH (RFC 9162 §2.1.1), recursive over the leaves.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn reference_path(index: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split_point(n as u64) as usize;
        if index < k {
            let mut path = reference_path(index, &leaves[..k]);
            path.push(reference_root(&leaves[k..]));
            path
        } else {
            let mut path = reference_path(index - k, &leaves[k..]);
            path.push(reference_root(&leaves[..k]));
            path
        }
    }

    fn reference_subproof(m: usize, leaves: &[Hash], known: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if known {
                Vec::new()
            } else {
                vec![reference_root(leaves)]
            };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut proof = reference_subproof(m, &leaves[..k], known);
            proof.push(reference_root(&leaves[k..]));
            proof
        } else {
            let mut proof = reference_subproof(m - k, &leaves[k..], false);
            proof.push(reference_root(&leaves[..k]));
            proof
        }
    }

    fn tree(n: u64) -> (MemoryTree, Vec<Hash>) {
        let mut tree = MemoryTree::new();
        let mut leaves = Vec::new();
        for i in 0..n {
            let h = leaf_hash(&i.to_be_bytes());
            leaves.push(h);
            tree.push_leaf_hash(h);
        }
        (tree, leaves)
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Frontier::new().root(), empty_root());
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (7, 4),
            (8, 4),
            (9, 8),
            (28937, 16384),
        ] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn append_reports_one_node_per_trailing_one_plus_the_leaf() {
        let mut frontier = Frontier::new();
        for i in 0u64..200 {
            let created = frontier.append(leaf_hash(&i.to_le_bytes())).unwrap();
            let ids: Vec<NodeId> = created.iter().map(|(id, _)| *id).collect();
            let expected: Vec<NodeId> = (0..=i.trailing_ones() as u8)
                .map(|level| NodeId::new(level, i >> level))
                .collect();
            assert_eq!(ids, expected);
            for id in ids {
                assert_eq!(id.complete_at_size(), i + 1);
            }
        }
    }

    #[test]
    fn roots_and_proofs_match_the_definitions_for_every_small_tree() {
        let (tree, leaves) = tree(70);
        for n in 0..=70u64 {
            let prefix = &leaves[..n as usize];
            assert_eq!(tree.root_at(n).unwrap(), reference_root(prefix), "root {n}");
            for i in 0..n {
                assert_eq!(
                    tree.inclusion_proof(i, n).unwrap(),
                    reference_path(i as usize, prefix),
                    "inclusion {i} in {n}"
                );
            }
            for m in 1..n {
                assert_eq!(
                    tree.consistency_proof(m, n).unwrap(),
                    reference_subproof(m as usize, prefix, true),
                    "consistency {m} -> {n}"
                );
            }
        }
    }

    #[test]
    fn frontier_restores_from_store() {
        let (tree, _) = tree(45);
        for n in 0..=45 {
            let frontier = Frontier::from_store(n, tree.store()).unwrap();
            assert_eq!(frontier.root(), tree.root_at(n).unwrap());
        }
        assert!(matches!(
            Frontier::from_parts(3, vec![[0; 32]]),
            Err(MerkleError::FrontierLength { .. })
        ));
    }

    #[test]
    fn node_lists_are_exactly_what_the_proofs_read() {
        let (tree, _) = tree(100);
        for n in 1..=100u64 {
            for i in (0..n).step_by(7) {
                let ids = inclusion_proof_nodes(i, n).unwrap();
                let map: HashMap<NodeId, Hash> = ids
                    .iter()
                    .map(|id| (*id, tree.store().get(id.level, id.index).unwrap()))
                    .collect();
                assert_eq!(
                    inclusion_proof(i, n, &map).unwrap(),
                    tree.inclusion_proof(i, n).unwrap()
                );
                assert!(ids.len() <= 2 * 64);
            }
            for m in (0..=n).step_by(5) {
                let ids = consistency_proof_nodes(m, n).unwrap();
                let map: BTreeMap<NodeId, Hash> = ids
                    .iter()
                    .map(|id| (*id, tree.store().get(id.level, id.index).unwrap()))
                    .collect();
                assert_eq!(
                    consistency_proof(m, n, &map).unwrap(),
                    tree.consistency_proof(m, n).unwrap()
                );
            }
            let ids = root_nodes(n);
            assert_eq!(ids.len(), n.count_ones() as usize);
        }
    }

    #[test]
    fn missing_node_is_reported() {
        let (tree, _) = tree(10);
        let partial = |level: u8, index: u64| {
            if level == 2 && index == 1 {
                None
            } else {
                tree.store().get(level, index)
            }
        };
        assert_eq!(
            inclusion_proof(0, 10, &partial),
            Err(MerkleError::MissingNode { level: 2, index: 1 })
        );
    }

    #[test]
    fn bad_arguments_are_precise_errors() {
        let (tree, leaves) = tree(8);
        let root = tree.root();
        assert_eq!(
            tree.inclusion_proof(8, 8),
            Err(MerkleError::IndexBeyondSize { index: 8, size: 8 })
        );
        assert_eq!(
            consistency_proof(5, 4, tree.store()),
            Err(MerkleError::FirstAfterSecond {
                first: 5,
                second: 4
            })
        );
        let proof = tree.inclusion_proof(3, 8).unwrap();
        assert_eq!(
            verify_inclusion(&leaves[3], 3, 8, &proof[..2], &root),
            Err(MerkleError::WrongProofLength {
                expected: 3,
                actual: 2
            })
        );
        assert_eq!(
            verify_inclusion(&leaves[2], 3, 8, &proof, &root),
            Err(MerkleError::RootMismatch)
        );
        assert_eq!(
            verify_inclusion(&leaves[3], 9, 8, &proof, &root),
            Err(MerkleError::IndexBeyondSize { index: 9, size: 8 })
        );
        let old = tree.root_at(5).unwrap();
        let proof = tree.consistency_proof(5, 8).unwrap();
        assert_eq!(
            verify_consistency(5, 8, &proof, &root, &root),
            Err(MerkleError::FirstRootMismatch)
        );
        assert_eq!(
            verify_consistency(5, 8, &proof, &old, &old),
            Err(MerkleError::SecondRootMismatch)
        );
        assert_eq!(verify_consistency(5, 8, &proof, &old, &root), Ok(()));
        assert_eq!(verify_consistency(8, 8, &[], &root, &root), Ok(()));
        assert_eq!(
            verify_consistency(8, 8, &[], &old, &root),
            Err(MerkleError::EqualSizesDifferentRoots { size: 8 })
        );
        assert_eq!(verify_consistency(0, 8, &[], &empty_root(), &root), Ok(()));
        assert_eq!(
            verify_consistency(0, 8, &[], &old, &root),
            Err(MerkleError::EmptyTreeRootMismatch)
        );
    }
}
