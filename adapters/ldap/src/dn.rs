//! Distinguished names compared the way a directory compares them (RFC 4514 string form,
//! RFC 4518 case-ignore matching): two spellings of one DN normalize to the same text.
//!
//! A member DN is written by whoever added it, while the member's own entry DN is spelled
//! by the server, so `CN=Smith\2C John, OU=People` must find `cn=smith\, john,ou=people`.

/// Common attribute types written as OIDs, with their short names (RFC 4519).
const OID_NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "cn"),
    ("2.5.4.6", "c"),
    ("2.5.4.7", "l"),
    ("2.5.4.8", "st"),
    ("2.5.4.10", "o"),
    ("2.5.4.11", "ou"),
    ("2.5.4.9", "street"),
    ("0.9.2342.19200300.100.1.1", "uid"),
    ("0.9.2342.19200300.100.1.25", "dc"),
];

/// One attribute type and value of an RDN, as parsed.
struct Ava {
    kind: String,
    value: Vec<u8>,
    /// The value was written in hex BER form (`#04...`): compared as written.
    ber: bool,
}

/// Parses `dn` into RDNs of AVAs. Lenient: an escape cut short or a missing `=` keeps
/// what was read, so a malformed DN compares as itself instead of failing the read.
fn parse(dn: &str) -> Vec<Vec<Ava>> {
    let bytes = dn.as_bytes();
    let mut rdns: Vec<Vec<Ava>> = Vec::new();
    let mut rdn: Vec<Ava> = Vec::new();
    let mut i = 0;
    loop {
        // The attribute type, up to `=`.
        let mut kind = Vec::new();
        while i < bytes.len() && !matches!(bytes[i], b'=' | b',' | b';' | b'+') {
            kind.push(bytes[i]);
            i += 1;
        }
        let has_value = i < bytes.len() && bytes[i] == b'=';
        if has_value {
            i += 1;
        }
        let mut value = Vec::new();
        let mut ber = false;
        if has_value {
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            // Where the value's significant part ends: after the last byte that was
            // not an unescaped space.
            let mut significant = 0;
            if i < bytes.len() && bytes[i] == b'"' {
                // A quoted value (RFC 2253's legacy form).
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() {
                        i += 1;
                    }
                    value.push(bytes[i]);
                    i += 1;
                }
                i += 1;
                significant = value.len();
                while i < bytes.len() && !matches!(bytes[i], b',' | b';' | b'+') {
                    i += 1;
                }
            } else {
                ber = bytes.get(i) == Some(&b'#');
                while i < bytes.len() && !matches!(bytes[i], b',' | b';' | b'+') {
                    if bytes[i] == b'\\' {
                        // Both digits checked: `from_str_radix` would take a sign.
                        let hex = bytes
                            .get(i + 1..i + 3)
                            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                            .and_then(|h| std::str::from_utf8(h).ok())
                            .and_then(|h| u8::from_str_radix(h, 16).ok());
                        match (hex, bytes.get(i + 1)) {
                            (Some(b), _) => {
                                value.push(b);
                                i += 3;
                            }
                            (None, Some(&c)) => {
                                value.push(c);
                                i += 2;
                            }
                            (None, None) => i += 1,
                        }
                        significant = value.len();
                    } else {
                        value.push(bytes[i]);
                        i += 1;
                        if value.last() != Some(&b' ') {
                            significant = value.len();
                        }
                    }
                }
            }
            value.truncate(significant);
        }
        let kind = String::from_utf8_lossy(&kind).trim().to_ascii_lowercase();
        let kind = kind
            .strip_prefix("oid.")
            .map(str::to_string)
            .unwrap_or(kind);
        let kind = OID_NAMES
            .iter()
            .find(|(oid, _)| *oid == kind)
            .map_or(kind, |(_, name)| (*name).to_string());
        if has_value || !kind.is_empty() {
            rdn.push(Ava { kind, value, ber });
        }
        match bytes.get(i) {
            Some(b'+') => {}
            Some(_) => rdns.push(std::mem::take(&mut rdn)),
            None => {
                if !rdn.is_empty() {
                    rdns.push(rdn);
                }
                return rdns;
            }
        }
        i += 1;
    }
}

