#!/bin/bash
# lintian on the sensorgate .deb files: prints every finding (I: included);
# fails on an error (E:) or on a warning (W:) whose tag cross/lintian-allowed.txt
# does not list (that file says why each one is accepted).
#   cross/lintian.sh DEB...
set -euo pipefail
cd "$(dirname "$0")/.."
allowed=$(grep -vE '^(#|$)' cross/lintian-allowed.txt)
status=0
for deb in "$@"; do
  out=$(lintian --tag-display-limit 0 -I "$deb" 2>&1 | grep -v '^running with root privileges') || true
  echo "--- lintian $(basename "$deb")"
  [ -n "$out" ] && echo "$out"
  while read -r kind _ tag _; do
    case "$kind" in
      E:) echo "lintian.sh: error $tag in $deb" >&2; status=1 ;;
      W:) grep -qxF "$tag" <<<"$allowed" || { echo "lintian.sh: warning $tag in $deb is not in cross/lintian-allowed.txt" >&2; status=1; } ;;
    esac
  done <<<"$out"
done
exit $status
