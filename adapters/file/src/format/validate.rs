//! The checks a directory document passes before it is read or saved.

use std::collections::{HashMap, HashSet};

use idbridge_core::{Error, Result, Scope};

use super::packed::PackedUsers;
use super::{DirUser, Directory, fold, fold_key, is_valid_email};

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
        problems_with(self.users.as_slice(), self)
    }

    /// Checks the document (see [`Directory::problems`]).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](idbridge_core::ErrorKind::InvalidInput) listing every problem, each naming its record, e.g.
    /// `users[3] (id u-0004, login bob): malformed email `bob@``.
    pub fn validate(&self) -> Result<()> {
        Directory::problems_to_result(self.problems())
    }

    /// The error [`Directory::validate`] gives for `problems`, if there are any.
    pub(crate) fn problems_to_result(problems: Vec<String>) -> Result<()> {
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

/// The user records a document is checked through: the file records of a [`Directory`]
/// or the packed users the adapter holds.
pub(crate) trait UserRecords {
    /// How many users.
    fn count(&self) -> usize;
    /// The id of user `i`.
    fn id(&self, i: usize) -> &str;
    /// The login of user `i`.
    fn login(&self, i: usize) -> &str;
    /// The email of user `i`, if any.
    fn email(&self, i: usize) -> Option<&str>;
    /// The group names user `i` lists.
    fn groups(&self, i: usize) -> impl Iterator<Item = &str>;
}

impl UserRecords for [DirUser] {
    fn count(&self) -> usize {
        self.len()
    }
    fn id(&self, i: usize) -> &str {
        self.get(i).map_or("", |u| u.id.as_str())
    }
    fn login(&self, i: usize) -> &str {
        self.get(i).map_or("", |u| u.login.as_str())
    }
    fn email(&self, i: usize) -> Option<&str> {
        self.get(i).and_then(|u| u.email.as_deref())
    }
    fn groups(&self, i: usize) -> impl Iterator<Item = &str> {
        self.get(i)
            .map(|u| u.groups.as_slice())
            .unwrap_or_default()
            .iter()
            .map(String::as_str)
    }
}

impl UserRecords for PackedUsers {
    fn count(&self) -> usize {
        self.len()
    }
    fn id(&self, i: usize) -> &str {
        PackedUsers::id(self, i)
    }
    fn login(&self, i: usize) -> &str {
        PackedUsers::login(self, i)
    }
    fn email(&self, i: usize) -> Option<&str> {
        PackedUsers::email(self, i)
    }
    fn groups(&self, i: usize) -> impl Iterator<Item = &str> {
        PackedUsers::groups(self, i)
    }
}

/// `users[3] (id u-0004, login bob)`: how a problem names a user.
fn describe<U: UserRecords + ?Sized>(users: &U, i: usize) -> String {
    Describe(users, i).to_string()
}

/// [`describe`], formatted only where it is shown.
struct Describe<'a, U: ?Sized>(&'a U, usize);

impl<U: UserRecords + ?Sized> std::fmt::Display for Describe<'_, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Describe(users, i) = *self;
        write!(
            f,
            "users[{i}] (id {}, login {})",
            users.id(i),
            users.login(i)
        )
    }
}

/// The hasher of the maps over every user: seeded per process, fast on short keys.
type Seeded = hashbrown::DefaultHashBuilder;
type FastMap<K, V> = hashbrown::HashMap<K, V, Seeded>;
type FastSet<K> = hashbrown::HashSet<K, Seeded>;

/// The records among `0..n` whose key (`None`: not checked) repeats an earlier record's,
/// each with the latest earlier record of the same key.
///
/// The keys' hashes are sorted with the records' positions, so that equal keys end up
/// side by side: this reads the records in order and sorts in place, where a map of a
/// million keys is a write to a random place of a large table for each. Only records of
/// the same hash are compared.
fn repeats<K: std::hash::Hash + Eq>(
    n: usize,
    key: impl Fn(usize) -> Option<K>,
) -> FastMap<usize, usize> {
    use std::hash::BuildHasher;
    let hasher = Seeded::default();
    let mut hashed: Vec<(u64, usize)> = (0..n)
        .filter_map(|i| key(i).map(|k| (hasher.hash_one(k), i)))
        .collect();
    hashed.sort_unstable();
    let mut out = FastMap::default();
    for run in hashed
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
    {
        // Positions rise within a run; runs are almost always one record long.
        for (at, &(_, later)) in run.iter().enumerate().skip(1) {
            let k = key(later);
            if let Some(&(_, earlier)) = run[..at].iter().rev().find(|(_, e)| key(*e) == k) {
                out.insert(later, earlier);
            }
        }
    }
    out
}

