//! Endpoint parameters, checked the way Misskey's Ajv schemas check them, so that
//! `INVALID_PARAM` carries the same `info.param` (schema path) and `info.reason`.
//!
//! Only the first failure is reported, as in Misskey. Unknown keys are ignored.

use std::collections::HashSet;

use missive_core::event::EventType;
use missive_core::id::is_misskey_id;
use serde_json::{Map, Value};

use crate::api::error::ApiError;

/// The most ids a list parameter takes where Misskey sets no `maxItems` (`users/show`'s
/// `userIds`, `notes/create`'s `visibleUserIds`): enough for any client, and a bound on the
/// work one request can ask for.
pub const MAX_USER_IDS: usize = 100;

/// The most entries of a webhook's `on` list: Misskey sets no bound and allows repeats;
/// this allows every event type four times over.
pub const MAX_WEBHOOK_EVENTS: usize = 32;

/// The JSON object a client sent, minus nothing: `i` stays and is ignored like any unknown key.
#[derive(Debug, Clone, Default)]
pub struct Params {
    body: Map<String, Value>,
    /// The schema path prefix: `#` for top-level properties, `#/then` inside a conditional,
    /// `#/properties/<key>` inside a nested object.
    prefix: String,
}

/// A length or count range.
#[derive(Debug, Clone, Copy)]
pub struct Len {
    pub min: usize,
    pub max: usize,
}

impl Len {
    pub const fn new(min: usize, max: usize) -> Len {
        Len { min, max }
    }
}

impl Params {
    pub fn new(body: Map<String, Value>) -> Params {
        Params {
            body,
            prefix: "#".to_owned(),
        }
    }

    /// The same parameters checked against a nested schema such as `then`.
    pub fn within(&self, prefix: &str) -> Params {
        Params {
            body: self.body.clone(),
            prefix: prefix.to_owned(),
        }
    }

