//! Weighted voting games `[q; w_1, ..., w_n]`: v(S) = 1 when the weights in S reach the
//! quota, else 0. Exact Shapley-Shubik values by dynamic programming over (size, weight).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use num_bigint::{BigInt, BigUint};
use num_rational::BigRational;
use num_traits::Zero;

use super::error::{Result, ShapleyError};
use super::game::{Game, Walker, contains};
use rayon::prelude::*;

use super::rational::factorials;

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
        // The dynamic program runs only when n^2 q fits its limit, so q is a table size.
        usize::try_from(self.weights[i].min(self.quota)).unwrap_or(usize::MAX)
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
    /// (1 + x y^w)^m, which acts independently on each line {(s, r + s w)}. Along a line,
    /// level p + 1 of row s is level p of row s plus level p of row s - 1; one ascending
    /// sweep per line carries all m levels at once, keeping level p of the row below in a
    /// small buffer (in cache, in parallel over lines), so the table is read and written
    /// once per class. Counts are stored as digits of 56 bits in u64 words, so a level is
    /// plain word additions (vectorised) and carries are spread every 7 levels. The counts
    /// without one player of weight w_j then come from d[s][v] = c[s][v] - d[s-1][v-w_j]
    /// along the lines of direction w_j.
    ///
    /// Duality: S is a swing for i iff the complement of S in N \ {i} is a swing for i in
    /// the dual game [W - q + 1; w] (W the total capped weight), so K[s] = K*[n-1-s] and
    /// rows s <= (n-1)/2 of a table with weights < max(q, W - q + 1) give every K[s].
    fn pivot_counts(&self, half: Option<bool>) -> BTreeMap<usize, Vec<BigInt>> {
        let n = self.weights.len();
        let q = usize::try_from(self.quota).unwrap_or(usize::MAX);
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
        let dig = binomial_digits(n, n);
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
        let c = plan.forward();
        classes
            .par_iter()
            .map(|&wj| (wj, plan.pivots(&c, wj)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect()
    }
}

/// Bits per digit of a stored count.
const DIGIT_BITS: usize = 56;
const DIGIT_MASK: u64 = (1 << DIGIT_BITS) - 1;
/// Levels between carry steps: a step leaves digits below 2^56 + 2^8, and each level at
/// most doubles a digit, so digits stay below 2^64 for 7 levels.
const LAZY: usize = 7;

/// Digits of C(k, s) for s = 0..=last (at least one): every count of coalitions of size s
/// among k players fits in them.
fn binomial_digits(k: usize, last: usize) -> Vec<usize> {
    let mut c = BigUint::from(1u8);
    (0..=last)
        .map(|s| {
            let d = usize::try_from(c.bits())
                .unwrap_or(usize::MAX)
                .div_ceil(DIGIT_BITS)
                .max(1);
            // C(k, s + 1) = C(k, s) (k - s) / (s + 1), zero beyond k.
            c = &c * BigUint::from(k.saturating_sub(s)) / BigUint::from(s + 1);
            d
        })
        .collect()
}

/// The shape of the count table: rows s = 0..=rows (coalition sizes), row s holding the
/// weights a[s]..=b[s] (all its non-zero counts), each count in dig[s] digits, row-major.
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
    /// off[s] = first word of row s; off[rows + 1] = words in the table.
    off: Vec<usize>,
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
        let mut off = vec![0usize; rows + 2];
        for s in 0..=rows {
            off[s + 1] = off[s] + (b[s] - a[s] + 1) * dig[s];
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
            off,
            table,
        }
    }

    /// Digit words in the table.
    fn cost(&self) -> u128 {
        self.off[self.rows + 1] as u128
    }

    /// First digit of entry (s, v), which must lie in the plan's rows and weight ranges.
    #[inline]
    fn index(&self, s: usize, v: usize) -> usize {
        self.off[s] + (v - self.a[s]) * self.dig[s]
    }

    /// The count table of all stored players (see `index`), digits normalised.
    fn forward(&self) -> Vec<u64> {
        let mut classes: Vec<(usize, usize)> = Vec::new();
        for &w in &self.table {
            match classes.last_mut() {
                Some((cw, m)) if *cw == w => *m += 1,
                _ => classes.push((w, 1)),
            }
        }
        // Each class rewrites the table in place, one line per task: the lines of one
        // direction are disjoint but interleaved in memory, hence word-sized atomics
        // (relaxed: plain loads and stores) instead of disjoint slices.
        let c: Vec<AtomicU64> = (0..self.off[self.rows + 1])
            .into_par_iter()
            .map(|_| AtomicU64::new(0))
            .collect();
        c[self.index(0, 0)].store(1, Relaxed);
        let mut added = 0;
        // Heaviest class first: less work in total than lightest first (about 20% on the
        // benchmark game), as the table reaches its full width with fewer rows.
        for &(w, m) in classes.iter().rev() {
            // Rows of non-zero counts before the class is added.
            let done = &self.table[self.table.len() - added..];
            let (lo_v, hi_v) = extremes(done, self.cap, self.rows);
            added += m;
            // Counts fit in fewer digits while few players are in (at most the table's).
            let dig = binomial_digits(added, self.rows);
            let stride = dig.iter().copied().max().unwrap_or(1);
            let lines = Lines::new(self, w);
            (0..lines.len())
                .into_par_iter()
                .with_min_len(8)
                .for_each_init(
                    || (Vec::new(), Vec::new()),
                    |(line, below): &mut (Vec<u64>, Vec<u64>), r| {
                        let (s0, s1) = (lines.first[r], lines.last[r]);
                        let v_of = |s: usize| lines.weight(r, s);
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
                        let top = (hi + m).min(s1);
                        // Gather first, so the scattered loads overlap. Rows go by blocks
                        // (see `add_levels`); rows past `top` only pad the last block.
                        let blocks = (top - lo + 1).div_ceil(BLOCK);
                        line.clear();
                        line.resize(blocks * BLOCK * stride, 0);
                        for s in lo..=hi {
                            let at = self.index(s, v_of(s));
                            let x = &mut line[(s - lo) * stride..][..dig[s]];
                            for (d, cell) in x.iter_mut().zip(&c[at..]) {
                                *d = cell.load(Relaxed);
                            }
                        }
                        below.clear();
                        below.resize(m * stride, 0);
                        for (i, block) in line.chunks_exact_mut(BLOCK * stride).enumerate() {
                            let first = lo + i * BLOCK;
                            let last = (first + BLOCK - 1).min(top);
                            let k = (first..=last).map(|s| dig[s]).max().unwrap_or(0);
                            // Row s > hi is zero below level s - hi.
                            add_levels(block, below, stride, k, first.saturating_sub(hi + 1), m);
                            for (s, x) in (first..=last).zip(block.chunks_exact(stride)) {
                                let at = self.index(s, v_of(s));
                                for (&d, cell) in x.iter().zip(&c[at..at + dig[s]]) {
                                    cell.store(d, Relaxed);
                                }
                            }
                        }
                    },
                );
        }
        c.into_iter().map(AtomicU64::into_inner).collect()
    }

    /// K[s], s = 0..n-1, for a player of capped weight wj, from the final table `c`.
    ///
    /// The counts without the player, d[s][v] = c[s][v] - d[s-1][v-wj], are alternating
    /// sums of c down the line of direction wj through (s, v), so along each line two
    /// running sums (rows of either parity) are kept with plain additions, and subtracted
    /// only where the line crosses a window (once per window: the windows are wj wide).
    fn pivots(&self, c: &[u64], wj: usize) -> Vec<BigInt> {
        let n = self.n;
        let h = (n - 1) / 2;
        let primal_rows = if self.half { h } else { n - 1 };
        // Windows of the weights counted in K (inclusive) and their last rows: the primal
        // window [q - wj, q - 1], and the dual window [W - q - wj + 1, W - q] on rows
        // s <= n-2-h.
        let mut windows = vec![(self.q - wj, self.q - 1, primal_rows)];
        if self.half && n >= 2 {
            let hi = self.total - self.q;
            // lo = hi - wj + 1, written so a zero-weight player gets an empty window.
            windows.push(((hi + 1).saturating_sub(wj), hi, n - 2 - h));
        }
        let mut acc: Vec<Vec<Vec<u64>>> = windows
            .iter()
            .map(|_| self.dig.iter().map(|&d| vec![0u64; d]).collect())
            .collect();
        if wj >= self.cap {
            // Not in the table: the counts without the player are the counts.
            for (&(lo, hi, last), acc) in windows.iter().zip(&mut acc) {
                for s in 0..=self.rows.min(last) {
                    for v in lo.max(self.a[s])..=hi.min(self.b[s]) {
                        let at = self.index(s, v);
                        add_digits(&mut acc[s], &c[at..at + self.dig[s]]);
                    }
                }
            }
        } else {
            let lines = Lines::new(self, wj);
            let maxd = self.dig.iter().copied().max().unwrap_or(1);
            let mut sums = [vec![0u64; maxd], vec![0u64; maxd]];
            let mut d = vec![0u64; maxd];
            for r in 0..lines.len() {
                let hits: Vec<Option<usize>> = windows
                    .iter()
                    .map(|&(lo, hi, last)| lines.row_in(r, lo, hi).filter(|&s| s <= last))
                    .collect();
                let Some(end) = hits.iter().flatten().max().copied() else {
                    continue;
                };
                sums.iter_mut().for_each(|x| x.fill(0));
                // Additions into each sum since it was last normalised.
                let mut pending = [0usize; 2];
                for s in lines.first[r]..=end {
                    let k = self.dig[s];
                    let at = self.index(s, lines.weight(r, s));
                    let own = s % 2;
                    if pending[own] == MAX_PENDING {
                        normalize(&mut sums[own]);
                        pending[own] = 0;
                    }
                    for (x, &y) in sums[own].iter_mut().zip(&c[at..at + k]) {
                        *x += y;
                    }
                    pending[own] += 1;
                    for (hit, acc) in hits.iter().zip(&mut acc) {
                        if *hit == Some(s) {
                            sums.iter_mut().for_each(|x| normalize(x));
                            pending = [0; 2];
                            sub_digits(&mut d[..k], &sums[own][..k], &sums[1 - own][..k]);
                            add_digits(&mut acc[s], &d[..k]);
                        }
                    }
                }
            }
        }
        (0..n)
            .map(|s| {
                let x = if s <= primal_rows {
                    acc[0].get(s)
                } else {
                    acc.get(1).and_then(|dual| dual.get(n - 1 - s))
                };
                x.map_or_else(BigInt::zero, |x| digits_to_big(x))
            })
            .collect()
    }
}

