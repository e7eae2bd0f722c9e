//! Monte Carlo estimation: Shapley by random permutations, Owen by permutations that keep
//! each union contiguous, Banzhaf by random coalitions.
//!
//! Reproducibility: the stream is ChaCha8 (`rand_chacha::ChaCha8Rng`), key = the 64-bit
//! seed (little-endian) followed by a 24-byte domain tag naming the estimator, stream id =
//! the block index. Blocks hold a fixed number of permutations; each block's sums are
//! computed independently (on any thread) and merged in block order, so the result is
//! bit-identical for any thread count and machine. Random integers below `m` use Lemire's
//! multiply-shift with rejection on `next_u32`, and shuffles are Fisher-Yates, both written
//! here so they never change with a `rand` release.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use std::collections::HashMap;

use super::bounds::{Stats, betting_interval, binomial_interval, half_width, interval, successes};
use super::error::{Result, ShapleyError};
use super::game::{Game, Walker};

/// Permutations per block (the unit of parallel work and of seeding).
pub const BLOCK: u64 = 64;

/// Blocks computed in parallel before merging (bounds memory to this many block sums).
const BATCH_BLOCKS: u64 = 256;

/// Parameters of a sampled estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingConfig {
    /// Seed of the random stream.
    pub seed: u64,
    /// Number of permutations (coalitions for Banzhaf); with a target, the maximum.
    pub samples: u64,
    /// Stop as soon as every player's half-width is at most this.
    pub target_half_width: Option<f64>,
    /// Confidence of each player's interval, in (0, 1).
    pub confidence: f64,
    /// Antithetic permutations (each with its reverse); `None` = chosen per game class.
    pub antithetic: Option<bool>,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            samples: 10_000,
            target_half_width: None,
            confidence: 0.95,
            antithetic: None,
        }
    }
}

/// A sampled estimate with per-player intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Estimated values.
    pub values: Vec<f64>,
    /// Standard errors of the estimates.
    pub stderr: Vec<f64>,
    /// Intervals holding the true value with probability >= `confidence` each.
    pub ci: Vec<(f64, f64)>,
    /// Permutations (or coalitions) drawn.
    pub samples: u64,
    /// Marginal contributions evaluated.
    pub marginals: u64,
    /// The seed used.
    pub seed: u64,
    /// The confidence of each interval.
    pub confidence: f64,
    /// Whether antithetic pairs were used.
    pub antithetic: bool,
    /// Whether every player's range came from the game (true) or was only observed (false:
    /// the intervals are then not guaranteed).
    pub range_guaranteed: bool,
}

/// Uniform integer in `0..m` (m >= 1): Lemire's nearly divisionless method.
#[inline]
// The method takes the low and the high 32-bit halves of a 64-bit product.
#[allow(clippy::cast_possible_truncation)]
pub fn below<R: Rng + ?Sized>(rng: &mut R, m: u32) -> u32 {
    let mut x = u64::from(rng.next_u32()) * u64::from(m);
    let mut low = x as u32;
    if low < m {
        let t = m.wrapping_neg() % m;
        while low < t {
            x = u64::from(rng.next_u32()) * u64::from(m);
            low = x as u32;
        }
    }
    (x >> 32) as u32
}

/// Fisher-Yates shuffle.
#[inline]
pub fn shuffle<R: Rng + ?Sized, T>(rng: &mut R, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        // Games of more than u32::MAX players are refused before sampling.
        let j = below(rng, u32::try_from(i + 1).unwrap_or(u32::MAX)) as usize;
        v.swap(i, j);
    }
}

/// The generator of block `block` for `seed` and estimator `tag`.
pub fn block_rng(seed: u64, tag: &[u8; 24], block: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..].copy_from_slice(tag);
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(block);
    rng
}

const TAG_SHAPLEY: &[u8; 24] = b"fairshare/shapley/perm\0\0";
const TAG_OWEN: &[u8; 24] = b"fairshare/owen/perm\0\0\0\0\0";
const TAG_BANZHAF: &[u8; 24] = b"fairshare/banzhaf/coal\0\0";

impl SamplingConfig {
    /// Checks the parameters (confidence in (0, 1), at least one sample, a positive finite
    /// target). `solve` checks them whatever method it picks, so a bad request is refused
    /// even when a closed form answers it.
    pub fn validate(&self) -> Result<()> {
        check_parameters(self)
    }
}

fn check(cfg: &SamplingConfig, n: usize) -> Result<()> {
    check_parameters(cfg)?;
    if n == 0 || n > u32::MAX as usize {
        return Err(ShapleyError::InvalidParameter(format!(
            "cannot sample a game of {n} players"
        )));
    }
    Ok(())
}

