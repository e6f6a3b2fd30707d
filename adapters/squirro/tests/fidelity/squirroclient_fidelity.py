"""Drives the official squirroclient against a Squirro server (the emulator).

Usage: squirroclient_fidelity.py CLUSTER_URL TENANT [walk | write | read MANIFEST]
The administrator's refresh token comes from the environment variable
SQUIRRO_REFRESH_TOKEN, so that it never shows in a process list.

- `walk` (the default) is described below.
- `write` makes, with the client, every kind of change the idbridge adapter makes and
  prints `MANIFEST <json>`: what the client wrote, for the caller to read back through
  the adapter field by field.
- `read MANIFEST` reads, with the client, what the adapter wrote (the JSON file MANIFEST
  says what to expect) and compares it field by field; every mismatch is printed as
  `MISMATCH ...` and the script fails.

Walks through what an administrator does with the client: authenticate with a refresh
token, add a user, create a group with that member, add the group to a project as reader
and change it to member, create a grant for the user and get and delete that session,
check that a reader gets 403 (no refresh) and that an expired access token is refreshed
once, then delete the user. Leaves one user (`fidelity.keeper@example.com`) behind so the
caller can check it through another client. Prints `FIDELITY OK` and exits 0 when every
step behaved; any failure raises.
"""

import os
import sys

from squirro_client import SquirroClient
from squirro_client.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ConflictError,
    NotFoundError,
)


def step(text):
    print(f"--- {text}", flush=True)


def expect(exc_type, status, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except exc_type as ex:
        assert ex.status_code == status, f"{call.__name__}: status {ex.status_code}, wanted {status}"
        return ex
    raise AssertionError(f"{call.__name__} did not raise {exc_type.__name__}")


def client(cluster, tenant):
    # Few transport retries: the emulator answers at once, and a hang must fail fast.
    return SquirroClient(None, None, cluster=cluster, tenant=tenant, retry_total=2, timeout_secs=20)


def walk(cluster, tenant, token):

    step("authenticate with the refresh token")
    admin = client(cluster, tenant)
    admin.authenticate(refresh_token=token)
    assert admin.access_token, "no access token"
    assert admin.refresh_token == token, "the server did not hand the refresh token back"
    assert admin.user_id, "no user id from the token exchange"
    assert admin.tenant == tenant

    step("list users and read the password policy (literal route before /users/{id})")
    users = admin.get_users()["users"]
    assert any(u["id"] == admin.user_id for u in users), "the administrator is not listed"
    policy = admin.get_users_password_policy()
    assert isinstance(policy, dict) and "id" not in policy, f"policy looks like a user: {policy}"

    step("add a user (JSON body, 201)")
    user = admin.add_user(email="fidelity.user@example.com", password="correct-horse-9", role="user")
    uid = user["id"]
    assert user["email"] == "fidelity.user@example.com"
    expect(ConflictError, 409, admin.add_user, email="fidelity.user@example.com", role="user")

    step("update and read user data (v1, JSON)")
    data = admin.update_user_data(uid, {"full_name": "Fidelity User", "department": "QA"})
    assert data["full_name"] == "Fidelity User" and data["department"] == "QA", data
    data = admin.get_user_data(uid, include_projects=True)
    assert data["department"] == "QA" and data["projects"] == [], data

    step("create a group with that member (members as JSON text in a form field)")
    group = admin.create_group("Fidelity Team", members=[{"id": uid}])
    gid = group["id"]
    assert [m["id"] for m in group["members"]] == [uid], group
    assert any(g["id"] == gid for g in admin.get_groups())
    group = admin.update_group(gid, "Fidelity Team Renamed")
    assert group["name"] == "Fidelity Team Renamed"
    admin.delete_group_member(gid, uid)
    assert admin.get_group(gid)["members"] == []
    added = admin.add_group_member(gid, uid)
    assert added["id"] == uid
    assert [g["id"] for g in admin.get_user_data(uid)["groups"]] == [gid]

    step("find the project through the topic API")
    projects = admin.get_user_projects()
    assert projects, "no project"
    pid = projects[0]["id"]
    assert admin.get_project(pid)["id"] == pid

    step("add the group to the project as reader (200), then change it to member")
    member = admin.add_project_member(pid, "reader", group_id=gid)
    assert member["member_type"] == "group" and member["project_role"] == "reader", member
    member = admin.update_project_member(pid, gid, "member")
    assert member["project_role"] == "member", member
    listed = admin.get_project_members(pid)["members"]
    assert any(m["member_id"] == gid and m["project_role"] == "member" for m in listed), listed
    assert admin.get_group(gid, include_projects=True)["projects"][0]["id"] == pid

    step("grant a token to the user, log in with it, get and delete that session")
    grant = admin.new_grant(uid, "user")
    sid, user_token = grant["id"], grant["refresh_token"]
    as_user = client(cluster, tenant)
    as_user.authenticate(refresh_token=user_token)
    assert as_user.user_id == uid
    assert any(g["id"] == sid for g in admin.get_user_grants(uid)["grants"])
    session = admin.get_session(uid, sid)
    assert session["id"] == sid, session
    admin.delete_session(uid, sid)
    expect(NotFoundError, 404, admin.get_session, uid, sid)
    expect(AuthenticationError, 410, as_user.authenticate, refresh_token=user_token)

    step("a reader logging in with a password gets 403, which is not refreshed")
    reader = admin.add_user(email="fidelity.reader@example.com", password="reader-pass-9", role="reader")
    as_reader = client(cluster, tenant)
    as_reader.authenticate(username="fidelity.reader@example.com", password="reader-pass-9")
    before = as_reader.access_token
    expect(AuthorizationError, 403, as_reader.get_users)
    assert as_reader.access_token == before, "a 403 must not trigger a token refresh"
    admin.delete_user(reader["id"])

    step("an expired access token is refreshed once and the call repeated")
    admin.access_token = "expired-or-unknown-access-token"
    assert any(u["id"] == uid for u in admin.get_users()["users"])
    assert admin.access_token != "expired-or-unknown-access-token"

    step("clean up: project member, group, user")
    admin.delete_project_member(pid, gid)
    admin.delete_group(gid)
    expect(NotFoundError, 404, admin.get_group, gid)
    admin.delete_user(uid)
    expect(NotFoundError, 404, admin.get_user_data, uid)

    step("leave one user behind for the caller to find")
    kept = admin.add_user(email="fidelity.keeper@example.com", role="reader")
    print(f"KEPT {kept['id']}", flush=True)

    print("FIDELITY OK", flush=True)


def main():
    cluster, tenant = sys.argv[1:3]
    mode = sys.argv[3] if len(sys.argv) > 3 else "walk"
    token = os.environ["SQUIRRO_REFRESH_TOKEN"]
    if mode == "walk":
        walk(cluster, tenant, token)
    elif mode == "write":
        from squirroclient_roundtrip import write

        write(client(cluster, tenant), token)
    elif mode == "read":
        from squirroclient_roundtrip import read

        read(client(cluster, tenant), token, sys.argv[4])
    else:
        raise SystemExit(f"unknown mode {mode!r}: walk, write or read MANIFEST")


if __name__ == "__main__":
    main()
