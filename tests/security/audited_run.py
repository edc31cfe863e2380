"""Run the public API and the CLI over hostile texts under a `sys.addaudithook` watch.

Usage: `python audited_run.py [--canary] < texts.json` (a JSON list of strings). Prints one JSON
object: the number of calls made and every audit event that would mean learner text reached an
interpreter or the system:
- `compile`/`exec` of code that is not a library file, when mathgrader's own code asked for it:
  directly (eval, exec, compile) or through SymPy's string parsers (sympify, parse_expr);
- `compile` of any source that contains the text being graded, whoever asked;
- `os.system`, process creation, network connections, and `open` of files outside the Python
  installation and the project.
SymPy also generates code of its own while it computes (e.g. monomial helpers, or the constants
of a lazily imported module); those compilations are counted, not reported. `--canary` does each
reported thing once after the texts (reported apart, as `canary_events`), to show that the
watch sees it.

Run by tests/security/test_hostile_core.py; a separate process because audit hooks cannot be
removed once added.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import tempfile
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

PROCESS_EVENTS = {"os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                  "os.forkpty", "subprocess.Popen", "pty.spawn", "os.startfile"}
NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo"}


def _allowed_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             str(Path(__file__).resolve().parents[2] / "src"),
             str(Path(__file__).resolve().parents[2] / "grammar")}
    roots.update(p for p in sysconfig.get_paths().values() if p)
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots))


PROJECT = os.path.realpath(Path(__file__).resolve().parents[2] / "src" / "mathgrader") + os.sep
STRING_PARSERS = (os.sep + os.path.join("sympy", "core", "sympify.py"),
                  os.sep + os.path.join("sympy", "parsing") + os.sep)


def _library_file(filename: Any) -> bool:
    return isinstance(filename, str) and os.path.isabs(filename) and filename.endswith(".py")


def _asked_by_project() -> bool:
    """Whether mathgrader's code asked for this compilation: it called compile/eval/exec itself,
    or the function it called is one of SymPy's string parsers."""
    # The caller of the hook's caller: the code that called compile() or exec().
    frame: FrameType | None = sys._getframe(2)
    inner = None
    while frame is not None:
        filename = os.path.realpath(frame.f_code.co_filename)
        if filename.startswith(PROJECT):
            return inner is None or any(part in inner for part in STRING_PARSERS)
        inner = filename
        frame = frame.f_back
    # No mathgrader frame: click and rich (the CLI's framework) evaluating their own annotations.
    # Learner text reaching them is caught by the source check instead.
    return False


def main() -> None:
    canary = "--canary" in sys.argv
    texts: list[str] = json.loads(sys.stdin.read())

    # Everything the run needs is imported and warmed up before the watch starts, so that what
    # the watch sees afterwards is caused by the texts (lazy imports of library files are fine).
    import typer
    from click.testing import CliRunner

    import mathgrader
    from mathgrader.cli import app

    # The click command is built once (building it evaluates the CLI's own annotations; typer's
    # own test runner would build it again on every call). click's runner calls its main().
    command: Any = typer.main.get_command(app)
    runner = CliRunner()
    mathgrader.grade("3*x^2 + 2", "2 + 3*x*x")
    mathgrader.preview("sqrt(x)")
    runner.invoke(command, ["check", "x", "x"])

    roots = _allowed_roots()
    events: list[str] = []
    generated = 0  # SymPy's own code generation, not reported
    current = ""
    watching = True

    def hook(event: str, args: tuple[Any, ...]) -> None:
        nonlocal generated
        if not watching:
            return
        if event == "exec":
            code = args[0]
            if not _library_file(getattr(code, "co_filename", None)):
                if _asked_by_project():
                    events.append(f"exec of code from {getattr(code, 'co_filename', code)!r}"
                                  f" while grading {current[:40]!r}")
                else:
                    generated += 1
        elif event == "compile":
            source, filename = args[0], args[1]
            if isinstance(source, bytes):
                source = source.decode("utf-8", "replace")
            if isinstance(source, str) and len(current.strip()) > 3 and current in source:
                events.append(f"compile of {source[:80]!r}, which holds the text being graded")
            elif not _library_file(filename):
                if _asked_by_project():
                    events.append(f"compile of {str(source)[:80]!r} as {filename!r}"
                                  f" while grading {current[:40]!r}")
                else:
                    generated += 1
        elif event in PROCESS_EVENTS or event in NETWORK_EVENTS:
            events.append(f"{event}{args!r}"[:200])
        elif event == "open":
            path = args[0]
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            if isinstance(path, str):
                real = os.path.realpath(path)
                if not real.startswith(roots):
                    events.append(f"open({path!r}, {args[1]!r})")

    sys.addaudithook(hook)

    calls = 0
    failures: list[str] = []
    for text in texts:
        current = text
        for call in (
            partial(mathgrader.parse, text),
            partial(mathgrader.preview, text),
            partial(mathgrader.grade, "x", text, timeout=1),
            partial(mathgrader.grade, text, "x", timeout=1),
            # "--": texts that start with "-" are arguments, not options
            partial(runner.invoke, command, ["check", "--timeout", "1", "--", "x", text]),
            partial(runner.invoke, command, ["check", "--timeout", "1", "--", text, "x"]),
            partial(runner.invoke, command, ["preview", "--json", "--", text]),
        ):
            calls += 1
            try:
                call()
            except mathgrader.InputError:
                pass
            except Exception as exc:  # reported, not hidden: the other tests judge them
                failures.append(f"{text[:40]!r}: {type(exc).__name__}")
    table_events = list(events)
    events.clear()
    if canary:
        # What a vulnerable grader would do, once each: the watch must report all four.
        current = "canary + 1"
        eval(current)  # the learner's text compiled
        current = ""
        # mathgrader code handing text to SymPy's parser: a function whose code claims to be
        # a file of the project, as a real vulnerability's frame would.
        namespace: dict[str, Any] = {}
        exec(compile("def vulnerable(text):\n    import sympy\n    return sympy.sympify(text)\n",
                     PROJECT + "canary.py", "exec"), namespace)
        namespace["vulnerable"]("2 + 3")
        os.system("true")
        with open(os.path.join(tempfile.gettempdir(), "mathgrader-canary"), "w"):
            pass

    watching = False
    sys.stdout.write(json.dumps({"calls": calls, "events": table_events,
                                 "canary_events": events, "failures": failures,
                                 "library_code_generated": generated}) + "\n")


if __name__ == "__main__":
    main()
