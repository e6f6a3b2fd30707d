//! User scenarios: list, get, create, update (including rename), enable/disable, delete,
//! activity, batches and pagination.

use std::collections::HashSet;

use idbridge_core::{ErrorKind, User, UserChanges, UserWrite};

use super::paging::check_paged_listing;
use super::{Ctx, Fail, Outcome, Verdict, ensure, expect_kind, scenarios};

scenarios! { "users";
    list_contains_created ["users_create", "users_list"],
    create_then_get ["users_create", "users_get"],
    create_duplicate_login_already_exists ["users_create"],
    get_missing_not_found ["users_get"],
    update_email_and_display_name ["users_create", "users_update", "users_get"],
    rename_keeps_id ["users_create", "users_update", "users_get"],
    rename_to_taken_login_already_exists ["users_create", "users_update"],
    update_missing_not_found ["users_update"],
    disable_then_enable ["users_create", "users_set_enabled", "users_get"],
    set_enabled_missing_not_found ["users_set_enabled"],
    delete_then_get_not_found ["users_create", "users_delete", "users_get"],
    delete_removes_from_list ["users_create", "users_delete", "users_list"],
    delete_missing_not_found ["users_delete"],
    activity ["users_create", "users_activity"],
    batch_mixed_writes_in_order ["users_create", "users_update", "users_delete"],
    pagination_three_pages ["users_create", "users_list"],
}