/// Additions of normalised digits a running sum takes between normalisations: digits stay
/// below 2^56 * 256.
const MAX_PENDING: usize = 255;

/// Raises a block of BLOCK consecutive rows of a line (`stride` words apart, the first k
/// digits of each in use), from level `from` to level `m`, where level p + 1 of a row is
/// level p of the row plus level p of the row below: `below` holds level p of the row
/// under the block at `p * stride` and receives the block's top row. Raising several rows
/// per pass over `below` saves loads and stores. Digits come in normalised and leave
/// normalised.
///
/// The whole block shares k digits: a row with fewer is then held modulo a larger power
/// of two, which is still exact as k never grows along the line where counts are held
/// modulo (past the peak of C(added, s)), and the true counts fit.
fn add_levels(
    block: &mut [u64],
    below: &mut [u64],
    stride: usize,
    k: usize,
    from: usize,
    m: usize,
) {
    let (x0, rest) = block.split_at_mut(stride);
    let (x1, rest) = rest.split_at_mut(stride);
    let (x2, x3) = rest.split_at_mut(stride);
    let (x0, x1, x2, x3) = (&mut x0[..k], &mut x1[..k], &mut x2[..k], &mut x3[..k]);
    let mut p = from;
    while p < m {
        let end = ((p / LAZY + 1) * LAZY).min(m);
        for level in below[p * stride..end * stride].chunks_exact_mut(stride) {
            let rows = x0.iter_mut().zip(&mut *x1).zip(&mut *x2).zip(&mut *x3);
            for (under, (((d0, d1), d2), d3)) in level[..k].iter_mut().zip(rows) {
                let next = *d3;
                *d3 += *d2;
                *d2 += *d1;
                *d1 += *d0;
                *d0 += *under;
                *under = next;
            }
        }
        // One step of carries (rows side by side, so it vectorises): each digit keeps its
        // low 56 bits plus the bits above 56 of the digit below, leaving digits below
        // 2^56 + 2^8; the bits above 56 of the top digit are dropped, as in `normalize`.
        let mut carry = [0u64; BLOCK];
        for i in 0..k {
            let up = [x0[i], x1[i], x2[i], x3[i]].map(|d| d >> DIGIT_BITS);
            x0[i] = (x0[i] & DIGIT_MASK) + carry[0];
            x1[i] = (x1[i] & DIGIT_MASK) + carry[1];
            x2[i] = (x2[i] & DIGIT_MASK) + carry[2];
            x3[i] = (x3[i] & DIGIT_MASK) + carry[3];
            carry = up;
        }
        p = end;
    }
    for x in [x0, x1, x2, x3] {
        normalize(x);
    }
}

