//! A string that never prints.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The text every secret shows instead of its value.
pub const REDACTED: &str = "<redacted>";

/// Why a secret given as a number or boolean is refused.
const NOT_TEXT: &str = "a secret must be a string: quote it in the file so that it is kept \
                        exactly as written (as a number, `007` would be read as 7)";

/// A password, API key or token.
///
/// `Debug`, `Display` and `Serialize` all show [`REDACTED`]; the only way to read the value
/// is [`Secret::expose`], which call sites use right where the value goes on the wire.
/// Deserializes from a string only: a number or boolean in a file has lost how it was
/// written (`007` read as 7), so it is refused with an error that does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The value itself. Only call this where it is sent to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;
        impl Visitor<'_> for SecretVisitor {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a secret string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret::new(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
                Ok(Secret::new(v))
            }
            // A secret written as a number (`password: 007` in YAML, `"password": 7` in
            // JSON) has already lost what was written: leading zeros, an exponent. It is
            // refused rather than guessed back, and the message never shows the value.
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
                Err(E::custom(NOT_TEXT))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
                Err(E::custom(NOT_TEXT))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
                Err(E::custom(NOT_TEXT))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
                Err(E::custom(NOT_TEXT))
            }
        }
        deserializer.deserialize_any(SecretVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2-canary");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert!(
            !serde_json::to_string(&s)
                .expect("a string serializes")
                .contains("hunter2")
        );
        assert_eq!(s.expose(), "hunter2-canary");
    }

    #[test]
    fn numbers_are_refused_without_showing_them() {
        let s: Secret = serde_json::from_str("\"007\"").expect("a string is accepted");
        assert_eq!(s.expose(), "007");
        for number in ["7041", "1e3", "true"] {
            let err = serde_json::from_str::<Secret>(number).expect_err("a number is refused");
            let text = err.to_string();
            assert!(text.contains("must be a string"), "{text}");
            assert!(!text.contains(number), "{text}");
        }
    }
}
