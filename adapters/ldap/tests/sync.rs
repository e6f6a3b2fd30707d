//! A sync from the private slapd into every registered vendor emulator at once, through
//! the sync engine: it converges and a second run plans nothing; an entry moved to another
//! OU or renamed keeps its accounts (an update, never a delete and a create); a leaver
//! gets each target's deletion policy; a user the directory's disabled rule matches is
//! disabled on the targets; an empty or failed read is an error that changes nothing.
//!
//! No vendor is named here: the targets are one per emulator in the registry (every
//! shipped adapter is linked through `idbridge-platforms`), each named after its vendor.

mod support;

use std::collections::HashSet;

use idbridge_core::{AdapterHandle, ErrorKind, Principal, User, registry};
use idbridge_store::Store;
use idbridge_sync::report::render_plan;
use idbridge_sync::{Action, ApplyOptions, Engine, Plan, RunReport, Target, TargetSettings};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator, start_emulator};
use ldap3::Mod;
use serde_json::{Value, json};
use support::{GROUPS, PEOPLE, Slapd};

/// The directory's disabled rule in these tests (the seed has no password-policy schema).
const DISABLED_FILTER: &str = "(employeeType=disabled)";

/// The users of the seed the directory lists as enabled.
const ENABLED: &[&str] = &[
    "ann", "bob", "user01", "user02", "user03", "user04", "user05", "user06", "user07", "user08",
    "user09",
];

/// Which deletion policy each target gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// The default, `disable`, where the target can disable accounts; `delete` where it
    /// cannot (else a leaver could still sign in there).
    Natural,
    /// `delete` everywhere.
    Delete,
}

/// The slapd, the source over it, and one target per registered emulator.
struct Bridge {
    server: Slapd,
    source: AdapterHandle,
    emulators: Vec<RunningEmulator>,
    targets: Vec<Target>,
    state: tempfile::TempDir,
}

impl Bridge {
    async fn start(policy: Policy) -> Bridge {
        idbridge_platforms::link_all();
        let server = Slapd::start(&support::seed(), None);
        let source = registry::build_adapter(
            "ldap",
            server.section(json!({"disabled_filter": DISABLED_FILTER})),
        )
        .await
        .expect("the ldap source");
        let mut emulators = Vec::new();
        let mut targets = Vec::new();
        for d in idbridge_platforms::emulators() {
            let emulator = start_emulator(d.vendor, EmulatorOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{}: emulator: {e}", d.vendor));
            let handle = registry::build_adapter(d.vendor, emulator.adapter_config(d.vendor))
                .await
                .unwrap_or_else(|e| panic!("{}: adapter: {e}", d.vendor));
            let mut settings = match &emulator.target_settings {
                Value::Object(m) => m.clone(),
                _ => serde_json::Map::new(),
            };
            if policy == Policy::Delete || !handle.capabilities().users_set_enabled {
                settings.insert("deletion".into(), json!("delete"));
            }
            let settings = TargetSettings::from_json(d.vendor, Value::Object(settings))
                .unwrap_or_else(|e| panic!("{}: settings: {e}", d.vendor));
            targets.push(Target { handle, settings });
            emulators.push(emulator);
        }
        assert!(!targets.is_empty(), "no emulator is registered");
        Bridge {
            server,
            source,
            emulators,
            targets,
            state: tempfile::tempdir().expect("state dir"),
        }
    }

    /// A fresh engine, as a new process would build it.
    fn engine_with(&self, source: AdapterHandle) -> Engine {
        let store = Store::open(&self.state.path().join("state.db")).expect("state file");
        Engine::new(source, self.targets.clone(), store)
    }

    async fn plan(&self) -> Plan {
        self.engine_with(self.source.clone())
            .plan()
            .await
            .expect("plan")
    }

    /// One run as `idbridge apply` makes it: lock, plan, guard, apply.
    async fn sync(&self) -> (Plan, RunReport) {
        let engine = self.engine_with(self.source.clone());
        let lock = engine.lock("sync").expect("lock");
        let plan = engine.plan().await.expect("plan");
        let report = engine
            .apply(&plan, &lock, &ApplyOptions::default())
            .await
            .expect("apply");
        assert!(
            report.converged(),
            "{}",
            idbridge_sync::report::render_run(&report)
        );
        (plan, report)
    }

    /// Writes the emulators served so far (sign-ins and token exchanges excluded).
    fn writes(&self) -> usize {
        self.emulators
            .iter()
            .map(|e| e.server.log().served_writes().len())
            .sum()
    }

    /// The source user with this login.
    async fn source_user(&self, login: &str) -> User {
        self.source
            .all_users()
            .await
            .expect("read the source")
            .into_iter()
            .find(|u| u.login == login)
            .unwrap_or_else(|| panic!("no source user `{login}`"))
    }
}

/// What a target knows the seed's user `uid` by: the e-mail where logins are e-mails.
fn key(t: &Target, uid: &str) -> String {
    if t.handle.capabilities().users_login_is_email {
        format!("{uid}@example.com")
    } else {
        uid.to_string()
    }
}

/// The account of the seed's user `uid` on `t`, if there is one.
async fn account(t: &Target, uid: &str) -> Option<User> {
    let key = key(t, uid);
    t.handle
        .all_users()
        .await
        .expect("read the target's users")
        .into_iter()
        .find(|u| u.login.eq_ignore_ascii_case(&key))
}

/// The account by its target id, if it is still there.
async fn account_by_id(t: &Target, id: &str) -> Option<User> {
    t.handle
        .all_users()
        .await
        .expect("read the target's users")
        .into_iter()
        .find(|u| u.id == id)
}

/// The target ids of the users that are direct members of the group called `name`.
async fn user_members(t: &Target, name: &str) -> HashSet<String> {
    let groups = t.handle.all_groups().await.expect("read the groups");
    let g = groups
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("{}: no group `{name}`", t.name()));
    t.handle
        .all_members(&g.id)
        .await
        .expect("read the members")
        .into_iter()
        .filter_map(|m| match m {
            Principal::User(id) => Some(id),
            Principal::Group(_) => None,
        })
        .collect()
}

