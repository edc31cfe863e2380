"""A realistic quiz workload for the grading benchmark, generated deterministically.

Each question is a reference answer of the kind quizzes ask for, with the answers learners
really type: equivalent rewrites (hand-written, several per question), the common wrong
answers (sign errors, missing terms, wrong constants, dropped factors, a lowercase `e`) and
inputs the learner syntax rejects (`3x`, `sin x`, unbalanced brackets). Every answer carries
its expected verdict; `grading.py` checks graders against these labels.

Two workloads come out of it:

- `unique_items()`: every (question, answer) pair once;
- `batch_items(seed, learners)`: a batch as a course exports it, learner by learner, where the
  answers are drawn with a skewed (Zipf-like) distribution, so many learners type the same
  answer, sometimes with different spacing.

Run it to print either workload as JSON Lines (the `mathgrader grade-batch` input format):
`.venv/bin/python benchmarks/workload.py [--unique] [--learners N] [--seed S]`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "QUESTIONS", "Question", "batch_items", "distinct_items", "unique_items"]

KINDS = ("polynomial", "rational", "trig", "exp/log", "root", "constant", "decimal", "invalid")

DEFAULT_SEED = 20240611
DEFAULT_LEARNERS = 60


@dataclass(frozen=True)
class Question:
    """One quiz question: its reference and the answers learners type, most common first."""

    id: str
    kind: str
    reference: str
    correct: tuple[str, ...]
    wrong: tuple[str, ...]
    invalid: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)


def q(id: str, kind: str, reference: str, correct: list[str], wrong: list[str],
      invalid: list[str], **options: Any) -> Question:
    return Question(id, kind, reference, tuple(correct), tuple(wrong), tuple(invalid), options)


QUESTIONS: tuple[Question, ...] = (
    # ------------------------------------------------------------------ polynomials
    q("poly/derivative", "polynomial", "3*x^2 + 2*x - 5",
      ["3*x^2 + 2*x - 5", "3*x^2+2*x-5", "2*x + 3*x^2 - 5", "-5 + 2*x + 3*x^2",
       "x*(3*x + 2) - 5", "(3*x + 5)*(x - 1)", "3*x*x + 2*x - 5"],
      ["3*x^2 + 2*x + 5", "3*x^2 + 2*x", "x^3 + x^2 - 5*x", "6*x + 2", "3*x^2 - 2*x - 5",
       "3*x^2 + x - 5"],
      ["3x^2 + 2x - 5", "3*x^2 + 2*x - 5)", "3*x**2 + 2*x - 5"]),
    q("poly/difference-of-squares", "polynomial", "(x - 3)*(x + 3)",
      ["(x - 3)*(x + 3)", "(x + 3)*(x - 3)", "x^2 - 9", "-9 + x^2", "x*x - 9",
       "(3 + x)*(x - 3)"],
      ["(x - 3)^2", "x^2 + 9", "(x - 9)*(x + 9)", "x^2 - 3", "x2 - 9", "(x + 3)^2"],
      ["(x-3)(x+3)", "(x - 3)*(x + 3", "x^2 - 9 ="]),
    q("poly/cube", "polynomial", "x^3 + 6*x^2 + 12*x + 8",
      ["x^3 + 6*x^2 + 12*x + 8", "(x + 2)^3", "(2 + x)^3", "x^3 + 8 + 6*x^2 + 12*x",
       "(x + 2)*(x^2 + 4*x + 4)"],
      ["x^3 + 8", "x^3 + 6*x^2 + 6*x + 8", "x^3 + 2*x^2 + 4*x + 8", "3*(x + 2)^2",
       "x^3 + 6*x^2 + 12*x + 6"],
      ["x^3 + 6x^2 + 12x + 8", "(x + 2)^3)"]),
    q("poly/collect", "polynomial", "2*x^3 - 4*x^2 + x - 7",
      ["2*x^3 - 4*x^2 + x - 7", "x - 7 + 2*x^3 - 4*x^2", "2*x^3 - 4*x^2 + 1*x - 7",
       "x*(2*x^2 - 4*x + 1) - 7"],
      ["2*x^3 - 4*x^2 + x + 7", "2*x^3 + 4*x^2 + x - 7", "2*x^3 - 4*x^2 - 7",
       "2*x^3 - 4*x + x - 7"],
      ["2x^3 - 4x^2 + x - 7", "2*x^3 - 4*x^2 + x - "]),
    q("poly/square-of-sum", "polynomial", "(x + y)^2",
      ["(x + y)^2", "x^2 + 2*x*y + y^2", "(y + x)^2", "x^2 + y^2 + 2*x*y", "(x + y)*(x + y)"],
      ["x^2 + y^2", "x^2 + x*y + y^2", "(x - y)^2", "2*(x + y)", "x^2 + 2*x*y + 2*y^2"],
      ["x^2 + 2xy + y^2", "(x+y)(x+y)", "(x + y^2"]),
    q("poly/factor-out", "polynomial", "c*(a + b)",
      ["c*(a + b)", "a*c + b*c", "(a + b)*c", "c*a + c*b", "c*(b + a)"],
      ["c*a + b", "a*b + c", "c*(a - b)", "a + b + c", "c^2*(a + b)", "ac + bc"],
      ["c(a + b)", "c*(a + b"]),
    q("poly/triangular", "polynomial", "n*(n + 1)/2",
      ["n*(n + 1)/2", "(n^2 + n)/2", "n^2/2 + n/2", "(n + 1)*n/2", "0.5*n*(n + 1)"],
      ["n*(n - 1)/2", "n^2/2", "n*(n + 1)", "(n + 1)/2"],
      ["n(n + 1)/2", "n*(n+1)/2)"],
      variables={"n": "integer"}),
    q("poly/projectile", "polynomial", "-16*t^2 + 64*t",
      ["-16*t^2 + 64*t", "64*t - 16*t^2", "16*t*(4 - t)", "-16*t*(t - 4)", "-16*(t^2 - 4*t)"],
      ["16*t^2 - 64*t", "-16*t^2 + 64", "-32*t + 64", "-16*t^2 + 4*t", "-16*t^2 - 64*t"],
      ["-16t^2 + 64t", "-16*t^2 + 64*t)"]),
    # ------------------------------------------------------------- rational functions
    q("rational/cancel", "rational", "x + 1",
      ["x + 1", "1 + x", "(x^2 - 1)/(x - 1)", "(x + 1)*(x - 1)/(x - 1)", "x+1"],
      ["x - 1", "x", "x^2", "(x^2 + 1)/(x - 1)", "x + 2"],
      ["(x^2 - 1)/(x - 1", "x+ +"]),
    q("rational/add-fractions", "rational", "(2*x + 1)/(x*(x + 1))",
      ["(2*x + 1)/(x*(x + 1))", "(2*x + 1)/(x^2 + x)", "1/x + 1/(x + 1)",
       "(x + 1 + x)/(x*(x + 1))", "(1 + 2*x)/(x^2 + x)"],
      ["2/(2*x + 1)", "1/(x^2 + x)", "(2*x + 1)/(x + 1)", "2/(x*(x + 1))", "2/(x^2 + x)"],
      ["(2x + 1)/(x(x + 1))", "(2*x + 1)/(x*(x + 1)"]),
    q("rational/partial-fractions", "rational", "1/(x - 1) - 1/(x + 1)",
      ["1/(x - 1) - 1/(x + 1)", "2/(x^2 - 1)", "2/((x - 1)*(x + 1))", "-1/(x + 1) + 1/(x - 1)"],
      ["1/(x - 1) + 1/(x + 1)", "2/(x^2 + 1)", "1/(x^2 - 1)", "-2/(x^2 - 1)",
       "1/(x + 1) - 1/(x - 1)"],
      ["1/(x - 1) - 1/(x + 1", "2/(x^2 - 1))"]),
    q("rational/reciprocal-derivative", "rational", "-1/x^2",
      ["-1/x^2", "-x^(-2)", "-1/(x*x)", "-(1/x)^2", "-x^-2", "(-1)/x^2"],
      ["1/x^2", "-1/x", "-2/x^3", "-1/(2*x)", "ln(x)", "-1/x^3"],
      ["-1/x2 ^", "-1/(x^2"]),
    q("rational/removable", "rational", "1/(x + 2)",
      ["1/(x + 2)", "(x + 3)/(x^2 + 5*x + 6)", "(x + 2)^(-1)", "1/(2 + x)"],
      ["1/(x + 3)", "1/(x - 2)", "x + 2", "1/x + 1/2", "2/(x + 2)"],
      ["1/(x + 2", "1/(x+2))"]),
    q("rational/two-variables", "rational", "(x^2 + y^2)/(x*y)",
      ["(x^2 + y^2)/(x*y)", "x/y + y/x", "(y^2 + x^2)/(y*x)", "(x^2 + y^2)/x/y"],
      ["(x + y)/(x*y)", "(x^2 + y^2)/(x + y)", "2", "(x + y)^2/(x*y)", "x/y - y/x",
       "(x^2 + y^2)/(xy)"],
      ["x/y + y/x)", "(x^2 + y^2)/(x y)"]),
    q("rational/simplify", "rational", "2/(x + 3)",
      ["2/(x + 3)", "2/(3 + x)", "(2*x - 6)/(x^2 - 9)", "2*(x - 3)/((x - 3)*(x + 3))"],
      ["2/(x - 3)", "1/(x + 3)", "-2/(x + 3)", "2/(x + 9)", "2*x/(x + 3)"],
      ["2/(x + 3", "2(x - 3)/(x^2 - 9)"]),
    # ----------------------------------------------------------------- trigonometry
    q("trig/double-angle-sin", "trig", "sin(2*x)",
      ["2*sin(x)*cos(x)", "sin(2*x)", "2*cos(x)*sin(x)", "sin(x)*cos(x)*2", "sin(x + x)"],
      ["2*sin(x)", "sin(x)*cos(x)", "2*cos(x)", "cos(2*x)", "2*sin(x)*cos(2*x)"],
      ["2sin(x)cos(x)", "2*sin x*cos x", "sin(2x)"]),
    q("trig/double-angle-cos", "trig", "cos(2*x)",
      ["cos(x)^2 - sin(x)^2", "cos(2*x)", "1 - 2*sin(x)^2", "2*cos(x)^2 - 1"],
      ["cos(x)^2 + sin(x)^2", "2*cos(x)", "1 - sin(x)^2", "1 - 2*cos(x)^2",
       "cos(x)^2 - sin(x)"],
      ["cos^2(x) - sin^2(x)", "cos(2x)", "cos(x)^2 - sin(x)^2)"]),
    q("trig/tan-derivative", "trig", "1/cos(x)^2",
      ["1/cos(x)^2", "1 + tan(x)^2", "cos(x)^(-2)", "1/(cos(x)*cos(x))",
       "(sin(x)^2 + cos(x)^2)/cos(x)^2"],
      ["1/cos(x)", "tan(x)^2", "-1/sin(x)^2", "1/sin(x)^2", "-1/cos(x)^2"],
      ["sec(x)^2", "1/cos^2(x)", "sec^2 x"]),
    q("trig/cos-derivative", "trig", "-sin(x)",
      ["-sin(x)", "-1*sin(x)", "sin(-x)", "-(sin(x))", "cos(x + pi/2)"],
      ["sin(x)", "-cos(x)", "cos(x)", "-sin(x)*x", "sin(x) - 1"],
      ["-sin x", "-sin(x", "-Sin(x)"]),
    q("trig/quotient", "trig", "tan(x)",
      ["tan(x)", "sin(x)/cos(x)", "sin(x)*cos(x)^(-1)", "sin(2*x)/(1 + cos(2*x))"],
      ["cos(x)/sin(x)", "sin(x)", "1/cos(x)", "tan(2*x)", "cot(x)"],
      ["tan x", "sin(x)/cos(x", "tg(x)"]),
    q("trig/shift", "trig", "cos(x)",
      ["cos(x)", "sin(x + pi/2)", "sin(pi/2 - x)", "cos(-x)", "-cos(x + pi)"],
      ["-cos(x)", "sin(x)", "-sin(x)", "cos(x) + pi/2", "sin(x - pi/2)"],
      ["cos x", "sin(x+pi/2"]),
    q("trig/chain-rule", "trig", "3*cos(3*x + 1)",
      ["3*cos(3*x + 1)", "cos(3*x + 1)*3", "3*cos(1 + 3*x)"],
      ["cos(3*x + 1)", "-3*cos(3*x + 1)", "3*sin(3*x + 1)", "3*cos(3*x)", "cos(3)*3*x"],
      ["3cos(3x + 1)", "3*cos(3*x + 1"]),
    # -------------------------------------------------------------- exponentials and logs
    q("explog/chain-rule", "exp/log", "2*E^(2*x)",
      ["2*E^(2*x)", "2*exp(2*x)", "E^(2*x)*2", "2*(E^x)^2", "2*E^x*E^x"],
      ["E^(2*x)", "2*e^(2*x)", "2*x*E^(2*x)", "E^(2*x)/2", "2*E^x"],
      ["2E^(2x)", "2*E^(2*x", "2*exp 2*x"]),
    q("explog/log-rules", "exp/log", "2*ln(x) + ln(y)",
      ["2*ln(x) + ln(y)", "ln(x^2*y)", "ln(x^2) + ln(y)", "ln(y) + 2*ln(x)", "ln(x*x*y)"],
      ["2*ln(x)*ln(y)", "ln(2*x) + ln(y)", "2*ln(x + y)", "2*ln(x) - ln(y)", "ln(x^2 + y)"],
      ["2ln(x) + ln(y)", "2*ln x + ln y", "ln(x^2*y"],
      variables={"x": "positive", "y": "positive"}),
    q("explog/product-rule", "exp/log", "x*E^x",
      ["x*E^x", "x*exp(x)", "E^x*x", "(x - 1)*E^x + E^x", "exp(x)*x"],
      ["E^x", "(x - 1)*E^x", "x*E^(x - 1)", "E^x + x", "x*e^x", "xE^x"],
      ["x*e^x)", "x*exp x", "x E^x"]),
    q("explog/sum-of-logs", "exp/log", "ln(6)",
      ["ln(6)", "ln(2) + ln(3)", "ln(2*3)", "ln(3) + ln(2)", "1.791759469228055"],
      ["ln(5)", "ln(2)*ln(3)", "ln(1.5)", "1.79", "log(6)"],
      ["ln 6", "ln(6"]),
    q("explog/shift", "exp/log", "E^(x + 1)",
      ["E^(x + 1)", "E*E^x", "exp(x)*E", "exp(x + 1)", "E^x*E^1"],
      ["E^x + E", "E^x + 1", "E^x", "x*E^(x + 1)", "e^(x + 1)"],
      ["E^(x + 1", "E^x+1)"]),
    q("explog/common-log", "exp/log", "ln(x)/ln(10)",
      ["log(x)", "ln(x)/ln(10)", "log(x^2)/2", "ln(x)/ln(2*5)"],
      ["ln(x)", "ln(x)*ln(10)", "log(x)/ln(10)", "10^x", "ln(x)/10"],
      ["log x", "ln(x)/ln(10"],
      variables={"x": "positive"}),
    q("explog/power-derivative", "exp/log", "2^x*ln(2)",
      ["2^x*ln(2)", "ln(2)*2^x", "E^(x*ln(2))*ln(2)", "ln(2)*2^(x)"],
      ["x*2^(x - 1)", "2^x", "2^x/ln(2)", "2^x*log(2)", "2^x*ln(x)"],
      ["2^xln(2)", "2^x*ln 2", "2^x*ln(2"]),
    q("explog/solve", "exp/log", "ln(5)/ln(3)",
      ["ln(5)/ln(3)", "log(5)/log(3)", "1.4649735207179269", "ln(5)*ln(3)^(-1)"],
      ["5/3", "ln(5/3)", "ln(3)/ln(5)", "1.46", "ln(5) - ln(3)", "ln5/ln3"],
      ["ln 5/ln 3", "ln(5)/ln(3"]),
    # ------------------------------------------------------------------------- roots
    q("root/derivative", "root", "1/(2*sqrt(x))",
      ["1/(2*sqrt(x))", "x^(-1/2)/2", "0.5*x^(-0.5)", "1/(2*x^(1/2))", "sqrt(x)/(2*x)"],
      ["2*sqrt(x)", "1/sqrt(x)", "x^(1/2)/2", "-1/(2*sqrt(x))", "1/2*sqrt(x)"],
      ["1/(2sqrt(x))", "1/2*sqrt x", "1/(2*sqrt(x)"],
      variables={"x": "positive"}),
    q("root/simplify-surd", "root", "2*sqrt(3)",
      ["2*sqrt(3)", "sqrt(12)", "sqrt(4*3)", "2*3^(1/2)", "12^(1/2)"],
      ["3*sqrt(2)", "4*sqrt(3)", "6", "2*sqrt(6)", "sqrt(6)"],
      ["2sqrt(3)", "2*sqrt 3", "sqrt(12"]),
    q("root/abs", "root", "abs(x)",
      ["abs(x)", "sqrt(x^2)", "(x^2)^(1/2)", "abs(-x)"],
      ["x", "-x", "x^2", "sqrt(x)"],
      ["|x|", "abs x"]),
    q("root/cube-root", "root", "x^(1/3)",
      ["x^(1/3)", "root(x, 3)", "x^(2/3)/x^(1/3)", "sqrt(x)^(2/3)"],
      ["x/3", "x^3", "3*x^(1/3)", "x^(-1/3)", "x^(1/2)"],
      ["x^1/3)", "root(x 3)", "cbrt(x)"],
      variables={"x": "positive"}),
    q("root/rationalise", "root", "sqrt(2)/2",
      ["sqrt(2)/2", "1/sqrt(2)", "2^(-1/2)", "sqrt(1/2)", "0.7071067811865476"],
      ["sqrt(2)", "2/sqrt(2)", "1/2", "0.7071", "2*sqrt(2)", "sqrt2/2"],
      ["sqrt(2)/2)", "1/sqrt 2", "sqrt 2/2"]),
    q("root/product", "root", "sqrt(a*b)",
      ["sqrt(a*b)", "sqrt(a)*sqrt(b)", "(a*b)^(1/2)", "a^(1/2)*b^(1/2)"],
      ["sqrt(a + b)", "sqrt(a) + sqrt(b)", "a*b", "sqrt(a)*b", "sqrt(ab)"],
      ["sqrt(a)sqrt(b)", "sqrt(a*b"],
      variables={"a": "positive", "b": "positive"}),
    # --------------------------------------------------------------------- constants
    q("const/limit", "constant", "oo",
      ["oo", "+oo", "2*oo"],
      ["-oo", "0", "zoo", "1"],
      ["infinity)", "oo oo"]),
    q("const/arctan", "constant", "pi/4",
      ["pi/4", "atan(1)", "acos(sqrt(2)/2)", "0.25*pi", "0.7853981633974483"],
      ["pi/2", "45", "1", "0.785", "4/pi"],
      ["pi4)", "1/4pi", "atan 1"]),
    q("const/dice", "constant", "1/6",
      ["1/6", "2/12", "0.1666666667", "1/2*1/3", "6/36"],
      ["0.17", "1/3", "6", "0.1667", "1/36"],
      ["1/6)", "1 6"]),
    q("const/fraction", "constant", "2/3",
      ["2/3", "4/6", "0.666667", "1 - 1/3", "0.6666666667"],
      ["0.67", "3/2", "2/9", "0.6", "1/3"],
      ["2/3)", "(2/3"]),
    q("const/e-squared", "constant", "E^2",
      ["E^2", "exp(2)", "E*E", "7.38905609893065"],
      ["2*E", "E^3", "7.39", "e^2", "exp(2)^2"],
      ["E ^", "exp 2", "E^(2"]),
    q("const/power-of-two", "constant", "2^10",
      ["1024", "2^10", "4^5", "2^5*2^5", "32^2"],
      ["1000", "2^9", "20", "1023", "2048"],
      ["2^10)", "10 24"]),
    q("const/complex-square", "constant", "(1 + I)^2",
      ["2*I", "I*2", "(1 + I)^2", "2*J"],
      ["2", "-2*I", "2 + 2*I", "2*I + 1", "I"],
      ["2I", "2*i)"]),
    # ---------------------------------------------------------- decimals with tolerances
    q("decimal/gravity", "decimal", "9.81",
      ["9.81", "9.8", "981/100", "9.79", "9.82"],
      ["98.1", "-9.81", "9.6", "10.5", "0.981"],
      ["9,81,", "9.81)"],
      relative_tolerance=0.01),
    q("decimal/pi-approx", "decimal", "3.14159",
      ["3.14", "pi", "3.14159", "22/7", "3.142"],
      ["3.1", "6.28", "3.41", "1.57", "31.4"],
      ["3..14", "3.14)"],
      absolute_tolerance=0.01),
    q("decimal/gas-constant", "decimal", "0.0821",
      ["0.0821", "0.08206", "8.21*10^(-2)", "8.2e-2", "0.08205"],
      ["0.821", "8.21", "0.0812", "0.0082", "8.314"],
      ["0.0821)", "8.21*10^-2)"],
      relative_tolerance=0.005),
    q("decimal/antiderivative", "decimal", "0.5*x^2 + 1.5*x",
      ["0.5*x^2 + 1.5*x", "x^2/2 + 3*x/2", "x*(x + 3)/2", "0.5*x*(x + 3)", "1.5*x + 0.5*x^2"],
      ["0.5*x^2 + 1.5", "x^2 + 1.5*x", "0.5*x^2 - 1.5*x", "0.5*x + 1.5", "x^2 + 3*x"],
      ["0.5x^2 + 1.5x", "0.5*x^2 + 1.5*x)"]),
    q("decimal/free-fall", "decimal", "4.9*t^2",
      ["4.9*t^2", "9.81/2*t^2", "4.905*t^2", "49*t^2/10", "4.9*t*t"],
      ["9.8*t^2", "4.9*t", "9.8*t", "4.9*t^2 + 9.8", "4.9^2*t"],
      ["4.9t^2", "4.9*t^2)"],
      relative_tolerance=0.01, variables={"t": [0, 10]}),
    q("decimal/interest", "decimal", "1000*1.05^n",
      ["1000*1.05^n", "1000*(1 + 0.05)^n", "1000*(21/20)^n", "10^3*1.05^n", "1.05^n*1000"],
      ["1000*0.05^n", "1000*1.5^n", "1000 + 50*n", "1050^n", "1000*1.05*n"],
      ["1000(1.05)^n", "1000*1.05^n)"],
      relative_tolerance=1e-4, variables={"n": [0, 30]}),
    q("decimal/e-approx", "decimal", "2.718",
      ["2.718", "E", "2.7183", "exp(1)", "2.7182818"],
      ["2.7", "2.817", "3", "2.71", "E^2"],
      ["2.718.", "exp 1"],
      absolute_tolerance=0.001),
)


def _item(question: Question, answer: str, expect: str, item_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "reference": question.reference,
        "answer": answer,
        "options": dict(question.options),
        "expect": expect,
        "kind": "invalid" if expect == "invalid" else question.kind,
    }


def _labelled(question: Question) -> list[tuple[str, str]]:
    pairs = [(a, "correct") for a in question.correct]
    pairs += [(a, "incorrect") for a in question.wrong]
    pairs += [(a, "invalid") for a in question.invalid]
    return pairs


def unique_items() -> list[dict[str, Any]]:
    """Every (question, answer) pair once, in question order."""
    items = []
    for question in QUESTIONS:
        seen: set[str] = set()
        for n, (answer, expect) in enumerate(_labelled(question)):
            if answer in seen:
                continue
            seen.add(answer)
            items.append(_item(question, answer, expect, f"{question.id}#{n:02d}"))
    return items


def _zipf(count: int, exponent: float = 1.3) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(count)]


def _compact(answer: str) -> str:
    # Only applied to answers that parse: there, spaces never separate two operands.
    return answer.replace(" ", "")


def batch_items(seed: int = DEFAULT_SEED, learners: int = DEFAULT_LEARNERS) -> list[dict[str, Any]]:
    """A batch as a course exports it: learner by learner, every question they attempted.

    Per question, a difficulty sets how often learners get it right (45-85%) and how often they
    type something the syntax rejects (5-15%); within each group the first-listed answers are
    the common ones (Zipf weights), and a quarter of learners type without spaces.
    """
    rng = random.Random(seed)
    mix = [(rng.uniform(0.45, 0.85), rng.uniform(0.05, 0.15)) for _ in QUESTIONS]
    items = []
    for learner in range(learners):
        for question, (p_correct, p_invalid) in zip(QUESTIONS, mix, strict=True):
            if rng.random() < 0.05:  # skipped the question
                continue
            draw = rng.random()
            if draw < p_correct:
                group, expect = question.correct, "correct"
            elif draw < p_correct + p_invalid:
                group, expect = question.invalid, "invalid"
            else:
                group, expect = question.wrong, "incorrect"
            answer = rng.choices(group, weights=_zipf(len(group)))[0]
            if expect != "invalid" and rng.random() < 0.25:
                answer = _compact(answer)
            items.append(_item(question, answer, expect, f"{question.id}/learner-{learner:03d}"))
    return items


# Options under which k*(reference) vs k*(answer) would not keep the item's verdict.
_NOT_SCALABLE = {"form", "list", "absolute_tolerance", "answers", "feedback"}


def distinct_items(count: int) -> list[dict[str, Any]]:
    """`count` items that are all different, so no cache ever helps: every check is cold.

    Line i is a labelled item with both sides multiplied by i + 2, which keeps its verdict
    (equal iff equal, and a syntax error stays one); items whose options make scaling change the
    verdict (forms, absolute tolerances, lists) are left out. For measuring the batch engine
    when every line costs a full check.
    """
    base = [item for item in unique_items() if not _NOT_SCALABLE & set(item["options"])]
    items = []
    for i in range(count):
        item = base[i % len(base)]
        k = i + 2
        items.append({**item, "id": f"{item['id']}*{k}",
                      "reference": f"{k}*({item['reference']})",
                      "answer": f"{k}*({item['answer']})"})
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unique", action="store_true", help="every pair once, no repeats")
    parser.add_argument("--learners", type=int, default=DEFAULT_LEARNERS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    items = unique_items() if args.unique else batch_items(args.seed, args.learners)
    for item in items:
        sys.stdout.write(json.dumps(item) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
