//! Allocation end to end: a value realized under an adopted policy is allocated by the
//! server, and the allocation is served with its breakdown.

use crate::helpers::{Actor, TestApp, admin_connection, spawn_public_app};
use serde_json::{Value, json};
use sqlx::Executor;

pub(crate) fn words(actor: &Actor, count: &str) -> Value {
    actor.sign(
        "contribution",
        json!({"project": "novel", "kind": "text", "measure": {"quantity": count, "unit": "words"},
               "evidence": format!("commit:{}", "2b".repeat(32))}),
    )
}

pub(crate) async fn wait_for_allocation(app: &TestApp, value_id: &str) -> Value {
    for _ in 0..200 {
        let (status, body) = app.get(&format!("/v1/allocations/{value_id}")).await;
        if status == 200 {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no allocation for {value_id}");
}

/// Alice writes 1,000 words and Bob 3,000 under the proportional policy; the shop realizes
/// 100.00 EUR. Returns the app, the policy hash and the value entry's id.
pub(crate) async fn two_authors_and_a_value() -> (TestApp, String, String) {
    let app = spawn_public_app().await;
    let (alice, bob, shop) = (Actor::new("alice"), Actor::new("bob"), Actor::new("shop"));
    app.register(&alice, "human").await;
    app.register(&bob, "human").await;
    app.register_by_operator(&shop, "platform").await;
    let policy = app.adopt_policy(&shop, "proportional").await;
    app.open_project_as(&shop, "novel", &[&policy], "open")
        .await;
    app.post(&words(&alice, "1000")).await;
    app.post(&words(&bob, "3000")).await;
    let value = shop.sign(
        "value.realized",
        json!({"project": "novel", "amount": "100.00", "currency": "EUR", "policy": policy}),
    );
    let (status, receipt) = app.post(&value).await;
    assert_eq!(status, 201, "{receipt}");
    let value_id = receipt["id"].as_str().expect("id").to_owned();
    (app, policy, value_id)
}

#[tokio::test]
async fn a_realized_value_is_allocated_and_served() {
    let (app, policy, value_id) = two_authors_and_a_value().await;
    let value_id = value_id.as_str();

    // Proportional: worths 1000 × 0.01 = 10 and 3000 × 0.01 = 30 of 40, so 25.00 and 75.00.
    let allocation = wait_for_allocation(&app, value_id).await;
    assert_eq!(allocation["type"], "allocation");
    assert_eq!(allocation["actor"], "server");
    let body = &allocation["body"];
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["value_entry"], value_id);
    let payout = |actor: &str| {
        body["allocation"]["recipients"]
            .as_array()
            .expect("recipients")
            .iter()
            .find(|r| r["actor"] == actor)
            .map(|r| r["amount"].clone())
    };
    assert_eq!(payout("alice"), Some(json!("25.00")), "{body}");
    assert_eq!(payout("bob"), Some(json!("75.00")), "{body}");
    // Three registrations, the policy, the project's opening and two contributions precede
    // the value entry (seq 7).
    assert_eq!(
        body["tree_size"], 8,
        "the inputs are the log up to the value entry"
    );
    // The entry records the figures; the breakdown is recomputed for the reader.
    assert!(
        body["allocation"]["players"][0].get("breakdown").is_none(),
        "{body}"
    );
    let breakdown = allocation["breakdown"]["players"]
        .as_array()
        .expect("breakdown");
    assert_eq!(breakdown.len(), 2);
    assert!(
        breakdown
            .iter()
            .all(|p| p["breakdown"].as_array().is_some_and(|b| !b.is_empty())),
        "{allocation}"
    );
    assert_eq!(allocation["breakdown"]["total_players"], 2);

    // One player's breakdown, or a page of players in actor order.
    let players_of = |query: &str| {
        let query = query.to_owned();
        let app = &app;
        async move {
            let (status, shown) = app
                .get(&format!("/v1/allocations/{value_id}?{query}"))
                .await;
            assert_eq!(status, 200, "{shown}");
            let actors: Vec<String> = shown["breakdown"]["players"]
                .as_array()
                .expect("players")
                .iter()
                .map(|p| p["actor"].as_str().unwrap_or_default().to_owned())
                .collect();
            (actors, shown["breakdown"]["total_players"].clone())
        }
    };
    assert_eq!(
        players_of("actor=bob").await,
        (vec!["bob".to_owned()], json!(1))
    );
    assert_eq!(players_of("actor=carol").await, (vec![], json!(0)));
    assert_eq!(
        players_of("offset=1&limit=1").await,
        (vec!["bob".to_owned()], json!(2))
    );
    assert_eq!(
        players_of("limit=1").await,
        (vec!["alice".to_owned()], json!(2))
    );
    assert_eq!(players_of("offset=5").await, (vec![], json!(2)));
    let (status, problem) = app
        .get(&format!("/v1/allocations/{value_id}?limit=ten"))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("limit")),
        "{problem}"
    );

    // Listings and filters.
    let listed = |query: &str| {
        let query = query.to_owned();
        let app = &app;
        async move {
            app.get(&format!("/v1/allocations?{query}")).await.1["allocations"]
                .as_array()
                .map(Vec::len)
        }
    };
    assert_eq!(listed("project=novel").await, Some(1));
    assert_eq!(listed("actor=alice").await, Some(1));
    assert_eq!(listed("actor=nobody").await, Some(0));
    assert_eq!(listed("since=2999-01-01T00:00:00Z").await, Some(0));
    assert_eq!(app.get("/v1/allocations?since=yesterday").await.0, 400);
    let by_entry = app
        .get(&format!(
            "/v1/allocations/{}",
            allocation["id"].as_str().expect("id")
        ))
        .await
        .1;
    assert_eq!(by_entry, allocation);

    let (_, contributions) = app.get("/v1/projects/novel/contributions").await;
    assert_eq!(
        contributions["contributions"].as_array().map(Vec::len),
        Some(2)
    );
    let text = app
        .client
        .get(format!("{}/v1/policies/{policy}", app.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(text.contains("name = \"proportional\""), "{text}");

    // The server appends at most one allocation per value entry.
    let again = app.get("/v1/allocations?project=novel").await.1;
    assert_eq!(again["allocations"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_recomputes_allocations_and_names_a_wrong_payout() {
    let (app, _, value_id) = two_authors_and_a_value().await;
    let allocation = wait_for_allocation(&app, &value_id).await;
    let (_, key) = crate::helpers::text(&app, "/v1/log/key").await;
    let verify = || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_fairshare"))
            .args(["verify", "--log", &app.base, "--log-key", &key])
            .output()
            .expect("runs");
        (
            output.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    };
    let (ok, said) = verify();
    assert!(ok, "{said}");

    // A server that signs a wrong allocation: re-signed with the real server key, so only
    // recomputing it from the log exposes it.
    let seq = allocation["seq"].as_u64().expect("seq");
    let stored = app.get(&format!("/v1/entries/{seq}")).await.1;
    let mut envelope = stored["envelope"].clone();
    for player in envelope["body"]["allocation"]["players"]
        .as_array_mut()
        .expect("players")
    {
        if player["actor"] == "bob" {
            player["payout"] = json!("80.00");
        }
    }
    let server_key =
        fairshare::keyfile::read(&app.data_dir.path().join("server.key")).expect("server key");
    let forged =
        fairshare::entry::envelope::sign_envelope(&envelope, &server_key, &[]).expect("signs");
    let forged = fairshare::entry::SignedEntry::parse(&forged).expect("well formed");
    let leaf = forged.leaf_bytes(stored["received_at"].as_str().expect("received_at"));
    let mut db = admin_connection(&app.database).await;
    db.execute("SET session_replication_role = replica")
        .await
        .expect("superuser");
    sqlx::query("UPDATE entries SET leaf = $1 WHERE seq = $2")
        .bind(leaf)
        .bind(seq as i64)
        .execute(&mut db)
        .await
        .expect("tamper");

    let (ok, said) = verify();
    assert!(!ok, "{said}");
    assert!(
        said.contains(&format!("leaf {seq}"))
            && said.contains("bob")
            && said.contains("80.00")
            && said.contains("75.00"),
        "{said}"
    );
}

#[tokio::test]
async fn a_policy_change_counts_only_once_adopted_under_its_new_hash() {
    let app = spawn_public_app().await;
    let (alice, bob, shop) = (Actor::new("alice"), Actor::new("bob"), Actor::new("shop"));
    app.register(&alice, "human").await;
    app.register(&bob, "human").await;
    app.register_by_operator(&shop, "platform").await;
    let policy_a = app.adopt_policy(&shop, "proportional").await;
    app.open_project_as(&shop, "novel", &[&policy_a], "open")
        .await;
    app.post(&words(&alice, "1000")).await;
    let review = json!({"project": "novel", "kind": "review", "measure": {"quantity": "5", "unit": "edits"},
                        "evidence": format!("commit:{}", "3c".repeat(32))});
    app.post(&bob.sign("contribution", review)).await;

    // B: the same file with reviews weighted 6 instead of 2; a new text, so a new hash.
    let text_a = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/proportional.toml"
    ))
    .expect("policy");
    let text_b = text_a
        .replace("weight = 2\n", "weight = 6\n")
        .replace("name = \"proportional\"", "name = \"proportional-b\"");
    assert_ne!(text_a, text_b);
    let policy_b = format!(
        "blake3:{}",
        fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(text_b.as_bytes()))
    );
    let adopted = shop.sign(
        "policy.adopted",
        json!({"name": "proportional-b", "text": text_b, "hash": policy_b}),
    );
    assert_eq!(app.post(&adopted).await.0, 201);
    let admitted = shop.sign(
        "project.updated",
        json!({"project": "novel", "policies": [policy_a, policy_b]}),
    );
    assert_eq!(app.post(&admitted).await.0, 201);

    let mut payouts = Vec::new();
    for policy in [&policy_a, &policy_b, &policy_a] {
        let value = shop.sign(
            "value.realized",
            json!({"project": "novel", "amount": "100.00", "currency": "EUR", "policy": policy}),
        );
        let value_id = app.post(&value).await.1["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let allocation = wait_for_allocation(&app, &value_id).await;
        let body = &allocation["body"]["allocation"];
        assert_eq!(
            body["policy_hash"].as_str(),
            Some(policy.as_str()),
            "{body}"
        );
        let amount = |actor: &str| {
            body["recipients"]
                .as_array()
                .expect("recipients")
                .iter()
                .find(|r| r["actor"] == actor)
                .map(|r| r["amount"].clone())
        };
        payouts.push((amount("alice"), amount("bob")));
    }
    // A: 1000 words × 0.01 = 10 and 5 edits × 2 = 10: half each. B: 10 and 30.
    assert_eq!(payouts[0], (Some(json!("50.00")), Some(json!("50.00"))));
    assert_eq!(payouts[1], (Some(json!("25.00")), Some(json!("75.00"))));
    assert_eq!(
        payouts[2], payouts[0],
        "A's text in the log still decides allocations under A"
    );
}
