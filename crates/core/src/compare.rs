//! Comparing names as people mean them.
//!
//! Logins, e-mails and group names typed in different systems differ in ways a reader does
//! not see: case, surrounding spaces, and Unicode's two ways of writing `ë` (one precomposed
//! character, or `e` followed by a combining diaeresis). Everything in idbridge that decides
//! whether two such names are the same one compares them through [`fold`].

use unicode_normalization::UnicodeNormalization;

/// The form logins, e-mails and group names are compared in: trimmed, Unicode NFC, case
/// folded.
///
/// `Zoë` typed with a combining diaeresis and `ZOË` with a precomposed one give the same key.
/// Case folding is lower-casing plus the folds lower-casing leaves out: `ß` and `ẞ` are
/// `ss`, the final sigma `ς` is `σ`, and the Latin ligatures (`ﬁ`) are their letters, so
/// `STRASSE` and `Straße` are one key, as Unicode's caseless matching has it.
pub fn fold(s: &str) -> String {
    let t = s.trim();
    // Fast path: plain ASCII is already NFC.
    if t.is_ascii() {
        return t.to_ascii_lowercase();
    }
    let mut folded = String::with_capacity(t.len());
    for c in t.nfc().flat_map(char::to_lowercase) {
        match c {
            'ß' => folded.push_str("ss"),
            'ς' => folded.push('σ'),
            '\u{fb00}' => folded.push_str("ff"),
            '\u{fb01}' => folded.push_str("fi"),
            '\u{fb02}' => folded.push_str("fl"),
            '\u{fb03}' => folded.push_str("ffi"),
            '\u{fb04}' => folded.push_str("ffl"),
            '\u{fb05}' | '\u{fb06}' => folded.push_str("st"),
            c => folded.push(c),
        }
    }
    folded.nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_space_case_and_unicode_forms() {
        assert_eq!(fold("  Ada.Lovelace "), "ada.lovelace");
        assert_eq!(fold("Zoe\u{0308}"), fold("ZO\u{00CB}"));
        assert_ne!(fold("zoe"), fold("zo\u{00EB}"));
        assert_eq!(fold("STRASSE"), fold("Stra\u{00DF}e"));
        assert_eq!(fold("\u{fb01}le"), "file");
    }
}
