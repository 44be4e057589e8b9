#!/usr/bin/env bash
# Builds a `vitkit` that needs no Swift toolchain and no -dev packages, and packs it with a README:
#
#   scripts/release.sh [OUT_DIR]      (default dist/; writes OUT_DIR/vitkit-VERSION-linux-ARCH.tar.gz)
#
# The Swift runtime and Foundation are linked statically (--static-swift-stdlib); so are the C libraries Debian
# ships as .a files (OpenBLAS with its libgfortran and libquadmath, libpng, libjpeg-turbo, zlib, OpenSSL's
# libcrypto). Open MPI is loaded at run time when mpirun starts vitkit, so it is not linked at all. What
# the binary still takes from the system is printed at the end (ldd) and written into the tarball's README.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
arch=$(uname -m)
multiarch=$(ls -d /usr/lib/"$arch"-linux-gnu 2>/dev/null || echo /usr/lib)
version=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)
scratch=${SCRATCH:-.build/release-static}
gfortran=$(ls /usr/lib/gcc/"$arch"-linux-gnu/*/libgfortran.a 2>/dev/null | sort -V | tail -1)
quadmath=$(ls /usr/lib/gcc/"$arch"-linux-gnu/*/libquadmath.a 2>/dev/null | sort -V | tail -1)
for a in "$multiarch"/lib{turbojpeg,png16,z,crypto,openblas}.a "$gfortran"; do
    [ -f "$a" ] || { echo "release.sh: ${a:-libgfortran.a} is missing (install the -dev package that ships it)" >&2; exit 1; }
done
echo "building vitkit $version (release, static Swift runtime)..."
# VITKIT_NO_URLSESSION: --dataset-download goes through the curl command, so FoundationNetworking (and with it
# libcurl and its dozen libraries) is not linked.
flags=(-c release --product vitkit --static-swift-stdlib --scratch-path "$scratch" -Xswiftc -DVITKIT_NO_URLSESSION)
# SwiftPM links the system libraries with -lopenblas, -lpng16, ... (from the module maps, also in the .autolink
# files), which pick the shared ones: the build's own link command (-v) is run once more with the archives in
# their place.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rm -f "$scratch/release/vitkit"
swift build "${flags[@]}" -v > "$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
link=$(grep -E "clang.* -o [^ ]*/release/vitkit( |$)" "$log" | tail -1 || true)
[ -n "$link" ] || { echo "release.sh: could not find the link command" >&2; exit 1; }
static_libs() {
    sed -e "s#-lopenblas\b#$multiarch/libopenblas.a $gfortran ${quadmath} -lpthread -lm#g" \
        -e "s#-lpng16\b#$multiarch/libpng16.a#g" -e "s#-lpng\b#$multiarch/libpng16.a#g" \
        -e "s#-lturbojpeg\b#$multiarch/libturbojpeg.a#g" -e "s#-lcrypto\b#$multiarch/libcrypto.a -ldl -lpthread#g" \
        -e "s#-lz\b#$multiarch/libz.a#g"
}
for f in $(echo "$link" | tr ' ' '\n' | sed -n 's/^@\(.*\.autolink\)$/\1/p'); do
    static_libs < "$f" > "$f.static"
    link=${link//"@$f"/"@$f.static"}
done
eval "$(echo "$link" | static_libs)"
bin="$scratch/release/vitkit"
name="vitkit-$version-linux-$arch"
rm -rf "${out:?}/$name"; mkdir -p "$out/$name"
cp "$bin" "$out/$name/vitkit"
strip "$out/$name/vitkit" 2>/dev/null || true
needs=$(ldd "$out/$name/vitkit" | sed 's/ (0x[0-9a-f]*)//' | sed 's/^\s*//')
glibc=$(objdump -T "$out/$name/vitkit" | sed -n 's/.*GLIBC_\([0-9.]*\).*/\1/p' | sort -uV | tail -1)
cat > "$out/$name/README.md" <<README
# vitkit $version for Linux $arch

A single binary: \`./vitkit --help\`, then for example \`./vitkit train --dataset synthetic --epochs 1\`, or
\`./vitkit train --dataset cifar10 --data-dir DIR\` with CIFAR-10's binary version in DIR. \`./vitkit bench\` times
training steps. The Swift runtime and the C libraries (OpenBLAS, libpng, libjpeg-turbo, zlib, OpenSSL's libcrypto)
are inside it; on x86-64 the CPU needs AVX2 and FMA (vitkit says so if it does not).

It needs glibc $glibc or newer, and these shared libraries from the system (ldd on the build machine):

\`\`\`
$needs
\`\`\`

\`--dataset-download\` fetches through the \`curl\` command when the system has one.

To train across processes, install Open MPI (\`apt-get install openmpi-bin\`) and start it under \`mpirun\`: vitkit
loads libmpi when mpirun starts it.
README
tar -C "$out" -czf "$out/$name.tar.gz" "$name"
echo "$out/$name.tar.gz: $(du -h "$out/$name.tar.gz" | cut -f1); the binary needs glibc >= $glibc and:"
echo "$needs"
