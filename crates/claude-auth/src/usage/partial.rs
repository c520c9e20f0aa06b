//! Reading only the fields that carry token counts out of a JSON body or an
//! SSE event, without building a `serde_json::Value` tree: strings are
//! borrowed from the input where they have no escapes, every other field is
//! skipped without allocating. This is the per-request part of the usage
//! ledger, so it has to cost next to nothing.
//!
//! The reading is as lenient as `Value` lookups were: a field of an
//! unexpected type (a string where a count belongs, an array where an object
//! belongs) reads as absent instead of failing the whole event.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// An event or body: its `type`, the objects that wrap the counts in some
/// events (`message` in Anthropic's `message_start`, `response` in OpenAI's
/// `response.completed`), and its own `model` and `usage`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Carrier<'a> {
    #[serde(rename = "type", default, borrow)]
    pub kind: Text<'a>,
    #[serde(default, borrow)]
    pub message: Object<Part<'a>>,
    #[serde(default, borrow)]
    pub response: Object<Part<'a>>,
    #[serde(default, borrow)]
    pub model: Text<'a>,
    #[serde(default)]
    pub usage: Object<Counts>,
}

/// What a wrapped object contributes: `model` and `usage`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Part<'a> {
    #[serde(default, borrow)]
    pub model: Text<'a>,
    #[serde(default)]
    pub usage: Object<Counts>,
}

/// A `usage` object, in Anthropic's names and OpenAI's.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Counts {
    #[serde(default)]
    pub input_tokens: Count,
    #[serde(default)]
    pub prompt_tokens: Count,
    #[serde(default)]
    pub output_tokens: Count,
    #[serde(default)]
    pub completion_tokens: Count,
    #[serde(default)]
    pub cache_creation_input_tokens: Count,
    #[serde(default)]
    pub cache_read_input_tokens: Count,
    #[serde(default)]
    pub input_tokens_details: Object<Details>,
    #[serde(default)]
    pub prompt_tokens_details: Object<Details>,
}

/// OpenAI's `*_tokens_details`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Details {
    #[serde(default)]
    pub cached_tokens: Count,
}

/// Drain whatever value the visitor was handed, so the parser moves on.
fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A string field: `Some` only when the value is a string (borrowed when
/// it has no escapes).
#[derive(Debug, Default)]
pub(crate) struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_unit<E>(self) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text<'a>, A::Error> {
                drain_map(map).map(|()| Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text<'a>, A::Error> {
                drain_seq(seq).map(|()| Text(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A count: `Some` only for a whole number that fits `u64` (as
/// `Value::as_u64` read it: not a float, a negative number or a string).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Count(pub Option<u64>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Count, E> {
                Ok(Count(Some(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Count, E> {
                Ok(Count(u64::try_from(v).ok()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_unit<E>(self) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Count, A::Error> {
                drain_map(map).map(|()| Count(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Count, A::Error> {
                drain_seq(seq).map(|()| Count(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object field read as `T`: `Some` only when the value is an object.
#[derive(Debug)]
pub(crate) struct Object<T>(pub Option<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Object(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| Object(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Object<T>, A::Error> {
                drain_seq(seq).map(|()| Object(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
            fn visit_unit<E>(self) -> Result<Object<T>, E> {
                Ok(Object(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The searcher for `"usage"`, built once.
pub(crate) static USAGE_KEY: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"usage\""));
/// The searcher for `"model"`, built once.
pub(crate) static MODEL_KEY: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"\"model\""));

/// Whether `haystack` contains what `finder` looks for.
pub(crate) fn contains(haystack: &[u8], finder: &Finder<'_>) -> bool {
    finder.find(haystack).is_some()
}
