//! The test harness: a fresh database per test (DATABASE_URL's server, else the embedded
//! starter), the real server on port 0, and signing helpers.

use clap::Parser;
use fairshare::client::RequestSigner;
use fairshare::crypto::SecretKey;
use fairshare::entry::ActorId;
use fairshare::entry::envelope::{format_timestamp, sign_envelope};
use fairshare::entry::privacy::{CommittedField, Disclosure};
use fairshare::server::{RunningServer, ServerConfig};
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use tempfile::TempDir;

static CLUSTER: OnceLock<Mutex<Option<fairshare::store::embedded::EmbeddedPostgres>>> =
    OnceLock::new();
static ADMIN_URL: OnceLock<String> = OnceLock::new();

extern "C" fn stop_cluster() {
    if let Some(Some(mut cluster)) = CLUSTER
        .get()
        .and_then(|c| c.lock().ok())
        .map(|mut c| c.take())
    {
        let _ = cluster.stop();
    }
}

/// The server every test database lives on.
pub fn admin_url() -> String {
    ADMIN_URL
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) => url,
            Err(_) => {
                let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-pg");
                let cluster = fairshare::store::embedded::EmbeddedPostgres::start(&dir, None)
                    .unwrap_or_else(|e| panic!("embedded PostgreSQL for tests: {e}"));
                let url = cluster.url();
                CLUSTER.get_or_init(|| Mutex::new(Some(cluster)));
                // Statics are never dropped: stop the cluster when the test binary exits.
                #[allow(unsafe_code)] // std has no atexit
                // SAFETY: stop_cluster is an extern "C" fn that never unwinds across the boundary.
                unsafe {
                    libc::atexit(stop_cluster)
                };
                url
            }
        })
        .clone()
}

pub async fn admin_connection(database: &str) -> PgConnection {
    let options = PgConnectOptions::from_str(&admin_url())
        .expect("admin url")
        .database(database);
    PgConnection::connect_with(&options)
        .await
        .expect("connect to test PostgreSQL")
}

/// Drops the running `app`'s database under it (the database gone, the server up).
pub async fn drop_database_under(app: &TestApp) {
    let mut admin = admin_connection("postgres").await;
    sqlx::Executor::execute(
        &mut admin,
        sqlx::AssertSqlSafe(format!("DROP DATABASE \"{}\" WITH (FORCE)", app.database)),
    )
    .await
    .expect("drop the database under the server");
}

/// Drops the databases of earlier test runs whose process is gone (the names carry its pid),
/// so test databases do not pile up on a shared server.
async fn drop_stale_databases(admin: &mut PgConnection) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'fairshare_test_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let pid = name
            .strip_prefix("fairshare_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|p| p.parse::<u32>().ok());
        let gone = pid.is_some_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        if gone {
            // The name was read from pg_database and matched the pattern above.
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut *admin)
            .await;
        }
    }
}

/// A new, empty, migrated database, set up as `fairshare db setup` does; returns the URL
/// the server connects with (the login role with INSERT and SELECT only) and its name.
pub async fn fresh_database() -> (String, String) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let name = format!(
        "fairshare_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        chrono::Utc::now().timestamp_micros()
    );
    let mut admin = admin_connection("postgres").await;
    CLEANED
        .get_or_init(|| drop_stale_databases(&mut admin))
        .await;
    admin.close().await.expect("close");
    let admin_options = PgConnectOptions::from_str(&admin_url()).expect("admin url");
    fairshare::store::setup::provision(&admin_options, &name)
        .await
        .unwrap_or_else(|e| panic!("set up {name}: {e}"));
    let mut url = url::Url::parse(&admin_url()).expect("url");
    url.set_path(&name);
    url.set_username(fairshare::store::setup::APP_ROLE)
        .expect("a URL with a user");
    url.set_password(None).expect("a URL with a user");
    (url.to_string(), name)
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub server: RunningServer,
    pub database_url: String,
    pub database: String,
    pub data_dir: TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// A server whose every read is public (`--public-reads`), for tests of what endpoints
/// answer rather than of who may read them (tests/api/access.rs).
pub async fn spawn_public_app() -> TestApp {
    spawn_app_with(&[PUBLIC_READS]).await
}

/// The flag that makes every read public.
pub const PUBLIC_READS: &str = "--public-reads";

/// [`spawn_app`] with extra `fairshare serve` flags.
pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let (url, name) = fresh_database().await;
    spawn_app_on(url, name, tempfile::tempdir().expect("tempdir"), extra).await
}

