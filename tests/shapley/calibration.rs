//! Calibration of the sampled intervals against exact values: coverage at the stated
//! confidence on games of three kinds (weighted voting, airport, MC-nets with negative rules),
//! over many seeds and several sample sizes including very small ones, and the width of the
//! intervals against the estimates' actual error. `benches/shapley_calibration.rs` runs the
//! same cells with more seeds and sizes.
//!
//! Why the tolerance. A cell (game, sample size) runs R seeds; the observed coverage is the
//! mean over runs of the fraction of players whose interval holds the exact value. Each run
//! is independent of the others; within a run the players are not, but the fraction of a run
//! is an average of indicators each of variance p(1 - p), so its variance is at most
//! p(1 - p) (the variance of an average is at most the largest variance), which is at most
//! 0.95 × 0.05 when the true coverage p is at least 0.95. The cell's mean therefore has a
//! standard deviation of at most sqrt(0.0475 / R), and the test allows three of them below
//! the stated confidence: a method whose intervals are valid fails a cell with probability
//! about 0.13% under the normal approximation, while a method that really covers 90% at a
//! stated 95% fails with R = 200 (three deviations are 4.6 points).

use fairshare::shapley::rational::to_f64;
use fairshare::shapley::sampling::shapley_sampled;
use fairshare::shapley::{Game, McNets, Ratio, Rule, SamplingConfig, WeightedVoting};
use rayon::prelude::*;

