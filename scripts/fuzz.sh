#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make fuzz SECONDS=N SEED=S [KERNEL=6.12]: boot one kernel under QEMU and
# run tools/vblit_fuzz for N seconds with seed S in each userptr backing.
#
# The fuzzer runs inside the fuzz-long subtest of vblit_userptr_race, which
# reads VBLIT_FUZZ_SECONDS, VBLIT_FUZZ_SEED, VBLIT_FUZZ_PROCS,
# VBLIT_FUZZ_THREADS and VBLIT_FUZZ_SHARERS from its environment: kernel command-line KEY=value
# pairs (VM_APPEND) become the guest script's environment, and IGT_TIMEOUT
# lifts the runner's per-subtest limit. The guest runs the binary's other
# subtests as well (about a minute per backing).
#
# env: SECONDS (or FUZZ_SECONDS; default 600, per backing), SEED (default:
#      random, printed), KERNEL (default 6.12), PASSES (default "pinned
#      unpinned"), PROCS, THREADS, SHARERS (default 2, 2 and 1: threads per
#      process submitting on shared objects without the fuzzer's locks),
#      VM_APPEND (extra).
# Prints the fuzzer's summary per backing and a total; exits non-zero if a
# run did not end with "fuzz: N steps, seed S, OK" or the guest failed.
fuzz_seconds=${FUZZ_SECONDS:-${SECONDS:-600}}	# first: bash counts SECONDS up
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${KERNEL:-6.12}
seed=${SEED:-$(( (RANDOM << 15 | RANDOM) + 1 ))}
passes=${PASSES:-pinned unpinned}
procs=${PROCS:-2} threads=${THREADS:-2} sharers=${SHARERS:-1}
case "$fuzz_seconds" in ''|*[!0-9]*) echo "fuzz: SECONDS must be a number" >&2; exit 2 ;; esac
npasses=$(wc -w <<<"$passes")

echo "[fuzz] kernel $kernel, seed $seed, ${fuzz_seconds} s per backing ($passes), $procs processes x $threads threads + $sharers sharers"
append="VBLIT_FUZZ_SECONDS=$fuzz_seconds VBLIT_FUZZ_SEED=$seed"
append+=" VBLIT_FUZZ_PROCS=$procs VBLIT_FUZZ_THREADS=$threads VBLIT_FUZZ_SHARERS=$sharers"
append+=" IGT_TIMEOUT=$((fuzz_seconds + 180))"

rc=0
VM_APPEND="${VM_APPEND:-} $append" SUITES=vblit_userptr_race PASSES="$passes" \
	VM_TIMEOUT=$((npasses * (fuzz_seconds + 400) + 300)) \
	"$top/scripts/vm-run.sh" "$kernel" test >"$top/build/fuzz-$kernel.log" 2>&1 || rc=1

share="$top/build/vm/$kernel/share"
python3 - "$share" "$seed" $passes <<'EOF' || rc=1
import json, os, re, sys

share, seed, passes = sys.argv[1], sys.argv[2], sys.argv[3:]
total, ok = 0, True
for p in passes:
    name = "%s/vblit_userptr_race@fuzz-long" % p
    try:
        test = json.load(open(os.path.join(share, p + ".json")))["tests"][name]
    except (OSError, KeyError, ValueError):
        print("[fuzz] %s: no result (guest died? see build/vm/*/serial-test.log)" % p)
        ok = False
        continue
    out = test.get("out", "")
    for line in out.splitlines():
        if line.startswith(("fuzz:", "VIOLATION", "vblit_fuzz")):
            print("[fuzz] %s: %s" % (p, line))
    m = re.search(r"^fuzz: (\d+) steps in", out, re.M)
    total += int(m.group(1)) if m else 0
    if test["result"] != "pass":
        print("[fuzz] %s: %s%s" % (p, test["result"],
              " (" + test["note"] + ")" if test.get("note") else ""))
        for line in (test.get("err", "") + "\n" + out).splitlines():
            if line.startswith("  ") or "VIOLATION" in line:
                print("    " + line)
        ok = False
print("[fuzz] total %d steps, seed %s: %s" % (total, seed, "OK" if ok else "FAILED"))
sys.exit(0 if ok else 1)
EOF
# The guest's own checks: boot, counters back to zero, a clean kernel log.
if grep -q ' fail' "$share/checks.txt" 2>/dev/null; then
	grep ' fail' "$share/checks.txt" | sed 's/^/[fuzz] guest check: /'
	rc=1
fi
[ "$rc" = 0 ] || echo "[fuzz] guest log: build/fuzz-$kernel.log, build/vm/$kernel/serial-test.log"
exit "$rc"
