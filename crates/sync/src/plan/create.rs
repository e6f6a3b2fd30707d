//! The operation that creates a user, packed: a first sync of a million users plans three
//! million of them, so each keeps its texts (source id, fingerprint, login, e-mail, name,
//! attributes) in one allocation rather than in a dozen, which targets planned alike
//! share.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use idbridge_core::NewUser;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Create a user and link it to its source user: the account to create, the source user's
/// id, and the fingerprint of the desired state stored with the link.
///
/// Immutable once made, so clones share one allocation: the planner, and the reading of a
/// saved plan, give the same operation in several targets one. A plan never holds a
/// secret: a password given with the account ([`NewUser::password`]) is not kept, and the
/// account is created without one.
/// Serialized as `{"source_id", "user": <NewUser>, "fingerprint"}`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CreateUser {
    /// `[flags: u8][attribute pairs: u32][fingerprint: 8 bytes, when FP_RAW][ends of the
    /// texts: u32 each][the texts]`, the texts in order source id, fingerprint (unless
    /// FP_RAW), login, e-mail, display name, then each attribute's key and value (in key
    /// order); the header is built from `&str`s only.
    packed: Arc<[u8]>,
}

const HAS_EMAIL: u8 = 1;
const HAS_DISPLAY_NAME: u8 = 2;
const ENABLED: u8 = 4;
/// The fingerprint is the usual 16 lower-case hex digits, kept as its 8 bytes.
const FP_RAW: u8 = 8;

/// The 8 bytes of a fingerprint written as 16 lower-case hex digits (as
/// [`crate::util::fingerprint_text`] writes them), which is then rewritten the same.
fn raw_fingerprint(text: &str) -> Option<[u8; 8]> {
    let lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    if text.len() != 16 || !text.as_bytes().iter().all(lower_hex) {
        return None;
    }
    u64::from_str_radix(text, 16).ok().map(u64::to_be_bytes)
}

impl CreateUser {
    /// The operation for `user`, linked to source user `source_id` with `fingerprint`.
    pub fn new(source_id: &str, user: &NewUser, fingerprint: &str) -> CreateUser {
        CreateUser::from_parts(
            source_id,
            fingerprint,
            &user.login,
            user.email.as_deref(),
            user.display_name.as_deref(),
            user.enabled,
            user.attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }

    /// The operation from its parts; `attributes` in key order, each key once (as a
    /// [`BTreeMap`] iterates).
    pub fn from_parts<'a>(
        source_id: &str,
        fingerprint: &str,
        login: &str,
        email: Option<&str>,
        display_name: Option<&str>,
        enabled: bool,
        attributes: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> CreateUser {
        let pairs = attributes.clone().count();
        let raw = raw_fingerprint(fingerprint);
        let mut texts: Vec<&str> = Vec::with_capacity(5 + 2 * pairs);
        texts.push(source_id);
        if raw.is_none() {
            texts.push(fingerprint);
        }
        texts.extend([login, email.unwrap_or(""), display_name.unwrap_or("")]);
        for (k, v) in attributes {
            texts.push(k);
            texts.push(v);
        }
        let flags = if email.is_some() { HAS_EMAIL } else { 0 }
            | if display_name.is_some() {
                HAS_DISPLAY_NAME
            } else {
                0
            }
            | if enabled { ENABLED } else { 0 }
            | if raw.is_some() { FP_RAW } else { 0 };
        let text_len: usize = texts.iter().map(|t| t.len()).sum();
        let mut packed = Vec::with_capacity(13 + 4 * texts.len() + text_len);
        packed.push(flags);
        packed.extend_from_slice(&u32_of(pairs).to_le_bytes());
        if let Some(raw) = raw {
            packed.extend_from_slice(&raw);
        }
        let mut end = 0usize;
        for t in &texts {
            end += t.len();
            packed.extend_from_slice(&u32_of(end).to_le_bytes());
        }
        for t in &texts {
            packed.extend_from_slice(t.as_bytes());
        }
        CreateUser {
            packed: Arc::from(packed),
        }
    }

    /// Whether `other` is this operation's one allocation (shared, not only equal).
    #[cfg(test)]
    pub(crate) fn shares_with(&self, other: &CreateUser) -> bool {
        Arc::ptr_eq(&self.packed, &other.packed)
    }

    fn flags(&self) -> u8 {
        self.packed.first().copied().unwrap_or(0)
    }

    fn raw(&self) -> bool {
        self.flags() & FP_RAW != 0
    }

    fn word(&self, at: usize) -> usize {
        self.packed
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, |b| u32::from_le_bytes(b) as usize)
    }

