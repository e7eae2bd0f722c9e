//! The crash test's long run (issue 12): concurrent clients, random SIGKILLs of the release
//! server and of its embedded PostgreSQL, and kills while the allocator computes, each
//! followed by the audit of benches/support/crash/audit.rs. Prints the figures of
//! docs/BENCHMARKS.md and exits 1 if anything acknowledged was lost or forked, a value has
//! other than one allocation entry, or `fairshare check` or `fairshare verify` failed.
//!
//! `cargo bench --bench crash` (no database needed: the server starts its own cluster).
//! Settings by environment: CRASH_KILLS (default 24), CRASH_ALLOCATION_KILLS (4),
//! CRASH_SINGLE_CLIENTS (16), CRASH_BATCH_CLIENTS (4), CRASH_SEED (1).

#[path = "support/crash/mod.rs"]
mod crash;

use crash::{Figures, Settings};
use std::time::Duration;

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let settings = Settings {
        kills: setting("CRASH_KILLS", 24),
        allocation_kills: setting("CRASH_ALLOCATION_KILLS", 4),
        single_clients: setting("CRASH_SINGLE_CLIENTS", 16),
        batch_clients: setting("CRASH_BATCH_CLIENTS", 4),
        batch: 50,
        load_ms: 2_000..8_000,
        slow_samples: 400_000,
        seed: setting("CRASH_SEED", 1),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let started = std::time::Instant::now();
    match runtime.block_on(crash::run(&settings)) {
        Ok(figures) => {
            report(&figures, started.elapsed());
            if !figures.clean() {
                std::process::exit(1);
            }
        }
        Err(error) => {
            eprintln!("crash bench failed: {error}");
            std::process::exit(1);
        }
    }
}

fn report(figures: &Figures, elapsed: Duration) {
    println!(
        "crash test: {:.0} s in all\n{}",
        elapsed.as_secs_f64(),
        figures.table()
    );
}
