//! The conformance suite: one named scenario per behaviour, run by every adapter against
//! fresh instances of itself.
//!
//! An adapter's `tests/conformance.rs` (with `harness = false` in its Cargo.toml) is:
//!
//! ```ignore
//! use std::process::ExitCode;
//!
//! fn main() -> ExitCode {
//!     idbridge_testkit::conformance::run(MyFixture::default())
//! }
//! ```
//!
//! Every scenario is a separate `libtest-mimic` trial named `<concept>::<behaviour>`
//! (`users::create_then_get`), so `cargo test -p idbridge-x --test conformance -- users::`
//! filters them as usual. A scenario whose capability the adapter does not declare, or that
//! the fixture cannot support (opening sessions, a role to grant), is reported as
//! *ignored* with the reason; it never passes silently.
//!
//! Scenarios never assume an empty platform: they create records with unique names and
//! only compare what they created. Assertions compare [`ErrorKind`]s, never message text.
//! Each scenario gets its own instance from the [`Fixture`] and deletes, best effort, the
//! users and groups it created.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use idbridge_core::{
    AdapterHandle, Capabilities, Error, ErrorKind, Group, NewGroup, NewUser, Protected, Secret,
    User,
};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

mod capabilities;
mod grants;
mod groups;
mod members;
mod members_all;
mod members_batch;
mod members_position;
mod paging;
mod protected;
#[cfg(test)]
mod selftest;
mod sessions;
mod users;

/// How long one scenario may take before it is failed as hung.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(300);

/// What a scenario needs from the adapter under test.
///
/// Implement it in the adapter's `tests/conformance.rs`: build a fresh instance (a temporary
/// file, a freshly started emulator) for every call of [`Fixture::instance`].
#[async_trait]
pub trait Fixture: Send + Sync + 'static {
    /// A fresh instance of the adapter (its own temp file or emulator), plus anything that
    /// must live as long as the test.
    async fn instance(&self) -> idbridge_core::Result<Instance>;

    /// Opens a real login session for `login` with `password` (a user created by the
    /// scenario with that password), if the platform can; `Ok(false)` = cannot (session
    /// scenarios are then ignored with the reason).
    async fn open_session(
        &self,
        _instance: &Instance,
        _login: &str,
        _password: &Secret,
    ) -> idbridge_core::Result<bool> {
        Ok(false)
    }

    /// The user a scenario creates, from a unique lowercase ASCII token (letters, digits,
    /// hyphens). The default uses the token as login, `<token>@example.com` as email and a
    /// readable display name; override it when the platform constrains logins.
    fn new_user(&self, unique: &str) -> NewUser {
        let mut user = NewUser::new(unique);
        user.email = Some(format!("{unique}@example.com"));
        user.display_name = Some(format!("Conformance {unique}"));
        user
    }

    /// A project that exists on the platform, for granting global roles in a project scope
    /// when the platform lists no project-scoped role. Default: none.
    fn grant_project(&self) -> Option<String> {
        None
    }
}

/// One adapter instance under test.
pub struct Instance {
    /// The checked handle the scenarios call.
    pub handle: AdapterHandle,
    /// Whatever must stay alive while the instance is used (a temp dir, an emulator server).
    pub guard: Box<dyn Any + Send + Sync>,
}

impl Instance {
    /// An instance with nothing to keep alive.
    pub fn new(handle: AdapterHandle) -> Self {
        Instance {
            handle,
            guard: Box::new(()),
        }
    }

    /// An instance that keeps `guard` alive as long as itself.
    pub fn with_guard(handle: AdapterHandle, guard: impl Any + Send + Sync) -> Self {
        Instance {
            handle,
            guard: Box::new(guard),
        }
    }
}

/// A scenario's failure: what was expected and what happened.
#[derive(Debug)]
pub(crate) struct Fail(String);

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail(format!("unexpected error (kind {}): {e}", e.kind()))
    }
}

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Fail(s)
    }
}

