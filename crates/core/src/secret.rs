//! A string that never prints, and the process-wide list of secret values that every
//! text shown to a person is cleaned of.
//!
//! A [`Secret`] never prints its value. But a value also reaches text another way: a server
//! that repeats the request in its error body (`password=...`), a session cookie or token
//! that a dependency logs. So every secret value the process holds is also registered here:
//! each [`Secret`] when it is made (configured passwords, API keys, refresh tokens, and the
//! access and session tokens adapters receive), and each credential the HTTP layer sends
//! or receives outside a [`Secret`] (`Authorization` headers, cookies). [`redact`] replaces
//! every registered value in a text; errors, server text quoted in them, and every log line
//! go through it.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, RwLock};

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
/// Deserializes from a string only, as a configured value (see [`Secret::configured`]): a
/// number or boolean in a file has lost how it was written (`007` read as 7), so it is
/// refused with an error that does not show it. Values a server sends use
/// [`Secret::deserialize_derived`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a value, and registers it (see [`register_secret`]) so that no text shown
    /// later carries it.
    pub fn new(value: impl Into<String>) -> Self {
        let value: Arc<str> = Arc::from(value.into());
        register(&value, false);
        Secret(value)
    }

    /// Wraps a configured value (a password, API key or token from the configuration),
    /// which stays registered for the life of the process however many derived values
    /// come after it.
    pub fn configured(value: impl Into<String>) -> Self {
        let value: Arc<str> = Arc::from(value.into());
        register(&value, true);
        Secret(value)
    }

    /// The value itself. Only call this where it is sent to the server.
    ///
    /// A value in use is kept registered longest (see [`register_secret`]).
    pub fn expose(&self) -> &str {
        touch(&self.0);
        &self.0
    }

    /// Deserializes a secret a server handed out (an access token, a rotated refresh
    /// token) rather than one from the configuration: registered like [`Secret::new`],
    /// among the derived values that make room for newer ones. For
    /// `#[serde(deserialize_with = "Secret::deserialize_derived")]`.
    ///
    /// # Errors
    /// When the value is not a string.
    pub fn deserialize_derived<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }

    /// [`Secret::deserialize_derived`] for an optional value (`null` or absent is `None`;
    /// use with `#[serde(default)]`).
    ///
    /// # Errors
    /// When the value is neither a string nor `null`.
    pub fn deserialize_derived_opt<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Secret>, D::Error> {
        Option::<String>::deserialize(deserializer).map(|v| v.map(Secret::new))
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
        let secret = deserializer.deserialize_any(SecretVisitor)?;
        // From the configuration: kept registered for the life of the process.
        register(&secret.0, true);
        Ok(secret)
    }
}

/// Values shorter than this are not registered: a value that short cannot be told from
/// ordinary text, and replacing every `admin` or `1234` in every message would garble it.
pub const MIN_SECRET_LEN: usize = 6;

/// The most derived values (tokens, cookies, generated passwords) kept registered; beyond
/// it the one unused for the longest time goes first. A long-running `sync --interval`
/// logs in again and again, and a value unused that long belongs to an expired session
/// or an account created long ago. Configured values are never dropped.
const MAX_DERIVED: usize = 1024;

/// A pattern's place in [`Registry::patterns`]: longest first, so that a value containing
/// another is replaced whole.
type PatternKey = (Reverse<usize>, String);

struct Registry {
    /// How many derived values are kept.
    cap: usize,
    /// Configured values.
    pinned: Vec<String>,
    /// Derived values, oldest first.
    derived: VecDeque<String>,
    /// Every form (see `forms`) of every value, with how many values have it.
    patterns: BTreeMap<PatternKey, usize>,
}

impl Registry {
    const fn new(cap: usize) -> Self {
        Registry {
            cap,
            pinned: Vec::new(),
            derived: VecDeque::new(),
            patterns: BTreeMap::new(),
        }
    }

    fn add(&mut self, value: &str, pinned: bool) {
        if value.chars().count() < MIN_SECRET_LEN || self.pinned.iter().any(|p| p == value) {
            return;
        }
        if let Some(at) = self.derived.iter().position(|v| v == value) {
            if !pinned {
                // Seen again: it is in use, so it is the last to be dropped.
                if let Some(v) = self.derived.remove(at) {
                    self.derived.push_back(v);
                }
                return;
            }
            // Now configured: it moves (with its patterns) to the values kept for good.
            self.derived.remove(at);
            self.pinned.push(value.to_string());
            return;
        }
        for form in forms(value) {
            *self
                .patterns
                .entry((Reverse(form.len()), form))
                .or_insert(0) += 1;
        }
        if pinned {
            self.pinned.push(value.to_string());
            return;
        }
        self.derived.push_back(value.to_string());
        while self.derived.len() > self.cap {
            let Some(old) = self.derived.pop_front() else {
                break;
            };
            for form in forms(&old) {
                let key = (Reverse(form.len()), form);
                if let Some(n) = self.patterns.get_mut(&key) {
                    *n -= 1;
                    if *n == 0 {
                        self.patterns.remove(&key);
                    }
                }
            }
        }
    }

