//! `fairshare verify`: check an exported log offline against the log's key and checkpoints.
//! The log comes from a file written by `fairshare export` or straight from a server.

use super::export::checkpoint_path;
use super::{CliError, read_input};
use crate::allocation::reproduce::Reproducer;
use crate::client::LogClient;
use crate::client::layout::parse_leaf_line;
use crate::crypto::{PublicKey, hash};
use crate::entry::envelope::PROTOCOL_VERSION;
use crate::ledger::checkpoint::{Checkpoint, NoteVerifier, open_checkpoint};
use crate::ledger::merkle::Frontier;
use crate::ledger::replay::{ReplayReport, replay};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// An exported log (NDJSON file) or a server URL to read it from.
    #[arg(long)]
    log: String,
    /// The log's verifier key (`name+hash+base64`, as served at /v1/log/key), or a file holding it.
    #[arg(long)]
    log_key: String,
    /// The checkpoint the log must match (default: FILE.checkpoint, or the server's latest).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// A checkpoint saved earlier: the log must extend it (exposes rewritten or forked history).
    #[arg(long)]
    previous_checkpoint: Option<PathBuf>,
}

pub async fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let verifier = log_key(&args.log_key)?;
    let is_url = args.log.starts_with("http://") || args.log.starts_with("https://");
    let (leaves, checkpoint) = if is_url {
        fetch_log(&args.log, args.checkpoint.as_deref(), &verifier).await?
    } else {
        read_export(Path::new(&args.log), args.checkpoint.as_deref(), &verifier)?
    };
    let previous = args
        .previous_checkpoint
        .as_deref()
        .map(|path| checkpoint_file(path, &verifier, "--previous-checkpoint"))
        .transpose()?;
    let sizes: Vec<u64> = std::iter::once(checkpoint.size)
        .chain(previous.as_ref().map(|p| p.size))
        .collect();
    let report = replay_log(leaves, &verifier, sizes).await?;
    check_against(&checkpoint, &report, "checkpoint")?;
    if let Some(previous) = &previous {
        check_extends(previous, &checkpoint, &report)?;
    }
    println!(
        "ok: {} entries, {} actors; every signature, leaf and rule of protocol v{PROTOCOL_VERSION} checked, every allocation recomputed; root {} matches the checkpoint of size {}{}",
        report.entries,
        report.actors,
        hash::to_hex(&report.root),
        checkpoint.size,
        previous
            .map(|p| format!(
                ", consistent with the previous checkpoint of size {}",
                p.size
            ))
            .unwrap_or_default()
    );
    Ok(())
}

/// `--log-key`: the key itself, or a file holding it.
pub(super) fn log_key(argument: &str) -> Result<NoteVerifier, CliError> {
    let text = std::fs::read_to_string(argument).unwrap_or_else(|_| argument.to_owned());
    NoteVerifier::from_vkey(text.trim()).map_err(|e| CliError::input_because("--log-key", e))
}

/// The checkpoint in the file `path`, verified under the log's key.
fn checkpoint_file(
    path: &Path,
    verifier: &NoteVerifier,
    what: &str,
) -> Result<Checkpoint, CliError> {
    signed_checkpoint_file(path, verifier, what).map(|(checkpoint, _)| checkpoint)
}

/// The checkpoint in the file `path`, verified under the log's key, and the signed note.
pub(super) fn signed_checkpoint_file(
    path: &Path,
    verifier: &NoteVerifier,
    what: &str,
) -> Result<(Checkpoint, String), CliError> {
    let note = read_input(path)?;
    let (checkpoint, _) = open_checkpoint(&note, std::slice::from_ref(verifier))
        .map_err(|e| CliError::input_because(format!("{what} {}", path.display()), e))?;
    Ok((checkpoint, note))
}

/// Every leaf the server at `base` holds, and the checkpoint (`checkpoint`, else the
/// server's latest). The replay recomputes the roots and names the first bad leaf, which
/// says more than the stream's own root check, so that check is left to it.
async fn fetch_log(
    base: &str,
    checkpoint: Option<&Path>,
    verifier: &NoteVerifier,
) -> Result<(Vec<Vec<u8>>, Checkpoint), CliError> {
    let client = LogClient::new(base);
    let checkpoint = match checkpoint {
        Some(path) => checkpoint_file(path, verifier, "--checkpoint")?,
        None => client.checkpoint(verifier).await?.checkpoint,
    };
    let leaves = client
        .leaves(checkpoint.clone(), Frontier::new())
        .to_log_end()
        .read_all()
        .await?;
    Ok((leaves, checkpoint))
}

