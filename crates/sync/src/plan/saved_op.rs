//! Reading one saved operation as it is parsed. This idbridge writes an operation's fields
//! in one order (`step`, `depends_on`, `op`, then the action's fields; see
//! [`super::action::Numbered`]), so once the action's name is read its fields are read
//! straight into it: no copy of the operation is buffered first, as a derived reader of an
//! action tagged by a field among its own must do (18 million times for a first sync of a
//! million users into three targets). An operation whose fields come in another order (a
//! plan edited by hand, or rewritten by a tool that sorts keys) is read through a buffer.

use std::fmt;
use std::sync::Arc;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::action::{Action, GroupRef, PrincipalRef};
use super::create::CreateUser;
use super::deps::SavedDeps;

/// An operation as saved, read back.
pub(crate) struct SavedOp {
    /// Its number, which must be its index in the target plan.
    pub(crate) step: usize,
    /// The operations it depends on.
    pub(crate) depends_on: SavedDeps,
    /// What it does.
    pub(crate) action: Action,
}

impl<'de> Deserialize<'de> for SavedOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(SavedOpVisitor)
    }
}

/// A key of a saved operation: its own three, or one of its action's fields.
enum Key {
    Step,
    DependsOn,
    Op,
    Field(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "step" => Key::Step,
                    "depends_on" => Key::DependsOn,
                    "op" => Key::Op,
                    other => Key::Field(other.to_string()),
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// The name of an action, as `op` gives it.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    CreateUser,
    UpdateUser,
    EnableUser,
    DisableUser,
    DeleteUser,
    RevokeSessions,
    LinkUser,
    CreateGroup,
    UpdateGroup,
    DeleteGroup,
    LinkGroup,
    AddMember,
    RemoveMember,
    Grant,
    Revoke,
}

/// The fields of [`Action::AddMember`] and [`Action::RemoveMember`].
#[derive(Deserialize)]
struct Membership {
    group: Arc<GroupRef>,
    member: Arc<PrincipalRef>,
}

/// The action named `kind`, its fields read from `d`.
fn action_of<'de, D: Deserializer<'de>>(kind: Kind, d: D) -> Result<Action, D::Error> {
    Ok(match kind {
        Kind::CreateUser => Action::CreateUser(CreateUser::deserialize(d)?),
        Kind::UpdateUser => Action::UpdateUser(Deserialize::deserialize(d)?),
        Kind::EnableUser => Action::EnableUser(Deserialize::deserialize(d)?),
        Kind::DisableUser => Action::DisableUser(Deserialize::deserialize(d)?),
        Kind::DeleteUser => Action::DeleteUser(Deserialize::deserialize(d)?),
        Kind::RevokeSessions => Action::RevokeSessions(Deserialize::deserialize(d)?),
        Kind::LinkUser => Action::LinkUser(Deserialize::deserialize(d)?),
        Kind::CreateGroup => Action::CreateGroup(Deserialize::deserialize(d)?),
        Kind::UpdateGroup => Action::UpdateGroup(Deserialize::deserialize(d)?),
        Kind::DeleteGroup => Action::DeleteGroup(Deserialize::deserialize(d)?),
        Kind::LinkGroup => Action::LinkGroup(Deserialize::deserialize(d)?),
        Kind::AddMember => {
            let Membership { group, member } = Membership::deserialize(d)?;
            Action::AddMember { group, member }
        }
        Kind::RemoveMember => {
            let Membership { group, member } = Membership::deserialize(d)?;
            Action::RemoveMember { group, member }
        }
        Kind::Grant => Action::Grant(Deserialize::deserialize(d)?),
        Kind::Revoke => Action::Revoke(Deserialize::deserialize(d)?),
    })
}

/// The rest of an operation's map, once `op` is read: its action's fields. A key of the
/// operation itself there (`step`, `depends_on`, `op`) is refused, where the action's
/// reader would skip it as a field it does not know.
struct ActionFields<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for ActionFields<A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(NotOwnKey(seed))
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }
}

/// A field name of an action, refused when it is one of the operation's own.
struct NotOwnKey<K>(K);

impl<'de, K: de::DeserializeSeed<'de>> de::DeserializeSeed<'de> for NotOwnKey<K> {
    type Value = K::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<K::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, K: de::DeserializeSeed<'de>> Visitor<'de> for NotOwnKey<K> {
    type Value = K::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<K::Value, E> {
        if matches!(key, "step" | "depends_on" | "op") {
            return Err(E::custom(format!(
                "`{key}` comes after the operation's `op` (a plan idbridge writes gives `step` and `depends_on` first)"
            )));
        }
        self.0
            .deserialize(de::value::StrDeserializer::<E>::new(key))
    }
}

struct SavedOpVisitor;

