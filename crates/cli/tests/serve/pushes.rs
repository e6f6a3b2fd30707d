//! Okta- and Entra-shaped pushes create, update, deactivate and delete users and groups,
//! and every platform ends in exactly the state they call for.

use std::collections::BTreeMap;

use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn okta_and_entra_pushes_reach_every_platform_exactly() {
    let platforms = platforms().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The guard's shares are raised so that each burst below goes through: the burst
    // deactivates or deletes 4 of 20 people (the guard's own test is below).
    let target = json!({"max_deletion_percent": 60.0, "max_membership_removal_percent": 60.0});
    let config = config(
        dir.path(),
        &platforms,
        &target,
        json!({"debounce_secs": 0.5}),
    );
    let serve = Serve::start(&config);
    let okta = logins("okta.user", 0..10);
    let entra = logins("entra.user", 0..10);

    // Okta looks a user up by userName (count=100) before it creates one.
    let found = serve
        .send(
            reqwest::Method::GET,
            &format!(
                "/Users?filter=userName%20eq%20%22{}%22&startIndex=1&count=100",
                okta[0]
            ),
            None,
        )
        .await;
    assert_eq!(found["totalResults"], 0, "{found}");
    let mut ids = BTreeMap::new();
    for login in &okta {
        ids.insert(login.clone(), serve.post("/Users", okta_user(login)).await);
    }
    for login in &entra {
        ids.insert(login.clone(), serve.post("/Users", entra_user(login)).await);
    }
    let member = |l: &String| json!({"value": ids[l], "display": l});
    // Okta creates a group with its members; Entra creates it empty, then adds them.
    let okta_group = serve
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "okta-analysts",
                   "members": okta[0..4].iter().map(member).collect::<Vec<_>>()}),
        )
        .await;
    let entra_group = serve
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "externalId": "grp-1", "displayName": "entra-engineers",
                   "meta": {"resourceType": "Group"}}),
        )
        .await;
    serve
        .patch(
            &format!("/Groups/{entra_group}"),
            json!([{"op": "Add", "path": "members",
                    "value": entra[0..4].iter().map(|l| json!({"value": ids[l]})).collect::<Vec<_>>()}]),
        )
        .await;
    let read = serve
        .send(
            reqwest::Method::GET,
            &format!("/Groups/{entra_group}?excludedAttributes=members"),
            None,
        )
        .await;
    assert!(read.get("members").is_none(), "{read}");

    let everyone: Vec<String> = okta.iter().chain(&entra).cloned().collect();
    for p in &platforms {
        let (everyone, okta, entra) = (&everyone, &okta, &entra);
        eventually(&serve, &format!("{}: everyone created", p.vendor), || {
            created(p, everyone, okta, entra)
        })
        .await;
    }
    // The people about to be deactivated sign in where the platform has sessions.
    let mut signed_in = Vec::new();
    for p in &platforms {
        for login in [&okta[1], &entra[1]] {
            if let Some(sign_in) = p.emulator.sign_in_as(login) {
                sign_in
                    .await
                    .unwrap_or_else(|e| panic!("{}: sign in: {e}", p.vendor));
                signed_in.push((p.vendor, login.clone()));
            }
        }
    }

    // One burst: Okta's PUT and deactivation, Entra's "Replace" with "False", member
    // removals in both shapes, and deletes.
    let mut put = okta_user(&okta[2]);
    put["displayName"] = json!("Okta Two Renamed");
    put["id"] = json!(ids[&okta[2]]);
    serve
        .send(
            reqwest::Method::PUT,
            &format!("/Users/{}", ids[&okta[2]]),
            Some(put),
        )
        .await;
    serve
        .patch(
            &format!("/Users/{}", ids[&okta[1]]),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    serve
        .patch(
            &format!("/Users/{}", ids[&entra[2]]),
            json!([{"op": "Replace", "path": "displayName", "value": "Entra Two Renamed"}]),
        )
        .await;
    serve
        .patch(
            &format!("/Users/{}", ids[&entra[1]]),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    serve
        .patch(
            &format!("/Groups/{okta_group}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[&okta[3]])}]),
        )
        .await;
    serve
        .patch(
            &format!("/Groups/{entra_group}"),
            json!([{"op": "Remove", "path": "members", "value": [{"value": ids[&entra[3]]}]}]),
        )
        .await;
    for login in [&okta[9], &entra[9]] {
        serve
            .send(
                reqwest::Method::DELETE,
                &format!("/Users/{}", ids[login]),
                None,
            )
            .await;
    }
    // Okta reads a deactivated user back.
    let back = serve
        .send(
            reqwest::Method::GET,
            &format!("/Users/{}", ids[&okta[1]]),
            None,
        )
        .await;
    assert_eq!(back["active"], false, "{back}");

    for p in &platforms {
        let (okta, entra) = (&okta, &entra);
        eventually(&serve, &format!("{}: the burst applied", p.vendor), || {
            burst_applied(p, okta, entra)
        })
        .await;
    }
    for (vendor, login) in &signed_in {
        let p = platforms
            .iter()
            .find(|p| p.vendor == *vendor)
            .expect("platform");
        let user = user_on(p, login).await.expect("the account is kept");
        let open = p
            .probe
            .all_sessions(Some(&user.id))
            .await
            .expect("sessions");
        assert!(
            open.is_empty(),
            "{vendor}: {login} still has sessions: {open:?}"
        );
    }
    serve.child.sigterm();
    let mut child = serve.child;
    let status = child.wait_exit();
    assert!(status.success(), "SIGTERM ends serve with 0: {status:?}");
}

/// Everyone there and enabled, and the groups with their members where the platform has
/// groups.
async fn created(
    p: &Platform,
    everyone: &[String],
    okta: &[String],
    entra: &[String],
) -> Result<(), String> {
    enabled(p, everyone).await?;
    if p.caps.groups_create {
        for (name, want) in [
            ("okta-analysts", &okta[0..4]),
            ("entra-engineers", &entra[0..4]),
        ] {
            let have = members_on(p, name).await;
            if have.as_deref() != Some(want) {
                return Err(format!("{name}: {have:?}, want {want:?}"));
            }
        }
    }
    Ok(())
}

/// The state after the burst, on one platform (what it cannot do, it does not show).
async fn burst_applied(p: &Platform, okta: &[String], entra: &[String]) -> Result<(), String> {
    for login in [&okta[1], &entra[1], &okta[9], &entra[9]] {
        let user = user_on(p, login).await;
        match (&user, p.caps.users_set_enabled) {
            (Some(u), true) if !u.enabled => {}
            (None, _) => {}
            (Some(_), false) => {
                // A platform that cannot disable keeps the account, out of every group.
                for g in ["okta-analysts", "entra-engineers"] {
                    if members_on(p, g).await.unwrap_or_default().contains(login) {
                        return Err(format!("{login} is still in {g}"));
                    }
                }
            }
            (Some(_), true) => return Err(format!("{login} is still enabled")),
        }
    }
    for login in okta[0..9].iter().chain(&entra[0..9]) {
        if [&okta[1], &entra[1]].contains(&login) {
            continue;
        }
        match user_on(p, login).await {
            Some(u) if u.enabled => {}
            other => return Err(format!("{login}: {:?}", other.map(|u| u.enabled))),
        }
    }
    for (login, name) in [
        (&okta[2], "Okta Two Renamed"),
        (&entra[2], "Entra Two Renamed"),
    ] {
        let shown = user_on(p, login).await.and_then(|u| u.display_name);
        // Only where the platform keeps display names.
        if user_on(p, &okta[0])
            .await
            .and_then(|u| u.display_name)
            .is_some()
            && shown.as_deref() != Some(name)
        {
            return Err(format!("{login}: display name {shown:?}"));
        }
    }
    if p.caps.groups_create {
        for (name, kept, removed) in [
            ("okta-analysts", [&okta[0], &okta[2]], &okta[3]),
            ("entra-engineers", [&entra[0], &entra[2]], &entra[3]),
        ] {
            let have = members_on(p, name).await.unwrap_or_default();
            if kept.iter().any(|k| !have.contains(k)) || have.contains(removed) {
                return Err(format!("{name}: {have:?}"));
            }
        }
    }
    Ok(())
}
