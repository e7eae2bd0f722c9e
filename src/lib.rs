//! fairshare: a contribution-measurement and value-distribution ledger.
//! docs/ARCHITECTURE.md is the map; each module's first comment says what it owns.

pub mod allocation; // value realized -> policy -> game -> payouts -> allocation entry (pure)
pub mod api; // HTTP: axum routers, problem+json errors
pub mod audit; // the regulator's concentration figures over allocations (pure)
pub mod cli; // one file per subcommand
pub mod client; // the API's paths, and the one client of the log (IO)
pub mod crypto; // canonical JSON, blake3, ed25519 (pure)
pub mod entry; // envelope, bodies, validation rules (pure)
pub mod keyfile; // secret key files (mode 0600)
pub mod ledger; // batch planning, rules, Merkle tree and proofs, checkpoints, replay (pure)
pub mod policy; // policy files and the games and payouts they define (pure)
pub mod server; // configuration and wiring of store, sequencer and API
pub mod service; // sequencer, checkpointer, stored-tree check, allocator (IO)
pub mod shapley; // Shapley, Owen and Banzhaf values, exact and sampled; money rounding (pure)
pub mod store; // all SQL, migrations, embedded PostgreSQL

/// mimalloc for every binary built on this crate (server, CLI, tests, benches): parsing and
/// planning allocate many small JSON values on all cores, where the system allocator spent a
/// third of the verifier's parsing time (BENCHMARKS.md, offline verification).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
