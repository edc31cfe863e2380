"""HTTP service under load: grades/s and latency per concurrency level, loopback only.

Starts `mathgrader serve --port <free port> --workers 2` (the bundled example keys) as a
subprocess, then an asyncio load generator (httpx.AsyncClient, this process) posts realistic
answers to the example quizzes' questions (their `accept` and `reject` answers from
examples/*.toml, plus unreadable ones) to `/api/v1/grade`, and the same texts to
`/api/v1/preview`, at each concurrency level. Each level and endpoint runs for at most
`--seconds` and `--max-requests`. The baseline, in the same run and at the same levels, is
`GET /api/v1/health`: the server's and the client's own cost per request (routing, JSON,
HTTP), with no grading. Any non-200 response or transport error counts as an error. The
server is stopped at the end, always.

Results go to `benchmarks/results/http.json` (and `http.png` when matplotlib is installed);
markdown tables are printed for the README.

    .venv/bin/python benchmarks/http_load.py [--quick] [--levels 1,4,16,64] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from grading import machine, pyplot

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
MATHGRADER = str(Path(sys.executable).parent / "mathgrader")
AIM_RATE = 1000.0
AIM_P99_MS = 50.0
# What learners type that the syntax rejects.
INVALID = ["3x(", "sin x", "x^^2", "(x + 1", "2*x)", "cos^2(x)", "x +", "", "1/(2sqrt(x))"]


def workload(seed: int) -> list[dict[str, str]]:
    """(question, answer) pairs from the example keys: accepted, rejected and unreadable."""
    pairs = []
    for path in sorted((ROOT / "examples").glob("*.toml")):
        key = tomllib.loads(path.read_text())
        quiz = key["quiz"]["id"]
        for q in key.get("questions", []):
            qid = f"{quiz}/{q['id']}"
            pairs += [{"question": qid, "answer": a} for a in q.get("accept", [])]
            pairs += [{"question": qid, "answer": a} for a in q.get("reject", [])]
            rng = random.Random(f"{seed}/{qid}")
            pairs += [{"question": qid, "answer": a} for a in rng.sample(INVALID, 2)]
    random.Random(seed).shuffle(pairs)
    return pairs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int, log: Path,
                 profile: Path | None = None) -> subprocess.Popen[bytes]:
    prefix = ([sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "mathgrader"]
              if profile else [MATHGRADER])
    cmd = [*prefix, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
           str(workers)]
    with log.open("wb") as out:
        # Its own process group, so stopping it reaches its grading processes too.
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 10), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


async def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as client:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if (await client.get("/api/v1/health")).status_code == 200:
                    return time.perf_counter() - start
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("server not ready")


async def load(base: str, method: str, path: str, bodies: list[Any], concurrency: int,
               seconds: float, max_requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    verdicts: dict[str, int] = {}
    counter = [0]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:
        deadline = time.perf_counter() + seconds

        async def user() -> None:
            while time.perf_counter() < deadline and counter[0] < max_requests:
                body = bodies[counter[0] % len(bodies)]
                counter[0] += 1
                t0 = time.perf_counter()
                try:
                    if method == "GET":
                        response = await client.get(path)
                    else:
                        response = await client.post(path, json=body)
                    status = str(response.status_code)
                    if status == "200" and path.endswith("/grade"):
                        verdict = response.json().get("verdict", "?")
                        verdicts[verdict] = verdicts.get(verdict, 0) + 1
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1

        cpu0, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    ms = np.array(latencies) * 1e3
    n = len(latencies)
    return {
        "requests": n, "seconds": wall, "requests_per_second": n / wall,
        "errors": n - statuses.get("200", 0), "statuses": statuses, "verdicts": verdicts,
        "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()), "mean_ms": float(ms.mean()),
        "client_cpu_share": cpu / wall,  # of one core, spent by this load generator
    }


def _server_cpu(pid: int) -> float:
    """CPU seconds of the server and its children so far (from /proc)."""
    total, todo = 0.0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for tid in os.listdir(f"/proc/{p}/task"):
                todo += map(int, Path(f"/proc/{p}/task/{tid}/children").read_text().split())
        except OSError:
            continue
    return total


async def measure(args: argparse.Namespace, proc: subprocess.Popen[bytes], base: str,
                  pairs: list[dict[str, str]]) -> dict[str, Any]:
    endpoints = {
        "health": ("GET", "/api/v1/health", [None]),
        "grade": ("POST", "/api/v1/grade", pairs),
        "preview": ("POST", "/api/v1/preview", [{"expression": p["answer"]} for p in pairs]),
    }
    # Warm-up, untimed: every question once (keys compiled, workers' parser built).
    for body in pairs:
        await load(base, "POST", "/api/v1/grade", [body], 1, 5.0, 1)
    out: dict[str, Any] = {name: {} for name in endpoints}
    for level in args.levels:
        for name, (method, path, bodies) in endpoints.items():  # interleaved per level
            cpu0 = _server_cpu(proc.pid)
            r = await load(base, method, path, bodies, level, args.seconds, args.max_requests)
            r["server_cpu_share"] = (_server_cpu(proc.pid) - cpu0) / r["seconds"]
            out[name][str(level)] = r
            print(f"  {name:>7} c={level:<3} {r['requests_per_second']:8,.0f}/s p50 "
                  f"{r['p50_ms']:6.2f} p99 {r['p99_ms']:7.2f} ms errors {r['errors']}",
                  file=sys.stderr)
    return out


def tables(results: dict[str, Any]) -> str:
    out = ["| endpoint | concurrency | requests | req/s | x health | p50 ms | p99 ms | max ms "
           "| errors | server CPU | client CPU |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    runs = results["runs"]
    for name in ("grade", "preview", "health"):
        for level, r in runs[name].items():
            ratio = r["requests_per_second"] / runs["health"][level]["requests_per_second"]
            out.append(f"| {name} | {level} | {r['requests']:,} | "
                       f"{r['requests_per_second']:,.0f} | {ratio:.2f} | {r['p50_ms']:.2f} | "
                       f"{r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['errors']} | "
                       f"{r['server_cpu_share']:.0%} | {r['client_cpu_share']:.0%} |")
    best = results["best_grade"]
    out += ["", f"- best grade level: concurrency {best['concurrency']}, "
            f"{best['requests_per_second']:,.0f} grades/s, p99 {best['p99_ms']:.1f} ms; aims "
            f"(>= {AIM_RATE:,.0f}/s, p99 < {AIM_P99_MS:.0f} ms): "
            + ", ".join(f"{k} {'met' if v else 'NOT met'}"
                        for k, v in results["aims"]["met"].items())]
    return "\n".join(out)


def chart(results: dict[str, Any], path: Path) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, r in results["runs"].items():
        levels = [int(c) for c in r]
        left.plot(levels, [r[str(c)]["requests_per_second"] for c in levels], "o-", label=name)
        right.plot(levels, [r[str(c)]["p99_ms"] for c in levels], "o-", label=f"{name} p99")
        right.plot(levels, [r[str(c)]["p50_ms"] for c in levels], "x:", label=f"{name} p50")
    left.axhline(AIM_RATE, color="grey", linestyle="--", linewidth=1, label="grade aim")
    right.axhline(AIM_P99_MS, color="grey", linestyle="--", linewidth=1, label="p99 aim")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent clients")
        ax.legend(fontsize=8)
    left.set_yscale("log")
    left.set_ylabel("requests/s (log)")
    left.set_title("throughput, server --workers 2, loopback", fontsize=10)
    right.set_yscale("log")
    right.set_ylabel("latency ms (log)")
    right.set_title("latency", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s per level: under a minute")
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--seconds", type=float, default=None,
                        help="time per endpoint and level (default 8; --quick: 2)")
    parser.add_argument("--max-requests", type=int, default=50_000,
                        help="requests per endpoint and level at most")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--profile", type=Path, default=None,
                        help="run the server's main process under cProfile, writing its stats "
                             "to this file at exit (the figures are then not comparable)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.levels = [int(c) for c in args.levels.split(",")]
    args.seconds = args.seconds or (2.0 if args.quick else 8.0)
    pairs = workload(args.seed)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "http-server.log"
    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_at_start": os.getloadavg(),
        "command": shlex.join(sys.orig_argv),
        "machine": machine(),
        "settings": {"quick": args.quick, "levels": args.levels, "seconds": args.seconds,
                     "max_requests": args.max_requests, "server_workers": args.server_workers,
                     "profiled": bool(args.profile),
                     "distinct_bodies": len(pairs), "seed": args.seed,
                     "httpx": httpx.__version__},
        "aims": {"grades_per_second": AIM_RATE, "p99_ms": AIM_P99_MS},
    }
    proc = start_server(port, args.server_workers, log, args.profile)
    results["server_command"] = shlex.join(proc.args)  # type: ignore[arg-type]
    try:
        results["server_ready_seconds"] = asyncio.run(wait_ready(base, proc, 60.0))
        results["runs"] = asyncio.run(measure(args, proc, base, pairs))
    finally:
        stop_server(proc)
        results["server_exit"] = proc.returncode
    grade = results["runs"]["grade"]
    ok = {c: r for c, r in grade.items() if r["errors"] == 0} or grade
    best_level = max(ok, key=lambda c: ok[c]["requests_per_second"])
    best = grade[best_level]
    results["best_grade"] = {"concurrency": int(best_level), **best}
    results["aims"]["met"] = {
        "grades/s": best["requests_per_second"] >= AIM_RATE,
        "p99": best["p99_ms"] < AIM_P99_MS,
        "no errors": all(r["errors"] == 0 for runs in results["runs"].values()
                         for r in runs.values()),
    }
    results["seconds_total"] = time.perf_counter() - started
    results["load_average_at_end"] = os.getloadavg()
    (args.out / "http.json").write_text(json.dumps(results, indent=2) + "\n")
    drew = chart(results, args.out / "http.png")
    print(tables(results))
    print()
    print(f"Wrote {args.out / 'http.json'}" + (" and http.png" if drew else "")
          + f" in {results['seconds_total']:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
