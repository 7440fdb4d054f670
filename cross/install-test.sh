#!/bin/bash
# Installs packages made by cross/package.sh the way a user does, and checks
# the maintainer scripts (Acceptance 2 of issue 13):
#
#   cross/install-test.sh DEB...
#
# amd64 .deb: into a Debian 12 root made by debootstrap (minbase) with the
# host's Debian mirror as its apt source: `dpkg -i` (which stops on the missing
# dependencies), then `apt-get -f install` resolves them; then, as installed,
# `sensorgate --config /etc/sensorgate/sensorgate.ini --check` (as root and as
# the sensorgate user, as the unit's ExecStartPre runs it), the user, the state
# directory, `systemd-analyze verify` of the installed unit, remove (state and
# conffile kept), reinstall, and purge (state and conffile gone).
# The root is cached as $CROSS_CACHE/debootstrap-bookworm-amd64.tar.zst; without
# it (a fresh CI machine) it is made from scratch (`cross/install-test.sh
# --prepare` makes only that, as cross/prefetch.sh does ahead of time).
#
# arm64/armhf .deb: no binfmt here, so a foreign chroot cannot run its
# maintainer scripts; instead apt resolves the package's Depends for that
# architecture against the mirror (`apt-get install --simulate ./X.deb`, with the
# private apt state cross/sysroot.sh made, nothing installed), and the packaged
# binary checks the packaged configuration under qemu-user.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${CROSS_CACHE:-$PWD/build-cross-cache}
suite=bookworm
fail() { echo "install-test.sh: FAIL: $*" >&2; exit 1; }

debian_sources() {  # the host's Debian source files, as cross/sysroot.sh picks them
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -qE '^[^#]*/debian(-security)?/?([[:space:]]|$)' "$f" && echo "$f"
  done
  return 0
}

