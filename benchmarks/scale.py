"""Scale: grade-batch throughput per worker count, cold start, and memory over a long batch.

Four measurements, each against a baseline timed in the same run (the machine is shared):

- scaling: `mathgrader grade-batch --workers W` (W = 1 .. cores) with the local engine and with
  `--engine dask` (a Dask LocalCluster), on three workloads: `realistic`, the realistic batch
  repeated to about `--lines` lines (most lines are answers a worker has graded before, so the
  engine's own per-line cost shows), `realistic-long`, the same ten times longer (start-up
  then a small part of a run, as in a course's overnight batch), and `distinct`,
  `--distinct-lines` lines that are all different (every line a full check, as when every
  learner's answer is new). Lines/s and scaling
  efficiency rate_W / (W * rate_1), the baseline being the same engine on one worker. Each run is
  a fresh subprocess, so startup is included; a run on a tiny file gives each engine's fixed
  cost, and the "net" figures subtract it.
- timeline: where the wall time of one realistic `grade-batch` run goes, per worker count:
  when the fork server and the workers start and the first and last result lines come out,
  and each process's CPU time and run-queue wait (from /proc/PID/schedstat: the time it was
  runnable while other processes had the cores, which tells a busy machine from a slow run).
- cold start: wall time of `mathgrader preview EXPR` and `mathgrader check REF ANS` as
  subprocesses (median of `--repeats`), against `python -c pass` and `python -c "import
  mathgrader"` in the same run.
- memory: `grade-batch --workers 2` streaming `--memory-lines` lines (the realistic items
  repeated) from stdin to /dev/null; RSS of the parent and of every child sampled each second
  from /proc (start / middle / end / peak), and ru_maxrss of the run from wait4.

Results go to `benchmarks/results/scale.json` (and `scale.png` when matplotlib is installed);
markdown tables are printed for the README.

    .venv/bin/python benchmarks/scale.py [--quick] [--lines N] [--memory-lines N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from grading import pyplot, run_header, save_figure, write_results
from workload import DEFAULT_SEED, batch_items, distinct_items

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BIN = Path(sys.executable).parent
MATHGRADER = str(BIN / "mathgrader")
AIM_EFFICIENCY = 0.80
AIM_PREVIEW_S = 0.6
PAGE = os.sysconf("SC_PAGE_SIZE")


def _realistic_lines(seed: int) -> list[str]:
    return [json.dumps(item) + "\n" for item in batch_items(seed)]


def _distinct_lines(count: int) -> list[str]:
    return [json.dumps(item) + "\n" for item in distinct_items(count)]


def _write_repeated(path: Path, lines: list[str], total: int) -> int:
    with path.open("w") as out:
        written = 0
        while written < total:
            chunk = lines[: total - written]
            out.writelines(chunk)
            written += len(chunk)
    return written


def _run_timed(cmd: list[str], **kwargs: Any) -> tuple[float, int, int]:
    """Wall seconds, exit status and ru_maxrss (KiB, the largest process of the tree) of cmd."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, **kwargs)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, proc.returncode, usage.ru_maxrss


def compile_package() -> None:
    """Write the bytecode of mathgrader's modules first, as installing a package does: where
    PYTHONDONTWRITEBYTECODE is set (this development machine sets it), every timed process would
    otherwise compile them from source at start-up."""
    import mathgrader

    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    str(Path(mathgrader.__file__).parent)], check=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})


# -------------------------------------------------------------------------------------- scaling