    /// The raw value, with JSON `null` as `Some(Value::Null)`.
    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.body.get(key)
    }

    /// Whether the key is absent or `null`.
    pub fn is_missing(&self, key: &str) -> bool {
        self.body.get(key).is_none_or(Value::is_null)
    }

    pub fn require(&self, key: &str) -> Result<(), ApiError> {
        if self.body.contains_key(key) {
            return Ok(());
        }
        Err(ApiError::invalid_param(
            &format!("{}/required", self.prefix),
            &format!("must have required property '{key}'"),
        ))
    }

    fn fail(&self, key: &str, keyword: &str, reason: &str) -> ApiError {
        ApiError::invalid_param(
            &format!("{}/properties/{key}/{keyword}", self.prefix),
            reason,
        )
    }

    /// A string of `len` characters; `None` if absent, or if `null` and `nullable`.
    pub fn string(&self, key: &str, len: Len, nullable: bool) -> Result<Option<String>, ApiError> {
        match self.body.get(key) {
            None => Ok(None),
            Some(Value::Null) if nullable => Ok(None),
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if n < len.min {
                    return Err(self.fail(
                        key,
                        "minLength",
                        &format!("must NOT have fewer than {} characters", len.min),
                    ));
                }
                if n > len.max {
                    return Err(self.fail(
                        key,
                        "maxLength",
                        &format!("must NOT have more than {} characters", len.max),
                    ));
                }
                Ok(Some(s.clone()))
            }
            Some(_) => Err(self.fail(key, "type", "must be string")),
        }
    }

    /// A string with at least one non-whitespace character (Misskey's `[^\s]+` pattern).
    pub fn non_blank_string(
        &self,
        key: &str,
        len: Len,
        nullable: bool,
    ) -> Result<Option<String>, ApiError> {
        let value = self.string(key, len, nullable)?;
        if let Some(s) = &value
            && s.chars().all(is_js_whitespace)
        {
            return Err(self.fail(key, "pattern", "must match pattern \"[^\\s]+\""));
        }
        Ok(value)
    }

    /// A username: 1 to 20 word characters (Misskey's `^\w{1,20}$`).
    pub fn username(&self, key: &str) -> Result<Option<String>, ApiError> {
        let value = self.string(key, Len::new(1, 20), false)?;
        if let Some(s) = &value
            && !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(self.fail(key, "pattern", "must match pattern \"^\\w{1,20}$\""));
        }
        Ok(value)
    }

    /// An absolute http(s) URL of 1 to 1024 characters (Misskey checks nothing; missive
    /// refuses what could never be delivered).
    pub fn url(&self, key: &str) -> Result<Option<String>, ApiError> {
        let Some(url) = self.string(key, Len::new(1, 1024), false)? else {
            return Ok(None);
        };
        match url::Url::parse(&url) {
            Ok(parsed)
                if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some() =>
            {
                Ok(Some(url))
            }
            _ => Err(self.fail(key, "format", "must be an absolute http or https URL")),
        }
    }

    /// A `misskey:id` (`^[a-zA-Z0-9]+$`).
    pub fn id(&self, key: &str, nullable: bool) -> Result<Option<String>, ApiError> {
        let value = self.string(key, Len::new(0, usize::MAX), nullable)?;
        if let Some(s) = &value
            && !is_misskey_id(s)
        {
            return Err(self.fail(key, "format", "must match format \"misskey:id\""));
        }
        Ok(value)
    }

    /// A required `misskey:id`.
    pub fn required_id(&self, key: &str) -> Result<String, ApiError> {
        self.require(key)?;
        self.id(key, false)?
            .ok_or_else(|| self.fail(key, "type", "must be string"))
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.body.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.fail(key, "type", "must be boolean")),
        }
    }

    /// An integer in `min..=max`.
    pub fn integer(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.body.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let Some(v) = n
                    .as_i64()
                    .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                else {
                    return Err(self.fail(key, "type", "must be integer"));
                };
                if v < min {
                    return Err(self.fail(key, "minimum", &format!("must be >= {min}")));
                }
                if v > max {
                    return Err(self.fail(key, "maximum", &format!("must be <= {max}")));
                }
                Ok(Some(v))
            }
            Some(_) => Err(self.fail(key, "type", "must be integer")),
        }
    }

    /// One of `allowed`; `None` if absent, or if `null` and `nullable`.
    pub fn one_of(
        &self,
        key: &str,
        allowed: &[&str],
        nullable: bool,
    ) -> Result<Option<String>, ApiError> {
        match self.body.get(key) {
            None => Ok(None),
            Some(Value::Null) if nullable => Ok(None),
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
            // Ajv checks the type before the allowed values.
            Some(Value::String(_)) => {
                Err(self.fail(key, "enum", "must be equal to one of the allowed values"))
            }
            Some(_) => Err(self.fail(key, "type", "must be string")),
        }
    }

    /// An array of `misskey:id`s, unique if `unique`.
    pub fn id_list(
        &self,
        key: &str,
        count: Len,
        unique: bool,
    ) -> Result<Option<Vec<String>>, ApiError> {
        let Some(items) = self.array(key, count)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(s) if is_misskey_id(s) => out.push(s.clone()),
                Value::String(_) => {
                    return Err(self.fail(key, "items/format", "must match format \"misskey:id\""));
                }
                _ => return Err(self.fail(key, "items/type", "must be string")),
            }
        }
        if unique {
            let mut seen = HashSet::new();
            if let Some((j, _)) = out
                .iter()
                .enumerate()
                .find(|(_, s)| !seen.insert(s.as_str()))
            {
                let i = out.iter().position(|s| *s == out[j]).unwrap_or(0);
                return Err(self.fail(
                    key,
                    "uniqueItems",
                    &format!("must NOT have duplicate items (items ## {j} and {i} are identical)"),
                ));
            }
        }
        Ok(Some(out))
    }

    /// An array of webhook event types (duplicates allowed, as in Misskey).
    pub fn event_list(&self, key: &str) -> Result<Option<Vec<EventType>>, ApiError> {
        let Some(items) = self.array(key, Len::new(0, MAX_WEBHOOK_EVENTS))? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.parse::<EventType>().map_err(|_| {
                    self.fail(
                        key,
                        "items/enum",
                        "must be equal to one of the allowed values",
                    )
                }),
                _ => Err(self.fail(key, "items/type", "must be string")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A nested object, checked with its own schema path.
    pub fn object(&self, key: &str) -> Result<Option<Params>, ApiError> {
        match self.body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Params {
                body: map.clone(),
                prefix: format!("{}/properties/{key}", self.prefix),
            })),
            Some(_) => Err(self.fail(key, "type", "must be object")),
        }
    }

    /// No array parameter of Misskey's is nullable: `null` is a type error.
    fn array(&self, key: &str, count: Len) -> Result<Option<&Vec<Value>>, ApiError> {
        match self.body.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                if items.len() < count.min {
                    return Err(self.fail(
                        key,
                        "minItems",
                        &format!("must NOT have fewer than {} items", count.min),
                    ));
                }
                if items.len() > count.max {
                    return Err(self.fail(
                        key,
                        "maxItems",
                        &format!("must NOT have more than {} items", count.max),
                    ));
                }
                Ok(Some(items))
            }
            Some(_) => Err(self.fail(key, "type", "must be array")),
        }
    }
}

