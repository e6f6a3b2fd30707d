//! Small pure helpers: key normalisation, fingerprints, glob patterns.

/// The form logins, e-mails and group names are compared in: trimmed, Unicode NFC, case
/// folded ([`idbridge_core::compare::fold`]).
///
/// `Zoë` typed with a combining diaeresis and `ZOË` with a precomposed one give the same key.
pub fn norm(s: &str) -> String {
    idbridge_core::compare::fold(s)
}

/// Like [`norm`], borrowing when the text is already in normal form (trimmed, ASCII,
/// lower-case), which is the common case for logins and emails.
pub fn norm_key(s: &str) -> std::borrow::Cow<'_, str> {
    let t = s.trim();
    if t.is_ascii() && !t.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(t)
    } else {
        std::borrow::Cow::Owned(norm(s))
    }
}

/// Whether two optional values are equal once normalised; `None` equals only `None`.
pub fn norm_eq(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || norm_key(a) == norm_key(b),
        (None, None) => true,
        _ => false,
    }
}

/// A stable 64-bit FNV-1a hash, written as 16 hex digits.
///
/// Stable across builds and platforms (unlike the standard library's hasher), because
/// fingerprints are stored in the state file and compared by later versions.
#[derive(Debug, Clone)]
pub struct Fingerprinter(u64);

impl Default for Fingerprinter {
    fn default() -> Self {
        Fingerprinter(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprinter {
    /// Adds bytes.
    fn bytes(&mut self, b: &[u8]) {
        for byte in b {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Adds a string, length-prefixed so that field boundaries cannot shift.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
        self
    }

    /// Adds an optional string (absent differs from empty).
    pub fn opt(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => {
                self.bytes(&[1]);
                self.str(s)
            }
            None => {
                self.bytes(&[0]);
                self
            }
        }
    }

    /// Adds a flag.
    pub fn flag(&mut self, b: bool) -> &mut Self {
        self.bytes(&[u8::from(b)]);
        self
    }

    /// The fingerprint text.
    pub fn finish(&self) -> String {
        fingerprint_text(self.0)
    }

    /// The fingerprint as a number (what [`Fingerprinter::finish`] writes as text).
    pub fn value(&self) -> u64 {
        self.0
    }
}

/// A fingerprint's text, as stored with links: 16 lower-case hex digits.
pub fn fingerprint_text(value: u64) -> String {
    format!("{value:016x}")
}

/// A shell-style pattern: `*` matches any run of characters, `?` one character; matching
/// ignores case. Everything else is literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
}

impl Glob {
    /// Compiles a pattern.
    pub fn new(pattern: &str) -> Glob {
        Glob {
            pattern: norm(pattern).chars().collect(),
        }
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = norm(text).chars().collect();
        // Iterative wildcard matching with one backtrack point: linear in practice, and never
        // exponential.
        let (p, t) = (&self.pattern, &text);
        let (mut pi, mut ti) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some((pi, ti));
                pi += 1;
            } else if let Some((sp, st)) = star {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        while pi < p.len() && p[pi] == '*' {
            pi += 1;
        }
        pi == p.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_folds_case_space_and_unicode_forms() {
        assert_eq!(norm("  Ada.Lovelace "), "ada.lovelace");
        assert!(matches!(
            norm_key(" ada "),
            std::borrow::Cow::Borrowed("ada")
        ));
        assert_eq!(norm_key("Zoe\u{0308}"), norm("zo\u{00EB}"));
        // "Zoë" with a combining diaeresis vs the precomposed character.
        assert_eq!(norm("Zoe\u{0308}"), norm("ZO\u{00CB}"));
        assert_ne!(norm("zoe"), norm("zoë"));
        // Case folding beyond lower-casing.
        assert_eq!(norm("STRASSE"), norm("Straße"));
        assert_eq!(norm("STRAẞE"), "strasse");
        assert_eq!(norm("ΟΔΥΣΣΕΥΣ"), norm("οδυσσευς"));
        assert_eq!(norm("\u{fb01}le"), "file");
        assert!(norm_eq(Some("A@x.com"), Some("a@X.COM ")));
        assert!(!norm_eq(Some("a"), None));
    }

    #[test]
    fn fingerprints_are_stable_and_field_bounded() {
        let a = Fingerprinter::default().str("ab").str("c").finish();
        let b = Fingerprinter::default().str("a").str("bc").finish();
        assert_ne!(a, b);
        // Pinned: stored fingerprints must not change between versions.
        assert_eq!(
            Fingerprinter::default().str("x").finish(),
            "529a64dc8ff592d4"
        );
        assert_ne!(
            Fingerprinter::default().opt(None).finish(),
            Fingerprinter::default().opt(Some("")).finish()
        );
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(Glob::new("*").matches("anything"));
        assert!(Glob::new("bi-*").matches("BI-users"));
        assert!(!Glob::new("bi-*").matches("sales"));
        assert!(Glob::new("a?c").matches("abc"));
        assert!(!Glob::new("a?c").matches("ac"));
        assert!(Glob::new("*staff").matches("all-staff"));
        assert!(Glob::new("a*b*c").matches("axxbyyc"));
        assert!(!Glob::new("a*b*c").matches("axxbyy"));
        assert!(Glob::new("").matches(""));
        assert!(!Glob::new("").matches("x"));
    }
}
