//! The [`Adapter`] trait adapters implement (with the five concept traits), the accounts
//! they protect, and paging helpers. Callers use [`crate::AdapterHandle`] instead.

use std::collections::BTreeSet;
use std::future::Future;

use async_trait::async_trait;
use serde::Serialize;

use crate::http::RequestCounts;
use crate::model::{Grant, GrantFilter, Group, Principal, Role, Session, User};
use crate::traits::{Groups, Memberships, Page, PageRequest, Roles, Sessions, Users};
use crate::{Capabilities, Error, Result};

/// Accounts and groups an adapter never modifies or deletes, whatever a plan says.
///
/// Each adapter fills it with its platform's built-ins and the connecting account. The
/// [`crate::AdapterHandle`] refuses, with [`crate::ErrorKind::PermissionDenied`]: updating,
/// disabling or deleting a protected user; removing a protected user from a group;
/// updating or deleting a protected group; adding any member to a privileged group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Protected {
    /// Protected user ids.
    pub user_ids: BTreeSet<String>,
    /// Protected group ids.
    pub group_ids: BTreeSet<String>,
    /// Privileged group ids: groups whose members administer the platform (its
    /// administrators group). Nothing is ever added to them, and the sync engine never
    /// adopts one of their members without a named override. Default: none.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub privileged_group_ids: BTreeSet<String>,
}

impl Protected {
    /// Whether a user id is protected.
    pub fn user(&self, id: &str) -> bool {
        self.user_ids.contains(id)
    }

    /// Whether a group id is protected.
    pub fn group(&self, id: &str) -> bool {
        self.group_ids.contains(id)
    }

    /// Whether a group id is privileged (membership grants administration).
    pub fn privileged_group(&self, id: &str) -> bool {
        self.privileged_group_ids.contains(id)
    }
}

