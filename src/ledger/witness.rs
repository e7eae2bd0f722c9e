//! Witnessing, purely: the checks a C2SP tlog-witness makes before it cosigns
//! (<https://c2sp.org/tlog-witness>, "add-checkpoint"), and the witness policy a verifier
//! applies (which witnesses, how many of them must have cosigned).
//!
//! A witness keeps the last checkpoint it cosigned. It cosigns a new one only if the log's
//! key signed it, its origin is the log's, and a consistency proof shows the tree it cosigned
//! is a prefix of the new one. Two checkpoints of the log that no consistency proof joins
//! (equal sizes with different roots, or a proof that fails) are a fork: the witness stops
//! and keeps both signed notes as evidence.

use super::checkpoint::{
    Checkpoint, NoteError, NoteSignature, NoteSigner, NoteVerifier, SIGNATURE_TYPE_COSIGNATURE_V1,
    SignedNote, VerifiedSignature, open_checkpoint,
};
use super::merkle::{Hash, MerkleError, verify_consistency};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Why a witness refuses a checkpoint without evidence of a fork.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// tlog-witness: 403 (no signature verifies under a trusted key).
    #[error("the checkpoint does not verify under the log's key")]
    Unsigned(#[source] NoteError),
    /// tlog-witness: 404 (unknown origin).
    #[error("the checkpoint's origin {found:?} is not the log's {expected:?}")]
    Origin { expected: String, found: String },
    #[error("cannot cosign")]
    Cosign(#[source] NoteError),
}

/// A checkpoint the log signed, and the note it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: String,
}

impl SignedCheckpoint {
    /// Opens `note` under the log's key; its origin must be the key's name.
    pub fn open(note: &str, log: &NoteVerifier) -> Result<Self, WitnessError> {
        let (checkpoint, _) =
            open_checkpoint(note, std::slice::from_ref(log)).map_err(WitnessError::Unsigned)?;
        if checkpoint.origin != log.name() {
            return Err(WitnessError::Origin {
                expected: log.name().to_owned(),
                found: checkpoint.origin,
            });
        }
        Ok(Self {
            checkpoint,
            note: note.to_owned(),
        })
    }
}

/// What a witness does with a checkpoint the log showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Consistent and larger (or the first seen): cosign it, and keep it as the state.
    Cosign(NoteSignature),
    /// The one already cosigned.
    Unchanged,
    /// An older checkpoint, consistent with the one cosigned: nothing to cosign.
    Older,
    /// No consistency proof joins the two: the log showed two histories.
    Fork(Box<Fork>),
}

/// Two signed checkpoints of one log that are not consistent: the evidence of a fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    pub cosigned: SignedCheckpoint,
    pub shown: SignedCheckpoint,
    pub proof: Vec<Hash>,
    pub reason: MerkleError,
}

impl Fork {
    /// A plain-text report: what was checked, why it failed, and both signed notes exactly
    /// as the log signed them, so anyone holding the log's key can check the evidence.
    pub fn report(&self) -> String {
        let (old, new) = (&self.cosigned.checkpoint, &self.shown.checkpoint);
        let mut report = format!(
            "fork of log {:?}: the checkpoint of size {} this witness cosigned and the checkpoint of size {} the log showed are not consistent ({})\n\n",
            old.origin, old.size, new.size, self.reason
        );
        report.push_str("== the checkpoint this witness cosigned (signed by the log) ==\n");
        report.push_str(&self.cosigned.note);
        report.push_str("\n== the checkpoint the log showed (signed by the log) ==\n");
        report.push_str(&self.shown.note);
        report.push_str("\n== the consistency proof the log gave (base64, RFC 6962 order) ==\n");
        for hash in &self.proof {
            report.push_str(&BASE64.encode(hash));
            report.push('\n');
        }
        report
    }
}

/// The add-checkpoint checks, for a witness whose state is `cosigned` (None: it never
/// cosigned for this log) shown `shown` and a consistency proof between their sizes (from
/// the smaller to the larger). `timestamp` is the cosignature's POSIX time.
pub fn add_checkpoint(
    cosigned: Option<&SignedCheckpoint>,
    shown: &SignedCheckpoint,
    proof: &[Hash],
    witness: &NoteSigner,
    timestamp: u64,
) -> Result<Step, WitnessError> {
    let new = &shown.checkpoint;
    if let Some(old) = cosigned {
        let old_checkpoint = &old.checkpoint;
        let checked = if new.size >= old_checkpoint.size {
            verify_consistency(
                old_checkpoint.size,
                new.size,
                proof,
                &old_checkpoint.root,
                &new.root,
            )
        } else {
            verify_consistency(
                new.size,
                old_checkpoint.size,
                proof,
                &new.root,
                &old_checkpoint.root,
            )
        };
        if let Err(reason) = checked {
            return Ok(Step::Fork(Box::new(Fork {
                cosigned: old.clone(),
                shown: shown.clone(),
                proof: proof.to_vec(),
                reason,
            })));
        }
        if new.size == old_checkpoint.size {
            return Ok(Step::Unchanged);
        }
        if new.size < old_checkpoint.size {
            return Ok(Step::Older);
        }
    }
    witness
        .cosign(&new.to_note_text(), timestamp)
        .map(Step::Cosign)
        .map_err(WitnessError::Cosign)
}

