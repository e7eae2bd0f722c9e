//! RFC 8785 JSON Canonicalization Scheme (JCS): the one way fairshare turns JSON into bytes
//! that are signed or hashed.

use super::CryptoError;
use serde_json::Value;

/// The canonical bytes of `value`: keys sorted by UTF-16 code units, no white space,
/// ECMAScript number formatting, minimal string escaping.
///
/// Every entry is canonicalized on ingestion and again by the offline verifier, so values
/// without fractional or huge numbers (all of the protocol's) take a direct path; the
/// others go to `serde_json_canonicalizer`. Both give the same bytes (a property test checks it).
pub fn to_vec(value: &Value) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(256);
    if write_direct(&mut out, value).is_some() {
        return Ok(out);
    }
    serde_json_canonicalizer::to_vec(value).map_err(|e| CryptoError::Canonical(e.to_string()))
}

/// Integers of at most this magnitude print the same in ECMAScript as in Rust.
const EXACT_INTEGER: u64 = 1 << 53;

/// Writes `value` canonically; `None` when it holds a number JCS formats as a double
/// (fractional, or beyond 2^53), left to the general path.
fn write_direct(out: &mut Vec<u8>, value: &Value) -> Option<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            let text = match (number.as_u64(), number.as_i64()) {
                (Some(n), _) if n <= EXACT_INTEGER => n.to_string(),
                (None, Some(n)) if n.unsigned_abs() <= EXACT_INTEGER => n.to_string(),
                _ => return None,
            };
            out.extend_from_slice(text.as_bytes());
        }
        // serde_json escapes exactly what JCS escapes: `"`, `\`, and U+0000..U+001F
        // (as \b \t \n \f \r or lowercase \u00xx).
        Value::String(text) => serde_json::to_writer(&mut *out, text).ok()?,
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_direct(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            // The map is sorted by UTF-8 bytes, which is UTF-16 order unless a key holds
            // a character from U+E000 (UTF-8 lead bytes 0xEE and up, where surrogate
            // pairs sort below U+E000..U+FFFF in UTF-16).
            if keys.iter().any(|k| k.bytes().any(|b| b >= 0xEE)) {
                keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            }
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key).ok()?;
                out.push(b':');
                write_direct(out, &members[key])?;
            }
            out.push(b'}');
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn jcs(text: &str) -> String {
        let value: Value = serde_json::from_str(text).expect("test JSON parses");
        String::from_utf8(to_vec(&value).expect("canonicalizes")).expect("utf-8")
    }

    // RFC 8785 section 3.2.2 (the "Sample" input) and its canonical output, byte for byte.
    #[test]
    fn rfc8785_section_3_2_2_example() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        let expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
        assert_eq!(jcs(input), expected);
    }

    // RFC 8785 section 3.2.3: property sorting by UTF-16 code units, not by UTF-8 bytes or
    // code points ("\ud83d\ude00" sorts before "\ufb33" in UTF-16, after it in code points).
    #[test]
    fn rfc8785_section_3_2_3_sorting() {
        let input = r#"{
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let value: Value = serde_json::from_str(input).expect("parses");
        let canonical = String::from_utf8(to_vec(&value).expect("ok")).expect("utf-8");
        let order: Vec<&str> = [
            "Carriage Return",
            "One",
            "Control",
            "Latin Small Letter O With Diaeresis",
            "Euro Sign",
            "Emoji: Grinning Face",
            "Hebrew Letter Dalet With Dagesh",
        ]
        .to_vec();
        let positions: Vec<usize> = order
            .iter()
            .map(|v| canonical.find(v).expect("value present"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{canonical}");
    }

    // RFC 8785 appendix B: IEEE 754 values and their ECMAScript serializations.
    #[test]
    fn rfc8785_appendix_b_numbers() {
        let cases = [
            (0.0_f64, "0"),
            (-0.0, "0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9007199254740992.0, "9007199254740992"),
            (9007199254740994.0, "9007199254740994"),
            (1e21, "1e+21"),
            (999999999999999900000.0, "999999999999999900000"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (333333333.3333332, "333333333.3333332"),
            (-5e-324, "-5e-324"),
            (295147905179352830000.0, "295147905179352830000"),
        ];
        for (number, expected) in cases {
            let got = to_vec(&json!(number)).expect("number canonicalizes");
            assert_eq!(
                String::from_utf8(got).expect("utf-8"),
                expected,
                "{number:e}"
            );
        }
    }

    /// Any JSON value: strings over all of Unicode (control characters, quotes, astral and
    /// U+E000..U+FFFF characters in keys), integers near 2^53 and fractional numbers.
    fn any_value() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            "[a-z\"\\\\]{0,4}",
            "[\\x00-\\x1f\\x7f]{0,3}",
            // Few characters, so keys of both sides of the UTF-16 reordering meet.
            "[a\u{e000}\u{fb33}\u{ffff}\u{10000}\u{1f600}]{1,2}",
            any::<String>(),
        ];
        let number = prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            ((1i64 << 53) - 2..(1i64 << 53) + 2).prop_map(Value::from),
            (-(1i64 << 53) - 2..-(1i64 << 53) + 2).prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            number,
            text.clone().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(text.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_direct_path_writes_what_the_general_one_writes(value in any_value()) {
            let general = serde_json_canonicalizer::to_vec(&value).expect("canonicalizes");
            prop_assert_eq!(to_vec(&value).expect("canonicalizes"), general);
        }
    }

    #[test]
    fn nested_objects_and_arrays_keep_array_order() {
        assert_eq!(
            jcs(r#"{"b":[3,1,{"z":1,"a":2}],"a":{}}"#),
            r#"{"a":{},"b":[3,1,{"a":2,"z":1}]}"#
        );
    }
}
