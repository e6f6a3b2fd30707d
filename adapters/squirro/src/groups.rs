//! Groups: the user API's `/groups` resource (form-encoded writes). Squirro groups have a
//! name and members, no description: a description given on create is not stored (the
//! returned record shows none), and changing one is unsupported.

use idbridge_core::{
    Error, ErrorKind, Group, GroupChanges, Groups, NewGroup, Page, PageRequest, Result, async_trait,
};
use reqwest::Method;

use crate::adapter::SquirroAdapter;
use crate::client::{Body, seg};
use crate::wire::{GroupsResponse, WireGroup, members_field};

/// The neutral group of a group object read from `endpoint`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] when the id or name is empty (a group is never
/// named after its id).
pub(crate) fn to_group(w: &WireGroup, endpoint: &str) -> Result<Group> {
    if w.id.trim().is_empty() {
        return Err(w.unusable(endpoint, "id", "is empty"));
    }
    if w.name.trim().is_empty() {
        return Err(w.unusable(endpoint, "name", "is empty"));
    }
    Ok(Group {
        id: w.id.clone(),
        name: w.name.clone(),
        description: None,
    })
}

/// Whether a change sets a description (clearing one is a no-op on Squirro).
fn sets_description(changes: &GroupChanges) -> bool {
    matches!(&changes.description, Some(Some(d)) if !d.trim().is_empty())
}

impl SquirroAdapter {
    pub(crate) async fn wire_groups(&self) -> Result<Vec<WireGroup>> {
        let url = self.client.user_url("/groups")?;
        let resp: GroupsResponse = self.client.get_json(&url, &[], "group list").await?;
        Ok(resp.into_groups())
    }

    pub(crate) async fn wire_group(&self, id: &str) -> Result<WireGroup> {
        let url = self.client.user_url(&format!("/groups/{}", seg(id)))?;
        self.client
            .get_json(
                &url,
                &[("include_projects".to_string(), "False".to_string())],
                "group",
            )
            .await
    }

    /// Creates a group with initial member users in one call: `POST /groups` with the
    /// form fields `name` and `members`, the latter JSON text of `[{"id": ...}]`.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::AlreadyExists`] for a taken name (as the server says),
    /// [`idbridge_core::ErrorKind::NotFound`] for an unknown user, and the usual transport
    /// and authentication errors.
    pub async fn create_group_with_members(&self, name: &str, user_ids: &[&str]) -> Result<Group> {
        if name.trim().is_empty() {
            return Err(Error::invalid_input("a group needs a name"));
        }
        let mut fields = vec![("name".to_string(), name.to_string())];
        if !user_ids.is_empty() {
            fields.push((
                "members".to_string(),
                members_field(user_ids.iter().copied()),
            ));
        }
        let url = self.client.user_url("/groups")?;
        let created: WireGroup = self
            .client
            .send_json(
                Method::POST,
                &url,
                Body::Form(fields),
                None,
                "created group",
            )
            .await?;
        to_group(&created, "POST /groups")
    }
}

#[async_trait]
impl Groups for SquirroAdapter {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        let all: Vec<Group> = self
            .wire_groups()
            .await?
            .iter()
            .map(|g| to_group(g, "GET /groups"))
            .collect::<Result<_>>()?;
        let size = all.len().max(1);
        Page::slice(all, &page, size)
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        to_group(&self.wire_group(id).await?, &format!("GET /groups/{id}"))
    }

    /// `POST /groups` with the form field `name`. A description is not sent: Squirro has
    /// nowhere to keep it.
    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        self.create_group_with_members(&group.name, &[]).await
    }

    /// `PUT /groups/{id}` with the form field `name` (the server requires it, so a change
    /// without a new name sends the current one). Members are not sent, so they stay.
    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        if sets_description(changes) {
            // A missing group is still NotFound; an existing one cannot take a description.
            self.wire_group(id).await?;
            return Err(Error::new(
                ErrorKind::Unsupported,
                "Squirro groups have no description",
            ));
        }
        let Some(name) = &changes.name else {
            return self.get_group(id).await;
        };
        if name.trim().is_empty() {
            return Err(Error::invalid_input("a group needs a name"));
        }
        let url = self.client.user_url(&format!("/groups/{}", seg(id)))?;
        let updated: WireGroup = self
            .client
            .send_json(
                Method::PUT,
                &url,
                Body::form([("name", name.as_str())]),
                None,
                "updated group",
            )
            .await?;
        to_group(&updated, &format!("PUT /groups/{id}"))
    }

    async fn delete_group(&self, id: &str) -> Result<()> {
        let url = self.client.user_url(&format!("/groups/{}", seg(id)))?;
        self.client
            .send(Method::DELETE, &url, &[], Body::None, None)
            .await
            .map(|_| ())
    }
}
