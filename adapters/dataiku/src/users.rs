//! Users: `/admin/users/...`.
//!
//! The id of a DSS user is its login, which DSS cannot change. Updates read the whole
//! settings document, change only what the neutral model owns (`displayName`, `email`,
//! `enabled`, the string entries of the attributes object) and write the whole document
//! back, so everything else (profile, groups, secrets, credentials, preferences, fields a
//! newer DSS adds) survives untouched. Updates of one user are serialized in this process.
//!
//! Batches go through the bulk endpoints when the server has them (DSS 14.2+): consecutive
//! writes of one kind on distinct users become one request, and the per-login results are
//! mapped back to each write. Otherwise each write is its own request.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use idbridge_core::{
    Error, ErrorKind, NewUser, Page, PageRequest, Result, User, UserActivity, UserChanges,
    UserWrite, UserWriteResult, Users, async_trait,
};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::adapter::{DataikuAdapter, user_key};
use crate::client::ApiPath;
use crate::error::map_bulk_failure;
use crate::wire::{
    Activity, BulkItem, Doc, set_string_props, str_field, to_user, user_doc_is_complete,
};

const USERS: &[&str] = &["admin", "users"];
/// How many times a list with an unusable item is read.
pub(crate) const LIST_READ_ATTEMPTS: u32 = 3;
const BULK: &[&str] = &["admin", "users", "actions", "bulk"];
/// The source type of accounts DSS itself authenticates with a password.
pub(crate) const LOCAL_SOURCE: &str = "LOCAL";
/// The user listing, as errors name it.
pub(crate) const USER_LIST: &str = "GET /admin/users/";

fn rename_unsupported(id: &str, to: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("DSS cannot change a login (`{id}` to `{to}`): create a new user instead"),
    )
    .with_resource(id)
}

/// Applies neutral changes to a settings document; returns whether anything changed.
fn apply_changes(doc: &mut Doc, changes: &UserChanges, attributes_key: &str) -> bool {
    let before = doc.clone();
    if let Some(email) = &changes.email {
        doc.insert(
            "email".into(),
            email.clone().map_or(Value::Null, Value::String),
        );
    }
    if let Some(name) = &changes.display_name {
        doc.insert(
            "displayName".into(),
            Value::String(name.clone().unwrap_or_default()),
        );
    }
    if let Some(attrs) = &changes.attributes {
        set_string_props(doc, attributes_key, attrs);
    }
    *doc != before
}

impl DataikuAdapter {
    /// `GET /admin/users/{login}`: the whole settings document.
    pub(crate) async fn user_doc(&self, login: &str) -> Result<Doc> {
        self.client
            .get_json(
                ApiPath::new(&["admin", "users", login]),
                &[],
                "user settings",
            )
            .await
    }

    /// The settings document of `login`, read for a read-modify-write.
    pub(crate) async fn user_doc_for_update(&self, login: &str) -> Result<Doc> {
        self.read_for_update(ApiPath::new(&["admin", "users", login]), "user settings")
            .await
    }

    /// `PUT /admin/users/{login}` with the whole settings document.
    pub(crate) async fn put_user_doc(&self, login: &str, doc: &Doc) -> Result<()> {
        self.client
            .put_document(
                ApiPath::new(&["admin", "users", login]),
                &Value::Object(doc.clone()),
                "user save",
            )
            .await
    }

    /// `GET /admin/users/` (asking for settings, which servers before 14.2 ignore).
    pub(crate) async fn user_list(&self) -> Result<Vec<Doc>> {
        self.client
            .get_json(
                ApiPath::dir(USERS),
                &[("includeSettings", "true")],
                "user list",
            )
            .await
    }

    /// `GET /admin/users/` without settings: logins and `groups`, enough for memberships.
    pub(crate) async fn user_list_plain(&self) -> Result<Vec<Doc>> {
        self.client
            .get_json(
                ApiPath::dir(USERS),
                &[("includeSettings", "false")],
                "user list",
            )
            .await
    }

