//! User connections, as the sessions monitor shows them.
//!
//! Connections live on cluster nodes: the adapter lists the nodes
//! (`GET /api/monitors/iServer/nodes`), then pages `GET /api/monitors/userConnections`
//! with `clusterNode` on every running node. A page cursor is `<offset>:<node name>`.
//! Connections name their user by login only, so the adapter resolves logins to user ids.
//!
//! Revocation uses the bulk `POST /api/monitors/deleteUserConnections` (server 11.3.1 and
//! later), whose answer is 200 (all ended), 207 (some) or 403 without an error code (none),
//! each with a status per connection. Servers without it (404 or 405 on that path) get one
//! `DELETE /api/monitors/userConnections/{id}` per connection instead.

use std::sync::atomic::Ordering;

use idbridge_core::{Error, ErrorKind, Page, PageRequest, Result, Session, Sessions, http};
use reqwest::Method;
use serde_json::json;

use crate::adapter::StrategyAdapter;
use crate::client::Call;
use crate::error::{VendorError, map_error};
use crate::wire::{self, ConnectionJson, DisconnectResult, DisconnectStatus, ObjectJson};

/// How one connection fared in a disconnect request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ended,
    AlreadyGone,
    Refused,
}

fn outcome_of(status: Option<i64>) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Ended,
        Some(404) | Some(410) => Outcome::AlreadyGone,
        _ => Outcome::Refused,
    }
}

impl StrategyAdapter {
    /// The names of the running cluster nodes.
    async fn running_nodes(&self) -> Result<Vec<String>> {
        let nodes: wire::Nodes = self
            .client
            .json(&Call::get("/api/monitors/iServer/nodes"), "cluster nodes")
            .await?;
        Ok(nodes
            .nodes
            .into_iter()
            .filter(wire::NodeJson::is_running)
            .filter_map(|n| n.name)
            .filter(|n| !n.is_empty())
            .collect())
    }

    fn connections_call(node: &str) -> Call {
        Call::get("/api/monitors/userConnections").query("clusterNode", node)
    }

    /// Every connection on every running node.
    async fn all_connections(&self) -> Result<Vec<(String, ConnectionJson)>> {
        let mut out = Vec::new();
        for node in self.running_nodes().await? {
            let conns: Vec<ConnectionJson> = self
                .client
                .all(
                    Self::connections_call(&node),
                    Some("userConnections"),
                    "user connections",
                )
                .await?;
            out.extend(conns.into_iter().map(|c| (node.clone(), c)));
        }
        Ok(out)
    }

    /// A user's login, by id.
    async fn login_of(&self, user_id: &str) -> Result<String> {
        let u = self.user_json(user_id).await?;
        u.login()
            .map(str::to_string)
            .ok_or_else(|| Error::protocol(format!("user `{user_id}` has no login")))
    }

    /// A user's id, by login (`GET /api/users?abbreviationBegins=`), kept for the rest of
    /// the listing (a listing's first page starts afresh); empty when no user has that
    /// login any more.
    async fn user_id_of(&self, login: &str) -> Result<String> {
        if let Some(id) = self.user_ids_by_login.lock().await.get(login) {
            return Ok(id.clone());
        }
        let candidates: Vec<ObjectJson> = self
            .client
            .list(
                &Call::get("/api/users").query("abbreviationBegins", login),
                "user search",
            )
            .await?;
        let exact = candidates
            .iter()
            .find(|u| u.login() == Some(login))
            .or_else(|| {
                candidates
                    .iter()
                    .find(|u| u.login().is_some_and(|l| l.eq_ignore_ascii_case(login)))
            })
            .map(|u| u.id.clone())
            .unwrap_or_default();
        if !exact.is_empty() {
            self.user_ids_by_login
                .lock()
                .await
                .insert(login.to_string(), exact.clone());
        }
        Ok(exact)
    }

    async fn to_session(
        &self,
        node: &str,
        c: ConnectionJson,
        user_id: Option<&str>,
    ) -> Result<Session> {
        let login = c.username.value().cloned().filter(|l| !l.is_empty());
        let user = match (user_id, &login) {
            (Some(id), _) => id.to_string(),
            (None, Some(l)) => self.user_id_of(l).await?,
            (None, None) => String::new(),
        };
        let client = match (c.client.filter(|s| !s.is_empty()), c.application_type) {
            (Some(cl), Some(app)) if !app.is_empty() => Some(format!("{cl} ({app})")),
            (Some(cl), _) => Some(cl),
            (None, app) => app.filter(|a| !a.is_empty()),
        };
        Ok(Session {
            id: c.id,
            user,
            login,
            started: c
                .date_connection_created
                .as_deref()
                .and_then(wire::parse_timestamp),
            last_activity: c
                .date_last_job_submitted
                .as_deref()
                .and_then(wire::parse_timestamp),
            client,
            node: Some(node.to_string()),
        })
    }

