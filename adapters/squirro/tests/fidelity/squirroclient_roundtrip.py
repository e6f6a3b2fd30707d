"""Both directions between squirroclient and the idbridge adapter, field by field.

`write` makes with the official client every kind of change the adapter makes (users with
e-mail, display name and custom keys, changes of each, server roles, groups created,
renamed and deleted, members added and removed, project roles per user and group, added,
changed and removed, grants (sessions) created and deleted, a user deleted) and prints
`MANIFEST <json>`: the values the adapter must read back.

`read` takes the manifest the caller wrote after the adapter made the same kinds of
change, reads every record through the client (single reads and listings) and compares
each field; it prints every mismatch before failing.

Called from squirroclient_fidelity.py; see there for the arguments.
"""

import json

from squirro_client.exceptions import NotFoundError


def _first_project(admin):
    projects = admin.get_user_projects()
    assert projects, "no project"
    return projects[0]


def write(admin, token):
    admin.authenticate(refresh_token=token)
    out = {"users": [], "absent_users": [], "groups": [], "absent_groups": [], "sessions": []}

    # A user with e-mail, display name and two custom keys; then each field changes.
    named = admin.add_user(email="client.named@example.com", password="client-pass-9", role="user")
    uid = named["id"]
    admin.update_user_data(uid, {"full_name": "Client Named", "department": "QA", "site": "Bern"})
    admin.update_user_data(uid, {"email": "client.renamed@example.com"})
    admin.update_user_data(uid, {"full_name": "Client Renamed", "department": None, "site": "Basel"})
    out["users"].append({
        "id": uid, "email": "client.renamed@example.com", "full_name": "Client Renamed",
        "attributes": {"site": "Basel"}, "role": "user",
    })

    # Server roles: one given at creation, one changed through the user-data update.
    boss = admin.add_user(email="client.admin@example.com", role="admin")
    out["users"].append({"id": boss["id"], "email": "client.admin@example.com",
                         "full_name": None, "attributes": {}, "role": "admin"})
    demoted = admin.add_user(email="client.reader@example.com", role="user")
    admin.update_user_data(demoted["id"], {"role": "reader"})
    out["users"].append({"id": demoted["id"], "email": "client.reader@example.com",
                         "full_name": None, "attributes": {}, "role": "reader"})

    gone = admin.add_user(email="client.gone@example.com", role="user")
    admin.delete_user(gone["id"])
    out["absent_users"].append(gone["id"])

    # Groups: created with a member, renamed, members added and removed; one deleted.
    team = admin.create_group("Client Team", members=[{"id": uid}])
    gid = team["id"]
    admin.update_group(gid, "Client Team Renamed")
    admin.add_group_member(gid, boss["id"])
    admin.add_group_member(gid, demoted["id"])
    admin.delete_group_member(gid, uid)
    out["groups"].append({"id": gid, "name": "Client Team Renamed",
                          "members": sorted([boss["id"], demoted["id"]])})
    empty = admin.create_group("Client Empty")
    out["groups"].append({"id": empty["id"], "name": "Client Empty", "members": []})
    doomed = admin.create_group("Client Doomed", members=[{"id": uid}])
    admin.delete_group(doomed["id"])
    out["absent_groups"].append(doomed["id"])

    # Project roles for a user and a group: added, changed, and one removed.
    project = _first_project(admin)
    pid = project["id"]
    admin.add_project_member(pid, "reader", user_id=uid)
    admin.update_project_member(pid, uid, "admin")
    admin.add_project_member(pid, "member", group_id=gid)
    admin.add_project_member(pid, "reader", user_id=demoted["id"])
    admin.delete_project_member(pid, demoted["id"])
    out["project"] = {
        "id": pid, "title": project["title"],
        "principals": [uid, gid, demoted["id"], boss["id"]],
        "grants": [
            {"type": "user", "id": uid, "role": "admin"},
            {"type": "group", "id": gid, "role": "member"},
        ],
    }

    # Sessions: two grants, one deleted.
    kept = admin.new_grant(uid, "user")
    dropped = admin.new_grant(uid, "user")
    admin.delete_session(uid, dropped["id"])
    out["sessions"].append({"user": uid, "ids": [kept["id"]], "absent": [dropped["id"]]})

    print("MANIFEST " + json.dumps(out), flush=True)
    print("WRITE OK", flush=True)


