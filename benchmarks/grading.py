"""Grading throughput: mathgrader against two baselines, timed in one process and one run.

Graders, each on one worker (this process):

- naive: both sides parsed with `mathgrader.parse`, then `sympy.simplify(a - b) == 0`; a per-item
  cap (default 2 s, mathgrader's own default budget) keeps a run bounded, and a capped item
  counts as a wrong verdict. It runs on a seeded sample of each workload: it keeps no state
  between items, so its rate on a sample estimates its rate on the whole workload.
- lambdify: the reference parsed, lambdified and evaluated once at 10 seeded random points of
  its variables' domains (cached per reference and options); the answer parsed and lambdified
  per item and compared at the points where the reference is defined with `np.isclose`.
- mathgrader: `grade_item` on a fresh `Checker` (empty caches) for each workload.

Workloads come from `workload.py`: `unique` (every labelled answer once), `realistic` (a batch
of 60 learners per question, who often type the same answers) and `course` (the same at course
scale, 2,000 learners per question, where nearly every answer has been seen before). The
baselines keep nothing between items, so their rate does not depend on repeats: on `course`
they run on a seeded sample. The graders take turns of half a second on each workload (see
`run`), so throughput ratios compare rates measured over the same stretch of this run. A last
measurement times single checks with the reference already compiled (a quiz in use), by kind
of expression. Results go to `benchmarks/results/grading.json` (and a PNG
chart when matplotlib is installed); a markdown table is printed for the README.

    .venv/bin/python benchmarks/grading.py [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import io
import json
import math
import os
import platform
import pstats
import random
import shlex
import signal
import subprocess
import sys
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import sympy
from sympy.core.cache import clear_cache
from workload import DEFAULT_LEARNERS, DEFAULT_SEED, KINDS, batch_items, unique_items

import mathgrader
from mathgrader import InputError
from mathgrader.checker import equivalence
from mathgrader.checker.grade import grade_item
from mathgrader.language import builder, spacing

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
POINTS = 10
# Issue 6's aims: throughput against the naive grader on unique answers and with repeats, and
# the 99th percentile of a warm single check.
AIM_RATIO = {"unique": 100.0, "course": 400.0}
AIM_P99_MS = 2.0
COURSE_LEARNERS = 2000

# Expressions outside the workload: they load SymPy's, NumPy's and mpmath's lazily imported
# parts and build the parser before anything is timed.
WARMUP = [
    {"reference": "u^2 + 1", "answer": "1 + u*u", "options": {}},
    {"reference": "sin(u)^2", "answer": "1 - cos(u)^2", "options": {}},
    {"reference": "exp(u)/u", "answer": "E^u/u", "options": {}},
    {"reference": "sqrt(w)", "answer": "w^(1/2)", "options": {"variables": {"w": "positive"}}},
    {"reference": "ln(w)", "answer": "log(w)", "options": {"variables": {"w": "positive"}}},
    {"reference": "1/7", "answer": "0.142857", "options": {"relative_tolerance": 1e-3}},
    {"reference": "-oo", "answer": "-oo", "options": {}},
    {"reference": "pi/3", "answer": "acos(1/2)", "options": {}},
    {"reference": "u", "answer": "2u", "options": {}},
]


# ----------------------------------------------------------------------------------- graders

class _CapExceeded(BaseException):
    """Raised from the timer signal; a BaseException, so no `except Exception` swallows it."""


@contextlib.contextmanager
def _capped(seconds: float) -> Iterator[None]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise _CapExceeded

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class NaiveGrader:
    """`simplify(a - b) == 0`, what a first grader usually is."""

    name = "naive"

    def __init__(self, cap: float) -> None:
        self.cap = cap

    def reset(self) -> None:
        clear_cache()  # SymPy's cache is this grader's: no other grader clears it (see `run`)

    def grade(self, item: dict[str, Any]) -> str:
        try:
            with _capped(self.cap):
                try:
                    answer = mathgrader.parse(item["answer"])
                except InputError:
                    return "invalid"
                reference = mathgrader.parse(item["reference"])
                return "correct" if sympy.simplify(reference - answer) == 0 else "incorrect"
        except _CapExceeded:
            return "timeout"
        except Exception:  # a baseline's crash is a wrong verdict, not the end of the run
            return "error"


class LambdifyGrader:
    """Numeric sampling with the reference compiled once: the usual second attempt."""

    name = "lambdify"

    def __init__(self) -> None:
        self.references: dict[tuple[str, str], tuple[dict[str, Any], list[Any], Any, Any]] = {}

    def reset(self) -> None:
        self.references.clear()  # SymPy's cache it shares with the naive grader (see `run`)

    def _reference(self, text: str, options: dict[str, Any]) -> tuple[
        dict[str, Any], list[Any], Any, Any
    ]:
        key = (text, json.dumps(options, sort_keys=True))
        if key not in self.references:
            expr = mathgrader.parse(text)
            symbols = sorted(expr.free_symbols, key=lambda s: s.name)
            rng = np.random.default_rng(zlib.crc32(key[0].encode() + key[1].encode()))
            domains = options.get("variables") or {}
            points = [_sample(rng, domains.get(s.name, "real")) for s in symbols]
            fn = sympy.lambdify(symbols, expr, "numpy")
            with np.errstate(all="ignore"):
                values = np.broadcast_to(np.asarray(fn(*points), dtype=complex), (POINTS,))
            keep = ~np.isnan(values)
            by_name = {s.name: s for s in symbols}
            self.references[key] = (by_name, points, values[keep], keep)
        return self.references[key]

    def grade(self, item: dict[str, Any]) -> str:
        options = item.get("options") or {}
        try:
            by_name, points, values, keep = self._reference(item["reference"], options)
            try:
                answer = mathgrader.parse(item["answer"])
            except InputError:
                return "invalid"
            if any(s.name not in by_name for s in answer.free_symbols):
                return "incorrect"
            fn = sympy.lambdify(list(by_name.values()), answer, "numpy")
            with np.errstate(all="ignore"):
                got = np.broadcast_to(np.asarray(fn(*points), dtype=complex), (POINTS,))[keep]
            rtol, atol = options.get("relative_tolerance"), options.get("absolute_tolerance")
            if rtol is None and atol is None:
                rtol, atol = 1e-5, 1e-8  # np.isclose's defaults
            close = np.isclose(got, values, rtol=rtol or 0.0, atol=atol or 0.0)
            return "correct" if bool(close.all()) else "incorrect"
        except Exception:  # a baseline's crash is a wrong verdict, not the end of the run
            return "error"


def _sample(rng: np.random.Generator, domain: Any) -> np.ndarray:
    if isinstance(domain, list):
        return rng.uniform(domain[0], domain[1], POINTS)
    if domain == "positive":
        return rng.uniform(0.1, 3.0, POINTS)
    if domain == "integer":
        return rng.integers(-6, 7, POINTS).astype(float)
    return rng.uniform(-3.0, 3.0, POINTS)


class MathGrader:
    """`grade_item` with empty caches at the start of each workload."""

    name = "mathgrader"

    def __init__(self) -> None:
        self.crashes: list[str] = []
        self.checker = equivalence.Checker()
        self.sympy_builds = 0  # SymPy expressions built while this grader graded
        self._grading = False
        build = builder.build_sympy

        def counted(*args: Any, **kwargs: Any) -> Any:
            if self._grading:
                self.sympy_builds += 1
            return build(*args, **kwargs)

        builder.build_sympy = counted  # the checker imports it from the module when it needs it

    def reset(self) -> None:
        self.checker = equivalence.Checker()  # empty caches
        # and the process-wide cache of answers' token keys. The process-wide tables that depend
        # on no answer or reference stay, as a worker keeps them for its life: the random points
        # drawn for a variable's domain (shared by every question in that variable) and mpmath
        # constants per precision. SymPy's cache is the naive grader's, cleared when its pass
        # starts (see `run`): mathgrader builds no SymPy expression on these workloads, which
        # `sympy_builds` counts and the results report.
        spacing.token_key.cache_clear()

    def grade(self, item: dict[str, Any]) -> str:
        self._grading = True
        try:
            return grade_item(item, self.checker).verdict
        except Exception:  # a bug: reported, and counted as a wrong verdict
            if len(self.crashes) < 5:
                self.crashes.append(f"{item['reference']!r} / {item['answer']!r}: "
                                    + traceback.format_exc(limit=-3))
            return "exception"
        finally:
            self._grading = False


Grader = NaiveGrader | LambdifyGrader | MathGrader


# ---------------------------------------------------------------------------------- measuring

class _Progress:
    """One grader's way through its items in slices: passes from empty caches, each of which
    may run over several slices (the grader keeps its caches between them)."""

    def __init__(self, grader: Grader, items: list[dict[str, Any]]) -> None:
        self.grader, self.items = grader, items
        self.position = 0
        self.passes = 0
        self.wall = self.cpu = 0.0  # of completed passes
        self.verdicts: list[str] = []  # of completed passes, item by item
        self.walls: list[np.ndarray] = []
        self.cpus: list[np.ndarray] = []
        self._pass_wall = self._pass_cpu = 0.0
        self._verdicts: list[str] = []
        self._wall_each = self._cpu_each = np.empty(0)

    def done(self, min_seconds: float) -> bool:
        return self.passes > 0 and self.wall >= min_seconds

    def step(self, seconds: float) -> tuple[int, float, float]:
        """Grade items for about `seconds` of wall time (at least one item, and whatever the
        last one takes beyond): the items graded, the wall and the CPU time they took."""
        clock, cpu_clock = time.perf_counter, time.process_time
        items, grade = self.items, self.grader.grade
        count = 0
        wall = cpu = 0.0
        while count == 0 or wall < seconds:
            if self.position == 0:
                self.grader.reset()  # outside the timed part, as between two runs
                self._verdicts = []
                self._wall_each, self._cpu_each = np.empty(len(items)), np.empty(len(items))
                self._pass_wall = self._pass_cpu = 0.0
            start, cpu_start = clock(), cpu_clock()
            wall_each, cpu_each, verdicts = self._wall_each, self._cpu_each, self._verdicts
            i = self.position
            stop = len(items)
            while i < stop:
                t0, c0 = clock(), cpu_clock()
                verdicts.append(grade(items[i]))
                cpu_each[i] = cpu_clock() - c0
                wall_each[i] = clock() - t0
                i += 1
                if clock() - start >= seconds - wall:
                    break
            elapsed, elapsed_cpu = clock() - start, cpu_clock() - cpu_start
            count += i - self.position
            wall += elapsed
            cpu += elapsed_cpu
            self._pass_wall += elapsed
            self._pass_cpu += elapsed_cpu
            self.position = i
            if i == stop:  # a pass completed: it counts
                self.position = 0
                self.passes += 1
                self.wall += self._pass_wall
                self.cpu += self._pass_cpu
                self.verdicts += self._verdicts
                self.walls.append(self._wall_each)
                self.cpus.append(self._cpu_each)
        return count, wall, cpu

    def result(self) -> dict[str, Any]:
        timed = self.items * self.passes
        out = summarise(timed, self.verdicts, np.concatenate(self.walls) * 1e3,
                        np.concatenate(self.cpus) * 1e3, self.wall, self.cpu)
        return {**out, "passes": self.passes}


def run(graders: dict[str, tuple[Grader, list[dict[str, Any]]]], min_seconds: float = 0.0,
        slice_seconds: float = 0.5) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Time the graders on their items in turns of `slice_seconds` each, round after round,
    until every one has completed a pass over its items and spent `min_seconds` on completed
    passes. Each pass starts from empty caches and grades every item in order; verdicts and
    wall and CPU time per item and in all come from completed passes only (a pass cut short at
    the end is dropped, so every item of the workload weighs the same).

    Why turns: a shared machine runs faster or slower for seconds at a time. The naive grader
    takes seconds where mathgrader takes a fraction of one, so timed one after the other, the two
    rates could come from two different machines, and their ratio with them (28-53x in nine
    runs in a row, one grader after the other). In turns, every grader sees the same spells of
    load. A fast grader goes on taking its turns while a slow one finishes its pass: more
    passes for it, the same stretch of time for both.

    Returns each grader's results and, per round, each grader's items and seconds in it.
    """
    progress = {name: _Progress(grader, items) for name, (grader, items) in graders.items()}
    rounds: list[dict[str, Any]] = []
    with _settled_heap():
        while not all(p.done(min_seconds) for p in progress.values()):
            turn = {}
            for name, p in progress.items():
                # The garbage of the grader before, collected outside the turns: a full
                # collection walking the baselines' SymPy objects takes 15-50 ms, and landed
                # in some mathgrader item as a 20-30 ms "check".
                gc.collect()
                count, wall, cpu = p.step(slice_seconds)
                turn[name] = {"items": count, "seconds": wall, "cpu_seconds": cpu}
            rounds.append(turn)
    return {name: p.result() for name, p in progress.items()}, rounds


