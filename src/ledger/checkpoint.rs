//! Checkpoints as C2SP signed notes, and witness cosignatures. Pure: no IO, no clock.
//!
//! - Checkpoint body: <https://c2sp.org/tlog-checkpoint> "Note text": origin line, decimal tree
//!   size, base64 root hash, optional non-empty extension lines, each ending in `\n`.
//! - Signed note: <https://c2sp.org/signed-note> "Format" and "Signatures": the text, a blank
//!   line, then lines `— <key name> base64(key ID || signature)` (U+2014 EM DASH, space).
//!   Key ID = SHA-256(name || 0x0A || type || public key)[:4]; type 0x01 is Ed25519 over the
//!   note text. Verifier keys (vkeys) are `<name>+<hex key ID>+base64(type || public key)`, as
//!   golang.org/x/mod/sumdb/note encodes them.
//! - Cosignature: <https://c2sp.org/tlog-cosignature> "Format" and "Ed25519 signed message":
//!   type 0x04, signature = key ID || u64 big-endian timestamp || Ed25519 signature over
//!   `cosignature/v1\ntime <t>\n<checkpoint note text>`.
//!
//! Parsing follows golang.org/x/mod/sumdb/note `Open`: the text ends at the LAST blank line,
//! any malformed signature line rejects the note, signatures from unknown keys are skipped,
//! a known key whose signature fails rejects the note, and at least one known key must verify.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

/// Signature type byte of an Ed25519 note signature (c2sp.org/signed-note "Signature types").
pub const SIGNATURE_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of an Ed25519 timestamped witness cosignature (c2sp.org/tlog-cosignature).
pub const SIGNATURE_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// The signature line prefix: U+2014 EM DASH, then a space (bytes E2 80 94 20).
pub const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";
/// The spec requires accepting at least 16; golang.org/x/mod/sumdb/note rejects more than 100.
pub const MAX_SIGNATURES: usize = 100;
/// Cosignature header line (c2sp.org/tlog-cosignature "Ed25519 signed message").
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";
/// golang.org/x/mod/sumdb/note private key prefix, kept for its test vectors and tooling.
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Everything that can be wrong with a checkpoint, a note, a key or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("key name {0:?} is empty or contains a space or '+'")]
    InvalidKeyName(String),
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    #[error("malformed signer key: {0}")]
    MalformedSignerKey(&'static str),
    #[error("key ID in the key string does not match the key")]
    KeyIdMismatch,
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedSignatureType(u8),
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    #[error("note text must end with a newline and contain no control characters but newline")]
    InvalidNoteText,
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("signature by {name} (key ID {key_id}) does not verify")]
    InvalidSignature { name: String, key_id: String },
    #[error("note has no signature from a known key")]
    NoKnownSignature,
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    TimestampTooLarge(u64),
}

/// Key ID = SHA-256(key name || 0x0A || signature type || public key)[:4] (c2sp.org/signed-note
/// "Signatures").
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', signature_type]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Key names are non-empty, contain no Unicode space and no '+' (c2sp.org/signed-note "Format").
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName(name.to_owned()))
    }
}

/// Note text rules (c2sp.org/signed-note "Format"): ends in newline, no control character
/// other than newline. (UTF-8 validity is given by `&str`.)
fn check_note_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') || text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::InvalidNoteText);
    }
    Ok(())
}

