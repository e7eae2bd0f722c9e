//! RFC 6962 / RFC 9162 Merkle tree hashing (SHA-256).

use sha2::{Digest, Sha256};

/// Leaf hash: SHA-256(0x00 || leaf bytes).
pub fn leaf_hash(leaf: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(leaf);
    hasher.finalize().into()
}
