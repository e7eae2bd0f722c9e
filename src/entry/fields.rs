//! Reading JSON objects field by field, so every refusal names the exact path.

use super::EntryError;
use serde_json::{Map, Value};

pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    /// `value` must be an object whose keys are all in `allowed`.
    pub fn new(value: &'a Value, path: &str, allowed: &[&str]) -> Result<Self, EntryError> {
        let map = value
            .as_object()
            .ok_or_else(|| EntryError::malformed(path, "must be a JSON object"))?;
        let fields = Self {
            map,
            path: path.to_owned(),
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(EntryError::malformed(fields.at(unknown), "unknown field"));
        }
        Ok(fields)
    }

    pub fn at(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    pub fn value(&self, name: &str) -> Result<&'a Value, EntryError> {
        self.map
            .get(name)
            .ok_or_else(|| EntryError::malformed(self.at(name), "required field is missing"))
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    pub fn str(&self, name: &str) -> Result<&'a str, EntryError> {
        self.value(name)?
            .as_str()
            .ok_or_else(|| EntryError::malformed(self.at(name), "must be a string"))
    }

    /// A required string turned into `T` by `parse`, whose message becomes the error.
    pub fn parse<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, EntryError> {
        parse(self.str(name)?).map_err(|m| EntryError::malformed(self.at(name), m))
    }

    pub fn parse_opt<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, EntryError> {
        if self.has(name) {
            self.parse(name, parse).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn object(&self, name: &str, allowed: &[&str]) -> Result<Fields<'a>, EntryError> {
        Fields::new(self.value(name)?, &self.at(name), allowed)
    }

    pub fn array(&self, name: &str) -> Result<&'a [Value], EntryError> {
        self.value(name)?
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| EntryError::malformed(self.at(name), "must be an array"))
    }
}
