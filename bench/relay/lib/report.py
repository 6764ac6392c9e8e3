#!/usr/bin/env python3
"""report.py RESULTS_DIR - side-by-side table of one bench/relay/run.sh run.

Reads the `JSON {...}` lines the shared harness appended to RESULTS_DIR/*.txt (peers
`outpost`, `postfix`, `calibration`), groups them by peer and workload, and prints per figure
the median with [min-max] over the repetitions, the ratio Outpost/Postfix of the medians, and
Outpost's end-to-end rate as a share of the calibration ceiling (smtp-source -> smtp-sink).
Incomplete runs (not every recipient delivered, or the generator failed) are listed and left
out of the medians. RESULTS_DIR/load.txt (one line per run: peer workload rep loadavg...) and
RESULTS_DIR/paced.txt (paced_latency.py) are shown when present.
"""
import json
import os
import statistics
import sys

WORKLOADS = {(2048, 1): "small", (51200, 1): "large", (2048, 5): "multi5"}
# (key, heading, higher is better)
FIGURES = [
    ("inj_rate", "inject msg/s", True),
    ("e2e_msgs_per_s", "e2e msg/s", True),
    ("lat_p50_ms", "lat p50 ms", False),
    ("lat_p99_ms", "lat p99 ms", False),
    ("mta_cpu_s", "CPU s", False),
    ("mta_peak_rss_mb", "peak RSS MB (sum)", False),
    ("mta_peak_pss_mb", "peak PSS MB", False),
]


def workload_of(r):
    return WORKLOADS.get((r["size"], r["rcpts"]), f"n{r['n']}-s{r['size']}-r{r['rcpts']}")


def load_runs(results_dir):
    runs, bad = {}, []
    for name in sorted(os.listdir(results_dir)):
        if not name.endswith(".txt") or name in ("load.txt", "paced.txt"):
            continue
        for line in open(os.path.join(results_dir, name)):
            if not line.startswith("JSON "):
                continue
            r = json.loads(line[5:])
            if not r.get("complete") or r.get("gen_rc") != 0:
                bad.append(r)
                continue
            runs.setdefault((workload_of(r), r["peer"]), []).append(r)
    return runs, bad


def cell(vals):
    if not vals:
        return "-", None
    m = statistics.median(vals)
    if len(vals) == 1:
        return f"{m:g}", m
    return f"{m:g} [{min(vals):g}-{max(vals):g}]", m


def main():
    results_dir = sys.argv[1]
    runs, bad = load_runs(results_dir)
    workloads = sorted({w for w, _ in runs}, key=lambda w: ["small", "large", "multi5"].index(w)
                       if w in ("small", "large", "multi5") else 9)
    print(f"# Relay benchmark: {results_dir}")
    print("median [min-max] over repetitions; ratio = Outpost median / Postfix median\n")
    for w in workloads:
        n = next(iter(runs.get((w, "outpost"), runs.get((w, "postfix"), [{}]))), {}).get("n")
        print(f"## {w} (N={n})\n")
        print("| figure | Outpost | Postfix | Outpost/Postfix | ceiling (no MTA) |")
        print("|---|---|---|---|---|")
        for key, head, _ in FIGURES:
            o_txt, o = cell([r[key] for r in runs.get((w, "outpost"), []) if r.get(key) is not None])
            p_txt, p = cell([r[key] for r in runs.get((w, "postfix"), []) if r.get(key) is not None])
            c_txt = "-"
            if key in ("inj_rate", "e2e_msgs_per_s"):
                c_txt, _ = cell([r[key] for r in runs.get((w, "calibration"), [])
                                 if r.get(key) is not None])
            ratio = f"{o / p:.2f}x" if (o is not None and p) else "-"
            print(f"| {head} | {o_txt} | {p_txt} | {ratio} | {c_txt} |")
        o = [r["e2e_msgs_per_s"] for r in runs.get((w, "outpost"), [])]
        c = [r["e2e_msgs_per_s"] for r in runs.get((w, "calibration"), [])]
        if o and c:
            print(f"\nOutpost e2e = {100 * statistics.median(o) / statistics.median(c):.0f}% "
                  "of the smtp-source -> smtp-sink ceiling")
        lk = {r.get("lat_kind", "").split(":")[0] for r in runs.get((w, "outpost"), [])}
        if lk:
            print(f"latency kind: {', '.join(sorted(lk))} (see shared/bench/README.md)")
        print()
    if bad:
        print("## Incomplete runs (excluded)\n")
        for r in bad:
            print(f"- {r.get('label')}: {r.get('end_reason')} gen_rc={r.get('gen_rc')} "
                  f"missing={r.get('missing_rcpts')} dup={r.get('dup_rcpts')}")
        print()
    load = os.path.join(results_dir, "load.txt")
    if os.path.exists(load):
        vals = [float(l.split()[3]) for l in open(load) if len(l.split()) >= 4]
        if vals:
            print(f"load average (1 min) before each run: median {statistics.median(vals):.1f}, "
                  f"range {min(vals):.1f}-{max(vals):.1f} ({len(vals)} runs)\n")
    paced = os.path.join(results_dir, "paced.txt")
    if os.path.exists(paced):
        print("## Outpost latency at a fixed rate (exact: MTA 250 -> sink file mtime)\n")
        print("| target msg/s | achieved inject msg/s | N | p50 ms | p90 ms | p99 ms | max ms | "
              "load |")
        print("|---|---|---|---|---|---|---|---|")
        for line in open(paced):
            if line.startswith("JSON "):
                r = json.loads(line[5:])
                print(f"| {r['rate_target']:g} | {r.get('inj_rate')} | {r['n']} | "
                      f"{r.get('lat_p50_ms')} | {r.get('lat_p90_ms')} | {r.get('lat_p99_ms')} | "
                      f"{r.get('lat_max_ms')} | {' '.join(r.get('loadavg', []))} |"
                      + ("" if r.get("complete") else " INCOMPLETE"))
        print()


if __name__ == "__main__":
    main()
