"""HTTP service under load: grades/s, latency and who uses the CPU, per concurrency and rate.

For each server configuration (`--servers`: numbers of HTTP processes, default 1 and 2), starts
`mathgrader serve --port <free port> --workers 2 [--http-workers N]` (bundled example keys,
submissions recorded to a temporary folder) and drives it with `loadgen.py`'s client (raw
keep-alive HTTP/1.1, pre-built requests, one process, loopback):

- closed loop, at each concurrency level (`--levels`), each of these for `--seconds`:
  `grade` (example-key questions, Zipf-weighted answers, 10% never sent before), `unique`
  (every answer new: each one is a worker's check), `check` (`workload.py`'s quiz batch over
  `/api/v1/check`, 10% new), `preview` (the same texts), and the baseline `health`
  (`GET /api/v1/health`: routing, HTTP and JSON with no grading; *x health* below is an
  endpoint's rate over the health rate at that level, in the same run);
- open loop, `grade` offered at fixed rates (`--rates`), latency counted from when each
  request was due (a stalled server shows as latency, not as fewer requests).

Every distinct grade and check request is sent once before timing (a running server has seen
the common answers). CPU comes from /proc over each run: the server's process tree (and its
busiest process: one event loop cannot use more than one core), this client, and everything
else on the machine (`others`: other jobs, in cores). Any non-200 response is an error; a
request sent and never answered is dropped. Servers are stopped (SIGINT to the process group,
then SIGTERM, SIGKILL) in a `finally`.

Results: `benchmarks/results/http.json`, `http.png` (when matplotlib is installed), markdown
tables on stdout.

    .venv/bin/python benchmarks/http_load.py [--quick] [--servers 1,2] [--levels 1,4,16,64,128]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import loadgen as lg
from grading import pyplot, run_header, save_figure, write_results

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
AIM_RATE = 1000.0
AIM_P99_MS = 50.0
UNIQUE_SHARE = 0.1
ENDPOINTS = {  # name -> (request kinds, share of first-time answers)
    "grade": ({"grade": 1.0}, UNIQUE_SHARE),
    "unique": ({"grade": 1.0}, 1.0),
    "check": ({"check": 1.0}, UNIQUE_SHARE),
    "preview": ({"preview": 1.0}, UNIQUE_SHARE),
    "health": ({"health": 1.0}, 0.0),
}


class CpuMeter:
    """CPU used between `start()` and `stop()`, in cores (1.0 = one core busy all along)."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def _snapshot(self) -> tuple[float, dict[int, float], float, float]:
        return (time.perf_counter(), lg.tree_cpu_each(self.server_pid), time.process_time(),
                lg.machine_busy())

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> dict[str, float]:
        wall0, server0, client0, busy0 = self._start
        wall, server, client, busy = self._snapshot()
        seconds = wall - wall0
        each = [(cpu - server0.get(pid, 0.0)) / seconds for pid, cpu in server.items()]
        out = {"server": sum(each), "server_busiest_process": max(each, default=0.0),
               "client": (client - client0) / seconds, "machine": (busy - busy0) / seconds}
        out["others"] = max(0.0, out["machine"] - out["server"] - out["client"])
        return out


async def settle(args: argparse.Namespace) -> float:
    """Wait (up to `--quiet-wait` s) until the rest of the machine uses under `--quiet-cores`
    over 2 s, so that a run does not start in the middle of another job; the seconds waited."""
    waited = 0.0
    while waited < args.quiet_wait:
        busy0 = lg.machine_busy()
        await asyncio.sleep(2.0)
        if (lg.machine_busy() - busy0) / 2.0 < args.quiet_cores:
            break
        waited += 2.0
    return waited


