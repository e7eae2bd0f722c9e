//! Request bodies built to take a server's memory when parsed (issue 12, attack 7), shared
//! by the body-memory bench and the test of the same attack.

/// Bodies of about `size` bytes, each with a name: a batch of millions of empty objects,
/// one entry holding them, deep nesting, and one huge string in an entry.
pub fn memory_bombs(size: usize) -> Vec<(&'static str, Vec<u8>)> {
    let objects = |prefix: &str, suffix: &str| {
        let mut body = prefix.as_bytes().to_vec();
        while body.len() + 3 + suffix.len() < size {
            body.extend_from_slice(b"{},");
        }
        body.extend_from_slice(b"{}");
        body.extend_from_slice(suffix.as_bytes());
        body
    };
    let depth = (size - 16) / 2;
    let nested = format!(
        r#"{{"envelope":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let string = format!(
        r#"{{"envelope":{{"v":1,"body":{{"note":"{}"}}}},"signature":"x"}}"#,
        "x".repeat(size - 64)
    );
    vec![
        ("a batch of empty objects", objects(r#"{"entries":["#, "]}")),
        (
            "one entry of empty objects",
            objects(r#"{"envelope":{"body":["#, "]}}"),
        ),
        ("nesting", nested.into_bytes()),
        ("one huge string", string.into_bytes()),
    ]
}
