//! What the SCIM emulator declares about itself, registered once with it: its credential,
//! what the suites that run for every vendor need to know, and the fuzz harness's entry.

use idbridge_testkit::emulator::{CannedAnswer, EmulatorContract, WriteKind, WriteSubject, tail};
use serde_json::json;

use crate::wire::ERROR_SCHEMA;

/// What the emulator declares.
pub static CONTRACT: EmulatorContract = EmulatorContract {
    credentials: super::CREDENTIALS,
    // No request is a login: the bearer token is static.
    classify: |method, _| idbridge_testkit::emulator::RequestClass::by_method(method),
    sign_in: None,
    platform: crate::client::PLATFORM,
    issues_credentials: false,
    garbled_source: &[
        ("wrongtype=1,fields=active", "active"),
        ("wrongtype=1,fields=userName", "userName"),
    ],
    classify_write,
    sign_in_answer: |_, _| None,
    error_answer,
    read_answer: Some(super::answers::read_answer),
};

fn classify_write(method: &str, path: &str) -> Option<(WriteKind, WriteSubject)> {
    let (before_last, last) = tail(path);
    Some(match (method, before_last, last) {
        ("POST", _, "Users") => (WriteKind::CreateUser, WriteSubject::None),
        ("POST", _, "Groups") => (WriteKind::CreateGroup, WriteSubject::None),
        ("PATCH" | "PUT", "Users", id) => {
            (WriteKind::UserWrite, WriteSubject::UserId(id.to_string()))
        }
        // Member changes are PATCHes (or replaces) of the group.
        ("PATCH" | "PUT", "Groups", id) => {
            (WriteKind::AddMember, WriteSubject::GroupId(id.to_string()))
        }
        _ => return None,
    })
}

fn error_answer(text: &str) -> CannedAnswer {
    CannedAnswer {
        status: 400,
        headers: Vec::new(),
        body: Some(
            json!({"schemas": [ERROR_SCHEMA], "status": "400", "scimType": "invalidValue", "detail": text}),
        ),
    }
}
