//! Game files (JSON), parsed exactly and with precise errors.
//!
//! ```json
//! {"players": ["a", "b"], "game": {"type": "explicit", "values": [0, 1, "1.5", 3]},
//!  "unions": [["a"], ["b"]]}
//! ```
//! Game types: `explicit` (`values[k]` = worth of the players at the set bits of k),
//! `weighted_voting` (`weights`, `quota`: non-negative integers), `mc_nets` (`rules`: objects
//! with `all`, `none` (player names) and `value`). Worths are JSON numbers or decimal strings
//! (also `"p/q"`); numbers are read from their text, never through a float.

use std::collections::{BTreeMap, HashMap};

use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::{Result, ShapleyError};
use super::explicit::{Explicit, MAX_EXPLICIT_PLAYERS};
use super::game::Game;
use super::mcnets::{McNets, Rule};
use super::rational::parse_exact;
use super::voting::WeightedVoting;

/// A parsed game file.
pub struct GameFile {
    /// Player names, in index order.
    pub players: Vec<String>,
    /// The game.
    pub game: Box<dyn Game>,
    /// A priori unions (player indices), if given.
    pub unions: Option<Vec<Vec<usize>>>,
}

impl std::fmt::Debug for GameFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameFile")
            .field("players", &self.players)
            .field("unions", &self.unions)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc<'a> {
    players: Vec<String>,
    #[serde(borrow)]
    game: &'a RawValue,
    #[serde(default)]
    unions: Option<Vec<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc<'a> {
    #[serde(default)]
    all: Vec<String>,
    #[serde(default)]
    none: Vec<String>,
    #[serde(borrow)]
    value: &'a RawValue,
}

fn bad(msg: String) -> ShapleyError {
    ShapleyError::InvalidGame(msg)
}

/// An exact number from a JSON number token or a string holding a decimal or fraction.
fn number(raw: &RawValue, field: &str) -> Result<BigRational> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        let s: String = serde_json::from_str(text).map_err(|e| bad(format!("{field}: {e}")))?;
        return parse_exact(&s).map_err(|e| bad(format!("{field}: {e}")));
    }
    if let Ok(i) = text.parse::<i64>() {
        return Ok(BigRational::from_integer(i.into()));
    }
    if text.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
        return parse_exact(text).map_err(|e| bad(format!("{field}: {e}")));
    }
    Err(bad(format!(
        "{field}: expected a number or a decimal string, got {text}"
    )))
}

fn nonneg_int(raw: &RawValue, field: &str) -> Result<u64> {
    let v = number(raw, field)?;
    if !v.is_integer() || v.is_negative() {
        return Err(bad(format!(
            "{field}: expected a non-negative integer, got {}",
            raw.get()
        )));
    }
    v.to_integer()
        .to_u64()
        .ok_or_else(|| bad(format!("{field}: {} is too large", raw.get())))
}

fn list<'a>(raw: &'a RawValue, field: &str) -> Result<Vec<&'a RawValue>> {
    serde_json::from_str(raw.get()).map_err(|e| bad(format!("{field}: expected an array ({e})")))
}

