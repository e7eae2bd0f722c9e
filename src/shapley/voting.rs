//! Weighted voting games `[q; w_1, ..., w_n]`: v(S) = 1 when the weights in S reach the
//! quota, else 0. Exact Shapley-Shubik values by dynamic programming over (size, weight).

use std::collections::BTreeMap;
use std::ops::{AddAssign, SubAssign};

use num_bigint::{BigInt, BigUint};
use num_rational::BigRational;
use num_traits::Zero;

use super::error::{Result, ShapleyError};
use super::game::{Game, Walker, contains};
use rayon::prelude::*;

use super::rational::{binomial, factorials};

/// A weighted voting game with non-negative integer weights and an integer quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedVoting {
    weights: Vec<u64>,
    quota: u64,
}

impl WeightedVoting {
    /// A game `[quota; weights]`.
    pub fn new(weights: Vec<u64>, quota: u64) -> Result<Self> {
        if weights.is_empty() {
            return Err(ShapleyError::InvalidGame("weights: no players".into()));
        }
        let mut total: u64 = 0;
        for (i, &w) in weights.iter().enumerate() {
            total = total.checked_add(w).ok_or_else(|| {
                ShapleyError::InvalidGame(format!("weights[{i}]: total weight overflows u64"))
            })?;
        }
        Ok(Self { weights, quota })
    }

    /// The weights.
    pub fn weights(&self) -> &[u64] {
        &self.weights
    }