@contextlib.contextmanager
def _settled_heap() -> Iterator[None]:
    """Time a grader without the heap earlier graders left behind: what is alive now (SymPy's
    objects after the naive grader, every module) is moved out of the garbage collector's
    sight, as a batch worker does after its preload, so a full collection does not walk it in
    the middle of some item (100-150 ms, once or twice a run, otherwise)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def summarise(items: list[dict[str, Any]], verdicts: list[str], ms: np.ndarray,
              cpu_ms: np.ndarray, wall: float, cpu: float) -> dict[str, Any]:
    right = np.array([v == item["expect"] for v, item in zip(verdicts, items, strict=True)])
    by_label = {}
    for label in ("correct", "incorrect", "invalid"):
        mask = np.array([item["expect"] == label for item in items])
        if mask.any():
            by_label[label] = {"items": int(mask.sum()), "accuracy": float(right[mask].mean()),
                               **_latency(ms[mask])}
    by_kind = {}
    for kind in KINDS:
        mask = np.array([item["kind"] == kind for item in items])
        if mask.any():
            by_kind[kind] = {"items": int(mask.sum()), **_latency(ms[mask]),
                             "cpu_p99": float(np.percentile(cpu_ms[mask], 99)),
                             "accuracy": float(right[mask].mean())}
    wrong: Counter[tuple[str, str, str, str, str]] = Counter(
        (item["reference"], item["answer"], json.dumps(item["options"], sort_keys=True),
         item["expect"], verdict)
        for item, verdict, ok in zip(items, verdicts, right, strict=True) if not ok
    )
    mean, sd, n = float(ms.mean()), float(ms.std(ddof=1)) if len(ms) > 1 else 0.0, len(ms)
    half = 1.96 * sd / math.sqrt(n)
    return {
        "items": n,
        "distinct_items": len({(i["reference"], i["answer"], json.dumps(i["options"]))
                               for i in items}),
        "seconds": wall,
        "cpu_seconds": cpu,
        "items_per_second": n / wall,
        "items_per_cpu_second": n / cpu,
        # From the mean latency's normal 95% interval; matters for the sampled naive grader.
        "items_per_second_ci95": [1e3 / (mean + half), 1e3 / (mean - half) if mean > half
                                  else None],
        "accuracy": float(right.mean()),
        "accuracy_by_label": by_label,
        "verdicts": dict(Counter(verdicts)),
        "latency_ms": _latency(ms),
        "cpu_latency_ms": _latency(cpu_ms),
        "by_kind": by_kind,
        "disagreements": [
            {"reference": r, "answer": a, "options": json.loads(o), "expect": e, "verdict": v,
             "count": c}
            for (r, a, o, e, v), c in sorted(wrong.items(), key=lambda kv: -kv[1])
        ],
    }


def _latency(ms: np.ndarray) -> dict[str, float]:
    p50, p99 = np.percentile(ms, [50, 99])
    return {"p50": float(p50), "p99": float(p99), "max": float(ms.max()),
            "mean": float(ms.mean())}


def sample(items: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """A seeded random sample that keeps the stream's order."""
    if n >= len(items):
        return list(items)
    keep = sorted(random.Random(seed).sample(range(len(items)), n))
    return [items[i] for i in keep]


