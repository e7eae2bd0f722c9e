//! Amounts and quantities are decimal strings: exact, never floats.

use rust_decimal::Decimal;

/// Parses a plain non-negative decimal: digits, optionally a point and more digits; no sign,
/// no exponent, no leading zeros, at most 28 significant digits (rust_decimal's range).
pub fn parse_non_negative(text: &str) -> Result<Decimal, String> {
    let (integer, fraction) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = digits(integer)
        && (integer == "0" || !integer.starts_with('0'))
        && fraction.is_none_or(digits);
    if !well_formed {
        return Err(format!(
            "{text:?} is not a decimal string: digits with an optional fraction, like \"12.50\" (no sign, exponent or leading zeros)"
        ));
    }
    // Counting digits first keeps parsing exact: rust_decimal would round longer input.
    let significant = integer.trim_start_matches('0').len() + fraction.map_or(0, str::len);
    if significant > 28 {
        return Err(format!("{text:?} has more than 28 digits"));
    }
    text.parse::<Decimal>()
        .map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_decimals() {
        for (text, value) in [
            ("0", "0"),
            ("12", "12"),
            ("12.50", "12.50"),
            ("0.001", "0.001"),
        ] {
            assert_eq!(parse_non_negative(text).expect(text).to_string(), value);
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "", "-1", "+1", "1e3", "1E3", "01", "1.", ".5", "1,5", " 1", "NaN", "0x10", "1.2.3",
        ] {
            assert!(parse_non_negative(bad).is_err(), "{bad:?}");
        }
        assert!(parse_non_negative(&"9".repeat(29)).is_err());
        assert!(parse_non_negative(&format!("0.{}", "1".repeat(29))).is_err());
        assert!(parse_non_negative(&"9".repeat(28)).is_ok());
    }
}
