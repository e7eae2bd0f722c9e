//! Trust boundaries (issue 12, attacks 1 and 2): a stranger with a fresh key cannot register
//! as a platform or regulator, realize value on another's project, fix its currency, become
//! a paid curator in it, or adopt its way into it. Each refusal leaves the log as it was.

use crate::allocations::wait_for_allocation;
use crate::helpers::{Actor, TestApp, spawn_public_app};
use serde_json::{Value, json};

async fn refused(app: &TestApp, entry: &Value, status: u16, field: &str) {
    let size = app.log_size().await;
    let (got, problem) = app.post(entry).await;
    assert_eq!(
        (got, problem["field"].as_str()),
        (status, Some(field)),
        "{problem}"
    );
    assert_eq!(app.log_size().await, size, "a refusal appends nothing");
}

async fn accepted(app: &TestApp, entry: &Value) -> String {
    let (status, receipt) = app.post(entry).await;
    assert_eq!(status, 201, "{receipt}");
    receipt["id"].as_str().expect("id").to_owned()
}

fn draft(by: &Actor, words: &str) -> Value {
    by.sign(
        "contribution",
        json!({"project": "novel", "kind": "text", "measure": {"quantity": words, "unit": "words"},
               "evidence": format!("commit:{}", "4d".repeat(32))}),
    )
}

fn realize(by: &Actor, currency: &str, policy: &str) -> Value {
    let amount = if currency == "JPY" { "1000" } else { "1000.00" };
    by.sign(
        "value.realized",
        json!({"project": "novel", "amount": amount, "currency": currency, "policy": policy}),
    )
}

/// The platform shop (registered by the operator) opens novel in EUR under the default
/// policy and admits alice (human) and its AI scribe, who draft; mart is another attested
/// platform with no part in novel. Returns shop, mart, alice, scribe and the policy.
async fn shops_novel(app: &TestApp) -> (Actor, Actor, Actor, Actor, String) {
    let (shop, mart, alice, scribe) = (
        Actor::new("shop"),
        Actor::new("mart"),
        Actor::new("alice"),
        Actor::new("scribe"),
    );
    app.register_by_operator(&shop, "platform").await;
    app.register_by_operator(&mart, "platform").await;
    app.register(&alice, "human").await;
    app.register_ai(&scribe, &shop).await;
    let policy = app.adopt_policy(&shop, "default").await;
    app.open_project_as(&shop, "novel", &[&policy], "members")
        .await;
    let members = shop.sign(
        "project.members",
        json!({"project": "novel", "admit": ["alice", "scribe"]}),
    );
    accepted(app, &members).await;
    accepted(app, &draft(&alice, "1000")).await;
    (shop, mart, alice, scribe, policy)
}

#[tokio::test]
async fn a_stranger_cannot_register_as_a_platform_or_regulator() {
    let app = spawn_public_app().await;
    let (regulator, acme) = (Actor::new("regulator"), Actor::new("acme"));
    app.register_by_operator(&regulator, "regulator").await;
    app.register_by_operator(&acme, "platform").await;
    for kind in ["platform", "regulator"] {
        let stranger = Actor::new("mallory");
        refused(&app, &stranger.registration(kind), 403, "cosignatures").await;
        // A platform's co-signature attests nothing.
        let body = json!({"kind": kind, "public_key": stranger.key.public_key().to_base64()});
        let cosigned = stranger.sign_with(
            &stranger.key,
            "actor.registered",
            body,
            &[("acme", &acme.key)],
        );
        refused(&app, &cosigned, 403, "cosignatures").await;
    }
    // A registered regulator attests a platform; humans still register themselves.
    let attested = Actor::new("shop");
    let body = json!({"kind": "platform", "public_key": attested.key.public_key().to_base64()});
    let cosigned = attested.sign_with(
        &attested.key,
        "actor.registered",
        body,
        &[("regulator", &regulator.key)],
    );
    accepted(&app, &cosigned).await;
    app.register(&Actor::new("pseudonym-7"), "human").await;
}

#[tokio::test]
async fn a_stranger_cannot_realize_value_or_fix_the_currency_of_anothers_project() {
    let app = spawn_public_app().await;
    let (shop, mart, _, _, policy) = shops_novel(&app).await;
    // Before the owner's first realization: neither EUR nor JPY from another platform.
    refused(&app, &realize(&mart, "JPY", &policy), 403, "envelope.actor").await;
    refused(&app, &realize(&mart, "EUR", &policy), 403, "envelope.actor").await;
    // Nor can it open the project anew with terms of its own.
    let reopened = mart.sign(
        "project.opened",
        json!({"project": "novel", "currency": "JPY", "membership": "open", "policies": [policy]}),
    );
    refused(&app, &reopened, 409, "envelope.body.project").await;
    // The owner's currency was fixed when it opened the project.
    refused(
        &app,
        &realize(&shop, "JPY", &policy),
        409,
        "envelope.body.currency",
    )
    .await;
    let value = accepted(&app, &realize(&shop, "EUR", &policy)).await;
    assert_eq!(
        wait_for_allocation(&app, &value).await["body"]["status"],
        "ok"
    );
    // The owner names mart a realizer; then hands the project over and stops realizing.
    let realizers = shop.sign(
        "project.updated",
        json!({"project": "novel", "realizers": ["mart"]}),
    );
    accepted(&app, &realizers).await;
    let by_realizer = accepted(&app, &realize(&mart, "EUR", &policy)).await;
    // Its allocation is appended before the refusal below counts the log.
    wait_for_allocation(&app, &by_realizer).await;
    let handover = shop.sign(
        "project.updated",
        json!({"project": "novel", "owner": "mart", "realizers": []}),
    );
    accepted(&app, &handover).await;
    refused(&app, &realize(&shop, "EUR", &policy), 403, "envelope.actor").await;
    accepted(&app, &realize(&mart, "EUR", &policy)).await;
}

