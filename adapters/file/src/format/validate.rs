//! The checks a directory document passes before it is read or saved.

use std::collections::{HashMap, HashSet};

use idbridge_core::{Error, Result, Scope};

use super::{Directory, fold, is_valid_email};

/// The most problems one validation error lists before summarising the rest.
const MAX_REPORTED_PROBLEMS: usize = 20;

impl Directory {
    /// Every problem with the document, each naming its record; empty when valid.
    ///
    /// Checks: empty or duplicate ids (per kind), logins (ignoring case), group and role
    /// names; malformed emails; references to unknown groups, users and roles; duplicate
    /// entries in a list; group nesting cycles; grants with no or two holders, or a project
    /// role granted outside its project; duplicate grants.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();

        let mut user_ids = HashMap::new();
        let mut logins = HashMap::new();
        for (i, u) in self.users.iter().enumerate() {
            let me = u.describe(i);
            if u.id.trim().is_empty() {
                out.push(format!("{me}: empty id"));
            } else if let Some(first) = user_ids.insert(u.id.as_str(), i) {
                out.push(format!(
                    "{me}: duplicate id, already used by users[{first}]"
                ));
            }
            if u.login.trim().is_empty() {
                out.push(format!("{me}: empty login"));
            } else if u.login.trim() != u.login {
                out.push(format!("{me}: login has leading or trailing spaces"));
            } else if let Some(first) = logins.insert(fold(&u.login), i) {
                out.push(format!(
                    "{me}: duplicate login (ignoring case), already used by users[{first}] ({})",
                    self.users[first].login
                ));
            }
            if let Some(email) = &u.email
                && !is_valid_email(email)
            {
                out.push(format!("{me}: malformed email `{email}`"));
            }
        }

        let mut group_ids = HashMap::new();
        let mut group_names: HashMap<String, usize> = HashMap::new();
        for (i, g) in self.groups.iter().enumerate() {
            let me = g.describe(i);
            if g.id.trim().is_empty() {
                out.push(format!("{me}: empty id"));
            } else if let Some(first) = group_ids.insert(g.id.as_str(), i) {
                out.push(format!(
                    "{me}: duplicate id, already used by groups[{first}]"
                ));
            }
            if g.name.trim().is_empty() {
                out.push(format!("{me}: empty name"));
            } else if let Some(first) = group_names.insert(fold(&g.name), i) {
                out.push(format!(
                    "{me}: duplicate name (ignoring case), already used by groups[{first}] ({})",
                    self.groups[first].name
                ));
            }
        }
        let exact_group_names: HashSet<&str> =
            self.groups.iter().map(|g| g.name.as_str()).collect();

        for (i, u) in self.users.iter().enumerate() {
            let mut seen = HashSet::new();
            for name in &u.groups {
                if !exact_group_names.contains(name.as_str()) {
                    out.push(format!("{}: unknown group `{name}`", u.describe(i)));
                } else if !seen.insert(name.as_str()) {
                    out.push(format!("{}: lists group `{name}` twice", u.describe(i)));
                }
            }
        }
        for (i, g) in self.groups.iter().enumerate() {
            let mut seen = HashSet::new();
            for name in &g.groups {
                if !exact_group_names.contains(name.as_str()) {
                    out.push(format!("{}: unknown parent group `{name}`", g.describe(i)));
                } else if !seen.insert(name.as_str()) {
                    out.push(format!(
                        "{}: lists parent group `{name}` twice",
                        g.describe(i)
                    ));
                }
            }
        }
        for cycle in self.nesting_cycles() {
            let i = cycle[0];
            let names: Vec<&str> = cycle
                .iter()
                .chain(std::iter::once(&i))
                .map(|&j| self.groups[j].name.as_str())
                .collect();
            out.push(format!(
                "{}: group nesting cycle {}",
                self.groups[i].describe(i),
                names.join(" -> ")
            ));
        }

        let mut role_ids = HashMap::new();
        let mut role_names = HashMap::new();
        for (i, r) in self.roles.iter().enumerate() {
            let me = r.describe(i);
            if r.id.trim().is_empty() {
                out.push(format!("{me}: empty id"));
            } else if let Some(first) = role_ids.insert(r.id.as_str(), i) {
                out.push(format!(
                    "{me}: duplicate id, already used by roles[{first}]"
                ));
            }
            if r.name.trim().is_empty() {
                out.push(format!("{me}: empty name"));
            } else if let Some(first) = role_names.insert(r.name.as_str(), i) {
                out.push(format!(
                    "{me}: duplicate name, already used by roles[{first}]"
                ));
            }
            if let Scope::Project(p) = &r.scope
                && p.trim().is_empty()
            {
                out.push(format!("{me}: empty project name in scope"));
            }
        }

