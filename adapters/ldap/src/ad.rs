//! Active Directory's wire forms: the binary `objectGUID` and its string form, and the
//! ranged retrieval of large multi-valued attributes (`member;range=0-1499`).

/// The string form of a 16-byte GUID as Windows stores it (`objectGUID`): the first three
/// fields (4, 2 and 2 bytes) little-endian, the last 8 bytes in order, lower-case
/// `8-4-4-4-12` hex digits without braces. `None` when `bytes` is not 16 bytes long.
pub fn guid_string(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// The 16 bytes of a GUID string (the form [`guid_string`] gives; braces and upper case
/// accepted). `None` when `text` is no GUID.
pub fn guid_bytes(text: &str) -> Option<[u8; 16]> {
    let t = text.trim();
    let t = t
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(t);
    let groups: Vec<&str> = t.split('-').collect();
    if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return None;
    }
    let hex: String = groups.concat();
    let mut v = [0u8; 16];
    for (i, byte) in v.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    // Back from the display order to the stored order.
    Some([
        v[3], v[2], v[1], v[0], v[5], v[4], v[7], v[6], v[8], v[9], v[10], v[11], v[12], v[13],
        v[14], v[15],
    ])
}

/// An LDAP filter value matching the binary `bytes` exactly (`\96\12\dc...`, RFC 4515).
pub fn binary_filter_value(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// One ranged attribute description of a search result: `member;range=1500-2999` or
/// `member;range=3000-*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The attribute (`member`), without options.
    pub attribute: String,
    /// The index of the first value returned.
    pub start: usize,
    /// The index of the last value returned, or `None` for `*`: these were the last ones.
    pub end: Option<usize>,
}

/// Whether an attribute description carries a `range=` option, well-formed or not.
pub fn has_range_option(description: &str) -> bool {
    description
        .split(';')
        .skip(1)
        .any(|o| o.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("range=")))
}

/// Parses an attribute description carrying a `range=` option (case-insensitive, other
/// options kept in the attribute name); `None` when it carries none or a malformed one.
pub fn parse_range(description: &str) -> Option<Range> {
    let mut parts = description.split(';');
    let mut attribute = parts.next()?.to_string();
    let mut range = None;
    for option in parts {
        match option.get(..6) {
            Some(p) if p.eq_ignore_ascii_case("range=") => {
                let (lo, hi) = option[6..].split_once('-')?;
                let start = lo.trim().parse().ok()?;
                let end = match hi.trim() {
                    "*" => None,
                    n => Some(n.parse().ok()?),
                };
                if end.is_some_and(|e| e < start) {
                    return None;
                }
                range = Some((start, end));
            }
            _ => {
                attribute.push(';');
                attribute.push_str(option);
            }
        }
    }
    let (start, end) = range?;
    Some(Range {
        attribute,
        start,
        end,
    })
}

/// The attribute description asking for the values after `end`: `member;range=1500-*`,
/// or `member;range=1500-1999` with a `step` of 500.
pub fn next_range(attribute: &str, end: usize, step: Option<usize>) -> String {
    let start = end + 1;
    match step {
        Some(n) => format!("{attribute};range={start}-{}", start + n.max(1) - 1),
        None => format!("{attribute};range={start}-*"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An objectGUID as a Samba domain controller sent it (base64 `lhLcFBe1dEuXa0muAalA3g==`)
    // and as its own tools print it: 14dc1296-b517-4b74-976b-49ae01a940de.
    const WIRE: [u8; 16] = [
        0x96, 0x12, 0xdc, 0x14, 0x17, 0xb5, 0x74, 0x4b, 0x97, 0x6b, 0x49, 0xae, 0x01, 0xa9, 0x40,
        0xde,
    ];

    #[test]
    fn a_guid_renders_with_its_first_three_fields_little_endian() {
        assert_eq!(
            guid_string(&WIRE).as_deref(),
            Some("14dc1296-b517-4b74-976b-49ae01a940de")
        );
        assert_eq!(guid_string(&WIRE[..15]), None);
        assert_eq!(guid_string(&[0; 17]), None);
    }

    #[test]
    fn a_guid_string_parses_back_to_its_bytes() {
        assert_eq!(
            guid_bytes("14dc1296-b517-4b74-976b-49ae01a940de"),
            Some(WIRE)
        );
        assert_eq!(
            guid_bytes("{14DC1296-B517-4B74-976B-49AE01A940DE}"),
            Some(WIRE)
        );
        for bad in [
            "",
            "14dc1296b5174b74976b49ae01a940de",
            "14dc1296-b517-4b74-976b-49ae01a940dg",
            "14dc1296-b517-4b74-976b-49ae01a940d",
            "é4dc1296-b517-4b74-976b-49ae01a940de",
        ] {
            assert_eq!(guid_bytes(bad), None, "{bad}");
        }
        assert_eq!(
            binary_filter_value(&WIRE[..3]),
            "\\96\\12\\dc",
            "each byte escaped for a filter"
        );
    }

    #[test]
    fn range_options_parse() {
        assert_eq!(
            parse_range("member;range=0-1499"),
            Some(Range {
                attribute: "member".into(),
                start: 0,
                end: Some(1499)
            })
        );
        assert_eq!(
            parse_range("member;Range=1500-*"),
            Some(Range {
                attribute: "member".into(),
                start: 1500,
                end: None
            })
        );
        assert_eq!(
            parse_range("member;binary;range=3-4").map(|r| r.attribute),
            Some("member;binary".into())
        );
        for none in [
            "member",
            "member;range=",
            "member;range=5",
            "member;range=a-*",
            "member;range=10-2",
            "member;range=-1-*",
        ] {
            assert_eq!(parse_range(none), None, "{none}");
        }
        assert!(has_range_option("member;RANGE=10-2"));
        assert!(has_range_option("member;range=0-*"));
        assert!(!has_range_option("member"));
        assert!(!has_range_option("range=0-*"));
    }

    #[test]
    fn the_next_range_starts_after_the_last() {
        assert_eq!(next_range("member", 1499, None), "member;range=1500-*");
        assert_eq!(next_range("member", 499, Some(500)), "member;range=500-999");
    }
}
