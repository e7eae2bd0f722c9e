//! `fairshare submit`: one entry, or NDJSON of many sent in batches with a progress bar.

use super::{CliError, read_input};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
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
    /// Entries per batch request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// A signed entry (JSON) or many (NDJSON, one per line).
    file: PathBuf,
}

pub async fn run(args: &SubmitArgs) -> Result<(), CliError> {
    let text = read_input(&args.file)?;
    let entries = parse_entries(&text, &args.file.display().to_string())?;
    let url = format!("{}/v1/entries", args.server.trim_end_matches('/'));
    let client = reqwest::Client::new();
    if entries.len() == 1 {
        let (status, body) = post(&client, &url, &entries[0]).await?;
        println!("{body}");
        return if status.is_success() {
            Ok(())
        } else {
            Err(CliError::Failed(format!(
                "the server refused the entry ({status})"
            )))
        };
    }
    let progress = ProgressBar::new(entries.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} entries {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rejected = 0usize;
    for (batch_index, batch) in entries.chunks(args.batch.max(1)).enumerate() {
        let (status, body) = post(&client, &url, &json!({"entries": batch})).await?;
        if !status.is_success() {
            progress.abandon();
            return Err(CliError::Failed(format!(
                "batch {batch_index} refused ({status}): {body}"
            )));
        }
        for (i, result) in body["results"].as_array().into_iter().flatten().enumerate() {
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
                .map_err(|e| CliError::Input(format!("{name}:{}: not JSON: {e}", i + 1)))
        })
        .collect::<Result<_, _>>()?;
    if entries.is_empty() {
        return Err(CliError::Input(format!("{name} holds no entries")));
    }
    Ok(entries)
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
) -> Result<(reqwest::StatusCode, Value), CliError> {
    let response = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| CliError::Failed(format!("cannot reach {url}: {e}")))?;
    let status = response.status();
    let body = response
        .json::<Value>()
        .await
        .map_err(|e| CliError::Failed(format!("unreadable answer from {url}: {e}")))?;
    Ok((status, body))
}
