//! Users: listed through the Everyone group's members (or `/api/users`), read, created,
//! changed with PATCH `operationList`, enabled/disabled, deleted.

use std::collections::BTreeMap;

use idbridge_core::{Error, NewUser, Page, PageRequest, Result, User, UserChanges, Users};
use reqwest::Method;
use serde_json::{Map, Value};

use crate::adapter::StrategyAdapter;
use crate::client::Call;
use crate::config::UserListing;
use crate::wire::{self, Field, ObjectJson, Operation, OperationList, Origin};

/// The attribute key that carries a Strategy user's description.
pub const DESCRIPTION_ATTRIBUTE: &str = "description";

/// Converts a Strategy user (or member entry) read from `endpoint` to the neutral record.
///
/// Strict about what the engine acts on: the login (`username`, else `abbreviation`,
/// which every listing carries as the login), the enabled flag, and the names, email and
/// description when present.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Protocol`] naming the endpoint, the user and the field when
/// the id or login is missing or empty, `enabled` is missing, or any of these fields
/// arrived with another JSON type. Nothing is defaulted: an absent `enabled` is not
/// "enabled", and a login is never taken from the display name or the id.
pub(crate) fn to_user(o: ObjectJson, endpoint: &str) -> Result<User> {
    let origin = Origin::new(endpoint, "user", &o.id);
    if o.id.trim().is_empty() {
        return Err(origin.error("id", "is empty"));
    }
    if let Some(sub) = o.subtype(&origin)?
        && sub != wire::SUBTYPE_USER
    {
        return Err(origin.error("subtype", &format!("is {sub}, not a user's")));
    }
    let username = origin.optional("username", &o.username)?;
    let abbreviation = origin.optional("abbreviation", &o.abbreviation)?;
    let login = match (username, abbreviation) {
        (Some(_), _) => origin.require_text("username", &o.username)?,
        (None, Some(_)) => origin.require_text("abbreviation", &o.abbreviation)?,
        (None, None) => return Err(origin.error("username` and `abbreviation", "are missing")),
    }
    .to_string();
    let enabled = *origin.require("enabled", &o.enabled)?;
    let display_name = match origin.optional("fullName", &o.full_name)? {
        Some(n) => Some(n.clone()),
        None => origin.optional("name", &o.name)?.cloned(),
    }
    .filter(|n| !n.is_empty());
    let email = origin
        .optional("defaultEmailAddress", &o.default_email_address)?
        .filter(|e| !e.is_empty())
        .cloned();
    let mut attributes = BTreeMap::new();
    if let Some(d) = origin
        .optional("description", &o.description)?
        .filter(|d| !d.is_empty())
    {
        attributes.insert(DESCRIPTION_ATTRIBUTE.to_string(), d.clone());
    }
    Ok(User {
        id: o.id,
        login,
        email,
        display_name,
        enabled,
        attributes,
    })
}

pub(crate) fn not_found_id(what: &str, id: &str) -> Error {
    Error::not_found(format!(
        "no {what} with id `{id}` (Strategy ids are 32 upper-case hex characters)"
    ))
}

impl StrategyAdapter {
    /// How a created account signs in, added to the create body: never with a blank or
    /// guessable password.
    ///
    /// The account always gets a password: the one given, else a random one nobody sees
    /// ([`idbridge_core::account::random_password`], sent only in this request). With
    /// `new_user_ldapdn` or `new_user_trust_id` configured it is bound to that sign-in
    /// (`ldapdn`, `trustId`) and standard (password) login is turned off for it
    /// (`standardAuth: false`), as the official SDK's `User.create` sends these fields.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](idbridge_core::ErrorKind::InvalidInput) when a template
    /// needs a value the user lacks (such as an email).
    fn sign_in_fields(&self, user: &NewUser, body: &mut Map<String, Value>) -> Result<()> {
        let password = user
            .password
            .clone()
            .filter(|p| !p.expose().trim().is_empty())
            .unwrap_or_else(idbridge_core::account::random_password);
        body.insert("password".into(), Value::from(password.expose()));
        // The bridge hands out no password: nobody is asked to change one.
        body.insert("requireNewPassword".into(), Value::from(false));
        let mut bound = false;
        for (key, template, field) in [
            ("new_user_ldapdn", &self.cfg.new_user_ldapdn, "ldapdn"),
            ("new_user_trust_id", &self.cfg.new_user_trust_id, "trustId"),
        ] {
            if let Some(t) = template {
                let value = t
                    .render(user)
                    .map_err(|e| Error::invalid_input(format!("{key}: {e}")))?;
                body.insert(field.into(), Value::from(value));
                bound = true;
            }
        }
        body.insert("standardAuth".into(), Value::from(!bound));
        Ok(())
    }

    /// `GET /api/users/{id}` as the wire shape.
    pub(crate) async fn user_json(&self, id: &str) -> Result<ObjectJson> {
        if !wire::is_object_id(id) {
            return Err(not_found_id("user", id));
        }
        let call = Call::get(format!("/api/users/{id}"));
        let user: ObjectJson = self.client.json(&call, "user").await?;
        let endpoint = call.describe();
        if user
            .subtype(&Origin::new(&endpoint, "user", id))?
            .is_some_and(|s| s != wire::SUBTYPE_USER)
        {
            return Err(Error::not_found(format!("object `{id}` is not a user")));
        }
        Ok(user)
    }

