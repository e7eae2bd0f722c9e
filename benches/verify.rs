//! Offline verification benchmark (issue 4, "Performance"): entries per second of
//! `fairshare::ledger::replay::replay` (what `fairshare verify` runs once the exported file is
//! read) over a log of 1,000,000 valid signed leaves built in memory, with the raw ed25519
//! rates for the same signatures measured in the same run, all on both cores: ours one by one
//! (`PublicKey::verify`) and in batches (`crypto::verify_batch`), and ed25519-dalek's
//! `verify_strict` and `verify_batch` for reference.
//! Figures go in docs/BENCHMARKS.md.
//!
//! The command itself, `fairshare verify`, is then timed on the same log written out as an
//! export (file read and NDJSON decoding included), and `fairshare import` of that export
//! into a fresh database (on DATABASE_URL's server, default the local one), each with its
//! peak memory (VmHWM, sampled every 20 ms); then `fairshare check` of that database (every
//! hash and checkpoint, the entries after the exported checkpoint through the rules: none)
//! beside `fairshare check --full` (every entry through the rules, signatures and
//! allocations).
//!
//! `VERIFY_BASELINE=PATH` names another build of `fairshare` (an earlier commit's) whose
//! verify and import are timed on the same export, in the same run, as the baseline;
//! `VERIFY_COMMANDS_ONLY=1` skips the raw ed25519 rates.
//!
//! `CARGO_TARGET_DIR=... cargo bench --bench verify` (`VERIFY_ENTRIES` overrides the size).

// Benchmark data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use fairshare::allocation::reproduce::Reproducer;
use fairshare::crypto::{PublicKey, SecretKey, Signature, SignatureCheck, verify_batch};
use fairshare::entry::SignedEntry;
use fairshare::entry::envelope::sign_envelope;
use fairshare::ledger::checkpoint::{Checkpoint, NoteSigner, sign_checkpoint};
use fairshare::ledger::replay::replay;
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

#[path = "support/opening.rs"]
#[allow(dead_code)] // This bench builds the opening entries offline, with no server to post to.
mod opening;
#[path = "support/server.rs"]
#[allow(dead_code)] // This bench only needs a fresh database, not the server.
mod server;
#[path = "support/workload.rs"]
mod workload;

const ACTORS: usize = 300;
/// The exported log's origin (its key's name).
const ORIGIN: &str = "bench.fairshare.example/log";
const DEFAULT_ENTRIES: usize = 1_000_000;
/// Signatures per batch, as `rules::verify_signatures` uses.
const BATCH: usize = 64;

