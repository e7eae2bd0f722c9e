// One test per policy feature, on the shipped policy files, with hand-computed payouts.
// The same numbers are the worked examples of docs/POLICIES.md.

use std::str::FromStr;

use fairshare::policy::{
    Actor, ActorKind, Allocation, Contribution, Endorsement, Inputs, MeasuredCoalition, Policy,
    Realized, allocate,
};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn policy(bytes: &[u8]) -> Policy {
    Policy::parse(bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn actors() -> Vec<Actor> {
    let a = |id: &str, kind, operator: Option<&str>| Actor {
        id: id.into(),
        kind,
        operator: operator.map(Into::into),
    };
    vec![
        a("alice", ActorKind::Human, None),
        a("bob", ActorKind::Human, None),
        a("dana", ActorKind::Human, None),
        a("model", ActorKind::Ai, Some("plat")),
        a("plat", ActorKind::Platform, None),
    ]
}

fn contribution(
    id: &str,
    seq: u64,
    actor: &str,
    kind: &str,
    unit: &str,
    qty: &str,
    builds_on: &[&str],
) -> Contribution {
    Contribution {
        id: id.into(),
        seq,
        actor: actor.into(),
        kind: kind.into(),
        unit: unit.into(),
        quantity: d(qty),
        builds_on: builds_on.iter().map(|s| s.to_string()).collect(),
    }
}

fn endorse(contribution: &str, endorser: &str, accept: bool, seq: u64) -> Endorsement {
    Endorsement {
        contribution: contribution.into(),
        endorser: endorser.into(),
        accept,
        seq,
    }
}

fn eur(amount: &str) -> Realized {
    Realized {
        amount: d(amount),
        currency: "EUR".into(),
        minor_unit_scale: 2,
    }
}

/// (actor, Shapley value, payout, paid to) of every player, in actor order.
fn table(a: &Allocation) -> Vec<(String, String, Decimal, String)> {
    a.players
        .iter()
        .map(|p| {
            (
                p.actor.clone(),
                p.shapley_value.clone(),
                p.payout,
                p.paid_to.clone(),
            )
        })
        .collect()
}

fn row(actor: &str, value: &str, payout: &str, to: &str) -> (String, String, Decimal, String) {
    (actor.into(), value.into(), d(payout), to.into())
}

fn run(policy: &Policy, inputs: &Inputs, amount: &str) -> Allocation {
    let a = allocate(policy, inputs, &eur(amount), 7).unwrap_or_else(|e| panic!("{e}"));
    let total: Decimal = a.players.iter().map(|p| p.payout).sum();
    assert_eq!(total, d(amount), "payouts add up to the amount");
    let received: Decimal = a.recipients.iter().map(|r| r.amount).sum();
    assert_eq!(received, d(amount), "recipients add up to the amount");
    a
}

#[test]
fn proportional_weights_by_kind_and_unit() {
    let p = policy(include_bytes!("../../policies/proportional.toml"));
    let inputs = Inputs {
        actors: actors(),
        contributions: vec![
            contribution("c1", 1, "alice", "text", "words", "3000", &[]),
            contribution("c2", 2, "bob", "review", "comments", "5", &[]),
            contribution("c3", 3, "dana", "data", "rows", "10000", &[]),
            contribution("c4", 4, "dana", "video", "seconds", "90", &[]),
        ],
        ..Inputs::default()
    };
    // alice 3000 × 0.01 = 30; bob 5 × 2 = 10 (review, any unit); dana 10000 × 0.002 = 20;
    // c4 has no weight (unlisted = ignore). v(N) = 60, amount 100.00:
    // alice 100·30/60 = 50.00; bob 16.666.. -> 1666 cents, remainder .67; dana 33.333.. ->
    // 3333 cents, remainder .33. One cent left goes to the largest remainder (bob).
    let a = run(&p, &inputs, "100.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "30", "50.00", "alice"),
            row("bob", "10", "16.67", "bob"),
            row("dana", "20", "33.33", "dana"),
        ]
    );
    assert_eq!(a.method, "closed-form/mc-nets");
    assert_eq!(a.total_worth, "60");
    assert_eq!(a.excluded.len(), 1);
    assert_eq!(a.excluded[0].contribution, "c4");
    assert_eq!(a.excluded[0].actor, "dana");
    assert_eq!(a.players[1].share, "50/3");
}

#[test]
fn cocreation_synergy_between_kinds() {
    let p = policy(include_bytes!("../../policies/cocreation.toml"));
    let inputs = Inputs {
        actors: actors(),
        contributions: vec![
            contribution("d1", 1, "model", "text", "words", "2000", &[]),
            contribution("c2", 2, "alice", "text", "words", "1000", &["d1"]),
            contribution("c3", 3, "plat", "publish", "pages", "4", &["c2", "d1"]),
        ],
        ..Inputs::default()
    };
    // Worths: d1 = 20 (model), c2 = 10 (alice), c3 = 4 (plat).
    // d1's team {model}: no synergy. c2's team {alice, model}: human-ai rule {alice, model}
    // worth 0.5 × 10 = 5. c3's team {plat, alice, model}: human-ai {alice, model} 0.5 × 4 = 2
    // and human-ai-platform {alice, model, plat} 0.25 × 4 = 1.
    // Shapley (each member of a joint rule gets value / members):
    // model = 20 + 5/2 + 2/2 + 1/3 = 143/6; alice = 10 + 5/2 + 2/2 + 1/3 = 83/6;
    // plat = 4 + 1/3 = 13/3. v(N) = 42, amount 420.00 -> ×10:
    // model 238.333.., alice 138.333.., plat 43.333..: all remainders 1/3, one cent left,
    // the tie goes to the first player in actor order (alice).
    let a = run(&p, &inputs, "420.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "83/6", "138.34", "alice"),
            row("model", "143/6", "238.33", "model"),
            row("plat", "13/3", "43.33", "plat"),
        ]
    );
    let synergy: Vec<_> = a.players[0]
        .breakdown
        .iter()
        .filter(|b| b.feature == "synergy")
        .map(|b| {
            (
                b.synergy.as_deref().unwrap_or_default().to_string(),
                b.contribution.as_deref().unwrap_or_default().to_string(),
                b.value.to_text(),
            )
        })
        .collect();
    assert_eq!(
        synergy,
        vec![
            ("human-ai".into(), "c2".into(), "5/2".into()),
            ("human-ai".into(), "c3".into(), "1".into()),
            ("human-ai-platform".into(), "c3".into(), "1/3".into()),
        ]
    );
}

