//! Attribute templates: how a target field is built from a source user.
//!
//! A template is text with placeholders: `"{email|lower}"`, `"{login}@corp.example"`,
//! `"{display_name} ({attr.department})"`. Fields: `id`, `login`, `email`,
//! `display_name`, `attr.<name>` (a source attribute). Filters, applied left to right:
//! `lower`, `upper`, `trim`. `{{` and `}}` stand for literal braces. When a placeholder's
//! field has no value for a user, the whole template has no value for that user.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use crate::table::UserRef;

/// A source field a template can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The source's stable id.
    Id,
    /// The login.
    Login,
    /// The email.
    Email,
    /// The display name.
    DisplayName,
    /// A free-form attribute.
    Attr(String),
}

/// A transformation of a placeholder's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Lower-case.
    Lower,
    /// Upper-case.
    Upper,
    /// Strip leading and trailing white space.
    Trim,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Field(Field, Vec<Filter>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// A template that copies one field.
    pub fn field(field: Field) -> Template {
        Template {
            parts: vec![Part::Field(field, Vec::new())],
        }
    }

    /// Parses a template.
    ///
    /// # Errors
    /// A message naming the problem (unknown field or filter, unbalanced brace).
    pub fn parse(text: &str) -> Result<Template, String> {
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
                '}' => {
                    return Err(format!(
                        "unmatched `}}` in template `{text}` (write `}}}}` for a literal brace)"
                    ));
                }
                '{' => {
                    let mut inner = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        inner.push(c);
                    }
                    if !closed {
                        return Err(format!("unclosed `{{` in template `{text}`"));
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(parse_placeholder(&inner, text)?);
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    /// Renders the template for one user; `None` when a placeholder's field has no value.
    /// A template that copies one field unchanged borrows it.
    pub fn render<'u>(&self, user: impl Into<UserRef<'u>>) -> Option<Cow<'u, str>> {
        let user = user.into();
        if let [Part::Field(field, filters)] = self.parts.as_slice() {
            if filters.is_empty() {
                return value(field, &user).map(Cow::Borrowed);
            }
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Field(field, filters) => {
                    let mut v = value(field, &user)?.to_string();
                    for f in filters {
                        v = match f {
                            Filter::Lower => v.to_lowercase().nfc().collect(),
                            Filter::Upper => v.to_uppercase().nfc().collect(),
                            Filter::Trim => v.trim().to_string(),
                        };
                    }
                    out.push_str(&v);
                }
            }
        }
        Some(Cow::Owned(out))
    }
}

fn value<'a>(field: &Field, user: &UserRef<'a>) -> Option<&'a str> {
    match field {
        Field::Id => Some(user.id),
        Field::Login => Some(user.login),
        Field::Email => user.email,
        Field::DisplayName => user.display_name,
        Field::Attr(name) => user.attributes.get(name).map(String::as_str),
    }
    .filter(|v| !v.trim().is_empty())
}

fn parse_placeholder(inner: &str, text: &str) -> Result<Part, String> {
    let mut pieces = inner.split('|').map(str::trim);
    let name = pieces.next().unwrap_or_default();
    let field = match name {
        "id" => Field::Id,
        "login" => Field::Login,
        "email" => Field::Email,
        "display_name" => Field::DisplayName,
        other => match other.strip_prefix("attr.") {
            Some(attr) if !attr.is_empty() => Field::Attr(attr.to_string()),
            _ => {
                return Err(format!(
                    "unknown field `{other}` in template `{text}`; known: id, login, email, \
                     display_name, attr.<name>"
                ));
            }
        },
    };
    let mut filters = Vec::new();
    for f in pieces {
        filters.push(match f {
            "lower" => Filter::Lower,
            "upper" => Filter::Upper,
            "trim" => Filter::Trim,
            other => {
                return Err(format!(
                    "unknown filter `{other}` in template `{text}`; known: lower, upper, trim"
                ));
            }
        });
    }
    Ok(Part::Field(field, filters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::User;

    fn user() -> User {
        User {
            id: "u1".into(),
            login: "Ada.Lovelace".into(),
            email: Some("Ada.Lovelace@Example.com".into()),
            display_name: None,
            enabled: true,
            attributes: [("department".to_string(), "R&D".to_string())].into(),
        }
    }

    #[test]
    fn renders_fields_filters_and_literals() {
        let t = Template::parse("{email|lower}").expect("parses");
        assert_eq!(
            t.render(&user()).as_deref(),
            Some("ada.lovelace@example.com")
        );
        let t = Template::parse("{login|upper}-{attr.department} {{x}}").expect("parses");
        assert_eq!(t.render(&user()).as_deref(), Some("ADA.LOVELACE-R&D {x}"));
        assert_eq!(
            Template::field(Field::Id).render(&user()).as_deref(),
            Some("u1")
        );
    }

    #[test]
    fn a_missing_value_makes_the_whole_template_empty() {
        let t = Template::parse("{display_name} ({login})").expect("parses");
        assert_eq!(t.render(&user()), None);
        let t = Template::parse("{attr.cost_center}").expect("parses");
        assert_eq!(t.render(&user()), None);
    }

    #[test]
    fn bad_templates_are_rejected_with_the_reason() {
        for (text, needle) in [
            ("{mail}", "unknown field `mail`"),
            ("{email|lowercase}", "unknown filter `lowercase`"),
            ("{email", "unclosed"),
            ("x}", "unmatched"),
            ("{attr.}", "unknown field"),
        ] {
            let err = Template::parse(text).expect_err(text);
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
