//! The long calibration of the sampled intervals (the short one runs in `cargo test`, from
//! the same file): coverage, mean half-width and RMSE per game and sample size, 1,000 seeds
//! per cell, and the 100-player voting game at 2,000 permutations over 100 seeds.
//!
//! cargo bench --bench shapley_calibration

// The test file's helpers; its #[test] functions are not compiled here.
#[path = "../tests/shapley/calibration.rs"]
#[allow(dead_code)] // `ok` and friends are used only by the tests of that file
mod calibration;

use calibration::{airport, cell, coverage_floor, mixed_mc_nets, unsc, voting_100};

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
}
