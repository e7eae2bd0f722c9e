//! Who reads what (PROTOCOL.md, "Access rules"): each rule of the table for each role, the
//! regulator's read-all grant and its revocation, `--public-reads`, and leaf pages that
//! show no more than the query endpoints.

use crate::allocations::words;
use crate::helpers::{Actor, TestApp, spawn_app, spawn_public_app};
use serde_json::{Value, json};

/// A log with two projects: the platform `shop` owns `novel` (members only) where the members
/// `alice` and `bob` wrote and `shop` realized 100.00 EUR; `acme` owns `other`, whose member
/// is `dan`. `reg` is a regulator, `carol` a human outside every project.
struct World {
    app: TestApp,
    shop: Actor,
    alice: Actor,
    dan: Actor,
    reg: Actor,
    carol: Actor,
    alice_entry: u64,
    value_id: String,
    policy: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let [shop, acme, alice, bob, dan, reg, carol] =
        ["shop", "acme", "alice", "bob", "dan", "reg", "carol"].map(Actor::new);
    app.register_by_operator(&shop, "platform").await;
    app.register_by_operator(&acme, "platform").await;
    app.register_by_operator(&reg, "regulator").await;
    for human in [&alice, &bob, &dan, &carol] {
        app.register(human, "human").await;
    }
    let policy = app.adopt_policy(&shop, "proportional").await;
    app.open_project_as(&shop, "novel", &[&policy], "members")
        .await;
    app.open_project_as(&acme, "other", &[], "members").await;
    for (owner, project, member) in [
        (&shop, "novel", "alice"),
        (&shop, "novel", "bob"),
        (&acme, "other", "dan"),
    ] {
        let admitted = owner.sign(
            "project.members",
            json!({"project": project, "admit": [member]}),
        );
        assert_eq!(app.post(&admitted).await.0, 201);
    }
    let (status, receipt) = app.post(&words(&alice, "1000")).await;
    assert_eq!(status, 201, "{receipt}");
    let alice_entry = receipt["seq"].as_u64().expect("seq");
    assert_eq!(app.post(&words(&bob, "3000")).await.0, 201);
    let value = shop.sign(
        "value.realized",
        json!({"project": "novel", "amount": "100.00", "currency": "EUR", "policy": policy}),
    );
    let (status, receipt) = app.post(&value).await;
    assert_eq!(status, 201, "{receipt}");
    let world = World {
        app,
        shop,
        alice,
        dan,
        reg,
        carol,
        alice_entry,
        value_id: receipt["id"].as_str().expect("id").to_owned(),
        policy,
    };
    world.wait_for_allocation().await;
    world
}

impl World {
    async fn wait_for_allocation(&self) {
        let path = format!("/v1/allocations/{}", self.value_id);
        for _ in 0..200 {
            if self.app.get_as(&self.reg, &path).await.0 == 200 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("no allocation for {}", self.value_id);
    }

    /// The routes the rules protect, by name.
    fn routes(&self) -> Vec<(&'static str, String)> {
        let value = &self.value_id;
        vec![
            ("own actor record", "/v1/actors/alice".into()),
            ("own entry", format!("/v1/entries/{}", self.alice_entry)),
            ("project", "/v1/projects/novel".into()),
            (
                "project contributions",
                "/v1/projects/novel/contributions".into(),
            ),
            ("allocation", format!("/v1/allocations/{value}")),
            (
                "allocation status",
                format!("/v1/allocations/{value}/status"),
            ),
            (
                "allocations of the project",
                "/v1/allocations?project=novel".into(),
            ),
            ("allocations of alice", "/v1/allocations?actor=alice".into()),
            ("leaf page", "/v1/log/entries?start=0".into()),
            ("concentration", "/v1/audit/concentration".into()),
            ("allocator", "/v1/allocator".into()),
        ]
    }

    /// Status of each protected route for `reader` (None: anonymous).
    async fn statuses(&self, reader: Option<&Actor>) -> Vec<(&'static str, u16)> {
        let mut found = Vec::new();
        for (name, path) in self.routes() {
            let status = match reader {
                Some(actor) => {
                    let url = format!("{}{path}", self.app.base);
                    let headers = actor
                        .request_signer()
                        .sign("GET", &url, b"")
                        .expect("signs");
                    let response = self.app.client.get(&url).headers(headers).send().await;
                    response.expect("request").status().as_u16()
                }
                None => raw_status(&self.app, &path).await,
            };
            found.push((name, status));
        }
        found
    }
}

/// Runs the CLI with `args` off the runtime, which serves the app in the same process.
async fn cli(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_fairshare"))
            .args(args)
            .output()
            .expect("runs")
    })
    .await
    .expect("joins")
}

