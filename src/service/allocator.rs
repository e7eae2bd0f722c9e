//! The allocator: after commits, allocates every `value.realized` entry that has no
//! allocation yet, and appends the result (signed by the server key) through the sequencer.
//!
//! Projects are allocated independently: at most one allocation per project runs at a time,
//! up to `at_once` of them together, each solving on its own pool of threads, so a long
//! allocation of one project never holds up a short one of another (after a restart too:
//! what is pending is taken one value per project, oldest first, never by cost). Solver
//! threads run at a lower scheduling priority than the rest of the server, and one
//! allocation uses at most the machine's cores minus one: ingestion always has a core.
//! What fails for a passing reason (database) is retried after [`RETRY_EVERY`].

use super::{Sequencer, ServiceError};
use crate::allocation::fairplay::AffiliationRecord;
use crate::allocation::{allocate, compute, name_actors};
use crate::audit::report::{Report, ReportInputs, report};
use crate::crypto::SecretKey;
use crate::entry::EntryId;
use crate::entry::body::{Body, EntryType};
use crate::entry::envelope::{Envelope, format_timestamp};
use crate::entry::record::SERVER_ACTOR;
use crate::entry::{Rejection, SignedEntry};
use crate::policy::{self, Detail};
use crate::store::{LeafEntry, Store, StoreError};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// How often pending work is looked for without a commit, and how long a project whose
/// allocation failed for a passing reason waits before it is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(10);

/// Shortest time between two looks for pending values: every commit wakes the allocator,
/// and under heavy ingest one look per commit would compete with the appends.
const LOOK_AT_MOST_EVERY: Duration = Duration::from_millis(50);

/// How many finished allocations the allocator remembers for `GET /v1/allocator`.
const KEEP_FINISHED: usize = 256;

/// Nice value of solver threads: the scheduler gives ingestion (nice 0) about nine tenths
/// of a core both want.
const SOLVER_NICENESS: i32 = 10;

/// How the allocator may use the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AllocatorSettings {
    /// Allocations solved at once (each of a different project).
    pub at_once: usize,
    /// Threads each allocation solves on.
    pub threads: usize,
}

impl AllocatorSettings {
    /// `threads` when given, else the machine's cores minus one (at least one).
    pub fn new(at_once: usize, threads: Option<usize>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            at_once: at_once.max(1),
            threads: threads.unwrap_or(cores.saturating_sub(1)).max(1),
        }
    }
}

/// What the rest of the server sees of the allocator: a way to wake it (the sequencer does
/// after each commit, an operator's retry on demand), and what it is working on.
#[derive(Clone)]
pub struct Allocator {
    due: Arc<Notify>,
    board: Arc<Mutex<Board>>,
    settings: AllocatorSettings,
}

/// A failed attempt for a passing reason (the database, most likely); nothing was appended
/// for the value it was allocating, and it is tried again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deferral {
    pub at: String,
    pub reason: String,
}

/// Where an allocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Realized, waiting for its turn (or for a retry after a deferral).
    Queued,
    /// Being read, solved or appended.
    Running,
    /// Its allocation entry is in the log.
    Done,
}

/// What a running allocation is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    ReadingInputs,
    Solving,
    Appending,
}

/// One allocation as `GET /v1/allocations/{value_id}/status` and `GET /v1/allocator` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    #[serde(serialize_with = "as_display")]
    pub value_entry: EntryId,
    pub project: String,
    pub state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// When the value entry was received.
    pub queued_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Milliseconds spent reading the inputs, solving and appending (the last attempt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solve_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub append_ms: Option<u64>,
    /// The allocation entry's id, once appended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation: Option<String>,
    /// Why the last attempt was deferred, while the value waits for the next one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deferred: Option<Deferral>,
}

