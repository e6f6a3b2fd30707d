//! Group membership. Squirro groups contain users only: adding a member is a form POST to
//! the group itself (`user_id=...`), removing one a DELETE on `/groups/{g}/members/{u}`.

use idbridge_core::http::Idempotency;
use idbridge_core::{
    Error, ErrorKind, Membership, Memberships, Page, PageRequest, Principal, Result, async_trait,
};
use reqwest::Method;

use crate::adapter::SquirroAdapter;
use crate::client::{Body, seg};

fn user_only(member: &Principal) -> Result<&str> {
    match member {
        Principal::User(id) => Ok(id),
        Principal::Group(id) => Err(Error::invalid_input(format!(
            "group `{id}` cannot be a member: Squirro groups contain users only"
        ))),
    }
}

#[async_trait]
impl Memberships for SquirroAdapter {
    /// The group's `members` (users), from `GET /groups/{id}`.
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        let g = self.wire_group(group).await?;
        let all: Vec<Principal> = g
            .members(&format!("GET /groups/{group}"))?
            .into_iter()
            .map(|u| Principal::User(u.id))
            .collect();
        let size = all.len().max(1);
        Page::slice(all, &page, size)
    }

    /// Every group's `members`, from the one `GET /groups` listing (which carries them, as
    /// `GET /groups/{id}` does), instead of one group read per group.
    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        let mut all: Vec<Membership> = Vec::new();
        for g in self.wire_groups().await? {
            let id = g.id.clone();
            all.extend(g.members("GET /groups")?.into_iter().map(|u| Membership {
                group: id.clone(),
                member: Principal::User(u.id),
            }));
        }
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// `POST /groups/{group}` with the form field `user_id`. A 409 (already a member)
    /// counts as success.
    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        let user = user_only(member)?;
        let url = self.client.user_url(&format!("/groups/{}", seg(group)))?;
        // Adding a present member again changes nothing, so a lost answer may be repeated.
        match self
            .client
            .send(
                Method::POST,
                &url,
                &[],
                Body::form([("user_id", user)]),
                Some(Idempotency::Idempotent),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::AlreadyExists | ErrorKind::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /groups/{group}/members/{user}`. A 404 counts as success when the group
    /// exists (the user was not a member).
    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        let user = match member {
            Principal::User(id) => id,
            // A group is never a member of a Squirro group, so there is nothing to remove.
            Principal::Group(_) => {
                self.wire_group(group).await?;
                return Ok(());
            }
        };
        let url = self
            .client
            .user_url(&format!("/groups/{}/members/{}", seg(group), seg(user)))?;
        match self
            .client
            .send(Method::DELETE, &url, &[], Body::None, None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.wire_group(group).await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