/// Rows raised together by `add_levels` (which names them).
const BLOCK: usize = 4;

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

/// The lines of direction w through the table: line r holds the entries
/// (s, r + rmin + s w) for s = first[r]..=last[r], a contiguous range since a[s] is convex
/// and b[s] concave in s (empty, first > last, when the line misses the table).
struct Lines {
    w: usize,
    rmin: isize,
    first: Vec<usize>,
    last: Vec<usize>,
}

impl Lines {
    fn new(p: &Plan, w: usize) -> Self {
        // Rows, weights and their products index an allocated table: far below isize::MAX.
        let shift = |s: usize| (s * w).cast_signed();
        let rmin = (0..=p.rows)
            .map(|s| p.a[s].cast_signed() - shift(s))
            .min()
            .unwrap_or(0);
        let rmax = (0..=p.rows)
            .map(|s| p.b[s].cast_signed() - shift(s))
            .max()
            .unwrap_or(0);
        let nl = (rmax - rmin + 1) as usize;
        let mut first = vec![usize::MAX; nl];
        let mut last = vec![0usize; nl];
        for s in 0..=p.rows {
            let lo = (p.a[s].cast_signed() - shift(s) - rmin) as usize;
            let hi = (p.b[s].cast_signed() - shift(s) - rmin) as usize;
            for r in lo..=hi {
                if first[r] == usize::MAX {
                    first[r] = s;
                }
                debug_assert!(first[r] == s || last[r] + 1 == s, "lines are contiguous");
                last[r] = s;
            }
        }
        Self {
            w,
            rmin,
            first,
            last,
        }
    }

