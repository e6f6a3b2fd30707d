//! Memberships. DSS keeps them only on users (each user's `groups` list); groups hold no
//! member list and cannot contain groups.
//!
//! Adding or removing a member is a read-modify-write of that user's whole settings. All
//! such writes for one user in this process take the user's lock, so two membership
//! changes for the same user (in one run, in parallel) both survive.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use idbridge_core::{
    Error, ErrorKind, MemberBatchKey, MemberWrite, MemberWriteResult, Membership, Memberships,
    Page, PageRequest, Principal, Result, async_trait,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::adapter::{DataikuAdapter, user_key};
use crate::error::map_bulk_failure;
use crate::users::USER_LIST;
use crate::wire::{set_user_groups, user_groups, user_login};

fn user_of<'a>(group: &str, member: &'a Principal) -> Result<&'a str> {
    match member {
        Principal::User(login) => Ok(login),
        Principal::Group(g) => Err(Error::new(
            ErrorKind::Unsupported,
            format!("DSS groups cannot contain groups (`{g}` in `{group}`)"),
        )),
    }
}

impl DataikuAdapter {
    /// Makes `login` a member of `group` (or not), under the user's lock. Returns whether the
    /// user's settings changed.
    pub(crate) async fn set_membership(
        &self,
        group: &str,
        login: &str,
        member: bool,
    ) -> Result<bool> {
        let _guard = self.locks.lock(&user_key(login)).await;
        let mut doc = self.user_doc_for_update(login).await?;
        let mut groups = user_groups(&doc, &format!("GET /admin/users/{login}"))?;
        let has = groups.iter().any(|g| g == group);
        if has == member {
            return Ok(false);
        }
        if member {
            groups.push(group.to_string());
        } else {
            groups.retain(|g| g != group);
        }
        set_user_groups(&mut doc, &groups);
        self.put_user_doc(login, &doc).await?;
        Ok(true)
    }
}

#[async_trait]
impl Memberships for DataikuAdapter {
    /// The users whose `groups` list names the group (after checking the group exists).
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        self.group_doc(group).await?;
        let mut all: Vec<String> = Vec::new();
        for d in self.user_list_plain().await? {
            if user_groups(&d, USER_LIST)?.iter().any(|g| g == group) {
                all.push(user_login(&d, USER_LIST)?.to_string());
            }
        }
        all.sort();
        all.dedup();
        let size = all.len().max(1);
        Page::slice(all.into_iter().map(Principal::User).collect(), &page, size)
    }

    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        let login = user_of(group, member)?;
        // DSS may accept a group name that does not exist; a dangling name would silently
        // grant membership in a group created later.
        self.group_doc(group).await?;
        self.set_membership(group, login, true).await.map(drop)
    }

    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        let login = user_of(group, member)?;
        self.set_membership(group, login, false).await.map(drop)
    }

    /// Every user's `groups` list, from one user listing (`list_members` reads the same
    /// listing once per group). A group name a user still carries after its group was
    /// deleted is listed too; callers keep the groups they know.
    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        let mut all: Vec<Membership> = Vec::new();
        for d in self.user_list_plain().await? {
            let login = user_login(&d, USER_LIST)?;
            for group in user_groups(&d, USER_LIST)? {
                all.push(Membership {
                    group,
                    member: Principal::User(login.to_string()),
                });
            }
        }
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// With the bulk endpoints one edit carries any users' changes; without them, one
    /// read-modify-write carries one user's. A group as member is refused alone.
    fn member_batch_key(&self, write: &MemberWrite) -> MemberBatchKey {
        match write.member() {
            Principal::Group(_) => MemberBatchKey::Alone,
            Principal::User(_) if self.bulk.usable() => MemberBatchKey::Any,
            Principal::User(login) => MemberBatchKey::Shared(login.clone()),
        }
    }

    /// One write per user, not per membership: a batch's changes are grouped by user, the
    /// groups added to are checked to exist once, and each user's `groups` list is written
    /// once — all users in one bulk edit where the server has the bulk endpoints (its
    /// current lists from one user listing), else one read-modify-write per user.
    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        let mut results: Vec<Option<MemberWriteResult>> = vec![None; batch.len()];
        // login -> (index, group, add), in batch order.
        let mut by_user: BTreeMap<&str, Vec<(usize, &str, bool)>> = BTreeMap::new();
        for (i, w) in batch.iter().enumerate() {
            match user_of(w.group(), w.member()) {
                Ok(login) => by_user
                    .entry(login)
                    .or_default()
                    .push((i, w.group(), w.is_add())),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let added: BTreeSet<&str> = by_user
            .values()
            .flatten()
            .filter(|(_, _, add)| *add)
            .map(|(_, g, _)| *g)
            .collect();
        let missing = self.missing_groups(&added).await;
        for changes in by_user.values_mut() {
            changes.retain(|&(i, group, add)| {
                let refused = match &missing {
                    Err(e) if add => Some(e.clone()),
                    Ok(gone) if add && gone.contains(group) => {
                        Some(Error::not_found(format!("no DSS group is named `{group}`")))
                    }
                    _ => None,
                };
                match refused {
                    Some(e) => {
                        results[i] = Some(Err(e));
                        false
                    }
                    None => true,
                }
            });
        }
        by_user.retain(|_, changes| !changes.is_empty());
        let bulk = match self.bulk.usable() {
            true => Some(self.bulk_member_writes(&by_user).await),
            false => None,
        };
        // A bulk edit that showed the endpoint missing wrote nothing: one write per user.
        let outcomes = if let Some(outcomes) = bulk.filter(|_| self.bulk.usable()) {
            outcomes
        } else {
            let mut out = HashMap::new();
            for (login, changes) in &by_user {
                out.insert(
                    login.to_string(),
                    self.user_member_writes(login, changes).await,
                );
            }
            out
        };
        for (login, changes) in &by_user {
            let outcome = outcomes
                .get(*login)
                .cloned()
                .unwrap_or_else(|| Err(Error::protocol(format!("no result for user `{login}`"))));
            for (i, _, _) in changes {
                results[*i] = Some(outcome.clone());
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(Error::protocol("membership write left without a result")))
            })
            .collect()
    }
}

