#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run IGT test binaries one subtest at a time and write piglit-style JSON.

Guest side of the test bed (stdlib only). For each binary: --list-subtests,
then every subtest alone with --run-subtest NAME under a timeout, in the
inherited environment (the caller sets IGT_FORCE_DRIVER, VBLIT_KO, ...).

Per subtest it records the exit status, stdout, stderr and the kernel log
lines produced meanwhile, then reads the driver's counters: objects or
pinned_pages left above their value before the subtest (after up to 5 s of
polling for deferred frees) turn the subtest into a failure, as do BUG:,
WARNING:, Oops or Call Trace in its kernel log.

    igt_run.py --bin-dir DIR --out FILE.json --pass NAME [--timeout S]
               [--stats /sys/kernel/debug/vblit/stats] [BINARY...]

Results: {"name": PASS, "results_version": 10, "tests": {
  "PASS/BINARY@SUBTEST": {"result": "pass|fail|skip|crash|timeout",
  "time": {"start": s, "end": e}, "out": ..., "err": ..., "dmesg": ...,
  "returncode": rc, "note": ...}}}
The file is rewritten after every subtest, so a guest that dies mid-run
still leaves what ran. Exit status: 0 if nothing failed, 1 otherwise.
"""

import argparse
import errno
import json
import os
import re
import signal
import subprocess
import sys
import time

EXIT_RESULTS = {0: "pass", 77: "skip", 78: "timeout", 98: "fail", 99: "crash"}
BAD_DMESG = re.compile(r"BUG:|WARNING:|Oops|Call Trace")
LEAK_KEYS = ("objects", "pinned_pages")
MAX_OUTPUT = 256 * 1024


def log(msg):
    print(msg, flush=True)


def kmsg_record(rec):
    """(usec, message) of one /dev/kmsg record (bytes); the continuation
    lines (" KEY=value", device info) are dropped."""
    head, _, msg = rec.decode("utf-8", "replace").partition(";")
    fields = head.split(",")
    usec = int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else 0
    return usec, msg.split("\n")[0]


class Kmsg:
    """Kernel log lines appearing between mark() and collect().

    Reads /dev/kmsg non-blocking (seeked to its end at mark()); falls back
    to a line-count difference of `dmesg` where /dev/kmsg is unreadable.
    """

    def __init__(self):
        self.fd = None
        self.lines = 0
        try:
            self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            self.fd = None

    @staticmethod
    def _dmesg():
        try:
            res = subprocess.run(["dmesg"], capture_output=True, timeout=30)
            return res.stdout.decode("utf-8", "replace").splitlines()
        except (OSError, subprocess.SubprocessError):
            return []

    def mark(self):
        if self.fd is not None:
            os.lseek(self.fd, 0, os.SEEK_END)
        else:
            self.lines = len(self._dmesg())

    def collect(self):
        if self.fd is None:
            return "\n".join(self._dmesg()[self.lines:])
        out = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except OSError as e:
                if e.errno == errno.EPIPE:  # overwritten records: go on
                    out.append("[kmsg: records lost]")
                    continue
                break  # EAGAIN: nothing more
            if not rec:
                break
            usec, msg = kmsg_record(rec)
            out.append("[%5d.%06d] %s" % (usec // 1000000, usec % 1000000, msg))
        return "\n".join(out)


def read_stats(path):
    """The counters file as a dict, or None if unreadable."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    stats = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        try:
            stats[key.strip()] = int(value.strip(), 0)
        except ValueError:
            pass
    return stats


def leak_check(path, before, timeout=5.0):
    """Poll until the leak counters are back to their value before the
    subtest (0 if it had none). Returns a note, or None if clean."""
    deadline = time.monotonic() + timeout
    while True:
        stats = read_stats(path)
        if stats is None:
            return None
        base = before or {}
        over = {k: stats.get(k, 0) for k in LEAK_KEYS
                if stats.get(k, 0) > max(0, base.get(k, 0))}
        if not over:
            return None
        if time.monotonic() >= deadline:
            return "leak: " + " ".join("%s=%d" % (k, stats.get(k, 0))
                                       for k in LEAK_KEYS)
        time.sleep(0.1)


