//! docs/PROTOCOL.md against the running server: every row of its refusal table (read from
//! the document itself, so the two cannot drift apart), the paging of `/v1/log/entries`,
//! inclusion proofs by leaf hash, the key that signs the server's own entries, and the
//! audit's worked example.

use crate::allocations::{wait_for_allocation, words};
use crate::helpers::{Actor, PUBLIC_READS, TestApp, spawn_app_with, spawn_public_app, text};
use fairshare::crypto::{PublicKey, SecretKey, b64_decode, hash};
use fairshare::entry::envelope::sign_envelope;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One row of the refusal table: status, problem code and field (`None` for "—").
type Row = (u16, String, Option<String>);

/// The refusal table of docs/PROTOCOL.md, by its first column.
fn documented_refusals() -> BTreeMap<String, Row> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PROTOCOL.md"))
        .expect("docs/PROTOCOL.md");
    let header = "| refusal | status | `type` code | `field` |";
    let start = text.find(header).expect("the refusal table");
    let cell = |c: &str| c.trim().trim_matches('`').to_owned();
    text[start..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 4, "a row of four cells: {line}");
            let field = Some(cell(cells[3])).filter(|f| f != "—");
            let status = cells[1].trim().parse().expect("a status");
            (cells[0].trim().to_owned(), (status, cell(cells[2]), field))
        })
        .collect()
}

/// How a case reaches the server.
enum Request {
    /// A JSON body posted to /v1/entries (an entry or a batch).
    Post(Value),
    /// Raw bytes posted to /v1/entries as `application/json`.
    Raw(Vec<u8>),
    /// Bytes posted to /v1/entries with this `Content-Type`.
    Typed(&'static str, Vec<u8>),
    /// A request of this method to this path, without a body.
    Method(reqwest::Method, &'static str),
    /// A GET of this path.
    Get(String),
    /// An entry posted to a second server run with `--registration platform-cosigned`.
    PlatformCosigned(Value),
}

/// The log every case runs against: registered actors of each kind (the platform mart and
/// the human erin have no part in project novel), a contribution, adopted policies, opened
/// projects, a realized value (allocated) and an actor whose first key was revoked.
struct World {
    app: TestApp,
    alice: Actor,
    bob: Actor,
    shop: Actor,
    mart: Actor,
    erin: Actor,
    carol: Actor,
    carol_new: SecretKey,
    contribution: Value,
    contribution_id: String,
    registration_id: String,
    value_id: String,
    policy_text: String,
    /// A policy with a measured game, adopted.
    measured_policy: String,
}

fn digest(bytes: &[u8]) -> String {
    format!("blake3:{}", hash::to_hex(&hash::blake3(bytes)))
}

async fn world() -> World {
    let app = spawn_public_app().await;
    let (alice, bob, shop, scribe, carol) = (
        Actor::new("alice"),
        Actor::new("bob"),
        Actor::new("shop"),
        Actor::new("scribe"),
        Actor::new("carol"),
    );
    let registration_id = app.register(&alice, "human").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.register(&bob, "human").await;
    app.register_by_operator(&shop, "platform").await;
    let (mart, erin) = (Actor::new("mart"), Actor::new("erin"));
    app.register_by_operator(&mart, "platform").await;
    app.register(&erin, "human").await;
    let ai = json!({"kind": "ai", "public_key": scribe.key.public_key().to_base64(), "operator": "shop",
                    "model": {"name": "scribe", "version": "1"}});
    let ai = scribe.sign_with(&scribe.key, "actor.registered", ai, &[("shop", &shop.key)]);
    assert_eq!(app.post(&ai).await.0, 201);

    // carol rotates to a new key and revokes the first one.
    app.register(&carol, "human").await;
    let carol_new = SecretKey::generate().expect("key");
    let rotation = carol.sign_with(
        &carol.key,
        "key.rotated",
        json!({"public_key": carol_new.public_key().to_base64()}),
        &[("carol", &carol_new)],
    );
    assert_eq!(app.post(&rotation).await.0, 201);
    let revocation = carol.sign_with(
        &carol_new,
        "key.revoked",
        json!({"key": carol.key_id()}),
        &[],
    );
    assert_eq!(app.post(&revocation).await.0, 201);

    // novel admits alice, bob and scribe under the proportional policy; empty is open and
    // has no contributions; default is adopted but admitted by neither.
    let policy = app.adopt_policy(&shop, "proportional").await;
    app.adopt_policy(&shop, "default").await;
    app.open_project_as(&shop, "novel", &[&policy], "members")
        .await;
    app.open_project_as(&shop, "empty", &[&policy], "open")
        .await;
    let members = shop.sign(
        "project.members",
        json!({"project": "novel", "admit": ["alice", "bob", "scribe"]}),
    );
    assert_eq!(app.post(&members).await.0, 201);
    let contribution = alice.contribution("novel", &[]);
    let contribution_id = app.post(&contribution).await.1["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let value = shop.sign(
        "value.realized",
        json!({"project": "novel", "amount": "10.00", "currency": "EUR", "policy": policy}),
    );
    let value_id = app.post(&value).await.1["id"]
        .as_str()
        .expect("id")
        .to_owned();
    wait_for_allocation(&app, &value_id).await;
    let measured_policy = measured_beyond_the_limits(&app, &alice, &shop).await;
    let policy_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/proportional.toml"
    ))
    .expect("policy");
    World {
        app,
        alice,
        bob,
        shop,
        mart,
        erin,
        carol,
        carol_new,
        contribution,
        contribution_id,
        registration_id,
        value_id,
        policy_text,
        measured_policy,
    }
}

