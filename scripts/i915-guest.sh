#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Guest side of make test-i915 (scripts/guest-run.sh runs it for MODE=i915),
# on Debian's stock 6.12 kernel, with the modules of scripts/i915-build.sh
# (build/i915/i915.env):
#   1. the plain i915.ko loads after its dependencies, binds no device (the
#      guest has no Intel GPU), prints no warning and unloads;
#   2. the selftest i915.ko runs every mock selftest
#      (scripts/i915-selftests.py: one result per subtest, i915-mock.json).
# usage: i915-guest.sh RESULTS_DIR    (writes checks.txt lines, *.json, logs)
set -u
R=${1:?usage: i915-guest.sh RESULTS_DIR}
BAD='BUG:|WARNING:|Oops|Call Trace'

check() { # name result reason
	echo "$1 $2 ${3:-}" >>"$R/checks.txt"
	echo "i915-guest: check $1: $2 ${3:-}"
}

# The kernel log printed since mark (by line count: nothing here prints
# more than the ring holds).
mark() { since=$(dmesg | wc -l); }
log_since() { dmesg | tail -n +$((since + 1)); }

env="$PROJECT/build/i915/i915.env"
if [ "$KSERIES" != 6.12 ] || [ ! -f "$env" ]; then
	check i915/setup fail "needs the 6.12 kernel and make i915 (have $KSERIES, ${env#"$PROJECT"/})"
	exit 1
fi
# shellcheck disable=SC1090
. "$env"
if [ "$I915_KV" != "$KV" ]; then
	check i915/setup fail "modules built for $I915_KV, guest runs $KV"
	exit 1
fi

# Dependencies, from the stock tree.
deps=$(modinfo -F depends "$I915_PLAIN_KO")
for d in ${deps//,/ }; do
	if ! modprobe -d "$KTREE" -S "$KV" "$d"; then
		check i915/deps fail "modprobe $d"
		exit 1
	fi
done
check i915/deps pass

# 1. The plain module.
mark
t0=$(date +%s%N)
if out=$(insmod "$I915_PLAIN_KO" 2>&1); then
	check i915/plain/load pass "$((($(date +%s%N) - t0) / 1000000)) ms"
	bound=$(find /sys/bus/pci/drivers/i915/ -maxdepth 1 -name '[0-9a-f]*:*' 2>/dev/null)
	if [ -z "$bound" ] && ! ls /sys/class/drm/card* >/dev/null 2>&1; then
		check i915/plain/binds-nothing pass
	else
		check i915/plain/binds-nothing fail "bound: ${bound:-} $(ls /sys/class/drm 2>/dev/null | tr '\n' ' ')"
	fi
	if rmmod i915; then
		check i915/plain/unload pass
	else
		check i915/plain/unload fail "rmmod i915"
	fi
else
	check i915/plain/load fail "$out"
fi
log_since >"$R/i915-plain-dmesg.txt"
if bad=$(grep -E "$BAD" "$R/i915-plain-dmesg.txt"); then
	check i915/plain/dmesg-clean fail "$(head -n1 <<<"$bad")"
else
	check i915/plain/dmesg-clean pass
fi

# 2. The mock selftests.
if [ ! -f "$I915_SELFTEST_KO" ]; then
	check i915/mock fail "no ${I915_SELFTEST_KO#"$I915_DIR"/}"
	exit 1
fi
sorted() { tr , '\n' | sort | tr '\n' ' '; }
if [ "$(modinfo -F depends "$I915_SELFTEST_KO" | sorted)" != "$(sorted <<<"$deps")" ]; then
	check i915/mock fail "the selftest module depends on $(modinfo -F depends "$I915_SELFTEST_KO")"
	exit 1
fi
t0=$(date +%s)
python3 "$PROJECT/scripts/i915-selftests.py" --ko "$I915_SELFTEST_KO" \
	--out "$R/i915-mock.json" --log "$R/i915-mock-load" \
	--skips "$PROJECT/igt-tests/expected-skips/i915.txt"
rc=$?
echo "i915-guest: mock selftests took $(($(date +%s) - t0)) s"
[ -s "$R/i915-mock.json" ] || check i915/mock fail "no results (runner exit $rc)"
exit 0
