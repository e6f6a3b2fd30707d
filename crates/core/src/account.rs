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

/// A field of a new user that a [`UserTemplate`] can read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Login,
    Email,
    DisplayName,
    Attr(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Field(Field, Vec<Case>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Lower,
    Upper,
}

/// Text built from a new user, such as an LDAP DN `uid={login},ou=people,dc=example,dc=com`
/// or a trusted-authentication id `{email|lower}`.
///
/// Placeholders: `{login}`, `{email}`, `{display_name}`, `{attr.NAME}` (an attribute of
/// the new user), each optionally followed by filters `|lower` or `|upper`. `{{` and `}}`
/// are literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTemplate {
    text: String,
    parts: Vec<Part>,
}

impl UserTemplate {
    /// Parses a template.
    ///
    /// # Errors
    /// A message naming the unknown placeholder or filter, an unclosed brace, or an empty
    /// template.
    pub fn parse(text: &str) -> Result<UserTemplate, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => return Err("a `}` without its `{` (write `}}` for a brace)".into()),
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => inner.push(c),
                            None => return Err(format!("`{{{inner}` is not closed")),
                        }
                    }
                    let mut pieces = inner.split('|').map(str::trim);
                    let field = match pieces.next().unwrap_or_default() {
                        "login" => Field::Login,
                        "email" => Field::Email,
                        "display_name" => Field::DisplayName,
                        other => match other.strip_prefix("attr.") {
                            Some(name) if !name.is_empty() => Field::Attr(name.to_string()),
                            _ => {
                                return Err(format!(
                                    "unknown placeholder `{{{inner}}}`; known: {{login}}, {{email}}, {{display_name}}, {{attr.NAME}}"
                                ));
                            }
                        },
                    };
                    let mut cases = Vec::new();
                    for f in pieces {
                        cases.push(match f {
                            "lower" => Case::Lower,
                            "upper" => Case::Upper,
                            other => {
                                return Err(format!(
                                    "unknown filter `{other}` in `{{{inner}}}`; known: lower, upper"
                                ));
                            }
                        });
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Field(field, cases));
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        if parts.is_empty() {
            return Err("the template is empty".into());
        }
        Ok(UserTemplate {
            text: text.to_string(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text for `user`.
    ///
    /// # Errors
    /// A message naming the placeholder when the user has no value for it (an account is
    /// not bound to a half-built identity).
    pub fn render(&self, user: &NewUser) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Field(field, cases) => {
                    let (name, value) = match field {
                        Field::Login => ("login", Some(user.login.as_str())),
                        Field::Email => ("email", user.email.as_deref()),
                        Field::DisplayName => ("display_name", user.display_name.as_deref()),
                        Field::Attr(a) => (a.as_str(), user.attributes.get(a).map(String::as_str)),
                    };
                    let value =
                        value
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .ok_or_else(|| {
                                format!(
                                    "user `{}` has no {name} for the template `{}`",
                                    user.login, self.text
                                )
                            })?;
                    let mut value = value.to_string();
                    for c in cases {
                        value = match c {
                            Case::Lower => value.to_lowercase(),
                            Case::Upper => value.to_uppercase(),
                        };
                    }
                    out.push_str(&value);
                }
            }
        }
        Ok(out)
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
        for bad in ["", "{nope}", "{login|shout}", "{login", "a}b", "{attr.}"] {
            assert!(UserTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
