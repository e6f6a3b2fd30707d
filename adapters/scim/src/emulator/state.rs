//! The emulated service provider's resources and what it does to them: create, read,
//! list with `startIndex`/`count` and `eq` filters, replace, PATCH (RFC 7644 §3.5.2, the
//! paths idbridge and common clients send), delete, versions and `If-Match`.

use std::sync::Mutex;

use idbridge_testkit::emulator::ErrorBody;
use serde_json::{Map, Value, json};

use super::index::{Memberships, Table};
use crate::wire::{ERROR_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, USER_SCHEMA};

/// The detail of an emulated SCIM error: its status (the body repeats it) and `scimType`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimErrorDetail {
    /// The HTTP status, as the body's `status`.
    pub status: u16,
    /// The `scimType`, if any.
    pub scim_type: Option<&'static str>,
}

impl ErrorBody for ScimErrorDetail {
    fn body(&self, message: &str) -> Value {
        let mut body = json!({"schemas": [ERROR_SCHEMA], "status": self.status.to_string(), "detail": message});
        if let (Some(t), Value::Object(m)) = (self.scim_type, &mut body) {
            m.insert("scimType".into(), Value::String(t.into()));
        }
        body
    }
}

/// The emulator's error.
pub type ApiError = idbridge_testkit::emulator::ApiError<ScimErrorDetail>;
/// The result of an emulator operation.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// An error with `status`, `scimType` and `detail`.
pub fn error(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> ApiError {
    ApiError::with(status, ScimErrorDetail { status, scim_type }, detail)
}

/// Users or groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/Users`.
    Users,
    /// `/Groups`.
    Groups,
}

impl Kind {
    fn unique_key(self) -> &'static str {
        match self {
            Kind::Users => "userName",
            Kind::Groups => "displayName",
        }
    }

    fn resource_type(self) -> &'static str {
        match self {
            Kind::Users => "User",
            Kind::Groups => "Group",
        }
    }

    fn schema(self) -> &'static str {
        match self {
            Kind::Users => USER_SCHEMA,
            Kind::Groups => GROUP_SCHEMA,
        }
    }
}

#[derive(Debug)]
struct Inner {
    users: Table,
    groups: Table,
    memberships: Memberships,
    next: u64,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            users: Table::new(Kind::Users),
            groups: Table::new(Kind::Groups),
            memberships: Memberships::default(),
            next: 0,
        }
    }
}

impl Inner {
    fn of(&self, kind: Kind) -> &Table {
        match kind {
            Kind::Users => &self.users,
            Kind::Groups => &self.groups,
        }
    }

    fn of_mut(&mut self, kind: Kind) -> &mut Table {
        match kind {
            Kind::Users => &mut self.users,
            Kind::Groups => &mut self.groups,
        }
    }

    /// Whether a resource of `kind` other than `except` holds the folded unique value.
    fn taken(&self, kind: Kind, folded: &str, except: Option<&str>) -> bool {
        self.of(kind)
            .id_named(folded)
            .is_some_and(|id| Some(id) != except)
    }

    /// Stores a resource, keeping the member index in step with a group's `members`.
    fn put(&mut self, kind: Kind, id: &str, doc: Value) {
        if kind == Kind::Groups {
            let before = self.groups.get(id).cloned();
            self.memberships.replace(id, before.as_ref(), Some(&doc));
        }
        self.of_mut(kind).put(id, doc);
    }
}

/// What the emulated server advertises.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The most results one list answer holds.
    pub max_results: usize,
}

/// The emulated service provider.
#[derive(Debug)]
pub struct State {
    inner: Mutex<Inner>,
    token: String,
    settings: Settings,
}

/// The folded (lower-case) unique value of a resource: what uniqueness and `eq` filters
/// compare.
pub(super) fn unique_value(doc: &Value, kind: Kind) -> String {
    doc.get(kind.unique_key())
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase()
}

impl State {
    /// An empty server accepting the bearer `token`.
    pub fn new(token: String, settings: Settings) -> Self {
        State {
            inner: Mutex::new(Inner::default()),
            token,
            settings,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `header` is `Bearer <token>`.
    pub fn authorized(&self, header: Option<&str>) -> bool {
        header.and_then(|h| h.strip_prefix("Bearer ")) == Some(self.token.as_str())
    }

    /// `/ServiceProviderConfig` (RFC 7643 §5).
    pub fn service_provider_config(&self) -> Value {
        json!({
            "schemas": [crate::wire::SERVICE_PROVIDER_CONFIG_SCHEMA],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": self.settings.max_results},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
                "description": "A static bearer token"}]
        })
    }

