//! Worked examples of docs/PROTOCOL.md that need no server.

use fairshare::crypto::{PublicKey, b64_decode};

#[test]
fn the_server_key_id_is_read_from_the_log_verifier_key() {
    // PROTOCOL.md, "The server key": the verifier key of the signed-note worked example.
    let vkey = "fairshare.example/log+5cd46141+AR4BAViKV3YMenPpPYyKA2w2LF5xjboprKmCMZW3ZRWQ";
    let encoded = b64_decode(vkey.splitn(3, '+').nth(2).expect("three fields")).expect("base64");
    assert_eq!(encoded[0], 0x01, "type: Ed25519");
    let bytes: [u8; 32] = encoded[1..].try_into().expect("32 bytes");
    let key = PublicKey::from_bytes(&bytes).expect("a public key");
    assert_eq!(
        key.to_base64(),
        "HgEBWIpXdgx6c+k9jIoDbDYsXnGNuimsqYIxlbdlFZA="
    );
    assert_eq!(key.key_id().to_string(), "cf68bef202bb1638");
}