    /// Every user's settings: the list, completed by one read per item that lacks what the
    /// neutral record needs (older servers list users without settings).
    pub(crate) async fn user_docs(&self) -> Result<Vec<Doc>> {
        let key = self.attributes_key();
        let mut docs = self.user_list().await?;
        for doc in &mut docs {
            if user_doc_is_complete(doc, key) {
                continue;
            }
            let Some(login) = doc.get("login").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            match self.user_doc(&login).await {
                Ok(full) => *doc = full,
                // Deleted between the list and the read: leave it out below.
                Err(e) if e.kind() == ErrorKind::NotFound => doc.clear(),
                Err(e) => return Err(e),
            }
        }
        docs.retain(|d| !d.is_empty());
        Ok(docs)
    }

    /// [`DataikuAdapter::user_docs`] shared with the concurrent callers that need it at the
    /// same moment; never an answer whose request left before this call (see
    /// [`crate::shared`]).
    pub(crate) async fn user_docs_shared(&self) -> Result<Arc<Vec<Doc>>> {
        self.shared_user_docs.read(|| self.user_docs()).await
    }

    /// [`DataikuAdapter::user_list_plain`], shared as [`DataikuAdapter::user_docs_shared`].
    pub(crate) async fn user_list_plain_shared(&self) -> Result<Arc<Vec<Doc>>> {
        self.shared_user_list.read(|| self.user_list_plain()).await
    }

    /// [`DataikuAdapter::user_docs`] read until two consecutive answers agree (with
    /// `verify_reads`).
    async fn user_docs_for_update(&self) -> Result<Vec<Doc>> {
        let mut previous = self.user_docs().await?;
        if !self.cfg.verify_reads {
            return Ok(previous);
        }
        for _ in 0..3 {
            let next = self.user_docs().await?;
            if next == previous {
                return Ok(next);
            }
            previous = next;
        }
        Err(Error::protocol(
            "the user list read differently 3 times in a row; not changing users from it",
        ))
    }