fn main() {
    let entries: usize = std::env::var("VERIFY_ENTRIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_ENTRIES);
    let threads = rayon::current_num_threads();
    println!("threads: {threads}; entries: {entries}; actors: {ACTORS}");

    let server = SecretKey::from_seed(&[0xee; 32]);
    let keys: Vec<SecretKey> = (0..ACTORS)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            SecretKey::from_seed(&seed)
        })
        .collect();

    let start = Instant::now();
    let built: Vec<(Vec<u8>, usize, Vec<u8>, Signature)> = (0..entries)
        .into_par_iter()
        .map(|i| build(i, &keys))
        .collect();
    println!(
        "built and signed {entries} leaves in {:.1} s (not timed below)",
        start.elapsed().as_secs_f64()
    );
    // The operator's platform opens the workload's project first (not among the timed
    // signature checks below).
    let opening = opening::project_opening(
        &server,
        &SecretKey::from_seed(&[0xef; 32]),
        "bench",
        "2026-11-29T12:00:00Z",
    )
    .expect("signs");
    let mut leaves: Vec<Vec<u8>> = opening
        .iter()
        .map(|e| {
            SignedEntry::parse(e)
                .expect("valid entry")
                .leaf_bytes("2026-11-29T11:59:59.000000Z")
        })
        .collect();
    leaves.extend(built.iter().map(|(leaf, ..)| leaf.clone()));
    let checks: Vec<(PublicKey, &[u8], Signature)> = built
        .iter()
        .map(|(_, actor, message, signature)| {
            (keys[*actor].public_key(), message.as_slice(), *signature)
        })
        .collect();

    // Offline replay, phase by phase (the progress callback names the phase).
    let phases: Mutex<Vec<(&'static str, Instant)>> = Mutex::new(Vec::new());
    let progress = |phase: &'static str, _done: u64| {
        let mut phases = phases.lock().unwrap_or_else(|e| e.into_inner());
        if phases.last().is_none_or(|(p, _)| *p != phase) {
            phases.push((phase, Instant::now()));
        }
    };
    let start = Instant::now();
    let report = replay(
        &leaves,
        server.public_key(),
        &[leaves.len() as u64],
        &mut Reproducer::default(),
        &progress,
    )
    .unwrap_or_else(|bad| panic!("the generated log must verify: {bad}"));
    let replay_secs = start.elapsed().as_secs_f64();
    let end = Instant::now();
    assert_eq!(report.entries, leaves.len() as u64);
    assert_eq!(report.actors, ACTORS + 1);
    let phases = phases.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut breakdown = String::new();
    for (i, (phase, at)) in phases.iter().enumerate() {
        let until = phases.get(i + 1).map_or(end, |(_, t)| *t);
        breakdown.push_str(&format!(
            "{phase} from {:.2} s ({:.2} s); ",
            at.duration_since(start).as_secs_f64(),
            until.duration_since(*at).as_secs_f64()
        ));
    }

    // The command itself on an exported file: reading and decoding the NDJSON included.
    let dir = std::env::temp_dir().join(format!("fairshare-verify-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let log_key = export(&dir, &leaves, &server, report.root);
    drop(leaves);
    let key_file = dir.join("server.key");
    fairshare::keyfile::write(&key_file, &server).expect("key file");
    let this_build = Path::new(env!("CARGO_BIN_EXE_fairshare"));
    let baseline = std::env::var_os("VERIFY_BASELINE").map(std::path::PathBuf::from);
    let mut rows = Vec::new();
    for (build, binary) in std::iter::once(("this build", this_build))
        .chain(baseline.as_deref().map(|path| ("baseline", path)))
    {
        let mut verify = Command::new(binary);
        verify
            .args(["verify", "--log-key", &log_key, "--log"])
            .arg(dir.join("log.ndjson"));
        let (verify_secs, verify_peak) = measured(verify);
        // The same export restored into a fresh database, with the server key; `check`
        // (whose `--full` a baseline may lack) for this build only.
        let (import_secs, import_peak, checks) =
            import(binary, binary == this_build, &dir, &log_key, &key_file);
        println!(
            "peak memory (VmHWM), {build}: fairshare verify {:.1} MiB, fairshare import {:.1} MiB",
            verify_peak as f64 / 1024.0,
            import_peak as f64 / 1024.0
        );
        rows.push((
            format!("`fairshare verify` on the exported file, {build}"),
            verify_secs,
        ));
        rows.push((
            format!("`fairshare import` of the exported file, {build}"),
            import_secs,
        ));
        rows.extend(checks);
    }
    let _ = std::fs::remove_dir_all(&dir);

    // Raw ed25519, same signatures, all cores (skipped with VERIFY_COMMANDS_ONLY set).
    let raw = std::env::var_os("VERIFY_COMMANDS_ONLY")
        .is_none()
        .then(|| raw_rates(&checks));
    let rate = |secs: f64| entries as f64 / secs;
    println!("replay phases: {breakdown}");
    println!(
        "{:<52} {:>9} {:>8} {:>11} {:>9}",
        "measure", "entries", "seconds", "per second", "/ batch"
    );
    // Without the raw rates, the last column is NaN.
    let batch_rate = raw.map_or(f64::NAN, |raw| rate(raw[0].1));
    rows.push((
        "replay (fairshare verify minus file read)".to_owned(),
        replay_secs,
    ));
    rows.extend(
        raw.into_iter()
            .flatten()
            .map(|(name, secs)| (name.to_owned(), secs)),
    );
    for (name, secs) in rows {
        println!(
            "{name:<52} {entries:>9} {secs:>8.2} {:>11.0} {:>9.3}",
            rate(secs),
            rate(secs) / batch_rate
        );
    }
}

/// Seconds to verify `checks` on all cores: ours in batches of 64 and one by one, then
/// ed25519-dalek's `verify_batch` and `verify_strict`.
fn raw_rates(checks: &[(PublicKey, &[u8], Signature)]) -> [(&'static str, f64); 4] {
    let start = Instant::now();
    let single_ok = checks
        .par_iter()
        .all(|(key, message, signature)| key.verify(message, signature).is_ok());
    let single_secs = start.elapsed().as_secs_f64();
    assert!(single_ok);

    let start = Instant::now();
    let ours_ok = checks.par_chunks(BATCH).all(|chunk| {
        let batch: Vec<SignatureCheck<'_>> = chunk
            .iter()
            .map(|(key, message, signature)| SignatureCheck {
                key,
                message,
                signature,
            })
            .collect();
        verify_batch(&batch).is_ok()
    });
    let ours_secs = start.elapsed().as_secs_f64();
    assert!(ours_ok);

    let dalek: Vec<(ed25519_dalek::VerifyingKey, &[u8], ed25519_dalek::Signature)> = checks
        .iter()
        .map(|(key, message, signature)| {
            (
                ed25519_dalek::VerifyingKey::from_bytes(&key.to_bytes()).expect("valid key"),
                *message,
                ed25519_dalek::Signature::from_bytes(&signature.to_bytes()),
            )
        })
        .collect();
    let start = Instant::now();
    let strict_ok = dalek
        .par_iter()
        .all(|(key, message, signature)| key.verify_strict(message, signature).is_ok());
    let strict_secs = start.elapsed().as_secs_f64();
    assert!(strict_ok);

    let start = Instant::now();
    let dalek_batch_ok = dalek.par_chunks(BATCH).all(|chunk| {
        let messages: Vec<&[u8]> = chunk.iter().map(|c| c.1).collect();
        let signatures: Vec<_> = chunk.iter().map(|c| c.2).collect();
        let keys: Vec<_> = chunk.iter().map(|c| c.0).collect();
        ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
    });
    let dalek_batch_secs = start.elapsed().as_secs_f64();
    assert!(dalek_batch_ok);

    [
        ("crypto::verify_batch, chunks of 64, all cores", ours_secs),
        ("PublicKey::verify one by one, all cores", single_secs),
        ("ed25519-dalek verify_batch, chunks of 64", dalek_batch_secs),
        ("ed25519-dalek verify_strict one by one", strict_secs),
    ]
}

/// Runs `command` to success; its wall time and its peak resident memory in KiB (VmHWM,
/// the last sample before it exits).
fn measured(mut command: Command) -> (f64, u64) {
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    // Read as it comes: a full pipe would stop the command (the database's slow-statement
    // warnings on a loaded machine filled one).
    let mut pipe = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        stderr
    });
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        peak = peak.max(vm_hwm_kib(child.id()).unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let secs = start.elapsed().as_secs_f64();
    let stderr = reader.join().unwrap_or_default();
    assert!(status.success(), "{command:?} failed: {stderr}");
    (secs, peak)
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `fairshare import` by `binary` of the export in `dir` into a fresh database (its time
/// and peak memory), then, `with_checks`, `fairshare check` and `fairshare check --full` of
/// that database (their times, as table rows).
fn import(
    binary: &Path,
    with_checks: bool,
    dir: &Path,
    log_key: &str,
    key_file: &Path,
) -> (f64, u64, Vec<(String, f64)>) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut measured_import = None;
    runtime
        .block_on(server::with_fresh_database(
            "fairshare_import_bench",
            |url, _| {
                let command = |args: &[&str]| {
                    let mut command = Command::new(binary);
                    command
                        .args(args)
                        .args(["--database-url", &url, "--log-origin", ORIGIN])
                        .arg("--server-key")
                        .arg(key_file)
                        .arg("--data-dir")
                        .arg(dir)
                        .env_remove("DATABASE_URL");
                    command
                };
                let mut import = command(&["import", "--log-key", log_key]);
                import.arg("--log").arg(dir.join("log.ndjson"));
                let (secs, peak) = measured(import);
                let mut checks = Vec::new();
                if with_checks {
                    let (check, _) = measured(command(&["check"]));
                    let (full, _) = measured(command(&["check", "--full"]));
                    checks.push(("`fairshare check` of the imported database".into(), check));
                    checks.push((
                        "`fairshare check --full` of the imported database".into(),
                        full,
                    ));
                }
                measured_import = Some((secs, peak, checks));
                async { Ok(()) }
            },
        ))
        .unwrap_or_else(|e| panic!("fresh database: {e}"));
    measured_import.expect("imported")
}

/// Writes the log as `fairshare export` does (`log.ndjson` and its `.checkpoint`, signed by
/// `server` for `root`); returns the log's verifier key.
fn export(dir: &Path, leaves: &[Vec<u8>], server: &SecretKey, root: [u8; 32]) -> String {
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(dir.join("log.ndjson")).expect("log file"));
    for (index, leaf) in leaves.iter().enumerate() {
        let leaf = fairshare::crypto::b64_encode(leaf);
        writeln!(file, r#"{{"index":{index},"leaf":"{leaf}"}}"#).expect("writes");
    }
    file.flush().expect("writes");
    let signer = NoteSigner::ed25519(
        ORIGIN,
        ed25519_dalek::SigningKey::from_bytes(&server.seed()),
    )
    .expect("signer");
    let checkpoint = Checkpoint::new(ORIGIN, leaves.len() as u64, root).expect("checkpoint");
    let note = sign_checkpoint(&checkpoint, &signer).expect("signs");
    std::fs::write(dir.join("log.ndjson.checkpoint"), note).expect("checkpoint file");
    signer.verifier().to_vkey()
}

/// Leaf `i`: actor `i` registers itself for the first `ACTORS` leaves, then contributions
/// round-robin. Returns (leaf bytes, actor index, signing message, signature).
fn build(i: usize, keys: &[SecretKey]) -> (Vec<u8>, usize, Vec<u8>, Signature) {
    let actor = i % ACTORS;
    let key = &keys[actor];
    let envelope = workload::workload_envelope(i, ACTORS, key, "2026-11-29T12:00:00.000000Z");
    let signed = sign_envelope(&envelope, key, &[]).expect("signs");
    let entry = SignedEntry::parse(&signed).expect("valid entry");
    let received_at = format!(
        "2026-11-29T12:{:02}:{:02}.{:06}Z",
        i / 60_000_000 % 60,
        i / 1_000_000 % 60,
        i % 1_000_000
    );
    (
        entry.leaf_bytes(&received_at),
        actor,
        entry.signing_message(),
        entry.signature,
    )
}
