//! The plan's text against a golden copy: every kind of operation and every kind of
//! remark, with a value that would act on a terminal.

use std::sync::Arc;

use chrono::TimeZone;
use idbridge_core::{Group, GroupChanges, NewGroup, NewUser, Scope, User, UserChanges};

use crate::guard::GuardViolation;
use crate::plan::*;

fn user(id: &str, login: &str) -> User {
    User {
        id: id.into(),
        login: login.into(),
        email: Some(format!("{login}@example.com")),
        display_name: None,
        enabled: true,
        attributes: [("dept".to_string(), "R&D".to_string())].into(),
    }
}

fn group(at: Ref, name: &str) -> Arc<GroupRef> {
    Arc::new(GroupRef {
        at,
        name: name.into(),
    })
}

fn principal(kind: PrincipalKind, at: Ref, name: &str) -> Arc<PrincipalRef> {
    Arc::new(PrincipalRef {
        kind,
        at,
        name: name.into(),
    })
}

/// One target with every operation and remark, one unavailable target, one in sync.
/// A plan with every kind of operation, and a guard's refusal.
pub(crate) fn sample() -> (Plan, Vec<GuardViolation>) {
    let mut t = TargetPlan::new("bi\u{1b}[2J", "file");
    t.managed_users = 7;
    let mut full = NewUser::new("ada");
    full.display_name = Some("Ada L".into());
    full.email = Some("ada@example.com".into());
    let ada = t.push(
        Action::CreateUser(CreateUser::new("s1", &full, "f1")),
        vec![],
    );
    let mut mail = NewUser::new("eve\u{202e}x");
    mail.email = Some("eve@example.com".into());
    t.push(
        Action::CreateUser(CreateUser::new("s2", &mail, "f2")),
        vec![],
    );
    t.push(
        Action::CreateUser(CreateUser::new("s3", &NewUser::new("bare"), "f3")),
        vec![],
    );
    let mut named = NewUser::new("nm");
    named.display_name = Some("Only Name".into());
    t.push(
        Action::CreateUser(CreateUser::new("s4", &named, "f4")),
        vec![],
    );
    t.push(
        Action::UpdateUser(Box::new(UpdateUser {
            source_id: "s5".into(),
            id: "T5".into(),
            before: user("T5", "bob"),
            changes: UserChanges {
                login: Some("robert".into()),
                email: Some(None),
                display_name: Some(Some("Bob\nForged".into())),
                attributes: Some([("cost".to_string(), "42".to_string())].into()),
            },
            fingerprint: "f5".into(),
        })),
        vec![],
    );
    t.push(
        Action::EnableUser(Box::new(EnableUser {
            source_id: "s6".into(),
            id: "T6".into(),
            before: user("T6", "cy"),
            fingerprint: "f6".into(),
        })),
        vec![],
    );
    t.push(
        Action::DisableUser(Box::new(DisableUser {
            source_id: None,
            id: "T7".into(),
            before: user("T7", "dee"),
            reason: Reason::Left,
            fingerprint: None,
        })),
        vec![],
    );
    t.push(
        Action::DeleteUser(Box::new(DeleteUser {
            source_id: None,
            id: "T8".into(),
            before: user("T8", "fay"),
            reason: Reason::NotInSource,
        })),
        vec![],
    );
    for sessions in [vec![], vec!["a".to_string(), "b".to_string()]] {
        t.push(
            Action::RevokeSessions(Box::new(RevokeSessions {
                id: "T7".into(),
                login: "dee".into(),
                sessions,
            })),
            vec![],
        );
    }
    for (fingerprint, adopted_by) in [
        (crate::util::fingerprint_text(0x5354_5249_5050_4544), None),
        ("f9".to_string(), Some("email".to_string())),
        ("f9".to_string(), None),
    ] {
        t.push(
            Action::LinkUser(Box::new(LinkUser {
                source_id: "s9".into(),
                id: "T9".into(),
                login: "gus".into(),
                fingerprint,
                adopted_by,
            })),
            vec![],
        );
    }
    let eng = t.push(
        Action::CreateGroup(Box::new(CreateGroup {
            source_id: "g1".into(),
            group: NewGroup {
                name: "eng".into(),
                description: None,
            },
            fingerprint: "fg1".into(),
        })),
        vec![],
    );
    t.push(
        Action::UpdateGroup(Box::new(UpdateGroup {
            source_id: "g2".into(),
            id: "TG2".into(),
            before: Group {
                id: "TG2".into(),
                name: "ops".into(),
                description: Some("old".into()),
            },
            changes: GroupChanges {
                name: Some("sre".into()),
                description: Some(None),
            },
            fingerprint: "fg2".into(),
        })),
        vec![],
    );
    t.push(
        Action::DeleteGroup(Box::new(DeleteGroup {
            source_id: None,
            id: "TG3".into(),
            before: Group {
                id: "TG3".into(),
                name: "old".into(),
                description: None,
            },
        })),
        vec![],
    );
    t.push(
        Action::LinkGroup(Box::new(LinkGroup {
            source_id: "g4".into(),
            id: "TG4".into(),
            name: "hr".into(),
            fingerprint: "fg4".into(),
        })),
        vec![],
    );
    t.push(
        Action::AddMember {
            group: group(Ref::Created(eng), "eng"),
            member: principal(PrincipalKind::User, Ref::Created(ada), "ada"),
        },
        vec![ada, eng],
    );
    t.push(
        Action::RemoveMember {
            group: group(Ref::Id("TG4".into()), "hr"),
            member: principal(PrincipalKind::Group, Ref::Id("TG2".into()), "ops"),
        },
        vec![],
    );
    for (grant, scope) in [(true, Scope::Global), (false, Scope::Project("p1".into()))] {
        let change = Box::new(RoleChange {
            role: "r1".into(),
            role_name: "admin".into(),
            principal: (*principal(PrincipalKind::User, Ref::Id("T9".into()), "gus")).clone(),
            scope,
        });
        t.push(
            if grant {
                Action::Grant(change)
            } else {
                Action::Revoke(change)
            },
            vec![],
        );
    }
    t.held.push(HeldAccount {
        id: "T7".into(),
        login: "dee".into(),
        person: "s7".into(),
        since: chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        by: "root".into(),
    });
    t.can_sign_in.push(CanSignIn {
        id: "T8".into(),
        login: "fay".into(),
        reason: Reason::DisabledInSource,
        why: "cannot disable on this platform".into(),
        stripped_now: true,
    });
    t.conflicts.push(Conflict {
        kind: "user".into(),
        sources: vec!["s1 (ada)".into(), "s9 (ada)".into()],
        target: Some(Account {
            id: "T1".into(),
            login: "ada".into(),
        }),
        reason: "two source users map to one login".into(),
    });
    t.refused.push(Refused {
        op: "add_member".into(),
        resource: "admins <- ada".into(),
        reason: "privileged group".into(),
    });
    t.protected.push(Account {
        id: "T0".into(),
        login: "root".into(),
    });
    t.unmanaged = (0..12)
        .map(|i| Account {
            id: format!("X{i}"),
            login: format!("x{i}"),
        })
        .collect();
    t.notes.push("cannot read sessions".into());
    let mut plan = Plan::new();
    plan.targets.push(t);
    plan.targets.push(TargetPlan::unavailable(
        "down",
        "file",
        "connection refused".into(),
    ));
    plan.targets.push(TargetPlan::new("calm", "file"));
    let violations = vec![GuardViolation {
        target: "bi\u{1b}[2J".into(),
        deletions: 2,
        managed: 7,
        max_deletions: 1,
        max_deletion_percent: 10.0,
        message: "the plan disables or deletes 2 of 7 managed accounts".into(),
    }];
    (plan, violations)
}