/// Which witnesses a checkpoint needs before it counts as published, and how many.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitnessPolicy {
    witnesses: Vec<NoteVerifier>,
    quorum: usize,
}

/// A witness policy that cannot be met or names a key that is not a witness's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{0} is not a witness key (signature type 0x04)")]
    NotAWitnessKey(String),
    #[error("witness {0} is named twice")]
    Repeated(String),
    #[error("a quorum of {quorum} needs at least as many witnesses, not {witnesses}")]
    QuorumTooLarge { quorum: usize, witnesses: usize },
}

/// A checkpoint that does not meet a witness policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuorumError {
    #[error("the checkpoint does not verify")]
    Note(#[from] NoteError),
    #[error("the log's key did not sign the checkpoint")]
    NotByTheLog,
    #[error("{valid} of the named witnesses cosigned the checkpoint, {quorum} are required")]
    TooFew { valid: usize, quorum: usize },
}

impl WitnessPolicy {
    pub fn new(witnesses: Vec<NoteVerifier>, quorum: usize) -> Result<Self, PolicyError> {
        for (i, witness) in witnesses.iter().enumerate() {
            if witness.signature_type() != SIGNATURE_TYPE_COSIGNATURE_V1 {
                return Err(PolicyError::NotAWitnessKey(witness.to_vkey()));
            }
            if witnesses[..i]
                .iter()
                .any(|w| w.key_id() == witness.key_id())
            {
                return Err(PolicyError::Repeated(witness.to_vkey()));
            }
        }
        if quorum > witnesses.len() {
            return Err(PolicyError::QuorumTooLarge {
                quorum,
                witnesses: witnesses.len(),
            });
        }
        Ok(Self { witnesses, quorum })
    }

    pub fn witnesses(&self) -> &[NoteVerifier] {
        &self.witnesses
    }

    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// The witness among the policy's whose (name, key ID) the signature line names.
    pub fn witness_of(&self, signature: &NoteSignature) -> Option<&NoteVerifier> {
        self.witnesses
            .iter()
            .find(|w| w.name() == signature.name && w.key_id() == signature.key_id)
    }