#[test]
fn curation_counts_accepted_ai_drafts_and_pays_curators() {
    let p = policy(include_bytes!("../../policies/curation.toml"));
    let inputs = Inputs {
        actors: actors(),
        contributions: vec![
            contribution("d1", 1, "model", "text", "words", "1000", &[]),
            contribution("d2", 2, "model", "text", "words", "2000", &[]),
            contribution("d3", 3, "model", "text", "words", "400", &[]),
            contribution("d4", 4, "model", "text", "words", "800", &[]),
            contribution("c5", 5, "alice", "text", "words", "600", &[]),
        ],
        endorsements: vec![
            endorse("d1", "alice", true, 10),
            endorse("d1", "bob", true, 11),
            endorse("d2", "bob", false, 12),
            endorse("d3", "bob", true, 13),
            endorse("d3", "bob", false, 14),
            endorse("d4", "bob", true, 15),
        ],
        ..Inputs::default()
    };
    // d1 = 10, accepted by alice and bob: model 7.5, curators {alice, bob} jointly 2.5
    // (1.25 each). d2 rejected, d3 accepted then rejected by bob (latest decision counts):
    // neither counts. d4 = 8 accepted by bob: model 6, bob 2. c5 = 6 by alice (human, counts).
    // model 13.5 = 27/2; alice 1.25 + 6 = 29/4; bob 1.25 + 2 = 13/4; v(N) = 24.
    // Amount 100.00: model 56.25; alice 30.2083.. (3020 cents, rem .83); bob 13.5416..
    // (1354 cents, rem .17): one cent left -> alice.
    let a = run(&p, &inputs, "100.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "29/4", "30.21", "alice"),
            row("bob", "13/4", "13.54", "bob"),
            row("model", "27/2", "56.25", "model"),
        ]
    );
    let excluded: Vec<&str> = a.excluded.iter().map(|e| e.contribution.as_str()).collect();
    assert_eq!(excluded, vec!["d2", "d3"]);
    let roles: Vec<(&str, String)> = a.players[1]
        .breakdown
        .iter()
        .map(|b| (b.role, b.value.to_text()))
        .collect();
    assert_eq!(
        roles,
        vec![
            ("curators", "5/4".to_string()),
            ("curators", "2".to_string())
        ]
    );
}