fn as_display<S: serde::Serializer>(id: &EntryId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

impl Progress {
    /// A value entry (`leaf`) still waiting, or already allocated by `allocation`, as the
    /// log says when the allocator has not touched it since it started.
    pub fn from_log(
        value_id: EntryId,
        leaf: &[u8],
        allocation: Option<EntryId>,
    ) -> Result<Self, ServiceError> {
        let (value, queued_at) = SignedEntry::from_leaf(leaf).map_err(corrupt)?;
        Ok(Self {
            value_entry: value_id,
            project: value
                .envelope
                .body
                .project()
                .map(ToString::to_string)
                .unwrap_or_default(),
            state: if allocation.is_some() {
                State::Done
            } else {
                State::Queued
            },
            step: None,
            queued_at,
            started_at: None,
            finished_at: None,
            read_ms: None,
            solve_ms: None,
            append_ms: None,
            allocation: allocation.map(|id| id.to_string()),
            deferred: None,
        })
    }
}

/// The allocations the allocator has touched since it started.
#[derive(Default)]
struct Board {
    jobs: HashMap<EntryId, Progress>,
    /// Finished ones, oldest first, forgotten beyond [`KEEP_FINISHED`].
    finished: VecDeque<EntryId>,
    /// The last deferral, until an allocation succeeds.
    deferred: Option<Deferral>,
}

/// What the allocator is working on, for `GET /v1/allocator`.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub settings: AllocatorSettings,
    pub running: Vec<Progress>,
    /// Values whose last attempt was deferred.
    pub deferred: Vec<Progress>,
    /// The last finished allocations, newest first.
    pub finished: Vec<Progress>,
}

impl Allocator {
    pub fn new(settings: AllocatorSettings) -> Self {
        Self {
            due: Arc::default(),
            board: Arc::default(),
            settings,
        }
    }

    /// The notification that wakes the allocator, for the sequencer's list.
    pub fn due(&self) -> Arc<Notify> {
        self.due.clone()
    }

    /// Runs the allocator now rather than at its next commit or tick.
    pub fn wake(&self) {
        self.due.notify_one();
    }

    /// Why the last attempt was deferred, unless an allocation has succeeded since.
    pub fn deferral(&self) -> Option<Deferral> {
        self.board().deferred.clone()
    }

    /// The allocation of `value_id`, if the allocator has touched it since it started.
    pub fn progress(&self, value_id: &EntryId) -> Option<Progress> {
        self.board().jobs.get(value_id).cloned()
    }

    /// What is running, deferred and recently finished.
    pub fn overview(&self) -> Overview {
        let board = self.board();
        let mut running: Vec<Progress> = Vec::new();
        let mut deferred = Vec::new();
        for job in board.jobs.values() {
            match job.state {
                State::Running => running.push(job.clone()),
                State::Queued => deferred.push(job.clone()),
                State::Done => {}
            }
        }
        running.sort_by(|a, b| a.started_at.cmp(&b.started_at));
        deferred.sort_by(|a, b| a.queued_at.cmp(&b.queued_at));
        let finished = board
            .finished
            .iter()
            .rev()
            .filter_map(|id| board.jobs.get(id).cloned())
            .collect();
        Overview {
            settings: self.settings,
            running,
            deferred,
            finished,
        }
    }