/// The operations planned for target `name`, as (operation, target id of the user it
/// changes, if any).
fn ops(plan: &Plan, name: &str) -> Vec<(&'static str, Option<String>)> {
    plan.target(name)
        .unwrap_or_else(|| panic!("no plan for `{name}`"))
        .ops
        .iter()
        .map(|op| {
            let id = match &op.action {
                Action::UpdateUser(_)
                | Action::EnableUser(_)
                | Action::DisableUser(_)
                | Action::DeleteUser(_) => op.action.target_id().map(str::to_owned),
                _ => None,
            };
            (op.action.name(), id)
        })
        .collect()
}

fn text(plan: &Plan) -> String {
    render_plan(plan, &[])
}

fn entry(uid: &str, ou: &str) -> String {
    format!("uid={uid},ou={ou},{PEOPLE}")
}

fn set(values: &[&str]) -> HashSet<String> {
    values.iter().map(|v| (*v).to_string()).collect()
}

/// Changes `dn` on the directory as its administrator.
async fn modify(server: &Slapd, dn: &str, mods: Vec<Mod<String>>) {
    server
        .admin()
        .await
        .modify(dn, mods)
        .await
        .and_then(|r| r.success())
        .unwrap_or_else(|e| panic!("modify {dn}: {e}"));
}

#[tokio::test]
async fn a_sync_into_every_emulator_converges_and_a_second_run_plans_nothing() {
    if !support::available() {
        return;
    }
    let b = Bridge::start(Policy::Natural).await;
    let (plan, _) = b.sync().await;
    assert!(!plan.is_empty());

    for t in &b.targets {
        for uid in ENABLED {
            let u = account(t, uid)
                .await
                .unwrap_or_else(|| panic!("{}: no account for `{uid}`", t.name()));
            assert!(u.enabled, "{}: `{uid}` is disabled", t.name());
        }
        // Disabled in the directory before the first run: never created. Outside the
        // user bases: never read.
        for uid in ["cid", "ghost"] {
            assert!(
                account(t, uid).await.is_none(),
                "{}: `{uid}` has an account",
                t.name()
            );
        }
        let id = |u: Option<User>| u.map(|u| u.id).unwrap_or_default();
        let ann = id(account(t, "ann").await);
        let bob = id(account(t, "bob").await);
        let user01 = id(account(t, "user01").await);
        // groupOfNames (a member DN spelled in another case and spacing), groupOfUniqueNames
        // and posixGroup, each with its direct members.
        let engineers = user_members(t, "engineers").await;
        assert!(
            engineers.contains(&ann) && engineers.contains(&bob),
            "{}: engineers {engineers:?}",
            t.name()
        );
        assert_eq!(
            user_members(t, "sales").await,
            set(&[user01.as_str()]),
            "{}",
            t.name()
        );
        assert_eq!(
            user_members(t, "unix").await,
            set(&[bob.as_str()]),
            "{}",
            t.name()
        );
        // `all` holds `engineers` and `sales`: nested where the platform nests groups,
        // flattened into its users elsewhere.
        if !t.handle.capabilities().members_nested {
            let all = user_members(t, "all").await;
            for u in [&ann, &bob, &user01] {
                assert!(all.contains(u), "{}: all {all:?}", t.name());
            }
        }
    }

    let writes = b.writes();
    let (plan, _) = b.sync().await;
    assert!(plan.is_empty(), "a second run plans:\n{}", text(&plan));
    assert_eq!(b.writes(), writes, "a second run wrote to a platform");
}

