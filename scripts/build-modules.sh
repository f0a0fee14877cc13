#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build drm_userptr.ko, vblit/vblit.ko and bench/drm_userptr_bench.ko for
# each kernel series, W=1, in build/modules/<series>/drm-userptr/ (one source
# tree, one build tree per kernel).
# Fails on any compiler or modpost warning. Extra make arguments (C=1)
# come from MODULE_FLAGS.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
for s in ${KERNELS:-6.12 6.1}; do
	# shellcheck disable=SC1090
	. "$top/build/kernels/$s.env"
	out="$top/build/modules/$s"
	mkdir -p "$out/drm-userptr/vblit" "$out/drm-userptr/bench"
	ln -sfn "$top/uapi" "$out/uapi"
	# Mirror the sources as symlinks (the helper, the vblit driver in vblit/
	# and the bench comparators' module in bench/); drop links to files
	# that are gone, and what was built from them before they moved.
	find "$out/drm-userptr" -maxdepth 2 -type l ! -exec test -e {} \; -delete
	rm -f "$out/drm-userptr"/vblit.* "$out/drm-userptr"/vblit_* \
		"$out/drm-userptr"/.vblit*
	for d in . vblit bench; do
		for f in "$top/drm-userptr/$d"/*.[ch] "$top/drm-userptr/$d/Kbuild"; do
			ln -sfn "$f" "$out/drm-userptr/$d/$(basename "$f")"
		done
	done
	echo "[modules] building for $s ($KV)"
	logf="$out/build.log"
	if ! make -C "$KDIR" M="$out/drm-userptr" W=1 CONFIG_DEBUG_INFO_BTF_MODULES= \
		${MODULE_FLAGS:-} modules >"$logf" 2>&1; then
		cat "$logf"
		echo "[modules] build failed for $s" >&2
		exit 1
	fi
	if grep -E 'warning:|WARNING:' "$logf"; then
		echo "[modules] warnings for $s (W=1 must be clean)" >&2
		exit 1
	fi
done
