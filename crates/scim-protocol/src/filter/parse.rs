//! The filter parser (RFC 7644 §3.4.2.2, ABNF in Figure 1): recursive descent over the
//! bytes of the text, with nesting bounded so that no input exhausts the stack.

use serde_json::Value;

use super::{CompareOp, Filter};
use crate::error::ScimError;
use crate::path::{AttrPath, parse_attr_path};

/// The deepest nesting of parentheses, `not` and value paths a filter may have; deeper
/// filters are refused with `invalidFilter`.
pub const MAX_FILTER_DEPTH: usize = 64;

/// Parses a filter (RFC 7644 §3.4.2.2).
///
/// # Errors
/// 400 `invalidFilter` with a detail naming the position (a 0-based byte offset) and
/// what was expected there, also for nesting deeper than [`MAX_FILTER_DEPTH`].
pub fn parse_filter(s: &str) -> Result<Filter, ScimError> {
    let mut p = Parser::new(s);
    let filter = p.or()?;
    p.ws();
    if p.pos < p.b.len() {
        return Err(p.error("expected 'and', 'or' or the end of the filter"));
    }
    Ok(filter)
}

/// Parses the value filter of a value path starting at byte `start` of `s` (just after
/// `[`), up to its `]`. Returns the filter and the offset of the `]`.
pub(crate) fn parse_value_filter(s: &str, start: usize) -> Result<(Filter, usize), ScimError> {
    let mut p = Parser::new(s);
    p.pos = start;
    p.in_value_path = true;
    let filter = p.or()?;
    p.ws();
    if p.peek() != Some(b']') {
        return Err(p.error("expected ']' closing the value filter"));
    }
    Ok((filter, p.pos))
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
    in_value_path: bool,
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'(' | b')' | b'[' | b']' | b'"')
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Parser {
            s,
            b: s.as_bytes(),
            pos: 0,
            depth: 0,
            in_value_path: false,
        }
    }

    fn error(&self, what: &str) -> ScimError {
        self.error_at(self.pos, what)
    }

    fn error_at(&self, at: usize, what: &str) -> ScimError {
        // The detail quotes the filter, cut short so that a huge input is not echoed back.
        let mut end = self.s.len().min(200);
        while !self.s.is_char_boundary(end) {
            end -= 1;
        }
        let more = if end < self.s.len() { "..." } else { "" };
        ScimError::invalid_filter(format!(
            "filter {:?}{more}: {what} at position {at}",
            &self.s[..end]
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// The word starting at the current position (up to a delimiter).
    fn word(&self) -> &'a str {
        let end = self.b[self.pos..]
            .iter()
            .position(|&b| is_delimiter(b))
            .map_or(self.b.len(), |n| self.pos + n);
        // Delimiters are ASCII, so `end` is a character boundary.
        self.s.get(self.pos..end).unwrap_or_default()
    }

    /// Consumes the keyword `kw` (any case) when it comes next, followed by whitespace or
    /// `(`; leaves the position unchanged otherwise.
    fn keyword(&mut self, kw: &str) -> bool {
        let save = self.pos;
        self.ws();
        let word = self.word();
        if word.eq_ignore_ascii_case(kw) {
            let after = self.pos + word.len();
            if self
                .b
                .get(after)
                .is_none_or(|&b| b.is_ascii_whitespace() || b == b'(')
            {
                self.pos = after;
                return true;
            }
        }
        self.pos = save;
        false
    }

    fn enter(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(self.error(&format!("nesting deeper than {MAX_FILTER_DEPTH} levels")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut parts = vec![self.unary()?];
        while self.keyword("and") {
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn group(&mut self) -> Result<Filter, ScimError> {
        // At '('.
        self.enter()?;
        self.pos += 1;
        let inner = self.or()?;
        self.ws();
        if self.peek() != Some(b')') {
            return Err(self.error("expected ')'"));
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(inner)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        self.ws();
        if self.peek() == Some(b'(') {
            return self.group();
        }
        let save = self.pos;
        if self.word().eq_ignore_ascii_case("not") {
            self.pos += 3;
            self.ws();
            if self.peek() == Some(b'(') {
                self.enter()?;
                let inner = self.group()?;
                self.depth -= 1;
                return Ok(Filter::Not(Box::new(inner)));
            }
            self.pos = save;
        }
        self.attribute_expression()
    }

    fn attr_path(&mut self) -> Result<AttrPath, ScimError> {
        let start = self.pos;
        let word = self.word();
        if word.is_empty() {
            return Err(self.error("expected an attribute path"));
        }
        let path = parse_attr_path(word)
            .map_err(|e| self.error_at(start, &format!("invalid attribute path ({})", e.detail)))?;
        self.pos += word.len();
        Ok(path)
    }

    fn attribute_expression(&mut self) -> Result<Filter, ScimError> {
        let path_start = self.pos;
        let path = self.attr_path()?;
        if self.peek() == Some(b'[') {
            if self.in_value_path {
                return Err(self.error("a value path inside a value filter"));
            }
            if path.sub_attribute.is_some() {
                return Err(self.error_at(path_start, "a value path on a sub-attribute"));
            }
            self.enter()?;
            self.pos += 1;
            self.in_value_path = true;
            let inner = self.or()?;
            self.in_value_path = false;
            self.ws();
            if self.peek() != Some(b']') {
                return Err(self.error("expected ']' closing the value filter"));
            }
            self.pos += 1;
            self.depth -= 1;
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        if !self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            return Err(self.error("expected an operator after the attribute path"));
        }
        self.ws();
        let op_at = self.pos;
        let word = self.word();
        if word.eq_ignore_ascii_case("pr") {
            self.pos += 2;
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::parse(word) else {
            return Err(self.error_at(
                op_at,
                "expected an operator (eq ne co sw ew gt ge lt le pr)",
            ));
        };
        self.pos += word.len();
        if !self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            return Err(self.error("expected a value after the operator"));
        }
        self.ws();
        let value_at = self.pos;
        let value = self.comp_value()?;
        if op.is_ordering() && !(value.is_string() || value.is_number()) {
            return Err(self.error_at(
                value_at,
                &format!("'{}' needs a string or a number", op.as_str()),
            ));
        }
        if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) && !value.is_string() {
            return Err(self.error_at(value_at, &format!("'{}' needs a string", op.as_str())));
        }
        Ok(Filter::Compare { path, op, value })
    }

    /// `compValue = false / null / true / number / string` (RFC 7644 §3.4.2.2); the words
    /// are read in any case.
    fn comp_value(&mut self) -> Result<Value, ScimError> {
        let start = self.pos;
        if self.peek() == Some(b'"') {
            let mut i = self.pos + 1;
            loop {
                match self.b.get(i) {
                    None => return Err(self.error_at(start, "unterminated string")),
                    Some(b'\\') => i += 2,
                    Some(b'"') => break,
                    Some(_) => i += 1,
                }
            }
            let literal = self.s.get(start..=i).unwrap_or_default();
            let text: String = serde_json::from_str(literal)
                .map_err(|e| self.error_at(start, &format!("invalid string ({e})")))?;
            self.pos = i + 1;
            return Ok(Value::String(text));
        }
        let word = self.word();
        let value = if word.eq_ignore_ascii_case("true") {
            Value::Bool(true)
        } else if word.eq_ignore_ascii_case("false") {
            Value::Bool(false)
        } else if word.eq_ignore_ascii_case("null") {
            Value::Null
        } else {
            match serde_json::from_str::<serde_json::Number>(word) {
                Ok(n) if !word.is_empty() => Value::Number(n),
                _ => {
                    return Err(self.error(
                        "expected a value (a quoted string, a number, true, false or null)",
                    ));
                }
            }
        };
        self.pos += word.len();
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use serde_json::json;

    fn parse(s: &str) -> Filter {
        parse_filter(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// Every example filter of RFC 7644 §3.4.2.2 parses and prints back to a filter that
    /// parses to the same tree.
    #[test]
    fn the_rfc_examples_parse_and_round_trip() {
        for s in [
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            r#"title pr"#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ] {
            let f = parse(s);
            let again = parse(&f.to_string());
            assert_eq!(again, f, "{s} -> {f}");
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let f = parse(r#"a eq 1 or b eq 2 and not (c pr) or d pr"#);
        let Filter::Or(parts) = &f else {
            panic!("or at the top: {f:?}")
        };
        assert_eq!(parts.len(), 3);
        let Filter::And(and) = &parts[1] else {
            panic!("and in the middle: {f:?}")
        };
        assert!(matches!(and[1], Filter::Not(_)));
        let g = parse(r#"(a eq 1 or b eq 2) and c pr"#);
        assert!(matches!(&g, Filter::And(p) if matches!(p[0], Filter::Or(_))));
    }

    #[test]
    fn operators_keywords_and_literals_are_read_in_any_case() {
        let f = parse(r#"userName EQ "x" AND active Eq True OR Not (title PR)"#);
        assert!(matches!(f, Filter::Or(_)));
        assert_eq!(
            parse("x eq NULL"),
            Filter::eq(AttrPath::new("x"), Value::Null)
        );
        assert_eq!(
            parse("x ge -1.5e2"),
            Filter::Compare {
                path: AttrPath::new("x"),
                op: CompareOp::Ge,
                value: json!(-150.0)
            }
        );
        assert_eq!(
            parse(r#"displayName eq "a \"b\" \u00e9""#),
            Filter::eq(AttrPath::new("displayName"), "a \"b\" é")
        );
    }

    #[test]
    fn errors_are_invalid_filter_naming_the_position() {
        for (s, at) in [
            ("userName eq", "position 11"),
            ("userName xx \"a\"", "position 9"),
            ("userName eq \"a", "position 12"),
            ("(userName pr", "position 12"),
            ("userName pr and", "position 15"),
            ("userName pr )", "position 12"),
            ("emails[type eq \"work\"", "position 21"),
            ("emails[type[value pr]]", "position 11"),
            ("a gt true", "position 5"),
            ("a co 1", "position 5"),
            ("a eq bjensen", "position 5"),
            ("", "position 0"),
        ] {
            let e = parse_filter(s).expect_err(s);
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{s}");
            assert_eq!(e.status, 400);
            assert!(e.detail.contains(at), "{s}: {}", e.detail);
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!(
            "{}a pr{}",
            "(".repeat(MAX_FILTER_DEPTH),
            ")".repeat(MAX_FILTER_DEPTH)
        );
        assert!(parse_filter(&ok).is_ok());
        let deep = format!("{}a pr{}", "(".repeat(100_000), ")".repeat(100_000));
        let e = parse_filter(&deep).expect_err("too deep");
        assert!(e.detail.contains("nesting deeper than 64"), "{}", e.detail);
        let nots = "not (".repeat(40) + "a pr" + &")".repeat(40);
        assert!(parse_filter(&nots).is_err());
        let long = vec!["a pr"; 50_000].join(" and ");
        assert!(matches!(parse_filter(&long), Ok(Filter::And(p)) if p.len() == 50_000));
    }
}
