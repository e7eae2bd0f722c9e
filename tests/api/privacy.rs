//! Privacy by design (docs/PRIVACY.md): personal data enters the leaves only as salted
//! commitments, its cleartexts live in the disclosure store, and an erasure removes them for
//! good while the log still verifies and every allocation reproduces.

use crate::helpers::{
    Actor, TestApp, admin_url, commit, evidence, fresh_database, spawn_app, spawn_app_with,
    spawn_public_app,
};
use crate::operations::{ServeProcess, serving_base};
use fairshare::crypto::commit::{Commitment, Purpose, Salt};
use fairshare::crypto::hash;
use fairshare::entry::envelope::{format_timestamp, sign_envelope};
use fairshare::entry::privacy::{CommittedField, Disclosure};
use serde_json::{Value, json};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_fairshare");

/// A deposit of `disclosures` for `entry`.
fn deposit(entry: &str, disclosures: &[&Disclosure]) -> Value {
    let items: Vec<Value> = disclosures
        .iter()
        .map(|d| json!({"field": d.field.as_str(), "cleartext": d.cleartext, "salt": d.salt.to_hex()}))
        .collect();
    json!({"entry": entry, "disclosures": items})
}

/// A server run as its own process, whose log lines (every level from debug up) go to a
/// file: what the operator's log collector would keep.
struct LoggedServer {
    base: String,
    client: reqwest::Client,
    database: String,
    dir: tempfile::TempDir,
    _process: ServeProcess,
}

impl LoggedServer {
    async fn start() -> Self {
        let (url, database) = fresh_database().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("server.log");
        let process = ServeProcess(
            Command::new(BIN)
                .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
                .args(["--database-url", &url, "--db-connections", "4"])
                .args(["--checkpoint-interval-ms", "50"])
                // Public leaves: the test exports and reads as anyone may on such a log;
                // disclosures stay private whatever this says.
                .arg("--public-reads")
                .arg("--data-dir")
                .arg(dir.path())
                .env("FAIRSHARE_LOG", "debug")
                .stderr(std::fs::File::create(&log).expect("log file"))
                .spawn()
                .expect("fairshare serve starts"),
        );
        LoggedServer {
            base: serving_base(&log).await,
            client: reqwest::Client::new(),
            database,
            dir,
            _process: process,
        }
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Submits an entry that must be accepted; its receipt.
    async fn submit(&self, entry: &Value) -> Value {
        let (status, receipt) = self.post("/v1/entries", entry).await;
        assert!(status == 201, "{status}: {receipt}");
        receipt
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `actor` registered as a platform by the operator (signed with the server's key).
    async fn register_platform(&self, actor: &Actor) {
        let server_key =
            fairshare::keyfile::read(&self.dir.path().join("server.key")).expect("server key");
        let envelope = json!({
            "v": 3, "type": "actor.registered", "actor": actor.id,
            "key": server_key.public_key().key_id().to_string(), "nonce": crate::helpers::next_nonce(),
            "ts": format_timestamp(chrono::Utc::now()),
            "body": {"kind": "platform", "public_key": actor.key.public_key().to_base64()},
        });
        self.submit(&sign_envelope(&envelope, &server_key, &[]).expect("signs"))
            .await;
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).expect("server log")
    }
}

/// The whole database as `pg_dump` writes it (plain SQL text: every row of every table,
/// TOASTed values read back in full).
fn pg_dump(database: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).expect("url");
    url.set_path(database);
    let output = Command::new("pg_dump")
        .arg(format!("--dbname={url}"))
        .output()
        .expect("pg_dump runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 dump")
}

fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

// Multi-threaded: the blocking child processes below must not starve the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_leaves_no_trace_and_the_log_still_verifies() {
    let server = LoggedServer::start().await;
    let (alice, bob, shop) = (Actor::new("alice"), Actor::new("bob"), Actor::new("shop"));
    server.register_platform(&shop).await;