    /// Where the ends of the texts start.
    fn ends(&self) -> usize {
        if self.raw() { 13 } else { 5 }
    }

    /// Texts before the attributes.
    fn fixed(&self) -> usize {
        if self.raw() { 4 } else { 5 }
    }

    fn texts(&self) -> usize {
        self.fixed() + 2 * self.word(1)
    }

    /// Text number `i` as packed; "" past the end (never, for a packed value).
    fn text(&self, i: usize) -> &str {
        let ends = self.ends();
        let base = ends + 4 * self.texts();
        let start = if i == 0 {
            0
        } else {
            self.word(ends + 4 * (i - 1))
        };
        let end = self.word(ends + 4 * i);
        self.packed
            .get(base + start..base + end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Text `i` of the order with the fingerprint (login 2, e-mail 3, display name 4).
    fn after_fingerprint(&self, i: usize) -> &str {
        self.text(if self.raw() { i - 1 } else { i })
    }

    /// The source user's id.
    pub fn source_id(&self) -> &str {
        self.text(0)
    }

    /// The fingerprint of the desired state, stored with the link (written out when it
    /// is kept as its 8 bytes).
    pub fn fingerprint(&self) -> Cow<'_, str> {
        if !self.raw() {
            return Cow::Borrowed(self.text(1));
        }
        let raw = self
            .packed
            .get(5..13)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .unwrap_or_default();
        Cow::Owned(crate::util::fingerprint_text(u64::from_be_bytes(raw)))
    }

    /// The login of the account to create.
    pub fn login(&self) -> &str {
        self.after_fingerprint(2)
    }

    /// Its e-mail address.
    pub fn email(&self) -> Option<&str> {
        (self.flags() & HAS_EMAIL != 0).then(|| self.after_fingerprint(3))
    }

    /// Its display name.
    pub fn display_name(&self) -> Option<&str> {
        (self.flags() & HAS_DISPLAY_NAME != 0).then(|| self.after_fingerprint(4))
    }

    /// Whether it starts enabled.
    pub fn enabled(&self) -> bool {
        self.flags() & ENABLED != 0
    }

    /// Its attributes, in key order.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let fixed = self.fixed();
        (0..self.word(1)).map(move |p| (self.text(fixed + 2 * p), self.text(fixed + 2 * p + 1)))
    }

    /// The account to create, as the adapters take it (without a password).
    pub fn user(&self) -> NewUser {
        NewUser {
            login: self.login().to_string(),
            email: self.email().map(str::to_string),
            display_name: self.display_name().map(str::to_string),
            enabled: self.enabled(),
            attributes: self
                .attributes()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            password: None,
        }
    }
}

/// A length as the packed header holds it: texts of a plan operation stay far below 4 GiB
/// (a source record that long is refused when read), so the bound only saturates.
fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUser")
            .field("source_id", &self.source_id())
            .field("user", &self.user())
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// The account's fields as [`NewUser`] serializes them (its password is never kept).
struct UserOut<'a>(&'a CreateUser);

impl Serialize for UserOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let attributes = c.word(1) > 0;
        let mut m = s.serialize_map(Some(4 + usize::from(attributes)))?;
        m.serialize_entry("login", c.login())?;
        m.serialize_entry("email", &c.email())?;
        m.serialize_entry("display_name", &c.display_name())?;
        m.serialize_entry("enabled", &c.enabled())?;
        if attributes {
            m.serialize_entry("attributes", &Attributes(c))?;
        }
        m.end()
    }
}