# ---------------------------------------------------------------------------------- reporting

def machine() -> dict[str, Any]:
    model = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sympy": sympy.__version__,
        "mathgrader": mathgrader.__version__,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--", str(HERE.parent / "src"))),
    }


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True,
                             check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def ratios(runs: dict[str, dict[str, Any]], naive_sampled: bool) -> dict[str, Any]:
    mine, naive, lam = runs["mathgrader"], runs["naive"], runs["lambdify"]
    low, high = naive["items_per_second_ci95"]
    out = {
        "mathgrader/naive": mine["items_per_second"] / naive["items_per_second"],
        "mathgrader/lambdify": mine["items_per_second"] / lam["items_per_second"],
        "mathgrader/naive_cpu": mine["items_per_cpu_second"] / naive["items_per_cpu_second"],
        "mathgrader/lambdify_cpu": mine["items_per_cpu_second"] / lam["items_per_cpu_second"],
    }
    if naive_sampled:  # the naive rate is an estimate: say how good
        out["mathgrader/naive_ci95"] = [
            mine["items_per_second"] / high if high else None, mine["items_per_second"] / low
        ]
    return out


def warm_latency(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Each labelled answer once, timed with its reference already compiled and sampled.

    This is a quiz in use: the question's first grade paid for the reference. The unseen
    answer is still parsed, compared and explained (slip feedback) in full.
    """
    checker = equivalence.Checker()
    clock, cpu_clock = time.perf_counter, time.process_time
    seen: set[tuple[str, str]] = set()
    ms, cpu_ms, kinds = [], [], []
    with _settled_heap():
        for item in items:
            key = (item["reference"], json.dumps(item["options"], sort_keys=True))
            if key not in seen:
                seen.add(key)
                grade_item({**item, "answer": "0"}, checker)  # an answer nobody types: warms up
            t0, c0 = clock(), cpu_clock()
            grade_item(item, checker)
            cpu_ms.append((cpu_clock() - c0) * 1e3)
            ms.append((clock() - t0) * 1e3)
            kinds.append(item["kind"])
    times, cpu = np.array(ms), np.array(cpu_ms)
    by_kind = {kind: {"items": int(mask.sum()), **_latency(times[mask]),
                      "cpu_p99": float(np.percentile(cpu[mask], 99))}
               for kind in KINDS if (mask := np.array([k == kind for k in kinds])).any()}
    return {"items": len(items), "latency_ms": _latency(times),
            "cpu_latency_ms": _latency(cpu), "by_kind": by_kind}


def table(results: dict[str, Any]) -> str:
    rows = [
        "| grader | workload | items timed | items/s | items/CPU-s | accuracy | p50 ms | p99 ms "
        "| max ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = list(results["workloads"])
    for workload in names:
        for name in ("naive", "lambdify", "mathgrader"):
            r = results["workloads"][workload]["runs"][name]
            lat = r["latency_ms"]
            rows.append(
                f"| {name} | {workload} | {r['items']} | {r['items_per_second']:,.0f} | "
                f"{r['items_per_cpu_second']:,.0f} | {r['accuracy']:.1%} | {lat['p50']:.2f} | "
                f"{lat['p99']:.2f} | {lat['max']:.1f} |"
            )
    lines = ["\n".join(rows), ""]
    for workload in names:
        ratio = results["workloads"][workload]["ratios"]
        span = ""
        if "mathgrader/naive_ci95" in ratio:
            low, high = ratio["mathgrader/naive_ci95"]
            span = (f", naive sampled: 95% interval {low:.0f}-{high:.0f}" if low
                    else f", naive sampled: 95% interval above {high:.0f}")
        lines.append(
            f"- {workload}: mathgrader/naive **{ratio['mathgrader/naive']:.0f}x** "
            f"(CPU time {ratio['mathgrader/naive_cpu']:.0f}x{span}); mathgrader/lambdify "
            f"**{ratio['mathgrader/lambdify']:.1f}x** "
            f"(CPU time {ratio['mathgrader/lambdify_cpu']:.1f}x)"
            + (f"; aim {AIM_RATIO[workload]:.0f}x" if workload in AIM_RATIO else "")
        )
    lines += ["", "Accuracy against the labels, unique workload (each answer once):", "",
              "| grader | correct-labelled | incorrect-labelled | invalid-labelled |",
              "|---|---:|---:|---:|"]
    for name in ("naive", "lambdify", "mathgrader"):
        by = results["workloads"]["unique"]["runs"][name]["accuracy_by_label"]
        lines.append(f"| {name} | " + " | ".join(
            f"{by[label]['accuracy']:.1%}" if label in by else "-"
            for label in ("correct", "incorrect", "invalid")) + " |")
    lines += ["", "mathgrader latency per check by kind (ms):", "",
              "| kind | realistic items | p50 | p99 | p99 CPU | max | unique items | p50 | p99 "
              "| p99 CPU | max |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    real = results["workloads"]["realistic"]["runs"]["mathgrader"]["by_kind"]
    uniq = results["workloads"]["unique"]["runs"]["mathgrader"]["by_kind"]
    for kind in KINDS:
        cells = []
        for by in (real, uniq):
            k = by.get(kind)
            cells.append(f"{k['items']} | {k['p50']:.2f} | {k['p99']:.2f} | {k['cpu_p99']:.2f} "
                         f"| {k['max']:.1f}" if k else "0 | - | - | - | -")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    warm = results["warm"]
    lines += ["", f"Warm single check (reference compiled, answer unseen; aim p99 under "
              f"{AIM_P99_MS:g} ms), ms:", "", "| kind | items | p50 | p99 | p99 CPU | max |",
              "|---|---:|---:|---:|---:|---:|"]
    everything = {"items": warm["items"], **warm["latency_ms"],
                  "cpu_p99": warm["cpu_latency_ms"]["p99"]}
    for kind, k in [*warm["by_kind"].items(), ("all", everything)]:
        lines.append(f"| {kind} | {k['items']} | {k['p50']:.2f} | {k['p99']:.2f} | "
                     f"{k['cpu_p99']:.2f} | {k['max']:.1f} |")
    return "\n".join(lines)


def pyplot() -> Any:
    """matplotlib's pyplot on a headless backend, or None where matplotlib is not installed
    (the benchmarks then skip their plots)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_figure(fig: Any, path: Path, dpi: int = 110) -> bool:
    """Lay out, write and close a chart; True, for the `draw` functions of `write_results`."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return True


def run_header() -> dict[str, Any]:
    """What every benchmark's results start with: when, how loaded, the command, the machine."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_at_start": os.getloadavg(),
        "command": shlex.join(sys.orig_argv),
        "machine": machine(),
    }