#[test]
fn lineage_royalties_follow_builds_on_to_the_policy_depth() {
    let p = policy(include_bytes!("../../policies/lineage.toml"));
    let inputs = Inputs {
        actors: actors(),
        contributions: vec![
            contribution("a1", 1, "alice", "text", "words", "1000", &[]),
            contribution("b2", 2, "bob", "text", "words", "1000", &["a1"]),
            contribution(
                "d3",
                3,
                "dana",
                "text",
                "words",
                "2000",
                &["b2", "a1", "elsewhere"],
            ),
        ],
        ..Inputs::default()
    };
    // share 0.2, depth 2. a1 = 10, no parents: alice keeps 10.
    // b2 = 10: bob keeps 8, passes 2 to a1 (alice, a1 has no parent: keeps it).
    // d3 = 20 ("elsewhere" is not in the project: ignored): dana keeps 16, passes 4 split
    // over a1 and b2: a1 -> alice 2; b2 (one step left) -> bob keeps 1.6, passes 0.4 to a1 ->
    // alice 0.4 (depth reached). alice 14.4, bob 9.6, dana 16; v(N) = 40.
    // Amount 50.00: alice 18.00, bob 12.00, dana 20.00.
    let a = run(&p, &inputs, "50.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "72/5", "18.00", "alice"),
            row("bob", "48/5", "12.00", "bob"),
            row("dana", "16", "20.00", "dana"),
        ]
    );
    let alice: Vec<(&str, Option<&str>, Option<&str>, String)> = a.players[0]
        .breakdown
        .iter()
        .map(|b| {
            (
                b.feature,
                b.contribution.as_deref(),
                b.via.as_deref(),
                b.value.to_text(),
            )
        })
        .collect();
    assert_eq!(
        alice,
        vec![
            ("proportional", Some("a1"), None, "10".to_string()),
            ("lineage", Some("b2"), Some("a1"), "2".to_string()),
            ("lineage", Some("d3"), Some("a1"), "2".to_string()),
            ("lineage", Some("d3"), Some("a1"), "2/5".to_string()),
        ]
    );
}

fn ab_test() -> Inputs {
    let m = |members: &[&str], worth: &str, seq| MeasuredCoalition {
        members: members.iter().map(|s| s.to_string()).collect(),
        worth: d(worth),
        seq,
    };
    Inputs {
        actors: actors(),
        measured: vec![
            m(&["alice", "plat"], "60", 1),
            m(&["alice", "model", "plat"], "90", 2),
            m(&["plat", "model", "alice"], "100", 3),
            m(&["plat"], "10", 4),
        ],
        ..Inputs::default()
    }
}

#[test]
fn measured_coalitions_with_max_subset_fill() {
    let p = policy(include_bytes!("../../policies/measured.toml"));
    // Latest measurement of {alice, model, plat} is 100. max-subset fill:
    // v(a) = v(m) = v(am) = 0, v(p) = 10, v(ap) = 60, v(mp) = 10 (its subset {p}), v(amp) = 100.
    // Marginals over the 6 orders (a, m, p):
    //   amp: 0,0,100  apm: 0,40,60  map: 0,0,100  mpa: 90,0,10  pam: 50,40,10  pma: 90,0,10
    // alice (0+0+0+90+50+90)/6 = 115/3, model (0+40+0+0+40+0)/6 = 40/3,
    // plat (100+60+100+10+10+10)/6 = 145/3. Amount 300.00 -> ×3: 115, 40, 145.
    let a = run(&p, &ab_test(), "300.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "115/3", "115.00", "alice"),
            row("model", "40/3", "40.00", "model"),
            row("plat", "145/3", "145.00", "plat"),
        ]
    );
    assert_eq!(a.method, "exact");
    assert_eq!(a.total_worth, "100");
}

