//! User groups: listed, read, created, renamed or re-described with PATCH
//! `operationList`, deleted through the generic objects endpoint.

use idbridge_core::{Error, Group, GroupChanges, Groups, NewGroup, Page, PageRequest, Result};
use reqwest::Method;
use serde_json::{Value, json};

use crate::adapter::StrategyAdapter;
use crate::client::Call;
use crate::users::not_found_id;
use crate::wire::{self, GroupJson, Operation, OperationList, Origin};

/// The fields read for one group: everything but `members`, which for a large group is
/// big and which the members listing serves paged (the official SDK does the same).
const GROUP_FIELDS: &str = "id,name,description,type,subtype";

/// Converts a group read from `endpoint` to the neutral record.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] naming the endpoint, the group and the field when
/// the id or name is missing or empty or the name or description has another JSON type:
/// a group is never named after its id, which would rename it on every target.
pub(crate) fn to_group(g: GroupJson, endpoint: &str) -> Result<Group> {
    let origin = Origin::new(endpoint, "user group", &g.id);
    if g.id.trim().is_empty() {
        return Err(origin.error("id", "is empty"));
    }
    let name = origin.require_text("name", &g.name)?.to_string();
    let description = origin
        .optional("description", &g.description)?
        .filter(|d| !d.is_empty())
        .cloned();
    Ok(Group {
        id: g.id,
        name,
        description,
    })
}

#[idbridge_core::async_trait]
impl Groups for StrategyAdapter {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        let offset = page.offset()?;
        let limit = self.page_size(&page);
        let call = Call::get("/api/usergroups");
        let endpoint = call.describe();
        let got = self
            .client
            .page::<GroupJson>(call, offset, limit, None, "group listing")
            .await?;
        let count = got.items.len();
        let end = offset + count;
        let next = match got.total {
            Some(total) => (count > 0 && (end as u64) < total).then(|| end.to_string()),
            None => (count >= limit).then(|| end.to_string()),
        };
        Ok(Page {
            items: got
                .items
                .into_iter()
                .map(|g| to_group(g, &endpoint))
                .collect::<Result<_>>()?,
            next,
        })
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        if !wire::is_object_id(id) {
            return Err(not_found_id("group", id));
        }
        let call = Call::get(format!("/api/usergroups/{id}")).query("fields", GROUP_FIELDS);
        let g: GroupJson = self.client.json(&call, "group").await?;
        to_group(g, &call.describe())
    }

    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        let name = group.name.trim();
        if name.is_empty() {
            return Err(Error::invalid_input("a group needs a name"));
        }
        let mut body = json!({"name": name, "members": [], "memberships": []});
        if let Some(d) = group.description.as_deref().filter(|d| !d.is_empty()) {
            body["description"] = Value::from(d);
        }
        let call = Call::new(Method::POST, "/api/usergroups").json(body);
        let created: GroupJson = self.client.json(&call, "created group").await?;
        to_group(created, &call.describe())
    }

    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        if !wire::is_object_id(id) {
            return Err(not_found_id("group", id));
        }
        let mut ops = Vec::new();
        if let Some(name) = &changes.name {
            let name = name.trim();
            if name.is_empty() {
                return Err(Error::invalid_input("a group's name cannot be empty"));
            }
            ops.push(Operation::replace("/name", name));
        }
        if let Some(d) = &changes.description {
            ops.push(Operation::replace(
                "/description",
                d.clone().unwrap_or_default(),
            ));
        }
        if ops.is_empty() {
            return self.get_group(id).await;
        }
        let body = serde_json::to_value(OperationList::of(ops))
            .map_err(|e| Error::protocol(format!("cannot encode the group change: {e}")))?;
        let call = Call::new(Method::PATCH, format!("/api/usergroups/{id}"))
            .json(body)
            .idempotent();
        let g: GroupJson = self.client.json(&call, "updated group").await?;
        to_group(g, &call.describe())
    }

    /// Deletes through `DELETE /api/objects/{id}?type=34`, the call the official SDK makes
    /// for a group (the REST wrapper `DELETE /api/usergroups/{id}` is missing on some
    /// server versions).
    async fn delete_group(&self, id: &str) -> Result<()> {
        if !wire::is_object_id(id) {
            return Err(not_found_id("group", id));
        }
        // Deleting a user through this route would succeed, so make sure it is a group.
        self.get_group(id).await?;
        let call = Call::new(Method::DELETE, format!("/api/objects/{id}"))
            .query("type", wire::TYPE_USER_OR_GROUP);
        self.client.ok(&call).await
    }
}
