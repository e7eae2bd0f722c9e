//! `fairshare verify`: check an exported log offline against the log's key and checkpoints.

use super::export::{checkpoint_path, get_text};
use super::{CliError, read_input};
use crate::allocation::reproduce::Reproducer;
use crate::crypto::{PublicKey, b64_decode, hash};
use crate::ledger::checkpoint::{Checkpoint, NoteVerifier, open_checkpoint};
use crate::ledger::replay::replay;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::borrow::Cow;
use std::path::PathBuf;

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
    let key_text = match std::fs::read_to_string(&args.log_key) {
        Ok(text) => text,
        Err(_) => args.log_key.clone(),
    };
    let verifier = NoteVerifier::from_vkey(key_text.trim())
        .map_err(|e| CliError::Input(format!("--log-key: {e}")))?;
    let server_key = PublicKey::from_bytes(verifier.public_key().as_bytes())
        .map_err(|e| CliError::Input(format!("--log-key: {e}")))?;
    let is_url = args.log.starts_with("http://") || args.log.starts_with("https://");

    let (leaves, note) = if is_url {
        let base = args.log.trim_end_matches('/');
        let client = reqwest::Client::new();
        let note = match &args.checkpoint {
            Some(path) => read_input(path)?,
            None => get_text(&client, &format!("{base}/v1/log/checkpoint")).await?,
        };
        let (mut text, mut start) = (String::new(), 0);
        loop {
            let page = get_text(&client, &format!("{base}/v1/log/entries?start={start}")).await?;
            if page.is_empty() {
                break;
            }
            start += page.lines().count();
            text.push_str(&page);
        }
        (parse_leaves(&text, &args.log)?, note)
    } else {
        let path = PathBuf::from(&args.log);
        let note = read_input(args.checkpoint.as_ref().unwrap_or(&checkpoint_path(&path)))?;
        (parse_leaves(&read_input(&path)?, &args.log)?, note)
    };

    let (checkpoint, _) = open_checkpoint(&note, std::slice::from_ref(&verifier))
        .map_err(|e| CliError::Input(format!("checkpoint: {e}")))?;
    let previous = match &args.previous_checkpoint {
        Some(path) => {
            let (previous, _) =
                open_checkpoint(&read_input(path)?, std::slice::from_ref(&verifier))
                    .map_err(|e| CliError::Input(format!("--previous-checkpoint: {e}")))?;
            Some(previous)
        }
        None => None,
    };

    let progress = ProgressBar::new(leaves.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{msg:22} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if leaves.len() < 100_000 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let sizes: Vec<u64> = std::iter::once(checkpoint.size)
        .chain(previous.as_ref().map(|p| p.size))
        .collect();
    let report = tokio::task::spawn_blocking(move || {
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
    .map_err(|e| CliError::Failed(e.to_string()))?
    .map_err(|bad| CliError::Failed(format!("verification failed at {bad}")))?;

    check_against(&checkpoint, &report.roots, report.entries, "checkpoint")?;
    if let Some(previous) = &previous {
        if previous.size > checkpoint.size {
            return Err(CliError::Failed(format!(
                "inconsistent checkpoints: the previous checkpoint has {} entries, the current one only {}",
                previous.size, checkpoint.size
            )));
        }
        check_against(
            previous,
            &report.roots,
            report.entries,
            "previous checkpoint",
        )
        .map_err(|e| {
            CliError::Failed(format!(
                "inconsistent checkpoints: {e}: history was rewritten or forked"
            ))
        })?;
    }
    println!(
        "ok: {} entries, {} actors; every signature, leaf and rule checked, every allocation recomputed; root {} matches the checkpoint of size {}{}",
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

fn check_against(
    checkpoint: &Checkpoint,
    roots: &std::collections::HashMap<u64, [u8; 32]>,
    entries: u64,
    what: &str,
) -> Result<(), CliError> {
    match roots.get(&checkpoint.size) {
        None => Err(CliError::Failed(format!(
            "the {what} covers {} entries but the log has only {entries}: entries were removed",
            checkpoint.size
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

/// One line of an export. Base64 needs no escapes, so the leaf is borrowed from the text
/// unless a writer escaped it anyway.
#[derive(serde::Deserialize)]
struct ExportLine<'a> {
    index: u64,
    #[serde(borrow)]
    leaf: Cow<'a, str>,
}

/// NDJSON `{"index", "leaf"}` lines, indices consecutive from 0, decoded on all cores; an
/// error names the first bad line.
fn parse_leaves(text: &str, name: &str) -> Result<Vec<Vec<u8>>, CliError> {
    let lines: Vec<&str> = text.lines().collect();
    let leaves: Vec<Result<Vec<u8>, CliError>> = lines
        .par_iter()
        .enumerate()
        .map(|(i, line)| {
            let line: ExportLine = serde_json::from_str(line)
                .map_err(|e| CliError::Input(format!("{name}:{}: {e}", i + 1)))?;
            if line.index != i as u64 {
                return Err(CliError::Failed(format!(
                    "verification failed at leaf {i}: the export holds index {} there (missing or reordered leaves)",
                    line.index
                )));
            }
            b64_decode(&line.leaf).map_err(|e| CliError::Input(format!("{name}:{}: {e}", i + 1)))
        })
        .collect();
    leaves.into_iter().collect()
}
