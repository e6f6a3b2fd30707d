#!/usr/bin/env python3
"""Writes a synthetic directory file for measuring a file target.

    synthetic_directory.py USERS GROUPS PER_USER OUT.yaml

User i is in PER_USER groups (i + j * stride) % GROUPS, j < PER_USER, with stride the first
number from GROUPS / 3 that shares no factor with GROUPS: the directory the benchmark
generator (crates/bench/src/data.rs) builds for the same shape. Ends with the `complete`
trailer.
"""
import sys
from math import gcd


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    users, groups, per_user = (int(a) for a in sys.argv[1:4])
    out = sys.argv[4]
    stride = 1 if groups <= 2 else max(groups // 3, 1)
    while groups > 2 and gcd(stride, groups) != 1:
        stride += 1
    per_user = min(per_user, groups)
    with open(out, "w", encoding="utf-8") as f:
        f.write("users:\n")
        for i in range(users):
            names = ", ".join("group-%05d" % ((i + j * stride) % groups) for j in range(per_user))
            f.write(
                "  - {id: u%07d, login: user.%07d, email: user.%07d@example.com, "
                "display_name: User %d, groups: [%s]}\n" % (i, i, i, i, names)
            )
        f.write("groups:\n")
        for g in range(groups):
            f.write("  - {id: g%05d, name: group-%05d}\n" % (g, g))
        f.write("complete: {users: %d, groups: %d, roles: 0, grants: 0}\n" % (users, groups))


if __name__ == "__main__":
    main()