    /// Ends connections, in bulk where the server can; returns each id's outcome.
    async fn disconnect(&self, ids: &[String]) -> Result<Vec<(String, Outcome)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if !self.no_bulk_disconnect.load(Ordering::Relaxed) {
            match self.disconnect_bulk(ids).await {
                Err(e) if e.kind() == ErrorKind::Unsupported => {
                    self.no_bulk_disconnect.store(true, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let call = Call::new(
                Method::DELETE,
                format!("/api/monitors/userConnections/{}", encode_segment(id)),
            );
            let outcome = match self.client.ok(&call).await {
                Ok(()) => Outcome::Ended,
                Err(e) if e.kind() == ErrorKind::NotFound => Outcome::AlreadyGone,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::PermissionDenied | ErrorKind::Unavailable
                    ) && e.http_status().is_some() =>
                {
                    Outcome::Refused
                }
                Err(e) => return Err(e),
            };
            out.push((id.clone(), outcome));
        }
        Ok(out)
    }

    async fn disconnect_bulk(&self, ids: &[String]) -> Result<Vec<(String, Outcome)>> {
        let call = Call::new(Method::POST, "/api/monitors/deleteUserConnections")
            .json(json!({"userConnectionIds": ids}))
            .idempotent();
        let answer = self.client.send_accepting(&call, &[207, 403]).await?;
        let status = answer.status.as_u16();
        let body = answer.body;
        if status == 403 && VendorError::parse(&body).code.is_some() {
            // A 403 with an error code is a refusal of the request itself (a missing
            // privilege), not the "nothing was disconnected" answer.
            return Err(map_error(status, &body, None));
        }
        let result: DisconnectResult = http::parse_json(&body, "bulk disconnect")?;
        let statuses: Vec<DisconnectStatus> = result.delete_user_connections_status;
        Ok(ids
            .iter()
            .map(|id| {
                let entry = statuses.iter().find(|s| &s.id == id);
                let outcome = match entry {
                    Some(s) => outcome_of(s.status),
                    // No entry for an id: trust the overall status.
                    None if status == 200 => Outcome::Ended,
                    None => Outcome::Refused,
                };
                (id.clone(), outcome)
            })
            .collect())
    }
}

/// Connection ids contain `:` and base64 (`+`, `/`, `=`): encode them as one path segment.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[idbridge_core::async_trait]
impl Sessions for StrategyAdapter {
    async fn list_sessions(&self, user: Option<&str>, page: PageRequest) -> Result<Page<Session>> {
        if page.cursor.is_none() {
            // A login may have been deleted and given to a new user since the last listing:
            // its connections are the new user's.
            self.user_ids_by_login.lock().await.clear();
        }
        let login = match user {
            Some(id) => Some(self.login_of(id).await?),
            None => None,
        };
        let nodes = self.running_nodes().await?;
        let (offset, node_idx) = match &page.cursor {
            None => (0usize, 0usize),
            Some(c) => {
                let (off, node) = c.split_once(':').ok_or_else(|| {
                    Error::invalid_input(format!("page cursor `{c}` is not `<offset>:<node>`"))
                })?;
                let off: usize = off.parse().map_err(|_| {
                    Error::invalid_input(format!("page cursor `{c}` has no numeric offset"))
                })?;
                let idx = nodes.iter().position(|n| n == node).ok_or_else(|| {
                    Error::conflict(format!(
                        "cluster node `{node}` is no longer running; list the sessions again"
                    ))
                })?;
                (off, idx)
            }
        };
        let Some(node) = nodes.get(node_idx) else {
            return Ok(Page::last(Vec::new()));
        };
        let limit = self.page_size(&page);
        let got = self
            .client
            .page::<ConnectionJson>(
                Self::connections_call(node),
                offset,
                limit,
                Some("userConnections"),
                "user connections",
            )
            .await?;
        let count = got.items.len();
        let end = offset + count;
        let more_here = match got.total {
            Some(total) => count > 0 && (end as u64) < total,
            None => count >= limit,
        };
        let next = if more_here {
            Some(format!("{end}:{node}"))
        } else {
            nodes.get(node_idx + 1).map(|n| format!("0:{n}"))
        };
        let mut items = Vec::new();
        for c in got.items {
            match &login {
                Some(l) if c.username.value() != Some(l) => continue,
                Some(_) => items.push(self.to_session(node, c, user).await?),
                None => items.push(self.to_session(node, c, None).await?),
            }
        }
        Ok(Page { items, next })
    }

    async fn revoke_session(&self, id: &str) -> Result<()> {
        let outcome = self.disconnect(&[id.to_string()]).await?;
        match outcome.first().map(|(_, o)| *o) {
            Some(Outcome::Ended | Outcome::AlreadyGone) | None => Ok(()),
            Some(Outcome::Refused) => Err(Error::permission_denied(format!(
                "the server refused to end connection `{id}` (for example the connecting account's own)"
            ))),
        }
    }

    async fn revoke_user_sessions(&self, user: &str) -> Result<u64> {
        let login = self.login_of(user).await?;
        let mut ids: Vec<String> = Vec::new();
        for (node, c) in self.all_connections().await? {
            // A connection whose owner cannot be read might be this user's: revoking
            // must not report success past it.
            let endpoint = format!("GET /api/monitors/userConnections?clusterNode={node}");
            let origin = wire::Origin::new(&endpoint, "user connection", &c.id);
            if origin.require_text("username", &c.username)? == login {
                ids.push(c.id);
            }
        }
        let outcomes = self.disconnect(&ids).await?;
        let ended = outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::Ended)
            .count() as u64;
        let refused: Vec<&str> = outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::Refused)
            .map(|(id, _)| id.as_str())
            .collect();
        if refused.is_empty() {
            Ok(ended)
        } else {
            Err(Error::permission_denied(format!(
                "ended {ended} of {} connections of `{login}`; the server refused: {}",
                ids.len(),
                refused.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        assert_eq!(outcome_of(Some(200)), Outcome::Ended);
        assert_eq!(outcome_of(Some(204)), Outcome::Ended);
        assert_eq!(outcome_of(Some(404)), Outcome::AlreadyGone);
        assert_eq!(outcome_of(Some(403)), Outcome::Refused);
        assert_eq!(outcome_of(None), Outcome::Refused);
    }

    #[test]
    fn connection_ids_are_one_segment() {
        assert_eq!(
            encode_segment("C1098775:-1:aG9zdC8x+=="),
            "C1098775:-1:aG9zdC8x%2B%3D%3D"
        );
    }
}
