"""Reads a DSS (the emulator) with the official client (dataikuapi) and prints, as one JSON
line, every value the idbridge adapter owns, so a test can compare them field by field
with what the adapter reads or wrote.

Usage: dataikuapi_read.py BASE_URL    (API key in DSS_API_KEY)

Shape:
  {"users":    {login: {"email", "displayName", "enabled", "attributes", "groups"}},
   "groups":   {name: {"description", "flags"}},
   "projects": {key: {"group:NAME" | "user:LOGIN": [true flags]}}}
An empty email, display name or description is printed as null (DSS reads "" as none);
"attributes" are the string entries of adminProperties; "flags" of a group are its true
global permission flags (admin, may...); lists are sorted.
"""

import json
import os
import sys

from dataikuapi import DSSClient


def text(value):
    return value if isinstance(value, str) and value != "" else None


def is_global_flag(key):
    return key == "admin" or (key.startswith("may") and key[3:4].isupper())


def main():
    client = DSSClient(sys.argv[1], os.environ["DSS_API_KEY"])
    users = {}
    for item in client.list_users():
        raw = client.get_user(item["login"]).get_settings().get_raw()
        props = raw.get("adminProperties") or {}
        users[raw["login"]] = {
            "email": text(raw.get("email")),
            "displayName": text(raw.get("displayName")),
            "enabled": raw["enabled"],
            "attributes": {k: v for k, v in props.items() if isinstance(v, str)},
            "groups": sorted(raw["groups"]),
        }
    groups = {}
    for item in client.list_groups():
        definition = client.get_group(item["name"]).get_definition()
        groups[definition["name"]] = {
            "description": text(definition.get("description")),
            "flags": sorted(k for k, v in definition.items() if is_global_flag(k) and v is True),
        }
    projects = {}
    for item in client.list_projects():
        key = item["projectKey"]
        entries = {}
        for entry in client.get_project(key).get_permissions()["permissions"]:
            who = "group:" + entry["group"] if entry.get("group") else "user:" + entry["user"]
            flags = sorted(k for k, v in entry.items() if v is True)
            if flags:
                entries[who] = flags
        projects[key] = entries
    print(json.dumps({"users": users, "groups": groups, "projects": projects}, sort_keys=True))


if __name__ == "__main__":
    main()
