#!/bin/bash
# SPDX-License-Identifier: MIT
# Second stage of the guest, run from the host's root (read-only 9p).
# Environment from the kernel command line: PROJECT, KSERIES, KV, KTREE,
# MODDIR, PASSES (e.g. "pinned unpinned"; "deferred" is backing=pinned
# release=deferred), SUITES (binaries, or "all"),
# MODE (test|demo|bench|mesa|exec|i915); for bench BENCH_REPS, BENCH_SCALE,
# BENCH_ONLY; for mesa MESA_TIER_ENV (see mesa-tests/guest.sh); for exec
# the share's exec-cmd and exec-cwd files (scripts/vm-run.sh);
# IGT_TIMEOUT (seconds per subtest); IGT_FILTER (regular expression on
# binary@subtest: run only those); DEBUG_KERNEL=1 (scripts/test-debug.sh).
#
# Writes into /tmp/results (a writable 9p share): <pass>.json from the IGT
# runner, checks.txt ("name pass|fail reason" lines), dmesg.txt, stage
# (what the guest is doing: the host names it if the guest dies), done;
# for exec exec-started and exec-status (the command's exit status).
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

# What the guest is doing now, for the host's one line if it dies here
# (a WARN under panic_on_warn while the modules unload, say).
stage() {
	echo "$1" >"$R/stage"
	echo "guest: stage $1"
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
[ "${DEBUG_KERNEL:-0}" = 1 ] && stage debug/before && bash "$PROJECT/scripts/test-debug.sh" guest-before

stat_of() { sed -n "s/^$1: //p" /sys/kernel/debug/vblit/stats 2>/dev/null; }

# The kernel's own FOLL_PIN accounting: pins taken since boot minus pins
# dropped. Whatever a pass pins, through the module or any other path,
# must be dropped once the modules are gone, so the balance after the
# unload must equal the one before the load; a leak the module's own
# counters miss shows here. "?" if the kernel has no such counters.
foll_pin_balance() {
	# Fold every CPU's pending vmstat deltas first: without it the two
	# counters lag by up to a per-CPU threshold each.
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 }
		END { if (a == "" || r == "") print "?"; else printf "%d\n", a - r }' /proc/vmstat
}

foll_pin_check() { # name balance-before
	local after
	# Deferred releases (a job's last reference, an unpin worker) land
	# within a moment.
	for _ in $(seq 50); do
		[ "$(foll_pin_balance)" = "$2" ] && break
		sleep 0.1
	done
	after=$(foll_pin_balance)
	if [ "$2" = "?" ] || [ "$after" = "?" ]; then
		check "$1" fail "no nr_foll_pin_acquired/released in /proc/vmstat"
	elif [ "$after" = "$2" ]; then
		check "$1" pass "balance $2 before the load, $after after the unload"
	else
		check "$1" fail "balance $2 before the load, $after after the unload: $((after - $2)) pins never dropped"
	fi
}

# The user's command of make vm-exec: its output goes to the second serial
# port, which the host streams as it comes; its status to the share.
run_exec() {
	local out=/dev/ttyS1 cwd rc
	cwd=$(cat "$R/exec-cwd" 2>/dev/null)
	stty -F "$out" raw -echo 2>/dev/null || out=/dev/console
	echo "guest: running the command at $(cut -d' ' -f1 /proc/uptime) s of uptime"
	: >"$R/exec-started"
	(
		cd "${cwd:-/}" 2>/dev/null || echo "vm-exec: cannot enter $cwd in the guest; running in /"
		exec bash -c "$(cat "$R/exec-cmd")"
	) </dev/null >"$out" 2>&1
	rc=$?
	echo "$rc" >"$R/exec-status"
	echo "guest: the command exited with status $rc"
}

# The kernel log lines (file $1) that fail a run: a WARNING, BUG, Oops,
# lockdep, KASAN, KFENCE, UBSAN, hung-task, lockup or RCU-stall report
# anywhere, and a "Call Trace" outside the OOM killer's ordinary report.
# That report ("... invoked oom-killer:" through "Killed process" or "Out
# of memory and no killable processes") dumps the allocating task's stack
# as information; a test may provoke it on purpose. Any of the reports
# above inside it still fails.
klog_bad() {
	awk '
	/invoked oom-killer:/ { oom = 1; n = 0 }
	oom && ++n > 2000 { oom = 0 } # a report that never ends is not one
	/BUG:|WARNING:|Oops|KASAN|KFENCE|UBSAN|general protection fault|Kernel panic|possible circular locking|possible recursive locking|inconsistent lock state|possible irq lock inversion|sleeping function called from invalid context|suspicious RCU usage|blocked for more than|hung_task_timeout_secs|soft lockup|hard LOCKUP|detected stall|rcu: INFO/ {
		print NR ": " $0
		next
	}
	/Call Trace/ && !oom { print NR ": " $0 }
	/Killed process|Out of memory and no killable processes/ { oom = 0 }
	' "$1"
}

