//! Attribute paths (RFC 7644 §3.10 `attrPath`) and PATCH paths (RFC 7644 §3.5.2 `PATH`).

use std::fmt;

use crate::error::ScimError;
use crate::filter::{Filter, parse_value_filter};

/// An attribute path (RFC 7644 §3.10): `[URI ":"] ATTRNAME ["." subAttr]`, e.g. `userName`,
/// `name.givenName`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
/// Names are kept as written; schema lookups compare them without regard to case (RFC 7643
/// §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN the attribute is qualified with, without the trailing `:`.
    pub schema: Option<String>,
    /// The attribute's name.
    pub attribute: String,
    /// The sub-attribute's name, for a complex attribute.
    pub sub_attribute: Option<String>,
}

impl AttrPath {
    /// An unqualified path of one attribute.
    pub fn new(attribute: impl Into<String>) -> Self {
        AttrPath {
            schema: None,
            attribute: attribute.into(),
            sub_attribute: None,
        }
    }

    /// The same path with `sub` as its sub-attribute.
    pub fn with_sub(mut self, sub: impl Into<String>) -> Self {
        self.sub_attribute = Some(sub.into());
        self
    }

    /// The same path with `schema` as its URN.
    pub fn in_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The URN `schema:attribute`, for a path that may name a whole schema extension
    /// (`urn:...:enterprise:2.0:User` parses as schema `urn:...:enterprise:2.0`, attribute
    /// `User`); `None` when unqualified or with a sub-attribute.
    pub fn as_urn(&self) -> Option<String> {
        match (&self.schema, &self.sub_attribute) {
            (Some(schema), None) => Some(format!("{schema}:{}", self.attribute)),
            _ => None,
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.attribute)?;
        if let Some(sub) = &self.sub_attribute {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Whether `name` is an `ATTRNAME` (RFC 7643 §2.1: `ALPHA *(nameChar)`), also allowing the
/// leading `$` of `$ref`.
pub(crate) fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$')
}

/// Parses an attribute path (RFC 7644 §3.10). The schema URN is everything before the last
/// `:` (URNs contain dots, as in `2.0`, but attribute names never contain `:`).
///
/// # Errors
/// 400 `invalidPath` naming the path when it is empty, a name is not an `ATTRNAME`, or it
/// has more than one sub-attribute level.
pub fn parse_attr_path(s: &str) -> Result<AttrPath, ScimError> {
    let bad = |why: &str| ScimError::invalid_path(format!("attribute path {s:?}: {why}"));
    let (schema, rest) = match s.rfind(':') {
        Some(i) => {
            let schema = &s[..i];
            if schema.is_empty() || schema.ends_with(':') {
                return Err(bad("empty schema URN"));
            }
            (Some(schema.to_string()), &s[i + 1..])
        }
        None => (None, s),
    };
    let mut parts = rest.split('.');
    let attribute = parts.next().unwrap_or_default();
    let sub = parts.next();
    if parts.next().is_some() {
        return Err(bad("more than one sub-attribute level"));
    }
    if !is_attr_name(attribute) {
        return Err(bad("expected an attribute name"));
    }
    if let Some(sub) = sub {
        if !is_attr_name(sub) {
            return Err(bad("expected a sub-attribute name after '.'"));
        }
    }
    Ok(AttrPath {
        schema,
        attribute: attribute.to_string(),
        sub_attribute: sub.map(str::to_string),
    })
}

/// A PATCH path (RFC 7644 §3.5.2): `attrPath`, or `valuePath [subAttr]` such as
/// `members[value eq "2819c223"]` or `emails[type eq "work"].value`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute; its `sub_attribute` is set only for a path without a filter
    /// (`name.givenName`).
    pub attr: AttrPath,
    /// The value selection filter between brackets, over the attribute's sub-attributes.
    pub value_filter: Option<Filter>,
    /// The sub-attribute after the brackets (`emails[...].value`).
    pub sub_attribute: Option<String>,
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.value_filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attribute {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Parses a PATCH path (RFC 7644 §3.5.2, ABNF `PATH = attrPath / valuePath [subAttr]`).
///
/// # Errors
/// 400 `invalidPath` for a malformed attribute path or text after the brackets other than
/// one `.subAttr`; 400 `invalidFilter` for a malformed value filter.
pub fn parse_patch_path(s: &str) -> Result<PatchPath, ScimError> {
    let Some(open) = s.find('[') else {
        return Ok(PatchPath {
            attr: parse_attr_path(s)?,
            value_filter: None,
            sub_attribute: None,
        });
    };
    let attr = parse_attr_path(&s[..open])?;
    if attr.sub_attribute.is_some() {
        return Err(ScimError::invalid_path(format!(
            "path {s:?}: a value filter applies to an attribute, not a sub-attribute"
        )));
    }
    let (filter, close) = parse_value_filter(s, open + 1)?;
    let rest = &s[close + 1..];
    let sub_attribute = if rest.is_empty() {
        None
    } else {
        match rest.strip_prefix('.') {
            Some(sub) if is_attr_name(sub) => Some(sub.to_string()),
            _ => {
                return Err(ScimError::invalid_path(format!(
                    "path {s:?}: expected '.subAttribute' or the end after ']'"
                )));
            }
        }
    };
    Ok(PatchPath {
        attr,
        value_filter: Some(filter),
        sub_attribute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;

    #[test]
    fn attribute_paths_split_the_urn_at_the_last_colon() {
        let p = parse_attr_path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName")
            .expect("parses");
        assert_eq!(
            p.schema.as_deref(),
            Some("urn:ietf:params:scim:schemas:core:2.0:User")
        );
        assert_eq!(p.attribute, "name");
        assert_eq!(p.sub_attribute.as_deref(), Some("givenName"));
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName"
        );
        let ext = parse_attr_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
            .expect("parses");
        assert_eq!(
            ext.as_urn().as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(parse_attr_path("$ref").expect("parses").attribute, "$ref");
    }

    #[test]
    fn malformed_attribute_paths_are_invalid_paths() {
        for bad in [
            "", "a.b.c", "1abc", "name.", ":x", "urn::x", "a b", "emails[", "a:",
        ] {
            let e = parse_attr_path(bad).expect_err(bad);
            assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{bad}");
            assert_eq!(e.status, 400);
        }
    }

    #[test]
    fn patch_paths_carry_a_value_filter_and_a_sub_attribute() {
        let p = parse_patch_path("emails[type eq \"work\"].value").expect("parses");
        assert_eq!(p.attr, AttrPath::new("emails"));
        assert!(p.value_filter.is_some());
        assert_eq!(p.sub_attribute.as_deref(), Some("value"));
        assert_eq!(p.to_string(), "emails[type eq \"work\"].value");
        let m = parse_patch_path("members[value eq \"2819c223-7f76-453a-919d-413861904646\"]")
            .expect("parses");
        assert!(m.sub_attribute.is_none());
        let plain = parse_patch_path("name.familyName").expect("parses");
        assert_eq!(plain.attr.sub_attribute.as_deref(), Some("familyName"));
        assert!(plain.value_filter.is_none());
    }

    #[test]
    fn malformed_patch_paths_are_refused() {
        for (bad, kind) in [
            ("emails[type eq \"work\"", ScimType::InvalidFilter),
            ("emails[type eq \"work\"]x", ScimType::InvalidPath),
            ("emails[type eq \"work\"].", ScimType::InvalidPath),
            ("name.x[type eq \"a\"]", ScimType::InvalidPath),
            ("emails[]", ScimType::InvalidFilter),
            ("[type eq \"a\"]", ScimType::InvalidPath),
        ] {
            let e = parse_patch_path(bad).expect_err(bad);
            assert_eq!(e.scim_type, Some(kind), "{bad}: {e}");
        }
    }
}