/// A checkpoint body (c2sp.org/tlog-checkpoint "Note text").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Opaque, non-empty lines after the root hash. NOT RECOMMENDED by the spec; fairshare
    /// writes none but accepts them when parsing.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Result<Self, NoteError> {
        let checkpoint = Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        };
        checkpoint.validate()?;
        Ok(checkpoint)
    }

    fn validate(&self) -> Result<(), NoteError> {
        if self.origin.is_empty() {
            return Err(NoteError::MalformedCheckpoint("empty origin"));
        }
        for line in std::iter::once(&self.origin).chain(&self.extensions) {
            if line.is_empty() {
                return Err(NoteError::MalformedCheckpoint("empty extension line"));
            }
            if line.chars().any(char::is_control) {
                return Err(NoteError::MalformedCheckpoint(
                    "control character in a line",
                ));
            }
        }
        Ok(())
    }

    /// The note text: `<origin>\n<size>\n<base64 root>\n[<extension>\n...]`.
    pub fn to_note_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint note text strictly: decimal size without leading zeros, canonical
    /// base64 of exactly 32 bytes, non-empty lines, final newline.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let Some(body) = text.strip_suffix('\n') else {
            return Err(NoteError::MalformedCheckpoint("missing final newline"));
        };
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size_line = lines
            .next()
            .ok_or(NoteError::MalformedCheckpoint("missing tree size line"))?;
        let root_line = lines
            .next()
            .ok_or(NoteError::MalformedCheckpoint("missing root hash line"))?;
        let size = parse_decimal(size_line).ok_or(NoteError::MalformedCheckpoint(
            "tree size is not a canonical decimal",
        ))?;
        let root: Hash = BASE64
            .decode(root_line)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(NoteError::MalformedCheckpoint(
                "root hash is not base64 of 32 bytes",
            ))?;
        let checkpoint = Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: lines.map(str::to_owned).collect(),
        };
        checkpoint.validate()?;
        Ok(checkpoint)
    }
}

/// ASCII decimal, no sign, no leading zeros (except "0"), fits u64.
fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: [u8; 4],
    /// The bytes after the key ID (for a cosignature: timestamp || signature).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// `— <name> <base64(key ID || signature)>\n`
    pub fn to_line(&self) -> String {
        let mut blob = Vec::with_capacity(4 + self.signature.len());
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        )
    }

    fn parse_line(line: &str) -> Result<Self, NoteError> {
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(NoteError::MalformedNote(
                "signature line must start with '— '",
            ))?;
        let (name, encoded) = rest.split_once(' ').ok_or(NoteError::MalformedNote(
            "signature line has no space after the key name",
        ))?;
        if !is_valid_key_name(name) {
            return Err(NoteError::MalformedNote(
                "invalid key name in signature line",
            ));
        }
        let blob = BASE64
            .decode(encoded)
            .map_err(|_| NoteError::MalformedNote("signature is not base64"))?;
        if blob.len() < 5 {
            return Err(NoteError::MalformedNote(
                "signature is shorter than 5 bytes",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: [blob[0], blob[1], blob[2], blob[3]],
            signature: blob[4..].to_vec(),
        })
    }

    /// The timestamp of a cosignature (c2sp.org/tlog-cosignature `timestamped_signature`).
    pub fn cosignature_timestamp(&self) -> Option<u64> {
        if self.signature.len() != 8 + 64 {
            return None;
        }
        let mut timestamp = [0u8; 8];
        timestamp.copy_from_slice(&self.signature[..8]);
        Some(u64::from_be_bytes(timestamp))
    }
}

