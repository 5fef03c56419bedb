//! One event line as it comes off the wire, before any checking.
//!
//! Fields are deserialized loosely ([`Field`] accepts any JSON value) so that a
//! wrong type becomes a message naming the field, instead of serde's generic
//! "invalid type". Strings borrow from the input unless they contain escapes.

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The fields of a Chrome trace event that actrace's reader looks at. Any other
/// field is skipped without being stored.
#[derive(serde::Deserialize)]
pub(super) struct RawEvent<'a> {
    #[serde(borrow)]
    pub(super) ph: Option<Field<'a>>,
    #[serde(borrow)]
    pub(super) pid: Option<Field<'a>>,
    #[serde(borrow)]
    pub(super) tid: Option<Field<'a>>,
    #[serde(borrow)]
    pub(super) ts: Option<Field<'a>>,
    #[serde(borrow)]
    pub(super) dur: Option<Field<'a>>,
    #[serde(borrow)]
    pub(super) id: Option<Field<'a>>,
    #[serde(borrow)]
    pub(super) name: Option<Field<'a>>,
    #[serde(borrow)]
    pub(super) args: Option<Args<'a>>,
    /// Set on actrace's own in-band markers such as
    /// `{"actrace":"dropped","count":N}`.
    #[serde(borrow)]
    pub(super) actrace: Option<Field<'a>>,
    #[serde(borrow)]
    pub(super) count: Option<Field<'a>>,
}

/// Any JSON value, reduced to what the checks need.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Field<'a> {
    Uint(u64),
    /// A negative integer.
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Bool,
    Null,
    Object,
    Array,
}

impl Field<'_> {
    /// "a string", "an object"… for messages like `"ts" must be a number, found a string`.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Field::Uint(_) | Field::Int(_) => "an integer",
            Field::Float(_) => "a number",
            Field::Str(_) => "a string",
            Field::Bool => "a boolean",
            Field::Null => "null",
            Field::Object => "an object",
            Field::Array => "an array",
        }
    }

    pub(super) fn as_f64(&self) -> Option<f64> {
        match *self {
            Field::Uint(v) => Some(v as f64),
            Field::Int(v) => Some(v as f64),
            Field::Float(v) => Some(v),
            _ => None,
        }
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::Bool)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(match u64::try_from(v) {
            Ok(u) => Field::Uint(u),
            Err(_) => Field::Int(v),
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Field::Uint(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Field::Float(v))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        // Only reached for strings with escapes, which cannot be borrowed.
        Ok(Field::Str(Cow::Owned(String::from(v))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Array)
    }
}

/// An event's `args`, of which only `name` matters (the process or lane name
/// of `M` events). `args` that is not an object is treated as empty.
#[derive(Default)]
pub(super) struct Args<'a> {
    pub(super) name: Option<Field<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Args<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Any JSON value is accepted; only an object can carry a `name`.
        deserializer.deserialize_any(ArgsVisitor)
    }
}

struct ArgsVisitor;

impl<'de> Visitor<'de> for ArgsVisitor {
    type Value = Args<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an args object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut args = Args::default();
        while let Some(key) = map.next_key::<Field<'de>>()? {
            if key.as_str() == Some("name") {
                args.name = Some(map.next_value::<Field<'de>>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(args)
    }

    // Anything else: no usable name. The checks report a missing `args.name`
    // where one is required.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Args::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Args::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Args::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Args::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Args::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Args::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Args::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> RawEvent<'_> {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn plain_strings_are_borrowed_not_copied() {
        let ev = parse(r#"{"ph":"B","pid":1,"tid":3,"ts":17.250,"name":"copy-file a.txt"}"#);
        assert!(matches!(
            ev.name,
            Some(Field::Str(Cow::Borrowed("copy-file a.txt")))
        ));
        assert_eq!(ev.ts.unwrap().as_f64(), Some(17.25));
        assert_eq!(ev.tid, Some(Field::Uint(3)));
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let ev = parse(r#"{"name":"caf\u00e9 \"x\""}"#);
        assert_eq!(ev.name.unwrap().as_str(), Some("café \"x\""));
    }

    #[test]
    fn wrong_types_are_kept_for_the_checks_to_name() {
        let ev = parse(r#"{"ph":1,"ts":"12","tid":-4,"pid":{"a":[1]},"args":[1]}"#);
        assert_eq!(ev.ph.unwrap().kind(), "an integer");
        assert_eq!(ev.ts.unwrap().kind(), "a string");
        assert_eq!(ev.tid, Some(Field::Int(-4)));
        assert_eq!(ev.pid, Some(Field::Object));
        assert!(ev.args.unwrap().name.is_none());
    }

    #[test]
    fn args_name_is_found_among_other_args() {
        let ev = parse(r#"{"args":{"id":"Ab","nested":{"name":"no"},"name":"copy-dir#0"}}"#);
        assert_eq!(ev.args.unwrap().name.unwrap().as_str(), Some("copy-dir#0"));
    }
}