    async fn patch_user(&self, id: &str, ops: Vec<Operation>) -> Result<User> {
        if !wire::is_object_id(id) {
            return Err(not_found_id("user", id));
        }
        let body = serde_json::to_value(OperationList::of(ops))
            .map_err(|e| Error::protocol(format!("cannot encode the user change: {e}")))?;
        let call = Call::new(Method::PATCH, format!("/api/users/{id}"))
            .json(body)
            .idempotent();
        let user: ObjectJson = self.client.json(&call, "updated user").await?;
        to_user(user, &call.describe())
    }
}

#[idbridge_core::async_trait]
impl Users for StrategyAdapter {
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        let offset = page.offset()?;
        let limit = self.page_size(&page);
        let call = match self.cfg.user_listing {
            UserListing::EveryoneMembers => Call::get(format!(
                "/api/usergroups/{}/members",
                wire::EVERYONE_GROUP_ID
            )),
            UserListing::UsersEndpoint => Call::get("/api/users"),
        };
        let got = self
            .client
            .page::<ObjectJson>(call.clone(), offset, limit, None, "user listing")
            .await?;
        let count = got.items.len();
        let end = offset + count;
        let next = match got.total {
            Some(total) => (count > 0 && (end as u64) < total).then(|| end.to_string()),
            None => (count >= limit).then(|| end.to_string()),
        };
        let endpoint = call.describe();
        let mut listed: Vec<ObjectJson> = Vec::with_capacity(got.items.len());
        for o in got.items {
            if !o.is_group(&Origin::new(&endpoint, "listed member", &o.id))? {
                listed.push(o);
            }
        }
        // The user search endpoint leaves `enabled` out of its entries: such a user is
        // read in full rather than taken as enabled.
        let read_fully = |o: &ObjectJson| self.cfg.list_details || o.enabled == Field::Absent;
        use futures::{StreamExt, TryStreamExt};
        let read: Vec<Option<User>> = futures::stream::iter(listed)
            .map(|o| {
                let endpoint = endpoint.clone();
                let full = read_fully(&o);
                async move {
                    if !full {
                        return to_user(o, &endpoint).map(Some);
                    }
                    match self.user_json(&o.id).await {
                        Ok(full) => to_user(full, &format!("GET /api/users/{}", o.id)).map(Some),
                        // Deleted between the listing and this read: leave it out.
                        Err(e) if e.kind() == idbridge_core::ErrorKind::NotFound => Ok(None),
                        Err(e) => Err(e),
                    }
                }
            })
            .buffered(self.cfg.list_details_concurrency)
            .try_collect()
            .await?;
        let items = read.into_iter().flatten().collect();
        Ok(Page { items, next })
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        let user = self.user_json(id).await?;
        to_user(user, &format!("GET /api/users/{id}"))
    }

    async fn create_user(&self, user: &NewUser) -> Result<User> {
        let login = user.login.trim();
        if login.is_empty() {
            return Err(Error::invalid_input("a user needs a login"));
        }
        let mut body = Map::new();
        body.insert("username".into(), Value::from(login));
        body.insert(
            "fullName".into(),
            Value::from(
                user.display_name
                    .as_deref()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or(login),
            ),
        );
        body.insert("enabled".into(), Value::from(user.enabled));
        if let Some(d) = user.attributes.get(DESCRIPTION_ATTRIBUTE) {
            body.insert("description".into(), Value::from(d.as_str()));
        }
        self.sign_in_fields(user, &mut body)?;
        let call = Call::new(Method::POST, "/api/users").json(Value::Object(body));
        let created: ObjectJson = self.client.json(&call, "created user").await?;
        let mut created = to_user(created, &call.describe())?;
        if let Some(email) = user
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            self.add_email(&created.id, email).await?;
            created.email = Some(email.to_string());
        }
        Ok(created)
    }

    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        let mut ops = Vec::new();
        if let Some(login) = &changes.login {
            let login = login.trim();
            if login.is_empty() {
                return Err(Error::invalid_input("a user's login cannot be empty"));
            }
            ops.push(Operation::replace("/username", login));
        }
        if let Some(name) = &changes.display_name {
            // Strategy requires a full name: clearing it falls back to the login.
            let value = match name.as_deref().filter(|n| !n.trim().is_empty()) {
                Some(n) => n.to_string(),
                None => match &changes.login {
                    Some(l) => l.trim().to_string(),
                    None => self.get_user(id).await?.login,
                },
            };
            ops.push(Operation::replace("/fullName", value));
        }
        if let Some(attrs) = &changes.attributes {
            let description = attrs
                .get(DESCRIPTION_ATTRIBUTE)
                .cloned()
                .unwrap_or_default();
            ops.push(Operation::replace("/description", description));
        }
        // The PATCH first: when it is refused (a taken login), nothing has changed yet.
        let mut updated = if ops.is_empty() {
            None
        } else {
            Some(self.patch_user(id, ops).await?)
        };
        if let Some(email) = &changes.email {
            let email = email.as_deref().map(str::trim).filter(|e| !e.is_empty());
            if updated.is_none() {
                // Fail on a missing user before touching its addresses.
                self.user_json(id).await?;
            }
            self.set_email(id, email).await?;
            if let Some(u) = &mut updated {
                u.email = email.map(str::to_string);
            }
        }
        match updated {
            Some(u) => Ok(u),
            None => self.get_user(id).await,
        }
    }

    async fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<User> {
        self.patch_user(id, vec![Operation::replace("/enabled", enabled)])
            .await
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        if !wire::is_object_id(id) {
            return Err(not_found_id("user", id));
        }
        self.client
            .ok(&Call::new(Method::DELETE, format!("/api/users/{id}")))
            .await
    }
}