fn check_parameters(cfg: &SamplingConfig) -> Result<()> {
    if !(cfg.confidence > 0.0 && cfg.confidence < 1.0) {
        return Err(ShapleyError::InvalidParameter(format!(
            "confidence {} must be in (0, 1)",
            cfg.confidence
        )));
    }
    if cfg.samples == 0 {
        return Err(ShapleyError::InvalidParameter(
            "samples must be >= 1".into(),
        ));
    }
    if let Some(t) = cfg.target_half_width
        && !(t > 0.0 && t.is_finite())
    {
        return Err(ShapleyError::InvalidParameter(format!(
            "target error {t} must be positive and finite"
        )));
    }
    Ok(())
}

/// Per-block sums: (sum, sum of squares, min, max) per player, the sample count, and the
/// samples themselves when the betting interval needs them (sample-major: `n` per draw).
struct BlockSums {
    count: u64,
    sum: Vec<f64>,
    sumsq: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    samples: Option<Vec<f64>>,
}

impl BlockSums {
    /// Sums of a block of `rows` draws; the draws themselves too when `keep`.
    fn new(n: usize, rows: u64, keep: bool) -> Self {
        let rows = usize::try_from(rows).unwrap_or(0);
        Self {
            count: 0,
            sum: vec![0.0; n],
            sumsq: vec![0.0; n],
            lo: vec![f64::INFINITY; n],
            hi: vec![f64::NEG_INFINITY; n],
            samples: keep.then(|| vec![0.0; rows * n]),
        }
    }
    #[inline]
    fn push(&mut self, p: usize, x: f64) {
        self.sum[p] += x;
        self.sumsq[p] += x * x;
        self.lo[p] = self.lo[p].min(x);
        self.hi[p] = self.hi[p].max(x);
        if let Some(samples) = &mut self.samples {
            // `count` is the draw being walked, below BLOCK.
            samples[usize::try_from(self.count).unwrap_or(0) * self.sum.len() + p] = x;
        }
    }
}

/// Everything merged so far, in block order.
struct Merged {
    stats: Vec<Stats>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// Each player's samples in draw order, when kept for the betting interval.
    kept: Option<Vec<Vec<f64>>>,
}

impl Merged {
    fn new(n: usize, keep: bool) -> Self {
        Self {
            stats: vec![Stats::default(); n],
            lo: vec![f64::INFINITY; n],
            hi: vec![f64::NEG_INFINITY; n],
            kept: keep.then(|| vec![Vec::new(); n]),
        }
    }

    fn absorb(&mut self, bs: &BlockSums) {
        let n = self.stats.len();
        for p in 0..n {
            self.stats[p].merge(&Stats::from_sums(bs.count, bs.sum[p], bs.sumsq[p]));
            self.lo[p] = self.lo[p].min(bs.lo[p]);
            self.hi[p] = self.hi[p].max(bs.hi[p]);
        }
        if let (Some(kept), Some(samples)) = (&mut self.kept, &bs.samples) {
            for draw in samples.chunks_exact(n.max(1)) {
                for (player, &x) in kept.iter_mut().zip(draw) {
                    player.push(x);
                }
            }
        }
    }

    /// Clopper–Pearson for two-valued samples, once per distinct (count, range): a large
    /// game's players share a few dozen counts.
    fn binomial_intervals(&self, ranges: &[(f64, f64)], d: f64) -> Vec<(f64, f64)> {
        let key = |p: usize| {
            let (a, b) = ranges[p];
            let (hits, t) = successes(&self.stats[p], (a, b));
            [hits, t, a, b].map(f64::to_bits)
        };
        let mut distinct: Vec<[u64; 4]> = (0..self.stats.len()).map(key).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let solved: HashMap<[u64; 4], (f64, f64)> = distinct
            .into_par_iter()
            .map(|k| {
                let [hits, t, a, b] = k.map(f64::from_bits);
                let ci = if b > a && t > 0.0 {
                    binomial_interval((hits, t), (a, b), d)
                } else {
                    (a, b.max(a))
                };
                (k, ci)
            })
            .collect();
        (0..self.stats.len())
            .map(|p| solved.get(&key(p)).copied().unwrap_or(ranges[p]))
            .collect()
    }

