//! The long calibration of the sampled intervals (the short one runs in `cargo test`, from
//! the same file): coverage, mean half-width and RMSE per game and sample size, 1,000 seeds
//! per cell, and the 100-player voting game at 2,000 permutations over 100 seeds. Then three
//! interval constructions on the same samples (the engine's, the previous one, and
//! Waudby-Smith and Ramdas's betting interval, which needs every sample and so is measured
//! here only), to choose between them by measurement.
//!
//! cargo bench --bench shapley_calibration

// The test file's helpers; its #[test] functions are not compiled here.
#[path = "../tests/shapley/calibration.rs"]
#[allow(dead_code)] // `ok` and friends are used only by the tests of that file
mod calibration;

use calibration::{airport, cell, coverage_floor, mixed_mc_nets, unsc, voting_100};
use fairshare::shapley::Game;
use fairshare::shapley::bounds::{Stats, half_width, interval};
use fairshare::shapley::sampling::{block_rng, shuffle};

fn main() {
    println!(
        "| game | permutations | confidence | runs | coverage | floor | mean half-width | RMSE | half-width / RMSE |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let row = |name: &str, samples: u64, confidence: f64, c: calibration::Cell| {
        println!(
            "| {name} | {samples} | {confidence} | {} | {:.4} | {:.4} | {:.3e} | {:.3e} | {:.2} |",
            c.runs,
            c.coverage,
            coverage_floor(confidence, c.runs),
            c.mean_half_width,
            c.rmse,
            c.mean_half_width / c.rmse
        );
    };
    for reference in [unsc(), airport(), mixed_mc_nets()] {
        for samples in [2, 10, 50, 300, 2_000, 20_000] {
            for confidence in [0.5, 0.95] {
                let c = cell(&reference, samples, 0..1_000, confidence);
                row(reference.name, samples, confidence, c);
            }
        }
    }
    let v = voting_100();
    for samples in [200, 2_000, 20_000] {
        row(v.name, samples, 0.95, cell(&v, samples, 0..100, 0.95));
    }
    println!();
    println!(
        "| game | permutations | construction | coverage | mean half-width | RMSE | half-width / RMSE |"
    );
    println!("|---|---|---|---|---|---|---|");
    compare(&v, 2_000, 20);
    for reference in [unsc(), airport(), mixed_mc_nets()] {
        for t in [50, 2_000] {
            compare(&reference, t, 200);
        }
    }
}

/// Each player's marginals over `t` random permutations walked with the engine's walker.
fn marginals(game: &dyn Game, t: usize, seed: u64) -> Vec<Vec<f64>> {
    let n = game.n();
    let mut rng = block_rng(seed, b"fairshare/calibration/b\0", 0);
    let mut perm: Vec<usize> = (0..n).collect();
    let mut out = vec![Vec::with_capacity(t); n];
    let mut walker = game.walker();
    for _ in 0..t {
        shuffle(&mut rng, &mut perm);
        walker.reset();
        for &p in &perm {
            out[p].push(walker.add(p));
        }
    }
    out
}

/// The boundary between rejected values below and kept values above in `[lo, hi]`.
fn boundary(mut lo: f64, mut hi: f64, rejected: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        if rejected(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Waudby-Smith and Ramdas (JRSS-B 2024), betting confidence interval for a sample in
/// [0, 1] of known size: capital processes K+(m) = prod(1 + l_i (x_i - m)) and
/// K-(m) = prod(1 - l_i (x_i - m)) with their predictable plug-in bets tuned to the sample
/// size, l_i = sqrt(2 ln(2/alpha) / (t s2_{i-1})) truncated at 1/(2m) resp. 1/(2(1-m)),
/// s2 and the mean estimated with priors 1/4 and 1/2; m is rejected when a capital reaches
/// 2/alpha (the max of the two one-sided tests, each at alpha/2). Needs every sample.
fn betting_interval(x: &[f64], alpha: f64) -> (f64, f64) {
    let t = x.len() as f64;
    let mut bets = Vec::with_capacity(x.len());
    let (mut sum, mut squares, mut mean, mut var) = (0.0, 0.0, 0.5, 0.25);
    for (i, &xi) in x.iter().enumerate() {
        bets.push((2.0 * (2.0 / alpha).ln() / (t * var)).sqrt());
        squares += (xi - mean) * (xi - mean);
        sum += xi;
        let k = (i + 2) as f64;
        mean = (0.5 + sum) / k;
        var = (0.25 + squares) / k;
    }
    let level = (2.0 / alpha).ln();
    let up = |m: f64| -> f64 {
        let cap = 0.5 / m;
        x.iter()
            .zip(&bets)
            .map(|(&xi, &l)| (l.min(cap) * (xi - m)).ln_1p())
            .sum()
    };
    let down = |m: f64| -> f64 {
        let cap = 0.5 / (1.0 - m);
        x.iter()
            .zip(&bets)
            .map(|(&xi, &l)| (-l.min(cap) * (xi - m)).ln_1p())
            .sum()
    };
    let center = x.iter().sum::<f64>() / t;
    let lower = boundary(0.0, center, |m| up(m) >= level);
    let upper = 1.0 - boundary(0.0, 1.0 - center, |m| down(1.0 - m) >= level);
    (lower, upper)
}

/// Mean half-width over RMSE and coverage of three constructions on the same samples: the
/// engine's intervals from sufficient statistics (Clopper–Pearson for two-valued games, else
/// Hoeffding's relative-entropy bound intersected with empirical Bernstein: what runs of more
/// than 2^20 marginals use), the previous ones (Hoeffding or empirical Bernstein, whichever
/// is narrower, at delta/2 each), and the betting interval (what smaller runs of other games
/// use).
fn compare(reference: &calibration::Reference, t: usize, seeds: u64) {
    let game = &*reference.game;
    let ranges: Vec<(f64, f64)> = (0..game.n())
        .map(|p| game.marginal_range(p).unwrap_or((0.0, 0.0)))
        .collect();
    let names = ["sufficient statistics", "previous", "betting"];
    let (mut width, mut hits, mut squares, mut count) = ([0.0; 3], [0usize; 3], 0.0, 0usize);
    for seed in 0..seeds {
        for (p, x) in marginals(game, t, seed).iter().enumerate() {
            let exact = reference.exact[p];
            let (a, b) = ranges[p];
            let r = b - a;
            let sum: f64 = x.iter().sum();
            let sumsq: f64 = x.iter().map(|v| v * v).sum();
            let stats = Stats::from_sums(t as u64, sum, sumsq);
            let w = half_width(&stats, r, 0.05);
            let scaled: Vec<f64> = x.iter().map(|v| (v - a) / r).collect();
            let (lo, hi) = betting_interval(&scaled, 0.05);
            let intervals = [
                interval(&stats, (a, b), game.two_valued_marginals(), 0.05),
                ((stats.mean - w).max(a), (stats.mean + w).min(b)),
                (a + r * lo, a + r * hi),
            ];
            for (k, (lo, hi)) in intervals.into_iter().enumerate() {
                width[k] += (hi - lo) / 2.0;
                hits[k] += usize::from(lo <= exact + 1e-12 && exact <= hi + 1e-12);
            }
            squares += (stats.mean - exact).powi(2);
            count += 1;
        }
    }
    let rmse = (squares / count as f64).sqrt();
    for k in 0..3 {
        println!(
            "| {} | {t} | {} | {:.4} | {:.3e} | {:.3e} | {:.2} |",
            reference.name,
            names[k],
            hits[k] as f64 / count as f64,
            width[k] / count as f64,
            rmse,
            width[k] / count as f64 / rmse
        );
    }
}
