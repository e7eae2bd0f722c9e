//! RFC 8785 JSON Canonicalization Scheme (JCS): the one way fairshare turns JSON into bytes
//! that are signed or hashed.

use super::CryptoError;
use serde_json::Value;

/// The canonical bytes of `value`: keys sorted by UTF-16 code units, no white space,
/// ECMAScript number formatting, minimal string escaping.
pub fn to_vec(value: &Value) -> Result<Vec<u8>, CryptoError> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| CryptoError::Canonical(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn nested_objects_and_arrays_keep_array_order() {
        assert_eq!(
            jcs(r#"{"b":[3,1,{"z":1,"a":2}],"a":{}}"#),
            r#"{"a":{},"b":[3,1,{"a":2,"z":1}]}"#
        );
    }
}
