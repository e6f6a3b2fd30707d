//! A change answered 2xx survives a `kill -9` before its fan-out: the next start applies it.

use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_answered_before_a_kill_reaches_the_targets_at_the_next_start() {
    let platforms = platforms().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // A debounce long enough that the kill always comes first.
    let path = config(
        dir.path(),
        &platforms,
        &json!({}),
        json!({"debounce_secs": 30}),
    );
    let people = logins("survivor", 0..3);
    {
        let mut serve = Serve::start(&path);
        for login in &people {
            serve.post("/Users", okta_user(login)).await;
        }
        serve.child.0.kill().expect("kill -9");
        serve.child.0.wait().expect("reaped");
        for p in &platforms {
            assert!(
                user_on(p, &people[0]).await.is_none(),
                "{}: the fan-out ran before the kill; the test proves nothing\n{}",
                p.vendor,
                serve.output()
            );
        }
    }
    let serve = Serve::start(&path);
    for p in &platforms {
        let people = people.clone();
        eventually(
            &serve,
            &format!("{}: the answered change applied", p.vendor),
            || {
                let people = people.clone();
                async move {
                    for login in &people {
                        if !user_on(p, login).await.is_some_and(|u| u.enabled) {
                            return Err(format!("{login} is not there"));
                        }
                    }
                    Ok(())
                }
            },
        )
        .await;
    }
}
