"""The time budget: hostile answers are refused or checked quickly, and never hang the grader.

Each hostile answer is graded in a forked child process that is killed when it overruns, so a
regression shows up as a failed test rather than a stuck test run. The bounds are generous (the
refused inputs take milliseconds); they catch hangs, not slowness.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

import pytest

from mathgrader import grade

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()"
)

REFUSED_BOUND = 2.0  # seconds: sizes are refused before any evaluation
CHECKED_BOUND = 3.0  # seconds: the default time budget (2 s) and some slack


def _grade_in_child(send: Connection, reference: str, answer: str,
                    options: dict[str, Any]) -> None:
    start = time.monotonic()
    try:
        result = grade(reference, answer, **options)
        send.send((result.verdict, time.monotonic() - start,
                   (result.error or {}).get("code")))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as a failure
        send.send(("raised " + repr(exc), time.monotonic() - start, None))
    finally:
        send.close()


def graded_within(reference: str, answer: str, bound: float,
                  **options: Any) -> tuple[str, float, str | None]:
    """Grade in a forked child; fail the test when it is not done `bound` (+1) seconds later."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_grade_in_child, args=(send, reference, answer, options),
                            daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(bound + 1.0):
            pytest.fail(f"grading {answer[:60]!r} against {reference!r} took over {bound + 1} s")
        verdict, seconds, code = receive.recv()
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    assert not verdict.startswith("raised"), verdict
    assert seconds < bound, (answer[:60], verdict, seconds)
    return verdict, seconds, code


@pytest.fixture(autouse=True, scope="module")
def _warm_parent() -> None:
    """Load every lazily imported part once, so forked children time the check, not imports."""
    for reference, answer in [("x", "x"), ("2*x", "-2*x"), ("x^3", "3*x^2"), ("oo", "oo+1"),
                              ("sqrt(2)", "sqrt(2)+1"), ("2/3", "0.67"), ("x", "2x"),
                              ("ln(x)", "log(x)"), ("1", "sin(1)")]:
        grade(reference, answer)


# ------------------------------------------------------------------ refused before work

REFUSED = [
    pytest.param("1", "9^9^9^9", id="9^9^9^9"),
    pytest.param("1", "10^10^10", id="10^10^10"),
    pytest.param("x", "x^(10^10)", id="x^(10^10)"),
    pytest.param("x", "x^(2^64)", id="x^(2^64)"),
    pytest.param("1", "binomial(10^9, 5*10^8)", id="binomial(10^9, 5*10^8)"),
    pytest.param("1", "binomial(10^5+1/2, 10^5)", id="binomial(10^5+1/2, 10^5)"),
    pytest.param("1", "2^(2^20)", id="2^(2^20)"),
    pytest.param("1", "2^(10^6)", id="2^(10^6)"),
    pytest.param("1", "3^(2^(2^4))", id="3^(2^(2^4))"),
    pytest.param("1", "(2^1000)^(2^1000)", id="(2^1000)^(2^1000)"),
    pytest.param("1", "exp(10^7)", id="exp(10^7)"),
    pytest.param("1", "exp(exp(exp(exp(10))))", id="exp(exp(exp(exp(10))))"),
    pytest.param("1", "E^(E^(E^(E^(E^E))))", id="E^E^E^E^E^E"),
    pytest.param("x", "x" * 2001, id="2001 characters"),
    pytest.param("x", "(" * 70 + "x" + ")" * 70, id="70 nested brackets"),
    pytest.param("x", "-" * 500 + "x", id="500 unary minus"),
    pytest.param("x", "x" + "^x" * 300, id="power tower of 300"),
    pytest.param("x", "1+" * 999 + "x", id="1000 terms"),
    pytest.param("x", "sin(" * 100 + "x" + ")" * 100, id="100 nested calls"),
]


@pytest.mark.parametrize(("reference", "answer"), REFUSED)
def test_hostile_answers_are_refused_quickly(reference: str, answer: str) -> None:
    verdict, _, code = graded_within(reference, answer, REFUSED_BOUND)
    assert verdict in ("invalid", "timeout")
    if verdict == "invalid":
        assert code in ("number_too_large", "too_long", "too_deep")


# ------------------------------------------------------- checked within the time budget

def _long_sum(limit: int = 2000) -> tuple[str, str]:
    """A valid sum close to `limit` characters (grouped, so it is not too deep), and the same
    terms in the opposite order."""
    terms = [f"{k}*sin({k}*x)*cos(x/{k + 1})*exp(-x^2/{k + 2})" for k in range(1, 200)]
    groups: list[list[str]] = []
    for count in range(1, len(terms)):
        chunks = [terms[i:i + 8] for i in range(0, count, 8)]
        if len("+".join("(" + "+".join(c) + ")" for c in chunks)) > limit:
            break
        groups = chunks
    forward = "+".join("(" + "+".join(g) + ")" for g in groups)
    backward = "+".join("(" + "+".join(reversed(g)) + ")" for g in reversed(groups))
    return forward, backward


LONG_SUM, LONG_SUM_REVERSED = _long_sum()

# The answers below are never equal to the reference unless marked EQUAL. Refusing an answer as
# too large (`invalid`) or running out of time is always allowed; `correct` only for an equal
# answer, `incorrect` only for a different one.
EQUAL, DIFFERENT = True, False



