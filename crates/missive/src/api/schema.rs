//! Declarative endpoint parameters: one `Schema` per endpoint, the single source of truth
//! for both the validation (`Schema::check`, through `Params`' Ajv-compatible checks) and
//! the OpenAPI request schema (`Schema::to_json`).
//!
//! A schema is checked in Ajv's order: the `if`/`then` conditional, then `required` (in
//! the listed order), then the properties (in the listed order), then `anyOf`; the first
//! failure is reported.

use missive_core::event::EventType;
use serde_json::{Map, Value, json};

use crate::api::error::ApiError;
use crate::api::params::{Len, MAX_USER_IDS, MAX_WEBHOOK_EVENTS, Params};

/// What one property holds.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string of `Len` characters.
    Str(Len),
    /// A string of `Len` characters with a non-space character (Misskey's `[^\s]+`).
    NonBlankStr(Len),
    /// A string of 1 to 20 word characters (Misskey's username pattern `^\w{1,20}$`).
    Username,
    /// A `misskey:id`.
    Id,
    Bool,
    /// An integer in `min..=max`, `default` when absent.
    Int {
        min: i64,
        max: i64,
        default: i64,
    },
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// An array of `misskey:id`s.
    IdList {
        count: Len,
        unique: bool,
    },
    /// An array of webhook event types (duplicates allowed, as in Misskey).
    EventList,
    /// An absolute http(s) URL of 1 to 1024 characters.
    Url,
    /// A nested object with its own schema.
    Object(&'static Schema),
}

/// One property of a schema.
#[derive(Debug, Clone, Copy)]
pub struct Prop {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
}

impl Prop {
    pub const fn new(name: &'static str, kind: Kind) -> Prop {
        Prop {
            name,
            kind,
            nullable: false,
        }
    }

    pub const fn nullable(self) -> Prop {
        Prop {
            nullable: true,
            ..self
        }
    }
}

/// Misskey's `if`/`then`: unless one of `unless_given` is given (present and not `null`),
/// the body must also satisfy `then`.
#[derive(Debug, Clone, Copy)]
pub struct Conditional {
    pub unless_given: &'static [&'static str],
    pub then: &'static Schema,
}

/// An object schema.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub props: &'static [Prop],
    pub required: &'static [&'static str],
    /// Misskey's `anyOf: [{required: [a]}, {required: [b]}, …]`: one of these keys is present.
    pub any_of: &'static [&'static str],
    pub conditional: Option<Conditional>,
}

impl Schema {
    /// A schema with no properties: the endpoint takes no parameters.
    pub const EMPTY: Schema = Schema::new(&[]);

    pub const fn new(props: &'static [Prop]) -> Schema {
        Schema {
            props,
            required: &[],
            any_of: &[],
            conditional: None,
        }
    }

    pub const fn required(self, required: &'static [&'static str]) -> Schema {
        Schema { required, ..self }
    }

    pub const fn any_of(self, any_of: &'static [&'static str]) -> Schema {
        Schema { any_of, ..self }
    }

    pub const fn conditional(self, conditional: Conditional) -> Schema {
        Schema {
            conditional: Some(conditional),
            ..self
        }
    }

    /// Checks the parameters; the answer holds the checked values of the known keys.
    pub fn check(&self, p: &Params) -> Result<Checked, ApiError> {
        if let Some(c) = &self.conditional
            && c.unless_given.iter().all(|key| p.is_missing(key))
        {
            c.then.check(&p.within("#/then"))?;
        }
        for key in self.required {
            p.require(key)?;
        }
        let mut values = Map::new();
        for prop in self.props {
            if let Some(value) = check_prop(p, prop)? {
                values.insert(prop.name.to_owned(), value);
            }
        }
        if !self.any_of.is_empty() && self.any_of.iter().all(|key| p.raw(key).is_none()) {
            return Err(ApiError::invalid_param(
                "#/anyOf/0/required",
                &format!("must have required property '{}'", self.any_of[0]),
            ));
        }
        Ok(Checked { values })
    }

    /// The schema as JSON Schema (draft 2020-12, as OpenAPI 3.1 uses).
    pub fn to_json(&self) -> Value {
        let mut properties = Map::new();
        for prop in self.props {
            properties.insert(prop.name.to_owned(), prop_json(prop));
        }
        let mut schema = json!({ "type": "object", "properties": properties });
        if !self.required.is_empty() {
            schema["required"] = json!(self.required);
        }
        if !self.any_of.is_empty() {
            let alternatives: Vec<Value> = self
                .any_of
                .iter()
                .map(|key| json!({ "required": [key] }))
                .collect();
            schema["anyOf"] = json!(alternatives);
        }
        if let Some(c) = &self.conditional {
            let nothing: Map<String, Value> = c
                .unless_given
                .iter()
                .map(|key| ((*key).to_owned(), json!({ "type": "null" })))
                .collect();
            schema["if"] = json!({ "properties": nothing });
            schema["then"] = c.then.to_json();
        }
        schema
    }
}

