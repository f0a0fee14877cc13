#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make check: checkpatch --strict, sparse (C=1) and W=1 on drm-userptr/
# (the helper, vblit/ and bench/);
# the IGT tests compiled with -Werror against the stand-in IGT headers,
# which reach only what upstream's do (igt-tests/Makefile, target check).
# checkpatch.pl and its data files come from Debian's linux-source-6.12,
# extracted once into the cache.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${DRM_USERPTR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drm-userptr}
cp_dir="$cache/checkpatch"
if [ ! -x "$cp_dir/scripts/checkpatch.pl" ]; then
	echo "[check] fetching checkpatch.pl from linux-source-6.12"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root linux-source-6.12)
	dpkg -x "$tmp"/linux-source-6.12_*.deb "$tmp/x"
	tarball=$(ls "$tmp"/x/usr/src/linux-source-6.12*.tar.*)
	dir=$(basename "${tarball%.tar.*}")
	mkdir -p "$cp_dir"
	tar -xf "$tarball" -C "$cp_dir" --strip-components=1 \
		"$dir/scripts/checkpatch.pl" "$dir/scripts/spelling.txt" \
		"$dir/scripts/const_structs.checkpatch"
fi
rc=0
echo "[check] IGT tests against upstream's igt.h header set"
make -s -C "$top/igt-tests" check || rc=1
echo "[check] checkpatch --strict"
"$cp_dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
	-f "$top"/drm-userptr/*.[ch] "$top"/drm-userptr/vblit/*.[ch] \
	"$top"/drm-userptr/bench/*.[ch] || rc=1
# The i915 series and its selftest shims (make i915). FILE_PATH_CHANGES:
# files added under drivers/gpu/drm/i915/ are MAINTAINERS-covered already,
# which --no-tree cannot see.
"$cp_dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
	--ignore FILE_PATH_CHANGES "$top"/kernel-patches/i915/*.patch || rc=1
"$cp_dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
	-f "$top"/kernel-patches/i915-shims/st-shims/*.[ch] || rc=1
echo "[check] sparse (C=1) and W=1"
MODULE_FLAGS="C=1" KERNELS="${KERNELS:-6.12 6.1}" "$top/scripts/build-modules.sh" || rc=1
[ "$rc" = 0 ] && echo "[check] clean"
exit $rc
