//! Reading a saved plan into the same compact form the planner makes: straight from a
//! reader (never the whole file as one string), each membership's group and member
//! shared with every other operation that names them, and each account creation with the
//! same creation of the other targets, as in the plan that was saved.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use hashbrown::HashSet;
use idbridge_core::{Error, Result};
use serde::de::{Deserializer, SeqAccess, Visitor};

use super::saved_op::SavedOp;
use super::{Action, CreateUser, GroupRef, Ops, PLAN_FORMAT, Plan, PrincipalRef, Ref};

impl Plan {
    /// Reads a saved plan from `reader` as it is parsed (best buffered) and checks its
    /// structure, as [`Plan::from_json`] does for a text.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::InvalidInput`] when the text is not a plan (or cannot
    /// be read), has another format version, or its operations reference each other
    /// inconsistently.
    pub fn from_reader(reader: impl std::io::Read) -> Result<Plan> {
        let mut de = serde_json::Deserializer::from_reader(reader);
        let plan: Plan = sharing(|| serde::Deserialize::deserialize(&mut de))
            .and_then(|p| de.end().map(|()| p))
            .map_err(|e| Error::invalid_input(format!("not an idbridge plan: {e}")))?;
        plan.checked()
    }

    /// The plan, once its format and its operations' structure check.
    pub(super) fn checked(self) -> Result<Plan> {
        if self.format != PLAN_FORMAT {
            return Err(Error::invalid_input(format!(
                "plan format {} is not supported (this idbridge reads format {PLAN_FORMAT}); make a new plan",
                self.format
            )));
        }
        for t in &self.targets {
            t.check_structure()?;
        }
        Ok(self)
    }
}

thread_local! {
    /// The references read so far of the plan being read on this thread (see [`sharing`]).
    static SHARED: std::cell::RefCell<Option<Interner>> = const { std::cell::RefCell::new(None) };
}

/// Runs `read` (the reading of one plan) with one [`Interner`] for all its targets, so
/// that targets alike (the same people, planned alike) share their references as the
/// planner's plans do.
pub(super) fn sharing<T>(read: impl FnOnce() -> T) -> T {
    let outer = SHARED.with(|s| s.replace(Some(Interner::default())));
    let out = read();
    SHARED.with(|s| s.replace(outer));
    out
}

/// One reference per distinct group and member of a plan, one allocation per distinct
/// account creation.
#[derive(Default)]
struct Interner {
    groups: HashSet<Arc<GroupRef>>,
    members: HashSet<Arc<PrincipalRef>>,
    creates: HashSet<CreateUser>,
}

fn shared<T: Eq + std::hash::Hash + Clone>(set: &mut HashSet<T>, value: &mut T) {
    match set.get(value) {
        Some(s) => *value = s.clone(),
        None => {
            set.insert(value.clone());
        }
    }
}

impl Interner {
    fn intern(&mut self, action: &mut Action) {
        match action {
            Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
                shared(&mut self.groups, group);
                shared(&mut self.members, member);
            }
            Action::CreateUser(create) => shared(&mut self.creates, create),
            _ => {}
        }
    }
}

/// Deserializes a target's operations one at a time, sharing their references as they
/// come (see [`Interner`]).
pub(super) fn ops<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Ops, D::Error> {
    struct List;
    impl<'de> Visitor<'de> for List {
        type Value = Ops;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of operations")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Ops, A::Error> {
            // The size hint of a reader is a guess at most; a plan grows its list.
            let mut ops = Ops::new();
            ops.reserve(seq.size_hint().unwrap_or(0).min(1 << 16));
            // The plan's interner while it is read (taken out, so that nothing else
            // borrows it meanwhile), else one for this target.
            let shared = SHARED.with(|s| s.borrow_mut().take());
            let of_plan = shared.is_some();
            let mut interner = shared.unwrap_or_default();
            while let Some(saved) = seq.next_element::<SavedOp>()? {
                if saved.step != ops.len() {
                    return Err(serde::de::Error::custom(format!(
                        "operation {} is numbered {}",
                        ops.len(),
                        saved.step
                    )));
                }
                let mut action = saved.action;
                interner.intern(&mut action);
                ops.push_sorted(action, saved.depends_on.as_slice());
            }
            ops.shrink_to_fit();
            if of_plan {
                SHARED.with(|s| *s.borrow_mut() = Some(interner));
            }
            Ok(ops)
        }
    }
    d.deserialize_seq(List)
}

/// Renumbers the references of operations when some are dropped, keeping each shared
/// reference shared: every operation that named one group or member names the same
/// renumbered one. Keyed by the old reference's address, which the map keeps alive (with
/// the old reference) so that no other reference takes that address meanwhile.
#[derive(Default)]
pub(super) struct Renumbered {
    groups: HashMap<*const GroupRef, (Arc<GroupRef>, Arc<GroupRef>)>,
    members: HashMap<*const PrincipalRef, (Arc<PrincipalRef>, Arc<PrincipalRef>)>,
}

fn renumber(at: &mut Ref, new_index: &[Option<usize>]) {
    if let Ref::Created(n) = at {
        if let Some(m) = new_index.get(*n).copied().flatten() {
            *n = m;
        }
    }
}

impl Renumbered {
    /// Renumbers the references of `action` by `new_index` (old number -> new).
    pub(super) fn apply(&mut self, action: &mut Action, new_index: &[Option<usize>]) {
        match action {
            Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
                let g = self
                    .groups
                    .entry(Arc::as_ptr(group))
                    .or_insert_with(|| {
                        let mut g = (**group).clone();
                        renumber(&mut g.at, new_index);
                        (group.clone(), Arc::new(g))
                    })
                    .1
                    .clone();
                let m = self
                    .members
                    .entry(Arc::as_ptr(member))
                    .or_insert_with(|| {
                        let mut m = (**member).clone();
                        renumber(&mut m.at, new_index);
                        (member.clone(), Arc::new(m))
                    })
                    .1
                    .clone();
                *group = g;
                *member = m;
            }
            Action::Grant(r) | Action::Revoke(r) => renumber(&mut r.principal.at, new_index),
            _ => {}
        }
    }
}
