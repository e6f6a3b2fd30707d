//! What the cross-vendor end-to-end suites need to know about Strategy One.

use idbridge_testkit::emulator::{CannedAnswer, SuiteFixtures, WriteKind, WriteSubject, tail};
use serde_json::json;

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
    sign_in_answer,
    error_answer,
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

/// The login answers 204 with a session token and a session cookie.
fn sign_in_answer(path: &str, credential: &dyn Fn(&str) -> String) -> Option<CannedAnswer> {
    if !path.ends_with("/api/auth/login") {
        return None;
    }
    Some(CannedAnswer {
        status: 204,
        headers: vec![
            ("X-MSTR-AuthToken", credential("session-token")),
            (
                "Set-Cookie",
                format!(
                    "JSESSIONID={}; Path=/; HttpOnly",
                    credential("session-cookie")
                ),
            ),
        ],
        body: None,
    })
}

fn error_answer(text: &str) -> CannedAnswer {
    CannedAnswer {
        status: 400,
        headers: Vec::new(),
        body: Some(json!({"code": "ERR006", "message": text})),
    }
}
