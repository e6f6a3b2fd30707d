//! Group scenarios: list, get, create, rename/update, delete, batches and pagination.

use std::collections::HashSet;

use idbridge_core::{ErrorKind, Group, GroupChanges, GroupWrite, NewGroup};

use super::paging::check_paged_listing;
use super::{Ctx, Fail, Outcome, Verdict, ensure, expect_kind, scenarios};

scenarios! { "groups";
    list_contains_created ["groups_create", "groups_list"],
    create_then_get ["groups_create", "groups_get"],
    create_duplicate_name_already_exists ["groups_create"],
    get_missing_not_found ["groups_get"],
    rename_keeps_id ["groups_create", "groups_update", "groups_get"],
    update_description ["groups_create", "groups_update", "groups_get", "groups_description"],
    rename_to_taken_name_already_exists ["groups_create", "groups_update"],
    update_missing_not_found ["groups_update"],
    delete_then_get_not_found ["groups_create", "groups_delete", "groups_get"],
    delete_removes_from_list ["groups_create", "groups_delete", "groups_list"],
    delete_missing_not_found ["groups_delete"],
    batch_mixed_writes_in_order ["groups_create", "groups_update", "groups_delete"],
    pagination_three_pages ["groups_create", "groups_list"],
}

async fn list_contains_created(cx: &Ctx) -> Outcome {
    let a = cx.new_group().await?;
    let b = cx.new_group().await?;
    let all = cx.h.all_groups().await?;
    for g in [&a, &b] {
        let n = all.iter().filter(|x| x.id == g.id).count();
        ensure!(n == 1, "group {} listed {n} times", g.id);
        ensure!(
            all.iter().any(|x| x.id == g.id && x.name == g.name),
            "group {} listed under another name",
            g.id
        );
    }
    Ok(Verdict::Passed)
}

async fn create_then_get(cx: &Ctx) -> Outcome {
    let spec = cx.group_spec();
    let created = cx.create_group(&spec).await?;
    ensure!(!created.id.is_empty(), "created group has an empty id");
    ensure!(
        created.name == spec.name,
        "create returned name {}, asked for {}",
        created.name,
        spec.name
    );
    let got = cx.h.get_group(&created.id).await?;
    ensure!(got.id == created.id, "get returned id {}", got.id);
    ensure!(got.name == spec.name, "get returned name {}", got.name);
    Ok(Verdict::Passed)
}

async fn create_duplicate_name_already_exists(cx: &Ctx) -> Outcome {
    let spec = cx.group_spec();
    cx.create_group(&spec).await?;
    let again = cx.h.create_group(&spec).await;
    expect_kind(
        again,
        ErrorKind::AlreadyExists,
        "second create with the same name",
    )?;
    Ok(Verdict::Passed)
}

async fn get_missing_not_found(cx: &Ctx) -> Outcome {
    expect_kind(
        cx.h.get_group(&cx.missing_id()).await,
        ErrorKind::NotFound,
        "get of a missing id",
    )?;
    Ok(Verdict::Passed)
}

