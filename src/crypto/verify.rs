//! The ed25519 verification equation, one signature at a time and in batches, with exactly
//! the same accepted set.
//!
//! The equation is RFC 8032's own (section 5.1.7, step 3): `[8][S]B = [8]R + [8][k]A` with
//! `k = SHA-512(R || A || M)`. On top of it: S must be canonical (below the group order L),
//! R and A must be canonical encodings of curve points that are not of small order (A is
//! checked once, when a [`PublicKey`] is built). The cofactored form is the one a batch can
//! reproduce exactly: a random linear combination of cofactorless equations accepts a
//! signature whose R has a small torsion component some of the time (it depends on the
//! coefficients), while multiplying by 8 removes the torsion from every term, so batch and
//! single verification accept the same signatures (as in Zcash's ZIP 215). Only the key's
//! holder can make such a signature; nobody can alter a valid one into another valid one.

use super::{CryptoError, PublicKey, Signature};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};
use std::collections::HashMap;

/// One signature to verify: `signature` by `key` over `message`.
#[derive(Debug, Clone, Copy)]
pub struct SignatureCheck<'a> {
    pub key: &'a PublicKey,
    pub message: &'a [u8],
    pub signature: &'a Signature,
}

/// A signature decoded for the equation: its R (and R's encoding) and S, and the
/// challenge k.
struct Decoded {
    r: EdwardsPoint,
    r_bytes: [u8; 32],
    s: Scalar,
    k: Scalar,
}

impl Decoded {
    fn of(check: &SignatureCheck<'_>) -> Result<Self, CryptoError> {
        let bytes = check.signature.to_bytes();
        let (r_bytes, s_bytes) = bytes.split_at(32);
        let r_bytes: [u8; 32] = r_bytes.try_into().map_err(|_| CryptoError::BadSignature)?;
        let s_bytes: [u8; 32] = s_bytes.try_into().map_err(|_| CryptoError::BadSignature)?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
            .ok_or(CryptoError::BadSignature)?;
        // A y of p or more is a second encoding of a small y; the only points with x = 0
        // (where the sign bit could differ) are of small order, refused next.
        if !super::keys::is_canonical_y(&r_bytes) {
            return Err(CryptoError::BadSignature);
        }
        let r = CompressedEdwardsY(r_bytes)
            .decompress()
            .ok_or(CryptoError::BadSignature)?;
        if r.is_small_order() {
            return Err(CryptoError::BadSignature);
        }
        let digest = Sha512::new()
            .chain_update(r_bytes)
            .chain_update(check.key.to_bytes())
            .chain_update(check.message)
            .finalize();
        let mut wide = [0u8; 64];
        wide.copy_from_slice(&digest);
        Ok(Self {
            r,
            r_bytes,
            s,
            k: Scalar::from_bytes_mod_order_wide(&wide),
        })
    }
}

/// Verifies one signature.
pub fn verify(check: &SignatureCheck<'_>) -> Result<(), CryptoError> {
    let Decoded { r, s, k, .. } = Decoded::of(check)?;
    let minus_a = -check.key.point();
    let difference = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &minus_a, &s) - r;
    if difference.mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