# A Debian 12 minbase root by debootstrap, with the host's Debian sources,
# stored as TARBALL (the cache a fresh machine makes once).
make_root() {
  local root=$1 tarball=$2 t0 mirror
  t0=$(date +%s)
  rm -rf "$root"
  mkdir -p "$root"
  # The first mirror in use: not one in a comment (Debian's images note a
  # snapshot.debian.org address there, which may be unreachable).
  mirror=$(grep -hvE '^[[:space:]]*#' $(debian_sources) | grep -oE 'https?://[^ ]+/debian/?([[:space:]]|$)' |
    head -n 1 | tr -d '[:space:]')
  mirror=${mirror:-http://deb.debian.org/debian}
  debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log"; fail "debootstrap"; }
  rm -f "$root"/etc/apt/sources.list
  cp $(debian_sources) "$root/etc/apt/sources.list.d/"
  chroot "$root" apt-get update -qq
  rm -rf "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" --zstd -cpf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
  echo "install-test.sh: root made by debootstrap ($mirror) in $(( $(date +%s) - t0 ))s, cached as $tarball"
}

test_amd64() {
  local deb=$1 root=$cache/root-$suite-amd64 tarball=$cache/debootstrap-$suite-amd64.tar.zst
  umount_all() { for m in proc dev; do umount -l "$root/$m" 2>/dev/null || true; done; }
  trap umount_all EXIT
  umount_all
  local t0; t0=$(date +%s)
  [ -f "$tarball" ] || make_root "$root" "$tarball"
  rm -rf "$root"
  mkdir -p "$root"
  tar -C "$root" --zstd -xpf "$tarball"
  echo "install-test.sh: root unpacked from $tarball in $(( $(date +%s) - t0 ))s"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cp "$deb" "$root/tmp/"
  local in=/tmp/$(basename "$deb")
  in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

  in_root apt-get update -qq || echo "install-test.sh: apt-get update in the root failed; using its cached indexes"
  if in_root dpkg -i "$in"; then
    echo "install-test.sh: dpkg -i installed it without missing dependencies"
  else
    echo "install-test.sh: dpkg -i stopped on dependencies (expected); apt-get -f install resolves them"
  fi
  in_root apt-get -f install -y -qq --no-install-recommends > /dev/null
  in_root dpkg -s sensorgate | grep -q '^Status: install ok installed' || fail "sensorgate not installed"
  echo "install-test.sh: installed: $(in_root dpkg-query -W -f '${Package} ${Version} ${Architecture}' sensorgate)"

  in_root sensorgate --version
  in_root sensorgate --config /etc/sensorgate/sensorgate.ini --check
  in_root setpriv --reuid=sensorgate --regid=sensorgate --init-groups \
    sensorgate --config /etc/sensorgate/sensorgate.ini --check > /dev/null ||
    fail "--check as the sensorgate user"
  echo "install-test.sh: --check passes as root and as the sensorgate user"
  in_root getent passwd sensorgate
  [ "$(in_root stat -c '%U:%G %a' /var/lib/sensorgate)" = "sensorgate:sensorgate 750" ] ||
    fail "/var/lib/sensorgate: $(in_root stat -c '%U:%G %a' /var/lib/sensorgate)"
  in_root dpkg-query --showformat='${Conffiles}\n' --show sensorgate | grep -q /etc/sensorgate/sensorgate.ini ||
    fail "sensorgate.ini is not a conffile"
  [ -z "$(in_root find /etc/systemd/system -name 'sensorgate*')" ] || fail "the unit got enabled"
  echo "install-test.sh: user, state dir 0750, conffile, unit not enabled: OK"
  in_root systemd-analyze verify /lib/systemd/system/sensorgate.service ||
    fail "systemd-analyze verify of the installed unit"
  echo "install-test.sh: systemd-analyze verify of the installed unit: clean"

  in_root touch /var/lib/sensorgate/checkpoint.test
  in_root dpkg -r sensorgate > /dev/null
  in_root test -f /var/lib/sensorgate/checkpoint.test || fail "remove deleted the state"
  in_root test -f /etc/sensorgate/sensorgate.ini || fail "remove deleted the conffile"
  in_root dpkg -i "$in" > /dev/null
  in_root dpkg -P sensorgate > /dev/null
  in_root test ! -e /var/lib/sensorgate || fail "purge kept /var/lib/sensorgate"
  in_root test ! -e /etc/sensorgate/sensorgate.ini || fail "purge kept the conffile"
  echo "install-test.sh: remove keeps state and configuration; purge deletes them: OK"
  umount_all
  trap - EXIT
}

test_foreign() {
  local deb=$1 arch=$2 aptdir=$cache/apt-$2 sysroot=$cache/sysroot-$2
  [ -d "$aptdir/state/lists" ] || fail "no apt state for $arch: run cross/sysroot.sh $arch first"
  local opts=(-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
    -o "Dir::State=$aptdir/state" -o "Dir::State::status=$aptdir/state/status"
    -o "Dir::Cache=$aptdir/cache" -o "Dir::Etc::sourcelist=$aptdir/sources.list"
    -o "Dir::Etc::sourceparts=$aptdir/sources.list.d" -o "Debug::NoLocking=true")
  local sim
  sim=$(apt-get "${opts[@]}" install -s --no-install-recommends "$(realpath "$deb")") ||
    { echo "$sim"; fail "apt cannot resolve the Depends of $deb for $arch"; }
  echo "$sim" | grep -q "^Inst sensorgate " || fail "apt would not install sensorgate"
  echo "install-test.sh: $arch: apt resolves the Depends on a bare $arch system:" \
       "$(echo "$sim" | grep -c '^Inst ') packages to install"
  local tmp; tmp=$(mktemp -d)
  dpkg-deb -x "$deb" "$tmp"
  local qemu=qemu-aarch64; [ "$arch" = armhf ] && qemu=qemu-arm
  # The packaged configuration names state_dir /var/lib/sensorgate; --check
  # does not need it to exist.
  "$qemu" -L "$sysroot" "$tmp/usr/bin/sensorgate" --config "$tmp/etc/sensorgate/sensorgate.ini" --check
  rm -rf "$tmp"
  echo "install-test.sh: $arch: the packaged binary passes --check of the packaged configuration under qemu"
}

if [ "${1:-}" = --prepare ]; then  # only make the cached root (cross/prefetch.sh)
  mkdir -p "$cache"
  tarball=$cache/debootstrap-$suite-amd64.tar.zst
  [ -f "$tarball" ] && echo "install-test.sh: $tarball is there" || make_root "$cache/root-$suite-amd64" "$tarball"
  exit 0
fi

for deb in "$@"; do
  arch=$(dpkg-deb -f "$deb" Architecture)
  echo "=== install-test.sh: $deb ($arch)"
  case "$arch" in
    amd64) test_amd64 "$deb" ;;
    arm64|armhf) test_foreign "$deb" "$arch" ;;
    *) fail "unexpected architecture $arch" ;;
  esac
done
