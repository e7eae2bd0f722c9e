//! The allocator works on projects independently: a long allocation of one project does not
//! hold up a short one of another, after a restart too, and every allocation's state is
//! served while it runs.

use crate::helpers::{Actor, PUBLIC_READS, TestApp, spawn_app_on};
use serde_json::{Value, json};
use std::time::Duration;

/// Players of the heavy project's measured game: beyond the policy's exact limit.
const PLAYERS: usize = 24;
/// Permutations the heavy policy samples: tens of seconds of one core in a debug build.
pub(crate) const HEAVY_SAMPLES: u64 = 400_000;
/// Limits under which the heavy policy may be adopted: 400,000 permutations of at most 24
/// players are within the default 10^7 marginal evaluations.
const LIMITS: [&str; 3] = [PUBLIC_READS, "--limit-measured-players", "24"];

/// A policy that samples the measured game `samples` times.
pub(crate) fn sampling_policy(samples: u64) -> String {
    format!(
        "name = \"heavy\"\n\n[[weights]]\nkind = \"*\"\nunit = \"*\"\nweight = 1\n\n\
         [measured]\nfill = \"max-subset\"\nscale = 1\n\n\
         [solver]\nexact_limit = 1\nsamples = {samples}\n"
    )
}

/// Adopts `text` as `platform`; returns its hash.
pub(crate) async fn adopt_text(app: &TestApp, platform: &Actor, text: &str) -> String {
    let hash = format!(
        "blake3:{}",
        fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(text.as_bytes()))
    );
    let entry = platform.sign(
        "policy.adopted",
        json!({"name": "heavy", "text": text, "hash": hash}),
    );
    let (status, body) = app.post(&entry).await;
    assert_eq!(status, 201, "{body}");
    hash
}

/// Project `heavy`: a contribution and measurements of singletons, neighbours and the
/// whole team of [`PLAYERS`] self-registered humans, all posted as one batch.
async fn heavy_project(app: &TestApp, platform: &Actor) {
    let players: Vec<Actor> = (0..PLAYERS)
        .map(|i| Actor::new(&format!("p{i:02}")))
        .collect();
    let mut entries: Vec<Value> = players.iter().map(|p| p.registration("human")).collect();
    entries.push(players[0].sign(
        "contribution",
        json!({"project": "heavy", "kind": "text", "measure": {"quantity": "10", "unit": "words"},
               "evidence": format!("commit:{}", "3c".repeat(32))}),
    ));
    let measure = |members: Vec<&str>, worth: usize| {
        platform.sign(
            "coalition.measured",
            json!({"project": "heavy", "members": members, "value": worth.to_string()}),
        )
    };
    for i in 0..PLAYERS {
        entries.push(measure(vec![&players[i].id], i + 1));
        let next = &players[(i + 1) % PLAYERS].id;
        entries.push(measure(vec![&players[i].id, next], 3 * i + 5));
    }
    entries.push(measure(
        players.iter().map(|p| p.id.as_str()).collect(),
        5000,
    ));
    let (status, body) = app.post(&json!({ "entries": entries })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rejected"], 0, "{body}");
}

async fn realize(app: &TestApp, platform: &Actor, project: &str, policy: &str) -> String {
    let value = platform.sign(
        "value.realized",
        json!({"project": project, "amount": "100.00", "currency": "EUR", "policy": policy}),
    );
    let (status, receipt) = app.post(&value).await;
    assert_eq!(status, 201, "{receipt}");
    receipt["id"].as_str().expect("id").to_owned()
}

/// The allocation of `value_id`, waiting at most `bound` for it.
async fn allocated_within(app: &TestApp, value_id: &str, bound: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + bound;
    while tokio::time::Instant::now() < deadline {
        let (status, body) = app.get(&format!("/v1/allocations/{value_id}")).await;
        if status == 200 {
            return Some(body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// A bound far above what a small allocation takes, far below the heavy one.
const SMALL_BOUND: Duration = Duration::from_secs(15);

/// Asserts the heavy allocation is still being solved, and the allocator says so.
async fn assert_heavy_still_solving(app: &TestApp, heavy: &str) {
    let (status, _) = app.get(&format!("/v1/allocations/{heavy}")).await;
    assert_eq!(status, 404, "the heavy allocation is not done yet");
    let (status, progress) = app.get(&format!("/v1/allocations/{heavy}/status")).await;
    assert_eq!(status, 200, "{progress}");
    assert_eq!(progress["state"], "running", "{progress}");
    assert_eq!(progress["step"], "solving", "{progress}");
    assert_eq!(progress["project"], "heavy", "{progress}");
    let (_, overview) = app.get("/v1/allocator").await;
    let running = overview["running"].as_array().expect("running");
    assert!(
        running.iter().any(|r| r["value_entry"] == heavy),
        "{overview}"
    );
}

#[tokio::test]
async fn a_heavy_allocation_does_not_hold_up_another_project_even_after_a_restart() {
    let (url, name) = crate::helpers::fresh_database().await;
    let data_dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app_on(url, name, data_dir, &LIMITS).await;
    let shop = Actor::new("shop");
    app.register_by_operator(&shop, "platform").await;
    let heavy_policy = adopt_text(&app, &shop, &sampling_policy(HEAVY_SAMPLES)).await;
    let light_policy = app.adopt_policy(&shop, "proportional").await;
    app.open_project_as(&shop, "heavy", &[&heavy_policy], "open")
        .await;
    app.open_project_as(&shop, "light", &[&light_policy], "open")
        .await;
    heavy_project(&app, &shop).await;
    let author = Actor::new("author");
    app.register(&author, "human").await;
    let light = |count: &str| {
        author.sign(
            "contribution",
            json!({"project": "light", "kind": "text", "measure": {"quantity": count, "unit": "words"},
                   "evidence": format!("commit:{}", "4d".repeat(32))}),
        )
    };
    let (status, body) = app.post(&light("500")).await;
    assert_eq!(status, 201, "{body}");

    let heavy = realize(&app, &shop, "heavy", &heavy_policy).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let first = realize(&app, &shop, "light", &light_policy).await;
    let allocation = allocated_within(&app, &first, SMALL_BOUND).await;
    assert!(
        allocation.is_some_and(|a| a["body"]["status"] == "ok"),
        "the light project's allocation waited for the heavy one"
    );
    assert_heavy_still_solving(&app, &heavy).await;
    let (_, progress) = app.get(&format!("/v1/allocations/{first}/status")).await;
    assert_eq!(progress["state"], "done", "{progress}");
    assert!(progress["allocation"].is_string(), "{progress}");
    assert!(progress["solve_ms"].is_u64(), "{progress}");

    // A restart while the heavy allocation runs: it is pending again, and solved again,
    // beside the light project's next value rather than before it.
    let TestApp {
        server,
        database_url,
        database,
        data_dir,
        ..
    } = app;
    server.stop().await;
    let app = spawn_app_on(database_url, database, data_dir, &LIMITS).await;
    let (_, progress) = app.get(&format!("/v1/allocations/{heavy}/status")).await;
    assert_ne!(progress["state"], "done", "{progress}");
    let (status, body) = app.post(&light("700")).await;
    assert_eq!(status, 201, "{body}");
    let second = realize(&app, &shop, "light", &light_policy).await;
    let allocation = allocated_within(&app, &second, SMALL_BOUND).await;
    assert!(
        allocation.is_some(),
        "after a restart, the light project's allocation waited for the heavy one"
    );
    assert_heavy_still_solving(&app, &heavy).await;
    app.server.stop().await;
}
