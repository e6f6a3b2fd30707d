//! The emulated service provider's resources and what it does to them: create, read,
//! list with `startIndex`/`count` and `eq` filters, replace, PATCH (RFC 7644 §3.5.2, the
//! paths idbridge and common clients send), delete, versions and `If-Match`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use idbridge_testkit::emulator::ErrorBody;
use serde_json::{Map, Value, json};

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

#[derive(Debug, Default)]
struct Inner {
    users: BTreeMap<String, Value>,
    groups: BTreeMap<String, Value>,
    next: u64,
}

impl Inner {
    fn of(&mut self, kind: Kind) -> &mut BTreeMap<String, Value> {
        match kind {
            Kind::Users => &mut self.users,
            Kind::Groups => &mut self.groups,
        }
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

fn unique_value(doc: &Value, kind: Kind) -> String {
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
        if inner
            .of(kind)
            .values()
            .any(|d| unique_value(d, kind) == wanted)
        {
            return Err(error(
                409,
                Some("uniqueness"),
                format!("`{key}` is already in use"),
            ));
        }
        stamp(&mut doc, kind, 1);
        inner.of(kind).insert(id, doc.clone());
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
        let doc = match kind {
            Kind::Users => inner.users.get(id),
            Kind::Groups => inner.groups.get(id),
        }
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
        let all: Vec<&Value> = match kind {
            Kind::Users => inner.users.values(),
            Kind::Groups => inner.groups.values(),
        }
        .filter(|d| wanted.as_ref().is_none_or(|w| unique_value(d, kind) == *w))
        .collect();
        let count = count
            .unwrap_or(self.settings.max_results)
            .min(self.settings.max_results);
        let start = start.max(1);
        let page: Vec<Value> = all
            .iter()
            .skip(start - 1)
            .take(count)
            .map(|d| {
                let mut d = with_groups(&inner, kind, (*d).clone());
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
            "totalResults": all.len(),
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
        if inner
            .of(kind)
            .iter()
            .any(|(other, d)| other != id && unique_value(d, kind) == wanted)
        {
            return Err(error(
                409,
                Some("uniqueness"),
                format!("`{}` is already in use", kind.unique_key()),
            ));
        }
        if kind == Kind::Groups {
            dedup_members(&mut doc);
        }
        let n = version
            .trim_start_matches("W/\"")
            .trim_end_matches('"')
            .parse::<u64>()
            .unwrap_or(0)
            + 1;
        stamp(&mut doc, kind, n);
        inner.of(kind).insert(id.to_string(), doc.clone());
        Ok(with_groups(&inner, kind, doc))
    }

    /// Deletes a resource, and removes it from every group's members.
    ///
    /// # Errors
    /// 404 when missing.
    pub fn delete(&self, kind: Kind, id: &str) -> ApiResult<()> {
        let mut inner = self.lock();
        inner
            .of(kind)
            .remove(id)
            .ok_or_else(|| not_found(kind, id))?;
        for g in inner.groups.values_mut() {
            if let Some(Value::Array(members)) = g.get_mut("members") {
                members.retain(|m| m["value"].as_str() != Some(id));
            }
        }
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
        .groups
        .iter()
        .filter(|(_, g)| {
            g["members"]
                .as_array()
                .is_some_and(|ms| ms.iter().any(|m| m["value"].as_str() == Some(&id)))
        })
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