    /// Creates a resource from a client's body (RFC 7644 §3.3).
    ///
    /// # Errors
    /// 400 `invalidValue` without the unique attribute; 409 `uniqueness` when taken.
    pub fn create(&self, kind: Kind, body: Value) -> ApiResult<Value> {
        let Value::Object(mut doc) = body else {
            return Err(error(
                400,
                Some("invalidSyntax"),
                "the body is not a JSON object",
            ));
        };
        let key = kind.unique_key();
        if doc
            .get(key)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(error(
                400,
                Some("invalidValue"),
                format!("`{key}` is required"),
            ));
        }
        doc.remove("password");
        doc.remove("groups");
        let mut inner = self.lock();
        inner.next += 1;
        let id = format!("{:08x}-{}", inner.next, uuid::Uuid::new_v4().simple());
        doc.insert("id".into(), Value::String(id.clone()));
        let mut doc = Value::Object(doc);
        let wanted = unique_value(&doc, kind);
        if inner.taken(kind, &wanted, None) {
            return Err(error(
                409,
                Some("uniqueness"),
                format!("`{key}` is already in use"),
            ));
        }
        stamp(&mut doc, kind, 1);
        inner.put(kind, &id, doc.clone());
        Ok(doc)
    }

    /// Seeds a resource as it is (ids the emulator's own).
    pub fn seed(&self, kind: Kind, body: Value) -> Option<String> {
        self.create(kind, body)
            .ok()
            .and_then(|d| d["id"].as_str().map(str::to_string))
    }

    /// One resource, with a user's read-only `groups`.
    ///
    /// # Errors
    /// 404 when there is none.
    pub fn get(&self, kind: Kind, id: &str) -> ApiResult<Value> {
        let inner = self.lock();
        let doc = inner
            .of(kind)
            .get(id)
            .cloned()
            .ok_or_else(|| not_found(kind, id))?;
        Ok(with_groups(&inner, kind, doc))
    }

    /// A list answer (RFC 7644 §3.4.2): `filter` (`<attr> eq "<value>"` on the unique
    /// attribute), `startIndex`, `count` (capped at `maxResults`), `excludedAttributes`.
    ///
    /// # Errors
    /// 400 `invalidFilter` for any other filter.
    pub fn list(
        &self,
        kind: Kind,
        filter: Option<&str>,
        start: usize,
        count: Option<usize>,
        excluded: &[String],
    ) -> ApiResult<Value> {
        let wanted = filter.map(|f| parse_eq(f, kind)).transpose()?;
        let inner = self.lock();
        let table = inner.of(kind);
        let count = count
            .unwrap_or(self.settings.max_results)
            .min(self.settings.max_results);
        let start = start.max(1);
        // A filter matches at most one resource (the unique value); without one, the
        // page starts at its position.
        let (total, found): (usize, Box<dyn Iterator<Item = &Value>>) = match &wanted {
            Some(w) => {
                let one: Vec<&Value> = table
                    .id_named(w)
                    .and_then(|id| table.get(id))
                    .into_iter()
                    .collect();
                (one.len(), Box::new(one.into_iter().skip(start - 1)))
            }
            None => (table.len(), Box::new(table.starting_at(start - 1))),
        };
        let page: Vec<Value> = found
            .take(count)
            .map(|d| {
                let mut d = with_groups(&inner, kind, d.clone());
                if let Value::Object(m) = &mut d {
                    for e in excluded {
                        m.remove(e);
                    }
                }
                d
            })
            .collect();
        Ok(json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }))
    }

    /// Replaces a resource (RFC 7644 §3.5.1) or patches it (§3.5.2), after checking
    /// `If-Match`.
    ///
    /// # Errors
    /// 404 when missing; 412 when `if_match` is not its version; 400 for a body or path
    /// it cannot apply; 409 `uniqueness` when the new unique value is taken.
    pub fn modify(
        &self,
        kind: Kind,
        id: &str,
        if_match: Option<&str>,
        change: impl FnOnce(&mut Value) -> ApiResult<()>,
    ) -> ApiResult<Value> {
        let mut inner = self.lock();
        let current = inner
            .of(kind)
            .get(id)
            .cloned()
            .ok_or_else(|| not_found(kind, id))?;
        let version = current["meta"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if let Some(tag) = if_match
            && tag != "*"
            && tag != version
        {
            return Err(error(412, None, "the resource changed since that version"));
        }
        let mut doc = current.clone();
        change(&mut doc)?;
        if let Value::Object(m) = &mut doc {
            m.insert("id".into(), Value::String(id.to_string()));
            m.remove("groups");
            m.remove("password");
        }
        let wanted = unique_value(&doc, kind);
        if wanted.is_empty() {
            return Err(error(
                400,
                Some("invalidValue"),
                format!("`{}` is required", kind.unique_key()),
            ));
        }
        if inner.taken(kind, &wanted, Some(id)) {
            return Err(error(
                409,
                Some("uniqueness"),
                format!("`{}` is already in use", kind.unique_key()),
            ));
        }
        if kind == Kind::Groups {
            dedup_members(&mut doc);
        }
        let n = version_number(&current) + 1;
        stamp(&mut doc, kind, n);
        inner.put(kind, id, doc.clone());
        Ok(with_groups(&inner, kind, doc))
    }

    /// Deletes a resource, and removes it from every group's members.
    ///
    /// # Errors
    /// 404 when missing.
    pub fn delete(&self, kind: Kind, id: &str) -> ApiResult<()> {
        let mut inner = self.lock();
        let gone = inner
            .of_mut(kind)
            .remove(id)
            .ok_or_else(|| not_found(kind, id))?;
        if kind == Kind::Groups {
            inner.memberships.replace(id, Some(&gone), None);
        }
        // Only the groups that hold it change.
        for gid in inner.memberships.take(id) {
            if let Some(Value::Array(members)) = inner
                .groups
                .get_mut(&gid)
                .and_then(|g| g.get_mut("members"))
            {
                members.retain(|m| m["value"].as_str() != Some(id));
            }
        }
        Ok(())
    }

    /// Adds `member` (`{"value", "type"}`) to a group while seeding, as a replace of the
    /// group's `members` with it appended would: a present member is not repeated, and
    /// the version goes up either way.
    ///
    /// # Errors
    /// 404 when the group is missing.
    pub fn seed_member(&self, group: &str, member: Value) -> ApiResult<()> {
        let mut inner = self.lock();
        let Inner {
            groups,
            memberships,
            ..
        } = &mut *inner;
        let doc = groups
            .get_mut(group)
            .ok_or_else(|| not_found(Kind::Groups, group))?;
        let value = member["value"].as_str().unwrap_or_default().to_string();
        if !memberships.contains(group, &value) {
            if let Value::Object(m) = doc {
                let members = m
                    .entry("members")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !members.is_array() {
                    *members = Value::Array(Vec::new());
                }
                if let Value::Array(list) = members {
                    list.push(member);
                }
            }
            memberships.add(group, &value);
        }
        let n = version_number(doc) + 1;
        stamp(doc, Kind::Groups, n);
        Ok(())
    }

    /// How many users and groups there are.
    pub fn counts(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.users.len(), inner.groups.len())
    }
}

