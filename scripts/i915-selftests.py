#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run i915's mock selftests in the guest, one result per subtest.

Guest side of make test-i915 (stdlib only), called by scripts/i915-guest.sh
with i915's dependencies loaded:

    i915-selftests.py --ko i915.ko --out i915-mock.json [--skips FILE]
                      [--max-runs N] [--timeout S] [--log PREFIX]

insmod i915.ko mock_selftests=-1 runs every mock selftest inside the
module's init, then leaves a dummy module whose mock_selftests parameter
reads back -ENOTTY (-25) when everything passed, or the first failure's
error. The kernel log says which subtest ran and which failed:

    i915: Running <test>                        a top-level test
    i915: Running <caller>/<subtest>            one of its subtests
    i915/<caller>: <subtest> failed with error <n>

Each subtest becomes "mock/<test>@<subtest>" (a test without subtests
"mock/<test>") in piglit-style JSON as igt-tests/runner/igt_run.py writes,
for igt-tests/runner/summarize.py. The first failure stops the module's
run: the next load runs the tests not reached yet (igt__<n>__mock_<test>=1)
with the failed subtest excluded (st_filter=!<caller>/<subtest>), up to
--max-runs loads. Entries "<test>@<subtest> # reason" of the expected-skip
list (--skips) are excluded from every load with st_filter=!<subtest> and
reported as skipped. Kernel log lines matching BUG:, WARNING:, Oops or
Call Trace fail the subtest that printed them.
"""

import argparse
import errno
import json
import os
import re
import select
import subprocess
import sys
import threading
import time

# The IGT runner's kernel-log reader and expected-skip parser serve here too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "igt-tests", "runner"))
from igt_run import BAD_DMESG, kmsg_record  # noqa: E402
from summarize import parse_skips  # noqa: E402

RUNNING = re.compile(r"^i915: Running (\S+)$")
FAILED = re.compile(r"^i915/(\S+): (\S+) failed with error (-?\d+)$")
PARAM = re.compile(r"^(igt__\d+__mock_(\w+)):")
STRERROR = {os.strerror(e): e for e in range(1, 134)}


def log(msg):
    print("i915-selftests: %s" % msg, flush=True)


class KmsgReader(threading.Thread):
    """Collects the kernel log from now on, in a thread (the selftests
    print more than a ring buffer's worth on a slow guest)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.fd = os.open("/dev/kmsg", os.O_RDONLY)
        os.lseek(self.fd, 0, os.SEEK_END)
        self.lines = []
        self.stopping = False

    def run(self):
        while True:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if not ready:
                if self.stopping:
                    return
                continue
            try:
                rec = os.read(self.fd, 8192)
            except OSError as e:
                if e.errno == errno.EPIPE:  # overwritten records
                    self.lines.append((0, "[kmsg: records lost]"))
                    continue
                raise
            if not rec:
                return
            self.lines.append(kmsg_record(rec))

    def finish(self):
        """Read what is left, then stop."""
        time.sleep(0.5)
        self.stopping = True
        self.join()
        os.close(self.fd)
        return self.lines


def read_skips(path):
    """{"<test>@<subtest>": reason} of the expected-skip list's exact
    names (globs cannot be passed to st_filter)."""
    skips = {}
    for name, reason in parse_skips(path):
        if name.startswith("mock/"):
            name = name[len("mock/"):]
        if "@" in name and not re.search(r"[*?\[]", name):
            skips[name] = reason or "listed"
    return skips


def top_level_params(ko):
    """[(param, test)] in run order, from the module's parameters."""
    res = subprocess.run(["modinfo", "-F", "parm", ko], capture_output=True,
                         text=True, check=True)
    params = []
    for line in res.stdout.splitlines():
        m = PARAM.match(line)
        if m:
            params.append((m.group(1), m.group(2)))
    params.sort(key=lambda p: int(p[0].split("__")[1]))
    return params


def load(ko, args, timeout):
    """insmod, read the verdict back, rmmod. Returns (errno or None, note)."""
    cmd = ["insmod", ko] + args
    log("insmod %s" % " ".join(cmd[1:]))
    try:
        res = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "insmod timed out after %d s" % timeout
    if res.returncode != 0:
        msg = res.stderr.strip()
        err = next((e for s, e in STRERROR.items() if msg.endswith(s)), None)
        return err, "insmod failed: %s" % msg
    try:
        with open("/sys/module/i915/parameters/mock_selftests") as f:
            value = int(f.read().strip())
    except (OSError, ValueError) as e:
        value, note = None, "cannot read mock_selftests back: %s" % e
    else:
        note = "mock_selftests read back %d" % value
    rm = subprocess.run(["rmmod", "i915"], capture_output=True, text=True)
    if rm.returncode != 0:
        note += "; rmmod failed: %s" % rm.stderr.strip()
    return (-value if value is not None and value < 0 else value), note


def failure_reason(result, lines, note):
    """The line summarize.py --combine prints for a failure: why, and
    the last thing the test printed before it failed (its pr_err)."""
    if result in ("pass", "skip"):
        return ""
    said = [m for _, m in lines[1:]
            if not FAILED.match(m) and not RUNNING.match(m)]
    return "; ".join(filter(None, [note, said[-1] if said else None]))


class Results:
    def __init__(self, out):
        self.out = out
        self.tests = {}

    def add(self, name, result, lines, note=None, t0=0.0, t1=0.0):
        if name in self.tests and self.tests[name]["result"] != "notrun":
            return  # a later load repeats what already ran: keep the first
        text = "\n".join("[%5d.%06d] %s" % (u // 1000000, u % 1000000, m)
                         for u, m in lines)
        test = {"result": result, "returncode": None,
                "time": {"start": t0, "end": t1}, "out": text,
                "err": failure_reason(result, lines, note), "dmesg": text}
        if note:
            test["note"] = note
        self.tests[name] = test

    def write(self):
        doc = {"name": "mock", "results_version": 10, "tests": self.tests}
        tmp = self.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.out)


def parse(lines, results, verdict, note):
    """Turn one load's kernel log into results. Returns (top-level tests
    that ran to their end, the failed (caller, subtest) or None, the failed
    top-level test or None)."""
    done, failed_sub, failed_top = [], None, None
    top = None
    cur = None  # {"name", "sub": (caller, subtest) or None, "lines"}

    def close(result, why=None, end=None):
        nonlocal cur
        if cur:
            ls = cur["lines"]
            bad = [m for _, m in ls if BAD_DMESG.search(m)]
            if result == "pass" and bad:
                result, why = "fail", "kernel log: %s" % bad[0]
            end = ls[-1][0] if end is None else end
            results.add(cur["name"], result, ls, why, ls[0][0] / 1e6,
                        end / 1e6)
        cur = None

    for usec, msg in lines:
        run = RUNNING.match(msg)
        fail = FAILED.match(msg)
        if run and "/" not in run.group(1):
            close("pass", end=usec)
            if top:
                done.append(top)
            top = run.group(1)
            cur = {"name": "mock/%s" % top, "sub": None,
                   "lines": [(usec, msg)]}
        elif run:
            if cur and cur["sub"] is None:
                cur = None  # a test with subtests: they are the results
            close("pass", end=usec)
            caller, sub = run.group(1).split("/", 1)
            cur = {"name": "mock/%s@%s" % (top, sub), "sub": (caller, sub),
                   "lines": [(usec, msg)]}
        elif fail and cur and cur["sub"] == (fail.group(1), fail.group(2)):
            cur["lines"].append((usec, msg))
            failed_sub = cur["sub"]
            close("fail", "failed with error %s" % fail.group(3))
        elif cur:
            cur["lines"].append((usec, msg))

    if verdict == errno.ENOTTY:
        close("pass")
        if top:
            done.append(top)
        return done, None, None

    why = "%s (errno %s)" % (note, verdict)
    if cur and cur["sub"]:
        failed_sub = cur["sub"]
    elif cur or (top and not failed_sub):
        failed_top = top
        if not cur:  # failed after its subtests passed
            results.add("mock/%s" % top, "fail", [], why)
    close("fail", why)
    return done, failed_sub, failed_top


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ko", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--skips")
    ap.add_argument("--max-runs", type=int, default=4)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--log", help="write each load's kernel log to LOG-<n>.log")
    args = ap.parse_args()

    results = Results(args.out)
    skips = read_skips(args.skips)
    tops = [t for _, t in top_level_params(args.ko)]
    param_of = {t: p for p, t in top_level_params(args.ko)}
    log("%d top-level mock selftests: %s" % (len(tops), " ".join(tops)))
    for name, reason in skips.items():
        results.add("mock/" + name, "skip", [], "excluded with st_filter")

    excluded = ["!" + n.split("@", 1)[1] for n in skips]
    todo = list(tops)
    for run in range(1, args.max_runs + 1):
        params = ["mock_selftests=-1"]
        if excluded:
            params.append("st_filter=" + ",".join(excluded))
        if todo != tops:
            params += ["%s=1" % param_of[t] for t in todo]
        reader = KmsgReader()
        reader.start()
        t0 = time.time()
        verdict, note = load(args.ko, params, args.timeout)
        lines = reader.finish()
        log("load %d: %s after %.1f s" % (run, note, time.time() - t0))
        if args.log:
            with open("%s-%d.log" % (args.log, run), "w") as f:
                f.write("# insmod %s\n# %s\n" % (" ".join(params), note))
                f.writelines("[%5d.%06d] %s\n" % (u // 1000000, u % 1000000, m)
                             for u, m in lines)
        done, failed_sub, failed_top = parse(lines, results, verdict, note)
        results.write()
        if verdict == errno.ENOTTY:
            break
        todo = [t for t in todo if t not in done and t != failed_top]
        if failed_sub:
            excluded.append("!%s/%s" % failed_sub)
        elif not failed_top:
            results.add("mock/load-%d" % run, "fail", [], note)
            log("cannot tell what failed; stopping")
            break
        if not todo:
            break
    else:
        results.add("mock/loads", "fail", [],
                    "still failing after %d loads" % args.max_runs)
    results.write()
    counts = {}
    for t in results.tests.values():
        counts[t["result"]] = counts.get(t["result"], 0) + 1
    log("results: %s" % ", ".join("%d %s" % (n, r) for r, n in sorted(counts.items())))
    return 0 if all(t["result"] in ("pass", "skip")
                    for t in results.tests.values()) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # leave a result, not only a traceback
        out = sys.argv[sys.argv.index("--out") + 1]
        results = Results(out)
        try:
            with open(out) as f:
                results.tests = json.load(f)["tests"]
        except (OSError, ValueError, KeyError):
            pass
        results.add("mock/runner", "fail", [], "%s: %s" % (type(e).__name__, e))
        results.write()
        raise
