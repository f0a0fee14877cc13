#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Build Mesa 22.3.6 (Debian 12's version) twice: as released ("pristine")
# and with mesa-patches/ applied ("series"); run Mesa's own
# `meson test --suite intel` on each. Used by scripts/mesa-test.sh; see
# docs/mesa.md.
#
# usage: mesa-build.sh   (the compile-only check of `make test` is
#                         scripts/mesa-compile-check.sh)
#
# Cache, outside the clone (DRM_USERPTR_CACHE, else XDG_CACHE_HOME, else
# ~/.cache, then drm-userptr/mesa/):
#   <version>-work/      dl/ (apt-get source), src/ (git: the orig tarball
#                        committed and tagged "pristine"), build/ (the one
#                        meson build tree both builds share, so the second
#                        one only recompiles what the series touches)
#   <version>-<hash>/    one build: root/ (meson install --destdir, prefix
#                        /usr/local), include/ (Mesa's API headers),
#                        meson-test.txt, times.txt, .complete
# <hash> is over the build options and the patch series; the pristine build
# is the empty series. A build whose directory is complete is reused as is.
#
# Prints "pristine=<dir>" and "series=<dir>" on stdout; progress on stderr.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/mesa-common.sh
. "$top/scripts/mesa-common.sh"
cache=${mesa_cache%/mesa}
version=$mesa_version

# shellcheck disable=SC2054 # the commas are meson's list syntax
options=(
	-Dprefix=/usr/local -Dlibdir=lib -Doptimization=1 -Ddebug=false
	-Dgallium-drivers=iris,crocus -Dvulkan-drivers=intel,intel_hasvk
	-Dtools=drm-shim,intel -Dbuild-tests=true
	# GL_AMD_pinned_memory needs a GL context: EGL, surfaceless only.
	-Degl=enabled -Dplatforms= -Dglx=disabled -Dgbm=disabled
	-Dgles1=disabled -Dgles2=disabled -Dglvnd=false -Ddri3=disabled
	-Dxlib-lease=disabled -Dshared-glapi=enabled
	-Dllvm=disabled -Dgallium-va=disabled -Dgallium-vdpau=disabled
	-Dgallium-xa=disabled -Dgallium-nine=false -Dgallium-opencl=disabled
	-Dgallium-omx=disabled -Dgallium-rusticl=false -Dvulkan-layers=
	-Dvideo-codecs= -Dvalgrind=disabled -Dlibunwind=disabled
	-Dlmsensors=disabled -Dzstd=disabled
)
# Checks out pristine plus PATCHES (possibly none) in the work tree.
checkout() {
	local src=$1; shift
	mesa_git "$src" am --abort >/dev/null 2>&1 || true
	git -C "$src" checkout -q -f -B tier pristine
	git -C "$src" clean -qfdx
	if (($#)); then
		mesa_git "$src" am -q --keep-cr "$@" || {
			echo "mesa-build: the series does not apply to pristine $version" >&2
			exit 1
		}
	fi
}

# What the tier needs from a build tree, as ninja targets: everything that
# is installed, and the programs of meson's "intel" test suite. The other
# suites' tests (nir, glsl, util, ...) are a good part of a full build.
tier_targets() {
	local build=$1
	meson introspect --targets --tests "$build" | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
info = json.load(sys.stdin)
need = {d for t in info["tests"] if "mesa:intel" in t["suite"] for d in t["depends"]}
for t in info["targets"]:
    if t["installed"] or t["id"] in need:
        for f in t["filename"]:
            print(os.path.relpath(f, build))
' "$build"
}

# meson test's summary ("Ok: N" ... lines) of the current build.
run_meson_test() {
	local build=$1 out=$2 rc=0
	meson test -C "$build" --no-rebuild --suite intel --num-processes "$(nproc)" \
		--print-errorlogs >"$out.log" 2>&1 || rc=$?
	grep -E '^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout):' "$out.log" >"$out" || true
	echo "exit: $rc" >>"$out"
}

# Builds one variant (name, then its patches) into <version>-<hash>/, and
# sets variant_dir to that directory.
variant_dir=
build_variant() {
	local name=$1; shift
	local hash dir work=$cache/mesa/$version-work t0 t1 t2 targets
	hash=$( { printf '%s\n' "${options[@]}"; cat /dev/null "$@"; } | sha256sum | cut -c1-12)
	dir=$cache/mesa/$version-$hash
	variant_dir=$dir
	if [ -f "$dir/.complete" ]; then
		log "$name: cached ($dir)"
		return
	fi
	log "$name: building into $dir"
	t0=$(date +%s)
	checkout "$work/src" "$@" >&2
	if [ ! -f "$work/build/build.ninja" ]; then
		meson setup "$work/build" "$work/src" "${options[@]}" >"$work/setup.log" 2>&1 ||
			{ cat "$work/setup.log"; exit 1; }
	fi
	mapfile -t targets < <(tier_targets "$work/build")
	ninja -C "$work/build" "${targets[@]}" >"$work/ninja-$name.log" 2>&1 ||
		{ tail -n 60 "$work/ninja-$name.log"; exit 1; }
	t1=$(date +%s)
	rm -rf "$dir"
	mkdir -p "$dir"
	run_meson_test "$work/build" "$dir/meson-test.txt"
	t2=$(date +%s)
	DESTDIR="$dir/root" meson install -C "$work/build" --no-rebuild >"$dir/install.log" 2>&1 ||
		{ cat "$dir/install.log"; exit 1; }
	cp -r "$work/src/include" "$dir/include"
	printf 'build %d s\nmeson-test %d s\n' $((t1 - t0)) $((t2 - t1)) >"$dir/times.txt"
	touch "$dir/.complete"
	log "$name: built in $((t1 - t0)) s, meson test in $((t2 - t1)) s"
}

mkdir -p "$cache/mesa"
mesa_install_deps
mapfile -t patches < <(ls "$top"/mesa-patches/*.patch)
((${#patches[@]})) || { echo "mesa-build: no mesa-patches/*.patch" >&2; exit 1; }

# One builder at a time: both builds share one work tree.
exec 9>"$cache/mesa/.lock"
flock 9
mesa_ensure_source "$cache/mesa/$version-work"

build_variant pristine
echo "pristine=$variant_dir"
build_variant series "${patches[@]}"
echo "series=$variant_dir"
