//! Opening the load benches' project: contributions need an opened project (protocol v2).

use crate::server::{BenchResult, Server};

/// The two entries that open `project` to every registered actor: the log operator
/// (`server_key`) registers the platform `bench-owner` (key `owner`), which opens it.
/// Contributions need an opened project (protocol v2).
pub fn project_opening(
    server_key: &fairshare::crypto::SecretKey,
    owner: &fairshare::crypto::SecretKey,
    project: &str,
    ts: &str,
) -> BenchResult<[serde_json::Value; 2]> {
    let entry = |key: &fairshare::crypto::SecretKey, entry_type: &str, body: serde_json::Value| {
        let envelope = serde_json::json!({
            "v": 3, "type": entry_type, "actor": "bench-owner", "key": key.public_key().key_id().to_string(),
            "nonce": format!("bench-owner-{entry_type}"), "ts": ts, "body": body,
        });
        fairshare::entry::envelope::sign_envelope(&envelope, key, &[])
    };
    Ok([
        entry(
            server_key,
            "actor.registered",
            serde_json::json!({"kind": "platform", "public_key": owner.public_key().to_base64()}),
        )?,
        entry(
            owner,
            "project.opened",
            serde_json::json!({"project": project, "currency": "EUR", "membership": "open"}),
        )?,
    ])
}

/// Opens `project` on the running `server` whose key is in `data_dir` (see [`project_opening`]).
pub async fn open_project(
    client: &reqwest::Client,
    server: &Server,
    data_dir: &std::path::Path,
    project: &str,
) -> BenchResult<()> {
    let server_key = fairshare::keyfile::read(&data_dir.join("server.key"))?;
    let owner = fairshare::crypto::SecretKey::generate()?;
    let ts = fairshare::entry::envelope::format_timestamp(chrono::Utc::now());
    for entry in project_opening(&server_key, &owner, project, &ts)? {
        submit_new(client, server, &entry, &format!("opening {project}")).await?;
    }
    Ok(())
}

/// Submits one entry that must be appended (201); else an error naming `what`.
pub async fn submit_new(
    client: &reqwest::Client,
    server: &Server,
    entry: &serde_json::Value,
    what: &str,
) -> BenchResult<()> {
    let response = client
        .post(format!("{}/v1/entries", server.base))
        .json(entry)
        .send()
        .await?;
    if response.status().as_u16() != 201 {
        return Err(format!("{what}: {}", response.text().await?).into());
    }
    Ok(())
}
