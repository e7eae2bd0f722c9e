//! The `Game` abstraction: players and a characteristic function v(S).
//!
//! Coalitions are bitsets: `&[u64]` words, bit `i % 64` of word `i / 64` is player `i`.
//! Worths are exact: a game states a common denominator `D` and gives `D·v(S)` as an
//! integer; sampling uses the `f64` view. Games that policies build implement this trait.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, ToPrimitive};

use super::mcnets::McNets;
use super::voting::WeightedVoting;

/// Number of `u64` words of a bitset over `n` players.
pub fn words(n: usize) -> usize {
    n.div_ceil(64)
}

/// Bitset words of a coalition whose members are listed.
pub fn bitset(n: usize, members: &[usize]) -> Vec<u64> {
    let mut s = vec![0u64; words(n)];
    for &m in members {
        s[m / 64] |= 1 << (m % 64);
    }
    s
}

/// Whether player `i` is in the coalition.
#[inline]
pub fn contains(s: &[u64], i: usize) -> bool {
    s.get(i / 64).is_some_and(|w| (w >> (i % 64)) & 1 == 1)
}

/// A cooperative game with transferable utility.
pub trait Game: Send + Sync {
    /// Number of players (players are `0..n`).
    fn n(&self) -> usize;

    /// A common denominator `D >= 1`: every `D·v(S)` is an integer.
    fn denominator(&self) -> BigInt {
        BigInt::one()
    }

    /// `D·v(S)` exactly.
    fn worth_scaled(&self, s: &[u64]) -> BigInt;

    /// `D·v(S)` for a coalition given as a single word (`n <= 64`), if it fits in `i64`.
    /// The fast path of exact enumeration; `None` sends it to big-integer arithmetic.
    fn worth_scaled_i64(&self, mask: u64) -> Option<i64> {
        self.worth_scaled(&[mask]).to_i64()
    }

    /// v(S) exactly.
    fn worth(&self, s: &[u64]) -> BigRational {
        BigRational::new(self.worth_scaled(s), self.denominator())
    }

    /// v(S) as a float, for sampling.
    fn worth_f64(&self, s: &[u64]) -> f64;

    /// An incremental evaluator: adds players one at a time and returns each marginal
    /// contribution. The default re-evaluates `worth_f64` on a growing bitset (O(cost of v));
    /// games override it to make each step O(1) or O(rules touching the player).
    fn walker(&self) -> Box<dyn Walker + '_> {
        Box::new(GenericWalker::new(self))
    }

    /// Bounds `[lo, hi]` on every marginal contribution `v(S+i) - v(S)` of player `i`.
    /// Used by the confidence intervals of sampling; `None` when unknown.
    fn marginal_range(&self, _player: usize) -> Option<(f64, f64)> {
        None
    }

    /// Whether every marginal contribution of every player is one of the two ends of its
    /// `marginal_range` (simple games: 0 or 1). Sampled intervals then use the exact
    /// binomial tail instead of a bound for any distribution on the range.
    fn two_valued_marginals(&self) -> bool {
        false
    }

    /// The largest number of players that interact in one term of the game, when known
    /// (1 = additive, 2 = pairwise). Sampling uses antithetic permutations when it is <= 2,
    /// where they are exact.
    fn interaction_order(&self) -> Option<usize> {
        None
    }

    /// The game as MC-nets rules, when it has that form (enables the linear closed form).
    fn as_mc_nets(&self) -> Option<std::borrow::Cow<'_, McNets>> {
        None
    }

    /// The game as a weighted voting game (enables the dynamic-programming closed form).
    fn as_weighted_voting(&self) -> Option<&WeightedVoting> {
        None
    }

    /// The explicit table of scaled worths, when the game is one (fast enumeration path).
    fn as_table_i64(&self) -> Option<&[i64]> {
        None
    }
}

/// Incremental evaluation along a permutation.
pub trait Walker {
    /// Back to the empty coalition.
    fn reset(&mut self);
    /// Add `player` (not yet present) and return its marginal contribution.
    fn add(&mut self, player: usize) -> f64;
}

/// Default walker: keeps the coalition and the last worth.
pub struct GenericWalker<'a, G: Game + ?Sized> {
    game: &'a G,
    set: Vec<u64>,
    last: f64,
    empty: f64,
}

impl<'a, G: Game + ?Sized> GenericWalker<'a, G> {
    /// A walker at the empty coalition.
    pub fn new(game: &'a G) -> Self {
        let set = vec![0; words(game.n())];
        let empty = game.worth_f64(&set);
        Self {
            game,
            set,
            last: empty,
            empty,
        }
    }
}

impl<G: Game + ?Sized> Walker for GenericWalker<'_, G> {
    fn reset(&mut self) {
        self.set.iter_mut().for_each(|w| *w = 0);
        self.last = self.empty;
    }
    fn add(&mut self, player: usize) -> f64 {
        self.set[player / 64] |= 1 << (player % 64);
        let now = self.game.worth_f64(&self.set);
        let m = now - self.last;
        self.last = now;
        m
    }
}

impl<G: Game + ?Sized> Game for &G {
    fn n(&self) -> usize {
        (**self).n()
    }
    fn denominator(&self) -> BigInt {
        (**self).denominator()
    }
    fn worth_scaled(&self, s: &[u64]) -> BigInt {
        (**self).worth_scaled(s)
    }
    fn worth_scaled_i64(&self, mask: u64) -> Option<i64> {
        (**self).worth_scaled_i64(mask)
    }
    fn worth_f64(&self, s: &[u64]) -> f64 {
        (**self).worth_f64(s)
    }
    fn walker(&self) -> Box<dyn Walker + '_> {
        (**self).walker()
    }
    fn marginal_range(&self, p: usize) -> Option<(f64, f64)> {
        (**self).marginal_range(p)
    }
    fn two_valued_marginals(&self) -> bool {
        (**self).two_valued_marginals()
    }
    fn interaction_order(&self) -> Option<usize> {
        (**self).interaction_order()
    }
    fn as_mc_nets(&self) -> Option<std::borrow::Cow<'_, McNets>> {
        (**self).as_mc_nets()
    }
    fn as_weighted_voting(&self) -> Option<&WeightedVoting> {
        (**self).as_weighted_voting()
    }
    fn as_table_i64(&self) -> Option<&[i64]> {
        (**self).as_table_i64()
    }
}
