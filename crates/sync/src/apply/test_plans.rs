//! Plans for the scheduler's unit tests.

use crate::plan::{Action, LinkGroup, TargetPlan};

/// A plan of one operation per entry of `lists`, each depending on the operations its
/// entry names (the operations themselves write nothing: links to an existing group).
pub(super) fn plan_with_deps(lists: &[Vec<usize>]) -> TargetPlan {
    let mut t = TargetPlan::new("bi", "file");
    for deps in lists {
        t.push(
            Action::LinkGroup(Box::new(LinkGroup {
                source_id: "g".into(),
                id: "G".into(),
                name: "g".into(),
                fingerprint: "f".into(),
            })),
            deps.clone(),
        );
    }
    t
}