# make test-i915: i915's own module and mock selftests, no vblit passes.
if [ "${MODE:-test}" = i915 ]; then
	bash "$PROJECT/scripts/i915-guest.sh" "$R" || check vm/i915 fail "exit $?"
	PASSES=
fi

export IGT_FORCE_DRIVER=vblit
export VBLIT_KO="$MODDIR/vblit/vblit.ko"
# The fuzz subtests find the fuzzer here (igt-tests/README.md).
export VBLIT_FUZZER="${VBLIT_FUZZER:-$PROJECT/build/tools/vblit_fuzz}"
for entry in ${PASSES//,/ }; do
	# An entry is a backing, optionally with its own suites:
	# "legacy:vblit_userptr+vblit_basic".
	pass=${entry%%:*} pass_suites=${SUITES:-all}
	[ "$entry" = "$pass" ] || pass_suites=${entry#*:}
	# VBLIT_OPTS (kernel command line): more vblit parameters, separated
	# by commas, e.g. a longer max_hold_ms for a slow debug kernel. The
	# pass "deferred" is the pinned backing with deferred release
	# (docs/testbed.md).
	case "$pass" in
	deferred) vblit_mode="backing=pinned release=deferred" ;;
	*) vblit_mode="backing=$pass" ;;
	esac
	vblit_opts=${VBLIT_OPTS:-}
	export VBLIT_MODULE_OPTS="$vblit_mode ${vblit_opts//,/ }"
	# The tests' hooks; a user's command (exec) gets the module as
	# production loads it. The benchmark comparators live in a module of
	# their own.
	hooks=debug_hooks=1
	[ "${MODE:-test}" = exec ] && hooks=
	bench_ko=()
	case "$pass" in legacy|aligned) bench_ko=("$MODDIR/bench/drm_userptr_bench.ko") ;; esac
	stage "$pass/module-load"
	pins=$(foll_pin_balance)
	if ! insmod "$MODDIR/drm_userptr.ko" $hooks ||
		! { [ ${#bench_ko[@]} = 0 ] || insmod "${bench_ko[0]}"; } ||
		! insmod "$VBLIT_KO" $VBLIT_MODULE_OPTS; then
		check "vm/$pass/module-load" fail "insmod failed"
		continue
	fi
	check "vm/$pass/module-load" pass
	stage "$pass/${MODE:-test}"
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
	exec)
		run_exec
		;;
	esac
	stage "$pass/counters"
	# Deferred frees (a job's last reference) land within a moment.
	# leaked_pinned_pages: pins no object holds (absent from older modules).
	for _ in $(seq 50); do
		[ "$(stat_of objects)" = 0 ] && [ "$(stat_of pinned_pages)" = 0 ] && break
		sleep 0.1
	done
	o=$(stat_of objects) p=$(stat_of pinned_pages) l=$(stat_of leaked_pinned_pages)
	if [ "$o" = 0 ] && [ "$p" = 0 ] && [ "${l:-0}" = 0 ]; then
		check "vm/$pass/counters-zero" pass
	else
		check "vm/$pass/counters-zero" fail "objects=$o pinned_pages=$p leaked_pinned_pages=${l:-absent}"
		cat /sys/kernel/debug/vblit/stats
	fi
	# With pins or objects left, drm_userptr WARNs here; under panic_on_warn
	# the guest dies and the host names this stage.
	stage "$pass/module-unload"
	lsmod | grep -q '^vblit ' && ! rmmod vblit && err="vblit busy"
	lsmod | grep -q '^drm_userptr_bench ' && ! rmmod drm_userptr_bench && err="${err:-} drm_userptr_bench busy"
	lsmod | grep -q '^drm_userptr ' && ! rmmod drm_userptr && err="${err:-} drm_userptr busy"
	if lsmod | grep -qE '^(vblit|drm_userptr|drm_userptr_bench) '; then
		check "vm/$pass/module-unload" fail "${err:-still loaded}"
	else
		check "vm/$pass/module-unload" pass
	fi
	unset err
	stage "$pass/foll-pin-balance"
	foll_pin_check "vm/$pass/foll-pin-balance" "$pins"
done

stage dmesg
dmesg >"$R/dmesg.txt"
klog_bad "$R/dmesg.txt" >"$R/dmesg-bad.txt"
if [ -s "$R/dmesg-bad.txt" ]; then
	check vm/dmesg-clean fail "$(head -n1 "$R/dmesg-bad.txt")"
else
	check vm/dmesg-clean pass
fi
# The checking kernel: kmemleak scan, then the hmm-tests peer reference.
[ "${DEBUG_KERNEL:-0}" = 1 ] && stage debug/after && bash "$PROJECT/scripts/test-debug.sh" guest-after
touch "$R/done"
power_off
