//! Tests of the directory format: parsing, validation, the trailer, the atomic save.

use std::path::Path;

use super::save::SaveStep;
use super::*;
use idbridge_core::ErrorKind;

const SAMPLE: &str = r#"
users:
  - id: u-0001
    login: ada.lovelace
    email: ada.lovelace@example.com
    display_name: Ada Lovelace
    groups: [engineering]
    attributes: {department: R&D}
  - id: u-0002
    login: zoe
    enabled: false
groups:
  - id: g-all
    name: all-staff
  - id: g-eng
    name: engineering
    description: Engineering
    groups: [all-staff]
roles:
  - id: r-analyst
    name: analyst
    scope: {project: Sales Analytics}
  - id: r-admin
    name: admin
grants:
  - {role: analyst, group: engineering}
  - {role: admin, user: zoe}
  - {role: admin, user: ada.lovelace, scope: {project: Finance}}
"#;

fn sample() -> Directory {
    let d = Directory::parse(SAMPLE, Format::Yaml, "sample").expect("sample parses");
    d.validate().expect("sample is valid");
    d
}

fn problems_of(yaml: &str) -> String {
    let d = Directory::parse(yaml, Format::Yaml, "t").expect("parses");
    let err = d.validate().expect_err("must be invalid");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    err.message().to_string()
}

#[test]
fn sample_resolves_to_neutral_records() {
    let n = sample().to_neutral();
    assert_eq!(n.users.len(), 2);
    assert!(n.users[0].enabled);
    assert!(!n.users[1].enabled);
    assert_eq!(n.users[0].attributes["department"], "R&D");
    assert_eq!(
        n.memberships,
        vec![
            Membership {
                group: "g-eng".into(),
                member: Principal::User("u-0001".into())
            },
            Membership {
                group: "g-all".into(),
                member: Principal::Group("g-eng".into())
            },
        ]
    );
    assert_eq!(n.roles[0].scope, Scope::Project("Sales Analytics".into()));
    assert_eq!(n.roles[1].scope, Scope::Global);
    assert_eq!(
        n.grants,
        vec![
            Grant {
                role: "r-analyst".into(),
                principal: Principal::Group("g-eng".into()),
                scope: Scope::Project("Sales Analytics".into())
            },
            Grant {
                role: "r-admin".into(),
                principal: Principal::User("u-0002".into()),
                scope: Scope::Global
            },
            Grant {
                role: "r-admin".into(),
                principal: Principal::User("u-0001".into()),
                scope: Scope::Project("Finance".into())
            },
        ]
    );
}

#[test]
fn yaml_and_json_round_trip() {
    let d = sample();
    for format in [Format::Yaml, Format::Json] {
        let text = d.to_text(format).expect("serializes");
        let back = Directory::parse(&text, format, "round trip").expect("parses back");
        assert_eq!(back, d, "{format:?}:\n{text}");
    }
}

#[test]
fn empty_text_is_an_empty_directory() {
    let d = Directory::parse("  \n", Format::Yaml, "t").expect("empty is fine");
    assert_eq!(d, Directory::default());
    d.validate().expect("empty is valid");
}

#[test]
fn yaml_unknown_key_names_origin_path_and_line() {
    let text =
        "users:\n  - id: u1\n    login: a\n  - id: u2\n    login: b\n    emial: b@example.com\n";
    let err =
        Directory::parse(text, Format::Yaml, "directory file `d.yaml`").expect_err("misspelt key");
    assert_eq!(err.kind(), ErrorKind::Config);
    let msg = err.message();
    assert!(msg.contains("d.yaml"), "{msg}");
    assert!(msg.contains("users[1]"), "{msg}");
    assert!(msg.contains("emial"), "{msg}");
    assert!(msg.contains("line 6"), "{msg}");
    assert_eq!(msg.matches("users[1]").count(), 1, "path said once: {msg}");
}

#[test]
fn yaml_wrong_type_names_key_path() {
    let text = "users:\n  - id: u1\n    login: a\n    enabled: maybe\n";
    let err = Directory::parse(text, Format::Yaml, "f.yaml").expect_err("bad bool");
    assert!(
        err.message().contains("users[0].enabled"),
        "{}",
        err.message()
    );
}

