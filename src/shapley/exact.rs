//! Exact Shapley values by one pass over all 2^n coalitions.
//!
//! Regrouping the textbook sum by coalition instead of by (player, coalition):
//! with w(k) = k!(n-k-1)!/n!, `A_i[k]` = sum of v(S) over |S| = k with i in S and
//! `T[k]` = sum of v(S) over |S| = k,
//!
//! ```text
//! phi_i = sum_k (w(k-1) + w(k)) A_i[k] - w(k) T[k]
//! ```
//!
//! One pass accumulates A and T in integers (worths scaled by their common denominator D),
//! in fixed chunks of coalitions run on all cores; integer sums are exact, so the result is
//! the same for any thread count. The final combination is done in big integers:
//! phi_i = (sum_k ...) / (n! D), reduced.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;
use rayon::prelude::*;

use super::error::{Result, ShapleyError};
use super::game::Game;
use super::rational::factorials;

/// Hard ceiling of enumeration whatever the caller's limit: coalitions are `u64` masks.
pub const MAX_ENUMERATION_PLAYERS: usize = 40;

/// Per-size sums of worths over all coalitions: `a[k][i]` = sum of D·v(S) over |S| = k,
/// i in S; `t[k]` = sum over |S| = k.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeSums {
    /// Players.
    pub n: usize,
    /// `a[k * n + i]`.
    pub a: Vec<BigInt>,
    /// `t[k]`.
    pub t: Vec<BigInt>,
    /// Common denominator of the worths.
    pub den: BigInt,
}

const CHUNK_BITS: usize = 14;

/// One pass over all coalitions of `game` (at most `limit` players).
pub fn size_sums<G: Game + ?Sized>(game: &G, limit: usize) -> Result<SizeSums> {
    let n = game.n();
    let limit = limit.min(MAX_ENUMERATION_PLAYERS);
    if n > limit {
        return Err(ShapleyError::TooLarge {
            method: "exact enumeration",
            n,
            limit,
        });
    }
    let den = game.denominator();
    let chunk_bits = CHUNK_BITS.min(n);
    let chunks = 1u64 << (n - chunk_bits);
    let table = game.as_table_i64();
    // Integer sums are exact, so combining chunk sums in any order gives the same result:
    // rayon's reduce keeps O(threads * n^2) partial sums alive, never one per chunk.
    let width = (n + 1) * (n + 1);
    let fast: Option<Vec<i128>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let start = c << chunk_bits;
            let end = start + (1u64 << chunk_bits);
            match table {
                // A table has at most 2^30 entries: its masks are indices.
                Some(t) => {
                    let range = usize::try_from(start).ok()?..usize::try_from(end).ok()?;
                    Some(chunk_table(n, &t[range], start))
                }
                None => chunk_game(game, n, start, end),
            }
        })
        .reduce(
            || Some(vec![0i128; width]),
            |a, b| {
                let (mut a, b) = (a?, b?);
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                Some(a)
            },
        );
    let (a, t) = match fast {
        Some(sum) => {
            let a = sum[..(n + 1) * n]
                .iter()
                .map(|&x| BigInt::from(x))
                .collect();
            let t = sum[(n + 1) * n..]
                .iter()
                .map(|&x| BigInt::from(x))
                .collect();
            (a, t)
        }
        None => big_pass(game, n, chunk_bits, chunks),
    };
    Ok(SizeSums { n, a, t, den })
}

/// Accumulate one chunk of an i64 table; layout: a[k*n + i] then t[k] at (n+1)*n + k.
fn chunk_table(n: usize, vals: &[i64], start: u64) -> Vec<i128> {
    let mut acc = vec![0i128; (n + 1) * (n + 1)];
    let (a, t) = acc.split_at_mut((n + 1) * n);
    for (off, &v) in vals.iter().enumerate() {
        let mask = start + off as u64;
        let k = mask.count_ones() as usize;
        let v = i128::from(v);
        t[k] += v;
        let row = &mut a[k * n..(k + 1) * n];
        let mut m = mask;
        while m != 0 {
            row[m.trailing_zeros() as usize] += v;
            m &= m - 1;
        }
    }
    acc
}

