//! What is checked after every restart, with the clients paused: the log exported through
//! the API holds every receipt at its sequence number with its leaf hash and no gap; the
//! checkpoint taken before the kill is consistent with the new one; every value realized
//! has exactly one allocation entry; `fairshare check` and `fairshare verify` pass.

use super::CrashResult;
use super::clients::{Load, Receipt, lock};
use super::node::Node;
use fairshare::client::layout::parse_leaf_line;
use fairshare::crypto::hash;
use fairshare::ledger::checkpoint::{Checkpoint, NoteVerifier, open_checkpoint};
use fairshare::ledger::merkle::{Hash, leaf_hash, verify_consistency};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, Seek};
use std::time::{Duration, Instant};

/// A checkpoint and its signed note, as served.
#[derive(Clone)]
pub struct Signed {
    pub checkpoint: Checkpoint,
    pub note: String,
}

/// What the audits found, summed over the run.
#[derive(Default, Debug)]
pub struct Findings {
    /// Receipts whose sequence number the log does not reach.
    pub lost: usize,
    /// Receipts whose leaf hash differs from the log's at their sequence number, and
    /// checkpoints not consistent with the one before the kill.
    pub forks: usize,
    /// Value entries with other than one allocation entry (or allocations of no value).
    pub allocation_errors: Vec<String>,
    /// `fairshare check` or `fairshare verify` failures, with what they said.
    pub failed_commands: Vec<String>,
    pub audits: usize,
    pub log_size: u64,
}

impl Findings {
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.forks == 0
            && self.allocation_errors.is_empty()
            && self.failed_commands.is_empty()
    }
}

/// The auditor: the log key, and the leaf hashes of the export read so far.
pub struct Audit {
    http: reqwest::Client,
    vkey: String,
    verifier: NoteVerifier,
    leaves: Vec<Hash>,
    /// value entry id → allocation entries naming it, from the export.
    allocations: BTreeMap<String, usize>,
    read_up_to: u64,
    pub findings: Findings,
}

impl Audit {
    pub async fn new(node: &Node) -> CrashResult<Self> {
        let http = reqwest::Client::new();
        let vkey = http
            .get(format!("{}/v1/log/key", node.base()))
            .send()
            .await?
            .text()
            .await?;
        let verifier = NoteVerifier::from_vkey(vkey.trim())?;
        Ok(Self {
            http,
            vkey: vkey.trim().to_owned(),
            verifier,
            leaves: Vec::new(),
            allocations: BTreeMap::new(),
            read_up_to: 0,
            findings: Findings::default(),
        })
    }

    /// The latest checkpoint, verified under the log key.
    pub async fn checkpoint(&self, node: &Node) -> CrashResult<Signed> {
        let url = format!("{}/v1/log/checkpoint", node.base());
        let note = self
            .http
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let (checkpoint, _) = open_checkpoint(&note, std::slice::from_ref(&self.verifier))?;
        Ok(Signed { checkpoint, note })
    }

    /// The whole audit, after a restart, the load paused; `before` is the checkpoint
    /// taken before the kill.
    pub async fn after_restart(
        &mut self,
        node: &Node,
        load: &Load,
        before: &Signed,
    ) -> CrashResult<()> {
        let receipts = lock(&load.receipts).clone();
        let values = lock(&load.values).clone();
        let allocated_up_to = self.wait_for_allocations(node, &values).await?;
        let needed = receipts
            .iter()
            .map(|r| r.seq + 1)
            .chain(allocated_up_to)
            .max()
            .unwrap_or(0);
        let after = self.wait_for_checkpoint(node, needed).await?;
        self.check_consistency(node, before, &after.checkpoint)
            .await?;
        self.export(node, before)?;
        self.check_receipts(&receipts);
        self.check_allocations(&values);
        self.findings.audits += 1;
        self.findings.log_size = self.leaves.len() as u64;
        Ok(())
    }

