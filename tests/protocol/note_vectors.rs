//! Byte compatibility of signed notes, checkpoints and cosignatures with published vectors.
//!
//! Origins:
//! - golang.org/x/mod/sumdb/note, note_test.go (github.com/golang/mod): the PeterNeumann signer
//!   key, verifier key, text and signed note.
//! - c2sp.org/signed-note (github.com/C2SP/C2SP signed-note.md): the example note whose text
//!   contains a blank line.
//! - c2sp.org/tlog-cosignature (tlog-cosignature.md): the example witness line, timestamp
//!   1679315147; github.com/transparency-dev/formats note/note_cosigv1_test.go
//!   TestCoSigV1Timestamp: a cosignature with timestamp 1727964367.

use fairshare::ledger::checkpoint::{
    Checkpoint, NoteError, NoteSigner, NoteVerifier, SignedNote, key_id, open_checkpoint,
    open_note, sign_note,
};

const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n\
                       \n\
                       \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn go_sumdb_note_vector_signs_byte_for_byte() {
    let signer = NoteSigner::from_private_key_string(GO_SKEY).unwrap();
    assert_eq!(hex::encode(signer.key_id()), "c74f20a3");
    assert_eq!(signer.verifier().to_vkey(), GO_VKEY);
    // Ed25519 is deterministic (RFC 8032), so the signed note must match exactly.
    assert_eq!(sign_note(GO_TEXT, &[&signer]).unwrap(), GO_NOTE);
}

#[test]
fn go_sumdb_note_vector_verifies() {
    let verifier = NoteVerifier::from_vkey(GO_VKEY).unwrap();
    let (text, verified) = open_note(GO_NOTE, std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(text, GO_TEXT);
    assert_eq!(verified[0].name, "PeterNeumann");
    assert_eq!(
        key_id("PeterNeumann", 0x01, verifier.public_key().as_bytes()),
        [0xc7, 0x4f, 0x20, 0xa3]
    );
    let tampered = GO_NOTE.replace("cryptography", "cryptographY");
    assert!(matches!(
        open_note(&tampered, &[verifier]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn c2sp_example_note_splits_at_the_last_blank_line() {
    let note = "Ognuno sta solo sul cuor della terra\n\
                trafitto da un raggio di sole:\n\
                \n\
                ed è subito sera.\n\
                \n\
                \u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let parsed = SignedNote::parse(note).unwrap();
    assert!(parsed.text.ends_with("ed è subito sera.\n"));
    assert!(parsed.text.contains("sole:\n\ned"));
    assert_eq!(parsed.signatures.len(), 1);
    assert_eq!(parsed.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(parsed.signatures[0].signature.len(), 64);
    assert_eq!(parsed.to_note_string(), note);
    // Its key is not published: a note with no known signature is rejected.
    let unrelated = NoteSigner::from_private_key_string(GO_SKEY)
        .unwrap()
        .verifier();
    assert_eq!(
        open_note(note, &[unrelated]),
        Err(NoteError::NoKnownSignature)
    );
}

#[test]
fn c2sp_cosignature_example_lines_decode() {
    let note = "example.com/behind-the-sofa\n\
                20852163\n\
                CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
                \n\
                \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
                \u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
    let parsed = SignedNote::parse(note).unwrap();
    let checkpoint = Checkpoint::parse(&parsed.text).unwrap();
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size, 20852163);
    assert_eq!(checkpoint.to_note_text(), parsed.text);
    assert_eq!(parsed.signatures[0].cosignature_timestamp(), None);
    assert_eq!(
        parsed.signatures[1].cosignature_timestamp(),
        Some(1_679_315_147)
    );
    assert_eq!(parsed.to_note_string(), note);

    let formats = SignedNote::parse(
        "t\n\n\u{2014} w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==\n",
    )
    .unwrap();
    assert_eq!(
        formats.signatures[0].cosignature_timestamp(),
        Some(1_727_964_367)
    );
}

#[test]
fn malformed_notes_are_rejected() {
    let verifier = NoteVerifier::from_vkey(GO_VKEY).unwrap();
    let sig_line = GO_NOTE.rsplit_once("\n\n").unwrap().1;
    for bad in [
        GO_TEXT.to_owned(),                            // no signatures
        format!("{GO_TEXT}\n"),                        // blank line, no signature
        format!("{GO_TEXT}\n{}", sig_line.trim_end()), // no final newline
        format!("{GO_TEXT}\n{}", sig_line.replace('\u{2014}', "--")),
        format!("{GO_TEXT}\n{}", sig_line.replace(' ', "  ")),
        format!("{GO_TEXT}\n{sig_line}garbage\n"),
        format!("{GO_TEXT}\n\u{2014} PeterNeumann AAAA\n"), // shorter than 5 bytes
        format!("bad\x01text\n\n{sig_line}"),
        "no newline at all".to_owned(),
    ] {
        assert!(
            open_note(&bad, std::slice::from_ref(&verifier)).is_err(),
            "{bad:?}"
        );
    }
    // More than 100 signature lines.
    let many = format!("{GO_TEXT}\n{}", sig_line.repeat(101));
    assert_eq!(SignedNote::parse(&many), Err(NoteError::TooManySignatures));
    // A checkpoint signed note needs a checkpoint body.
    assert!(matches!(
        open_checkpoint(GO_NOTE, &[verifier]),
        Err(NoteError::MalformedCheckpoint(_))
    ));
}
