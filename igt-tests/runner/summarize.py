#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Merge per-pass IGT results of one kernel, apply its expected skips.

Host side of the test bed (stdlib only).

Per kernel:
    summarize.py --kernel NAME --skips igt-tests/expected-skips/NAME.txt \\
        --out build/results/NAME/results.json PASS_JSON... \\
        [--extra NAME=pass|fail[:reason]|skip[:reason] ...]

  Merges the igt_run.py files (a missing or unreadable one becomes a failed
  pseudo-test "<file stem>/results"), adds the --extra pseudo-tests (the VM
  runner's checks: vm/boot, vm/dmesg-clean, vm/counters-zero, ...), and
  applies the expected-skip list: lines "<glob> # reason", '#' starts a
  comment; a glob matches the full name ("pinned/vblit_basic@unload") or
  the name without its pass ("vblit_basic@unload"). A listed skip stays
  'skip'; an unlisted skip becomes 'fail' ("unexpected skip"); a listed
  test that did not skip only gets a note. Prints every failure with its
  output and kernel log, then "NAME: N passed, N failed, N skipped".
  Exit status 0 (2 for bad arguments): the verdict is --combine's.

All kernels:
    summarize.py --combine build/results/*/results.json

  Prints a "FAIL <kernel> <test>: <reason>" line per failed test (the
  first CRITICAL line of its stderr), one line per kernel, then, as the
  last line, exactly
  "N passed, N failed, N skipped" (crash and timeout count as failed; a
  missing file counts as one failure). Exits 1 if anything failed or no
  test ran, else 0.
"""

import argparse
import fnmatch
import json
import re
import os
import sys

TAIL_LINES = 60


def load(path):
    with open(path) as f:
        return json.load(f)


def count(tests):
    passed = sum(1 for t in tests.values() if t["result"] == "pass")
    skipped = sum(1 for t in tests.values() if t["result"] == "skip")
    return passed, len(tests) - passed - skipped, skipped


def line(counts):
    return "%d passed, %d failed, %d skipped" % counts


def parse_skips(path):
    """[(glob, reason)] from an expected-skip file."""
    skips = []
    if not path:
        return skips
    with open(path) as f:
        for raw in f:
            text, _, reason = raw.partition("#")
            text = text.strip()
            if text:
                skips.append((text, reason.strip()))
    return skips


def skip_reason(name, skips):
    short = name.split("/", 1)[1] if "/" in name else name
    for glob, reason in skips:
        if fnmatch.fnmatchcase(name, glob) or fnmatch.fnmatchcase(short, glob):
            return reason or "listed"
    return None


def add_note(test, note):
    test["note"] = "; ".join(filter(None, [test.get("note"), note]))


def parse_extra(spec):
    name, sep, value = spec.partition("=")
    result, _, reason = value.partition(":")
    if not sep or not name or result not in ("pass", "fail", "skip"):
        raise argparse.ArgumentTypeError(
            "--extra wants NAME=pass|fail[:reason]|skip[:reason], not %r" % spec)
    test = {"result": result, "returncode": None, "time": {"start": 0, "end": 0},
            "out": "", "err": "", "dmesg": ""}
    if reason:
        test["note"] = reason
    return name, test


# Lines that say what went wrong: kept even from the part of a long output
# that is cut (the fuzzer prints its violation before a long step log).
KEEP = re.compile(r"VIOLATION|CRITICAL: Failed assertion|Test assertion failure")


def tail(text, n=TAIL_LINES):
    lines = (text or "").rstrip("\n").splitlines()
    if len(lines) > n:
        cut = lines[:-n]
        kept = [l for l in cut if KEEP.search(l)][:5]
        lines = kept + ["[... %d lines cut ...]" % (len(cut) - len(kept))] + lines[-n:]
    return "\n".join("    " + l for l in lines)


def report_failure(name, test):
    print("FAIL %s: %s%s" % (name, test["result"],
                             " (%s)" % test["note"] if test.get("note") else ""))
    for key in ("out", "err", "dmesg"):
        if (test.get(key) or "").strip():
            print("  --- %s" % key)
            print(tail(test[key]))
    sys.stdout.flush()


def summarize(args):
    tests = {}
    for path in args.passes:
        stem = os.path.splitext(os.path.basename(path))[0]
        try:
            doc = load(path)
            tests.update(doc["tests"])
        except (OSError, ValueError, KeyError) as e:
            tests["%s/results" % stem] = {
                "result": "fail", "returncode": None,
                "time": {"start": 0, "end": 0}, "out": "", "err": str(e),
                "dmesg": "", "note": "no usable results file %s" % path}

    for name, test in args.extra or []:
        tests[name] = test

    skips = parse_skips(args.skips)
    for name, test in tests.items():
        reason = skip_reason(name, skips)
        if test["result"] == "skip" and reason is None:
            test["result"] = "fail"
            add_note(test, "unexpected skip")
        elif test["result"] == "skip":
            add_note(test, "expected skip: %s" % reason)
        elif reason is not None:
            add_note(test, "listed as an expected skip (%s) but %s" %
                     (reason, test["result"]))

    counts = count(tests)
    doc = {"name": args.kernel, "results_version": 10, "tests": tests,
           "totals": dict(zip(("pass", "fail", "skip"), counts))}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)

    for name in sorted(tests):
        if tests[name]["result"] not in ("pass", "skip"):
            report_failure(name, tests[name])
    for name in sorted(tests):
        note = tests[name].get("note", "")
        if "listed as an expected skip" in note:
            print("NOTE %s: %s" % (name, note))
    print("%s: %s" % (args.kernel, line(counts)), flush=True)
    return 0


def reason(test):
    """One line saying why a test failed, from its stderr, else its note
    (the reason of a VM check, say)."""
    lines = [l.strip() for l in (test.get("err") or "").splitlines()]
    for l in lines:
        m = re.search(r"CRITICAL: (.*)", l)
        if m and not re.match(r"(Test assertion failure|Failed assertion|"
                              r"Last errno)", m.group(1)):
            return m.group(1)[:300]
    for l in reversed(lines):
        if l and not l.startswith("****") and "Stack trace" not in l:
            return l[:300]
    return (test.get("note") or test["result"])[:300]


def combine(paths):
    total = [0, 0, 0]
    for path in paths:
        try:
            doc = load(path)
            counts = count(doc["tests"])
            name = doc.get("name", path)
            for tname, t in sorted(doc["tests"].items()):
                if t["result"] not in ("pass", "skip"):
                    print("FAIL %s %s: %s" % (name, tname, reason(t)))
        except (OSError, ValueError, KeyError) as e:
            counts, name = (0, 1, 0), "%s (unreadable: %s)" % (path, e)
        total = [a + b for a, b in zip(total, counts)]
        print("%s: %s" % (name, line(tuple(counts))))
    print(line(tuple(total)), flush=True)
    return 1 if total[1] or not sum(total) else 0


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--combine", nargs="+", metavar="RESULTS_JSON")
    ap.add_argument("--kernel")
    ap.add_argument("--skips")
    ap.add_argument("--out")
    ap.add_argument("--extra", nargs="+", action="extend", default=[],
                    metavar="NAME=RESULT")
    ap.add_argument("passes", nargs="*", metavar="PASS_JSON")
    args = ap.parse_args()

    # "--extra A=pass --extra B=fail:x r.json" and "r.json --extra A B" both
    # work: a value of --extra without '=' is a results file.
    extra = []
    for value in args.extra:
        if "=" in value:
            try:
                extra.append(parse_extra(value))
            except argparse.ArgumentTypeError as e:
                ap.error(str(e))
        else:
            args.passes.append(value)
    args.extra = extra

    if args.combine:
        return combine(args.combine + args.passes)
    if not args.kernel or not args.out:
        ap.error("--kernel and --out are required (or use --combine)")
    return summarize(args)


if __name__ == "__main__":
    sys.exit(main())
