//! The chunked reader against the parser on the stream (what the adapter used before):
//! the same directories, the same refusals, and errors that name the path and position.

use std::collections::BTreeMap;
use std::io::BufReader;

use idbridge_core::{ErrorKind, Scope};

use super::super::parse::parse_json_stream_reference;
use super::super::{DirGrant, DirGroup, DirRole, DirUser, Directory, Format};

/// Names full of what a scanner could trip on: brackets, braces, quotes, backslashes,
/// escapes, commas and colons inside strings, and text that is not ASCII.
fn tricky() -> Directory {
    let names = [
        "plain",
        "br[ack]ets {and} braces",
        "a \"quoted\" word",
        "back\\slash\\",
        "tab\there, colon: comma,",
        "ünïcödé ✓ 日本語 🎉",
        "\\\"",
        "}]",
        "\u{1}control",
    ];
    let groups: Vec<DirGroup> = names
        .iter()
        .enumerate()
        .map(|(i, n)| DirGroup {
            id: format!("g{i}"),
            name: (*n).to_string(),
            description: Some(format!("{n} {{[\"")),
            groups: Vec::new(),
        })
        .collect();
    let users = (0..40)
        .map(|i| DirUser {
            id: format!("u{i}"),
            login: format!("{}{i}", names[i % names.len()]),
            email: (i % 2 == 0).then(|| format!("u{i}@example.com")),
            display_name: Some(names[(i + 3) % names.len()].to_string()),
            enabled: i % 3 != 0,
            groups: vec![names[i % names.len()].to_string()],
            attributes: if i % 4 == 0 {
                BTreeMap::from([("k]{\"".to_string(), names[i % names.len()].to_string())])
            } else {
                BTreeMap::new()
            },
        })
        .collect();
    Directory {
        users,
        groups,
        roles: vec![
            DirRole {
                id: "r1".into(),
                name: "analyst".into(),
                scope: Scope::Project("Sales [EU]".into()),
                privileges: vec!["read".into()],
            },
            DirRole {
                id: "r2".into(),
                name: "admin".into(),
                scope: Scope::Global,
                privileges: Vec::new(),
            },
        ],
        grants: vec![
            DirGrant {
                role: "admin".into(),
                user: Some("plain0".into()),
                group: None,
                scope: None,
            },
            DirGrant {
                role: "analyst".into(),
                user: None,
                group: Some("plain".into()),
                scope: None,
            },
        ],
    }
}

/// `text` with whitespace of every kind JSON allows around every `,`, `:`, bracket and
/// brace outside strings.
fn spaced(text: &str) -> String {
    let mut out = String::new();
    let (mut in_text, mut escaped) = (false, false);
    for c in text.chars() {
        if in_text {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_text = false;
            }
        } else if c == '"' {
            in_text = true;
            out.push(c);
        } else if matches!(c, ',' | ':' | '[' | ']' | '{' | '}') {
            out.push_str(" \t\r\n");
            out.push(c);
            out.push_str("\n ");
        } else {
            out.push(c);
        }
    }
    out
}

/// The chunked reader on `text` through a read buffer of `capacity` bytes (small ones
/// make every value cross the window's edge).
fn chunked(text: &[u8], capacity: usize) -> idbridge_core::Result<Directory> {
    Directory::parse_json_reader(BufReader::with_capacity(capacity, text), "f.json", false)
}

fn reference(text: &[u8]) -> idbridge_core::Result<Directory> {
    parse_json_stream_reference(&mut BufReader::new(text), "f.json", false)
}

/// Both readers accept `text` and read the same directory, or both refuse it.
fn agree(text: &[u8], capacity: usize) {
    match (chunked(text, capacity), reference(text)) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", String::from_utf8_lossy(text)),
        (Err(e), Err(_)) => assert_eq!(e.kind(), ErrorKind::Config, "{e}"),
        (a, b) => panic!(
            "the readers disagree on {:?}: chunked {a:?}, reference {b:?}",
            String::from_utf8_lossy(text)
        ),
    }
}

#[test]
fn strings_with_brackets_quotes_escapes_and_unicode_read_back_exactly() {
    let dir = tricky();
    for format in [true, false] {
        let text = if format {
            dir.to_text(Format::Json).expect("serializes")
        } else {
            serde_json::to_string(&dir).expect("serializes compactly")
        };
        for capacity in [1, 2, 3, 7, 64, 1 << 16] {
            let read = chunked(text.as_bytes(), capacity).expect("reads");
            assert_eq!(read, dir, "capacity {capacity}");
        }
        // Escapes the writer does not use, and whitespace everywhere it may be.
        assert_eq!(chunked(spaced(&text).as_bytes(), 5).expect("reads"), dir);
        let escaped = text
            .replace("\"users\"", "\"\\u0075sers\"")
            .replace("é", "\\u00e9");
        assert_eq!(chunked(escaped.as_bytes(), 5).expect("reads"), dir);
    }
}

