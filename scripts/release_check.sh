#!/usr/bin/env bash
# Runs a release tarball (scripts/release.sh) in a clean Debian root made with debootstrap (minbase: no Swift, no
# compiler, no -dev packages, not even curl): vitkit --help, one epoch of training on generated data, and bench.
#
#   scripts/release_check.sh dist/vitkit-VERSION-linux-x86_64.tar.gz [ROOT]      (as root; ROOT default /tmp/debroot)
set -euo pipefail
tarball=${1:?usage: release_check.sh TARBALL [ROOT]}; root=${2:-/tmp/debroot}
[ -x "$root/bin/sh" ] || debootstrap --variant=minbase "$(. /etc/os-release; echo "$VERSION_CODENAME")" "$root" http://deb.debian.org/debian
mkdir -p "$root/opt" && tar -C "$root/opt" -xzf "$tarball"
name=$(basename "$tarball" .tar.gz)
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
chroot "$root" /bin/sh -c "cd /tmp && V=/opt/$name/vitkit
    echo \"# Debian \$(cat /etc/debian_version); compilers: \$(ls /usr/bin | grep -cE '^(swift|gcc|clang|cc)\$'); -dev packages: \$(dpkg -l | grep -c -- '-dev ')\"
    echo '\$ vitkit --help | head -3'; \$V --help | head -3
    echo '\$ vitkit train --epochs 1 --synthetic-train 1000 --synthetic-test 200 --output /tmp/run'
    \$V train --epochs 1 --synthetic-train 1000 --synthetic-test 200 --output /tmp/run 2>&1 | tail -2; ls /tmp/run
    echo '\$ vitkit bench --steps 2 --warmup 1'; \$V bench --steps 2 --warmup 1 2>&1 | tail -1"
