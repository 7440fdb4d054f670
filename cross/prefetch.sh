#!/bin/bash
# Downloads what cross/ci.sh needs from the network, ahead of time, so that
# .ci/run can start it in the background while the native build and tests
# keep the CPU busy (downloads and unpacking wait on the network and the disk):
#   - the arm64 and armhf sysroots (cross/sysroot.sh);
#   - the Debian 12 root for the amd64 install test (cross/install-test.sh
#     --prepare; needs root, as debootstrap does).
# Everything lands in $CROSS_CACHE (default build-cross-cache); cross/ci.sh
# reuses it and redoes whatever is missing, so a failure here only costs time.
set -uo pipefail
cd "$(dirname "$0")/.."
export CROSS_CACHE=${CROSS_CACHE:-$PWD/build-cross-cache}
mkdir -p "$CROSS_CACHE"
status=0
for step in "cross/sysroot.sh arm64" "cross/sysroot.sh armhf" "cross/install-test.sh --prepare"; do
  t0=$(date +%s)
  if $step; then
    echo "prefetch.sh: $step done in $(( $(date +%s) - t0 ))s"
  else
    echo "prefetch.sh: $step failed after $(( $(date +%s) - t0 ))s (cross/ci.sh will try again)" >&2
    status=1
  fi
done
exit $status