    /// Fails with [`ErrorKind::AlreadyExists`] when `login` exists. DSS documents no error
    /// for duplicate creates, so existence is checked first.
    async fn ensure_user_absent(&self, login: &str) -> Result<()> {
        match self.user_doc(login).await {
            Ok(_) => Err(Error::already_exists(format!(
                "a DSS user with login `{login}` already exists"
            ))
            .with_resource(login)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The create body for `POST /admin/users/` (and each item of a bulk create).
    /// The `POST /admin/users/` body, as the official client's `create_user` sends it.
    ///
    /// How the account signs in follows the configured `source_type`: a `LOCAL` account
    /// (DSS checks its password) gets the password given, else a random one nobody sees
    /// ([`idbridge_core::account::random_password`]), so it is never loginable with a
    /// blank or guessable one; any other source type (`LDAP`, `LOCAL_NO_AUTH` for single
    /// sign-on, `AZURE_AD`, `CUSTOM`, ...) binds it to the company's sign-in, and the
    /// password is left out as the official client leaves it for them.
    fn create_body(&self, user: &NewUser) -> Value {
        let password = if self.cfg.source_type.eq_ignore_ascii_case(LOCAL_SOURCE) {
            let given = user
                .password
                .clone()
                .filter(|p| !p.expose().trim().is_empty());
            Some(given.unwrap_or_else(idbridge_core::account::random_password))
        } else {
            None
        };
        json!({
            "login": user.login,
            "password": password.as_ref().map(|p| p.expose().to_string()),
            "displayName": user.display_name.clone().unwrap_or_default(),
            "sourceType": self.cfg.source_type,
            "groups": [],
            "userProfile": self.cfg.user_profile,
            "email": user.email,
        })
    }

    fn check_new_user(user: &NewUser) -> Result<()> {
        if user.login.trim().is_empty() || user.login.contains('/') {
            return Err(Error::invalid_input(format!(
                "`{}` is not a usable DSS login",
                user.login
            )));
        }
        Ok(())
    }

    /// Applies what `POST /admin/users/` does not take (enabled, attributes) with one
    /// read-modify-write; returns the settings.
    async fn finish_create(&self, user: &NewUser) -> Result<Doc> {
        let _guard = self.locks.lock(&user_key(&user.login)).await;
        let mut doc = self.user_doc_for_update(&user.login).await?;
        let mut changed = false;
        if doc.get("enabled").and_then(Value::as_bool) != Some(user.enabled) {
            doc.insert("enabled".into(), Value::Bool(user.enabled));
            changed = true;
        }
        if !user.attributes.is_empty() {
            let changes = UserChanges {
                attributes: Some(user.attributes.clone()),
                ..UserChanges::default()
            };
            changed |= apply_changes(&mut doc, &changes, self.attributes_key());
        }
        if changed {
            self.put_user_doc(&user.login, &doc).await?;
        }
        Ok(doc)
    }

    async fn set_enabled_doc(&self, id: &str, enabled: bool) -> Result<Doc> {
        let _guard = self.locks.lock(&user_key(id)).await;
        let mut doc = self.user_doc_for_update(id).await?;
        if doc.get("enabled").and_then(Value::as_bool) != Some(enabled) {
            doc.insert("enabled".into(), Value::Bool(enabled));
            self.put_user_doc(id, &doc).await?;
        }
        Ok(doc)
    }

    async fn one_by_one(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        let mut out = Vec::with_capacity(batch.len());
        for write in batch {
            out.push(match write {
                UserWrite::Create { user } => self.create_user(&user).await.map(Some),
                UserWrite::Update { id, changes } => {
                    self.update_user(&id, &changes).await.map(Some)
                }
                UserWrite::SetEnabled { id, enabled } => {
                    self.set_user_enabled(&id, enabled).await.map(Some)
                }
                UserWrite::Delete { id } => self.delete_user(&id).await.map(|()| None),
            });
        }
        out
    }
}

/// The bulk request a write belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BulkKind {
    Create,
    Edit,
    Delete,
}

fn bulk_kind(w: &UserWrite) -> BulkKind {
    match w {
        UserWrite::Create { .. } => BulkKind::Create,
        UserWrite::Update { .. } | UserWrite::SetEnabled { .. } => BulkKind::Edit,
        UserWrite::Delete { .. } => BulkKind::Delete,
    }
}

/// Cuts a batch into runs of one kind on distinct logins, at most `max` long, keeping the
/// order: a run never holds two writes of one user, so their order is kept too.
fn chunks(batch: &[UserWrite], max: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut logins: HashSet<&str> = HashSet::new();
    for (i, w) in batch.iter().enumerate() {
        let same_kind = i > start && bulk_kind(&batch[start]) == bulk_kind(w);
        let fits = i - start < max && !logins.contains(w.resource());
        if i > start && !(same_kind && fits) {
            out.push(start..i);
            start = i;
            logins.clear();
        }
        logins.insert(w.resource());
    }
    if start < batch.len() {
        out.push(start..batch.len());
    }
    out
}

impl DataikuAdapter {
    /// Sends one bulk request and returns the items by login. A 404 or 405 before any bulk
    /// request was answered marks the endpoints missing ([`crate::bulk::BulkSupport`]):
    /// callers then find [`DataikuAdapter::uses_bulk`] false and send the writes one by one.
    pub(crate) async fn bulk_call(
        &self,
        method: Method,
        body: Value,
        query: &[(&str, &str)],
    ) -> Result<HashMap<String, BulkItem>> {
        let answer = self
            .client
            .call(method, ApiPath::new(BULK), query, Some(&body), None)
            .await;
        self.bulk.record(&answer);
        let bytes = answer?;
        let items: Vec<BulkItem> = idbridge_core::http::parse_json(&bytes, "bulk user result")?;
        Ok(items.into_iter().map(|i| (i.login.clone(), i)).collect())
    }

    /// One run of a batch through a bulk endpoint. Writes the server cannot act on (a
    /// duplicate login, a missing user) are answered here without being sent. `None` when
    /// the request showed the endpoint missing: nothing was written.
    async fn bulk_run(&self, run: &[UserWrite]) -> Option<Vec<UserWriteResult>> {
        let mut results: Vec<Option<UserWriteResult>> = vec![None; run.len()];
        let logins: Vec<String> = run.iter().map(|w| w.resource().to_string()).collect();
        let keys: Vec<String> = logins.iter().map(|l| user_key(l)).collect();
        let _guards = self.locks.lock_all(&keys).await;
        // Attribute updates rewrite the whole properties object from what was read, so that
        // read must be trustworthy.
        let rewrites = run.iter().any(
            |w| matches!(w, UserWrite::Update { changes, .. } if changes.attributes.is_some()),
        );
        let listed = if rewrites {
            self.user_docs_for_update().await.map(Arc::new)
        } else {
            self.user_docs_shared().await
        };
        let listed = match listed {
            Ok(docs) => docs,
            Err(e) => return Some(run.iter().map(|_| Err(e.clone())).collect()),
        };
        let existing: HashMap<&str, &Doc> = listed
            .iter()
            .filter_map(|d| d.get("login").and_then(Value::as_str).map(|l| (l, d)))
            .collect();
        let kind = bulk_kind(&run[0]);
        let mut body = Vec::new();
        let mut sent = Vec::new();
        for (i, w) in run.iter().enumerate() {
            let login = w.resource();
            match w {
                UserWrite::Create { user } => {
                    if let Err(e) = Self::check_new_user(user) {
                        results[i] = Some(Err(e));
                    } else if existing.contains_key(login) {
                        results[i] = Some(Err(Error::already_exists(format!(
                            "a DSS user with login `{login}` already exists"
                        ))
                        .with_resource(login)));
                    } else {
                        body.push(self.create_body(user));
                        sent.push(i);
                    }
                }
                UserWrite::Update { id, changes } => {
                    if let Some(to) = changes.login.as_ref().filter(|l| *l != id) {
                        results[i] = Some(Err(rename_unsupported(id, to)));
                        continue;
                    }
                    let Some(doc) = existing.get(id.as_str()) else {
                        results[i] = Some(Err(missing_user(id)));
                        continue;
                    };
                    let mut after = (*doc).clone();
                    apply_changes(&mut after, changes, self.attributes_key());
                    body.push(partial_edit(id, doc, &after));
                    sent.push(i);
                }
                UserWrite::SetEnabled { id, enabled } => {
                    if !existing.contains_key(id.as_str()) {
                        results[i] = Some(Err(missing_user(id)));
                        continue;
                    }
                    body.push(json!({"login": id, "enabled": enabled}));
                    sent.push(i);
                }
                UserWrite::Delete { id } => {
                    if !existing.contains_key(id.as_str()) {
                        results[i] = Some(Err(missing_user(id)));
                        continue;
                    }
                    body.push(Value::String(id.clone()));
                    sent.push(i);
                }
            }
        }
        if !sent.is_empty() {
            let (method, query): (Method, &[(&str, &str)]) = match kind {
                BulkKind::Create => (Method::POST, &[]),
                BulkKind::Edit => (Method::PUT, &[]),
                BulkKind::Delete => (Method::DELETE, &[("allowSelfDeletion", "false")]),
            };
            match self.bulk_call(method, Value::Array(body), query).await {
                Err(_) if !self.bulk.usable() => return None,
                Err(e) => {
                    for &i in &sent {
                        results[i] = Some(Err(e.clone()));
                    }
                }
                Ok(items) => {
                    let fallback = match kind {
                        BulkKind::Create => ErrorKind::InvalidInput,
                        BulkKind::Edit | BulkKind::Delete => ErrorKind::Conflict,
                    };
                    let mut offer = None;
                    for &i in &sent {
                        let login = run[i].resource();
                        results[i] = Some(match items.get(login) {
                            None => Err(Error::protocol(format!(
                                "the bulk response has no result for `{login}`"
                            ))
                            .with_resource(login)),
                            Some(item) if item.succeeded() => Ok(None),
                            Some(item) => Err(map_bulk_failure(
                                login,
                                item.error.as_deref().unwrap_or(""),
                                fallback,
                            )),
                        });
                        if let (BulkKind::Create, Some(Err(e))) = (kind, &results[i]) {
                            let e = self
                                .explain_create_refusal(login, e.clone(), &mut offer)
                                .await;
                            results[i] = Some(Err(e));
                        }
                    }
                }
            }
        }
        // Creates that need what the create body cannot carry, then the records.
        let mut need_records = false;
        for (i, w) in run.iter().enumerate() {
            if !matches!(results[i], Some(Ok(None))) {
                continue;
            }
            match w {
                UserWrite::Create { user } if !user.enabled || !user.attributes.is_empty() => {
                    let mut edit = Map::new();
                    edit.insert("login".into(), Value::String(user.login.clone()));
                    edit.insert("enabled".into(), Value::Bool(user.enabled));
                    if !user.attributes.is_empty() {
                        let mut doc = Doc::new();
                        set_string_props(&mut doc, self.attributes_key(), &user.attributes);
                        if let Some(v) = doc.remove(self.attributes_key()) {
                            edit.insert(self.attributes_key().into(), v);
                        }
                    }
                    let outcome = self
                        .bulk_call(Method::PUT, Value::Array(vec![Value::Object(edit)]), &[])
                        .await
                        .and_then(|items| match items.get(&user.login) {
                            Some(item) if item.succeeded() => Ok(()),
                            Some(item) => Err(map_bulk_failure(
                                &user.login,
                                item.error.as_deref().unwrap_or(""),
                                ErrorKind::Conflict,
                            )),
                            None => Err(Error::protocol(format!(
                                "the bulk response has no result for `{}`",
                                user.login
                            ))),
                        });
                    if let Err(e) = outcome {
                        results[i] = Some(Err(e));
                        continue;
                    }
                    need_records = true;
                }
                UserWrite::Delete { .. } => {}
                _ => need_records = true,
            }
        }
        if need_records {
            match self.user_docs_shared().await {
                Ok(docs) => {
                    let by_login: HashMap<&str, &Doc> = docs
                        .iter()
                        .filter_map(|d| d.get("login").and_then(Value::as_str).map(|l| (l, d)))
                        .collect();
                    for (i, w) in run.iter().enumerate() {
                        if matches!(w, UserWrite::Delete { .. })
                            || !matches!(results[i], Some(Ok(None)))
                        {
                            continue;
                        }
                        let login = w.resource();
                        results[i] = Some(match by_login.get(login) {
                            Some(doc) => to_user(doc, self.attributes_key(), USER_LIST).map(Some),
                            None => Err(Error::protocol(format!(
                                "DSS reported `{login}` written but does not list it"
                            ))
                            .with_resource(login)),
                        });
                    }
                }
                Err(e) => {
                    for (i, w) in run.iter().enumerate() {
                        if !matches!(w, UserWrite::Delete { .. })
                            && matches!(results[i], Some(Ok(None)))
                        {
                            results[i] = Some(Err(e.clone()));
                        }
                    }
                }
            }
        }
        Some(
            results
                .into_iter()
                .map(|r| {
                    r.unwrap_or_else(|| Err(Error::protocol("bulk write left without a result")))
                })
                .collect(),
        )
    }
}

fn missing_user(login: &str) -> Error {
    Error::not_found(format!("no DSS user has login `{login}`")).with_resource(login)
}

/// The partial settings object of a bulk edit: the login and every top-level key the
/// change touched (the bulk endpoint merges them into the user's settings).
fn partial_edit(login: &str, before: &Doc, after: &Doc) -> Value {
    let mut edit = Map::new();
    edit.insert("login".into(), Value::String(login.to_string()));
    for (k, v) in after {
        if before.get(k) != Some(v) {
            // A merge may read null as "not given"; an empty email is what clears it.
            let v = if k == "email" && v.is_null() {
                Value::String(String::new())
            } else {
                v.clone()
            };
            edit.insert(k.clone(), v);
        }
    }
    Value::Object(edit)
}

#[async_trait]
impl Users for DataikuAdapter {
    /// Every user in one read (DSS has no paging), cut into pages by login order.
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        let key = self.attributes_key();
        let mut attempt = 1;
        let mut all = loop {
            let converted = self
                .user_docs()
                .await?
                .iter()
                .map(|d| {
                    let endpoint = if user_doc_is_complete(d, key) {
                        USER_LIST.to_string()
                    } else {
                        format!("GET /admin/users/{}", str_field(d, "login").unwrap_or("?"))
                    };
                    to_user(d, key, &endpoint)
                })
                .collect::<Result<Vec<_>>>();
            match converted {
                Ok(all) => break all,
                // A list with an unusable item (no login) is read again: it was mangled.
                Err(e) if e.kind() == ErrorKind::Protocol && attempt < LIST_READ_ATTEMPTS => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let size = all.len().max(1);
        Page::slice(all, &page, size)
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        to_user(
            &self.user_doc(id).await?,
            self.attributes_key(),
            &format!("GET /admin/users/{id}"),
        )
    }

    /// Checks the login is free, creates with `POST /admin/users/` (login, password,
    /// display name, email, configured source type and profile), then sets `enabled` and
    /// attributes, which creation does not take, with one read-modify-write.
    async fn create_user(&self, user: &NewUser) -> Result<User> {
        Self::check_new_user(user)?;
        self.ensure_user_absent(&user.login).await?;
        let created = self
            .client
            .write(
                Method::POST,
                ApiPath::dir(USERS),
                &[],
                Some(&self.create_body(user)),
            )
            .await;
        if let Err(e) = created {
            return Err(self.explain_create_refusal(&user.login, e, &mut None).await);
        }
        let doc = self.finish_create(user).await?;
        to_user(
            &doc,
            self.attributes_key(),
            &format!("GET /admin/users/{}", user.login),
        )
    }

    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        if let Some(to) = changes.login.as_ref().filter(|l| *l != id) {
            return Err(rename_unsupported(id, to));
        }
        let _guard = self.locks.lock(&user_key(id)).await;
        let mut doc = self.user_doc_for_update(id).await?;
        // What was read is checked before anything is written back.
        let endpoint = format!("GET /admin/users/{id}");
        to_user(&doc, self.attributes_key(), &endpoint)?;
        if apply_changes(&mut doc, changes, self.attributes_key()) {
            self.put_user_doc(id, &doc).await?;
        }
        to_user(&doc, self.attributes_key(), &endpoint)
    }

    async fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<User> {
        let doc = self.set_enabled_doc(id, enabled).await?;
        to_user(
            &doc,
            self.attributes_key(),
            &format!("GET /admin/users/{id}"),
        )
    }

    /// `DELETE /admin/users/{login}?allowSelfDeletion=false`.
    async fn delete_user(&self, id: &str) -> Result<()> {
        let _guard = self.locks.lock(&user_key(id)).await;
        self.client
            .write(
                Method::DELETE,
                ApiPath::new(&["admin", "users", id]),
                &[("allowSelfDeletion", "false")],
                None,
            )
            .await
    }

    async fn user_activity(&self, id: &str) -> Result<UserActivity> {
        let a: Activity = self
            .client
            .get_json(
                ApiPath::new(&["admin", "users", id, "activity"]),
                &[],
                "user activity",
            )
            .await?;
        Ok(a.to_neutral(id))
    }

    async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        if !self.bulk.usable() {
            return self.one_by_one(batch).await;
        }
        let mut out = Vec::with_capacity(batch.len());
        for range in chunks(&batch, self.cfg.bulk_max) {
            let run = &batch[range];
            let done = match self.bulk.usable() {
                true => self.bulk_run(run).await,
                false => None,
            };
            match done {
                Some(results) => out.extend(results),
                // No bulk endpoints after all (older than 14.2): one request per write.
                None => out.extend(self.one_by_one(run.to_vec()).await),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn del(id: &str) -> UserWrite {
        UserWrite::Delete { id: id.into() }
    }

    fn upd(id: &str) -> UserWrite {
        UserWrite::Update {
            id: id.into(),
            changes: UserChanges::default(),
        }
    }

    fn off(id: &str) -> UserWrite {
        UserWrite::SetEnabled {
            id: id.into(),
            enabled: false,
        }
    }

    #[test]
    fn chunks_keep_order_split_kinds_repeats_and_size() {
        let batch = vec![
            UserWrite::Create {
                user: NewUser::new("a"),
            },
            UserWrite::Create {
                user: NewUser::new("b"),
            },
            upd("c"),
            off("d"),
            off("c"),
            del("e"),
            del("f"),
            del("g"),
        ];
        assert_eq!(chunks(&batch, 2), vec![0..2, 2..4, 4..5, 5..7, 7..8]);
        assert_eq!(chunks(&batch, 10), vec![0..2, 2..4, 4..5, 5..8]);
        assert!(chunks(&[], 10).is_empty());
    }

    #[test]
    fn partial_edit_holds_login_and_changed_keys() {
        let before: Doc = serde_json::from_value(json!({
            "login": "a", "displayName": "A", "email": "a@x", "groups": ["g"]
        }))
        .expect("object");
        let mut after = before.clone();
        apply_changes(
            &mut after,
            &UserChanges {
                display_name: Some(Some("B".into())),
                email: Some(None),
                ..UserChanges::default()
            },
            "adminProperties",
        );
        assert_eq!(
            partial_edit("a", &before, &after),
            json!({"login": "a", "displayName": "B", "email": ""})
        );
    }
}