/// Project `lab`: a contribution and 257 measurements, one more than the default solver
/// limit; returns the adopted measured policy.
async fn measured_beyond_the_limits(app: &TestApp, alice: &Actor, shop: &Actor) -> String {
    let policy = app.adopt_policy(shop, "measured").await;
    app.open_project_as(shop, "lab", &[&policy], "open").await;
    let mut entries = vec![alice.sign(
        "contribution",
        json!({"project": "lab", "kind": "text", "measure": {"quantity": "5", "unit": "words"},
               "evidence": crate::helpers::evidence(b"lab")}),
    )];
    entries.extend((0..257).map(|i| {
        shop.sign(
            "coalition.measured",
            json!({"project": "lab", "members": ["alice"], "value": format!("{i}")}),
        )
    }));
    let (status, body) = app.post(&json!({ "entries": entries })).await;
    assert_eq!((status, &body["rejected"]), (200, &json!(0)), "{body}");
    policy
}

/// `entry` with its envelope changed by `change`, signed again by `key`.
fn resigned(entry: &Value, key: &SecretKey, change: impl FnOnce(&mut Value)) -> Value {
    let mut envelope = entry["envelope"].clone();
    change(&mut envelope);
    sign_envelope(&envelope, key, &[]).expect("signs")
}

/// Every documented refusal, made. Each is refused without changing the log.
fn cases(w: &World) -> Vec<(&'static str, Request)> {
    let (alice, bob, shop) = (&w.alice, &w.bob, &w.shop);
    let stranger = Actor::new("zed");
    let some_key = SecretKey::generate().expect("key");
    let unknown_id = "ab".repeat(32);
    let other_signature = bob.contribution("novel", &[])["signature"].clone();
    let registration = |actor: &Actor, body: Value| actor.sign("actor.registered", body);
    let newcomer = Actor::new("dave");
    let dave_key = newcomer.key.public_key().to_base64();
    let ai_body = |operator: &str| json!({"kind": "ai", "public_key": dave_key, "operator": operator, "model": {"name": "m", "version": "1"}});
    let new_key = SecretKey::generate().expect("key");
    let new_pk = new_key.public_key().to_base64();
    let endorse = |who: &Actor, target: &str| {
        who.sign(
            "endorsement",
            json!({"contribution": target, "decision": "accept"}),
        )
    };
    let value = |who: &Actor, project: &str, currency: &str, policy: &str| {
        who.sign(
            "value.realized",
            json!({"project": project, "amount": "1.00", "currency": currency, "policy": policy}),
        )
    };
    let policy = digest(w.policy_text.as_bytes());
    let other_policy = digest(
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/default.toml"
        ))
        .expect("policy")
        .as_bytes(),
    );
    let (mart, erin) = (&w.mart, &w.erin);
    let opened = |who: &Actor, project: &str, policies: Value, realizers: Value| {
        who.sign(
            "project.opened",
            json!({"project": project, "currency": "EUR", "policies": policies, "realizers": realizers}),
        )
    };
    let adopt = |who: &Actor, text: &str, hash: &str| {
        who.sign(
            "policy.adopted",
            json!({"name": "p", "text": text, "hash": hash}),
        )
    };
    let measured = |who: &Actor, member: &str| {
        who.sign(
            "coalition.measured",
            json!({"project": "novel", "members": [member], "value": "1"}),
        )
    };
    let heavy_policy = "name = \"heavy\"\n[measured]\nfill = \"zero\"\nscale = 1\n[solver]\nsamples = 1000000000\n";
    let allocation = |value_entry: &str, project: &str| json!({"value_entry": value_entry, "project": project, "tree_size": 1, "status": "failed", "reason": "test"});
    let mut bad_signature = alice.contribution("novel", &[]);
    bad_signature["signature"] = other_signature.clone();
    let mut bad_cosignature = alice.sign_with(
        &alice.key,
        "contribution",
        w.contribution["envelope"]["body"].clone(),
        &[("bob", &bob.key)],
    );
    bad_cosignature["cosignatures"][0]["signature"] = other_signature;
    let duplicate_key = alice.contribution("novel", &[]).to_string().replacen(
        r#""project":"novel""#,
        r#""project":"novel","project":"other""#,
        1,
    );
    let nested = format!("{}{{}}{}", r#"{"a":"#.repeat(16), "}".repeat(16));
    vec![
        ("the body is not JSON", Request::Raw(b"{not json".to_vec())),
        (
            "a body whose `Content-Type` is not `application/json`",
            Request::Typed("text/plain", w.contribution.to_string().into_bytes()),
        ),
        (
            "a method the path does not answer (here `DELETE /v1/entries`)",
            Request::Method(reqwest::Method::DELETE, "/v1/entries"),
        ),
        (
            "a batch wrapper with a field besides `entries`",
            Request::Post(json!({"entries": [alice.contribution("novel", &[])], "note": "x"})),
        ),
        (
            "a member name twice in one object, anywhere in the body",
            Request::Raw(duplicate_key.into_bytes()),
        ),
        (
            "an entry nesting objects or arrays deeper than 16 levels",
            Request::Raw(nested.into_bytes()),
        ),
        (
            "an entry of more than 4,096 JSON values",
            Request::Post(json!({"a": vec![0; 5000]})),
        ),
        (
            "`ts` at a leap second (`:60`)",
            Request::Post(resigned(&alice.contribution("novel", &[]), &alice.key, |e| {
                e["ts"] = json!("2026-12-07T12:00:60Z");
            })),
        ),
        (
            "`ts` with more than 9 fractional digits",
            Request::Post(resigned(&alice.contribution("novel", &[]), &alice.key, |e| {
                e["ts"] = json!("2026-12-07T12:00:00.1234567890Z");
            })),
        ),
        ("a batch of no entries", Request::Post(json!({"entries": []}))),
        (
            "a batch of more entries than `--max-batch-entries` (default 1000)",
            Request::Post(json!({"entries": vec![json!({}); 1001]})),
        ),
        (
            "a body larger than `--max-body-bytes` (default 8 MiB)",
            Request::Raw(vec![b'x'; 8 * 1024 * 1024 + 1]),
        ),
        ("an unknown path", Request::Get("/nowhere".into())),
        (
            "a policy hash not written `blake3:<hex>` (`GET /v1/policies/{hash}`)",
            Request::Get(format!("/v1/policies/{}", policy.trim_start_matches("blake3:"))),
        ),
        (
            "a field missing, unknown, of the wrong type or form (here a quantity written as a JSON number)",
            Request::Post(alice.sign(
                "contribution",
                json!({"project": "novel", "kind": "draft", "measure": {"quantity": 3, "unit": "pages"},
                       "evidence": crate::helpers::evidence(b"e")}),
            )),
        ),
        (
            "`ts` further than `--timestamp-skew-secs` (default 300) from the server clock",
            Request::Post(resigned(&alice.contribution("novel", &[]), &alice.key, |e| {
                e["ts"] = json!("2020-01-01T00:00:00Z");
            })),
        ),
        (
            "a nonce the actor used for a different entry",
            Request::Post(resigned(&w.contribution, &alice.key, |e| {
                e["body"]["measure"]["quantity"] = json!("4");
            })),
        ),
        (
            "a signer that is not registered",
            Request::Post(stranger.contribution("novel", &[])),
        ),
        (
            "a key that is not one of the signer's",
            Request::Post(alice.sign_with(&some_key, "contribution", w.contribution["envelope"]["body"].clone(), &[])),
        ),
        (
            "a key revoked before the entry",
            Request::Post(w.carol.contribution("novel", &[])),
        ),
        (
            "the actor `server` with another key than the server key",
            Request::Post(
                Actor {
                    id: "server".into(),
                    key: some_key.clone(),
                }
                .contribution("novel", &[]),
            ),
        ),
        (
            "a co-signer that is not registered",
            Request::Post(alice.sign_with(
                &alice.key,
                "contribution",
                w.contribution["envelope"]["body"].clone(),
                &[("zed", &stranger.key)],
            )),
        ),
        ("a signature that does not verify", Request::Post(bad_signature)),
        ("a co-signature that does not verify", Request::Post(bad_cosignature)),
        (
            "a registration signed by neither the registered key nor the server key",
            Request::Post(newcomer.sign_with(
                &some_key,
                "actor.registered",
                json!({"kind": "human", "public_key": dave_key}),
                &[],
            )),
        ),
        (
            "a registration of an actor that exists",
            Request::Post(alice.registration("human")),
        ),
        (
            "a registration of the actor `server` (by the server key)",
            Request::Post(w.app.sign_as_server(
                "server",
                "actor.registered",
                json!({"kind": "human", "public_key": dave_key}),
            )),
        ),
        (
            "an ai registration without `operator`",
            Request::Post(registration(
                &newcomer,
                json!({"kind": "ai", "public_key": dave_key, "model": {"name": "m", "version": "1"}}),
            )),
        ),
        (
            "an ai registration whose operator is not registered",
            Request::Post(registration(&newcomer, ai_body("ghost"))),
        ),
        (
            "an ai registration whose operator is an ai or a regulator",
            Request::Post(registration(&newcomer, ai_body("scribe"))),
        ),
        (
            "an ai registration without its operator's co-signature",
            Request::Post(registration(&newcomer, ai_body("shop"))),
        ),
        (
            "a platform registration neither by the server key nor co-signed by a regulator",
            Request::Post(newcomer.registration("platform")),
        ),
        (
            "a regulator registration neither by the server key nor co-signed by a regulator",
            Request::Post(newcomer.registration("regulator")),
        ),
        (
            "a registration without a platform's co-signature under `--registration platform-cosigned`",
            Request::PlatformCosigned(newcomer.registration("human")),
        ),
        (
            "a rotation to a key the actor has",
            Request::Post(alice.sign(
                "key.rotated",
                json!({"public_key": alice.key.public_key().to_base64()}),
            )),
        ),
        (
            "a rotation not co-signed by the new key",
            Request::Post(alice.sign("key.rotated", json!({"public_key": new_pk}))),
        ),
        (
            "a rotation retiring a key that is not the actor's",
            Request::Post(alice.sign_with(
                &alice.key,
                "key.rotated",
                json!({"public_key": new_pk, "retire": "00".repeat(8)}),
                &[("alice", &new_key)],
            )),
        ),
        (
            "a revocation of a key already revoked",
            Request::Post(w.carol.sign_with(
                &w.carol_new,
                "key.revoked",
                json!({"key": w.carol.key_id()}),
                &[],
            )),
        ),
        (
            "a revocation of the actor's last active key",
            Request::Post(bob.sign("key.revoked", json!({"key": bob.key_id()}))),
        ),
        (
            "`builds_on` an entry not in the log",
            Request::Post(alice.contribution("novel", &[&unknown_id])),
        ),
        (
            "`builds_on` an entry that is not a contribution",
            Request::Post(alice.contribution("novel", &[&w.registration_id])),
        ),
        (
            "an endorsement by an actor that is not human",
            Request::Post(endorse(shop, &w.contribution_id)),
        ),
        (
            "an endorsement of the endorser's own contribution",
            Request::Post(endorse(alice, &w.contribution_id)),
        ),
        (
            "an endorsement of an entry not in the log",
            Request::Post(endorse(bob, &unknown_id)),
        ),
        (
            "an endorsement of an entry that is not a contribution",
            Request::Post(endorse(bob, &w.registration_id)),
        ),
        (
            "`value.realized` by an actor that is not a platform",
            Request::Post(value(alice, "novel", "EUR", &policy)),
        ),
        (
            "`value.realized` under a policy never adopted",
            Request::Post(value(shop, "novel", "EUR", &digest(b"never adopted"))),
        ),
        (
            "`value.realized` for a project without contributions",
            Request::Post(value(shop, "empty", "EUR", &policy)),
        ),
        (
            "`value.realized` in another currency than the project's",
            Request::Post(value(shop, "novel", "USD", &policy)),
        ),
        (
            "`value.realized` for a project never opened",
            Request::Post(value(shop, "unopened", "EUR", &policy)),
        ),
        (
            "`value.realized` by a platform that is neither the project's owner nor one of its realizers",
            Request::Post(value(mart, "novel", "EUR", &policy)),
        ),
        (
            "`value.realized` under a policy the project does not admit",
            Request::Post(value(shop, "novel", "EUR", &other_policy)),
        ),
        (
            "a contribution to a project never opened",
            Request::Post(alice.contribution("unopened", &[])),
        ),
        (
            "a contribution by an actor that is not a member of a project with membership `members`",
            Request::Post(erin.contribution("novel", &[])),
        ),
        (
            "an endorsement by a human that is not a member of the contribution's project (membership `members`)",
            Request::Post(endorse(erin, &w.contribution_id)),
        ),
        (
            "`project.opened` by an actor that is not a platform",
            Request::Post(opened(alice, "other", json!([]), json!([]))),
        ),
        (
            "`project.opened` of a project already opened",
            Request::Post(opened(mart, "novel", json!([]), json!([]))),
        ),
        (
            "`project.opened` admitting a policy never adopted",
            Request::Post(opened(mart, "other", json!([digest(b"never adopted")]), json!([]))),
        ),
        (
            "`project.opened` naming a realizer that is not a registered platform",
            Request::Post(opened(mart, "other", json!([]), json!(["alice"]))),
        ),
        (
            "`project.updated` or `project.members` of a project never opened",
            Request::Post(shop.sign("project.updated", json!({"project": "unopened", "realizers": ["mart"]}))),
        ),
        (
            "`project.updated` or `project.members` by an actor other than the project's owner",
            Request::Post(mart.sign("project.members", json!({"project": "novel", "admit": ["erin"]}))),
        ),
        (
            "`project.updated` handing the project over to an actor that is not a registered platform",
            Request::Post(shop.sign("project.updated", json!({"project": "novel", "owner": "alice"}))),
        ),
        (
            "`project.members` admitting an actor that is not registered",
            Request::Post(shop.sign("project.members", json!({"project": "novel", "admit": ["ghost"]}))),
        ),
        (
            "`coalition.measured` by a platform that is neither the project's owner nor one of its realizers",
            Request::Post(measured(mart, "alice")),
        ),
        (
            "`policy.adopted` by an actor that is neither a platform nor a regulator",
            Request::Post(adopt(alice, "name = \"x\"", &digest(b"name = \"x\""))),
        ),
        (
            "`policy.adopted` whose `hash` is not blake3 of its `text`",
            Request::Post(adopt(shop, &w.policy_text, &digest(b"other text"))),
        ),
        (
            "`policy.adopted` of a policy already adopted",
            Request::Post(adopt(shop, &w.policy_text, &policy)),
        ),
        (
            "`policy.adopted` whose text is not a valid policy",
            Request::Post(adopt(shop, "name = 1", &digest(b"name = 1"))),
        ),
        (
            "`coalition.measured` by an actor that is not a platform",
            Request::Post(measured(alice, "alice")),
        ),
        (
            "`coalition.measured` naming an actor that is not registered",
            Request::Post(measured(shop, "ghost")),
        ),
        (
            "`allocation` by an actor other than `server`",
            Request::Post(alice.sign("allocation", allocation(&w.value_id, "novel"))),
        ),
        (
            "`allocation` of an entry that is not a `value.realized`",
            Request::Post(w.app.sign_as_server(
                "server",
                "allocation",
                allocation(&w.contribution_id, "novel"),
            )),
        ),
        (
            "`allocation` naming another project than its value entry's",
            Request::Post(w.app.sign_as_server(
                "server",
                "allocation",
                allocation(&w.value_id, "other"),
            )),
        ),
        (
            "`policy.adopted` whose worst case exceeds the solver limits (here 10^9 permutations)",
            Request::Post(adopt(shop, heavy_policy, &digest(heavy_policy.as_bytes()))),
        ),
        (
            "`value.realized` whose measured game exceeds the solver limits (here 257 measurements)",
            Request::Post(value(shop, "lab", "EUR", &w.measured_policy)),
        ),
        (
            "`limits.set` by an actor other than `server`",
            Request::Post(alice.sign(
                "limits.set",
                json!({"exact_players": 20, "sampled_marginals": 10, "measured_players": 1, "measurements": 1}),
            )),
        ),
        (
            "`allocation` of a value entry already allocated",
            Request::Post(w.app.sign_as_server(
                "server",
                "allocation",
                allocation(&w.value_id, "novel"),
            )),
        ),
    ]
}

