//! The plan's JSON forms, written as they are serialized: a plan of millions of
//! operations is never held a second time as one string or one `serde_json::Value`.
//!
//! - [`Plan::write_json`]: the saved form (`plan --out`), byte for byte [`Plan::to_json`].
//! - [`Plan::as_value_form`]: the form `plan --json` prints, the plan as a
//!   `serde_json::Value` would print it (every object's keys in sorted order). The
//!   operations a large plan is made of (user creates, membership changes) are written
//!   straight in that order; the others, few, go through a `Value` one at a time.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::{
    Account, Action, CanSignIn, Conflict, CreateUser, GroupRef, HeldAccount, Numbered, Ops, Plan,
    PrincipalKind, PrincipalRef, Ref, Refused, Seal, TargetPlan,
};

/// How deep the saved form is laid out pretty: the plan (1), its targets (2), a target
/// (3) and its lists of operations and conflicts (4); what they hold is one line each.
const SAVED_OUTLINE_DEPTH: usize = 4;

/// Serializes a target's operations in their saved form, each with its number (see
/// [`Numbered`]).
pub(super) fn numbered<S: Serializer>(ops: &Ops, s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(ops.len()))?;
    for (step, deps, action) in ops.iter_with_deps() {
        seq.serialize_element(&SavedOp { step, deps, action })?;
    }
    seq.end()
}

/// An operation in its saved form, the bytes of [`Numbered`]: user creates and membership
/// changes, the millions a first sync is made of, written straight (the derived form
/// goes through serde's flattening, which costs more than the writing itself), the rest
/// through [`Numbered`].
struct SavedOp<'a> {
    step: usize,
    deps: &'a [u32],
    action: &'a Action,
}

impl Serialize for SavedOp<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let deps = !self.deps.is_empty();
        match self.action {
            Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("step", &self.step)?;
                if deps {
                    m.serialize_entry("depends_on", &self.deps)?;
                }
                m.serialize_entry("op", self.action.name())?;
                m.serialize_entry("group", &**group)?;
                m.serialize_entry("member", &**member)?;
                m.end()
            }
            Action::CreateUser(c) => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("step", &self.step)?;
                if deps {
                    m.serialize_entry("depends_on", &self.deps)?;
                }
                m.serialize_entry("op", self.action.name())?;
                c.serialize_fields(&mut m)?;
                m.end()
            }
            action => Numbered {
                step: self.step,
                depends_on: self.deps,
                action,
            }
            .serialize(s),
        }
    }
}

impl Plan {
    /// Writes the plan as saved, the same bytes as [`Plan::to_json`], to `out` as it is
    /// serialized. `out` is best buffered.
    ///
    /// The layout is an outline ([`idbridge_core::json_outline`]): the plan's and each
    /// target's fields as pretty JSON, each operation (and each element of a target's
    /// other lists) compact on a line of its own, which halves the bytes of a large plan
    /// against pretty JSON and keeps one operation per line for review, `grep` and `diff`.
    /// It is JSON all the same: [`Plan::from_json`] reads it, and plans saved pretty
    /// by earlier builds, alike.
    ///
    /// # Errors
    /// The first write error of `out`.
    pub fn write_json(&self, out: impl Write) -> std::io::Result<()> {
        idbridge_core::json_outline::to_writer_outline(out, self, SAVED_OUTLINE_DEPTH)
    }

    /// [`Plan::write_json`] of this plan with the seal `seal` returns, asked for only when
    /// the writing reaches it: the seal is the last field, so the digest it covers can be
    /// computed while the rest is written (see [`crate::seal::Sealer::write_sealed`]).
    /// `seal` returning `None` stops the writing with an error.
    pub(crate) fn write_json_sealed_by(
        &self,
        out: impl Write,
        seal: &dyn Fn() -> Option<Seal>,
    ) -> std::io::Result<()> {
        let sealed = SealedLater { plan: self, seal };
        idbridge_core::json_outline::to_writer_outline(out, &sealed, SAVED_OUTLINE_DEPTH)
    }

    /// The plan in the form of its `serde_json::Value`, every object's keys sorted, to be
    /// serialized as it goes (one operation converted at a time); the form
    /// `idbridge plan --json` has always printed.
    pub fn as_value_form(&self) -> impl Serialize + '_ {
        ValueForm(self)
    }
}

