//! What the Strategy One emulator declares about itself, registered once with it: its
//! credentials, its request classes and hooks, what the suites that run for every vendor
//! need to know about Strategy One, and the fuzz harness's entry (see `answers`).

use idbridge_testkit::emulator::{CannedAnswer, EmulatorContract, WriteKind, WriteSubject, tail};
use serde_json::json;

/// What the emulator declares.
pub static CONTRACT: EmulatorContract = EmulatorContract {
    credentials: super::CREDENTIALS,
    classify: super::classify,
    sign_in: Some(super::sign_in_hook),
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
    read_answer: Some(super::answers::read_answer),
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
