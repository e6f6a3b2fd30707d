use chrono::TimeZone;
use idbridge_core::{NewUser, User};

use super::super::{
    Account, Action, CanSignIn, Conflict, DisableUser, GroupRef, HeldAccount, Plan, PrincipalKind,
    PrincipalRef, Reason, Ref, Refused, Seal, TargetPlan,
};

/// A plan with every field of a plan and of a target filled in.
fn full_plan() -> Plan {
    let mut t = TargetPlan::new("bi", "file");
    let create = t.push(
        Action::CreateUser(crate::plan::CreateUser::new(
            "u1",
            &NewUser::new("ada\u{202e}"),
            "f",
        )),
        vec![],
    );
    t.push(
        Action::AddMember {
            group: std::sync::Arc::new(GroupRef {
                at: Ref::Id("g1".into()),
                name: "eng \"core\"".into(),
            }),
            member: std::sync::Arc::new(PrincipalRef {
                kind: PrincipalKind::User,
                at: Ref::Created(create),
                name: "ada".into(),
            }),
        },
        vec![create],
    );
    let mut full = NewUser::new("cy");
    full.email = Some("cy@example.com".into());
    full.display_name = Some("Cy \u{1b}".into());
    full.enabled = false;
    full.attributes.insert("dept".into(), "R&D".into());
    full.attributes.insert("Cost".into(), "42".into());
    let cy = t.push(
        Action::CreateUser(crate::plan::CreateUser::new(
            "u3",
            &full,
            "0123456789abcdef",
        )),
        vec![],
    );
    let eng = t.push(
        Action::CreateGroup(Box::new(crate::plan::CreateGroup {
            source_id: "g2".into(),
            group: idbridge_core::NewGroup {
                name: "ops".into(),
                description: Some("d".into()),
            },
            fingerprint: "fg".into(),
        })),
        vec![],
    );
    t.push(
        Action::AddMember {
            group: std::sync::Arc::new(GroupRef {
                at: Ref::Created(eng),
                name: "ops".into(),
            }),
            member: std::sync::Arc::new(PrincipalRef {
                kind: PrincipalKind::User,
                at: Ref::Created(cy),
                name: "cy".into(),
            }),
        },
        vec![cy, eng, create],
    );
    t.push(
        Action::RemoveMember {
            group: std::sync::Arc::new(GroupRef {
                at: Ref::Id("g1".into()),
                name: "eng \"core\"".into(),
            }),
            member: std::sync::Arc::new(PrincipalRef {
                kind: PrincipalKind::Group,
                at: Ref::Id("g7".into()),
                name: "old".into(),
            }),
        },
        vec![],
    );
    t.push(
        Action::DisableUser(Box::new(DisableUser {
            source_id: Some("u9".into()),
            id: "T9".into(),
            before: User {
                id: "T9".into(),
                login: "bob".into(),
                email: Some("bob@example.com".into()),
                display_name: None,
                enabled: true,
                attributes: [("z".to_string(), "1".to_string()), ("a".into(), "2".into())]
                    .into_iter()
                    .collect(),
            },
            reason: Reason::Left,
            fingerprint: None,
        })),
        vec![],
    );
    let account = || Account {
        id: "T1".into(),
        login: "eve".into(),
    };
    t.managed_users = 3;
    t.managed_groups = 2;
    t.managed_memberships = 5;
    t.managed_grants = 1;
    t.conflicts.push(Conflict {
        kind: "user".into(),
        sources: vec!["u2 (x)".into()],
        target: Some(account()),
        reason: "two".into(),
    });
    t.unmanaged.push(account());
    t.protected.push(account());
    t.refused.push(Refused {
        op: "add_member".into(),
        resource: "admins <- eve".into(),
        reason: "privileged".into(),
    });
    t.notes.push("a note".into());
    t.unavailable = Some("down".into());
    t.can_sign_in.push(CanSignIn {
        id: "T2".into(),
        login: "mallory".into(),
        reason: Reason::Left,
        why: "cannot disable".into(),
        stripped_now: true,
    });
    t.held.push(HeldAccount {
        id: "T3".into(),
        login: "trudy".into(),
        person: "Trudy".into(),
        since: chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        by: "ops".into(),
    });
    let mut plan = Plan::new();
    plan.made_by = Some("alice".into());
    plan.seal = Some(Seal {
        state: "s".into(),
        config: "c".into(),
        mac: "m".into(),
    });
    plan.targets.push(t);
    plan.targets.push(TargetPlan::new("empty", "file"));
    plan
}

