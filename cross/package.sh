#!/bin/bash
# Debian packages of a build tree made by cross/build.sh (CPack DEB):
#
#   cross/package.sh BUILD_DIR [OUT_DIR]     (default OUT_DIR: BUILD_DIR/packages)
#
# Writes sensorgate_<version>-1_<arch>.deb and sensorgate-dbgsym_<version>-1_<arch>.ddeb,
# shows their control fields and contents, and checks that the packaged
# binaries are stripped and carry a debug link to the -dbgsym package.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: cross/package.sh BUILD_DIR [OUT_DIR]}
out=${2:-$build/packages}
mkdir -p "$out"
rm -f "$out"/sensorgate*.deb "$out"/sensorgate*.ddeb
cmake --build "$build" -j"${JOBS:-2}" --target sensorgate sensorgate-sim
(cd "$build" && cpack -G DEB -B "$PWD/_cpack" >/dev/null)
mv "$build"/_cpack/sensorgate*.deb "$build"/_cpack/sensorgate*.ddeb "$out"/
deb=$(ls "$out"/sensorgate_*.deb)
dbg=$(ls "$out"/sensorgate-dbgsym_*.ddeb)
dpkg-deb -f "$deb" Package Version Architecture Depends Installed-Size
dpkg-deb -c "$deb" | awk '{ print $1, $3, $6 }'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
for bin in sensorgate sensorgate-sim; do
  f=$(file -b "$tmp/usr/bin/$bin")
  case "$f" in *", stripped"*) ;; *) echo "package.sh: /usr/bin/$bin is not stripped: $f" >&2; exit 1 ;; esac
  echo "package.sh: /usr/bin/$bin $(stat -c %s "$tmp/usr/bin/$bin") bytes stripped"
done
[ "$(dpkg-deb -c "$dbg" | grep -c '/usr/lib/debug/.build-id/.*\.debug$')" = 2 ] ||
  { echo "package.sh: $dbg lacks the two programs' debug symbols" >&2; exit 1; }
ls -l "$deb" "$dbg"
