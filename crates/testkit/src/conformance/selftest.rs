//! Tests of the suite itself: it passes a correct adapter, runs the protected-account
//! scenarios, and fails adapters with the bugs it exists to catch.

use std::sync::Arc;

use idbridge_core::{
    Adapter, AdapterHandle, Capabilities, Error, Forward, Memberships, Page, PageRequest,
    PositionedMembers, Principal, Protected, Result, User, Users, async_trait,
};
use idbridge_file::FileAdapter;

use super::{Ctx, Fixture, Instance, Verdict, all_scenarios};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Bug {
    None,
    /// Listing users ignores the requested page size.
    ListIgnoresSize,
    /// A missing user is reported with the wrong kind.
    GetMissingIsProtocol,
    /// Removing a non-member fails instead of succeeding.
    RemoveNotIdempotent,
    /// `users_delete` is implemented but not declared.
    ForgottenFlag,
    /// `sessions_revoke` is declared but left at the trait's default body.
    DeclaredNotImplemented,
}

/// The file adapter with a chosen bug and chosen protected accounts.
struct Buggy {
    inner: FileAdapter,
    bug: Bug,
    protected: Protected,
}

// Built on `Forward`: every method the bug does not touch reaches the file adapter.
#[async_trait]
impl Forward for Buggy {
    fn forward_to(&self) -> &dyn Adapter {
        &self.inner
    }
    fn kind(&self) -> &'static str {
        "buggy-file"
    }
    // No bug changes which users a listing gives or their order, so the file adapter's
    // positions hold for this wrapper's listing too.
    async fn listing_version(&self) -> Result<u64> {
        self.inner.listing_version().await
    }
    async fn members_by_position(
        &self,
        group: &str,
        version: u64,
    ) -> Result<Option<PositionedMembers>> {
        self.inner.members_by_position(group, version).await
    }
    fn capabilities(&self) -> Capabilities {
        let mut caps = FileAdapter::declared_capabilities();
        match self.bug {
            Bug::ForgottenFlag => caps.users_delete = false,
            // Files hold no sessions: the file adapter leaves revoking at the default.
            Bug::DeclaredNotImplemented => caps.sessions_revoke = true,
            _ => {}
        }
        caps
    }
    fn protected(&self) -> Protected {
        self.protected.clone()
    }
    async fn list_users(&self, mut page: PageRequest) -> Result<Page<User>> {
        if self.bug == Bug::ListIgnoresSize {
            page.size = Some(10_000);
        }
        self.inner.list_users(page).await
    }
    async fn get_user(&self, id: &str) -> Result<User> {
        match self.inner.get_user(id).await {
            Err(e) if self.bug == Bug::GetMissingIsProtocol => {
                Err(Error::protocol(e.message().to_string()))
            }
            other => other,
        }
    }
    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        if self.bug == Bug::RemoveNotIdempotent {
            let members = self.inner.list_members(group, PageRequest::first()).await?;
            if !members.items.contains(member) {
                return Err(Error::not_found("not a member"));
            }
        }
        self.inner.remove_member(group, member).await
    }
}

const SEED: &str = "users:\n  - {id: u-admin, login: admin}\ngroups:\n  - {id: g-admins, name: admins}\nroles:\n  - {id: r-v, name: viewer}\n  - {id: r-p, name: proj, scope: {project: P}}\ncomplete: {users: 1, groups: 1, roles: 2, grants: 0}\n";

struct BuggyFixture(Bug);

#[async_trait]
impl Fixture for BuggyFixture {
    async fn instance(&self) -> Result<Instance> {
        let dir = tempfile::tempdir().map_err(|e| Error::unavailable(e.to_string()))?;
        let path = dir.path().join("d.yaml");
        std::fs::write(&path, SEED).map_err(|e| Error::unavailable(e.to_string()))?;
        let adapter = Buggy {
            inner: FileAdapter::open(&path, false)?,
            bug: self.0,
            protected: Protected {
                user_ids: ["u-admin".to_string()].into(),
                group_ids: ["g-admins".to_string()].into(),
                ..Protected::default()
            },
        };
        let handle = AdapterHandle::new("selftest", Arc::new(adapter));
        Ok(Instance::with_guard(handle, dir))
    }
}

/// Runs one scenario by name and says whether it passed, was ignored, or failed (with the
/// failure text).
async fn outcome(bug: Bug, name: &str) -> std::result::Result<Verdict, String> {
    let scenario = all_scenarios()
        .into_iter()
        .find(|s| s.name == name)
        .expect("the scenario exists");
    let fixture: Arc<dyn Fixture> = Arc::new(BuggyFixture(bug));
    let instance = fixture.instance().await.expect("instance");
    let cx = Ctx::new(instance, fixture);
    let out = (scenario.run)(&cx).await;
    cx.cleanup().await;
    out.map_err(|f| f.0)
}

#[tokio::test]
async fn a_correct_adapter_passes_every_applicable_scenario() {
    for s in all_scenarios() {
        if super::skip_reason("buggy-file", &FileAdapter::declared_capabilities(), &s).is_some() {
            continue;
        }
        match outcome(Bug::None, s.name).await {
            Ok(Verdict::Passed) => {}
            Ok(Verdict::Ignored(r)) => assert!(
                s.name == "capabilities::undeclared_qualifiers_are_unsupported",
                "{} ignored: {r}",
                s.name
            ),
            Err(f) => panic!("{} failed on a correct adapter: {f}", s.name),
        }
    }
}

#[tokio::test]
async fn protected_accounts_are_checked() {
    for name in [
        "protected::users_refuse_writes",
        "protected::groups_refuse_writes",
    ] {
        assert!(
            matches!(outcome(Bug::None, name).await, Ok(Verdict::Passed)),
            "{name}"
        );
    }
}

#[tokio::test]
async fn ignoring_the_page_size_fails_pagination() {
    let err = outcome(Bug::ListIgnoresSize, "users::pagination_three_pages")
        .await
        .expect_err("must fail");
    assert!(err.contains("asked for at most"), "{err}");
}

#[tokio::test]
async fn a_wrong_error_kind_fails_not_found_scenarios() {
    let err = outcome(Bug::GetMissingIsProtocol, "users::get_missing_not_found")
        .await
        .expect_err("must fail");
    assert!(err.contains("protocol"), "{err}");
}

#[tokio::test]
async fn a_non_idempotent_remove_fails() {
    outcome(Bug::RemoveNotIdempotent, "members::remove_is_idempotent")
        .await
        .expect_err("must fail");
}

#[tokio::test]
async fn a_forgotten_flag_is_reported() {
    let err = outcome(
        Bug::ForgottenFlag,
        "capabilities::undeclared_are_not_implemented",
    )
    .await
    .expect_err("must fail");
    assert!(err.contains("users_delete"), "{err}");
    // Through the handle the undeclared operation is still refused.
    assert!(matches!(
        outcome(
            Bug::ForgottenFlag,
            "capabilities::undeclared_are_unsupported"
        )
        .await,
        Ok(Verdict::Passed)
    ));
}

#[tokio::test]
async fn a_declared_but_unimplemented_method_fails_naming_it() {
    let err = outcome(
        Bug::DeclaredNotImplemented,
        "capabilities::declared_are_implemented",
    )
    .await
    .expect_err("must fail");
    assert!(err.contains("sessions_revoke"), "{err}");
    assert!(err.contains("unimplemented"), "{err}");
    assert!(
        matches!(
            outcome(Bug::None, "capabilities::declared_are_implemented").await,
            Ok(Verdict::Passed)
        ),
        "a complete adapter passes"
    );
}
