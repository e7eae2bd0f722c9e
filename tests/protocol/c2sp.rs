//! fairshare's C2SP formats against code nobody here wrote (cloudflare's `signed_note` and
//! `tlog_tiles`), and property tests of the tile path, proof bundle and witness parsers
//! and checks.

use ed25519_dalek::{Signer as _, SigningKey};
use fairshare::ledger::checkpoint::{
    Checkpoint, NoteSigner, add_cosignature, open_checkpoint, sign_checkpoint,
};
use fairshare::ledger::merkle::MemoryTree;
use fairshare::ledger::proof::ProofBundle;
use fairshare::ledger::tiles::{Tile, TileKind};
use fairshare::ledger::witness::{SignedCheckpoint, Step, WitnessPolicy, add_checkpoint};
use proptest::prelude::*;

const ORIGIN: &str = "fairshare.example/log";
const WITNESS: &str = "witness.example/w1";
const TIMESTAMP: u64 = 1_767_225_600;

fn log_key() -> SigningKey {
    SigningKey::from_bytes(&[11; 32])
}

fn witness_key() -> SigningKey {
    SigningKey::from_bytes(&[12; 32])
}

/// The cosignature/v1 signed message, written from c2sp.org/tlog-cosignature.
fn cosignature_message(text: &[u8], timestamp: u64) -> Vec<u8> {
    let mut message = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    message.extend_from_slice(text);
    message
}

/// The witness's key ID by signed_note's own function over `0x04 || public key`.
fn cosigner_key_id() -> u32 {
    let mut key = vec![0x04];
    key.extend_from_slice(witness_key().verifying_key().as_bytes());
    signed_note::key_id(WITNESS, &key)
}

/// A tlog-cosignature (Ed25519, v1) verifier and signer on signed_note's traits.
struct Cosigner;

impl signed_note::Verifier for Cosigner {
    fn name(&self) -> &str {
        WITNESS
    }

    fn key_id(&self) -> u32 {
        cosigner_key_id()
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((timestamp, signature)) = sig.split_first_chunk::<8>() else {
            return false;
        };
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        let message = cosignature_message(msg, u64::from_be_bytes(*timestamp));
        witness_key()
            .verifying_key()
            .verify_strict(&message, &signature)
            .is_ok()
    }
}

impl signed_note::Signer for Cosigner {
    fn name(&self) -> &str {
        WITNESS
    }

    fn key_id(&self) -> u32 {
        cosigner_key_id()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut signature = TIMESTAMP.to_be_bytes().to_vec();
        let message = cosignature_message(msg, TIMESTAMP);
        signature.extend_from_slice(&witness_key().sign(&message).to_bytes());
        Ok(signature)
    }
}

fn tree(leaves: u64) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for i in 0..leaves {
        tree.push_leaf(format!("leaf {i}").as_bytes());
    }
    tree
}

fn our_log() -> NoteSigner {
    NoteSigner::ed25519(ORIGIN, log_key()).expect("a log key")
}

fn our_witness() -> NoteSigner {
    NoteSigner::cosigner(WITNESS, witness_key()).expect("a witness key")
}

#[test]
fn signed_note_and_tlog_tiles_read_our_cosigned_checkpoint() {
    let tree = tree(300);
    let checkpoint = Checkpoint::new(ORIGIN, 300, tree.root()).expect("checkpoint");
    let note = sign_checkpoint(&checkpoint, &our_log()).expect("signs");
    let cosigned = add_cosignature(&note, &our_witness(), TIMESTAMP).expect("cosigns");

    let log = signed_note::StandardVerifier::new(&our_log().verifier().to_vkey())
        .expect("signed_note reads our vkey");
    let known = signed_note::VerifierList::new(vec![Box::new(log), Box::new(Cosigner)]);
    let parsed = signed_note::Note::from_bytes(cosigned.as_bytes()).expect("their parser reads it");
    let (verified, unverified) = parsed.verify(&known).expect("both signatures verify");
    assert_eq!((verified.len(), unverified.len()), (2, 0));
    let theirs =
        tlog_tiles::Checkpoint::from_bytes(parsed.text()).expect("their checkpoint parser");
    assert_eq!(
        (theirs.origin(), theirs.size(), theirs.hash().0),
        (ORIGIN, 300, tree.root())
    );
}

#[test]
fn we_verify_a_note_signed_and_cosigned_by_signed_note() {
    let tree = tree(5);
    let text = Checkpoint::new(ORIGIN, 5, tree.root())
        .expect("checkpoint")
        .to_note_text();
    // The log's key as x/mod/sumdb/note writes a signer key, read by signed_note.
    let log_id = hex::encode(our_log().key_id());
    let mut seed = vec![0x01];
    seed.extend_from_slice(&log_key().to_bytes());
    let skey = format!(
        "PRIVATE+KEY+{ORIGIN}+{log_id}+{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, seed)
    );
    let their_log = signed_note::StandardSigner::new(&skey).expect("signed_note reads the key");
    let mut note = signed_note::Note::new(text.as_bytes(), &[]).expect("a note");
    note.add_sigs(&[&their_log, &Cosigner]).expect("signs");
    let note = String::from_utf8(note.to_bytes()).expect("text");

    let policy = WitnessPolicy::new(vec![our_witness().verifier()], 1).expect("a policy");
    let (checkpoint, cosignatures) = policy
        .open(&note, &our_log().verifier())
        .expect("their signature and cosignature verify here");
    assert_eq!(checkpoint.root, tree.root());
    assert_eq!(cosignatures[0].cosignature_timestamp, Some(TIMESTAMP));
}

