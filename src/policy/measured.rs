//! The measured-coalition game: worths observed for some coalitions (`coalition.measured`
//! entries), the others filled by the policy's rule. The only policy game whose exact
//! solution is exponential (enumeration over its own players, up to the policy's limit).

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};

use super::file::Fill;
use crate::shapley::game::{Game, bitset, words};
use crate::shapley::rational::lcm_all;

/// An explicit game given by a few measured coalitions and a fill rule.
#[derive(Debug, Clone)]
pub struct MeasuredGame {
    n: usize,
    fill: Fill,
    den: BigInt,
    /// Bitset over this game's players of each measurement.
    sets: Vec<Vec<u64>>,
    /// D × worth of each measurement.
    scaled: Vec<BigInt>,
    /// The sets as single words with i64 worths, when n <= 64 and every worth fits.
    small: Option<Vec<(u64, i64)>>,
    /// Position of each measurement in ascending order of worth, so that `max-subset`
    /// compares worths without caring whether they are big integers, i64 or f64.
    rank: Vec<usize>,
    positive: Vec<bool>,
    worth_f64: Vec<f64>,
    range: (f64, f64),
}

impl MeasuredGame {
    /// `coalitions`: distinct non-empty member lists (indices `< n`) and their worths.
    pub fn new(n: usize, coalitions: &[(Vec<usize>, BigRational)], fill: Fill) -> Self {
        let den = lcm_all(coalitions.iter().map(|(_, w)| w.denom()));
        let sets: Vec<Vec<u64>> = coalitions.iter().map(|(m, _)| bitset(n, m)).collect();
        let scaled: Vec<BigInt> = coalitions
            .iter()
            .map(|(_, w)| w.numer() * (&den / w.denom()))
            .collect();
        let small = if n <= 64 {
            sets.iter()
                .zip(&scaled)
                .map(|(s, w)| Some((s.first().copied().unwrap_or(0), w.to_i64()?)))
                .collect()
        } else {
            None
        };
        let mut order: Vec<usize> = (0..scaled.len()).collect();
        order.sort_by(|&a, &b| scaled[a].cmp(&scaled[b]).then(b.cmp(&a)));
        let mut rank = vec![0; scaled.len()];
        for (pos, &k) in order.iter().enumerate() {
            rank[k] = pos;
        }
        let worth_f64: Vec<f64> = coalitions
            .iter()
            .map(|(_, w)| w.to_f64().unwrap_or(0.0))
            .collect();
        let lo = worth_f64.iter().copied().fold(0.0f64, f64::min);
        let hi = worth_f64.iter().copied().fold(0.0f64, f64::max);
        Self {
            n,
            fill,
            den,
            positive: scaled.iter().map(|w| *w > BigInt::zero()).collect(),
            sets,
            scaled,
            small,
            rank,
            worth_f64,
            // A marginal is a difference of two worths, each in [lo, hi] (0 included).
            range: (lo - hi, hi - lo),
        }
    }

    /// The measurement that gives v(S): S itself if measured; else, under `max-subset`, the
    /// measured sub-coalition of largest worth when that worth is positive (the empty
    /// coalition, worth 0, is a sub-coalition of every coalition); else none (worth 0).
    fn pick(&self, equal: impl Fn(usize) -> bool, subset: impl Fn(usize) -> bool) -> Option<usize> {
        let m = self.sets.len();
        if let Some(k) = (0..m).find(|&k| equal(k)) {
            return Some(k);
        }
        match self.fill {
            Fill::Zero => None,
            Fill::MaxSubset => (0..m)
                .filter(|&k| subset(k))
                .max_by_key(|&k| self.rank[k])
                .filter(|&k| self.positive[k]),
        }
    }

    fn pick_set(&self, s: &[u64]) -> Option<usize> {
        let mut padded = s.to_vec();
        padded.resize(words(self.n), 0);
        self.pick(
            |k| self.sets[k] == padded,
            |k| self.sets[k].iter().zip(&padded).all(|(x, y)| x & !y == 0),
        )
    }
}

impl Game for MeasuredGame {
    fn n(&self) -> usize {
        self.n
    }
    fn denominator(&self) -> BigInt {
        self.den.clone()
    }
    fn worth_scaled(&self, s: &[u64]) -> BigInt {
        self.pick_set(s)
            .map_or_else(BigInt::zero, |k| self.scaled[k].clone())
    }
    fn worth_scaled_i64(&self, mask: u64) -> Option<i64> {
        let small = self.small.as_ref()?;
        let k = self.pick(|k| small[k].0 == mask, |k| small[k].0 & !mask == 0);
        Some(k.map_or(0, |k| small[k].1))
    }
    fn worth_f64(&self, s: &[u64]) -> f64 {
        self.pick_set(s).map_or(0.0, |k| self.worth_f64[k])
    }
    fn marginal_range(&self, _player: usize) -> Option<(f64, f64)> {
        Some(self.range)
    }
}
