//! Pure cryptography: canonical JSON (RFC 8785), blake3 content hashes, ed25519 keys and
//! signatures (verified one by one or in batches, accepting the same set), the signed-request
//! profile (RFC 9421). No IO.

pub mod canonical;
pub mod commit;
pub mod hash;
pub mod keys;
pub mod request;
pub mod verify;

pub use keys::{KeyId, PublicKey, SecretKey, Signature};
pub use verify::{SignatureCheck, verify_batch};

/// Errors of the crypto layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("not canonical base64 (standard alphabet, with padding): {0}")]
    Base64(String),
    #[error("a public key is 32 bytes, got {0}")]
    PublicKeyLength(usize),
    #[error("a signature is 64 bytes, got {0}")]
    SignatureLength(usize),
    #[error("public key is not a canonical point encoding")]
    NonCanonicalKey,
    #[error("public key is not a valid curve point")]
    InvalidKeyPoint,
    #[error("public key has small order (weak key)")]
    WeakKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("cannot canonicalize JSON: {0}")]
    Canonical(String),
    #[error("the operating system gave no randomness: {0}")]
    Randomness(String),
    /// A signed request (RFC 9421 profile) that does not read or does not verify.
    #[error("{0}")]
    Request(String),
}

/// Standard base64 with padding, the only encoding of keys and signatures (PROTOCOL.md).
pub fn b64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Strict decoding: rejects missing padding, other alphabets and non-zero trailing bits, so
/// every byte string has exactly one accepted encoding.
pub fn b64_decode(text: &str) -> Result<Vec<u8>, CryptoError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| CryptoError::Base64(e.to_string()))
}
