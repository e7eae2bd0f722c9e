//! C2SP tlog-proof bundles (<https://c2sp.org/tlog-proof>, `c2sp.org/tlog-proof@v1`): one
//! entry's index, its RFC 6962 inclusion proof and the (cosigned) checkpoint it leads to, in
//! one text a reader checks offline. fairshare puts the leaf's exact bytes in the `extra`
//! line: the reader hashes them itself, so nothing in it is trusted unchecked. Pure: no IO.

use super::checkpoint::{Checkpoint, NoteError, NoteVerifier, open_checkpoint};
use super::merkle::{Hash, MerkleError, leaf_hash, verify_inclusion};
use super::witness::{QuorumError, WitnessPolicy};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The first line of every bundle.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed bundle; nothing verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofBundle {
    /// Opaque extra data (fairshare: the leaf's bytes).
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    /// From the leaf's sibling up to the root's child.
    pub proof: Vec<Hash>,
    /// The checkpoint's signed note, verbatim, with its cosignatures.
    pub checkpoint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("malformed proof bundle: {0}")]
    Malformed(&'static str),
    #[error("the bundle carries no leaf (its extra line)")]
    NoLeaf,
    #[error("the checkpoint does not verify")]
    Checkpoint(#[source] NoteError),
    #[error("the checkpoint is not witnessed")]
    Witnesses(#[source] QuorumError),
    #[error("the leaf is not entry {index} of the checkpoint's tree")]
    Inclusion {
        index: u64,
        #[source]
        source: MerkleError,
    },
}

impl ProofBundle {
    pub fn to_text(&self) -> String {
        let mut text = format!("{PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            text.push_str(&format!("extra {}\n", BASE64.encode(extra)));
        }
        text.push_str(&format!("index {}\n", self.index));
        for hash in &self.proof {
            text.push_str(&BASE64.encode(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint);
        text
    }

    /// Reads a bundle strictly: the header, an optional `extra`, `index` in decimal without
    /// leading zeros, canonical base64 hashes, a blank line, then the checkpoint.
    pub fn parse(text: &str) -> Result<Self, ProofError> {
        let malformed = ProofError::Malformed;
        let rest = text
            .strip_prefix(PROOF_HEADER)
            .and_then(|rest| rest.strip_prefix('\n'))
            .ok_or(malformed("the first line is not c2sp.org/tlog-proof@v1"))?;
        let (extra, rest) = match rest.strip_prefix("extra ") {
            Some(rest) => {
                let (line, rest) = rest.split_once('\n').ok_or(malformed("no index line"))?;
                let extra = BASE64
                    .decode(line)
                    .ok()
                    .filter(|bytes| BASE64.encode(bytes) == line)
                    .ok_or(malformed("extra is not canonical base64"))?;
                (Some(extra), rest)
            }
            None => (None, rest),
        };
        let (line, mut rest) = rest
            .strip_prefix("index ")
            .and_then(|r| r.split_once('\n'))
            .ok_or(malformed("no index line"))?;
        let index = canonical_decimal(line).ok_or(malformed("index is not a canonical decimal"))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or(malformed("no blank line before the checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            let hash: Hash = BASE64
                .decode(line)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .filter(|hash: &Hash| BASE64.encode(hash) == line)
                .ok_or(malformed("a proof line is not base64 of 32 bytes"))?;
            proof.push(hash);
        }
        Ok(Self {
            extra,
            index,
            proof,
            checkpoint: rest.to_owned(),
        })
    }

    /// Checks the bundle offline: the checkpoint under the log's key (and, with a policy,
    /// cosigned by its quorum), and the leaf in `extra` at `index` of that tree. The
    /// checkpoint, the leaf and how many named witnesses cosigned.
    pub fn verify(
        &self,
        log: &NoteVerifier,
        witnesses: Option<&WitnessPolicy>,
    ) -> Result<(Checkpoint, &[u8], usize), ProofError> {
        let leaf = self.extra.as_deref().ok_or(ProofError::NoLeaf)?;
        let (checkpoint, cosigned) = match witnesses {
            Some(policy) => policy
                .open(&self.checkpoint, log)
                .map(|(checkpoint, cosignatures)| (checkpoint, cosignatures.len()))
                .map_err(ProofError::Witnesses)?,
            None => open_checkpoint(&self.checkpoint, std::slice::from_ref(log))
                .map(|(checkpoint, _)| (checkpoint, 0))
                .map_err(ProofError::Checkpoint)?,
        };
        verify_inclusion(
            &leaf_hash(leaf),
            self.index,
            checkpoint.size,
            &self.proof,
            &checkpoint.root,
        )
        .map_err(|source| ProofError::Inclusion {
            index: self.index,
            source,
        })?;
        Ok((checkpoint, leaf, cosigned))
    }
}

fn canonical_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::checkpoint::{NoteSigner, sign_checkpoint};
    use crate::ledger::merkle::MemoryTree;
    use ed25519_dalek::SigningKey;

    fn bundle_of(leaf_index: u64) -> (ProofBundle, NoteVerifier) {
        let log =
            NoteSigner::ed25519("example.com/log", SigningKey::from_bytes(&[1; 32])).expect("key");
        let mut tree = MemoryTree::new();
        for i in 0..7u8 {
            tree.push_leaf(&[i]);
        }
        let checkpoint = Checkpoint::new("example.com/log", 7, tree.root()).expect("checkpoint");
        let bundle = ProofBundle {
            extra: Some(vec![u8::try_from(leaf_index).expect("small")]),
            index: leaf_index,
            proof: tree.inclusion_proof(leaf_index, 7).expect("proof"),
            checkpoint: sign_checkpoint(&checkpoint, &log).expect("signs"),
        };
        (bundle, log.verifier())
    }

    #[test]
    fn a_bundle_reads_back_and_verifies() {
        let (bundle, log) = bundle_of(3);
        let text = bundle.to_text();
        assert!(
            text.starts_with("c2sp.org/tlog-proof@v1\nextra Aw==\nindex 3\n"),
            "{text}"
        );
        let parsed = ProofBundle::parse(&text).expect("reads");
        assert_eq!(parsed, bundle);
        let (checkpoint, leaf, _) = parsed.verify(&log, None).expect("verifies");
        assert_eq!((checkpoint.size, leaf), (7, &[3u8][..]));
    }

    #[test]
    fn another_leaf_or_index_fails() {
        let (mut bundle, log) = bundle_of(3);
        bundle.extra = Some(vec![4]);
        assert!(matches!(
            bundle.verify(&log, None),
            Err(ProofError::Inclusion { .. })
        ));
        let (mut bundle, log) = bundle_of(3);
        bundle.index = 4;
        assert!(matches!(
            bundle.verify(&log, None),
            Err(ProofError::Inclusion { .. })
        ));
        let (mut bundle, log) = bundle_of(3);
        bundle.extra = None;
        assert_eq!(bundle.verify(&log, None), Err(ProofError::NoLeaf));
    }

    #[test]
    fn malformed_bundles_are_refused() {
        let text = bundle_of(3).0.to_text();
        for bad in [
            text.replacen("@v1", "@v2", 1),
            text.replacen("index 3", "index 03", 1),
            text.replacen("index 3\n", "index 3\nAAAA\n", 1),
            text.replacen("extra Aw==", "extra Aw", 1),
            text.split("\n\n").next().unwrap_or_default().to_owned(),
        ] {
            assert!(ProofBundle::parse(&bad).is_err(), "{bad}");
        }
    }
}