fn same_login(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

async fn list_contains_created(cx: &Ctx) -> Outcome {
    let a = cx.new_user().await?;
    let b = cx.new_user().await?;
    let all = cx.h.all_users().await?;
    for u in [&a, &b] {
        let found: Vec<&User> = all.iter().filter(|x| x.id == u.id).collect();
        ensure!(
            found.len() == 1,
            "user {} listed {} times",
            u.id,
            found.len()
        );
        ensure!(
            same_login(&found[0].login, &u.login),
            "listed login {} differs from created {}",
            found[0].login,
            u.login
        );
    }
    Ok(Verdict::Passed)
}

async fn create_then_get(cx: &Ctx) -> Outcome {
    let spec = cx.user_spec();
    let created = cx.create_user(&spec).await?;
    ensure!(!created.id.is_empty(), "created user has an empty id");
    ensure!(
        same_login(&created.login, &spec.login),
        "create returned login {}, asked for {}",
        created.login,
        spec.login
    );
    ensure!(
        created.enabled,
        "a user created enabled is reported disabled"
    );
    let got = cx.h.get_user(&created.id).await?;
    ensure!(got.id == created.id, "get returned id {}", got.id);
    ensure!(
        same_login(&got.login, &spec.login),
        "get returned login {}, created {}",
        got.login,
        spec.login
    );
    if let Some(email) = &spec.email {
        ensure!(
            got.email.as_deref().map(str::to_lowercase) == Some(email.to_lowercase()),
            "get returned email {:?}, created {email}",
            got.email
        );
    }
    if let Some(name) = &spec.display_name {
        ensure!(
            got.display_name.as_ref() == Some(name),
            "get returned display name {:?}, created {name}",
            got.display_name
        );
    }
    ensure!(got.enabled, "get reports the new user disabled");
    Ok(Verdict::Passed)
}

async fn create_duplicate_login_already_exists(cx: &Ctx) -> Outcome {
    let spec = cx.user_spec();
    let first = cx.create_user(&spec).await?;
    let again = cx.h.create_user(&spec).await;
    if let Ok(u) = &again {
        cx.remember_user(&u.id);
    }
    expect_kind(
        again,
        ErrorKind::AlreadyExists,
        "second create with the same login",
    )?;
    if cx.caps.users_get {
        cx.h.get_user(&first.id).await?;
    }
    Ok(Verdict::Passed)
}

async fn get_missing_not_found(cx: &Ctx) -> Outcome {
    expect_kind(
        cx.h.get_user(&cx.missing_id()).await,
        ErrorKind::NotFound,
        "get of a missing id",
    )?;
    Ok(Verdict::Passed)
}

async fn update_email_and_display_name(cx: &Ctx) -> Outcome {
    let user = cx.new_user().await?;
    let token = cx.unique("upd");
    let email = format!("{token}@example.org");
    let changes = UserChanges {
        email: Some(Some(email.clone())),
        display_name: Some(Some(format!("Updated {token}"))),
        ..UserChanges::default()
    };
    let returned = cx.h.update_user(&user.id, &changes).await?;
    ensure!(returned.id == user.id, "update returned id {}", returned.id);
    let got = cx.h.get_user(&user.id).await?;
    ensure!(
        got.email.as_deref().map(str::to_lowercase) == Some(email.to_lowercase()),
        "email after update: {:?}, wanted {email}",
        got.email
    );
    ensure!(
        got.display_name.as_deref() == Some(format!("Updated {token}").as_str()),
        "display name after update: {:?}",
        got.display_name
    );
    if cx.caps.users_login_is_email {
        ensure!(
            same_login(&got.login, &email),
            "the login is the email on this platform, but after changing the email it is {}",
            got.login
        );
    } else {
        ensure!(
            same_login(&got.login, &user.login),
            "an update without login changed the login to {}",
            got.login
        );
    }
    Ok(Verdict::Passed)
}

async fn rename_keeps_id(cx: &Ctx) -> Outcome {
    let user = cx.new_user().await?;
    let new_login = cx.user_spec().login;
    let changes = UserChanges {
        login: Some(new_login.clone()),
        ..UserChanges::default()
    };
    match cx.h.update_user(&user.id, &changes).await {
        Ok(u) => ensure!(u.id == user.id, "rename changed the id to {}", u.id),
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            return Ok(Verdict::Ignored(format!(
                "the adapter reports renaming a user as unsupported: {e}"
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let got = cx.h.get_user(&user.id).await?;
    ensure!(
        same_login(&got.login, &new_login),
        "login after rename: {}, wanted {new_login}",
        got.login
    );
    Ok(Verdict::Passed)
}

async fn rename_to_taken_login_already_exists(cx: &Ctx) -> Outcome {
    let a = cx.new_user().await?;
    let b = cx.new_user().await?;
    let changes = UserChanges {
        login: Some(a.login.clone()),
        ..UserChanges::default()
    };
    match cx.h.update_user(&b.id, &changes).await {
        Err(e) if e.kind() == ErrorKind::Unsupported => Ok(Verdict::Ignored(format!(
            "the adapter reports renaming a user as unsupported: {e}"
        ))),
        other => {
            expect_kind(other, ErrorKind::AlreadyExists, "renaming to a taken login")?;
            Ok(Verdict::Passed)
        }
    }
}

async fn update_missing_not_found(cx: &Ctx) -> Outcome {
    let changes = UserChanges {
        display_name: Some(Some("nobody".to_string())),
        ..UserChanges::default()
    };
    expect_kind(
        cx.h.update_user(&cx.missing_id(), &changes).await,
        ErrorKind::NotFound,
        "update of a missing id",
    )?;
    Ok(Verdict::Passed)
}

async fn disable_then_enable(cx: &Ctx) -> Outcome {
    let user = cx.new_user().await?;
    let off = cx.h.set_user_enabled(&user.id, false).await?;
    ensure!(!off.enabled, "disable returned an enabled record");
    ensure!(
        !cx.h.get_user(&user.id).await?.enabled,
        "get after disable reports enabled"
    );
    let off_again = cx.h.set_user_enabled(&user.id, false).await?;
    ensure!(!off_again.enabled, "disabling twice enabled the user");
    let on = cx.h.set_user_enabled(&user.id, true).await?;
    ensure!(on.enabled, "enable returned a disabled record");
    ensure!(
        cx.h.get_user(&user.id).await?.enabled,
        "get after enable reports disabled"
    );
    Ok(Verdict::Passed)
}

async fn set_enabled_missing_not_found(cx: &Ctx) -> Outcome {
    expect_kind(
        cx.h.set_user_enabled(&cx.missing_id(), false).await,
        ErrorKind::NotFound,
        "disabling a missing id",
    )?;
    Ok(Verdict::Passed)
}

async fn delete_then_get_not_found(cx: &Ctx) -> Outcome {
    let user = cx.new_user().await?;
    cx.h.delete_user(&user.id).await?;
    expect_kind(
        cx.h.get_user(&user.id).await,
        ErrorKind::NotFound,
        "get after delete",
    )?;
    Ok(Verdict::Passed)
}

async fn delete_removes_from_list(cx: &Ctx) -> Outcome {
    let keep = cx.new_user().await?;
    let gone = cx.new_user().await?;
    cx.h.delete_user(&gone.id).await?;
    let all = cx.h.all_users().await?;
    ensure!(
        !all.iter().any(|u| u.id == gone.id),
        "deleted user {} still listed",
        gone.id
    );
    ensure!(
        all.iter().any(|u| u.id == keep.id),
        "deleting one user removed another ({}) from the list",
        keep.id
    );
    Ok(Verdict::Passed)
}

async fn delete_missing_not_found(cx: &Ctx) -> Outcome {
    expect_kind(
        cx.h.delete_user(&cx.missing_id()).await,
        ErrorKind::NotFound,
        "delete of a missing id",
    )?;
    Ok(Verdict::Passed)
}

async fn activity(cx: &Ctx) -> Outcome {
    let user = cx.new_user().await?;
    let activity = cx.h.user_activity(&user.id).await?;
    ensure!(
        activity.user == user.id,
        "activity names user {}, asked for {}",
        activity.user,
        user.id
    );
    Ok(Verdict::Passed)
}

async fn batch_mixed_writes_in_order(cx: &Ctx) -> Outcome {
    let existing = cx.new_user().await?;
    let doomed = cx.new_user().await?;
    let fresh = cx.user_spec();
    let mut batch = vec![
        UserWrite::Create {
            user: fresh.clone(),
        },
        UserWrite::Update {
            id: existing.id.clone(),
            changes: UserChanges {
                display_name: Some(Some("Batch Updated".to_string())),
                ..UserChanges::default()
            },
        },
        UserWrite::Delete {
            id: doomed.id.clone(),
        },
        UserWrite::Create {
            user: cx.fixture.new_user(&existing.login),
        },
        UserWrite::Delete {
            id: cx.missing_id(),
        },
    ];
    if cx.caps.users_set_enabled {
        batch.push(UserWrite::SetEnabled {
            id: existing.id.clone(),
            enabled: false,
        });
    }
    let expected = batch.len();
    let results = cx.h.write_users(batch).await;
    if let Some(Ok(Some(u))) = results.first() {
        cx.remember_user(&u.id);
    }
    ensure!(
        results.len() == expected,
        "{} results for {expected} writes",
        results.len()
    );
    match &results[0] {
        Ok(Some(u)) => ensure!(
            same_login(&u.login, &fresh.login),
            "batch create returned login {}",
            u.login
        ),
        other => {
            return Err(Fail(format!(
                "batch create: expected a record, got {other:?}"
            )));
        }
    }
    match &results[1] {
        Ok(Some(u)) => ensure!(u.id == existing.id, "batch update returned id {}", u.id),
        other => {
            return Err(Fail(format!(
                "batch update: expected a record, got {other:?}"
            )));
        }
    }
    ensure!(
        matches!(&results[2], Ok(None)),
        "batch delete: expected Ok(None), got {:?}",
        results[2]
    );
    expect_kind(
        results[3].clone(),
        ErrorKind::AlreadyExists,
        "batch create of a taken login",
    )?;
    expect_kind(
        results[4].clone(),
        ErrorKind::NotFound,
        "batch delete of a missing id",
    )?;
    if expected == 6 {
        match &results[5] {
            Ok(Some(u)) => ensure!(!u.enabled, "batch disable returned an enabled record"),
            other => {
                return Err(Fail(format!(
                    "batch disable: expected a record, got {other:?}"
                )));
            }
        }
    }
    if cx.caps.users_get {
        let got = cx.h.get_user(&existing.id).await?;
        ensure!(
            got.display_name.as_deref() == Some("Batch Updated"),
            "batch update not applied: {:?}",
            got.display_name
        );
        expect_kind(
            cx.h.get_user(&doomed.id).await,
            ErrorKind::NotFound,
            "get of a user the batch deleted",
        )?;
    }
    Ok(Verdict::Passed)
}

async fn pagination_three_pages(cx: &Ctx) -> Outcome {
    let mut created = HashSet::new();
    for _ in 0..7 {
        created.insert(cx.new_user().await?.id);
    }
    check_paged_listing(
        &created,
        |req| cx.h.list_users(req),
        |u: &User| u.id.clone(),
    )
    .await
}
