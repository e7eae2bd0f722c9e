//! Composed games: sums (additivity) and restriction to a subset of players.

use std::borrow::Cow;

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::One;

use super::error::{Result, ShapleyError};
use super::game::{Game, Walker, contains, words};
use super::mcnets::{McNets, Rule};

/// The sum of games over the same players: v(S) = sum of v_k(S).
pub struct SumGame {
    n: usize,
    parts: Vec<Box<dyn Game>>,
    den: BigInt,
}

impl SumGame {
    /// Sum of `parts`; all must have the same number of players.
    pub fn new(parts: Vec<Box<dyn Game>>) -> Result<Self> {
        let n = parts
            .first()
            .map(|g| g.n())
            .ok_or_else(|| ShapleyError::InvalidGame("sum: no games".into()))?;
        for (k, g) in parts.iter().enumerate() {
            if g.n() != n {
                return Err(ShapleyError::InvalidGame(format!(
                    "sum: parts[{k}] has {} players, parts[0] has {n}",
                    g.n()
                )));
            }
        }
        let den = parts
            .iter()
            .fold(BigInt::one(), |acc, g| acc.lcm(&g.denominator()));
        Ok(Self { n, parts, den })
    }
}

impl Game for SumGame {
    fn n(&self) -> usize {
        self.n
    }
    fn denominator(&self) -> BigInt {
        self.den.clone()
    }
    fn worth_scaled(&self, s: &[u64]) -> BigInt {
        self.parts
            .iter()
            .map(|g| g.worth_scaled(s) * (&self.den / g.denominator()))
            .sum()
    }
    fn worth_f64(&self, s: &[u64]) -> f64 {
        self.parts.iter().map(|g| g.worth_f64(s)).sum()
    }
    fn walker(&self) -> Box<dyn Walker + '_> {
        Box::new(SumWalker {
            parts: self.parts.iter().map(|g| g.walker()).collect(),
        })
    }
    fn marginal_range(&self, player: usize) -> Option<(f64, f64)> {
        self.parts.iter().try_fold((0.0, 0.0), |(lo, hi), g| {
            g.marginal_range(player).map(|(a, b)| (lo + a, hi + b))
        })
    }
    fn interaction_order(&self) -> Option<usize> {
        self.parts
            .iter()
            .map(|g| g.interaction_order())
            .try_fold(0, |acc, o| o.map(|o| acc.max(o)))
    }
    fn as_mc_nets(&self) -> Option<Cow<'_, McNets>> {
        let mut rules: Vec<Rule> = Vec::new();
        for g in &self.parts {
            rules.extend(g.as_mc_nets()?.rules());
        }
        McNets::new(self.n, rules).ok().map(Cow::Owned)
    }
}

struct SumWalker<'a> {
    parts: Vec<Box<dyn Walker + 'a>>,
}

impl Walker for SumWalker<'_> {
    fn reset(&mut self) {
        self.parts.iter_mut().for_each(|w| w.reset());
    }
    fn add(&mut self, player: usize) -> f64 {
        self.parts.iter_mut().map(|w| w.add(player)).sum()
    }
}

/// The restriction of a game to a subset T of its players: a game over T (player k of the
/// restriction is `players[k]` of the original), v_T(S) = v(S).
pub struct Restriction<G: Game> {
    game: G,
    players: Vec<usize>,
}

impl<G: Game> Restriction<G> {
    /// Restrict `game` to `players` (distinct indices of the original game).
    pub fn new(game: G, players: Vec<usize>) -> Result<Self> {
        let n = game.n();
        let mut seen = vec![false; n];
        for (k, &p) in players.iter().enumerate() {
            if p >= n {
                return Err(ShapleyError::InvalidGame(format!(
                    "restriction: players[{k}] = {p} out of range (n = {n})"
                )));
            }
            if std::mem::replace(&mut seen[p], true) {
                return Err(ShapleyError::InvalidGame(format!(
                    "restriction: players[{k}] = {p} repeated"
                )));
            }
        }
        if players.is_empty() {
            return Err(ShapleyError::InvalidGame("restriction: no players".into()));
        }
        Ok(Self { game, players })
    }

    fn lift(&self, s: &[u64]) -> Vec<u64> {
        let mut out = vec![0u64; words(self.game.n())];
        for (k, &p) in self.players.iter().enumerate() {
            if contains(s, k) {
                out[p / 64] |= 1 << (p % 64);
            }
        }
        out
    }
}

impl<G: Game> Game for Restriction<G> {
    fn n(&self) -> usize {
        self.players.len()
    }
    fn denominator(&self) -> BigInt {
        self.game.denominator()
    }
    fn worth_scaled(&self, s: &[u64]) -> BigInt {
        self.game.worth_scaled(&self.lift(s))
    }
    fn worth_f64(&self, s: &[u64]) -> f64 {
        self.game.worth_f64(&self.lift(s))
    }
    fn walker(&self) -> Box<dyn Walker + '_> {
        Box::new(RestrictionWalker {
            inner: self.game.walker(),
            players: &self.players,
        })
    }
    fn marginal_range(&self, player: usize) -> Option<(f64, f64)> {
        self.game.marginal_range(self.players[player])
    }
    fn two_valued_marginals(&self) -> bool {
        self.game.two_valued_marginals()
    }
    fn interaction_order(&self) -> Option<usize> {
        self.game.interaction_order()
    }
    fn as_mc_nets(&self) -> Option<Cow<'_, McNets>> {
        let inner = self.game.as_mc_nets()?;
        let mut pos = vec![usize::MAX; self.game.n()];
        for (k, &p) in self.players.iter().enumerate() {
            pos[p] = k;
        }
        // Players outside T are always absent: a rule needing one never fires, and a
        // `none` condition on one always holds.
        let rules = inner
            .rules()
            .into_iter()
            .filter(|r| r.all.iter().all(|&p| pos[p] != usize::MAX))
            .map(|r| Rule {
                all: r.all.iter().map(|&p| pos[p]).collect(),
                none: r
                    .none
                    .iter()
                    .filter(|&&p| pos[p] != usize::MAX)
                    .map(|&p| pos[p])
                    .collect(),
                value: r.value,
            })
            .collect();
        McNets::new(self.players.len(), rules).ok().map(Cow::Owned)
    }
}

struct RestrictionWalker<'a> {
    inner: Box<dyn Walker + 'a>,
    players: &'a [usize],
}

impl Walker for RestrictionWalker<'_> {
    fn reset(&mut self) {
        self.inner.reset();
    }
    fn add(&mut self, player: usize) -> f64 {
        self.inner.add(self.players[player])
    }
}