    /// The quota.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    fn capped(&self, i: usize) -> usize {
        self.weights[i].min(self.quota) as usize
    }

    /// Work of the dynamic program, in count additions: about `n * n * q`.
    pub fn dp_cost(&self) -> u128 {
        let n = self.weights.len() as u128;
        n * n * self.quota as u128
    }

    /// Exact Shapley-Shubik values by dynamic programming, O(n^2 q) additions of counts
    /// (u128 while n <= 127, big integers beyond) and O(n q) memory. Players of equal
    /// weight share one computation (symmetry).
    pub fn shapley_dp(&self) -> Vec<BigRational> {
        let n = self.weights.len();
        if self.quota == 0 {
            return vec![BigRational::zero(); n];
        }
        let by_weight = if n <= 127 {
            self.pivots::<u128>(BigInt::from)
        } else {
            self.pivots_limbs()
        };
        let f = factorials(n);
        // s! (n-1-s)! once, shared by every weight class.
        let g: Vec<BigInt> = (0..n).map(|s| &f[s] * &f[n - 1 - s]).collect();
        let per_class: BTreeMap<usize, BigRational> = by_weight
            .par_iter()
            .map(|(&w, k)| {
                let mut num = BigInt::zero();
                for (ks, gs) in k.iter().zip(&g) {
                    if !ks.is_zero() {
                        num += ks * gs;
                    }
                }
                (w, BigRational::new(num, f[n].clone()))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        (0..n).map(|i| per_class[&self.capped(i)].clone()).collect()
    }

    /// For each distinct capped weight w: K[s] = number of coalitions of size s of the other
    /// players with weight in [q - w, q).
    fn pivots<C>(&self, to_big: impl Fn(C) -> BigInt) -> BTreeMap<usize, Vec<BigInt>>
    where
        C: Clone + Zero + OneLike + for<'a> AddAssign<&'a C> + for<'a> SubAssign<&'a C>,
    {
        let n = self.weights.len();
        let q = self.quota as usize;
        let row = q;
        // c[s * row + w] = number of coalitions of size s and (capped) weight w < q.
        let mut c: Vec<C> = vec![C::zero(); (n + 1) * row];
        c[0] = C::one_like();
        for (added, i) in (0..n).enumerate() {
            let wp = self.capped(i);
            if wp >= q {
                continue; // such a player always reaches the quota: no state below q
            }
            for s in (0..=added).rev() {
                for w in (0..q - wp).rev() {
                    let (lo, hi) = c.split_at_mut((s + 1) * row);
                    let src = &lo[s * row + w];
                    if !src.is_zero() {
                        hi[w + wp] += src;
                    }
                }
            }
        }
        let mut out = BTreeMap::new();
        let mut d: Vec<C> = vec![C::zero(); (n + 1) * row];
        for i in 0..n {
            let wj = self.capped(i);
            if out.contains_key(&wj) {
                continue;
            }
            // d = counts over the players other than one player of weight wj.
            if wj >= q {
                d.clone_from(&c);
            } else {
                for s in 0..=n {
                    for w in 0..q {
                        let mut v = c[s * row + w].clone();
                        if s >= 1 && w >= wj {
                            v -= &d[(s - 1) * row + w - wj];
                        }
                        d[s * row + w] = v;
                    }
                }
            }
            let lo = q.saturating_sub(wj);
            let k: Vec<BigInt> = (0..n)
                .map(|s| {
                    let mut acc = C::zero();
                    for w in lo..q {
                        acc += &d[s * row + w];
                    }
                    to_big(acc)
                })
                .collect();
            out.insert(wj, k);
        }
        out
    }
}

impl WeightedVoting {
    /// The same counts as `pivots`, for large n: every count of a size-s coalition fits in
    /// the limbs of C(n, s), so the table is one flat `u64` array with a fixed number of
    /// limbs per row (no allocation per entry), only the non-zero weight range of each row
    /// is visited, and the per-weight removals run in parallel, each with two rows.
    fn pivots_limbs(&self) -> BTreeMap<usize, Vec<BigInt>> {
        let n = self.weights.len();
        let q = self.quota as usize;
        let lim: Vec<usize> = (0..=n)
            .map(|s| binomial(n, s).bits() as usize / 64 + 1)
            .collect();
        let mut off = vec![0usize; n + 2];
        for s in 0..=n {
            off[s + 1] = off[s] + q * lim[s];
        }
        let mut c = vec![0u64; off[n + 1]];
        c[0] = 1;
        // Non-zero weight range of each row, inclusive; empty when lo > hi.
        let mut lo = vec![usize::MAX; n + 1];
        let mut hi = vec![0usize; n + 1];
        lo[0] = 0;
        // log2 of k!, to bound the limbs a row can use so far: after `a` players, row s
        // holds counts <= C(a, s).
        let mut lf = vec![0.0f64; n + 1];
        for k in 1..=n {
            lf[k] = lf[k - 1] + (k as f64).log2();
        }
        let need = |a: usize, b: usize| -> usize {
            let bits = lf[a] - lf[b] - lf[a - b];
            (((bits + 1e-6) / 64.0).floor() as usize + 1).min(lim[b])
        };
        // Players of one weight are added BATCH at a time: row s gains
        // sum_{c=1..k} C(k, c) * row (s - c) shifted by c * w, in place (rows descending),
        // so the table is streamed once per batch instead of once per player.
        let mut per_weight: BTreeMap<usize, usize> = BTreeMap::new();
        for i in 0..n {
            let wp = self.capped(i);
            if wp < q {
                *per_weight.entry(wp).or_insert(0) += 1;
            }
        }
        let mut batches: Vec<(usize, usize)> = Vec::new();
        for (&wp, &m) in &per_weight {
            let mut left = m;
            while left > 0 {
                let k = left.min(BATCH);
                batches.push((wp, k));
                left -= k;
            }
        }
        let maxl = lim.iter().copied().max().unwrap_or(1);
        let mut snap = vec![0u64; BATCH * q * maxl];
        let mut added = 0usize;
        for &(wp, k) in &batches {
            let top = added + k;
            // Terms of each destination row: (source row, coefficient, lo, hi, shift).
            let mut terms: Vec<Vec<Term>> = vec![Vec::new(); top + 1];
            let mut limbs = vec![0usize; top + 1];
            for (s, t) in terms.iter_mut().enumerate() {
                limbs[s] = need(top, s);
                for (c, &coef) in BINOM[k].iter().enumerate().take(k.min(s) + 1).skip(1) {
                    let r = s - c;
                    let shift = c * wp;
                    if r > added || lo[r] > hi[r] || lo[r] + shift >= q {
                        continue;
                    }
                    t.push((r, coef, lo[r], hi[r].min(q - 1 - shift), shift));
                }
            }
            let work = |s: usize| -> usize {
                terms[s]
                    .iter()
                    .map(|&(_, _, a, b, _)| (b - a + 1) * limbs[s])
                    .sum()
            };
            let total: usize = (0..=top).map(work).sum();
            let mut m = top + 1;
            let mut acc = 0;
            while m > k + 1 && acc * 2 < total {
                m -= 1;
                acc += work(m);
            }
            let apply = |dst: &mut [u64], s: usize, rows: &Rows<'_>| {
                let l = limbs[s];
                let ls = lim[s];
                for &(r, coef, wl, wh, shift) in &terms[s] {
                    let src = rows.row(r);
                    let l0 = lim[r];
                    let take = l.min(l0);
                    for w in wl..=wh {
                        let d = (w + shift) * ls;
                        let sr = &src[w * l0..w * l0 + take];
                        if coef == 1 {
                            add_limbs(&mut dst[d..d + l], sr);
                        } else {
                            mul_add_limbs(&mut dst[d..d + l], sr, coef);
                        }
                    }
                }
            };
            if total < 1 << 16 || m > top {
                for s in (1..=top).rev() {
                    let (left, right) = c.split_at_mut(off[s]);
                    let rows = Rows {
                        data: left,
                        first: 0,
                        off: &off,
                        snap: &[],
                        snap_first: 0,
                        snap_off: &[],
                    };
                    apply(&mut right[..q * lim[s]], s, &rows);
                }
            } else {
                // Rows >= m on one core, < m on the other; the upper half reads rows
                // m-k..m-1 from a snapshot because the lower half rewrites them.
                let snap_first = m - k;
                let mut snap_off = Vec::with_capacity(k + 1);
                let mut pos = 0;
                for r in snap_first..m {
                    snap_off.push(pos);
                    let len = q * lim[r];
                    snap[pos..pos + len].copy_from_slice(&c[off[r]..off[r] + len]);
                    pos += len;
                }
                let (lower, upper) = c.split_at_mut(off[m]);
                let base = off[m];
                let (snap, snap_off, off) = (&snap[..], &snap_off[..], &off[..]);
                rayon::join(
                    || {
                        for s in (1..m).rev() {
                            let (left, right) = lower.split_at_mut(off[s]);
                            let rows = Rows {
                                data: left,
                                first: 0,
                                off,
                                snap: &[],
                                snap_first: 0,
                                snap_off: &[],
                            };
                            apply(&mut right[..q * lim[s]], s, &rows);
                        }
                    },
                    || {
                        for s in (m..=top).rev() {
                            let (left, right) = upper.split_at_mut(off[s] - base);
                            let rows = Rows {
                                data: left,
                                first: m,
                                off,
                                snap,
                                snap_first,
                                snap_off,
                            };
                            apply(&mut right[..q * lim[s]], s, &rows);
                        }
                    },
                );
            }
            for (s, t) in terms.iter().enumerate() {
                for &(_, _, wl, wh, shift) in t {
                    lo[s] = lo[s].min(wl + shift);
                    hi[s] = hi[s].max(wh + shift);
                }
            }
            added = top;
        }
        let mut classes: Vec<usize> = (0..n).map(|i| self.capped(i)).collect();
        classes.sort_unstable();
        classes.dedup();
        let maxl = lim.iter().copied().max().unwrap_or(1);
        let results: Vec<(usize, Vec<BigInt>)> = classes
            .par_iter()
            .map(|&wj| {
                let window = q.saturating_sub(wj)..q;
                let mut prev = vec![0u64; q * maxl];
                let mut cur = vec![0u64; q * maxl];
                let mut acc = vec![0u64; maxl + 1];
                let mut k = Vec::with_capacity(n);
                for s in 0..n {
                    let l = lim[s];
                    acc.iter_mut().for_each(|x| *x = 0);
                    if lo[s] <= hi[s] {
                        let row = &c[off[s]..off[s] + q * l];
                        for w in lo[s]..=hi[s] {
                            let d = &mut cur[w * l..(w + 1) * l];
                            d.copy_from_slice(&row[w * l..(w + 1) * l]);
                            if wj < q && s >= 1 && w >= wj {
                                let pw = w - wj;
                                if lo[s - 1] <= pw && pw <= hi[s - 1] {
                                    let lp = lim[s - 1];
                                    sub_limbs(d, &prev[pw * lp..(pw + 1) * lp]);
                                }
                            }
                            if window.contains(&w) {
                                add_limbs(&mut acc, &cur[w * l..(w + 1) * l]);
                            }
                        }
                    }
                    k.push(limbs_to_big(&acc));
                    std::mem::swap(&mut prev, &mut cur);
                }
                (wj, k)
            })
            .collect();
        results.into_iter().collect()
    }
}

