//! Property tests over random tree sizes: every proof verifies; any change to a proof hash,
//! the leaf, a root, an index or a size makes verification fail.

use std::sync::OnceLock;

use fairshare::ledger::merkle::{
    Frontier, Hash, MemoryTree, MerkleError, leaf_hash, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

const MAX_SIZE: u64 = 3000;

fn leaf_bytes(index: u64) -> Vec<u8> {
    format!("leaf {index}").into_bytes()
}

/// One tree of MAX_SIZE leaves; proofs for any smaller size read only nodes complete at that
/// size, so every prefix tree is served by the same store.
fn tree() -> &'static (MemoryTree, Vec<Hash>) {
    static TREE: OnceLock<(MemoryTree, Vec<Hash>)> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut tree = MemoryTree::new();
        let mut roots = vec![tree.root()];
        for i in 0..MAX_SIZE {
            tree.push_leaf(&leaf_bytes(i));
            roots.push(tree.root());
        }
        (tree, roots)
    })
}

fn root(size: u64) -> Hash {
    tree().1[size as usize]
}

fn is_wrong_length(result: &Result<(), MerkleError>) -> bool {
    matches!(result, Err(MerkleError::WrongProofLength { .. }))
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut flipped = *hash;
    flipped[bit / 8 % 32] ^= 1 << (bit % 8);
    flipped
}

/// (size, index < size)
fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX_SIZE).prop_flat_map(|size| (Just(size), 0..size))
}

/// (first <= second, second)
fn two_sizes() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX_SIZE).prop_flat_map(|second| (0..=second, Just(second)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn stored_roots_equal_incremental_roots(size in 0..=MAX_SIZE) {
        let (tree, roots) = tree();
        prop_assert_eq!(tree.root_at(size).unwrap(), roots[size as usize]);
        let frontier = Frontier::from_store(size, tree.store()).unwrap();
        prop_assert_eq!(frontier.root(), roots[size as usize]);
    }

    #[test]
    fn inclusion_proofs_verify_and_resist_tampering(
        (size, index) in size_and_index(),
        bit in 0usize..256,
        pick in any::<prop::sample::Index>(),
        other_size in 1..=MAX_SIZE,
        other_index in 0..MAX_SIZE,
    ) {
        let (tree, _) = tree();
        let proof = tree.inclusion_proof(index, size).unwrap();
        let leaf = leaf_hash(&leaf_bytes(index));
        let root = root(size);
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));

        // A flipped bit in any proof hash.
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = pick.index(bad.len());
            bad[i] = flip(&bad[i], bit);
            prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
        // A flipped bit in the leaf bytes, the leaf hash, the root.
        let mut bytes = leaf_bytes(index);
        let byte = pick.index(bytes.len());
        bytes[byte] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(&leaf_hash(&bytes), index, size, &proof, &root).is_err());
        prop_assert!(verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err());
        prop_assert_eq!(
            verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)),
            Err(MerkleError::RootMismatch)
        );
        // Another index, or another size with that size's real root.
        if other_index != index {
            prop_assert!(verify_inclusion(&leaf, other_index, size, &proof, &root).is_err());
        }
        if other_size != size {
            let other_root = self::root(other_size);
            prop_assert!(verify_inclusion(&leaf, index, other_size, &proof, &other_root).is_err());
        }
        // A hash added or removed.
        let mut longer = proof.clone();
        longer.push(leaf);
        prop_assert!(is_wrong_length(&verify_inclusion(&leaf, index, size, &longer, &root)));
        if !proof.is_empty() {
            prop_assert!(is_wrong_length(&verify_inclusion(&leaf, index, size, &proof[1..], &root)));
        }
    }

    #[test]
    fn consistency_proofs_verify_and_resist_tampering(
        (first, second) in two_sizes(),
        bit in 0usize..256,
        pick in any::<prop::sample::Index>(),
        other_first in 0..=MAX_SIZE,
        other_second in 1..=MAX_SIZE,
    ) {
        let (tree, _) = tree();
        let proof = tree.consistency_proof(first, second).unwrap();
        let (first_root, second_root) = (root(first), root(second));
        prop_assert_eq!(
            verify_consistency(first, second, &proof, &first_root, &second_root),
            Ok(())
        );
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = pick.index(bad.len());
            bad[i] = flip(&bad[i], bit);
            prop_assert!(verify_consistency(first, second, &bad, &first_root, &second_root).is_err());
        }
        if first != second {
            // Equal sizes make both roots one and the same claim; otherwise each is checked.
            prop_assert!(verify_consistency(first, second, &proof, &flip(&first_root, bit), &second_root).is_err());
        }
        if first != 0 {
            prop_assert!(verify_consistency(first, second, &proof, &first_root, &flip(&second_root, bit)).is_err());
        }
        // Other sizes, each with its real root (a genuinely different claim).
        if other_first != first && other_first <= second && (first != 0 || other_first != second) {
            let claimed = self::root(other_first);
            prop_assert!(
                verify_consistency(other_first, second, &proof, &claimed, &second_root).is_err(),
                "claimed first {} accepted", other_first
            );
        }
        if other_second != second && first <= other_second && first != 0 {
            let claimed = self::root(other_second);
            prop_assert!(
                verify_consistency(first, other_second, &proof, &first_root, &claimed).is_err(),
                "claimed second {} accepted", other_second
            );
        }
        let mut longer = proof.clone();
        longer.push(first_root);
        prop_assert!(is_wrong_length(&verify_consistency(first, second, &longer, &first_root, &second_root)));
    }
}

#[test]
fn a_proof_between_unrelated_trees_fails() {
    // Same sizes, different leaf 3: consistency must fail (a forked history).
    let (tree, _) = tree();
    let mut fork = MemoryTree::new();
    for i in 0..100 {
        fork.push_leaf(&if i == 3 {
            b"forged".to_vec()
        } else {
            leaf_bytes(i)
        });
    }
    let proof = tree.consistency_proof(10, 100).unwrap();
    assert!(verify_consistency(10, 100, &proof, &fork.root_at(10).unwrap(), &root(100)).is_err());
    assert!(verify_consistency(10, 100, &proof, &root(10), &fork.root()).is_err());
    let fork_proof = fork.consistency_proof(10, 100).unwrap();
    assert!(verify_consistency(10, 100, &fork_proof, &root(10), &root(100)).is_err());
}
