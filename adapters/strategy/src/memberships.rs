//! Group members: the paged members listing, and PATCH `/members` add/remove on the group,
//! for users and for groups inside groups.
//!
//! Adding a present member or removing an absent one must change nothing. The official
//! SDK compares against the current member list before it sends the PATCH; this adapter
//! asks the member's side instead (a user's `memberships`, a group's parent groups), one
//! small read whatever the group's size.

use idbridge_core::{
    Error, MemberBatchKey, MemberWrite, MemberWriteResult, Memberships, Page, PageRequest,
    Principal, Result,
};
use reqwest::Method;

use crate::adapter::StrategyAdapter;
use crate::client::Call;
use crate::users::not_found_id;
use crate::wire::{self, IdName, ObjectJson, Operation, OperationList, Origin};

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
        self.patch_member_ops(group, vec![op], true).await
    }

    /// One PATCH of a group's `/members`. `idempotent` lets the HTTP layer repeat it after
    /// a lost answer, which only a change checked against the current members may be.
    async fn patch_member_ops(
        &self,
        group: &str,
        ops: Vec<Operation>,
        idempotent: bool,
    ) -> Result<()> {
        let body = serde_json::to_value(OperationList::of(ops))
            .map_err(|e| Error::protocol(format!("cannot encode the member change: {e}")))?;
        let mut call = Call::new(Method::PATCH, format!("/api/usergroups/{group}")).json(body);
        if idempotent {
            call = call.idempotent();
        }
        self.client.ok(&call).await
    }

    /// What a membership write cannot be, answered without a request.
    fn refuse_member_write(write: &MemberWrite) -> Option<Error> {
        let (group, member) = (write.group(), write.member());
        if !wire::is_object_id(group) {
            return Some(not_found_id("group", group));
        }
        if !wire::is_object_id(member.id()) {
            return match (write.is_add(), member) {
                (true, Principal::User(id)) => Some(not_found_id("user", id)),
                (true, Principal::Group(id)) => Some(not_found_id("group", id)),
                // Something that does not exist is certainly not a member.
                (false, _) => None,
            };
        }
        if write.is_add() && member.is_group() && member.id() == group {
            return Some(Error::invalid_input("a group cannot be a member of itself"));
        }
        if !write.is_add() && group == wire::EVERYONE_GROUP_ID {
            return Some(Error::permission_denied(
                "every user belongs to the built-in Everyone group; membership there cannot be removed",
            ));
        }
        None
    }

    /// The writes of one group, `(index, write)`, as one PATCH with an `add` and a `remove`
    /// of `/members`. Sent unchecked and not repeated by the HTTP layer: the batch comes
    /// from a plan made on a fresh read, and a failed write is tried again through the
    /// checked single-write path. When the PATCH is refused, a missing group fails every
    /// write; otherwise each write goes alone, so that only the one at fault fails.
    async fn write_group_members(
        &self,
        group: &str,
        writes: &[(usize, &MemberWrite)],
    ) -> Vec<(usize, MemberWriteResult)> {
        let mut out = Vec::with_capacity(writes.len());
        let mut send: Vec<(usize, &MemberWrite)> = Vec::new();
        // A second write of one member waits for the PATCH and goes alone, in order.
        let mut later: Vec<(usize, &MemberWrite)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for &(i, w) in writes {
            if !seen.insert(w.member().id()) {
                later.push((i, w));
                continue;
            }
            match Self::refuse_member_write(w) {
                Some(e) => out.push((i, Err(e))),
                None if !w.is_add() && !wire::is_object_id(w.member().id()) => {
                    // Not a possible id, so not a member; the group must still exist.
                    out.push((i, self.get_group_exists(group).await));
                }
                None => send.push((i, w)),
            }
        }
        for chunk in send.chunks(MEMBERS_PER_REQUEST) {
            let ids = |add: bool| -> Vec<&str> {
                chunk
                    .iter()
                    .filter(|(_, w)| w.is_add() == add)
                    .map(|(_, w)| w.member().id())
                    .collect()
            };
            let (adds, removes) = (ids(true), ids(false));
            let mut ops = Vec::new();
            if !adds.is_empty() {
                ops.push(Operation::add_ids("/members", &adds));
            }
            if !removes.is_empty() {
                ops.push(Operation::remove_ids("/members", &removes));
            }
            match self.patch_member_ops(group, ops, false).await {
                Ok(()) => out.extend(chunk.iter().map(|(i, _)| (*i, Ok(())))),
                Err(e) if e.is_retryable() => {
                    out.extend(chunk.iter().map(|(i, _)| (*i, Err(e.clone()))));
                }
                Err(e) => match self.get_group_exists(group).await {
                    Err(missing) if missing.kind() == idbridge_core::ErrorKind::NotFound => {
                        out.extend(chunk.iter().map(|(i, _)| (*i, Err(missing.clone()))));
                    }
                    _ if chunk.len() == 1 => out.push((chunk[0].0, Err(e))),
                    _ => {
                        for (i, w) in chunk {
                            let r = match w {
                                MemberWrite::Add { member, .. } => {
                                    self.add_member(group, member).await
                                }
                                MemberWrite::Remove { member, .. } => {
                                    self.remove_member(group, member).await
                                }
                            };
                            out.push((*i, r));
                        }
                    }
                },
            }
        }
        for (i, w) in later {
            let r = match w {
                MemberWrite::Add { member, .. } => self.add_member(group, member).await,
                MemberWrite::Remove { member, .. } => self.remove_member(group, member).await,
            };
            out.push((i, r));
        }
        out
    }
}

/// The most member ids sent in one PATCH. The platform documents no limit; the official
/// SDK reads collections in chunks of this size.
pub const MEMBERS_PER_REQUEST: usize = 1000;

#[idbridge_core::async_trait]
impl Memberships for StrategyAdapter {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        if !wire::is_object_id(group) {
            return Err(not_found_id("group", group));
        }
        let offset = page.offset()?;
        let limit = self.page_size(&page);
        let call = Call::get(format!("/api/usergroups/{group}/members"));
        let endpoint = call.describe();
        let got = self
            .client
            .page::<ObjectJson>(call, offset, limit, None, "group members")
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
                let origin = Origin::new(&endpoint, "group member", &m.id);
                if m.id.trim().is_empty() {
                    return Err(origin.error("id", "is empty"));
                }
                Ok(if m.is_group(&origin)? {
                    Principal::Group(m.id)
                } else {
                    Principal::User(m.id)
                })
            })
            .collect::<Result<_>>()?;
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

    /// One PATCH carries one group's member changes.
    fn member_batch_key(&self, write: &MemberWrite) -> MemberBatchKey {
        MemberBatchKey::Shared(write.group().to_string())
    }

    /// One PATCH per group of the batch (see `write_group_members`), groups one after the
    /// other.
    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        let mut by_group: Vec<(&str, Vec<(usize, &MemberWrite)>)> = Vec::new();
        for (i, w) in batch.iter().enumerate() {
            match by_group.iter_mut().find(|(g, _)| *g == w.group()) {
                Some((_, v)) => v.push((i, w)),
                None => by_group.push((w.group(), vec![(i, w)])),
            }
        }
        let mut results: Vec<Option<MemberWriteResult>> = vec![None; batch.len()];
        for (group, writes) in by_group {
            for (i, r) in self.write_group_members(group, &writes).await {
                results[i] = Some(r);
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

impl StrategyAdapter {
    async fn get_group_exists(&self, group: &str) -> Result<()> {
        use idbridge_core::Groups;
        self.get_group(group).await.map(|_| ())
    }
}
