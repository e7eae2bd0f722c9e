//! What the load benchmarks share: a throwaway database, the release server as a separate
//! process (so its memory and CPU can be read), and the runtime around `main`.

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::error::Error;
use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::Duration;

pub type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Runs `bench` on a multi-threaded runtime; a failure is one line and exit code 1.
pub fn main_with(name: &str, bench: impl Future<Output = BenchResult<()>>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(error) = runtime.block_on(bench) {
        eprintln!("{name} bench failed: {error}");
        std::process::exit(1);
    }
}

/// Runs `bench` with a fresh database on DATABASE_URL's server (default: the local one), set
/// up as `fairshare db setup` does: the URL the server connects with (its login role) and
/// the superuser's options on that database. Drops the database afterwards, whatever
/// happened.
pub async fn with_fresh_database<F, Fut>(prefix: &str, bench: F) -> BenchResult<()>
where
    F: FnOnce(String, PgConnectOptions) -> Fut,
    Fut: Future<Output = BenchResult<()>>,
{
    let admin_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let admin_options = PgConnectOptions::from_str(&admin_url)?;
    let mut admin = PgConnection::connect_with(&admin_options.clone().database("postgres")).await?;
    fairshare::store::setup::provision(&admin_options, &name).await?;
    let mut db_url = url::Url::parse(&admin_url)?;
    db_url.set_path(&name);
    db_url
        .set_username(fairshare::store::setup::APP_ROLE)
        .map_err(|()| "DATABASE_URL has no user")?;
    db_url
        .set_password(None)
        .map_err(|()| "DATABASE_URL has no user")?;
    let outcome = bench(db_url.to_string(), admin_options.database(&name)).await;
    // For profiling one phase again without repeating the set-up.
    if std::env::var_os("BENCH_KEEP_DATABASE").is_some() {
        eprintln!("database kept: {db_url}");
        outcome?;
        return Ok(());
    }
    let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    outcome?;
    dropped?;
    Ok(())
}

/// The server process; killed when dropped, on every path.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    #[allow(dead_code)] // Only the ingest bench reads the server's memory and CPU.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server binary the benches run: `BENCH_SERVER_BIN` when set (an earlier build, for a
/// baseline measured the same way), else this build's.
pub fn server_binary() -> std::path::PathBuf {
    std::env::var_os("BENCH_SERVER_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_fairshare").into(), Into::into)
}

/// Starts [`server_binary`] on a free loopback port (see [`start_server_from`]).
#[allow(dead_code)] // The proofs bench passes flags: it calls `start_server_with`.
pub async fn start_server(db_url: &str, data_dir: &std::path::Path) -> BenchResult<Server> {
    start_server_from(&server_binary(), db_url, data_dir).await
}

/// Starts the release `fairshare serve` of `binary` on a free loopback port and waits for
/// /health. Its log goes to the file `BENCH_SERVER_LOG` names, if set.
#[allow(dead_code)] // The proofs bench passes flags: it calls `start_server_with`.
pub async fn start_server_from(
    binary: &std::path::Path,
    db_url: &str,
    data_dir: &std::path::Path,
) -> BenchResult<Server> {
    start_server_with(binary, db_url, data_dir, &[]).await
}

/// [`start_server_from`] with `extra` flags for `fairshare serve`.
pub async fn start_server_with(
    binary: &std::path::Path,
    db_url: &str,
    data_dir: &std::path::Path,
    extra: &[&str],
) -> BenchResult<Server> {
    let log = match std::env::var_os("BENCH_SERVER_LOG") {
        Some(path) => Stdio::from(std::fs::File::create(path)?),
        None => Stdio::null(),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(binary)
        .args(["serve", "--listen", &listen, "--database-url", db_url])
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let mut server = Server {
        child,
        base: format!("http://{listen}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Some(status) = server.child.try_wait()? {
            return Err(format!("the server exited at start: {status}").into());
        }
        let health = client.get(format!("{}/health", server.base)).send().await;
        if health.is_ok_and(|r| r.status().is_success()) {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the server did not answer /health within 30 s".into())
}