#[tokio::test]
async fn a_user_moved_to_another_ou_or_renamed_keeps_their_accounts() {
    if !support::available() {
        return;
    }
    let b = Bridge::start(Policy::Natural).await;
    b.sync().await;
    let source_id = b.source_user("bob").await.id;
    let mut before = Vec::new();
    for t in &b.targets {
        let u = account(t, "bob").await.expect("bob's account");
        before.push(u.id);
    }

    // Moved to another OU (modrdn with a new superior), the group updated as the refint
    // overlay would: the same entryUUID, nothing to change anywhere.
    let old = entry("bob", "engineering");
    let new = entry("bob", "sales");
    let mut admin = b.server.admin().await;
    admin
        .modifydn(&old, "uid=bob", true, Some(&format!("ou=sales,{PEOPLE}")))
        .await
        .and_then(|r| r.success())
        .expect("move bob");
    modify(
        &b.server,
        &format!("cn=engineers,{GROUPS}"),
        vec![
            Mod::Delete("member".into(), set(&[&old])),
            Mod::Add("member".into(), set(&[&new])),
        ],
    )
    .await;
    assert_eq!(
        b.source_user("bob").await.id,
        source_id,
        "entryUUID changed"
    );
    let (plan, _) = b.sync().await;
    assert!(plan.is_empty(), "a move plans:\n{}", text(&plan));
    for (t, id) in b.targets.iter().zip(&before) {
        let now = account(t, "bob")
            .await
            .expect("bob's account after the move");
        assert_eq!(&now.id, id, "{}: a new account", t.name());
    }

    // Renamed: a new uid (modrdn) and a new mail, the groups updated. One update of the
    // same account per target, no create, no delete.
    admin
        .modifydn(&new, "uid=robert", true, None)
        .await
        .and_then(|r| r.success())
        .expect("rename bob");
    let renamed = entry("robert", "sales");
    modify(
        &b.server,
        &renamed,
        vec![Mod::Replace("mail".into(), set(&["robert@example.com"]))],
    )
    .await;
    modify(
        &b.server,
        &format!("cn=engineers,{GROUPS}"),
        vec![
            Mod::Delete("member".into(), set(&[&new])),
            Mod::Add("member".into(), set(&[&renamed])),
        ],
    )
    .await;
    modify(
        &b.server,
        &format!("cn=unix,{GROUPS}"),
        vec![
            Mod::Delete("memberUid".into(), set(&["bob"])),
            Mod::Add("memberUid".into(), set(&["robert"])),
        ],
    )
    .await;
    let renamed_user = b.source_user("robert").await;
    assert_eq!(renamed_user.id, source_id, "entryUUID changed");

    let plan = b.plan().await;
    for (t, id) in b.targets.iter().zip(&before) {
        let ops = ops(&plan, t.name());
        assert_eq!(
            ops,
            vec![("update_user", Some(id.clone()))],
            "{}: the rename is not one update of the same account:\n{}",
            t.name(),
            text(&plan)
        );
    }
    b.sync().await;
    for (t, id) in b.targets.iter().zip(&before) {
        let now = account_by_id(t, id)
            .await
            .unwrap_or_else(|| panic!("{}: the account is gone", t.name()));
        assert_eq!(
            now.email.as_deref(),
            Some("robert@example.com"),
            "{}",
            t.name()
        );
        let caps = t.handle.capabilities();
        let login = if caps.users_login_is_email {
            "robert@example.com"
        } else if caps.users_login_immutable {
            "bob"
        } else {
            "robert"
        };
        assert_eq!(now.login, login, "{}", t.name());
        assert!(
            user_members(t, "engineers").await.contains(id),
            "{}",
            t.name()
        );
        assert!(user_members(t, "unix").await.contains(id), "{}", t.name());
    }
    let (plan, _) = b.sync().await;
    assert!(plan.is_empty(), "after the rename:\n{}", text(&plan));
}

