// A project larger than one drafting chunk (4096 contributions) gives the same allocation,
// byte for byte once serialized, on 1, 2 and 3 threads, and the same figures whether the
// breakdown is asked for or not (the two build the game's rules differently).

#[path = "../../benches/support/project.rs"]
mod project;

use std::str::FromStr;

use fairshare::policy::{Detail, Policy, Realized, allocate, allocate_with};
use rust_decimal::Decimal;

#[test]
fn identical_on_any_thread_count() {
    let policy = Policy::parse(include_bytes!("../../policies/default.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let inputs = project::project(500, 10_000);
    let realized = Realized {
        amount: Decimal::from_str("12345.67").unwrap_or_default(),
        currency: "EUR".into(),
        minor_unit_scale: 2,
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let a = pool
            .install(|| allocate(&policy, &inputs, &realized, 3))
            .unwrap_or_else(|e| panic!("{e}"));
        serde_json::to_vec(&a).unwrap_or_else(|e| panic!("{e}"))
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    let figures = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        pool.install(|| allocate_with(&policy, &inputs, &realized, 3, Detail::Figures))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut full = allocate(&policy, &inputs, &realized, 3).unwrap_or_else(|e| panic!("{e}"));
    full.players.iter_mut().for_each(|p| p.breakdown.clear());
    full.excluded.clear();
    assert_eq!(figures(1), full);
    assert_eq!(figures(2), full);
    let total: Decimal = allocate(&policy, &inputs, &realized, 3)
        .unwrap_or_else(|e| panic!("{e}"))
        .players
        .iter()
        .map(|p| p.payout)
        .sum();
    assert_eq!(total, realized.amount);
}
