#!/bin/bash
# Builds the Debian package: tools/deb.sh [OUTDIR]   (make deb: OUTDIR build/deb)
#
# dpkg-buildpackage -us -uc -b runs in a copy of the tree,
# OUTDIR/synwatch-VERSION/ (the files git knows, committed or not, but
# nothing ignored: no build/), so that dh_auto_clean's make clean and the
# build never touch the work tree. The package is built from scratch there,
# as a buildd would: nothing of build/ is reused. The results land beside
# the copy, in OUTDIR:
#   synwatch_VERSION_ARCH.deb, synwatch-dbgsym_VERSION_ARCH.deb,
#   synwatch_VERSION_ARCH.changes and .buildinfo,
#   build.log (dpkg-buildpackage's output), lintian.txt (lintian -I on the
#   .changes: the .debs and the .buildinfo).
# The copy is removed after a good build and kept after a failed one.
# Prints the .deb's path and the lintian tags; exits 1 if the build fails
# (lintian's tags do not fail it: tests/integration/test_package.sh judges
# them).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
upstream=${version%-*}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
src=$out/synwatch-$upstream
rm -rf "$src" "$out"/synwatch_"$version"_* "$out"/synwatch-dbgsym_"$version"_*
mkdir -p "$src"

# the tree's files: what git tracks or would (not ignored), as they are now
if git -C "$top" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
	git -C "$top" ls-files -z -co --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$top/$f" ] && printf '%s\0' "$f"; done |
		tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
else
	tar -C "$top" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
fi

start=$(date +%s)
echo "deb: dpkg-buildpackage -us -uc -b in $src (log: $out/build.log)" >&2
# not the calling make's jobserver and flags: dh runs its own make
if ! (cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CFLAGS -u LDFLAGS -u CPPFLAGS \
	dpkg-buildpackage -us -uc -b -jauto) > "$out/build.log" 2>&1; then
	tail -30 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed (log: $out/build.log, tree kept in $src)" >&2
	exit 1
fi
echo "deb: built in $(($(date +%s) - start)) s" >&2
rm -rf "$src"

deb=$out/synwatch_${version}_$arch.deb
[ -f "$deb" ] || { echo "deb: no $deb after the build" >&2; exit 1; }
# (its exit status says whether it found errors: the tags say more)
lintian -I --tag-display-limit 0 "$out/synwatch_${version}_$arch.changes" > "$out/lintian.txt" 2> "$out/lintian.err" || true
# lintian's own trouble, but its warning about running as root
if grep -v 'running with root privileges is not recommended' "$out/lintian.err" >&2; then
	echo "deb: lintian wrote the above on stderr" >&2
fi
rm -f "$out/lintian.err"
if [ -s "$out/lintian.txt" ]; then
	echo "deb: lintian -I says ($out/lintian.txt):" >&2
	sed 's/^/  /' "$out/lintian.txt" >&2
else
	echo "deb: lintian -I: no tags" >&2
fi
echo "$deb"
