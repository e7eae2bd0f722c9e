//! Reading a submitted body, one signed entry or a batch `{ "entries": [...] }`, with its
//! limits checked while the bytes are read, before anything larger is built: a batch's
//! entries are counted as they come and reading stops past the limit; each entry becomes a
//! JSON tree of bounded depth and size, is handed to the caller and dropped before the next
//! one is read; a key twice in one object is refused (serde_json would keep the last).

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::fmt;

/// The limits a body is read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries in one batch.
    pub max_entries: usize,
    /// Deepest nesting of objects and arrays inside one entry (the entry's object is 1).
    pub max_depth: usize,
    /// Most JSON values (objects, arrays, strings, numbers, booleans, nulls) in one entry.
    pub max_values: usize,
}

impl Limits {
    /// Every entry of the protocol nests at most 4 levels deep; 16 leaves room for new
    /// entry types.
    pub const DEPTH: usize = 16;
    /// A contribution holds about 20 values, one with 64 `builds_on` about 90; the largest
    /// tree an entry can make is then about 1.4 MiB (a one-key object costs the most: about
    /// 350 bytes for its two values).
    pub const VALUES: usize = 4096;

    /// The protocol's depth and size limits with `max_entries` per batch.
    pub fn with_batch(max_entries: usize) -> Self {
        Self {
            max_entries,
            max_depth: Self::DEPTH,
            max_values: Self::VALUES,
        }
    }
}

/// What a body held, each entry as the caller's `read_entry` made it.
#[derive(Debug, PartialEq)]
pub enum Submission<T> {
    Single(T),
    Batch(Vec<T>),
}

/// Why a body was refused as a whole. `path` is the JSON path of the offending value
/// (`entries[3].envelope.body`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is not a JSON object (an entry or a batch): {0}")]
    NotJson(String),
    #[error("a batch holds 1 to {max} entries, this one none")]
    NoEntries { max: usize },
    #[error("a batch holds 1 to {max} entries, this one more")]
    TooManyEntries { max: usize },
    #[error("a batch has the one field `entries`, not `{path}`")]
    WrapperField { path: String },
    #[error("{path}: the key appears twice in one object")]
    DuplicateKey { path: String },
    #[error("{path}: nested deeper than {max} levels in one entry")]
    TooDeep { path: String, max: usize },
    #[error("{path}: an entry holds at most {max} JSON values")]
    TooManyValues { path: String, max: usize },
}

impl BodyError {
    /// The JSON path the refusal names, when it names one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::WrapperField { path }
            | Self::DuplicateKey { path }
            | Self::TooDeep { path, .. }
            | Self::TooManyValues { path, .. } => Some(path),
            Self::NotJson(_) | Self::NoEntries { .. } | Self::TooManyEntries { .. } => None,
        }
    }
}

/// Reads `body` under `limits`, handing each entry's tree to `read_entry` as soon as it is
/// complete.
pub fn read<T>(
    body: &[u8],
    limits: &Limits,
    read_entry: impl FnMut(Value) -> T,
) -> Result<Submission<T>, BodyError> {
    let reader = Reader {
        limits,
        values: Cell::new(0),
        refusal: RefCell::new(None),
    };
    let mut read_entry = read_entry;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let outcome = TopSeed {
        reader: &reader,
        read_entry: &mut read_entry,
    }
    .deserialize(&mut deserializer)
    .and_then(|top| deserializer.end().map(|()| top));
    match (outcome, reader.refusal.into_inner()) {
        (Ok(Top::Single(map)), _) => Ok(Submission::Single(read_entry(Value::Object(map)))),
        (Ok(Top::Batch(entries)), _) => Ok(Submission::Batch(entries)),
        (Err(_), Some((refusal, segments))) => Err(refusal.at(path_of(segments), limits)),
        (Err(error), None) => Err(BodyError::NotJson(error.to_string())),
    }
}