/// JavaScript's `\s` (and what `String.prototype.trim` removes): Misskey's patterns and
/// trimming use it, and it differs from Rust's `char::is_whitespace` (U+FEFF, U+0085).
pub fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params(v: Value) -> Params {
        let Value::Object(map) = v else {
            panic!("object")
        };
        Params::new(map)
    }

    fn info(e: ApiError) -> (String, String) {
        let info = e.info.unwrap();
        (
            info["param"].as_str().unwrap().to_owned(),
            info["reason"].as_str().unwrap().to_owned(),
        )
    }

    #[test]
    fn reports_like_ajv() {
        let p = params(json!({}));
        assert_eq!(
            info(p.required_id("userId").unwrap_err()),
            (
                "#/required".into(),
                "must have required property 'userId'".into()
            )
        );
        let p = params(json!({"userId": "foo-bar"}));
        assert_eq!(
            info(p.required_id("userId").unwrap_err()),
            (
                "#/properties/userId/format".into(),
                "must match format \"misskey:id\"".into()
            )
        );
        let p = params(json!({"text": "   "})).within("#/then");
        assert_eq!(
            info(
                p.non_blank_string("text", Len::new(1, 3000), true)
                    .unwrap_err()
            ),
            (
                "#/then/properties/text/pattern".into(),
                "must match pattern \"[^\\s]+\"".into()
            )
        );
        let p = params(json!({"text": ""})).within("#/then");
        assert_eq!(
            info(p.string("text", Len::new(1, 3000), true).unwrap_err()).0,
            "#/then/properties/text/minLength"
        );
        let p = params(json!({"text": true}));
        assert_eq!(
            info(p.string("text", Len::new(1, 3000), true).unwrap_err()),
            ("#/properties/text/type".into(), "must be string".into())
        );
        let p = params(json!({"visibility": "direct"}));
        assert_eq!(
            info(p.one_of("visibility", &["public"], false).unwrap_err()).0,
            "#/properties/visibility/enum"
        );
        let p = params(json!({"on": ["note", "reactions"]}));
        assert_eq!(
            info(p.event_list("on").unwrap_err()).0,
            "#/properties/on/items/enum"
        );
        let p = params(json!({"ids": ["a", "b", "a"]}));
        assert_eq!(
            info(p.id_list("ids", Len::new(0, 10), true).unwrap_err()).0,
            "#/properties/ids/uniqueItems"
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let p = params(json!({"name": "あ".repeat(100)}));
        assert!(p.string("name", Len::new(1, 100), false).is_ok());
        let p = params(json!({"name": "あ".repeat(101)}));
        assert!(p.string("name", Len::new(1, 100), false).is_err());
    }
}