def scaling(data: Path, tiny: Path, lines: int, tiny_lines: int, max_workers: int,
            engines: list[str], repeats: int) -> dict[str, Any]:
    """Runs interleaved (engine x workers x repeat) so drifting load hits every setting alike."""
    walls: dict[str, dict[int, list[float]]] = {e: {w: [] for w in range(1, max_workers + 1)}
                                                for e in engines}
    tiny_walls: dict[str, dict[int, list[float]]] = {e: {w: [] for w in range(1, max_workers + 1)}
                                                     for e in engines}
    maxrss: dict[str, dict[int, int]] = {e: {} for e in engines}
    failures = []
    for rep in range(repeats):
        for engine in engines:
            for workers in range(1, max_workers + 1):
                for path, store in ((tiny, tiny_walls), (data, walls)):
                    cmd = [MATHGRADER, "grade-batch", "--workers", str(workers), "--engine",
                           engine, str(path), "-o", os.devnull]
                    wall, code, rss = _run_timed(cmd, stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL)
                    if code not in (0, 1):  # 1: some lines not correct, as expected
                        failures.append({"command": shlex.join(cmd), "exit": code})
                    store[engine][workers].append(wall)
                    if path == data:
                        maxrss[engine][workers] = max(maxrss[engine].get(workers, 0), rss)
                    print(f"  rep {rep} {engine:>5} w={workers} {path.name:<12} {wall:6.2f} s",
                          file=sys.stderr)
    out: dict[str, Any] = {"lines": lines, "tiny_lines": tiny_lines, "repeats": repeats,
                           "failures": failures, "engines": {}}
    for engine in engines:
        rows = {}
        for workers in range(1, max_workers + 1):
            wall = statistics.median(walls[engine][workers])
            fixed = statistics.median(tiny_walls[engine][workers])
            net = wall - fixed
            rows[workers] = {
                "seconds": wall, "seconds_all": walls[engine][workers],
                "fixed_seconds": fixed,
                "lines_per_second": lines / wall,
                "net_lines_per_second": (lines - tiny_lines) / net if net > 0 else None,
                "ru_maxrss_kib": maxrss[engine][workers],
            }
        base, base_net = rows[1]["lines_per_second"], rows[1]["net_lines_per_second"]
        for workers, row in rows.items():
            row["efficiency"] = row["lines_per_second"] / (workers * base)
            row["net_efficiency"] = (row["net_lines_per_second"] / (workers * base_net)
                                     if row["net_lines_per_second"] and base_net else None)
        out["engines"][engine] = {str(w): r for w, r in rows.items()}
    return out


# ----------------------------------------------------------------------------------- cold start

_SPIN = "x = 0\nfor i in range(12_000_000):\n    x += i * i"


