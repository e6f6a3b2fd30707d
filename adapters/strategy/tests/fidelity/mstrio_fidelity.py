"""Drives the official mstrio-py client against a Strategy One server (the emulator).

Usage: mstrio_fidelity.py BASE_URL ADMIN_USER ADMIN_PASSWORD PROJECT_NAME
       mstrio_fidelity.py BASE_URL ADMIN_USER ADMIN_PASSWORD PROJECT_NAME read LOGIN

Walks through what an administrator does with the SDK: connect, list users, create a
user, put it in a group, grant it a security role in the project, watch its connection
after it logs in with its own password, disconnect it, and clean up; then give users
e-mail addresses (`User.create(default_email_address=...)` where the server has devices,
`add_address`, `alter(default_email_address=...)`). Leaves users behind
(`fidelity.keeper`, `fidelity.mailer`) so the caller can check them through another
client. Prints `FIDELITY OK` and exits 0 when every step behaved; any failure raises.

With `read LOGIN`, prints as one JSON line (after `READ `) what the SDK reads of that
user: its fields, its addresses, its groups and their parents, its security roles in the
project, and its connections; the caller compares it with what it wrote.
"""

import json
import sys

from mstrio.utils.version_helper import is_server_min_version

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


def read(conn, project, login):
    """What the SDK reads of user `login`, as plain JSON."""
    user = User(conn, username=login)
    # Before 11.3.0100 the SDK cannot read addresses: each names a device, and devices
    # need that version.
    with_devices = is_server_min_version(conn, "11.3.0100")
    groups = [UserGroup(conn, id=m["id"]) for m in user.memberships]
    roles = []
    for role in list_security_roles(conn):
        holders = SecurityRole(conn, id=role.id).list_members(project_name=project)
        if any(h.id == user.id for h in holders):
            roles.append(role.name)
    connections = UserConnections(conn).list_connections(username=login)
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "description": user.description,
        "enabled": user.enabled,
        "default_email_address": user.default_email_address,
        "addresses": sorted(
            [
                {
                    "address": a.physical_address,
                    "delivery_type": a.delivery_type.value,
                    "device": a.device.id,
                    "is_default": a.is_default,
                }
                for a in (user.addresses if with_devices else [])
            ],
            key=lambda a: a["address"],
        ),
        "groups": {
            g.name: sorted(p["name"] for p in g.memberships) for g in groups
        },
        "roles": sorted(roles),
        "connections": len(connections),
    }


def emails(conn):
    """Default e-mail addresses given, added and changed through the SDK."""
    with_devices = is_server_min_version(conn, "11.3.0100")
    if with_devices:
        step("create users with a default e-mail (the generic e-mail device)")
        keeper = User.create(
            conn,
            username="fidelity.keeper",
            full_name="Fidelity Keeper",
            default_email_address="keeper@example.com",
        )
        mailer = User.create(
            conn,
            username="fidelity.mailer",
            full_name="Fidelity Mailer",
            default_email_address="mailer@example.com",
        )
        device = [a.device.id for a in mailer.addresses]
        assert len(device) == 1, mailer.addresses
        step("add a second, not default, e-mail address through v2")
        mailer.add_address(
            name="Work",
            address="mailer@work.example",
            default=False,
            delivery_type="email",
            device_id=device[0],
        )
    else:
        # The SDK reads addresses back as objects naming a device, which need 11.3.0100:
        # on older servers it manages no addresses.
        step("create users without e-mail (no devices on this version)")
        User.create(conn, username="fidelity.keeper", full_name="Fidelity Keeper")
        User.create(conn, username="fidelity.mailer", full_name="Fidelity Mailer")
        return
    for user, address in [(keeper, "keeper@example.com"), (mailer, "mailer@example.com")]:
        user.fetch()
        assert user.default_email_address == address, (user.default_email_address, address)
        defaults = [a for a in user.addresses if a.is_default]
        assert [a.physical_address for a in defaults] == [address], user.addresses
    step("change the default e-mail address in place")
    mailer.alter(default_email_address="mailer.new@example.com")
    mailer.fetch()
    assert mailer.default_email_address == "mailer.new@example.com"
    assert len(mailer.addresses) == 2, mailer.addresses
    step("remove the second address")
    mailer.remove_address(id=next(a.id for a in mailer.addresses if not a.is_default))
    mailer.fetch("addresses")
    assert [a.physical_address for a in mailer.addresses] == ["mailer.new@example.com"]


def leave_behind(conn, base_url, project):
    """Groups, a grant, a changed and disabled user and an open connection, made through
    the SDK for the other client to read."""
    step("leave nested groups, a member, a grant, a disabled user and a connection")
    keeper = User(conn, username="fidelity.keeper")
    keeper.alter(
        password="Keeper-pass-1",
        require_new_password=False,
        description="kept by mstrio-py",
    )
    parent = UserGroup.create(conn, name="Fidelity Kept Parent", description="parent")
    group = UserGroup.create(conn, name="Fidelity Kept Group")
    group.alter(name="Fidelity Kept Team", description="renamed by mstrio-py")
    parent.add_users([group])
    group.add_users([keeper])
    role = next(r for r in list_security_roles(conn) if r.name == "Power Users")
    SecurityRole(conn, id=role.id).grant_to(members=[keeper], project=project)
    mailer = User(conn, username="fidelity.mailer")
    mailer.alter(enabled=False, full_name="Fidelity Mailer Renamed")
    # Left open: the other client lists it.
    return Connection(
        base_url,
        username="fidelity.keeper",
        password="Keeper-pass-1",
        project_name=project,
        login_mode=1,
        verbose=False,
    )


def main():
    base_url, admin, password, project = sys.argv[1:5]
    if sys.argv[5:6] == ["read"]:
        conn = Connection(
            base_url,
            username=admin,
            password=password,
            project_name=project,
            login_mode=1,
            verbose=False,
        )
        print("READ " + json.dumps(read(conn, project, sys.argv[6])), flush=True)
        conn.close()
        return

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

    emails(conn)
    kept = leave_behind(conn, base_url, project)
    assert kept.project_id

    conn.close()
    print("FIDELITY OK", flush=True)


if __name__ == "__main__":
    main()