/// A plan serialized as its derived `Serialize` does, but for the seal, which comes from
/// a function called when the seal is reached (see [`Plan::write_json_sealed_by`]). A
/// test holds the two to the same bytes.
struct SealedLater<'a> {
    plan: &'a Plan,
    seal: &'a dyn Fn() -> Option<Seal>,
}

impl Serialize for SealedLater<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let p = self.plan;
        let mut st = s.serialize_struct("Plan", 5)?;
        st.serialize_field("format", &p.format)?;
        st.serialize_field("created", &p.created)?;
        st.serialize_field("targets", &p.targets)?;
        match &p.made_by {
            Some(by) => st.serialize_field("made_by", by)?,
            None => st.skip_field("made_by")?,
        }
        let seal = (self.seal)()
            .ok_or_else(|| S::Error::custom("the plan's digest could not be computed"))?;
        st.serialize_field("seal", &seal)?;
        st.end()
    }
}

/// See [`Plan::as_value_form`].
struct ValueForm<'a>(&'a Plan);

/// A small record serialized through its `serde_json::Value` (sorted keys).
struct AsValue<'a, T>(&'a T);

impl<T: Serialize> Serialize for AsValue<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::to_value(self.0)
            .map_err(S::Error::custom)?
            .serialize(s)
    }
}

/// A sequence of the items its function gives, serialized one at a time as they come.
struct Seq<F>(F);

impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// A target in its `Value` form (see [`target`]).
struct SortedTarget<'a>(&'a TargetPlan);

impl Serialize for SortedTarget<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        target(self.0, s)
    }
}

/// An operation in its `Value` form (see [`sorted_op`]).
struct SortedOp<'a>(SavedOp<'a>);

impl Serialize for SortedOp<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        sorted_op(&self.0, s)
    }
}

/// One operation with its keys sorted, as its `Value` prints: user creates and
/// membership changes written straight, the rest through a `Value`.
fn sorted_op<S: Serializer>(op: &SavedOp<'_>, s: S) -> Result<S::Ok, S::Error> {
    let (step, deps) = (op.step, !op.deps.is_empty());
    match op.action {
        Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
            // depends_on < group < member < op < step
            let mut m = s.serialize_map(Some(4 + usize::from(deps)))?;
            if deps {
                m.serialize_entry("depends_on", &op.deps)?;
            }
            m.serialize_entry("group", &SortedGroup(group))?;
            m.serialize_entry("member", &SortedPrincipal(member))?;
            m.serialize_entry("op", op.action.name())?;
            m.serialize_entry("step", &step)?;
            m.end()
        }
        Action::CreateUser(c) => {
            // depends_on < fingerprint < op < source_id < step < user
            let mut m = s.serialize_map(Some(5 + usize::from(deps)))?;
            if deps {
                m.serialize_entry("depends_on", &op.deps)?;
            }
            m.serialize_entry("fingerprint", &c.fingerprint())?;
            m.serialize_entry("op", op.action.name())?;
            m.serialize_entry("source_id", c.source_id())?;
            m.serialize_entry("step", &step)?;
            m.serialize_entry("user", &SortedUser(c))?;
            m.end()
        }
        action => AsValue(&Numbered {
            step,
            depends_on: op.deps,
            action,
        })
        .serialize(s),
    }
}

/// A reference with its one key (`id` or `created`).
fn sorted_ref<S: Serializer>(at: &Ref, s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(1))?;
    match at {
        Ref::Id(id) => m.serialize_entry("id", &**id)?,
        Ref::Created(n) => m.serialize_entry("created", n)?,
    }
    m.end()
}

struct SortedRef<'a>(&'a Ref);

impl Serialize for SortedRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        sorted_ref(self.0, s)
    }
}

struct SortedGroup<'a>(&'a GroupRef);

impl Serialize for SortedGroup<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("name", &*self.0.name)?;
        m.serialize_entry("ref", &SortedRef(&self.0.at))?;
        m.end()
    }
}

struct SortedPrincipal<'a>(&'a PrincipalRef);