/// A refusal found while reading, before the path to it is known.
#[derive(Debug)]
enum Refusal {
    Body(BodyError),
    DuplicateKey,
    WrapperField,
    TooDeep,
    TooManyValues,
}

impl Refusal {
    fn at(self, path: String, limits: &Limits) -> BodyError {
        match self {
            Self::Body(error) => error,
            Self::DuplicateKey => BodyError::DuplicateKey { path },
            Self::WrapperField => BodyError::WrapperField { path },
            Self::TooDeep => BodyError::TooDeep {
                path,
                max: limits.max_depth,
            },
            Self::TooManyValues => BodyError::TooManyValues {
                path,
                max: limits.max_values,
            },
        }
    }
}

/// `["body", "[3]", "entries"]` (innermost first, as collected while unwinding) as
/// `entries[3].body`.
fn path_of(segments: Vec<String>) -> String {
    let mut path = String::new();
    for segment in segments.into_iter().rev() {
        if !path.is_empty() && !segment.starts_with('[') {
            path.push('.');
        }
        path.push_str(&segment);
    }
    path
}

/// A key as a path segment: a hostile key can be megabytes, a refusal quotes 64 characters.
fn key_segment(key: &str) -> String {
    const SHOWN: usize = 64;
    match key.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &key[..end]),
        None => key.to_owned(),
    }
}

/// The state of one read: the current entry's value count, and the refusal that stopped it
/// with the path segments collected while the nested readers return.
struct Reader<'l> {
    limits: &'l Limits,
    values: Cell<usize>,
    refusal: RefCell<Option<(Refusal, Vec<String>)>>,
}

impl Reader<'_> {
    /// Records `refusal` at `segment` (relative to the current object) and stops the read.
    fn refuse<E: de::Error>(&self, refusal: Refusal, segment: Option<String>) -> E {
        *self.refusal.borrow_mut() = Some((refusal, segment.into_iter().collect()));
        E::custom("refused by the body's limits")
    }

    /// Adds `segment` to the path of a refusal coming back from inside it.
    fn within<E>(&self, segment: impl FnOnce() -> String, error: E) -> E {
        if let Some((_, segments)) = self.refusal.borrow_mut().as_mut() {
            segments.push(segment());
        }
        error
    }

    /// Counts one value of the current entry.
    fn count<E: de::Error>(&self) -> Result<(), E> {
        let values = self.values.get() + 1;
        self.values.set(values);
        if values > self.limits.max_values {
            return Err(self.refuse(Refusal::TooManyValues, None));
        }
        Ok(())
    }
}

/// The body's top level: the keys of one entry, or a batch.
enum Top<T> {
    Single(Map<String, Value>),
    Batch(Vec<T>),
}

struct TopSeed<'r, 'l, F> {
    reader: &'r Reader<'l>,
    read_entry: &'r mut F,
}

impl<'de, T, F: FnMut(Value) -> T> DeserializeSeed<'de> for TopSeed<'_, '_, F> {
    type Value = Top<T>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Top<T>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T, F: FnMut(Value) -> T> Visitor<'de> for TopSeed<'_, '_, F> {
    type Value = Top<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an entry or a batch")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Top<T>, A::Error> {
        let reader = self.reader;
        let mut single = Map::new();
        let mut batch = None;
        reader.count::<A::Error>()?;
        while let Some(key) = access.next_key::<String>()? {
            if key == "entries" {
                if batch.is_some() {
                    return Err(reader.refuse(Refusal::DuplicateKey, Some(key)));
                }
                if let Some(other) = single.keys().next() {
                    return Err(reader.refuse(Refusal::WrapperField, Some(key_segment(other))));
                }
                let entries = EntriesSeed {
                    reader,
                    read_entry: &mut *self.read_entry,
                };
                batch = Some(
                    access
                        .next_value_seed(entries)
                        .map_err(|e| reader.within(|| key.clone(), e))?,
                );
            } else if batch.is_some() {
                return Err(reader.refuse(Refusal::WrapperField, Some(key_segment(&key))));
            } else {
                let value = access
                    .next_value_seed(Tree { reader, depth: 2 })
                    .map_err(|e| reader.within(|| key_segment(&key), e))?;
                insert_once::<A::Error>(reader, &mut single, key, value)?;
            }
        }
        Ok(batch.map_or(Top::Single(single), Top::Batch))
    }
}

