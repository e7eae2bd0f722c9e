//! The crash test, short: SIGKILLs of the server and of its embedded PostgreSQL under
//! concurrent load, and while an allocation computes. After every restart nothing
//! acknowledged is lost or forked, the checkpoint before the kill is consistent with the
//! next, each value has one allocation entry, and `fairshare check` and `fairshare verify`
//! pass. The harness and its long run (the figures in docs/BENCHMARKS.md) are in benches/.

#[path = "../../benches/support/crash/mod.rs"]
mod harness;

use harness::{Kill, Settings};

// Multi-threaded: the blocking child processes (check, export, verify) must not starve the
// clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_lose_nothing_acknowledged_and_allocate_once() {
    let figures = harness::run(&Settings {
        kills: 2,
        allocation_kills: 2,
        single_clients: 4,
        batch_clients: 2,
        batch: 20,
        load_ms: 300..1000,
        slow_samples: 5_000,
        seed: 12,
    })
    .await
    .unwrap_or_else(|e| panic!("the crash test could not run: {e}"));

    eprintln!("{}", figures.table());
    let findings = &figures.findings;
    assert_eq!(findings.audits, 4, "one audit after every restart");
    assert_eq!(figures.restart_times(Kill::Server, false).len(), 2);
    assert_eq!(figures.restart_times(Kill::Postgres, false).len(), 2);
    assert!(
        figures.acknowledged > 0 && figures.values > 0,
        "the load ran"
    );
    assert!(
        figures.allocations_killed_midway > 0,
        "no kill struck while the allocator computed"
    );
    assert_eq!((findings.lost, findings.forks), (0, 0), "{findings:?}");
    assert!(findings.allocation_errors.is_empty(), "{findings:?}");
    assert!(findings.failed_commands.is_empty(), "{findings:?}");
    assert!(figures.refused.is_empty(), "{:?}", figures.refused);
    // A kill between a commit's durability and its answer must not be reported as
    // "nothing was stored": the server says the outcome is unknown.
    assert_eq!(figures.misreported, 0, "503s that said nothing was stored");
    assert!(figures.clean());
}
