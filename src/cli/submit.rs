//! `fairshare submit`: one entry, or NDJSON of many sent in batches with a progress bar.

use super::{CliError, read_input};
use crate::client::LogClient;
use crate::server::at_least_one_up_to;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SubmitArgs {
    /// Server base URL.
    #[arg(
        long,
        env = "FAIRSHARE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// Entries per batch request (1 to 1,000,000; the server takes at most its --max-batch-entries).
    #[arg(long, default_value_t = 1000, value_parser = at_least_one_up_to(1_000_000))]
    batch: usize,
    /// A signed entry (JSON) or many (NDJSON, one per line).
    file: PathBuf,
}

pub async fn run(args: &SubmitArgs) -> Result<(), CliError> {
    let text = read_input(&args.file)?;
    let entries = parse_entries(&text, &args.file.display().to_string())?;
    let client = LogClient::new(&args.server);
    if let [entry] = entries.as_slice() {
        println!("{}", client.submit(entry).await?);
        return Ok(());
    }
    let progress = ProgressBar::new(entries.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} entries {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rejected = 0usize;
    for (batch_index, batch) in entries.chunks(args.batch).enumerate() {
        let answer = client.submit_batch(batch).await.map_err(|e| {
            progress.abandon();
            CliError::failed_because(format!("batch {batch_index}"), e)
        })?;
        for (i, result) in answer.results.iter().enumerate() {
            if result.get("seq").is_none() {
                rejected += 1;
                progress
                    .suspend(|| eprintln!("line {}: {result}", batch_index * args.batch + i + 1));
            }
        }
        progress.inc(batch.len() as u64);
    }
    progress.finish_and_clear();
    println!("{} accepted, {rejected} rejected", entries.len() - rejected);
    if rejected > 0 {
        Err(CliError::Failed(format!("{rejected} entries were refused")))
    } else {
        Ok(())
    }
}

/// One JSON entry, or NDJSON with one entry per non-empty line.
fn parse_entries(text: &str, name: &str) -> Result<Vec<Value>, CliError> {
    if let Ok(single @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
        return Ok(vec![single]);
    }
    let entries: Vec<Value> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| CliError::input_because(format!("{name}:{}: not JSON", i + 1), e))
        })
        .collect::<Result<_, _>>()?;
    if entries.is_empty() {
        return Err(CliError::Input(format!("{name} holds no entries")));
    }
    Ok(entries)
}