def clip(data):
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")
    if len(text) > MAX_OUTPUT:
        text = "[... %d bytes cut ...]\n" % (len(text) - MAX_OUTPUT) + text[-MAX_OUTPUT:]
    return text


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def run_subtest(binary, subtest, timeout):
    """Returns (result, returncode, out, err)."""
    proc = subprocess.Popen([binary, "--run-subtest", subtest],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # stuck in the kernel
            out, err = b"", b"[runner: process unkillable after timeout]\n"
        return "timeout", proc.returncode, out, err + (
            b"\n[runner: killed after %d s]\n" % timeout)
    # Children left behind (igt_fork) must not outlive their subtest.
    kill_group(proc)
    rc = proc.returncode
    return EXIT_RESULTS.get(rc, "crash"), rc, out, err


def list_subtests(binary):
    res = subprocess.run([binary, "--list-subtests"], capture_output=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    names = [l.strip() for l in res.stdout.decode("utf-8", "replace").splitlines()
             if l.strip()]
    return res.returncode, names, res.stdout + res.stderr


def find_binaries(bin_dir, names):
    if names:
        paths = []
        for n in names:
            p = n if os.sep in n else os.path.join(bin_dir, n)
            paths.append(p)
        return paths
    return sorted(os.path.join(bin_dir, n) for n in os.listdir(bin_dir)
                  if not n.startswith(".")
                  and os.path.isfile(os.path.join(bin_dir, n))
                  and os.access(os.path.join(bin_dir, n), os.X_OK))


def write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pass", dest="pass_name", required=True)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--stats", default="/sys/kernel/debug/vblit/stats")
    ap.add_argument("--filter", default=os.environ.get("IGT_FILTER", ""),
                    help="run only the subtests whose binary@subtest matches "
                         "this regular expression (default: $IGT_FILTER)")
    ap.add_argument("binaries", nargs="*")
    args = ap.parse_args()
    wanted = re.compile(args.filter) if args.filter else None

    doc = {"name": args.pass_name, "results_version": 10, "tests": {}}
    tests = doc["tests"]
    kmsg = Kmsg()
    counts = {}

    def record(name, entry):
        tests[name] = entry
        counts[entry["result"]] = counts.get(entry["result"], 0) + 1
        write_json(args.out, doc)

    write_json(args.out, doc)
    for binary in find_binaries(args.bin_dir, args.binaries):
        base = os.path.basename(binary)
        start = time.time()
        try:
            rc, subtests, listing = list_subtests(binary)
        except (OSError, subprocess.SubprocessError) as e:
            rc, subtests, listing = -1, [], str(e).encode()
        if rc != 0 or not subtests:
            name = "%s/%s@list-subtests" % (args.pass_name, base)
            record(name, {"result": "crash", "returncode": rc,
                          "time": {"start": start, "end": time.time()},
                          "out": clip(listing), "err": "", "dmesg": "",
                          "note": "--list-subtests failed or listed nothing"})
            log("[%s] %s@--list-subtests ... crash (rc %s)" % (args.pass_name, base, rc))
            continue

        for subtest in subtests:
            if wanted and not wanted.search("%s@%s" % (base, subtest)):
                continue
            name = "%s/%s@%s" % (args.pass_name, base, subtest)
            before = read_stats(args.stats)
            kmsg.mark()
            start = time.time()
            # Written before the run: if the guest dies (panic, hang), the
            # results name the subtest that was running.
            tests[name] = {"result": "crash", "returncode": None,
                           "time": {"start": start, "end": start},
                           "out": "", "err": "", "dmesg": "",
                           "note": "the guest died while this subtest ran"}
            write_json(args.out, doc)
            result, rc, out, err = run_subtest(binary, subtest, args.timeout)
            end = time.time()
            notes = []

            leak = leak_check(args.stats, before)
            dmesg = kmsg.collect()
            if leak:
                notes.append(leak)
            if BAD_DMESG.search(dmesg):
                notes.append("kernel log: " + BAD_DMESG.search(dmesg).group(0))
            if notes and result in ("pass", "skip"):
                result = "fail"

            entry = {"result": result, "returncode": rc,
                     "time": {"start": start, "end": end},
                     "out": clip(out), "err": clip(err), "dmesg": clip(dmesg)}
            if notes:
                entry["note"] = "; ".join(notes)
            record(name, entry)
            log("[%s] %s@%s ... %s (%.2fs)%s" % (
                args.pass_name, base, subtest, result, end - start,
                " [" + "; ".join(notes) + "]" if notes else ""))

    failed = sum(v for k, v in counts.items() if k not in ("pass", "skip"))
    log("[%s] %d passed, %d failed, %d skipped" % (
        args.pass_name, counts.get("pass", 0), failed, counts.get("skip", 0)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