/// A note split into text and signature lines; no signature checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// Splits a signed note at its last blank line and parses every signature line.
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        if note.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::MalformedNote("control character in note"));
        }
        let split = note.rfind("\n\n").ok_or(NoteError::MalformedNote(
            "no blank line before the signatures",
        ))?;
        let text = &note[..=split];
        let signature_block = &note[split + 2..];
        let Some(signature_block) = signature_block.strip_suffix('\n') else {
            return Err(NoteError::MalformedNote(
                "signatures must end with a newline",
            ));
        };
        if signature_block.is_empty() {
            return Err(NoteError::MalformedNote("no signature lines"));
        }
        let mut signatures = Vec::new();
        for line in signature_block.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(NoteSignature::parse_line(line)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// text || "\n" || signature lines.
    pub fn to_note_string(&self) -> String {
        let mut note = String::with_capacity(self.text.len() + 1 + 128 * self.signatures.len());
        note.push_str(&self.text);
        note.push('\n');
        for signature in &self.signatures {
            note.push_str(&signature.to_line());
        }
        note
    }

    /// Verifies per c2sp.org/signed-note "Signatures": lines whose (name, key ID) match no
    /// verifier are skipped; a matching line that fails rejects the note; at least one must
    /// verify. Repeated lines of one known key are checked once (as x/mod/sumdb/note does).
    pub fn verify(&self, verifiers: &[NoteVerifier]) -> Result<Vec<VerifiedSignature>, NoteError> {
        check_note_text(&self.text)?;
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for signature in &self.signatures {
            let Some(verifier) = verifiers
                .iter()
                .find(|v| v.name == signature.name && v.key_id == signature.key_id)
            else {
                continue;
            };
            if verified
                .iter()
                .any(|v| v.name == signature.name && v.key_id == signature.key_id)
            {
                continue;
            }
            let timestamp = verifier
                .verify(&self.text, &signature.signature)
                .ok_or_else(|| NoteError::InvalidSignature {
                    name: signature.name.clone(),
                    key_id: hex::encode(signature.key_id),
                })?;
            verified.push(VerifiedSignature {
                name: signature.name.clone(),
                key_id: signature.key_id,
                cosignature_timestamp: timestamp,
            });
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(verified)
    }
}

/// A signature that verified under a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub name: String,
    pub key_id: [u8; 4],
    /// Set for cosignatures (type 0x04): the witness's POSIX timestamp.
    pub cosignature_timestamp: Option<u64>,
}

/// Signs note texts with an Ed25519 key: as the log (type 0x01) or as a witness (type 0x04).
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    signature_type: u8,
    key: SigningKey,
    key_id: [u8; 4],
}

impl std::fmt::Debug for NoteSigner {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("signature_type", &self.signature_type)
            .field("key_id", &hex::encode(self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A log (checkpoint) signer: signature type 0x01.
    pub fn ed25519(name: impl Into<String>, key: SigningKey) -> Result<Self, NoteError> {
        Self::with_type(name.into(), SIGNATURE_TYPE_ED25519, key)
    }

    /// A witness cosigner: signature type 0x04.
    pub fn cosigner(name: impl Into<String>, key: SigningKey) -> Result<Self, NoteError> {
        Self::with_type(name.into(), SIGNATURE_TYPE_COSIGNATURE_V1, key)
    }

    fn with_type(name: String, signature_type: u8, key: SigningKey) -> Result<Self, NoteError> {
        check_key_name(&name)?;
        let key_id = key_id(&name, signature_type, key.verifying_key().as_bytes());
        Ok(Self {
            name,
            signature_type,
            key,
            key_id,
        })
    }

    /// Parses a golang.org/x/mod/sumdb/note signer key
    /// `PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || 32-byte seed)`.
    pub fn from_private_key_string(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(NoteError::MalformedSignerKey("missing PRIVATE+KEY+ prefix"))?;
        let (name, key_id_hex, encoded) = split_key_string(rest).ok_or(
            NoteError::MalformedSignerKey("expected <name>+<key ID>+<key>"),
        )?;
        let key_id = parse_key_id(key_id_hex).ok_or(NoteError::MalformedSignerKey("bad key ID"))?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| NoteError::MalformedSignerKey("key is not base64"))?;
        let (&signature_type, seed) = bytes
            .split_first()
            .ok_or(NoteError::MalformedSignerKey("empty key"))?;
        if signature_type != SIGNATURE_TYPE_ED25519 {
            return Err(NoteError::UnsupportedSignatureType(signature_type));
        }
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError::MalformedSignerKey("Ed25519 seed must be 32 bytes"))?;
        let signer = Self::ed25519(name, SigningKey::from_bytes(&seed))?;
        if signer.key_id != key_id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(signer)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            signature_type: self.signature_type,
            key: self.key.verifying_key(),
            key_id: self.key_id,
        }
    }

    /// Signs a note text as the log (type 0x01 signers only; cosigners use
    /// [`NoteSigner::cosign`]).
    pub fn sign(&self, text: &str) -> Result<NoteSignature, NoteError> {
        if self.signature_type != SIGNATURE_TYPE_ED25519 {
            return Err(NoteError::UnsupportedSignatureType(self.signature_type));
        }
        check_note_text(text)?;
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: self.key.sign(text.as_bytes()).to_bytes().to_vec(),
        })
    }

    /// Cosigns a checkpoint note text at POSIX time `timestamp` (type 0x04 signers only).
    pub fn cosign(
        &self,
        checkpoint_text: &str,
        timestamp: u64,
    ) -> Result<NoteSignature, NoteError> {
        if self.signature_type != SIGNATURE_TYPE_COSIGNATURE_V1 {
            return Err(NoteError::UnsupportedSignatureType(self.signature_type));
        }
        check_note_text(checkpoint_text)?;
        let message = cosignature_message(checkpoint_text, timestamp)?;
        let mut signature = Vec::with_capacity(8 + 64);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&self.key.sign(&message).to_bytes());
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature,
        })
    }
}

