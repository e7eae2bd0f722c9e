// Invalid policies and inputs get precise errors: the key (with indices) and the line.

use std::str::FromStr;

use fairshare::policy::{
    Actor, ActorKind, Contribution, Inputs, Policy, PolicyError, Realized, allocate,
};
use rust_decimal::Decimal;

const BASE: &str = "name = \"p\"\n[[weights]]\nkind = \"text\"\nunit = \"words\"\nweight = 1\n";

fn invalid(text: &str) -> (String, Option<usize>, String) {
    match Policy::parse(text.as_bytes()) {
        Err(PolicyError::Invalid { key, line, message }) => (key, line, message),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn syntax(text: &str) -> (usize, usize, String) {
    match Policy::parse(text.as_bytes()) {
        Err(PolicyError::Syntax {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected Syntax, got {other:?}"),
    }
}

#[test]
fn unknown_key_names_line_and_key() {
    let (line, column, message) = syntax(&format!("{BASE}[lineage]\nshare = 0.2\ndepht = 2\n"));
    assert_eq!((line, column), (8, 1));
    assert!(message.contains("depht"), "{message}");
}

#[test]
fn toml_syntax_error_has_a_line() {
    let (line, _, _) = syntax("name = \"p\"\n[[weights]\n");
    assert_eq!(line, 2);
}

#[test]
fn wrong_type_is_a_syntax_error_at_its_line() {
    let (line, _, message) = syntax(&format!("{BASE}[payout]\nai_to_operator = \"yes\"\n"));
    assert_eq!(line, 7);
    assert!(
        message.contains("bool") || message.contains("boolean"),
        "{message}"
    );
}

#[test]
fn fraction_out_of_range() {
    let (key, line, message) = invalid(&format!("{BASE}[curation]\ncurator_share = 1.5\n"));
    assert_eq!(key, "curation.curator_share");
    assert_eq!(line, Some(7));
    assert_eq!(message, "1.5 is not in [0, 1]");
}

#[test]
fn bad_decimal_text() {
    let (key, line, message) =
        invalid("name = \"p\"\n[[weights]]\nkind = \"a\"\nunit = \"b\"\nweight = \"1.x\"\n");
    assert_eq!(key, "weights[0].weight");
    assert_eq!(line, Some(5));
    assert!(message.contains("1.x"), "{message}");
}

#[test]
fn negative_weight() {
    let (key, _, message) =
        invalid("name = \"p\"\n[[weights]]\nkind = \"a\"\nunit = \"b\"\nweight = -2\n");
    assert_eq!(key, "weights[0].weight");
    assert_eq!(message, "-2 is negative");
}

#[test]
fn duplicate_weight() {
    let (key, line, message) = invalid(&format!(
        "{BASE}[[weights]]\nkind = \"text\"\nunit = \"words\"\nweight = 2\n"
    ));
    assert_eq!(key, "weights[1]");
    assert_eq!(line, Some(7));
    assert_eq!(message, "same kind and unit as weights[0]");
}

#[test]
fn synergy_needs_one_complete_form() {
    let (key, line, _) = invalid(&format!(
        "{BASE}[[synergy]]\nname = \"s\"\nkinds = [\"human\", \"ai\"]\nworth = 3\n"
    ));
    assert_eq!((key.as_str(), line), ("synergy[0]", Some(7)));
    let (key, _, message) = invalid(&format!(
        "{BASE}[[synergy]]\nname = \"s\"\nkinds = [\"human\", \"robot\"]\nbonus = 1\n"
    ));
    assert_eq!(key, "synergy[0].kinds[1]");
    assert!(message.contains("robot"), "{message}");
    let (key, _, _) = invalid(&format!(
        "{BASE}[[synergy]]\nname = \"s\"\nkinds = [\"human\"]\nbonus = 1\n"
    ));
    assert_eq!(key, "synergy[0].kinds");
}

#[test]
fn lineage_depth_out_of_range() {
    let (key, line, message) = invalid(&format!("{BASE}[lineage]\nshare = 0.2\ndepth = 9\n"));
    assert_eq!((key.as_str(), line), ("lineage.depth", Some(8)));
    assert_eq!(message, "9 is not in 1..=4");
}

#[test]
fn floors_over_the_whole_amount() {
    let (key, _, message) = invalid(&format!(
        "{BASE}[[payout.kind_limit]]\nkind = \"human\"\nmin = 0.7\n[[payout.kind_limit]]\nkind = \"ai\"\nmin = 0.4\n"
    ));
    assert_eq!(key, "payout.kind_limit[1].min");
    assert!(message.contains("1.1"), "{message}");
    let (key, _, message) = invalid(&format!(
        "{BASE}[[payout.kind_limit]]\nkind = \"ai\"\nmin = 0.5\nmax = 0.2\n"
    ));
    assert_eq!(key, "payout.kind_limit[0]");
    assert_eq!(message, "min 0.5 exceeds max 0.2");
}

#[test]
fn measured_fill_and_solver_limits() {
    let (key, _, _) = invalid(&format!("{BASE}[measured]\nfill = \"mean\"\n"));
    assert_eq!(key, "measured.fill");
    let (key, _, _) = invalid(&format!("{BASE}[solver]\nexact_limit = 64\n"));
    assert_eq!(key, "solver.exact_limit");
    let (key, _, _) = invalid(&format!("{BASE}[solver]\nconfidence = 1\n"));
    assert_eq!(key, "solver.confidence");
}

#[test]
fn name_must_be_an_identifier_and_policy_must_produce_worth() {
    let (key, line, _) =
        invalid("name = \"Not Valid\"\n[[weights]]\nkind = \"a\"\nunit = \"b\"\nweight = 1\n");
    assert_eq!((key.as_str(), line), ("name", Some(1)));
    let (key, _, _) = invalid("name = \"empty\"\n");
    assert_eq!(key, "weights");
}

#[test]
fn not_utf8() {
    match Policy::parse(b"name = \"p\"\n\xff") {
        Err(PolicyError::Syntax { line, column, .. }) => assert_eq!((line, column), (2, 1)),
        other => panic!("{other:?}"),
    }
}

fn one_contribution(qty: &str) -> Inputs {
    Inputs {
        actors: vec![Actor {
            id: "alice".into(),
            kind: ActorKind::Human,
            operator: None,
        }],
        contributions: vec![Contribution {
            id: "c1".into(),
            seq: 1,
            actor: "alice".into(),
            kind: "text".into(),
            unit: "words".into(),
            quantity: Decimal::from_str(qty).unwrap_or_default(),
            builds_on: vec![],
        }],
        ..Inputs::default()
    }
}

fn eur(amount: &str) -> Realized {
    Realized {
        amount: Decimal::from_str(amount).unwrap_or_default(),
        currency: "EUR".into(),
        minor_unit_scale: 2,
    }
}

#[test]
fn allocation_errors_are_precise() {
    let p = Policy::parse(BASE.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        allocate(&p, &one_contribution("1"), &eur("0"), 0),
        Err(PolicyError::Value(_))
    ));
    assert!(matches!(
        allocate(&p, &one_contribution("1"), &eur("1.005"), 0),
        Err(PolicyError::Value(_))
    ));
    match allocate(&p, &one_contribution("0"), &eur("10"), 0) {
        Err(PolicyError::Input(m)) => assert!(m.contains("no player"), "{m}"),
        other => panic!("{other:?}"),
    }
    match allocate(&p, &one_contribution("-1"), &eur("10"), 0) {
        Err(PolicyError::Input(m)) => assert_eq!(m, "contributions[0] (c1): negative quantity -1"),
        other => panic!("{other:?}"),
    }
    let mut unknown = one_contribution("1");
    unknown.contributions[0].actor = "zed".into();
    match allocate(&p, &unknown, &eur("10"), 0) {
        Err(PolicyError::Input(m)) => assert_eq!(m, "contributions[0] (c1): unknown actor \"zed\""),
        other => panic!("{other:?}"),
    }
    let reject = Policy::parse(format!("unlisted = \"reject\"\n{BASE}").as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut odd = one_contribution("1");
    odd.contributions[0].unit = "pages".into();
    match allocate(&reject, &odd, &eur("10"), 0) {
        Err(PolicyError::Input(m)) => assert!(
            m.contains("no weight for kind \"text\", unit \"pages\""),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn caps_yield_when_no_other_kind_can_take_the_excess() {
    let p = Policy::parse(
        format!("{BASE}[[payout.kind_limit]]\nkind = \"human\"\nmax = 0.5\n").as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let a = allocate(&p, &one_contribution("1"), &eur("10"), 0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.players[0].payout, Decimal::from(10));
}

#[test]
fn worths_beyond_i64_stay_exact() {
    // 79228162514264337593543950335 (Decimal::MAX) words at weight 1 does not fit the
    // engine's i64 fast path: the rules go to it as exact fractions instead.
    let p = Policy::parse(BASE.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut inputs = one_contribution("79228162514264337593543950335");
    inputs.actors.push(Actor {
        id: "bob".into(),
        kind: ActorKind::Human,
        operator: None,
    });
    let mut second = inputs.contributions[0].clone();
    second.id = "c2".into();
    second.seq = 2;
    second.actor = "bob".into();
    second.quantity = Decimal::from_str("0.5").unwrap_or_default();
    inputs.contributions.push(second);
    let a = allocate(&p, &inputs, &eur("10"), 0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.players[0].shapley_value, "79228162514264337593543950335");
    assert_eq!(a.players[1].shapley_value, "1/2");
    assert_eq!(a.players[0].payout + a.players[1].payout, Decimal::from(10));
}