/// How a scenario ended when it did not fail.
#[derive(Debug)]
pub(crate) enum Verdict {
    Passed,
    Ignored(String),
}

pub(crate) type Outcome = Result<Verdict, Fail>;

type ScenarioFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + 'a>>;

/// One behaviour.
pub(crate) struct Scenario {
    /// `<concept>::<behaviour>`.
    pub name: &'static str,
    /// Capability flags (as named in [`Capabilities`]) that must all be declared.
    pub requires: &'static [&'static str],
    /// Capability flags that must all be undeclared (for scenarios about refusals).
    pub requires_absent: &'static [&'static str],
    pub run: for<'a> fn(&'a Ctx) -> ScenarioFuture<'a>,
}

/// Declares scenarios of one concept module:
/// `scenario!(name, [required flags], [flags that must be absent])`.
macro_rules! scenarios {
    ($module:literal; $( $name:ident [$($req:literal),*] $(![$($absent:literal),*])? ),* $(,)?) => {
        pub(crate) fn scenarios() -> Vec<$crate::conformance::Scenario> {
            vec![$(
                $crate::conformance::Scenario {
                    name: concat!($module, "::", stringify!($name)),
                    requires: &[$($req),*],
                    requires_absent: &[$($($absent),*)?],
                    run: |cx| Box::pin($name(cx)),
                }
            ),*]
        }
    };
}
pub(crate) use scenarios;

/// Fails the scenario with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::conformance::Fail(format!($($fmt)+)));
        }
    };
}
pub(crate) use ensure;

/// Checks that `result` failed with `kind`.
pub(crate) fn expect_kind<T: std::fmt::Debug>(
    result: idbridge_core::Result<T>,
    kind: ErrorKind,
    what: &str,
) -> Result<(), Fail> {
    match result {
        Ok(v) => Err(Fail(format!(
            "{what}: expected a {kind} error, got Ok({v:?})"
        ))),
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(Fail(format!(
            "{what}: expected a {kind} error, got {}: {e}",
            e.kind()
        ))),
    }
}

/// What every scenario works with: the instance, its capabilities, unique names, and a
/// record of what it created (deleted again afterwards).
pub(crate) struct Ctx {
    pub h: AdapterHandle,
    pub caps: Capabilities,
    pub fixture: Arc<dyn Fixture>,
    pub instance: Instance,
    tag: String,
    counter: AtomicUsize,
    created_users: Mutex<Vec<String>>,
    created_groups: Mutex<Vec<String>>,
}

impl Ctx {
    fn new(instance: Instance, fixture: Arc<dyn Fixture>) -> Self {
        Ctx {
            h: instance.handle.clone(),
            caps: instance.handle.capabilities(),
            fixture,
            instance,
            tag: format!("{:08x}", rand::random::<u32>()),
            counter: AtomicUsize::new(0),
            created_users: Mutex::new(Vec::new()),
            created_groups: Mutex::new(Vec::new()),
        }
    }

    /// A token unique to this scenario run: `cf-<what>-<tag>-<n>`.
    pub fn unique(&self, what: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("cf-{what}-{}-{n}", self.tag)
    }

    /// The specification of a new unique user (see [`Fixture::new_user`]).
    pub fn user_spec(&self) -> NewUser {
        self.fixture.new_user(&self.unique("u"))
    }

    /// The specification of a new unique group.
    pub fn group_spec(&self) -> NewGroup {
        NewGroup {
            name: self.unique("g"),
            // A description only where the platform stores one: the handle refuses it
            // elsewhere.
            description: self
                .caps
                .groups_description
                .then(|| "created by the conformance suite".to_string()),
        }
    }

    /// Creates a user from `spec` and remembers it for clean-up.
    pub async fn create_user(&self, spec: &NewUser) -> Result<User, Fail> {
        let user = self.h.create_user(spec).await?;
        self.remember_user(&user.id);
        Ok(user)
    }

