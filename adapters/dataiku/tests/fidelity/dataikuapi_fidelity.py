"""Drives the Dataiku emulator with the official client (dataikuapi).

Usage: dataikuapi_fidelity.py BASE_URL
The API key is read from the environment variable DSS_API_KEY.

Creates a user, reads and saves its settings (disables it, changes its groups), creates a
group and changes its definition, reads the authorization matrix, sets a project
permission for the group, uses the bulk endpoints, reads activity, deletes the user, and
leaves one user (login given by KEEP_LOGIN) for the adapter to find, after changing each
field the adapter owns (e-mail, display name, attributes, enabled off and on, a membership
removed); creates and deletes a group, grants a global flag to a group and revokes it,
grants project permissions to a user and a group and revokes the group's. Prints one JSON line
with what it saw; any failed expectation raises.
"""

import json
import os
import sys

import requests
from dataikuapi import DSSClient
from dataikuapi.utils import DataikuException


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    base = sys.argv[1]
    key = os.environ["DSS_API_KEY"]
    keep = os.environ.get("KEEP_LOGIN", "fidelity.keeper")
    client = DSSClient(base, key)

    info = client.get_auth_info()
    expect(info.get("authIdentifier") == "admin", "auth info names the admin: %r" % info)

    group = client.create_group("fidelity_team", description="made by dataikuapi")
    definition = group.get_definition()
    expect(definition["name"] == "fidelity_team", "group definition: %r" % definition)
    expect(definition.get("admin") is False, "a new group is not admin")
    definition["mayCreateProjects"] = True
    definition["futureFlagFromANewerDss"] = {"kept": True}
    group.set_definition(definition)
    again = group.get_definition()
    expect(again["mayCreateProjects"] is True, "group flag saved")
    expect(again.get("futureFlagFromANewerDss") == {"kept": True}, "unknown group key kept")
    expect(any(g["name"] == "fidelity_team" for g in client.list_groups()), "group listed")

    user = client.create_user(
        "fidelity.user", "s3cret-pass", display_name="Fidelity User",
        groups=["readers"], profile="READER", email="fidelity@example.com",
    )
    settings = user.get_settings()
    raw = settings.get_raw()
    expect(raw["login"] == "fidelity.user", "settings login")
    expect(raw["groups"] == ["readers"], "groups at creation: %r" % raw["groups"])
    expect("password" not in raw, "password never returned")
    expect(settings.enabled is True, "a new user is enabled")
    expect(settings.creation_date is not None, "creation date")
    settings.user_properties["team"] = "fidelity"
    settings.admin_properties["costCenter"] = "42"
    settings.add_secret("token", "not-a-real-secret")
    settings.preferences.ui_language = "ja"
    settings.enabled = False
    raw["groups"] = ["readers", "fidelity_team"]
    settings.save()

    saved = user.get_settings()
    expect(saved.enabled is False, "disabled after save")
    expect(saved.get_raw()["groups"] == ["readers", "fidelity_team"], "groups after save")
    expect(saved.user_properties.get("team") == "fidelity", "user properties saved")
    expect(saved.admin_properties.get("costCenter") == "42", "admin properties saved")
    expect(saved.preferences.ui_language == "ja", "preferences saved")
    expect([s["name"] for s in saved.get_raw()["secrets"]] == ["token"], "secret saved")
    # The deprecated definition API hits the same URL.
    definition = user.get_definition()
    definition["displayName"] = "Fidelity User Renamed"
    user.set_definition(definition)
    expect(user.get_settings().get_raw()["displayName"] == "Fidelity User Renamed", "set_definition")

    info = user.get_info()
    expect(info.enabled is False and info.display_name == "Fidelity User Renamed", "user info")
    activity = user.get_activity()
    expect(activity.last_successful_login is None, "a new user never logged in")
    all_activity = client.list_users_activity()
    expect(any(a.login == "fidelity.user" for a in all_activity), "activity listed")
    enabled_activity = client.list_users_activity(enabled_users_only=True)
    expect(all(a.login != "fidelity.user" for a in enabled_activity), "enabledUsersOnly=True honoured")

    listed = client.list_users()
    expect(any(u["login"] == "fidelity.user" for u in listed), "user listed")
    with_settings = client.list_users(include_settings=True)
    full = [u for u in with_settings if u["login"] == "fidelity.user"][0]
    expect(full["userProperties"].get("team") == "fidelity", "includeSettings=True gives settings")

    matrix = client.get_authorization_matrix().raw
    expect("perUser" in matrix and "perGroup" in matrix, "matrix parts: %r" % list(matrix))
    expect("fidelity_team" in matrix["perGroup"], "new group in the matrix")
    expect("fidelity.user" not in matrix["perUser"], "the matrix covers enabled users only")

    project = client.get_project("SANDBOX")
    perms = project.get_permissions()
    expect("owner" in perms and isinstance(perms["permissions"], list), "permissions shape")
    perms["permissions"].append({
        "group": "fidelity_team", "readProjectContent": True, "readDashboards": True,
    })
    perms["customKeyFromANewerDss"] = 7
    project.set_permissions(perms)
    perms2 = project.get_permissions()
    entry = [p for p in perms2["permissions"] if p.get("group") == "fidelity_team"]
    expect(len(entry) == 1 and entry[0]["readProjectContent"] is True, "project permission set")
    expect(perms2.get("customKeyFromANewerDss") == 7, "unknown permissions key kept")
    expect(any(p["projectKey"] == "SANDBOX" for p in client.list_projects()), "project listed")

    statuses = client.create_users([
        {"login": "fidelity.bulk1", "password": "pw-1"},
        {"login": "fidelity.bulk2", "displayName": "Bulk 2", "groups": ["readers"]},
        {"login": "fidelity.user"},
    ])
    by_login = {s["login"]: s for s in statuses}
    expect(by_login["fidelity.bulk1"]["status"] == "SUCCESS", "bulk create 1: %r" % statuses)
    expect(by_login["fidelity.user"]["status"] == "FAILURE", "bulk create of an existing login fails")
    edited = client.edit_users([{"login": "fidelity.bulk1", "displayName": "Bulk One", "enabled": False}])
    expect(edited[0]["status"] == "SUCCESS", "bulk edit: %r" % edited)
    bulk1 = client.get_user("fidelity.bulk1").get_settings()
    expect(bulk1.get_raw()["displayName"] == "Bulk One" and bulk1.enabled is False, "bulk edit applied")
    deleted = client.delete_users(["fidelity.bulk1", "fidelity.bulk2", "nobody.here"])
    by_login = {s["login"]: s["status"] for s in deleted}
    expect(by_login == {"fidelity.bulk1": "SUCCESS", "fidelity.bulk2": "SUCCESS", "nobody.here": "FAILURE"},
           "bulk delete: %r" % deleted)

    future = client.get_user("fidelity.user").start_resync_from_supplier()
    future.wait_for_result()

    # Both API roots reach the same API.
    documented = requests.get(base + "/public/api/admin/users/fidelity.user", auth=(key, ""))
    expect(documented.status_code == 200 and documented.json()["login"] == "fidelity.user",
           "the documented /public/api root serves the same user")
    wrong = requests.get(base + "/dip/publicapi/admin/users/", auth=("not-the-key", ""))
    expect(wrong.status_code == 401 and "NotAuthenticatedException" in wrong.json()["errorType"],
           "a wrong key is refused")

    user.delete()
    try:
        client.get_user("fidelity.user").get_settings()
        raise AssertionError("the deleted user is still there")
    except DataikuException as e:
        expect("NotFoundException" in str(e), "not found after delete: %s" % e)

    client.create_user(keep, "keeper-pass", display_name="Kept by dataikuapi",
                       groups=["fidelity_team", "readers"], profile="READER",
                       email="keeper@example.com")
    # Every field the adapter owns, changed through the settings document: e-mail, display
    # name, attributes, enabled (off, then on again), and a membership removed.
    keeper = client.get_user(keep)
    settings = keeper.get_settings()
    raw = settings.get_raw()
    raw["email"] = "keeper.changed@example.com"
    raw["displayName"] = "Kept and renamed"
    settings.admin_properties["dept"] = "R&D"
    settings.admin_properties["site"] = "Lyon"
    settings.enabled = False
    settings.save()
    settings = keeper.get_settings()
    expect(settings.enabled is False, "keeper disabled")
    settings.enabled = True
    settings.admin_properties.pop("site")
    settings.get_raw()["groups"] = ["fidelity_team"]
    settings.save()
    expect(keeper.get_settings().get_raw()["groups"] == ["fidelity_team"], "membership removed")

    # A group created and deleted; a global flag granted to a group and revoked.
    doomed = client.create_group("fidelity_doomed", description="short-lived")
    doomed.delete()
    expect(all(g["name"] != "fidelity_doomed" for g in client.list_groups()), "group deleted")
    readers = client.get_group("readers")
    definition = readers.get_definition()
    definition["mayWriteSafeCode"] = True
    readers.set_definition(definition)
    definition = readers.get_definition()
    expect(definition["mayWriteSafeCode"] is True, "flag granted to a group")
    definition["mayWriteSafeCode"] = False
    readers.set_definition(definition)

    # Project permissions granted to a user and a group, one of them revoked again.
    perms = project.get_permissions()
    perms["permissions"].append({"user": keep, "readDashboards": True})
    perms["permissions"].append({"group": "readers", "readProjectContent": True,
                                 "readDashboards": True})
    project.set_permissions(perms)
    perms = project.get_permissions()
    perms["permissions"] = [p for p in perms["permissions"] if p.get("group") != "readers"]
    project.set_permissions(perms)

    print(json.dumps({"ok": True, "kept": keep, "group": "fidelity_team"}))


if __name__ == "__main__":
    main()
