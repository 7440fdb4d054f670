#!/bin/bash
# Builds a sysroot for ARCH (arm64 or armhf) from the target's Debian packages,
# leaving the host's dpkg and apt state alone (DESIGN.md section 11):
#
#   cross/sysroot.sh ARCH [SYSROOT]      (default SYSROOT: $CROSS_CACHE/sysroot-ARCH)
#
# apt runs with a private state, cache and source list under $CROSS_CACHE/apt-ARCH,
# APT::Architecture=ARCH and an empty dpkg status file, so `install --download-only`
# resolves the whole dependency closure of the -dev packages for the target, and
# nothing is ever installed: no `dpkg --add-architecture`, no multiarch. Each .deb
# is then unpacked with `dpkg-deb -x` into SYSROOT, and absolute symlinks inside it
# are rewritten as relative ones so they resolve inside SYSROOT (for the linker,
# pkg-config and qemu -L). The source list is the host's Debian mirror (the
# .list/.sources files of /etc/apt that name a /debian archive), or the file named
# by $SENSORGATE_APT_SOURCES. A finished sysroot (stamp file) is reused unless the
# package list changed.
set -euo pipefail

arch=${1:?usage: cross/sysroot.sh arm64|armhf [SYSROOT]}
case "$arch" in arm64|armhf) ;; *) echo "sysroot.sh: unknown ARCH '$arch' (arm64 or armhf)" >&2; exit 64;; esac
cache=${CROSS_CACHE:-$(cd "$(dirname "$0")/.." && pwd)/build-cross-cache}
sysroot=${2:-$cache/sysroot-$arch}

# The project's build and test dependencies (DESIGN.md section 1), plus the C and
# C++ runtime the cross compiler links against through --sysroot.
packages=(
  libc6-dev libstdc++-12-dev libgcc-12-dev
  libsimdjson-dev libinih-dev libpaho-mqttpp-dev libpaho-mqtt-dev libssl-dev
  libgtest-dev
  libcurl4-openssl-dev librdkafka-dev
)

stamp="$sysroot/.sensorgate-sysroot"
want="$arch v2 ${packages[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "sysroot.sh: $sysroot is up to date"
  exit 0
fi

aptdir="$cache/apt-$arch"
mkdir -p "$aptdir/state/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/sources.list.d"
: > "$aptdir/state/status"
rm -f "$aptdir/sources.list.d/"*
if [ -n "${SENSORGATE_APT_SOURCES:-}" ]; then
  cp "$SENSORGATE_APT_SOURCES" "$aptdir/sources.list.d/"
else
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -qE '^[^#]*/debian(-security)?/?([[:space:]]|$)' "$f" && cp "$f" "$aptdir/sources.list.d/"
  done
fi
: > "$aptdir/sources.list"
if [ -z "$(ls "$aptdir/sources.list.d")" ]; then
  echo "sysroot.sh: no Debian source list found in /etc/apt; set SENSORGATE_APT_SOURCES" >&2
  exit 1
fi

apt_opts=(
  -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
  -o "Dir::State=$aptdir/state" -o "Dir::State::status=$aptdir/state/status"
  -o "Dir::Cache=$aptdir/cache"
  -o "Dir::Etc::sourcelist=$aptdir/sources.list"
  -o "Dir::Etc::sourceparts=$aptdir/sources.list.d"
  -o "APT::Install-Recommends=false" -o "Debug::NoLocking=true"
  -o "Acquire::Retries=3"
)
echo "sysroot.sh: resolving and downloading ${#packages[@]} packages for $arch"
# A mirror caught mid-sync fails an index ("File has unexpected size"); the
# indexes of the two architectures can also be out of step for hours. Retry,
# then go on with the indexes that did arrive (apt keeps them): resolving fails
# loudly below if a package is really missing.
for try in 1 2 3; do
  if apt-get "${apt_opts[@]}" update -qq; then break; fi
  if [ "$try" = 3 ]; then
    echo "sysroot.sh: WARNING: some $arch indexes failed 3 times; resolving with those that arrived" >&2
  else
    echo "sysroot.sh: apt-get update failed (try $try), retrying in $((try * 15))s" >&2
    sleep $((try * 15))
  fi
done
apt-get "${apt_opts[@]}" install -y -qq --download-only "${packages[@]}" >/dev/null

# Unpack the exact closure apt chose (its simulated install names each package).
# "Inst libssl3 (3.0.17-1~deb12u2 Debian-Security:12/stable-security [arm64])"
mapfile -t debs < <(apt-get "${apt_opts[@]}" install -s "${packages[@]}" |
  awk '$1 == "Inst" { v = $3; sub(/^\(/, "", v); print $2 "=" v }' | sort -u)
# Each shared library package is also unpacked on its own, with its control
# files in DEBIAN/, into $sysroot.pkgs/NAME: cross/shlibdeps.sh hands these
# trees to dpkg-shlibdeps (-S), which then computes Depends from the packages'
# own symbols/shlibs files, as for a native build, without a dpkg database.
rm -rf "$sysroot" "$sysroot.pkgs"
mkdir -p "$sysroot" "$sysroot.pkgs"
for pkg in "${debs[@]}"; do
  name=${pkg%%=*}; name=${name%%:*}
  version=${pkg#*=}; version=${version//:/%3a}  # apt writes an epoch's ':' as %3a
  deb=$(ls "$aptdir/cache/archives/${name}_${version}"_{"$arch",all}.deb 2>/dev/null | head -n 1 || true)
  [ -n "$deb" ] || { echo "sysroot.sh: no .deb downloaded for $name $version" >&2; exit 1; }
  dpkg-deb -x "$deb" "$sysroot"
  control=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)  # not piped into grep -q: SIGPIPE + pipefail
  if grep -qE '/(shlibs|symbols)$' <<<"$control"; then
    dpkg-deb -x "$deb" "$sysroot.pkgs/$name"
    dpkg-deb -e "$deb" "$sysroot.pkgs/$name/DEBIAN"
  fi
done

# Absolute symlinks (/usr/lib/T/libfoo.so -> /lib/T/libfoo.so.1) point at the
# host once outside a chroot: make them relative to their own folder.
find "$sysroot" "$sysroot.pkgs" -type l -lname '/*' -print0 |
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    root=$sysroot
    case "$link" in "$sysroot.pkgs/"*) rel=${link#"$sysroot.pkgs/"}; root=$sysroot.pkgs/${rel%%/*} ;; esac
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$root$target")" "$link"
  done
echo "$want" > "$stamp"
echo "sysroot.sh: $sysroot holds ${#debs[@]} packages ($(du -sh "$sysroot" | cut -f1))"
