//! Users (RFC 7644 §3.3 create, §3.4.1 get, §3.4.2 list and filter, §3.5.1 replace,
//! §3.5.2 patch, §3.6 delete).

use idbridge_core::{
    Error, ErrorKind, NewUser, Page, PageRequest, Result, User, UserChanges, UserWrite,
    UserWriteResult, Users, async_trait,
};
use reqwest::Method;
use serde_json::Value;

use crate::adapter::ScimAdapter;
use crate::client::seg;
use crate::mapping::{new_user_body, replaced_user_body, user_from_scim, user_patch};
use crate::wire::{ListResponse, PatchOp, UserResource, filter_string};

/// One page of users, `startIndex` being the cursor plus one (RFC 7644 §3.4.2.4).
pub(crate) async fn list(a: &ScimAdapter, page: PageRequest) -> Result<Page<User>> {
    let offset = page.offset()?;
    let count = a.count(&page).await?;
    let list: ListResponse<UserResource> = a
        .client
        .get(
            "/Users",
            &[
                ("startIndex", (offset + 1).to_string()),
                ("count", count.to_string()),
            ],
            "a list of users",
        )
        .await?;
    let users = list
        .resources
        .iter()
        .map(|r| checked(r).map(|r| user_from_scim(r, &a.attributes)))
        .collect::<Result<Vec<_>>>()?;
    Ok(next_page(users, offset, list.total_results))
}

/// A page and its successor's cursor: there is one while the results so far fall short of
/// `totalResults` (a server may return fewer than asked, RFC 7644 §3.4.2.4).
pub(crate) fn next_page<T>(items: Vec<T>, offset: usize, total: u64) -> Page<T> {
    let end = offset + items.len();
    let next = (!items.is_empty() && (end as u64) < total).then(|| end.to_string());
    Page { items, next }
}

/// A user from a server must have an id and a userName.
fn checked(r: &UserResource) -> Result<&UserResource> {
    match &r.id {
        Some(id) if !id.is_empty() && !r.user_name.is_empty() => Ok(r),
        _ => Err(Error::protocol(
            "the SCIM service provider returned a user without `id` or `userName`",
        )),
    }
}

pub(crate) async fn read(a: &ScimAdapter, id: &str) -> Result<UserResource> {
    let r: UserResource = a
        .client
        .get(&format!("/Users/{}", seg(id)), &[], "a user")
        .await?;
    checked(&r)?;
    Ok(r)
}

/// The user with this login: a `userName eq` filter where the server filters, else a scan
/// of every page.
///
/// # Errors
/// Whatever reading failed with.
pub async fn find_by_login(a: &ScimAdapter, login: &str) -> Result<Option<User>> {
    if a.features().await?.filter {
        let list: ListResponse<UserResource> = a
            .client
            .get(
                "/Users",
                &[("filter", format!("userName eq {}", filter_string(login)))],
                "a filtered list of users",
            )
            .await?;
        for r in &list.resources {
            checked(r)?;
        }
        return Ok(list
            .resources
            .iter()
            .find(|r| r.user_name.eq_ignore_ascii_case(login))
            .map(|r| user_from_scim(r, &a.attributes)));
    }
    let mut page = PageRequest::first();
    loop {
        let got = list(a, page.clone()).await?;
        if let Some(u) = got
            .items
            .into_iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
        {
            return Ok(Some(u));
        }
        match got.next {
            Some(next) if Some(&next) != page.cursor.as_ref() => page.cursor = Some(next),
            _ => return Ok(None),
        }
    }
}

/// Changes a user: a PATCH where the server supports it, else a PUT of the whole resource
/// read just before; with `If-Match` where the server keeps versions. A 412 (the user
/// changed in between) reads it again and tries once more, then fails as a conflict.
pub(crate) async fn modify(
    a: &ScimAdapter,
    id: &str,
    changes: &UserChanges,
    enabled: Option<bool>,
) -> Result<User> {
    let features = a.features().await?;
    let path = format!("/Users/{}", seg(id));
    for attempt in 1..=2 {
        let current = read(a, id).await?;
        let tag = features
            .etag
            .then(|| current.version().map(str::to_string))
            .flatten();
        let sent = if features.patch {
            let ops = user_patch(&current, changes, enabled, &a.attributes);
            if ops.is_empty() {
                return Ok(user_from_scim(&current, &a.attributes));
            }
            let body = serde_json::to_value(PatchOp::new(ops)).unwrap_or(Value::Null);
            // Every operation replaces or removes a value: sending it twice is harmless.
            a.client
                .write(Method::PATCH, &path, Some(body), tag, true)
                .await
        } else {
            let body = replaced_user_body(&current, changes, enabled, &a.attributes);
            a.client
                .write(Method::PUT, &path, Some(body), tag, true)
                .await
        };
        match sent {
            Ok(w) => {
                return match w.body.map(serde_json::from_value::<UserResource>) {
                    Some(Ok(r)) if checked(&r).is_ok() => Ok(user_from_scim(&r, &a.attributes)),
                    // 204, or an answer that is not the user: read what is there now.
                    _ => read(a, id).await.map(|r| user_from_scim(&r, &a.attributes)),
                };
            }
            Err(e) if e.http_status() == Some(412) && attempt == 1 => {
                tracing::debug!(
                    adapter = crate::ADAPTER_NAME,
                    "user changed on the server meanwhile; reading it again"
                );
            }
            Err(e) if e.http_status() == Some(412) => {
                return Err(Error::conflict(format!(
                    "user `{id}` changed on the SCIM service provider while it was being updated, twice; nothing was written"
                ))
                .with_http_status(412)
                .with_vendor(e.vendor_code(), e.vendor_message()));
            }
            Err(e) if e.kind() == ErrorKind::Conflict && e.http_status() == Some(409) => {
                return Err(e.with_kind(ErrorKind::AlreadyExists));
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::conflict(format!("user `{id}` could not be updated")))
}

#[async_trait]
impl Users for ScimAdapter {
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        list(self, page).await
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        read(self, id)
            .await
            .map(|r| user_from_scim(&r, &self.attributes))
    }

    async fn create_user(&self, user: &NewUser) -> Result<User> {
        let body = new_user_body(user, &self.attributes);
        match self.client.write(Method::POST, "/Users", Some(body), None, false).await {
            Ok(w) => match w.body.map(serde_json::from_value::<UserResource>) {
                Some(Ok(r)) if checked(&r).is_ok() => Ok(user_from_scim(&r, &self.attributes)),
                _ => find_by_login(self, &user.login).await?.ok_or_else(|| {
                    Error::protocol(format!(
                        "the SCIM service provider accepted user `{}` but returned no user, and none is found by that userName",
                        user.login
                    ))
                }),
            },
            // The create may have happened: look for the user, so that the outcome is known.
            Err(e) if e.is_outcome_unknown() => match find_by_login(self, &user.login).await {
                Ok(Some(found)) => Ok(found),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        modify(self, id, changes, None).await
    }

    async fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<User> {
        modify(self, id, &UserChanges::default(), Some(enabled)).await
    }

    /// Creates and deletes go to `/Bulk` where the server advertises it (see "Bulk
    /// writes" in the crate's README); the rest one by one.
    async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        crate::bulk::write_users(self, batch).await
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        self.client
            .write(
                Method::DELETE,
                &format!("/Users/{}", seg(id)),
                None,
                None,
                true,
            )
            .await
            .map(drop)
    }
}