#[test]
fn json_error_names_path_and_line() {
    let text = "{\"users\": [\n {\"id\": \"u1\", \"login\": 5}\n]}";
    let err = Directory::parse(text, Format::Json, "f.json").expect_err("bad login");
    let msg = err.message();
    assert!(msg.contains("f.json"), "{msg}");
    assert!(msg.contains("users[0].login"), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");
}

#[test]
fn duplicate_user_id_names_both_records() {
    let msg = problems_of("users:\n  - {id: u1, login: a}\n  - {id: u1, login: b}\n");
    assert!(msg.contains("users[1] (id u1, login b)"), "{msg}");
    assert!(msg.contains("users[0]"), "{msg}");
}

#[test]
fn duplicate_login_ignores_case() {
    let msg = problems_of("users:\n  - {id: u1, login: Bob}\n  - {id: u2, login: bob}\n");
    assert!(msg.contains("users[1] (id u2, login bob)"), "{msg}");
    assert!(msg.contains("duplicate login"), "{msg}");
}

#[test]
fn malformed_email_names_the_record() {
    for bad in [
        "bob@",
        "bob",
        "@example.com",
        "bob@example",
        "b ob@example.com",
        "a@b@c.de",
    ] {
        let msg = problems_of(&format!(
            "users:\n  - {{id: u-0004, login: bob, email: \"{bad}\"}}\n"
        ));
        assert!(msg.contains("users[0] (id u-0004, login bob)"), "{msg}");
        assert!(msg.contains("malformed email"), "{msg}");
    }
    assert!(is_valid_email("zoë.müller@example.co.uk"));
    assert!(is_valid_email("first+tag@sub.example.com"));
}

#[test]
fn duplicate_group_name_and_unknown_group_reference() {
    let msg = problems_of(
        "users:\n  - {id: u1, login: a, groups: [nope]}\ngroups:\n  - {id: g1, name: eng}\n  - {id: g2, name: ENG}\n",
    );
    assert!(
        msg.contains("groups[1] (id g2, name ENG): duplicate name"),
        "{msg}"
    );
    assert!(
        msg.contains("users[0] (id u1, login a): unknown group `nope`"),
        "{msg}"
    );
}

#[test]
fn nesting_cycle_is_rejected() {
    let msg = problems_of(
        "groups:\n  - {id: g1, name: a, groups: [b]}\n  - {id: g2, name: b, groups: [c]}\n  - {id: g3, name: c, groups: [a]}\n",
    );
    assert!(msg.contains("nesting cycle"), "{msg}");
    assert!(msg.contains("a -> b -> c -> a"), "{msg}");
    let msg = problems_of("groups:\n  - {id: g1, name: a, groups: [a]}\n");
    assert!(
        msg.contains("groups[0] (id g1, name a): group nesting cycle a -> a"),
        "{msg}"
    );
}

#[test]
fn grant_problems_name_the_grant() {
    let msg = problems_of(
        "users:\n  - {id: u1, login: a}\nroles:\n  - {id: r1, name: analyst, scope: {project: P}}\ngrants:\n  - {role: ghost, user: a}\n  - {role: analyst, user: nobody}\n  - {role: analyst}\n  - {role: analyst, user: a, scope: {project: Q}}\n",
    );
    assert!(
        msg.contains("grants[0] (role ghost, user a): unknown role"),
        "{msg}"
    );
    assert!(
        msg.contains("grants[1] (role analyst, user nobody): unknown user"),
        "{msg}"
    );
    assert!(msg.contains("grants[2] (role analyst, no holder)"), "{msg}");
    assert!(
        msg.contains("grants[3] (role analyst, user a): role `analyst` belongs to project `P`"),
        "{msg}"
    );
}

#[test]
fn duplicate_role_and_duplicate_grant() {
    let msg = problems_of(
        "groups:\n  - {id: g1, name: x}\nroles:\n  - {id: r1, name: a}\n  - {id: r1, name: a}\ngrants:\n  - {role: a, group: x}\n  - {role: a, group: x, scope: global}\n",
    );
    assert!(
        msg.contains("roles[1] (id r1, name a): duplicate id"),
        "{msg}"
    );
    assert!(
        msg.contains("roles[1] (id r1, name a): duplicate name"),
        "{msg}"
    );
    assert!(
        msg.contains("grants[1] (role a, group x): duplicate of grants[0]"),
        "{msg}"
    );
}

#[test]
fn would_cycle_sees_indirect_paths() {
    let d = sample();
    assert!(d.would_cycle("all-staff", "engineering"));
    assert!(d.would_cycle("engineering", "engineering"));
    assert!(!d.would_cycle("engineering", "all-staff"));
}

#[test]
fn load_names_the_file_on_validation_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("d.yaml");
    std::fs::write(&p, "users:\n  - {id: u1, login: a, email: nope}\n").expect("write");
    let err = Directory::load(&p).expect_err("invalid");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("d.yaml"), "{}", err.message());
    assert!(
        err.message().contains("users[0] (id u1, login a)"),
        "{}",
        err.message()
    );

    let err = Directory::load(&dir.path().join("d.txt")).expect_err("extension");
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = Directory::load(&dir.path().join("missing.yaml")).expect_err("missing");
    assert!(err.message().contains("missing.yaml"), "{}", err.message());
}