/// Checks what happened to the account `id` of a user who should lose access, for the
/// target's policy and capabilities: the one operation the plan held for it, and the
/// account afterwards.
async fn lost_access(t: &Target, plan: &Plan, id: &str, deletes: bool) {
    let planned: Vec<&str> = ops(plan, t.name())
        .into_iter()
        .filter(|(_, of)| of.as_deref() == Some(id))
        .map(|(op, _)| op)
        .collect();
    let now = account_by_id(t, id).await;
    if deletes {
        assert_eq!(
            planned,
            vec!["delete_user"],
            "{}:\n{}",
            t.name(),
            text(plan)
        );
        assert!(now.is_none(), "{}: still there: {now:?}", t.name());
    } else {
        assert_eq!(
            planned,
            vec!["disable_user"],
            "{}:\n{}",
            t.name(),
            text(plan)
        );
        let now = now.unwrap_or_else(|| panic!("{}: the account is gone", t.name()));
        assert!(!now.enabled, "{}: still enabled", t.name());
    }
}

/// A leaver, then a user the directory disables, under `policy`.
async fn leaver_and_disabled(policy: Policy) {
    let b = Bridge::start(policy).await;
    b.sync().await;
    let mut user09 = Vec::new();
    let mut ann = Vec::new();
    for t in &b.targets {
        user09.push(account(t, "user09").await.expect("user09's account").id);
        ann.push(account(t, "ann").await.expect("ann's account").id);
    }

    // Removed from the directory: the deletion policy of each target.
    b.server
        .admin()
        .await
        .delete(&entry("user09", "sales"))
        .await
        .and_then(|r| r.success())
        .expect("delete user09");
    let (plan, _) = b.sync().await;
    for (t, id) in b.targets.iter().zip(&user09) {
        let deletes = policy == Policy::Delete || !t.handle.capabilities().users_set_enabled;
        lost_access(t, &plan, id, deletes).await;
    }

    // Matched by the disabled rule: disabled wherever the platform can disable accounts,
    // whatever the policy; deleted where it cannot and the policy deletes.
    modify(
        &b.server,
        &entry("ann", "engineering"),
        vec![Mod::Add("employeeType".into(), set(&["disabled"]))],
    )
    .await;
    assert!(!b.source_user("ann").await.enabled);
    let (plan, _) = b.sync().await;
    for (t, id) in b.targets.iter().zip(&ann) {
        let deletes = !t.handle.capabilities().users_set_enabled;
        lost_access(t, &plan, id, deletes).await;
    }
    let (plan, _) = b.sync().await;
    assert!(plan.is_empty(), "not converged:\n{}", text(&plan));
}

#[tokio::test]
async fn a_leaver_gets_each_targets_deletion_policy_and_a_disabled_user_is_disabled() {
    if !support::available() {
        return;
    }
    leaver_and_disabled(Policy::Natural).await;
}

#[tokio::test]
async fn with_deletion_delete_a_leaver_is_deleted_everywhere() {
    if !support::available() {
        return;
    }
    leaver_and_disabled(Policy::Delete).await;
}

#[tokio::test]
async fn an_empty_or_failed_read_is_an_error_that_changes_nothing() {
    if !support::available() {
        return;
    }
    let b = Bridge::start(Policy::Natural).await;
    b.sync().await;
    let writes = b.writes();

    // A refused bind.
    let wrong = registry::build_adapter(
        "ldap",
        b.server.section(json!({
            "password": "not-the-password",
            "disabled_filter": DISABLED_FILTER,
        })),
    )
    .await
    .expect("the source builds; the password is only tried on reading");
    let err = b
        .engine_with(wrong)
        .plan()
        .await
        .expect_err("a refused bind plans nothing");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");

    // Everyone gone from the directory: an empty read, never "everyone left".
    let mut admin = b.server.admin().await;
    for uid in ENABLED.iter().chain(&["cid"]) {
        let ou = match *uid {
            "ann" | "bob" => "engineering",
            _ => "sales",
        };
        admin
            .delete(&entry(uid, ou))
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("delete {uid}: {e}"));
    }
    let err = b
        .engine_with(b.source.clone())
        .plan()
        .await
        .expect_err("an empty directory plans nothing");
    assert!(err.to_string().contains("no user"), "{err}");

    assert_eq!(b.writes(), writes, "a failed read wrote to a platform");
    for t in &b.targets {
        for uid in ENABLED {
            let u = account(t, uid)
                .await
                .unwrap_or_else(|| panic!("{}: `{uid}` is gone", t.name()));
            assert!(u.enabled, "{}: `{uid}` was disabled", t.name());
        }
    }
}
