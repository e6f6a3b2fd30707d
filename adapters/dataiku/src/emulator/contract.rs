//! What the Dataiku DSS emulator declares about itself, registered once with it: its
//! credentials, its request classes and hooks, what the suites that run for every vendor
//! need to know about Dataiku DSS, and the fuzz harness's entry (see `answers`).

use idbridge_testkit::emulator::{CannedAnswer, EmulatorContract, WriteKind, WriteSubject, tail};
use serde_json::json;

/// What the emulator declares.
pub static CONTRACT: EmulatorContract = EmulatorContract {
    credentials: super::CREDENTIALS,
    classify: super::classify,
    // DSS has no sessions to open.
    sign_in: None,
    platform: "DSS",
    garbled_source: &[
        ("missing=1,fields=enabled", "enabled"),
        ("wrongtype=1,fields=groups", "groups"),
    ],
    // The API key is static: the server hands out nothing.
    issues_credentials: false,
    classify_write,
    sign_in_answer,
    error_answer,
    read_answer: Some(super::answers::read_answer),
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

/// A static API key: there is no sign-in.
fn sign_in_answer(_path: &str, _credential: &dyn Fn(&str) -> String) -> Option<CannedAnswer> {
    None
}

fn error_answer(text: &str) -> CannedAnswer {
    CannedAnswer {
        status: 400,
        headers: Vec::new(),
        body: Some(json!({"errorType": "java.lang.IllegalArgumentException", "message": text})),
    }
}
