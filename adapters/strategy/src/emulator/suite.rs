//! What the cross-vendor end-to-end suites need to know about Strategy One.

use idbridge_testkit::emulator::{SuiteFixtures, WriteKind, WriteSubject, tail};

/// The suites' fixtures for this emulator.
pub static SUITE: SuiteFixtures = SuiteFixtures {
    platform: "Strategy",
    garbled_source: &[
        ("missing=1,fields=enabled", "enabled"),
        ("wrongtype=1,fields=username|abbreviation", "username"),
        ("missing=1,fields=name", "name"),
        ("missing=1,fields=subtype|subType", "subtype"),
    ],
    issues_credentials: true,
    classify_write,
};

fn classify_write(method: &str, path: &str) -> Option<(WriteKind, WriteSubject)> {
    let (before_last, last) = tail(path);
    Some(match method {
        "POST" if last == "users" => (WriteKind::CreateUser, WriteSubject::None),
        // The email is a contact address, written right after the account (or when it
        // changes).
        "POST" if last == "addresses" => (
            WriteKind::UserWrite,
            WriteSubject::UserId(before_last.to_string()),
        ),
        "POST" if last == "usergroups" => (WriteKind::CreateGroup, WriteSubject::None),
        "PATCH" if before_last == "usergroups" => (
            WriteKind::AddMember,
            WriteSubject::GroupId(last.to_string()),
        ),
        _ => return None,
    })
}
