#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make test-debug: every suite of `make test`, in both backings, on the
# checking kernel of scripts/debug-kernel.sh (lockdep, KASAN, KFENCE,
# DEBUG_VM, DEBUG_ATOMIC_SLEEP, fault injection, kmemleak), plus the KUnit
# tests of drm-userptr/tests/ and, once, the kernel's own hmm-tests against
# test_hmm.ko as a peer reference (reported, not part of pass/fail).
# Ends with "N passed, N failed, N skipped" like make test.
#
# usage: test-debug.sh                 on the host (what make test-debug runs)
#        test-debug.sh guest-before    in the guest, from guest-run.sh, before
#                                      the passes: checkers present, KUnit
#        test-debug.sh guest-after     in the guest, after guest-run.sh's own
#                                      dmesg check: kmemleak scan, peer run
# env (host): VM_TIMEOUT (one boot, default 7200 s: a pass took 2151 s on
#      the busy 2-core machine), IGT_TIMEOUT (per subtest, default 600 s:
#      the longest took 136 s), SUITES, PASSES (as for vm-run.sh; default
#      "pinned unpinned"; one guest boot per pass), DEBUG_KMEMLEAK=1 to boot
#      with kmemleak on, HMM_PEER=0 to skip the peer run.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

# ---------------------------------------------------------------------------
# Guest side. Environment from the kernel command line (see guest-run.sh):
# PROJECT, KV, KTREE, MODDIR, DEBUG_KERNEL, DEBUG_KUNIT, HMM_TESTS.
R=/tmp/results

# What guest-run.sh's vm/dmesg-clean looks for.
BAD_KLOG='BUG:|WARNING:|Oops|Call Trace|possible circular locking|possible recursive locking|inconsistent lock state|sleeping function called from invalid context'

check() { # name result reason
	echo "$1 $2 ${3:-}" >>"$R/checks.txt"
	echo "guest: check $1: $2 ${3:-}"
}