#[test]
fn every_cut_and_every_one_byte_change_is_read_or_refused_as_the_stream_parser_does() {
    let small = Directory {
        users: tricky().users.into_iter().take(3).collect(),
        groups: tricky().groups.into_iter().take(3).collect(),
        roles: tricky().roles,
        grants: Vec::new(),
    };
    let text = serde_json::to_string(&small).expect("serializes");
    let bytes = text.as_bytes();
    for cut in 0..=bytes.len() {
        agree(&bytes[..cut], 4);
    }
    let replacements = b"\"\\{}[],: \n0x-tne\x0c";
    for at in 0..bytes.len() {
        for &r in replacements {
            let mut changed = bytes.to_vec();
            changed[at] = r;
            agree(&changed, 3);
        }
        let mut removed = bytes.to_vec();
        removed.remove(at);
        agree(&removed, 3);
    }
}

#[test]
fn documents_of_odd_shapes_are_read_or_refused_as_the_stream_parser_does() {
    let cases: &[&str] = &[
        "{}",
        " { } ",
        "{\"users\": []}",
        "{\"users\": [], \"users\": []}",
        "{\"complete\": {\"users\": 0, \"groups\": 0, \"roles\": 0, \"grants\": 0}}",
        "{\"complete\": {\"users\": 0, \"groups\": 0, \"roles\": 0, \"grants\": 0}, \"users\": []}",
        "{\"users\": null}",
        "{\"users\": \"x\"}",
        "{\"users\": {}}",
        "{\"users\": 5}",
        "{\"users\": [1]}",
        "{\"users\": [[]]}",
        "{\"users\": [{}]}",
        "{\"users\": [,]}",
        "{\"users\": [{\"id\": \"a\", \"login\": \"a\"},]}",
        "{\"users\": [{\"id\": \"a\", \"login\": \"a\"} {\"id\": \"b\", \"login\": \"b\"}]}",
        "{\"users\": [{\"id\": \"a\", \"login\": \"a\"}]]",
        "{\"users\": []} x",
        "{\"users\": []}}",
        "{\"users\": [],}",
        "{\"users\" []}",
        "{users: []}",
        "{\"nope\": []}",
        "[]",
        "\"text\"",
        "5",
        "nul",
        "{\"users\": [{\"id\": \"a\", \"login\": \"a\", \"groups\": \"g\"}]}",
        "{\"groups\": [{\"id\": \"g\", \"name\": \"n\", \"extra\": 1}]}",
        "{\"roles\": [{\"id\": \"r\", \"name\": \"n\", \"scope\": \"global\"}]}",
        "{\"roles\": [{\"id\": \"r\", \"name\": \"n\", \"scope\": [\"global\"]}]}",
        "{\"grants\": [{\"role\": \"r\", \"user\": \"u\", \"scope\": {\"project\": \"p\"}}]}",
        "{\"users\": [{\"id\": \"\\ud800\", \"login\": \"a\"}]}",
        "{\"users\": [{\"id\": \"\\q\", \"login\": \"a\"}]}",
        "{\"users\": [{\"id\": \"a\nb\", \"login\": \"a\"}]}",
        "\u{feff}{}",
        "{}\u{c}",
        "{\"users\": [{\"id\": \"a\", \"login\": \"a\", \"enabled\": tru}]}",
        "{\"users\": [{\"id\": \"a\", \"login\": \"a\", \"enabled\": true}]}",
    ];
    for case in cases {
        for capacity in [1, 4, 1 << 16] {
            agree(case.as_bytes(), capacity);
        }
    }
    let not_utf8 = b"{\"users\": [{\"id\": \"\xff\", \"login\": \"a\"}]}";
    agree(not_utf8, 4);
}

/// The line and column an error message ends with.
fn position(message: &str) -> (usize, usize) {
    let (_, at) = message.rsplit_once(" at line ").expect("a position");
    let (line, rest) = at.split_once(" column ").expect("a column");
    let col: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (
        line.parse().expect("a line number"),
        col.parse().expect("a column number"),
    )
}