    /// Every player's interval at failure probability `d`.
    fn intervals(&self, support: &Support<'_>, d: f64) -> Vec<(f64, f64)> {
        if support.two_valued
            && let Some(ranges) = support.ranges.iter().copied().collect::<Option<Vec<_>>>()
        {
            return self.binomial_intervals(&ranges, d);
        }
        (0..self.stats.len())
            .into_par_iter()
            .map(|p| match (support.ranges[p], &self.kept) {
                (Some(range), Some(kept)) => betting_interval(&kept[p], range, d),
                (Some(range), None) => interval(&self.stats[p], range, support.two_valued, d),
                (None, _) => {
                    // Observed range: no clipping, the interval is not guaranteed anyway.
                    let w = half_width(&self.stats[p], (self.hi[p] - self.lo[p]).max(0.0), d);
                    (self.stats[p].mean - w, self.stats[p].mean + w)
                }
            })
            .collect()
    }
}

/// Largest number of marginals (players × samples) kept for the betting interval: its
/// bisection costs about 80 logarithms per marginal (a tenth of a second per million on one
/// core), beyond which the intervals from sufficient statistics are used.
pub const BETTING_MARGINALS: u64 = 1 << 20;

/// What the intervals may assume about each player's samples.
struct Support<'a> {
    /// The range the game states for each player's samples (`None`: observed only).
    ranges: &'a [Option<(f64, f64)>],
    /// Every sample is one of the two ends of its range.
    two_valued: bool,
}

/// Run `samples` draws in blocks of `BLOCK`, `step` filling one block's sums, and merge
/// with a stopping rule. Every player's samples are kept, in draw order, when all ranges are
/// stated, the samples are not two-valued (Clopper–Pearson needs only counts) and at most
/// [`BETTING_MARGINALS`] marginals will be drawn: their intervals are then betting intervals. Each checkpoint k (1, 2, ...) of a run with a target uses failure
/// probability delta / (k (k+1)), so the final intervals hold under optional stopping.
fn drive<F>(
    n: usize,
    cfg: &SamplingConfig,
    support: &Support<'_>,
    per_sample_marginals: u64,
    antithetic: bool,
    step: F,
) -> Estimate
where
    F: Fn(u64, u64, &mut BlockSums) + Sync,
{
    let delta = 1.0 - cfg.confidence;
    let keep = !support.two_valued
        && support.ranges.iter().all(Option::is_some)
        && (n as u64).saturating_mul(cfg.samples) <= BETTING_MARGINALS;
    let mut merged = Merged::new(n, keep);
    let mut done: u64 = 0;
    let mut checkpoint: u32 = 0;
    let mut next = match cfg.target_half_width {
        Some(_) => cfg.samples.min(16 * BLOCK),
        None => cfg.samples,
    };
    loop {
        checkpoint += 1;
        let first_block = done / BLOCK;
        let last_block = next.div_ceil(BLOCK);
        // Batches of a fixed number of blocks bound the memory; blocks are merged in
        // block order whatever thread computed them.
        let mut batch_start = first_block;
        while batch_start < last_block {
            let batch_end = (batch_start + BATCH_BLOCKS).min(last_block);
            let blocks: Vec<BlockSums> = (batch_start..batch_end)
                .into_par_iter()
                .map(|b| {
                    let start = b * BLOCK;
                    let end = (start + BLOCK).min(next);
                    let mut sums = BlockSums::new(n, end - start, keep);
                    step(b, end - start, &mut sums);
                    sums
                })
                .collect();
            blocks.iter().for_each(|bs| merged.absorb(bs));
            batch_start = batch_end;
        }
        done = next;
        let d = match cfg.target_half_width {
            Some(_) => delta / (f64::from(checkpoint) * f64::from(checkpoint + 1)),
            None => delta,
        };
        let ci = merged.intervals(support, d);
        let stop = match cfg.target_half_width {
            None => true,
            Some(t) => done >= cfg.samples || ci.iter().all(|&(a, b)| (b - a) / 2.0 <= t),
        };
        if stop {
            return Estimate {
                values: merged.stats.iter().map(|s| s.mean).collect(),
                stderr: merged.stats.iter().map(|s| s.stderr()).collect(),
                ci,
                samples: done,
                marginals: done * per_sample_marginals,
                seed: cfg.seed,
                confidence: cfg.confidence,
                antithetic,
                range_guaranteed: support.ranges.iter().all(|r| r.is_some()),
            };
        }
        next = (done * 2).min(cfg.samples);
    }
}

/// Whether antithetic permutations help this game: they are exact for games with at most
/// pairwise interactions and hurt on voting games (measured), so only there by default.
pub fn antithetic_default<G: Game + ?Sized>(game: &G) -> bool {
    game.as_weighted_voting().is_none() && game.interaction_order().is_some_and(|o| o <= 2)
}