def hostile(reference: str, answer: str, equal: bool, name: str, bug: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(reference, answer, equal, id=name, marks=marks)


CHECKED = [
    hostile("x", "x^(10^6)", DIFFERENT, "x^(10^6)"),
    hostile("x", "(x^1000)^1000", DIFFERENT, "(x^1000)^1000"),
    hostile("x", "((x^1000)^1000)^1000", DIFFERENT, "((x^1000)^1000)^1000"),
    hostile("x", "(x+1)^100000-(x+1)^100000+x", EQUAL, "(x+1)^100000 cancelling"),
    hostile("x", "(x+1)^10000-(x+1)^10000+x", EQUAL, "(x+1)^10000 cancelling"),
    hostile("1", "sin(10^9999)", DIFFERENT, "sin(10^9999)"),
    hostile("1", "tan(10^9999)", DIFFERENT, "tan(10^9999)"),
    hostile("1", "erf(10^9999)", DIFFERENT, "erf(10^9999)"),  # 1 - (about 10^(-10^19998))
    hostile("1", "acosh(10^9999)", DIFFERENT, "acosh(10^9999)"),
    hostile("1", "10^9999/10^9999", EQUAL, "10^9999/10^9999"),
    hostile("1", "(1+1/10^9999)^(10^9999)", DIFFERENT, "(1+1/10^9999)^(10^9999)"),
    hostile("1", "Catalan*10^9999-Catalan*10^9999", DIFFERENT, "Catalan*10^9999 cancelling"),
    hostile("1", "gcd(2^9000, 3^6000)", EQUAL, "gcd(2^9000, 3^6000)"),
    hostile("1", "lcm(2^9000, 3^6000)", DIFFERENT, "lcm(2^9000, 3^6000)"),
    hostile("1", "mod(2^9000, 7)", EQUAL, "mod(2^9000, 7)"),  # 2^3 = 1 (mod 7)
    hostile("1", "2^(1/10^9)", DIFFERENT, "2^(1/10^9)"),
    hostile("1", "sqrt(2)^(10^4)", DIFFERENT, "sqrt(2)^(10^4)"),
    hostile("1", "EulerGamma^(10^4)", DIFFERENT, "EulerGamma^(10^4)"),
    hostile("1", "exp(exp(20))", DIFFERENT, "exp(exp(20))"),
    hostile("x", "binomial(x, 99999)", DIFFERENT, "binomial(x, 99999)"),
    hostile("x", "tan(10^30*x)", DIFFERENT, "tan(10^30*x)"),
    hostile("x", "exp(exp(exp(x)))", DIFFERENT, "exp(exp(exp(x)))"),
    hostile("x", "(" * 59 + "x" + ")" * 59, EQUAL, "59 nested brackets"),
    hostile("x", "sin(" * 40 + "x" + ")" * 40, DIFFERENT, "40 nested calls"),
    hostile(LONG_SUM, LONG_SUM_REVERSED, EQUAL, "long sums"),
    hostile("1", "binomial(30000, 15000)", DIFFERENT, "binomial(30000, 15000)"),
    # Beyond a float's range at every sample point: settled exactly, not an OverflowError.
    hostile("binomial(13000, 6500)", "binomial(13000, 6499)", DIFFERENT, "binomial(13000, 6499)"),
    hostile("binomial(13000, 6500)*x", "x*binomial(13000, 6500)", EQUAL, "binomial(13000, 6500)*x"),
    hostile("binomial(13000, 6500)*x", "binomial(13000, 6499)*x", DIFFERENT, "binomial(...)*x"),
]


@pytest.mark.parametrize(("reference", "answer", "equal"), CHECKED)
def test_hostile_answers_never_hang(reference: str, answer: str, equal: bool) -> None:
    verdict, _, code = graded_within(reference, answer, CHECKED_BOUND)
    assert verdict in ("correct" if equal else "incorrect", "invalid", "timeout")
    if verdict == "invalid":
        assert code == "number_too_large"


def test_long_inputs_are_graded() -> None:
    assert 1900 < len(LONG_SUM) <= 2000
    verdict, _, _ = graded_within(LONG_SUM, LONG_SUM_REVERSED, CHECKED_BOUND)
    assert verdict == "correct"
    verdict, _, _ = graded_within(LONG_SUM, LONG_SUM_REVERSED + "+1", CHECKED_BOUND)
    assert verdict == "incorrect"


def test_hostile_references_are_errors() -> None:
    for reference in ("9^9^9^9", "x^(10^10)", "binomial(10^9, 5*10^8)", "x" * 2001):
        verdict, _, _ = graded_within(reference, "1", REFUSED_BOUND)
        assert verdict == "error"


# ----------------------------------------------------------------------- timeout option

@pytest.mark.parametrize("timeout", [
    pytest.param(0, id="zero"),
    pytest.param(-1, id="negative"),
    pytest.param("1", id="text"),
    pytest.param(True, id="bool"),
    pytest.param(math.inf, id="inf"),
    pytest.param(math.nan, id="nan"),
    pytest.param([1], id="list"),
    pytest.param(10**400, id="400 digits"),  # float() of it overflows
])
def test_the_timeout_option_is_validated(timeout: Any) -> None:
    result = grade("2*x", "x*2", timeout=timeout)
    assert result.verdict == "error"
    assert result.error is not None
    assert result.error.get("field") == "timeout"


def test_running_out_of_time_is_a_timeout_never_correct() -> None:
    reference, answer = "sin(x)^2+cos(x)^2+x^7", "1+x^7"
    result = grade(reference, answer, timeout=1e-9)
    assert result.verdict == "timeout"
    assert result.score == 0.0
    assert result.error is not None and result.error["code"] == "timeout"
    # a timeout is not remembered: a bigger budget gets the real verdict
    assert grade(reference, answer, timeout=1e-9).verdict == "timeout"
    assert grade(reference, answer, timeout=10).verdict == "correct"


def test_a_small_budget_is_honoured() -> None:
    verdict, _, _ = graded_within("exp(x)*sin(x)", "sin(x)*exp(x)", 2.0, timeout=0.5)
    assert verdict in ("correct", "timeout")