    /// The cosignature lines of `note` by the policy's witnesses, each verified, with the
    /// witness that made it; a named witness's line that does not verify is an error.
    pub fn cosignatures<'a>(
        &'a self,
        note: &SignedNote,
    ) -> Result<Vec<(&'a NoteVerifier, NoteSignature)>, NoteError> {
        let mut found: Vec<(&NoteVerifier, NoteSignature)> = Vec::new();
        for line in &note.signatures {
            let Some(witness) = self.witness_of(line) else {
                continue;
            };
            if found.iter().any(|(w, _)| w.key_id() == witness.key_id()) {
                continue;
            }
            SignedNote {
                text: note.text.clone(),
                signatures: vec![line.clone()],
            }
            .verify(std::slice::from_ref(witness))?;
            found.push((witness, line.clone()));
        }
        Ok(found)
    }

    /// Opens a checkpoint signed by `log` and cosigned by at least the quorum of the
    /// policy's witnesses (a named witness's signature that fails rejects the note, as
    /// signed-note verification does); the checkpoint and the cosignatures that verified.
    pub fn open(
        &self,
        note: &str,
        log: &NoteVerifier,
    ) -> Result<(Checkpoint, Vec<VerifiedSignature>), QuorumError> {
        let mut verifiers = vec![log.clone()];
        verifiers.extend(self.witnesses.iter().cloned());
        let (checkpoint, verified) = open_checkpoint(note, &verifiers)?;
        let (by_log, cosignatures): (Vec<_>, Vec<_>) = verified
            .into_iter()
            .partition(|s| s.name == log.name() && s.key_id == log.key_id());
        if by_log.is_empty() {
            return Err(QuorumError::NotByTheLog);
        }
        if cosignatures.len() < self.quorum {
            return Err(QuorumError::TooFew {
                valid: cosignatures.len(),
                quorum: self.quorum,
            });
        }
        Ok((checkpoint, cosignatures))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::checkpoint::{add_cosignature, sign_checkpoint};
    use crate::ledger::merkle::MemoryTree;
    use ed25519_dalek::SigningKey;

    fn log() -> NoteSigner {
        NoteSigner::ed25519("example.com/log", SigningKey::from_bytes(&[1; 32])).expect("key")
    }

    fn witness(seed: u8) -> NoteSigner {
        NoteSigner::cosigner(
            format!("w{seed}.example"),
            SigningKey::from_bytes(&[seed; 32]),
        )
        .expect("key")
    }

    fn signed(tree: &MemoryTree, size: u64) -> SignedCheckpoint {
        let checkpoint =
            Checkpoint::new("example.com/log", size, tree.root_at(size).expect("root"))
                .expect("checkpoint");
        let note = sign_checkpoint(&checkpoint, &log()).expect("signs");
        SignedCheckpoint::open(&note, &log().verifier()).expect("opens")
    }

    fn tree(prefix: &str, size: u64) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for i in 0..size {
            tree.push_leaf(format!("{prefix}{i}").as_bytes());
        }
        tree
    }

    #[test]
    fn cosigns_consistent_growth_and_reports_forks() {
        let honest = tree("a", 10);
        let w = witness(2);
        let first = signed(&honest, 4);
        assert!(matches!(
            add_checkpoint(None, &first, &[], &w, 5),
            Ok(Step::Cosign(_))
        ));
        let grown = signed(&honest, 10);
        let proof = honest.consistency_proof(4, 10).expect("proof");
        assert!(matches!(
            add_checkpoint(Some(&first), &grown, &proof, &w, 6),
            Ok(Step::Cosign(_))
        ));
        assert_eq!(
            add_checkpoint(Some(&grown), &grown, &[], &w, 7),
            Ok(Step::Unchanged)
        );
        assert_eq!(
            add_checkpoint(Some(&grown), &first, &proof, &w, 7),
            Ok(Step::Older)
        );

        let other = signed(&tree("b", 10), 10);
        let Ok(Step::Fork(fork)) = add_checkpoint(Some(&grown), &other, &[], &w, 8) else {
            panic!("equal sizes, different roots: a fork");
        };
        let report = fork.report();
        assert!(
            report.contains(&grown.note) && report.contains(&other.note),
            "{report}"
        );
        let Ok(Step::Fork(_)) = add_checkpoint(Some(&first), &other, &proof, &w, 8) else {
            panic!("a proof of another tree: a fork");
        };
    }

    #[test]
    fn refuses_what_the_log_did_not_sign() {
        let stranger =
            NoteSigner::ed25519("example.com/log", SigningKey::from_bytes(&[3; 32])).expect("key");
        let checkpoint = Checkpoint::new("example.com/log", 1, [0; 32]).expect("checkpoint");
        let note = sign_checkpoint(&checkpoint, &stranger).expect("signs");
        assert!(matches!(
            SignedCheckpoint::open(&note, &log().verifier()),
            Err(WitnessError::Unsigned(_))
        ));
        let elsewhere =
            NoteSigner::ed25519("other/log", SigningKey::from_bytes(&[1; 32])).expect("key");
        let note = sign_checkpoint(
            &Checkpoint::new("example.com/log", 1, [0; 32]).expect("checkpoint"),
            &elsewhere,
        )
        .expect("signs");
        assert!(matches!(
            SignedCheckpoint::open(&note, &elsewhere.verifier()),
            Err(WitnessError::Origin { .. })
        ));
    }

    #[test]
    fn a_policy_counts_valid_cosignatures_of_named_witnesses() {
        let honest = tree("a", 3);
        let note = signed(&honest, 3).note;
        let (w1, w2, w3) = (witness(4), witness(5), witness(6));
        let cosigned = add_cosignature(&add_cosignature(&note, &w1, 10).expect("cosigns"), &w3, 11)
            .expect("cosigns");
        let policy = WitnessPolicy::new(vec![w1.verifier(), w2.verifier()], 1).expect("a policy");
        let (_, cosignatures) = policy
            .open(&cosigned, &log().verifier())
            .expect("one of two");
        assert_eq!(cosignatures.len(), 1);
        let strict = WitnessPolicy::new(vec![w1.verifier(), w2.verifier()], 2).expect("a policy");
        assert_eq!(
            strict.open(&cosigned, &log().verifier()),
            Err(QuorumError::TooFew {
                valid: 1,
                quorum: 2
            })
        );
        assert!(WitnessPolicy::new(vec![w1.verifier()], 2).is_err());
        assert!(WitnessPolicy::new(vec![log().verifier()], 0).is_err());
        assert!(WitnessPolicy::new(vec![w1.verifier(), w1.verifier()], 1).is_err());
        // A witness's line alone is not the log's signature.
        let stranger =
            NoteSigner::ed25519("stranger/log", SigningKey::from_bytes(&[8; 32])).expect("key");
        assert_eq!(
            policy.open(&cosigned, &stranger.verifier()),
            Err(QuorumError::NotByTheLog)
        );
    }
}
