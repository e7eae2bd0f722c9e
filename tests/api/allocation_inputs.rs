//! The allocator reads a project's inputs from their projection (plain columns written at
//! append time); the offline verifier rebuilds them from the leaves. On a project with every
//! kind of input both must hand the policy identical inputs, and the allocation entries the
//! server appended must be exactly what the leaves recompute.

use crate::helpers::{Actor, TestApp, admin_connection, spawn_public_app};
use fairshare::allocation::reproduce::Reproducer;
use fairshare::crypto::hash;
use fairshare::entry::body::Body;
use fairshare::entry::{EntryId, SignedEntry};
use fairshare::service::allocator;
use serde_json::{Value, json};

fn work(
    actor: &Actor,
    project: &str,
    kind: &str,
    unit: &str,
    quantity: &str,
    builds_on: &[&str],
) -> Value {
    actor.sign(
        "contribution",
        json!({"project": project, "kind": kind, "measure": {"quantity": quantity, "unit": unit},
               "evidence": format!("commit:{}", "4d".repeat(32)), "builds_on": builds_on}),
    )
}

async fn id_of(app: &TestApp, entry: &Value) -> String {
    let (status, receipt) = app.post(entry).await;
    assert_eq!(status, 201, "{receipt}");
    receipt["id"].as_str().expect("id").to_owned()
}

async fn adopt(app: &TestApp, by: &Actor, name: &str, text: &str) -> String {
    let hash = format!("blake3:{}", hash::to_hex(&hash::blake3(text.as_bytes())));
    let entry = by.sign(
        "policy.adopted",
        json!({"name": name, "text": text, "hash": hash}),
    );
    assert_eq!(app.post(&entry).await.0, 201);
    hash
}