/// Status and problem of a request; every refusal must be problem+json.
async fn send(app: &TestApp, cosigned: &TestApp, request: &Request) -> (u16, Value) {
    let url = |app: &TestApp, path: &str| format!("{}{path}", app.base);
    let response = match request {
        Request::Post(body) => app.client.post(url(app, "/v1/entries")).json(body),
        Request::Raw(bytes) => app
            .client
            .post(url(app, "/v1/entries"))
            .header("content-type", "application/json")
            .body(bytes.clone()),
        Request::Typed(media_type, bytes) => app
            .client
            .post(url(app, "/v1/entries"))
            .header("content-type", *media_type)
            .body(bytes.clone()),
        Request::Method(method, path) => app.client.request(method.clone(), url(app, path)),
        Request::Get(path) => app.client.get(url(app, path)),
        Request::PlatformCosigned(body) => cosigned
            .client
            .post(url(cosigned, "/v1/entries"))
            .json(body),
    }
    .send()
    .await
    .expect("request");
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    (status, response.json().await.expect("a problem"))
}

#[tokio::test]
async fn every_documented_refusal_is_what_the_server_answers() {
    let w = world().await;
    let cosigned = spawn_app_with(&[PUBLIC_READS, "--registration", "platform-cosigned"]).await;
    let documented = documented_refusals();
    let cases = cases(&w);
    let made: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
    let listed: Vec<&str> = documented.keys().map(String::as_str).collect();
    let mut sorted = made.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted, listed,
        "docs/PROTOCOL.md's refusal table and this test list the same refusals"
    );
    let size = w.app.log_size().await;
    let mut wrong = Vec::new();
    for (name, request) in &cases {
        let (status, problem) = send(&w.app, &cosigned, request).await;
        let got: Row = (
            status,
            problem["type"]
                .as_str()
                .and_then(|t| t.strip_prefix("urn:fairshare:problem:"))
                .unwrap_or_default()
                .to_owned(),
            problem["field"].as_str().map(str::to_owned),
        );
        if got != documented[*name] {
            wrong.push(format!(
                "{name}: documented {:?}, answered {got:?} {problem}",
                documented[*name]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(w.app.log_size().await, size, "refusals store nothing");
}

/// Lines of `GET path` (NDJSON), each line's `index`.
async fn page(app: &TestApp, path: &str) -> (u16, Vec<u64>) {
    let (status, text) = text(app, path).await;
    if status != 200 {
        return (status, Vec::new());
    }
    let indexes = text
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).expect("a JSON line")["index"]
                .as_u64()
                .expect("index")
        })
        .collect();
    (status, indexes)
}

