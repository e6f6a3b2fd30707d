"""Drives the official mstrio-py client against a Strategy One server (the emulator).

Usage: mstrio_fidelity.py BASE_URL ADMIN_USER ADMIN_PASSWORD PROJECT_NAME

Walks through what an administrator does with the SDK: connect, list users, create a
user, put it in a group, grant it a security role in the project, watch its connection
after it logs in with its own password, disconnect it, and clean up. Leaves one user
(`fidelity.keeper`) behind so the caller can check it through another client. Prints
`FIDELITY OK` and exits 0 when every step behaved; any failure raises.
"""

import sys

from mstrio.access_and_security.security_role import SecurityRole, list_security_roles
from mstrio.connection import Connection
from mstrio.users_and_groups import (
    User,
    UserConnections,
    UserGroup,
    list_user_groups,
    list_users,
)


def step(text):
    print(f"--- {text}", flush=True)


def main():
    base_url, admin, password, project = sys.argv[1:5]

    step("connect as the administrator, selecting the project by name")
    conn = Connection(
        base_url,
        username=admin,
        password=password,
        project_name=project,
        login_mode=1,
        verbose=False,
    )
    assert conn.project_id, "the project was not selected"

    step("list users")
    users = list_users(conn)
    logins = [u.username for u in users]
    assert admin in logins, f"{admin} missing from {logins}"

    step("create a user with a password")
    user = User.create(
        conn,
        username="fidelity.user",
        full_name="Fidelity User",
        password="Fidelity-pass-1",
        require_new_password=False,
        description="made by mstrio-py",
    )
    assert user.id and len(user.id) == 32, user.id
    again = User(conn, username="fidelity.user")
    assert again.id == user.id, (again.id, user.id)
    assert again.full_name == "Fidelity User"

    step("alter and re-enable the user")
    user.alter(full_name="Fidelity User Renamed")
    user.alter(enabled=False)
    user.fetch()
    assert user.enabled is False
    user.alter(enabled=True)
    user.fetch()
    assert user.enabled is True
    assert user.full_name == "Fidelity User Renamed"

    step("create groups, nest them, add the user")
    group = UserGroup.create(conn, name="Fidelity Group", description="fidelity")
    parent = UserGroup.create(conn, name="Fidelity Parent")
    parent.add_users([group])
    group.add_users([user])
    member_ids = [m.id for m in group.list_members()]
    assert user.id in member_ids, member_ids
    parent_member_ids = [m.id for m in parent.list_members()]
    assert group.id in parent_member_ids, parent_member_ids
    names = [g.name for g in list_user_groups(conn)]
    assert "Fidelity Group" in names and "Everyone" in names, names
    group.alter(name="Fidelity Group Renamed")
    assert UserGroup(conn, name="Fidelity Group Renamed").id == group.id

    step("grant a security role in the project")
    roles = list_security_roles(conn)
    role = next(r for r in roles if r.name == "Normal Users")
    role = SecurityRole(conn, id=role.id)
    privileges = role.list_privileges()
    assert privileges and all(isinstance(k, int) for k in privileges), privileges
    role.grant_to(members=[user], project=project)
    role.fetch()
    holders = [m.id for m in role.list_members(project_name=project)]
    assert user.id in holders, holders

    step("the user logs in with its own password")
    user_conn = Connection(
        base_url,
        username="fidelity.user",
        password="Fidelity-pass-1",
        project_name=project,
        login_mode=1,
        verbose=False,
    )

    step("list the user's connections")
    monitor = UserConnections(conn)
    mine = monitor.list_connections(username="fidelity.user")
    assert len(mine) >= 1, mine
    assert all(c["username"] == "fidelity.user" for c in mine)

    step("disconnect the user")
    statuses = monitor.disconnect_users(users=[user], force=True)
    assert statuses and all(200 <= s["status"] < 300 for s in statuses), statuses
    left = monitor.list_connections(username="fidelity.user")
    assert left == [], left
    try:
        user_conn.close()
    except Exception:  # the session is gone; logging out of it may fail
        pass

    step("revoke the role, remove the user from the group")
    role.revoke_from(members=[user], project=project)
    role.fetch()
    holders = [m.id for m in role.list_members(project_name=project)]
    assert user.id not in holders, holders
    group.remove_users([user])
    assert user.id not in [m.id for m in group.list_members()]

    step("delete the user and the groups")
    assert user.delete(force=True)
    assert group.delete(force=True)
    assert parent.delete(force=True)
    logins = [u.username for u in list_users(conn)]
    assert "fidelity.user" not in logins, logins

    step("leave one user for the other client to find")
    User.create(conn, username="fidelity.keeper", full_name="Fidelity Keeper")

    conn.close()
    print("FIDELITY OK", flush=True)


if __name__ == "__main__":
    main()