/// A user's `groups` after `changes` (in order), or `None` when nothing changes.
fn changed_groups(current: &[String], changes: &[(usize, &str, bool)]) -> Option<Vec<String>> {
    let mut groups = current.to_vec();
    for &(_, group, add) in changes {
        let has = groups.iter().any(|g| g == group);
        if add && !has {
            groups.push(group.to_string());
        } else if !add && has {
            groups.retain(|g| g != group);
        }
    }
    (groups != current).then_some(groups)
}

impl DataikuAdapter {
    /// Which of `groups` do not exist, from one group listing shared with the writes that
    /// check at the same moment (see [`crate::shared`]).
    async fn missing_groups<'a>(&self, groups: &BTreeSet<&'a str>) -> Result<BTreeSet<&'a str>> {
        if groups.is_empty() {
            return Ok(BTreeSet::new());
        }
        let listed: BTreeSet<String> = self
            .group_list_shared()
            .await?
            .iter()
            .filter_map(|d| d.get("name").and_then(Value::as_str).map(str::to_string))
            .collect();
        Ok(groups
            .iter()
            .copied()
            .filter(|g| !listed.contains(*g))
            .collect())
    }

    /// One user's membership changes as one read-modify-write of its settings (servers
    /// without the bulk endpoints), under the user's lock.
    async fn user_member_writes(&self, login: &str, changes: &[(usize, &str, bool)]) -> Result<()> {
        let _guard = self.locks.lock(&user_key(login)).await;
        let mut doc = self.user_doc_for_update(login).await?;
        let current = user_groups(&doc, &format!("GET /admin/users/{login}"))?;
        if let Some(groups) = changed_groups(&current, changes) {
            set_user_groups(&mut doc, &groups);
            self.put_user_doc(login, &doc).await?;
        }
        Ok(())
    }

    /// Every user's membership changes in one bulk edit of `{login, groups}` items, the
    /// current lists read from one user listing, under the users' locks. Only `groups` is
    /// written back, so a user's other settings cannot be lost whatever the listing
    /// carried; a listed user without a `groups` list is refused rather than taken to
    /// have none. Returns the outcome per login.
    async fn bulk_member_writes(
        &self,
        by_user: &BTreeMap<&str, Vec<(usize, &str, bool)>>,
    ) -> HashMap<String, Result<()>> {
        let mut out: HashMap<String, Result<()>> = HashMap::new();
        if by_user.is_empty() {
            return out;
        }
        let keys: Vec<String> = by_user.keys().map(|l| user_key(l)).collect();
        let _guards = self.locks.lock_all(&keys).await;
        let listed = match self.user_list_plain_shared().await {
            Ok(docs) => docs,
            Err(e) => {
                return by_user
                    .keys()
                    .map(|l| (l.to_string(), Err(e.clone())))
                    .collect();
            }
        };
        let current: HashMap<&str, Option<Vec<String>>> = listed
            .iter()
            .filter_map(|d| {
                let login = d.get("login").and_then(Value::as_str)?;
                let groups = match d.get("groups") {
                    Some(Value::Array(_)) => user_groups(d, USER_LIST).ok(),
                    _ => None,
                };
                Some((login, groups))
            })
            .collect();
        let mut body = Vec::new();
        for (login, changes) in by_user {
            match current.get(login) {
                None => {
                    out.insert(
                        login.to_string(),
                        Err(Error::not_found(format!("no DSS user has login `{login}`"))
                            .with_resource(*login)),
                    );
                }
                Some(None) => {
                    out.insert(
                        login.to_string(),
                        Err(Error::protocol(format!(
                            "the user listing shows `{login}` without a groups list; not changing its groups"
                        ))),
                    );
                }
                Some(Some(groups)) => match changed_groups(groups, changes) {
                    None => {
                        out.insert(login.to_string(), Ok(()));
                    }
                    Some(after) => body.push(json!({"login": login, "groups": after})),
                },
            }
        }
        if body.is_empty() {
            return out;
        }
        let sent: Vec<String> = body
            .iter()
            .filter_map(|b| b.get("login").and_then(Value::as_str).map(str::to_string))
            .collect();
        match self.bulk_call(Method::PUT, Value::Array(body), &[]).await {
            Err(e) => {
                for login in sent {
                    out.insert(login, Err(e.clone()));
                }
            }
            Ok(items) => {
                for login in sent {
                    let outcome = match items.get(&login) {
                        Some(item) if item.succeeded() => Ok(()),
                        Some(item) => Err(map_bulk_failure(
                            &login,
                            item.error.as_deref().unwrap_or(""),
                            ErrorKind::Conflict,
                        )),
                        None => Err(Error::protocol(format!(
                            "the bulk response has no result for `{login}`"
                        ))
                        .with_resource(login.as_str())),
                    };
                    out.insert(login, outcome);
                }
            }
        }
        out
    }
}
