//! `fairshare export`: the whole log as NDJSON (`{"index", "leaf"}` per line) up to the
//! latest checkpoint, saved beside it as FILE.checkpoint; resumes where a file ends. The
//! leaves are checked against the checkpoint as they arrive: a file is finished only when
//! they are the leaves it signs.

use super::CliError;
use crate::client::SignedCheckpoint;
use crate::client::layout::{leaf_line, parse_leaf_line};
use crate::ledger::merkle::{Frontier, leaf_hash};
use crate::ledger::replay::BadLeaf;
use crate::service::describe;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Server base URL.
    #[arg(
        long,
        env = "FAIRSHARE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// Output file (NDJSON); an existing file is continued.
    #[arg(long)]
    out: PathBuf,
    /// Leaf pages are for regulators and auditors unless the server runs with
    /// --public-reads.
    #[command(flatten)]
    sign_as: super::request::SignAs,
}

pub async fn run(args: &ExportArgs) -> Result<(), CliError> {
    let client = args.sign_as.client(&args.server)?;
    let verifier = client.log_key().await?;
    let SignedCheckpoint { checkpoint, note } = client.checkpoint(&verifier).await?;
    let size = checkpoint.size;
    let held = leaves_held(&args.out)?;
    let progress = ProgressBar::new(size);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} leaves {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_position(held.size().min(size));
    let writing = |e: std::io::Error| {
        CliError::failed_because(format!("cannot write {}", args.out.display()), e)
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&args.out)
        .map_err(writing)?;
    let mut leaves = client.leaves(checkpoint, held);
    while let Some(page) = leaves.next_page().await? {
        for leaf in &page {
            writeln!(file, "{}", leaf_line(leaf.index, &leaf.bytes)).map_err(writing)?;
        }
        progress.set_position(leaves.position());
    }
    leaves.verify_root()?;
    file.sync_all().map_err(writing)?;
    progress.finish_and_clear();
    let checkpoint_path = checkpoint_path(&args.out);
    std::fs::write(&checkpoint_path, &note).map_err(|e| {
        CliError::failed_because(format!("cannot write {}", checkpoint_path.display()), e)
    })?;
    println!(
        "{size} leaves in {}, checkpoint in {}",
        args.out.display(),
        checkpoint_path.display()
    );
    Ok(())
}

/// Where export saves the checkpoint that the exported log must match.
pub fn checkpoint_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".checkpoint");
    PathBuf::from(name)
}

/// The tree of the leaves an earlier export wrote to `path` (empty if there is none), after
/// cutting a partly written last line.
fn leaves_held(path: &Path) -> Result<Frontier, CliError> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(Frontier::new());
    };
    let resuming = |e: std::io::Error| {
        CliError::failed_because(format!("cannot resume {}", path.display()), e)
    };
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if complete < bytes.len() {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(resuming)?;
        file.set_len(complete as u64).map_err(resuming)?;
    }
    let text = std::str::from_utf8(&bytes[..complete])
        .map_err(|e| CliError::input_because(format!("{} is not text", path.display()), e))?;
    let mut frontier = Frontier::new();
    for (number, line) in text.lines().enumerate() {
        let (index, leaf) = parse_leaf_line(line).map_err(|e| {
            CliError::input_because(format!("{}:{}", path.display(), number + 1), e)
        })?;
        if index != frontier.size() {
            return Err(CliError::Input(format!(
                "{}:{}: holds leaf {index} where leaf {} belongs",
                path.display(),
                number + 1,
                frontier.size()
            )));
        }
        frontier
            .append_with(leaf_hash(&leaf), |_, _| {})
            .map_err(|e| CliError::input_because(path.display().to_string(), e))?;
    }
    Ok(frontier)
}

/// Leaves read from an export file and replayed at once.
const WINDOW: usize = 1 << 13;

/// An export file, a window of decoded leaves at a time; a line that does not read, or holds
/// another index than its position, is the bad leaf.
pub(super) struct ExportReader<R> {
    lines: std::io::Lines<R>,
    name: String,
    next: u64,
    done: bool,
}

impl<R: BufRead> ExportReader<R> {
    pub(super) fn new(reader: R, path: &Path) -> Self {
        Self {
            lines: reader.lines(),
            name: path.display().to_string(),
            next: 0,
            done: false,
        }
    }

    fn read_window(&mut self) -> Result<Vec<String>, BadLeaf> {
        let mut lines = Vec::with_capacity(WINDOW);
        while lines.len() < WINDOW {
            match self.lines.next() {
                Some(Ok(line)) => lines.push(line),
                Some(Err(e)) => {
                    return Err(BadLeaf {
                        index: self.next + lines.len() as u64,
                        reason: format!("cannot read {}: {e}", self.name),
                    });
                }
                None => break,
            }
        }
        Ok(lines)
    }
}

impl<R: BufRead> Iterator for ExportReader<R> {
    type Item = Result<Vec<Vec<u8>>, BadLeaf>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let lines = match self.read_window() {
            Ok(lines) if lines.is_empty() => return None,
            Ok(lines) => lines,
            Err(bad) => {
                self.done = true;
                return Some(Err(bad));
            }
        };
        let first = self.next;
        self.next += lines.len() as u64;
        let decoded: Vec<Result<Vec<u8>, BadLeaf>> = lines
            .par_iter()
            .enumerate()
            .map(|(offset, line)| decode_line(line, first + offset as u64))
            .collect();
        // The first bad line, not whichever a parallel collect meets first.
        let window: Result<Vec<Vec<u8>>, BadLeaf> = decoded.into_iter().collect();
        self.done = window.is_err();
        Some(window)
    }
}

fn decode_line(line: &str, index: u64) -> Result<Vec<u8>, BadLeaf> {
    let bad = |reason: String| BadLeaf { index, reason };
    let (held, leaf) = parse_leaf_line(line).map_err(|e| bad(describe(&e)))?;
    if held != index {
        return Err(bad(format!(
            "the export holds index {held} there (missing or reordered leaves)"
        )));
    }
    Ok(leaf)
}
