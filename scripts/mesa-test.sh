#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make test-mesa: Mesa's userptr paths against the real kernel module.
#
#  1. scripts/mesa-build.sh: Mesa 22.3.6 as released and with mesa-patches/
#     (cached outside the clone), and Mesa's own `meson test --suite intel`
#     on each;
#  2. mesa-tests/: the ioctl interposer and the programs;
#  3. one QEMU guest (scripts/vm-run.sh, MODE=mesa) that loads the modules
#     and runs every program against both builds under
#     intel_noop_drm_shim, the interposer forwarding the userptr ioctls to
#     vblit (mesa-tests/guest.sh);
#  4. mesa-tests/summarize.py: each fixed behaviour failing without the
#     series and passing with it; last line "N passed, N failed".
#
# env: MESA_KERNEL (6.12), MESA_PASSES ("pinned unpinned"), MESA_CONFIGS
#      ("anv:skl anv:tgl hasvk:hsw hasvk:bdw iris:skl iris:tgl crocus:hsw
#      crocus:ivb"), MESA_VM_TIMEOUT seconds (3000).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${MESA_KERNEL:-6.12}
passes=${MESA_PASSES:-pinned unpinned}
configs=${MESA_CONFIGS:-anv:skl anv:tgl hasvk:hsw hasvk:bdw iris:skl iris:tgl crocus:hsw crocus:ivb}
out=$top/build/mesa
start=$(date +%s)

log() { printf '[mesa] %s\n' "$*"; }

# 1. The two builds.
builds=$("$top/scripts/mesa-build.sh")
pristine=$(sed -n 's/^pristine=//p' <<<"$builds")
series=$(sed -n 's/^series=//p' <<<"$builds")
t_build=$(date +%s)

# Mesa's own suite: counts for both; the series must not add failures.
meson_bad() { # sum of the failure kinds in a meson-test.txt
	awk -F': *' '$1 ~ /^(Fail|Timeout|Unexpected Pass)$/ { n += $2 } END { print n + 0 }' "$1"
}
for b in pristine series; do
	dir=${!b}
	log "meson test --suite intel ($b): $(grep -v '^exit' "$dir/meson-test.txt" | tr -s ' \n' ' ')"
done
extras=()
if [ "$(meson_bad "$series/meson-test.txt")" -le "$(meson_bad "$pristine/meson-test.txt")" ] &&
	grep -q '^Ok: *[1-9]' "$series/meson-test.txt"; then
	extras+=(--extra "mesa/meson-test-intel=pass")
else
	extras+=(--extra "mesa/meson-test-intel=fail:the series adds failures (see $series/meson-test.txt.log)")
fi

# 2. The programs: they only need Mesa's headers.
make -s -C "$top/mesa-tests" MESA_INCLUDE="$pristine/include" O="$top/build/mesa-tests"

# 3. The guest. vm-run.sh derives every path from its own location: run
# through a tree of symlinks it gets a share, serial log and results of
# its own, so the Mesa tier never races `make test` or `make run`.
vmtree=$out/vmtree
mkdir -p "$vmtree/build"
for d in scripts igt-tests mesa-tests; do ln -sfn "$top/$d" "$vmtree/$d"; done
for d in kernels modules; do ln -sfn "$top/build/$d" "$vmtree/build/$d"; done
cat >"$out/tier.env" <<EOF
# Written by scripts/mesa-test.sh for mesa-tests/guest.sh
MESA_TESTS_BIN=$top/build/mesa-tests
MESA_PRISTINE=$pristine/root/usr/local
MESA_SERIES=$series/root/usr/local
MESA_CONFIGS="$configs"
EOF
log "guest: kernel $kernel, backings: $passes"
set +e
PASSES="$passes" VM_TIMEOUT=${MESA_VM_TIMEOUT:-3000} \
	VM_APPEND="MESA_TIER_ENV=$out/tier.env ${VM_APPEND:-}" \
	"$vmtree/scripts/vm-run.sh" "$kernel" mesa |
	grep -v "^$kernel: [0-9]* passed, [0-9]* failed, [0-9]* skipped$"
set -e
t_guest=$(date +%s)

# 4. The summary.
share=$vmtree/build/vm/$kernel/share
while read -r name result reason; do
	extras+=(--extra "$name=$result${reason:+:$reason}")
done <"$share/checks.txt"
passdirs=()
for p in $passes; do passdirs+=("$share/mesa-$p"); done
rm -rf "$out/results"
cp -r "$share" "$out/results"
log "results: ${out#"$top"/}/results (serial log: ${vmtree#"$top"/}/build/vm/$kernel/serial-mesa.log)"
log "times: builds $((t_build - start)) s, guest $((t_guest - t_build)) s, total $(($(date +%s) - start)) s"
python3 "$top/mesa-tests/summarize.py" "${extras[@]}" "${passdirs[@]}"
