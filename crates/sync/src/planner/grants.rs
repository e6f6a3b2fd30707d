//! Diff of the role grants: the configured role mappings (source role or group to target
//! role and scope) give the desired grants; grants of managed roles that are not desired
//! are revoked.

use hashbrown::{HashMap, HashSet};

use idbridge_core::{Grant, Principal, Result, Role, Scope};

use crate::plan::{Action, PrincipalKind, PrincipalRef, Ref, Refused, RoleChange};
use crate::settings::{RoleTarget, ScopeRule};
use crate::util::norm;

use super::{Planner, Slot, index_insert};

impl<'i> Planner<'_, 'i> {
    pub(super) fn roles(&mut self) -> Result<()> {
        let s = self.s;
        self.plan.managed_grants = self.input.state.grants.len();
        let troles = &self.input.state.roles;
        let mut t_role_by_id: HashMap<&str, usize> = HashMap::new();
        let mut t_role_by_name: HashMap<String, Slot> = HashMap::new();
        for (i, r) in troles.iter().enumerate() {
            t_role_by_id.insert(r.id.as_str(), i);
            index_insert(&mut t_role_by_name, norm(&r.name), i);
        }
        let lookup = |name: &str| -> std::result::Result<usize, String> {
            if let Some(&i) = t_role_by_id.get(name) {
                return Ok(i);
            }
            match t_role_by_name.get(&norm(name)) {
                Some(Slot::One(i)) => Ok(*i),
                Some(Slot::Many) => Err(format!(
                    "the target has several roles named `{name}`; give the role's id"
                )),
                None => {
                    let mut known: Vec<&str> = troles.iter().map(|r| r.name.as_str()).collect();
                    known.sort_unstable();
                    known.truncate(30);
                    Err(format!(
                        "target `{}` has no role `{name}`; its roles: {}",
                        self.input.name,
                        known.join(", ")
                    ))
                }
            }
        };
        // Source role index -> (target role index, scope rule).
        let mut role_map: HashMap<usize, (usize, ScopeRule)> = HashMap::new();
        for (name, rt) in &s.roles {
            let Some(&sr) = self.src.role_by_name.get(&norm(name)) else {
                return Err(s.error_at(&rt.key_path, format!("the source has no role `{name}`")));
            };
            let tr =
                lookup(&rt.role).map_err(|e| s.error_at(&format!("{}.role", rt.key_path), e))?;
            role_map.insert(sr, (tr, rt.scope.clone()));
        }
        // Roles are synced only through explicit mappings: platforms name and scope roles
        // too differently (and some give every user exactly one) for a same-name guess to
        // be safe.
        let mut group_role_map: Vec<(usize, usize, &RoleTarget)> = Vec::new();
        for (gname, targets) in &s.group_roles {
            let Some(&g) = self.src.group_by_name.get(&norm(gname)) else {
                let path = format!("{}.group_roles.{gname}", s.key_path);
                return Err(s.error_at(&path, format!("the source has no group `{gname}`")));
            };
            for rt in targets {
                let tr = lookup(&rt.role)
                    .map_err(|e| s.error_at(&format!("{}.role", rt.key_path), e))?;
                group_role_map.push((g, tr, rt));
            }
        }
        let managed_roles: HashSet<&str> = role_map
            .values()
            .map(|(t, _)| troles[*t].id.as_str())
            .chain(
                group_role_map
                    .iter()
                    .map(|(_, t, _)| troles[*t].id.as_str()),
            )
            .collect();
        // Desired grants.
        let (to_groups, global_to_groups) = (
            self.caps.grants_to_groups,
            self.caps.grants_global_to_groups,
        );
        let group_ok = |scope: &Scope| to_groups && (!scope.is_global() || global_to_groups);
        let mut desired: Vec<(usize, PrincipalRef, Scope)> = Vec::new();
        let mut seen: HashSet<(usize, PrincipalRef, Scope)> = HashSet::new();
        let mut skipped_scopes = 0usize;
        let caps = self.caps;
        let mut want = |tr: usize, p: PrincipalRef, scope: Scope, desired: &mut Vec<_>| {
            let ok = if scope.is_global() {
                caps.grants_global
            } else {
                caps.grants_project
            };
            if !ok {
                skipped_scopes += 1;
                return;
            }
            let key = (tr, p, scope);
            if seen.insert(key.clone()) {
                desired.push(key);
            }
        };
        let scope_for = |rule: &ScopeRule, source: &Scope, role: &Role| match rule {
            ScopeRule::Source => source.clone(),
            ScopeRule::Global => Scope::Global,
            ScopeRule::Project(p) => {
                let _ = role;
                Scope::Project(p.clone())
            }
        };
        for grant in &self.src.src.grants {
            let Some(&sr) = self.src.role_by_id.get(grant.role.as_str()) else {
                continue;
            };
            let Some((tr, rule)) = role_map.get(&sr) else {
                continue;
            };
            let scope = scope_for(rule, &grant.scope, &troles[*tr]);
            match &grant.principal {
                Principal::User(uid) => {
                    if let Some(r) = self.src.src.users.find(uid).and_then(|u| self.user_ref(u)) {
                        want(*tr, r, scope, &mut desired);
                    }
                }
                Principal::Group(gid) => {
                    let Some(&g) = self.src.group_by_id.get(gid.as_str()) else {
                        continue;
                    };
                    match self
                        .group_principal(g)
                        .filter(|_| self.eff.groups && group_ok(&scope))
                    {
                        Some(p) => want(*tr, p, scope, &mut desired),
                        None => {
                            for &u in self.src.users_in(g) {
                                if let Some(r) = self.user_ref(u) {
                                    want(*tr, r, scope.clone(), &mut desired);
                                }
                            }
                        }
                    }
                }
            }
        }
        for (g, tr, rt) in &group_role_map {
            let scope = match &rt.scope {
                ScopeRule::Source => troles[*tr].scope.clone(),
                ScopeRule::Global => Scope::Global,
                ScopeRule::Project(p) => Scope::Project(p.clone()),
            };
            match self
                .group_principal(*g)
                .filter(|_| self.eff.groups && group_ok(&scope))
            {
                Some(p) => want(*tr, p, scope, &mut desired),
                None => {
                    for &u in self.src.users_in(*g) {
                        if let Some(r) = self.user_ref(u) {
                            want(*tr, r, scope.clone(), &mut desired);
                        }
                    }
                }
            }
        }
        if skipped_scopes > 0 {
            self.plan.notes.push(format!(
                "{skipped_scopes} grant(s) are in a scope the target cannot grant in and were skipped"
            ));
        }
        // Current managed grants.
        let current: Vec<&Grant> = self
            .input
            .state
            .grants
            .iter()
            .filter(|g| {
                managed_roles.contains(g.role.as_str()) && self.is_active_principal(&g.principal)
            })
            .collect();
        let current_set: HashSet<(&str, bool, &str, &Scope)> = current
            .iter()
            .map(|g| {
                (
                    g.role.as_str(),
                    g.principal.is_group(),
                    g.principal.id(),
                    &g.scope,
                )
            })
            .collect();
        let mut wanted_set: HashSet<(&str, bool, String, Scope)> = HashSet::new();
        let mut skipped_grants = 0usize;
        {
            for (tr, p, scope) in &desired {
                let role = &troles[*tr];
                let present = match &p.at {
                    Ref::Id(id) => current_set.contains(&(
                        role.id.as_str(),
                        p.kind == PrincipalKind::Group,
                        id.as_ref(),
                        scope,
                    )),
                    Ref::Created(_) => false,
                };
                if !present && !self.caps.grants_grant {
                    skipped_grants += 1;
                } else if !present
                    && scope.is_global()
                    && self.input.protected.privileged_group(&role.id)
                {
                    // A global role that is the platform's administrators group.
                    self.plan.refused.push(Refused {
                        op: "grant".into(),
                        resource: format!("{} ({scope}) -> {}", role.name, p.name),
                        reason: format!(
                            "role `{}` is membership of a privileged group; idbridge never grants it",
                            role.name
                        ),
                    });
                } else if !present {
                    let deps = Self::deps_of(&[&p.at]);
                    self.plan.push(
                        Action::Grant(Box::new(RoleChange {
                            role: role.id.clone(),
                            role_name: role.name.clone(),
                            principal: p.clone(),
                            scope: scope.clone(),
                        })),
                        deps,
                    );
                }
            }
        }
        for (tr, p, scope) in &desired {
            if let Ref::Id(id) = &p.at {
                wanted_set.insert((
                    troles[*tr].id.as_str(),
                    p.kind == PrincipalKind::Group,
                    id.to_string(),
                    scope.clone(),
                ));
            }
        }
        if skipped_grants > 0 {
            self.plan.notes.push(format!(
                "{skipped_grants} role grant(s) are wanted but the target cannot grant roles"
            ));
        }
        let mut skipped_revokes = 0usize;
        {
            for g in current {
                let key = (
                    g.role.as_str(),
                    g.principal.is_group(),
                    g.principal.id().to_string(),
                    g.scope.clone(),
                );
                if wanted_set.contains(&key) {
                    continue;
                }
                if !self.caps.grants_revoke {
                    skipped_revokes += 1;
                    continue;
                }
                let role_name = t_role_by_id
                    .get(g.role.as_str())
                    .map(|&i| troles[i].name.clone())
                    .unwrap_or_else(|| g.role.clone());
                let principal = self.principal_ref_of(&g.principal);
                self.plan.push(
                    Action::Revoke(Box::new(RoleChange {
                        role: g.role.clone(),
                        role_name,
                        principal,
                        scope: g.scope.clone(),
                    })),
                    vec![],
                );
            }
        }
        if skipped_revokes > 0 {
            self.plan.notes.push(format!(
                "{skipped_revokes} role grant(s) should be revoked but the target cannot revoke roles"
            ));
        }
        Ok(())
    }
}