fn chunk_game<G: Game + ?Sized>(game: &G, n: usize, start: u64, end: u64) -> Option<Vec<i128>> {
    let mut vals = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
    for mask in start..end {
        vals.push(game.worth_scaled_i64(mask)?);
    }
    Some(chunk_table(n, &vals, start))
}

fn big_pass<G: Game + ?Sized>(
    game: &G,
    n: usize,
    chunk_bits: usize,
    chunks: u64,
) -> (Vec<BigInt>, Vec<BigInt>) {
    let parts: Vec<(Vec<BigInt>, Vec<BigInt>)> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut a = vec![BigInt::zero(); (n + 1) * n];
            let mut t = vec![BigInt::zero(); n + 1];
            let start = c << chunk_bits;
            for mask in start..start + (1u64 << chunk_bits) {
                let v = game.worth_scaled(&[mask]);
                let k = mask.count_ones() as usize;
                t[k] += &v;
                let mut m = mask;
                while m != 0 {
                    a[k * n + m.trailing_zeros() as usize] += &v;
                    m &= m - 1;
                }
            }
            (a, t)
        })
        .collect();
    let mut a = vec![BigInt::zero(); (n + 1) * n];
    let mut t = vec![BigInt::zero(); n + 1];
    for (pa, pt) in parts {
        a.iter_mut().zip(&pa).for_each(|(x, y)| *x += y);
        t.iter_mut().zip(&pt).for_each(|(x, y)| *x += y);
    }
    (a, t)
}

/// Exact Shapley values by enumeration (at most `limit` players).
pub fn shapley_exact<G: Game + ?Sized>(game: &G, limit: usize) -> Result<Vec<BigRational>> {
    Ok(shapley_from_sums(&size_sums(game, limit)?))
}

/// Combine size sums into Shapley values.
pub fn shapley_from_sums(s: &SizeSums) -> Vec<BigRational> {
    let n = s.n;
    if n == 0 {
        return Vec::new();
    }
    let f = factorials(n);
    // W(k) = k! (n-k-1)! for 0 <= k <= n-1, zero otherwise.
    let w = |k: usize| -> BigInt {
        if k >= n {
            BigInt::zero()
        } else {
            &f[k] * &f[n - 1 - k]
        }
    };
    let coef_a: Vec<BigInt> = (0..=n)
        .map(|k| k.checked_sub(1).map_or_else(BigInt::zero, w) + w(k))
        .collect();
    let tsum: BigInt = (0..n).map(|k| w(k) * &s.t[k]).sum();
    let den = &f[n] * &s.den;
    (0..n)
        .map(|i| {
            let mut num = -tsum.clone();
            for (k, c) in coef_a.iter().enumerate().skip(1) {
                let a = &s.a[k * n + i];
                if !a.is_zero() {
                    num += c * a;
                }
            }
            BigRational::new(num, den.clone())
        })
        .collect()
}

/// Exact Shapley values by brute force over all n! orders (tests and tiny games only).
pub fn shapley_brute_force<G: Game + ?Sized>(game: &G) -> Vec<BigRational> {
    let n = game.n();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut sums = vec![BigInt::zero(); n];
    let mut count = BigInt::zero();
    loop {
        let mut mask = 0u64;
        let mut last = game.worth_scaled(&[0]);
        for &p in &perm {
            mask |= 1 << p;
            let now = game.worth_scaled(&[mask]);
            sums[p] += &now - &last;
            last = now;
        }
        count += 1;
        if !next_permutation(&mut perm) {
            break;
        }
    }
    let den = count * game.denominator();
    sums.into_iter()
        .map(|s| BigRational::new(s, den.clone()))
        .collect()
}

fn next_permutation(p: &mut [usize]) -> bool {
    let n = p.len();
    if n < 2 {
        return false;
    }
    let mut i = n - 1;
    while i > 0 && p[i - 1] >= p[i] {
        i -= 1;
    }
    if i == 0 {
        return false;
    }
    let mut j = n - 1;
    while p[j] <= p[i - 1] {
        j -= 1;
    }
    p.swap(i - 1, j);
    p[i..].reverse();
    true
}