/// The leaves of an export file and its checkpoint (`checkpoint`, else FILE.checkpoint).
fn read_export(
    path: &Path,
    checkpoint: Option<&Path>,
    verifier: &NoteVerifier,
) -> Result<(Vec<Vec<u8>>, Checkpoint), CliError> {
    let checkpoint = match checkpoint {
        Some(given) => checkpoint_file(given, verifier, "--checkpoint")?,
        None => checkpoint_file(&checkpoint_path(path), verifier, "checkpoint")?,
    };
    let leaves = parse_leaves(&read_input(path)?, &path.display().to_string())?;
    Ok((leaves, checkpoint))
}

/// Replays the log on all cores, with a progress bar for large logs; `sizes` are the tree
/// sizes whose roots the checks need.
pub(super) async fn replay_log(
    leaves: Vec<Vec<u8>>,
    verifier: &NoteVerifier,
    sizes: Vec<u64>,
) -> Result<ReplayReport, CliError> {
    let server_key = PublicKey::from_bytes(verifier.public_key().as_bytes())
        .map_err(|e| CliError::input_because("--log-key", e))?;
    let progress = ProgressBar::new(leaves.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{msg:22} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if leaves.len() < 100_000 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    tokio::task::spawn_blocking(move || {
        let progress_fn = |phase: &'static str, done: u64| {
            progress.set_message(phase);
            progress.set_position(done);
        };
        let result = replay(
            &leaves,
            server_key,
            &sizes,
            &mut Reproducer::default(),
            &progress_fn,
        );
        progress.finish_and_clear();
        result
    })
    .await
    .map_err(|e| CliError::failed_because("the replay did not finish", e))?
    .map_err(|bad| CliError::Failed(format!("verification failed at {bad}")))
}

/// The log holds `checkpoint`'s leaves: its root at that size is the checkpoint's.
pub(super) fn check_against(
    checkpoint: &Checkpoint,
    report: &ReplayReport,
    what: &str,
) -> Result<(), CliError> {
    match report.roots.get(&checkpoint.size) {
        None => Err(CliError::Failed(format!(
            "the {what} covers {} entries but the log has only {}: entries were removed",
            checkpoint.size, report.entries
        ))),
        Some(root) if *root != checkpoint.root => Err(CliError::Failed(format!(
            "the root recomputed from the first {} leaves ({}) differs from the {what}'s ({})",
            checkpoint.size,
            hash::to_hex(root),
            hash::to_hex(&checkpoint.root)
        ))),
        Some(_) => Ok(()),
    }
}

/// The log the current checkpoint signs extends the one the previous checkpoint signed.
fn check_extends(
    previous: &Checkpoint,
    current: &Checkpoint,
    report: &ReplayReport,
) -> Result<(), CliError> {
    if previous.size > current.size {
        return Err(CliError::Failed(format!(
            "inconsistent checkpoints: the previous checkpoint has {} entries, the current one only {}",
            previous.size, current.size
        )));
    }
    check_against(previous, report, "previous checkpoint").map_err(|e| {
        CliError::Failed(format!(
            "inconsistent checkpoints: {e}: history was rewritten or forked"
        ))
    })
}

/// NDJSON leaf lines, indices consecutive from 0, decoded on all cores; an error names the
/// first bad line.
fn parse_leaves(text: &str, name: &str) -> Result<Vec<Vec<u8>>, CliError> {
    let lines: Vec<&str> = text.lines().collect();
    let leaves: Vec<Result<Vec<u8>, CliError>> = lines
        .par_iter()
        .enumerate()
        .map(|(i, line)| {
            let (index, leaf) = parse_leaf_line(line)
                .map_err(|e| CliError::input_because(format!("{name}:{}", i + 1), e))?;
            if index != i as u64 {
                return Err(CliError::Failed(format!(
                    "verification failed at leaf {i}: the export holds index {index} there (missing or reordered leaves)"
                )));
            }
            Ok(leaf)
        })
        .collect();
    leaves.into_iter().collect()
}
