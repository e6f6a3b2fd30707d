//! Memberships. DSS keeps them only on users (each user's `groups` list); groups hold no
//! member list and cannot contain groups.
//!
//! Adding or removing a member is a read-modify-write of that user's whole settings. All
//! such writes for one user in this process take the user's lock, so two membership
//! changes for the same user (in one run, in parallel) both survive.

use idbridge_core::{
    Error, ErrorKind, Membership, Memberships, Page, PageRequest, Principal, Result, async_trait,
};

use crate::adapter::{DataikuAdapter, user_key};
use crate::wire::{set_user_groups, user_groups};

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
        let mut groups = user_groups(&doc);
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
        let mut all: Vec<String> = self
            .user_list_plain()
            .await?
            .iter()
            .filter(|d| user_groups(d).iter().any(|g| g == group))
            .filter_map(|d| d.get("login").and_then(|v| v.as_str()).map(str::to_string))
            .collect();
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
        let mut all: Vec<Membership> = self
            .user_list_plain()
            .await?
            .iter()
            .filter_map(|d| {
                let login = d.get("login").and_then(|v| v.as_str())?;
                Some(user_groups(d).into_iter().map(move |group| Membership {
                    group,
                    member: Principal::User(login.to_string()),
                }))
            })
            .flatten()
            .collect();
        all.sort();
        all.dedup();
        Ok(all)
    }
}