/// A value in the form two case-ignore-equal values share: lower case, inner runs of
/// spaces as one (RFC 4518 insignificant space handling), and every character that is
/// special in a DN hex-escaped, so `,` and `+` only ever separate RDNs and AVAs.
fn canonical_value(ava: &Ava) -> String {
    if ava.ber {
        return String::from_utf8_lossy(&ava.value).to_ascii_lowercase();
    }
    let text = String::from_utf8_lossy(&ava.value).to_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last_space = false;
    for c in text.trim().chars() {
        if c == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' | '#' => {
                out.push_str(&format!("\\{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// The normalized form of a DN without escapes, quotes, multi-valued RDNs, OIDs or
/// non-ASCII text (nearly every DN), built without the full parse; `None` for any other.
/// It must give exactly what the full parse gives (a test holds both to that).
fn normalize_simple(dn: &str) -> Option<String> {
    if !dn.is_ascii()
        || dn
            .bytes()
            .any(|b| matches!(b, b'\\' | b'"' | b'+' | b'#' | b';' | b'<' | b'>'))
    {
        return None;
    }
    let mut out = String::with_capacity(dn.len());
    for (i, rdn) in dn.split(',').enumerate() {
        let (kind, value) = rdn.split_once('=')?;
        let kind = kind.trim();
        let value = value.trim();
        if value.contains('=')
            || kind.is_empty()
            || !kind.starts_with(|c: char| c.is_ascii_alphabetic())
            || kind.len() >= 4 && kind[..4].eq_ignore_ascii_case("oid.")
        {
            return None;
        }
        if i > 0 {
            out.push(',');
        }
        out.extend(kind.chars().map(|c| c.to_ascii_lowercase()));
        out.push('=');
        let mut last_space = false;
        for c in value.chars() {
            if c == ' ' {
                if !last_space {
                    out.push(' ');
                }
                last_space = true;
            } else {
                last_space = false;
                out.push(c.to_ascii_lowercase());
            }
        }
    }
    Some(out)
}

/// `dn` in the form every spelling of the same DN shares: attribute types in lower case
/// (OIDs of the common ones by name), values unescaped and compared without case or
/// insignificant spaces, the AVAs of a multi-valued RDN in sorted order.
pub fn normalize_dn(dn: &str) -> String {
    normalize_simple(dn).unwrap_or_else(|| normalize_parsed(dn))
}

fn normalize_parsed(dn: &str) -> String {
    parse(dn)
        .iter()
        .map(|rdn| {
            let mut avas: Vec<String> = rdn
                .iter()
                .map(|a| format!("{}={}", a.kind, canonical_value(a)))
                .collect();
            avas.sort();
            avas.join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether normalized `dn` lies at or under normalized `base`.
pub fn is_under(dn: &str, base: &str) -> bool {
    // Separators are never escaped in the normalized form, so a suffix at a `,` is an
    // ancestor.
    dn == base || dn.ends_with(&format!(",{base}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) {
        assert_eq!(normalize_dn(a), normalize_dn(b), "`{a}` and `{b}`");
    }

    fn differ(a: &str, b: &str) {
        assert_ne!(normalize_dn(a), normalize_dn(b), "`{a}` and `{b}`");
    }

    #[test]
    fn case_and_spaces_around_separators_do_not_matter() {
        same(
            "CN=Ann Lee, OU=People ,dc=Example,dc=com",
            "cn=ann lee,ou=people,dc=example,dc=com",
        );
        same("cn=Ann   Lee,dc=x", "cn=ann lee,dc=x");
        same(
            "OID.2.5.4.3=Ann,0.9.2342.19200300.100.1.25=x",
            "cn=ann,dc=x",
        );
        differ("cn=ann,dc=x", "cn=anne,dc=x");
        differ("cn=ann,dc=x", "uid=ann,dc=x");
    }

    #[test]
    fn escaped_and_hex_escaped_characters_are_one_value() {
        same(
            r"cn=Smith\, John,ou=people,dc=x",
            r"CN=smith\2C john,OU=People,DC=X",
        );
        same(
            r#"cn="Smith, John",ou=people,dc=x"#,
            r"cn=Smith\, John,ou=people,dc=x",
        );
        same(r"cn=a\+b,dc=x", r"cn=a\2Bb,dc=x");
        same(r"cn=J\C3\BCrgen,dc=x", "cn=Jürgen,dc=x");
        same(r"cn=JÜRGEN,dc=x", "cn=jürgen,dc=x");
        same(r"cn=\#tag,dc=x", r"cn=\23tag,dc=x");
        same(r"cn=trail\ ,dc=x", "cn=trail,dc=x");
        // An escaped comma is part of the value, not a separator.
        differ(r"cn=Smith\, John,dc=x", "cn=Smith,cn=John,dc=x");
    }

    #[test]
    fn multi_valued_rdns_compare_in_any_order() {
        same(
            "cn=Ann+uid=ann,ou=people,dc=x",
            "UID=ann + CN=ann,ou=people,dc=x",
        );
        differ("cn=ann+uid=ann,dc=x", "cn=ann,uid=ann,dc=x");
    }

    #[test]
    fn ancestry_is_decided_at_rdn_boundaries() {
        let n = |s: &str| normalize_dn(s);
        assert!(is_under(&n("cn=a,ou=people,dc=x"), &n("ou=People,dc=X")));
        assert!(!is_under(&n("cn=a,ou=xpeople,dc=x"), &n("ou=people,dc=x")));
        // The escaped comma does not make `ou=people,dc=x` a suffix.
        assert!(!is_under(&n(r"cn=a\,ou=people,dc=y"), &n("ou=people,dc=y")));
        assert!(is_under(&n(r"cn=a\,ou=people,dc=y"), &n("dc=y")));
    }

    #[test]
    fn the_quick_form_equals_the_parsed_form() {
        for dn in [
            "uid=ann,ou=people,dc=example,dc=com",
            "CN=Ann   Lee , OU=People ,DC=Example,DC=com",
            " cn = a\tb ,dc=x",
            "cn=,dc=x",
            "cn=a",
            "",
            "cn=a,,dc=x",
            "cn=a=b,dc=x",
            "2.5.4.3=a,dc=x",
            "oid.2.5.4.3=a",
            "cn=a+uid=b,dc=x",
            "cn=a\\,b,dc=x",
        ] {
            if let Some(quick) = normalize_simple(dn) {
                assert_eq!(quick, normalize_parsed(dn), "`{dn}`");
            }
        }
        assert!(normalize_simple("uid=ann,ou=people,dc=example,dc=com").is_some());
    }

    #[test]
    fn malformed_dns_do_not_panic() {
        for dn in [
            "",
            ",",
            "=",
            "cn=",
            "cn=a\\",
            "cn=a\\4",
            "\"",
            "cn=\"open",
            "+",
            "a+b",
        ] {
            let _ = normalize_dn(dn);
        }
    }
}