/// Starts a server on an existing database and data folder (server key), with extra flags.
pub async fn spawn_app_on(
    database_url: String,
    database: String,
    data_dir: TempDir,
    extra: &[&str],
) -> TestApp {
    init_logs();
    let data = data_dir.path().to_string_lossy().to_string();
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &database_url,
        "--data-dir",
        &data,
        "--db-connections",
        "4",
    ];
    args.extend_from_slice(extra);
    let config = server_config(&args);
    let server = RunningServer::start(config).await.expect("server starts");
    TestApp {
        base: format!("http://{}", server.addr),
        client: reqwest::Client::new(),
        server,
        database_url,
        database,
        data_dir,
    }
}

#[derive(clap::Parser)]
struct ServeCommand {
    #[command(flatten)]
    config: ServerConfig,
}

/// The configuration `fairshare serve ARGS` would run with (`args[0]` is the command name).
pub fn server_config(args: &[&str]) -> ServerConfig {
    ServeCommand::parse_from(args).config
}

fn init_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("info")
                .with_test_writer()
                .try_init();
        }
    });
}

/// An actor of the tests with its key.
pub struct Actor {
    pub id: String,
    pub key: SecretKey,
}

impl Actor {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            key: SecretKey::generate().expect("key"),
        }
    }

    pub fn key_id(&self) -> String {
        self.key.public_key().key_id().to_string()
    }

    /// The signer of this actor's requests.
    pub fn request_signer(&self) -> RequestSigner {
        RequestSigner::new(&self.id, self.key.clone())
    }

    /// A signed entry with a fresh nonce and the current time.
    pub fn sign(&self, entry_type: &str, body: Value) -> Value {
        self.sign_with(&self.key, entry_type, body, &[])
    }

    pub fn sign_with(
        &self,
        key: &SecretKey,
        entry_type: &str,
        body: Value,
        cosigners: &[(&str, &SecretKey)],
    ) -> Value {
        let envelope = json!({
            "v": 3, "type": entry_type, "actor": self.id, "key": key.public_key().key_id().to_string(),
            "nonce": next_nonce(), "ts": format_timestamp(chrono::Utc::now()), "body": body,
        });
        let cosigners: Vec<(ActorId, &SecretKey)> = cosigners
            .iter()
            .map(|(a, k)| (ActorId::parse(a).expect("actor id"), *k))
            .collect();
        sign_envelope(&envelope, key, &cosigners).expect("signs")
    }

    pub fn registration(&self, kind: &str) -> Value {
        self.sign(
            "actor.registered",
            json!({"kind": kind, "public_key": self.key.public_key().to_base64()}),
        )
    }

    pub fn contribution(&self, project: &str, builds_on: &[&str]) -> Value {
        self.sign(
            "contribution",
            json!({"project": project, "kind": "draft", "measure": {"quantity": "3", "unit": "pages"},
                   "evidence": format!("commit:{}", "5a".repeat(32)), "builds_on": builds_on}),
        )
    }
}

/// A fresh commitment for `field` of `cleartext` (evidence: `blake3:<hex>` of the artifact),
/// with the disclosure that opens it.
pub fn commit(field: CommittedField, cleartext: &str) -> (String, Disclosure) {
    let (commitment, disclosure) =
        Disclosure::commit(field, cleartext.to_owned()).expect("commits");
    (commitment.to_string(), disclosure)
}

/// The evidence commitment of an artifact's bytes, under a fresh salt.
pub fn evidence(artifact: &[u8]) -> String {
    let digest = format!(
        "blake3:{}",
        fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(artifact))
    );
    commit(CommittedField::Evidence, &digest).0
}

pub fn next_nonce() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "nonce-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

impl TestApp {
    pub async fn post(&self, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/v1/entries", self.base))
            .json(body)
            .send()
            .await
            .expect("request");
        answer(response).await
    }

    /// POSTs an empty body to `path` (an action such as a retry).
    pub async fn post_empty(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        answer(response).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        answer(response).await
    }

    /// `GET path` signed by `actor` (PROTOCOL.md, "Signed requests").
    pub async fn get_as(&self, actor: &Actor, path: &str) -> (u16, Value) {
        self.send_signed(actor, "GET", path, b"").await
    }

    /// `method path` with `body` signed by `actor`, now, with a fresh nonce.
    pub async fn send_signed(
        &self,
        actor: &Actor,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let headers = actor
            .request_signer()
            .sign(method, &url, body)
            .expect("signs");
        self.send_with(method, path, headers, body).await
    }