    /// Marks a derived value as in use: it is then the last to be dropped.
    fn touch(&mut self, value: &str) {
        if self.derived.back().is_some_and(|v| v == value) {
            return;
        }
        if let Some(at) = self.derived.iter().position(|v| v == value)
            && let Some(v) = self.derived.remove(at)
        {
            self.derived.push_back(v);
        }
    }

    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out: Option<String> = None;
        for (_, pattern) in self.patterns.keys() {
            let current = out.as_deref().unwrap_or(text);
            if current.contains(pattern.as_str()) {
                out = Some(current.replace(pattern.as_str(), REDACTED));
            }
        }
        match out {
            Some(s) => Cow::Owned(s),
            None => Cow::Borrowed(text),
        }
    }
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry::new(MAX_DERIVED));

/// The forms a value takes in the text a server may send back: as it is, form-encoded
/// (`a+b%21`), percent-encoded (`a%20b%21`) and escaped inside a JSON string.
fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let json = serde_json::to_string(value)
        .ok()
        .and_then(|q| q.strip_prefix('"')?.strip_suffix('"').map(str::to_string));
    for f in [Some(form), Some(percent), json].into_iter().flatten() {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

fn register(value: &str, pinned: bool) {
    if value.chars().count() < MIN_SECRET_LEN {
        return;
    }
    // A panic while holding the lock cannot leave the lists in a state that matters (at
    // worst one value is missing), so a poisoned lock is used as it is.
    match REGISTRY.write() {
        Ok(mut r) => r.add(value, pinned),
        Err(poisoned) => poisoned.into_inner().add(value, pinned),
    }
}

fn touch(value: &str) {
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    match REGISTRY.write() {
        Ok(mut r) => r.touch(value),
        Err(poisoned) => poisoned.into_inner().touch(value),
    }
}

/// Registers a secret value that the process holds outside a [`Secret`] (a cookie or an
/// `Authorization` header the HTTP layer sends or receives), so that [`redact`] removes
/// it from every text. Values shorter than [`MIN_SECRET_LEN`] characters are ignored.
/// Every [`Secret`] registers itself; there is no need to call this for one.
pub fn register_secret(value: &str) {
    register(value, false);
}

/// `text` with every registered secret value (in each of the forms a server may echo it
/// in: as it is, form- or percent-encoded, JSON-escaped) replaced by [`REDACTED`].
/// Borrowed when nothing was replaced.
pub fn redact(text: &str) -> Cow<'_, str> {
    if text.len() < MIN_SECRET_LEN {
        return Cow::Borrowed(text);
    }
    let registry = match REGISTRY.read() {
        Ok(r) => r,
        Err(poisoned) => poisoned.into_inner(),
    };
    match registry.redact(text) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(s) => Cow::Owned(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_redacted_in_every_form() {
        let s = Secret::new("Pa55 w&rd\"quoted\"-reg");
        let text = format!(
            "raw {} form password=Pa55+w%26rd%22quoted%22-reg json {{\"p\":\"Pa55 w&rd\\\"quoted\\\"-reg\"}} pct Pa55%20w%26rd%22quoted%22-reg",
            s.expose()
        );
        let clean = redact(&text);
        assert!(!clean.contains("Pa55"), "{clean}");
        assert_eq!(clean.matches(REDACTED).count(), 4, "{clean}");
    }

    #[test]
    fn short_values_are_not_registered() {
        let _ = Secret::new("admin");
        assert_eq!(redact("the admin group"), "the admin group");
        register_secret("cookie-value-4f1e");
        assert_eq!(
            redact("JSESSIONID=cookie-value-4f1e"),
            "JSESSIONID=<redacted>"
        );
    }

    #[test]
    fn a_value_containing_another_is_replaced_whole() {
        register_secret("inner-token-77");
        register_secret("outer-inner-token-77-suffix");
        assert_eq!(redact("x outer-inner-token-77-suffix y"), "x <redacted> y");
    }

    #[test]
    fn configured_values_outlive_many_derived_ones() {
        let mut r = Registry::new(4);
        r.add("configured-canary-0a1b", true);
        for i in 0..10 {
            r.add(&format!("derived-token-{i:06}"), false);
        }
        assert_eq!(r.redact("configured-canary-0a1b"), REDACTED);
        assert_eq!(r.redact("derived-token-000000"), "derived-token-000000");
        assert_eq!(r.redact("derived-token-000009"), REDACTED);
        // A value seen again, or in use, is kept longest.
        r.add("derived-token-000007", false);
        r.touch("derived-token-000008");
        r.add("derived-token-000010", false);
        r.add("derived-token-000011", false);
        assert_eq!(r.redact("derived-token-000007"), REDACTED);
        assert_eq!(r.redact("derived-token-000008"), REDACTED);
        assert_eq!(r.redact("derived-token-000009"), "derived-token-000009");
    }

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