    fn board(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes how many allocations are taken on and not done (running or deferred).
    fn count_unfinished(board: &Board) {
        let unfinished = board.jobs.len() - board.finished.len();
        metrics::gauge!(super::telemetry::ALLOCATION_QUEUE).set(unfinished as f64);
    }

    fn update(&self, value_id: &EntryId, change: impl FnOnce(&mut Progress)) {
        if let Some(job) = self.board().jobs.get_mut(value_id) {
            change(job);
        }
    }

    fn started(&self, mut progress: Progress) {
        progress.state = State::Running;
        progress.step = Some(Step::ReadingInputs);
        progress.started_at = Some(now());
        tracing::info!(value = %progress.value_entry, project = %progress.project,
                       queued_at = %progress.queued_at, "allocation started");
        let mut board = self.board();
        board.jobs.insert(progress.value_entry, progress);
        Self::count_unfinished(&board);
    }

    fn finished(&self, value_id: &EntryId, outcome: &Result<Appended, ServiceError>) {
        let mut board = self.board();
        let Some(job) = board.jobs.get_mut(value_id) else {
            return;
        };
        job.step = None;
        match outcome {
            Ok(appended) => {
                job.state = State::Done;
                job.finished_at = Some(now());
                job.allocation = appended.allocation.map(|id| id.to_string());
                job.deferred = None;
                tracing::info!(value = %value_id, project = %job.project, read_ms = job.read_ms,
                               solve_ms = job.solve_ms, append_ms = job.append_ms,
                               "allocation done");
                board.deferred = None;
                board.finished.push_back(*value_id);
                while board.finished.len() > KEEP_FINISHED {
                    if let Some(old) = board.finished.pop_front() {
                        board.jobs.remove(&old);
                    }
                }
                Self::count_unfinished(&board);
            }
            Err(error) => {
                let deferral = Deferral {
                    at: now(),
                    reason: super::describe(error),
                };
                tracing::warn!(value = %value_id, project = %job.project,
                               error = error as &dyn std::error::Error,
                               "allocation deferred; will retry");
                job.state = State::Queued;
                job.deferred = Some(deferral.clone());
                board.deferred = Some(deferral);
            }
        }
    }
}

fn now() -> String {
    format_timestamp(chrono::Utc::now())
}

fn millis(duration: Duration) -> Option<u64> {
    Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// What one allocation run appended: its entry's id, or none when another process had
/// appended it first.
struct Appended {
    allocation: Option<EntryId>,
}

/// Everything the allocator's tasks share.
struct Shared {
    store: Store,
    sequencer: Sequencer,
    server_key: SecretKey,
    allocator: Allocator,
}

/// Starts the allocator; the task is aborted at shutdown (an allocation being solved then
/// is solved again after the next start: nothing is appended for it).
pub fn spawn(
    store: Store,
    sequencer: Sequencer,
    server_key: SecretKey,
    allocator: Allocator,
) -> Result<tokio::task::JoinHandle<()>, ServiceError> {
    let settings = allocator.settings;
    let pools = (0..settings.at_once)
        .map(|_| solver_pool(settings.threads).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    let shared = Arc::new(Shared {
        store,
        sequencer,
        server_key,
        allocator,
    });
    Ok(tokio::spawn(Scheduler::new(shared, pools).run()))
}

/// A pool of `threads` solver threads at [`SOLVER_NICENESS`].
fn solver_pool(threads: usize) -> Result<rayon::ThreadPool, ServiceError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("solver-{i}"))
        .start_handler(|_| lower_priority())
        .build()
        .map_err(ServiceError::SolverPool)
}

/// Lowers the calling thread's scheduling priority (std has no setpriority; on Linux the
/// nice value is a thread's).
#[allow(unsafe_code)]
fn lower_priority() {
    // SAFETY: setpriority reads its three integer arguments only; `who = 0` with
    // PRIO_PROCESS names the calling thread on Linux.
    let status = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, SOLVER_NICENESS) };
    if status != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "solver threads run at normal priority"
        );
    }
}

/// The allocator's loop: starts the oldest pending value of each idle project while a pool
/// is free, and collects finished allocations.
struct Scheduler {
    shared: Arc<Shared>,
    /// Pools not solving anything.
    idle_pools: Vec<Arc<rayon::ThreadPool>>,
    /// Projects with an allocation running.
    busy: HashMap<String, EntryId>,
    /// Projects whose last allocation was deferred, until they may be tried again.
    resting: HashMap<String, Instant>,
    running: JoinSet<Finished>,
}

/// A finished allocation task and the pool it gives back.
struct Finished {
    project: String,
    value_id: EntryId,
    pool: Arc<rayon::ThreadPool>,
    outcome: Result<Appended, ServiceError>,
}

impl Scheduler {
    fn new(shared: Arc<Shared>, idle_pools: Vec<Arc<rayon::ThreadPool>>) -> Self {
        Self {
            shared,
            idle_pools,
            busy: HashMap::new(),
            resting: HashMap::new(),
            running: JoinSet::new(),
        }
    }

