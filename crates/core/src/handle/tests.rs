//! Tests of the handle's checks.

use std::sync::Mutex;

use std::sync::Arc;

use async_trait::async_trait;

use super::*;
use crate::ErrorKind;
use crate::model::{
    Group, GroupChanges, GroupWrite, MemberBatchKey, MemberWrite, MemberWriteResult, NewGroup,
    NewUser, User, UserChanges, UserWrite, UserWriteResult,
};
use crate::{Groups, Memberships, Roles, Sessions, Users};

/// Records what reaches it; adds to group `missing` fail with NotFound. Membership batches
/// are recorded by size (in `batches`) and run one by one; one request carries one group's
/// membership writes.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<String>>,
    batches: Mutex<Vec<usize>>,
    protected: Protected,
    caps: Capabilities,
}

#[async_trait]
impl Users for Recorder {
    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        self.seen
            .lock()
            .expect("lock")
            .push(format!("update {id} {:?}", changes.login));
        Err(Error::not_found("recorded only"))
    }

    /// Records the batch's size, then runs it as the default does (creates only recorded).
    async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        self.batches.lock().expect("lock").push(batch.len());
        let mut out = Vec::new();
        for w in batch {
            out.push(match &w {
                UserWrite::Create { user } => {
                    self.seen
                        .lock()
                        .expect("lock")
                        .push(format!("create {}", user.login));
                    Ok(None)
                }
                UserWrite::Update { id, changes } => self.update_user(id, changes).await.map(Some),
                UserWrite::SetEnabled { id, enabled } => {
                    self.set_user_enabled(id, *enabled).await.map(Some)
                }
                UserWrite::Delete { id } => self.delete_user(id).await.map(|()| None),
            });
        }
        out
    }
}

/// Group writes are recorded; a create returns the group with its name as id, deleting
/// group `missing` fails with NotFound. Group batches are recorded by size and run one by
/// one, as the default does.
#[async_trait]
impl Groups for Recorder {
    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        self.seen
            .lock()
            .expect("lock")
            .push(format!("create {}", group.name));
        Ok(Group {
            id: group.name.clone(),
            name: group.name.clone(),
            description: group.description.clone(),
        })
    }

    async fn delete_group(&self, id: &str) -> Result<()> {
        self.seen.lock().expect("lock").push(format!("delete {id}"));
        if id == "missing" {
            return Err(Error::not_found("no such group"));
        }
        Ok(())
    }

    async fn write_groups(&self, batch: Vec<GroupWrite>) -> Vec<crate::GroupWriteResult> {
        self.batches.lock().expect("lock").push(batch.len());
        let mut out = Vec::new();
        for w in batch {
            out.push(match &w {
                GroupWrite::Create { group } => self.create_group(group).await.map(Some),
                GroupWrite::Update { id, changes } => {
                    self.update_group(id, changes).await.map(Some)
                }
                GroupWrite::Delete { id } => self.delete_group(id).await.map(|()| None),
            });
        }
        out
    }
}
#[async_trait]
impl Roles for Recorder {}
#[async_trait]
impl Sessions for Recorder {}
#[async_trait]
impl Memberships for Recorder {
    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.seen
            .lock()
            .expect("lock")
            .push(format!("add {group} {member}"));
        if group == "missing" {
            return Err(Error::not_found("no such group").with_vendor(Some("E404"), None::<String>));
        }
        Ok(())
    }

    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.seen
            .lock()
            .expect("lock")
            .push(format!("remove {group} {member}"));
        Ok(())
    }

    fn member_batch_key(&self, write: &MemberWrite) -> MemberBatchKey {
        MemberBatchKey::Shared(write.group().to_string())
    }

    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        self.batches.lock().expect("lock").push(batch.len());
        let mut out = Vec::new();
        for w in batch {
            out.push(match &w {
                MemberWrite::Add { group, member } => self.add_member(group, member).await,
                MemberWrite::Remove { group, member } => self.remove_member(group, member).await,
            });
        }
        out
    }
}

#[async_trait]
impl Adapter for Recorder {
    fn kind(&self) -> &'static str {
        "recorder"
    }
    fn capabilities(&self) -> Capabilities {
        self.caps
    }
    fn protected(&self) -> Protected {
        self.protected.clone()
    }
}

