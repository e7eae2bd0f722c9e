//! Signed requests: fairshare's profile of HTTP Message Signatures (RFC 9421) with
//! Content-Digest (RFC 9530), as docs/PROTOCOL.md ("Signed requests") specifies byte for
//! byte. Pure: the caller supplies the method, the target URI, the body, the clock and the
//! nonce; the structured fields (RFC 9651) are parsed and written by `sfv`.
//!
//! One signature per request, labelled [`LABEL`], covering `@method`, `@target-uri` and,
//! when the request has a body, `content-digest`; its parameters are `created`, `nonce`,
//! `keyid` (`<actor id>/<key id>`) and `tag` ([`TAG`]), in that order; the algorithm is
//! ed25519, fixed by the profile (no `alg` parameter: the key decides, RFC 9421 §7.3.6).

use super::{CryptoError, PublicKey, SecretKey, Signature, b64_encode};
use sfv::{BareItem, Dictionary, InnerList, Item, KeyRef, ListEntry, Parameters, Parser};
use sha2::Digest;

/// The signature's label in `Signature-Input` and `Signature`.
pub const LABEL: &str = "fairshare";
/// The `tag` parameter: names the profile, so a signature made for another application
/// never verifies here.
pub const TAG: &str = "fairshare/request/v1";
/// The components covered by a request without a body, in order.
pub const COMPONENTS: [&str; 2] = ["@method", "@target-uri"];
/// The component added, last, when the request has a body.
pub const CONTENT_DIGEST: &str = "content-digest";
/// Nonces: 16 to 128 characters of the base64 and base64url alphabets (16 random bytes in
/// base64 are 24 characters).
const NONCE_LENGTHS: std::ops::RangeInclusive<usize> = 16..=128;

/// What a request's signature covers, as the server sees the request.
#[derive(Debug, Clone, Copy)]
pub struct Covered<'a> {
    pub method: &'a str,
    /// `scheme://authority/path?query`, as RFC 9421 §2.2.2 defines `@target-uri`.
    pub target_uri: &'a str,
    /// The request's body; empty when it has none.
    pub body: &'a [u8],
}

/// The signature's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    /// Unix time, in seconds, at which the client signed.
    pub created: i64,
    pub nonce: String,
    /// The signing actor's id.
    pub actor: String,
    /// The signing key's id (16 lowercase hex characters).
    pub key: String,
}

impl SignatureParams {
    fn keyid(&self) -> String {
        format!("{}/{}", self.actor, self.key)
    }
}

/// The three fields a client adds to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFields {
    pub signature_input: String,
    pub signature: String,
    /// Present when the request has a body.
    pub content_digest: Option<String>,
}

/// A signature read from a request's fields, not yet verified.
#[derive(Debug, Clone)]
pub struct ReceivedSignature {
    pub params: SignatureParams,
    /// Whether `content-digest` is covered (it must be exactly when there is a body).
    covers_digest: bool,
    /// The `@signature-params` value: the inner list as received, serialized again.
    params_line: String,
    signature: Signature,
}

fn refuse(message: impl Into<String>) -> CryptoError {
    CryptoError::Request(message.into())
}

/// `sha-256=:<base64 of SHA-256(body)>:`, the Content-Digest field a signer sends.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", b64_encode(&sha2::Sha256::digest(body)))
}

