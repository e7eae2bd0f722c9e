//! Fair play end to end: a dispute ruled to exclude a contribution changes the next
//! allocation and `fairshare verify` reproduces both; the manipulation report flags sybil
//! curators only where an affiliation gives evidence, policy shopping and a self-measured
//! coalition.

use crate::allocations::{wait_for_allocation, words};
use crate::helpers::{Actor, TestApp, commit, spawn_public_app};
use fairshare::entry::privacy::CommittedField;
use serde_json::{Value, json};

async fn posted(app: &TestApp, entry: &Value) -> String {
    let (status, receipt) = app.post(entry).await;
    assert_eq!(status, 201, "{receipt}");
    receipt["id"].as_str().expect("id").to_owned()
}

/// A dispute's or ruling's reason enters the leaf as a commitment only.
fn reason(text: &str) -> String {
    commit(CommittedField::Reason, text).0
}

fn realize(shop: &Actor, project: &str, policy: &str) -> Value {
    shop.sign(
        "value.realized",
        json!({"project": project, "amount": "100.00", "currency": "EUR", "policy": policy}),
    )
}

fn received(allocation: &Value, actor: &str) -> Option<String> {
    allocation["body"]["allocation"]["recipients"]
        .as_array()?
        .iter()
        .find(|r| r["actor"] == actor)
        .and_then(|r| r["amount"].as_str().map(str::to_owned))
}

fn verify(app: &TestApp, key: &str) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fairshare"))
        .args(["verify", "--log", &app.base, "--log-key", key])
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ruling_excludes_a_contribution_from_the_next_allocation_and_verify_reproduces_both() {
    let app = spawn_public_app().await;
    let (alice, bob, shop, regulator) = (
        Actor::new("alice"),
        Actor::new("bob"),
        Actor::new("shop"),
        Actor::new("regulator"),
    );
    app.register(&alice, "human").await;
    app.register(&bob, "human").await;
    app.register_by_operator(&shop, "platform").await;
    app.register_by_operator(&regulator, "regulator").await;
    let policy = app.adopt_policy(&shop, "proportional").await;
    app.open_project_as(&shop, "novel", &[&policy], "open")
        .await;
    posted(&app, &words(&alice, "1000")).await;
    let bobs = posted(&app, &words(&bob, "3000")).await;
    let first = posted(&app, &realize(&shop, "novel", &policy)).await;
    let first = wait_for_allocation(&app, &first).await;
    assert_eq!(received(&first, "bob").as_deref(), Some("75.00"), "{first}");

    // Only registered actors dispute, only entries that are inputs or outcomes, and only a
    // regulator rules.
    let dispute = alice.sign(
        "dispute",
        json!({"target": bobs, "reason": reason("copied from my draft")}),
    );
    let dispute = posted(&app, &dispute).await;
    let on_policy = alice.sign(
        "dispute",
        json!({"target": first["body"]["value_entry"], "reason": reason("x")}),
    );
    assert_eq!(app.post(&on_policy).await.0, 422);
    let by_alice = alice.sign("ruling", json!({"dispute": dispute, "effect": "exclude"}));
    assert_eq!(app.post(&by_alice).await.0, 403);
    let ruling = regulator.sign(
        "ruling",
        json!({"dispute": dispute, "effect": "exclude", "reason": reason("the draft was copied")}),
    );
    posted(&app, &ruling).await;

    let second = posted(&app, &realize(&shop, "novel", &policy)).await;
    let second = wait_for_allocation(&app, &second).await;
    assert_eq!(
        received(&second, "alice").as_deref(),
        Some("100.00"),
        "{second}"
    );
    assert_eq!(received(&second, "bob"), None, "{second}");
    let excluded = second["breakdown"]["excluded"].to_string();
    assert!(
        excluded.contains(&bobs) && excluded.contains("ruling"),
        "{second}"
    );

    let (_, key) = crate::helpers::text(&app, "/v1/log/key").await;
    let (ok, said) = verify(&app, &key);
    assert!(ok, "{said}");
}

