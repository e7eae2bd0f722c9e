//! Marginal-contribution nets (Ieong and Shoham, "Marginal contribution nets: a compact
//! representation scheme for coalitional games", EC 2005): v(S) is the sum of the values of
//! the rules whose `all` players are all in S and whose `none` players are all outside S.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, ToPrimitive, Zero};

use super::error::{Result, ShapleyError};
use super::game::{Game, Walker, contains};
use super::rational::{binomial, ratio};
use super::scaled::{Scaled, Worths};

/// One rule: worth `value` when every `all` player is present and every `none` player absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Players that must all be present.
    pub all: Vec<usize>,
    /// Players that must all be absent.
    pub none: Vec<usize>,
    /// The worth the rule adds.
    pub value: BigRational,
}

/// The players a rule names: all present (`all`) and all absent (`none`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shape {
    /// Players that must all be present (sorted, distinct).
    pub all: Vec<usize>,
    /// Players that must all be absent (sorted, distinct).
    pub none: Vec<usize>,
}

/// A game given by MC-nets rules: the players of each rule, and the rule values as integers
/// over one common denominator.
#[derive(Debug)]
pub struct McNets {
    n: usize,
    shapes: Vec<Shape>,
    worths: Worths,
    index: OnceLock<Index>,
}

impl Clone for McNets {
    fn clone(&self) -> Self {
        Self {
            n: self.n,
            shapes: self.shapes.clone(),
            worths: self.worths.clone(),
            index: OnceLock::new(),
        }
    }
}

/// Per-player incidence lists (CSR) and the float values, for the incremental walker.
#[derive(Debug)]
struct Index {
    start: Vec<usize>,
    /// (rule, positive?) for each incidence.
    entries: Vec<(u32, bool)>,
    need: Vec<u32>,
    value: Vec<f64>,
    range: Vec<(f64, f64)>,
}

impl McNets {
    /// Rules over players `0..n`. Duplicate players within a list are merged; a rule that
    /// names one player in both lists can never fire and is kept but contributes nothing.
    pub fn new(n: usize, rules: Vec<Rule>) -> Result<Self> {
        let (shapes, values): (Vec<Shape>, Vec<BigRational>) = rules
            .into_iter()
            .map(|r| {
                let shape = Shape {
                    all: r.all,
                    none: r.none,
                };
                (shape, r.value)
            })
            .unzip();
        Self::from_parts(n, shapes, Worths::from_ratios(&values))
    }

    /// Rules given as their players and their values over one common denominator (as a
    /// game file or a policy reads them, without a big rational per rule): the same game as
    /// [`McNets::new`] of the same rules.
    pub fn from_scaled(n: usize, shapes: Vec<Shape>, values: Scaled) -> Result<Self> {
        Self::from_parts(n, shapes, Worths::from_scaled(values))
    }

    fn from_parts(n: usize, mut shapes: Vec<Shape>, worths: Worths) -> Result<Self> {
        if n == 0 {
            return Err(ShapleyError::InvalidGame("players: none".into()));
        }
        if u32::try_from(shapes.len()).is_err() {
            return Err(ShapleyError::InvalidGame(format!(
                "rules: {} rules is too many (at most {})",
                shapes.len(),
                u32::MAX
            )));
        }
        if shapes.len() != worths.len() {
            return Err(ShapleyError::InvalidGame(format!(
                "rules: {} rules but {} values",
                shapes.len(),
                worths.len()
            )));
        }
        for (r, shape) in shapes.iter_mut().enumerate() {
            for (field, list) in [("all", &mut shape.all), ("none", &mut shape.none)] {
                if let Some((k, &p)) = list.iter().enumerate().find(|(_, p)| **p >= n) {
                    return Err(ShapleyError::InvalidGame(format!(
                        "rules[{r}].{field}[{k}]: player index {p} out of range (n = {n})"
                    )));
                }
                list.sort_unstable();
                list.dedup();
            }
        }
        Ok(Self {
            n,
            shapes,
            worths,
            index: OnceLock::new(),
        })
    }

    /// The additive game v(S) = sum of `values[i]` over i in S (one rule per player).
    pub fn additive(values: Vec<BigRational>) -> Result<Self> {
        let n = values.len();
        let rules = values
            .into_iter()
            .enumerate()
            .map(|(i, value)| Rule {
                all: vec![i],
                none: vec![],
                value,
            })
            .collect();
        Self::new(n, rules)
    }