fn check_prop(p: &Params, prop: &Prop) -> Result<Option<Value>, ApiError> {
    let Prop {
        name,
        kind,
        nullable,
    } = *prop;
    let value = match kind {
        Kind::Str(len) => p.string(name, len, nullable)?.map(Value::String),
        Kind::NonBlankStr(len) => p.non_blank_string(name, len, nullable)?.map(Value::String),
        Kind::Username => p.username(name)?.map(Value::String),
        Kind::Id => p.id(name, nullable)?.map(Value::String),
        Kind::Bool => p.boolean(name)?.map(Value::Bool),
        Kind::Int { min, max, default } => {
            Some(json!(p.integer(name, min, max)?.unwrap_or(default)))
        }
        Kind::Enum(allowed) => p.one_of(name, allowed, nullable)?.map(Value::String),
        Kind::IdList { count, unique } => p.id_list(name, count, unique)?.map(|ids| json!(ids)),
        Kind::EventList => p
            .event_list(name)?
            .map(|events| json!(events.iter().map(|e| e.as_str()).collect::<Vec<_>>())),
        Kind::Url => p.url(name)?.map(Value::String),
        Kind::Object(schema) => match p.object(name)? {
            Some(nested) => Some(Value::Object(schema.check(&nested)?.values)),
            None => None,
        },
    };
    // A `null` that passed is kept, so handlers can tell it from absence.
    Ok(value.or_else(|| p.raw(name).filter(|v| v.is_null()).cloned()))
}

