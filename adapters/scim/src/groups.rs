//! Groups and their members (RFC 7643 §4.2; RFC 7644 §3.3, §3.4, §3.5.1, §3.5.2.1-3,
//! §3.6): listing without members where the server allows it, names kept unique by the
//! adapter (RFC 7643 does not require servers to), and member changes many per PATCH.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use idbridge_core::{
    Error, ErrorKind, Group, GroupChanges, Groups, MemberBatchKey, MemberWrite, MemberWriteResult,
    Membership, Memberships, NewGroup, Page, PageRequest, Principal, Result, async_trait,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::adapter::ScimAdapter;
use crate::client::seg;
use crate::mapping::group_from_scim;
use crate::users::next_page;
use crate::wire::{
    GROUP_SCHEMA, GroupResource, ListResponse, Member, PatchOp, PatchOperation, filter_string,
};

fn checked(r: &GroupResource) -> Result<&GroupResource> {
    match &r.id {
        Some(id) if !id.is_empty() => Ok(r),
        _ => Err(Error::protocol(
            "the SCIM service provider returned a group without `id`",
        )),
    }
}

/// One page of groups, with or without their members.
async fn list_page(
    a: &ScimAdapter,
    page: &PageRequest,
    with_members: bool,
) -> Result<(Vec<GroupResource>, usize, u64)> {
    let offset = page.offset()?;
    let count = a.count(page).await?;
    let mut query = vec![
        ("startIndex", (offset + 1).to_string()),
        ("count", count.to_string()),
    ];
    let exclude = !with_members && a.exclude_members();
    if exclude {
        query.push(("excludedAttributes", "members".to_string()));
    }
    let read = a
        .client
        .get::<ListResponse<GroupResource>>("/Groups", &query, "a list of groups")
        .await;
    let list = match read {
        Err(e) if exclude && e.kind() == ErrorKind::InvalidInput => {
            // RFC 7644 §3.4.2.5 makes it optional in effect: list them with members.
            a.exclude_members.store(false, Ordering::Relaxed);
            query.pop();
            a.client
                .get::<ListResponse<GroupResource>>("/Groups", &query, "a list of groups")
                .await?
        }
        other => other?,
    };
    for g in &list.resources {
        checked(g)?;
    }
    Ok((list.resources, offset, list.total_results))
}

/// A group with its members.
pub(crate) async fn read_full(a: &ScimAdapter, id: &str) -> Result<GroupResource> {
    let r: GroupResource = a
        .client
        .get(&format!("/Groups/{}", seg(id)), &[], "a group")
        .await?;
    checked(&r)?;
    Ok(r)
}

/// The group named `name` (case-insensitively, as `displayName` compares), other than
/// `except`.
async fn find_by_name(a: &ScimAdapter, name: &str, except: Option<&str>) -> Result<Option<String>> {
    let same =
        |g: &GroupResource| g.display_name.eq_ignore_ascii_case(name) && g.id.as_deref() != except;
    if a.features().await?.filter {
        let mut query = vec![("filter", format!("displayName eq {}", filter_string(name)))];
        if a.exclude_members() {
            query.push(("excludedAttributes", "members".to_string()));
        }
        let list: ListResponse<GroupResource> = a
            .client
            .get("/Groups", &query, "a filtered list of groups")
            .await?;
        return Ok(list
            .resources
            .iter()
            .find(|g| same(g))
            .and_then(|g| g.id.clone()));
    }
    let mut page = PageRequest::first();
    loop {
        let (groups, offset, total) = list_page(a, &page, false).await?;
        if let Some(g) = groups.iter().find(|g| same(g)) {
            return Ok(g.id.clone());
        }
        match next_page(groups, offset, total).next {
            Some(next) => page.cursor = Some(next),
            None => return Ok(None),
        }
    }
}

fn taken(name: &str) -> Error {
    Error::already_exists(format!("a group named `{name}` already exists")).with_resource(name)
}

fn member_of(p: &Principal) -> Value {
    match p {
        Principal::User(id) => json!({"value": id, "type": "User"}),
        Principal::Group(id) => json!({"value": id, "type": "Group"}),
    }
}

fn principal_of(m: &Member) -> Principal {
    if m.is_group() {
        Principal::Group(m.value.clone())
    } else {
        Principal::User(m.value.clone())
    }
}