fn any_tile() -> impl Strategy<Value = Tile> {
    (
        prop_oneof![
            Just(TileKind::Entries),
            (0u8..=63).prop_map(|level| TileKind::Hashes { level })
        ],
        any::<u64>(),
        1u64..=256,
    )
        .prop_map(|(kind, index, width)| Tile { kind, index, width })
}

proptest! {
    #[test]
    fn tile_paths_read_back_and_match_tlog_tiles(tile in any_tile()) {
        let path = tile.to_path();
        prop_assert_eq!(Tile::parse(&path), Ok(tile));
        // tlog_tiles writes the Go checksum database's paths: the height after `tile/`.
        if let TileKind::Hashes { level } = tile.kind {
            let width = u32::try_from(tile.width).expect("at most 256");
            let theirs = tlog_tiles::Tile::new(8, level, tile.index, width, false);
            prop_assert_eq!(theirs.path().replacen("tile/8/", "tile/", 1), path);
        }
    }

    #[test]
    fn only_canonical_tile_paths_read(path in "tile/(entries|[0-9x]{1,3})/[0-9x./p]{1,20}") {
        if let Ok(tile) = Tile::parse(&path) {
            prop_assert_eq!(tile.to_path(), path);
        }
    }

    #[test]
    fn proof_bundles_read_back(
        extra in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        index in any::<u64>(),
        proof in proptest::collection::vec(any::<[u8; 32]>(), 0..64),
        checkpoint in "[a-z./]{1,20}\n[0-9]{1,5}\n[A-Za-z0-9+/=]{4,44}\n\n\u{2014} [a-z]{1,5} [A-Za-z0-9+/=]{4,20}\n",
    ) {
        let bundle = ProofBundle { extra, index, proof, checkpoint };
        prop_assert_eq!(ProofBundle::parse(&bundle.to_text()), Ok(bundle));
    }

    #[test]
    fn any_text_is_read_or_refused_as_a_bundle(text in "(c2sp.org/tlog-proof@v1\n)?(extra [A-Za-z0-9+/=]{0,8}\n)?(index [0-9]{0,4}\n)?([A-Za-z0-9+/=]{0,44}\n){0,3}\n?.{0,40}") {
        let _ = ProofBundle::parse(&text);
    }

    /// A witness cosigns every consistent growth of one log and reports any other history
    /// of it as a fork, whatever the sizes.
    #[test]
    fn the_witness_cosigns_growth_and_reports_other_histories(
        old in 1u64..200, grown in 0u64..200, other_size in 1u64..200,
    ) {
        let honest = tree(old + grown);
        let signed = |tree: &MemoryTree, size: u64| {
            let checkpoint = Checkpoint::new(ORIGIN, size, tree.root_at(size).expect("root")).expect("checkpoint");
            let note = sign_checkpoint(&checkpoint, &our_log()).expect("signs");
            SignedCheckpoint::open(&note, &our_log().verifier()).expect("opens")
        };
        let cosigned = signed(&honest, old);
        let new = signed(&honest, old + grown);
        let proof = honest.consistency_proof(old, old + grown).expect("proof");
        let step = add_checkpoint(Some(&cosigned), &new, &proof, &our_witness(), TIMESTAMP);
        match step {
            Ok(Step::Cosign(line)) => {
                prop_assert!(grown > 0);
                let note = format!("{}{}", new.note, line.to_line());
                let verifiers = [our_log().verifier(), our_witness().verifier()];
                prop_assert_eq!(open_checkpoint(&note, &verifiers).map(|(_, v)| v.len()), Ok(2));
            }
            Ok(Step::Unchanged) => prop_assert_eq!(grown, 0),
            other => prop_assert!(false, "{other:?}"),
        }
        // Another history: every leaf differs, so no root of it is the honest one's.
        let mut forged = MemoryTree::new();
        for i in 0..other_size.max(old) {
            forged.push_leaf(format!("forged {i}").as_bytes());
        }
        let other = signed(&forged, other_size);
        // The proof the forger would give: within its own tree, or the honest one's.
        let proof = if other_size >= old {
            forged.consistency_proof(old, other_size).expect("proof")
        } else {
            honest.consistency_proof(other_size, old).expect("proof")
        };
        let step = add_checkpoint(Some(&cosigned), &other, &proof, &our_witness(), TIMESTAMP);
        prop_assert!(matches!(step, Ok(Step::Fork(_))), "{:?}", step);
    }
}
