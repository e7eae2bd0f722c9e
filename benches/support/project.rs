//! The synthetic project of the allocation benchmarks (shared with benches/allocation_e2e.rs
//! and tests/policy/threads.rs).

use fairshare::policy::{Actor, ActorKind, Contribution, Endorsement, Inputs};
use rust_decimal::Decimal;

/// A small deterministic generator (SplitMix64), so the bench needs no RNG crate.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// 10,000 actors (7,000 humans, 2,000 AI models operated by 1,000 platforms),
/// 100,000 contributions, each building on up to 3 earlier ones, AI drafts endorsed by
/// one or two humans (80% accepted).
pub fn project(actors: usize, contributions: usize) -> Inputs {
    let mut rng = Mix(42);
    let humans = actors * 7 / 10;
    let ais = actors / 5;
    let kind_of = |i: usize| {
        if i < humans {
            ActorKind::Human
        } else if i < humans + ais {
            ActorKind::Ai
        } else {
            ActorKind::Platform
        }
    };
    let platforms = actors - humans - ais;
    let actor_list: Vec<Actor> = (0..actors)
        .map(|i| Actor {
            id: format!("actor-{i:05}"),
            kind: kind_of(i),
            operator: (kind_of(i) == ActorKind::Ai)
                .then(|| format!("actor-{:05}", humans + ais + (i % platforms.max(1)))),
        })
        .collect();
    let work = [
        ("text", "words"),
        ("code", "lines"),
        ("data", "rows"),
        ("review", "notes"),
        ("publish", "pages"),
    ];
    let mut list = Vec::with_capacity(contributions);
    let mut endorsements = Vec::new();
    for c in 0..contributions {
        let a = rng.below(actors as u64) as usize;
        let (kind, unit) = work[rng.below(work.len() as u64) as usize];
        let parents = if c == 0 { 0 } else { rng.below(4) };
        let builds_on = (0..parents)
            .map(|_| format!("{:064x}", rng.below(c as u64)))
            .collect();
        list.push(Contribution {
            id: format!("{c:064x}"),
            seq: c as u64 * 2,
            actor: actor_list[a].id.clone(),
            kind: kind.into(),
            unit: unit.into(),
            quantity: Decimal::new(1 + rng.below(100_000) as i64, 1),
            builds_on,
        });
        if kind_of(a) == ActorKind::Ai {
            for _ in 0..1 + rng.below(2) {
                endorsements.push(Endorsement {
                    contribution: format!("{c:064x}"),
                    endorser: actor_list[rng.below(humans as u64) as usize].id.clone(),
                    accept: rng.below(10) < 8,
                    seq: c as u64 * 2 + 1,
                });
            }
        }
    }
    Inputs {
        actors: actor_list,
        contributions: list,
        endorsements,
        measured: Vec::new(),
    }
}