#[test]
fn written_files_end_with_the_trailer_and_read_back_complete() {
    for format in [Format::Yaml, Format::Json] {
        let text = sample().to_text(format).expect("serializes");
        let back = Directory::parse_checked(&text, format, "t", true).expect("complete");
        assert_eq!(back, sample());
    }
    let text = sample().to_text(Format::Yaml).expect("serializes");
    assert!(
        text.trim_end()
            .ends_with("complete:\n  users: 2\n  groups: 2\n  roles: 2\n  grants: 3"),
        "{text}"
    );
}

#[test]
fn every_truncation_of_a_written_file_is_refused() {
    for format in [Format::Yaml, Format::Json] {
        let text = sample().to_text(format).expect("serializes");
        let whole = text.trim_end().len();
        for cut in 0..whole {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let result = Directory::parse_checked(&text[..cut], format, "d.yaml", true);
            assert!(
                result.is_err(),
                "{format:?} cut at byte {cut} of {whole} was accepted:\n{}",
                &text[..cut]
            );
        }
    }
}

#[test]
fn a_file_cut_inside_a_login_is_refused_naming_the_file_and_the_trailer() {
    // Cut off mid-write: the last login reads `hen` and the trailer never came.
    let text = "users:\n  - {id: u1, login: ada}\n  - id: u2\n    login: hen";
    let err = Directory::parse_checked(text, Format::Yaml, "directory file `d.yaml`", true)
        .expect_err("incomplete");
    assert_eq!(err.kind(), ErrorKind::Config);
    let msg = err.message();
    assert!(msg.contains("d.yaml"), "{msg}");
    assert!(msg.contains("incomplete"), "{msg}");
    assert!(msg.contains("`complete` trailer"), "{msg}");
    // Without the requirement the same text still parses (for hand-made seeds).
    Directory::parse(text, Format::Yaml, "t").expect("lenient parse");
    // An empty file is no more complete than a cut one.
    assert!(Directory::parse_checked("", Format::Yaml, "t", true).is_err());
}

#[test]
fn a_trailer_that_does_not_match_is_refused_even_when_not_required() {
    let text =
        "users:\n  - {id: u1, login: ada}\ncomplete: {users: 3, groups: 0, roles: 0, grants: 0}\n";
    let err = Directory::parse(text, Format::Yaml, "directory file `d.yaml`")
        .expect_err("count mismatch");
    let msg = err.message();
    assert!(msg.contains("d.yaml"), "{msg}");
    assert!(msg.contains("3 users but the file holds 1"), "{msg}");

    let text = "complete: {users: 0, groups: 0, roles: 0, grants: 0}\nusers: []\n";
    let err = Directory::parse(text, Format::Yaml, "t").expect_err("key after trailer");
    assert!(
        err.message().contains("must be the last key"),
        "{}",
        err.message()
    );

    let text = "users: []\ncomplete: {users: 0, groups: 0}\n";
    let err = Directory::parse(text, Format::Yaml, "t").expect_err("partial trailer");
    assert!(err.message().contains("roles"), "{}", err.message());

    let text =
        "{\"users\": [], \"complete\": {\"users\": 0, \"groups\": 1, \"roles\": 0, \"grants\": 0}}";
    let err = Directory::parse(text, Format::Json, "t").expect_err("json mismatch");
    assert!(
        err.message().contains("1 groups but the file holds 0"),
        "{}",
        err.message()
    );
}

