"""Piecewise answers that part beyond the sampled range: probed where a piece changes."""

from __future__ import annotations

import numpy as np
import pytest

from mathgrader import grade
from mathgrader.checker.kinks import kink_points, switches
from mathgrader.language.parser import parse_tree


@pytest.mark.parametrize(
    ("reference", "answer", "options", "where"),
    [
        # A tax of 20% above an allowance of 10,000: the samples never reach it.
        ("0.2*max(x - 10000, 0)", "0", {}, "x = 10010"),
        ("max(x - 10000, 0)/5", "0", {}, None),  # exact inputs: caught by exact points already
        ("sign(x - 10^5)", "-1", {}, "x = 100100"),
        ("abs(x - 10^5)", "10^5 - x", {}, "x = 100100"),
        ("max(x, 10^6)", "10^6", {}, "x = 1001000"),
        ("-max(-x, -10^8)", "x", {}, "x = 100100000"),
        ("min(x, 4000)", "x", {}, None),  # exact: its integer points reach 4000 already
        ("min(x, 4000.0)", "x", {}, "x = 4004"),
        ("abs(n - 500)", "500 - n", {"variables": {"n": "integer"}}, "n = 501"),
        ("abs(x - 3000.0)", "3000 - x", {"variables": {"x": "positive"}}, "x = 3003"),
        # The kink can be the answer's: the reference has no piecewise function at all.
        ("x", "x + max(x - 10^4, 0)", {}, None),
        ("2.5*x", "2.5*x + 0.1*max(x - 10^4, 0)", {}, "x = 10010"),
    ],
)
def test_answers_that_part_far_out_are_incorrect(
        reference: str, answer: str, options: dict[str, object], where: str | None) -> None:
    result = grade(reference, answer, **options)
    assert result.verdict == "incorrect", result
    if where is not None:
        assert result.feedback == f"Your answer differs from the expected answer at {where}."


def test_several_variables_probe_one_at_a_time() -> None:
    result = grade("max(x - 1e4, y)", "y")
    assert result.verdict == "incorrect"
    assert result.feedback is not None and result.feedback.startswith(
        "Your answer differs from the expected answer at x = ")


@pytest.mark.parametrize(
    ("reference", "answer", "options"),
    [
        ("abs(x - 10^5)", "sqrt((x - 10^5)^2)", {}),
        ("0.2*max(x - 10000, 0)", "max(0.2*x - 2000, 0)", {}),
        ("max(x - 10000, 0)", "(x - 10000 + abs(x - 10000))/2", {}),
        ("min(x, 10^4)", "-max(-x, -10^4)", {}),
        ("mod(x, 1000)", "x - 1000*floor(x/1000)", {}),
        ("sign(x - 10^5)*(x - 10^5)", "abs(x - 10^5)", {}),
        ("abs(n - 500)", "sqrt((n - 500)^2)", {"variables": {"n": "integer"}}),
        ("abs(x)", "x", {"variables": {"x": "positive"}}),
        ("min(x, 10^4)", "x", {"variables": {"x": [0, 100]}}),
        ("abs(x - 10^4) + sin(x)", "abs(10^4 - x) + sin(x + 2*pi)", {}),
        ("0.5*abs(x - 1.5e4)", "abs(0.5*x - 7500)", {}),
        ("max(x, 10^10)", "max(x, 10^10)", {}),
    ],
)
def test_equal_piecewise_answers_stay_correct(
        reference: str, answer: str, options: dict[str, object]) -> None:
    assert grade(reference, answer, **options).verdict == "correct"


def test_beyond_the_reach_nothing_is_probed() -> None:
    # Documented limit: kinks past +-1e9 are not looked for (floating point there cannot tell
    # sin(x + 2*pi) from sin(x) at the default tolerance).
    assert grade("max(x, 10^10)", "10^10").verdict == "correct"


def _switch_values(text: str, x: float, y: float) -> list[float]:
    """Each switch of `text` evaluated at (x, y): what it is, without printing trees."""
    from mathgrader.checker.evaluate import compile_numpy

    point = np.array([[x], [y]], dtype=complex)
    return [float(compile_numpy(node, {"x": 0, "y": 1})(point)[0].real)
            for node in switches(parse_tree(text).node)]


def test_switches_are_the_arguments_that_change_a_piece() -> None:
    # abs: x - 1; max: pairwise differences x - 2, x - y, 2 - y; floor: x/3 and x/3 - 1;
    # mod: x/7 and x/7 - 1; sign(sin(x)): a call inside, not followed.
    values = _switch_values("abs(x - 1) + max(x, 2, y) + floor(x/3) + mod(x, 7) + sign(sin(x))",
                            10.0, 4.0)
    assert values == pytest.approx([9.0, 8.0, 6.0, -2.0, 10 / 3, 10 / 3 - 1, 10 / 7, 10 / 7 - 1])
    assert _switch_values("gcd([x, 5, 2])", 1.0, 0.0) == []  # gcd has no piece to change
    assert _switch_values("abs(3) + floor(2.5)", 1.0, 0.0) == []  # no variable: no kink


def test_kinks_the_samples_visit_give_no_probe() -> None:
    node = parse_tree("abs(x) + max(x - 20000, 0)").node
    samples = np.linspace(-10, 10, 41).astype(complex)[None, :]
    points = kink_points([node], ("x",), samples[:, 0], samples, lambda _: "real", lambda: None)
    assert points.shape[0] == 1 and points.shape[1] > 0
    assert np.all(np.abs(points.real) > 1000)  # only around 20000, none around 0


def test_probes_keep_to_the_domain() -> None:
    node = parse_tree("abs(x + 5000)").node
    samples = np.linspace(0.5, 10, 20).astype(complex)[None, :]
    real = kink_points([node], ("x",), samples[:, 0], samples, lambda _: "real", lambda: None)
    assert real.shape[1] > 0 and np.all(real.real < 0)
    positive = kink_points([node], ("x",), samples[:, 0], samples, lambda _: "positive",
                           lambda: None)
    assert positive.shape[1] == 0


def test_the_deadline_is_checked() -> None:
    class Late(Exception):
        pass

    def late() -> None:
        raise Late

    node = parse_tree("max(x - 10000, 0)").node
    samples = np.zeros((1, 4), dtype=complex)
    with pytest.raises(Late):
        kink_points([node], ("x",), samples[:, 0], samples, lambda _: "real", late)
