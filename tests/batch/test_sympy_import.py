"""A batch worker may import SymPy inside a check, under the time budget's alarm: the alarm must
wait for the import to finish, or SymPy is left half-initialized for the rest of the worker.

(Run with "plain" instead of "held", the script below usually ends in an AttributeError from a
half-imported SymPy or mpmath, but not always: where the alarm lands decides.)"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import signal, sys, time

    class Alarm(BaseException):
        pass

    def on_alarm(signum, frame):
        raise Alarm

    signal.signal(signal.SIGALRM, on_alarm)
    from mathgrader.language.builder import load_sympy
    assert "sympy" not in sys.modules
    signal.setitimer(signal.ITIMER_REAL, 0.02)  # far shorter than the import
    interrupted = False
    try:
        load_sympy() if sys.argv[1] == "held" else __import__("sympy")
        time.sleep(1)  # the alarm, held back during the import, arrives by now
    except Alarm:
        interrupted = True
    import sympy
    x = sympy.Symbol("x")
    usable = hasattr(sympy, "polys") and str(sympy.factor(x**2 - 1)) == "(x - 1)*(x + 1)"
    print(interrupted, usable)
""")


def _run(mode: str) -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                          timeout=120, check=False)
    return done.stdout.strip() or done.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_the_alarm_waits_for_the_sympy_import() -> None:
    assert _run("held") == "True True"