#[tokio::test]
async fn a_stranger_cannot_become_a_paid_curator() {
    let app = spawn_public_app().await;
    let (shop, _, _, scribe, policy) = shops_novel(&app).await;
    let eve = Actor::new("eve");
    app.register(&eve, "human").await;
    let ai_draft = accepted(&app, &draft(&scribe, "3000")).await;
    let accept = eve.sign(
        "endorsement",
        json!({"contribution": ai_draft, "decision": "accept"}),
    );
    refused(&app, &accept, 403, "envelope.actor").await;
    refused(&app, &draft(&eve, "5000"), 403, "envelope.actor").await;

    let value = accepted(&app, &realize(&shop, "EUR", &policy)).await;
    let allocation = wait_for_allocation(&app, &value).await;
    let players = allocation["body"]["allocation"]["players"]
        .as_array()
        .expect("players");
    assert!(players.iter().all(|p| p["actor"] != "eve"), "{allocation}");
    assert!(
        players.iter().any(|p| p["actor"] == "alice"),
        "{allocation}"
    );
}

#[tokio::test]
async fn a_stranger_cannot_adopt_its_way_into_another_project() {
    let app = spawn_public_app().await;
    let (shop, mart, _, _, _) = shops_novel(&app).await;
    // Mart adopts a policy of its own: adopted, but novel does not admit it.
    let own = app.adopt_policy(&mart, "proportional").await;
    refused(
        &app,
        &realize(&shop, "EUR", &own),
        403,
        "envelope.body.policy",
    )
    .await;
    refused(&app, &realize(&mart, "EUR", &own), 403, "envelope.actor").await;
    let admit_own = mart.sign(
        "project.updated",
        json!({"project": "novel", "policies": [own], "realizers": ["mart"]}),
    );
    refused(&app, &admit_own, 403, "envelope.actor").await;
    let admit_itself = mart.sign(
        "project.members",
        json!({"project": "novel", "admit": ["mart"]}),
    );
    refused(&app, &admit_itself, 403, "envelope.actor").await;
    refused(&app, &draft(&mart, "100"), 403, "envelope.actor").await;
    // A self-registered human adopts no policy at all.
    let eve = Actor::new("eve");
    app.register(&eve, "human").await;
    let text = "name = \"eve\"\n";
    let adopted = eve.sign(
        "policy.adopted",
        json!({"name": "eve", "text": text,
               "hash": format!("blake3:{}", fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(text.as_bytes())))}),
    );
    refused(&app, &adopted, 403, "envelope.actor").await;
}

#[tokio::test]
async fn a_removed_member_contributes_no_more_and_its_earlier_work_stays() {
    let app = spawn_public_app().await;
    let (shop, _, alice, _, policy) = shops_novel(&app).await;
    let removed = shop.sign(
        "project.members",
        json!({"project": "novel", "remove": ["alice"]}),
    );
    accepted(&app, &removed).await;
    refused(&app, &draft(&alice, "500"), 403, "envelope.actor").await;
    // Her 1000 words from before the removal still count.
    let value = accepted(&app, &realize(&shop, "EUR", &policy)).await;
    let allocation = wait_for_allocation(&app, &value).await;
    let players = allocation["body"]["allocation"]["players"]
        .as_array()
        .expect("players");
    assert!(
        players.iter().any(|p| p["actor"] == "alice"),
        "{allocation}"
    );
    // Admitted again, she contributes again.
    let admitted = shop.sign(
        "project.members",
        json!({"project": "novel", "admit": ["alice"]}),
    );
    accepted(&app, &admitted).await;
    accepted(&app, &draft(&alice, "500")).await;
}

#[tokio::test]
async fn a_project_shows_its_terms_and_current_members() {
    let app = spawn_public_app().await;
    let (shop, _, _, _, policy) = shops_novel(&app).await;
    let removed = shop.sign(
        "project.members",
        json!({"project": "novel", "remove": ["alice"]}),
    );
    accepted(&app, &removed).await;
    let handover = shop.sign(
        "project.updated",
        json!({"project": "novel", "owner": "mart", "realizers": ["shop"]}),
    );
    accepted(&app, &handover).await;
    let (status, project) = app.get("/v1/projects/novel").await;
    assert_eq!(status, 200, "{project}");
    assert_eq!(
        project,
        json!({"project": "novel", "owner": "mart", "currency": "EUR", "membership": "members",
               "policies": [policy], "realizers": ["shop"], "members": ["scribe"]})
    );
    assert_eq!(app.get("/v1/projects/unopened").await.0, 404);
    assert_eq!(app.get("/v1/projects/Not%20a%20slug").await.0, 400);
}
