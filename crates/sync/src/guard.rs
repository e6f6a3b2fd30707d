//! The guards: a plan that would disable or delete too many managed accounts, remove too
//! many memberships, revoke too many roles or adopt too many existing accounts in a target
//! is refused for that target, naming the numbers and the one-time override.

use serde::{Deserialize, Serialize};

use crate::plan::TargetPlan;
use crate::settings::TargetSettings;

/// Why a target's plan was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardViolation {
    /// The target.
    pub target: String,
    /// The operations counted by the first limit passed (disables and deletes, membership
    /// removals, role revocations or adoptions).
    pub deletions: usize,
    /// What they are counted against (managed accounts, groups, memberships or grants).
    pub managed: usize,
    /// That limit's configured absolute value.
    pub max_deletions: usize,
    /// That limit's configured percentage (100 for the adoption limit, which has none).
    pub max_deletion_percent: f64,
    /// The full explanation.
    pub message: String,
}

/// The one-run overrides of the guards, from the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowances {
    /// `--allow-deletions N`: up to `N` user disables and deletes, and `N` group deletions.
    pub deletions: Option<usize>,
    /// `--allow-removals N`: up to `N` membership removals, and `N` role revocations.
    pub removals: Option<usize>,
    /// `--allow-adoptions N`: up to `N` adoptions of existing accounts.
    pub adoptions: Option<usize>,
}

impl Allowances {
    /// Only `--allow-deletions`.
    pub fn deletions(allow_deletions: Option<usize>) -> Allowances {
        Allowances {
            deletions: allow_deletions,
            ..Allowances::default()
        }
    }
}

/// Checks one target's plan against its deletion limits only (see [`check_all`]).
pub fn check(
    plan: &TargetPlan,
    settings: &TargetSettings,
    allow_deletions: Option<usize>,
) -> Option<GuardViolation> {
    check_all(plan, settings, &Allowances::deletions(allow_deletions))
}

/// Checks one target's plan against all its limits: user disables and deletes against the
/// managed accounts (`max_deletions`, `max_deletion_percent`), group deletions against the
/// managed groups (the same limits), membership removals against the managed groups'
/// current memberships (`max_membership_removals`, `max_membership_removal_percent`), role
/// revocations against the target's current grants (`max_revocations`,
/// `max_revocation_percent`) and adoptions of existing accounts (`max_adoptions`).
/// Removals and revocations of accounts stripped in place of a disable count as disables.
///
/// Each override in `allow` lets up to `N` of its kinds through whatever the limits say,
/// for one run. Every limit passed is named in the one violation returned.
pub fn check_all(
    plan: &TargetPlan,
    settings: &TargetSettings,
    allow: &Allowances,
) -> Option<GuardViolation> {
    let group_deletions = plan
        .ops
        .iter()
        .filter(|o| matches!(o.action, crate::plan::Action::DeleteGroup(_)))
        .count();
    let deletion_limits = Limits {
        absolute: ("max_deletions", settings.max_deletions),
        percent: Some(("max_deletion_percent", settings.max_deletion_percent)),
        flag: "--allow-deletions",
        allowed: allow.deletions,
    };
    let removal = |absolute, percent| Limits {
        absolute,
        percent: Some(percent),
        flag: "--allow-removals",
        allowed: allow.removals,
    };
    let checks = [
        (
            deletion_limits,
            (plan.deletions(), plan.managed_users),
            ("disables or deletes", "managed accounts"),
        ),
        (
            deletion_limits,
            (group_deletions, plan.managed_groups),
            ("deletes", "managed groups"),
        ),
        (
            removal(
                ("max_membership_removals", settings.max_membership_removals),
                (
                    "max_membership_removal_percent",
                    settings.max_membership_removal_percent,
                ),
            ),
            (plan.membership_removals(), plan.managed_memberships),
            ("removes", "memberships of managed groups"),
        ),
        (
            removal(
                ("max_revocations", settings.max_revocations),
                ("max_revocation_percent", settings.max_revocation_percent),
            ),
            (plan.revocations(), plan.managed_grants),
            ("revokes", "role grants"),
        ),
        (
            Limits {
                absolute: ("max_adoptions", settings.max_adoptions),
                percent: None,
                flag: "--allow-adoptions",
                allowed: allow.adoptions,
            },
            (plan.adoptions(), plan.managed_users),
            ("adopts", "managed accounts"),
        ),
    ];
    let found: Vec<GuardViolation> = checks
        .into_iter()
        .filter_map(|(limits, counts, words)| check_one(plan, settings, limits, counts, words))
        .collect();
    let mut found = found.into_iter();
    let mut first = found.next()?;
    for more in found {
        first.message.push('\n');
        first.message.push_str(&more.message);
    }
    Some(first)
}

