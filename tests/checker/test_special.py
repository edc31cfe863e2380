"""Constants with oo, zoo and nan are valued without SymPy, exactly as SymPy values them.

`checker.special` stands in for SymPy on small constants. It is checked against SymPy itself:
on random constants of the grammar it handles, its value (when it gives one) is the value the
builder gives, to the bit of every Float; and grading with it gives the same Grade as grading
through SymPy. A fresh process grading typical answers must not import SymPy at all.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from fractions import Fraction
from typing import Any

import pytest
import sympy as sp
from hypothesis import event, given
from hypothesis import strategies as st

from mathgrader.checker import equivalence, special
from mathgrader.checker.grade import Grade, grade
from mathgrader.checker.special import Float, Special, evaluate_special, to_complex
from mathgrader.errors import InputError
from mathgrader.language.builder import build_sympy
from mathgrader.language.parser import parse_tree
from strategies import property_settings

SYMPY_VALUES = {Special.OO: sp.oo, Special.NEG_OO: -sp.oo, Special.ZOO: sp.zoo,
                Special.NAN: sp.nan}


# ------------------------------------------------------------------------ random constants

_NUMBERS = ["0", "1", "2", "3", "10", "444", "0.0", "0.5", "2.5", "0.1", "1.000001", "3.0",
            "1e-3", ".5", "100000000000000000000"]
# 0, 1 and the infinities twice as often: the rules differ there (0*oo, 1^oo, oo - oo).
_ATOMS = st.sampled_from([*_NUMBERS, "0", "1", "oo", "oo", "oo", "zoo", "zoo", "nan"])
_EXPONENTS = st.sampled_from(["0", "1", "2", "3", "-1", "(-2)", "(1/2)", "(-1/2)", "oo",
                              "(-oo)", "0.5"])


def _operand(text: str) -> str:
    return text if text.replace(".", "").replace("e-", "").isalnum() else f"({text})"


def _constants(depth: int) -> st.SearchStrategy[str]:
    """Constants of numbers, oo, zoo, nan and + - * / ^ nested up to `depth` deep."""
    if depth == 0:
        return st.one_of(_ATOMS, _ATOMS.map(lambda atom: f"-{atom}"))
    inner = _constants(depth - 1)
    binary = st.builds(lambda left, op, right: f"{_operand(left)}{op}{_operand(right)}",
                       inner, st.sampled_from(["+", "-", "*", "/", " + ", " - "]), inner)
    power = st.builds(lambda base, exponent: f"{_operand(base)}^{_operand(exponent)}",
                      inner, st.one_of(_EXPONENTS, inner))
    return st.one_of(inner, binary, binary, power, inner.map(lambda text: f"-({text})"))


CONSTANTS = _constants(3)


def same_value(value: Any, built: Any) -> bool:
    """Whether `special`'s value is the very number SymPy built (class, digits, precision),
    and converts to the same complex number the checker compares."""
    if isinstance(value, Special):
        return bool(built == SYMPY_VALUES[value])
    if isinstance(value, Fraction):
        same = built.is_Rational and (built.p, built.q) == (value.numerator, value.denominator)
    else:
        assert isinstance(value, Float)
        same = built.is_Float and (built._mpf_, built._prec) == (value.mpf, value.prec)
    return bool(same) and to_complex(value) == complex(built.evalf(30))


@property_settings(600)
@given(CONSTANTS)
def test_values_are_sympys(text: str) -> None:
    node = parse_tree(text).node
    value = evaluate_special(node)
    event("valued" if value is not None else "left to SymPy")
    try:
        built = build_sympy(node)
    except InputError:
        assert value is None, (text, value)  # too large for the builder: never valued here
        return
    if value is not None:
        assert same_value(value, built), (text, value, built)


PAIR_ATOMS = ["0", "1", "-1", "2", "-2", "(1/2)", "(-1/2)", "(3/2)", "(-3/2)", "(1/3)", "(-2/3)",
              "(5/7)", "0.0", "0.5", "-1.5", "1.0", "0.1", "oo", "-oo", "zoo", "nan"]


def test_every_pair_is_sympys() -> None:
    """Every operation on every pair of edge values, where random draws may miss one (1^oo)."""
    wrong, valued = [], 0
    for left, op, right in itertools.product(PAIR_ATOMS, "+-*/^", PAIR_ATOMS):
        node = parse_tree(f"{left}{op}{right}").node
        value = evaluate_special(node)
        if value is not None:
            valued += 1
            if not same_value(value, build_sympy(node)):
                wrong.append((f"{left}{op}{right}", value))
    assert wrong == []
    assert valued > 0.9 * len(PAIR_ATOMS) ** 2 * 5


def _grade_both_ways(reference: str, answer: str, **options: Any) -> tuple[Grade, Grade]:
    """The Grade with the fast path and with it switched off, each from a fresh checker (the
    default one caches verdicts)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(equivalence, "_DEFAULT", equivalence.Checker())
        fast = grade(reference, answer, **options)
        patch.setattr(equivalence, "_DEFAULT", equivalence.Checker())
        patch.setattr(special, "evaluate_special", lambda node: None)
        slow = grade(reference, answer, **options)
    return fast, slow


