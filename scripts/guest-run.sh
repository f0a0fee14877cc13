#!/bin/bash
# SPDX-License-Identifier: MIT
# Second stage of the guest, run from the host's root (read-only 9p).
# Environment from the kernel command line: PROJECT, KSERIES, KV, KTREE,
# MODDIR, PASSES (e.g. "pinned unpinned"), SUITES (binaries, or "all"),
# MODE (test|demo|bench|mesa); for bench BENCH_REPS, BENCH_SCALE, BENCH_ONLY;
# for mesa MESA_TIER_ENV (see mesa-tests/guest.sh);
# IGT_TIMEOUT (seconds per subtest); IGT_FILTER (regular expression on
# binary@subtest: run only those); DEBUG_KERNEL=1 (scripts/test-debug.sh).
#
# Writes into /tmp/results (a writable 9p share): <pass>.json from the IGT
# runner, checks.txt ("name pass|fail reason" lines), dmesg.txt, done.
# Powers off through isa-debug-exit: status 3 means "ran to the end".
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LC_ALL=C.UTF-8
R=/tmp/results

mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs -o mode=755 tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mkdir -p /dev/shm /dev/pts && mount -t tmpfs -o mode=1777 tmpfs /dev/shm
echo "guest: $(uname -r), $(nproc) cpus, nodes: $(ls -d /sys/devices/system/node/node* | wc -l)"

check() { # name result reason
	echo "$1 $2 ${3:-}" >>"$R/checks.txt"
	echo "guest: check $1: $2 ${3:-}"
}

power_off() {
	sync
	umount "$R" 2>/dev/null
	printf '\001' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
	echo o >/proc/sysrq-trigger
	sleep 10
}

modprobe -d "$KTREE" -S "$KV" drm_shmem_helper || check vm/modules fail "drm_shmem_helper"
modprobe -d "$KTREE" -S "$KV" zram num_devices=1 &&
	echo 256M >/sys/block/zram0/disksize &&
	mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 ||
	check vm/zram-swap fail "zram swap not set up"

# The checking kernel (make test-debug): KUnit, kmemleak baseline.
[ "${DEBUG_KERNEL:-0}" = 1 ] && bash "$PROJECT/scripts/test-debug.sh" guest-before

stat_of() { sed -n "s/^$1: //p" /sys/kernel/debug/vblit/stats 2>/dev/null; }

export IGT_FORCE_DRIVER=vblit
export VBLIT_KO="$MODDIR/vblit.ko"
# The fuzz subtests find the fuzzer here (igt-tests/README.md).
export VBLIT_FUZZER="${VBLIT_FUZZER:-$PROJECT/build/tools/vblit_fuzz}"
for entry in ${PASSES//,/ }; do
	# An entry is a backing, optionally with its own suites:
	# "legacy:vblit_userptr+vblit_basic".
	pass=${entry%%:*} pass_suites=${SUITES:-all}
	[ "$entry" = "$pass" ] || pass_suites=${entry#*:}
	# VBLIT_OPTS (kernel command line): more vblit parameters, e.g. a
	# longer max_hold_ms for a slow debug kernel.
	export VBLIT_MODULE_OPTS="backing=$pass ${VBLIT_OPTS:-}"
	if ! insmod "$MODDIR/drm_userptr.ko" debug_hooks=1 || ! insmod "$MODDIR/vblit.ko" $VBLIT_MODULE_OPTS; then
		check "vm/$pass/module-load" fail "insmod failed"
		continue
	fi
	check "vm/$pass/module-load" pass
	case "${MODE:-test}" in
	test)
		if [ "$pass_suites" = all ]; then bins=(); else IFS=,+ read -ra bins <<<"$pass_suites"; fi
		python3 "$PROJECT/igt-tests/runner/igt_run.py" --bin-dir "$PROJECT/build/igt" \
			--out "$R/$pass.json" --pass "$pass" ${IGT_TIMEOUT:+--timeout "$IGT_TIMEOUT"} "${bins[@]}"
		;;
	demo)
		echo "== userptr backing: $pass" >"$R/demo-$pass.txt"
		"$PROJECT/build/tools/vblit_demo" >>"$R/demo-$pass.txt" 2>&1 ||
			check "vm/$pass/demo" fail "exit $?"
		;;
	mesa)
		bash "$PROJECT/mesa-tests/guest.sh" "$R/mesa-$pass" ||
			check "vm/$pass/mesa" fail "exit $?"
		;;
	bench)
		# Raw samples only; scripts/bench.sh computes the ratios on the host.
		# A pass named twice in PASSES appends a second round.
		round=$(grep -sc '^# pass=' "$R/bench-$pass.csv" || true)
		echo "== userptr backing: $pass (round ${round:-0})" >>"$R/bench-$pass.txt"
		"$PROJECT/build/tools/vblit_bench" --pass "$pass" --round "${round:-0}" \
			--csv "$R/bench-$pass.csv" ${BENCH_REPS:+--reps "$BENCH_REPS"} \
			${BENCH_SCALE:+--scale "$BENCH_SCALE"} ${BENCH_ONLY:+--only "$BENCH_ONLY"} \
			>>"$R/bench-$pass.txt" 2>&1 || check "vm/$pass/bench" fail "exit $?"
		;;
	esac
	# Deferred frees (a job's last reference) land within a moment.
	for _ in $(seq 50); do
		[ "$(stat_of objects)" = 0 ] && [ "$(stat_of pinned_pages)" = 0 ] && break
		sleep 0.1
	done
	o=$(stat_of objects) p=$(stat_of pinned_pages)
	if [ "$o" = 0 ] && [ "$p" = 0 ]; then
		check "vm/$pass/counters-zero" pass
	else
		check "vm/$pass/counters-zero" fail "objects=$o pinned_pages=$p"
		cat /sys/kernel/debug/vblit/stats
	fi
	lsmod | grep -q '^vblit ' && ! rmmod vblit && err="vblit busy"
	lsmod | grep -q '^drm_userptr ' && ! rmmod drm_userptr && err="${err:-} drm_userptr busy"
	if lsmod | grep -qE '^(vblit|drm_userptr) '; then
		check "vm/$pass/module-unload" fail "${err:-still loaded}"
	else
		check "vm/$pass/module-unload" pass
	fi
	unset err
done

dmesg >"$R/dmesg.txt"
if grep -nE 'BUG:|WARNING:|Oops|Call Trace|possible circular locking|possible recursive locking|inconsistent lock state|sleeping function called from invalid context' "$R/dmesg.txt" >"$R/dmesg-bad.txt"; then
	check vm/dmesg-clean fail "$(head -n1 "$R/dmesg-bad.txt")"
else
	check vm/dmesg-clean pass
fi
# The checking kernel: kmemleak scan, then the hmm-tests peer reference.
[ "${DEBUG_KERNEL:-0}" = 1 ] && bash "$PROJECT/scripts/test-debug.sh" guest-after
touch "$R/done"
power_off
