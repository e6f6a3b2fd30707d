//! The deletion guard holds for what an identity provider sends: a mass deactivation is
//! refused, reported to the alert webhook, and changes nothing.

use std::path::Path;

use serde_json::{Value, json};

use crate::harness::*;
use crate::support::write_json_config;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_identity_provider_deactivating_most_people_is_refused_and_reported() {
    let platforms = platforms().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The guard's defaults, unchanged; a debounce long enough that the 8 deactivations
    // below are one burst even on a loaded machine.
    let path = config(
        dir.path(),
        &platforms,
        &json!({}),
        json!({"debounce_secs": 2}),
    );
    let (hook, alerts) = alert_receiver().await;
    let mut with_hook: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    with_hook["alert_webhook"] = json!(hook);
    let path = write_json_config(Path::new(&path), &with_hook);
    let serve = Serve::start(&path);
    let people = logins("person", 0..10);
    let mut ids = Vec::new();
    for login in &people {
        ids.push(serve.post("/Users", okta_user(login)).await);
    }
    for p in &platforms {
        let people = &people;
        eventually(&serve, &format!("{}: everyone created", p.vendor), || {
            enabled(p, people)
        })
        .await;
    }
    // 8 of 10 deactivated in one burst, as Okta does with a PUT of the whole user.
    for (login, id) in people.iter().zip(&ids).take(8) {
        let mut user = okta_user(login);
        user["id"] = json!(id);
        user["active"] = json!(false);
        serve
            .send(reqwest::Method::PUT, &format!("/Users/{id}"), Some(user))
            .await;
    }
    eventually(&serve, "the refusal is reported", || {
        let alerts = alerts.clone();
        async move {
            let got = alerts.lock().expect("alerts").clone();
            if got.iter().any(|a| {
                a["reasons"]
                    .as_array()
                    .is_some_and(|r| r.contains(&json!("guard_refused")))
            }) {
                Ok(())
            } else {
                Err(format!("alerts so far: {got:?}"))
            }
        }
    })
    .await;
    for p in &platforms {
        for login in &people {
            let u = user_on(p, login).await;
            assert!(
                u.as_ref().is_some_and(|u| u.enabled),
                "{}: {login} was changed despite the guard\n{}",
                p.vendor,
                serve.output()
            );
        }
    }
    let out = serve.output();
    assert!(out.contains("refused"), "the run report says so: {out}");
    assert!(!out.contains(TOKEN), "the token is never printed");
}
