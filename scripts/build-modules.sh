#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build drm_userptr.ko and vblit.ko for each kernel series, W=1, in
# build/modules/<series>/ (one source tree, one build tree per kernel).
# Fails on any compiler or modpost warning. Extra make arguments (C=1)
# come from MODULE_FLAGS.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
for s in ${KERNELS:-6.12 6.1}; do
	# shellcheck disable=SC1090
	. "$top/build/kernels/$s.env"
	out="$top/build/modules/$s"
	mkdir -p "$out/drm-userptr"
	ln -sfn "$top/uapi" "$out/uapi"
	# Mirror the sources as symlinks; drop links to files that are gone.
	find "$out/drm-userptr" -maxdepth 1 -type l ! -exec test -e {} \; -delete
	for f in "$top"/drm-userptr/*.[ch] "$top/drm-userptr/Kbuild"; do
		ln -sfn "$f" "$out/drm-userptr/$(basename "$f")"
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
