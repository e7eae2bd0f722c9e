//! ed25519 keys and signatures. Verification (the equation and its batch form) is in
//! `verify.rs`: canonical encodings only, no small-order keys or R points.

use super::{CryptoError, b64_decode, b64_encode, hash};
use ed25519_dalek::{Signer, VerifyingKey};
use std::fmt;

/// A validated ed25519 public key: canonical encoding, on the curve, not of small order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::PublicKeyLength(bytes.len()))?;
        if !is_canonical_y(&bytes) {
            return Err(CryptoError::NonCanonicalKey);
        }
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| CryptoError::InvalidKeyPoint)?;
        if key.is_weak() {
            return Err(CryptoError::WeakKey);
        }
        Ok(Self(key))
    }

    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        Self::from_bytes(&b64_decode(text)?)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn to_base64(&self) -> String {
        b64_encode(&self.to_bytes())
    }

    /// Key id: lowercase hex of the first 8 bytes of blake3(public key).
    pub fn key_id(&self) -> KeyId {
        let digest = hash::blake3(&self.to_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }

    /// Verifies `signature` over `message` (see `verify.rs` for the exact rules).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), CryptoError> {
        super::verify::verify(&super::verify::SignatureCheck {
            key: self,
            message,
            signature,
        })
    }

    /// The key as a curve point, for the verification equation.
    pub(super) fn point(&self) -> curve25519_dalek::edwards::EdwardsPoint {
        self.0.to_edwards()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

/// The y coordinate (low 255 bits, little-endian) must be below p = 2^255 - 19. Values
/// p..2^255-1 are alternative encodings of small y that plain decompression accepts.
pub(super) fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let top_is_max = bytes[31] & 0x7f == 0x7f;
    let middle_is_max = bytes[1..31].iter().all(|b| *b == 0xff);
    !(top_is_max && middle_is_max && bytes[0] >= 0xed)
}

/// An ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: [u8; 64] = bytes
            .try_into()
            .map_err(|_| CryptoError::SignatureLength(bytes.len()))?;
        Ok(Self(ed25519_dalek::Signature::from_bytes(&bytes)))
    }

    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        Self::from_bytes(&b64_decode(text)?)
    }

    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }

    pub fn to_base64(&self) -> String {
        b64_encode(&self.to_bytes())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_base64())
    }
}

/// Key id: 16 lowercase hex characters (first 8 bytes of blake3 of the public key).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 16
            || !text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let mut id = [0u8; 8];
        hex::decode_to_slice(text, &mut id).ok()?;
        Some(Self(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A secret signing key. Never logged: `Debug` shows only the key id.
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| CryptoError::Randomness(e.to_string()))?;
        Ok(Self::from_seed(&seed))
    }

    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(key id {})", self.public_key().key_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8032 section 7.1, TEST 1 (empty message).
    const RFC8032_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const RFC8032_SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    fn rfc_key() -> SecretKey {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(RFC8032_SECRET, &mut seed).expect("hex");
        SecretKey::from_seed(&seed)
    }

    #[test]
    fn rfc8032_test_1_signs_and_verifies() {
        let key = rfc_key();
        assert_eq!(hex::encode(key.public_key().to_bytes()), RFC8032_PUBLIC);
        let sig = key.sign(b"");
        assert_eq!(hex::encode(sig.to_bytes()), RFC8032_SIG);
        assert_eq!(key.public_key().verify(b"", &sig), Ok(()));
        assert_eq!(
            key.public_key().verify(b"x", &sig),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn key_id_is_first_eight_bytes_of_blake3() {
        let public = rfc_key().public_key();
        let expected = &hex::encode(hash::blake3(&public.to_bytes()))[..16];
        assert_eq!(public.key_id().to_string(), expected);
        assert_eq!(KeyId::parse(expected), Some(public.key_id()));
        assert_eq!(KeyId::parse(&expected.to_uppercase()), None);
    }

    #[test]
    fn small_order_keys_are_rejected() {
        // The identity point (y = 1) and the point of order 2 (y = -1) are small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity), Err(CryptoError::WeakKey));
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert_eq!(PublicKey::from_bytes(&minus_one), Err(CryptoError::WeakKey));
    }

    #[test]
    fn non_canonical_key_encodings_are_rejected() {
        // y = p + 1 encodes y = 1 non-canonically.
        let mut p_plus_one = [0xffu8; 32];
        p_plus_one[0] = 0xee;
        p_plus_one[31] = 0x7f;
        assert_eq!(
            PublicKey::from_bytes(&p_plus_one),
            Err(CryptoError::NonCanonicalKey)
        );
    }

    #[test]
    fn non_canonical_signature_scalar_is_rejected() {
        let key = rfc_key();
        let sig = key.sign(b"m").to_bytes();
        // Add the group order L to S: same signature mathematically, non-canonical encoding.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut s_plus_l = sig;
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(s_plus_l[32 + i]) + u16::from(L[i]) + carry;
            let [low, high] = sum.to_le_bytes();
            s_plus_l[32 + i] = low;
            carry = u16::from(high);
        }
        let tampered = Signature::from_bytes(&s_plus_l).expect("64 bytes");
        assert_eq!(
            key.public_key().verify(b"m", &tampered),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn base64_is_strict() {
        let public = rfc_key().public_key();
        let text = public.to_base64();
        assert_eq!(PublicKey::from_base64(&text), Ok(public));
        assert!(PublicKey::from_base64(text.trim_end_matches('=')).is_err());
        assert!(PublicKey::from_base64(&text.replace('+', "-")).is_err() || !text.contains('+'));
        assert!(matches!(
            Signature::from_bytes(&[0u8; 63]),
            Err(CryptoError::SignatureLength(63))
        ));
    }
}