impl Serialize for SortedPrincipal<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry(
            "kind",
            match self.0.kind {
                PrincipalKind::User => "user",
                PrincipalKind::Group => "group",
            },
        )?;
        m.serialize_entry("name", &*self.0.name)?;
        m.serialize_entry("ref", &SortedRef(&self.0.at))?;
        m.end()
    }
}

/// The account of a user create, keys sorted: attributes (when any) < display_name <
/// email < enabled < login.
struct SortedUser<'a>(&'a CreateUser);

impl Serialize for SortedUser<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let attributes = c.attributes().next().is_some();
        let mut m = s.serialize_map(Some(4 + usize::from(attributes)))?;
        if attributes {
            // Packed in key order, which is a `Value` map's order.
            m.serialize_entry("attributes", &Attributes(c))?;
        }
        m.serialize_entry("display_name", &c.display_name())?;
        m.serialize_entry("email", &c.email())?;
        m.serialize_entry("enabled", &c.enabled())?;
        m.serialize_entry("login", c.login())?;
        m.end()
    }
}

struct Attributes<'a>(&'a CreateUser);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.attributes())
    }
}

/// Serializes `rest` (an object's other fields, as a `Value`) with `key: streamed` placed
/// where a sorted map would place it.
fn with_streamed<S: Serializer>(
    s: S,
    rest: Value,
    key: &str,
    streamed: &impl Serialize,
) -> Result<S::Ok, S::Error> {
    let Value::Object(rest) = rest else {
        return Err(S::Error::custom(
            "a plan record did not serialize as an object",
        ));
    };
    let rest: Map<String, Value> = rest;
    let mut map = s.serialize_map(Some(rest.len() + 1))?;
    let mut placed = false;
    for (k, v) in &rest {
        if !placed && key < k.as_str() {
            map.serialize_entry(key, streamed)?;
            placed = true;
        }
        map.serialize_entry(k, v)?;
    }
    if !placed {
        map.serialize_entry(key, streamed)?;
    }
    map.end()
}

impl Serialize for ValueForm<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The plan's fields but `targets`, with the plan's own attributes.
        #[derive(Serialize)]
        struct Rest<'a> {
            format: u32,
            created: &'a DateTime<Utc>,
            #[serde(skip_serializing_if = "Option::is_none")]
            made_by: &'a Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            seal: &'a Option<Seal>,
        }
        let plan = self.0;
        let rest = serde_json::to_value(Rest {
            format: plan.format,
            created: &plan.created,
            made_by: &plan.made_by,
            seal: &plan.seal,
        })
        .map_err(S::Error::custom)?;
        let targets = Seq(|| plan.targets.iter().map(SortedTarget));
        with_streamed(s, rest, "targets", &targets)
    }
}

/// One target in its `Value` form, its operations converted one at a time.
fn target<S: Serializer>(t: &TargetPlan, s: S) -> Result<S::Ok, S::Error> {
    /// The target's fields but `ops`, with the target's own attributes.
    #[derive(Serialize)]
    struct Rest<'a> {
        target: &'a str,
        adapter: &'a str,
        managed_users: usize,
        managed_groups: usize,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        conflicts: &'a [Conflict],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        unmanaged: &'a [Account],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        protected: &'a [Account],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        refused: &'a [Refused],
        managed_memberships: usize,
        managed_grants: usize,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        notes: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        unavailable: &'a Option<String>,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        can_sign_in: &'a [CanSignIn],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        held: &'a [HeldAccount],
    }
    let rest = serde_json::to_value(Rest {
        target: &t.target,
        adapter: &t.adapter,
        managed_users: t.managed_users,
        managed_groups: t.managed_groups,
        conflicts: &t.conflicts,
        unmanaged: &t.unmanaged,
        protected: &t.protected,
        refused: &t.refused,
        managed_memberships: t.managed_memberships,
        managed_grants: t.managed_grants,
        notes: &t.notes,
        unavailable: &t.unavailable,
        can_sign_in: &t.can_sign_in,
        held: &t.held,
    })
    .map_err(S::Error::custom)?;
    let ops = Seq(|| {
        t.ops
            .iter_with_deps()
            .map(|(step, deps, action)| SortedOp(SavedOp { step, deps, action }))
    });
    with_streamed(s, rest, "ops", &ops)
}

#[cfg(test)]
mod tests;