async def drive(args: argparse.Namespace, http_workers: int, log: Path) -> dict[str, Any]:
    port = lg.free_port()
    addr = ("127.0.0.1", port)
    extra = ["--http-workers", str(http_workers)] if http_workers > 1 else []
    with tempfile.TemporaryDirectory(prefix="mathgrader-http-") as var:
        proc = lg.start_server(port, args.server_workers, log, extra=extra,
                               env={"MATHGRADER_VAR_DIR": var})
        out: dict[str, Any] = {"http_workers": http_workers,
                               "command": lg.command_of(proc)}
        try:
            out["ready_seconds"] = await lg.wait_ready(addr, proc, 120.0)
            respellings: Counter[str] = Counter()  # every new text new to this server
            mixes = {name: lg.Mix(kinds, unique=unique, seed=args.seed, respellings=respellings)
                     for name, (kinds, unique) in ENDPOINTS.items()}
            warm = lg.Mix({"grade": 1.0}, seed=args.seed)
            out["warm_up_statuses"] = dict(await lg.send_each(
                addr, warm.all_distinct("grade") + warm.all_distinct("check"), 8))
            meter = CpuMeter(proc.pid)
            closed: dict[str, dict[str, Any]] = {name: {} for name in ENDPOINTS}
            for level in args.levels:
                for name in ENDPOINTS:  # interleaved per level, so drift hits all alike
                    waited = await settle(args)
                    meter.start()
                    tally = await lg.closed_loop(addr, mixes[name], level, args.seconds)
                    closed[name][str(level)] = record(tally, meter.stop(), waited)
                    note(f"http{http_workers} {name:>7} c={level:<4}", closed[name][str(level)])
            out["closed_loop"] = closed
            opened: dict[str, Any] = {}
            for rate in args.rates:
                waited = await settle(args)
                meter.start()
                tally = await lg.open_loop(addr, mixes["grade"], rate, args.open_seconds,
                                           max_connections=512)
                opened[str(rate)] = record(tally, meter.stop(), waited)
                note(f"http{http_workers} open {rate:>6}/s", opened[str(rate)])
            out["open_loop"] = opened
        finally:
            lg.stop_server(proc)
            out["server_exit"] = proc.returncode
    return out


def record(tally: lg.Tally, cpu: dict[str, float], waited: float) -> dict[str, Any]:
    result = lg.summary(tally)
    result |= {"verdicts": dict(tally.verdicts), "connections": tally.connections,
               "unsent": tally.unsent, "most_waiting": tally.max_waiting, "cpu": cpu,
               "waited_for_quiet_seconds": waited}
    # The server's CPU per answered request: what it would cost on a free machine.
    cpu["server_ms_per_request"] = (cpu["server"] / result["requests_per_second"] * 1e3
                                    if result["requests_per_second"] else 0.0)
    return result


def note(label: str, r: dict[str, Any]) -> None:
    cpu = r["cpu"]
    print(f"  {label} {r['requests_per_second']:8,.0f}/s p50 {r.get('p50_ms', 0):6.2f} p99 "
          f"{r.get('p99_ms', 0):7.2f} ms errors {r['errors']} | cores: server "
          f"{cpu['server']:.2f} (busiest {cpu['server_busiest_process']:.2f}) client "
          f"{cpu['client']:.2f} others {cpu['others']:.2f}", file=sys.stderr, flush=True)


def best_grade(servers: dict[str, Any]) -> dict[str, Any]:
    """The grade run with the highest rate among those within the p99 aim and without errors
    (the highest rate overall when none is)."""
    runs = [(name, int(level), r) for name, s in servers.items()
            for level, r in s["closed_loop"]["grade"].items()]
    good = [run for run in runs if run[2]["errors"] == 0 and run[2]["p99_ms"] < AIM_P99_MS]
    name, level, r = max(good or runs, key=lambda run: run[2]["requests_per_second"])
    return {"server": name, "concurrency": level, **r}