fn prop_json(prop: &Prop) -> Value {
    let mut schema = match prop.kind {
        Kind::Str(len) => string_json(len),
        Kind::NonBlankStr(len) => {
            let mut s = string_json(len);
            s["pattern"] = json!("[^\\s]+");
            s
        }
        Kind::Username => json!({ "type": "string", "pattern": "^\\w{1,20}$" }),
        Kind::Id => json!({ "type": "string", "format": "misskey:id" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Int { min, max, default } => {
            json!({ "type": "integer", "minimum": min, "maximum": max, "default": default })
        }
        Kind::Enum(allowed) => json!({ "type": "string", "enum": allowed }),
        Kind::IdList { count, unique } => {
            let mut s = json!({
                "type": "array",
                "items": { "type": "string", "format": "misskey:id" },
                "minItems": count.min,
                "maxItems": count.max,
            });
            if unique {
                s["uniqueItems"] = json!(true);
            }
            s
        }
        Kind::EventList => json!({
            "type": "array",
            "items": { "type": "string", "enum": EVENT_TYPES },
            "maxItems": MAX_WEBHOOK_EVENTS,
        }),
        Kind::Url => {
            json!({ "type": "string", "format": "uri", "minLength": 1, "maxLength": 1024 })
        }
        Kind::Object(schema) => schema.to_json(),
    };
    if prop.nullable {
        let ty = schema["type"].clone();
        schema["type"] = json!([ty, "null"]);
        if let Some(allowed) = schema.get_mut("enum").and_then(Value::as_array_mut) {
            allowed.push(Value::Null);
        }
    }
    schema
}

fn string_json(len: Len) -> Value {
    let mut s = json!({ "type": "string" });
    if len.min > 0 {
        s["minLength"] = json!(len.min);
    }
    if len.max < usize::MAX {
        s["maxLength"] = json!(len.max);
    }
    s
}

/// The webhook event types, in Misskey's enum order (`EventType::ALL`).
pub const EVENT_TYPES: &[&str] = &[
    "mention", "unfollow", "follow", "followed", "note", "reply", "renote", "reaction",
];

/// The most ids a list parameter takes where Misskey sets none.
pub const USER_ID_LIST: Kind = Kind::IdList {
    count: Len::new(0, MAX_USER_IDS),
    unique: true,
};

/// Checked parameter values, read by name. A value that is here passed its property's
/// check, so the readers convert without failing; a key the schema does not declare reads
/// as absent.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    values: Map<String, Value>,
}

impl Checked {
    /// A string (or id, enum, URL) value; `None` if absent or `null`.
    pub fn str(&self, key: &str) -> Option<String> {
        self.values
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// A required string: the schema's `required` guarantees it.
    pub fn required_str(&self, key: &str) -> String {
        self.str(key).unwrap_or_default()
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.values.get(key).and_then(Value::as_bool)
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        self.values.get(key).and_then(Value::as_i64)
    }

    pub fn ids(&self, key: &str) -> Option<Vec<String>> {
        self.values.get(key).and_then(Value::as_array).map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
    }

    pub fn events(&self, key: &str) -> Option<Vec<EventType>> {
        self.values.get(key).and_then(Value::as_array).map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|s| s.parse().ok())
                .collect()
        })
    }

    /// A nested object's checked values.
    pub fn object(&self, key: &str) -> Option<Checked> {
        self.values
            .get(key)
            .and_then(Value::as_object)
            .map(|values| Checked {
                values: values.clone(),
            })
    }

    /// Whether the key was given as `null` (a nullable property).
    pub fn is_null(&self, key: &str) -> bool {
        self.values.get(key).is_some_and(Value::is_null)
    }

    /// Whether the key was given, `null` included.
    pub fn is_given(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static THEN: Schema =
        Schema::new(&[Prop::new("text", Kind::NonBlankStr(Len::new(1, 10)))]).required(&["text"]);
    static NESTED: Schema = Schema::new(&[Prop::new("url", Kind::Url)]);
    static SAMPLE: Schema = Schema::new(&[
        Prop::new("id", Kind::Id),
        Prop::new("cw", Kind::Str(Len::new(1, 5))).nullable(),
        Prop::new("kind", Kind::Enum(&["a", "b"])).nullable(),
        Prop::new(
            "limit",
            Kind::Int {
                min: 1,
                max: 100,
                default: 10,
            },
        ),
        Prop::new("ids", USER_ID_LIST),
        Prop::new("override", Kind::Object(&NESTED)),
        Prop::new("renoteId", Kind::Id).nullable(),
    ])
    .required(&["id"])
    .any_of(&["cw", "kind"])
    .conditional(Conditional {
        unless_given: &["renoteId"],
        then: &THEN,
    });

    fn check(body: Value) -> Result<Checked, (String, String)> {
        let Value::Object(map) = body else {
            panic!("object")
        };
        SAMPLE.check(&Params::new(map)).map_err(|e| {
            let info = e.info.unwrap();
            (
                info["param"].as_str().unwrap().to_owned(),
                info["reason"].as_str().unwrap().to_owned(),
            )
        })
    }

    #[test]
    fn checks_in_ajvs_order_and_reports_the_first_failure() {
        // The conditional comes first, then `required`, the properties, and `anyOf`.
        assert_eq!(check(json!({})).unwrap_err().0, "#/then/required");
        assert_eq!(
            check(json!({ "text": " " })).unwrap_err().0,
            "#/then/properties/text/pattern"
        );
        assert_eq!(
            check(json!({ "renoteId": "r1" })).unwrap_err(),
            (
                "#/required".into(),
                "must have required property 'id'".into()
            )
        );
        assert_eq!(
            check(json!({ "renoteId": "r1", "id": "a-b" }))
                .unwrap_err()
                .0,
            "#/properties/id/format"
        );
        assert_eq!(
            check(json!({ "renoteId": "r1", "id": "a1" })).unwrap_err(),
            (
                "#/anyOf/0/required".into(),
                "must have required property 'cw'".into()
            )
        );
        assert_eq!(
            check(json!({ "renoteId": "r1", "id": "a1", "kind": "c" }))
                .unwrap_err()
                .0,
            "#/properties/kind/enum"
        );
        assert_eq!(
            check(json!({ "renoteId": "r1", "id": "a1", "cw": null, "override": { "url": "ftp://x" } }))
                .unwrap_err()
                .0,
            "#/properties/override/properties/url/format"
        );
    }

    #[test]
    fn checked_values_read_back_typed() {
        let p = check(json!({
            "text": "hi", "id": "a1", "cw": null, "ids": ["b1", "b2"],
            "override": { "url": "https://x.example/" }, "unknown": 1,
        }))
        .unwrap();
        assert_eq!(p.required_str("id"), "a1");
        assert!(p.is_null("cw") && p.is_given("cw"));
        assert_eq!(p.str("cw"), None);
        assert!(!p.is_given("kind"));
        assert_eq!(p.int("limit"), Some(10), "the default");
        assert_eq!(p.ids("ids"), Some(vec!["b1".to_owned(), "b2".to_owned()]));
        assert_eq!(
            p.object("override").and_then(|o| o.str("url")).as_deref(),
            Some("https://x.example/")
        );
        assert!(!p.is_given("unknown"), "only declared keys are kept");
    }

    #[test]
    fn renders_as_json_schema() {
        let schema = SAMPLE.to_json();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(["id"]));
        assert_eq!(
            schema["anyOf"],
            json!([{ "required": ["cw"] }, { "required": ["kind"] }])
        );
        assert_eq!(
            schema["if"],
            json!({ "properties": { "renoteId": { "type": "null" } } })
        );
        assert_eq!(schema["then"]["properties"]["text"]["pattern"], "[^\\s]+");
        let props = &schema["properties"];
        let order: Vec<&str> = props
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            order,
            ["id", "cw", "kind", "limit", "ids", "override", "renoteId"]
        );
        assert_eq!(
            props["id"],
            json!({ "type": "string", "format": "misskey:id" })
        );
        assert_eq!(
            props["cw"],
            json!({ "type": ["string", "null"], "minLength": 1, "maxLength": 5 })
        );
        assert_eq!(props["kind"]["enum"], json!(["a", "b", null]));
        assert_eq!(props["limit"]["default"], 10);
        assert_eq!(props["ids"]["maxItems"], MAX_USER_IDS);
        assert_eq!(props["ids"]["uniqueItems"], true);
        assert_eq!(props["override"]["properties"]["url"]["format"], "uri");
    }

    #[test]
    fn event_types_are_the_core_list() {
        let core: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(core, EVENT_TYPES);
    }
}