/// [`Directory::problems`] of `users` with the groups, roles and grants of `rest` (whose
/// own users are not looked at).
pub(crate) fn problems_with<U: UserRecords + ?Sized>(users: &U, rest: &Directory) -> Vec<String> {
    let mut out = Vec::new();

    let n = users.count();
    let id_key = |i: usize| Some(users.id(i)).filter(|id| !id.trim().is_empty());
    let login_key = |i: usize| {
        let login = users.login(i);
        (!login.trim().is_empty() && login.trim() == login).then(|| fold_key(login))
    };
    let repeated_ids = repeats(n, id_key);
    let repeated_logins = repeats(n, login_key);
    for i in 0..n {
        // Formatted only for a problem: most users have none.
        let me = Describe(users, i);
        let (id, login) = (users.id(i), users.login(i));
        if id.trim().is_empty() {
            out.push(format!("{me}: empty id"));
        } else if let Some(first) = repeated_ids.get(&i) {
            out.push(format!(
                "{me}: duplicate id, already used by users[{first}]"
            ));
        }
        if login.trim().is_empty() {
            out.push(format!("{me}: empty login"));
        } else if login.trim() != login {
            out.push(format!("{me}: login has leading or trailing spaces"));
        } else if let Some(&first) = repeated_logins.get(&i) {
            out.push(format!(
                "{me}: duplicate login (ignoring case), already used by users[{first}] ({})",
                users.login(first)
            ));
        }
        if let Some(email) = users.email(i)
            && !is_valid_email(email)
        {
            out.push(format!("{me}: malformed email `{email}`"));
        }
    }

    let mut group_ids = HashMap::new();
    let mut group_names: HashMap<String, usize> = HashMap::new();
    for (i, g) in rest.groups.iter().enumerate() {
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
                rest.groups[first].name
            ));
        }
    }
    let exact_group_names: FastSet<&str> = rest.groups.iter().map(|g| g.name.as_str()).collect();

    let mut seen = Vec::new();
    for i in 0..users.count() {
        seen.clear();
        for name in users.groups(i) {
            if !exact_group_names.contains(name) {
                out.push(format!("{}: unknown group `{name}`", describe(users, i)));
            } else if seen.contains(&name) {
                out.push(format!(
                    "{}: lists group `{name}` twice",
                    describe(users, i)
                ));
            } else {
                seen.push(name);
            }
        }
    }
    for (i, g) in rest.groups.iter().enumerate() {
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
    for cycle in rest.nesting_cycles() {
        let i = cycle[0];
        let names: Vec<&str> = cycle
            .iter()
            .chain(std::iter::once(&i))
            .map(|&j| rest.groups[j].name.as_str())
            .collect();
        out.push(format!(
            "{}: group nesting cycle {}",
            rest.groups[i].describe(i),
            names.join(" -> ")
        ));
    }

    let mut role_ids = HashMap::new();
    let mut role_names = HashMap::new();
    for (i, r) in rest.roles.iter().enumerate() {
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

    let exact_logins: FastSet<&str> = if rest.grants.is_empty() {
        FastSet::default()
    } else {
        (0..users.count()).map(|i| users.login(i)).collect()
    };
    let mut seen_grants = HashMap::new();
    for (i, g) in rest.grants.iter().enumerate() {
        let me = g.describe(i);
        let role = rest.roles.iter().find(|r| r.name == g.role);
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

#[cfg(test)]
mod tests {
    use super::repeats;

    /// A key whose hash is the same for every value, so that every key collides.
    #[derive(PartialEq, Eq)]
    struct Colliding(&'static str);

    impl std::hash::Hash for Colliding {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            state.write_u8(0);
        }
    }

    #[test]
    fn each_repeat_names_the_latest_earlier_record_of_its_key() {
        let keys = ["a", "b", "", "a", "c", "b", "a", ""];
        let key = |i: usize| Some(keys[i]).filter(|k| !k.is_empty());
        let found = repeats(keys.len(), key);
        let mut found: Vec<(usize, usize)> = found.into_iter().collect();
        found.sort_unstable();
        // Unchecked records (the empty keys) repeat nothing.
        assert_eq!(found, vec![(3, 0), (5, 1), (6, 3)]);
    }

    #[test]
    fn keys_of_the_same_hash_are_told_apart() {
        let keys = ["x", "y", "x", "z", "y"];
        let found = repeats(keys.len(), |i| Some(Colliding(keys[i])));
        let mut found: Vec<(usize, usize)> = found.into_iter().collect();
        found.sort_unstable();
        assert_eq!(found, vec![(2, 0), (4, 1)]);
        assert!(repeats(3, |i| Some(Colliding(["p", "q", "r"][i]))).is_empty());
    }
}