    async fn run(mut self) {
        let due = self.shared.allocator.due();
        loop {
            let looked = tokio::time::Instant::now();
            if let Err(error) = self.start_pending().await {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "cannot read pending values; will retry"
                );
                self.shared.allocator.board().deferred = Some(Deferral {
                    at: now(),
                    reason: super::describe(&error),
                });
            }
            tokio::select! {
                Some(joined) = self.running.join_next() => self.collect(joined),
                _ = tokio::time::timeout(RETRY_EVERY, due.notified()) => {}
            }
            tokio::time::sleep_until(looked + LOOK_AT_MOST_EVERY).await;
        }
    }

    /// Starts the oldest pending value of each idle project, oldest first, while pools are
    /// free.
    async fn start_pending(&mut self) -> Result<(), ServiceError> {
        if self.idle_pools.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        self.resting.retain(|_, until| *until > now);
        let excluded: Vec<String> = self
            .busy
            .keys()
            .chain(self.resting.keys())
            .cloned()
            .collect();
        let limit = i64::try_from(self.idle_pools.len()).unwrap_or(i64::MAX);
        let pending = self
            .shared
            .store
            .pending_values_of_other_projects(&excluded, limit)
            .await?;
        for entry in pending {
            let progress = Progress::from_log(entry.1, &entry.2, None)?;
            let Some(pool) = self.idle_pools.pop() else {
                break;
            };
            self.busy.insert(progress.project.clone(), entry.1);
            let project = progress.project.clone();
            self.shared.allocator.started(progress);
            let shared = self.shared.clone();
            self.running.spawn(async move {
                let value_id = entry.1;
                let outcome = allocate_one(&shared, &pool, entry).await;
                Finished {
                    project,
                    value_id,
                    pool,
                    outcome,
                }
            });
        }
        Ok(())
    }

    fn collect(&mut self, joined: Result<Finished, tokio::task::JoinError>) {
        let finished = match joined {
            Ok(finished) => finished,
            // `allocate_one` catches the solver's panics; this task has nothing else to lose.
            Err(error) => {
                tracing::error!(
                    error = &error as &dyn std::error::Error,
                    "allocation task lost"
                );
                return;
            }
        };
        self.shared
            .allocator
            .finished(&finished.value_id, &finished.outcome);
        self.busy.remove(&finished.project);
        if finished.outcome.is_err() {
            self.resting
                .insert(finished.project, Instant::now() + RETRY_EVERY);
        }
        self.idle_pools.push(finished.pool);
    }
}

/// Reads, solves (on `pool`) and appends the allocation of one value entry.
async fn allocate_one(
    shared: &Shared,
    pool: &Arc<rayon::ThreadPool>,
    (seq, value_id, leaf): LeafEntry,
) -> Result<Appended, ServiceError> {
    let allocator = &shared.allocator;
    let started = Instant::now();
    let inputs = load(&shared.store, seq, value_id, &leaf).await?;
    let read = started.elapsed();
    allocator.update(&value_id, |job| {
        job.read_ms = millis(read);
        job.step = Some(Step::Solving);
    });
    // On the pool's own threads, not the runtime's blocking ones: a server that stops
    // does not wait for a long solve, whose result it then drops.
    let (solved_body, body) = tokio::sync::oneshot::channel();
    pool.spawn(move || {
        let body = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inputs.compute()));
        let _ = solved_body.send(body);
    });
    let body = body
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or(ServiceError::SolverPanicked)?;
    let solved = started.elapsed();
    allocator.update(&value_id, |job| {
        job.solve_ms = millis(solved.saturating_sub(read));
        job.step = Some(Step::Appending);
    });
    let appended = append(shared, value_id, body).await;
    allocator.update(&value_id, |job| {
        job.append_ms = millis(started.elapsed().saturating_sub(solved));
    });
    if appended.is_ok() {
        metrics::histogram!(super::telemetry::ALLOCATION_SECONDS)
            .record(started.elapsed().as_secs_f64());
    }
    appended
}

/// Signs the allocation entry and appends it through the sequencer.
async fn append(shared: &Shared, value_id: EntryId, body: Value) -> Result<Appended, ServiceError> {
    let server_key = &shared.server_key;
    let envelope = Envelope::unsigned(
        EntryType::Allocation,
        SERVER_ACTOR,
        server_key.public_key().key_id(),
        // One nonce per value entry: a second allocator process is refused, not duplicated.
        &format!("allocation-{}", &value_id.to_string()[..32]),
        &now(),
        body,
    );
    let entry = SignedEntry::sign(envelope, server_key).map_err(|source| {
        ServiceError::AllocationEntry {
            value: value_id,
            source,
        }
    })?;
    let mut results = shared
        .sequencer
        .submit(vec![entry])
        .await
        .map_err(|source| ServiceError::AllocationAppend {
            value: value_id,
            source,
        })?;
    match results.pop() {
        Some(Ok(receipt)) => Ok(Appended {
            allocation: Some(receipt.receipt.id),
        }),
        Some(Err(e)) if e.rejection == Rejection::Conflict => Ok(Appended { allocation: None }),
        Some(Err(source)) => Err(ServiceError::AllocationRefused {
            value: value_id,
            source,
        }),
        None => Ok(Appended { allocation: None }),
    }
}