impl Recorder {
    /// What reached it so far, in order.
    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

/// A recorder declaring `caps` and protecting `protected`, and the handle `name` over it.
fn recorded(
    name: &str,
    caps: Capabilities,
    protected: Protected,
) -> (Arc<Recorder>, AdapterHandle) {
    let rec = Arc::new(Recorder {
        caps,
        protected,
        ..Recorder::default()
    });
    (rec.clone(), AdapterHandle::new(name, rec))
}

/// Adding and removing members declared, nothing else.
fn membership_caps() -> Capabilities {
    Capabilities {
        members_add: true,
        members_remove: true,
        ..Capabilities::default()
    }
}

fn add(group: &str, member: Principal) -> MemberWrite {
    MemberWrite::Add {
        group: group.into(),
        member,
    }
}

fn remove(group: &str, member: Principal) -> MemberWrite {
    MemberWrite::Remove {
        group: group.into(),
        member,
    }
}

fn user(id: &str) -> Principal {
    Principal::User(id.to_string())
}

#[tokio::test]
async fn write_members_checks_each_write_and_runs_the_rest_one_by_one_in_order() {
    let (rec, h) = recorded(
        "t",
        membership_caps(),
        Protected {
            user_ids: ["admin".to_string()].into_iter().collect(),
            ..Protected::default()
        },
    );
    let results = h
        .write_members(vec![
            add("g1", user("a")),
            remove("g1", user("admin")),
            add("g2", Principal::Group("g1".into())),
            add("missing", user("b")),
            remove("g2", user("c")),
        ])
        .await;
    assert_eq!(results.len(), 5);
    assert!(results[0].is_ok());
    let denied = results[1].as_ref().expect_err("protected");
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    let nested = results[2].as_ref().expect_err("no nesting");
    assert_eq!(nested.kind(), ErrorKind::Unsupported);
    let missing = results[3].as_ref().expect_err("missing group");
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("missing"), "{missing}");
    assert!(results[4].is_ok());
    assert_eq!(
        rec.seen(),
        vec![
            "add g1 user a".to_string(),
            "add missing user b".to_string(),
            "remove g2 user c".to_string(),
        ],
        "only the accepted writes reach the adapter, in order"
    );
}

#[tokio::test]
async fn an_adapters_error_names_the_system_and_operation_and_keeps_the_vendor_code() {
    let (_, h) = recorded("portal", membership_caps(), Protected::default());
    let e = h
        .add_member("missing", &user("a"))
        .await
        .expect_err("the adapter refuses");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(!e.is_retryable());
    assert_eq!(e.system(), Some("portal"));
    assert_eq!(e.operation(), Some(Operation::MembersAdd.as_str()));
    assert_eq!(e.vendor_code(), Some("E404"));
}

#[tokio::test]
async fn write_members_refuses_undeclared_operations_per_write() {
    let (rec, h) = recorded(
        "t",
        Capabilities {
            members_add: true,
            ..Capabilities::default()
        },
        Protected::default(),
    );
    let results = h
        .write_members(vec![remove("g", user("a")), add("g", user("a"))])
        .await;
    let refused = results[0].as_ref().expect_err("undeclared");
    assert_eq!(refused.kind(), ErrorKind::Unsupported);
    assert!(results[1].is_ok());
    assert_eq!(rec.seen().len(), 1);
}

#[tokio::test]
async fn a_forged_addition_to_a_privileged_group_is_refused() {
    let (rec, h) = recorded(
        "bi",
        membership_caps(),
        Protected {
            privileged_group_ids: ["admins".to_string()].into_iter().collect(),
            ..Protected::default()
        },
    );
    let err = h
        .add_member("admins", &user("evil"))
        .await
        .expect_err("privileged");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("`admins` is privileged"), "{err}");
    let results = h
        .write_members(vec![
            add("admins", user("evil")),
            add("eng", user("evil")),
            remove("admins", user("gone")),
        ])
        .await;
    let denied = results[0].as_ref().expect_err("privileged in a batch");
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    assert!(results[1].is_ok() && results[2].is_ok());
    assert_eq!(
        rec.seen(),
        vec![
            "add eng user evil".to_string(),
            "remove admins user gone".to_string()
        ],
        "nothing is added to the privileged group"
    );
}

#[tokio::test]
async fn qualifiers_the_platform_lacks_are_refused_before_the_adapter() {
    let (rec, h) = recorded(
        "t",
        Capabilities {
            users_create: true,
            groups_create: true,
            groups_update: true,
            ..Capabilities::default()
        },
        Protected::default(),
    );
    let mut user = NewUser::new("ann");
    user.password = Some(crate::Secret::new("Initial-pw-123"));
    let err = h.create_user(&user).await.expect_err("password");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("users_create_password"), "{err}");
    let batch = h.write_users(vec![UserWrite::Create { user }]).await;
    let err = batch[0].as_ref().expect_err("password in a batch");
    assert!(err.to_string().contains("users_create_password"), "{err}");
    let err = h
        .create_group(&NewGroup {
            name: "eng".into(),
            description: Some("engineers".into()),
        })
        .await
        .expect_err("description");
    assert!(err.to_string().contains("groups_description"), "{err}");
    let err = h
        .update_group(
            "g1",
            &GroupChanges {
                description: Some(None),
                ..GroupChanges::default()
            },
        )
        .await
        .expect_err("description change");
    assert!(err.to_string().contains("groups_description"), "{err}");
    assert!(rec.seen().is_empty());
}

