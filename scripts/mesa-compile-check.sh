#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The Mesa step of `make test`: compile-only. Applies mesa-patches/ to
# pristine Mesa 22.3.6 (apt-get source) with `git am`, one patch at a time,
# and compiles the object files of the .c files the series touches (and
# the generated headers they need), nothing else: no link, no install, no
# tests. The whole tier (both builds, the guest) is `make test-mesa`
# (scripts/mesa-test.sh); see docs/mesa.md.
#
# usage: mesa-compile-check.sh [RESULTS_JSON]
#   RESULTS_JSON  default build/results/mesa/results.json, in the format of
#                 igt-tests/runner/summarize.py: one test per patch
#                 ("mesa/apply/0001-...") and one per compiled file
#                 ("mesa/compile/src/..."), for `summarize.py --combine`.
#
# Cache, outside the clone: <cache>/mesa/22.3.6-check/ holds dl/ (apt-get
# source), src/ (git: the orig tarball, tag "pristine", then the series),
# build/ (a minimal meson configuration), series (the hash of the options
# and the series the tree holds, and each patch's result). A run with the
# same hash does not apply the series again (which would touch the files
# and recompile them); ninja then finds the objects up to date.
#
# Exit status: 0 if every patch applied and every file compiled, else 1.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/mesa-common.sh
. "$top/scripts/mesa-common.sh"

out=${1:-$top/build/results/mesa/results.json}
dir=$mesa_cache/$mesa_version-check
start=$(date +%s)

# Just enough to configure the four drivers and Mesa's GL frontend; the
# tests are on because the anv and hasvk gem stubs are only built for them.
# shellcheck disable=SC2054 # the commas are meson's list syntax
options=(
	-Dbuildtype=plain -Doptimization=1 -Db_colorout=never
	-Dgallium-drivers=iris,crocus -Dvulkan-drivers=intel,intel_hasvk
	-Dplatforms= -Degl=enabled -Dglx=disabled -Dgbm=disabled
	-Dgles1=disabled -Dgles2=disabled -Dglvnd=false -Ddri3=disabled
	-Dxlib-lease=disabled -Dshared-glapi=enabled -Dllvm=disabled
	-Dgallium-va=disabled -Dgallium-vdpau=disabled -Dgallium-xa=disabled
	-Dgallium-nine=false -Dgallium-opencl=disabled -Dgallium-omx=disabled
	-Dgallium-rusticl=false -Dvulkan-layers= -Dtools= -Dbuild-tests=true
	-Dvideo-codecs= -Dvalgrind=disabled -Dlibunwind=disabled
	-Dlmsensors=disabled -Dzstd=disabled
)