    /// `method path` with `body` and exactly `headers` (signatures made by the test).
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        headers: reqwest::header::HeaderMap,
        body: &[u8],
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .headers(headers)
            .body(body.to_vec())
            .send()
            .await
            .expect("request");
        answer(response).await
    }

    /// An entry of `actor` signed by the server key, as the operator's registrations and
    /// the allocator's entries are.
    pub fn sign_as_server(&self, actor: &str, entry_type: &str, body: Value) -> Value {
        let key_path = self.data_dir.path().join("server.key");
        let server_key = fairshare::keyfile::read(&key_path).expect("server key");
        let envelope = json!({
            "v": 3, "type": entry_type, "actor": actor,
            "key": server_key.public_key().key_id().to_string(), "nonce": next_nonce(),
            "ts": format_timestamp(chrono::Utc::now()), "body": body,
        });
        sign_envelope(&envelope, &server_key, &[]).expect("signs")
    }

    /// Registers `actor` as the server operator does (`fairshare actor register`).
    pub async fn register_by_operator(&self, actor: &Actor, kind: &str) {
        let body = json!({"kind": kind, "public_key": actor.key.public_key().to_base64()});
        let signed = self.sign_as_server(&actor.id, "actor.registered", body);
        let (status, body) = self.post(&signed).await;
        assert_eq!(status, 201, "{body}");
    }

    /// Registers `model` as an AI actor (model scribe, version 2) operated by `operator`,
    /// who co-signs.
    pub async fn register_ai(&self, model: &Actor, operator: &Actor) {
        let registration = model.sign_with(
            &model.key,
            "actor.registered",
            json!({"kind": "ai", "public_key": model.key.public_key().to_base64(),
                   "operator": operator.id, "model": {"name": "scribe", "version": "2"}}),
            &[(&operator.id, &operator.key)],
        );
        let (status, body) = self.post(&registration).await;
        assert_eq!(status, 201, "{body}");
    }

    /// Registers `actor` through the API with its own key.
    pub async fn register(&self, actor: &Actor, kind: &str) -> Value {
        let (status, body) = self.post(&actor.registration(kind)).await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Adopts `policies/<name>.toml` as `actor`; returns the policy's `blake3:<hex>` hash.
    pub async fn adopt_policy(&self, actor: &Actor, name: &str) -> String {
        let path = format!("{}/policies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).expect("policy file");
        let hash = format!(
            "blake3:{}",
            fairshare::crypto::hash::to_hex(&fairshare::crypto::hash::blake3(text.as_bytes()))
        );
        let entry = actor.sign(
            "policy.adopted",
            json!({"name": name, "text": text, "hash": hash}),
        );
        let (status, body) = self.post(&entry).await;
        assert_eq!(status, 201, "{body}");
        hash
    }

    /// `owner` (a registered platform) opens `project` in EUR with `membership` ("open" or
    /// "members"), admitting `policies` (`blake3:` hashes of adopted policies).
    pub async fn open_project_as(
        &self,
        owner: &Actor,
        project: &str,
        policies: &[&str],
        membership: &str,
    ) {
        let opened = owner.sign(
            "project.opened",
            json!({"project": project, "currency": "EUR", "membership": membership, "policies": policies}),
        );
        let (status, body) = self.post(&opened).await;
        assert_eq!(status, 201, "{body}");
    }

    /// A platform registered by the operator opens `project` to every registered actor, for
    /// tests about something else than projects; the platform.
    pub async fn open_project(&self, project: &str) -> Actor {
        let owner = Actor::new(&format!("{project}-owner"));
        self.register_by_operator(&owner, "platform").await;
        self.open_project_as(&owner, project, &[], "open").await;
        owner
    }

    pub async fn log_size(&self) -> u64 {
        self.server.store().size().await.expect("size")
    }
}

/// Status and text of `GET path` (checkpoints, keys, NDJSON pages).
pub async fn text(app: &TestApp, path: &str) -> (u16, String) {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("request");
    (
        response.status().as_u16(),
        response.text().await.expect("text"),
    )
}

/// Status and JSON body of a response; every error must be problem+json.
async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let body: Value = response.json().await.expect("JSON answer");
    if status >= 400 {
        assert_eq!(
            content_type.as_deref(),
            Some("application/problem+json"),
            "{body}"
        );
    }
    (status, body)
}