    /// Creates a new unique user.
    pub async fn new_user(&self) -> Result<User, Fail> {
        let spec = self.user_spec();
        self.create_user(&spec).await
    }

    /// Creates a group from `spec` and remembers it for clean-up.
    pub async fn create_group(&self, spec: &NewGroup) -> Result<Group, Fail> {
        let group = self.h.create_group(spec).await?;
        self.remember_group(&group.id);
        Ok(group)
    }

    /// Creates a new unique group.
    pub async fn new_group(&self) -> Result<Group, Fail> {
        let spec = self.group_spec();
        self.create_group(&spec).await
    }

    /// Remembers a user id created outside [`Ctx::create_user`] (a batch).
    pub fn remember_user(&self, id: &str) {
        if let Ok(mut v) = self.created_users.lock() {
            v.push(id.to_string());
        }
    }

    /// Remembers a group id created outside [`Ctx::create_group`].
    pub fn remember_group(&self, id: &str) {
        if let Ok(mut v) = self.created_groups.lock() {
            v.push(id.to_string());
        }
    }

    /// A value that is certainly not an id on the platform.
    pub fn missing_id(&self) -> String {
        self.unique("missing")
    }

    /// Deletes, best effort, what the scenario created; errors (already deleted, not
    /// deletable) do not matter here.
    async fn cleanup(&self) {
        let groups = self
            .created_groups
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default();
        let users = self
            .created_users
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default();
        if self.caps.groups_delete {
            for id in groups.iter().rev() {
                let _ = self.h.delete_group(id).await;
            }
        }
        if self.caps.users_delete {
            for id in users.iter().rev() {
                let _ = self.h.delete_user(id).await;
            }
        }
    }
}

/// Every scenario of the suite, in report order.
pub(crate) fn all_scenarios() -> Vec<Scenario> {
    let mut v = Vec::new();
    v.extend(capabilities::scenarios());
    v.extend(users::scenarios());
    v.extend(groups::scenarios());
    v.extend(members::scenarios());
    v.extend(members_all::scenarios());
    v.extend(members_batch::scenarios());
    v.extend(members_position::scenarios());
    v.extend(grants::scenarios());
    v.extend(sessions::scenarios());
    v.extend(protected::scenarios());
    v
}

/// The names of every scenario, in report order.
pub fn scenario_names() -> Vec<&'static str> {
    all_scenarios().into_iter().map(|s| s.name).collect()
}

/// The value of the capability flag `flag`, or `None` when no flag has that name.
fn flag(caps: &Capabilities, flag: &str) -> Option<bool> {
    match serde_json::to_value(caps).ok()?.get(flag)? {
        serde_json::Value::Bool(b) => Some(*b),
        _ => None,
    }
}

/// Why `scenario` cannot run on an adapter with `caps`, or `None` when it can.
fn skip_reason(kind: &str, caps: &Capabilities, scenario: &Scenario) -> Option<String> {
    let mut missing = Vec::new();
    for req in scenario.requires {
        match flag(caps, req) {
            Some(true) => {}
            Some(false) => missing.push(*req),
            None => return Some(format!("the suite names an unknown capability `{req}`")),
        }
    }
    if !missing.is_empty() {
        return Some(format!(
            "adapter `{kind}` does not declare {}",
            missing.join(", ")
        ));
    }
    let present: Vec<&str> = scenario
        .requires_absent
        .iter()
        .copied()
        .filter(|f| flag(caps, f) != Some(false))
        .collect();
    if !present.is_empty() {
        return Some(format!(
            "adapter `{kind}` declares {}, so there is no refusal to check",
            present.join(", ")
        ));
    }
    None
}

/// What the runner learns from one instance before making the trials.
struct Env {
    kind: &'static str,
    caps: Capabilities,
    protected: Protected,
}