    /// Every allocation entry's value entry and sequence number (the listing, page by page).
    async fn allocated(&self, node: &Node) -> CrashResult<BTreeMap<String, u64>> {
        let mut allocated = BTreeMap::new();
        let mut since = 0;
        loop {
            let url = format!("{}/v1/allocations?since={since}", node.base());
            let listed: Value = self.http.get(url).send().await?.json().await?;
            let page: Vec<(String, u64)> = listed["allocations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| {
                    Some((
                        a["body"]["value_entry"].as_str()?.to_owned(),
                        a["seq"].as_u64()?,
                    ))
                })
                .collect();
            let Some(last) = page.last().map(|(_, seq)| *seq) else {
                return Ok(allocated);
            };
            allocated.extend(page);
            since = last + 1;
        }
    }

    /// Whether the value entry `value` has its allocation.
    pub async fn is_allocated(&self, node: &Node, value: &str) -> CrashResult<bool> {
        Ok(self.allocated(node).await?.contains_key(value))
    }

    /// Waits until the value entry `value` has its allocation.
    pub async fn wait_allocated(&self, node: &Node, value: &str) -> CrashResult<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        while !self.is_allocated(node, value).await? {
            if Instant::now() > deadline {
                return Err(format!("value {value} unallocated after 300 s").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Waits until every value entry is allocated; returns the log size that covers those
    /// allocations.
    async fn wait_for_allocations(
        &self,
        node: &Node,
        values: &[Receipt],
    ) -> CrashResult<Option<u64>> {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let allocated = self.allocated(node).await?;
            if values.iter().all(|v| allocated.contains_key(&v.id)) {
                return Ok(allocated.values().max().map(|seq| seq + 1));
            }
            if Instant::now() > deadline {
                return Err("values still unallocated after 300 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_for_checkpoint(&self, node: &Node, size: u64) -> CrashResult<Signed> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let signed = self.checkpoint(node).await?;
            if signed.checkpoint.size >= size {
                return Ok(signed);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no checkpoint of at least {size} entries within 60 s (latest: {})",
                    signed.checkpoint.size
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The server's consistency proof from `before` to `after`, verified.
    async fn check_consistency(
        &mut self,
        node: &Node,
        before: &Signed,
        after: &Checkpoint,
    ) -> CrashResult<()> {
        let (first, second) = (before.checkpoint.size, after.size);
        let consistent = if first == 0 || first == second {
            first == 0 || before.checkpoint.root == after.root
        } else {
            let url = format!(
                "{}/v1/log/proof/consistency?first={first}&second={second}",
                node.base()
            );
            let proof: Value = self.http.get(url).send().await?.json().await?;
            let path: Vec<Hash> = proof["proof"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|h| hash::parse_hex32(h.as_str()?))
                .collect();
            first < second
                && verify_consistency(first, second, &path, &before.checkpoint.root, &after.root)
                    .is_ok()
        };
        if !consistent {
            self.findings.forks += 1;
        }
        Ok(())
    }

    /// `fairshare export` (continuing the file), the new leaves read, then `fairshare
    /// check` on the data folder and `fairshare verify` against the checkpoint before the
    /// kill.
    fn export(&mut self, node: &Node, before: &Signed) -> CrashResult<()> {
        let export = node.file("log.ndjson");
        let previous = node.file("before.checkpoint");
        std::fs::write(&previous, &before.note)?;
        let (export, previous) = (path_text(&export), path_text(&previous));
        let (data_dir, base) = (path_text(&node.data_dir()), node.base());
        let commands: [&[&str]; 3] = [
            &["export", "--server", &base, "--out", &export],
            &["check", "--data-dir", &data_dir],
            &[
                "verify",
                "--log",
                &export,
                "--log-key",
                &self.vkey,
                "--previous-checkpoint",
                &previous,
            ],
        ];
        for args in commands {
            let (ok, said) = node.fairshare(args)?;
            if !ok {
                self.findings
                    .failed_commands
                    .push(format!("fairshare {}: {said}", args[0]));
            }
        }
        self.read_export(&node.file("log.ndjson"))
    }

    /// Reads the export's lines past those read before: leaf hashes, allocation entries.
    fn read_export(&mut self, path: &std::path::Path) -> CrashResult<()> {
        let mut file = std::fs::File::open(path)?;
        file.seek(std::io::SeekFrom::Start(self.read_up_to))?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line?;
            self.read_up_to += line.len() as u64 + 1;
            let (index, leaf) = parse_leaf_line(&line)?;
            if index != self.leaves.len() as u64 {
                return Err(
                    format!("the export holds leaf {index} at {}", self.leaves.len()).into(),
                );
            }
            self.leaves.push(leaf_hash(&leaf));
            let leaf: Value = serde_json::from_slice(&leaf)?;
            if leaf["envelope"]["type"] == "allocation" {
                let value = leaf["envelope"]["body"]["value_entry"]
                    .as_str()
                    .unwrap_or("");
                *self.allocations.entry(value.to_owned()).or_default() += 1;
            }
        }
        Ok(())
    }

    fn check_receipts(&mut self, receipts: &[Receipt]) {
        for receipt in receipts {
            let seq = usize::try_from(receipt.seq).unwrap_or(usize::MAX);
            match self.leaves.get(seq) {
                None => self.findings.lost += 1,
                Some(stored) if hash::to_hex(stored) != receipt.leaf_hash => {
                    self.findings.forks += 1;
                }
                Some(_) => {}
            }
        }
    }

    /// Every value entry so far against the export's allocation entries (the list is
    /// recomputed at each audit: each covers the whole log).
    fn check_allocations(&mut self, values: &[Receipt]) {
        self.findings.allocation_errors.clear();
        let mut expected: BTreeMap<&str, usize> = BTreeMap::new();
        for value in values {
            expected.insert(value.id.as_str(), 1);
        }
        for (value, count) in &self.allocations {
            if expected.get(value.as_str()) != Some(count) {
                self.findings
                    .allocation_errors
                    .push(format!("value {value}: {count} allocation entries"));
            }
        }
        for value in expected.keys() {
            if !self.allocations.contains_key(*value) {
                self.findings
                    .allocation_errors
                    .push(format!("value {value}: no allocation entry"));
            }
        }
    }
}

fn path_text(path: &std::path::Path) -> String {
    path.to_string_lossy().into_owned()
}
