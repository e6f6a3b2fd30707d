//! Adopting existing accounts end to end: an administrator account is never taken over by
//! a source user whose email matches it, and an ordinary adoption keeps the account's login.

use idbridge_core::{NewGroup, NewUser, Principal};
use idbridge_e2e::World;
use serde_json::json;

/// A world whose target `bi` already has `ops.admin` (e-mail `ops@example.com`), a member
/// of `administrators` when `admin`, and whose source gains `mallory` with that e-mail.
async fn world(admin: bool) -> World {
    let mut w = World::new();
    w.add_file_target("bi", json!({"privileged_groups": ["administrators"]}));
    let h = w.target("bi").handle.clone();
    let mut ops = NewUser::new("ops.admin");
    ops.email = Some("ops@example.com".into());
    let ops = h.create_user(&ops).await.expect("ops.admin");
    let group = h
        .create_group(&NewGroup {
            name: "administrators".into(),
            description: None,
        })
        .await
        .expect("group");
    if admin {
        h.add_member(&group.id, &Principal::User(ops.id.clone()))
            .await
            .expect("member");
    }
    let mut mallory = NewUser::new("mallory");
    mallory.email = Some("ops@example.com".into());
    w.add_source_user(mallory, &[]).await.expect("mallory");
    w
}

#[tokio::test]
async fn a_source_user_matching_an_administrator_by_email_does_not_take_it_over() {
    let w = world(true).await;
    let (plan, _) = w.sync().await.expect("sync");
    let tp = plan.target("bi").expect("bi");
    assert!(
        tp.refused.iter().any(|r| r.op == "adopt_user"
            && r.resource.contains("ops.admin")
            && r.reason
                .contains("member of the privileged group `administrators`")),
        "{:?}",
        tp.refused
    );
    let text = idbridge_sync::report::render_plan(&plan, &[]);
    assert!(text.contains("x refused: adopt user ops.admin"), "{text}");
    assert!(!text.contains("mallory\n"), "{text}");
    let users = w.target_users("bi").await.expect("users");
    assert!(users.iter().any(|u| u.login == "ops.admin"));
    assert!(
        !users.iter().any(|u| u.login == "mallory"),
        "no account for mallory"
    );
    let admins = w
        .target_group_members("bi", "administrators")
        .await
        .expect("members");
    assert_eq!(admins, vec!["ops.admin".to_string()]);
}

#[tokio::test]
async fn an_ordinary_adoption_is_shown_and_keeps_the_login() {
    let w = world(false).await;
    let (plan, report) = w.sync().await.expect("sync");
    assert!(report.converged(), "{report:?}");
    let text = idbridge_sync::report::render_plan(&plan, &[]);
    assert!(
        text.contains("= adopt user ops.admin (matched by email"),
        "{text}"
    );
    let users = w.target_users("bi").await.expect("users");
    assert!(users.iter().any(|u| u.login == "ops.admin"), "login kept");
    assert!(!users.iter().any(|u| u.login == "mallory"));
    // The next run neither renames nor adopts again.
    let (plan, _) = w.sync().await.expect("second sync");
    assert!(
        plan.is_empty(),
        "{}",
        idbridge_sync::report::render_plan(&plan, &[])
    );
}