/// Checks a received Content-Digest field against the body: every `sha-256` and `sha-512`
/// member must match, at least one must be present; other algorithms are ignored.
pub fn check_content_digest(field: &str, body: &[u8]) -> Result<(), CryptoError> {
    let members: Dictionary = Parser::new(field).parse().map_err(|e| {
        refuse(format!(
            "Content-Digest is not a structured dictionary: {e}"
        ))
    })?;
    let mut checked = 0;
    for (algorithm, member) in &members {
        let expected: Vec<u8> = match algorithm.as_str() {
            "sha-256" => sha2::Sha256::digest(body).to_vec(),
            "sha-512" => sha2::Sha512::digest(body).to_vec(),
            _ => continue,
        };
        let ListEntry::Item(Item {
            bare_item: BareItem::ByteSequence(received),
            ..
        }) = member
        else {
            return Err(refuse(format!(
                "Content-Digest {} is not a byte sequence",
                algorithm.as_str()
            )));
        };
        if *received != expected {
            return Err(refuse(format!(
                "the body does not match its Content-Digest {}",
                algorithm.as_str()
            )));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(refuse("Content-Digest has no sha-256 or sha-512 member"));
    }
    Ok(())
}

/// The signature base (RFC 9421 §2.5): one line per covered component, then the
/// `@signature-params` line, joined by LF without a final LF.
fn signature_base(covered: &Covered<'_>, digest: Option<&str>, params_line: &str) -> String {
    let mut base = format!(
        "\"@method\": {}\n\"@target-uri\": {}\n",
        covered.method, covered.target_uri
    );
    if let Some(digest) = digest {
        base.push_str(&format!("\"{CONTENT_DIGEST}\": {digest}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params_line}"));
    base
}

fn key(name: &str) -> Result<&KeyRef, CryptoError> {
    KeyRef::from_str(name).map_err(|e| refuse(format!("{name}: {e}")))
}

fn string(value: &str, what: &str) -> Result<BareItem, CryptoError> {
    sfv::String::from_string(value.to_owned())
        .map(BareItem::String)
        .map_err(|(e, _)| refuse(format!("{what} is not a structured-field string: {e}")))
}

/// The inner list of the profile: its covered components and parameters.
fn inner_list(params: &SignatureParams, covers_digest: bool) -> Result<InnerList, CryptoError> {
    let mut components: Vec<&str> = COMPONENTS.to_vec();
    if covers_digest {
        components.push(CONTENT_DIGEST);
    }
    let items = components
        .iter()
        .map(|c| string(c, "a component").map(Item::new))
        .collect::<Result<Vec<_>, _>>()?;
    let mut list_params = Parameters::new();
    list_params.insert(
        key("created")?.to_owned(),
        BareItem::Integer(
            params
                .created
                .try_into()
                .map_err(|e| refuse(format!("created: {e}")))?,
        ),
    );
    list_params.insert(key("nonce")?.to_owned(), string(&params.nonce, "nonce")?);
    list_params.insert(key("keyid")?.to_owned(), string(&params.keyid(), "keyid")?);
    list_params.insert(key("tag")?.to_owned(), string(TAG, "tag")?);
    Ok(InnerList::with_params(items, list_params))
}

/// `label=<value>` as a one-member dictionary field.
fn dictionary_field(entry: ListEntry) -> Result<String, CryptoError> {
    let mut dictionary = Dictionary::new();
    dictionary.insert(key(LABEL)?.to_owned(), entry);
    let mut serializer = sfv::DictSerializer::new();
    serializer.members(&dictionary);
    serializer
        .finish()
        .ok_or_else(|| refuse("an empty dictionary has no serialization"))
}

/// The inner list serialized alone, which is the `@signature-params` value.
fn params_line(list: &InnerList) -> Result<String, CryptoError> {
    let mut serializer = sfv::ListSerializer::new();
    serializer.members([&ListEntry::InnerList(list.clone())]);
    serializer
        .finish()
        .ok_or_else(|| refuse("an empty list has no serialization"))
}

/// Signs a request: the fields to add to it. The nonce must be fresh for every request
/// (16 random bytes in base64 will do).
pub fn sign(
    secret: &SecretKey,
    actor: &str,
    covered: &Covered<'_>,
    created: i64,
    nonce: &str,
) -> Result<SignedFields, CryptoError> {
    check_nonce(nonce)?;
    let params = SignatureParams {
        created,
        nonce: nonce.to_owned(),
        actor: actor.to_owned(),
        key: secret.public_key().key_id().to_string(),
    };
    let has_body = !covered.body.is_empty();
    let digest = has_body.then(|| content_digest(covered.body));
    let list = inner_list(&params, has_body)?;
    let line = params_line(&list)?;
    let base = signature_base(covered, digest.as_deref(), &line);
    let signature = secret.sign(base.as_bytes());
    let signature_field = dictionary_field(ListEntry::Item(Item::new(BareItem::ByteSequence(
        signature.to_bytes().to_vec(),
    ))))?;
    Ok(SignedFields {
        signature_input: dictionary_field(ListEntry::InnerList(list))?,
        signature: signature_field,
        content_digest: digest,
    })
}

fn check_nonce(nonce: &str) -> Result<(), CryptoError> {
    let alphabet =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_');
    if NONCE_LENGTHS.contains(&nonce.len()) && nonce.bytes().all(alphabet) {
        Ok(())
    } else {
        Err(refuse(
            "the nonce must be 16 to 128 characters of A-Z a-z 0-9 + / = - _",
        ))
    }
}

/// The member labelled [`LABEL`] of a dictionary field; other members (another party's
/// signatures) are ignored.
fn labelled(field: &str, name: &str) -> Result<ListEntry, CryptoError> {
    let dictionary: Dictionary = Parser::new(field)
        .parse()
        .map_err(|e| refuse(format!("{name} is not a structured dictionary: {e}")))?;
    dictionary
        .get(LABEL)
        .cloned()
        .ok_or_else(|| refuse(format!("{name} has no member labelled {LABEL:?}")))
}

/// Reads the `Signature-Input` and `Signature` fields: the profile's components in its
/// order, its four parameters and nothing else.
pub fn parse(signature_input: &str, signature: &str) -> Result<ReceivedSignature, CryptoError> {
    let ListEntry::InnerList(list) = labelled(signature_input, "Signature-Input")? else {
        return Err(refuse("Signature-Input's member is not an inner list"));
    };
    let components: Vec<&str> = list
        .items
        .iter()
        .map(|item| match (&item.bare_item, item.params.is_empty()) {
            (BareItem::String(s), true) => Ok(s.as_str()),
            _ => Err(refuse("a covered component is not a plain string")),
        })
        .collect::<Result<_, _>>()?;
    let covers_digest = match components.as_slice() {
        [method, uri] if [*method, *uri] == COMPONENTS => false,
        [method, uri, digest] if [*method, *uri] == COMPONENTS && *digest == CONTENT_DIGEST => true,
        _ => {
            return Err(refuse(format!(
                "the covered components must be (\"@method\" \"@target-uri\"), with \
                 \"{CONTENT_DIGEST}\" last when there is a body; got {components:?}"
            )));
        }
    };
    let params = signature_params(&list.params)?;
    let ListEntry::Item(Item {
        bare_item: BareItem::ByteSequence(bytes),
        ..
    }) = labelled(signature, "Signature")?
    else {
        return Err(refuse("Signature's member is not a byte sequence"));
    };
    Ok(ReceivedSignature {
        params,
        covers_digest,
        params_line: params_line(&list)?,
        signature: Signature::from_bytes(&bytes)?,
    })
}

/// The parameters, which must be exactly `created`, `nonce`, `keyid` and `tag`, in order.
fn signature_params(params: &Parameters) -> Result<SignatureParams, CryptoError> {
    let names: Vec<&str> = params.keys().map(|k| k.as_str()).collect();
    if names != ["created", "nonce", "keyid", "tag"] {
        return Err(refuse(format!(
            "the signature parameters must be created, nonce, keyid and tag in that order; got {names:?}"
        )));
    }
    let text = |name: &str| match params.get(name) {
        Some(BareItem::String(s)) => Ok(s.as_str().to_owned()),
        _ => Err(refuse(format!("the parameter {name} is not a string"))),
    };
    let created = match params.get("created") {
        Some(BareItem::Integer(n)) => i64::from(*n),
        _ => return Err(refuse("the parameter created is not an integer")),
    };
    if text("tag")? != TAG {
        return Err(refuse(format!("the tag must be {TAG:?}")));
    }
    let nonce = text("nonce")?;
    check_nonce(&nonce)?;
    let keyid = text("keyid")?;
    let (actor, key) = keyid
        .split_once('/')
        .ok_or_else(|| refuse("keyid is not <actor id>/<key id>"))?;
    Ok(SignatureParams {
        created,
        nonce,
        actor: actor.to_owned(),
        key: key.to_owned(),
    })
}

impl ReceivedSignature {
    /// Verifies the signature over the request as received with the signer's public key;
    /// `content_digest` is the request's Content-Digest field, checked against the body.
    pub fn verify(
        &self,
        covered: &Covered<'_>,
        content_digest: Option<&str>,
        public_key: &PublicKey,
    ) -> Result<(), CryptoError> {
        let has_body = !covered.body.is_empty();
        if self.covers_digest != has_body {
            return Err(refuse(if has_body {
                "a request with a body must cover content-digest"
            } else {
                "a request without a body must not cover content-digest"
            }));
        }
        let digest = match (has_body, content_digest) {
            (false, _) => None,
            (true, None) => return Err(refuse("a request with a body needs Content-Digest")),
            (true, Some(field)) => {
                check_content_digest(field, covered.body)?;
                Some(field)
            }
        };
        let base = signature_base(covered, digest, &self.params_line);
        public_key
            .verify(base.as_bytes(), &self.signature)
            .map_err(|_| refuse("the request signature does not verify"))
    }

    /// The signature base the signer signed, for the test vectors.
    pub fn signature_base(&self, covered: &Covered<'_>, content_digest: Option<&str>) -> String {
        signature_base(covered, content_digest, &self.params_line)
    }
}