/// `cosignature/v1\ntime <t>\n<checkpoint note text>` (c2sp.org/tlog-cosignature
/// "Ed25519 signed message").
pub fn cosignature_message(checkpoint_text: &str, timestamp: u64) -> Result<Vec<u8>, NoteError> {
    if timestamp > i64::MAX as u64 {
        return Err(NoteError::TimestampTooLarge(timestamp));
    }
    Ok(format!("{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_text}").into_bytes())
}

/// Signs `text` with every signer and returns the whole signed note.
pub fn sign_note(text: &str, signers: &[&NoteSigner]) -> Result<String, NoteError> {
    let signatures = signers
        .iter()
        .map(|signer| signer.sign(text))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SignedNote {
        text: text.to_owned(),
        signatures,
    }
    .to_note_string())
}

/// Parses and verifies a signed note; returns its text and the signatures that verified.
pub fn open_note(
    note: &str,
    verifiers: &[NoteVerifier],
) -> Result<(String, Vec<VerifiedSignature>), NoteError> {
    let parsed = SignedNote::parse(note)?;
    let verified = parsed.verify(verifiers)?;
    Ok((parsed.text, verified))
}

/// Signs a checkpoint as the log: the signed note served at `/v1/log/checkpoint`.
pub fn sign_checkpoint(checkpoint: &Checkpoint, signer: &NoteSigner) -> Result<String, NoteError> {
    sign_note(&checkpoint.to_note_text(), &[signer])
}

/// Verifies a signed checkpoint note and parses its body.
pub fn open_checkpoint(
    note: &str,
    verifiers: &[NoteVerifier],
) -> Result<(Checkpoint, Vec<VerifiedSignature>), NoteError> {
    let (text, verified) = open_note(note, verifiers)?;
    Ok((Checkpoint::parse(&text)?, verified))
}

/// Adds a witness cosignature line to a signed checkpoint note (keeping its other lines).
pub fn add_cosignature(
    note: &str,
    cosigner: &NoteSigner,
    timestamp: u64,
) -> Result<String, NoteError> {
    let mut parsed = SignedNote::parse(note)?;
    let cosignature = cosigner.cosign(&parsed.text, timestamp)?;
    parsed.signatures.push(cosignature);
    Ok(parsed.to_note_string())
}

/// A known public key: a log key (type 0x01) or a witness key (type 0x04).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    signature_type: u8,
    key: VerifyingKey,
    key_id: [u8; 4],
}

