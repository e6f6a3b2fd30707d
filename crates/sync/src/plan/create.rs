//! The operation that creates a user, packed: a first sync of a million users plans three
//! million of them, so each keeps its texts (source id, fingerprint, login, e-mail, name,
//! attributes) in one allocation rather than in a dozen.

use std::collections::BTreeMap;

use idbridge_core::NewUser;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Create a user and link it to its source user: the account to create, the source user's
/// id, and the fingerprint of the desired state stored with the link.
///
/// Immutable once made. A plan never holds a secret: a password given with the account
/// ([`NewUser::password`]) is not kept, and the account is created without one.
/// Serialized as `{"source_id", "user": <NewUser>, "fingerprint"}`.
#[derive(Clone, PartialEq, Eq)]
pub struct CreateUser {
    /// `[flags: u8][attribute pairs: u32][ends of the texts: u32 each][the texts]`, the
    /// texts in order source id, fingerprint, login, e-mail, display name, then each
    /// attribute's key and value (in key order); the header is built from `&str`s only.
    packed: Box<[u8]>,
}

const HAS_EMAIL: u8 = 1;
const HAS_DISPLAY_NAME: u8 = 2;
const ENABLED: u8 = 4;
/// Texts before the attributes.
const FIXED: usize = 5;

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
        let mut texts: Vec<&str> = Vec::with_capacity(FIXED + 2 * pairs);
        texts.extend([
            source_id,
            fingerprint,
            login,
            email.unwrap_or(""),
            display_name.unwrap_or(""),
        ]);
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
            | if enabled { ENABLED } else { 0 };
        let text_len: usize = texts.iter().map(|t| t.len()).sum();
        let mut packed = Vec::with_capacity(5 + 4 * texts.len() + text_len);
        packed.push(flags);
        packed.extend_from_slice(&u32_of(pairs).to_le_bytes());
        let mut end = 0usize;
        for t in &texts {
            end += t.len();
            packed.extend_from_slice(&u32_of(end).to_le_bytes());
        }
        for t in &texts {
            packed.extend_from_slice(t.as_bytes());
        }
        CreateUser {
            packed: packed.into_boxed_slice(),
        }
    }

    fn flags(&self) -> u8 {
        self.packed.first().copied().unwrap_or(0)
    }

    fn word(&self, at: usize) -> usize {
        self.packed
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, |b| u32::from_le_bytes(b) as usize)
    }

    fn texts(&self) -> usize {
        FIXED + 2 * self.word(1)
    }

    /// Text number `i`; "" past the end (never, for a packed value).
    fn text(&self, i: usize) -> &str {
        let base = 5 + 4 * self.texts();
        let start = if i == 0 {
            0
        } else {
            self.word(5 + 4 * (i - 1))
        };
        let end = self.word(5 + 4 * i);
        self.packed
            .get(base + start..base + end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// The source user's id.
    pub fn source_id(&self) -> &str {
        self.text(0)
    }

    /// The fingerprint of the desired state, stored with the link.
    pub fn fingerprint(&self) -> &str {
        self.text(1)
    }

    /// The login of the account to create.
    pub fn login(&self) -> &str {
        self.text(2)
    }

    /// Its e-mail address.
    pub fn email(&self) -> Option<&str> {
        (self.flags() & HAS_EMAIL != 0).then(|| self.text(3))
    }

    /// Its display name.
    pub fn display_name(&self) -> Option<&str> {
        (self.flags() & HAS_DISPLAY_NAME != 0).then(|| self.text(4))
    }

    /// Whether it starts enabled.
    pub fn enabled(&self) -> bool {
        self.flags() & ENABLED != 0
    }

    /// Its attributes, in key order.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        (0..self.word(1)).map(|p| (self.text(FIXED + 2 * p), self.text(FIXED + 2 * p + 1)))
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

impl Serialize for CreateUser {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("source_id", self.source_id())?;
        m.serialize_entry("user", &UserOut(self))?;
        m.serialize_entry("fingerprint", self.fingerprint())?;
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
        let empty = CreateUser::new("", &NewUser::new(""), "");
        assert_eq!(empty.login(), "");
        assert_eq!(empty.attributes().count(), 0);
    }
}