/// The members of a group, each once, in the server's order.
fn principals(g: &GroupResource) -> Vec<Principal> {
    let mut seen = BTreeSet::new();
    g.members
        .iter()
        .flatten()
        .map(principal_of)
        .filter(|p| seen.insert(p.clone()))
        .collect()
}

/// Replaces a whole group (RFC 7644 §3.5.1) after `change` edits what was read just
/// before, with `If-Match` where the server keeps versions; a 412 reads it again and
/// tries once more, then fails as a conflict.
async fn replace_group(
    a: &ScimAdapter,
    id: &str,
    change: &(dyn Fn(&mut GroupResource) + Send + Sync),
) -> Result<()> {
    let etag = a.features().await?.etag;
    for attempt in 1..=2 {
        let mut g = read_full(a, id).await?;
        let tag = etag.then(|| g.version().map(str::to_string)).flatten();
        change(&mut g);
        if g.schemas.is_empty() {
            g.schemas.push(GROUP_SCHEMA.to_string());
        }
        let body = serde_json::to_value(&g).unwrap_or(Value::Null);
        match a
            .client
            .write(
                Method::PUT,
                &format!("/Groups/{}", seg(id)),
                Some(body),
                tag,
                true,
            )
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.http_status() == Some(412) && attempt == 1 => {}
            Err(e) if e.http_status() == Some(412) => {
                return Err(Error::conflict(format!(
                    "group `{id}` changed on the SCIM service provider while it was being replaced, twice; nothing was written"
                ))
                .with_http_status(412));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Applies membership writes of one group in one request: one PATCH with an `add` of
/// every added member and a `remove` per removed one, or one replace of the group.
async fn write_group(a: &ScimAdapter, group: &str, writes: &[&MemberWrite]) -> Result<()> {
    if a.features().await?.patch {
        let adds: Vec<Value> = writes
            .iter()
            .filter(|w| w.is_add())
            .map(|w| member_of(w.member()))
            .collect();
        let mut ops = Vec::new();
        if !adds.is_empty() {
            ops.push(PatchOperation::add("members", Value::Array(adds)));
        }
        for w in writes.iter().filter(|w| !w.is_add()) {
            ops.push(PatchOperation::remove(&format!(
                "members[value eq {}]",
                filter_string(w.member().id())
            )));
        }
        let body = serde_json::to_value(PatchOp::new(ops)).unwrap_or(Value::Null);
        let sent = a
            .client
            .write(
                Method::PATCH,
                &format!("/Groups/{}", seg(group)),
                Some(body),
                None,
                true,
            )
            .await;
        return match sent {
            Ok(_) => Ok(()),
            // A remove whose member is not there (RFC 7644 §3.5.2.2): nothing to do.
            Err(e) if e.vendor_code() == Some("noTarget") && writes.iter().all(|w| !w.is_add()) => {
                Ok(())
            }
            Err(e) => Err(e),
        };
    }
    let adds: Vec<Principal> = writes
        .iter()
        .filter(|w| w.is_add())
        .map(|w| w.member().clone())
        .collect();
    let removes: BTreeSet<String> = writes
        .iter()
        .filter(|w| !w.is_add())
        .map(|w| w.member().id().to_string())
        .collect();
    replace_group(a, group, &move |g: &mut GroupResource| {
        let mut members: Vec<Member> = g.members.take().unwrap_or_default();
        members.retain(|m| !removes.contains(&m.value));
        for p in &adds {
            if !members.iter().any(|m| m.value == p.id()) {
                members.push(Member {
                    value: p.id().to_string(),
                    kind: Some(
                        if matches!(p, Principal::Group(_)) {
                            "Group"
                        } else {
                            "User"
                        }
                        .into(),
                    ),
                    ..Member::default()
                });
            }
        }
        g.members = Some(members);
    })
    .await
}

#[async_trait]
impl Groups for ScimAdapter {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        let (groups, offset, total) = list_page(self, &page, false).await?;
        Ok(next_page(
            groups.iter().map(group_from_scim).collect(),
            offset,
            total,
        ))
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        let query: Vec<(&str, String)> = if self.exclude_members() {
            vec![("excludedAttributes", "members".to_string())]
        } else {
            Vec::new()
        };
        let r: GroupResource = self
            .client
            .get(&format!("/Groups/{}", seg(id)), &query, "a group")
            .await?;
        checked(&r)?;
        Ok(group_from_scim(&r))
    }

    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        if find_by_name(self, &group.name, None).await?.is_some() {
            return Err(taken(&group.name));
        }
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": group.name});
        let sent = self
            .client
            .write(Method::POST, "/Groups", Some(body), None, false)
            .await;
        match sent {
            Ok(w) => match w.body.map(serde_json::from_value::<GroupResource>) {
                Some(Ok(r)) if checked(&r).is_ok() => Ok(group_from_scim(&r)),
                _ => Err(Error::protocol(format!(
                    "the SCIM service provider accepted group `{}` but did not return it",
                    group.name
                ))),
            },
            Err(e) if e.is_outcome_unknown() => match find_by_name(self, &group.name, None).await {
                Ok(Some(id)) => Ok(Group {
                    id,
                    name: group.name.clone(),
                    description: None,
                }),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        let Some(name) = &changes.name else {
            return self.get_group(id).await;
        };
        if find_by_name(self, name, Some(id)).await?.is_some() {
            // A missing group is reported as missing rather than as a clash.
            self.get_group(id).await?;
            return Err(taken(name));
        }
        if self.features().await?.patch {
            let body = serde_json::to_value(PatchOp::new(vec![PatchOperation::replace(
                "displayName",
                Value::String(name.clone()),
            )]))
            .unwrap_or(Value::Null);
            self.client
                .write(
                    Method::PATCH,
                    &format!("/Groups/{}", seg(id)),
                    Some(body),
                    None,
                    true,
                )
                .await?;
        } else {
            let name = name.clone();
            replace_group(self, id, &move |g: &mut GroupResource| {
                g.display_name = name.clone()
            })
            .await?;
        }
        self.get_group(id).await
    }

    async fn delete_group(&self, id: &str) -> Result<()> {
        self.client
            .write(
                Method::DELETE,
                &format!("/Groups/{}", seg(id)),
                None,
                None,
                true,
            )
            .await
            .map(drop)
    }
}

#[async_trait]
impl Memberships for ScimAdapter {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        let g = read_full(self, group).await?;
        Page::slice(principals(&g), &page, self.page_size)
    }

    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        let w = MemberWrite::Add {
            group: group.into(),
            member: member.clone(),
        };
        write_group(self, group, &[&w]).await
    }

    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        let w = MemberWrite::Remove {
            group: group.into(),
            member: member.clone(),
        };
        write_group(self, group, &[&w]).await
    }

    /// Every group's members from the group listing itself (members included), page by
    /// page: one request per page instead of one per group.
    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        let mut out = Vec::new();
        let mut page = PageRequest::first();
        loop {
            let (groups, offset, total) = list_page(self, &page, true).await?;
            for g in &groups {
                let id = g.id.clone().unwrap_or_default();
                let members = match &g.members {
                    Some(_) => principals(g),
                    // A server that leaves members out of listings: read the group.
                    None => principals(&read_full(self, &id).await?),
                };
                out.extend(members.into_iter().map(|member| Membership {
                    group: id.clone(),
                    member,
                }));
            }
            match next_page(groups, offset, total).next {
                Some(next) if Some(&next) != page.cursor.as_ref() => page.cursor = Some(next),
                _ => return Ok(out),
            }
        }
    }

    fn member_batch_key(&self, write: &MemberWrite) -> MemberBatchKey {
        MemberBatchKey::Shared(write.group().to_string())
    }

    /// One PATCH (or replace) per group and up to `members_per_patch` writes; when one
    /// fails for another reason than a missing group, its writes are sent again one by
    /// one, so that each fails alone.
    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        let mut by_group: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, w) in batch.iter().enumerate() {
            by_group.entry(w.group()).or_default().push(i);
        }
        let mut out: Vec<Option<MemberWriteResult>> = (0..batch.len()).map(|_| None).collect();
        for (group, indexes) in by_group {
            for chunk in indexes.chunks(self.members_per_patch.max(1)) {
                let writes: Vec<&MemberWrite> = chunk.iter().map(|i| &batch[*i]).collect();
                match write_group(self, group, &writes).await {
                    Ok(()) => chunk.iter().for_each(|i| out[*i] = Some(Ok(()))),
                    Err(e)
                        if chunk.len() == 1
                            || e.kind() == ErrorKind::NotFound
                                && self.get_group(group).await.is_err() =>
                    {
                        chunk.iter().for_each(|i| out[*i] = Some(Err(e.clone())));
                    }
                    Err(_) => {
                        for i in chunk {
                            out[*i] = Some(write_group(self, group, &[&batch[*i]]).await);
                        }
                    }
                }
            }
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::protocol("a membership write was left out"))))
            .collect()
    }
}
