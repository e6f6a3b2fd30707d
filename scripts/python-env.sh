#!/usr/bin/env bash
# Creates .venv at the workspace root with the vendors' official Python clients, at the
# versions pinned in adapters/*/tests/fidelity/requirements.txt. The fidelity tests use it
# (IDBRIDGE_PYTHON defaults to .venv/bin/python) to prove each emulator is faithful.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
shopt -s nullglob
for req in adapters/*/tests/fidelity/requirements.txt crates/*/tests/peers/requirements.txt; do
  echo "installing $req"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
done
