#!/bin/bash
# dpkg-shlibdeps for a cross build: CPack's DEB generator runs it (as
# SHLIBDEPS_EXECUTABLE, set by cross/packaging.cmake) to compute Depends from the
# binaries. The target's libraries are not installed on the host, so each
# library package of the sysroot, unpacked with its control files by
# cross/sysroot.sh into SYSROOT.pkgs/NAME, is passed as a package build tree
# (-S): dpkg-shlibdeps finds the library there and reads that package's own
# symbols/shlibs file, as it would from /var/lib/dpkg for a native build.
# DEB_HOST_ARCH makes it search the target's multiarch folders and use the
# target's objdump.
#   usage (by CPack): SENSORGATE_SYSROOT=... DEB_HOST_ARCH=arm64 cross/shlibdeps.sh ARGS...
set -euo pipefail
: "${SENSORGATE_SYSROOT:?}" "${DEB_HOST_ARCH:?}"
export DEB_HOST_ARCH
trees=()
for tree in "$SENSORGATE_SYSROOT.pkgs"/*/; do trees+=("-S${tree%/}"); done
exec dpkg-shlibdeps "${trees[@]}" "$@"