    /// The unanimity game: `value` when every player of `members` is present.
    pub fn unanimity(n: usize, members: Vec<usize>, value: BigRational) -> Result<Self> {
        Self::new(
            n,
            vec![Rule {
                all: members,
                none: vec![],
                value,
            }],
        )
    }

    /// The rules, each with its exact value.
    pub fn rules(&self) -> Vec<Rule> {
        self.shapes
            .iter()
            .enumerate()
            .map(|(k, shape)| Rule {
                all: shape.all.clone(),
                none: shape.none.clone(),
                value: self.worths.ratio(k),
            })
            .collect()
    }

    fn fires(rule: &Shape, s: &[u64]) -> bool {
        rule.all.iter().all(|&p| contains(s, p)) && !rule.none.iter().any(|&p| contains(s, p))
    }

    fn live(rule: &Shape) -> bool {
        // A rule naming a player in both lists never fires (both lists are sorted).
        let (mut i, mut j) = (0, 0);
        while i < rule.all.len() && j < rule.none.len() {
            match rule.all[i].cmp(&rule.none[j]) {
                std::cmp::Ordering::Equal => return false,
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
            }
        }
        true
    }

    /// Exact Shapley values in time linear in the total size of the rules.
    ///
    /// A rule with p `all` players, m `none` players and value v gives each `all` player
    /// v (p-1)! m! / (p+m)! and each `none` player -v p! (m-1)! / (p+m)! (the probability
    /// that the player completes, respectively breaks, the rule in a random order).
    /// Integers over one common denominator (i128, checked); big rationals on overflow.
    pub fn shapley_closed_form(&self) -> Vec<BigRational> {
        match self.closed_form_i128() {
            Some(v) => v,
            None => self.closed_form_big(),
        }
    }

    /// Denominator of the coefficient of a rule (p, m) for the positive and negative side:
    /// p * C(p+m, p) and m * C(p+m, m).
    fn coef_dens(p: usize, m: usize) -> (BigInt, BigInt) {
        let c = binomial(p + m, p);
        (&c * BigInt::from(p), c * BigInt::from(m))
    }

    fn closed_form_i128(&self) -> Option<Vec<BigRational>> {
        let mut dens: HashMap<(usize, usize), (BigInt, BigInt)> = HashMap::new();
        for r in self.shapes.iter().filter(|r| Self::live(r)) {
            dens.entry((r.all.len(), r.none.len()))
                .or_insert_with(|| Self::coef_dens(r.all.len(), r.none.len()));
        }
        let l = dens.values().fold(BigInt::one(), |acc, (a, b)| {
            let acc = if a.is_zero() { acc } else { acc.lcm(a) };
            if b.is_zero() { acc } else { acc.lcm(b) }
        });
        let l_i = l.to_i128()?;
        let mult: HashMap<(usize, usize), (i128, i128)> = dens
            .iter()
            .map(|(&k, (a, b))| {
                let fa = if a.is_zero() {
                    0
                } else {
                    l_i / a.to_i128().unwrap_or(1)
                };
                let fb = if b.is_zero() {
                    0
                } else {
                    l_i / b.to_i128().unwrap_or(1)
                };
                (k, (fa, fb))
            })
            .collect();
        let scaled = self.worths.small()?;
        let mut acc = vec![0i128; self.n];
        for (r, &a) in self.shapes.iter().zip(scaled) {
            if !Self::live(r) {
                continue;
            }
            let a = i128::from(a);
            let (fa, fb) = mult[&(r.all.len(), r.none.len())];
            if !r.all.is_empty() {
                let c = a.checked_mul(fa)?;
                for &p in &r.all {
                    acc[p] = acc[p].checked_add(c)?;
                }
            }
            if !r.none.is_empty() {
                let c = a.checked_mul(fb)?;
                for &p in &r.none {
                    acc[p] = acc[p].checked_sub(c)?;
                }
            }
        }
        let total_den = l * self.worths.den();
        Some(
            acc.into_iter()
                .map(|a| ratio(BigInt::from(a), total_den.clone()))
                .collect(),
        )
    }