    let (name, name_opening) = commit(CommittedField::Name, "Alice Liddell, 12 Cherry Lane");
    let registration = alice.sign(
        "actor.registered",
        json!({"kind": "human", "public_key": alice.key.public_key().to_base64(), "name": name}),
    );
    let registered = server.submit(&registration).await;
    server
        .submit(&bob.sign(
            "actor.registered",
            json!({"kind": "human", "public_key": bob.key.public_key().to_base64()}),
        ))
        .await;

    let policy_text = std::fs::read_to_string(format!(
        "{}/policies/proportional.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("policy");
    let policy = format!(
        "blake3:{}",
        hash::to_hex(&hash::blake3(policy_text.as_bytes()))
    );
    server
        .submit(&shop.sign(
            "policy.adopted",
            json!({"name": "proportional", "text": policy_text, "hash": policy}),
        ))
        .await;
    server.submit(&shop.sign("project.opened", json!({"project": "novel", "currency": "EUR", "membership": "open", "policies": [policy]}))).await;

    let artifact = b"Chapter one. It was a bright cold day in April.";
    let digest = format!("blake3:{}", hash::to_hex(&hash::blake3(artifact)));
    let (evidence_commitment, evidence_opening) = commit(CommittedField::Evidence, &digest);
    let (note, note_opening) = commit(
        CommittedField::Note,
        "drafted at St Mary's hospital, ward 4",
    );
    let contribution = server
        .submit(&alice.sign("contribution", json!({"project": "novel", "kind": "text",
            "measure": {"quantity": "1000", "unit": "words"}, "evidence": evidence_commitment, "note": note})))
        .await;
    server.submit(&bob.sign("contribution", json!({"project": "novel", "kind": "text",
            "measure": {"quantity": "3000", "unit": "words"}, "evidence": evidence(b"bob's chapter")}))).await;
    let contribution_id = contribution["id"].as_str().expect("id");
    let registration_id = registered["id"].as_str().expect("id");
    for (entry, disclosures) in [
        (contribution_id, vec![&evidence_opening, &note_opening]),
        (registration_id, vec![&name_opening]),
    ] {
        let (status, answer) = server
            .post("/v1/disclosures", &deposit(entry, &disclosures))
            .await;
        assert_eq!(status, 201, "{answer}");
    }
    // The shop's own note stays: the positive control of every search below.
    let (shop_note, shop_opening) = commit(CommittedField::Note, "quarterly sales, shop kept note");
    let value = server
        .submit(&shop.sign(
            "value.realized",
            json!({"project": "novel", "amount": "100.00",
            "currency": "EUR", "policy": policy, "note": shop_note}),
        ))
        .await;
    let value_id = value["id"].as_str().expect("id");
    let (status, answer) = server
        .post("/v1/disclosures", &deposit(value_id, &[&shop_opening]))
        .await;
    assert_eq!(status, 201, "{answer}");
    let allocation_before = poll_allocation(&server, value_id).await;

    // Alice erases everything she disclosed, on her own authority.
    let erasure = alice.sign(
        "erasure",
        json!({"authority": "subject", "erased": [
        {"entry": registration_id, "field": "name", "commitment": name},
        {"entry": contribution_id, "field": "evidence", "commitment": evidence_commitment},
        {"entry": contribution_id, "field": "note", "commitment": note}]}),
    );
    let erased = server.submit(&erasure).await;
    let (_, shown) = server.get(&format!("/v1/entries/{}", erased["seq"])).await;
    assert_eq!(shown["type"], "erasure");
    assert_eq!(shown["envelope"]["body"]["authority"], "subject");
    // An erased field is never deposited again.
    let (status, _) = server
        .post(
            "/v1/disclosures",
            &deposit(contribution_id, &[&note_opening]),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(poll_allocation(&server, value_id).await, allocation_before);

    let export = server.dir.path().join("log.ndjson");
    let export_path = export.to_string_lossy().into_owned();
    let (ok, said) = run(&["export", "--server", &server.base, "--out", &export_path]);
    assert!(ok, "{said}");
    let key = reqwest::get(format!("{}/v1/log/key", server.base))
        .await
        .expect("key")
        .text()
        .await
        .expect("key text");
    let (ok, said) = run(&["verify", "--log", &export_path, "--log-key", key.trim()]);
    assert!(ok, "{said}");
    assert!(
        said.contains("protocol v3") && said.contains("every allocation recomputed"),
        "{said}"
    );

    // Alice still holds her salt: she (and only someone she gives it to) shows offline that
    // the artifact is her contribution's evidence, after the erasure as before.
    let artifact_file = server.dir.path().join("chapter.txt");
    std::fs::write(&artifact_file, artifact).expect("artifact");
    let artifact_path = artifact_file.to_string_lossy().into_owned();
    let salt = evidence_opening.salt.to_hex();
    let prove = |salt: &str| {
        run(&[
            "prove-evidence",
            "--artifact",
            &artifact_path,
            "--salt",
            salt,
            "--entry",
            contribution_id,
            "--log",
            &export_path,
        ])
    };
    let (ok, said) = prove(&salt);
    assert!(ok && said.starts_with("ok: "), "{said}");
    let (ok, said) = prove(&"00".repeat(32));
    assert!(!ok && said.contains("is not what entry"), "{said}");

    let places = [
        ("pg_dump", pg_dump(&server.database)),
        (
            "export",
            std::fs::read_to_string(&export).expect("export") + &leaf_texts(&export),
        ),
        ("server log", server.log()),
    ];
    let erased_strings = [
        name_opening.cleartext.clone(),
        name_opening.salt.to_hex(),
        note_opening.cleartext.clone(),
        note_opening.salt.to_hex(),
        evidence_opening.cleartext.clone(),
        evidence_opening.salt.to_hex(),
        hash::to_hex(&hash::blake3(artifact)),
        String::from_utf8_lossy(artifact).into_owned(),
    ];
    for (place, text) in &places {
        for secret in &erased_strings {
            assert!(!text.contains(secret.as_str()), "{place} holds {secret:?}");
        }
    }
    // The search does find what was not erased (the dump holds the disclosure store).
    assert!(places[0].1.contains(&shop_opening.cleartext));
    assert!(places[0].1.contains(&shop_opening.salt.to_hex()));
}

/// The allocation answering `value_id`, once the server made it.
async fn poll_allocation(server: &LoggedServer, value_id: &str) -> Value {
    for _ in 0..400 {
        let (status, body) = server.get(&format!("/v1/allocations/{value_id}")).await;
        if status == 200 {
            return body["body"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no allocation for {value_id}");
}

/// The leaves of an export as text (the file holds them in base64).
fn leaf_texts(export: &std::path::Path) -> String {
    std::fs::read_to_string(export)
        .expect("export")
        .lines()
        .map(|line| {
            let (_, leaf) = fairshare::client::layout::parse_leaf_line(line).expect("leaf line");
            String::from_utf8(leaf).expect("UTF-8 leaf")
        })
        .collect()
}

#[tokio::test]
async fn disclosures_are_stored_only_when_they_open_the_commitment() {
    let app = spawn_app().await;
    app.open_project("novel").await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    let (note, opening) = commit(CommittedField::Note, "proofread by Carol");
    let (status, receipt) = app
        .post(&alice.sign("contribution", json!({"project": "novel", "kind": "draft",
            "measure": {"quantity": "1", "unit": "pages"}, "evidence": evidence(b"p"), "note": note})))
        .await;
    assert_eq!(status, 201, "{receipt}");
    let entry = receipt["id"].as_str().expect("id");

    let wrong_text = Disclosure::new(
        CommittedField::Note,
        "proofread by Dave".into(),
        opening.salt,
    )
    .expect("form");
    let wrong_salt = Disclosure::new(
        CommittedField::Note,
        opening.cleartext.clone(),
        Salt([0; 32]),
    )
    .expect("form");
    for wrong in [&wrong_text, &wrong_salt] {
        let (status, problem) = post_deposit(&app, &deposit(entry, &[wrong])).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["field"], "disclosures[0]");
    }
    let (_, name) = commit(CommittedField::Name, "Alice");
    let (status, problem) = post_deposit(&app, &deposit(entry, &[&name])).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("disclosures[0].field"))
    );
    let (status, _) = post_deposit(&app, &deposit(&"ab".repeat(32), &[&opening])).await;
    assert_eq!(status, 404);
    let stored: (i64,) = sqlx::query_as("SELECT count(*) FROM disclosures")
        .fetch_one(&mut crate::helpers::admin_connection(&app.database).await)
        .await
        .expect("count");
    assert_eq!(stored.0, 0, "nothing refused was stored");

    let (status, answer) = post_deposit(&app, &deposit(entry, &[&opening])).await;
    assert_eq!(status, 201, "{answer}");
    // Depositing again is idempotent.
    assert_eq!(
        post_deposit(&app, &deposit(entry, &[&opening])).await.0,
        201
    );
}

async fn post_deposit(app: &TestApp, body: &Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/v1/disclosures", app.base))
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_stranger_holding_the_artifact_cannot_find_its_contribution() {
    // The strongest case for the stranger: a log whose every leaf is public.
    let app = spawn_public_app().await;
    app.open_project("novel").await;
    let artifact = b"the artifact a stranger found";
    let digest = hash::blake3(artifact);
    let mut salts = Vec::new();
    for i in 0..20 {
        let author = Actor::new(&format!("author{i}"));
        app.register(&author, "human").await;
        let (commitment, opening) = commit(
            CommittedField::Evidence,
            &format!("blake3:{}", hash::to_hex(&digest)),
        );
        salts.push(opening.salt);
        let (status, body) = app
            .post(&author.sign(
                "contribution",
                json!({"project": "novel", "kind": "draft",
                "measure": {"quantity": "1", "unit": "pages"}, "evidence": commitment}),
            ))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let evidences = every_evidence(&app).await;
    assert_eq!(evidences.len(), 20);
    // Without a salt: neither the plain digest (what v2 logged) nor commitments under any
    // salt the stranger tries match anything in the whole log.
    let plain = Commitment(digest);
    let guessed: Vec<Commitment> =
        (0..=255u8)
            .map(|b| Commitment::new(Purpose::Evidence, &Salt([b; 32]), &digest))
            .chain((0..1000).map(|_| {
                Commitment::new(Purpose::Evidence, &Salt::random().expect("salt"), &digest)
            }))
            .chain([plain])
            .collect();
    assert!(evidences.iter().all(|e| !guessed.contains(e)));
    // With its salt, the artifact matches exactly its own contribution.
    for salt in &salts {
        let opened = Commitment::new(Purpose::Evidence, salt, &digest);
        assert_eq!(evidences.iter().filter(|e| **e == opened).count(), 1);
    }
}

/// The evidence commitment of every contribution in the log, read from the leaves.
async fn every_evidence(app: &TestApp) -> Vec<Commitment> {
    let (_, page) = crate::helpers::text(app, "/v1/log/entries?start=0").await;
    page.lines()
        .filter_map(|line| {
            let (_, leaf) = fairshare::client::layout::parse_leaf_line(line).expect("line");
            let (entry, _) = fairshare::entry::SignedEntry::from_leaf(&leaf).expect("leaf");
            match entry.envelope.body {
                fairshare::entry::Body::Contribution(c) => Some(c.evidence),
                _ => None,
            }
        })
        .collect()
}

#[tokio::test]
async fn only_the_subject_or_a_regulator_erases() {
    let app = spawn_app().await;
    app.open_project("novel").await;
    let (alice, mallory, regulator) = (
        Actor::new("alice"),
        Actor::new("mallory"),
        Actor::new("reg"),
    );
    app.register(&alice, "human").await;
    app.register(&mallory, "human").await;
    app.register_by_operator(&regulator, "regulator").await;
    let (entry, note) = noted_contribution(&app, &alice, "alice's private note", b"a").await;
    let erase = |authority: &str| json!({"authority": authority, "erased": [{"entry": entry, "field": "note", "commitment": note}]});

    let size = app.log_size().await;
    for (by, authority, field) in [
        (&mallory, "subject", "envelope.body.erased[0].entry"),
        (&mallory, "regulator", "envelope.body.authority"),
        (&alice, "retention", "envelope.body.authority"),
    ] {
        let (status, problem) = app.post(&by.sign("erasure", erase(authority))).await;
        assert_eq!(status, 403, "{problem}");
        assert_eq!(problem["field"], field);
    }
    assert_eq!(app.log_size().await, size, "nothing was appended");
    let mut admin = crate::helpers::admin_connection(&app.database).await;
    let kept: (i64,) = sqlx::query_as("SELECT count(*) FROM disclosures")
        .fetch_one(&mut admin)
        .await
        .expect("count");
    assert_eq!(kept.0, 1, "nothing was erased");

    let (status, body) = app
        .post(&regulator.sign("erasure", erase("regulator")))
        .await;
    assert_eq!(status, 201, "{body}");
    let kept: (i64,) = sqlx::query_as("SELECT count(*) FROM disclosures")
        .fetch_one(&mut admin)
        .await
        .expect("count");
    assert_eq!(kept.0, 0, "the regulator's order erased it");
}

#[tokio::test]
async fn the_application_role_deletes_only_what_an_erasure_names() {
    let app = spawn_app().await;
    let mut server = sqlx::PgConnection::connect(&app.database_url)
        .await
        .expect("connect as the server's role");
    use sqlx::Connection;
    for statement in [
        "DELETE FROM disclosures",
        "UPDATE disclosures SET cleartext = ''",
        "TRUNCATE disclosures",
    ] {
        let refused = sqlx::query(statement).execute(&mut server).await;
        assert!(refused.is_err(), "{statement}");
    }
    // Entry 0 (the solver limits or nothing) is no erasure: the function refuses it.
    let refused = sqlx::query("SELECT fairshare_erase('default', 0)")
        .execute(&mut server)
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn notes_are_erased_after_the_retention_period() {
    let app = spawn_app_with(&["--note-retention-secs", "1"]).await;
    app.open_project("novel").await;
    let alice = Actor::new("alice");
    app.register(&alice, "human").await;
    let (note, opening) = commit(CommittedField::Note, "a note kept for one second");
    let evidence_text = format!("blake3:{}", hash::to_hex(&hash::blake3(b"kept")));
    let (evidence, evidence_opening) = commit(CommittedField::Evidence, &evidence_text);
    let (_, receipt) = app
        .post(&alice.sign(
            "contribution",
            json!({"project": "novel", "kind": "draft",
            "measure": {"quantity": "1", "unit": "pages"}, "evidence": evidence, "note": note}),
        ))
        .await;
    let entry = receipt["id"].as_str().expect("id");
    assert_eq!(
        post_deposit(&app, &deposit(entry, &[&opening, &evidence_opening]))
            .await
            .0,
        201
    );
    let mut admin = crate::helpers::admin_connection(&app.database).await;
    for _ in 0..300 {
        let left: Vec<(String,)> = sqlx::query_as("SELECT field FROM disclosures")
            .fetch_all(&mut admin)
            .await
            .expect("fields");
        if left == [("evidence".to_owned(),)] {
            let (_, erasure): (i64, Vec<u8>) =
                sqlx::query_as("SELECT seq, leaf FROM entries WHERE entry_type = 'erasure'")
                    .fetch_one(&mut admin)
                    .await
                    .expect("the retention's erasure entry");
            let leaf: Value = serde_json::from_slice(&erasure).expect("leaf");
            assert_eq!(leaf["envelope"]["actor"], "server");
            assert_eq!(leaf["envelope"]["body"]["authority"], "retention");
            assert_eq!(leaf["envelope"]["body"]["erased"][0]["entry"], entry);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the note was not erased after its retention period");
}

/// `GET path` signed by `reader`.
async fn read_as(app: &TestApp, reader: &Actor, path: &str) -> (u16, Value) {
    let headers = reader
        .request_signer()
        .sign("GET", &format!("{}{path}", app.base), b"")
        .expect("signs");
    app.send_with("GET", path, headers, b"").await
}

/// `author`'s contribution to novel with a committed note whose opening is deposited: its
/// entry id and the note's commitment.
async fn noted_contribution(
    app: &TestApp,
    author: &Actor,
    text: &str,
    artifact: &[u8],
) -> (String, String) {
    let (note, opening) = commit(CommittedField::Note, text);
    let (_, receipt) = app
        .post(&author.sign("contribution", json!({"project": "novel", "kind": "draft",
            "measure": {"quantity": "1", "unit": "pages"}, "evidence": evidence(artifact), "note": note})))
        .await;
    let entry = receipt["id"].as_str().expect("id").to_owned();
    assert_eq!(
        post_deposit(app, &deposit(&entry, &[&opening])).await.0,
        201
    );
    (entry, note)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disclosures_are_shown_to_their_subject_and_regulators_and_erased_ones_as_erased() {
    let app = spawn_app().await;
    app.open_project("novel").await;
    let (alice, bob, regulator) = (Actor::new("alice"), Actor::new("bob"), Actor::new("reg"));
    app.register(&alice, "human").await;
    app.register(&bob, "human").await;
    app.register_by_operator(&regulator, "regulator").await;
    let (entry, note) = noted_contribution(&app, &alice, "written with Bob's help", b"d").await;
    let path = format!("/v1/disclosures/{entry}");

    assert_eq!(app.get(&path).await.0, 401);
    assert_eq!(read_as(&app, &bob, &path).await.0, 403);
    for reader in [&alice, &regulator] {
        let (status, shown) = read_as(&app, reader, &path).await;
        assert_eq!(status, 200, "{shown}");
        let fields = shown["fields"].as_array().expect("fields");
        assert_eq!(fields.len(), 2, "{shown}");
        let by_field = |name: &str| {
            fields
                .iter()
                .find(|f| f["field"] == name)
                .expect("field")
                .clone()
        };
        assert_eq!(by_field("evidence")["status"], "not-deposited");
        let disclosed = by_field("note");
        assert_eq!(disclosed["status"], "disclosed");
        // The reader checks the opening against the leaf it was given.
        let leaf =
            fairshare::crypto::b64_decode(shown["leaf"].as_str().expect("leaf")).expect("base64");
        assert_eq!(hash::to_hex(&hash::blake3(&leaf)), entry);
        let (signed, _) = fairshare::entry::SignedEntry::from_leaf(&leaf).expect("leaf");
        let salt = Salt::parse(disclosed["salt"].as_str().expect("salt")).expect("salt");
        let shown_opening = Disclosure::new(
            CommittedField::Note,
            disclosed["cleartext"].as_str().expect("text").into(),
            salt,
        )
        .expect("form");
        assert!(shown_opening.opens(&signed.envelope.body));
    }
    // `fairshare disclose` shows them too, each checked against the leaf.
    let dir = tempfile::tempdir().expect("dir");
    let key_file = dir.path().join("alice.key");
    fairshare::keyfile::write(&key_file, &alice.key).expect("key file");
    let key_path = key_file.to_string_lossy().into_owned();
    let show = || {
        run(&[
            "disclose", "--server", &app.base, "--entry", &entry, "--actor", "alice", "--key",
            &key_path,
        ])
    };
    let (ok, said) = show();
    assert!(
        ok && said.contains("note: written with Bob's help (salt")
            && said.contains("evidence: not deposited"),
        "{said}"
    );
    let (status, body) = app
        .post(&alice.sign(
            "erasure",
            json!({"authority": "subject", "erased": [
            {"entry": entry, "field": "note", "commitment": note}]}),
        ))
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, shown) = read_as(&app, &regulator, &path).await;
    let note_field = shown["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["field"] == "note")
        .expect("note")
        .clone();
    assert_eq!(note_field["status"], "erased");
    assert_eq!(note_field["erasure_seq"], body["seq"]);
    assert!(note_field.get("cleartext").is_none() && note_field.get("salt").is_none());
    let (ok, said) = show();
    assert!(
        ok && said.contains("note: erased by the erasure entry at seq"),
        "{said}"
    );
}