#[tokio::test]
async fn log_entries_are_a_half_open_range_cut_to_a_thousand() {
    let app = spawn_public_app().await;
    // The platform alice opens novel and contributes: 1002 entries.
    let alice = Actor::new("alice");
    app.register_by_operator(&alice, "platform").await;
    app.open_project_as(&alice, "novel", &[], "members").await;
    let batch: Vec<Value> = (0..999).map(|_| alice.contribution("novel", &[])).collect();
    let (status, body) = app.post(&json!({"entries": batch})).await;
    assert_eq!((status, body["accepted"].as_u64()), (200, Some(999)));
    app.post(&alice.contribution("novel", &[])).await;
    assert_eq!(app.log_size().await, 1002);

    assert_eq!(
        page(&app, "/v1/log/entries?start=3&end=5").await,
        (200, vec![3, 4])
    );
    let (status, all) = page(&app, "/v1/log/entries?start=0&end=5000").await;
    assert_eq!((status, all), (200, (0..1000).collect::<Vec<_>>()));
    assert_eq!(
        page(&app, "/v1/log/entries?start=1000").await,
        (200, vec![1000, 1001])
    );
    assert_eq!(
        page(&app, "/v1/log/entries?start=1002").await,
        (200, vec![])
    );
    assert_eq!(
        page(&app, "/v1/log/entries?start=5000&end=6000").await,
        (200, vec![])
    );
    assert_eq!(page(&app, "/v1/log/entries?start=5&end=4").await.0, 400);
}