impl NoteVerifier {
    pub fn ed25519(name: impl Into<String>, key: VerifyingKey) -> Result<Self, NoteError> {
        Self::with_type(name.into(), SIGNATURE_TYPE_ED25519, key)
    }

    pub fn cosigner(name: impl Into<String>, key: VerifyingKey) -> Result<Self, NoteError> {
        Self::with_type(name.into(), SIGNATURE_TYPE_COSIGNATURE_V1, key)
    }

    fn with_type(name: String, signature_type: u8, key: VerifyingKey) -> Result<Self, NoteError> {
        check_key_name(&name)?;
        let key_id = key_id(&name, signature_type, key.as_bytes());
        Ok(Self {
            name,
            signature_type,
            key,
            key_id,
        })
    }

    /// Parses a verifier key `<name>+<8 lowercase hex key ID>+base64(type || 32-byte key)`,
    /// type 0x01 (log) or 0x04 (witness); the key ID must match the key.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let (name, key_id_hex, encoded) = split_key_string(vkey).ok_or(
            NoteError::MalformedVerifierKey("expected <name>+<key ID>+<key>"),
        )?;
        let key_id =
            parse_key_id(key_id_hex).ok_or(NoteError::MalformedVerifierKey("bad key ID"))?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| NoteError::MalformedVerifierKey("key is not base64"))?;
        let (&signature_type, public_key) = bytes
            .split_first()
            .ok_or(NoteError::MalformedVerifierKey("empty key"))?;
        let public_key: [u8; 32] = public_key
            .try_into()
            .map_err(|_| NoteError::MalformedVerifierKey("Ed25519 key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&public_key)
            .map_err(|_| NoteError::MalformedVerifierKey("not an Ed25519 public key"))?;
        let verifier = match signature_type {
            SIGNATURE_TYPE_ED25519 => Self::ed25519(name, key)?,
            SIGNATURE_TYPE_COSIGNATURE_V1 => Self::cosigner(name, key)?,
            other => return Err(NoteError::UnsupportedSignatureType(other)),
        };
        if verifier.key_id != key_id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(verifier)
    }

    /// The vkey string (what `GET /v1/log/key` serves).
    pub fn to_vkey(&self) -> String {
        let mut bytes = Vec::with_capacity(33);
        bytes.push(self.signature_type);
        bytes.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            BASE64.encode(bytes)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    pub fn signature_type(&self) -> u8 {
        self.signature_type
    }

    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Checks one signature over `text`; `Some(timestamp)` for a valid cosignature, `Some(None)`
    /// for a valid log signature, `None` if invalid. Uses `verify_strict` (no malleable or
    /// small-order edge cases).
    fn verify(&self, text: &str, signature: &[u8]) -> Option<Option<u64>> {
        match self.signature_type {
            SIGNATURE_TYPE_ED25519 => {
                let signature = Signature::from_slice(signature).ok()?;
                self.key.verify_strict(text.as_bytes(), &signature).ok()?;
                Some(None)
            }
            SIGNATURE_TYPE_COSIGNATURE_V1 => {
                if signature.len() != 8 + 64 {
                    return None;
                }
                let (timestamp, signature) = signature.split_at(8);
                let timestamp = u64::from_be_bytes(timestamp.try_into().ok()?);
                let message = cosignature_message(text, timestamp).ok()?;
                let signature = Signature::from_slice(signature).ok()?;
                self.key.verify_strict(&message, &signature).ok()?;
                Some(Some(timestamp))
            }
            _ => None,
        }
    }
}

/// `<name>+<id>+<key>`: the name has no '+', and base64 may contain '+', so split twice only.
fn split_key_string(text: &str) -> Option<(&str, &str, &str)> {
    let mut parts = text.splitn(3, '+');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// Exactly 8 lowercase or uppercase hex digits, as x/mod/sumdb/note accepts.
fn parse_key_id(text: &str) -> Option<[u8; 4]> {
    if text.len() != 8 {
        return None;
    }
    hex::decode(text).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_signer() -> NoteSigner {
        NoteSigner::ed25519("example.com/log", SigningKey::from_bytes(&[7; 32])).unwrap()
    }

    fn witness() -> NoteSigner {
        NoteSigner::cosigner("witness.example/w1", SigningKey::from_bytes(&[9; 32])).unwrap()
    }

    #[test]
    fn checkpoint_text_round_trips() {
        let checkpoint = Checkpoint::new("example.com/log", 20852163, [0xab; 32]).unwrap();
        let text = checkpoint.to_note_text();
        assert_eq!(
            text,
            "example.com/log\n20852163\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"
        );
        assert_eq!(Checkpoint::parse(&text).unwrap(), checkpoint);
    }

    #[test]
    fn checkpoint_parse_is_strict() {
        let root = BASE64.encode([1u8; 32]);
        for bad in [
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            format!("o\n1\n{root}\n\n"),
            "o\n1\nAAAA\n".to_owned(),
            "o\n1\n".to_owned(),
            format!("o\n18446744073709551616\n{root}\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        let with_extension = Checkpoint::parse(&format!("o\n0\n{root}\nextra\n")).unwrap();
        assert_eq!(with_extension.extensions, vec!["extra".to_owned()]);
    }

    #[test]
    fn signed_checkpoint_and_cosignature_verify() {
        let log = log_signer();
        let witness = witness();
        let checkpoint = Checkpoint::new("example.com/log", 5, [3; 32]).unwrap();
        let note = sign_checkpoint(&checkpoint, &log).unwrap();
        let cosigned = add_cosignature(&note, &witness, 1_679_315_147).unwrap();

        let (parsed, verified) = open_checkpoint(&cosigned, &[log.verifier()]).unwrap();
        assert_eq!(parsed, checkpoint);
        assert_eq!(verified.len(), 1);

        let (_, verified) =
            open_checkpoint(&cosigned, &[log.verifier(), witness.verifier()]).unwrap();
        assert_eq!(verified[1].cosignature_timestamp, Some(1_679_315_147));

        // A witness key given as a log key (type 0x01) has another key ID: it is unknown.
        let wrong_type =
            NoteVerifier::ed25519("witness.example/w1", witness.verifier().key).unwrap();
        assert_eq!(
            open_checkpoint(&cosigned, &[wrong_type]),
            Err(NoteError::NoKnownSignature)
        );
    }

    #[test]
    fn tampering_is_rejected() {
        let log = log_signer();
        let note = sign_checkpoint(&Checkpoint::new("o", 5, [3; 32]).unwrap(), &log).unwrap();
        let tampered = note.replacen('5', "6", 1);
        assert!(matches!(
            open_note(&tampered, &[log.verifier()]),
            Err(NoteError::InvalidSignature { .. })
        ));
        let other = NoteSigner::ed25519("other", SigningKey::from_bytes(&[8; 32])).unwrap();
        assert_eq!(
            open_note(&note, &[other.verifier()]),
            Err(NoteError::NoKnownSignature)
        );
        assert!(open_note(&note.replace('\u{2014}', "-"), &[log.verifier()]).is_err());
        assert!(open_note(note.trim_end(), &[log.verifier()]).is_err());
    }

    #[test]
    fn vkey_round_trips_and_rejects_manglings() {
        for verifier in [log_signer().verifier(), witness().verifier()] {
            let vkey = verifier.to_vkey();
            assert_eq!(NoteVerifier::from_vkey(&vkey).unwrap(), verifier);
            let bytes = vkey.as_bytes();
            for i in 0..bytes.len() {
                let mut mangled = bytes.to_vec();
                mangled[i] = mangled[i].wrapping_add(1);
                if let Ok(mangled) = String::from_utf8(mangled) {
                    assert!(NoteVerifier::from_vkey(&mangled).is_err(), "{mangled}");
                }
            }
        }
    }
}
