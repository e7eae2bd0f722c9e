//! Merkle tree and checkpoint benchmarks on a 1,000,000-leaf in-memory stored tree.
//! Run: `cargo bench --bench merkle`. Figures: docs/BENCHMARKS.md ("Merkle tree and checkpoints").

// Benchmark data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use fairshare::ledger::checkpoint::{Checkpoint, NoteSigner, open_checkpoint, sign_checkpoint};
use fairshare::ledger::merkle::{
    Frontier, Hash, HashStore, MemoryTree, NodeId, consistency_proof, inclusion_proof,
    inclusion_proof_nodes, leaf_hash, verify_consistency, verify_inclusion,
};

const TREE_SIZE: u64 = 1_000_000;

/// Deterministic xorshift64*: benchmark inputs without a rand dependency.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
    }
}

fn leaf(i: u64) -> Hash {
    leaf_hash(&i.to_le_bytes())
}

fn big_tree() -> MemoryTree {
    let mut tree = MemoryTree::new();
    for i in 0..TREE_SIZE {
        tree.push_leaf_hash(leaf(i));
    }
    tree
}

fn benches(c: &mut Criterion) {
    let tree = big_tree();
    let store = tree.store();

    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("frontier_1000_leaf_hashes", |b| {
        let hashes: Vec<Hash> = (0..1000).map(leaf).collect();
        let mut frontier = Frontier::from_store(TREE_SIZE, store).expect("stored frontier");
        b.iter(|| {
            let mut created = 0usize;
            for hash in &hashes {
                frontier
                    .append_with(*hash, |_, _| created += 1)
                    .expect("not full");
            }
            black_box(created)
        })
    });
    group.bench_function("leaf_hash_and_append_1000_leaves_of_300_bytes", |b| {
        let leaves: Vec<Vec<u8>> = (0..1000u32).map(|i| vec![i as u8; 300]).collect();
        let mut frontier = Frontier::new();
        b.iter(|| {
            for leaf in &leaves {
                frontier
                    .append_with(leaf_hash(leaf), |id, hash| {
                        black_box((id, hash));
                    })
                    .expect("not full");
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("proofs_1m");
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    group.bench_function("inclusion_proof_from_memory_store", |b| {
        b.iter_batched(
            || rng.below(TREE_SIZE),
            |index| inclusion_proof(index, TREE_SIZE, store).expect("stored"),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("inclusion_proof_via_node_list_and_hashmap", |b| {
        // The store layer's path: list the nodes, fetch them (here: from memory), build a map.
        b.iter_batched(
            || rng.below(TREE_SIZE),
            |index| {
                let ids = inclusion_proof_nodes(index, TREE_SIZE).expect("valid");
                let fetched: HashMap<NodeId, Hash> = ids
                    .iter()
                    .map(|id| (*id, store.get(id.level, id.index).expect("stored")))
                    .collect();
                inclusion_proof(index, TREE_SIZE, &fetched).expect("complete")
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("consistency_proof_from_memory_store", |b| {
        b.iter_batched(
            || 1 + rng.below(TREE_SIZE - 1),
            |first| consistency_proof(first, TREE_SIZE, store).expect("stored"),
            BatchSize::SmallInput,
        )
    });
    let root = tree.root();
    let index = 777_777;
    let leaf_777 = leaf(index);
    let proof = inclusion_proof(index, TREE_SIZE, store).expect("stored");
    group.bench_function("verify_inclusion", |b| {
        b.iter(|| verify_inclusion(&leaf_777, index, TREE_SIZE, black_box(&proof), &root))
    });
    let first = 333_333;
    let first_root = tree.root_at(first).expect("stored");
    let cproof = consistency_proof(first, TREE_SIZE, store).expect("stored");
    group.bench_function("verify_consistency", |b| {
        b.iter(|| verify_consistency(first, TREE_SIZE, black_box(&cproof), &first_root, &root))
    });
    group.finish();

    let mut group = c.benchmark_group("checkpoint");
    let signer = NoteSigner::ed25519("fairshare.example/log", SigningKey::from_bytes(&[7; 32]))
        .expect("valid name");
    let verifier = signer.verifier();
    let checkpoint = Checkpoint::new("fairshare.example/log", TREE_SIZE, root).expect("valid");
    let note = sign_checkpoint(&checkpoint, &signer).expect("signs");
    group.bench_function("sign", |b| b.iter(|| sign_checkpoint(&checkpoint, &signer)));
    group.bench_function("open_and_verify", |b| {
        b.iter(|| open_checkpoint(black_box(&note), std::slice::from_ref(&verifier)))
    });
    group.finish();
}

criterion_group!(merkle, benches);
criterion_main!(merkle);
