#!/bin/bash
# CI for edge deployment (issue 13), run by .ci/run after .ci/install-deps,
# cross/install-deps and (in the background, earlier) cross/prefetch.sh, as
# root on Debian 12:
#   1. arm64: sysroot from the target's .debs, cross build (-Werror), unit
#      tests under qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR, ctest TIMEOUT
#      per test);
#   2. armhf: sysroot, cross build (-Werror) of the programs; with
#      ARMHF_TESTS=1 also unit_tests, run under qemu-arm (about 8 more
#      minutes on 2 cores: not in .ci/run's default);
#   3. amd64: the native programs (the packages' and the comparisons'
#      reference): $CROSS_HOST_BUILD if given (.ci/run hands it its own
#      RelWithDebInfo -Werror build, same options), else build-cross-amd64;
#   4. cross/check.sh: ELF machine, --version and --replay byte-identical
#      under qemu; armhf refuses window plans past a 32-bit address space
#      (within memory_max: 3.1 GiB, 4 GiB wrapping to 512 KiB in 32 bits,
#      4.5 GiB, 7.5 GiB; over it: 74.5 GiB) with exit 78, at --check and start-up;
#   5. the three .deb (+ -dbgsym .ddeb), lintian (fails on an error or a
#      warning not listed in cross/lintian-allowed.txt);
#   6. cross/install-test.sh: amd64 into a debootstrap root (dpkg -i, apt -f
#      install, --check as installed, remove/purge), arm64/armhf resolved by apt
#      and --check under qemu;
#   7. the unit: systemd-analyze verify, security --offline=true at most 1.5;
#   8. figures: stripped sizes (FIGURES=1 adds the RSS at 10,000 keys).
# Build trees: build-cross-{arm64,armhf,amd64}; downloads: $CROSS_CACHE
# (default build-cross-cache in the repository, ignored by git, made if
# absent; set CROSS_CACHE to keep the downloads elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
export CROSS_CACHE=${CROSS_CACHE:-$PWD/build-cross-cache}
export JOBS=${JOBS:-2}
mkdir -p "$CROSS_CACHE"
start=$(date +%s)
step() { echo; echo "=== cross: $* ($(( $(date +%s) - start ))s)"; }

step "arm64: sysroot, build, unit tests under qemu-aarch64"
cross/build.sh arm64 build-cross-arm64

step "armhf: sysroot, build$([ "${ARMHF_TESTS:-0}" = 1 ] && echo ', unit tests under qemu-arm')"
SKIP_TESTS=$([ "${ARMHF_TESTS:-0}" = 1 ] && echo 0 || echo 1) cross/build.sh armhf build-cross-armhf

host=${CROSS_HOST_BUILD:-build-cross-amd64}
if [ -n "${CROSS_HOST_BUILD:-}" ]; then
  step "amd64: the programs of $host"
  cmake --build "$host" -j"$JOBS" --target sensorgate sensorgate-sim
else
  step "amd64: native build of the programs"
  SKIP_TESTS=1 cross/build.sh amd64 "$host"
fi

step "qemu runs against amd64: ELF, --version, --replay, 32-bit window plans"
cross/check.sh arm64 build-cross-arm64 "$host"
cross/check.sh armhf build-cross-armhf "$host"

step "Debian packages"
debs=()
for tree in "$host" build-cross-arm64 build-cross-armhf; do
  cross/package.sh "$tree"
  debs+=("$tree"/packages/sensorgate_*.deb)
done

step "lintian"
cross/lintian.sh "${debs[@]}"

step "install the packages"
cross/install-test.sh "${debs[@]}"

step "systemd unit: verify, security --offline=true (gate 1.5)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# verify wants ExecStart's program to exist: point it at the amd64 build
# (the installed unit is verified inside the debootstrap root too).
sed "s#/usr/bin/sensorgate#$PWD/$host/gateway/sensorgate#g" systemd/sensorgate.service \
  > "$tmp/sensorgate.service"
systemd-analyze verify "$tmp/sensorgate.service"
systemd-analyze security --offline=true --no-pager systemd/sensorgate.service | grep -E '✗|Overall'
systemd-analyze security --offline=true --threshold=15 systemd/sensorgate.service > /dev/null ||
  { echo "cross: FAIL: the unit's exposure score is above 1.5" >&2; exit 1; }

step "figures"
cross/figures.sh

step "done in $(( $(date +%s) - start ))s"