        let exact_logins: HashSet<&str> = self.users.iter().map(|u| u.login.as_str()).collect();
        let mut seen_grants = HashMap::new();
        for (i, g) in self.grants.iter().enumerate() {
            let me = g.describe(i);
            let role = self.roles.iter().find(|r| r.name == g.role);
            if role.is_none() {
                out.push(format!("{me}: unknown role `{}`", g.role));
            }
            match (&g.user, &g.group) {
                (Some(u), None) => {
                    if !exact_logins.contains(u.as_str()) {
                        out.push(format!("{me}: unknown user `{u}`"));
                    }
                }
                (None, Some(n)) => {
                    if !exact_group_names.contains(n.as_str()) {
                        out.push(format!("{me}: unknown group `{n}`"));
                    }
                }
                _ => out.push(format!("{me}: give exactly one of `user` and `group`")),
            }
            if let Some(Scope::Project(p)) = &g.scope
                && p.trim().is_empty()
            {
                out.push(format!("{me}: empty project name in scope"));
            }
            if let Some(role) = role {
                if let (Scope::Project(own), Some(scope)) = (&role.scope, &g.scope)
                    && scope != &role.scope
                {
                    out.push(format!(
                        "{me}: role `{}` belongs to project `{own}` and cannot be granted in {scope}",
                        role.name
                    ));
                }
                let key = (
                    g.role.as_str(),
                    g.user.as_deref(),
                    g.group.as_deref(),
                    g.effective_scope(&role.scope),
                );
                if let Some(first) = seen_grants.insert(key, i) {
                    out.push(format!("{me}: duplicate of grants[{first}]"));
                }
            }
        }
        out
    }

    /// Checks the document (see [`Directory::problems`]).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](idbridge_core::ErrorKind::InvalidInput) listing every problem, each naming its record, e.g.
    /// `users[3] (id u-0004, login bob): malformed email `bob@``.
    pub fn validate(&self) -> Result<()> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        let total = problems.len();
        let mut msg = if total == 1 {
            "invalid directory: ".to_string()
        } else {
            format!("invalid directory ({total} problems): ")
        };
        msg.push_str(
            &problems
                .iter()
                .take(MAX_REPORTED_PROBLEMS)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        );
        if total > MAX_REPORTED_PROBLEMS {
            msg.push_str(&format!("; and {} more", total - MAX_REPORTED_PROBLEMS));
        }
        Err(Error::invalid_input(msg))
    }

    /// Group indices forming nesting cycles, one list per cycle found (each cycle once).
    fn nesting_cycles(&self) -> Vec<Vec<usize>> {
        let by_name: HashMap<&str, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.as_str(), i))
            .collect();
        // 0 = unvisited, 1 = on the current path, 2 = done.
        let mut state = vec![0u8; self.groups.len()];
        let mut cycles = Vec::new();
        for start in 0..self.groups.len() {
            if state[start] != 0 {
                continue;
            }
            // Iterative DFS: (node, next parent index to look at).
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let parents = &self.groups[node].groups;
                if *next < parents.len() {
                    let parent = parents[*next].as_str();
                    *next += 1;
                    let Some(&p) = by_name.get(parent) else {
                        continue;
                    };
                    match state[p] {
                        0 => {
                            state[p] = 1;
                            stack.push((p, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|&(n, _)| n == p).unwrap_or(0);
                            cycles.push(stack[from..].iter().map(|&(n, _)| n).collect());
                        }
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    stack.pop();
                }
            }
        }
        cycles
    }

    /// Whether making group `child` a member of group `parent` (by name) would close a
    /// nesting cycle (including `child == parent`).
    pub fn would_cycle(&self, child: &str, parent: &str) -> bool {
        // A cycle appears iff `child` is already reachable upwards from `parent`.
        let mut todo = vec![parent];
        let mut seen = HashSet::new();
        while let Some(name) = todo.pop() {
            if name == child {
                return true;
            }
            if !seen.insert(name) {
                continue;
            }
            if let Some(g) = self.group_by_name(name) {
                todo.extend(g.groups.iter().map(String::as_str));
            }
        }
        false
    }
}