/// Waits until the server lists `count` allocations; returns the listing.
pub(crate) async fn wait_for_allocations(app: &TestApp, count: usize) -> Value {
    for _ in 0..400 {
        let listed = app.get("/v1/allocations").await.1;
        if listed["allocations"].as_array().map(Vec::len) == Some(count) {
            return listed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("fewer than {count} allocations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projection_and_the_leaves_give_the_same_inputs_and_allocations() {
    let app = spawn_public_app().await;
    let (alice, bob, editor, shop, scribe) = (
        Actor::new("alice"),
        Actor::new("bob"),
        Actor::new("editor"),
        Actor::new("shop"),
        Actor::new("scribe"),
    );
    app.register(&alice, "human").await;
    app.register(&bob, "human").await;
    app.register(&editor, "human").await;
    app.register_by_operator(&shop, "platform").await;
    app.register_ai(&scribe, &shop).await;

    let default_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/default.toml"
    ))
    .expect("policy");
    let default = adopt(&app, &shop, "default", &default_text).await;
    let with_measured = adopt(
        &app,
        &shop,
        "default-measured",
        &format!("{default_text}\n[measured]\nfill = \"max-subset\"\nscale = 1\n"),
    )
    .await;
    // novel admits its members, atlas is open to everyone.
    for (project, membership) in [("novel", "members"), ("atlas", "open")] {
        app.open_project_as(&shop, project, &[&default, &with_measured], membership)
            .await;
    }
    let members = shop.sign(
        "project.members",
        json!({"project": "novel", "admit": ["alice", "bob", "editor", "scribe"]}),
    );
    id_of(&app, &members).await;

    // Two projects; lineage inside a project and across them (ignored), AI drafts accepted,
    // rejected and reconsidered, a kind the policy does not weigh, decimals with trailing
    // zeros, measured coalitions (one measured twice).
    let atlas = id_of(&app, &work(&bob, "atlas", "data", "rows", "5000", &[])).await;
    let text = id_of(
        &app,
        &work(&alice, "novel", "text", "words", "1200.50", &[]),
    )
    .await;
    let draft = id_of(
        &app,
        &work(&scribe, "novel", "text", "words", "3000", &[&text]),
    )
    .await;
    let rejected = id_of(&app, &work(&scribe, "novel", "code", "lines", "40.0", &[])).await;
    let code = id_of(
        &app,
        &work(
            &bob,
            "novel",
            "code",
            "lines",
            "120",
            &[&draft, &text, &atlas],
        ),
    )
    .await;
    id_of(
        &app,
        &work(&alice, "novel", "sketch", "pages", "3", &[&code]),
    )
    .await;
    id_of(
        &app,
        &work(&editor, "novel", "review", "notes", "7", &[&code, &draft]),
    )
    .await;
    let endorse = |by: &Actor, contribution: &str, decision: &str| {
        by.sign(
            "endorsement",
            json!({"contribution": contribution, "decision": decision}),
        )
    };
    id_of(&app, &endorse(&editor, &draft, "accept")).await;
    id_of(&app, &endorse(&alice, &draft, "accept")).await;
    id_of(&app, &endorse(&editor, &rejected, "reject")).await;
    let atlas_draft = id_of(
        &app,
        &work(&scribe, "atlas", "data", "rows", "900", &[&atlas]),
    )
    .await;
    id_of(&app, &endorse(&alice, &atlas_draft, "accept")).await;
    let measure = |members: &[&str], value: &str| {
        shop.sign(
            "coalition.measured",
            json!({"project": "novel", "members": members, "value": value}),
        )
    };
    id_of(&app, &measure(&["alice", "scribe"], "40.00")).await;
    id_of(&app, &measure(&["bob"], "10")).await;

    let realize = |project: &str, amount: &str, policy: &str| {
        shop.sign(
            "value.realized",
            json!({"project": project, "amount": amount, "currency": "EUR", "policy": policy}),
        )
    };
    id_of(&app, &realize("novel", "1000.00", &default)).await;
    // Later inputs count only for later values.
    id_of(&app, &endorse(&bob, &rejected, "accept")).await;
    id_of(&app, &endorse(&editor, &rejected, "accept")).await;
    id_of(
        &app,
        &work(
            &alice,
            "novel",
            "publish",
            "pages",
            "12",
            &[&code, &rejected],
        ),
    )
    .await;
    id_of(&app, &measure(&["scribe", "alice"], "55.5")).await;
    id_of(&app, &realize("novel", "250.00", &with_measured)).await;
    id_of(&app, &realize("atlas", "99.99", &default)).await;
    wait_for_allocations(&app, 3).await;

    let mut db = admin_connection(&app.database).await;
    let rows: Vec<(i64, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT seq, id, leaf FROM entries ORDER BY seq")
            .fetch_all(&mut db)
            .await
            .expect("leaves");
    let log: Vec<(u64, EntryId, &[u8], SignedEntry)> = rows
        .iter()
        .map(|(seq, id, leaf)| {
            let id = EntryId(id.as_slice().try_into().expect("32 bytes"));
            let (entry, _) = SignedEntry::from_leaf(leaf).expect("stored leaf");
            (*seq as u64, id, leaf.as_slice(), entry)
        })
        .collect();

    let mut reproducer = Reproducer::default();
    let mut compared = Vec::new();
    for (seq, id, leaf, entry) in &log {
        if let Body::ValueRealized(realized) = &entry.envelope.body {
            let from_leaves = reproducer.project_inputs(&realized.project, *seq);
            let loaded = allocator::load(app.server.store(), *seq, *id, leaf)
                .await
                .expect("projection");
            assert_eq!(
                loaded.inputs(),
                &from_leaves,
                "inputs of the value at {seq}"
            );
            compared.push((
                from_leaves.contributions.len(),
                from_leaves.endorsements.len(),
                from_leaves.measured.len(),
                from_leaves.actors.len(),
            ));
        }
        // An allocation entry is recomputed from the leaves and must match byte for byte.
        reproducer
            .follow(*seq, *id, entry)
            .unwrap_or_else(|e| panic!("entry {seq}: {e}"));
    }
    assert_eq!(
        compared,
        vec![(6, 3, 2, 5), (7, 5, 3, 5), (2, 1, 0, 4)],
        "contributions, endorsements, measured coalitions and actors of each value"
    );

    let listed = app.get("/v1/allocations").await.1;
    let statuses: Vec<&Value> = listed["allocations"]
        .as_array()
        .expect("allocations")
        .iter()
        .map(|a| &a["body"]["status"])
        .collect();
    assert_eq!(statuses, vec!["ok", "ok", "ok"], "{listed}");
}