/// Everything an allocation is computed from, read from the store.
pub struct Loaded {
    value_id: EntryId,
    value_seq: u64,
    value: SignedEntry,
    policy_text: String,
    inputs: policy::Inputs,
    rulings: policy::Rulings,
    affiliations: Vec<AffiliationRecord>,
}

impl Loaded {
    /// The policy's inputs, as read from the allocation inputs projection.
    pub fn inputs(&self) -> &policy::Inputs {
        &self.inputs
    }

    /// The allocation entry's body.
    pub fn compute(&self) -> Value {
        compute(
            &self.value_id,
            self.value_seq,
            &self.value,
            &self.policy_text,
            &self.inputs,
            &self.rulings,
        )
    }

    /// The sequence number of the value entry.
    pub fn value_seq(&self) -> u64 {
        self.value_seq
    }

    /// The manipulation report of this allocation, against the project's `admitted`
    /// policies (hash, text) and the signers of its measurements (`audit::report`).
    pub fn report(
        &self,
        admitted: &[(String, String)],
        measurement_signers: &HashMap<u64, String>,
    ) -> Report {
        let chosen = match &self.value.envelope.body {
            Body::ValueRealized(realized) => realized.policy.to_string(),
            _ => String::new(),
        };
        report(&ReportInputs {
            value_id: &self.value_id,
            value: &self.value,
            chosen: &chosen,
            admitted,
            inputs: &self.inputs,
            rulings: &self.rulings,
            affiliations: &self.affiliations,
            measurement_signers,
        })
    }

    /// The full allocation, with each player's breakdown and the contributions that did not count.
    pub fn allocate(&self) -> Result<policy::Allocation, String> {
        allocate(
            &self.value_id,
            &self.value,
            &self.policy_text,
            &self.inputs,
            &self.rulings,
            Detail::Breakdown,
        )
    }
}

/// Reads the inputs of the value entry `value_id` (at `value_seq`, stored as `leaf`): the
/// adopted policy's text, the project's contributions, endorsements and measured
/// coalitions from their projection (plain columns: no leaf is parsed), and their actors.
pub async fn load(
    store: &Store,
    value_seq: u64,
    value_id: EntryId,
    leaf: &[u8],
) -> Result<Loaded, ServiceError> {
    let (value, _) = SignedEntry::from_leaf(leaf).map_err(corrupt)?;
    let Body::ValueRealized(realized) = &value.envelope.body else {
        return Err(corrupt(format!("entry {value_id} is not a value.realized")));
    };
    let (_, _, policy_leaf) = store
        .policy_entry(&realized.policy)
        .await?
        .ok_or_else(|| corrupt("adopted policy missing".into()))?;
    let (policy_entry, _) = SignedEntry::from_leaf(&policy_leaf).map_err(corrupt)?;
    let Body::PolicyAdopted(policy) = policy_entry.envelope.body else {
        return Err(corrupt("not a policy entry".into()));
    };
    let records = store
        .allocation_inputs(realized.project.as_str(), value_seq)
        .await?;
    // Sorted and deduplicated in one vector: a tree set of 130,000 names took longer.
    let mut names: Vec<&str> = Vec::with_capacity(
        records.contributions.len() + records.endorsements.len() + records.measured.len(),
    );
    names.extend(records.contributions.iter().map(|c| c.actor.as_str()));
    names.extend(records.endorsements.iter().map(|e| e.endorser.as_str()));
    names.extend(
        records
            .measured
            .iter()
            .flat_map(|m| m.members.iter().map(String::as_str)),
    );
    names.sort_unstable();
    names.dedup();
    let fair_play = store.fair_play(value_seq).await?;
    let mut names: Vec<String> = names.into_iter().map(str::to_owned).collect();
    names.extend(fair_play.named_actors());
    let mut actors = store.actor_records(&names).await?;
    let operators: Vec<String> = actors
        .values()
        .filter_map(|a| a.operator.as_ref().map(ToString::to_string))
        .collect();
    actors.extend(store.actor_records(&operators).await?);
    Ok(Loaded {
        value_id,
        value_seq,
        value,
        policy_text: policy.text,
        rulings: fair_play.rulings_before(value_seq, &actors),
        affiliations: fair_play.affiliations_before(value_seq),
        inputs: name_actors(records, &actors),
    })
}

fn corrupt(message: String) -> ServiceError {
    ServiceError::Store(StoreError::Corrupt(message))
}