/// The status of an anonymous GET (leaf pages are NDJSON, not JSON).
async fn raw_status(app: &TestApp, path: &str) -> u16 {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("request");
    response.status().as_u16()
}

/// `allowed` names the routes expected to answer 200; every other route must answer
/// `refused`.
fn expect(found: &[(&'static str, u16)], allowed: &[&str], refused: u16, who: &str) {
    for (name, status) in found {
        let expected = if allowed.contains(name) { 200 } else { refused };
        assert_eq!(*status, expected, "{who} reading {name}");
    }
}

const ALL: [&str; 11] = [
    "own actor record",
    "own entry",
    "project",
    "project contributions",
    "allocation",
    "allocation status",
    "allocations of the project",
    "allocations of alice",
    "leaf page",
    "concentration",
    "allocator",
];

#[tokio::test]
async fn each_rule_for_each_role() {
    let w = world().await;
    expect(&w.statuses(None).await, &[], 401, "a stranger");
    expect(&w.statuses(Some(&w.reg)).await, &ALL, 403, "the regulator");
    // A member and party: its own records, its project, its allocations; never the log.
    expect(
        &w.statuses(Some(&w.alice)).await,
        &ALL[..8],
        403,
        "alice, a member and a player",
    );
    // The owner and realizer: its project and allocations, not alice's own records.
    let owned = [
        "project",
        "project contributions",
        "allocation",
        "allocation status",
        "allocations of the project",
    ];
    expect(
        &w.statuses(Some(&w.shop)).await,
        &owned,
        403,
        "shop, the owner",
    );
    // A member of another project reads nothing of this one.
    expect(
        &w.statuses(Some(&w.dan)).await,
        &[],
        403,
        "dan, a member elsewhere",
    );
    // dan's own project and record are his.
    assert_eq!(w.app.get_as(&w.dan, "/v1/projects/other").await.0, 200);
    assert_eq!(w.app.get_as(&w.dan, "/v1/actors/dan").await.0, 200);
}

#[tokio::test]
async fn refusals_are_problems_that_say_which() {
    let w = world().await;
    let (status, problem) = w.app.get_as(&w.dan, "/v1/projects/novel").await;
    assert_eq!(status, 403);
    assert_eq!(problem["type"], "urn:fairshare:problem:forbidden");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("owner and members"), "{detail}");
    let (status, problem) = w.app.get_as(&w.alice, "/v1/audit/concentration").await;
    assert_eq!(status, 403, "a regulator-only endpoint called by an actor");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("regulator"), "{detail}");
    let (status, problem) = w.app.get("/v1/actors/alice").await;
    assert_eq!(status, 401);
    assert_eq!(problem["type"], "urn:fairshare:problem:unauthenticated");
    // An id that does not exist is refused like another's: existence is not told.
    let unknown = format!("/v1/allocations/{}", "5a".repeat(32));
    assert_eq!(w.app.get_as(&w.alice, &unknown).await.0, 403);
    assert_eq!(w.app.get_as(&w.reg, &unknown).await.0, 404);
}

#[tokio::test]
async fn public_routes_need_no_signature() {
    let w = world().await;
    let mut paths = vec![
        "/healthz".to_owned(),
        "/readyz".to_owned(),
        "/health".to_owned(),
        "/metrics".to_owned(),
        "/v1/log/key".to_owned(),
        "/v1/log/checkpoint".to_owned(),
        "/v1/log/proof/inclusion?leaf_index=0&tree_size=2".to_owned(),
        "/v1/log/proof/consistency?first=1&second=2".to_owned(),
    ];
    paths.push(format!("/v1/policies/{}", w.policy));
    for path in paths {
        assert_eq!(raw_status(&w.app, &path).await, 200, "{path}");
    }
}