#[test]
fn the_value_form_is_the_plan_as_a_json_value() {
    for plan in [full_plan(), Plan::new()] {
        let old = serde_json::to_value(&plan).expect("value");
        let streamed = serde_json::to_string_pretty(&plan.as_value_form()).expect("streams");
        assert_eq!(
            streamed,
            serde_json::to_string_pretty(&old).expect("value"),
            "pretty"
        );
        let compact = serde_json::to_string(&plan.as_value_form()).expect("streams");
        assert_eq!(compact, old.to_string(), "compact");
    }
}

#[test]
fn the_saved_form_is_written_as_to_json_and_reads_back() {
    let plan = full_plan();
    let mut out = Vec::new();
    plan.write_json(&mut out).expect("writes");
    assert_eq!(
        String::from_utf8(out.clone()).expect("utf-8"),
        plan.to_json()
    );
    let back = Plan::from_json(std::str::from_utf8(&out).expect("utf-8")).expect("reads");
    assert_eq!(back, plan);
}

#[test]
fn the_digest_hashes_the_compact_form_without_the_seal() {
    use sha2::{Digest, Sha256};
    let mut plan = full_plan();
    let sealed = plan.digest();
    plan.seal = None;
    let bytes = serde_json::to_vec(&plan).expect("json");
    let want: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(plan.digest(), want);
    assert_eq!(sealed, want, "the seal is not part of the digest");
}

#[test]
fn the_saved_form_and_its_digest_are_those_of_format_1() {
    // `saved.json` was written by the build before operations stopped storing their
    // number: saved plans, their seals and journaled digests stay valid.
    let mut plan = full_plan();
    plan.created = "2026-12-06T05:06:08.105630918Z".parse().expect("a time");
    // Saved pretty then, as an outline now: the same JSON, laid out otherwise.
    let value = |text: &str| serde_json::from_str::<serde_json::Value>(text).expect("JSON");
    assert_eq!(value(&plan.to_json()), value(include_str!("saved.json")));
    assert_ne!(plan.to_json(), include_str!("saved.json"));
    assert_eq!(
        plan.digest(),
        "510df465d56285e7256d2779b222ff1e2082284687c2b7a5cef068e5d0ffaaf5"
    );
    let back = Plan::from_json(include_str!("saved.json")).expect("reads");
    assert_eq!(back, plan);
    // A step that is not the operation's position is refused.
    let renumbered = include_str!("saved.json").replacen("\"step\": 1,", "\"step\": 7,", 1);
    let err = Plan::from_json(&renumbered).expect_err("misnumbered");
    assert!(
        err.to_string().contains("operation 1 is numbered 7"),
        "{err}"
    );
}

#[test]
fn the_saved_form_puts_each_operation_on_a_line_of_its_own() {
    let plan = full_plan();
    let text = plan.to_json();
    let ops = plan.targets[0].ops.len();
    let op_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("{\"step\":"))
        .collect();
    assert_eq!(op_lines.len(), ops, "{text}");
    for (step, line) in op_lines.iter().enumerate() {
        let line = line.trim().trim_end_matches(',');
        let op: serde_json::Value = serde_json::from_str(line).expect("one operation per line");
        assert_eq!(op["step"], step);
    }
    // The plan's own fields stay pretty.
    assert!(text.starts_with("{\n  \"format\": 1,\n"), "{text}");
}

#[test]
fn operations_written_straight_have_the_bytes_of_the_derived_form() {
    let plan = full_plan();
    for (step, deps, action) in plan.targets[0].ops.iter_with_deps() {
        let derived = serde_json::to_string(&crate::plan::Numbered {
            step,
            depends_on: deps,
            action,
        })
        .expect("derived");
        let straight =
            serde_json::to_string(&super::SavedOp { step, deps, action }).expect("straight");
        assert_eq!(straight, derived, "operation {step} ({})", action.name());
    }
}
