"""One submission, one verdict: repeated calls, fresh checkers, other grading orders and other
seeds agree (the sampling is seeded, and the caches never change an answer)."""

from __future__ import annotations

from typing import Any

import pytest

from mathgrader import grade
from mathgrader.checker.equivalence import Checker
from mathgrader.checker.options import GradeOptions

SUBMISSIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("2*ln(a)+ln(b)", "ln(a^2*b)", {}),
    ("sqrt(x^2)", "x", {}),
    ("sqrt(x^2)", "abs(x)", {}),
    ("(x^2-1)/(x-1)", "x+1", {}),
    ("floor(x)", "ceiling(x)-1", {}),
    ("mod(x,1)", "x-floor(x)", {}),
    ("sin(3.141592653589793)", "0", {}),
    ("2/3", "0.67", {}),
    ("1", "1.05", {"relative_tolerance": 0.05}),
    ("2^64+1", "2^64", {}),
    ("abs(x)", "x", {"variables": {"x": "positive"}}),
    ("(-1)^(2*n)", "1", {"variables": {"n": "integer"}}),
    ("abs(z)^2", "z*conjugate(z)", {"variables": {"z": "complex"}}),
    ("sqrt(x^2)", "x", {"variables": {"x": [0, 5]}}),
    ("x^2", "2*x", {"answers": ["2*x"]}),
    ("2*x", "-x*2", {"feedback": [{"answer": "-2*x", "message": "Check the sign."}]}),
    ("sin(x)^2", "1-cos(x)^2", {"forbid": ["cos"]}),
    ("oo", "oo+1", {}),
    ("2*x", "2x", {}),
    ("x^(2/3)", "(x^2)^(1/3)", {}),
]
IDS = [f"{r} ~ {a} {o}" for r, a, o in SUBMISSIONS]


def _key(result: Any) -> tuple[Any, ...]:
    return (result.verdict, result.score, result.feedback, result.error)


@pytest.mark.parametrize(("reference", "answer", "options"), SUBMISSIONS, ids=IDS)
def test_repeated_calls_give_the_same_result(
    reference: str, answer: str, options: dict[str, Any]
) -> None:
    first = grade(reference, answer, **options)
    for _ in range(3):
        assert _key(grade(reference, answer, **options)) == _key(first)


@pytest.mark.parametrize(("reference", "answer", "options"), SUBMISSIONS, ids=IDS)
def test_a_fresh_checker_gives_the_same_result(
    reference: str, answer: str, options: dict[str, Any]
) -> None:
    expected = _key(grade(reference, answer, **options))
    parsed = GradeOptions.from_mapping(options)
    assert _key(Checker().check(reference, answer, parsed)) == expected


def test_the_grading_order_does_not_matter() -> None:
    """Caches are keyed so that what was graded before cannot change a later verdict."""
    parsed = [(r, a, GradeOptions.from_mapping(o)) for r, a, o in SUBMISSIONS]
    forward = Checker(cache_size=4)  # a tiny cache: entries are evicted and rebuilt
    backward = Checker()
    ahead = [_key(forward.check(r, a, o)) for r, a, o in parsed]
    behind = [_key(backward.check(r, a, o)) for r, a, o in reversed(parsed)]
    assert ahead == list(reversed(behind))


CLEAR_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("2*ln(a)+ln(b)", "ln(a^2*b)", {}, "correct"),
    ("ln(a^2*b)", "2*ln(a)+ln(b)", {}, "incorrect"),
    ("sqrt(x^2)", "x", {}, "incorrect"),
    ("sqrt(x^2)", "abs(x)", {}, "correct"),
    ("sqrt(1/x)", "1/sqrt(x)", {}, "correct"),
    ("(x^2-1)/(x-1)", "x+1", {}, "correct"),
    ("floor(x)", "ceiling(x)-1", {}, "incorrect"),
    ("floor(x/2)", "floor(x)/2", {}, "incorrect"),
    ("mod(x,1)", "x-floor(x)", {}, "correct"),
    ("sin(2*x)", "2*sin(x)*cos(x)", {}, "correct"),
    ("sin(x+y)", "sin(x)*cos(y)-cos(x)*sin(y)", {}, "incorrect"),
    ("x+2^64+1", "x+2^64", {}, "incorrect"),
    ("abs(E^(I*x))", "1", {}, "correct"),
    ("x", "x + 0*floor(ln(x))", {}, "incorrect"),
    ("abs(x)", "x", {"variables": {"x": "positive"}}, "correct"),
    ("(-1)^(2*n)", "1", {"variables": {"n": "integer"}}, "correct"),
    ("sqrt(x^2)", "x", {"variables": {"x": [0, 5]}}, "correct"),
    ("x^2*1e-20", "x^2*1.1e-20", {}, "incorrect"),
]


@pytest.mark.parametrize("seed", [1, 2, 7, 12345, 2**40])
@pytest.mark.parametrize(("reference", "answer", "options", "verdict"), CLEAR_CASES,
                         ids=[f"{r} ~ {a}" for r, a, _, _ in CLEAR_CASES])
def test_other_seeds_give_the_right_verdict_on_clear_cases(
    reference: str, answer: str, options: dict[str, Any], verdict: str, seed: int
) -> None:
    assert grade(reference, answer, seed=seed, **options).verdict == verdict


def test_variable_order_in_options_does_not_matter() -> None:
    first = grade("sqrt(x^2)*y", "x*y", variables={"x": "positive", "y": "real"})
    second = grade("sqrt(x^2)*y", "x*y", variables={"y": "real", "x": "positive"})
    assert _key(first) == _key(second)
    assert first.verdict == "correct"