def write_results(results: dict[str, Any], out: Path, name: str,
                  draw: Callable[[dict[str, Any], Path], bool],
                  tables: Callable[[dict[str, Any]], str], started: float) -> None:
    """End a benchmark run: total time and load, `out/NAME.json`, the chart when matplotlib is
    installed, and the markdown tables on stdout."""
    results["seconds_total"] = time.perf_counter() - started
    results["load_average_at_end"] = os.getloadavg()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    drew = draw(results, out / f"{name}.png")
    print(tables(results))
    print()
    print(f"Wrote {out / f'{name}.json'}" + (f" and {name}.png" if drew else "")
          + f" in {results['seconds_total']:.0f} s.")


def chart(results: dict[str, Any], path: Path) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    names = ("naive", "lambdify", "mathgrader")
    workloads = tuple(results["workloads"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.26
    for i, name in enumerate(names):
        rates = [results["workloads"][w]["runs"][name]["items_per_second"] for w in workloads]
        bars = left.bar(np.arange(len(workloads)) + (i - 1) * width, rates, width, label=name)
        left.bar_label(bars, labels=[f"{r:,.0f}" for r in rates], fontsize=8)
    left.set_yscale("log")
    left.set_xticks(np.arange(len(workloads)), [f"{w} workload" for w in workloads])
    left.set_ylabel("checks per second, one worker (log)")
    left.set_title("Throughput, one worker: mathgrader / naive = " + ", ".join(
        f"{results['workloads'][w]['ratios']['mathgrader/naive']:.0f}x ({w})"
        for w in workloads), fontsize=9)
    left.legend()
    by_kind = results["warm"]["by_kind"]
    kinds = [k for k in KINDS if k in by_kind]
    x = np.arange(len(kinds))
    right.bar(x - 0.2, [by_kind[k]["p50"] for k in kinds], 0.4, label="p50")
    right.bar(x + 0.2, [by_kind[k]["p99"] for k in kinds], 0.4, label="p99")
    right.axhline(AIM_P99_MS, color="grey", linestyle="--", linewidth=1, label="p99 aim")
    right.set_xticks(x, kinds, rotation=30)
    right.set_ylabel("ms per check")
    right.set_title("mathgrader warm single check by kind (reference compiled)", fontsize=10)
    right.legend()
    return save_figure(fig, path)


# ---------------------------------------------------------------------------------- profiling

# Where a check spends its time: (phase, file, function) whose cumulative time is the phase's.
# Phases nest (the numeric slips and the confirmation call compare-level helpers), so shares
# do not add up to 100%.
PHASES = [
    ("parse the answer (grammar + token checks)", "parser.py", "parse_tree"),
    ("  of which the grammar's LALR tables", "lalr.py", "parse"),
    ("  of which lexing", "parser.py", "_tokens"),
    ("compare with the reference", "equivalence.py", "compare"),
    ("  exact rational functions (Fractions)", "equivalence.py", "_compare_rational"),
    ("  numpy sampling", "equivalence.py", "_compare_sampled"),
    ("  sample points of new references", "equivalence.py", "_draw"),
    ("  mpmath confirmation of exact answers", "equivalence.py", "_confirm"),
    ("  constants through mpmath", "equivalence.py", "_compare_constants"),
    ("slip feedback for wrong answers", "slips.py", "find_slip"),
    ("compile references and answers (numpy)", "evaluate.py", "compile_numpy"),
]


def profile(items: list[dict[str, Any]]) -> str:
    """cProfile of mathgrader on the workload, fresh caches: the share of each phase of a
    check, then the top functions by cumulative and by own time."""
    grader = MathGrader()
    grader.reset()
    profiler = cProfile.Profile()
    profiler.enable()
    for item in items:
        grader.grade(item)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in raw.values())
    print(f"{len(items)} items, {total:.2f} s under the profiler; share of the time by phase:",
          file=out)
    for label, filename, function in PHASES:
        cumulative = max((ct for (file, _, name), (_, _, _, ct, _) in raw.items()
                          if name == function and file.endswith(filename)), default=0.0)
        print(f"  {cumulative / total:6.1%}  {label}", file=out)
    stats.strip_dirs()
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


# --------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the naive grader on samples only: under 30 s (the other graders "
                             "run in full)")
    parser.add_argument("--naive-unique", type=int, default=None,
                        help="naive grader's sample of the unique workload (default: all; "
                             "--quick: 60)")
    parser.add_argument("--naive-realistic", type=int, default=None,
                        help="naive grader's sample of the realistic workload (default: all; "
                             "--quick: 150)")
    parser.add_argument("--cap", type=float, default=2.0,
                        help="naive grader's cap per item, seconds (default 2)")
    parser.add_argument("--min-seconds", type=float, default=None,
                        help="time each grader on a workload over at least this many seconds, "
                             "in passes from empty caches (default 2; --quick: 0.5)")
    parser.add_argument("--slice", type=float, default=0.5,
                        help="seconds each grader runs in its turn; graders take turns until "
                             "each has done --min-seconds (default 0.5)")
    parser.add_argument("--naive-course", type=int, default=None,
                        help="naive and lambdify graders' sample of the course workload "
                             "(default: 1500; --quick: 150)")
    parser.add_argument("--learners", type=int, default=DEFAULT_LEARNERS)
    parser.add_argument("--course-learners", type=int, default=COURSE_LEARNERS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--profile", choices=["unique", "realistic", "course"], default=None,
                        help="profile mathgrader on that workload and print the share of each "
                             "phase and the top functions instead of benchmarking")
    args = parser.parse_args(argv)
    naive_sizes = {
        "unique": args.naive_unique if args.naive_unique is not None
        else (60 if args.quick else 10**9),
        "realistic": args.naive_realistic if args.naive_realistic is not None
        else (150 if args.quick else 10**9),
        "course": args.naive_course if args.naive_course is not None
        else (150 if args.quick else 1500),
    }
    min_seconds = args.min_seconds if args.min_seconds is not None else (
        0.5 if args.quick else 2.0)
    workloads = {"unique": unique_items(), "realistic": batch_items(args.seed, args.learners),
                 "course": batch_items(args.seed, args.course_learners)}
    for warm in (NaiveGrader(args.cap), LambdifyGrader(), MathGrader()):
        for item in WARMUP:  # loads lazily imported modules and builds the parser
            warm.grade({**item, "expect": "correct", "kind": "warmup"})
    if args.profile:
        print(profile(workloads[args.profile]))
        return 0

    started = time.perf_counter()
    results: dict[str, Any] = {
        **run_header(),
        "settings": {"quick": args.quick, "seed": args.seed, "learners": args.learners,
                     "course_learners": args.course_learners,
                     "naive_cap_seconds": args.cap, "min_seconds": min_seconds,
                     "slice_seconds": args.slice,
                     "lambdify_points": POINTS,
                     "references": len({i["reference"] for i in workloads["unique"]})},
        "aims": {"mathgrader/naive": AIM_RATIO, "p99_ms": AIM_P99_MS},
        "workloads": {},
    }
    mine = MathGrader()
    graders: dict[str, Callable[[], Grader]] = {
        "naive": lambda: NaiveGrader(args.cap),
        "lambdify": LambdifyGrader,
        "mathgrader": lambda: mine,
    }
    for workload, items in workloads.items():
        subsets = {}
        for name, make in graders.items():
            sampled = name == "naive" or (name == "lambdify" and workload == "course")
            subsets[name] = (make(), sample(items, naive_sizes[workload], args.seed)
                             if sampled else items)
        print(f"{workload:>9}: " + ", ".join(f"{name} {len(subset):,} items"
                                             for name, (_, subset) in subsets.items())
              + f", in turns of {args.slice:g} s ...", file=sys.stderr, flush=True)
        builds = mine.sympy_builds
        runs, rounds = run(subsets, min_seconds, args.slice)
        for name, r in runs.items():
            print(f"{'':>11}{name:<10} {r['items']:9,d} items in {r['passes']} passes "
                  f"{r['items_per_second']:10,.0f}/s  accuracy {r['accuracy']:.1%}",
                  file=sys.stderr)
        results["workloads"][workload] = {
            "items": len(items),
            "distinct_items": runs["mathgrader"]["distinct_items"],
            "runs": runs,
            "ratios": ratios(runs, naive_sampled=runs["naive"]["items"] < len(items)),
            "rounds": rounds,
            "mathgrader_sympy_builds": mine.sympy_builds - builds,
        }
    print("warm single checks ...", end=" ", flush=True, file=sys.stderr)
    results["warm"] = warm_latency(workloads["unique"])
    print(f"p99 {results['warm']['latency_ms']['p99']:.2f} ms", file=sys.stderr)
    results["aims"]["met"] = {
        **{f"mathgrader/naive ({w})": results["workloads"][w]["ratios"]["mathgrader/naive"] >= aim
           for w, aim in AIM_RATIO.items()},
        **{f"mathgrader/naive CPU ({w})":
           results["workloads"][w]["ratios"]["mathgrader/naive_cpu"] >= aim
           for w, aim in AIM_RATIO.items()},
        "warm p99_ms": results["warm"]["latency_ms"]["p99"] < AIM_P99_MS,
        "warm p99_ms_cpu": results["warm"]["cpu_latency_ms"]["p99"] < AIM_P99_MS,
    }
    results["mathgrader_crashes"] = mine.crashes
    write_results(results, args.out, "grading", chart, table, started)
    for crash in mine.crashes:
        print(f"mathgrader raised on {crash}", file=sys.stderr)
    return 1 if mine.crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
