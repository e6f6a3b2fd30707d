//! A round trip through two idbridge processes: a directory file synced by `idbridge sync`
//! into the `scim` adapter, whose server is `idbridge serve`, which fans the same people out
//! to every vendor emulator. The `scim` adapter's writes are exactly what `serve` stores, and
//! the platforms end as the file says, through creates, a profile change, a disable and a
//! membership removal.

use std::path::Path;

use serde_json::{Value, json};

use crate::harness::*;
use crate::support::{Complete, all_output, idbridge, write_json_config, write_json_directory};

/// The people of the directory file: `round.trip<i>@example.com`, the first six in
/// `analysts`, the rest in `engineers`.
const PEOPLE: usize = 12;

fn person(i: usize, enabled: bool, display: &str, groups: &[&str]) -> Value {
    json!({"id": format!("u-{i:02}"), "login": format!("round.trip{i}@example.com"),
           "email": format!("round.trip{i}@example.com"), "display_name": display,
           "enabled": enabled, "groups": groups})
}

/// Writes the directory file; `changed` applies the second round's edits: person 3
/// disabled, person 4 renamed, person 5 out of `analysts`.
fn write_directory(path: &Path, changed: bool) {
    let users: Vec<Value> = (0..PEOPLE)
        .map(|i| {
            let team = if i < 6 { "analysts" } else { "engineers" };
            match i {
                3 if changed => person(i, false, "Person 3", &[team]),
                4 if changed => person(i, true, "Person Four Renamed", &[team]),
                5 if changed => person(i, true, "Person 5", &[]),
                _ => person(i, true, &format!("Person {i}"), &[team]),
            }
        })
        .collect();
    let directory = json!({
        "users": users,
        "groups": [{"id": "g-1", "name": "analysts"}, {"id": "g-2", "name": "engineers"}],
    });
    let complete = Complete {
        users: PEOPLE,
        groups: 2,
        ..Complete::default()
    };
    write_json_directory(path, &directory, complete);
}

/// Runs `idbridge sync` of the directory file into `serve` and asserts it converged.
fn sync_into_serve(config: &str) {
    let out = idbridge(&["sync", "-c", config], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the file -> SCIM sync converges: {}",
        all_output(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_directory_file_reaches_every_platform_through_the_scim_adapter_and_serve() {
    let platforms = platforms().await;
    let serve_dir = tempfile::tempdir().expect("tempdir");
    // The second round disables one person of twelve and takes one out of a group of
    // six: over the default guard shares, meant here.
    let target = json!({"max_deletion_percent": 60.0, "max_membership_removal_percent": 60.0});
    let serve_config = config(
        serve_dir.path(),
        &platforms,
        &target,
        json!({"debounce_secs": 0.5}),
    );
    let serve = Serve::start(&serve_config);

    let dir = tempfile::tempdir().expect("tempdir");
    let directory = dir.path().join("people.json");
    write_directory(&directory, false);
    let config = write_json_config(
        &dir.path().join("idbridge.json"),
        &json!({
            "state": dir.path().join("state.db"),
            "source": {"adapter": "file", "path": directory},
            "targets": {"idp": {"adapter": "scim", "base_url": serve.base, "token": TOKEN,
                                "attributes": {"externalId": "{id}"},
                                "max_deletion_percent": 60.0,
                                "max_membership_removal_percent": 60.0}},
        }),
    );
    sync_into_serve(&config);

    // What the scim adapter wrote is what serve stores, and reads back as nothing to do.
    let out = idbridge(&["plan", "-c", &config], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a second plan against serve finds nothing to change: {}",
        all_output(&out)
    );
    let stored = serve
        .send(
            reqwest::Method::GET,
            "/Users?filter=userName%20eq%20%22round.trip4@example.com%22",
            None,
        )
        .await;
    assert_eq!(stored["totalResults"], 1, "{stored}");
    assert_eq!(
        stored["Resources"][0]["displayName"], "Person 4",
        "{stored}"
    );
    assert_eq!(stored["Resources"][0]["externalId"], "u-04", "{stored}");

    let everyone: Vec<String> = (0..PEOPLE)
        .map(|i| format!("round.trip{i}@example.com"))
        .collect();
    let analysts: Vec<String> = everyone[..6].to_vec();
    for p in &platforms {
        let (everyone, analysts) = (&everyone, &analysts);
        eventually(
            &serve,
            &format!("{}: the first round", p.vendor),
            || async move {
                enabled(p, everyone).await?;
                if p.caps.groups_create {
                    let members = members_on(p, "analysts").await;
                    if members.as_ref() != Some(analysts) {
                        return Err(format!("analysts are {members:?}"));
                    }
                }
                Ok(())
            },
        )
        .await;
    }

    write_directory(&directory, true);
    sync_into_serve(&config);
    let out = idbridge(&["plan", "-c", &config], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));

    let login = |i: usize| format!("round.trip{i}@example.com");
    let (kept, removed) = ([0, 1, 2, 4].map(login), login(5));
    for p in &platforms {
        let (kept, removed) = (&kept, &removed);
        eventually(
            &serve,
            &format!("{}: the second round", p.vendor),
            || async move { second_round(p, kept, removed).await },
        )
        .await;
    }
}

/// Person 3 disabled (or, where the platform cannot disable, out of every group), person
/// 4 renamed where the platform keeps display names, person 5 out of `analysts` and the
/// others still in it.
async fn second_round(p: &Platform, kept: &[String], removed: &String) -> Result<(), String> {
    let disabled = "round.trip3@example.com";
    match (user_on(p, disabled).await, p.caps.users_set_enabled) {
        (None, _) => {}
        (Some(u), true) if !u.enabled => {}
        (Some(_), true) => return Err("person 3 is still enabled".into()),
        (Some(_), false) => {
            if members_on(p, "analysts")
                .await
                .unwrap_or_default()
                .iter()
                .any(|m| m == disabled)
            {
                return Err("person 3 is still an analyst".into());
            }
        }
    }
    let keeps_names = user_on(p, "round.trip0@example.com")
        .await
        .and_then(|u| u.display_name)
        .is_some();
    let renamed = user_on(p, "round.trip4@example.com")
        .await
        .and_then(|u| u.display_name);
    if keeps_names && renamed.as_deref() != Some("Person Four Renamed") {
        return Err(format!("person 4 is named {renamed:?}"));
    }
    if p.caps.groups_create {
        let have = members_on(p, "analysts").await.unwrap_or_default();
        if kept.iter().any(|k| !have.contains(k)) || have.contains(removed) {
            return Err(format!("analysts are {have:?}"));
        }
    }
    Ok(())
}