def _text(value):
    """None for an absent, null or empty value; the value's text otherwise."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


def read(admin, token, manifest_path):
    admin.authenticate(refresh_token=token)
    with open(manifest_path, encoding="utf-8") as f:
        want = json.load(f)
    problems = []

    def check(where, field, expected, actual):
        if _text(expected) != _text(actual):
            problems.append(f"{where}: `{field}` is {actual!r}, the adapter wrote {expected!r}")

    listed = {u["id"]: u for u in admin.get_users()["users"]}
    for user in want["users"]:
        uid = user["id"]
        single = admin.get_user_data(uid)
        for source, record in (("get_user_data", single), ("get_users", listed.get(uid))):
            where = f"{source}({uid})"
            if record is None:
                problems.append(f"{where}: the user is not listed")
                continue
            check(where, "email", user["email"], record.get("email"))
            check(where, "full_name", user["full_name"], record.get("full_name"))
            check(where, "role", user["role"], record.get("role"))
            for key, value in user["attributes"].items():
                check(where, key, value, record.get(key))
        # Custom keys the adapter removed must be gone from the single read.
        for key in user.get("removed", []):
            check(f"get_user_data({uid})", key, None, single.get(key))

    for uid in want["absent_users"]:
        try:
            admin.get_user_data(uid)
            problems.append(f"get_user_data({uid}): the deleted user is still there")
        except NotFoundError:
            pass
        if uid in listed:
            problems.append(f"get_users: the deleted user {uid} is still listed")

    all_groups = {g["id"]: g for g in admin.get_groups()}
    for group in want["groups"]:
        gid = group["id"]
        for source, record in (("get_group", admin.get_group(gid)), ("get_groups", all_groups.get(gid))):
            where = f"{source}({gid})"
            if record is None:
                problems.append(f"{where}: the group is not listed")
                continue
            check(where, "name", group["name"], record.get("name"))
            members = sorted(m["id"] for m in (record.get("members") or []))
            if members != sorted(group["members"]):
                problems.append(f"{where}: members are {members}, the adapter wrote {sorted(group['members'])}")
    for gid in want["absent_groups"]:
        try:
            admin.get_group(gid)
            problems.append(f"get_group({gid}): the deleted group is still there")
        except NotFoundError:
            pass

    project = want["project"]
    principals = set(project["principals"])
    members = admin.get_project_members(project["id"])["members"]
    seen = sorted(
        (m["member_type"], m["member_id"], m["project_role"])
        for m in members
        if m["member_id"] in principals
    )
    expected = sorted((g["type"], g["id"], g["role"]) for g in project["grants"])
    if seen != expected:
        problems.append(f"get_project_members({project['id']}): {seen}, the adapter wrote {expected}")

    for s in want["sessions"]:
        uid = s["user"]
        grants = sorted(g["id"] for g in admin.get_user_grants(uid)["grants"])
        if grants != sorted(s["ids"]):
            problems.append(f"get_user_grants({uid}): {grants}, the adapter left {sorted(s['ids'])}")
        for sid in s["ids"]:
            if admin.get_session(uid, sid).get("id") != sid:
                problems.append(f"get_session({uid}, {sid}): another session")
        for sid in s["absent"]:
            try:
                admin.get_session(uid, sid)
                problems.append(f"get_session({uid}, {sid}): the revoked session is still there")
            except NotFoundError:
                pass

    for p in problems:
        print("MISMATCH " + p, flush=True)
    assert not problems, f"{len(problems)} field(s) differ"
    print("READ OK", flush=True)