/// Parse a game file.
pub fn parse(text: &str) -> Result<GameFile> {
    let doc: Doc<'_> = serde_json::from_str(text).map_err(|e| bad(format!("game file: {e}")))?;
    if doc.players.is_empty() {
        return Err(bad("players: empty".into()));
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, p) in doc.players.iter().enumerate() {
        if index.insert(p.as_str(), i).is_some() {
            return Err(bad(format!("players[{i}]: duplicate name {p:?}")));
        }
    }
    let lookup = |name: &str, field: String| -> Result<usize> {
        index
            .get(name)
            .copied()
            .ok_or_else(|| bad(format!("{field}: unknown player {name:?}")))
    };
    let n = doc.players.len();
    let obj: BTreeMap<String, &RawValue> = serde_json::from_str(doc.game.get())
        .map_err(|e| bad(format!("game: expected an object ({e})")))?;
    let ty: String = match obj.get("type") {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| bad(format!("game.type: expected a string, got {}", raw.get())))?,
        None => return Err(bad("game.type: missing".into())),
    };
    let allowed: &[&str] = match ty.as_str() {
        "explicit" => &["type", "values"],
        "weighted_voting" => &["type", "weights", "quota"],
        "mc_nets" => &["type", "rules"],
        other => {
            return Err(bad(format!(
                "game.type: unknown type {other:?} (expected explicit, weighted_voting or mc_nets)"
            )));
        }
    };
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(format!("game.{k}: unknown field for type {ty:?}")));
    }
    let field = |name: &str| -> Result<&RawValue> {
        obj.get(name)
            .copied()
            .ok_or_else(|| bad(format!("game.{name}: missing")))
    };
    let game: Box<dyn Game> = match ty.as_str() {
        "explicit" => {
            if n > MAX_EXPLICIT_PLAYERS {
                return Err(bad(format!(
                    "players: {n} players is too many for an explicit table (at most {MAX_EXPLICIT_PLAYERS})"
                )));
            }
            let raw = list(field("values")?, "game.values")?;
            let want = 1usize << n;
            if raw.len() != want {
                return Err(bad(format!(
                    "game.values: expected 2^{n} = {want} values, got {}",
                    raw.len()
                )));
            }
            let values = raw
                .iter()
                .enumerate()
                .map(|(k, r)| number(r, &format!("game.values[{k}]")))
                .collect::<Result<Vec<_>>>()?;
            Box::new(Explicit::new(&values)?)
        }
        "weighted_voting" => {
            let raw = list(field("weights")?, "game.weights")?;
            if raw.len() != n {
                return Err(bad(format!(
                    "game.weights: expected {n} weights (one per player), got {}",
                    raw.len()
                )));
            }
            let weights = raw
                .iter()
                .enumerate()
                .map(|(k, r)| nonneg_int(r, &format!("game.weights[{k}]")))
                .collect::<Result<Vec<_>>>()?;
            let quota = nonneg_int(field("quota")?, "game.quota")?;
            Box::new(WeightedVoting::new(weights, quota)?)
        }
        _ => {
            let raw = list(field("rules")?, "game.rules")?;
            let mut rules = Vec::with_capacity(raw.len());
            for (k, r) in raw.iter().enumerate() {
                let doc: RuleDoc<'_> = serde_json::from_str(r.get())
                    .map_err(|e| bad(format!("game.rules[{k}]: {e}")))?;
                let names = |l: &[String], f: &str| -> Result<Vec<usize>> {
                    l.iter()
                        .enumerate()
                        .map(|(j, name)| lookup(name, format!("game.rules[{k}].{f}[{j}]")))
                        .collect()
                };
                rules.push(Rule {
                    all: names(&doc.all, "all")?,
                    none: names(&doc.none, "none")?,
                    value: number(doc.value, &format!("game.rules[{k}].value"))?,
                });
            }
            Box::new(McNets::new(n, rules)?)
        }
    };
    let unions = match doc.unions {
        None => None,
        Some(us) => {
            let mut seen: Vec<Option<usize>> = vec![None; n];
            let mut out = Vec::with_capacity(us.len());
            for (u, members) in us.iter().enumerate() {
                if members.is_empty() {
                    return Err(bad(format!("unions[{u}]: empty")));
                }
                let mut idx = Vec::with_capacity(members.len());
                for (j, name) in members.iter().enumerate() {
                    let p = lookup(name, format!("unions[{u}][{j}]"))?;
                    if let Some(prev) = seen[p].replace(u) {
                        return Err(bad(format!(
                            "unions[{u}][{j}]: player {name:?} is already in unions[{prev}]"
                        )));
                    }
                    idx.push(p);
                }
                out.push(idx);
            }
            if let Some(p) = seen.iter().position(Option::is_none) {
                return Err(bad(format!(
                    "unions: player {:?} is in no union",
                    doc.players[p]
                )));
            }
            Some(out)
        }
    };
    Ok(GameFile {
        players: doc.players,
        game,
        unions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse(text) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn precise_errors() {
        let e = err(r#"{"players":["a","b"],"game":{"type":"explicit","values":[0,1,"x",3]}}"#);
        assert!(e.contains("game.values[2]"), "{e}");
        let e = err(r#"{"players":["a","b"],"game":{"type":"explicit","values":[0,1,2]}}"#);
        assert!(e.contains("expected 2^2 = 4 values, got 3"), "{e}");
        let e = err(r#"{"players":["a","a"],"game":{"type":"mc_nets","rules":[]}}"#);
        assert!(e.contains("players[1]: duplicate"), "{e}");
        let e = err(
            r#"{"players":["a","b"],"game":{"type":"mc_nets","rules":[{"all":["a"],"value":1},{"all":["a","z"],"value":1}]}}"#,
        );
        assert!(
            e.contains("game.rules[1].all[1]: unknown player \"z\""),
            "{e}"
        );
        let e = err(
            r#"{"players":["a","b"],"game":{"type":"weighted_voting","weights":[1,-2],"quota":2}}"#,
        );
        assert!(
            e.contains("game.weights[1]: expected a non-negative integer"),
            "{e}"
        );
        let e = err(r#"{"players":["a","b"],"game":{"type":"voting"}}"#);
        assert!(e.contains("game.type: unknown type"), "{e}");
        let e = err(
            r#"{"players":["a","b"],"game":{"type":"mc_nets","rules":[]},"unions":[["a"],["a","b"]]}"#,
        );
        assert!(
            e.contains("unions[1][0]: player \"a\" is already in unions[0]"),
            "{e}"
        );
        let e = err(r#"{"players":["a"],"game":{"type":"explicit","values":[0,1],"x":1}}"#);
        assert!(e.contains("game.x: unknown field"), "{e}");
        let e = err(r#"{"players":["a"],"game":{"type":"explicit","values":[0, true]}}"#);
        assert!(e.contains("game.values[1]"), "{e}");
    }

    #[test]
    fn numbers_are_exact() {
        let g = parse(
            r#"{"players":["a","b"],"game":{"type":"explicit","values":[0,0.1,"0.2","1/3"]}}"#,
        );
        let g = match g {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(g.game.worth(&[1]), BigRational::new(1.into(), 10.into()));
        assert_eq!(g.game.worth(&[3]), BigRational::new(1.into(), 3.into()));
    }
}