@property_settings(300)
@given(st.one_of(st.sampled_from(["oo", "-oo", "zoo", "nan", "0", "1", "0.5"]), _constants(2)),
       st.one_of(_constants(1), _constants(2), CONSTANTS),
       st.sampled_from([{}, {"relative_tolerance": 0.01}, {"absolute_tolerance": 0.5}]))
def test_grades_are_sympys(reference: str, answer: str, options: dict[str, Any]) -> None:
    both = [evaluate_special(parse_tree(text).node) is not None for text in (reference, answer)]
    event("fast path" if all(both) else "SymPy path")
    fast, slow = _grade_both_ways(reference, answer, **options)
    assert fast == slow, (reference, answer, options)


# -------------------------------------------------------------------------- quiz answers

# Answers seen in quizzes, with the value SymPy gives each.
QUIZ_ANSWERS = [
    ("oo", "oo"),
    ("+oo", "oo"),
    ("-oo", "-oo"),
    ("2*oo", "oo"),
    ("zoo", "zoo"),
    ("0", "0"),
    ("1", "1"),
    ("444*(oo)", "oo"),
    ("1/0", "zoo"),
    ("-(oo)", "-oo"),
    ("oo + 1", "oo"),
    ("oo - oo", "nan"),
    ("0*oo", "nan"),
    ("nan", "nan"),
    ("0/0", "nan"),
    ("-1/0", "zoo"),
    ("1/oo", "0"),
    ("oo^2", "oo"),
    ("(-oo)^3", "-oo"),
    ("2^oo", "oo"),
    ("(1/2)^oo", "0"),
    ("1^oo", "nan"),
    ("zoo + oo", "nan"),
    ("0.0*oo", "nan"),
    ("1.5 - 1.5", "0"),
    ("oo/0", "zoo"),
]
QUIZ_CASES = [
    pytest.param(reference, answer, value == reference, id=f"{reference} ~ {answer}")
    for reference in ("oo", "-oo", "zoo", "nan", "0")
    for answer, value in QUIZ_ANSWERS
]


@pytest.mark.parametrize(("reference", "answer", "correct"), QUIZ_CASES)
def test_quiz_answers(reference: str, answer: str, correct: bool) -> None:
    assert evaluate_special(parse_tree(answer).node) is not None  # the fast path takes it
    fast, slow = _grade_both_ways(reference, answer)
    assert fast == slow
    assert fast.verdict == ("correct" if correct else "incorrect")


@pytest.mark.parametrize("text", ["oo*x", "pi*oo", "sin(oo)", "oo^0.5", "2^(1/2)", "zoo^oo",
                                  "(-3/2)^(-oo)", "10^5000*oo"])
def test_left_to_sympy(text: str) -> None:
    """Variables, functions, other constants and powers it is unsure of are not valued."""
    assert evaluate_special(parse_tree(text).node) is None


def test_grading_imports_no_sympy() -> None:
    answers = ["oo", "+oo", "-oo", "2*oo", "zoo", "0", "1", "444*(oo)", "1/0", "-(oo)",
               "oo + 1", "oo - oo", "0*oo", "nan"]
    code = (
        "import json, sys\n"
        "from mathgrader.checker.grade import grade\n"
        f"verdicts = [grade('oo', answer).verdict for answer in {answers!r}]\n"
        "print(json.dumps({'verdicts': verdicts, 'sympy': 'sympy' in sys.modules}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=120)
    report = json.loads(result.stdout)
    assert report["sympy"] is False
    expected = dict(QUIZ_ANSWERS)
    assert report["verdicts"] == [
        "correct" if expected[answer] == "oo" else "incorrect" for answer in answers]
