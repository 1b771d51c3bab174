#!/usr/bin/env python3
"""Check the output of bench/compare (the ctest bench.compare.smoke): the
Markdown, the two CSV files and the SVG chart exist and parse; every
engine that is present here ran every workload with the native checksum;
a software-backed KVM is marked as such in the table and hatched in the
chart.

    compare_check.py OUTDIR [-- COMMAND ARGS...]

With a command (bench/compare and its options), OUTDIR is emptied of old
outputs first and the command run; its failure is a failure. Exit status 0 when all holds, 1 with one line per problem otherwise.
Standard library only.
"""
import csv
import os
import subprocess
import sys
import xml.etree.ElementTree as ET


def main():
    if len(sys.argv) < 2 or (len(sys.argv) > 2 and (sys.argv[2] != "--" or len(sys.argv) < 4)):
        sys.exit("usage: compare_check.py OUTDIR [-- COMMAND ARGS...]")
    out = sys.argv[1]
    problems = []
    paths = {n: os.path.join(out, n) for n in ("compare.md", "compare.csv", "runs.csv", "compare.svg")}
    if len(sys.argv) > 2:
        for path in paths.values():
            if os.path.exists(path):
                os.remove(path)
        status = subprocess.run(sys.argv[3:]).returncode
        if status:
            problems.append("%s exited with status %d" % (os.path.basename(sys.argv[3]), status))
    for name, path in paths.items():
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            problems.append("%s missing or empty" % path)
    if any(not os.path.isfile(p) for p in paths.values()):
        print("\n".join("compare_check: " + p for p in problems))
        return 1

    with open(paths["compare.csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"workload", "engine", "status", "checksum", "median_s", "ratio_native", "guest_insns", "kvm_backing"}
    if not rows or not need <= set(rows[0]):
        problems.append("compare.csv: no rows, or columns missing: %s" % sorted(need - set(rows[0] if rows else {})))
        rows = []
    native = {r["workload"]: r["checksum"] for r in rows if r["engine"] == "native" and r["status"] == "ok"}
    software_kvm = False
    for r in rows:
        who = "%s under %s" % (r["workload"], r["engine"])
        if r["status"] == "n/a":
            continue  # not installed here
        if r["kvm_backing"] == "software":
            software_kvm = True
            if r["status"] == "timeout" and r.get("timeout_lower_bound_s"):
                continue  # a software KVM may be too slow for the limit: a lower bound is a result
        if r["status"] not in ("ok", "noise"):  # noise: correct, but too short to time at this scale
            problems.append("%s: %s (%s)" % (who, r["status"], r["note"]))
            continue
        if r["workload"] in native and r["checksum"] != native[r["workload"]]:
            problems.append("%s: checksum %s, native %s" % (who, r["checksum"], native[r["workload"]]))
        if r["status"] == "noise":
            continue
        try:
            if float(r["median_s"]) <= 0:
                problems.append("%s: time %s" % (who, r["median_s"]))
        except ValueError:
            problems.append("%s: no time" % who)
    if rows and not native:
        problems.append("compare.csv: no native reference row")

    with open(paths["runs.csv"], newline="") as f:
        runs = list(csv.DictReader(f))
    if not runs or "checksum" not in runs[0]:
        problems.append("runs.csv: no runs")

    with open(paths["compare.md"]) as f:
        md = f.read()
    if "| workload |" not in md or "> **KVM" not in md:
        problems.append("compare.md: no table or no KVM statement")
    if software_kvm and "software KVM" not in md:
        problems.append("compare.md: the kvm column is not marked as software KVM")

    try:
        svg = ET.parse(paths["compare.svg"]).getroot()
        if not svg.tag.endswith("svg") or not svg.findall(".//{http://www.w3.org/2000/svg}rect"):
            problems.append("compare.svg: not an SVG chart with bars")
        if software_kvm and "url(#hatch)" not in ET.tostring(svg, encoding="unicode"):
            problems.append("compare.svg: software KVM bars are not hatched")
    except ET.ParseError as e:
        problems.append("compare.svg: %s" % e)

    for p in problems:
        print("compare_check: " + p)
    if not problems:
        print("compare_check: %d rows, %d runs, outputs parse, checksums agree%s"
              % (len(rows), len(runs), ", KVM marked software-backed" if software_kvm else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