#[test]
fn measured_coalitions_with_zero_fill() {
    let text = String::from_utf8_lossy(include_bytes!("../../policies/measured.toml"))
        .replace("fill = \"max-subset\"", "fill = \"zero\"");
    let p = policy(text.as_bytes());
    // v(mp) = 0 now. Marginals (a, m, p):
    //   amp: 0,0,100  apm: 0,40,60  map: 0,0,100  mpa: 100,0,0  pam: 50,40,10  pma: 100,-10,10
    // alice 250/6 = 125/3, model 70/6 = 35/3, plat 280/6 = 140/3. Amount 300.00: 125, 35, 140.
    let a = run(&p, &ab_test(), "300.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "125/3", "125.00", "alice"),
            row("model", "35/3", "35.00", "model"),
            row("plat", "140/3", "140.00", "plat"),
        ]
    );
}

#[test]
fn measured_game_beyond_the_exact_limit_is_sampled_reproducibly() {
    let text = String::from_utf8_lossy(include_bytes!("../../policies/measured.toml"))
        .replace("exact_limit = 20", "exact_limit = 2");
    let p = policy(text.as_bytes());
    let a = run(&p, &ab_test(), "300.00");
    let b = run(&p, &ab_test(), "300.00");
    assert_eq!(a, b);
    assert_eq!(a.method, "monte-carlo");
    let s = a
        .sampling
        .clone()
        .unwrap_or_else(|| panic!("sampling report"));
    assert_eq!(s.seed, 7);
    assert_eq!(s.samples, 20_000);
    // The estimate is close to the exact 115, 40, 145.
    for (p, exact) in a.players.iter().zip(["115", "40", "145"]) {
        assert!(
            (p.payout - d(exact)).abs() < d("10"),
            "{} {}",
            p.actor,
            p.payout
        );
    }
}

#[test]
fn payout_rules_cap_floor_and_operator_redirect() {
    let p = policy(include_bytes!("../../policies/payout-rules.toml"));
    let inputs = Inputs {
        actors: actors(),
        contributions: vec![
            contribution("d1", 1, "model", "text", "words", "6000", &[]),
            contribution("c2", 2, "alice", "text", "words", "3000", &[]),
            contribution("c3", 3, "plat", "text", "words", "1000", &[]),
        ],
        ..Inputs::default()
    };
    // Worths 60, 30, 10: shares of 1000.00 are model 600, alice 300, plat 100.
    // Round 1: ai 600 > cap 0.3 × 1000 = 300 -> fix ai at 300.
    // Round 2: 700 left for human and platform in proportion 300:100 -> 525, 175; no cap
    // exceeded, human 525 < floor 600 -> fix human at 600.
    // Round 3: 100 left for platform -> 100; no limit broken. Final: model 300, alice 600,
    // plat 100. ai_to_operator: model's 300.00 is paid to plat -> plat receives 400.00.
    let a = run(&p, &inputs, "1000.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "30", "600.00", "alice"),
            row("model", "60", "300.00", "plat"),
            row("plat", "10", "100.00", "plat"),
        ]
    );
    assert_eq!(a.players[1].share, "600");
    assert_eq!(a.players[1].adjusted_share, "300");
    let recipients: Vec<(&str, Decimal)> = a
        .recipients
        .iter()
        .map(|r| (r.actor.as_str(), r.amount))
        .collect();
    assert_eq!(
        recipients,
        vec![("alice", d("600.00")), ("plat", d("400.00"))]
    );
}