struct Attributes<'a>(&'a CreateUser);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.attributes())
    }
}

impl CreateUser {
    /// Writes this create's fields into `m`, an operation's map in its saved form.
    pub(crate) fn serialize_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("source_id", self.source_id())?;
        m.serialize_entry("user", &UserOut(self))?;
        m.serialize_entry("fingerprint", &self.fingerprint())
    }
}

impl Serialize for CreateUser {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        self.serialize_fields(&mut m)?;
        m.end()
    }
}

/// The saved form, read before it is packed.
#[derive(Deserialize)]
struct Saved {
    source_id: String,
    user: SavedUser,
    fingerprint: String,
}

/// [`NewUser`] as saved; a password in a saved plan is not read (plans hold no secret).
#[derive(Deserialize)]
struct SavedUser {
    login: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

impl<'de> Deserialize<'de> for CreateUser {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Saved::deserialize(d)?;
        Ok(CreateUser::from_parts(
            &s.source_id,
            &s.fingerprint,
            &s.user.login,
            s.user.email.as_deref(),
            s.user.display_name.as_deref(),
            s.user.enabled,
            s.user
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_unpacks_every_field() {
        let mut u = NewUser::new("ada");
        u.email = Some("ada@example.com".into());
        u.attributes.insert("dept".into(), "R&D".into());
        u.attributes.insert("cost".into(), "é42".into());
        let c = CreateUser::new("s1", &u, "f00d");
        assert_eq!(c.source_id(), "s1");
        assert_eq!(c.fingerprint(), "f00d");
        assert_eq!(c.login(), "ada");
        assert_eq!(c.email(), Some("ada@example.com"));
        assert_eq!(c.display_name(), None);
        assert!(c.enabled());
        assert_eq!(c.user(), u);
        let json = serde_json::to_string(&c).expect("serializes");
        /// The form the operation had as a struct of owned fields.
        #[derive(Serialize)]
        struct Owned<'a> {
            source_id: &'a str,
            user: &'a NewUser,
            fingerprint: &'a str,
        }
        let owned = Owned {
            source_id: "s1",
            user: &u,
            fingerprint: "f00d",
        };
        assert_eq!(json, serde_json::to_string(&owned).expect("serializes"));
        let back: CreateUser = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, c);
        // The usual fingerprint is kept as its 8 bytes, and reads back the same.
        let packed = CreateUser::new("s1", &u, "00ff00ff00ff00fe");
        let text = CreateUser::new("s1", &u, "00FF00FF00FF00FE");
        assert!(packed.packed.len() + 8 <= text.packed.len());
        assert_eq!(packed.fingerprint(), "00ff00ff00ff00fe");
        assert_eq!(text.fingerprint(), "00FF00FF00FF00FE");
        for c in [&packed, &text] {
            assert_eq!(c.user(), u);
            assert_eq!(c.source_id(), "s1");
            let back: CreateUser =
                serde_json::from_str(&serde_json::to_string(c).expect("json")).expect("parses");
            assert_eq!(&back, c);
        }
        assert_eq!(
            serde_json::to_string(&packed).expect("json"),
            serde_json::to_string(&Owned {
                source_id: "s1",
                user: &u,
                fingerprint: "00ff00ff00ff00fe",
            })
            .expect("json")
        );
        for odd in [
            "0123456789abcde",
            "0123456789abcdefa",
            "0123456789abcdeg",
            "-123456789abcdef",
        ] {
            let c = CreateUser::new("s1", &u, odd);
            assert_eq!(c.fingerprint(), odd);
            assert_eq!(c.login(), "ada");
        }
        let empty = CreateUser::new("", &NewUser::new(""), "");
        assert_eq!(empty.login(), "");
        assert_eq!(empty.attributes().count(), 0);
    }
}