#[test]
fn deeply_nested_yaml_is_refused_naming_the_nesting_limit() {
    // About 200 KB of brackets: the YAML scanner alone would take most of a minute.
    let text = format!("users: {}", "[".repeat(200 * 1024));
    let err =
        Directory::parse(&text, Format::Yaml, "directory file `d.yaml`").expect_err("too deep");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("d.yaml"), "{}", err.message());
    assert!(err.message().contains("nesting limit"), "{}", err.message());

    // JSON nesting stops at the first value of the wrong type, or at the JSON
    // parser's own recursion limit.
    let text = format!("{{\"users\": {}", "[".repeat(200 * 1024));
    Directory::parse(&text, Format::Json, "t").expect_err("too deep");

    // Block nesting stays within the parser's own recursion limit.
    let mut text = String::from("users:\n");
    for depth in 1..300 {
        text.push_str(&format!("{}- \n", "  ".repeat(depth)));
    }
    let err = Directory::parse(&text, Format::Yaml, "t").expect_err("too deep");
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn a_billion_laughs_is_refused_naming_the_alias_expansion_limit() {
    let mut text = String::from(
        "users:\n  - id: u1\n    login: a\n    groups: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    let mut prev = 'a';
    for (i, name) in ('b'..='j').enumerate() {
        text.push_str(&format!(
            "  - id: u{}\n    login: l{}\n    groups: &{name} [{}]\n",
            i + 2,
            i + 2,
            vec![format!("*{prev}"); 10].join(", ")
        ));
        prev = name;
    }
    let err = Directory::parse(&text, Format::Yaml, "directory file `d.yaml`")
        .expect_err("billion laughs");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("d.yaml"), "{}", err.message());
    assert!(
        err.message().contains("alias expansion limit"),
        "{}",
        err.message()
    );

    // An exporter sharing one small list between records stays well inside it.
    let mut text = String::from(
        "groups:\n  - {id: g1, name: staff}\nusers:\n  - id: u0\n    login: l0\n    groups: &id001\n    - staff\n",
    );
    for i in 1..2000 {
        text.push_str(&format!(
            "  - id: u{i}\n    login: l{i}\n    groups: *id001\n"
        ));
    }
    let dir = Directory::parse(&text, Format::Yaml, "t").expect("shared list");
    assert_eq!(dir.users.len(), 2000);
    dir.validate().expect("valid");
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn save_atomic_writes_a_loadable_file_in_both_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["d.yaml", "d.json"] {
        let p = dir.path().join(name);
        sample().save_atomic(&p).expect("saves");
        assert_eq!(Directory::load(&p).expect("loads"), sample());
    }
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn save_atomic_refuses_an_invalid_document_without_touching_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("d.yaml");
    sample().save_atomic(&p).expect("saves");
    let before = std::fs::read(&p).expect("read");
    let mut bad = sample();
    bad.users[0].email = Some("not-an-email".into());
    let err = bad.save_atomic(&p).expect_err("invalid");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(std::fs::read(&p).expect("read"), before);
}

