//! A JSON directory file is parsed as it is read, a record at a time, into the packed
//! users the adapter holds: what it lists must be exactly what the file holds, and what
//! it refuses must be named as before (the file, the record's index, the key path), for
//! large files, malformed records anywhere and files cut off at any byte.

use std::path::Path;

use idbridge_core::{AdapterExt, ErrorKind, Principal, Users};
use idbridge_file::{DirGroup, DirUser, Directory, FileAdapter, OpenOptions};

fn directory(users: usize, groups: usize) -> Directory {
    let groups: Vec<DirGroup> = (0..groups)
        .map(|g| DirGroup {
            id: format!("g-{g}"),
            name: format!("group-{g}"),
            description: (g % 2 == 0).then(|| format!("Group {g}")),
            groups: Vec::new(),
        })
        .collect();
    let users = (0..users)
        .map(|i| DirUser {
            id: format!("u-{i:07}"),
            login: format!("user{i}"),
            email: (i % 3 != 0).then(|| format!("user{i}@example.com")),
            display_name: (i % 5 != 0).then(|| format!("User Ünïcode {i}")),
            enabled: i % 7 != 0,
            groups: (0..3)
                .map(|k| groups[(i * 3 + k) % groups.len()].name.clone())
                .collect(),
            attributes: if i % 11 == 0 {
                [("department".to_string(), format!("d{i}"))].into()
            } else {
                Default::default()
            },
        })
        .collect();
    Directory {
        users,
        groups,
        roles: Vec::new(),
        grants: Vec::new(),
    }
}

fn open(path: &Path) -> idbridge_core::Result<FileAdapter> {
    FileAdapter::open_options(path, &OpenOptions::default())
}

#[tokio::test]
async fn a_large_json_file_lists_exactly_what_it_holds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("big.json");
    let dir = directory(60_000, 40);
    dir.save_atomic(&path).expect("saves");

    let adapter = open(&path).expect("opens");
    let users = adapter.all_users().await.expect("lists");
    assert_eq!(users, dir.neutral_users());
    assert_eq!(
        adapter.get_user("u-0031337").await.expect("get"),
        users[31_337]
    );
    let members = adapter.all_members("g-7").await.expect("members");
    let expected: Vec<Principal> = dir
        .users
        .iter()
        .filter(|u| u.groups.iter().any(|g| g == "group-7"))
        .map(|u| Principal::User(u.id.clone()))
        .collect();
    assert_eq!(members, expected);
    assert_eq!(adapter.snapshot().await, dir);
}

#[tokio::test]
async fn a_write_after_a_packed_read_keeps_every_record() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.json");
    let dir = directory(2_000, 10);
    dir.save_atomic(&path).expect("saves");
    let adapter = open(&path).expect("opens");
    adapter
        .set_user_enabled("u-0000007", true)
        .await
        .expect("writes");
    let mut expected = dir.clone();
    expected.users[7].enabled = true;
    assert_eq!(Directory::load(&path).expect("reloads"), expected);
    assert_eq!(adapter.snapshot().await, expected);
}

/// The file's JSON text with `from` replaced by `to` once (in one record).
fn edited(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from}");
    text.replacen(from, to, 1)
}

#[tokio::test]
async fn a_malformed_record_deep_in_a_large_file_is_named_by_index_and_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.json");
    let text = directory(30_000, 20)
        .to_text(idbridge_file::Format::Json)
        .expect("serializes");
    let id = r#""id": "u-0029877","#;
    let cases = [
        (
            "unknown key",
            edited(&text, id, &format!(r#"{id} "emial": "x@example.com","#)),
            "users[29877].emial",
        ),
        (
            "wrong type",
            edited(&text, id, &format!(r#"{id} "enabled": "yes","#)),
            "users[29877].enabled",
        ),
        (
            "wrong type in a list",
            edited(&text, id, &format!(r#"{id} "groups": ["group-1", 5],"#)),
            "users[29877].groups[1]",
        ),
    ];
    for (what, text, key) in cases {
        std::fs::write(&path, text).expect("writes");
        let err = open(&path).expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Config, "{what}: {err}");
        let message = err.to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "{what}: {message}"
        );
        assert!(message.contains(key), "{what}: {message}");
    }

    // A record that parses but breaks a rule is named by index, id and login.
    let duplicate = edited(&text, r#""login": "user29877""#, r#""login": "USER12""#);
    std::fs::write(&path, duplicate).expect("writes");
    let message = open(&path).expect_err("duplicate login").to_string();
    assert!(
        message.contains("users[29877] (id u-0029877, login USER12): duplicate login"),
        "{message}"
    );
    assert!(message.contains("users[12]"), "{message}");
}

#[test]
fn a_json_file_cut_off_anywhere_is_refused_without_a_panic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let whole = directory(8, 3)
        .to_text(idbridge_file::Format::Json)
        .expect("serializes");
    let path = tmp.path().join("cut.json");
    let bytes = whole.as_bytes();
    let mut refused = 0;
    for cut in 0..bytes.len() {
        std::fs::write(&path, &bytes[..cut]).expect("writes");
        match open(&path) {
            // Only whitespace, or the whole text minus its final newline.
            Ok(_) => assert!(
                bytes[..cut].iter().all(u8::is_ascii_whitespace)
                    || bytes[cut..].iter().all(u8::is_ascii_whitespace),
                "a file cut at byte {cut} of {} was read",
                bytes.len()
            ),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Config, "cut at {cut}: {e}");
                refused += 1;
            }
        }
    }
    assert!(refused + 2 >= bytes.len(), "{refused} of {}", bytes.len());
}

#[test]
fn bytes_that_are_not_utf8_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("bad.json");
    let mut bytes = directory(3, 2)
        .to_text(idbridge_file::Format::Json)
        .expect("serializes")
        .into_bytes();
    let at = bytes
        .windows(5)
        .position(|w| w == b"user1")
        .expect("a login");
    bytes[at] = 0xff;
    std::fs::write(&path, &bytes).expect("writes");
    let err = open(&path).expect_err("not UTF-8");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("bad.json"), "{err}");
}
