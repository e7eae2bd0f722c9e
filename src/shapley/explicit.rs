//! Explicit table of 2^n worths.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::ToPrimitive;

use super::error::{Result, ShapleyError};
use super::game::{Game, Walker};
use super::rational::lcm_all;

/// Largest number of players of an explicit table (the table has 2^n entries).
pub const MAX_EXPLICIT_PLAYERS: usize = 30;

#[derive(Debug, Clone)]
enum Table {
    Small(Vec<i64>),
    Big(Vec<BigInt>),
}

/// A game given by the worth of every coalition: `values[k]` is the worth of the coalition
/// whose members are the set bits of `k`. Stored as integers over one common denominator.
#[derive(Debug, Clone)]
pub struct Explicit {
    n: usize,
    den: BigInt,
    den_f64: f64,
    table: Table,
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
        let n = player_count(values.len())?;
        let den = lcm_all(values.iter().map(|v| v.denom()));
        let scaled: Vec<BigInt> = values
            .iter()
            .map(|v| v.numer() * (&den / v.denom()))
            .collect();
        Ok(Self::from_scaled_big(n, den, scaled))
    }

    /// Build from integer worths (denominator 1); `values.len()` must be `2^n`.
    pub fn from_integers(values: Vec<i64>) -> Result<Self> {
        let n = player_count(values.len())?;
        let (mn, mx) = min_max(values.iter().map(|&v| v as f64));
        Ok(Self {
            n,
            den: BigInt::from(1),
            den_f64: 1.0,
            table: Table::Small(values),
            min_f64: mn,
            max_f64: mx,
        })
    }

    fn from_scaled_big(n: usize, den: BigInt, scaled: Vec<BigInt>) -> Self {
        let den_f64 = den.to_f64().unwrap_or(f64::INFINITY);
        let small: Option<Vec<i64>> = scaled.iter().map(|v| v.to_i64()).collect();
        let table = match small {
            Some(v) => Table::Small(v),
            None => Table::Big(scaled),
        };
        let mut g = Self {
            n,
            den,
            den_f64,
            table,
            min_f64: 0.0,
            max_f64: 0.0,
        };
        let (mn, mx) = min_max((0..1u64 << n).map(|m| g.get_f64(m as usize)));
        g.min_f64 = mn;
        g.max_f64 = mx;
        g
    }

    /// The common denominator the table is stored over (lcm of the worths' denominators).
    pub fn denominator_ref(&self) -> &BigInt {
        &self.den
    }

    #[inline]
    fn get_f64(&self, k: usize) -> f64 {
        match &self.table {
            Table::Small(v) => v[k] as f64 / self.den_f64,
            Table::Big(v) => BigRational::new(v[k].clone(), self.den.clone())
                .to_f64()
                .unwrap_or(f64::NAN),
        }
    }
}

fn min_max(it: impl Iterator<Item = f64>) -> (f64, f64) {
    it.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    })
}

impl Game for Explicit {
    fn n(&self) -> usize {
        self.n
    }
    fn denominator(&self) -> BigInt {
        self.den.clone()
    }
    fn worth_scaled(&self, s: &[u64]) -> BigInt {
        let k = s.first().copied().unwrap_or(0) as usize;
        match &self.table {
            Table::Small(v) => BigInt::from(v[k]),
            Table::Big(v) => v[k].clone(),
        }
    }
    fn worth_scaled_i64(&self, mask: u64) -> Option<i64> {
        match &self.table {
            Table::Small(v) => Some(v[mask as usize]),
            Table::Big(v) => v[mask as usize].to_i64(),
        }
    }
    fn worth_f64(&self, s: &[u64]) -> f64 {
        self.get_f64(s.first().copied().unwrap_or(0) as usize)
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
        match &self.table {
            Table::Small(v) => Some(v),
            Table::Big(_) => None,
        }
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