/// A connected platform: its identity, what it can do, and the five concept traits.
///
/// Implementors write the traits for what their platform offers and declare it in
/// [`Adapter::capabilities`]. Construct adapters through the registry
/// ([`crate::registry::build_adapter`]), which wraps them in a [`crate::AdapterHandle`]:
/// callers call the handle, never these traits.
#[async_trait]
pub trait Adapter: Users + Groups + Memberships + Roles + Sessions + Send + Sync + 'static {
    /// The registered adapter name (`file`, ...).
    fn kind(&self) -> &'static str;

    /// What this adapter instance can do. May depend on the server (for example a version
    /// probe done at connect time), but must not change afterwards.
    fn capabilities(&self) -> Capabilities;

    /// Built-in and connecting accounts that must never be modified. Default: none.
    fn protected(&self) -> Protected {
        Protected::default()
    }

    /// Checks connectivity and credentials with one cheap read.
    ///
    /// The default reads the first user page of size 1.
    async fn check(&self) -> Result<()> {
        self.list_users(PageRequest::with_size(1)).await.map(|_| ())
    }

    /// Releases server-side resources (logs out). Default: nothing to do.
    async fn close(&self) -> Result<()> {
        Ok(())
    }

    /// Requests sent so far, for tests and benchmarks; `None` for adapters without HTTP.
    fn request_counts(&self) -> Option<RequestCounts> {
        None
    }

    /// What the adapter found out about the platform it is connected to (a server's
    /// advertised features and limits, for example), as ordered name and value pairs that
    /// `idbridge check` shows after [`Adapter::check`] succeeded. Names are short and
    /// stable (`bulk`, `filter.maxResults`); values never hold secrets. Default: none.
    fn facts(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// Convenience on top of the traits for code that holds a raw adapter (wrappers, adapter
/// tests): collect every page of a listing. Callers holding an [`crate::AdapterHandle`]
/// use its inherent `all_*` methods.
#[async_trait]
pub trait AdapterExt: Users + Groups + Memberships + Roles + Sessions {
    /// Every user.
    async fn all_users(&self) -> Result<Vec<User>> {
        collect_pages(|p| self.list_users(p)).await
    }
    /// Every group.
    async fn all_groups(&self) -> Result<Vec<Group>> {
        collect_pages(|p| self.list_groups(p)).await
    }
    /// Every direct member of a group.
    async fn all_members(&self, group: &str) -> Result<Vec<Principal>> {
        collect_pages(|p| self.list_members(group, p)).await
    }
    /// Every role.
    async fn all_roles(&self) -> Result<Vec<Role>> {
        collect_pages(|p| self.list_roles(p)).await
    }
    /// Every grant matching `filter`.
    async fn all_grants(&self, filter: &GrantFilter) -> Result<Vec<Grant>> {
        collect_pages(|p| self.list_grants(filter, p)).await
    }
    /// Every session, of one user or of everyone.
    async fn all_sessions(&self, user: Option<&str>) -> Result<Vec<Session>> {
        collect_pages(|p| self.list_sessions(user, p)).await
    }
}

impl<T: Users + Groups + Memberships + Roles + Sessions + ?Sized> AdapterExt for T {}

/// The most pages [`collect_pages`] follows before deciding the server is looping.
pub const MAX_PAGES: usize = 1_000_000;

/// Follows `next` cursors until the last page and concatenates the items.
///
/// # Errors
/// The first page error; [`crate::ErrorKind::Protocol`] when a server repeats a cursor
/// (which would otherwise loop forever).
pub async fn collect_pages<T, F, Fut>(fetch: F) -> Result<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut + Send,
    Fut: Future<Output = Result<Page<T>>> + Send,
    T: Send,
{
    let mut out = Vec::new();
    for_each_page(fetch, |items| {
        out.extend(items);
        Ok(())
    })
    .await?;
    Ok(out)
}

/// Follows `next` cursors until the last page, handing each page's items to `take` as it
/// arrives: for a caller that converts a long listing page by page instead of holding all
/// of it (as [`collect_pages`] does).
///
/// # Errors
/// The first error of `fetch` or `take`; [`crate::ErrorKind::Protocol`] when a server
/// repeats a cursor (which would otherwise loop forever) or the listing does not end
/// after [`MAX_PAGES`] pages.
pub async fn for_each_page<T, F, Fut, G>(mut fetch: F, mut take: G) -> Result<()>
where
    F: FnMut(PageRequest) -> Fut + Send,
    Fut: Future<Output = Result<Page<T>>> + Send,
    G: FnMut(Vec<T>) -> Result<()> + Send,
    T: Send,
{
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let page = fetch(PageRequest {
            cursor: cursor.clone(),
            size: None,
        })
        .await?;
        take(page.items)?;
        match page.next {
            None => return Ok(()),
            Some(next) => {
                if !seen.insert(next.clone()) {
                    return Err(Error::protocol(format!(
                        "the server returned page cursor `{next}` twice; stopping to avoid a loop"
                    )));
                }
                cursor = Some(next);
            }
        }
    }
    Err(Error::protocol(format!(
        "listing did not end after {MAX_PAGES} pages"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listing of `pages`, each page's cursor its index; `next` names the page after it.
    fn listing(
        pages: Vec<(Vec<u32>, Option<&'static str>)>,
    ) -> impl FnMut(PageRequest) -> std::future::Ready<Result<Page<u32>>> + Send {
        move |req: PageRequest| {
            let i: usize = req.cursor.as_deref().map_or(0, |c| c.parse().unwrap_or(0));
            let (items, next) = pages[i].clone();
            std::future::ready(Ok(Page {
                items,
                next: next.map(str::to_string),
            }))
        }
    }

    #[tokio::test]
    async fn hands_each_page_over_in_order_until_the_last() {
        let mut seen = Vec::new();
        for_each_page(
            listing(vec![
                (vec![1, 2], Some("1")),
                (vec![3], Some("2")),
                (vec![4], None),
            ]),
            |items| {
                seen.push(items);
                Ok(())
            },
        )
        .await
        .expect("the listing ends");
        assert_eq!(seen, vec![vec![1, 2], vec![3], vec![4]]);
        let all = collect_pages(listing(vec![(vec![1], Some("1")), (vec![2], None)]))
            .await
            .expect("the listing ends");
        assert_eq!(all, vec![1, 2]);
    }

    #[tokio::test]
    async fn a_repeated_cursor_is_a_protocol_error_not_a_loop() {
        let err = collect_pages(listing(vec![(vec![1], Some("1")), (vec![2], Some("1"))]))
            .await
            .expect_err("page 1 points at itself");
        assert_eq!(err.kind(), crate::ErrorKind::Protocol);
        assert!(err.message().contains("cursor `1` twice"), "{err}");
    }

    #[tokio::test]
    async fn an_error_of_the_taker_stops_the_listing() {
        let mut calls = 0;
        let err = for_each_page(listing(vec![(vec![1], Some("1")), (vec![2], None)]), |_| {
            calls += 1;
            Err(Error::invalid_input("refused"))
        })
        .await
        .expect_err("the first page is refused");
        assert_eq!((err.message(), calls), ("refused", 1));
    }
}
