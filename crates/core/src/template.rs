//! Templates: text built from a user's fields, such as a target login
//! `"{email|lower}"`, an LDAP DN `"uid={login},ou=people,dc=example,dc=com"` or
//! `"{display_name} ({attr.department})"`.
//!
//! Fields: `id`, `login`, `email`, `display_name`, `attr.<name>` (an attribute). Filters,
//! applied left to right: `lower`, `upper` (both leave the text NFC-normalised), `trim`.
//! `{{` and `}}` stand for literal braces. A field with no value (missing, empty or only
//! white space) leaves the whole template without a value for that user: what the caller
//! makes of that ([`Template::render_with`] names the field) is its own rule.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// A user field a template can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The stable id (of a source user; a new account has none yet).
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

impl Field {
    /// The field's name as a template writes it (`login`, `attr.department`).
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            Field::Id => "id".into(),
            Field::Login => "login".into(),
            Field::Email => "email".into(),
            Field::DisplayName => "display_name".into(),
            Field::Attr(a) => format!("attr.{a}").into(),
        }
    }
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

/// A parsed template. Two templates are equal when they build the same text, however
/// they were written.
#[derive(Debug, Clone)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl Eq for Template {}

impl Template {
    /// A template that copies one field.
    pub fn field(field: Field) -> Template {
        Template {
            text: format!("{{{}}}", field.name()),
            parts: vec![Part::Field(field, Vec::new())],
        }
    }

    /// Parses a template.
    ///
    /// # Errors
    /// A message naming the problem (unknown field or filter, unbalanced brace) and the
    /// template.
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
        Ok(Template {
            text: text.to_string(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the template builds nothing at all (it was written empty).
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The fields the template reads, in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f, _) => Some(f),
            Part::Lit(_) => None,
        })
    }

    /// Builds the text, reading each field's value from `value`. A template that copies
    /// one field unchanged borrows it.
    ///
    /// # Errors
    /// The first field with no value (`None`, empty or only white space).
    pub fn render_with<'u>(
        &self,
        value: impl Fn(&Field) -> Option<&'u str>,
    ) -> Result<Cow<'u, str>, &Field> {
        let read = |field| value(field).filter(|v| !v.trim().is_empty()).ok_or(field);
        if let [Part::Field(field, filters)] = self.parts.as_slice()
            && filters.is_empty()
        {
            return read(field).map(Cow::Borrowed);
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Field(field, filters) => {
                    let mut v = read(field)?.to_string();
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
        Ok(Cow::Owned(out))
    }
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

    fn ada(field: &Field) -> Option<&'static str> {
        match field {
            Field::Id => Some("u1"),
            Field::Login => Some("Ada.Lovelace"),
            Field::Email => Some("Ada.Lovelace@Example.com"),
            Field::DisplayName => Some("  "),
            Field::Attr(a) if a == "department" => Some("R&D"),
            Field::Attr(_) => None,
        }
    }

    #[test]
    fn renders_fields_filters_and_literals() {
        let t = Template::parse("{email|lower}").expect("parses");
        assert_eq!(
            t.render_with(ada).as_deref(),
            Ok("ada.lovelace@example.com")
        );
        let t = Template::parse("{login|upper}-{attr.department} {{x}}").expect("parses");
        assert_eq!(t.render_with(ada).as_deref(), Ok("ADA.LOVELACE-R&D {x}"));
        assert!(matches!(
            Template::field(Field::Id).render_with(ada),
            Ok(Cow::Borrowed("u1"))
        ));
        assert_eq!(Template::field(Field::Email).as_str(), "{email}");
        assert_eq!(
            Template::parse("{ login }").expect("parses"),
            Template::field(Field::Login)
        );
    }

    #[test]
    fn a_missing_or_blank_value_names_its_field() {
        let t = Template::parse("{display_name} ({login})").expect("parses");
        assert_eq!(t.render_with(ada), Err(&Field::DisplayName));
        let t = Template::parse("{attr.cost_center}").expect("parses");
        assert_eq!(
            t.render_with(ada).map_err(Field::name),
            Err("attr.cost_center".into())
        );
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
            assert!(err.contains(text), "{text}: {err}");
        }
        assert!(Template::parse("").expect("parses").is_empty());
    }
}
