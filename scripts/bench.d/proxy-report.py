#!/usr/bin/env python3
"""scripts/bench.d/proxy-report.py — the Markdown report of scripts/bench-proxy.

Usage: proxy-report.py RAW.jsonl LOAD_BEFORE DURATION ROUNDS STREAMS EVENTS RAMP_MS
RAW.jsonl holds one JSON object a line, written by scripts/bench-proxy.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

raw, load_before, duration, rounds, streams, events, ramp_ms = sys.argv[1:8]
rows = [json.loads(line) for line in open(raw) if line.strip()]


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def mem_total():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            return f"{int(line.split()[1]) / 1048576:.1f} GiB"
    return "?"


def os_name():
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "?"


def yes(ok):
    return "yes" if ok else "**no**"


print("### Machine")
print()
print("| | |")
print("|---|---|")
print(f"| nproc | {os.cpu_count()} |")
print(f"| CPU | {cpu_model()} |")
print(f"| memory | {mem_total()} |")
print(f"| kernel | {platform.system()} {platform.release()} |")
print(f"| OS | {os_name()} |")
print(f"| rustc | {sh('rustc', '--version')} |")
print(f"| wrk | {sh('wrk', '--version').splitlines()[0] if sh('wrk', '--version') else '?'} |")
with open("/proc/loadavg") as f:
    load_after = " ".join(f.read().split()[:3])
print(f"| load average (1/5/15 min) before / after | {load_before} / {load_after} |")
print(f"| date | {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} |")
print()

targets = []

wrk = [r for r in rows if r["phase"] == "wrk"]
if wrk:
    print(f"### Requests (wrk, {rounds} rounds × {duration} s each, the targets in turn; medians of the rounds)")
    print()
    print("`relay1`/`relay2`: the floor of any proxy, a byte relay with no HTTP work on 1 or 2 threads. "
          "`nginx`: nginx as an authenticating reverse proxy (one worker), the anchor. "
          "`proxy0`: claude-auth proxy with the usage ledger off. "
          "`before0`: when BENCH_PROXY_BEFORE names an earlier build, that build with the ledger off, in the same rounds.")
    print()
    print("| connections (wrk threads) | target | requests/s | median latency (ms) | p99 latency (ms) | CPU per request, upstream (µs) | CPU per request, proxy or relay (µs) | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    summary = {}
    groups = [(c, 0) for c in sorted({r["conns"] for r in wrk if not r.get("pinned")}, reverse=True)]
    groups += [(c, 1) for c in sorted({r["conns"] for r in wrk if r.get("pinned")}, reverse=True)]
    for conns, pinned in groups:
        for target in ("direct", "proxy", "proxy0", "before0", "nginx", "relay1", "relay2"):
            runs = [r for r in wrk if r["conns"] == conns and r["target"] == target and bool(r.get("pinned")) == bool(pinned)]
            if not runs:
                continue
            rps = statistics.median(r["wrk"]["requests"] / (r["wrk"]["duration_us"] / 1e6) for r in runs)
            p50 = statistics.median(r["wrk"]["p50_us"] for r in runs) / 1000
            p99 = statistics.median(r["wrk"]["p99_us"] for r in runs) / 1000
            up_cpu = statistics.median(r["upstream_cpu_ticks"] / r["clk_tck"] / r["wrk"]["requests"] * 1e6 for r in runs)
            px_cpu = statistics.median(r["mid_cpu_ticks"] / r["clk_tck"] / r["wrk"]["requests"] * 1e6 for r in runs)
            errors = sum(
                r["wrk"][k] for r in runs for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout")
            )
            summary[(conns, pinned, target)] = (rps, p50, p99, px_cpu)
            threads = runs[0]["threads"]
            px = f"{px_cpu:.1f}" if target != "direct" else "—"
            pin = ", pinned¹" if pinned else ""
            print(f"| {conns} ({threads}){pin} | {target} | {rps:,.0f} | {p50:.3f} | {p99:.3f} | {up_cpu:.1f} | {px} | {errors} |")
    print()
    print("| connections | through | added median latency (ms) | added p99 latency (ms) | throughput / direct |")
    print("|---|---|---:|---:|---:|")
    for conns, pinned in groups:
        if (conns, pinned, "direct") not in summary or (conns, pinned, "proxy") not in summary:
            continue
        d = summary[(conns, pinned, "direct")]
        pin = ", pinned¹" if pinned else ""
        for target in ("proxy", "proxy0", "before0", "nginx", "relay1", "relay2"):
            if (conns, pinned, target) in summary:
                m = summary[(conns, pinned, target)]
                print(f"| {conns}{pin} | {target} | {m[1] - d[1]:+.3f} | {m[2] - d[2]:+.3f} | {m[0] / d[0] * 100:.0f} % |")
        p = summary[(conns, pinned, "proxy")]
        add50, add99, ratio = p[1] - d[1], p[2] - d[2], p[0] / d[0]
        name = f"{conns} connection{'s' if conns != 1 else ''}{pin}"
        targets.append((f"{name}: added median latency ≤ 0.3 ms", f"{add50:+.3f} ms", add50 <= 0.3))
        targets.append((f"{name}: added p99 latency ≤ 2 ms", f"{add99:+.3f} ms", add99 <= 2.0))
        targets.append((f"{name}: proxy throughput ≥ 80 % of direct", f"{ratio * 100:.0f} %", ratio >= 0.8))
        if (conns, pinned, "nginx") in summary:
            n = summary[(conns, pinned, "nginx")]
            targets.append((f"{name}: proxy throughput ≥ 100 % of nginx's", f"{p[0] / n[0] * 100:.0f} %", p[0] >= n[0]))
            targets.append((f"{name}: proxy added median latency ≤ nginx's", f"{add50:+.3f} ms against {n[1] - d[1]:+.3f} ms", add50 <= n[1] - d[1]))
        if (conns, pinned, "proxy0") in summary and (conns, pinned, "nginx") in summary:
            z, n = summary[(conns, pinned, "proxy0")], summary[(conns, pinned, "nginx")]
            targets.append((f"{name}: proxy0 (ledger off) throughput ≥ 100 % of nginx's", f"{z[0] / n[0] * 100:.0f} %", z[0] >= n[0]))
            targets.append((f"{name}: proxy0 (ledger off) added median latency ≤ nginx's", f"{z[1] - d[1]:+.3f} ms against {n[1] - d[1]:+.3f} ms", z[1] - d[1] <= n[1] - d[1]))
            targets.append((f"{name}: proxy0 (ledger off) CPU per request ≤ nginx's", f"{z[3]:.1f} µs against {n[3]:.1f} µs", z[3] <= n[3]))
        if (conns, pinned, "proxy0") in summary:
            z = summary[(conns, pinned, "proxy0")]
            targets.append((f"{name}: the usage ledger adds ≤ 50 µs at the median (proxy − proxy0)", f"{(p[1] - z[1]) * 1000:+.0f} µs", (p[1] - z[1]) * 1000 <= 50))
    print()
    if any(p for _, p in groups):
        print("¹ pinned: wrk and the upstream on CPU 0, the proxy alone on CPU 1 (`taskset`).")
        print()
    for r in rows:
        if r["phase"] == "wrk_rss":
            print(f"Proxy peak RSS after the wrk runs (VmHWM): {r['proxy_hwm_kb'] / 1024:.1f} MB.")
            print()

sse = [r for r in rows if r["phase"] == "sse"]
if sse:
    print(f"### SSE streams (one event every 100 ms, {events} events a stream; time from sending the request)")
    print()
    print("| run | target | streams | failed | events received | headers, median (ms) | first event, median (ms) | first event, p99 (ms) | first event, max (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    by = {}
    for r in sse:
        res = r["result"]
        by.setdefault((r["label"], r["target"]), []).append(res)
    for (label, target), results in by.items():
        fe = [x["first_event"] for x in results if x["first_event"]]
        hd = [x["headers"] for x in results if x["headers"]]
        if not fe:
            continue
        print(
            f"| {label}{' (' + ramp_ms + ' ms ramp)' if label == 'concurrent ramp' else ''} | {target} | {sum(x['streams'] for x in results)} | {sum(x['failed'] for x in results)} | {sum(x['events'] for x in results):,} "
            f"| {statistics.median(h['median_ms'] for h in hd):.3f} | {statistics.median(f['median_ms'] for f in fe):.3f} "
            f"| {statistics.median(f['p99_ms'] for f in fe):.3f} | {max(f['max_ms'] for f in fe):.3f} |"
        )
    print()
    print("| run | added time to first event, median (ms) | added p99 (ms) |")
    print("|---|---:|---:|")
    for label in dict.fromkeys(lbl for lbl, _ in by):
        d, p = by.get((label, "direct")), by.get((label, "proxy"))
        if not d or not p:
            continue
        med = lambda rs, k: statistics.median(x["first_event"][k] for x in rs if x["first_event"])
        add50 = med(p, "median_ms") - med(d, "median_ms")
        add99 = med(p, "p99_ms") - med(d, "p99_ms")
        print(f"| {label} | {add50:+.3f} | {add99:+.3f} |")
        if label == "concurrent ramp":
            targets.append((f"{streams} concurrent SSE streams: added time to first byte ≤ 1 ms (median)", f"{add50:+.3f} ms", add50 <= 1.0))
    print()
    for r in rows:
        if r["phase"] == "sse_start_rss":
            print(f"Proxy RSS at start: {r['proxy_rss_kb'] / 1024:.1f} MB.")
        if r["phase"] == "sse_ramp_rss":
            print(f"Proxy peak RSS after the ramped run only (VmHWM): {r['proxy_hwm_kb'] / 1024:.1f} MB.")
        if r["phase"] == "sse_rss":
            hwm = r["proxy_hwm_kb"] / 1024
            print(
                f"Proxy peak RSS over the SSE runs (VmHWM): **{hwm:.1f} MB** "
                f"(VmRSS sampled every 100 ms: max {r['proxy_rss_sampled_max_kb'] / 1024:.1f} MB; after: {r['proxy_rss_kb'] / 1024:.1f} MB)."
            )
            targets.append((f"{streams} concurrent SSE streams: proxy peak RSS ≤ 64 MB", f"{hwm:.1f} MB", hwm <= 64))
    print()

if targets:
    print("### Targets")
    print()
    print("| target | measured | met |")
    print("|---|---:|:---:|")
    for name, measured, ok in targets:
        print(f"| {name} | {measured} | {yes(ok)} |")
