//! Every vendor adapter against its emulator while the answers come back malformed:
//! truncated JSON (`garbage`), a proxy's HTML page (`html`), a value of the wrong type
//! (`wrongtype`), a missing field (`missing`) and a body larger than the client reads
//! (`huge`). The adapter is connected to a healthy emulator first, then the faults are
//! switched on, and each operation goes through the `AdapterHandle`.
//!
//! What must hold: no call panics or hangs (each runs in its own task under a generous
//! timeout that only detects hangs), and every failure is an `idbridge_core::Error` of
//! kind `Protocol` (or `Unavailable`, for a proxy's 502 or a body the connection dropped)
//! whose text names the adapter instance and the operation. Calls that read records
//! cannot succeed when every answer is unreadable; with `wrongtype` and `missing` an
//! adapter may tolerate the change (a field it does not need, a number it reads from a
//! string), but what it returns must still carry the record's identity.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use idbridge_core::{
    AdapterHandle, Error, ErrorKind, NewGroup, NewUser, Operation, PageRequest, Principal, registry,
};
use idbridge_testkit::emulator::{EmulatorOptions, FaultSpec, RunningEmulator, start_emulator};

/// Generous: a call that has not returned by then is hanging, not slow.
const HANG: Duration = Duration::from_secs(180);

const MALFORMED: [&str; 5] = ["garbage", "html", "wrongtype", "missing", "huge"];

/// A connected adapter, and a user and a group created while the emulator was healthy.
struct Setup {
    emulator: RunningEmulator,
    handle: AdapterHandle,
    instance: String,
    user_id: String,
    group_id: String,
    email_logins: bool,
}

