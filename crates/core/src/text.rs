//! Showing data from files and servers to a person.
//!
//! Names, logins, e-mails and vendor messages come from systems idbridge does not control.
//! Printed raw, a control character in one of them acts on the reader's terminal: `ESC[2K
//! ESC[1A` erases the line above, a carriage return or newline forges a line of a plan,
//! U+202E (right-to-left override) shows `resu.nimda` for `admin.user`. Every
//! human-readable rendering therefore shows such characters escaped, through this module:
//! [`Escaped`] (or [`escape`]) for a value interpolated into a line, [`escape_lines`] for
//! whole multi-line texts that idbridge composed itself, and [`escape_json`] for JSON that
//! must stay JSON.
//!
//! An escaped character reads `\u{1b}` (Rust's notation; `\n`, `\r` and `\t` for the
//! three common ones). Backslashes are left as they are, so `DOMAIN\user` still reads as
//! written.

use std::borrow::Cow;
use std::fmt;

/// Whether `c` must not reach a terminal as it is: C0 controls (tab, newline and carriage
/// return included), DEL, C1 controls, Unicode's bidirectional formatting characters
/// (embeddings, overrides, isolates and marks), line and paragraph separators, and the
/// invisible zero-width characters that make two different names look alike.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}')
}

/// Whether `text` is printable ASCII only, apart from the bytes `also` lets through: no
/// rule here changes such a text. Checked a byte at a time, which is many times quicker
/// than decoding characters, and most texts (a plan of millions of lines) are like that.
fn printable_ascii(text: &str, also: impl Fn(u8) -> bool) -> bool {
    // Folded without stopping early, which the compiler turns into vector code: a text
    // that is not printable ASCII is rare, and then the character rules decide anyway.
    text.bytes()
        .fold(true, |ok, b| ok & ((b' '..=b'~').contains(&b) | also(b)))
}

fn write_escaped(f: &mut impl fmt::Write, text: &str, keep_newlines: bool) -> fmt::Result {
    if printable_ascii(text, |b| keep_newlines && b == b'\n') {
        return f.write_str(text);
    }
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if !is_unsafe(c) || (keep_newlines && c == '\n') {
            continue;
        }
        f.write_str(&text[start..i])?;
        match c {
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c => write!(f, "\\u{{{:x}}}", u32::from(c))?,
        }
        start = i + c.len_utf8();
    }
    f.write_str(&text[start..])
}

/// A value from data, displayed with every [unsafe](is_unsafe) character escaped
/// (newlines included, so that a value always stays on its line).
///
/// ```
/// use idbridge_core::text::Escaped;
/// assert_eq!(Escaped("a\u{1b}[2Kb").to_string(), "a\\u{1b}[2Kb");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, false)
    }
}

/// `text` with every [unsafe](is_unsafe) character escaped, newlines included; borrowed
/// when there is nothing to escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_inner(text, false)
}

/// `text` with every [unsafe](is_unsafe) character escaped except newlines: for a whole
/// multi-line text whose line structure is idbridge's own (a rendered report, an error
/// message quoting a parser's snippet). Values interpolated into it should already have
/// gone through [`Escaped`], so that their newlines cannot forge lines.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_inner(text, true)
}

fn escape_inner(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    if printable_ascii(text, |b| keep_newlines && b == b'\n')
        || !text
            .chars()
            .any(|c| is_unsafe(c) && !(keep_newlines && c == '\n'))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    // Writing to a String cannot fail.
    let _ = write_escaped(&mut out, text, keep_newlines);
    Cow::Owned(out)
}

/// Serialized JSON with the [unsafe](is_unsafe) characters a JSON serializer leaves raw
/// (DEL, C1 controls, bidirectional and zero-width characters) written as `\uXXXX` escapes:
/// the same JSON value, safe to show on a terminal. Newlines between tokens (pretty
/// printing) are kept; inside strings serializers already escape every C0 control.
pub fn escape_json(json: &str) -> Cow<'_, str> {
    if printable_ascii(json, |b| matches!(b, b'\n' | b'\t' | b'\r'))
        || !json
            .chars()
            .any(|c| is_unsafe(c) && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe(c) && !matches!(c, '\n' | '\t' | '\r') {
            // Every unsafe character is in the Basic Multilingual Plane, so one `\uXXXX`
            // escape is the whole character.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped() {
        let hostile = "Eve\u{1b}[2K\u{1b}[1A\r\n\tx\u{7f}\u{9b}\u{202e}nimda\u{2066}";
        let shown = Escaped(hostile).to_string();
        assert_eq!(
            shown,
            "Eve\\u{1b}[2K\\u{1b}[1A\\r\\n\\tx\\u{7f}\\u{9b}\\u{202e}nimda\\u{2066}"
        );
        assert!(!shown.chars().any(is_unsafe));
        assert_eq!(escape(hostile), shown);
    }

    #[test]
    fn the_ascii_shortcut_escapes_what_the_character_rules_escape() {
        for b in 0u8..0x80 {
            let c = char::from(b);
            let text = format!("a{c}b");
            let unsafe_here = is_unsafe(c);
            assert_eq!(
                matches!(escape(&text), Cow::Owned(_)),
                unsafe_here,
                "escape {b:#x}"
            );
            assert_eq!(
                matches!(escape_lines(&text), Cow::Owned(_)),
                unsafe_here && c != '\n',
                "escape_lines {b:#x}"
            );
            assert_eq!(
                matches!(escape_json(&text), Cow::Owned(_)),
                unsafe_here && !matches!(c, '\n' | '\t' | '\r'),
                "escape_json {b:#x}"
            );
            assert_eq!(Escaped(&text).to_string(), escape(&text), "Escaped {b:#x}");
        }
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for plain in [
            "ada.lovelace",
            "Zoë Ørsted",
            "DOMAIN\\user",
            "李小龙",
            "O'Brien <o@x>",
        ] {
            assert!(matches!(escape(plain), Cow::Borrowed(s) if s == plain));
            assert_eq!(Escaped(plain).to_string(), plain);
        }
    }

    #[test]
    fn escape_lines_keeps_only_newlines() {
        assert_eq!(escape_lines("a\nb\u{1b}c\r\n"), "a\nb\\u{1b}c\\r\n");
    }

    #[test]
    fn escaped_json_is_the_same_value() {
        let value = serde_json::json!({"name": "a\u{1b}b\u{7f}\u{85}\u{202e}c", "n": 1});
        let text = serde_json::to_string_pretty(&value).expect("serializes");
        let safe = escape_json(&text);
        assert!(!safe.chars().any(|c| is_unsafe(c) && c != '\n'));
        let back: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back, value);
    }
}