/// A term of a batch step: (source row, coefficient, first weight, last weight, shift).
type Term = (usize, u64, usize, usize, usize);

/// Players of one weight added per pass over the count table.
const BATCH: usize = 8;

/// C(k, c) for k, c <= BATCH.
const BINOM: [[u64; BATCH + 1]; BATCH + 1] = {
    let mut t = [[0u64; BATCH + 1]; BATCH + 1];
    let mut k = 0;
    while k <= BATCH {
        t[k][0] = 1;
        let mut c = 1;
        while c <= k {
            t[k][c] = t[k - 1][c - 1] + if c < k { t[k - 1][c] } else { 0 };
            c += 1;
        }
        k += 1;
    }
    t
};

/// Read access to the rows below the one being written: rows >= `first` live in `data`
/// (whose row `first` starts at `off[first]`), earlier ones in a snapshot.
struct Rows<'a> {
    data: &'a [u64],
    first: usize,
    off: &'a [usize],
    snap: &'a [u64],
    snap_first: usize,
    snap_off: &'a [usize],
}

impl Rows<'_> {
    #[inline]
    fn row(&self, r: usize) -> &[u64] {
        if r >= self.first {
            &self.data[self.off[r] - self.off[self.first]..]
        } else {
            &self.snap[self.snap_off[r - self.snap_first]..]
        }
    }
}

