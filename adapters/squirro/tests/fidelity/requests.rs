//! Every request the adapter sends is one the official client sends: the same method and
//! the same path, ids aside. The client's walk and its `write` run first; then the adapter
//! makes every kind of change it makes (and the reads they need) on the same emulator;
//! each request the emulator logged from the adapter must match one it logged from the
//! client. (The log holds no bodies: the body fields are compared in the adapter page's
//! evidence table and by the read-backs of the two-direction tests.)

use std::collections::BTreeSet;

use idbridge_core::{AdapterExt, GrantFilter};
use idbridge_squirro::emulator::start_with_state;
use idbridge_testkit::emulator::EmulatorOptions;
use idbridge_testkit::fidelity;

use crate::roundtrip::{adapter, adapter_writes, run};

/// `METHOD /path` with every id segment (after `users`, `groups`, `members`, `projects`
/// or `sessions`) replaced by `{id}`.
fn shape(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::with_capacity(segments.len());
    for (i, seg) in segments.iter().enumerate() {
        let after = i.checked_sub(1).map(|j| segments[j]);
        let is_id = matches!(
            after,
            Some("users" | "groups" | "members" | "projects" | "sessions")
        ) && *seg != "password_policy";
        out.push(if is_id { "{id}" } else { seg });
    }
    format!("{method} {}", out.join("/"))
}

#[test]
fn shapes_replace_ids_only() {
    assert_eq!(
        shape("PUT", "/api/user/v1/squirro/users/abc"),
        "PUT /api/user/v1/squirro/users/{id}"
    );
    assert_eq!(
        shape("DELETE", "/api/user/v0/t/groups/g/members/u"),
        "DELETE /api/user/v0/t/groups/{id}/members/{id}"
    );
    assert_eq!(
        shape("GET", "/api/user/v0/t/users/password_policy"),
        "GET /api/user/v0/t/users/password_policy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_the_adapter_sends_is_one_squirroclient_sends() {
    let Some(python) = fidelity::python_with("squirro_client", "squirroclient request fidelity")
    else {
        return;
    };
    let (emulator, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("emulator starts");
    run(python.clone(), &emulator, state.tenant(), &["walk"]).await;
    run(python, &emulator, state.tenant(), &["write"]).await;
    let log = emulator.server.log();
    let client: BTreeSet<String> = log
        .entries()
        .iter()
        .map(|e| shape(&e.method, &e.path))
        .collect();
    let before = log.entries().len();

    let sq = adapter(&emulator).await;
    adapter_writes(&sq, &state).await;
    // The reads the sync engine makes besides those the writes need.
    sq.all_users().await.expect("users");
    sq.all_groups().await.expect("groups");
    sq.all_roles().await.expect("roles");
    sq.all_grants(&GrantFilter::default())
        .await
        .expect("grants");
    for g in sq.all_groups().await.expect("groups") {
        sq.all_members(&g.id).await.expect("members");
    }

    let sent: BTreeSet<String> = log.entries()[before..]
        .iter()
        .map(|e| shape(&e.method, &e.path))
        .collect();
    assert!(
        sent.len() > 15,
        "the adapter sent too few kinds of request: {sent:?}"
    );
    let unmatched: Vec<&String> = sent.difference(&client).collect();
    assert!(
        unmatched.is_empty(),
        "the adapter sent requests squirroclient never sent:\n{}\n(squirroclient sent:\n{})",
        unmatched
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        client.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}