/// acme runs the model scribe; sam declared he works for acme, sid did not. Both accept
/// scribe's draft; ann writes her own text. acme admits two policies.
async fn platform_with_sybil_curators(app: &TestApp) -> (Actor, String, String) {
    let (acme, scribe, sam, sid, ann) = (
        Actor::new("acme"),
        Actor::new("scribe"),
        Actor::new("sam"),
        Actor::new("sid"),
        Actor::new("ann"),
    );
    app.register_by_operator(&acme, "platform").await;
    app.register_ai(&scribe, &acme).await;
    for human in [&sam, &sid, &ann] {
        app.register(human, "human").await;
    }
    let default = app.adopt_policy(&acme, "default").await;
    let proportional = app.adopt_policy(&acme, "proportional").await;
    app.open_project_as(&acme, "novel", &[&default, &proportional], "open")
        .await;
    let declared = sam.sign(
        "affiliation",
        json!({"affiliate": "sam", "relation": "employed_by", "principal": "acme"}),
    );
    posted(app, &declared).await;
    let for_someone_else = sid.sign(
        "affiliation",
        json!({"affiliate": "sam", "relation": "controlled_by", "principal": "sid"}),
    );
    assert_eq!(app.post(&for_someone_else).await.0, 403);
    let draft = posted(app, &words(&scribe, "2000")).await;
    posted(app, &words(&ann, "1000")).await;
    for curator in [&sam, &sid] {
        let accept = curator.sign(
            "endorsement",
            json!({"contribution": draft, "decision": "accept"}),
        );
        posted(app, &accept).await;
    }
    let measured = acme.sign(
        "coalition.measured",
        json!({"project": "novel", "members": ["acme", "scribe"], "value": "50"}),
    );
    posted(app, &measured).await;
    (acme, default, proportional)
}

async fn report_of(app: &TestApp, acme: &Actor, policy: &str) -> Value {
    let value = posted(app, &realize(acme, "novel", policy)).await;
    wait_for_allocation(app, &value).await;
    let (status, report) = app
        .get(&format!("/v1/audit/allocations/{value}/report"))
        .await;
    assert_eq!(status, 200, "{report}");
    report
}

fn chosen_amount(report: &Value) -> (String, Vec<String>) {
    let policies = report["policy_shopping"]["policies"]
        .as_array()
        .expect("policies");
    let amount = |p: &Value| p["amount"].as_str().unwrap_or_default().to_owned();
    let chosen = policies.iter().find(|p| p["chosen"] == true).map(amount);
    (
        chosen.unwrap_or_default(),
        policies.iter().map(amount).collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_flags_declared_sybil_curators_policy_shopping_and_self_measurement() {
    let app = spawn_public_app().await;
    let (acme, default, proportional) = platform_with_sybil_curators(&app).await;
    let under_default = report_of(&app, &acme, &default).await;

    // Evidence only: sam's acceptance of acme's model is flagged, sid's is not.
    let flags = under_default["self_dealing"].as_array().expect("flags");
    let flagged = |flag: &str, actor: &str| {
        flags
            .iter()
            .any(|f| f["flag"] == flag && f["actor"] == actor)
    };
    assert!(
        flagged("curator_affiliated_with_operator", "sam"),
        "{under_default}"
    );
    assert!(
        !flags.iter().any(|f| f["actor"] == "sid"),
        "{under_default}"
    );
    assert!(flagged("self_measured", "acme"), "{under_default}");
    let groups = under_default["split_gain"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{under_default}");
    assert_eq!(groups[0]["members"], json!(["acme", "sam"]));
    // As one player with acme, sam's acceptance would not count (a platform curates
    // nothing): the curator's pay is what appearing as two players gained the group.
    let gain: f64 = groups[0]["gain"]
        .as_str()
        .and_then(|g| g.parse().ok())
        .expect("gain");
    assert!(gain > 0.0, "{under_default}");
    assert_eq!(under_default["flagged"], true);

    // The two admitted policies pay acme differently: realizing under the one that pays it
    // most is flagged, under the other not.
    let under_proportional = report_of(&app, &acme, &proportional).await;
    let (default_chosen, amounts) = chosen_amount(&under_default);
    let (proportional_chosen, _) = chosen_amount(&under_proportional);
    assert_ne!(default_chosen, proportional_chosen, "{amounts:?}");
    let default_pays_more = default_chosen.parse::<f64>().unwrap_or_default()
        > proportional_chosen.parse::<f64>().unwrap_or_default();
    assert_eq!(
        under_default["policy_shopping"]["flagged"], default_pays_more,
        "{under_default}"
    );
    assert_eq!(
        under_proportional["policy_shopping"]["flagged"], !default_pays_more,
        "{under_proportional}"
    );

    // The same report through the command line.
    let value = under_default["value_entry"].as_str().expect("value entry");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fairshare"))
        .args(["audit", "report", "--server", &app.base, value])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(printed, under_default);
}
