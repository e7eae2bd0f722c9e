//! The public RFC 6962 reference vectors for the eight standard test leaves.
//!
//! Origin: github.com/transparency-dev/merkle
//! - `testonly/constants.go`: `LeafInputs()`, `NodeHashes()`, `RootHashes()`
//! - `testonly/reference_test.go`: `TestRefInclusionProof`, `TestRefConsistencyProof`
//!
//! (The same leaves and roots come from the certificate-transparency reference
//! implementations of RFC 6962.)

use fairshare::ledger::merkle::{
    self, Hash, MemoryTree, NodeId, empty_root, leaf_hash, verify_consistency, verify_inclusion,
};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// `RootHashes()[1..=8]`.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// `NodeHashes()`: every complete subtree of the 8-leaf tree, by level then index.
const NODE_HASHES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// `TestRefInclusionProof`: (index, size, proof).
const INCLUSION: [(u64, u64, &[&str]); 6] = [
    (0, 1, &[]),
    (
        0,
        2,
        &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    ),
    (
        1,
        2,
        &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// `TestRefConsistencyProof`: (first, second, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 4] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn hash(hex_str: &str) -> Hash {
    hex::decode(hex_str)
        .expect("vector is hex")
        .try_into()
        .expect("vector is 32 bytes")
}

fn hashes(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|h| hash(h)).collect()
}

fn rfc_tree() -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in LEAVES {
        tree.push_leaf(&hex::decode(leaf).expect("vector is hex"));
    }
    tree
}

#[test]
fn empty_tree_root() {
    assert_eq!(
        empty_root(),
        hash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
}

#[test]
fn roots_for_sizes_one_to_eight() {
    let mut tree = MemoryTree::new();
    for (i, leaf) in LEAVES.iter().enumerate() {
        tree.push_leaf(&hex::decode(leaf).expect("vector is hex"));
        assert_eq!(
            tree.root(),
            hash(ROOTS[i]),
            "incremental root of size {}",
            i + 1
        );
    }
    for (i, root) in ROOTS.iter().enumerate() {
        let size = i as u64 + 1;
        assert_eq!(
            tree.root_at(size).unwrap(),
            hash(root),
            "stored root of size {size}"
        );
    }
}

#[test]
fn stored_tree_holds_every_published_node_hash() {
    let tree = rfc_tree();
    for (level, row) in NODE_HASHES.iter().enumerate() {
        for (index, expected) in row.iter().enumerate() {
            let id = NodeId::new(level as u8, index as u64);
            use fairshare::ledger::merkle::HashStore;
            assert_eq!(
                tree.store().get(id.level, id.index),
                Some(hash(expected)),
                "{id:?}"
            );
        }
    }
    for (i, leaf) in LEAVES.iter().enumerate() {
        assert_eq!(
            leaf_hash(&hex::decode(leaf).expect("vector is hex")),
            hash(NODE_HASHES[0][i])
        );
    }
}

#[test]
fn published_inclusion_proofs() {
    let tree = rfc_tree();
    for (index, size, proof) in INCLUSION {
        let expected = hashes(proof);
        assert_eq!(
            tree.inclusion_proof(index, size).unwrap(),
            expected,
            "{index}:{size}"
        );
        let leaf = hash(NODE_HASHES[0][index as usize]);
        let root = hash(ROOTS[size as usize - 1]);
        verify_inclusion(&leaf, index, size, &expected, &root).unwrap();
    }
}

#[test]
fn published_consistency_proofs() {
    let tree = rfc_tree();
    for (first, second, proof) in CONSISTENCY {
        let expected = hashes(proof);
        assert_eq!(
            tree.consistency_proof(first, second).unwrap(),
            expected,
            "{first}:{second}"
        );
        let first_root = hash(ROOTS[first as usize - 1]);
        let second_root = hash(ROOTS[second as usize - 1]);
        verify_consistency(first, second, &expected, &first_root, &second_root).unwrap();
        if !expected.is_empty() {
            assert!(
                verify_consistency(first, second, &expected, &second_root, &first_root).is_err()
            );
        }
    }
    assert_eq!(merkle::consistency_proof_len(6, 8).unwrap(), 3);
}
