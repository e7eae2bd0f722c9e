//! Vectors of the tlog-tiles and tlog-proof byte formats (tests/vectors/merkle/tiles.json):
//! tile paths, the level-0 tile and entry bundle of the 64 sequential leaves, and the proof
//! bundle of leaf 5 against the cosigned checkpoint of checkpoint.json.
//!
//! Regenerate (only for a deliberate format change) with:
//!   FAIRSHARE_WRITE_VECTORS=1 cargo test --test protocol

use crate::committed::check_or_write;
use crate::vectors::checkpoint_vectors;
use fairshare::ledger::checkpoint::NoteVerifier;
use fairshare::ledger::merkle::{MemoryTree, leaf_hash};
use fairshare::ledger::proof::ProofBundle;
use fairshare::ledger::tiles::{Tile, TileKind, entry_bundle, hash_tile_bytes};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct TileVectors {
    description: String,
    /// (tile level, index, width, path after the prefix)
    paths: Vec<(u8, u64, u64, String)>,
    level0_tile_path: String,
    level0_tile_hex: String,
    entry_bundle_path: String,
    entry_bundle_hex: String,
    proof_bundle_index: u64,
    proof_bundle: String,
}

fn leaves() -> Vec<Vec<u8>> {
    (0..64)
        .map(|i| format!("fairshare test leaf {i}").into_bytes())
        .collect()
}

fn tile_vectors() -> TileVectors {
    let leaves = leaves();
    let mut tree = MemoryTree::new();
    for leaf in &leaves {
        tree.push_leaf(leaf);
    }
    let paths = [
        (0, 0, 256),
        (0, 5, 64),
        (1, 999, 256),
        (2, 1000, 1),
        (0, 1_234_067, 8),
    ]
    .into_iter()
    .map(|(level, index, width)| {
        let tile = Tile {
            kind: TileKind::Hashes { level },
            index,
            width,
        };
        (level, index, width, tile.to_path())
    })
    .collect();
    let level0 = Tile {
        kind: TileKind::Hashes { level: 0 },
        index: 0,
        width: 64,
    };
    let bundle = Tile {
        kind: TileKind::Entries,
        index: 0,
        width: 64,
    };
    let hashes: Vec<_> = leaves.iter().map(|l| leaf_hash(l)).collect();
    let checkpoint = checkpoint_vectors();
    let proof = ProofBundle {
        extra: Some(leaves[5].clone()),
        index: 5,
        proof: tree.inclusion_proof(5, 64).expect("proof"),
        checkpoint: checkpoint.cosigned_checkpoint,
    };
    TileVectors {
        description: "c2sp.org/tlog-tiles paths, the level-0 tile and entry bundle of the 64 leaves of \
                      sequential.json (partial, width 64), and a c2sp.org/tlog-proof bundle of leaf 5 \
                      (extra = the leaf's bytes) against the cosigned checkpoint of checkpoint.json."
            .to_owned(),
        paths,
        level0_tile_path: level0.to_path(),
        level0_tile_hex: hex::encode(hash_tile_bytes(&hashes)),
        entry_bundle_path: bundle.to_path(),
        entry_bundle_hex: hex::encode(
            entry_bundle(leaves.iter().enumerate().map(|(i, l)| (i as u64, l.as_slice())))
                .expect("small leaves"),
        ),
        proof_bundle_index: 5,
        proof_bundle: proof.to_text(),
    }
}

#[test]
fn tile_vector_file_matches() {
    let vectors = check_or_write("merkle/tiles.json", &tile_vectors());
    assert_eq!(vectors.level0_tile_path, "tile/0/000.p/64");
    assert_eq!(vectors.entry_bundle_path, "tile/entries/000.p/64");
    let checkpoint = checkpoint_vectors();
    let log = NoteVerifier::from_vkey(&checkpoint.log_vkey).expect("vkey");
    let witness = NoteVerifier::from_vkey(&checkpoint.witness_vkey).expect("vkey");
    let policy =
        fairshare::ledger::witness::WitnessPolicy::new(vec![witness], 1).expect("a policy");
    let bundle = ProofBundle::parse(&vectors.proof_bundle).expect("reads");
    let (_, leaf, cosigned) = bundle.verify(&log, Some(&policy)).expect("verifies");
    assert_eq!((leaf, cosigned), (&b"fairshare test leaf 5"[..], 1));
}