/// Texts of 6000, 1000 and 1000 words by `model`, `alice` and `plat` (or the given
/// quantities) under a policy weighting words 0.01 with `limits` appended.
fn limited(limits: &str, quantities: [&str; 3]) -> (Policy, Inputs) {
    let text = format!(
        "name = \"limits\"\n[[weights]]\nkind = \"text\"\nunit = \"words\"\nweight = 0.01\n{limits}"
    );
    let inputs = Inputs {
        actors: actors(),
        contributions: [("d1", "model"), ("c2", "alice"), ("c3", "plat")]
            .iter()
            .zip(quantities)
            .enumerate()
            .filter(|(_, (_, q))| *q != "0")
            .map(|(i, ((id, actor), q))| {
                contribution(id, i as u64 + 1, actor, "text", "words", q, &[])
            })
            .collect(),
        ..Inputs::default()
    };
    (policy(text.as_bytes()), inputs)
}

#[test]
fn caps_yield_in_proportion_to_the_amounts_they_fixed() {
    // human 60, ai 40 of 100.00; human ≤ 0.5, ai ≤ 0.3. Round 1: both over their caps, fixed
    // at 50 and 30. Every kind is fixed and 20 is left: the capped kinds share it in
    // proportion to the amounts they were fixed at, 50:30 -> human 62.5, ai 37.5 (not
    // 62:38, the proportion of their Shapley totals).
    let (p, inputs) = limited(
        "[[payout.kind_limit]]\nkind = \"human\"\nmax = 0.5\n[[payout.kind_limit]]\nkind = \"ai\"\nmax = 0.3\n",
        ["4000", "6000", "0"],
    );
    let a = run(&p, &inputs, "100.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "60", "62.50", "alice"),
            row("model", "40", "37.50", "model"),
        ]
    );
}

#[test]
fn over_committed_floors_take_from_the_capped_kinds() {
    // ai 80, human 10, platform 10 of 100.00; ai ≤ 0.5, human ≥ 0.3, platform ≥ 0.3.
    // Round 1: ai fixed at its cap, 50. Round 2: 50 left for human and platform, 25 each,
    // both under their floors: fixed at 30 each. Every kind is fixed and 110 is committed:
    // the capped kind gives back the 10, ai 40.
    let (p, inputs) = limited(
        "[[payout.kind_limit]]\nkind = \"ai\"\nmax = 0.5\n[[payout.kind_limit]]\nkind = \"human\"\nmin = 0.3\n[[payout.kind_limit]]\nkind = \"platform\"\nmin = 0.3\n",
        ["8000", "1000", "1000"],
    );
    let a = run(&p, &inputs, "100.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "10", "30.00", "alice"),
            row("model", "80", "40.00", "model"),
            row("plat", "10", "30.00", "plat"),
        ]
    );
}

#[test]
fn caps_of_zero_yield_in_proportion_to_the_shapley_totals() {
    // human 60, ai 40; both capped at 0, so both are fixed at 0 and all 100.00 is left: the
    // amounts they were fixed at add up to 0, so the Shapley totals decide, 60:40.
    let (p, inputs) = limited(
        "[[payout.kind_limit]]\nkind = \"human\"\nmax = 0\n[[payout.kind_limit]]\nkind = \"ai\"\nmax = 0\n",
        ["4000", "6000", "0"],
    );
    let a = run(&p, &inputs, "100.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "60", "60.00", "alice"),
            row("model", "40", "40.00", "model"),
        ]
    );
}

#[test]
fn a_kind_worth_nothing_shares_its_floor_equally() {
    // Measured: {alice} 10 and {alice, plat, shop} 10; with max-subset fill every coalition
    // is worth 10 with alice and 0 without: alice 10, plat 0, shop 0. No rule has worth, so
    // the method is bare `exact`. Platforms ≥ 0.2 of 100.00: the platform kind is fixed at
    // 20, and its Shapley total being 0, its two players share it equally.
    let text = "name = \"floor\"\n[measured]\nfill = \"max-subset\"\n[[payout.kind_limit]]\nkind = \"platform\"\nmin = 0.2\n";
    let mut inputs = ab_test();
    inputs.actors.push(Actor {
        id: "shop".into(),
        kind: ActorKind::Platform,
        operator: None,
    });
    inputs.measured = vec![
        MeasuredCoalition {
            members: vec!["alice".into()],
            worth: d("10"),
            seq: 1,
        },
        MeasuredCoalition {
            members: vec!["alice".into(), "plat".into(), "shop".into()],
            worth: d("10"),
            seq: 2,
        },
    ];
    let a = run(&policy(text.as_bytes()), &inputs, "100.00");
    assert_eq!(a.method, "exact");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "10", "80.00", "alice"),
            row("plat", "0", "10.00", "plat"),
            row("shop", "0", "10.00", "shop"),
        ]
    );
}