/// Inserts `key`, refusing a key the object has already.
fn insert_once<E: de::Error>(
    reader: &Reader<'_>,
    map: &mut Map<String, Value>,
    key: String,
    value: Value,
) -> Result<(), E> {
    match map.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert(value);
            Ok(())
        }
        Entry::Occupied(slot) => {
            Err(reader.refuse(Refusal::DuplicateKey, Some(key_segment(slot.key()))))
        }
    }
}

/// The array of a batch: each entry read as a tree, handed over, dropped.
struct EntriesSeed<'r, 'l, F> {
    reader: &'r Reader<'l>,
    read_entry: &'r mut F,
}

impl<'de, T, F: FnMut(Value) -> T> DeserializeSeed<'de> for EntriesSeed<'_, '_, F> {
    type Value = Vec<T>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T, F: FnMut(Value) -> T> Visitor<'de> for EntriesSeed<'_, '_, F> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`entries`, an array of entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Vec<T>, A::Error> {
        let (reader, max) = (self.reader, self.reader.limits.max_entries);
        let mut entries = Vec::new();
        loop {
            if entries.len() == max {
                // One more element, skipped without building it, is one too many.
                return match access.next_element::<IgnoredAny>()? {
                    Some(_) => {
                        Err(reader.refuse(Refusal::Body(BodyError::TooManyEntries { max }), None))
                    }
                    None => Ok(entries),
                };
            }
            reader.values.set(0);
            let index = entries.len();
            let tree = access
                .next_element_seed(Tree { reader, depth: 1 })
                .map_err(|e| reader.within(|| format!("[{index}]"), e))?;
            match tree {
                Some(tree) => entries.push((self.read_entry)(tree)),
                None if entries.is_empty() => {
                    return Err(reader.refuse(Refusal::Body(BodyError::NoEntries { max }), None));
                }
                None => return Ok(entries),
            }
        }
    }
}

/// One JSON value at `depth` (an entry's object is 1), built as serde_json's own `Value`
/// is, but counted, depth-checked and refusing duplicate keys.
#[derive(Clone, Copy)]
struct Tree<'r, 'l> {
    reader: &'r Reader<'l>,
    depth: usize,
}

impl Tree<'_, '_> {
    fn scalar<E: de::Error>(self, value: Value) -> Result<Value, E> {
        self.reader.count::<E>()?;
        Ok(value)
    }

    /// Counts a container and checks its depth; its children are one level deeper.
    fn open<E: de::Error>(self) -> Result<Self, E> {
        self.reader.count::<E>()?;
        if self.depth > self.reader.limits.max_depth {
            return Err(self.reader.refuse(Refusal::TooDeep, None));
        }
        Ok(Self {
            depth: self.depth + 1,
            ..self
        })
    }
}

impl<'de> DeserializeSeed<'de> for Tree<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tree<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        self.scalar(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        self.scalar(Value::from(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        self.scalar(Value::from(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        self.scalar(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        self.scalar(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        self.scalar(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.scalar(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.scalar(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.open::<A::Error>()?;
        let mut items = Vec::new();
        loop {
            let index = items.len();
            let item = access
                .next_element_seed(inner)
                .map_err(|e| self.reader.within(|| format!("[{index}]"), e))?;
            match item {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.open::<A::Error>()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access
                .next_value_seed(inner)
                .map_err(|e| self.reader.within(|| key_segment(&key), e))?;
            insert_once::<A::Error>(self.reader, &mut map, key, value)?;
        }
        Ok(Value::Object(map))
    }
}
