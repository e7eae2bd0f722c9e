//! Solver limits in the log: the server publishes its limits with a `limits.set` entry when
//! they differ from those in force; a policy whose worst case exceeds them is refused, and
//! so is a realized value whose measured game would; the verifier replays it all.

use crate::allocator::{adopt_text, sampling_policy};
use crate::helpers::{Actor, PUBLIC_READS, TestApp, fresh_database, spawn_app_on};
use serde_json::{Value, json};

const LIMITS: [&str; 9] = [
    "--limit-exact-players",
    "12",
    "--limit-sampled-marginals",
    "100000",
    "--limit-measured-players",
    "4",
    "--limit-measurements",
    "6",
    PUBLIC_READS,
];

async fn limits_entries(app: &TestApp) -> Vec<Value> {
    let size = app.log_size().await;
    let mut found = Vec::new();
    for seq in 0..size {
        let (_, entry) = app.get(&format!("/v1/entries/{seq}")).await;
        if entry["type"] == "limits.set" {
            found.push(entry);
        }
    }
    found
}

fn measure(shop: &Actor, members: &[&Actor]) -> Value {
    let members: Vec<&str> = members.iter().map(|a| a.id.as_str()).collect();
    shop.sign(
        "coalition.measured",
        json!({"project": "trial", "members": members, "value": "10"}),
    )
}

fn assert_limit(status: u16, problem: &Value, field: &str, limit: &str) {
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "urn:fairshare:problem:limit-exceeded");
    assert_eq!(problem["field"], field, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains(limit)),
        "{problem}"
    );
}

#[tokio::test]
async fn limits_are_published_and_bound_policies_and_realized_values() {
    let (url, name) = fresh_database().await;
    let data_dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app_on(url, name, data_dir, &LIMITS).await;
    let published = limits_entries(&app).await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0]["actor"], "server");
    assert_eq!(
        published[0]["envelope"]["body"],
        json!({"exact_players": 12, "sampled_marginals": 100000, "measured_players": 4, "measurements": 6})
    );

    let shop = Actor::new("shop");
    app.register_by_operator(&shop, "platform").await;
    // Worst cases: 20 players solved exactly; 30,000 permutations of 4 players.
    let (status, problem) = app
        .post(&shop.sign("policy.adopted", {
            let text = std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/policies/measured.toml"
            ))
            .expect("policy");
            let hash = format!(
                "blake3:{}",
                fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(text.as_bytes()))
            );
            json!({"name": "measured", "text": text, "hash": hash})
        }))
        .await;
    assert_limit(status, &problem, "envelope.body.text", "exact_players");
    let text = sampling_policy(30_000);
    let hash = format!(
        "blake3:{}",
        fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(text.as_bytes()))
    );
    let (status, problem) = app
        .post(&shop.sign(
            "policy.adopted",
            json!({"name": "heavy", "text": text, "hash": hash}),
        ))
        .await;
    assert_limit(status, &problem, "envelope.body.text", "sampled_marginals");
    let policy = adopt_text(&app, &shop, &sampling_policy(25_000)).await;
    app.open_project_as(&shop, "trial", &[&policy], "open")
        .await;

    // Five measured players: one more than the limit allows.
    let players: Vec<Actor> = (0..5).map(|i| Actor::new(&format!("m{i}"))).collect();
    for p in &players {
        app.register(p, "human").await;
    }
    let contribution = players[0].sign(
        "contribution",
        json!({"project": "trial", "kind": "text", "measure": {"quantity": "5", "unit": "words"},
               "evidence": format!("commit:{}", "1e".repeat(32))}),
    );
    assert_eq!(app.post(&contribution).await.0, 201);
    for members in [&players[..2], &players[2..4]] {
        let refs: Vec<&Actor> = members.iter().collect();
        assert_eq!(app.post(&measure(&shop, &refs)).await.0, 201);
    }
    let realize = || {
        shop.sign(
            "value.realized",
            json!({"project": "trial", "amount": "10.00", "currency": "EUR", "policy": policy}),
        )
    };
    let (status, receipt) = app.post(&realize()).await;
    assert_eq!(status, 201, "four players are within the limit: {receipt}");
    assert_eq!(app.post(&measure(&shop, &[&players[4]])).await.0, 201);
    let size = app.log_size().await;
    let (status, problem) = app.post(&realize()).await;
    assert_limit(
        status,
        &problem,
        "envelope.body.project",
        "measured_players",
    );
    assert_eq!(app.log_size().await, size, "nothing was stored");

    // The same limits again after a restart: nothing new in the log. Lower ones: a new
    // entry, under which the adopted policy's worst case no longer fits.
    let TestApp {
        server,
        database_url,
        database,
        data_dir,
        ..
    } = app;
    server.stop().await;
    let app = spawn_app_on(database_url.clone(), database.clone(), data_dir, &LIMITS).await;
    assert_eq!(limits_entries(&app).await.len(), 1);
    let TestApp {
        server, data_dir, ..
    } = app;
    server.stop().await;
    let mut lower = LIMITS;
    lower[3] = "50000";
    lower[5] = "10";
    let app = spawn_app_on(database_url, database, data_dir, &lower).await;
    assert_eq!(limits_entries(&app).await.len(), 2);
    let (status, problem) = app.post(&realize()).await;
    assert_limit(
        status,
        &problem,
        "envelope.body.policy",
        "sampled_marginals",
    );

    // The verifier replays both `limits.set` entries and reproduces the allocation.
    crate::allocations::wait_for_allocation(&app, receipt["id"].as_str().expect("id")).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, key) = crate::helpers::text(&app, "/v1/log/key").await;
    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_fairshare"))
            .args(["verify", "--log", &base, "--log-key", key.trim()])
            .output()
            .expect("runs")
    })
    .await
    .expect("verify ran");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    app.server.stop().await;
}
