//! Groups: `/admin/groups/...`.
//!
//! A group's id is its name. DSS stores memberships by group name on each user, so a
//! rename would orphan them: renaming is reported as unsupported. Description updates are a
//! read-modify-write of the whole definition, keeping permission flags, external group
//! mappings and any field a newer DSS adds.

use std::sync::Arc;

use idbridge_core::{
    Error, ErrorKind, Group, GroupChanges, Groups, NewGroup, Page, PageRequest, Result, async_trait,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::adapter::{DataikuAdapter, group_key};
use crate::client::ApiPath;
use crate::wire::{Doc, group_doc_has_flags, to_group};

const GROUPS: &[&str] = &["admin", "groups"];

/// The source type of groups the adapter creates.
pub const GROUP_SOURCE_TYPE: &str = "LOCAL";

impl DataikuAdapter {
    /// `GET /admin/groups/{name}`.
    pub(crate) async fn group_doc(&self, name: &str) -> Result<Doc> {
        self.client
            .get_json(
                ApiPath::new(&["admin", "groups", name]),
                &[],
                "group definition",
            )
            .await
    }

    /// The definition of `name`, read for a read-modify-write.
    pub(crate) async fn group_doc_for_update(&self, name: &str) -> Result<Doc> {
        self.read_for_update(ApiPath::new(&["admin", "groups", name]), "group definition")
            .await
    }

    /// `PUT /admin/groups/{name}` with the whole definition.
    pub(crate) async fn put_group_doc(&self, name: &str, doc: &Doc) -> Result<()> {
        self.client
            .put_document(
                ApiPath::new(&["admin", "groups", name]),
                &Value::Object(doc.clone()),
                "group save",
            )
            .await
    }

    /// `GET /admin/groups/`.
    pub(crate) async fn group_list(&self) -> Result<Vec<Doc>> {
        self.client
            .get_json(ApiPath::dir(GROUPS), &[], "group list")
            .await
    }

    /// [`DataikuAdapter::group_list`] shared with the concurrent callers that need it at
    /// the same moment; never an answer whose request left before this call (see
    /// [`crate::shared`]).
    pub(crate) async fn group_list_shared(&self) -> Result<Arc<Vec<Doc>>> {
        self.shared_group_list.read(|| self.group_list()).await
    }

    /// Every group definition with its permission flags: list items that show no flag are
    /// read one by one (servers may list groups in short form).
    pub(crate) async fn group_docs_with_flags(&self) -> Result<Vec<Doc>> {
        let mut docs = self.group_list().await?;
        for doc in &mut docs {
            if group_doc_has_flags(doc) {
                continue;
            }
            let Some(name) = doc.get("name").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            match self.group_doc(&name).await {
                Ok(full) => *doc = full,
                Err(e) if e.kind() == ErrorKind::NotFound => doc.clear(),
                Err(e) => return Err(e),
            }
        }
        docs.retain(|d| !d.is_empty());
        Ok(docs)
    }
}

fn rename_unsupported(id: &str, to: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "DSS keeps memberships by group name, so `{id}` cannot be renamed to `{to}`: create the new group and move the members"
        ),
    )
    .with_resource(id)
}

#[async_trait]
impl Groups for DataikuAdapter {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        let mut attempt = 1;
        let mut all = loop {
            match self
                .group_list()
                .await?
                .iter()
                .map(|d| to_group(d, "GET /admin/groups/"))
                .collect::<Result<Vec<_>>>()
            {
                Ok(all) => break all,
                // A list with an unusable item (no name) is read again: it was mangled.
                Err(e)
                    if e.kind() == ErrorKind::Protocol
                        && attempt < crate::users::LIST_READ_ATTEMPTS =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let size = all.len().max(1);
        Page::slice(all, &page, size)
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        to_group(
            &self.group_doc(id).await?,
            &format!("GET /admin/groups/{id}"),
        )
    }

    /// Checks the name is free, then `POST /admin/groups/` with name, description and
    /// source type `LOCAL`.
    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        if group.name.trim().is_empty() || group.name.contains('/') {
            return Err(Error::invalid_input(format!(
                "`{}` is not a usable DSS group name",
                group.name
            )));
        }
        // What DSS does with a create for a name that exists is not documented (it might
        // replace the definition and its permission flags), so the name is checked first,
        // in a group listing shared with the creates running at the same moment.
        let taken = self
            .group_list_shared()
            .await?
            .iter()
            .any(|d| d.get("name").and_then(Value::as_str) == Some(group.name.as_str()));
        if taken {
            return Err(Error::already_exists(format!(
                "a DSS group named `{}` already exists",
                group.name
            ))
            .with_resource(&group.name));
        }
        self.client
            .write(
                Method::POST,
                ApiPath::dir(GROUPS),
                &[],
                Some(&json!({
                    "name": group.name,
                    "description": group.description,
                    "sourceType": GROUP_SOURCE_TYPE,
                })),
            )
            .await?;
        // DSS names a group by its name, so the request says what was created; reading it
        // back would cost a request per group and tell nothing more.
        Ok(Group {
            id: group.name.clone(),
            name: group.name.clone(),
            description: group.description.clone().filter(|d| !d.is_empty()),
        })
    }

    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        if let Some(to) = changes.name.as_ref().filter(|n| *n != id) {
            return Err(rename_unsupported(id, to));
        }
        let _guard = self.locks.lock(&group_key(id)).await;
        let mut doc = self.group_doc_for_update(id).await?;
        if let Some(d) = &changes.description {
            let new = d.clone().map_or(Value::Null, Value::String);
            if doc.get("description") != Some(&new) {
                doc.insert("description".into(), new);
                self.put_group_doc(id, &doc).await?;
            }
        }
        to_group(&doc, &format!("GET /admin/groups/{id}"))
    }

    async fn delete_group(&self, id: &str) -> Result<()> {
        let _guard = self.locks.lock(&group_key(id)).await;
        self.client
            .write(
                Method::DELETE,
                ApiPath::new(&["admin", "groups", id]),
                &[],
                None,
            )
            .await
    }
}
