//! Reading typed settings from a configuration tree whose scalars may be text.
//!
//! Environment overrides arrive as text and are kept as text, so that a password `007`
//! stays `007` and `1e3` stays `1e3`: guessing a type from the text would turn them into
//! the numbers 7 and 1000. The typed structs that read the tree then take a number or a
//! boolean from text where their field asks for one (`concurrency = "3"` from the
//! environment), while a string field, and every secret, gets the text exactly as given.

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};

/// A configuration value that yields numbers and booleans from text when asked for them.
pub(crate) struct Textual(pub(crate) Value);

type E = serde_json::Error;

macro_rules! number_from_text {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
                match self.0 {
                    Value::String(s) => match s.trim().parse::<$ty>() {
                        Ok(n) => visitor.$visit(n),
                        Err(_) => Err(de::Error::invalid_value(de::Unexpected::Str(&s), &visitor)),
                    },
                    other => other.$method(visitor),
                }
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Textual {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            Value::Object(map) => visitor.visit_map(Entries::new(map)),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Value::String(s) => match s.trim() {
                "true" => visitor.visit_bool(true),
                "false" => visitor.visit_bool(false),
                _ => Err(de::Error::invalid_value(
                    de::Unexpected::Str(&s),
                    &"true or false",
                )),
            },
            other => other.deserialize_bool(visitor),
        }
    }

    number_from_text! {
        deserialize_i8 => i64, visit_i64;
        deserialize_i16 => i64, visit_i64;
        deserialize_i32 => i64, visit_i64;
        deserialize_i64 => i64, visit_i64;
        deserialize_u8 => u64, visit_u64;
        deserialize_u16 => u64, visit_u64;
        deserialize_u32 => u64, visit_u64;
        deserialize_u64 => u64, visit_u64;
        deserialize_f32 => f64, visit_f64;
        deserialize_f64 => f64, visit_f64;
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Textual(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            other => other.deserialize_seq(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, E> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, E> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Entries::new(map)),
            other => other.deserialize_map(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct identifier ignored_any
    }
}

struct Items(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Items {
    type Error = E;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, E> {
        self.0
            .next()
            .map(|v| seed.deserialize(Textual(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries {
    iter: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl Entries {
    fn new(map: Map<String, Value>) -> Self {
        Entries {
            iter: map.into_iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Entries {
    type Error = E;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(key.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, E> {
        let value = self
            .value
            .take()
            .ok_or_else(|| <E as de::Error>::custom("a value was asked for before its key"))?;
        seed.deserialize(Textual(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct S {
        text: String,
        n: usize,
        f: f64,
        on: bool,
        maybe: Option<u32>,
        list: Vec<u8>,
        nested: Option<Box<S>>,
    }

    #[test]
    fn text_feeds_numbers_and_booleans_but_strings_stay_verbatim() {
        let v = json!({"text": "007", "n": "3", "f": "1e3", "on": "true", "maybe": "9",
                       "list": ["1", 2], "nested": {"text": "1e3", "n": 1, "f": 2.5, "on": false,
                       "maybe": null, "list": [], "nested": null}});
        let s = S::deserialize(Textual(v)).expect("reads");
        assert_eq!(s.text, "007");
        assert_eq!(s.n, 3);
        assert!((s.f - 1000.0).abs() < f64::EPSILON);
        assert!(s.on);
        assert_eq!(s.maybe, Some(9));
        assert_eq!(s.list, vec![1, 2]);
        assert_eq!(s.nested.as_ref().map(|n| n.text.as_str()), Some("1e3"));
    }

    #[test]
    fn bad_text_and_unknown_keys_are_errors() {
        let base = json!({"text": "a", "n": "x", "f": 1, "on": true, "maybe": null, "list": [], "nested": null});
        assert!(S::deserialize(Textual(base)).is_err());
        let unknown = json!({"text": "a", "n": 1, "f": 1, "on": "yes", "maybe": null, "list": [], "nested": null});
        assert!(S::deserialize(Textual(unknown)).is_err());
        let number_for_text = json!({"text": 7, "n": 1, "f": 1, "on": true, "maybe": null, "list": [], "nested": null});
        assert!(S::deserialize(Textual(number_for_text)).is_err());
    }
}
