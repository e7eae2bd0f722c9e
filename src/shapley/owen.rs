//! The Owen value (Owen 1977, "Values of games with a priori unions"): the Shapley value
//! restricted to orders in which the members of each union (such as actor kinds: human,
//! AI, platform) arrive together. With m unions, player i in union U of size b:
//!
//!   phi_i = sum over sets R of other unions and sets S of U - i of
//!           r!(m-r-1)!/m! * s!(b-s-1)!/b! * (v(R u S u i) - v(R u S))
//!
//! where R u S means the members of the unions in R plus S. Exact enumeration costs
//! sum_i 2^(m-1) 2^(b_i - 1) pairs of worths; beyond `MAX_OWEN_WORK` use sampling.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;
use rayon::prelude::*;

use super::error::{Result, ShapleyError};
use super::game::Game;
use super::rational::factorials;

/// Largest number of worth pairs the exact Owen value evaluates.
pub const MAX_OWEN_WORK: u128 = 1 << 28;

/// Check that `unions` partition `0..n`.
pub fn check_unions(n: usize, unions: &[Vec<usize>]) -> Result<()> {
    let mut seen = vec![false; n];
    for (u, members) in unions.iter().enumerate() {
        if members.is_empty() {
            return Err(ShapleyError::InvalidGame(format!("unions[{u}]: empty")));
        }
        for (k, &p) in members.iter().enumerate() {
            if p >= n {
                return Err(ShapleyError::InvalidGame(format!(
                    "unions[{u}][{k}]: player {p} out of range (n = {n})"
                )));
            }
            if std::mem::replace(&mut seen[p], true) {
                return Err(ShapleyError::InvalidGame(format!(
                    "unions[{u}][{k}]: player {p} is in two unions"
                )));
            }
        }
    }
    if let Some(p) = seen.iter().position(|s| !s) {
        return Err(ShapleyError::InvalidGame(format!(
            "unions: player {p} is in no union"
        )));
    }
    Ok(())
}

/// Work of the exact Owen value in worth pairs.
pub fn owen_work(unions: &[Vec<usize>]) -> u128 {
    let m = u32::try_from(unions.len().saturating_sub(1).min(100)).unwrap_or(100);
    unions
        .iter()
        .map(|u| {
            let b = u32::try_from(u.len().saturating_sub(1).min(100)).unwrap_or(100);
            u.len() as u128 * (1u128 << m) * (1u128 << b)
        })
        .fold(0u128, u128::saturating_add)
}

/// Exact Owen values (n <= 63 and work <= `MAX_OWEN_WORK`).
pub fn owen_exact<G: Game + ?Sized>(game: &G, unions: &[Vec<usize>]) -> Result<Vec<BigRational>> {
    let n = game.n();
    check_unions(n, unions)?;
    if n > 63 || owen_work(unions) > MAX_OWEN_WORK {
        return Err(ShapleyError::TooLarge {
            method: "exact Owen value",
            n,
            limit: 63,
        });
    }
    let m = unions.len();
    let umask: Vec<u64> = unions
        .iter()
        .map(|u| u.iter().fold(0u64, |a, &p| a | 1 << p))
        .collect();
    let f = factorials(n.max(m));
    let den = game.denominator();
    let mut jobs: Vec<(usize, usize)> = Vec::new();
    for (u, members) in unions.iter().enumerate() {
        for &p in members {
            jobs.push((u, p));
        }
    }
    let mut out = vec![BigRational::zero(); n];
    let results: Vec<(usize, BigRational)> = jobs
        .par_iter()
        .map(|&(u, p)| {
            let b = unions[u].len();
            let others: Vec<usize> = (0..m).filter(|&x| x != u).collect();
            let mates: Vec<usize> = unions[u].iter().copied().filter(|&x| x != p).collect();
            // bucket[r][s] = sum of scaled marginals.
            let mut bucket = vec![BigInt::zero(); m * b];
            for rset in 0u64..(1u64 << others.len()) {
                let mut base = 0u64;
                let mut rm = rset;
                while rm != 0 {
                    base |= umask[others[rm.trailing_zeros() as usize]];
                    rm &= rm - 1;
                }
                let r = rset.count_ones() as usize;
                for sset in 0u64..(1u64 << mates.len()) {
                    let mut coal = base;
                    let mut sm = sset;
                    while sm != 0 {
                        coal |= 1 << mates[sm.trailing_zeros() as usize];
                        sm &= sm - 1;
                    }
                    let s = sset.count_ones() as usize;
                    let with = game.worth_scaled_i64(coal | 1 << p).map(BigInt::from);
                    let without = game.worth_scaled_i64(coal).map(BigInt::from);
                    let d = match (with, without) {
                        (Some(a), Some(c)) => a - c,
                        _ => game.worth_scaled(&[coal | 1 << p]) - game.worth_scaled(&[coal]),
                    };
                    bucket[r * b + s] += d;
                }
            }
            let mut num = BigInt::zero();
            for r in 0..m {
                for s in 0..b {
                    let x = &bucket[r * b + s];
                    if !x.is_zero() {
                        num += x * &f[r] * &f[m - 1 - r] * &f[s] * &f[b - 1 - s];
                    }
                }
            }
            (p, BigRational::new(num, &f[m] * &f[b] * &den))
        })
        .collect();
    for (p, v) in results {
        out[p] = v;
    }
    Ok(out)
}
