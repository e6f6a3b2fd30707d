//! Sessions. Squirro addresses a session under its user
//! (`/users/{user}/sessions/{session}`) and offers no listing, so the neutral session id
//! is `<user id>/<session id>`. Grants (long-lived refresh tokens) share that resource and
//! are listable per user: revoking all of a user's sessions deletes every grant the
//! grant listing shows.

use idbridge_core::{Error, ErrorKind, Result, Session, Sessions, async_trait};
use reqwest::Method;
use serde_json::Value;

use crate::adapter::SquirroAdapter;
use crate::client::{Body, seg};
use crate::wire::{GrantsResponse, WireSession, parse_time};

/// The neutral id of session `session` of user `user`.
pub fn session_id(user: &str, session: &str) -> String {
    format!("{user}/{session}")
}

/// Splits a neutral session id into user id and Squirro session id.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] when the id is not `<user id>/<session id>`.
pub fn split_session_id(id: &str) -> Result<(&str, &str)> {
    match id.split_once('/') {
        Some((u, s)) if !u.is_empty() && !s.is_empty() && !s.contains('/') => Ok((u, s)),
        _ => Err(Error::invalid_input(format!(
            "`{id}` is not a Squirro session id; expected `<user id>/<session id>` (Squirro addresses sessions under their user)"
        ))),
    }
}

impl SquirroAdapter {
    fn session_url(&self, user: &str, session: &str) -> Result<String> {
        self.client
            .user_url(&format!("/users/{}/sessions/{}", seg(user), seg(session)))
    }

    /// One session: `GET /users/{user}/sessions/{session}`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown user or session, and the usual transport and
    /// authentication errors.
    pub async fn get_session(&self, user: &str, session: &str) -> Result<Session> {
        let url = self.session_url(user, session)?;
        let raw: Value = self.client.get_json(&url, &[], "session").await?;
        // The shape is undocumented: read what is there and fall back to the path.
        let w: WireSession = serde_json::from_value(raw).unwrap_or_default();
        let sid = w.id.unwrap_or_else(|| session.to_string());
        let uid = w.user_id.unwrap_or_else(|| user.to_string());
        Ok(Session {
            id: session_id(&uid, &sid),
            user: uid,
            login: None,
            started: w.created_at.as_deref().and_then(parse_time),
            last_activity: w.last_activity.as_deref().and_then(parse_time),
            client: w.client_id.or(w.kind),
            node: None,
        })
    }

    /// Deletes one session or grant; a 404 (already gone) counts as success.
    async fn delete_session(&self, user: &str, session: &str) -> Result<bool> {
        let url = self.session_url(user, session)?;
        match self
            .client
            .send(Method::DELETE, &url, &[], Body::None, None)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The ids of a user's grants: `GET /users/{user}/grants` (with the client
    /// credentials as query parameters when configured).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown user, and the usual transport and
    /// authentication errors.
    pub async fn grant_ids(&self, user: &str) -> Result<Vec<String>> {
        let url = self
            .client
            .user_url(&format!("/users/{}/grants", seg(user)))?;
        let resp: GrantsResponse = self
            .client
            .get_json(&url, &self.client.client_credentials(), "grant list")
            .await?;
        Ok(resp.into_grants().into_iter().map(|g| g.id).collect())
    }
}

#[async_trait]
impl Sessions for SquirroAdapter {
    /// `DELETE /users/{user}/sessions/{session}` for an id `<user>/<session>`. Sessions of
    /// the connecting account are refused: one of them carries idbridge's own token.
    async fn revoke_session(&self, id: &str) -> Result<()> {
        let (user, session) = split_session_id(id)?;
        self.refuse_connecting_user(user, "revokes sessions of")?;
        self.delete_session(user, session).await.map(|_| ())
    }

    /// Deletes every grant of the user (each a session resource) and returns how many were
    /// deleted. Sessions that the grant listing does not show cannot be reached.
    async fn revoke_user_sessions(&self, user: &str) -> Result<u64> {
        self.refuse_connecting_user(user, "revokes sessions of")?;
        let mut count = 0;
        for grant in self.grant_ids(user).await? {
            if self.delete_session(user, &grant).await? {
                count += 1;
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_round_trip_and_bad_ones_are_named() {
        let id = session_id("U1", "S1");
        assert_eq!(split_session_id(&id).expect("valid"), ("U1", "S1"));
        for bad in ["S1", "/S1", "U1/", "U1/S1/x"] {
            let err = split_session_id(bad).expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.message().contains(bad));
        }
    }
}
