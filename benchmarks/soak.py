"""Soak test: the HTTP service at a steady rate for minutes; errors, drops, latency and memory.

Starts `mathgrader serve --workers 2 --http-workers N` on a free port (bundled example keys,
submissions recorded to a temporary folder). Before measuring, `--prime` first-time answers
(default 45,000) fill its bounded caches (verdicts and previews in each HTTP process, results in
each grading process), as on a server that has been up for a while: the memory that takes is
reported apart, so that the growth measured afterwards is what a long-running server would
show. It then measures its capacity for the request mix with a short closed-loop run (unless
`--rate` is given), and offers `--load` of it (default 60%) at a fixed rate for `--minutes`
with `loadgen.open_loop` (latency counted from when each request was due). The mix is a quiz
in use: previews as learners type, grades of quiz questions, checks from `workload.py`'s batch
and a few health probes; 10% of the answers were never sent before (each is a worker's check),
the rest repeat with Zipf weights.

Every `--sample-every` seconds it reads the resident memory of the whole server (the HTTP
processes, the grading workers, their forkserver) from /proc. It reports, per minute, the
rate, latency percentiles, errors, 5xx and dropped requests (sent, never answered), and the
memory growth: the least-squares slope of the total RSS over the run, and the mean of the
last minute minus the mean of the first.

Exits 1 when any request got a non-200 answer (5xx included) or was dropped, or an answer came
back not checked (verdict `timeout`: nothing in this mix needs anywhere near the 2 s budget, so
it means the server fell behind), or the memory grew by more than `--max-growth-mib` from the
first minute to the last; 0 otherwise.
Results: `benchmarks/results/soak.json` and `soak.png`.

    make loadtest                                   # 5 minutes at 60% of measured capacity
    .venv/bin/python benchmarks/soak.py --minutes 1 --rate 300
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import loadgen as lg
import numpy as np
from grading import pyplot, run_header, save_figure, write_results

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MIX = {"preview": 0.4, "grade": 0.45, "check": 0.1, "health": 0.05}
UNIQUE_SHARE = 0.1


async def soak(args: argparse.Namespace, log: Path, var: str) -> dict[str, Any]:
    port = lg.free_port()
    addr = ("127.0.0.1", port)
    extra = ["--http-workers", str(args.http_workers)] if args.http_workers > 1 else []
    proc = lg.start_server(port, args.workers, log, extra=extra,
                           env={"MATHGRADER_VAR_DIR": var})
    out: dict[str, Any] = {"server_command": lg.command_of(proc)}
    samples: list[dict[str, Any]] = []
    try:
        out["server_ready_seconds"] = await lg.wait_ready(addr, proc, 120.0)
        respellings: Counter[str] = Counter()  # so that every new text is new to the server
        mix = lg.Mix(MIX, unique=UNIQUE_SHARE, seed=args.seed, respellings=respellings)
        warm = lg.Mix({"grade": 1.0}, seed=args.seed)
        await lg.send_each(addr, warm.all_distinct("grade") + warm.all_distinct("check"), 8)
        if args.prime:
            out["priming"] = await prime(addr, proc.pid, args, respellings)
        rate = args.rate
        if rate is None:
            probe = await lg.closed_loop(addr, mix, args.probe_concurrency, args.probe_seconds)
            capacity = lg.summary(probe)
            out["capacity_probe"] = {k: capacity[k] for k in (
                "requests", "requests_per_second", "p50_ms", "p99_ms", "errors")}
            rate = max(10.0, round(capacity["requests_per_second"] * args.load))
            note(f"capacity {capacity['requests_per_second']:,.0f} requests/s at "
                 f"concurrency {args.probe_concurrency}: soaking at {rate:,.0f}/s "
                 f"({args.load:.0%}) for {args.minutes:g} min")
        out["rate"] = rate
        started = time.perf_counter()

        def sample(elapsed: float) -> None:
            memory = lg.tree_memory(proc.pid)
            samples.append({"t": elapsed, **memory, "server_cpu_s": lg.tree_cpu(proc.pid),
                            "client_cpu_s": time.process_time(),
                            "machine_busy_s": lg.machine_busy()})
            if len(samples) % max(1, round(60 / args.sample_every)) == 0:
                note(f"{elapsed / 60:4.1f} min: RSS {memory['rss_mib']:,.1f} MiB "
                     f"({memory['processes']} processes), PSS {memory['pss_mib']:,.1f} MiB")

        sample(0.0)
        tally = await lg.open_loop(addr, mix, rate, args.minutes * 60, timeout=args.timeout,
                                   max_connections=args.max_connections, tick=sample,
                                   tick_every=args.sample_every)
        sample(time.perf_counter() - started)
        out["tally"] = tally
        out["health_after"] = await health(addr)
    finally:
        lg.stop_server(proc)
        out["server_exit"] = proc.returncode
    out["memory_samples"] = samples
    return out


async def prime(addr: tuple[str, int], pid: int, args: argparse.Namespace,
                respellings: Counter[str]) -> dict[str, Any]:
    """Fill the server's bounded caches with first-time answers, as on a server that has been
    up for a while: what they take is reported here, apart from the soak's growth."""
    before = lg.tree_memory(pid)
    primer = lg.Mix({"grade": 0.7, "check": 0.3}, unique=1.0, seed=args.seed,
                    respellings=respellings)
    tally = await lg.closed_loop(addr, primer, 16, 3600.0, max_requests=args.prime)
    after = lg.tree_memory(pid)
    done = lg.summary(tally)
    note(f"primed with {done['requests']:,} first-time answers in {done['seconds']:.0f} s "
         f"({done['errors']} errors): RSS {before['rss_mib']:,.1f} -> "
         f"{after['rss_mib']:,.1f} MiB")
    return {"requests": done["requests"], "seconds": done["seconds"], "errors": done["errors"],
            "rss_before_mib": before["rss_mib"], "rss_after_mib": after["rss_mib"],
            "pss_before_mib": before["pss_mib"], "pss_after_mib": after["pss_mib"]}