/// dst += coef * src (little-endian limbs); the result fits in dst by construction.
#[inline]
fn mul_add_limbs(dst: &mut [u64], src: &[u64], coef: u64) {
    let k = dst.len().min(src.len());
    let mut carry: u128 = 0;
    for j in 0..k {
        let t = u128::from(dst[j]) + u128::from(src[j]) * u128::from(coef) + carry;
        dst[j] = t as u64;
        carry = t >> 64;
    }
    let mut j = k;
    while carry != 0 && j < dst.len() {
        let t = u128::from(dst[j]) + carry;
        dst[j] = t as u64;
        carry = t >> 64;
        j += 1;
    }
}

/// dst += src (little-endian limbs); src limbs beyond dst's length must be zero.
#[inline]
fn add_limbs(dst: &mut [u64], src: &[u64]) {
    let k = dst.len().min(src.len());
    let mut carry = false;
    for j in 0..k {
        let (a, c1) = dst[j].overflowing_add(src[j]);
        let (b, c2) = a.overflowing_add(u64::from(carry));
        dst[j] = b;
        carry = c1 || c2;
    }
    let mut j = k;
    while carry && j < dst.len() {
        let (a, c) = dst[j].overflowing_add(1);
        dst[j] = a;
        carry = c;
        j += 1;
    }
}

/// dst -= src (little-endian limbs); the result is non-negative by construction.
#[inline]
fn sub_limbs(dst: &mut [u64], src: &[u64]) {
    let k = dst.len().min(src.len());
    let mut borrow = false;
    for j in 0..k {
        let (a, b1) = dst[j].overflowing_sub(src[j]);
        let (b, b2) = a.overflowing_sub(u64::from(borrow));
        dst[j] = b;
        borrow = b1 || b2;
    }
    let mut j = k;
    while borrow && j < dst.len() {
        let (a, b) = dst[j].overflowing_sub(1);
        dst[j] = a;
        borrow = b;
        j += 1;
    }
}