/// Shapley values by permutation sampling with an incremental walker.
pub fn shapley_sampled<G: Game + ?Sized>(game: &G, cfg: &SamplingConfig) -> Result<Estimate> {
    let n = game.n();
    check(cfg, n)?;
    let anti = cfg.antithetic.unwrap_or_else(|| antithetic_default(game));
    permutation_sampler(game, cfg, anti, TAG_SHAPLEY, shuffle)
}

/// Owen values by sampling permutations in which each union's members are contiguous:
/// a random order of the unions, and a random order inside each union.
pub fn owen_sampled<G: Game + ?Sized>(
    game: &G,
    unions: &[Vec<usize>],
    cfg: &SamplingConfig,
) -> Result<Estimate> {
    let n = game.n();
    check(cfg, n)?;
    super::owen::check_unions(n, unions)?;
    let anti = cfg.antithetic.unwrap_or(false);
    permutation_sampler(game, cfg, anti, TAG_OWEN, move |rng, perm| {
        let mut order: Vec<usize> = (0..unions.len()).collect();
        shuffle(rng, &mut order);
        let mut k = 0;
        for &u in &order {
            let start = k;
            for &p in &unions[u] {
                perm[k] = p;
                k += 1;
            }
            shuffle(rng, &mut perm[start..k]);
        }
    })
}

fn permutation_sampler<G, P>(
    game: &G,
    cfg: &SamplingConfig,
    anti: bool,
    tag: &'static [u8; 24],
    next_perm: P,
) -> Result<Estimate>
where
    G: Game + ?Sized,
    P: Fn(&mut ChaCha8Rng, &mut [usize]) + Sync,
{
    let n = game.n();
    let ranges: Vec<Option<(f64, f64)>> = (0..n).map(|p| game.marginal_range(p)).collect();
    let seed = cfg.seed;
    let step = |block: u64, count: u64, sums: &mut BlockSums| {
        let mut rng = block_rng(seed, tag, block);
        let mut walker: Box<dyn Walker + '_> = game.walker();
        let mut perm: Vec<usize> = (0..n).collect();
        let mut fwd = vec![0.0f64; n];
        for _ in 0..count {
            next_perm(&mut rng, &mut perm);
            walker.reset();
            if anti {
                for &p in &perm {
                    fwd[p] = walker.add(p);
                }
                walker.reset();
                for &p in perm.iter().rev() {
                    let x = 0.5 * (fwd[p] + walker.add(p));
                    sums.push(p, x);
                }
            } else {
                for &p in &perm {
                    let x = walker.add(p);
                    sums.push(p, x);
                }
            }
            sums.count += 1;
        }
    };
    let per = if anti { 2 * n as u64 } else { n as u64 };
    let support = Support {
        ranges: &ranges,
        two_valued: game.two_valued_marginals() && !anti,
    };
    Ok(drive(n, cfg, &support, per, anti, step))
}

/// Banzhaf values by sampling coalitions uniformly (each player present with probability
/// 1/2) and evaluating every player's marginal v(S + i) - v(S - i) on each: n + 1
/// evaluations of v per coalition.
pub fn banzhaf_sampled<G: Game + ?Sized>(game: &G, cfg: &SamplingConfig) -> Result<Estimate> {
    let n = game.n();
    check(cfg, n)?;
    let ranges: Vec<Option<(f64, f64)>> = (0..n).map(|p| game.marginal_range(p)).collect();
    let seed = cfg.seed;
    let step = |block: u64, count: u64, sums: &mut BlockSums| {
        let mut rng = block_rng(seed, TAG_BANZHAF, block);
        let mut set = vec![0u64; n.div_ceil(64)];
        for _ in 0..count {
            for w in set.iter_mut() {
                *w = rng.next_u64();
            }
            if !n.is_multiple_of(64)
                && let Some(last) = set.last_mut()
            {
                *last &= (1u64 << (n % 64)) - 1;
            }
            let base = game.worth_f64(&set);
            for p in 0..n {
                let bit = 1u64 << (p % 64);
                let present = set[p / 64] & bit != 0;
                set[p / 64] ^= bit;
                let other = game.worth_f64(&set);
                set[p / 64] ^= bit;
                sums.push(p, if present { base - other } else { other - base });
            }
            sums.count += 1;
        }
    };
    let support = Support {
        ranges: &ranges,
        two_valued: game.two_valued_marginals(),
    };
    Ok(drive(n, cfg, &support, n as u64, false, step))
}
