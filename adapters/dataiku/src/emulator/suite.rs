//! What the cross-vendor end-to-end suites need to know about Dataiku DSS.

use idbridge_testkit::emulator::{SuiteFixtures, WriteKind, WriteSubject, tail};

/// The suites' fixtures for this emulator.
pub static SUITE: SuiteFixtures = SuiteFixtures {
    platform: "DSS",
    garbled_source: &[
        ("missing=1,fields=enabled", "enabled"),
        ("wrongtype=1,fields=groups", "groups"),
    ],
    // The API key is static: the server hands out nothing.
    issues_credentials: false,
    classify_write,
};

fn classify_write(method: &str, path: &str) -> Option<(WriteKind, WriteSubject)> {
    let (before_last, last) = tail(path);
    Some(match method {
        "POST" if last == "bulk" => (WriteKind::CreateUser, WriteSubject::None),
        "POST" if last == "groups" => (WriteKind::CreateGroup, WriteSubject::None),
        // Memberships live on the user: a read-modify-write of the user's settings.
        "PUT" if before_last == "users" => (
            WriteKind::AddMember,
            WriteSubject::UserLogin(last.to_string()),
        ),
        // Memberships of many users at once: a bulk edit of their `groups` lists (the same
        // endpoint also carries user field changes).
        "PUT" if last == "bulk" => (WriteKind::BulkEdit, WriteSubject::None),
        _ => return None,
    })
}