impl<'de> Visitor<'de> for SavedOpVisitor {
    type Value = SavedOp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an operation")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SavedOp, A::Error> {
        let mut step: Option<usize> = None;
        let mut depends_on: Option<SavedDeps> = None;
        // The action's fields met before its name, kept to be read once it is known.
        let mut early = serde_json::Map::new();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Step if step.is_some() => return Err(de::Error::duplicate_field("step")),
                Key::Step => step = Some(map.next_value()?),
                Key::DependsOn if depends_on.is_some() => {
                    return Err(de::Error::duplicate_field("depends_on"));
                }
                Key::DependsOn => depends_on = Some(map.next_value()?),
                Key::Op if early.is_empty() && step.is_some() => {
                    let kind: Kind = map.next_value()?;
                    // The rest of the map is the action's fields.
                    let fields = ActionFields(&mut map);
                    let action = action_of(kind, MapAccessDeserializer::new(fields))?;
                    return Ok(SavedOp {
                        step: step.unwrap_or_default(),
                        depends_on: depends_on.unwrap_or_default(),
                        action,
                    });
                }
                Key::Op => {
                    if early.insert("op".to_string(), map.next_value()?).is_some() {
                        return Err(de::Error::duplicate_field("op"));
                    }
                }
                Key::Field(name) => {
                    let value = map.next_value()?;
                    if early.insert(name.clone(), value).is_some() {
                        return Err(de::Error::custom(format!("duplicate field `{name}`")));
                    }
                }
            }
        }
        if !early.contains_key("op") {
            return Err(de::Error::missing_field("op"));
        }
        let action =
            Action::deserialize(serde_json::Value::Object(early)).map_err(de::Error::custom)?;
        Ok(SavedOp {
            step: step.ok_or_else(|| de::Error::missing_field("step"))?,
            depends_on: depends_on.unwrap_or_default(),
            action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;

    #[test]
    fn every_action_reads_back_straight_and_with_its_fields_in_any_order() {
        let (plan, _) = crate::report::tests::sample();
        let kinds: std::collections::BTreeSet<&str> = plan
            .targets
            .iter()
            .flat_map(|t| &t.ops)
            .map(|o| o.action.name())
            .collect();
        assert_eq!(kinds.len(), 15, "every kind: {kinds:?}");
        let mut saved = Vec::new();
        plan.write_json(&mut saved).expect("written");
        assert_eq!(Plan::from_reader(saved.as_slice()).expect("reads"), plan);
        // Rewritten with its keys sorted: an action's fields before `op`, `step` last.
        let value: serde_json::Value = serde_json::from_slice(&saved).expect("json");
        let sorted = serde_json::to_vec(&value).expect("json");
        let text = String::from_utf8_lossy(&sorted);
        assert!(
            text.contains(r#""group":"#)
                && text.find(r#""op":"add_member""#) > text.find(r#""group":"#)
        );
        assert_eq!(Plan::from_reader(sorted.as_slice()).expect("reads"), plan);
    }

    #[test]
    fn a_malformed_operation_is_refused_with_what_is_wrong() {
        let group = r#""group":{"ref":{"id":"g1"},"name":"eng"}"#;
        let member = r#""member":{"kind":"user","ref":{"id":"u1"},"name":"ada"}"#;
        for (text, want) in [
            (
                r#"{"step":0,"step":1,"op":"grant"}"#.to_string(),
                "duplicate field `step`",
            ),
            (
                r#"{"depends_on":[],"step":1,"depends_on":[],"op":"grant"}"#.to_string(),
                "duplicate field `depends_on`",
            ),
            (r#"{"step":0}"#.to_string(), "missing field `op`"),
            (
                r#"{"role":"r","op":"grant","op":"revoke","step":0}"#.to_string(),
                "duplicate field `op`",
            ),
            (
                r#"{"role":"r","role":"s","op":"grant","step":0}"#.to_string(),
                "duplicate field `role`",
            ),
            (
                format!(r#"{{"op":"add_member",{group},{member}}}"#),
                "missing field `step`",
            ),
            (
                format!(r#"{{{group},"op":"add_member",{member}}}"#),
                "missing field `step`",
            ),
            (
                r#"{"step":0,"op":"make_coffee"}"#.to_string(),
                "unknown variant `make_coffee`",
            ),
            (
                format!(r#"{{"step":0,"op":"add_member",{group}}}"#),
                "missing field `member`",
            ),
            (
                format!(r#"{{"step":0,{group},"op":"add_member"}}"#),
                "missing field `member`",
            ),
            (
                format!(r#"{{"step":1,"op":"add_member",{group},{member},"depends_on":[0]}}"#),
                "`depends_on` comes after the operation's `op`",
            ),
            (
                format!(r#"{{"step":1,"op":"add_member",{group},"op":"grant",{member}}}"#),
                "`op` comes after the operation's `op`",
            ),
        ] {
            let err = serde_json::from_str::<SavedOp>(&text)
                .err()
                .unwrap_or_else(|| panic!("{text} is refused"));
            assert!(err.to_string().contains(want), "{text}: {err}");
        }
        let read = |text: &str| serde_json::from_str::<SavedOp>(text).expect(text);
        let straight = read(&format!(
            r#"{{"step":3,"depends_on":[1],"op":"add_member",{group},{member}}}"#
        ));
        let sorted = read(&format!(
            r#"{{"depends_on":[1],{group},{member},"op":"add_member","step":3}}"#
        ));
        for op in [straight, sorted] {
            assert_eq!((op.step, op.depends_on.as_slice().to_vec()), (3, vec![1]));
            assert!(matches!(op.action, Action::AddMember { .. }));
        }
    }
}
