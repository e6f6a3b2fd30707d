//! The first credentials of an account the bridge creates.
//!
//! A created account must never be loginable with a blank or guessable password. An
//! adapter either binds it to the company's sign-in (an LDAP DN, a trusted-authentication
//! id, a single-sign-on source type), built from the new user by a [`UserTemplate`] in the
//! target's configuration, or gives it a [`random_password`] that nobody sees: it is made
//! here, sent once in the create request, and never logged, planned or journaled (it is a
//! [`Secret`], which prints redacted).

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::template::{Field, Template};
use crate::{NewUser, Secret};

/// The length of a [`random_password`]: 32 characters from 70 symbols, about 196 bits.
pub const RANDOM_PASSWORD_LEN: usize = 32;

const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"-_.!#%+=@~";

/// A fresh random password of [`RANDOM_PASSWORD_LEN`] characters, with at least one
/// lower-case letter, one upper-case letter, one digit and one symbol, so that it passes
/// the usual password policies. Drawn from the thread-local generator, which is a
/// cryptographically secure generator seeded (and periodically reseeded) from the
/// operating system.
pub fn random_password() -> Secret {
    let mut rng = rand::rng();
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS]
        .iter()
        .filter_map(|set| set.choose(&mut rng).copied())
        .collect();
    while chars.len() < RANDOM_PASSWORD_LEN {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    // Fisher-Yates, so that the four guaranteed classes are not always first.
    for i in (1..chars.len()).rev() {
        let j = rng.random_range(0..=i);
        chars.swap(i, j);
    }
    Secret::new(String::from_utf8_lossy(&chars).into_owned())
}

/// Text built from a new user, such as an LDAP DN `uid={login},ou=people,dc=example,dc=com`
/// or a trusted-authentication id `{email|lower}`: a [`Template`] whose fields all have a
/// value, or an error naming the one missing.
///
/// Placeholders: `{login}`, `{email}`, `{display_name}`, `{attr.NAME}` (an attribute of
/// the new user), each optionally followed by filters `|lower`, `|upper` or `|trim`. `{{`
/// and `}}` are literal braces. Values are read without their surrounding white space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTemplate(Template);

impl UserTemplate {
    /// Parses a template.
    ///
    /// # Errors
    /// A message naming the unknown placeholder or filter, an unclosed brace, `{id}` (a
    /// new user has no id yet), or an empty template.
    pub fn parse(text: &str) -> Result<UserTemplate, String> {
        let template = Template::parse(text)?;
        if template.is_empty() {
            return Err("the template is empty".into());
        }
        if template.fields().any(|f| *f == Field::Id) {
            return Err(format!(
                "`{{id}}` in template `{text}`: a new account has no id yet; known: login, \
                 email, display_name, attr.<name>"
            ));
        }
        Ok(UserTemplate(template))
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The text for `user`.
    ///
    /// # Errors
    /// A message naming the placeholder when the user has no value for it (an account is
    /// not bound to a half-built identity).
    pub fn render(&self, user: &NewUser) -> Result<String, String> {
        let value = |field: &Field| {
            match field {
                Field::Id => None,
                Field::Login => Some(user.login.as_str()),
                Field::Email => user.email.as_deref(),
                Field::DisplayName => user.display_name.as_deref(),
                Field::Attr(a) => user.attributes.get(a).map(String::as_str),
            }
            .map(str::trim)
        };
        match self.0.render_with(value) {
            Ok(text) => Ok(text.into_owned()),
            Err(field) => {
                let name = match field {
                    Field::Attr(a) => a.clone(),
                    other => other.name().into_owned(),
                };
                Err(format!(
                    "user `{}` has no {name} for the template `{}`",
                    user.login,
                    self.as_str()
                ))
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for UserTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        UserTemplate::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_passwords_are_long_mixed_and_different() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = random_password();
            let s = p.expose();
            assert_eq!(s.chars().count(), RANDOM_PASSWORD_LEN);
            assert!(s.bytes().any(|b| LOWER.contains(&b)), "{s}");
            assert!(s.bytes().any(|b| UPPER.contains(&b)), "{s}");
            assert!(s.bytes().any(|b| DIGITS.contains(&b)), "{s}");
            assert!(s.bytes().any(|b| SYMBOLS.contains(&b)), "{s}");
            assert!(seen.insert(s.to_string()), "a password came twice");
            assert!(
                !format!("{p:?} {p}").contains(s),
                "a secret prints redacted"
            );
        }
    }

    #[test]
    fn templates_render_from_the_new_user() {
        let mut u = NewUser::new("Ada");
        u.email = Some("Ada@Example.com".into());
        u.attributes.insert("dept".into(), "R&D".into());
        let t = UserTemplate::parse("uid={login|lower},ou={attr.dept},dc=x {{y}}").expect("valid");
        assert_eq!(t.render(&u).expect("renders"), "uid=ada,ou=R&D,dc=x {y}");
        let t = UserTemplate::parse("{email|lower}").expect("valid");
        assert_eq!(t.render(&u).expect("renders"), "ada@example.com");
        let err = UserTemplate::parse("{display_name}")
            .expect("valid")
            .render(&u)
            .expect_err("no display name");
        assert!(err.contains("display_name") && err.contains("Ada"), "{err}");
        for bad in [
            "",
            "{nope}",
            "{login|shout}",
            "{login",
            "a}b",
            "{attr.}",
            "{id}",
        ] {
            assert!(UserTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