    fn closed_form_big(&self) -> Vec<BigRational> {
        let mut acc = vec![BigRational::zero(); self.n];
        for (k, r) in self.shapes.iter().enumerate() {
            if !Self::live(r) {
                continue;
            }
            let value = self.worths.ratio(k);
            let (a, b) = Self::coef_dens(r.all.len(), r.none.len());
            if !r.all.is_empty() {
                let c = &value / BigRational::from_integer(a);
                for &p in &r.all {
                    acc[p] += &c;
                }
            }
            if !r.none.is_empty() {
                let c = &value / BigRational::from_integer(b);
                for &p in &r.none {
                    acc[p] -= &c;
                }
            }
        }
        acc
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut count = vec![0usize; self.n + 1];
            for r in self.shapes.iter().filter(|r| Self::live(r)) {
                for &p in r.all.iter().chain(&r.none) {
                    count[p + 1] += 1;
                }
            }
            for i in 0..self.n {
                count[i + 1] += count[i];
            }
            let start = count.clone();
            let mut fill = count;
            let mut entries = vec![(0u32, false); start[self.n]];
            let mut need = Vec::with_capacity(self.shapes.len());
            let mut value = Vec::with_capacity(self.shapes.len());
            let mut range = vec![(0.0f64, 0.0f64); self.n];
            for (k, r) in self.shapes.iter().enumerate() {
                let v = self.worths.to_f64(k);
                let live = Self::live(r);
                // `from_parts` keeps rule counts and sizes below u32::MAX.
                let size = u32::try_from(r.all.len()).unwrap_or(u32::MAX);
                need.push(if live { size } else { u32::MAX });
                value.push(v);
                if !live {
                    continue;
                }
                for (list, pos) in [(&r.all, true), (&r.none, false)] {
                    let c = if pos { v } else { -v };
                    for &p in list {
                        entries[fill[p]] = (u32::try_from(k).unwrap_or(u32::MAX), pos);
                        fill[p] += 1;
                        if c < 0.0 {
                            range[p].0 += c;
                        } else {
                            range[p].1 += c;
                        }
                    }
                }
            }
            Index {
                start,
                entries,
                need,
                value,
                range,
            }
        })
    }
}

impl Game for McNets {
    fn n(&self) -> usize {
        self.n
    }
    fn denominator(&self) -> BigInt {
        self.worths.den().clone()
    }
    fn worth_scaled(&self, s: &[u64]) -> BigInt {
        self.shapes
            .iter()
            .enumerate()
            .filter(|(_, r)| Self::fires(r, s))
            .map(|(k, _)| self.worths.scaled(k))
            .sum()
    }
    fn worth_f64(&self, s: &[u64]) -> f64 {
        let idx = self.index();
        self.shapes
            .iter()
            .enumerate()
            .filter(|(_, r)| Self::fires(r, s))
            .map(|(k, _)| idx.value[k])
            .sum()
    }
    fn walker(&self) -> Box<dyn Walker + '_> {
        let idx = self.index();
        let mut w = McWalker {
            idx,
            need: idx.need.clone(),
            blocked: vec![0; idx.need.len()],
        };
        w.reset();
        Box::new(w)
    }
    fn marginal_range(&self, player: usize) -> Option<(f64, f64)> {
        self.index().range.get(player).copied()
    }
    fn interaction_order(&self) -> Option<usize> {
        self.shapes
            .iter()
            .map(|r| r.all.len() + r.none.len())
            .max()
            .or(Some(0))
    }
    fn as_mc_nets(&self) -> Option<Cow<'_, McNets>> {
        Some(Cow::Borrowed(self))
    }
}

struct McWalker<'a> {
    idx: &'a Index,
    need: Vec<u32>,
    blocked: Vec<u32>,
}

impl Walker for McWalker<'_> {
    fn reset(&mut self) {
        self.need.copy_from_slice(&self.idx.need);
        self.blocked.iter_mut().for_each(|b| *b = 0);
    }
    #[inline]
    fn add(&mut self, player: usize) -> f64 {
        let idx = self.idx;
        let mut m = 0.0;
        for &(r, pos) in &idx.entries[idx.start[player]..idx.start[player + 1]] {
            let r = r as usize;
            if pos {
                self.need[r] -= 1;
                if self.need[r] == 0 && self.blocked[r] == 0 {
                    m += idx.value[r];
                }
            } else {
                if self.need[r] == 0 && self.blocked[r] == 0 {
                    m -= idx.value[r];
                }
                self.blocked[r] += 1;
            }
        }
        m
    }
}
