//! Weighted voting games `[q; w_1, ..., w_n]`: v(S) = 1 when the weights in S reach the
//! quota, else 0. Exact Shapley-Shubik values by dynamic programming over (size, weight).

use std::collections::BTreeMap;

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

    /// Exact Shapley-Shubik values by dynamic programming over (coalition size, weight):
    /// O(n^2 q) additions of counts in the worst case, with the table cut to sizes
    /// <= (n-1)/2 by duality when that is cheaper (quota near half the total weight), and
    /// one removal per distinct weight (symmetry). See `pivot_counts`.
    pub fn shapley_dp(&self) -> Vec<BigRational> {
        let n = self.weights.len();
        if self.quota == 0 {
            return vec![BigRational::zero(); n];
        }
        let by_weight = self.pivot_counts(None);
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
    /// players with weight in [q - w, q), s = 0..n-1. `half` forces the table shape (tests);
    /// `None` picks the cheaper one.
    ///
    /// Counts c[s][v] of coalitions of size s and weight v < cap are built one weight class
    /// at a time: adding m players of weight w multiplies the generating function by
    /// (1 + x y^w)^m, which acts independently on each line {(s, r + s w)}; each line is
    /// gathered into a contiguous buffer and gets m passes L[s] += L[s-1] there (in cache, in
    /// parallel over lines). Counts are stored as digits of 56 bits in u64 words, so a pass
    /// is plain word additions (vectorised) and carries are propagated every 8 passes. The
    /// counts without one player of weight w_j then come from d[s][v] = c[s][v] -
    /// d[s-1][v-w_j] along the lines of direction w_j.
    ///
    /// Duality: S is a swing for i iff the complement of S in N \ {i} is a swing for i in
    /// the dual game [W - q + 1; w] (W the total capped weight), so K[s] = K*[n-1-s] and
    /// rows s <= (n-1)/2 of a table with weights < max(q, W - q + 1) give every K[s].
    fn pivot_counts(&self, half: Option<bool>) -> BTreeMap<usize, Vec<BigInt>> {
        let n = self.weights.len();
        let q = self.quota as usize;
        let capped: Vec<usize> = (0..n).map(|i| self.capped(i)).collect();
        let mut classes = capped.clone();
        classes.sort_unstable();
        classes.dedup();
        let total: usize = capped.iter().sum();
        if q == 0 || total < q {
            // Nobody is ever a swing.
            return classes
                .into_iter()
                .map(|w| (w, vec![BigInt::zero(); n]))
                .collect();
        }
        let dig: Vec<usize> = (0..=n)
            .map(|s| (binomial(n, s).bits() as usize).div_ceil(DIGIT_BITS).max(1))
            .collect();
        let plan = match half {
            Some(h) => Plan::new(&capped, q, h, &dig),
            None => {
                let full = Plan::new(&capped, q, false, &dig);
                let halved = Plan::new(&capped, q, true, &dig);
                if halved.cost() < full.cost() {
                    halved
                } else {
                    full
                }
            }
        };
        let (layout, c) = plan.forward();
        classes
            .par_iter()
            .map(|&wj| (wj, plan.pivots(&layout, &c, wj)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect()
    }
}

/// Bits per digit of a stored count.
const DIGIT_BITS: usize = 56;
const DIGIT_MASK: u64 = (1 << DIGIT_BITS) - 1;
/// Passes between carry propagations: each pass at most doubles a digit, so digits below
/// 2^56 stay below 2^64 for 8 passes.
const LAZY: usize = 64 - DIGIT_BITS;

/// The shape of the count table: rows s = 0..=rows (coalition sizes), row s holding the
/// weights a[s]..=b[s] (all its non-zero counts), each count in dig[s] digits.
struct Plan {
    n: usize,
    q: usize,
    /// Weights below `cap` are stored; players of (capped) weight >= cap are left out.
    cap: usize,
    /// Rows up to (n-1)/2 and the dual windows, or all rows.
    half: bool,
    /// Total capped weight.
    total: usize,
    rows: usize,
    a: Vec<usize>,
    b: Vec<usize>,
    dig: Vec<usize>,
    /// pref[s] = dig[0] + ... + dig[s-1].
    pref: Vec<usize>,
    /// Capped weights of the stored players, ascending.
    table: Vec<usize>,
}

impl Plan {
    fn new(capped: &[usize], q: usize, half: bool, dig: &[usize]) -> Self {
        let n = capped.len();
        let total: usize = capped.iter().sum();
        let cap = if half { q.max(total + 1 - q) } else { q };
        let mut table: Vec<usize> = capped.iter().copied().filter(|&w| w < cap).collect();
        table.sort_unstable();
        let last = if half { (n - 1) / 2 } else { n - 1 };
        let (a, b) = extremes(&table, cap, last);
        let rows = a.len() - 1;
        let dig = dig[..=rows].to_vec();
        let mut pref = vec![0usize; rows + 2];
        for s in 0..=rows {
            pref[s + 1] = pref[s] + dig[s];
        }
        Self {
            n,
            q,
            cap,
            half,
            total,
            rows,
            a,
            b,
            dig,
            pref,
            table,
        }
    }

    /// Digit words in the table.
    fn cost(&self) -> u128 {
        (0..=self.rows)
            .map(|s| (self.b[s] - self.a[s] + 1) as u128 * self.dig[s] as u128)
            .sum()
    }

    /// The count table of all stored players, in the layout of the last class added.
    fn forward(&self) -> (Layout, Vec<u64>) {
        let mut classes: Vec<(usize, usize)> = Vec::new();
        for &w in &self.table {
            match classes.last_mut() {
                Some((cw, m)) if *cw == w => *m += 1,
                _ => classes.push((w, 1)),
            }
        }
        let mut layout = Layout::new(self, classes.first().map_or(0, |c| c.0));
        let mut cur = vec![0u64; layout.total()];
        let origin = layout.index(self, 0, 0);
        cur[origin] = 1;
        let mut done: Vec<usize> = Vec::new();
        for &(w, m) in &classes {
            let (lo_v, hi_v) = extremes(&done, self.cap, self.rows);
            let next_layout = Layout::new(self, w);
            let mut next = vec![0u64; next_layout.total()];
            let mut lines: Vec<(usize, &mut [u64])> = Vec::with_capacity(next_layout.lines());
            let mut rest: &mut [u64] = &mut next;
            for r in 0..next_layout.lines() {
                let len = next_layout.off[r + 1] - next_layout.off[r];
                let (line, tail) = rest.split_at_mut(len);
                rest = tail;
                if len > 0 {
                    lines.push((r, line));
                }
            }
            lines.into_par_iter().with_min_len(8).for_each(|(r, line)| {
                let (s0, s1) = (next_layout.first[r], next_layout.last[r]);
                let v_of = |s: usize| next_layout.weight(r, s);
                // Rows of this line that hold non-zero counts before the class is added.
                let mut lo = usize::MAX;
                let mut hi = 0;
                for s in s0..=s1.min(lo_v.len() - 1) {
                    let v = v_of(s);
                    if lo_v[s] <= v && v <= hi_v[s] {
                        lo = lo.min(s);
                        hi = s;
                    }
                }
                if lo == usize::MAX {
                    return;
                }
                let base = self.pref[s0];
                for s in lo..=hi {
                    let at = layout.index(self, s, v_of(s));
                    let d = self.pref[s] - base;
                    line[d..d + self.dig[s]].copy_from_slice(&cur[at..at + self.dig[s]]);
                }
                let mut top = hi;
                for k in 0..m {
                    let new_top = (top + 1).min(s1);
                    for s in (lo + 1..=new_top).rev() {
                        let d = self.pref[s] - base;
                        let p = self.pref[s - 1] - base;
                        let len = self.dig[s].min(self.dig[s - 1]);
                        let (left, right) = line.split_at_mut(d);
                        for (x, y) in right[..len].iter_mut().zip(&left[p..p + len]) {
                            *x += *y;
                        }
                    }
                    top = new_top;
                    if (k + 1) % LAZY == 0 || k + 1 == m {
                        for s in lo..=top {
                            let d = self.pref[s] - base;
                            normalize(&mut line[d..d + self.dig[s]]);
                        }
                    }
                }
            });
            done.extend(std::iter::repeat_n(w, m));
            layout = next_layout;
            cur = next;
        }
        (layout, cur)
    }

    /// K[s], s = 0..n-1, for a player of capped weight wj, from the final table `c`.
    fn pivots(&self, layout: &Layout, c: &[u64], wj: usize) -> Vec<BigInt> {
        let n = self.n;
        let h = (n - 1) / 2;
        let primal_rows = if self.half { h } else { n - 1 };
        // Dual window [W - q - wj + 1, W - q] on rows s <= n-2-h.
        let dual = (self.half && n >= 2).then(|| {
            let hi = self.total - self.q;
            // lo = hi - wj + 1, written so a zero-weight player gets an empty window.
            ((hi + 1).saturating_sub(wj), hi, n - 2 - h)
        });
        let mut acc_p: Vec<Vec<u64>> = self.dig.iter().map(|&d| vec![0u64; d]).collect();
        let mut acc_d = acc_p.clone();
        let mut count = |s: usize, v: usize, d: &[u64]| {
            if s <= primal_rows && v < self.q && v + wj >= self.q {
                add_digits(&mut acc_p[s], d);
            }
            if let Some((lo, hi, rows)) = dual
                && s <= rows
                && lo <= v
                && v <= hi
            {
                add_digits(&mut acc_d[s], d);
            }
        };
        if wj >= self.cap {
            // Not in the table: the counts without the player are the counts.
            for s in 0..=self.rows {
                for v in self.a[s]..=self.b[s] {
                    let at = layout.index(self, s, v);
                    count(s, v, &c[at..at + self.dig[s]]);
                }
            }
        } else {
            let lines = Layout::new(self, wj);
            let maxd = self.dig.iter().copied().max().unwrap_or(1);
            let mut prev = vec![0u64; maxd];
            let mut d = vec![0u64; maxd];
            for r in 0..lines.lines() {
                if lines.off[r + 1] == lines.off[r] {
                    continue;
                }
                prev.iter_mut().for_each(|x| *x = 0);
                for s in lines.first[r]..=lines.last[r] {
                    let v = lines.weight(r, s);
                    let k = self.dig[s];
                    let at = layout.index(self, s, v);
                    // d = c - (d of row s-1 at v - wj); digits of prev beyond row s-1's
                    // are zero (cleared below).
                    sub_digits(&mut d[..k], &c[at..at + k], &prev[..k]);
                    count(s, v, &d[..k]);
                    d[k..].iter_mut().for_each(|x| *x = 0);
                    std::mem::swap(&mut prev, &mut d);
                }
            }
        }
        (0..n)
            .map(|s| {
                if s <= primal_rows {
                    acc_p.get(s).map_or_else(BigInt::zero, |x| digits_to_big(x))
                } else {
                    acc_d
                        .get(n - 1 - s)
                        .map_or_else(BigInt::zero, |x| digits_to_big(x))
                }
            })
            .collect()
    }
}

/// Weight range of the coalitions of each size 0..=last of `weights` (ascending), cut at
/// `cap`: a[s] = the s smallest, b[s] = min(cap - 1, the s largest). Rows stop at the
/// first size whose lightest coalition reaches `cap` (or at `weights.len()`).
fn extremes(weights: &[usize], cap: usize, last: usize) -> (Vec<usize>, Vec<usize>) {
    let mut a = vec![0usize];
    let mut b = vec![0usize];
    let (mut lo, mut hi) = (0usize, 0usize);
    for s in 1..=last.min(weights.len()) {
        lo += weights[s - 1];
        hi = hi.saturating_add(weights[weights.len() - s]);
        if lo >= cap {
            break;
        }
        a.push(lo);
        b.push(hi.min(cap - 1));
    }
    (a, b)
}

/// Where each entry (s, v) of the table lives when the lines of direction w are contiguous:
/// line r holds (s, r + rmin + s w) for s = first[r]..=last[r] (a contiguous range, since
/// a[s] is convex and b[s] concave in s), its digits at off[r]...
struct Layout {
    w: usize,
    rmin: isize,
    first: Vec<usize>,
    last: Vec<usize>,
    off: Vec<usize>,
}

impl Layout {
    fn new(p: &Plan, w: usize) -> Self {
        let shift = |s: usize| (s * w) as isize;
        let rmin = (0..=p.rows)
            .map(|s| p.a[s] as isize - shift(s))
            .min()
            .unwrap_or(0);
        let rmax = (0..=p.rows)
            .map(|s| p.b[s] as isize - shift(s))
            .max()
            .unwrap_or(0);
        let nl = (rmax - rmin + 1) as usize;
        let mut first = vec![usize::MAX; nl];
        let mut last = vec![0usize; nl];
        for s in 0..=p.rows {
            let lo = (p.a[s] as isize - shift(s) - rmin) as usize;
            let hi = (p.b[s] as isize - shift(s) - rmin) as usize;
            for r in lo..=hi {
                if first[r] == usize::MAX {
                    first[r] = s;
                }
                debug_assert!(first[r] == s || last[r] + 1 == s, "lines are contiguous");
                last[r] = s;
            }
        }
        let mut off = vec![0usize; nl + 1];
        for r in 0..nl {
            let len = if first[r] == usize::MAX {
                0
            } else {
                p.pref[last[r] + 1] - p.pref[first[r]]
            };
            off[r + 1] = off[r] + len;
        }
        Self {
            w,
            rmin,
            first,
            last,
            off,
        }
    }

    fn lines(&self) -> usize {
        self.first.len()
    }

    fn total(&self) -> usize {
        self.off[self.lines()]
    }

    /// The weight of row s on line r.
    #[inline]
    fn weight(&self, r: usize, s: usize) -> usize {
        (r as isize + self.rmin + (s * self.w) as isize) as usize
    }

    /// First digit of entry (s, v), which must lie in the plan's rows and weight ranges.
    #[inline]
    fn index(&self, p: &Plan, s: usize, v: usize) -> usize {
        let r = (v as isize - (s * self.w) as isize - self.rmin) as usize;
        self.off[r] + p.pref[s] - p.pref[self.first[r]]
    }
}

/// Propagates carries so every digit is below 2^56; the carry out of the top digit is
/// dropped (counts are exact modulo 2^(56 * digits), and the true count fits).
#[inline]
fn normalize(x: &mut [u64]) {
    let mut carry = 0u64;
    for d in x.iter_mut() {
        let t = *d + carry;
        *d = t & DIGIT_MASK;
        carry = t >> DIGIT_BITS;
    }
}

/// acc += x, both normalised, modulo 2^(56 * acc.len()).
#[inline]
fn add_digits(acc: &mut [u64], x: &[u64]) {
    let mut carry = 0u64;
    for (j, a) in acc.iter_mut().enumerate() {
        let t = *a + x.get(j).copied().unwrap_or(0) + carry;
        *a = t & DIGIT_MASK;
        carry = t >> DIGIT_BITS;
    }
}

/// out = x - y, all normalised, modulo 2^(56 * out.len()).
#[inline]
fn sub_digits(out: &mut [u64], x: &[u64], y: &[u64]) {
    let mut borrow = 0u64;
    for ((o, &a), &b) in out.iter_mut().zip(x).zip(y) {
        let t = a.wrapping_sub(b).wrapping_sub(borrow);
        *o = t & DIGIT_MASK;
        borrow = t >> 63;
    }
}

fn digits_to_big(x: &[u64]) -> BigInt {
    let mut out = BigUint::zero();
    for &d in x.iter().rev() {
        out = (out << DIGIT_BITS) + BigUint::from(d);
    }
    BigInt::from(out)
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

    /// The plain dynamic program (one player at a time, big integers, all rows, removal by
    /// recomputation): K[s] for each distinct capped weight.
    fn reference_pivots(g: &WeightedVoting) -> BTreeMap<usize, Vec<BigInt>> {
        let n = g.weights.len();
        let q = g.quota as usize;
        let mut out = BTreeMap::new();
        for i in 0..n {
            let wj = g.capped(i);
            if out.contains_key(&wj) {
                continue;
            }
            // c[s][v]: coalitions of the players other than i, size s, weight v < q.
            let mut c = vec![vec![BigInt::zero(); q]; n + 1];
            if q > 0 {
                c[0][0] = BigInt::from(1);
            }
            for j in (0..n).filter(|&j| j != i) {
                let wp = g.capped(j);
                for s in (0..n).rev() {
                    for v in (0..q.saturating_sub(wp)).rev() {
                        if !c[s][v].is_zero() {
                            let x = c[s][v].clone();
                            c[s + 1][v + wp] += x;
                        }
                    }
                }
            }
            let k = (0..n)
                .map(|s| (q.saturating_sub(wj)..q).map(|v| c[s][v].clone()).sum())
                .collect();
            out.insert(wj, k);
        }
        out
    }

    fn game(weights: Vec<u64>, q: u64) -> WeightedVoting {
        match WeightedVoting::new(weights, q) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn line_counts_match_the_plain_dp() {
        let mut x: u64 = 7;
        for case in 0..300 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let n = 1 + (x >> 40) as usize % 14;
            let wmax = [1u64, 2, 3, 5, 13, 40][case % 6];
            let weights: Vec<u64> = (0..n as u64)
                .map(|i| (x >> (i % 50)).wrapping_mul(i + 3) % (wmax + 1))
                .collect();
            let total: u64 = weights.iter().sum();
            let q = match case % 7 {
                0 => total + 1,
                1 => total,
                2 => total / 2 + 1,
                3 => 1,
                4 => 0,
                _ => 1 + (x >> 20) % (total + 1),
            };
            let g = game(weights.clone(), q);
            let want = reference_pivots(&g);
            for half in [None, Some(false), Some(true)] {
                assert_eq!(
                    g.pivot_counts(half),
                    want,
                    "case {case}: {weights:?} q={q} half={half:?}"
                );
            }
        }
    }

    #[test]
    fn line_counts_match_on_larger_games() {
        // Rows beyond 2^56 digits and long lines (several carry rounds per class).
        for (n, wmax) in [(130usize, 4u64), (90, 11), (200, 1)] {
            let w: Vec<u64> = (0..n as u64).map(|i| (37 * i + 11) % (wmax + 1)).collect();
            let total: u64 = w.iter().sum();
            for q in [total / 2 + 1, total / 3, total - 2] {
                let g = game(w.clone(), q);
                let want = reference_pivots(&g);
                assert_eq!(g.pivot_counts(Some(true)), want, "n={n} q={q}");
                assert_eq!(g.pivot_counts(Some(false)), want, "n={n} q={q}");
            }
        }
    }

    #[test]
    fn large_game_is_efficient_and_symmetric() {
        let w: Vec<u64> = (0..300u64).map(|i| 1 + (37 * i + 11) % 10).collect();
        let q = w.iter().sum::<u64>() / 2 + 1;
        let g = game(w.clone(), q);
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