#[tokio::test]
async fn a_regulator_grants_read_all_to_an_auditor_and_revokes_it() {
    let w = world().await;
    expect(
        &w.statuses(Some(&w.carol)).await,
        &[],
        403,
        "carol before the grant",
    );
    // Only a regulator grants, and only to a registered actor.
    let by_alice = w.alice.sign("read.granted", json!({"auditor": "carol"}));
    let (status, problem) = w.app.post(&by_alice).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["type"], "urn:fairshare:problem:not-permitted");
    let to_nobody = w.reg.sign("read.granted", json!({"auditor": "nobody"}));
    assert_eq!(w.app.post(&to_nobody).await.0, 422);

    let grant = w.reg.sign("read.granted", json!({"auditor": "carol"}));
    let (status, receipt) = w.app.post(&grant).await;
    assert_eq!(status, 201, "{receipt}");
    expect(
        &w.statuses(Some(&w.carol)).await,
        &ALL,
        403,
        "carol, an auditor",
    );
    let revoke = w.reg.sign("read.revoked", json!({"auditor": "carol"}));
    assert_eq!(w.app.post(&revoke).await.0, 201);
    expect(
        &w.statuses(Some(&w.carol)).await,
        &[],
        403,
        "carol after the revocation",
    );
}

#[tokio::test]
async fn leaf_pages_show_no_more_than_the_query_endpoints() {
    let w = world().await;
    // Every leaf holds whole entries: no role that the query endpoints restrict reads them.
    let url = format!("{}/v1/log/entries?start=0", w.app.base);
    for reader in [&w.alice, &w.shop, &w.dan, &w.carol] {
        let headers = reader
            .request_signer()
            .sign("GET", &url, b"")
            .expect("signs");
        let response = w
            .app
            .client
            .get(&url)
            .headers(headers)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 403, "{}", reader.id);
        let body = response.text().await.expect("text");
        assert!(!body.contains("\"leaf\""), "{body}");
    }
    // Neither through the request command nor through an export (of the whole log).
    crate::transparency::wait_for_checkpoint(&w.app, w.app.log_size().await).await;
    let dir = w.app.data_dir.path();
    let (alice_key, reg_key) = (dir.join("alice.key"), dir.join("reg.key"));
    fairshare::keyfile::write(&alice_key, &w.alice.key).expect("key file");
    fairshare::keyfile::write(&reg_key, &w.reg.key).expect("key file");
    let (alice_key, reg_key) = (alice_key.to_string_lossy(), reg_key.to_string_lossy());
    let out = dir.join("log.ndjson").to_string_lossy().to_string();
    let base = w.app.base.as_str();
    let page = "/v1/log/entries?start=0";
    let output = cli(&[
        "request", "GET", page, "--actor", "alice", "--key", &alice_key, "--server", base,
    ])
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("forbidden"));
    let output = cli(&[
        "export", "--server", base, "--out", &out, "--actor", "alice", "--key", &alice_key,
    ])
    .await;
    assert!(
        !output.status.success(),
        "alice exported the log: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = cli(&["export", "--server", base, "--out", &out]).await;
    assert!(!output.status.success(), "a stranger exported the log");
    let output = cli(&[
        "export", "--server", base, "--out", &out, "--actor", "reg", "--key", &reg_key,
    ])
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn the_request_command_signs_as_the_actor() {
    let w = world().await;
    let key_file = w.app.data_dir.path().join("alice.key");
    fairshare::keyfile::write(&key_file, &w.alice.key).expect("key file");
    let key = key_file.to_string_lossy();
    let output = cli(&[
        "request",
        "GET",
        "/v1/allocations?actor=alice",
        "--actor",
        "alice",
        "--key",
        &key,
        "--server",
        &w.app.base,
    ])
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(listed["allocations"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn public_reads_restore_the_public_log() {
    let app = spawn_public_app().await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    assert_eq!(app.get("/v1/actors/alice").await.0, 200);
    assert_eq!(raw_status(&app, "/v1/log/entries?start=0").await, 200);
    assert_eq!(app.get("/v1/allocator").await.0, 200);
    // A signature, when sent, is still checked.
    let stranger = Actor::new("stranger");
    assert_eq!(app.get_as(&stranger, "/v1/actors/alice").await.0, 401);
}
