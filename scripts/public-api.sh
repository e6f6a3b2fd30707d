#!/usr/bin/env bash
# Checks that the public API of each library crate is the one listed in api/<crate>.txt,
# so that a change to it is seen and decided on in review rather than slipped in.
#
#   scripts/public-api.sh           check: a difference prints the diff, names the crate
#                                   and exits 1
#   scripts/public-api.sh --bless   write the listings anew (after a deliberate change)
#
# The listing comes from rustdoc's JSON output (scripts/public_api.py renders it). That
# output is unstable in rustdoc, so it is asked of the machine's own stable toolchain with
# RUSTC_BOOTSTRAP=1: no other toolchain or tool is installed, and a toolchain upgrade that
# changes the JSON format shows up here as a failure to read it, not as a silent pass.
set -euo pipefail
cd "$(dirname "$0")/.."

CRATES=(idbridge-core idbridge-store idbridge-sync idbridge-testkit idbridge-platforms idbridge-scim-protocol idbridge-scim-server)

bless=false
case "${1:-}" in
  --bless) bless=true ;;
  "") ;;
  *) echo "usage: $0 [--bless]" >&2; exit 2 ;;
esac

target_dir=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
mkdir -p api
failed=()
for crate in "${CRATES[@]}"; do
  RUSTC_BOOTSTRAP=1 cargo rustdoc --quiet -p "$crate" --lib -- \
    -Z unstable-options --output-format json
  json="$target_dir/doc/${crate//-/_}.json"
  listing=$(python3 scripts/public_api.py "$json")
  if $bless; then
    printf '%s\n' "$listing" > "api/$crate.txt"
    echo "api/$crate.txt: $(printf '%s\n' "$listing" | wc -l) items"
  elif ! diff -u --label "api/$crate.txt (checked in)" --label "$crate (built)" \
      "api/$crate.txt" <(printf '%s\n' "$listing"); then
    failed+=("$crate")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "the public API of ${failed[*]} changed: review the diff above; if the change is" \
    "meant, run scripts/public-api.sh --bless and commit api/" >&2
  exit 1
fi