def tables(results: dict[str, Any]) -> str:
    out = []
    for name, server in results["servers"].items():
        out += [f"**{name}** (`{server['command'].split('mathgrader ', 1)[-1]}`)", "",
                "| endpoint | concurrency | req/s | x health | p50 ms | p90 ms | p99 ms | max ms "
                "| errors | server CPU | busiest process | client CPU | others | server ms/req |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        closed = server["closed_loop"]
        for endpoint, runs in closed.items():
            for level, r in runs.items():
                ratio = r["requests_per_second"] / closed["health"][level]["requests_per_second"]
                cpu = r["cpu"]
                out.append(
                    f"| {endpoint} | {level} | {r['requests_per_second']:,.0f} | {ratio:.2f} | "
                    f"{r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | "
                    f"{r['max_ms']:.1f} | {r['errors']} | {cpu['server']:.2f} | "
                    f"{cpu['server_busiest_process']:.2f} | {cpu['client']:.2f} | "
                    f"{cpu['others']:.2f} | {cpu['server_ms_per_request']:.2f} |")
        out += ["", "| offered grades/s | answered/s | p50 ms | p90 ms | p99 ms | max ms | errors "
                "| dropped | server CPU | busiest process | client CPU | others |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for rate, r in server["open_loop"].items():
            cpu = r["cpu"]
            out.append(f"| {rate} | {r['requests_per_second']:,.0f} | {r['p50_ms']:.2f} | "
                       f"{r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} | "
                       f"{r['errors']} | {r['dropped']} | {cpu['server']:.2f} | "
                       f"{cpu['server_busiest_process']:.2f} | {cpu['client']:.2f} | "
                       f"{cpu['others']:.2f} |")
        out.append("")
    best = results["best_grade"]
    out.append(f"- best grade run: {best['server']} at concurrency {best['concurrency']}: "
               f"{best['requests_per_second']:,.0f} grades/s, p99 {best['p99_ms']:.1f} ms; "
               f"aims (>= {AIM_RATE:,.0f}/s with p99 < {AIM_P99_MS:.0f} ms, no errors): "
               + ", ".join(f"{k} {'met' if v else 'NOT met'}"
                           for k, v in results["aims"]["met"].items()))
    return "\n".join(out)


def chart(results: dict[str, Any], path: Path) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    (rate_ax, p99_ax), (cpu_ax, open_ax) = axes
    styles = ["-", "--", ":", "-."]
    colors = dict(zip(ENDPOINTS, ["C0", "C1", "C2", "C3", "C7"], strict=True))
    servers = results["servers"]
    for style, (name, server) in zip(styles, servers.items(), strict=False):
        for endpoint, runs in server["closed_loop"].items():
            levels = [int(c) for c in runs]
            rate_ax.plot(levels, [runs[str(c)]["requests_per_second"] for c in levels],
                         linestyle=style, marker="o", color=colors[endpoint],
                         label=f"{endpoint} ({name})")
            p99_ax.plot(levels, [runs[str(c)]["p99_ms"] for c in levels], linestyle=style,
                        marker="o", color=colors[endpoint], label=f"{endpoint} ({name})")
        opened = server["open_loop"]
        offered = [int(r) for r in opened]
        open_ax.plot(offered, [opened[str(r)]["p99_ms"] for r in offered], linestyle=style,
                     marker="o", color="C0", label=f"grade p99 ({name})")
        open_ax.plot(offered, [opened[str(r)]["p50_ms"] for r in offered], linestyle=style,
                     marker="x", color="C1", label=f"grade p50 ({name})")
        for r in offered:
            got = opened[str(r)]["requests_per_second"]
            open_ax.annotate(f"{got:,.0f}/s", (r, opened[str(r)]["p99_ms"]), fontsize=7,
                             textcoords="offset points", xytext=(3, 4))
    rate_ax.axhline(AIM_RATE, color="grey", linestyle="--", linewidth=1)
    p99_ax.axhline(AIM_P99_MS, color="grey", linestyle="--", linewidth=1)
    open_ax.axhline(AIM_P99_MS, color="grey", linestyle="--", linewidth=1)
    for ax in (rate_ax, p99_ax):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("concurrent connections (closed loop)")
        ax.legend(fontsize=6, ncol=2)
    rate_ax.set_ylabel("requests/s")
    rate_ax.set_title("throughput (grey: 1,000 grades/s aim)", fontsize=10)
    p99_ax.set_ylabel("p99 latency, ms")
    p99_ax.set_title("p99 latency (grey: 50 ms aim)", fontsize=10)
    # CPU of the grade runs: who saturates. Bars per level, one group per server config.
    width = 0.8 / max(1, len(servers))
    for i, (name, server) in enumerate(servers.items()):
        runs = server["closed_loop"]["grade"]
        x = [j + i * width for j in range(len(runs))]
        bottom = [0.0] * len(runs)
        for part, color in (("server", "C0"), ("client", "C1"), ("others", "C7")):
            values = [r["cpu"][part] for r in runs.values()]
            cpu_ax.bar(x, values, width, bottom=bottom, color=color, alpha=0.6 + 0.4 * (i == 0),
                       label=f"{part} ({name})")
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        cpu_ax.plot(x, [r["cpu"]["server_busiest_process"] for r in runs.values()], "k_",
                    markersize=12, label=f"busiest server process ({name})" if i == 0 else None)
        cpu_ax.set_xticks([j + (len(servers) - 1) * width / 2 for j in range(len(runs))],
                          list(runs))
    cpu_ax.axhline(os.cpu_count() or 2, color="grey", linestyle="--", linewidth=1)
    cpu_ax.set_xlabel("concurrency (grade runs)")
    cpu_ax.set_ylabel("cores")
    cpu_ax.set_title("CPU during the grade runs (grey: all cores)", fontsize=10)
    cpu_ax.legend(fontsize=6, ncol=2)
    open_ax.set_xlabel("offered grades/s (open loop; labels: answered/s)")
    open_ax.set_ylabel("latency ms (log)")
    open_ax.set_yscale("log")
    open_ax.set_title("fixed rate: latency from when each request was due", fontsize=10)
    open_ax.legend(fontsize=7)
    fig.suptitle(f"mathgrader serve under load, loopback, {os.cpu_count()} cores, "
                 f"{results['date'][:10]}", fontsize=11)
    return save_figure(fig, path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="levels 1,16,64, one rate, 2 s each: about 2 minutes")
    parser.add_argument("--servers", default="1,2", help="HTTP processes of each server run")
    parser.add_argument("--levels", default=None, help="default 1,4,16,64,128")
    parser.add_argument("--rates", default=None, help="open-loop grades/s; default 500,1000,1500")
    parser.add_argument("--seconds", type=float, default=None,
                        help="closed-loop time per endpoint and level (default 5; --quick: 2)")
    parser.add_argument("--open-seconds", type=float, default=None,
                        help="open-loop time per rate (default 10; --quick: 4)")
    parser.add_argument("--server-workers", type=int, default=2, help="grading processes")
    parser.add_argument("--quiet-wait", type=float, default=0.0,
                        help="before each run, wait up to this many seconds for the rest of "
                             "the machine to use under --quiet-cores (default: no wait)")
    parser.add_argument("--quiet-cores", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.levels = [int(c) for c in (args.levels or ("1,16,64" if args.quick
                                                    else "1,4,16,64,128")).split(",")]
    args.rates = [int(r) for r in (args.rates or ("1000" if args.quick
                                                  else "500,1000,1500")).split(",")]
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    args.open_seconds = args.open_seconds or (4.0 if args.quick else 10.0)
    servers = [int(n) for n in args.servers.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {
        **run_header(),
        "settings": {"quick": args.quick, "levels": args.levels, "rates": args.rates,
                     "seconds": args.seconds, "open_seconds": args.open_seconds,
                     "server_workers": args.server_workers, "http_workers": servers,
                     "unique_share": UNIQUE_SHARE, "seed": args.seed,
                     "quiet_wait": args.quiet_wait, "quiet_cores": args.quiet_cores,
                     "client": "benchmarks/loadgen.py (raw HTTP/1.1 keep-alive, uvloop)"},
        "aims": {"grades_per_second": AIM_RATE, "p99_ms": AIM_P99_MS},
        "servers": {},
    }
    for n in servers:
        name = f"http{n}"
        results["servers"][name] = lg.run(drive(args, n, args.out / f"http-server-{name}.log"))
    best = results["best_grade"] = best_grade(results["servers"])
    results["aims"]["met"] = {
        "grades/s": best["requests_per_second"] >= AIM_RATE,
        "p99": best["p99_ms"] < AIM_P99_MS,
        "no errors": all(r["errors"] == 0 for s in results["servers"].values()
                         for runs in s["closed_loop"].values() for r in runs.values()),
    }
    write_results(results, args.out, "http", chart, tables, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