/// Parses libtest arguments, builds a tokio runtime, builds one instance to read the
/// capabilities, makes one trial per scenario and runs them.
///
/// Returns failure when any scenario fails, when the runtime cannot start, or when the
/// fixture cannot build an instance.
pub fn run(fixture: impl Fixture) -> ExitCode {
    let args = Arguments::from_args();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Arc::new(rt),
        Err(e) => {
            eprintln!("conformance: cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let fixture: Arc<dyn Fixture> = Arc::new(fixture);
    let env = runtime.block_on(async {
        let instance = fixture.instance().await?;
        let h = &instance.handle;
        let env = Env {
            kind: h.kind(),
            caps: h.capabilities(),
            protected: h.protected().clone(),
        };
        let _ = h.close().await;
        Ok::<_, Error>(env)
    });
    let env = match env {
        Ok(env) => env,
        Err(e) => {
            eprintln!("conformance: the fixture cannot build an instance: {e}");
            return ExitCode::FAILURE;
        }
    };
    let has_protected = !env.protected.user_ids.is_empty() || !env.protected.group_ids.is_empty();
    let trials = all_scenarios()
        .into_iter()
        .map(|s| {
            let mut reason = skip_reason(env.kind, &env.caps, &s);
            if reason.is_none() && s.name.starts_with("protected::") && !has_protected {
                reason = Some(format!(
                    "adapter `{}` declares no protected accounts",
                    env.kind
                ));
            }
            make_trial(s, reason, runtime.clone(), fixture.clone())
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

fn make_trial(
    scenario: Scenario,
    skip: Option<String>,
    runtime: Arc<tokio::runtime::Runtime>,
    fixture: Arc<dyn Fixture>,
) -> Trial {
    Trial::ignorable_test(scenario.name, move || {
        if let Some(reason) = skip {
            return Ok(Completion::ignored_with(reason));
        }
        runtime.block_on(async move {
            let instance = fixture
                .instance()
                .await
                .map_err(|e| Failed::from(format!("the fixture cannot build an instance: {e}")))?;
            let cx = Ctx::new(instance, fixture);
            let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, (scenario.run)(&cx)).await;
            cx.cleanup().await;
            let _ = cx.h.close().await;
            match outcome {
                Err(_) => Err(Failed::from(format!(
                    "did not finish within {} s",
                    SCENARIO_TIMEOUT.as_secs()
                ))),
                Ok(Ok(Verdict::Passed)) => Ok(Completion::Completed),
                Ok(Ok(Verdict::Ignored(reason))) => Ok(Completion::ignored_with(reason)),
                Ok(Err(Fail(msg))) => Err(Failed::from(msg)),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::Operation;

    #[test]
    fn names_are_unique_and_well_formed() {
        let names = scenario_names();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate scenario names");
        for n in names {
            let (concept, behaviour) = n.split_once("::").expect("concept::behaviour");
            assert!(!concept.is_empty() && !behaviour.is_empty(), "{n}");
        }
    }

    #[test]
    fn every_required_flag_exists() {
        let all = Capabilities::default();
        for s in all_scenarios() {
            for f in s.requires.iter().chain(s.requires_absent) {
                assert!(flag(&all, f).is_some(), "{}: unknown flag {f}", s.name);
            }
        }
    }

    #[test]
    fn every_operation_is_exercised_by_some_scenario() {
        let scenarios = all_scenarios();
        for op in Operation::ALL {
            assert!(
                scenarios.iter().any(|s| s.requires.contains(&op.as_str())),
                "no scenario exercises {op}"
            );
        }
    }

    #[test]
    fn undeclared_capability_skips_with_its_name() {
        let s = all_scenarios()
            .into_iter()
            .find(|s| s.name == "users::activity")
            .expect("scenario exists");
        let reason = skip_reason("x", &Capabilities::default(), &s).expect("skipped");
        assert!(reason.contains("users_activity"), "{reason}");
        let caps = Capabilities {
            users_create: true,
            users_activity: true,
            ..Capabilities::default()
        };
        assert_eq!(skip_reason("x", &caps, &s), None);
    }
}
