//! The committed vector files in tests/vectors/merkle/ must equal what the code produces now,
//! and every proof in them must verify: a change that breaks compatibility fails here.
//!
//! Regenerate (only for a deliberate format change) with:
//!   FAIRSHARE_WRITE_VECTORS=1 cargo test --test protocol

use crate::committed::check_or_write;
use ed25519_dalek::SigningKey;
use fairshare::ledger::checkpoint::{
    Checkpoint, NoteSigner, add_cosignature, open_checkpoint, sign_checkpoint,
};
use fairshare::ledger::merkle::{
    Hash, MemoryTree, leaf_hash, verify_consistency, verify_inclusion,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct TreeVectors {
    description: String,
    hashing: String,
    leaves: Vec<String>,
    leaf_hashes: Vec<String>,
    /// roots[n] is the root of the first n leaves, n = 0..=leaves.len().
    roots: Vec<String>,
    inclusion_proofs: Vec<InclusionVector>,
    consistency_proofs: Vec<ConsistencyVector>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct InclusionVector {
    leaf_index: u64,
    tree_size: u64,
    proof: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct ConsistencyVector {
    first: u64,
    second: u64,
    proof: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct CheckpointVectors {
    pub(crate) description: String,
    pub(crate) log_key_name: String,
    pub(crate) log_signing_seed: String,
    pub(crate) log_vkey: String,
    pub(crate) witness_key_name: String,
    pub(crate) witness_signing_seed: String,
    pub(crate) witness_vkey: String,
    pub(crate) cosignature_timestamp: u64,
    pub(crate) checkpoint_text: String,
    pub(crate) signed_checkpoint: String,
    pub(crate) cosigned_checkpoint: String,
}

const HASHING: &str = "RFC 6962/9162 SHA-256: leaf hash = SHA-256(0x00 || leaf), \
                       node = SHA-256(0x01 || left || right), empty tree = SHA-256(\"\"). \
                       Proofs are in RFC 9162 order (sections 2.1.3.1 and 2.1.4.1).";

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

fn tree_vectors(
    description: &str,
    leaves: &[Vec<u8>],
    inclusion: &[(u64, u64)],
    consistency: &[(u64, u64)],
) -> TreeVectors {
    let mut tree = MemoryTree::new();
    let mut roots = vec![hex::encode(tree.root())];
    for leaf in leaves {
        tree.push_leaf(leaf);
        roots.push(hex::encode(tree.root()));
    }
    TreeVectors {
        description: description.to_owned(),
        hashing: HASHING.to_owned(),
        leaves: leaves.iter().map(hex::encode).collect(),
        leaf_hashes: leaves.iter().map(|l| hex::encode(leaf_hash(l))).collect(),
        roots,
        inclusion_proofs: inclusion
            .iter()
            .map(|&(leaf_index, tree_size)| InclusionVector {
                leaf_index,
                tree_size,
                proof: hexes(&tree.inclusion_proof(leaf_index, tree_size).unwrap()),
            })
            .collect(),
        consistency_proofs: consistency
            .iter()
            .map(|&(first, second)| ConsistencyVector {
                first,
                second,
                proof: hexes(&tree.consistency_proof(first, second).unwrap()),
            })
            .collect(),
    }
}

fn rfc6962_vectors() -> TreeVectors {
    let leaves: Vec<Vec<u8>> = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| hex::decode(h).unwrap())
    .collect();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for size in 1..=8 {
        inclusion.extend((0..size).map(|index| (index, size)));
        consistency.extend((0..=size).map(|first| (first, size)));
    }
    tree_vectors(
        "The eight RFC 6962 reference test leaves (transparency-dev/merkle testonly/constants.go): \
         every root, every inclusion proof and every consistency proof up to size 8.",
        &leaves,
        &inclusion,
        &consistency,
    )
}

fn sequential_vectors() -> TreeVectors {
    let leaves: Vec<Vec<u8>> = (0..64)
        .map(|i| format!("fairshare test leaf {i}").into_bytes())
        .collect();
    let sizes = [
        1u64, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 31, 32, 33, 47, 63, 64,
    ];
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for &size in &sizes {
        let mut indexes = vec![0, 1, size / 2, size.saturating_sub(2), size - 1];
        indexes.retain(|&i| i < size);
        indexes.sort_unstable();
        indexes.dedup();
        inclusion.extend(indexes.into_iter().map(|i| (i, size)));
        for &first in [0u64].iter().chain(&sizes) {
            if first <= size {
                consistency.push((first, size));
            }
        }
    }
    tree_vectors(
        "64 leaves, leaf i = UTF-8 of \"fairshare test leaf <i>\" (decimal i): roots of every \
         size 0..=64 and selected proofs.",
        &leaves,
        &inclusion,
        &consistency,
    )
}

fn seed(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

pub(crate) fn checkpoint_vectors() -> CheckpointVectors {
    let log_seed = seed("fairshare test log key");
    let witness_seed = seed("fairshare test witness key");
    let log =
        NoteSigner::ed25519("fairshare.example/log", SigningKey::from_bytes(&log_seed)).unwrap();
    let witness =
        NoteSigner::cosigner("witness.example/w1", SigningKey::from_bytes(&witness_seed)).unwrap();
    let tree = sequential_vectors();
    let root: Hash = hex::decode(&tree.roots[64]).unwrap().try_into().unwrap();
    let checkpoint = Checkpoint::new("fairshare.example/log", 64, root).unwrap();
    let signed = sign_checkpoint(&checkpoint, &log).unwrap();
    let timestamp = 1_767_225_600; // 2026-01-01T00:00:00Z
    let cosigned = add_cosignature(&signed, &witness, timestamp).unwrap();
    CheckpointVectors {
        description: "A checkpoint of the 64-leaf sequential tree (sequential.json), signed as a \
                      C2SP signed note (Ed25519, type 0x01) and cosigned by a witness \
                      (c2sp.org/tlog-cosignature, type 0x04). Seeds are Ed25519 RFC 8032 \
                      private keys (hex) = SHA-256 of a label; never use them for anything."
            .to_owned(),
        log_key_name: log.name().to_owned(),
        log_signing_seed: hex::encode(log_seed),
        log_vkey: log.verifier().to_vkey(),
        witness_key_name: witness.name().to_owned(),
        witness_signing_seed: hex::encode(witness_seed),
        witness_vkey: witness.verifier().to_vkey(),
        cosignature_timestamp: timestamp,
        checkpoint_text: checkpoint.to_note_text(),
        signed_checkpoint: signed,
        cosigned_checkpoint: cosigned,
    }
}

fn hash(text: &str) -> Hash {
    hex::decode(text).unwrap().try_into().unwrap()
}

/// Checks a vector file with the verifiers only, as an independent implementation would.
fn verify_tree_file(vectors: &TreeVectors) {
    for (leaf, expected) in vectors.leaves.iter().zip(&vectors.leaf_hashes) {
        assert_eq!(
            hex::encode(leaf_hash(&hex::decode(leaf).unwrap())),
            *expected
        );
    }
    for v in &vectors.inclusion_proofs {
        let proof: Vec<Hash> = v.proof.iter().map(|h| hash(h)).collect();
        let leaf = hash(&vectors.leaf_hashes[v.leaf_index as usize]);
        let root = hash(&vectors.roots[v.tree_size as usize]);
        verify_inclusion(&leaf, v.leaf_index, v.tree_size, &proof, &root).unwrap();
    }
    for v in &vectors.consistency_proofs {
        let proof: Vec<Hash> = v.proof.iter().map(|h| hash(h)).collect();
        let first = hash(&vectors.roots[v.first as usize]);
        let second = hash(&vectors.roots[v.second as usize]);
        verify_consistency(v.first, v.second, &proof, &first, &second).unwrap();
    }
}

#[test]
fn rfc6962_vector_file_matches() {
    let vectors = check_or_write("merkle/rfc6962.json", &rfc6962_vectors());
    assert_eq!(
        vectors.roots[8],
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
    verify_tree_file(&vectors);
}

#[test]
fn sequential_vector_file_matches() {
    let vectors = check_or_write("merkle/sequential.json", &sequential_vectors());
    assert_eq!(vectors.roots.len(), 65);
    verify_tree_file(&vectors);
}

#[test]
fn checkpoint_vector_file_matches() {
    let vectors = check_or_write("merkle/checkpoint.json", &checkpoint_vectors());
    let log = fairshare::ledger::checkpoint::NoteVerifier::from_vkey(&vectors.log_vkey).unwrap();
    let witness =
        fairshare::ledger::checkpoint::NoteVerifier::from_vkey(&vectors.witness_vkey).unwrap();
    let (checkpoint, verified) =
        open_checkpoint(&vectors.cosigned_checkpoint, &[log, witness]).unwrap();
    assert_eq!(checkpoint.size, 64);
    assert_eq!(
        verified[1].cosignature_timestamp,
        Some(vectors.cosignature_timestamp)
    );
}