#[test]
fn an_error_deep_in_a_big_array_names_the_record_key_and_its_line_and_column() {
    let dir = Directory {
        users: (0..50_000)
            .map(|i| DirUser {
                id: format!("u{i}"),
                login: format!("user{i}"),
                email: Some(format!("user{i}@example.com")),
                display_name: None,
                enabled: true,
                groups: Vec::new(),
                attributes: BTreeMap::new(),
            })
            .collect(),
        ..Directory::default()
    };
    let pretty = dir.to_text(Format::Json).expect("serializes");
    let compact = serde_json::to_string(&dir).expect("serializes");
    for text in [pretty, compact] {
        let bad = text.replacen("\"user31234@example.com\"", "31234", 1);
        let at = bad
            .find("\": 31234")
            .or_else(|| bad.find("\":31234"))
            .expect("edited");
        let at = at + bad[at..].find('3').expect("the number");
        let line = bad[..at].matches('\n').count() + 1;
        let err = chunked(bad.as_bytes(), 1 << 16).expect_err("a number for an email");
        let msg = err.to_string();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(msg.contains("f.json"), "{msg}");
        assert!(msg.contains("at `users[31234].email`"), "{msg}");
        assert!(msg.contains("invalid type: integer `31234`"), "{msg}");
        // Where the number ends (the stream parser names the byte after it, which can be
        // on the next line).
        let col = at - bad[..at].rfind('\n').map_or(0, |nl| nl + 1) + "31234".len();
        assert_eq!(position(&msg), (line, col), "{msg}");

        let bad = text.replacen(
            "\"login\": \"user40000\"",
            "\"login\": \"user40000\", \"emial\": 1",
            1,
        );
        let bad = bad.replacen(
            "\"login\":\"user40000\"",
            "\"login\":\"user40000\",\"emial\":1",
            1,
        );
        let at = bad.find("\"emial\"").expect("edited");
        let line = bad[..at].matches('\n').count() + 1;
        let msg = chunked(bad.as_bytes(), 100)
            .expect_err("unknown key")
            .to_string();
        assert!(
            msg.contains("at `users[40000].emial`: unknown field `emial`"),
            "{msg}"
        );
        assert_eq!(position(&msg).0, line, "{msg}");
        // The stream parser names the byte after the key (it has looked at it already).
        let old = reference(bad.as_bytes()).expect_err("refused").to_string();
        let (mine, theirs) = (position(&msg), position(&old));
        assert_eq!(mine.0, theirs.0, "{msg} / {old}");
        assert!(mine.1.abs_diff(theirs.1) <= 1, "{msg} / {old}");
    }
}

#[test]
fn a_truncated_file_is_refused_naming_the_record_it_was_cut_in() {
    let dir = tricky();
    let text = dir.to_text(Format::Json).expect("serializes");
    let cut = &text[..text.find("\"u17\"").expect("user 17") + 3];
    let msg = chunked(cut.as_bytes(), 16).expect_err("cut").to_string();
    assert!(msg.contains("f.json"), "{msg}");
    assert!(
        msg.contains("at `users[17].id`: EOF while parsing a string"),
        "{msg}"
    );
    let lines = cut.matches('\n').count() + 1;
    assert_eq!(position(&msg).0, lines, "{msg}");
    // Cut between records, and right after the last one.
    let between = &text[..text.find("\"u17\"").expect("user 17") - 12];
    let msg = chunked(between.as_bytes(), 16)
        .expect_err("cut")
        .to_string();
    assert!(msg.contains("EOF while parsing"), "{msg}");
    let after = text.trim_end().trim_end_matches('}');
    let msg = chunked(after.as_bytes(), 16).expect_err("cut").to_string();
    assert!(msg.contains("EOF while parsing an object"), "{msg}");
}

#[test]
fn deep_nesting_is_refused_naming_the_record_without_exhausting_the_stack() {
    let deep = "[".repeat(200_000);
    let text = format!(
        "{{\"users\": [{{\"id\": \"a\", \"login\": \"a\"}}, {{\"id\": \"b\", \"login\": \"b\", \"attributes\": {{\"k\": {deep}}}}}]}}"
    );
    let msg = chunked(text.as_bytes(), 1 << 16)
        .expect_err("deep")
        .to_string();
    assert!(msg.contains("at `users[1].attributes.k`"), "{msg}");
    agree(text.as_bytes(), 1 << 16);
    let objects = "{\"a\": ".repeat(200_000);
    let text = format!("{{\"users\": [{objects}]}}");
    agree(text.as_bytes(), 1 << 16);
    let top = "[".repeat(200_000);
    agree(top.as_bytes(), 1 << 16);
    // The parser's own limit still holds for what it does descend into.
    let nested_scope = format!(
        "{{\"roles\": [{{\"id\": \"r\", \"name\": \"n\", \"scope\": {{\"project\": {}}}}}]}}",
        "[".repeat(1000)
    );
    agree(nested_scope.as_bytes(), 64);
}
