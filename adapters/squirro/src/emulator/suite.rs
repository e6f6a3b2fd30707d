//! What the cross-vendor end-to-end suites need to know about Squirro.

use idbridge_testkit::emulator::{SuiteFixtures, WriteKind, WriteSubject, tail};

/// The suites' fixtures for this emulator.
pub static SUITE: SuiteFixtures = SuiteFixtures {
    platform: "Squirro",
    garbled_source: &[("missing=1,fields=email", "email")],
    issues_credentials: true,
    classify_write,
};

fn classify_write(method: &str, path: &str) -> Option<(WriteKind, WriteSubject)> {
    let (before_last, last) = tail(path);
    Some(match method {
        "POST" if last == "users" => (WriteKind::CreateUser, WriteSubject::None),
        // The display name is written right after the account (or when it changes).
        "PUT" if before_last == "users" => {
            (WriteKind::UserWrite, WriteSubject::UserId(last.to_string()))
        }
        "POST" if last == "groups" => (WriteKind::CreateGroup, WriteSubject::None),
        "POST" if before_last == "groups" => (
            WriteKind::AddMember,
            WriteSubject::GroupId(last.to_string()),
        ),
        _ => return None,
    })
}
