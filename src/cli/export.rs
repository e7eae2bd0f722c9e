//! `fairshare export`: the whole log as NDJSON (`{"index", "leaf"}` per line) up to the
//! latest checkpoint, saved beside it as FILE.checkpoint; resumes where a file ends.

use super::CliError;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::Write;
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
}

pub async fn run(args: &ExportArgs) -> Result<(), CliError> {
    let base = args.server.trim_end_matches('/');
    let client = reqwest::Client::new();
    let note = get_text(&client, &format!("{base}/v1/log/checkpoint")).await?;
    let size: u64 = note
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| CliError::Failed("the server's checkpoint has no tree size".into()))?;
    let mut next = complete_lines(&args.out)?;
    let progress = ProgressBar::new(size);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} leaves {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_position(next.min(size));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&args.out)
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.out.display())))?;
    while next < size {
        let page = get_text(
            &client,
            &format!("{base}/v1/log/entries?start={next}&end={size}"),
        )
        .await?;
        let mut count = 0;
        for line in page.lines() {
            let value: Value = serde_json::from_str(line)
                .map_err(|e| CliError::Failed(format!("bad page line: {e}")))?;
            if value["index"].as_u64() != Some(next) {
                return Err(CliError::Failed(format!(
                    "expected leaf {next}, the server sent {}",
                    value["index"]
                )));
            }
            writeln!(file, "{line}").map_err(|e| CliError::Failed(e.to_string()))?;
            next += 1;
            count += 1;
        }
        if count == 0 {
            return Err(CliError::Failed(format!(
                "the server sent no leaves from {next}, below its checkpoint size {size}"
            )));
        }
        progress.set_position(next);
    }
    file.sync_all()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    progress.finish_and_clear();
    let checkpoint_path = checkpoint_path(&args.out);
    std::fs::write(&checkpoint_path, &note)
        .map_err(|e| CliError::Failed(format!("{}: {e}", checkpoint_path.display())))?;
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

/// Counts the complete lines of an earlier export, cutting a partly written last line.
fn complete_lines(path: &Path) -> Result<u64, CliError> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(0);
    };
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if complete < bytes.len() {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| CliError::Failed(e.to_string()))?;
        file.set_len(complete as u64)
            .map_err(|e| CliError::Failed(e.to_string()))?;
    }
    Ok(bytes[..complete].iter().filter(|b| **b == b'\n').count() as u64)
}

pub(super) async fn get_text(client: &reqwest::Client, url: &str) -> Result<String, CliError> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| CliError::Failed(format!("cannot reach {url}: {e}")))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| CliError::Failed(format!("{url}: {e}")))?;
    if !status.is_success() {
        return Err(CliError::Failed(format!("{url} answered {status}: {body}")));
    }
    Ok(body)
}