mapfile -t patches < <(ls "$top"/mesa-patches/*.patch 2>/dev/null)
((${#patches[@]})) || { echo "mesa-compile-check: no mesa-patches/*.patch" >&2; exit 1; }
hash=$( { echo "$mesa_version"; printf '%s\n' "${options[@]}"; cat "${patches[@]}"; } |
	sha256sum | cut -c1-12)

# The .c files the series touches (new or modified), from the patches
# themselves, so that they are known even when a patch does not apply.
mapfile -t files < <(sed -n 's|^diff --git a/.* b/\(.*\.c\)$|\1|p' "${patches[@]}" | sort -u)

# Results, one line each: NAME<TAB>pass|fail<TAB>note; failure output in
# $work/<n>.err.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.tsv
: >"$results"
result() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$results"; }

write_results() {
	mkdir -p "$(dirname "$out")"
	python3 - "$results" "$out" "$work" "$start" <<'EOF'
import json, os, sys, time
tsv, out, work, start = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
tests = {}
with open(tsv) as f:
    for n, line in enumerate(f):
        name, result, note = line.rstrip("\n").split("\t", 2)
        err = ""
        path = os.path.join(work, "%s.err" % name.replace("/", "_"))
        if os.path.exists(path):
            with open(path, errors="replace") as e:
                err = e.read()
        tests[name] = {"result": result, "returncode": None,
                       "time": {"start": start, "end": time.time()},
                       "out": "", "err": err, "dmesg": ""}
        if note:
            tests[name]["note"] = note
passed = sum(1 for t in tests.values() if t["result"] == "pass")
doc = {"name": "mesa", "results_version": 10, "tests": tests,
       "totals": {"pass": passed, "fail": len(tests) - passed, "skip": 0}}
with open(out, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=True)
EOF
}
errfile() { printf '%s/%s.err' "$work" "${1//\//_}"; }

# Writes the results, prints the failures and the count, exits 0 if all
# passed.
finish() {
	local name res note
	write_results
	while IFS=$'\t' read -r name res note; do
		[ "$res" = pass ] && continue
		echo "FAIL $name: $note"
		[ -s "$(errfile "$name")" ] && tail -n 30 "$(errfile "$name")" | sed 's/^/    /'
	done <"$results"
	# --combine's status: 1 if anything failed.
	if python3 "$top/igt-tests/runner/summarize.py" --combine "$out" | sed -n 1p; then
		exit 0
	fi
	exit 1
}

# A failure before any patch or file is tried fails all of them: the count
# of make test stays the same and nothing is reported as passed.
fail_all() {
	local why=$1 p f
	for p in "${patches[@]}"; do result "mesa/apply/$(basename "$p" .patch)" fail "$why"; done
	for f in "${files[@]}"; do result "mesa/compile/$f" fail "$why"; done
	finish
}

rm -f "$out"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
mesa_install_deps || fail_all "installing the build dependencies failed"
mesa_ensure_source "$dir" || fail_all "no Mesa $mesa_version source from apt-get source"

# 1. The series, with git am, one patch at a time. The tree keeps the
# result for the next run: "<hash> <commit>" then one result line per patch.
src=$dir/src
applied=1
if [ -f "$dir/series" ] && [ "$(head -n1 "$dir/series")" = "$hash $(git -C "$src" rev-parse HEAD)" ] &&
	[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
	log "series $hash already applied in $src"
	tail -n +2 "$dir/series" >>"$results"
	grep -q "	fail	" "$dir/series" && applied=0
else
	rm -f "$dir/series"
	mesa_git "$src" am --abort >/dev/null 2>&1 || true
	git -C "$src" checkout -q -f -B check pristine
	git -C "$src" clean -qfdx
	for p in "${patches[@]}"; do
		name=mesa/apply/$(basename "$p" .patch)
		if ((!applied)); then
			result "$name" fail "not tried: an earlier patch did not apply"
		elif mesa_git "$src" am -q --keep-cr "$p" >"$(errfile "$name")" 2>&1; then
			result "$name" pass
		else
			mesa_git "$src" am --abort >/dev/null 2>&1 || true
			result "$name" fail "git am: does not apply to pristine $mesa_version"
			applied=0
		fi
	done
	{
		echo "$hash $(git -C "$src" rev-parse HEAD)"
		grep '^mesa/apply/' "$results"
	} >"$dir/series"
fi
t_apply=$(date +%s)

# 2. Configure (once per option set) and compile the objects of the files.
build=$dir/build
if ((!applied)); then
	for f in "${files[@]}"; do result "mesa/compile/$f" fail "not compiled: the series does not apply"; done
	finish
fi
if [ ! -f "$build/build.ninja" ] || [ "$(cat "$build/.options" 2>/dev/null)" != "${options[*]}" ]; then
	rm -rf "$build"
	log "meson setup (minimal configuration)"
	meson setup "$build" "$src" "${options[@]}" >"$work/setup.log" 2>&1 || {
		cp "$work/setup.log" "$dir/setup.log"
		for f in "${files[@]}"; do result "mesa/compile/$f" fail "meson setup failed (see $dir/setup.log)"; done
		finish
	}
	printf '%s' "${options[*]}" >"$build/.options"
fi
t_setup=$(date +%s)

# file<TAB>object, from meson's compile database; a file can have several
# objects (the same source in two libraries).
python3 - "$build" "$src" "${files[@]}" >"$work/objects.tsv" <<'EOF'
import json, os, sys
build, src, files = sys.argv[1], os.path.realpath(sys.argv[2]), set(sys.argv[3:])
with open(os.path.join(build, "compile_commands.json")) as f:
    for c in json.load(f):
        path = os.path.relpath(os.path.realpath(os.path.join(c["directory"], c["file"])), src)
        if path in files:
            print("%s\t%s" % (path, c["output"]))
EOF
mapfile -t objects < <(cut -f2 "$work/objects.tsv")
log "compiling ${#objects[@]} objects of ${#files[@]} files"
rc=0
if ((${#objects[@]})); then
	ninja -C "$build" -k 0 "${objects[@]}" >"$work/ninja.log" 2>&1 || rc=$?
fi
# What ninja would still do is what did not build (a compile error, or a
# generated header that failed before it).
if ((${#objects[@]})); then
	ninja -C "$build" -n "${objects[@]}" >"$work/left.log" 2>&1 || true
fi
for f in "${files[@]}"; do
	name=mesa/compile/$f
	mapfile -t objs < <(awk -F'\t' -v f="$f" '$1 == f { print $2 }' "$work/objects.tsv")
	if ((!${#objs[@]})); then
		result "$name" fail "no object in this configuration"
		continue
	fi
	bad=0
	for o in "${objs[@]}"; do
		if [ ! -f "$build/$o" ] || grep -Fq " $o" "$work/left.log"; then
			bad=1
			awk -v o="FAILED: $o" 'index($0, o) == 1 { p = 1 } p && /^\[[0-9]+\/[0-9]+\] / && index($0, o) == 0 { p = 0 } p' \
				"$work/ninja.log" >>"$(errfile "$name")"
		fi
	done
	if ((bad)); then
		result "$name" fail "does not compile (ninja exit $rc)"
		[ -s "$(errfile "$name")" ] || tail -n 40 "$work/ninja.log" >"$(errfile "$name")"
	else
		result "$name" pass "${#objs[@]} object(s)"
	fi
done
t_end=$(date +%s)
log "times: apply $((t_apply - start)) s, setup $((t_setup - t_apply)) s, compile $((t_end - t_setup)) s, total $((t_end - start)) s"
finish
