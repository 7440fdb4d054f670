#!/bin/bash
# CI for edge deployment (issue 13), run after .ci/install-deps and
# cross/install-deps (not yet called by .ci/run),
# as root on Debian 12:
#   1. arm64: sysroot from the target's .debs, cross build, unit tests under
#      qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR, ctest TIMEOUT per test);
#   2. armhf: sysroot, cross build (unit tests under qemu-arm too with
#      ARMHF_TESTS=1; today tests/unit/window_test.cc uses __int128, which
#      32-bit ARM lacks, so unit_tests does not compile for armhf);
#   3. amd64: native build of the two programs (the packages' and the
#      comparisons' reference);
#   4. cross/check.sh: ELF machine, --version and --replay byte-identical
#      under qemu, armhf refuses a 74.5 GiB window plan with exit 78;
#   5. the three .deb (+ -dbgsym .ddeb), lintian (fails on an error or a
#      warning not listed in cross/lintian-allowed.txt);
#   6. cross/install-test.sh: amd64 into a debootstrap root (dpkg -i, apt -f
#      install, --check as installed, remove/purge), arm64/armhf resolved by apt
#      and --check under qemu;
#   7. the unit: systemd-analyze verify, security --offline=true at most 1.5;
#   8. figures: stripped sizes (FIGURES=1 adds the RSS at 10,000 keys).
# Build trees: build-cross-{arm64,armhf,amd64}; downloads: $CROSS_CACHE
# (default /work/cross-cache, made if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
export CROSS_CACHE=${CROSS_CACHE:-/work/cross-cache}
export JOBS=${JOBS:-2}
mkdir -p "$CROSS_CACHE"
start=$(date +%s)
step() { echo; echo "=== cross: $* ($(( $(date +%s) - start ))s)"; }

step "arm64: sysroot, build, unit tests under qemu-aarch64"
cross/build.sh arm64 build-cross-arm64

step "armhf: sysroot, build$([ "${ARMHF_TESTS:-0}" = 1 ] && echo ', unit tests under qemu-arm')"
SKIP_TESTS=$([ "${ARMHF_TESTS:-0}" = 1 ] && echo 0 || echo 1) cross/build.sh armhf build-cross-armhf

step "amd64: native build of the programs"
SKIP_TESTS=1 cross/build.sh amd64 build-cross-amd64

step "qemu runs against amd64: ELF, --version, --replay, 32-bit window plan"
cross/check.sh arm64 build-cross-arm64 build-cross-amd64
cross/check.sh armhf build-cross-armhf build-cross-amd64

step "Debian packages"
debs=()
for arch in amd64 arm64 armhf; do
  cross/package.sh build-cross-$arch
  debs+=(build-cross-$arch/packages/sensorgate_*_$arch.deb)
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
sed "s#/usr/bin/sensorgate#$PWD/build-cross-amd64/gateway/sensorgate#g" systemd/sensorgate.service \
  > "$tmp/sensorgate.service"
systemd-analyze verify "$tmp/sensorgate.service"
systemd-analyze security --offline=true --no-pager systemd/sensorgate.service | grep -E '✗|Overall'
systemd-analyze security --offline=true --threshold=15 systemd/sensorgate.service > /dev/null ||
  { echo "cross: FAIL: the unit's exposure score is above 1.5" >&2; exit 1; }

step "figures"
cross/figures.sh

step "done"
