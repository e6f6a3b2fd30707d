//! What the Squirro emulator declares about itself, registered once with it: its
//! credentials, its request classes and hooks, what the suites that run for every vendor
//! need to know about Squirro, and the fuzz harness's entry (see `answers`).

use idbridge_testkit::emulator::{CannedAnswer, EmulatorContract, WriteKind, WriteSubject, tail};
use serde_json::json;

/// What the emulator declares.
pub static CONTRACT: EmulatorContract = EmulatorContract {
    credentials: super::CREDENTIALS,
    classify: super::classify,
    sign_in: None,
    platform: "Squirro",
    garbled_source: &[("missing=1,fields=email", "email")],
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

/// The token exchange answers an access token and a rotated refresh token.
fn sign_in_answer(path: &str, credential: &dyn Fn(&str) -> String) -> Option<CannedAnswer> {
    if !path.ends_with("/oauth2/token") {
        return None;
    }
    Some(CannedAnswer {
        status: 200,
        headers: Vec::new(),
        body: Some(json!({
            "access_token": credential("access-token"),
            "refresh_token": credential("rotated-refresh-token"),
            "tenant": "echo",
            "user_id": "U0000000000000000000AA",
            "session_id": "S0000000000000000000AA",
            "role": "admin",
        })),
    })
}

fn error_answer(text: &str) -> CannedAnswer {
    CannedAnswer {
        status: 400,
        headers: Vec::new(),
        body: Some(json!({"error": text})),
    }
}
