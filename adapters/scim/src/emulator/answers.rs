//! The fuzz harness's entry ([`idbridge_testkit::emulator::ReadAnswer`]): any answer a SCIM
//! server might send, through the adapter's error mapping and its readers of users,
//! groups, lists and the service provider configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use idbridge_core::ErrorKind;
use idbridge_testkit::emulator::AnswerReading;
use serde_json::Value;

use crate::error::map_error;
use crate::mapping::{group_from_scim, user_from_scim};
use crate::wire::{GroupResource, ListResponse, ServiceProviderConfig, UserResource};

/// Reads `body` (answered with `status`) every way the adapter reads answers.
///
/// # Panics
/// When a gateway error is not `Unavailable`, or a user read from the body does not keep
/// its `userName` as its login: bugs of the adapter.
pub(crate) fn read_answer(status: u16, body: &[u8], retry_after: Duration) -> AnswerReading {
    let err = map_error(status, body, Some(retry_after));
    if matches!(status, 502..=504) {
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    }
    let mut reading = AnswerReading {
        mapped: vec![err],
        ..AnswerReading::default()
    };
    let paths: BTreeMap<String, String> = [
        ("externalId".to_string(), "externalId".to_string()),
        (
            "department".to_string(),
            format!("{}:department", crate::wire::ENTERPRISE_USER_SCHEMA),
        ),
    ]
    .into();
    let parse = |what: &'static str| {
        move |e: serde_json::Error| idbridge_core::Error::protocol(format!("{what}: {e}"))
    };
    let user = serde_json::from_slice::<UserResource>(body).map_err(parse("a user"));
    if let Ok(u) = &user {
        assert_eq!(user_from_scim(u, &paths).login, u.user_name);
    }
    reading.parsed.push(("a user", user.map(drop)));
    let group = serde_json::from_slice::<GroupResource>(body).map_err(parse("a group"));
    if let Ok(g) = &group {
        assert_eq!(group_from_scim(g).name, g.display_name);
    }
    reading.parsed.push(("a group", group.map(drop)));
    let users = serde_json::from_slice::<ListResponse<UserResource>>(body)
        .map_err(parse("a list of users"));
    reading.parsed.push(("a list of users", users.map(drop)));
    let groups = serde_json::from_slice::<ListResponse<GroupResource>>(body)
        .map_err(parse("a list of groups"));
    reading.parsed.push(("a list of groups", groups.map(drop)));
    let config = serde_json::from_slice::<ServiceProviderConfig>(body)
        .map_err(parse("the service provider configuration"));
    reading
        .parsed
        .push(("the service provider configuration", config.map(drop)));
    let _ = serde_json::from_slice::<Value>(body);
    reading
}