/// Verifies every signature of `checks` at once: `Ok` exactly when [`verify`] accepts each
/// one (up to a chance of 2^-128 per call). Checks `sum z_i ([S_i]B - R_i - [k_i]A_i)`
/// times 8 is the identity, for 128-bit coefficients z_i derived by hashing the whole batch
/// (so nobody can choose signatures that cancel out without knowing the coefficients).
/// Signatures under the same key share one point in the multi-scalar multiplication.
/// An `Err` says only that some signature is bad: [`verify`] each to find which.
pub fn verify_batch(checks: &[SignatureCheck<'_>]) -> Result<(), CryptoError> {
    let decoded = checks
        .iter()
        .map(Decoded::of)
        .collect::<Result<Vec<_>, _>>()?;
    let mut transcript = blake3::Hasher::new_derive_key("fairshare 2026-11 batch verification v1");
    for (check, d) in checks.iter().zip(&decoded) {
        transcript.update(&check.key.to_bytes());
        transcript.update(&d.r_bytes);
        transcript.update(d.s.as_bytes());
        transcript.update(d.k.as_bytes());
    }
    let mut coefficients = transcript.finalize_xof();

    let mut base = Scalar::ZERO;
    let mut scalars: Vec<Scalar> = Vec::with_capacity(checks.len() + 16);
    let mut points: Vec<EdwardsPoint> = Vec::with_capacity(checks.len() + 16);
    let mut per_key: HashMap<[u8; 32], (EdwardsPoint, Scalar)> = HashMap::new();
    for (check, d) in checks.iter().zip(&decoded) {
        let mut z = [0u8; 32];
        coefficients.fill(&mut z[..16]);
        let z = Scalar::from_bytes_mod_order(z);
        base += z * d.s;
        scalars.push(-z);
        points.push(d.r);
        per_key
            .entry(check.key.to_bytes())
            .or_insert_with(|| (check.key.point(), Scalar::ZERO))
            .1 -= z * d.k;
    }
    for (point, scalar) in per_key.into_values() {
        points.push(point);
        scalars.push(scalar);
    }
    scalars.push(base);
    points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
    let sum = EdwardsPoint::vartime_multiscalar_mul(scalars, points);
    if sum.mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};

    /// A key with known secret scalar `a`, and a signature over `message` whose R is
    /// `[r]B + torsion`: it satisfies the cofactored equation, not the cofactorless one.
    fn torsioned_signature(message: &[u8]) -> (PublicKey, Signature) {
        let a = Scalar::from(0x1234_5678_9abc_u64);
        let r = Scalar::from(0x0fed_cba9_8765_u64);
        let key = PublicKey::from_bytes((ED25519_BASEPOINT_POINT * a).compress().as_bytes())
            .expect("a prime-order key");
        let big_r = ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[1];
        let r_bytes = big_r.compress().to_bytes();
        let digest = Sha512::new()
            .chain_update(r_bytes)
            .chain_update(key.to_bytes())
            .chain_update(message)
            .finalize();
        let mut wide = [0u8; 64];
        wide.copy_from_slice(&digest);
        let s = r + Scalar::from_bytes_mod_order_wide(&wide) * a;
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&r_bytes);
        bytes[32..].copy_from_slice(s.as_bytes());
        (key, Signature::from_bytes(&bytes).expect("64 bytes"))
    }

    fn signed(count: usize) -> Vec<(PublicKey, Vec<u8>, Signature)> {
        let keys: Vec<SecretKey> = (0..3u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
        (0..count)
            .map(|i| {
                let key = &keys[i % keys.len()];
                let message = format!("message {i}").into_bytes();
                let signature = key.sign(&message);
                (key.public_key(), message, signature)
            })
            .collect()
    }

    fn checks(items: &[(PublicKey, Vec<u8>, Signature)]) -> Vec<SignatureCheck<'_>> {
        items
            .iter()
            .map(|(key, message, signature)| SignatureCheck {
                key,
                message,
                signature,
            })
            .collect()
    }

    #[test]
    fn a_torsioned_r_satisfies_the_cofactored_equation_alone_and_in_batches() {
        let (key, signature) = torsioned_signature(b"m");
        let check = SignatureCheck {
            key: &key,
            message: b"m",
            signature: &signature,
        };
        assert_eq!(verify(&check), Ok(()));
        // The cofactorless check (ed25519-dalek's verify_strict) refuses it.
        assert!(
            ed25519_dalek::VerifyingKey::from_bytes(&key.to_bytes())
                .expect("key")
                .verify_strict(
                    b"m",
                    &ed25519_dalek::Signature::from_bytes(&signature.to_bytes())
                )
                .is_err()
        );
        let mut items = signed(20);
        items.push((key, b"m".to_vec(), signature));
        assert_eq!(verify_batch(&checks(&items)), Ok(()));
        // And it still binds the message.
        let other = SignatureCheck {
            message: b"n",
            ..check
        };
        assert!(verify(&other).is_err());
    }

    #[test]
    fn batch_and_single_verification_agree_on_every_tampering() {
        let items = signed(40);
        assert_eq!(verify_batch(&checks(&items)), Ok(()));
        for victim in [0, 17, 39] {
            for byte in [0, 5, 31, 32, 40, 63] {
                let mut tampered = items.clone();
                let mut bytes = tampered[victim].2.to_bytes();
                bytes[byte] ^= 1;
                tampered[victim].2 = Signature::from_bytes(&bytes).expect("64 bytes");
                let all = checks(&tampered);
                assert!(verify(&all[victim]).is_err(), "byte {byte}");
                assert!(verify_batch(&all).is_err(), "byte {byte} of {victim}");
            }
            let mut swapped = items.clone();
            swapped[victim].1 = b"another message".to_vec();
            assert!(verify_batch(&checks(&swapped)).is_err());
        }
    }

    #[test]
    fn small_order_and_non_canonical_r_are_refused() {
        let (key, message, signature) = signed(1).remove(0);
        let with_r = |r: [u8; 32]| {
            let mut bytes = signature.to_bytes();
            bytes[..32].copy_from_slice(&r);
            Signature::from_bytes(&bytes).expect("64 bytes")
        };
        let mut identity = [0u8; 32];
        identity[0] = 1;
        // y = p + 1 encodes y = 1 (the identity) a second time.
        let mut non_canonical = [0xff; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        for r in [
            identity,
            non_canonical,
            EIGHT_TORSION[2].compress().to_bytes(),
        ] {
            let bad = with_r(r);
            let check = SignatureCheck {
                key: &key,
                message: &message,
                signature: &bad,
            };
            assert!(verify(&check).is_err());
            assert!(verify_batch(&[check]).is_err());
        }
    }

    #[test]
    fn an_empty_batch_verifies() {
        assert_eq!(verify_batch(&[]), Ok(()));
    }
}
