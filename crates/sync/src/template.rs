//! Attribute templates: how a target field is built from a source user.
//!
//! A template is text with placeholders: `"{email|lower}"`, `"{login}@corp.example"`,
//! `"{display_name} ({attr.department})"`. Fields: `id`, `login`, `email`,
//! `display_name`, `attr.<name>` (a source attribute). Filters, applied left to right:
//! `lower`, `upper`, `trim`. `{{` and `}}` stand for literal braces. When a placeholder's
//! field has no value for a user, the whole template has no value for that user.
//!
//! The parser and the rendering are [`idbridge_core::template`]'s; this adds reading the
//! fields from a source user.

use std::borrow::Cow;

pub use idbridge_core::template::{Field, Filter};

use crate::table::UserRef;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(idbridge_core::template::Template);

impl Template {
    /// A template that copies one field.
    pub fn field(field: Field) -> Template {
        Template(idbridge_core::template::Template::field(field))
    }

    /// Parses a template.
    ///
    /// # Errors
    /// A message naming the problem (unknown field or filter, unbalanced brace).
    pub fn parse(text: &str) -> Result<Template, String> {
        idbridge_core::template::Template::parse(text).map(Template)
    }

    /// Renders the template for one user; `None` when a placeholder's field has no value.
    /// A template that copies one field unchanged borrows it.
    pub fn render<'u>(&self, user: impl Into<UserRef<'u>>) -> Option<Cow<'u, str>> {
        let user = user.into();
        self.0.render_with(|field| value(field, &user)).ok()
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
    fn bad_templates_are_rejected_with_the_parser_reason() {
        // Every kind of bad template is tested with the parser in `idbridge_core`.
        let err = Template::parse("{mail}").expect_err("an unknown field");
        assert!(err.contains("unknown field `mail`"), "{err}");
    }
}