# KTAP of one suite -> one check per case: "kunit/<suite>/<case>".
kunit_report() { # suite ktap-file
	local suite=$1 ktap=$2 seen=0 line result name reason diag=""
	while IFS= read -r line; do
		# A failing case's diagnostics ("# ...") come before its result.
		if [[ "$line" =~ ^[[:space:]]+#\ (.*)$ ]] && [[ "$line" != *"Subtest:"* ]]; then
			diag+="${diag:+ | }${BASH_REMATCH[1]}"
			continue
		fi
		# Cases are the indented "ok N name" lines of the suite.
		[[ "$line" =~ ^[[:space:]]+(not\ )?ok\ [0-9]+\ ([^#]*[^#[:space:]])[[:space:]]*(#\ *(.*))?$ ]] || continue
		name=${BASH_REMATCH[2]}
		reason=${BASH_REMATCH[4]}
		if [ -n "${BASH_REMATCH[1]}" ]; then
			result=fail
			reason=${diag:0:300}
		elif [[ "$reason" == SKIP* ]]; then
			result=skip
			reason=${reason#SKIP}
			reason=${reason# }
		else
			result=pass
			reason=
		fi
		check "kunit/$suite/$name" "$result" "$reason"
		seen=$((seen + 1))
		diag=""
	done <"$ktap"
	[ "$seen" -gt 0 ] || check "kunit/$suite/results" fail "no test case results in the KTAP"
}

# The kernel's FOLL_PIN balance (pins taken minus dropped since boot), as
# in guest-run.sh's vm/<pass>/foll-pin-balance; "?" without the counters.
foll_pin_balance() {
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 }
		END { if (a == "" || r == "") print "?"; else printf "%d\n", a - r }' /proc/vmstat
}

guest_kunit() {
	local ko="$MODDIR/tests/drm_userptr_test.ko" res=/sys/kernel/debug/kunit/drm_userptr/results
	if [ ! -f "$ko" ]; then
		check kunit/drm_userptr/module fail "$ko not built (CONFIG_KUNIT?)"
		return
	fi
	local mark pins0 pins1
	mark=$(dmesg | wc -l)
	pins0=$(foll_pin_balance)
	if ! insmod "$MODDIR/drm_userptr.ko" || ! insmod "$ko"; then
		check kunit/drm_userptr/module fail "insmod failed"
	elif [ -r "$res" ]; then
		cat "$res" >"$R/kunit-drm_userptr.ktap"
	else
		# Without KUNIT_DEBUGFS: the KTAP in the kernel log.
		dmesg | tail -n +"$((mark + 1))" | sed 's/^\[[ 0-9.]*\] //' >"$R/kunit-drm_userptr.ktap"
	fi
	[ -f "$R/kunit-drm_userptr.ktap" ] && kunit_report drm_userptr "$R/kunit-drm_userptr.ktap"
	rmmod drm_userptr_test 2>/dev/null
	rmmod drm_userptr 2>/dev/null
	# KUnit does not read the kernel log: a lockdep, KASAN or WARN report
	# while its cases ran (or their kthreads' mms were torn down) fails
	# here by name, besides vm/dmesg-clean at the end.
	local bad
	bad=$(dmesg | tail -n +"$((mark + 1))" | grep -m1 -E "$BAD_KLOG")
	if [ -n "$bad" ]; then
		check kunit/drm_userptr/kernel-log fail "$bad"
	else
		check kunit/drm_userptr/kernel-log pass
	fi
	if lsmod | grep -qE '^(drm_userptr_test|drm_userptr) '; then
		check kunit/drm_userptr/unload fail "module still loaded"
	fi
	# Every pin the cases took is dropped once the modules are gone.
	for _ in $(seq 50); do
		pins1=$(foll_pin_balance)
		[ "$pins1" = "$pins0" ] && break
		sleep 0.1
	done
	if [ "$pins0" = "?" ] || [ "$pins1" = "?" ]; then
		check kunit/drm_userptr/foll-pin-balance fail "no nr_foll_pin_acquired/released in /proc/vmstat"
	elif [ "$pins1" = "$pins0" ]; then
		check kunit/drm_userptr/foll-pin-balance pass "balance $pins0 before the load, $pins1 after the unload"
	else
		check kunit/drm_userptr/foll-pin-balance fail "balance $pins0 before the load, $pins1 after the unload: $((pins1 - pins0)) pins never dropped"
	fi
}

guest_before() {
	# The kernel must be the checking one, with its checkers live.
	local missing="" opt
	for opt in PROVE_LOCKING DEBUG_ATOMIC_SLEEP DEBUG_VM KASAN KFENCE \
		FAILSLAB FAIL_PAGE_ALLOC DEBUG_KMEMLEAK KUNIT; do
		zcat /proc/config.gz 2>/dev/null | grep -qx "CONFIG_$opt=y" || missing+=" $opt"
	done
	grep -q 'debug_locks: *1' /proc/lockdep_stats 2>/dev/null || missing+=" debug_locks"
	[ -d /sys/kernel/debug/failslab ] || missing+=" failslab-debugfs"
	if [ -z "$missing" ]; then
		check vm/debug-kernel pass
	else
		check vm/debug-kernel fail "missing:$missing"
	fi

	# KUnit once per run: in the first boot only.
	[ "${DEBUG_KUNIT:-1}" = 1 ] && guest_kunit

	# With kmemleak on (DEBUG_KMEMLEAK=1) only leaks that appear from here
	# on count: report what boot left, then mark it as seen.
	if ! grep -q 'kmemleak=off' /proc/cmdline && [ -w /sys/kernel/debug/kmemleak ]; then
		echo scan >/sys/kernel/debug/kmemleak
		echo scan >/sys/kernel/debug/kmemleak
		cat /sys/kernel/debug/kmemleak >"$R/kmemleak-boot.txt"
		echo clear >/sys/kernel/debug/kmemleak
	fi

	# The runner gives --list-subtests 60 s: load the binaries and their
	# 45 shared libraries into the page cache once, untimed.
	local b
	for b in "$PROJECT"/build/igt/*; do
		[ -x "$b" ] && "$b" --list-subtests >/dev/null 2>&1
	done
}

# kmemleak reports whose backtrace goes through DRM, our modules (unloaded
# by now: their frames show as bare module-space addresses) or fences.
guest_kmemleak() {
	local f=$R/kmemleak.txt ours
	if grep -q 'kmemleak=off' /proc/cmdline || ! echo scan >/sys/kernel/debug/kmemleak 2>/dev/null; then
		echo "guest: kmemleak off (DEBUG_KMEMLEAK=1 turns it on)"
		return
	fi
	sleep 6 # kmemleak ignores objects younger than 5 s
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$f"
	ours=$(awk 'BEGIN { RS = "unreferenced object" } NR > 1 &&
		/drm|vblit|userptr|dma_fence|dma_resv|sync_file|shmem|mmu_notifier|0xffffffffc/ { n++ }
		END { print n + 0 }' "$f")
	if [ "$ours" = 0 ]; then
		check vm/kmemleak pass
	else
		check vm/kmemleak fail "$ours suspected leaks through DRM/vblit/drm_userptr (kmemleak.txt)"
	fi
	echo "guest: kmemleak: $(grep -c '^unreferenced object' "$f") suspects, $ours ours"
}

# The kernel's own mirroring tests: a reference only. A WARN or oops in them
# must not end the run, and their kernel log stays out of ours.
guest_peer() {
	local out=$R/hmm-tests.txt
	# Only the last boot gets HMM_TESTS (and none with HMM_PEER=0).
	[ -n "${HMM_TESTS:-}" ] || return 0
	if [ ! -x "$HMM_TESTS" ]; then
		echo "peer: $HMM_TESTS is not executable" >"$out"
		return
	fi
	echo 0 >/proc/sys/kernel/panic_on_warn
	echo 0 >/proc/sys/kernel/panic_on_oops
	dmesg -c >/dev/null
	if ! modprobe -d "$KTREE" -S "$KV" test_hmm >>"$out" 2>&1; then
		echo "peer: modprobe test_hmm failed" >>"$out"
		return
	fi
	# Older test_hmm registers bare chrdevs: make the nodes if udev-less.
	local major
	major=$(awk '$2 == "HMM_DMIRROR" { print $1 }' /proc/devices)
	for i in 0 1 2 3; do
		[ -e /dev/hmm_dmirror$i ] || [ -z "$major" ] || mknod /dev/hmm_dmirror$i c "$major" $i
	done
	local t0=$SECONDS
	(cd /tmp && timeout -k 10 "${HMM_PEER_TIMEOUT:-1200}" "$HMM_TESTS") >>"$out" 2>&1
	echo "peer: exit status $? after $((SECONDS - t0)) s" >>"$out"
	modprobe -r -d "$KTREE" -S "$KV" test_hmm >/dev/null 2>&1
	dmesg >"$R/hmm-tests-dmesg.txt"
	grep -E '^# (PASSED|FAILED|Totals)|^# ok|^# not ok|^(not )?ok ' "$out" | tail -n 3
}

case "${1:-host}" in
guest-before)
	guest_before
	exit 0
	;;
guest-after)
	guest_kmemleak
	guest_peer
	exit 0
	;;
host) ;;
*)
	echo "usage: $0 [guest-before|guest-after]" >&2
	exit 2
	;;
esac

# ---------------------------------------------------------------------------
# Host side.
set -e
log() { printf '[test-debug] %s\n' "$*"; }
start=$(date +%s)

"$top/scripts/debug-kernel.sh"
# shellcheck disable=SC1091
. "$top/build/kernels/debug.env"

# The KUnit module: mirror drm-userptr/tests/ like build-modules.sh mirrors
# its parent; drm-userptr/Kbuild descends into it on CONFIG_KUNIT kernels.
tdir="$top/build/modules/debug/drm-userptr/tests"
mkdir -p "$tdir"
find "$tdir" -maxdepth 1 -type l ! -exec test -e {} \; -delete
for f in "$top"/drm-userptr/tests/*.[ch] "$top/drm-userptr/tests/Kbuild"; do
	ln -sfn "$f" "$tdir/$(basename "$f")"
done
KERNELS=debug "$top/scripts/build-modules.sh"
[ -f "$tdir/drm_userptr_test.ko" ] || { log "drm_userptr_test.ko was not built"; exit 1; }

make -s -C "$top/igt-tests" O="$top/build/igt"
make -s -C "$top/tools" O="$top/build/tools"

# hmm-tests from the same source, with its own selftest harness.
hmm="$top/build/debug/hmm-tests"
mkdir -p "$(dirname "$hmm")"
src_hmm="$KDIR/tools/testing/selftests/mm/hmm-tests.c"
if [ "${HMM_PEER:-1}" = 1 ] && { [ ! -x "$hmm" ] || [ "$src_hmm" -nt "$hmm" ]; }; then
	log "building hmm-tests from $KDIR"
	gcc -O2 -Wall -I "$KDIR/tools/testing/selftests" -I "$KDIR" \
		-I "$KDIR/tools/include/uapi" -o "$hmm" "$src_hmm" -lpthread >"$hmm.log" 2>&1 ||
		{ cat "$hmm.log"; log "hmm-tests did not build: peer run skipped"; rm -f "$hmm"; }
fi
# acpi=noirq: under TCG the debug kernel's ACPI interpreter is so slow that
# QEMU's _PRT method hits ACPICA's 30 s loop timeout once per PCI device
# (60 s of boot, then legacy routing anyway); virtio uses MSI-X regardless.
# kmemleak doubles the cost of every allocation under TCG: opt in with
# DEBUG_KMEMLEAK=1 (best with SUITES=vblit_userptr_fault).
# numa_balancing=disable: each vblit_userptr_mm subtest turns NUMA
# balancing off and on again (sysctl), which flips the sched_numa_balancing
# static key; with two TCG vCPUs the debug kernel once took "Oops: int3" in
# can_migrate_task() on a jump label being patched. Its own subtest needs
# SCHED_DEBUG knobs this kernel lacks, so no coverage is lost there.
append="DEBUG_KERNEL=1 acpi=noirq numa_balancing=disable"
[ "${DEBUG_KMEMLEAK:-0}" = 1 ] || append+=" kmemleak=off"
append+=" IGT_TIMEOUT=${IGT_TIMEOUT:-600}"
# The OOM subtests hold the victim blocked with a held job while the
# reaper works, which takes longer than the stock 10 s limit here. The
# retry budget is five times the stock one: this kernel acquires about 20
# times slower (ksm-cow-thp: 38 copies of 2 MiB in 15 s against 888 on
# the production kernel, unpinned), while ksmd, which merges a page again
# as soon as a write fault unshared it, keeps its pace; with the stock
# 1000 ms the unpinned backing, which holds no page between its fault and
# its check, ran out of budget in 2 of 10 tries.
append+=" VBLIT_OPTS=max_hold_ms=60000,retry_timeout_ms=5000"

# One guest boot per pass: a pass that panics the guest or runs out of
# time leaves the others' results, and each boot's time is its pass's.
# KUnit runs in the first boot, the peer run in the last. The production
# backings only; the benchmark comparators stay with make test.
read -ra passes <<<"${PASSES:-pinned unpinned}"
res="$top/build/results/debug"
rm -rf "$res"
rc=0
results=()
for i in "${!passes[@]}"; do
	pass=${passes[$i]}
	bappend="$append DEBUG_KUNIT=$((i == 0 ? 1 : 0))"
	[ "${HMM_PEER:-1}" = 1 ] && [ -x "$hmm" ] && [ "$i" = $((${#passes[@]} - 1)) ] &&
		bappend+=" HMM_TESTS=$hmm"
	t0=$(date +%s)
	PASSES=$pass VM_TIMEOUT=${VM_TIMEOUT:-7200} VM_APPEND="$bappend ${VM_APPEND:-}" \
		"$top/scripts/vm-run.sh" debug test || rc=1
	# vm-run.sh writes build/results/debug/: keep this boot's under <pass>/.
	name=${pass%%:*}
	mkdir -p "$res" "$res.$name"
	cp "$top/build/vm/debug/serial-test.log" "$res.$name/serial-test.log" 2>/dev/null || true
	find "$res" -maxdepth 1 -type f -exec mv -t "$res.$name" {} +
	mkdir -p "$res"
	mv "$res.$name" "$res/$name"
	python3 - "$res/$name/results.json" "debug/$name" <<'PY' || rc=1
import json, sys
doc = json.load(open(sys.argv[1]))
doc["name"] = sys.argv[2]
json.dump(doc, open(sys.argv[1], "w"), indent=1, sort_keys=True)
PY
	results+=("$res/$name/results.json")
	log "pass $name: guest boot $(($(date +%s) - t0)) s"
done

# Lockdep, KASAN, KFENCE and the rest, in full: the one-line check names the
# first hit only. A panic (KASAN, KFENCE under panic_on_warn) is in the
# serial log vm-run.sh printed.
report_debug_splats() {
	[ -f "$1" ] || return 0
	awk '
	function start() { print "------------------------------------------------------------"; n++ }
	/possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|BUG:|WARNING:|Oops|sleeping function called from invalid context/ {
		if (!inside) start()
		inside = 1; lines = 0
		kasan = /KASAN|KFENCE/
	}
	# A bare dump_stack() (DEBUG_VM notes, OOM reports): its message and
	# the CPU line come before "Call Trace:".
	/Call Trace:/ && !inside {
		start()
		print prev4; print prev3; print prev2; print prev1
		inside = 1; lines = 4; kasan = 0
	}
	{ prev4 = prev3; prev3 = prev2; prev2 = prev1; prev1 = $0 }
	inside {
		print
		# A dump ends at </TASK>; KASAN and KFENCE end with a ===== line.
		if (++lines >= 250 || (!kasan && /<\/TASK>/) || (kasan && lines > 5 && /={20,}/))
			inside = 0
	}
	END { if (n) print "------------------------------------------------------------" }
	' "$1"
}
for r in "${results[@]}"; do
	d=$(dirname "$r")
	if grep -q 'vm/dmesg-clean fail' "$d/checks.txt" 2>/dev/null; then
		log "kernel reports in the guest log of pass $(basename "$d") (full text):"
		report_debug_splats "$d/dmesg.txt"
		rc=1
	fi
	if grep -q 'vm/kmemleak fail' "$d/checks.txt" 2>/dev/null; then
		log "kmemleak suspects through our paths, pass $(basename "$d"):"
		awk 'BEGIN { RS = "unreferenced object" } NR > 1 &&
			/drm|vblit|userptr|dma_fence|dma_resv|sync_file|shmem|mmu_notifier|0xffffffffc/ {
			print "unreferenced object" $0 }' "$d/kmemleak.txt" | head -n 200
	fi
	if [ -f "$d/hmm-tests.txt" ]; then
		log "peer reference: the kernel's hmm-tests on test_hmm.ko (not pass/fail):"
		grep -E '^# (PASSED|FAILED|Totals)|^# +(not )?ok |^peer:' "$d/hmm-tests.txt" | tail -n 4 | sed 's/^/  /'
		grep -E '^# +not ok|^not ok' "$d/hmm-tests.txt" | sed 's/^/  /' | head -n 20
	fi
done
log "total $(($(date +%s) - start)) s (kernel check, builds, guests)"
python3 "$top/igt-tests/runner/summarize.py" --combine "${results[@]}" || rc=1
exit $rc
