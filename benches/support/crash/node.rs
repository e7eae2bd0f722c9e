//! The node under test: `fairshare serve` as a child process with its embedded PostgreSQL (no
//! DATABASE_URL), and the two ways it is killed: SIGKILL of the server process, or SIGKILL of
//! every process of its PostgreSQL cluster at once.

use super::CrashResult;
use fairshare::store::embedded::EmbeddedPostgres;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fairshare");

/// What the harness killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kill {
    /// The server process; a new one is started on the same data folder (it joins the
    /// cluster the killed one left running).
    Server,
    /// The postmaster and every backend; the cluster is started again by the embedded
    /// starter (crash recovery from the WAL) while the server keeps running, and the server
    /// must serve again by itself.
    Postgres,
}

/// A server and its data folder (embedded cluster and server key), removed on drop.
pub struct Node {
    /// The data folder: the starter hands it to the `postgres` user when run as root, so
    /// it is a folder of its own (a folder inside one of root's 0700 would be unreachable).
    data: tempfile::TempDir,
    /// The harness's files: the server's log, the export, saved checkpoints.
    files: tempfile::TempDir,
    server: Option<Child>,
    /// The server's base URL; it changes at each server restart (port 0).
    pub base: Arc<RwLock<String>>,
    /// The cluster as the harness restarted it after a PostgreSQL kill.
    cluster: Option<EmbeddedPostgres>,
    http: reqwest::Client,
}

impl Node {
    /// initdb, the cluster and the server, answering /health.
    pub async fn start() -> CrashResult<Self> {
        let mut node = Self {
            data: tempfile::tempdir()?,
            files: tempfile::tempdir()?,
            server: None,
            base: Arc::new(RwLock::new(String::new())),
            cluster: None,
            http: reqwest::Client::new(),
        };
        if std::env::var_os("CRASH_KEEP").is_some() {
            node.data.disable_cleanup(true);
            node.files.disable_cleanup(true);
            eprintln!(
                "crash test: data in {}, logs and exports in {} (kept)",
                node.data.path().display(),
                node.files.path().display()
            );
        }
        node.start_server().await?;
        Ok(node)
    }

    pub fn base(&self) -> String {
        read(&self.base)
    }

    /// The embedded cluster and the server key live here.
    pub fn data_dir(&self) -> PathBuf {
        self.data.path().to_owned()
    }

    /// A file of the harness beside the data folder (exports, saved checkpoints).
    pub fn file(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }

    async fn start_server(&mut self) -> CrashResult<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.file("server.log"))?;
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            // The auditor reads allocations and exports as a stranger could on a public log.
            .args([
                "--checkpoint-interval-ms",
                "100",
                "--public-reads",
                "--data-dir",
            ])
            .arg(self.data_dir())
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("the server has no stdout")?;
        self.server = Some(child);
        let (said, listening) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            let _ = said.send(lines.next().and_then(Result::ok));
            lines.for_each(drop);
        });
        let first = tokio::time::timeout(Duration::from_secs(300), listening).await??;
        let address = first
            .as_deref()
            .and_then(|line| line.strip_prefix("fairshare listening on "))
            .ok_or_else(|| {
                format!(
                    "the server did not start (said {first:?}); see {}",
                    self.file("server.log").display()
                )
            })?;
        *self.base.write().unwrap_or_else(|e| e.into_inner()) = address.to_owned();
        self.wait_healthy().await
    }

    /// Polls /health until the server and its database answer (at most two minutes).
    pub async fn wait_healthy(&self) -> CrashResult<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let health = self
                .http
                .get(format!("{}/health", self.base()))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!(
            "the server did not answer /health within 120 s; see {}",
            self.file("server.log").display()
        )
        .into())
    }

    /// SIGKILLs what `kill` names, then restarts it; returns when /health answers again,
    /// with how long of that was spent waiting for the killed processes to be reaped.
    pub async fn kill_and_restart(&mut self, kill: Kill) -> CrashResult<Duration> {
        match kill {
            Kill::Server => {
                self.kill_server();
                self.start_server().await?;
                Ok(Duration::ZERO)
            }
            Kill::Postgres => {
                let pids = self.postgres_pids()?;
                let killed = Instant::now();
                signal("-KILL", &pids)?;
                wait_gone(&pids).await?;
                let reaping = killed.elapsed();
                self.restart_postgres().await?;
                self.wait_healthy().await?;
                Ok(reaping)
            }
        }
    }

    /// Stops the server as an operator would (SIGTERM, in-flight requests finished) and
    /// starts it again: the baseline of the restart times.
    pub async fn restart_cleanly(&mut self) -> CrashResult<()> {
        if let Some(mut server) = self.server.take() {
            signal("-TERM", &[server.id()])?;
            tokio::task::spawn_blocking(move || server.wait()).await??;
        }
        self.start_server().await
    }

    fn kill_server(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// The postmaster (from postmaster.pid) and its children (backends, background workers).
    fn postgres_pids(&self) -> CrashResult<Vec<u32>> {
        let Some(postmaster) = self.postmaster() else {
            return Err("no postmaster.pid: PostgreSQL is not running".into());
        };
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc")? {
            let Ok(pid) = entry?.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if process_state(pid).is_some_and(|(_, parent)| parent == postmaster) {
                pids.push(pid);
            }
        }
        Ok(pids)
    }

    fn postmaster(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.data_dir().join("pgdata/postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// Starts the cluster again with the server's own starter, as its supervisor would. A
    /// start can fail while the killed processes' shared memory is being released: retried.
    async fn restart_postgres(&mut self) -> CrashResult<()> {
        if let Some(mut gone) = self.cluster.take() {
            // Its cluster is dead: stopping it fails, and must not reach the new one.
            let _ = tokio::task::spawn_blocking(move || gone.stop()).await;
        }
        let mut attempts = 0;
        loop {
            let dir = self.data_dir();
            match tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, None)).await? {
                Ok(cluster) => {
                    self.cluster = Some(cluster);
                    return Ok(());
                }
                Err(error) if attempts >= 20 => return Err(error.into()),
                Err(_) => attempts += 1,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Runs the fairshare command line with `args`; its status and output.
    pub fn fairshare(&self, args: &[&str]) -> CrashResult<(bool, String)> {
        let output = Command::new(BIN)
            .args(args)
            .env_remove("DATABASE_URL")
            .output()?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok((output.status.success(), said))
    }
}

impl Drop for Node {
    /// Kills the server and stops the cluster (fast shutdown), whoever started it, before
    /// the data folder is removed.
    fn drop(&mut self) {
        self.kill_server();
        if let Some(mut cluster) = self.cluster.take() {
            let _ = cluster.stop();
        }
        if let Some(postmaster) = self.postmaster() {
            let _ = signal("-INT", &[postmaster]);
            let deadline = Instant::now() + Duration::from_secs(30);
            while process_state(postmaster).is_some_and(|(state, _)| state != 'Z')
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn read(base: &RwLock<String>) -> String {
    base.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A process's state letter and parent, from /proc/PID/stat (None once it is gone).
fn process_state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields follow the last ')'.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?))
}

/// Sends `signal` (`-KILL`, `-INT`) to `pids` with kill(1): PostgreSQL's processes belong
/// to the `postgres` user when the harness runs as root.
fn signal(signal: &str, pids: &[u32]) -> CrashResult<()> {
    // The exit status is not checked: a backend may have exited between the listing and
    // the signal. wait_gone checks the outcome.
    Command::new("kill")
        .arg(signal)
        .args(pids.iter().map(ToString::to_string))
        .stderr(Stdio::null())
        .status()?;
    Ok(())
}

/// Waits until every process of `pids` is gone, reaped included: `pg_ctl status` takes an
/// unreaped (zombie) postmaster for a running one, and the starter would then join a dead
/// cluster. (This machine's init reaps orphans up to seconds late.)
async fn wait_gone(pids: &[u32]) -> CrashResult<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while pids.iter().any(|pid| process_state(*pid).is_some()) {
        if Instant::now() > deadline {
            return Err("killed PostgreSQL processes were not reaped within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
