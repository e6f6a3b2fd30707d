//! Versions (RFC 7644 §3.14): the entity tag of a resource (`meta.version`) and the
//! `If-Match` / `If-None-Match` preconditions on it.

/// A weak entity tag for a version counter or digest: `W/"<opaque>"`. Quotes and
/// backslashes in `opaque` are left out, as an entity tag cannot hold them (RFC 7232
/// §2.3).
pub fn weak_etag(opaque: &str) -> String {
    let clean: String = opaque.chars().filter(|c| *c != '"' && *c != '\\').collect();
    format!("W/\"{clean}\"")
}

/// The opaque part of an entity tag, without `W/` and quotes.
fn opaque(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag
        .strip_prefix("W/")
        .or_else(|| tag.strip_prefix("w/"))
        .unwrap_or(tag);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag)
}

/// Whether an `If-Match` header value lets a write go on against the resource whose
/// version is `current` (RFC 7232 §3.1, compared weakly as SCIM versions are weak tags):
/// `*` matches any existing resource, otherwise one of the comma-separated tags must
/// name `current`. A service provider answers 412 when it does not.
pub fn if_match(header: &str, current: &str) -> bool {
    let want = opaque(current);
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || (!tag.is_empty() && opaque(tag) == want))
}

/// Whether an `If-None-Match` header value lets a read answer in full (RFC 7232 §3.2,
/// weak comparison): `false` when `*` or one of the tags names `current`, so the service
/// provider answers 304 Not Modified.
pub fn if_none_match(header: &str, current: &str) -> bool {
    !if_match(header, current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preconditions_compare_tags_weakly() {
        let v = weak_etag("3694e05e9dff591");
        assert_eq!(v, "W/\"3694e05e9dff591\"");
        assert!(if_match("W/\"3694e05e9dff591\"", &v));
        assert!(if_match("\"3694e05e9dff591\"", &v));
        assert!(if_match("W/\"old\", W/\"3694e05e9dff591\"", &v));
        assert!(if_match("*", &v));
        assert!(!if_match("W/\"3694e05e9dff590\"", &v));
        assert!(!if_match("", &v));
        assert!(!if_none_match("W/\"3694e05e9dff591\"", &v));
        assert!(if_none_match("W/\"x\"", &v));
        assert_eq!(weak_etag("a\"b\\c"), "W/\"abc\"");
    }
}
