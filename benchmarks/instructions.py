"""Instructions per check, by phase: the work of grading, measured where timings cannot be.

On a shared machine a timing moves by tens of percent from run to run; the number of
instructions a check executes does not. This runs the every-answer-once workload (`workload.py`,
607 items, a fresh `Checker` and SymPy cache per pass) under `valgrind --tool=cachegrind` with 1
and with 3 passes: the difference, over 2 x 607, is the instructions of one check, imports and
warm-up cancelled. Then again with one phase switched off, which gives that phase's cost:

- `all`: everything, as `grade_item` does it;
- `noslips`: without slip feedback for wrong answers (`slips.find_slip` returns None);
- `noconfirm`: without the mpmath confirmation of exact answers (`Checker._confirm` says equal);
- `parse`: only `parse_tree` of every answer (the cost of parsing, alone).

Needs valgrind. About 2 minutes per phase; `--src` measures another checkout (its `src/`), for
before/after figures in one run. Results go to `benchmarks/results/instructions.json`.

    .venv/bin/python benchmarks/instructions.py [--phases all,noslips,noconfirm,parse] [--src DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PHASES = ("all", "noslips", "noconfirm", "parse")


def child(phase: str, passes: int) -> None:
    """Grade (or parse) the workload `passes` times: what valgrind counts."""
    sys.path.insert(0, str(HERE))
    from grading import WARMUP
    from sympy.core.cache import clear_cache
    from workload import unique_items

    from mathgrader.checker import equivalence, slips
    from mathgrader.checker.grade import grade_item
    from mathgrader.errors import InputError
    from mathgrader.language.parser import parse_tree

    if phase == "noslips":
        slips.find_slip = lambda *args, **kwargs: None
    elif phase == "noconfirm":
        equivalence.Checker._confirm = (  # type: ignore[method-assign]  # noqa: SLF001
            lambda self, *args: equivalence.Outcome(True))
    items = unique_items()
    checker = equivalence.Checker()
    for item in WARMUP:
        grade_item(item, checker)
    for _ in range(passes):
        if phase == "parse":
            for item in items:
                try:
                    parse_tree(str(item["answer"]))
                except InputError:
                    pass
            continue
        checker = equivalence.Checker()
        clear_cache()
        for item in items:
            grade_item(item, checker)


def count(phase: str, passes: int, src: Path | None) -> int:
    """Instructions of a whole child run, from cachegrind's summary."""
    # No bytecode written: a first run that compiles a module the second run then loads from
    # __pycache__ would count the compile as the first run's work (a checkout measured for the
    # first time came out at 438k instead of 716k).
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, __file__, "--child", phase, str(passes)],
        env=env, capture_output=True, text=True, check=True,
    )
    match = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--src", type=Path, default=None,
                        help="the src/ folder of the checkout to measure (default: this one)")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--child", nargs=2, metavar=("PHASE", "PASSES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    phases = [p for p in args.phases.split(",") if p]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}: use {PHASES}")
    sys.path.insert(0, str(HERE))
    from grading import run_header, write_results
    from workload import unique_items

    started = time.perf_counter()
    items = len(unique_items())
    per_check: dict[str, float] = {}
    for phase in phases:
        one, three = count(phase, 1, args.src), count(phase, 3, args.src)
        per_check[phase] = (three - one) / 2 / items
        print(f"{phase:>10}: {per_check[phase] / 1000:,.0f}k instructions a check", flush=True)
    results: dict[str, Any] = {
        **run_header(),
        "settings": {"src": str(args.src or "this checkout"), "items": items, "phases": phases},
        "instructions_per_check": per_check,
        "phase_costs": _phase_costs(per_check),
    }
    write_results(results, args.out, "instructions", lambda _results, _path: False, _table,
                  started)
    return 0


def _phase_costs(per_check: dict[str, float]) -> dict[str, float]:
    """Each phase's instructions a check, from the runs with it switched off or alone."""
    if "all" not in per_check:
        return {}
    total = per_check["all"]
    costs = {}
    if "noslips" in per_check:
        costs["slip feedback"] = total - per_check["noslips"]
    if "noconfirm" in per_check:
        costs["mpmath confirmation"] = total - per_check["noconfirm"]
    if "parse" in per_check:
        costs["parsing"] = per_check["parse"]
    costs["the rest"] = total - sum(costs.values())
    return costs


def _table(results: dict[str, Any]) -> str:
    costs = results["phase_costs"]
    if not costs:
        return ""
    total = results["instructions_per_check"]["all"]
    rows = ["| phase | instructions a check | share |", "|---|---:|---:|"]
    rows += [f"| {name} | {value / 1000:,.0f}k | {value / total:.0%} |"
             for name, value in costs.items()]
    rows.append(f"| **a check** | **{total / 1000:,.0f}k** | |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