#[tokio::test]
async fn inclusion_by_leaf_hash_finds_the_leaf_or_answers_not_found() {
    let app = spawn_public_app().await;
    app.open_project("novel").await;
    let alice = Actor::new("alice");
    let receipt = app.register(&alice, "human").await;
    app.post(&alice.contribution("novel", &[])).await;
    let known = receipt["leaf_hash"].as_str().expect("leaf hash");
    let unknown = "00".repeat(32);
    for (leaf_hash, status, answer) in [
        (known, 200, "leaf_index"),
        (unknown.as_str(), 404, "type"),
        ("XYZ", 400, "type"),
    ] {
        let (got, body) = app
            .get(&format!(
                "/v1/log/proof/inclusion?leaf_hash={leaf_hash}&tree_size=4"
            ))
            .await;
        assert_eq!(got, status, "{leaf_hash}: {body}");
        let expected = match status {
            200 => json!(2),
            404 => json!("urn:fairshare:problem:not-found"),
            _ => json!("urn:fairshare:problem:bad-request"),
        };
        assert_eq!(body[answer], expected, "{leaf_hash}: {body}");
    }
}

#[tokio::test]
async fn the_log_key_signs_allocations_and_operator_registrations_and_the_audit_example_holds() {
    let app = spawn_public_app().await;
    let (alice, bob, dana, shop) = (
        Actor::new("alice"),
        Actor::new("bob"),
        Actor::new("dana"),
        Actor::new("shop"),
    );
    app.register_by_operator(&shop, "platform").await;
    let policy = app.adopt_policy(&shop, "proportional").await;
    app.open_project_as(&shop, "novel", &[&policy], "open")
        .await;
    for (actor, count) in [(&alice, "1000"), (&bob, "2000"), (&dana, "7000")] {
        app.register(actor, "human").await;
        assert_eq!(app.post(&words(actor, count)).await.0, 201);
    }
    let value = shop.sign(
        "value.realized",
        json!({"project": "novel", "amount": "100.00", "currency": "EUR", "policy": policy}),
    );
    let receipt = app.post(&value).await.1;
    let value_id = receipt["id"].as_str().expect("id");
    wait_for_allocation(&app, value_id).await;
    // Nothing else appends: the allocation entry follows its value entry.
    let seq = receipt["seq"].as_u64().expect("seq");
    let (_, allocation) = app.get(&format!("/v1/entries/{}", seq + 1)).await;
    assert_eq!(allocation["type"], "allocation");

    // The verifier key's third field (after the first two `+`: base64 has `+` too) is
    // base64 of 0x01 and the 32-byte public key.
    let (_, vkey) = text(&app, "/v1/log/key").await;
    let encoded = b64_decode(vkey.splitn(3, '+').nth(2).expect("three fields")).expect("base64");
    assert_eq!(encoded.len(), 33);
    assert_eq!(encoded[0], 0x01, "an Ed25519 key");
    let bytes: [u8; 32] = encoded[1..].try_into().expect("32 bytes");
    let server_key = PublicKey::from_bytes(&bytes)
        .expect("a key")
        .key_id()
        .to_string();
    // Entry 0 registers the shop.
    let (_, operator_registration) = app.get("/v1/entries/0").await;
    assert_eq!(operator_registration["type"], "actor.registered");
    assert_eq!(operator_registration["envelope"]["actor"], "shop");
    assert_eq!(operator_registration["envelope"]["key"], server_key);
    assert_eq!(allocation["envelope"]["actor"], "server");
    assert_eq!(allocation["envelope"]["key"], server_key);

    // PROTOCOL.md's worked example: 10.00, 20.00 and 70.00 to three humans.
    let (status, view) = app.get("/v1/audit/concentration?project=novel").await;
    assert_eq!(status, 200, "{view}");
    let eur = &view["currencies"][0];
    assert_eq!(
        (eur["total"].as_str(), eur["actors"].as_u64()),
        (Some("100.00"), Some(3))
    );
    assert_eq!(eur["hhi"], json!({"exact": "27/50", "rounded": "0.540000"}));
    assert_eq!(eur["gini"], json!({"exact": "2/5", "rounded": "0.400000"}));
    assert_eq!(
        eur["top"],
        json!([{"k": 1, "share": {"exact": "7/10", "rounded": "0.700000"}}])
    );
}
