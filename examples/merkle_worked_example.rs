//! Prints the worked example of docs/PROTOCOL.md ("Transparency") from the code itself:
//! `cargo run --example merkle_worked_example`.

// Example data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use ed25519_dalek::SigningKey;
use fairshare::ledger::checkpoint::{
    Checkpoint, NoteSigner, add_cosignature, cosignature_message, key_id, sign_checkpoint,
};
use fairshare::ledger::merkle::{
    Frontier, MemoryTree, consistency_proof_nodes, inclusion_proof_nodes, leaf_hash, root_nodes,
};
use sha2::{Digest, Sha256};

fn main() {
    let leaves = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    let mut tree = MemoryTree::new();
    let mut frontier = Frontier::new();
    println!("## appends (RFC 6962 test leaves)");
    for leaf in leaves {
        let bytes = hex::decode(leaf).expect("hex");
        tree.push_leaf(&bytes);
        let created = frontier.append(leaf_hash(&bytes)).expect("not full");
        let created: Vec<String> = created
            .iter()
            .map(|(id, h)| format!("({},{}) {}", id.level, id.index, &hex::encode(h)[..16]))
            .collect();
        println!(
            "size {} root {} created {}",
            frontier.size(),
            hex::encode(frontier.root()),
            created.join(", ")
        );
    }
    println!("\n## root of size 7 reads {:?}", root_nodes(7));
    println!("\n## inclusion proof leaf 1, size 6");
    println!("nodes {:?}", inclusion_proof_nodes(1, 6).expect("valid"));
    for h in tree.inclusion_proof(1, 6).expect("valid") {
        println!("  {}", hex::encode(h));
    }
    println!("\n## consistency proof 3 -> 7");
    println!("nodes {:?}", consistency_proof_nodes(3, 7).expect("valid"));
    for h in tree.consistency_proof(3, 7).expect("valid") {
        println!("  {}", hex::encode(h));
    }

    println!("\n## checkpoint of size 8");
    let seed: [u8; 32] = Sha256::digest(b"fairshare test log key").into();
    let log = NoteSigner::ed25519("fairshare.example/log", SigningKey::from_bytes(&seed))
        .expect("valid name");
    let verifier = log.verifier();
    let mut input = b"fairshare.example/log\n\x01".to_vec();
    input.extend_from_slice(verifier.public_key().as_bytes());
    println!("key ID input (hex) {}", hex::encode(&input));
    println!(
        "key ID {}",
        hex::encode(key_id(
            "fairshare.example/log",
            0x01,
            verifier.public_key().as_bytes()
        ))
    );
    println!("vkey {}", verifier.to_vkey());
    let checkpoint = Checkpoint::new("fairshare.example/log", 8, tree.root()).expect("valid");
    let note = sign_checkpoint(&checkpoint, &log).expect("signs");
    println!("--- signed note ---\n{note}---");
    let witness_seed: [u8; 32] = Sha256::digest(b"fairshare test witness key").into();
    let witness = NoteSigner::cosigner("witness.example/w1", SigningKey::from_bytes(&witness_seed))
        .expect("valid name");
    println!("witness vkey {}", witness.verifier().to_vkey());
    let timestamp = 1_767_225_600;
    let message = cosignature_message(&checkpoint.to_note_text(), timestamp).expect("valid");
    println!(
        "--- cosigned message ---\n{}---",
        String::from_utf8_lossy(&message)
    );
    let cosigned = add_cosignature(&note, &witness, timestamp).expect("cosigns");
    println!("--- cosigned note ---\n{cosigned}---");
}