#[test]
fn a_failure_at_any_step_leaves_the_old_file_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("d.yaml");
    sample().save_atomic(&p).expect("saves");
    let before = std::fs::read(&p).expect("read");
    let mut changed = sample();
    changed.users[0].display_name = Some("Augusta Ada King".into());
    for step in [SaveStep::PartlyWritten, SaveStep::BeforeRename] {
        let err = changed
            .save_atomic_with(&p, &mut |s| {
                if s == step {
                    Err(std::io::Error::other("simulated crash"))
                } else {
                    Ok(())
                }
            })
            .expect_err("injected failure");
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{step:?}");
        assert!(err.message().contains("d.yaml"), "{}", err.message());
        assert_eq!(std::fs::read(&p).expect("read"), before, "{step:?}");
        assert!(leftovers(dir.path()).is_empty(), "{step:?}");
    }
    changed.save_atomic(&p).expect("then a clean save works");
    assert_eq!(Directory::load(&p).expect("loads"), changed);
}

/// The save writes the text as it is serialized, in pieces: what reaches the file is
/// exactly [`Directory::to_text`], the hash returned is the file's (what a later read
/// compares), and the hook of the first step finds part of the text in the temporary file.
#[test]
fn a_streamed_save_writes_the_whole_text_and_hashes_what_it_wrote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut big = sample();
    // Several times the write buffer, so the text reaches the file in many writes.
    for i in 0..40_000 {
        big.users.push(DirUser {
            id: format!("u-{i}"),
            login: format!("user.{i}"),
            email: Some(format!("user.{i}@example.com")),
            display_name: Some(format!("User {i}")),
            enabled: true,
            groups: vec!["engineering".into()],
            attributes: Default::default(),
        });
    }
    for (format, name) in [(Format::Yaml, "d.yaml"), (Format::Json, "d.json")] {
        let p = dir.path().join(name);
        let text = big.to_text(format).expect("serializes");
        assert!(text.len() > 3 << 20, "{}", text.len());
        let mut partly = None;
        let hash = big
            .save_atomic_with(&p, &mut |step| {
                if step == SaveStep::PartlyWritten {
                    let sizes: Vec<u64> = std::fs::read_dir(dir.path())
                        .expect("lists")
                        .filter_map(|e| e.ok())
                        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                        .collect();
                    partly = Some(sizes);
                }
                Ok(())
            })
            .expect("saves");
        let on_disk = std::fs::read(&p).expect("read");
        assert!(on_disk == text.as_bytes(), "{name}: the file is the text");
        assert_eq!(hash, crate::reload::hash_bytes(&on_disk), "{name}");
        let partly = partly.expect("the hook saw the first step");
        assert!(
            matches!(partly.as_slice(), [n] if *n > 0 && *n < text.len() as u64),
            "{name}: {partly:?}"
        );
        assert!(leftovers(dir.path()).is_empty(), "{name}");
    }
}

#[test]
fn save_into_a_missing_directory_fails_and_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("no-such-dir").join("d.yaml");
    let err = sample().save_atomic(&p).expect_err("no directory");
    assert!(err.message().contains("d.yaml"), "{}", err.message());
    assert!(!p.exists());
}

#[cfg(unix)]
#[test]
fn save_keeps_the_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("d.yaml");
    sample().save_atomic(&p).expect("saves");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    sample().save_atomic(&p).expect("saves again");
    let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_directory_goes_to_a_snapshot_and_back_unchanged() {
    let d = sample();
    let snap = d.to_snapshot();
    assert_eq!(snap.users.len(), d.users.len());
    assert!(
        snap.memberships
            .iter()
            .any(|m| m.group == "g-all"
                && m.member == idbridge_core::Principal::Group("g-eng".into())),
        "nesting is a membership: {snap:?}"
    );
    assert_eq!(Directory::from_snapshot(&snap), d);
}

#[test]
fn a_name_that_is_its_own_key_is_borrowed_and_keys_agree_with_fold() {
    use std::borrow::Cow;
    for name in [
        "ada",
        "ada.lovelace@example.com",
        "Ada",
        "ÉMILE",
        "zoë",
        "",
        "a B",
    ] {
        let key = super::fold_key(name);
        assert_eq!(key, super::fold(name), "{name}");
        let borrowed = matches!(key, Cow::Borrowed(_));
        assert_eq!(
            borrowed,
            name.is_ascii() && name == name.to_lowercase(),
            "{name}"
        );
    }
}
