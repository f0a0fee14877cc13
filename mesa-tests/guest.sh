#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Guest side of the Mesa tier (scripts/mesa-test.sh), run by guest-run.sh
# MODE=mesa once per userptr backing, with vblit loaded: every program
# against both Mesa builds, in every configuration, with and without the
# kernel's PROBE advertised to Mesa.
#
# usage: guest.sh OUTDIR
# env:   MESA_TIER_ENV  file (on the read-only host root) that sets
#          MESA_TESTS_BIN   the programs and libvblit_forward.so
#          MESA_PRISTINE    install prefix of Mesa 22.3.6 as released
#          MESA_SERIES      install prefix of Mesa 22.3.6 + mesa-patches/
#          MESA_CONFIGS     "driver:platform ..." (anv:skl iris:tgl ...)
#
# Writes OUTDIR/<build>.txt (the programs' stdout: "#" notes and RESULT
# lines) and OUTDIR/<build>.err (their stderr). A program that does not
# exit 0 adds "RESULT <config> program got=exit:<status> ...".
set -u

out=${1:?usage: guest.sh OUTDIR}
# shellcheck disable=SC1090
. "${MESA_TIER_ENV:?}"
mkdir -p "$out"

run_one() { # build prefix driver platform probe
	local build=$1 lib=$2/lib drv=$3 plat=$4 probe=$5 prog rc
	case "$drv" in
	anv) prog=("$MESA_TESTS_BIN/vk_hostptr" --icd "$lib/libvulkan_intel.so") ;;
	hasvk) prog=("$MESA_TESTS_BIN/vk_hostptr" --icd "$lib/libvulkan_intel_hasvk.so") ;;
	iris | crocus) prog=("$MESA_TESTS_BIN/gl_pinned" --egl "$lib/libEGL.so.1") ;;
	*) echo "guest.sh: unknown driver $drv" >&2; return 1 ;;
	esac
	echo "== $build $drv/$plat probe=$probe" >>"$out/$build.err"
	timeout -k 5 300 env \
		LD_PRELOAD="$MESA_TESTS_BIN/libvblit_forward.so:$lib/libintel_noop_drm_shim.so" \
		LD_LIBRARY_PATH="$lib" LIBGL_DRIVERS_PATH="$lib/dri" \
		INTEL_STUB_GPU_PLATFORM="$plat" VBLIT_FORWARD_PROBE="$probe" \
		MESA_SHADER_CACHE_DISABLE=true \
		"${prog[@]}" --label "$drv/$plat" >>"$out/$build.txt" 2>>"$out/$build.err"
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "RESULT $drv/$plat/probe$probe program got=exit:$rc series=exit:0 pristine=exit:0" \
			>>"$out/$build.txt"
	fi
}

for build in series pristine; do
	case "$build" in
	series) prefix=$MESA_SERIES ;;
	pristine) prefix=$MESA_PRISTINE ;;
	esac
	: >"$out/$build.txt"
	: >"$out/$build.err"
	for cfg in $MESA_CONFIGS; do
		for probe in 1 0; do
			start=$(date +%s)
			run_one "$build" "$prefix" "${cfg%%:*}" "${cfg#*:}" "$probe"
			echo "guest: mesa $build ${cfg/:/\/} probe=$probe: $(($(date +%s) - start)) s"
		done
	done
done