async def health(addr: tuple[str, int]) -> Any:
    conn = await lg.Connection.open(addr)
    status, body = await conn.request(lg.http_request("GET", "/api/v1/health"))
    conn.abort()
    try:
        return {"status_code": status, **json.loads(body)}
    except ValueError:
        return {"status_code": status}


def note(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def memory_growth(samples: list[dict[str, Any]], minutes: float) -> dict[str, Any]:
    t = np.array([s["t"] for s in samples]) / 60
    out: dict[str, Any] = {}
    for kind in ("rss_mib", "pss_mib"):
        v = np.array([s[kind] for s in samples])
        first = v[t <= min(1.0, minutes / 2)]
        last = v[t >= max(minutes - 1.0, minutes / 2)]
        slope = float(np.polyfit(t, v, 1)[0]) if len(t) > 2 else 0.0
        out[kind.removesuffix("_mib")] = {
            "start_mib": float(v[0]), "end_mib": float(v[-1]), "peak_mib": float(v.max()),
            "first_minute_mib": float(first.mean()), "last_minute_mib": float(last.mean()),
            "growth_mib": float(last.mean() - first.mean()), "slope_mib_per_minute": slope,
        }
    return out


def per_minute(tally: lg.Tally, minutes: float, samples: list[dict[str, Any]]
               ) -> list[dict[str, Any]]:
    """Figures per minute, with the CPU (in cores) of the server, this client and the rest of
    the machine between the memory samples that bracket the minute."""
    edges = [*np.arange(0, minutes * 60, 60.0), minutes * 60]
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi - lo < 1:
            continue
        r = lg.summary(tally, window=(float(lo), float(hi)))
        r.pop("statuses")
        inside = [s for s in samples if lo <= s["t"] <= hi + 1e-6]
        if len(inside) >= 2:
            a, b = inside[0], inside[-1]
            span = b["t"] - a["t"]
            cpu = {k: (b[f"{k}_s"] - a[f"{k}_s"]) / span
                   for k in ("server_cpu", "client_cpu", "machine_busy")}
            r["cpu"] = {"server": cpu["server_cpu"], "client": cpu["client_cpu"],
                        "others": max(0.0, cpu["machine_busy"] - cpu["server_cpu"]
                                      - cpu["client_cpu"])}
        rows.append({"minute": lo / 60, **r})
    return rows


def chart(results: dict[str, Any], path: Path) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    fig, (lat_ax, mem_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    rows = results["per_minute"]
    x = [r["minute"] + 0.5 for r in rows]
    for key, style in (("p50_ms", "o-"), ("p90_ms", "s-"), ("p99_ms", "^-"), ("max_ms", "x:")):
        lat_ax.plot(x, [r.get(key, np.nan) for r in rows], style, label=key.removesuffix("_ms"))
    lat_ax.set_yscale("log")
    lat_ax.set_xlabel("minute")
    lat_ax.set_ylabel("latency ms (from when due; log)")
    lat_ax.set_title(f"{results['rate']:,.0f} requests/s offered; errors "
                     f"{results['total']['errors']}, dropped {results['total']['dropped']}",
                     fontsize=10)
    lat_ax.legend(fontsize=8)
    samples = results["memory_samples"]
    t = [s["t"] / 60 for s in samples]
    mem_ax.plot(t, [s["rss_mib"] for s in samples], label="RSS, all server processes")
    mem_ax.plot(t, [s["pss_mib"] for s in samples], label="PSS (shared pages split)")
    growth = results["memory_growth"]["rss"]
    mem_ax.set_ylim(bottom=0)
    mem_ax.set_xlabel("minute")
    mem_ax.set_ylabel("MiB")
    mem_ax.set_title(f"memory: RSS {growth['growth_mib']:+.1f} MiB first to last minute, "
                     f"slope {growth['slope_mib_per_minute']:+.2f} MiB/min", fontsize=10)
    mem_ax.legend(fontsize=8)
    fig.suptitle(f"soak: {results['settings']['minutes']:g} min, "
                 f"{results['server_command'].split('mathgrader ', 1)[-1]}", fontsize=10)
    return save_figure(fig, path, dpi=100)


def report(results: dict[str, Any]) -> str:
    total, growth = results["total"], results["memory_growth"]
    out = ["| minute | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | 5xx | dropped "
           "| server CPU | client CPU | others |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results["per_minute"]:
        cpu = r.get("cpu", {})
        out.append(f"| {r['minute']:.0f} | {r['requests_per_second']:,.0f} | "
                   f"{r.get('p50_ms', 0):.2f} | {r.get('p90_ms', 0):.2f} | "
                   f"{r.get('p99_ms', 0):.2f} | {r.get('max_ms', 0):.1f} | {r['errors']} | "
                   f"{r['status_5xx']} | {r['dropped']} | {cpu.get('server', 0):.2f} | "
                   f"{cpu.get('client', 0):.2f} | {cpu.get('others', 0):.2f} |")
    out += ["", f"- {total['requests']:,} requests at {results['rate']:,.0f}/s offered "
            f"({total['requests_per_second']:,.1f}/s answered): errors {total['errors']}, "
            f"5xx {total['status_5xx']}, dropped {total['dropped']}, unsent {total['unsent']}, "
            f"not checked in time {total['verdicts'].get('timeout', 0)}; "
            f"p50 {total['p50_ms']:.2f} ms, p99 {total['p99_ms']:.2f} ms, "
            f"max {total['max_ms']:.1f} ms"]
    for kind in ("rss", "pss"):
        g = growth[kind]
        out.append(f"- {kind.upper()} of the server: {g['start_mib']:,.1f} -> {g['end_mib']:,.1f}"
                   f" MiB (peak {g['peak_mib']:,.1f}); last minute minus first "
                   f"{g['growth_mib']:+.1f} MiB; slope {g['slope_mib_per_minute']:+.2f} MiB/min")
    out.append("- verdict: " + ("PASS" if results["passed"] else "FAIL: "
                                + "; ".join(results["failures"])))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=None,
                        help="requests/s to offer (default: --load of the measured capacity)")
    parser.add_argument("--load", type=float, default=0.6,
                        help="share of the measured capacity to offer (default 0.6)")
    parser.add_argument("--prime", type=int, default=45_000,
                        help="first-time answers sent before the soak to fill the bounded "
                             "caches (0: none)")
    parser.add_argument("--probe-seconds", type=float, default=10.0)
    parser.add_argument("--probe-concurrency", type=int, default=16)
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="grading processes")
    parser.add_argument("--sample-every", type=float, default=5.0, help="memory sampling, s")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="a request unanswered after this many seconds is dropped")
    parser.add_argument("--max-connections", type=int, default=256)
    parser.add_argument("--max-growth-mib", type=float, default=64.0,
                        help="fail above this RSS growth, first minute to last (all processes)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.minutes <= 0 or (args.rate is not None and args.rate <= 0):
        parser.error("--minutes and --rate must be positive")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {
        **run_header(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        | {"mix": MIX, "unique_share": UNIQUE_SHARE},
    }
    with tempfile.TemporaryDirectory(prefix="mathgrader-soak-") as var:
        outcome = lg.run(soak(args, args.out / "soak-server.log", var))
    tally: lg.Tally = outcome.pop("tally")
    results |= outcome
    results["total"] = lg.summary(tally) | {"unsent": tally.unsent,
                                            "connections": tally.connections,
                                            "most_waiting": tally.max_waiting,
                                            "verdicts": dict(tally.verdicts)}
    results["by_kind"] = {label: lg.summary(tally, label=label) for label in MIX}
    results["per_minute"] = per_minute(tally, args.minutes, results["memory_samples"])
    results["memory_growth"] = memory_growth(results["memory_samples"], args.minutes)
    log_text = (args.out / "soak-server.log").read_text(errors="replace")
    results["server_log_tracebacks"] = log_text.count("Traceback")
    total, growth = results["total"], results["memory_growth"]["rss"]["growth_mib"]
    failures = []
    if total["errors"]:
        failures.append(f"{total['errors']} requests got no 200 ({total['status_5xx']} 5xx)")
    if total["dropped"] or total["unsent"]:
        failures.append(f"{total['dropped']} dropped, {total['unsent']} never sent")
    not_checked = total["verdicts"].get("timeout", 0)
    if not_checked:  # answered 200, but not graded: the server was too far behind
        failures.append(f"{not_checked} answers not checked in time (verdict timeout)")
    if growth > args.max_growth_mib:
        failures.append(f"memory grew {growth:.1f} MiB (> {args.max_growth_mib:g})")
    results["failures"], results["passed"] = failures, not failures
    write_results(results, args.out, "soak", chart, report, started)
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