def _steal_seconds() -> float | None:
    """CPU time the hypervisor gave to others while this machine's cores wanted it (the
    `steal` column of /proc/stat), or None where there is no such column."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _spin_cpu(procs: list[subprocess.Popen[bytes]]) -> list[float]:
    """Wait for each process; its CPU seconds (user + system)."""
    cpu = []
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu.append(usage.ru_utime + usage.ru_stime)
    return cpu


def machine_ceiling(repeats: int) -> dict[str, Any]:
    """What two processes get out of this machine's cores, whatever the engine does: a plain
    Python loop run alone, then two copies at once (interleaved, median of `repeats`).
    Efficiency = wall alone / wall of the pair; 100% when the cores are really independent. On
    a virtual machine whose cores share a physical one, or beside other tenants, it is less.

    Each process's CPU time tells which: time the hypervisor gives to others (steal) leaves it
    unchanged, while cores that slow each other down (shared execution units, caches, memory
    bandwidth, a lower clock) make the same loop cost more CPU time as one of a pair."""
    alone, pair, cpu_alone, cpu_pair = [], [], [], []
    steal_before = _steal_seconds()
    for _ in range(repeats):
        start = time.perf_counter()
        cpu_alone += _spin_cpu([subprocess.Popen([sys.executable, "-c", _SPIN])])
        alone.append(time.perf_counter() - start)
        start = time.perf_counter()
        cpu_pair += _spin_cpu([subprocess.Popen([sys.executable, "-c", _SPIN])
                               for _ in range(2)])
        pair.append(time.perf_counter() - start)
    steal_after = _steal_seconds()
    one, two = statistics.median(alone), statistics.median(pair)
    return {"alone_s": one, "two_at_once_s": two, "efficiency": one / two,
            "alone_all": alone, "pair_all": pair,
            "cpu_alone_s": statistics.median(cpu_alone),
            "cpu_in_pair_s": statistics.median(cpu_pair),
            "steal_s": (None if steal_before is None or steal_after is None
                        else steal_after - steal_before)}


def cold_start(repeats: int) -> dict[str, Any]:
    python = sys.executable
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import mathgrader'": [python, "-c", "import mathgrader"],
        "mathgrader preview": [MATHGRADER, "preview", "3*x^2 + 2*sin(x)"],
        "mathgrader check": [MATHGRADER, "check", "x^2 - 1", "(x - 1)*(x + 1)"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():  # one untimed run each: the page cache, .pyc files
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    for _ in range(repeats):
        for name, cmd in commands.items():  # interleaved
            wall, _, _ = _run_timed(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(wall)
    base = statistics.median(times["python -c pass"])
    out = {}
    for name, cmd in commands.items():
        median = statistics.median(times[name])
        out[name] = {"command": shlex.join(cmd), "median_s": median, "min_s": min(times[name]),
                     "max_s": max(times[name]), "runs": times[name],
                     "over_python_s": median - base, "ratio_to_python": median / base}
    return out


# --------------------------------------------------------------------------------------- memory

def _proc_status(pid: int) -> dict[str, int]:
    out = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])  # KiB
    return out


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                kids = Path(f"/proc/{parent}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            for kid in map(int, kids):
                if kid not in found:
                    found.append(kid)
                    todo.append(kid)
    return found


def summarise_memory(samples: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    """Start / middle / end of the steady state, peaks and growth, from the RSS samples.

    Steady state: from 10% of the run (at least 2 s, at most 10 s: imports, the parser build,
    the workers forked) to the last sample before all input was fed (after that the workers
    exit one by one and the sum falls).
    """
    settle = max(2.0, min(10.0, 0.1 * wall))
    fed_all = max((s["lines_fed"] for s in samples), default=0)
    steady = [s for s in samples if s["t"] >= settle and s["lines_fed"] < fed_all] or samples

    def at(fraction: float) -> dict[str, Any]:
        if not steady:
            return {}
        s = steady[min(len(steady) - 1, int(fraction * (len(steady) - 1)))]
        return {"t": s["t"], "lines_fed": s["lines_fed"], "parent_kib": s["parent_kib"],
                "children_total_kib": s["children_total_kib"],
                "children_max_kib": max(s["children_kib"].values(), default=0),
                "children": len(s["children_kib"])}

    return {
        "settle_s": settle, "steady_samples": len(steady),
        "start": at(0.0), "middle": at(0.5), "end": at(1.0),
        "parent_peak_kib": max((s["parent_kib"] for s in samples), default=0),
        "children_total_peak_kib": max((s["children_total_kib"] for s in samples), default=0),
        "steady_parent_growth_kib": (steady[-1]["parent_kib"] - steady[0]["parent_kib"]
                                     if steady else None),
        "steady_children_growth_kib": (steady[-1]["children_total_kib"]
                                       - steady[0]["children_total_kib"] if steady else None),
    }


def memory(lines: list[str], total: int, workers: int, interval: float) -> dict[str, Any]:
    block = "".join(lines).encode()
    cmd = [MATHGRADER, "grade-batch", "--workers", str(workers), "-", "-o", os.devnull]
    start = time.perf_counter()
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=errors)
    fed = [0]

    def feed() -> None:
        assert proc.stdin is not None
        try:
            full, rest = divmod(total, len(lines))
            for _ in range(full):
                proc.stdin.write(block)
                fed[0] += len(lines)
            proc.stdin.write("".join(lines[:rest]).encode())
            fed[0] += rest
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    samples = []
    hwm: dict[int, int] = {}
    while True:
        done, status, usage = os.wait4(proc.pid, os.WNOHANG)  # reaps without losing rusage
        if done:
            break
        parent = _proc_status(proc.pid)
        kids = {pid: _proc_status(pid) for pid in _descendants(proc.pid)}
        for pid, state in [(proc.pid, parent), *kids.items()]:
            if "VmHWM" in state:
                hwm[pid] = max(hwm.get(pid, 0), state["VmHWM"])
        if "VmRSS" in parent:
            samples.append({
                "t": time.perf_counter() - start, "lines_fed": fed[0],
                "parent_kib": parent["VmRSS"],
                "children_kib": {str(pid): k.get("VmRSS", 0) for pid, k in kids.items()},
                "children_total_kib": sum(k.get("VmRSS", 0) for k in kids.values()),
            })
        time.sleep(interval)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    feeder.join(timeout=5)
    errors.seek(0)
    stderr = errors.read().decode(errors="replace")
    errors.close()
    children_maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    worker_hwm = [v for pid, v in hwm.items() if pid != proc.pid]
    return {
        "command": shlex.join(cmd) + f"  (stdin: {total:,} lines)",
        "lines": total, "workers": workers, "seconds": wall,
        "lines_per_second": total / wall, "exit": proc.returncode,
        "stderr_tail": stderr[-500:],
        "sample_interval_s": interval, "samples": samples,
        **summarise_memory(samples, wall),
        "parent_vmhwm_kib": hwm.get(proc.pid),
        "worker_vmhwm_kib": sorted(worker_hwm),
        "wait4_ru_maxrss_kib": usage.ru_maxrss,
        "rusage_children_maxrss_kib_whole_script": children_maxrss,
    }


# ------------------------------------------------------------------------------------- timeline

def _sched(pid: int) -> tuple[float, float] | None:
    """Seconds on a CPU and seconds waiting for one (run queue), over all threads of pid."""
    run = wait = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            fields = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
            run, wait = run + int(fields[0]), wait + int(fields[1])
    except (OSError, ValueError, IndexError):
        return None
    return run / 1e9, wait / 1e9


def _role(pid: int, parent: int) -> str:
    """What a process of a grade-batch run is; workers are children of the fork server."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "other"
    if pid == parent:
        return "parent"
    if b"resource_tracker" in cmdline:
        return "resource tracker"
    if b"forkserver" not in cmdline:
        return "other"
    ppid = int(stat[stat.rindex(")") + 2:].split()[1])
    return "fork server" if ppid == parent else "worker"