    fn len(&self) -> usize {
        self.first.len()
    }

    /// The row at which line r has a weight in lo..=hi, if any, for a window at most w
    /// wide (so at most one row).
    fn row_in(&self, r: usize, lo: usize, hi: usize) -> Option<usize> {
        let (first, last) = (self.first[r], self.last[r]);
        if lo > hi || first > last {
            return None;
        }
        let v = self.weight(r, first);
        let s = if v >= lo {
            first
        } else {
            first + (lo - v).div_ceil(self.w)
        };
        (s <= last && self.weight(r, s) <= hi).then_some(s)
    }

    /// The weight of row s on line r.
    #[inline]
    fn weight(&self, r: usize, s: usize) -> usize {
        // Table indices: far below isize::MAX.
        (r.cast_signed() + self.rmin + (s * self.w).cast_signed()) as usize
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
    fn two_valued_marginals(&self) -> bool {
        // v is 0 or 1 and monotone: a player either swings the coalition or not.
        true
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
        let q = usize::try_from(g.quota).unwrap_or(usize::MAX);
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
    fn long_lines_stay_exact() {
        // One line of 1200 rows: running sums in `pivots` are normalised on the way.
        let g = game(vec![1; 2400], 1200);
        assert_eq!(
            g.shapley_dp(),
            vec![BigRational::new(1.into(), 2400.into()); 2400]
        );
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