fn not_found(kind: Kind, id: &str) -> ApiError {
    error(
        404,
        None,
        format!("{} `{id}` not found", kind.resource_type()),
    )
}

/// The number in a resource's `W/"<n>"` version (0 when it has none).
fn version_number(doc: &Value) -> u64 {
    doc["meta"]["version"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("W/\"")
        .trim_end_matches('"')
        .parse::<u64>()
        .unwrap_or(0)
}

fn stamp(doc: &mut Value, kind: Kind, version: u64) {
    if let Value::Object(m) = doc {
        let schemas = m.entry("schemas").or_insert_with(|| json!([]));
        if let Value::Array(list) = schemas
            && !list.iter().any(|s| s.as_str() == Some(kind.schema()))
        {
            list.insert(0, Value::String(kind.schema().into()));
        }
        m.insert(
            "meta".into(),
            json!({"resourceType": kind.resource_type(), "version": format!("W/\"{version}\"")}),
        );
    }
}

fn dedup_members(doc: &mut Value) {
    if let Some(Value::Array(members)) = doc.get_mut("members") {
        let mut seen = std::collections::BTreeSet::new();
        members.retain(|m| seen.insert(m["value"].as_str().unwrap_or_default().to_string()));
    }
}

/// A user with its read-only `groups` (direct memberships), as RFC 7643 §4.1.2 describes.
fn with_groups(inner: &Inner, kind: Kind, mut doc: Value) -> Value {
    if kind != Kind::Users {
        return doc;
    }
    let id = doc["id"].as_str().unwrap_or_default().to_string();
    let groups: Vec<Value> = inner
        .memberships
        .groups_of(&id)
        .filter_map(|gid| inner.groups.get(gid).map(|g| (gid, g)))
        .map(|(gid, g)| json!({"value": gid, "display": g["displayName"], "type": "direct"}))
        .collect();
    if let Value::Object(m) = &mut doc
        && !groups.is_empty()
    {
        m.insert("groups".into(), Value::Array(groups));
    }
    doc
}

/// `<unique attribute> eq "<value>"`, the one filter the emulator evaluates.
fn parse_eq(filter: &str, kind: Kind) -> ApiResult<String> {
    let bad = || {
        error(
            400,
            Some("invalidFilter"),
            format!("unsupported filter `{filter}`"),
        )
    };
    let mut parts = filter.trim().splitn(3, ' ');
    let (Some(attr), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if !attr.eq_ignore_ascii_case(kind.unique_key()) || !op.eq_ignore_ascii_case("eq") {
        return Err(bad());
    }
    match serde_json::from_str::<Value>(value) {
        Ok(Value::String(s)) => Ok(s.to_lowercase()),
        _ => Err(bad()),
    }
}

/// Applies one PATCH operation (RFC 7644 §3.5.2) to a resource's JSON.
///
/// # Errors
/// 400 `invalidPath`, `invalidValue` or `invalidSyntax` for what it cannot apply.
pub fn apply_patch(doc: &mut Value, op: &Value) -> ApiResult<()> {
    let name = op["op"].as_str().unwrap_or_default().to_ascii_lowercase();
    let path = op["path"].as_str();
    let value = op.get("value").cloned();
    let Value::Object(root) = doc else {
        return Err(error(400, Some("invalidSyntax"), "not an object"));
    };
    let Some(path) = path else {
        // No path: the value's attributes are added or replaced one by one.
        let Some(Value::Object(attrs)) = value else {
            return Err(error(
                400,
                Some("invalidValue"),
                "an operation without path needs an object value",
            ));
        };
        for (k, v) in attrs {
            root.insert(k, v);
        }
        return Ok(());
    };
    if let Some((attr, rest)) = path.split_once('[') {
        // `members[value eq "id"]`: only removal by value is emulated.
        let filter = rest
            .strip_suffix(']')
            .ok_or_else(|| error(400, Some("invalidPath"), path.to_string()))?;
        let wanted = filter
            .strip_prefix("value eq ")
            .and_then(|v| serde_json::from_str::<String>(v).ok())
            .ok_or_else(|| error(400, Some("invalidFilter"), filter.to_string()))?;
        if name != "remove" {
            return Err(error(
                400,
                Some("invalidPath"),
                format!("`{name}` with a value filter"),
            ));
        }
        if let Some(Value::Array(items)) = root.get_mut(attr) {
            items.retain(|m| m["value"].as_str() != Some(wanted.as_str()));
        }
        return Ok(());
    }
    let (container, leaf) = container_of(root, path)?;
    match name.as_str() {
        "remove" => {
            container.remove(leaf);
        }
        "add" => match (container.get_mut(leaf), value) {
            (Some(Value::Array(items)), Some(Value::Array(more))) => items.extend(more),
            (_, Some(v)) => {
                container.insert(leaf.to_string(), v);
            }
            (_, None) => return Err(error(400, Some("invalidValue"), "`add` needs a value")),
        },
        "replace" => {
            let v =
                value.ok_or_else(|| error(400, Some("invalidValue"), "`replace` needs a value"))?;
            container.insert(leaf.to_string(), v);
        }
        other => {
            return Err(error(
                400,
                Some("invalidSyntax"),
                format!("unknown op `{other}`"),
            ));
        }
    }
    Ok(())
}

/// The object holding the attribute at `path` and its last segment, objects created on
/// the way (`name.formatted`, `urn:...:User:department`).
fn container_of<'a, 'p>(
    root: &'a mut Map<String, Value>,
    path: &'p str,
) -> ApiResult<(&'a mut Map<String, Value>, &'p str)> {
    let (urn, attr) = crate::mapping::split_path(path);
    let mut at = root;
    let mut segments: Vec<&str> = Vec::new();
    if let Some(urn) = urn {
        segments.push(urn);
    }
    segments.extend(attr.split('.'));
    let Some((leaf, parents)) = segments.split_last() else {
        return Err(error(400, Some("invalidPath"), path.to_string()));
    };
    for p in parents {
        let next = at
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        at = next
            .as_object_mut()
            .ok_or_else(|| error(400, Some("invalidPath"), path.to_string()))?;
    }
    if leaf.is_empty() {
        return Err(error(400, Some("invalidPath"), path.to_string()));
    }
    Ok((at, leaf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Value {
        json!({"schemas": [USER_SCHEMA], "userName": name})
    }

    fn names(list: &Value, key: &str) -> Vec<String> {
        list["Resources"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d[key].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn group_names(doc: &Value) -> Vec<String> {
        doc["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| g["display"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn the_indexes_follow_renames_deletes_and_recreations() {
        let s = State::new("t".into(), Settings { max_results: 2 });
        let id = |d: Value| d["id"].as_str().expect("id").to_string();
        let ada = id(s.create(Kind::Users, user("Ada")).expect("ada"));
        let bob = id(s.create(Kind::Users, user("bob")).expect("bob"));
        let g = id(s
            .create(
                Kind::Groups,
                json!({"displayName": "G", "members": [{"value": ada}, {"value": bob}]}),
            )
            .expect("g"));
        let h = id(s
            .create(Kind::Groups, json!({"displayName": "H"}))
            .expect("h"));
        s.seed_member(&h, json!({"value": ada, "type": "User"}))
            .expect("seeded");
        s.seed_member(&h, json!({"value": ada, "type": "User"}))
            .expect("seeded twice");
        let hd = s.get(Kind::Groups, &h).expect("h");
        assert_eq!(hd["members"].as_array().map(Vec::len), Some(1));
        assert_eq!(hd["meta"]["version"], "W/\"3\"");
        assert_eq!(
            group_names(&s.get(Kind::Users, &ada).expect("ada")),
            ["G", "H"]
        );

        // A rename frees the old value and takes the new one, in any case.
        s.modify(Kind::Users, &ada, None, |d| {
            d["userName"] = json!("Grace");
            Ok(())
        })
        .expect("renamed");
        let taken = s.create(Kind::Users, user("GRACE")).expect_err("taken");
        assert_eq!(taken.status, 409);
        let again = id(s
            .create(Kind::Users, user("ada"))
            .expect("the old name again"));
        let found = s
            .list(Kind::Users, Some("userName eq \"ADA\""), 1, None, &[])
            .expect("filtered");
        assert_eq!(found["totalResults"], 1);
        assert_eq!(found["Resources"][0]["id"], again.as_str());

        // A group's members replaced, then the group deleted and its name taken again.
        s.modify(Kind::Groups, &g, None, |d| {
            d["members"] = json!([{"value": bob}]);
            Ok(())
        })
        .expect("replaced");
        assert_eq!(group_names(&s.get(Kind::Users, &ada).expect("ada")), ["H"]);
        s.delete(Kind::Groups, &h).expect("deleted");
        assert!(group_names(&s.get(Kind::Users, &ada).expect("ada")).is_empty());
        let h2 = id(s
            .create(
                Kind::Groups,
                json!({"displayName": "h", "members": [{"value": again}]}),
            )
            .expect("the name again"));
        assert_eq!(
            group_names(&s.get(Kind::Users, &again).expect("again")),
            ["h"]
        );

        // Deleting a user takes it out of its groups; pages follow the positions.
        s.delete(Kind::Users, &bob).expect("bob deleted");
        let gd = s.get(Kind::Groups, &g).expect("g");
        assert_eq!(gd["members"], json!([]));
        let first = s.list(Kind::Users, None, 1, None, &[]).expect("page 1");
        let second = s.list(Kind::Users, None, 3, None, &[]).expect("page 2");
        assert_eq!(first["totalResults"], 2);
        assert_eq!(names(&first, "userName"), ["Grace", "ada"]);
        assert!(names(&second, "userName").is_empty());
        let groups = s.list(Kind::Groups, None, 2, Some(5), &[]).expect("groups");
        assert_eq!(names(&groups, "displayName"), ["h"]);
        assert_eq!(groups["Resources"][0]["id"], h2.as_str());
    }
}