def _stamp_lines(stdout: Any, start: float, stamps: dict[str, Any]) -> None:
    """Read a run's output, noting when its first and last lines came out."""
    while block := stdout.read1(1 << 16):
        now = time.perf_counter() - start
        stamps.setdefault("first_line_s", now)
        stamps["last_line_s"] = now
        stamps["lines_out"] += block.count(b"\n")


def timeline(data: Path, lines: int, max_workers: int, interval: float) -> dict[str, Any]:
    """Where the wall time of one `grade-batch` run goes, per worker count.

    The run writes to a pipe read here, so the first and last result lines are time-stamped;
    every `interval` seconds /proc gives each process of the tree (parent, fork server,
    workers) its start, CPU time and run-queue wait (time it was runnable but another process
    had the core: what a busy machine adds). Times are from the start of the command.
    """
    out: dict[str, Any] = {"lines": lines, "interval_s": interval, "runs": {}}
    for workers in range(1, max_workers + 1):
        cmd = [MATHGRADER, "grade-batch", "--workers", str(workers), str(data)]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        stamps: dict[str, Any] = {"lines_out": 0}
        reader = threading.Thread(target=_stamp_lines, args=(proc.stdout, start, stamps),
                                  daemon=True)
        reader.start()
        procs: dict[int, dict[str, Any]] = {}
        while True:
            done, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if done:
                break
            now = time.perf_counter() - start
            for pid in [proc.pid, *_descendants(proc.pid)]:
                sched = _sched(pid)
                if sched is None:
                    continue
                if pid not in procs:
                    procs[pid] = {"role": "other", "seen_s": now}
                if procs[pid]["role"] == "other":  # a child is "other" until it has exec'd
                    procs[pid]["role"] = _role(pid, proc.pid)
                procs[pid].update(cpu_s=sched[0], runqueue_s=sched[1], last_s=now)
            time.sleep(interval)
        wall = time.perf_counter() - start
        reader.join(timeout=5)
        roles: dict[str, dict[str, Any]] = {}
        for p in procs.values():
            r = roles.setdefault(p["role"], {"count": 0, "seen_s": [], "cpu_s": 0.0,
                                             "runqueue_s": 0.0})
            r["count"] += 1
            r["seen_s"].append(round(p["seen_s"], 3))
            r["cpu_s"] += p["cpu_s"]
            r["runqueue_s"] += p["runqueue_s"]
        out["runs"][str(workers)] = {
            "command": shlex.join(cmd), "exit": os.waitstatus_to_exitcode(status),
            "wall_s": wall, **stamps, "roles": roles,
            "load_average": os.getloadavg()[0],
        }
        print(f"  timeline w={workers}: {wall:.2f} s", file=sys.stderr)
    return out


# ------------------------------------------------------------------------------------ reporting

def _ceiling_cpu(mc: dict[str, Any]) -> str:
    """Where the ceiling's loss goes: CPU time per copy, and time stolen by the hypervisor."""
    if "cpu_alone_s" not in mc:  # results written before these were measured
        return ""
    text = (f" Each copy took {mc['cpu_in_pair_s']:.2f} s of CPU time as one of two, against "
            f"{mc['cpu_alone_s']:.2f} s alone ({mc['cpu_in_pair_s'] / mc['cpu_alone_s']:.2f}x)")
    if mc.get("steal_s") is not None:
        text += f"; the hypervisor took {mc['steal_s']:.2f} s of the cores' time meanwhile"
    return text + "."