async fn rename_keeps_id(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    let name = cx.unique("renamed");
    let changes = GroupChanges {
        name: Some(name.clone()),
        ..GroupChanges::default()
    };
    match cx.h.update_group(&group.id, &changes).await {
        Ok(g) => ensure!(g.id == group.id, "rename changed the id to {}", g.id),
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            return Ok(Verdict::Ignored(format!(
                "the adapter reports renaming a group as unsupported: {e}"
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let got = cx.h.get_group(&group.id).await?;
    ensure!(
        got.name == name,
        "name after rename: {}, wanted {name}",
        got.name
    );
    Ok(Verdict::Passed)
}

async fn update_description(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    let text = format!("described {}", cx.unique("d"));
    let changes = GroupChanges {
        description: Some(Some(text.clone())),
        ..GroupChanges::default()
    };
    cx.h.update_group(&group.id, &changes).await?;
    let got = cx.h.get_group(&group.id).await?;
    ensure!(
        got.description.as_deref() == Some(text.as_str()),
        "description after update: {:?}",
        got.description
    );
    ensure!(
        got.name == group.name,
        "updating the description renamed the group"
    );
    Ok(Verdict::Passed)
}

async fn rename_to_taken_name_already_exists(cx: &Ctx) -> Outcome {
    let a = cx.new_group().await?;
    let b = cx.new_group().await?;
    let changes = GroupChanges {
        name: Some(a.name.clone()),
        ..GroupChanges::default()
    };
    match cx.h.update_group(&b.id, &changes).await {
        Err(e) if e.kind() == ErrorKind::Unsupported => Ok(Verdict::Ignored(format!(
            "the adapter reports renaming a group as unsupported: {e}"
        ))),
        other => {
            expect_kind(other, ErrorKind::AlreadyExists, "renaming to a taken name")?;
            Ok(Verdict::Passed)
        }
    }
}

async fn update_missing_not_found(cx: &Ctx) -> Outcome {
    // A description change where the platform stores one (some cannot rename), else a
    // rename: the handle refuses a description without `groups_description`.
    let changes = if cx.caps.groups_description {
        GroupChanges {
            description: Some(Some("nothing".to_string())),
            ..GroupChanges::default()
        }
    } else {
        GroupChanges {
            name: Some(cx.unique("g")),
            ..GroupChanges::default()
        }
    };
    expect_kind(
        cx.h.update_group(&cx.missing_id(), &changes).await,
        ErrorKind::NotFound,
        "update of a missing id",
    )?;
    Ok(Verdict::Passed)
}

async fn delete_then_get_not_found(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    cx.h.delete_group(&group.id).await?;
    expect_kind(
        cx.h.get_group(&group.id).await,
        ErrorKind::NotFound,
        "get after delete",
    )?;
    Ok(Verdict::Passed)
}

async fn delete_removes_from_list(cx: &Ctx) -> Outcome {
    let keep = cx.new_group().await?;
    let gone = cx
        .create_group(&NewGroup {
            name: cx.unique("g"),
            description: None,
        })
        .await?;
    cx.h.delete_group(&gone.id).await?;
    let all = cx.h.all_groups().await?;
    ensure!(
        !all.iter().any(|g| g.id == gone.id),
        "deleted group {} still listed",
        gone.id
    );
    ensure!(
        all.iter().any(|g| g.id == keep.id),
        "deleting one group removed another ({}) from the list",
        keep.id
    );
    Ok(Verdict::Passed)
}

async fn delete_missing_not_found(cx: &Ctx) -> Outcome {
    expect_kind(
        cx.h.delete_group(&cx.missing_id()).await,
        ErrorKind::NotFound,
        "delete of a missing id",
    )?;
    Ok(Verdict::Passed)
}

async fn pagination_three_pages(cx: &Ctx) -> Outcome {
    let mut created = HashSet::new();
    for _ in 0..7 {
        created.insert(cx.new_group().await?.id);
    }
    check_paged_listing(
        &created,
        |req| cx.h.list_groups(req),
        |g: &Group| g.id.clone(),
    )
    .await
}

/// A batch of group writes ([`idbridge_core::AdapterHandle::write_groups`]) answers each
/// write in order, as the single-write method would: a create with its record, an update
/// (a description change where the platform stores one, since some cannot rename, else a
/// rename) with the updated record, a delete with nothing, a taken name with `AlreadyExists` and a
/// missing id with `NotFound`, the others done all the same.
async fn batch_mixed_writes_in_order(cx: &Ctx) -> Outcome {
    let existing = cx.new_group().await?;
    let doomed = cx.new_group().await?;
    let taken = cx.new_group().await?;
    let fresh = cx.group_spec();
    let new_name = cx.unique("g");
    let changes = if cx.caps.groups_description {
        GroupChanges {
            description: Some(Some("batched".to_string())),
            ..GroupChanges::default()
        }
    } else {
        GroupChanges {
            name: Some(new_name.clone()),
            ..GroupChanges::default()
        }
    };
    let batch = vec![
        GroupWrite::Create {
            group: fresh.clone(),
        },
        GroupWrite::Update {
            id: existing.id.clone(),
            changes: changes.clone(),
        },
        GroupWrite::Delete {
            id: doomed.id.clone(),
        },
        GroupWrite::Create {
            group: NewGroup {
                name: taken.name.clone(),
                description: None,
            },
        },
        GroupWrite::Delete {
            id: cx.missing_id(),
        },
    ];
    let results = cx.h.write_groups(batch).await;
    if let Some(Ok(Some(g))) = results.first() {
        cx.remember_group(&g.id);
    }
    if let Some(Ok(Some(g))) = results.get(3) {
        cx.remember_group(&g.id);
    }
    ensure!(results.len() == 5, "{} results for 5 writes", results.len());
    match &results[0] {
        Ok(Some(g)) => ensure!(
            g.name.to_lowercase() == fresh.name.to_lowercase(),
            "batch create returned name {}",
            g.name
        ),
        other => {
            return Err(Fail(format!(
                "batch create: expected a record, got {other:?}"
            )));
        }
    }
    match &results[1] {
        Ok(Some(g)) => ensure!(g.id == existing.id, "batch update returned id {}", g.id),
        other => {
            return Err(Fail(format!(
                "batch update: expected a record, got {other:?}"
            )));
        }
    }
    ensure!(
        matches!(&results[2], Ok(None)),
        "batch delete: expected Ok(None), got {:?}",
        results[2]
    );
    expect_kind(
        results[3].clone(),
        ErrorKind::AlreadyExists,
        "batch create of a taken name",
    )?;
    expect_kind(
        results[4].clone(),
        ErrorKind::NotFound,
        "batch delete of a missing id",
    )?;
    if cx.caps.groups_get {
        let got = cx.h.get_group(&existing.id).await?;
        match &changes.description {
            Some(wanted) => ensure!(
                got.description == *wanted,
                "batch description change not applied: {:?}",
                got.description
            ),
            None => ensure!(
                got.name.to_lowercase() == new_name.to_lowercase(),
                "batch rename not applied: {}",
                got.name
            ),
        }
        expect_kind(
            cx.h.get_group(&doomed.id).await,
            ErrorKind::NotFound,
            "get of a group the batch deleted",
        )?;
    }
    Ok(Verdict::Passed)
}
