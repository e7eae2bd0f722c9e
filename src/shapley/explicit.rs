//! Explicit table of 2^n worths.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::ToPrimitive;

use super::error::{Result, ShapleyError};
use super::game::{Game, Walker};
use super::scaled::{Scaled, Worths};

/// Largest number of players of an explicit table (the table has 2^n entries).
pub const MAX_EXPLICIT_PLAYERS: usize = 30;

/// A game given by the worth of every coalition: `values[k]` is the worth of the coalition
/// whose members are the set bits of `k`. Stored as integers over one common denominator.
#[derive(Debug, Clone, PartialEq)]
pub struct Explicit {
    n: usize,
    worths: Worths,
    den_f64: f64,
    min_f64: f64,
    max_f64: f64,
}

/// The number of players of a table of `len` worths (`len` must be `2^n`, `n` within limits).
fn player_count(len: usize) -> Result<usize> {
    if len == 0 || !len.is_power_of_two() {
        return Err(ShapleyError::InvalidGame(format!(
            "values: length {len} is not a power of two"
        )));
    }
    let n = len.trailing_zeros() as usize;
    if n > MAX_EXPLICIT_PLAYERS {
        return Err(ShapleyError::TooLarge {
            method: "explicit table",
            n,
            limit: MAX_EXPLICIT_PLAYERS,
        });
    }
    Ok(n)
}

impl Explicit {
    /// Build from exact worths; `values.len()` must be `2^n`.
    pub fn new(values: &[BigRational]) -> Result<Self> {
        Self::from_worths(Worths::from_ratios(values))
    }

    /// Build from integer worths (denominator 1); `values.len()` must be `2^n`.
    pub fn from_integers(values: Vec<i64>) -> Result<Self> {
        Self::from_worths(Worths::from_integers(values))
    }

    /// Build from worths over a common denominator (as read from a file): the same game as
    /// [`Explicit::new`] of the same values.
    pub fn from_scaled(values: Scaled) -> Result<Self> {
        Self::from_worths(Worths::from_scaled(values))
    }

    fn from_worths(worths: Worths) -> Result<Self> {
        let n = player_count(worths.len())?;
        let mut g = Self {
            n,
            den_f64: worths.den().to_f64().unwrap_or(f64::INFINITY),
            worths,
            min_f64: 0.0,
            max_f64: 0.0,
        };
        // Dividing by a positive number keeps the order: the extremes of the integers give
        // the extremes of the worths.
        let (mn, mx) = match g.worths.small() {
            Some(v) => {
                let (lo, hi) = v
                    .iter()
                    .fold((i64::MAX, i64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
                (g.scale_f64(lo), g.scale_f64(hi))
            }
            None => (0..1usize << n)
                .map(|k| g.get_f64(k))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                    (a.min(x), b.max(x))
                }),
        };
        g.min_f64 = mn;
        g.max_f64 = mx;
        Ok(g)
    }

    /// The common denominator the table is stored over (lcm of the worths' denominators).
    pub fn denominator_ref(&self) -> &BigInt {
        self.worths.den()
    }

    #[inline]
    fn scale_f64(&self, scaled: i64) -> f64 {
        scaled as f64 / self.den_f64
    }

    #[inline]
    fn get_f64(&self, k: usize) -> f64 {
        match self.worths.small() {
            Some(v) => self.scale_f64(v[k]),
            None => self.worths.to_f64(k),
        }
    }

    fn index(s: &[u64]) -> usize {
        // A table has at most 2^30 entries: the mask fits in usize.
        usize::try_from(s.first().copied().unwrap_or(0)).unwrap_or(usize::MAX)
    }
}

impl Game for Explicit {
    fn n(&self) -> usize {
        self.n
    }
    fn denominator(&self) -> BigInt {
        self.worths.den().clone()
    }
    fn worth_scaled(&self, s: &[u64]) -> BigInt {
        self.worths.scaled(Self::index(s))
    }
    fn worth_scaled_i64(&self, mask: u64) -> Option<i64> {
        self.worths.scaled_i64(usize::try_from(mask).ok()?)
    }
    fn worth_f64(&self, s: &[u64]) -> f64 {
        self.get_f64(Self::index(s))
    }
    fn walker(&self) -> Box<dyn Walker + '_> {
        Box::new(ExplicitWalker {
            game: self,
            mask: 0,
            last: self.get_f64(0),
        })
    }
    fn marginal_range(&self, _player: usize) -> Option<(f64, f64)> {
        let r = self.max_f64 - self.min_f64;
        Some((-r, r))
    }
    fn as_table_i64(&self) -> Option<&[i64]> {
        self.worths.small()
    }
}

struct ExplicitWalker<'a> {
    game: &'a Explicit,
    mask: usize,
    last: f64,
}

impl Walker for ExplicitWalker<'_> {
    fn reset(&mut self) {
        self.mask = 0;
        self.last = self.game.get_f64(0);
    }
    #[inline]
    fn add(&mut self, player: usize) -> f64 {
        self.mask |= 1 << player;
        let now = self.game.get_f64(self.mask);
        let m = now - self.last;
        self.last = now;
        m
    }
}
