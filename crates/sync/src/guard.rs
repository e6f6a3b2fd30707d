//! The deletion guard: a plan that would disable or delete too many managed accounts in a
//! target is refused for that target, naming the numbers and the one-time override.

use serde::{Deserialize, Serialize};

use crate::plan::TargetPlan;
use crate::settings::TargetSettings;

/// Why a target's plan was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardViolation {
    /// The target.
    pub target: String,
    /// Disables and deletes in the plan.
    pub deletions: usize,
    /// Managed accounts in the target.
    pub managed: usize,
    /// The configured absolute limit.
    pub max_deletions: usize,
    /// The configured percentage limit.
    pub max_deletion_percent: f64,
    /// The full explanation.
    pub message: String,
}

/// Checks one target's plan against its limits: user disables and deletes against the
/// managed accounts, group deletions against the managed groups.
///
/// `allow_deletions` (from `--allow-deletions N`) lets up to `N` of each through whatever
/// the limits say, for one run.
pub fn check(
    plan: &TargetPlan,
    settings: &TargetSettings,
    allow_deletions: Option<usize>,
) -> Option<GuardViolation> {
    let group_deletions = plan
        .ops
        .iter()
        .filter(|o| matches!(o.action, crate::plan::Action::DeleteGroup { .. }))
        .count();
    check_one(
        plan,
        settings,
        allow_deletions,
        (plan.deletions(), plan.managed_users),
        ("disables or deletes", "accounts"),
    )
    .or_else(|| {
        check_one(
            plan,
            settings,
            allow_deletions,
            (group_deletions, plan.managed_groups),
            ("deletes", "groups"),
        )
    })
}

fn check_one(
    plan: &TargetPlan,
    settings: &TargetSettings,
    allow_deletions: Option<usize>,
    (deletions, managed): (usize, usize),
    (verb, what): (&str, &str),
) -> Option<GuardViolation> {
    if deletions == 0 {
        return None;
    }
    if allow_deletions.is_some_and(|n| deletions <= n) {
        return None;
    }
    let percent_limit = settings.max_deletion_percent;
    let over_percent = (deletions as f64) * 100.0 > percent_limit * (managed as f64) + f64::EPSILON;
    let over_absolute = deletions > settings.max_deletions;
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
        why.push(format!("max_deletions = {}", settings.max_deletions));
    }
    if over_percent {
        why.push(format!(
            "max_deletion_percent = {percent_limit} ({} of {managed})",
            ((percent_limit * managed as f64) / 100.0).floor()
        ));
    }
    let already = match allow_deletions {
        Some(n) => format!(" (--allow-deletions {n} is fewer)"),
        None => String::new(),
    };
    let message = format!(
        "target `{}`: the plan {verb} {deletions} of {managed} managed {what} \
         ({share:.1}%), more than {}{already}; nothing is changed in this target. If this is \
         intended, run once with --allow-deletions {deletions}, or raise the limit in `{}`",
        plan.target,
        why.join(" and "),
        settings.key_path,
    );
    Some(GuardViolation {
        target: plan.target.clone(),
        deletions,
        managed,
        max_deletions: settings.max_deletions,
        max_deletion_percent: percent_limit,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Reason};
    use idbridge_core::User;

    fn plan(managed: usize, deletions: usize) -> TargetPlan {
        let mut p = TargetPlan::new("bi", "file");
        p.managed_users = managed;
        for i in 0..deletions {
            p.push(
                Action::DisableUser {
                    source_id: None,
                    id: format!("T{i}"),
                    before: Box::new(User {
                        id: format!("T{i}"),
                        login: format!("u{i}"),
                        email: None,
                        display_name: None,
                        enabled: true,
                        attributes: Default::default(),
                    }),
                    reason: Reason::Left,
                    fingerprint: None,
                },
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
                Action::DeleteGroup {
                    source_id: None,
                    id: format!("G{i}"),
                    before: Box::new(idbridge_core::Group {
                        id: format!("G{i}"),
                        name: format!("g{i}"),
                        description: None,
                    }),
                },
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
}
