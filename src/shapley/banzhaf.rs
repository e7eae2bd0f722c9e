//! The Banzhaf value: beta_i = 2^-(n-1) * sum over S not containing i of v(S+i) - v(S)
//! (Banzhaf 1965; as a value for TU games, Owen 1975). Exact from the same one-pass size
//! sums as Shapley: beta_i = (2 A_i - T) / 2^(n-1) with A_i the sum of v(S) over S
//! containing i and T the sum over all S. Sampled: see `sampling::banzhaf_sampled`.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;

use super::error::Result;
use super::exact::{SizeSums, size_sums};
use super::game::Game;

/// Exact Banzhaf values by enumeration (at most `limit` players).
pub fn banzhaf_exact<G: Game + ?Sized>(game: &G, limit: usize) -> Result<Vec<BigRational>> {
    Ok(banzhaf_from_sums(&size_sums(game, limit)?))
}

/// Combine size sums into Banzhaf values.
pub fn banzhaf_from_sums(s: &SizeSums) -> Vec<BigRational> {
    let n = s.n;
    if n == 0 {
        return Vec::new();
    }
    let total: BigInt = s.t.iter().sum();
    let den = (BigInt::from(1) << (n - 1)) * &s.den;
    (0..n)
        .map(|i| {
            let ai: BigInt = (0..=n)
                .map(|k| &s.a[k * n + i])
                .fold(BigInt::zero(), |x, y| x + y);
            BigRational::new(ai * 2 - &total, den.clone())
        })
        .collect()
}