#[tokio::test]
async fn a_declared_operation_left_at_its_default_is_unimplemented_not_unsupported() {
    let (_, h) = recorded(
        "t",
        Capabilities {
            users_delete: true,
            ..Capabilities::default()
        },
        Protected::default(),
    );
    let err = h.delete_user("u1").await.expect_err("not implemented");
    assert_eq!(err.kind(), ErrorKind::Unimplemented);
    let text = err.to_string();
    assert!(
        text.contains("recorder") && text.contains("users_delete"),
        "{text}"
    );
    let batch = h
        .write_users(vec![UserWrite::Delete { id: "u1".into() }])
        .await;
    let err = batch[0].as_ref().expect_err("not implemented in a batch");
    assert_eq!(err.kind(), ErrorKind::Unimplemented);
    // Undeclared stays unsupported.
    let err = h.get_user("u1").await.expect_err("undeclared");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

/// A wrapper that overrides nothing still reaches every method of the inner adapter.
struct Passthrough(Arc<Recorder>);

impl crate::Forward for Passthrough {
    fn forward_to(&self) -> &dyn Adapter {
        self.0.as_ref()
    }
}

#[tokio::test]
async fn a_forwarding_wrapper_reaches_the_inner_adapter_for_what_it_does_not_override() {
    let rec = Arc::new(Recorder {
        caps: membership_caps(),
        ..Recorder::default()
    });
    let h = AdapterHandle::new("t", Arc::new(Passthrough(rec.clone())));
    assert_eq!(h.kind(), "recorder");
    assert!(h.capabilities().members_add);
    h.add_member("g", &user("a")).await.expect("forwarded");
    let results = h.write_members(vec![remove("g", user("b"))]).await;
    assert!(results[0].is_ok());
    assert_eq!(
        rec.seen(),
        vec!["add g user a".to_string(), "remove g user b".to_string()]
    );
}

fn rename(login: &str) -> UserChanges {
    UserChanges {
        login: Some(login.to_string()),
        ..UserChanges::default()
    }
}

#[tokio::test]
async fn a_login_change_is_refused_where_logins_are_immutable() {
    let caps = Capabilities {
        users_update: true,
        users_login_immutable: true,
        ..Capabilities::default()
    };
    let rec = Arc::new(Recorder {
        caps,
        ..Recorder::default()
    });
    let h = AdapterHandle::new("t", rec.clone());
    let err = h
        .update_user("ann", &rename("bea"))
        .await
        .expect_err("rename");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("users_login_immutable"), "{err}");
    let batch = h
        .write_users(vec![
            UserWrite::Update {
                id: "ann".into(),
                changes: rename("bea"),
            },
            UserWrite::Update {
                id: "cid".into(),
                changes: UserChanges {
                    display_name: Some(Some("Cid".into())),
                    ..UserChanges::default()
                },
            },
        ])
        .await;
    let err = batch[0].as_ref().expect_err("rename in a batch");
    assert!(err.to_string().contains("users_login_immutable"), "{err}");
    let reached = batch[1]
        .as_ref()
        .expect_err("the recorder answers NotFound");
    assert_eq!(reached.kind(), ErrorKind::NotFound, "{reached}");
    // The login the id already is changes nothing and reaches the adapter.
    let _ = h.update_user("ann", &rename("ann")).await;
    assert_eq!(
        *rec.seen.lock().expect("lock"),
        vec![
            "update cid None".to_string(),
            "update ann Some(\"ann\")".to_string()
        ]
    );

    // Where logins can change, the rename reaches the adapter.
    let rec = Arc::new(Recorder {
        caps: Capabilities {
            users_login_immutable: false,
            ..caps
        },
        ..Recorder::default()
    });
    let h = AdapterHandle::new("t", rec.clone());
    let _ = h.update_user("ann", &rename("bea")).await;
    assert_eq!(
        *rec.seen.lock().expect("lock"),
        vec!["update ann Some(\"bea\")".to_string()]
    );
}

