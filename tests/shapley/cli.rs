//! The `shapley` command end to end.

use std::io::Write;
use std::process::Command;

/// The binary under test (the main crate: `fairshare`).
const BIN: &str = env!("CARGO_BIN_EXE_fairshare");

fn write_game(name: &str, body: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("shapley-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    f.write_all(body.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    path
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("shapley")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exact_json_is_reduced_fractions() {
    let g = write_game(
        "glove.json",
        r#"{"players":["l","r1","r2"],"game":{"type":"explicit","values":[0,0,0,1,0,1,0,1]}}"#,
    );
    let (code, out, _) = run(&["--game", g.to_str().unwrap_or_default(), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        r#"{"method": "exact", "values": {"l": "2/3", "r1": "1/6", "r2": "1/6"}}"#
    );
}

#[test]
fn closed_forms_and_owen() {
    let g = write_game(
        "wv.json",
        r#"{"players":["a","b","c"],"game":{"type":"weighted_voting","weights":[1,1,1],"quota":2},"unions":[["a","b"],["c"]]}"#,
    );
    let p = g.to_str().unwrap_or_default();
    let (code, out, _) = run(&["--game", p, "--json"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(r#""method": "closed-form/weighted-voting""#),
        "{out}"
    );
    assert!(out.contains(r#""a": "1/3""#), "{out}");
    let (code, out, _) = run(&["--game", p, "--json", "--method", "owen"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        r#"{"method": "owen", "values": {"a": "1/2", "b": "1/2", "c": "0"}}"#
    );
    let (code, out, _) = run(&["--game", p, "--method", "banzhaf", "--json"]);
    assert_eq!(code, 0);
    assert!(out.contains(r#""a": "1/2""#), "{out}");
}

#[test]
fn monte_carlo_json_has_intervals() {
    let g = write_game(
        "mc.json",
        r#"{"players":["a","b","c"],"game":{"type":"mc_nets","rules":[{"all":["a","b"],"value":"2.5"},{"all":["c"],"none":["a"],"value":1}]}}"#,
    );
    let p = g.to_str().unwrap_or_default();
    let (code, out, _) = run(&[
        "--game",
        p,
        "--json",
        "--method",
        "monte-carlo",
        "--samples",
        "500",
        "--seed",
        "9",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["method"], "monte-carlo");
    assert_eq!(v["samples"], 500);
    assert_eq!(v["seed"], 9);
    assert!(v["ci"]["a"][0].is_string());
    assert!(v["stderr"]["c"].is_string());
    // Same seed, same output.
    let (_, again, _) = run(&[
        "--game",
        p,
        "--json",
        "--method",
        "monte-carlo",
        "--samples",
        "500",
        "--seed",
        "9",
    ]);
    assert_eq!(out, again);
    let (code, table, _) = run(&["--game", p]);
    assert_eq!(code, 0);
    assert!(table.contains("method: closed-form/mc-nets"), "{table}");
}

#[test]
fn malformed_files_exit_2_with_the_index() {
    let g = write_game(
        "bad.json",
        r#"{"players":["a","b"],"game":{"type":"explicit","values":[0,1,"1.x",2]}}"#,
    );
    let (code, _, err) = run(&["--game", g.to_str().unwrap_or_default()]);
    assert_eq!(code, 2);
    assert!(err.contains("game.values[2]"), "{err}");
    let (code, _, err) = run(&["--game", "/nonexistent/game.json"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: "), "{err}");
    let g = write_game(
        "nounions.json",
        r#"{"players":["a"],"game":{"type":"mc_nets","rules":[]}}"#,
    );
    let (code, _, err) = run(&["--game", g.to_str().unwrap_or_default(), "--method", "owen"]);
    assert_eq!(code, 2);
    assert!(err.contains("unions"), "{err}");
}

#[test]
fn target_error_and_bad_parameters() {
    let g = write_game(
        "unsc.json",
        r#"{"players":["P1","P2","P3","P4","P5","N1","N2","N3","N4","N5","N6","N7","N8","N9","N10"],
            "game":{"type":"weighted_voting","weights":[7,7,7,7,7,1,1,1,1,1,1,1,1,1,1],"quota":39}}"#,
    );
    let p = g.to_str().unwrap_or_default();
    let (code, out, _) = run(&[
        "--game",
        p,
        "--json",
        "--method",
        "monte-carlo",
        "--target-error",
        "0.02",
        "--samples",
        "1000000",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let lo: f64 = v["ci"]["P1"][0]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);
    let hi: f64 = v["ci"]["P1"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);
    assert!(hi - lo <= 0.04 + 1e-12, "{out}");
    assert!(lo <= 421.0 / 2145.0 && 421.0 / 2145.0 <= hi, "{out}");
    let (code, _, err) = run(&[
        "--game",
        p,
        "--method",
        "monte-carlo",
        "--confidence",
        "1.5",
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn bad_target_error_exits_2_even_with_a_closed_form() {
    let g = write_game(
        "closed.json",
        r#"{"players":["a","b","c"],"game":{"type":"weighted_voting","weights":[1,1,1],"quota":2}}"#,
    );
    let p = g.to_str().unwrap_or_default();
    for bad in ["NaN", "-1", "0", "-0.5", "inf"] {
        let (code, out, err) = run(&["--game", p, "--target-error", bad]);
        assert_eq!(code, 2, "--target-error {bad}: {out}{err}");
        // Read as the flag's value (not as an unknown flag), refused by the engine.
        assert!(err.contains("target error"), "--target-error {bad}: {err}");
    }
    let (code, _, err) = run(&["--game", p, "--confidence", "-0.95"]);
    assert_eq!(code, 2);
    assert!(err.contains("confidence"), "{err}");
}

#[test]
fn refusals_caused_by_the_request_exit_2() {
    let names: Vec<String> = (0..60).map(|i| format!("\"p{i}\"")).collect();
    let wide = write_game(
        "sixty.json",
        &format!(
            r#"{{"players":[{}],"game":{{"type":"mc_nets","rules":[{{"all":["p0","p59"],"value":1}}]}}}}"#,
            names.join(",")
        ),
    );
    let table = write_game(
        "table.json",
        r#"{"players":["a","b"],"game":{"type":"explicit","values":[0,1,1,3]}}"#,
    );
    for (game, method, reason) in [
        (&wide, "exact", "exceeds the limit"),
        (&table, "closed-form", "does not apply"),
    ] {
        let path = game.to_str().unwrap_or_default();
        let (code, _, err) = run(&["--game", path, "--method", method]);
        assert_eq!(code, 2, "{method}: {err}");
        assert!(err.contains(reason), "{method}: {err}");
    }
}

#[test]
fn the_table_shows_the_interval() {
    let g = write_game(
        "table-mc.json",
        r#"{"players":["a","b"],"game":{"type":"weighted_voting","weights":[1,2],"quota":2}}"#,
    );
    let (code, out, _) = run(&[
        "--game",
        g.to_str().unwrap_or_default(),
        "--method",
        "monte-carlo",
        "--samples",
        "100",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("ci low") && out.contains("ci high"), "{out}");
    assert!(!out.contains("stderr"), "{out}");
}
