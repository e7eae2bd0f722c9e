//! The server's metrics, named once: recorded through the `metrics` facade where the work
//! happens (the sequencer, the allocator, the API), rendered in Prometheus text format at
//! `/metrics` by the API. Without an installed recorder (the operator's commands) recording
//! does nothing.

/// Counter: entries appended to the log (resubmissions and refusals not counted).
pub const ENTRIES_APPENDED: &str = "fairshare_entries_appended_total";
/// Histogram: entries in one append transaction (the sequencer's group commit).
pub const COMMIT_BATCH_ENTRIES: &str = "fairshare_commit_batch_entries";
/// Histogram: one append transaction, from its lock to its commit, in seconds.
pub const COMMIT_SECONDS: &str = "fairshare_commit_duration_seconds";
/// Gauge: allocations the allocator has taken on and not finished (running or deferred).
pub const ALLOCATION_QUEUE: &str = "fairshare_allocation_queue_length";
/// Histogram: one allocation, from reading its inputs to its entry being committed, in seconds.
pub const ALLOCATION_SECONDS: &str = "fairshare_allocation_duration_seconds";
/// Histogram: building one proof (label `kind`: inclusion or consistency), in seconds.
pub const PROOF_SECONDS: &str = "fairshare_proof_duration_seconds";
/// Counter: problems answered (label `type`: the problem code), batch slots included.
pub const REFUSALS: &str = "fairshare_refusals_total";
/// Histogram: HTTP requests (labels `method`, `route` (the matched route template), `status`).
pub const REQUEST_SECONDS: &str = "fairshare_http_request_duration_seconds";
/// Gauge: entries between the latest checkpoint and the latest published one (cosigned by
/// the witnesses' quorum).
pub const PUBLICATION_LAG: &str = "fairshare_checkpoint_publication_lag_entries";

/// Every metric with its help text, for the exporter's `# HELP` lines.
pub const DESCRIPTIONS: &[(&str, &str)] = &[
    (ENTRIES_APPENDED, "Entries appended to the log"),
    (COMMIT_BATCH_ENTRIES, "Entries per append transaction"),
    (COMMIT_SECONDS, "Append transaction latency, lock to commit"),
    (
        ALLOCATION_QUEUE,
        "Allocations taken on and not finished (running or deferred)",
    ),
    (
        ALLOCATION_SECONDS,
        "One allocation: inputs read, computed, appended",
    ),
    (PROOF_SECONDS, "Inclusion and consistency proof latency"),
    (REFUSALS, "Problems answered, by problem type"),
    (
        REQUEST_SECONDS,
        "HTTP request latency by method, matched route and status",
    ),
    (
        PUBLICATION_LAG,
        "Entries the latest checkpoint holds beyond the latest published (witnessed) one",
    ),
];
