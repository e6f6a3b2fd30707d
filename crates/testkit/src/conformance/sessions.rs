//! Session scenarios. They need real sessions, which only the fixture can open (by logging
//! in as a user the scenario created with a password); without that they are ignored.

use idbridge_core::{Secret, Session, User};

use super::{Ctx, Fail, Outcome, Verdict, ensure, scenarios};

scenarios! { "sessions";
    list_of_user_and_of_everyone ["users_create", "users_create_password", "sessions_list"],
    revoke_one ["users_create", "users_create_password", "sessions_list", "sessions_revoke"],
    revoke_all_of_user ["users_create", "users_create_password", "sessions_revoke_user"],
}

/// Creates a user with a password and opens `count` sessions for it; `Err(reason)` when
/// the fixture cannot.
async fn user_with_sessions(cx: &Ctx, count: usize) -> Result<Result<User, String>, Fail> {
    let password = Secret::new(format!("Cf-{}-Pw9!", cx.unique("pw")));
    let mut spec = cx.user_spec();
    spec.password = Some(password.clone());
    let user = cx.create_user(&spec).await?;
    for _ in 0..count {
        let opened = cx
            .fixture
            .open_session(&cx.instance, &user.login, &password)
            .await?;
        if !opened {
            return Ok(Err(
                "the fixture cannot open login sessions on this platform".to_string(),
            ));
        }
    }
    Ok(Ok(user))
}

async fn sessions_of(cx: &Ctx, user: &User) -> Result<Vec<Session>, Fail> {
    Ok(cx.h.all_sessions(Some(&user.id)).await?)
}

async fn list_of_user_and_of_everyone(cx: &Ctx) -> Outcome {
    let user = match user_with_sessions(cx, 1).await? {
        Ok(u) => u,
        Err(reason) => return Ok(Verdict::Ignored(reason)),
    };
    let mine = sessions_of(cx, &user).await?;
    ensure!(
        !mine.is_empty(),
        "no session listed for {} after a login",
        user.id
    );
    ensure!(
        mine.iter().all(|s| s.user == user.id),
        "listing one user's sessions returned others: {mine:?}"
    );
    let everyone = cx.h.all_sessions(None).await?;
    for s in &mine {
        ensure!(
            everyone.iter().any(|e| e.id == s.id),
            "session {} missing from the listing of everyone",
            s.id
        );
    }
    Ok(Verdict::Passed)
}

async fn revoke_one(cx: &Ctx) -> Outcome {
    let user = match user_with_sessions(cx, 2).await? {
        Ok(u) => u,
        Err(reason) => return Ok(Verdict::Ignored(reason)),
    };
    let before = sessions_of(cx, &user).await?;
    ensure!(
        before.len() >= 2,
        "two logins listed {} sessions",
        before.len()
    );
    let target = &before[0];
    cx.h.revoke_session(&target.id).await?;
    let after = sessions_of(cx, &user).await?;
    ensure!(
        !after.iter().any(|s| s.id == target.id),
        "revoked session {} still listed",
        target.id
    );
    ensure!(
        after.iter().any(|s| s.id == before[1].id),
        "revoking one session ended another"
    );
    // Already gone: revoking again succeeds.
    cx.h.revoke_session(&target.id).await?;
    Ok(Verdict::Passed)
}

async fn revoke_all_of_user(cx: &Ctx) -> Outcome {
    let user = match user_with_sessions(cx, 2).await? {
        Ok(u) => u,
        Err(reason) => return Ok(Verdict::Ignored(reason)),
    };
    let ended = cx.h.revoke_user_sessions(&user.id).await?;
    ensure!(ended >= 2, "revoking all of two sessions reported {ended}");
    if cx.caps.sessions_list {
        let left = sessions_of(cx, &user).await?;
        ensure!(
            left.is_empty(),
            "sessions left after revoking all: {left:?}"
        );
    }
    let again = cx.h.revoke_user_sessions(&user.id).await?;
    ensure!(again == 0, "a second revoke-all reported {again} sessions");
    Ok(Verdict::Passed)
}
