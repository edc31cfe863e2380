"""A long metamorphic run of the grader: false-positive and false-negative rates, with examples.

For each of `--examples` generated expressions (seeded: example i of seed S is the same on every
machine), the grader sees:
- the expression against itself (it must be correct: "reflexive");
- SymPy rewrites of it printed in the learner syntax (expand, factor, trigsimp, exp <-> trig...),
  which must grade correct: one that does not is a false negative;
- perturbations that truly change its value (add 1, double, change a number, swap a function),
  which must not grade correct: one that does is a false positive;
- for exact pairs whose two sides are real and finite at the same points, the same pair in the
  other order, which must get the same verdict ("symmetry").
The oracle that decides what is an identity and what truly changes a value is SymPy's evalf, at
seeded real points (tests/metamorphic.py). A `timeout` verdict is neither right nor wrong: it is
counted apart. Results go to benchmarks/results/fuzz.json.

    .venv/bin/python scripts/fuzz.py --examples 5000 --seed 0
    .venv/bin/python scripts/fuzz.py --only 1234 --seed 0     # re-run one example, verbosely
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the generator, printer and oracle live with the tests

import sympy  # noqa: E402

import mathgrader  # noqa: E402
from mathgrader import Grade  # noqa: E402
from metamorphic import (  # noqa: E402
    PERTURBATIONS,
    REWRITES,
    Case,
    Skip,
    perturbation_case,
    prepare,
    rewrite_case,
)
from strategies import EXACT, random_expression  # noqa: E402

SHOWN = 25  # examples of each kind of failure kept in the JSON


def example_rng(seed: int, index: int) -> random.Random:
    return random.Random(seed * 1_000_003 + index)


class Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.by_relation: dict[str, Counter[str]] = {}
        self.failures: dict[str, list[dict[str, Any]]] = {}
        self.skipped: Counter[str] = Counter()
        self.slowest: list[tuple[float, int]] = []  # (seconds, example), the 10 slowest

    def count(self, key: str, relation: str | None = None) -> None:
        self.counts[key] += 1
        if relation is not None:
            self.by_relation.setdefault(relation, Counter())[key] += 1

    def failure(self, kind: str, record: dict[str, Any]) -> None:
        self.counts[kind] += 1
        shown = self.failures.setdefault(kind, [])
        if len(shown) < SHOWN:
            shown.append(record)


def _record(case: Case | None, index: int, result: Any, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"example": index}
    if case is not None:
        record.update(relation=case.relation, reference=case.reference, answer=case.answer)
    record.update(verdict=result.verdict, feedback=result.feedback, **extra)
    return record


class Crash(Exception):
    """grade() raised: the contract says it never does."""


def grade(tally: Tally, index: int, reference: str, answer: str) -> Grade:
    try:
        return mathgrader.grade(reference, answer)
    except Exception as error:  # noqa: BLE001 - a crash is a finding to count, not to stop on
        tally.failure("crash", {"example": index, "reference": reference, "answer": answer,
                                "exception": f"{type(error).__name__}: {error}"})
        raise Crash from error


def judge(tally: Tally, case: Case, index: int, verbose: bool) -> None:
    result = grade(tally, index, case.reference, case.answer)
    kind = case.kind
    tally.count(f"{kind}_cases", case.relation)
    if verbose:
        print(f"  {kind:12} {case.relation:14} {result.verdict:9} {case.answer}")
    if result.verdict == "timeout":
        tally.count(f"{kind}_timeouts", case.relation)
        tally.failure(f"{kind}_timeout", _record(case, index, result))
        return
    if case.expected_correct and result.verdict != "correct":
        tally.count("false_negatives", case.relation)
        tally.failure("false_negative", _record(case, index, result))
    elif not case.expected_correct and result.verdict == "correct":
        tally.count("false_positives", case.relation)
        tally.failure("false_positive", _record(case, index, result))
    if case.symmetric:
        reverse = grade(tally, index, case.answer, case.reference)
        if reverse.verdict == "timeout":
            tally.count("symmetry_timeouts")
            return
        tally.count("symmetry_pairs")
        if (reverse.verdict == "correct") != (result.verdict == "correct"):
            tally.failure("asymmetric", _record(case, index, result,
                                                reverse_verdict=reverse.verdict,
                                                reverse_feedback=reverse.feedback))


def run_example(tally: Tally, seed: int, index: int, rewrites: int, verbose: bool) -> None:
    rng = example_rng(seed, index)
    text = random_expression(rng, EXACT)
    relations = rng.sample(sorted(REWRITES), len(REWRITES))
    perturbations = rng.sample(sorted(PERTURBATIONS), len(PERTURBATIONS))
    pick = rng.randrange(1000)
    tally.count("examples")
    if verbose:
        print(f"example {index}: {text}")
    try:
        subject = prepare(text, seed=seed * 1_000_003 + index)
    except Skip as why:
        tally.skipped[f"reference: {why}"] += 1
        return
    itself = grade(tally, index, text, text)
    if itself.verdict != "correct":
        # "error" is the grader refusing a reference it cannot sample: fair, since our points
        # are not its points. Anything else against the very same text is a bug.
        key = "reflexive_error" if itself.verdict in ("error", "timeout") else "reflexive_failure"
        tally.failure(key, _record(None, index, itself, reference=text))
        return
    tally.count("subjects")
    found = 0
    for relation in relations:  # the first `rewrites` that change the expression
        try:
            case = rewrite_case(subject, relation)
        except Skip as why:
            tally.skipped[f"rewrite: {_reason(why)}"] += 1
            continue
        judge(tally, case, index, verbose)
        found += 1
        if found == rewrites:
            break
    for perturbation in perturbations:  # the first that applies and changes a value
        try:
            case = perturbation_case(subject, perturbation, pick)
        except Skip as why:
            tally.skipped[f"perturbation: {_reason(why)}"] += 1
            continue
        judge(tally, case, index, verbose)
        break


def _reason(why: Skip) -> str:
    """A skip reason without the expression-specific tail, so that reasons can be counted."""
    text = str(why)
    for generic in ("SymPy failed", "has no learner syntax", "is not an identity",
                    "changes no value", "leaves the expression unchanged", "took too long",
                    "is refused as", "no number", "no function"):
        if generic in text:
            return generic
    return text


def _rate(bad: int, cases: int) -> float | None:
    return None if cases == 0 else round(bad / cases, 6)


def summary(tally: Tally, args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    c = tally.counts
    rewrites = c["rewrite_cases"] - c["rewrite_timeouts"]
    perturbations = c["perturbation_cases"] - c["perturbation_timeouts"]
    return {
        "command": f"python scripts/fuzz.py --examples {args.examples} --seed {args.seed} "
                   f"--rewrites {args.rewrites}"
                   + (f" --minutes {args.minutes}" if args.minutes else ""),
        "seed": args.seed,
        "examples": c["examples"],
        "seconds": round(seconds, 1),
        "python": platform.python_version(),
        "sympy": sympy.__version__,
        "usable_references": c["subjects"],
        "false_negative_rate": _rate(c["false_negatives"], rewrites),
        "false_positive_rate": _rate(c["false_positives"], perturbations),
        "rewrites": {"cases": c["rewrite_cases"], "false_negatives": c["false_negatives"],
                     "timeouts": c["rewrite_timeouts"]},
        "perturbations": {"cases": c["perturbation_cases"],
                          "false_positives": c["false_positives"],
                          "timeouts": c["perturbation_timeouts"]},
        "symmetry": {"pairs": c["symmetry_pairs"], "asymmetric": c["asymmetric"],
                     "timeouts": c["symmetry_timeouts"]},
        "reflexive": {"failures": c["reflexive_failure"], "refused": c["reflexive_error"]},
        "crashes": c["crash"],
        "harness_errors": c["harness_error"],
        "by_relation": {name: dict(sorted(counts.items()))
                        for name, counts in sorted(tally.by_relation.items())},
        "skipped": dict(tally.skipped.most_common()),
        "slowest_examples": [{"example": index, "seconds": round(seconds, 2)}
                             for seconds, index in tally.slowest],
        "failures": tally.failures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rewrites", type=int, default=3,
                        help="rewrites graded per example (the first that change it)")
    parser.add_argument("--minutes", type=float,
                        help="stop after this long, reporting the examples done so far")
    parser.add_argument("--only", type=int, help="run one example, printing every case")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/results/fuzz.json")
    args = parser.parse_args(argv)
    tally = Tally()
    if args.only is not None:
        try:
            run_example(tally, args.seed, args.only, len(REWRITES), verbose=True)
        except Crash:
            pass
        print(json.dumps(summary(tally, args, 0.0)["failures"], indent=2))
        return 0
    started = time.perf_counter()
    deadline = started + args.minutes * 60 if args.minutes else None
    try:
        for index in range(args.examples):
            if deadline is not None and time.perf_counter() > deadline:
                print(f"stopped after {args.minutes} minutes", flush=True)
                break
            began = time.perf_counter()
            try:
                run_example(tally, args.seed, index, args.rewrites, verbose=False)
            except Crash:
                pass  # counted; the example's other cases are not graded
            except Exception as error:  # noqa: BLE001 - a harness bug must not lose the run
                tally.failure("harness_error", {"example": index,
                                                "exception": f"{type(error).__name__}: {error}"})
            tally.slowest = sorted([*tally.slowest, (time.perf_counter() - began, index)],
                                   reverse=True)[:10]
            if (index + 1) % 250 == 0:
                c = tally.counts
                print(f"{index + 1} examples, {time.perf_counter() - started:.0f} s: "
                      f"{c['false_negatives']} FN / {c['rewrite_cases']} rewrites, "
                      f"{c['false_positives']} FP / {c['perturbation_cases']} perturbations, "
                      f"{c['asymmetric']} asymmetric / {c['symmetry_pairs']} pairs, "
                      f"{c['crash']} crashes", flush=True)
    except KeyboardInterrupt:  # a long run stopped by hand still reports what it saw
        print("interrupted", flush=True)
    result = summary(tally, args, time.perf_counter() - started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"false negatives: {result['rewrites']['false_negatives']} of "
          f"{result['rewrites']['cases']} rewrites (rate {result['false_negative_rate']}), "
          f"timeouts {result['rewrites']['timeouts']}")
    print(f"false positives: {result['perturbations']['false_positives']} of "
          f"{result['perturbations']['cases']} perturbations "
          f"(rate {result['false_positive_rate']}), "
          f"timeouts {result['perturbations']['timeouts']}")
    print(f"asymmetric: {result['symmetry']['asymmetric']} of {result['symmetry']['pairs']} "
          f"exact same-domain pairs; reflexive failures: {result['reflexive']['failures']}; "
          f"crashes: {result['crashes']}")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