async fn setup(vendor: &str) -> Setup {
    idbridge_e2e::link_vendors();
    let emulator = start_emulator(vendor, EmulatorOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{vendor} emulator: {e}"));
    let instance = format!("malformed-{vendor}");
    let handle = registry::build_adapter(vendor, emulator.adapter_config(&instance))
        .await
        .unwrap_or_else(|e| panic!("{vendor} adapter: {e}"));
    let email_logins = handle.capabilities().users_login_is_email;
    let user = handle
        .create_user(&new_user(email_logins, "fixture"))
        .await
        .unwrap_or_else(|e| panic!("{vendor}: fixture user: {e}"));
    let group = handle
        .create_group(&new_group("fixture"))
        .await
        .unwrap_or_else(|e| panic!("{vendor}: fixture group: {e}"));
    handle
        .add_member(&group.id, &Principal::User(user.id.clone()))
        .await
        .unwrap_or_else(|e| panic!("{vendor}: fixture membership: {e}"));
    Setup {
        emulator,
        handle,
        instance,
        user_id: user.id,
        group_id: group.id,
        email_logins,
    }
}

fn new_user(email_logins: bool, tag: &str) -> NewUser {
    let local = format!("mal-{tag}");
    let email = format!("{local}@example.com");
    let mut u = NewUser::new(if email_logins { email.clone() } else { local });
    u.email = Some(email);
    u.display_name = Some(format!("Malformed {tag}"));
    u
}

fn new_group(tag: &str) -> NewGroup {
    NewGroup {
        name: format!("mal-{tag}"),
        description: None,
    }
}

/// What a successful call returned, reduced to what can be checked.
#[derive(Debug)]
enum Returned {
    /// Users: `(id, login)` of each.
    Users(Vec<(String, String)>),
    /// Groups: `(id, name)` of each.
    Groups(Vec<(String, String)>),
    /// Anything else (members, roles, nothing).
    Other,
}

type CallFuture = Pin<Box<dyn Future<Output = Result<Returned, Error>> + Send>>;

/// One operation through the handle: its name, whether it reads records from the answer
/// (so that it cannot succeed on an unreadable one), and the call.
struct Call {
    op: Operation,
    reads_records: bool,
    run: Box<dyn Fn(AdapterHandle, String) -> CallFuture + Send + Sync>,
}

fn users_of(users: Vec<idbridge_core::User>) -> Returned {
    Returned::Users(users.into_iter().map(|u| (u.id, u.login)).collect())
}

fn groups_of(groups: Vec<idbridge_core::Group>) -> Returned {
    Returned::Groups(groups.into_iter().map(|g| (g.id, g.name)).collect())
}

/// The calls exercised, in order; each gets a fresh tag for the records it creates.
fn calls(s: &Setup) -> Vec<Call> {
    let (user_id, group_id, email_logins) = (s.user_id.clone(), s.group_id.clone(), s.email_logins);
    let mut v: Vec<Call> = Vec::new();
    v.push(Call {
        op: Operation::UsersList,
        reads_records: true,
        run: Box::new(|h, _| {
            Box::pin(async move {
                h.list_users(PageRequest::first())
                    .await
                    .map(|p| users_of(p.items))
            })
        }),
    });
    let id = user_id.clone();
    v.push(Call {
        op: Operation::UsersGet,
        reads_records: true,
        run: Box::new(move |h, _| {
            let id = id.clone();
            Box::pin(async move { h.get_user(&id).await.map(|u| users_of(vec![u])) })
        }),
    });
    v.push(Call {
        op: Operation::UsersCreate,
        reads_records: true,
        run: Box::new(move |h, tag| {
            Box::pin(async move {
                h.create_user(&new_user(email_logins, &tag))
                    .await
                    .map(|u| users_of(vec![u]))
            })
        }),
    });
    v.push(Call {
        op: Operation::GroupsList,
        reads_records: true,
        run: Box::new(|h, _| {
            Box::pin(async move {
                h.list_groups(PageRequest::first())
                    .await
                    .map(|p| groups_of(p.items))
            })
        }),
    });
    let id = group_id.clone();
    v.push(Call {
        op: Operation::GroupsGet,
        reads_records: true,
        run: Box::new(move |h, _| {
            let id = id.clone();
            Box::pin(async move { h.get_group(&id).await.map(|g| groups_of(vec![g])) })
        }),
    });
    v.push(Call {
        op: Operation::GroupsCreate,
        reads_records: true,
        run: Box::new(|h, tag| {
            Box::pin(async move {
                h.create_group(&new_group(&tag))
                    .await
                    .map(|g| groups_of(vec![g]))
            })
        }),
    });
    let id = group_id.clone();
    v.push(Call {
        op: Operation::MembersList,
        reads_records: true,
        run: Box::new(move |h, _| {
            let id = id.clone();
            Box::pin(async move {
                h.list_members(&id, PageRequest::first())
                    .await
                    .map(|_| Returned::Other)
            })
        }),
    });
    let (gid, uid) = (group_id.clone(), user_id.clone());
    v.push(Call {
        op: Operation::MembersAdd,
        // Adding a present member: an adapter may decide from what it read that there is
        // nothing to do, or send a write whose answer it does not need.
        reads_records: false,
        run: Box::new(move |h, _| {
            let (gid, uid) = (gid.clone(), uid.clone());
            Box::pin(async move {
                h.add_member(&gid, &Principal::User(uid))
                    .await
                    .map(|()| Returned::Other)
            })
        }),
    });
    v.push(Call {
        op: Operation::RolesList,
        reads_records: true,
        run: Box::new(|h, _| {
            Box::pin(async move {
                h.list_roles(PageRequest::first())
                    .await
                    .map(|_| Returned::Other)
            })
        }),
    });
    let caps = s.handle.capabilities();
    v.retain(|c| caps.supports(c.op));
    v
}

/// Runs one call in its own task, so that a panic is reported as one, under the hang
/// detector.
async fn run_call(s: &Setup, call: &Call, tag: String, context: &str) -> Result<Returned, Error> {
    let fut = (call.run)(s.handle.clone(), tag);
    let task = tokio::spawn(fut);
    match tokio::time::timeout(HANG, task).await {
        Err(_) => panic!("{context}: {} did not return within {HANG:?}", call.op),
        Ok(Err(join)) if join.is_panic() => {
            panic!("{context}: {} panicked: {join}", call.op)
        }
        Ok(Err(join)) => panic!("{context}: {} task failed: {join}", call.op),
        Ok(Ok(outcome)) => outcome,
    }
}

/// The error is an idbridge error of an expected kind that names the instance and the
/// operation.
fn check_error(s: &Setup, op: Operation, fault: &str, err: &Error, context: &str) {
    let text = err.to_string();
    let allowed: &[ErrorKind] = match fault {
        // A proxy's 502 page is an unavailable server; its 200 page an unreadable answer.
        "html" => &[ErrorKind::Protocol, ErrorKind::Unavailable],
        // A body the client stops reading, or a connection that drops under it.
        "huge" => &[ErrorKind::Protocol, ErrorKind::Unavailable],
        _ => &[ErrorKind::Protocol],
    };
    assert!(
        allowed.contains(&err.kind()),
        "{context}: {op} failed with kind {} (expected one of {allowed:?}): {text}",
        err.kind()
    );
    if fault == "html" && err.kind() == ErrorKind::Unavailable {
        assert_eq!(err.http_status(), Some(502), "{context}: {op}: {text}");
    }
    assert_eq!(
        err.adapter(),
        Some(s.instance.as_str()),
        "{context}: {text}"
    );
    assert_eq!(err.operation(), Some(op.as_str()), "{context}: {text}");
    assert!(
        text.contains(&s.instance) && text.contains(op.as_str()),
        "{context}: the message names instance and operation: {text}"
    );
}

/// What a tolerated mangling returned still identifies its records.
fn check_returned(op: Operation, returned: &Returned, context: &str) {
    match returned {
        Returned::Users(users) => {
            for (id, login) in users {
                assert!(
                    !id.is_empty() && !login.is_empty(),
                    "{context}: {op} returned a user without id or login: {users:?}"
                );
            }
        }
        Returned::Groups(groups) => {
            for (id, name) in groups {
                assert!(
                    !id.is_empty() && !name.is_empty(),
                    "{context}: {op} returned a group without id or name: {groups:?}"
                );
            }
        }
        Returned::Other => {}
    }
}

/// Every malformed fault at rate 1, one after the other, on one connected adapter.
async fn every_answer_malformed(vendor: &str) {
    let s = setup(vendor).await;
    let calls = calls(&s);
    assert!(calls.len() >= 6, "{vendor}: too few operations declared");
    for fault in MALFORMED {
        let spec = FaultSpec::parse(&format!("{fault}=1,retry_after=0,seed=11")).expect("spec");
        s.emulator.server.set_faults(spec);
        let faults_before = s.emulator.server.log().faults();
        let mut failures = 0;
        for (n, call) in calls.iter().enumerate() {
            let context = format!("{vendor} with {fault}=1");
            match run_call(&s, call, format!("{fault}-{n}"), &context).await {
                Err(err) => {
                    failures += 1;
                    println!("{context}: {err}");
                    check_error(&s, call.op, fault, &err, &context);
                }
                Ok(returned) => {
                    let tolerable = matches!(fault, "wrongtype" | "missing");
                    assert!(
                        tolerable || !call.reads_records,
                        "{context}: {} succeeded although every answer was unreadable: {returned:?}",
                        call.op
                    );
                    check_returned(call.op, &returned, &context);
                }
            }
        }
        s.emulator.server.set_faults(FaultSpec::none());
        assert!(
            s.emulator.server.log().faults() > faults_before,
            "{vendor}: the emulator injected no {fault} fault"
        );
        if !matches!(fault, "wrongtype" | "missing") {
            assert!(failures > 0, "{vendor}: no call failed under {fault}=1");
        }
        println!(
            "{vendor} {fault}=1: {failures} of {} calls failed",
            calls.len()
        );
        // The adapter recovers once the answers are whole again.
        s.handle
            .get_user(&s.user_id)
            .await
            .unwrap_or_else(|e| panic!("{vendor}: after {fault}: {e}"));
    }
}

/// All malformed faults mixed at a moderate rate with a seed, over several rounds.
async fn some_answers_malformed(vendor: &str, seed: u64) {
    let s = setup(vendor).await;
    let calls = calls(&s);
    let spec = FaultSpec::parse(&format!(
        "garbage=0.06,html=0.06,wrongtype=0.06,missing=0.06,huge=0.02,retry_after=0,seed={seed}"
    ))
    .expect("spec");
    s.emulator.server.set_faults(spec);
    let (mut ok, mut failed) = (0, 0);
    for round in 0..4 {
        for (n, call) in calls.iter().enumerate() {
            let context = format!("{vendor} with mixed faults, seed {seed}, round {round}");
            match run_call(&s, call, format!("mix-{round}-{n}"), &context).await {
                Err(err) => {
                    failed += 1;
                    println!("{context}: {err}");
                    // Which fault hit this call is not known here: any malformed kind.
                    check_error(&s, call.op, "huge", &err, &context);
                }
                Ok(returned) => {
                    ok += 1;
                    check_returned(call.op, &returned, &context);
                }
            }
        }
    }
    s.emulator.server.set_faults(FaultSpec::none());
    assert!(
        s.emulator.server.log().faults() > 0,
        "{vendor}: no fault injected"
    );
    println!("{vendor} mixed faults, seed {seed}: {ok} calls succeeded, {failed} failed");
    assert!(
        ok > 0,
        "{vendor}: at moderate rates most calls succeed ({failed} failed)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_malformed_for_every_vendor() {
    let vendors = idbridge_e2e::emulated_vendors();
    assert!(!vendors.is_empty(), "no emulator registered");
    for vendor in vendors {
        every_answer_malformed(vendor).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn some_answers_malformed_for_every_vendor() {
    for vendor in idbridge_e2e::emulated_vendors() {
        some_answers_malformed(vendor, 7).await;
    }
}

/// A vendor source whose answers garble one field of every record must fail the read: a
/// leaver disabled in the source stays disabled (is not created enabled), no login becomes
/// the garbled value, no group takes its id as its name. Each case (the garbled fields come
/// from the vendor's emulator) runs a full `plan` + `apply` into an empty directory-file
/// target and checks that it failed and wrote nothing; with the faults off, the same run
/// creates what the source holds.
mod vendor_source {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use idbridge_core::{AdapterHandle, registry};
    use idbridge_file::{DirGroup, DirUser, Directory, FileAdapter};
    use idbridge_store::Store;
    use idbridge_sync::{ApplyOptions, Engine, Target, TargetSettings};
    use idbridge_testkit::emulator::{EmulatorOptions, FaultSpec, start_emulator};

    fn user(id: &str, login: &str, enabled: bool) -> DirUser {
        DirUser {
            id: id.to_string(),
            login: login.to_string(),
            email: Some(format!("{login}@example.com")),
            display_name: Some(format!("Person {login}")),
            enabled,
            groups: vec!["sales".to_string()],
            attributes: BTreeMap::new(),
        }
    }

    /// The source directory for `vendor`: logins are emails where the platform's are, and
    /// everyone is enabled where the platform cannot disable accounts.
    fn directory(vendor: &str) -> Directory {
        let caps = idbridge_e2e::capabilities(vendor);
        let mut dir = Directory {
            users: vec![user("u1", "ada", true), user("u2", "leaver", false)],
            groups: vec![DirGroup {
                id: "g1".to_string(),
                name: "sales".to_string(),
                description: None,
                groups: Vec::new(),
            }],
            roles: Vec::new(),
            grants: Vec::new(),
        };
        for u in &mut dir.users {
            if caps.users_login_is_email {
                u.login = u.email.clone().expect("an email");
            }
            if !caps.users_set_enabled {
                u.enabled = true;
            }
        }
        dir
    }

    /// One run from the emulator of `vendor` seeded with its [`directory`] (with `faults`)
    /// into a new empty file target; returns the run's outcome and the target's users and
    /// groups afterwards.
    async fn run_from(
        vendor: &str,
        faults: &str,
    ) -> (Result<(), String>, Vec<idbridge_core::User>, Vec<String>) {
        idbridge_e2e::link_vendors();
        let options = EmulatorOptions {
            seed: Some(directory(vendor).to_snapshot()),
            ..EmulatorOptions::default()
        };
        let emulator = start_emulator(vendor, options).await.expect("emulator");
        let source = registry::build_adapter(vendor, emulator.adapter_config("source"))
            .await
            .expect("source adapter");
        emulator
            .server
            .set_faults(FaultSpec::parse(faults).expect("fault spec"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("target.yaml");
        let file = FileAdapter::open(&path, true).expect("target file");
        let target = AdapterHandle::new("files", Arc::new(file));
        let settings = TargetSettings::from_json("files", serde_json::json!({})).expect("settings");
        let engine = Engine::new(
            source,
            vec![Target {
                handle: target.clone(),
                settings,
            }],
            Store::open(&dir.path().join("state.db")).expect("state"),
        );
        let lock = engine.lock("sync").expect("lock");
        let outcome = async {
            let plan = engine.plan().await.map_err(|e| e.to_string())?;
            let report = engine
                .apply(&plan, &lock, &ApplyOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            // A run may also end with the source's failure recorded in the report.
            let text = format!("{report:?}");
            if text.contains(" answered ") {
                return Err(text);
            }
            Ok(())
        }
        .await;
        let users = target.all_users().await.expect("read the target");
        let groups = target
            .all_groups()
            .await
            .expect("read the target's groups")
            .into_iter()
            .map(|g| g.name)
            .collect();
        (outcome, users, groups)
    }

    async fn garbled(vendor: &str, faults: &str, field: &str) {
        let name = idbridge_e2e::contract(vendor).platform;
        let (outcome, users, groups) = run_from(vendor, faults).await;
        let err = outcome.expect_err(&format!(
            "{vendor}, {faults}: the run succeeded and made users {users:?}, groups {groups:?}"
        ));
        println!("{vendor}, {faults}: {err}");
        // Every record carries the garbled field, so whichever read fails first names it:
        // `name` on its own, or inside a path such as `projects[ID].name`.
        assert!(
            err.contains(name)
                && (err.contains(&format!("`{field}`")) || err.contains(&format!(".{field}`"))),
            "{vendor}, {faults}: the error names the vendor and the field: {err}"
        );
        assert!(
            users.is_empty() && groups.is_empty(),
            "{vendor}, {faults}: a failed source read changed the target: users {users:?}, groups {groups:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn healthy_answers_create_the_leaver_disabled() {
        for vendor in idbridge_e2e::emulated_vendors() {
            let (outcome, users, groups) = run_from(vendor, "").await;
            outcome.unwrap_or_else(|e| panic!("{vendor}: a healthy run: {e}"));
            let logins: Vec<String> = directory(vendor)
                .users
                .into_iter()
                .map(|u| u.login)
                .collect();
            // A leaver is not created at all, or created disabled: never enabled.
            assert!(
                users.iter().all(|u| u.login != "leaver" || !u.enabled),
                "{vendor}: {users:?}"
            );
            assert!(
                users.iter().any(|u| u.login == logins[0] && u.enabled),
                "{vendor}: {users:?}"
            );
            assert!(groups.iter().any(|g| g == "sales"), "{vendor}: {groups:?}");
        }
    }

    /// Every garbled field the vendor's emulator lists fails the read and changes nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn garbled_source_answers_fail_closed_for_every_vendor() {
        let mut cases = 0;
        for vendor in idbridge_e2e::emulated_vendors() {
            for (faults, field) in idbridge_e2e::contract(vendor).garbled_source {
                garbled(vendor, faults, field).await;
                cases += 1;
            }
        }
        assert!(cases > 0, "no vendor lists a garbled field");
    }
}
