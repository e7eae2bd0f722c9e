//! Our side of the peer comparison (docs/BENCHMARKS.md, "Shapley engine"): it times each
//! solver once in release mode on the games benches/peers/peers.py builds,
//! writes the exact voting values for the Python side's accuracy check, and prints the
//! RMSE of our sampled estimates against them.
//!
//! cargo run --release --example shapley_peers -- OUT_DIR

use std::time::Instant;

use fairshare::shapley::exact::shapley_exact;
use fairshare::shapley::rational::to_f64;
use fairshare::shapley::sampling::shapley_sampled;
use fairshare::shapley::{Explicit, SamplingConfig, WeightedVoting};
use num_rational::BigRational;

fn explicit_table(n: usize) -> Explicit {
    let v: Vec<i64> = (0..1u64 << n)
        .map(|s| {
            if s == 0 {
                0
            } else {
                i64::try_from((s * 2_654_435_761) % 1000).unwrap_or(0)
            }
        })
        .collect();
    Explicit::from_integers(v).unwrap_or_else(|e| panic!("{e}"))
}

fn voting(n: usize) -> WeightedVoting {
    let w: Vec<u64> = (0..n as u64).map(|i| 1 + (37 * i + 11) % 10).collect();
    let q = w.iter().sum::<u64>() / 2 + 1;
    WeightedVoting::new(w, q).unwrap_or_else(|e| panic!("{e}"))
}

fn voting_small_weights(n: usize) -> WeightedVoting {
    let w: Vec<u64> = (0..n as u64).map(|i| 1 + (37 * i + 11) % 3).collect();
    let q = w.iter().sum::<u64>() / 2 + 1;
    WeightedVoting::new(w, q).unwrap_or_else(|e| panic!("{e}"))
}

fn rmse(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "/tmp".into());
    for n in [18usize, 20, 25] {
        let g = explicit_table(n);
        let t = Instant::now();
        let v = shapley_exact(&g, 25).unwrap_or_else(|e| panic!("{e}"));
        let dt = t.elapsed().as_secs_f64();
        let sum: BigRational = v.iter().sum();
        println!("exact_explicit n={n}: {dt:.4} s (sum {:.1})", to_f64(&sum));
        if n == 20 {
            let floats: Vec<String> = v.iter().map(|x| format!("{:.12}", to_f64(x))).collect();
            std::fs::write(format!("{out}/exact_explicit_20.txt"), floats.join("\n"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let g = voting_small_weights(1000);
    let t = Instant::now();
    let _ = g.shapley_dp();
    println!(
        "voting_dp n=1000 weights 1..3 (q={}): {:.4} s",
        g.quota(),
        t.elapsed().as_secs_f64()
    );
    for (n, perms) in [(100usize, 20_000u64), (1000, 2_000)] {
        let g = voting(n);
        let t = Instant::now();
        let exact: Vec<f64> = g.shapley_dp().iter().map(to_f64).collect();
        println!("voting_dp n={n}: {:.4} s", t.elapsed().as_secs_f64());
        let text: Vec<String> = exact.iter().map(|x| format!("{x:.17e}")).collect();
        std::fs::write(format!("{out}/exact_voting_{n}.txt"), text.join("\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut errs = Vec::new();
        let mut best = f64::INFINITY;
        for seed in 0..5 {
            let cfg = SamplingConfig {
                seed,
                samples: perms,
                ..SamplingConfig::default()
            };
            let t = Instant::now();
            let e = shapley_sampled(&g, &cfg).unwrap_or_else(|e| panic!("{e}"));
            best = best.min(t.elapsed().as_secs_f64());
            errs.push(rmse(&e.values, &exact));
        }
        let mean_err = errs.iter().sum::<f64>() / errs.len() as f64;
        println!(
            "monte_carlo n={n} perms={perms}: {best:.4} s, {:.1} M marginals/s, rmse {mean_err:.3e} (mean of 5 seeds)",
            (perms * n as u64) as f64 / best / 1e6
        );
    }
}