/// One limit pair and its override.
#[derive(Debug, Clone, Copy)]
struct Limits {
    absolute: (&'static str, usize),
    percent: Option<(&'static str, f64)>,
    flag: &'static str,
    allowed: Option<usize>,
}

fn check_one(
    plan: &TargetPlan,
    settings: &TargetSettings,
    limits: Limits,
    (deletions, managed): (usize, usize),
    (verb, what): (&str, &str),
) -> Option<GuardViolation> {
    if deletions == 0 {
        return None;
    }
    if limits.allowed.is_some_and(|n| deletions <= n) {
        return None;
    }
    let (abs_key, max_absolute) = limits.absolute;
    let (pct_key, percent_limit) = limits.percent.unwrap_or(("", 100.0));
    let over_percent = limits.percent.is_some()
        && (deletions as f64) * 100.0 > percent_limit * (managed as f64) + f64::EPSILON;
    let over_absolute = deletions > max_absolute;
    if !over_percent && !over_absolute {
        return None;
    }
    let share = if managed == 0 {
        100.0
    } else {
        (deletions as f64) * 100.0 / (managed as f64)
    };
    let mut why = Vec::new();
    if over_absolute {
        why.push(format!("{abs_key} = {max_absolute}"));
    }
    if over_percent {
        why.push(format!(
            "{pct_key} = {percent_limit} ({} of {managed})",
            ((percent_limit * managed as f64) / 100.0).floor()
        ));
    }
    let flag = limits.flag;
    let already = match limits.allowed {
        Some(n) => format!(" ({flag} {n} is fewer)"),
        None => String::new(),
    };
    let message = format!(
        "target `{}`: the plan {verb} {deletions} of {managed} {what} \
         ({share:.1}%), more than {}{already}; nothing is changed in this target. If this is \
         intended, run once with {flag} {deletions}, or raise the limit in `{}`",
        plan.target,
        why.join(" and "),
        settings.key_path,
    );
    Some(GuardViolation {
        target: plan.target.clone(),
        deletions,
        managed,
        max_deletions: max_absolute,
        max_deletion_percent: percent_limit,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, DeleteGroup, DisableUser, LinkUser, Reason, RoleChange};
    use idbridge_core::User;

    fn plan(managed: usize, deletions: usize) -> TargetPlan {
        let mut p = TargetPlan::new("bi", "file");
        p.managed_users = managed;
        for i in 0..deletions {
            p.push(
                Action::DisableUser(Box::new(DisableUser {
                    source_id: None,
                    id: format!("T{i}"),
                    before: User {
                        id: format!("T{i}"),
                        login: format!("u{i}"),
                        email: None,
                        display_name: None,
                        enabled: true,
                        attributes: Default::default(),
                    },
                    reason: Reason::Left,
                    fingerprint: None,
                })),
                vec![],
            );
        }
        p
    }

    #[test]
    fn percentage_limit_and_override() {
        let s = TargetSettings::defaults("bi");
        assert!(
            check(&plan(50, 5), &s, None).is_none(),
            "10% of 50 is allowed"
        );
        let v = check(&plan(50, 6), &s, None).expect("over 10%");
        assert_eq!(v.deletions, 6);
        assert!(v.message.contains("6 of 50"), "{}", v.message);
        assert!(v.message.contains("--allow-deletions 6"), "{}", v.message);
        assert!(v.message.contains("max_deletion_percent"), "{}", v.message);
        assert!(check(&plan(50, 6), &s, Some(6)).is_none());
        let v = check(&plan(50, 6), &s, Some(5)).expect("override too small");
        assert!(
            v.message.contains("--allow-deletions 5 is fewer"),
            "{}",
            v.message
        );
    }

    #[test]
    fn absolute_limit() {
        let mut s = TargetSettings::defaults("bi");
        s.max_deletions = 3;
        s.max_deletion_percent = 100.0;
        assert!(check(&plan(10, 3), &s, None).is_none());
        let v = check(&plan(10, 4), &s, None).expect("over 3");
        assert!(v.message.contains("max_deletions = 3"), "{}", v.message);
    }

    #[test]
    fn mass_group_deletion_is_refused_too() {
        let s = TargetSettings::defaults("bi");
        let mut p = plan(100, 0);
        p.managed_groups = 8;
        for i in 0..8 {
            p.push(
                Action::DeleteGroup(Box::new(DeleteGroup {
                    source_id: None,
                    id: format!("G{i}"),
                    before: idbridge_core::Group {
                        id: format!("G{i}"),
                        name: format!("g{i}"),
                        description: None,
                    },
                })),
                vec![],
            );
        }
        let v = check(&p, &s, None).expect("all groups deleted");
        assert!(v.message.contains("8 of 8 managed groups"), "{}", v.message);
        assert!(check(&p, &s, Some(8)).is_none());
    }

    #[test]
    fn everyone_leaving_is_refused() {
        let s = TargetSettings::defaults("bi");
        assert!(check(&plan(40, 40), &s, None).is_some());
    }

    fn user_ref(i: usize) -> crate::plan::PrincipalRef {
        crate::plan::PrincipalRef {
            kind: crate::plan::PrincipalKind::User,
            at: crate::plan::Ref::Id(format!("T{i}").into()),
            name: format!("u{i}").into(),
        }
    }

    /// 50 users, each in 4 groups, all dropped from the source: 200 removals.
    fn membership_drop(users: usize, per_user: usize) -> TargetPlan {
        let mut p = plan(50, 0);
        p.managed_memberships = 200;
        for i in 0..users {
            for g in 0..per_user {
                p.push(
                    Action::RemoveMember {
                        group: std::sync::Arc::new(crate::plan::GroupRef {
                            at: crate::plan::Ref::Id(format!("G{g}").into()),
                            name: format!("g{g}").into(),
                        }),
                        member: std::sync::Arc::new(user_ref(i)),
                    },
                    vec![],
                );
            }
        }
        p
    }

    #[test]
    fn dropping_every_membership_is_refused() {
        let s = TargetSettings::defaults("bi");
        let p = membership_drop(50, 4);
        let v = check_all(&p, &s, &Allowances::default()).expect("every membership dropped");
        assert!(
            v.message
                .contains("removes 200 of 200 memberships of managed groups"),
            "{}",
            v.message
        );
        assert!(
            v.message.contains("max_membership_removal_percent = 20"),
            "{}",
            v.message
        );
        assert!(v.message.contains("--allow-removals 200"), "{}", v.message);
        // The deletion override does not cover it; its own does.
        let only_deletions = Allowances::deletions(Some(1000));
        assert!(check_all(&p, &s, &only_deletions).is_some());
        let allowed = Allowances {
            removals: Some(200),
            ..Allowances::default()
        };
        assert!(check_all(&p, &s, &allowed).is_none());
        // Within the limits (20% of 200): passes.
        assert!(check_all(&membership_drop(10, 4), &s, &Allowances::default()).is_none());
        // The absolute limit.
        let mut s = s;
        s.max_membership_removal_percent = 100.0;
        s.max_membership_removals = 30;
        let v = check_all(&membership_drop(10, 4), &s, &Allowances::default()).expect("over 30");
        assert!(
            v.message.contains("max_membership_removals = 30"),
            "{}",
            v.message
        );
    }

    #[test]
    fn mass_revocations_are_refused() {
        let s = TargetSettings::defaults("bi");
        let mut p = plan(50, 0);
        p.managed_grants = 60;
        for i in 0..50 {
            p.push(
                Action::Revoke(Box::new(RoleChange {
                    role: "r".into(),
                    role_name: "analyst".into(),
                    principal: user_ref(i),
                    scope: idbridge_core::Scope::Global,
                })),
                vec![],
            );
        }
        let v = check_all(&p, &s, &Allowances::default()).expect("revocations");
        assert!(
            v.message.contains("revokes 50 of 60 role grants"),
            "{}",
            v.message
        );
        let allowed = Allowances {
            removals: Some(50),
            ..Allowances::default()
        };
        assert!(check_all(&p, &s, &allowed).is_none());
    }

    #[test]
    fn removals_of_accounts_stripped_in_place_of_a_disable_count_as_disables() {
        let s = TargetSettings::defaults("bi");
        let mut p = membership_drop(3, 4);
        p.managed_users = 100;
        for i in 0..3 {
            p.can_sign_in.push(crate::plan::CanSignIn {
                id: format!("T{i}"),
                login: format!("u{i}"),
                reason: Reason::Left,
                why: "cannot disable".into(),
                stripped_now: true,
            });
        }
        p.managed_memberships = 20;
        assert_eq!(p.membership_removals(), 0);
        assert!(check_all(&p, &s, &Allowances::default()).is_none());
    }

    #[test]
    fn adoptions_beyond_the_limit_are_refused() {
        let s = TargetSettings::defaults("bi");
        let adoptions = |n: usize| {
            let mut p = plan(n, 0);
            for i in 0..n {
                p.push(
                    Action::LinkUser(Box::new(LinkUser {
                        source_id: format!("s{i}"),
                        id: format!("T{i}"),
                        login: format!("u{i}"),
                        fingerprint: "0000000000000000".into(),
                        adopted_by: Some("email".into()),
                    })),
                    vec![],
                );
            }
            p
        };
        assert!(check_all(&adoptions(10), &s, &Allowances::default()).is_none());
        let v = check_all(&adoptions(11), &s, &Allowances::default()).expect("11 > 10");
        assert!(v.message.contains("adopts 11"), "{}", v.message);
        assert!(v.message.contains("max_adoptions = 10"), "{}", v.message);
        assert!(v.message.contains("--allow-adoptions 11"), "{}", v.message);
        let allowed = Allowances {
            adoptions: Some(11),
            ..Allowances::default()
        };
        assert!(check_all(&adoptions(11), &s, &allowed).is_none());
    }
}
