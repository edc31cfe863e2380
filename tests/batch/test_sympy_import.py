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


# A worker's memory limit (RLIMIT_AS) met in the middle of SymPy's import: the import fails with
# MemoryError, leaving the submodules it finished behind. The next import ran the package again
# around them without binding them ("module 'sympy' has no attribute 'polys'"), and every later
# line needing SymPy in that worker failed as "the grading function failed" (seen once in three
# runs of the hostile-input batch).
MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys, warnings
    warnings.simplefilter("ignore")
    from mathgrader.checker.grade import grade, warm_up
    from mathgrader.language.builder import load_sympy
    warm_up(sympy=False)  # what a worker has before its first SymPy line
    def address_space():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize"):
                return int(line.split()[1]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (address_space() + 8 * 2**20, resource.RLIM_INFINITY))
    try:
        load_sympy()
        failed = False
    except MemoryError:
        failed = True
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    factored = grade("x^2 - 1", "(x-1)*(x+1)", form="factored").verdict
    print(failed, grade("x", "nan^0").verdict, factored)
""")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_sympy_import_cut_short_by_the_memory_limit_is_retried_whole() -> None:
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.stdout.strip() == "True incorrect correct", done.stderr[-2000:]