def tables(results: dict[str, Any]) -> str:
    out = []
    mc = results.get("machine_ceiling")
    if mc:
        out += [f"Machine ceiling: a plain Python loop takes {mc['alone_s']:.2f} s alone and "
                f"{mc['two_at_once_s']:.2f} s as two copies at once: two processes get "
                f"**{mc['efficiency']:.0%}** of twice one process's rate here, before any "
                "engine overhead." + _ceiling_cpu(mc), ""]
    for workload, sc in results.get("scaling", {}).items():
        out += [f"Scaling, {workload} workload ({sc['lines']:,} lines, median of "
                f"{sc['repeats']}; net = minus the same engine's run on {sc['tiny_lines']} "
                "lines):", "",
                "| engine | workers | wall s | lines/s | efficiency | fixed s | net lines/s "
                "| net efficiency | ru_maxrss MiB |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for engine, rows in sc["engines"].items():
            for w, r in rows.items():
                net = r["net_lines_per_second"]
                ne = r["net_efficiency"]
                out.append(
                    f"| {engine} | {w} | {r['seconds']:.2f} | {r['lines_per_second']:,.0f} | "
                    f"{r['efficiency']:.0%} | {r['fixed_seconds']:.2f} | "
                    f"{f'{net:,.0f}' if net else '-'} | {f'{ne:.0%}' if ne else '-'} | "
                    f"{r['ru_maxrss_kib'] / 1024:.0f} |")
        out.append("")
    cs = results.get("cold_start")
    if cs:
        out += ["Cold start (wall, subprocess):", "",
                "| command | median s | min s | max s | minus python -c pass | x python |",
                "|---|---:|---:|---:|---:|---:|"]
        for name, r in cs.items():
            out.append(f"| `{name}` | {r['median_s']:.3f} | {r['min_s']:.3f} | "
                       f"{r['max_s']:.3f} | {r['over_python_s']:+.3f} | "
                       f"{r['ratio_to_python']:.1f} |")
        out.append("")
    mem = results.get("memory")
    if mem:
        out += [f"Memory, {mem['lines']:,} lines through `grade-batch --workers "
                f"{mem['workers']}` in {mem['seconds']:.0f} s ({mem['lines_per_second']:,.0f} "
                "lines/s), RSS MiB:", "",
                "| point | t s | lines fed | parent | workers (sum) | largest worker |",
                "|---|---:|---:|---:|---:|---:|"]
        for point in ("start", "middle", "end"):
            p = mem[point]
            if p:
                out.append(f"| {point} | {p['t']:.0f} | {p['lines_fed']:,} | "
                           f"{p['parent_kib'] / 1024:.1f} | "
                           f"{p['children_total_kib'] / 1024:.1f} | "
                           f"{p['children_max_kib'] / 1024:.1f} |")
        hwm = ", ".join(f"{v / 1024:.0f}" for v in mem["worker_vmhwm_kib"])
        out += ["", f"- peak (VmHWM) parent {(mem['parent_vmhwm_kib'] or 0) / 1024:.0f} MiB, "
                f"children {hwm} MiB; wait4 ru_maxrss "
                f"{(mem['wait4_ru_maxrss_kib'] or 0) / 1024:.0f} MiB; growth after start-up: "
                f"parent "
                f"{mem['steady_parent_growth_kib'] / 1024:+.1f} MiB, workers "
                f"{mem['steady_children_growth_kib'] / 1024:+.1f} MiB", ""]
    tl = results.get("timeline")
    if tl:
        out += [f"Where the time goes: one run of `grade-batch` per worker count on "
                f"{tl['lines']:,} realistic lines, seconds from the command's start; CPU and "
                "run-queue wait (runnable, but the core was busy) summed per role:", "",
                "| workers | wall | fork server up | workers forked | first line out | last line "
                "out | CPU parent | CPU fork server | CPU workers | run-queue wait | load |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for w, r in tl["runs"].items():
            roles = r["roles"]
            empty = {"seen_s": [], "cpu_s": 0.0}
            fs, wk = roles.get("fork server", empty), roles.get("worker", empty)
            wait = sum(role["runqueue_s"] for role in roles.values())
            out.append(
                f"| {w} | {r['wall_s']:.2f} | {min(fs['seen_s'], default=0):.2f} | "
                f"{', '.join(f'{t:.2f}' for t in sorted(wk['seen_s']))} | "
                f"{r.get('first_line_s', 0):.2f} | {r.get('last_line_s', 0):.2f} | "
                f"{roles.get('parent', empty)['cpu_s']:.2f} | {fs['cpu_s']:.2f} | "
                f"{wk['cpu_s']:.2f} | {wait:.2f} | {r['load_average']:.1f} |")
        out.append("")
    aims = results.get("aims", {}).get("met")
    if aims:
        out.append("Aims: " + ", ".join(f"{k} {'met' if v else 'NOT met'}"
                                        for k, v in aims.items()))
    return "\n".join(out)


def chart(results: dict[str, Any], path: Path) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    panels = [k for k in ("scaling", "cold_start", "memory") if results.get(k)]
    if not panels:
        return False
    styles = {"realistic": "-", "realistic-long": "-.", "realistic-million": "--", "distinct": ":"}
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        if panel == "scaling":
            for workload, sc in results["scaling"].items():
                for engine, rows in sc["engines"].items():
                    ws = [int(w) for w in rows]
                    eff = rows[str(ws[-1])]["efficiency"]
                    ax.plot(ws, [rows[str(w)]["lines_per_second"] for w in ws],
                            "o" + styles.get(workload, "-"),
                            label=f"{engine}, {workload} ({eff:.0%} at {ws[-1]})")
            ax.set_xticks(ws)
            ax.set_xlabel("workers")
            ax.set_ylabel("lines/s (wall, start-up included)")
            ax.set_yscale("log")
            ax.set_title("grade-batch throughput and efficiency", fontsize=10)
            ax.legend(fontsize=8)
        elif panel == "cold_start":
            cs = results["cold_start"]
            names = list(cs)
            bars = ax.bar(range(len(names)), [cs[n]["median_s"] for n in names])
            ax.bar_label(bars, labels=[f"{cs[n]['median_s']:.2f}" for n in names], fontsize=8)
            ax.axhline(AIM_PREVIEW_S, color="grey", linestyle="--", linewidth=1,
                       label="preview aim")
            ax.set_xticks(range(len(names)), [n.replace("python -c ", "-c ") for n in names],
                          rotation=20, fontsize=8)
            ax.set_ylabel("seconds (median)")
            ax.set_title("cold start", fontsize=10)
            ax.legend(fontsize=8)
        else:
            mem = results["memory"]
            t = [s["t"] for s in mem["samples"]]
            ax.plot(t, [s["parent_kib"] / 1024 for s in mem["samples"]], label="parent")
            ax.plot(t, [s["children_total_kib"] / 1024 for s in mem["samples"]],
                    label="workers (sum)")
            ax.set_xlabel("seconds")
            ax.set_ylabel("RSS MiB")
            ax.set_ylim(bottom=0)
            ax.set_title(f"RSS over {mem['lines']:,} lines, --workers {mem['workers']}",
                         fontsize=10)
            ax.legend(fontsize=8)
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller runs, one repeat: under about a minute")
    parser.add_argument("--lines", type=int, default=None,
                        help="lines in the scaling file (default 11,412 = the realistic batch "
                             "x 4; --quick: 2,853)")
    parser.add_argument("--distinct-lines", type=int, default=None,
                        help="lines in the distinct workload (default 12,000; --quick: 3,000)")
    parser.add_argument("--workloads",
                        default="realistic,realistic-long,realistic-million,distinct",
                        help="realistic: the realistic batch repeated to --lines; "
                             "realistic-long: ten times as many lines, so that start-up is a "
                             "small part of a run; realistic-million: the batch repeated to "
                             "1,000,000 lines (--quick: 100,000), local engine only, an "
                             "overnight run, where start-up is nothing; distinct: every line "
                             "different")
    parser.add_argument("--repeats", type=int, default=None,
                        help="scaling runs per setting (default 3; --quick: 1)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="most workers in the scaling runs (default: cores)")
    parser.add_argument("--engines", default="local,dask")
    parser.add_argument("--cold-repeats", type=int, default=None,
                        help="runs per cold-start command (default 10; --quick: 5)")
    parser.add_argument("--memory-lines", type=int, default=None,
                        help="lines in the memory run (default 1,000,000; --quick: 30,000; 0 "
                             "skips it)")
    parser.add_argument("--memory-workers", type=int, default=2)
    parser.add_argument("--only", default="scaling,timeline,cold,memory",
                        help="comma-separated subset of scaling,timeline,cold,memory")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    base_lines = _realistic_lines(args.seed)
    lines = args.lines or (len(base_lines) if args.quick else 4 * len(base_lines))
    distinct = args.distinct_lines or (3_000 if args.quick else 12_000)
    repeats = args.repeats or (1 if args.quick else 3)
    cold_repeats = args.cold_repeats or (5 if args.quick else 10)
    memory_lines = args.memory_lines if args.memory_lines is not None else (
        30_000 if args.quick else 1_000_000)
    only = set(args.only.split(","))

    started = time.perf_counter()
    compile_package()
    results: dict[str, Any] = {
        **run_header(),
        "settings": {"quick": args.quick, "seed": args.seed, "lines": lines,
                     "distinct_lines": distinct, "workloads": args.workloads,
                     "repeats": repeats, "cold_repeats": cold_repeats,
                     "memory_lines": memory_lines, "max_workers": args.workers},
        "aims": {"efficiency_1_to_2": AIM_EFFICIENCY, "preview_s": AIM_PREVIEW_S},
    }
    met: dict[str, bool] = {}
    with tempfile.TemporaryDirectory(prefix="mathgrader-scale-") as tmp:
        if "scaling" in only:
            print("machine ceiling: a Python loop alone and two at once", file=sys.stderr)
            results["machine_ceiling"] = machine_ceiling(repeats)
            results["scaling"] = {}
            for workload in args.workloads.split(","):
                engines = args.engines.split(",")
                if workload == "realistic":
                    source, total = base_lines, lines
                elif workload == "realistic-long":
                    source, total = base_lines, 10 * lines
                elif workload == "realistic-million":
                    # Dask would take minutes a run here; its scaling is measured above.
                    source, total = base_lines, 100_000 if args.quick else 1_000_000
                    engines = [engine for engine in engines if engine == "local"]
                    if not engines:
                        continue
                else:
                    source = _distinct_lines(distinct)
                    total = len(source)
                data = Path(tmp) / f"{workload}.jsonl"
                tiny = Path(tmp) / f"{workload}-tiny.jsonl"
                _write_repeated(data, source, total)
                tiny_lines = _write_repeated(tiny, source, 50)
                print(f"scaling, {workload}: {total:,} lines, workers 1..{args.workers}, "
                      f"engines {','.join(engines)}, {repeats} repeat(s)", file=sys.stderr)
                sc = scaling(data, tiny, total, tiny_lines, args.workers, engines, repeats)
                results["scaling"][workload] = sc
                if args.workers >= 2:
                    for engine, rows in sc["engines"].items():
                        met[f"{engine} {workload} efficiency 1->2 >= {AIM_EFFICIENCY:.0%}"] = (
                            rows["2"]["efficiency"] >= AIM_EFFICIENCY)
                        if rows["2"]["net_efficiency"] is not None:
                            met[f"{engine} {workload} net efficiency 1->2"] = (
                                rows["2"]["net_efficiency"] >= AIM_EFFICIENCY)
        if "timeline" in only:
            data = Path(tmp) / "timeline.jsonl"
            _write_repeated(data, base_lines, lines)
            print(f"timeline: {lines:,} realistic lines, workers 1..{args.workers}",
                  file=sys.stderr)
            results["timeline"] = timeline(data, lines, args.workers, 0.005)
    if "cold" in only:
        print(f"cold start: {cold_repeats} runs per command", file=sys.stderr)
        results["cold_start"] = cold_start(cold_repeats)
        met[f"preview < {AIM_PREVIEW_S} s"] = (
            results["cold_start"]["mathgrader preview"]["median_s"] < AIM_PREVIEW_S)
    if "memory" in only and memory_lines > 0:
        print(f"memory: {memory_lines:,} lines, --workers {args.memory_workers}",
              file=sys.stderr)
        results["memory"] = memory(base_lines, memory_lines, args.memory_workers, 1.0)
    results["aims"]["met"] = met
    write_results(results, args.out, "scale", chart, tables, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
