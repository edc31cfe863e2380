"""Batch workers start without SymPy and load it before the first line that needs it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from mathgrader.checker.grade import _may_need_sympy, grade_item, prepare_item

NEEDS_SYMPY = [
    {"reference": "x^2 - 1", "answer": "(x - 1)*(x + 1)", "options": {"form": "factored"}},
    {"reference": "x + 1", "answer": "1 + x", "options": {"form": "simplified"}},
    {"reference": "x*oo", "answer": "oo"},
    {"reference": "oo", "answer": "zoo + x"},
    {"reference": "1", "answer": "nan*sin(1)"},
]
NO_SYMPY = [
    {"reference": "x^2 - 1", "answer": "(x - 1)*(x + 1)"},
    {"reference": "x + 1", "answer": "1 + x", "options": {"form": "any"}},
    {"reference": "oo", "answer": "2*oo"},
    {"reference": "-oo", "answer": "-(oo) + 1"},
    {"reference": "zoo", "answer": "1/0"},
    {"reference": "root(x, 3)", "answer": "x^(1/3)"},  # "oo" inside a function name
    {"reference": "floor(x)", "answer": "floor(x)"},
    {"reference": "x", "answer": "noon"},
    {"reference": 3, "answer": None, "options": "form"},  # malformed: grade_item answers it
]


@pytest.mark.parametrize("item", NEEDS_SYMPY, ids=[str(i) for i in NEEDS_SYMPY])
def test_lines_that_use_sympy_are_foreseen(item: dict[str, object]) -> None:
    assert _may_need_sympy(item)


@pytest.mark.parametrize("item", NO_SYMPY, ids=[str(i) for i in NO_SYMPY])
def test_lines_that_do_not_use_sympy_are_left_alone(item: dict[str, object]) -> None:
    assert not _may_need_sympy(item)


def test_the_batch_workers_prepare_hook_is_prepare_item() -> None:
    assert grade_item.prepare is prepare_item  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_worker_loads_sympy_only_for_a_line_that_needs_it() -> None:
    # What a batch worker does: the fork server's warm-up, then prepare + grade for each line.
    script = textwrap.dedent(f"""
        import sys
        import mathgrader.batch._warmup
        from mathgrader.checker.grade import grade_item
        loaded = ["sympy" in sys.modules]
        for item in {NO_SYMPY[:-1]!r}:
            grade_item.prepare(item)
            grade_item(item)
        loaded.append("sympy" in sys.modules)
        grade_item.prepare({NEEDS_SYMPY[0]!r})
        loaded.append("sympy" in sys.modules)
        print(loaded)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[False, False, True]"