#[tokio::test]
async fn batches_never_exceed_the_declared_maximum() {
    let rec = Arc::new(Recorder {
        caps: Capabilities {
            users_create: true,
            users_batch_max: Some(2),
            members_add: true,
            members_batch_max: Some(2),
            ..Capabilities::default()
        },
        ..Recorder::default()
    });
    let h = AdapterHandle::new("t", rec.clone());
    let users = h
        .write_users(
            ["a", "b", "c"]
                .iter()
                .map(|l| UserWrite::Create {
                    user: NewUser::new(*l),
                })
                .collect(),
        )
        .await;
    assert!(users.iter().all(Result::is_ok), "{users:?}");
    let adds: Vec<MemberWrite> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|u| MemberWrite::Add {
            group: "g".into(),
            member: user(u),
        })
        .collect();
    let members = h.write_members(adds).await;
    assert_eq!(members.len(), 5);
    assert!(members.iter().all(Result::is_ok), "{members:?}");
    assert_eq!(*rec.batches.lock().expect("lock"), vec![2, 1, 2, 2, 1]);
}

#[test]
fn the_batch_key_is_the_adapters_only_where_it_takes_membership_batches() {
    let write = MemberWrite::Add {
        group: "g".into(),
        member: user("a"),
    };
    let key = |max| {
        let rec = Arc::new(Recorder {
            caps: Capabilities {
                members_add: true,
                members_batch_max: max,
                ..Capabilities::default()
            },
            ..Recorder::default()
        });
        AdapterHandle::new("t", rec).member_batch_key(&write)
    };
    assert_eq!(key(None), MemberBatchKey::Alone);
    assert_eq!(key(Some(1)), MemberBatchKey::Alone);
    assert_eq!(key(Some(10)), MemberBatchKey::Shared("g".into()));
}

/// A wrapper that says what it found out; everything else forwards.
struct Described(Arc<Recorder>);

impl crate::Forward for Described {
    fn forward_to(&self) -> &dyn Adapter {
        self.0.as_ref()
    }
    fn facts(&self) -> Vec<(String, String)> {
        vec![
            ("bulk".into(), "no".into()),
            ("filter".into(), "yes".into()),
        ]
    }
}

/// A wrapper that overrides nothing.
struct Plain(Arc<dyn Adapter>);

impl crate::Forward for Plain {
    fn forward_to(&self) -> &dyn Adapter {
        self.0.as_ref()
    }
}

#[test]
fn facts_default_to_none_and_pass_through_wrappers_in_order() {
    let (rec, h) = recorded("t", Capabilities::default(), Protected::default());
    assert!(h.facts().is_empty());
    let wrapped = AdapterHandle::new("w", Arc::new(Plain(Arc::new(Described(rec)))));
    assert_eq!(
        wrapped.facts(),
        vec![
            ("bulk".to_string(), "no".to_string()),
            ("filter".to_string(), "yes".to_string())
        ]
    );
}

#[tokio::test]
async fn write_groups_checks_each_write_and_sends_the_rest_in_batches_of_the_maximum() {
    let (rec, h) = recorded(
        "t",
        Capabilities {
            groups_create: true,
            groups_delete: true,
            groups_batch_max: Some(2),
            ..Capabilities::default()
        },
        Protected {
            group_ids: ["admins".to_string()].into_iter().collect(),
            ..Protected::default()
        },
    );
    let new = |name: &str, description: Option<&str>| GroupWrite::Create {
        group: NewGroup {
            name: name.into(),
            description: description.map(str::to_string),
        },
    };
    let results = h
        .write_groups(vec![
            new("eng", None),
            GroupWrite::Delete {
                id: "admins".into(),
            },
            new("ops", Some("no descriptions here")),
            GroupWrite::Update {
                id: "eng".into(),
                changes: GroupChanges::default(),
            },
            GroupWrite::Delete {
                id: "missing".into(),
            },
            new("sales", None),
        ])
        .await;
    assert_eq!(results.len(), 6);
    assert_eq!(
        results[0]
            .as_ref()
            .expect("created")
            .as_ref()
            .map(|g| &g.id),
        Some(&"eng".to_string())
    );
    let kinds: Vec<Option<ErrorKind>> = results
        .iter()
        .map(|r| r.as_ref().err().map(Error::kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            None,
            Some(ErrorKind::PermissionDenied),
            Some(ErrorKind::Unsupported),
            Some(ErrorKind::Unsupported),
            Some(ErrorKind::NotFound),
            None,
        ]
    );
    let missing = results[4].as_ref().expect_err("missing");
    assert_eq!(missing.system(), Some("t"));
    assert_eq!(missing.operation(), Some(Operation::GroupsDelete.as_str()));
    assert!(matches!(results[5], Ok(Some(_))));
    assert_eq!(
        rec.seen(),
        vec![
            "create eng".to_string(),
            "delete missing".to_string(),
            "create sales".to_string(),
        ],
        "only the accepted writes reach the adapter, in order"
    );
    assert_eq!(*rec.batches.lock().expect("lock"), vec![2, 1]);
}