fn limbs_to_big(l: &[u64]) -> BigInt {
    let digits: Vec<u32> = l
        .iter()
        .flat_map(|&x| [x as u32, (x >> 32) as u32])
        .collect();
    BigInt::from(BigUint::new(digits))
}

/// `one()` for count types without requiring `Mul`.
trait OneLike {
    fn one_like() -> Self;
}
impl OneLike for u128 {
    fn one_like() -> Self {
        1
    }
}

impl Game for WeightedVoting {
    fn n(&self) -> usize {
        self.weights.len()
    }
    fn worth_scaled(&self, s: &[u64]) -> BigInt {
        BigInt::from(u8::from(self.weight_of(s) >= self.quota))
    }
    fn worth_scaled_i64(&self, mask: u64) -> Option<i64> {
        let mut w: u64 = 0;
        let mut m = mask;
        while m != 0 {
            w += self.weights[m.trailing_zeros() as usize];
            m &= m - 1;
        }
        Some(i64::from(w >= self.quota))
    }
    fn worth_f64(&self, s: &[u64]) -> f64 {
        f64::from(u8::from(self.weight_of(s) >= self.quota))
    }
    fn walker(&self) -> Box<dyn Walker + '_> {
        Box::new(VotingWalker { game: self, sum: 0 })
    }
    fn marginal_range(&self, _player: usize) -> Option<(f64, f64)> {
        Some((0.0, 1.0))
    }
    fn as_weighted_voting(&self) -> Option<&WeightedVoting> {
        Some(self)
    }
}

impl WeightedVoting {
    fn weight_of(&self, s: &[u64]) -> u64 {
        (0..self.weights.len())
            .filter(|&i| contains(s, i))
            .map(|i| self.weights[i])
            .sum()
    }
}

struct VotingWalker<'a> {
    game: &'a WeightedVoting,
    sum: u64,
}

impl Walker for VotingWalker<'_> {
    fn reset(&mut self) {
        self.sum = 0;
    }
    #[inline]
    fn add(&mut self, player: usize) -> f64 {
        let before = self.sum;
        self.sum += self.game.weights[player];
        let q = self.game.quota;
        f64::from(u8::from(before < q && self.sum >= q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limb_counts_match_u128_counts() {
        let mut x: u64 = 7;
        for case in 0..40 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Every fourth case is large enough (n q >= 2^16 work) for the two-core path.
            let (n, wmax) = if case % 4 == 3 {
                (100 + (x >> 40) as usize % 27, 60)
            } else {
                (1 + (x >> 40) as usize % 90, 13)
            };
            let weights: Vec<u64> = (0..n as u64).map(|i| (x >> (i % 50)) % wmax).collect();
            let total: u64 = weights.iter().sum();
            let q = if case % 5 == 0 {
                total + 1
            } else {
                1 + (x >> 20) % (total + 1)
            };
            let g = match WeightedVoting::new(weights, q) {
                Ok(g) => g,
                Err(e) => panic!("{e}"),
            };
            assert_eq!(
                g.pivots::<u128>(BigInt::from),
                g.pivots_limbs(),
                "case {case}"
            );
        }
    }

    #[test]
    fn large_game_is_efficient_and_symmetric() {
        let w: Vec<u64> = (0..300u64).map(|i| 1 + (37 * i + 11) % 10).collect();
        let q = w.iter().sum::<u64>() / 2 + 1;
        let g = match WeightedVoting::new(w.clone(), q) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        let v = g.shapley_dp();
        let sum: BigRational = v.iter().sum();
        assert_eq!(sum, BigRational::from_integer(1.into()));
        for i in 0..300 {
            for j in 0..300 {
                if w[i] == w[j] {
                    assert_eq!(v[i], v[j]);
                }
            }
        }
    }
}
