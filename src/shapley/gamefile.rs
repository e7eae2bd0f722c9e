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
use std::hash::{BuildHasherDefault, Hasher};

use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::{Result, ShapleyError};
use super::explicit::{Explicit, MAX_EXPLICIT_PLAYERS};
use super::game::Game;
use super::mcnets::{McNets, Rule, Shape};
use super::rational::parse_exact;
use super::scaled::{self, Accumulator, SmallWorth, small_worth};
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
    /// Read as its fields right away: a second pass over a large table costs as much as
    /// reading it.
    #[serde(borrow)]
    game: BTreeMap<String, &'a RawValue>,
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

/// A rule whose names and value borrow from the file: the fast path (no escapes).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainRule<'a> {
    #[serde(default, borrow)]
    all: Vec<&'a str>,
    #[serde(default, borrow)]
    none: Vec<&'a str>,
    #[serde(borrow)]
    value: &'a RawValue,
}

/// FNV-1a over the bytes of a name. A rule file names players millions of times; SipHash's
/// guard against chosen collisions protects nothing here (the file is the caller's own, and
/// a colliding one only slows its own run) and costs a third of the reading.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Player name to index.
type NameIndex<'a> = HashMap<&'a str, usize, BuildHasherDefault<Fnv>>;

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

/// A JSON number token, or a string without escapes, read as a small worth (see
/// [`small_worth`]); `None` sends it to [`number`].
fn small_token(raw: &RawValue) -> Option<SmallWorth> {
    let text = raw.get().as_bytes();
    match text {
        [b'"', body @ .., b'"'] if !body.contains(&b'\\') => small_worth(body),
        [b'-' | b'0'..=b'9', ..] => small_worth(text),
        _ => None,
    }
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
    let mut index = NameIndex::default();
    index.reserve(doc.players.len());
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
    let obj = &doc.game;
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
        "explicit" => Box::new(explicit(n, field("values")?)?),
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
        _ => Box::new(mc_nets(n, &index, field("rules")?)?),
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

/// An explicit table: the values as scaled integers read on all cores when they fit,
/// else (or to word an error) one big rational each.
fn explicit(n: usize, values: &RawValue) -> Result<Explicit> {
    if n > MAX_EXPLICIT_PLAYERS {
        return Err(bad(format!(
            "players: {n} players is too many for an explicit table (at most {MAX_EXPLICIT_PLAYERS})"
        )));
    }
    let want = 1usize << n;
    if let Some(scaled) = scaled::read_array(values.get())
        && scaled.nums.len() == want
    {
        return Explicit::from_scaled(scaled);
    }
    let raw = list(values, "game.values")?;
    if raw.len() != want {
        return Err(bad(format!(
            "game.values: expected 2^{n} = {want} values, got {}",
            raw.len()
        )));
    }
    // In order, so the first bad value is the one reported.
    let values: Vec<Result<BigRational>> = raw
        .par_iter()
        .enumerate()
        .map(|(k, r)| number(r, &format!("game.values[{k}]")))
        .collect();
    Explicit::new(&values.into_iter().collect::<Result<Vec<_>>>()?)
}

/// MC-nets rules: borrowed names and scaled-integer values when every rule allows it, else
/// (or to word an error) the careful path with one big rational per rule.
fn mc_nets(n: usize, index: &NameIndex<'_>, rules: &RawValue) -> Result<McNets> {
    if let Some(game) = mc_nets_plain(n, index, rules) {
        return Ok(game);
    }
    let raw = list(rules, "game.rules")?;
    let mut parsed = Vec::with_capacity(raw.len());
    for (k, r) in raw.iter().enumerate() {
        let doc: RuleDoc<'_> =
            serde_json::from_str(r.get()).map_err(|e| bad(format!("game.rules[{k}]: {e}")))?;
        let names = |l: &[String], f: &str| -> Result<Vec<usize>> {
            l.iter()
                .enumerate()
                .map(|(j, name)| {
                    index.get(name.as_str()).copied().ok_or_else(|| {
                        bad(format!("game.rules[{k}].{f}[{j}]: unknown player {name:?}"))
                    })
                })
                .collect()
        };
        parsed.push(Rule {
            all: names(&doc.all, "all")?,
            none: names(&doc.none, "none")?,
            value: number(doc.value, &format!("game.rules[{k}].value"))?,
        });
    }
    McNets::new(n, parsed)
}

/// The fast path of [`mc_nets`]: chunks of rules read on all cores (see
/// [`scaled::par_array`]), names looked up as they are read, values as scaled integers.
fn mc_nets_plain(n: usize, index: &NameIndex<'_>, rules: &RawValue) -> Option<McNets> {
    let chunks = scaled::par_array(rules.get(), Some(b'}'), |text, start, stop| {
        rules_chunk(text, start, stop, index)
    })?;
    let count = chunks.iter().map(|(shapes, _)| shapes.len()).sum();
    let mut shapes = Vec::with_capacity(count);
    let mut values = Vec::with_capacity(chunks.len());
    for (s, v) in chunks {
        shapes.extend(s);
        values.push(v);
    }
    McNets::from_scaled(n, shapes, Accumulator::concat(values)?).ok()
}

/// Rules of one chunk of the array (see [`scaled::par_array`]).
fn rules_chunk(
    text: &str,
    start: usize,
    stop: usize,
    index: &NameIndex<'_>,
) -> Option<((Vec<Shape>, Accumulator), usize)> {
    let players = |names: &[&str]| -> Option<Vec<usize>> {
        names.iter().map(|name| index.get(name).copied()).collect()
    };
    let mut shapes = Vec::new();
    let mut values = Accumulator::default();
    let mut pos = start;
    loop {
        let mut stream =
            serde_json::Deserializer::from_str(&text[pos..]).into_iter::<PlainRule<'_>>();
        let rule = stream.next()?.ok()?;
        shapes.push(Shape {
            all: players(&rule.all)?,
            none: players(&rule.none)?,
        });
        values.push(small_token(rule.value)?)?;
        let (next, more) = scaled::after_element(text.as_bytes(), pos + stream.byte_offset())?;
        pos = next;
        if !more || pos >= stop {
            return Some(((shapes, values), pos));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

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
    fn rules_read_fast_and_careful_agree() {
        let mut rules = Vec::new();
        for k in 0..30_000 {
            rules.push(format!(
                r#"{{"all": ["p{}", "p{}"], "none": ["p{}"], "value": "{}.{}"}}"#,
                k % 97,
                (k * 7) % 97,
                (k * 13) % 97,
                k % 11,
                k % 7
            ));
        }
        let players: Vec<String> = (0..97).map(|i| format!("\"p{i}\"")).collect();
        let text = format!(
            r#"{{"players": [{}], "game": {{"type": "mc_nets", "rules": [{}]}}}}"#,
            players.join(","),
            rules.join(",\n")
        );
        let doc: Doc<'_> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let names: NameIndex<'_> = doc
            .players
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        let raw = doc.game["rules"];
        let fast = mc_nets_plain(97, &names, raw).unwrap_or_else(|| panic!("fast path refused"));
        // A name with an escape takes the careful path, with the same values.
        let escaped = text.replacen(r#""p0""#, r#""p\u0030""#, 2);
        let careful = parse(&escaped).unwrap_or_else(|e| panic!("{e}"));
        let careful = careful
            .game
            .as_mc_nets()
            .unwrap_or_else(|| panic!("not MC-nets"));
        assert_eq!(fast.rules(), careful.rules());
        assert_eq!(fast.shapley_closed_form(), careful.shapley_closed_form());
    }

    /// A worth as a game file may write it, and whether it may stand unquoted in JSON.
    fn worth_text() -> impl Strategy<Value = (String, bool)> {
        prop_oneof![
            (-1_000_000i64..1_000_000, 0u32..7).prop_map(|(m, d)| {
                let sign = if m < 0 { "-" } else { "" };
                let (m, scale) = (m.unsigned_abs(), 10u64.pow(d));
                let text = if d == 0 {
                    format!("{sign}{m}")
                } else {
                    let width = d as usize;
                    format!("{sign}{}.{:0width$}", m / scale, m % scale)
                };
                (text, true)
            }),
            (any::<i32>(), 1i32..1000).prop_map(|(p, q)| (format!("{p}/{q}"), false)),
            (any::<i64>()).prop_map(|x| (x.to_string(), true)),
            (any::<i16>(), -8i32..8).prop_map(|(m, e)| (format!("{m}e{e}"), true)),
        ]
    }

    proptest! {
        /// The file reader (scaled integers) builds the same table as `Explicit::new` of the
        /// worths read one by one as big rationals: same scaled worths, same denominator, same
        /// floats.
        #[test]
        fn explicit_files_read_as_big_rationals_would(
            worths in proptest::collection::vec(worth_text(), 8),
            quote in proptest::collection::vec(any::<bool>(), 8),
        ) {
            let values: Vec<String> = worths
                .iter()
                .zip(&quote)
                .map(|((t, bare), &q)| if *bare && !q { t.clone() } else { format!("\"{t}\"") })
                .collect();
            let text = format!(
                r#"{{"players":["a","b","c"],"game":{{"type":"explicit","values":[{}]}}}}"#,
                values.join(", ")
            );
            let file = parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let exact: Vec<BigRational> = worths
                .iter()
                .map(|(t, _)| parse_exact(t))
                .collect::<std::result::Result<_, _>>()
                .map_err(TestCaseError::fail)?;
            let reference = Explicit::new(&exact).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(file.game.denominator(), reference.denominator());
            for mask in 0..8u64 {
                prop_assert_eq!(file.game.worth_scaled(&[mask]), reference.worth_scaled(&[mask]));
                prop_assert_eq!(
                    file.game.worth_f64(&[mask]).to_bits(),
                    reference.worth_f64(&[mask]).to_bits()
                );
            }
        }
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
