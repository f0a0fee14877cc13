#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Summary of the Mesa tier: both builds against the programs' expectations.

    summarize.py [--extra NAME=pass|fail[:reason] ...] PASSDIR...

Each PASSDIR (one per vblit userptr backing, e.g. .../share/mesa-pinned)
holds series.txt and pristine.txt: the RESULT lines of the programs run
against Mesa with and without mesa-patches/ (see mesa-tests/mt_common.h):

    RESULT <config> <case> got=<value> series=<value> pristine=<value>

A result of the series build passes when got equals its series value. A
result of the pristine build is the contrast: it should equal its
pristine value, and a "fixed behaviour" (series != pristine) then fails
the with-series expectation there. --extra adds pass/fail checks (the
guest's vm/... checks, Mesa's own meson test).

Prints a table, the contrast, and as the last line exactly
"N passed, N failed" for the with-series expectations and the extras.
Exits 1 if anything failed or the pristine build did not behave as
predicted, else 0.
"""

import argparse
import os
import sys


def parse(path):
    """{(config, case): {got, series, pristine}} from one results file."""
    results = {}
    if not os.path.exists(path):
        return results
    with open(path, errors="replace") as f:
        for line in f:
            fields = line.split()
            if len(fields) != 6 or fields[0] != "RESULT":
                continue
            values = dict(field.split("=", 1) for field in fields[3:])
            results[(fields[1], fields[2])] = values
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument("passdirs", nargs="+")
    args = ap.parse_args()

    passed = failed = 0
    fixed = fixed_ok = deviations = 0
    pristine_pass = pristine_fail = 0
    rows = []

    for passdir in args.passdirs:
        backing = os.path.basename(passdir.rstrip("/")).replace("mesa-", "")
        series = parse(os.path.join(passdir, "series.txt"))
        pristine = parse(os.path.join(passdir, "pristine.txt"))
        if not series:
            rows.append((backing, "-", "results", "FAIL: no results", ""))
            failed += 1
            continue
        for key in sorted(set(series) | set(pristine)):
            config, case = key
            s = series.get(key)
            p = pristine.get(key)
            want = (s or p)["series"]
            predicted = (s or p)["pristine"]
            if s and s["got"] == want:
                passed += 1
                with_series = "pass"
            else:
                failed += 1
                with_series = "FAIL: got %s, want %s" % (
                    s["got"] if s else "nothing", want)
            if want != predicted:
                fixed += 1
            if p and p["got"] == want:
                pristine_pass += 1
            else:
                pristine_fail += 1
            if p and p["got"] == predicted:
                if want == predicted:
                    without = "pass (unchanged)"
                else:
                    without = "fails as predicted: %s" % p["got"]
                    if with_series == "pass":
                        fixed_ok += 1
            else:
                deviations += 1
                without = "UNEXPECTED: got %s, predicted %s" % (
                    p["got"] if p else "nothing", predicted)
            rows.append((backing, config, case, with_series, without))

    extras = []
    for spec in args.extra:
        name, _, value = spec.partition("=")
        result, _, reason = value.partition(":")
        extras.append((name, result, reason))
        if result == "pass":
            passed += 1
        else:
            failed += 1

    widths = [max(len(r[i]) for r in rows + [("backing", "config", "case", "", "")])
              for i in range(3)]
    print("%-*s  %-*s  %-*s  %s | %s" % (widths[0], "backing", widths[1], "config",
                                         widths[2], "case", "with the series",
                                         "without the series"))
    for r in rows:
        print("%-*s  %-*s  %-*s  %s | %s" % (widths[0], r[0], widths[1], r[1],
                                             widths[2], r[2], r[3], r[4]))
    for name, result, reason in extras:
        print("%s: %s%s" % (name, result, " (%s)" % reason if reason else ""))

    print("fixed behaviours: %d results, %d of them fail without the series "
          "and pass with it" % (fixed, fixed_ok))
    print("without the series (contrast): %d passed, %d failed against the "
          "with-series expectations; %d differ from the prediction"
          % (pristine_pass, pristine_fail, deviations))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or deviations or fixed_ok != fixed else 0


if __name__ == "__main__":
    sys.exit(main())