fn ok<T, E: std::fmt::Display>(x: Result<T, E>) -> T {
    match x {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// A game with its exact Shapley values.
pub struct Reference {
    /// Short name for messages.
    pub name: &'static str,
    /// The game.
    pub game: Box<dyn Game>,
    /// Exact values, as floats.
    pub exact: Vec<f64>,
}

/// UN Security Council [39; 7 x 5, 1 x 10]: exact by the voting dynamic program.
pub fn unsc() -> Reference {
    let mut w = vec![7u64; 5];
    w.extend([1u64; 10]);
    voting("voting UNSC", w, 39)
}

/// The 100-player voting game of the benchmarks: w_i = 1 + (37 i + 11) mod 10, quota half
/// the total plus one.
pub fn voting_100() -> Reference {
    let w: Vec<u64> = (0..100u64).map(|i| 1 + (37 * i + 11) % 10).collect();
    let q = w.iter().sum::<u64>() / 2 + 1;
    voting("voting n=100", w, q)
}

fn voting(name: &'static str, weights: Vec<u64>, quota: u64) -> Reference {
    let g = ok(WeightedVoting::new(weights, quota));
    let exact = g.shapley_dp().iter().map(to_f64).collect();
    Reference {
        name,
        game: Box::new(g),
        exact,
    }
}

/// The airport game (Littlechild and Owen 1973) with costs `c_1 <= ... <= c_n`:
/// v(S) = max of the costs in S, written as MC-nets (v(S) = sum over k of
/// (c_k - c_{k-1}) [S meets {k..n}], each term a constant rule and a `none` rule). Exact
/// reference: Littlechild and Owen's formula phi_i = sum_{k <= i} (c_k - c_{k-1}) / (n - k + 1),
/// computed here independently of the engine.
pub fn airport() -> Reference {
    let costs = [1i64, 2, 2, 3, 5, 8, 8, 13, 21, 21];
    let n = costs.len();
    let mut rules = Vec::new();
    let mut exact = vec![0.0; n];
    let mut previous = 0;
    for (k, &c) in costs.iter().enumerate() {
        let step = c - previous;
        previous = c;
        rules.push(Rule {
            all: vec![],
            none: vec![],
            value: Ratio::from_integer(step.into()),
        });
        rules.push(Rule {
            all: vec![],
            none: (k..n).collect(),
            value: Ratio::from_integer((-step).into()),
        });
        for phi in &mut exact[k..] {
            *phi += step as f64 / (n - k) as f64;
        }
    }
    Reference {
        name: "airport",
        game: Box::new(ok(McNets::new(n, rules))),
        exact,
    }
}

/// MC-nets with positive and negative rules, fractions and `none` conditions.
pub fn mixed_mc_nets() -> Reference {
    let r = |p: i64, q: i64| Ratio::new(p.into(), q.into());
    let rule = |all: &[usize], none: &[usize], value| Rule {
        all: all.to_vec(),
        none: none.to_vec(),
        value,
    };
    let g = ok(McNets::new(
        7,
        vec![
            rule(&[0, 1], &[], r(5, 1)),
            rule(&[2], &[3], r(3, 2)),
            rule(&[1, 4, 5], &[0], r(-2, 1)),
            rule(&[3], &[], r(1, 1)),
            rule(&[5, 6], &[2], r(7, 3)),
            rule(&[6], &[], r(-1, 2)),
        ],
    ));
    let exact = g.shapley_closed_form().iter().map(to_f64).collect();
    Reference {
        name: "mc-nets",
        game: Box::new(g),
        exact,
    }
}

/// One cell: a game sampled at one size over many seeds.
#[derive(Debug, Clone, Copy)]
pub struct Cell {
    /// Runs (seeds).
    pub runs: usize,
    /// Fraction of (run, player) intervals that hold the exact value.
    pub coverage: f64,
    /// Mean over runs and players of the interval's half-width, (hi - lo) / 2.
    pub mean_half_width: f64,
    /// Root mean square error of the estimates over runs and players.
    pub rmse: f64,
}

/// Samples `reference` with `samples` permutations for each seed of `seeds`.
pub fn cell(
    reference: &Reference,
    samples: u64,
    seeds: std::ops::Range<u64>,
    confidence: f64,
) -> Cell {
    let runs = seeds.clone().count();
    // Per run: (intervals that hold, intervals, sum of half-widths, sum of squared errors).
    let (hits, count, width, squares) = seeds
        .into_par_iter()
        .map(|seed| {
            let cfg = SamplingConfig {
                seed,
                samples,
                confidence,
                ..SamplingConfig::default()
            };
            let e = ok(shapley_sampled(&*reference.game, &cfg));
            let mut run = (0usize, 0usize, 0.0, 0.0);
            for (p, &x) in reference.exact.iter().enumerate() {
                let (lo, hi) = e.ci[p];
                // Exact values are rationals seen through f64: allow their rounding.
                let slack = 1e-12 * x.abs().max(1.0);
                run.0 += usize::from(lo - slack <= x && x <= hi + slack);
                run.1 += 1;
                run.2 += (hi - lo) / 2.0;
                run.3 += (e.values[p] - x).powi(2);
            }
            run
        })
        .reduce(
            || (0, 0, 0.0, 0.0),
            |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2, a.3 + b.3),
        );
    Cell {
        runs,
        coverage: hits as f64 / count as f64,
        mean_half_width: width / count as f64,
        rmse: (squares / count as f64).sqrt(),
    }
}

/// The lowest coverage a cell of `runs` runs may show at a stated `confidence` (see the
/// module's comment).
pub fn coverage_floor(confidence: f64, runs: usize) -> f64 {
    confidence - 3.0 * (confidence * (1.0 - confidence) / runs as f64).sqrt()
}

#[test]
fn coverage_at_least_the_stated_confidence() {
    for reference in [unsc(), airport(), mixed_mc_nets()] {
        for samples in [2, 10, 50, 200] {
            for confidence in [0.5, 0.95] {
                let c = cell(&reference, samples, 0..200, confidence);
                let floor = coverage_floor(confidence, c.runs);
                assert!(
                    c.coverage >= floor,
                    "{} at {samples} permutations, confidence {confidence}: coverage {} < {floor}",
                    reference.name,
                    c.coverage
                );
            }
        }
    }
}

/// The width target: on the 100-player voting game at 2,000 permutations, the mean
/// half-width of the 95% intervals is at most 3 times the RMSE of the estimates.
#[test]
fn intervals_are_tight_on_the_100_player_voting_game() {
    let c = cell(&voting_100(), 2_000, 0..12, 0.95);
    assert!(
        c.mean_half_width <= 3.0 * c.rmse,
        "half-width {} vs rmse {} ({}x)",
        c.mean_half_width,
        c.rmse,
        c.mean_half_width / c.rmse
    );
    assert!(c.coverage >= coverage_floor(0.95, c.runs), "{}", c.coverage);
}