/// What the plan rendered as before it was written as it goes.
const GOLDEN: &str = r#"target bi\u{1b}[2J (file): 7 managed account(s)
  + create user ada  (Ada L <ada@example.com>)
  + create user eve\u{202e}x  (<eve@example.com>)
  + create user bare
  + create user nm  (Only Name)
  ~ update user bob
      login: "bob" -> "robert"
      email: "bob@example.com" -> (none)
      display_name: (none) -> "Bob\nForged"
      attributes.cost: (none) -> "42"
      attributes.dept: "R&D" -> (none)
  + enable user cy (back in the source)
  - disable user dee (left the source)
  - delete user fay (not in the source (adopt = "all"))
  ! revoke sessions of dee
  ! revoke sessions of dee (2 live)
  = record that gus was stripped of its access (no write to the target)
  = adopt user gus (matched by email; an existing account idbridge did not manage)
  = link user gus (existing account, already matching)
  + create group eng
  ~ update group ops
      name: "ops" -> "sre"
      description: "old" -> (none)
  - delete group old (no longer in the source)
  = link group hr (existing group, already matching)
  + add user ada to group eng
  - remove group ops from group hr
  + grant admin (global) to user gus
  - revoke admin (project p1) from user gus
  = dee held by offboard since 2026-01-02 03:04 UTC (by root): kept disabled; `idbridge offboard --lift s7` ends the hold
  ! fay (disabled in the source): cannot disable on this platform
  ? conflict (user): s1 (ada), s9 (ada) with target account `ada` (T1): two source users map to one login; nothing is done for it
  x refused: add member admins <- ada: privileged group
  protected (never changed): root
  unmanaged (not in the source, never linked; left alone): 12 account(s): x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, ...
  note: cannot read sessions
  summary: 4 user(s) to create, 1 user(s) to update, 1 user(s) to re-enable, 1 user(s) to disable, 1 user(s) to delete, 2 session revocation(s), 2 user link(s) to record, 1 existing account(s) to adopt, 1 group(s) to create, 1 group(s) to update, 1 group(s) to delete, 1 group link(s) to record, 1 member(s) to add, 1 member(s) to remove, 1 grant(s), 1 revocation(s) of roles
  REFUSED: the plan disables or deletes 2 of 7 managed accounts

