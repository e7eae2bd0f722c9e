//! Allocating one value realization over 100,000 contributions from 10,000 actors under
//! the default policy (curation with endorsements, synergy, lineage, operator payouts):
//! building the game, solving it in closed form, payout rules, rounding; with every
//! player's breakdown (what `GET /v1/allocations/{id}` shows) and without it (what the
//! allocator computes for the entry).

// Benchmark data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use std::hint::black_box;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};
use fairshare::policy::{Detail, Policy, Realized, allocate, allocate_with, build_game};
use rust_decimal::Decimal;

#[path = "support/project.rs"]
mod project;
use project::project;

fn bench(c: &mut Criterion) {
    let policy = Policy::parse(include_bytes!("../policies/default.toml")).expect("default policy");
    let inputs = project(10_000, 100_000);
    let realized = Realized {
        amount: Decimal::from_str("1000000.00").expect("amount"),
        currency: "EUR".into(),
        minor_unit_scale: 2,
    };
    let mut group = c.benchmark_group("allocation");
    group.sample_size(10);
    group.bench_function("build_game_100k_contributions_10k_actors", |b| {
        b.iter(|| black_box(build_game(&policy, &inputs).expect("game")))
    });
    group.bench_function("allocate_100k_contributions_10k_actors", |b| {
        b.iter(|| black_box(allocate(&policy, &inputs, &realized, 1).expect("allocation")))
    });
    group.bench_function("allocate_figures_100k_contributions_10k_actors", |b| {
        b.iter(|| {
            black_box(
                allocate_with(&policy, &inputs, &realized, 1, Detail::Figures).expect("allocation"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
