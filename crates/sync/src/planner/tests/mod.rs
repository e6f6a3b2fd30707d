//! The planner's tests, by topic; the cases and helpers they share.

mod grants;
mod groups;
mod leavers;
mod security;
mod users;

use super::*;
use crate::plan::Op;
use crate::settings::{CorrelationKey, DeletionPolicy};
use crate::state::SourceState;
use crate::table::Members;
use chrono::Utc;
use idbridge_core::{Grant, Group, Principal, Role, Scope, User};
use serde_json::json;
use std::collections::BTreeMap;

fn user(id: &str, login: &str) -> User {
    User {
        id: id.into(),
        login: login.into(),
        email: Some(format!("{login}@example.com")),
        display_name: Some(format!("Name {login}")),
        enabled: true,
        attributes: BTreeMap::new(),
    }
}

fn group(id: &str, name: &str) -> Group {
    Group {
        id: id.into(),
        name: name.into(),
        description: None,
    }
}

/// A role of the whole platform, with no privileges listed.
fn global_role(id: &str, name: &str) -> Role {
    Role {
        id: id.into(),
        name: name.into(),
        scope: Scope::Global,
        privileges: vec![],
    }
}

/// A grant of role `role` to `principal` in `scope`.
fn role_grant(role: &str, principal: Principal, scope: Scope) -> Grant {
    Grant {
        role: role.into(),
        principal,
        scope,
    }
}

/// A live session `id` of the account `user`, with nothing else known.
fn session(id: &str, user: &str) -> idbridge_core::Session {
    idbridge_core::Session {
        id: id.into(),
        user: user.into(),
        login: None,
        started: None,
        last_activity: None,
        client: None,
        node: None,
    }
}

fn full_caps() -> Capabilities {
    Capabilities {
        users_list: true,
        users_create: true,
        users_update: true,
        users_set_enabled: true,
        users_delete: true,
        groups_list: true,
        groups_create: true,
        groups_update: true,
        groups_description: true,
        groups_delete: true,
        members_list: true,
        members_add: true,
        members_remove: true,
        members_nested: true,
        roles_list: true,
        grants_list: true,
        grants_grant: true,
        grants_revoke: true,
        grants_global: true,
        grants_project: true,
        grants_to_groups: true,
        grants_global_to_groups: true,
        sessions_list: true,
        sessions_revoke: true,
        sessions_revoke_user: true,
        ..Capabilities::default()
    }
}

fn link(kind: idbridge_store::LinkKind, source: &str, target: &str, fp: &str) -> Link {
    Link {
        target: "t".into(),
        kind,
        source_id: source.into(),
        target_id: target.into(),
        fingerprint: fp.into(),
        updated: Utc::now(),
    }
}

/// The source as records, built into the engine's tables when planning.
#[derive(Default)]
struct RawSource {
    users: Vec<User>,
    groups: Option<Vec<Group>>,
    members: HashMap<String, Vec<Principal>>,
    members_listed: bool,
    roles: Option<Vec<Role>>,
    grants: Vec<Grant>,
}

impl RawSource {
    fn build(&self) -> SourceState {
        let users = UserTable::from_users(self.users.clone()).expect("users");
        let members = Members::from_principals(self.members.clone(), &users);
        SourceState {
            users,
            groups: self.groups.clone(),
            members,
            members_listed: self.members_listed,
            roles: self.roles.clone(),
            grants: self.grants.clone(),
        }
    }
}

/// A target's state as records.
#[derive(Default)]
struct RawTarget {
    users: Vec<User>,
    groups: Vec<Group>,
    members: HashMap<String, Vec<Principal>>,
    roles: Vec<Role>,
    grants: Vec<Grant>,
    sessions: Option<Vec<idbridge_core::Session>>,
}

impl RawTarget {
    fn build(&self) -> TargetState {
        let users = UserTable::from_users(self.users.clone()).expect("users");
        let members = Members::from_principals(self.members.clone(), &users);
        TargetState {
            users,
            groups: self.groups.clone(),
            members,
            roles: self.roles.clone(),
            grants: self.grants.clone(),
            sessions: self.sessions.clone(),
        }
    }
}

struct Case {
    source: RawSource,
    target: RawTarget,
    caps: Capabilities,
    settings: TargetSettings,
    protected: Protected,
    user_links: Vec<Link>,
    group_links: Vec<Link>,
    holds: Vec<idbridge_store::Hold>,
    own_creates: HashSet<String>,
}

