//! Group members: the paged members listing, and PATCH `/members` add/remove on the group,
//! for users and for groups inside groups.
//!
//! Adding a present member or removing an absent one must change nothing. The official
//! SDK compares against the current member list before it sends the PATCH; this adapter
//! asks the member's side instead (a user's `memberships`, a group's parent groups), one
//! small read whatever the group's size.

use idbridge_core::{Error, Memberships, Page, PageRequest, Principal, Result};
use reqwest::Method;

use crate::adapter::StrategyAdapter;
use crate::client::Call;
use crate::users::not_found_id;
use crate::wire::{self, IdName, ObjectJson, Operation, OperationList};

impl StrategyAdapter {
    /// The ids of the groups `member` belongs to directly.
    async fn parent_groups(&self, member: &Principal) -> Result<Vec<String>> {
        match member {
            Principal::User(id) => {
                #[derive(serde::Deserialize)]
                struct WithMemberships {
                    #[serde(default)]
                    memberships: Vec<IdName>,
                }
                if !wire::is_object_id(id) {
                    return Err(not_found_id("user", id));
                }
                let u: WithMemberships = self
                    .client
                    .json(&Call::get(format!("/api/users/{id}")), "user")
                    .await?;
                Ok(u.memberships.into_iter().map(|g| g.id).collect())
            }
            Principal::Group(id) => {
                if !wire::is_object_id(id) {
                    return Err(not_found_id("group", id));
                }
                let parents: Vec<IdName> = self
                    .client
                    .list(
                        &Call::get(format!("/api/usergroups/{id}/memberships")),
                        "group memberships",
                    )
                    .await?;
                Ok(parents.into_iter().map(|g| g.id).collect())
            }
        }
    }

    async fn patch_members(&self, group: &str, op: Operation) -> Result<()> {
        let body = serde_json::to_value(OperationList::of(vec![op]))
            .map_err(|e| Error::protocol(format!("cannot encode the member change: {e}")))?;
        let call = Call::new(Method::PATCH, format!("/api/usergroups/{group}"))
            .json(body)
            .idempotent();
        self.client.ok(&call).await
    }
}

#[idbridge_core::async_trait]
impl Memberships for StrategyAdapter {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        if !wire::is_object_id(group) {
            return Err(not_found_id("group", group));
        }
        let offset = page.offset()?;
        let limit = self.page_size(&page);
        let got = self
            .client
            .page::<ObjectJson>(
                Call::get(format!("/api/usergroups/{group}/members")),
                offset,
                limit,
                None,
                "group members",
            )
            .await?;
        let count = got.items.len();
        let end = offset + count;
        let next = match got.total {
            Some(total) => (count > 0 && (end as u64) < total).then(|| end.to_string()),
            None => (count >= limit).then(|| end.to_string()),
        };
        let items = got
            .items
            .into_iter()
            .map(|m| {
                if m.is_group() {
                    Principal::Group(m.id)
                } else {
                    Principal::User(m.id)
                }
            })
            .collect();
        Ok(Page { items, next })
    }

    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        if !wire::is_object_id(group) {
            return Err(not_found_id("group", group));
        }
        if member.is_group() && member.id() == group {
            return Err(Error::invalid_input("a group cannot be a member of itself"));
        }
        if self.parent_groups(member).await?.iter().any(|g| g == group) {
            return Ok(());
        }
        self.patch_members(group, Operation::add_ids("/members", &[member.id()]))
            .await
    }

    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        if !wire::is_object_id(group) {
            return Err(not_found_id("group", group));
        }
        if group == wire::EVERYONE_GROUP_ID {
            return Err(Error::permission_denied(
                "every user belongs to the built-in Everyone group; membership there cannot be removed",
            ));
        }
        let parents = match self.parent_groups(member).await {
            Ok(p) => p,
            // A member that does not exist is certainly not in the group.
            Err(e) if e.kind() == idbridge_core::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        if !parents.iter().any(|g| g == group) {
            // Not a member: nothing to do, but a missing group is still an error.
            return self.get_group_exists(group).await;
        }
        self.patch_members(group, Operation::remove_ids("/members", &[member.id()]))
            .await
    }
}

impl StrategyAdapter {
    async fn get_group_exists(&self, group: &str) -> Result<()> {
        use idbridge_core::Groups;
        self.get_group(group).await.map(|_| ())
    }
}