target down (file): UNAVAILABLE, skipped (nothing is planned or changed there): connection refused

target calm (file): 0 managed account(s)
  no changes

1 of 3 target(s) could not be reached or read and are skipped: down.
21 change(s) planned in 1 of 3 target(s).
"#;

#[test]
fn the_plan_text_is_the_golden_copy() {
    let (plan, violations) = sample();
    assert_eq!(crate::report::render_plan(&plan, &violations), GOLDEN);
    // Written to a sink that takes it a piece at a time, the same bytes.
    let mut pieces = Pieces::default();
    crate::report::write_plan(&mut pieces, &plan, &violations, None).expect("written");
    assert_eq!(pieces.text, GOLDEN);
    assert!(pieces.writes > 40, "{}", pieces.writes);
    let limited = crate::report::render_plan_limited(&plan, &violations, Some(2));
    assert!(limited.contains("  ... and 19 more\n"), "{limited}");
    assert!(!limited.contains("create user bare"), "{limited}");
    assert!(
        limited.contains("summary: 4 user(s) to create"),
        "{limited}"
    );
}

/// A sink that counts its writes.
#[derive(Default)]
struct Pieces {
    text: String,
    writes: usize,
}

impl std::fmt::Write for Pieces {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.text.push_str(s);
        self.writes += 1;
        Ok(())
    }
}

/// A sink that fails after a few writes, and counts the writes tried after that.
struct Failing {
    left: usize,
    after: usize,
}

impl std::fmt::Write for Failing {
    fn write_str(&mut self, _: &str) -> std::fmt::Result {
        if self.left == 0 {
            self.after += 1;
            return Err(std::fmt::Error);
        }
        self.left -= 1;
        Ok(())
    }
}

#[test]
fn a_failed_write_stops_the_rendering() {
    let (plan, violations) = sample();
    let mut sink = Failing { left: 3, after: 0 };
    assert!(crate::report::write_plan(&mut sink, &plan, &violations, None).is_err());
    assert_eq!(sink.after, 1, "nothing is tried after the first failure");
}