impl Case {
    fn new(source_users: Vec<User>, target_users: Vec<User>) -> Case {
        Case {
            source: RawSource {
                users: source_users,
                groups: Some(Vec::new()),
                members_listed: true,
                roles: Some(Vec::new()),
                ..Default::default()
            },
            target: RawTarget {
                users: target_users,
                ..Default::default()
            },
            caps: full_caps(),
            settings: TargetSettings::defaults("t"),
            protected: Protected::default(),
            user_links: Vec::new(),
            group_links: Vec::new(),
            holds: Vec::new(),
            own_creates: HashSet::new(),
        }
    }

    /// Replaces the engine settings by `settings` (a target section's engine keys).
    fn set(&mut self, settings: serde_json::Value) {
        self.settings = TargetSettings::from_json("t", settings).expect("settings");
    }

    /// A source role `viewer` (id `source_role`) mapped to the target's role `reader`
    /// (id `TR`), both global.
    fn map_viewer_to_reader(&mut self, source_role: &str) {
        self.source.roles = Some(vec![global_role(source_role, "viewer")]);
        self.target.roles = vec![global_role("TR", "reader")];
        self.set(json!({"roles": {"viewer": {"role": "reader"}}}));
    }

    fn plan(&self) -> Result<TargetPlan> {
        let source = self.source.build();
        let holds = crate::holds::HoldIndex::new(self.holds.clone());
        let idx = SourceIndex::new(&source).with_holds(&holds);
        self.plan_in(&idx)
    }

    /// The plan of this case's target from a source index that other targets share.
    fn plan_in(&self, idx: &SourceIndex<'_>) -> Result<TargetPlan> {
        let source = idx.src;
        let target = self.target.build();
        let user_links = LinkTable::from_links(&self.user_links).expect("links");
        let input = TargetInput {
            name: "t",
            adapter: "test",
            caps: self.caps,
            protected: &self.protected,
            settings: &self.settings,
            state: &target,
            user_links: &user_links,
            group_links: &self.group_links,
            own_creates: &self.own_creates,
        };
        let mut notes = Vec::new();
        let eff = Effective::compute(&self.settings, &self.caps, source, &mut notes);
        let plan = plan_target(idx, &input, &eff)?;
        plan.check_structure()?;
        Ok(plan)
    }

    /// Links every source user to the target account with the same id suffix, with the
    /// fingerprint the planner would write, by running a plan and keeping its links.
    fn link_as_applied(&mut self) {
        let plan = self.plan().expect("plan");
        for op in &plan.ops {
            match &op.action {
                Action::LinkUser(_) | Action::UpdateUser(_) => {
                    self.user_links.push(link(
                        idbridge_store::LinkKind::User,
                        op.action.source_id().unwrap_or_default(),
                        op.action.target_id().unwrap_or_default(),
                        &op.action.fingerprint().unwrap_or_default(),
                    ));
                }
                Action::LinkGroup(l) => {
                    self.group_links.push(link(
                        idbridge_store::LinkKind::Group,
                        &l.source_id,
                        &l.id,
                        &l.fingerprint,
                    ));
                }
                _ => {}
            }
        }
    }
}

fn names(plan: &TargetPlan) -> Vec<String> {
    plan.ops
        .iter()
        .map(|o| format!("{} {}", o.action.name(), o.action.resource()))
        .collect()
}

/// The resources of the plan's operations named `name`, in plan order.
fn resources(plan: &TargetPlan, name: &str) -> Vec<String> {
    find(plan, name)
        .iter()
        .map(|o| o.action.resource())
        .collect()
}

fn find<'a>(plan: &'a TargetPlan, name: &str) -> Vec<&'a Op> {
    plan.ops
        .iter()
        .filter(|o| o.action.name() == name)
        .collect()
}

/// The number of an operation of `plan` (its position).
/// Whether `op` depends on `on`, both operations of `plan`.
fn depends(plan: &TargetPlan, op: &Op, on: &Op) -> bool {
    let on = u32::try_from(step(plan, on)).expect("a 32-bit number");
    plan.ops.depends_on(step(plan, op)).contains(&on)
}

fn step(plan: &TargetPlan, op: &Op) -> usize {
    plan.ops
        .iter()
        .position(|o| std::ptr::eq(o, op))
        .expect("an operation of the plan")
}