#[test]
fn an_accepting_curator_has_a_counted_contribution_for_actor_synergy() {
    // bob's only part in the project is accepting model's draft d1: as one of d1's owners
    // he has a counted contribution, so the synergy between bob and model holds. d1 = 10:
    // model 7.5, bob 2.5; c2 = 10 (alice); synergy 6: 3 each. alice 10, bob 11/2,
    // model 21/2; v(N) = 26.
    let text = "name = \"editor\"\n[[weights]]\nkind = \"text\"\nunit = \"words\"\nweight = 0.01\n\
                [curation]\nkinds = [\"ai\"]\ncurator_share = 0.25\n\
                [[synergy]]\nname = \"editor-model\"\nactors = [\"bob\", \"model\"]\nworth = 6\n";
    let p = policy(text.as_bytes());
    let project = |accept: bool| Inputs {
        actors: actors(),
        contributions: vec![
            contribution("d1", 1, "model", "text", "words", "1000", &[]),
            contribution("c2", 2, "alice", "text", "words", "1000", &[]),
        ],
        endorsements: vec![endorse("d1", "bob", accept, 3)],
        ..Inputs::default()
    };
    let a = run(&p, &project(true), "260.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "10", "100.00", "alice"),
            row("bob", "11/2", "55.00", "bob"),
            row("model", "21/2", "105.00", "model"),
        ]
    );
    // Rejected, d1 does not count: neither bob nor model owns a counted contribution.
    let a = run(&p, &project(false), "260.00");
    assert_eq!(table(&a), vec![row("alice", "10", "260.00", "alice")]);
}

#[test]
fn default_policy_combines_the_features() {
    let p = policy(include_bytes!("../../policies/default.toml"));
    let inputs = Inputs {
        actors: actors(),
        contributions: vec![
            contribution("d1", 1, "model", "text", "words", "1000", &[]),
            contribution("c2", 2, "alice", "text", "words", "1000", &["d1"]),
        ],
        endorsements: vec![endorse("d1", "bob", true, 3)],
        ..Inputs::default()
    };
    // d1 = 10 accepted by bob: model 7.5, bob 2.5. c2 = 10 by alice builds on d1:
    // alice keeps 8, 2 flows to d1's owners: model 1.5, bob 0.5.
    // Synergy human-ai on c2: team = owners of c2 and d1 = {alice, model, bob}, all human or
    // ai: rule {alice, bob, model} 0.5 × 10 = 5 -> 5/3 each. On d1: team {model, bob}:
    // rule {bob, model} 0.5 × 10 = 5 -> 5/2 each.
    // alice 8 + 5/3 = 29/3; bob 2.5 + 0.5 + 5/3 + 5/2 = 43/6; model 7.5 + 1.5 + 5/3 + 5/2
    // = 79/6; v(N) = 10 + 10 + 5 + 5 = 30. Amount 300.00 -> ×10 in cents: alice 9666.67,
    // bob 7166.67, model 13166.67: floors add to 29998, two cents left for the two largest
    // remainders (all 2/3: first in actor order, alice and bob).
    let a = run(&p, &inputs, "300.00");
    assert_eq!(
        table(&a),
        vec![
            row("alice", "29/3", "96.67", "alice"),
            row("bob", "43/6", "71.67", "bob"),
            row("model", "79/6", "131.66", "plat"),
        ]
    );
}

#[test]
fn the_policy_hash_is_blake3_of_the_bytes() {
    let bytes = include_bytes!("../../policies/default.toml");
    let p = policy(bytes);
    assert_eq!(p.hash, format!("blake3:{}", blake3::hash(bytes).to_hex()));
    let mut changed = bytes.to_vec();
    changed.extend_from_slice(b"\n# a comment changes the hash\n");
    assert_ne!(policy(&changed).hash, p.hash);
}
