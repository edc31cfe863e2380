"""Hostile input through the core: `mathgrader.parse`, `mathgrader.preview` and `mathgrader.grade`.

Every row of `hostile_inputs.TABLE` (code injection, sizes, nesting, bytes) is run as an answer
and as a reference. Each ends in a located `InputError` (parse, preview) or a contract verdict
(grade): `invalid` with its error code, `incorrect`, `timeout`, or `error` for an unusable
reference; never another exception and never `correct` for an answer that is not right.

That no learner text reaches an interpreter is shown twice: in-process, with `sympify`,
`parse_expr`, `eval`, `exec` and `compile` replaced by tripwires that record any call with text;
and in a separate process watched by a `sys.addaudithook` hook (`audited_run.py`), over the
public API and the CLI's `check` and `preview`. Rows run in forked children that are killed if
they hang (a guard, not a timing assertion); rows whose known bug is a hang only run through
`grade-batch`, whose worker pool kills them at the budget.
"""

from __future__ import annotations

import builtins
import importlib
import json
import multiprocessing
import os
import re
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from hostile_inputs import ERROR_CODES, NAMES, SIZE_CODES, TABLE, Hostile

import mathgrader
from mathgrader.checker.grade import VERDICTS

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()"
)

HERE = Path(__file__).parent
HANG_GUARD = 60.0  # seconds before a forked row is declared hung; every row takes far less
BUDGET = 1.0  # the `timeout` grading option given to every grade() call here

# ------------------------------------------------------------------------------- tripwires


class _Tripped(BaseException):
    """Raised by a tripwire; a BaseException so that no `except Exception` can hide it."""


PROJECT = os.path.realpath(Path(mathgrader.__file__).parent) + os.sep


def _from_project(depth: int = 2) -> bool:
    """Whether the function `depth` frames up (the tripwire's caller) is mathgrader code."""
    filename = sys._getframe(depth).f_code.co_filename
    return os.path.realpath(filename).startswith(PROJECT)


def _install_tripwires(calls: list[str], current: list[str]) -> None:
    """Replace SymPy's string parsers and Python's eval/exec/compile by tripwires.

    A tripwire records (and stops) a call that would run text: any call from mathgrader's own
    code with text, and any call whatsoever whose text holds the learner's (`current[0]`).
    SymPy itself calls sympify on its own constant strings when it imports a module lazily
    (sympy.physics.units does); those pass, as does code compiled from library files.
    """
    import sympy

    sympify_module = importlib.import_module("sympy.core.sympify")
    sympy_parser = importlib.import_module("sympy.parsing.sympy_parser")

    real_sympify, real_parse_expr = sympify_module.sympify, sympy_parser.parse_expr
    real_eval, real_exec, real_compile = builtins.eval, builtins.exec, builtins.compile

    def check(what: str, source: Any, from_project: bool) -> None:
        if isinstance(source, bytes):
            source = source.decode("utf-8", "replace")
        if isinstance(source, str):
            learner = current[0]
            holds_text = len(learner.strip()) > 3 and learner in source
        else:  # a code object: fine when compiled from a library file
            filename = getattr(source, "co_filename", "")
            holds_text = False
            if os.path.isabs(filename) and filename.endswith(".py"):
                return
        if from_project or holds_text:
            calls.append(f"{what}({str(source)[:60]!r})")
            raise _Tripped(what)

    def sympify(a: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, str | bytes):
            check("sympify", a, _from_project())
        return real_sympify(a, *args, **kwargs)

    def parse_expr(s: Any, *args: Any, **kwargs: Any) -> Any:
        check("parse_expr", s, _from_project())
        return real_parse_expr(s, *args, **kwargs)

    def eval_(source: Any, *args: Any) -> Any:
        check("eval", source, _from_project())
        return real_eval(source, *args)

    def exec_(source: Any, *args: Any, **kwargs: Any) -> Any:
        check("exec", source, _from_project())
        return real_exec(source, *args, **kwargs)

    def compile_(source: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        if not (isinstance(filename, str) and os.path.isabs(filename)
                and filename.endswith(".py")):
            check("compile", source, _from_project())
        return real_compile(source, filename, *args, **kwargs)

    # Modules that imported the functions by name hold their own references: replace those too.
    for module in list(sys.modules.values()):
        for name, real, fake in (("sympify", real_sympify, sympify),
                                 ("parse_expr", real_parse_expr, parse_expr)):
            if getattr(module, name, None) is real:
                setattr(module, name, fake)
    type(sympy.S).__call__ = staticmethod(sympify)  # S("...") is sympify too
    builtins.eval, builtins.exec, builtins.compile = eval_, exec_, compile_


# ------------------------------------------------------------------- one row, in a child


def _describe(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        value = call()
    except _Tripped as exc:
        return ("tripped", str(exc))
    except mathgrader.InputError as exc:
        return ("input_error", exc.code, exc.column, exc.end_column, exc.message)
    except Exception as exc:  # noqa: BLE001 - the point: report what escaped
        return ("raised", f"{type(exc).__name__}: {str(exc)[:200]}")
    if isinstance(value, mathgrader.Grade):
        return ("grade", value.verdict, value.score, value.feedback, value.error)
    return ("value", str(value)[:200])


def _run_rows(send: Connection, texts: list[str]) -> None:
    """Child: run the rows in order, announcing each before it starts, so that a row that hangs
    is known by name when the parent kills the child."""
    calls: list[str] = []
    current = [""]
    _install_tripwires(calls, current)
    # Answers are graded after "x" was: results cached by a spacing-insensitive key must not
    # skip the checks of the text as typed.
    mathgrader.grade("x", "x", timeout=BUDGET)
    mathgrader.grade("1.5", "x", timeout=BUDGET)
    for index, text in enumerate(texts):
        current[0] = text
        send.send(("start", index))
        try:
            result: dict[str, Any] = {
                "parse": _describe(partial(mathgrader.parse, text)),
                "preview": _describe(partial(mathgrader.preview, text)),
                "answer_x": _describe(partial(mathgrader.grade, "x", text, timeout=BUDGET)),
                "answer_decimal": _describe(
                    partial(mathgrader.grade, "1.5", text, timeout=BUDGET)),
                "reference": _describe(partial(mathgrader.grade, text, "x", timeout=BUDGET)),
            }
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as a failure
            result = {"crashed": repr(exc)}
        result["tripwires"] = list(calls)
        calls.clear()
        send.send(("done", index, result))
    send.close()


_OUTCOMES: dict[str, dict[str, Any]] = {}


def _compute_outcomes(rows: list[Hostile]) -> None:
    """Run `rows` in forked children (one at a time); a child that stays silent on a row for
    HANG_GUARD seconds is killed, the row recorded as hung, and a new child takes the rest."""
    context = multiprocessing.get_context("fork")
    pending = list(rows)
    while pending:
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_run_rows, args=(send, [r.text for r in pending]),
                                daemon=True)
        child.start()
        send.close()
        running: int | None = None
        finished = 0
        try:
            while finished < len(pending):
                if not receive.poll(HANG_GUARD):
                    break
                try:
                    message = receive.recv()
                except EOFError:  # the child died without a word
                    break
                if message[0] == "start":
                    running = message[1]
                else:
                    _OUTCOMES[pending[message[1]].name] = message[2]
                    finished += 1
        finally:
            if child.is_alive():
                child.kill()
            child.join()
            receive.close()
        if finished < len(pending):
            stuck = running if running is not None else finished
            _OUTCOMES[pending[stuck].name] = {"crashed": f"hung or died (exit {child.exitcode})"}
            finished = stuck + 1
        pending = pending[finished:]


def outcome(item: Hostile) -> dict[str, Any]:
    """What the core did with `item`; the whole table is run once, on first use."""
    if item.name not in _OUTCOMES:
        _compute_outcomes([row for row in TABLE if not row.hangs])
    result = _OUTCOMES[item.name]
    assert "crashed" not in result, result
    return result


@pytest.fixture(scope="module", autouse=True)
def _warm_parent() -> None:
    """Import what grading imports lazily once, so forked children start warm."""
    for reference, answer in [("x", "x"), ("2*x", "-2*x"), ("oo", "oo+1"), ("2/3", "0.67"),
                              ("x", "2x"), ("1", "sin(1)"), ("1.5", "exp(x)")]:
        mathgrader.grade(reference, answer)
    mathgrader.preview("sqrt(x)")


def _params(role: str | None = None) -> list[Any]:
    """One param per row that cannot hang, marked where its known bug shows in `role`."""
    return [pytest.param(item, id=item.name, marks=item.marks(role) if role else [])
            for item in TABLE if not item.hangs]


ALL = _params()
AS_ANSWER = _params("answer")
AS_REFERENCE = _params("reference")


def _assert_located(kind: tuple[Any, ...], item: Hostile) -> None:
    _, code, column, end_column, message = kind
    assert code in ERROR_CODES, kind
    assert isinstance(column, int) and 1 <= column <= len(item.text) + 1, kind
    assert isinstance(end_column, int) and column <= end_column <= len(item.text) + 1, kind
    assert message and "Traceback" not in message, kind
    assert not re.search(r"<[a-zA-Z/!]", message), kind  # plain text, never HTML


# --------------------------------------------------------------------------------- tests


def test_the_tripwires_fire() -> None:
    """The tripwires are live in a child: the learner's text given to sympify, S, eval, exec or
    compile is recorded, and so is mathgrader code calling them with any text."""
    def probe(send: Connection) -> None:
        calls: list[str] = []
        learner = "x + 12345"
        _install_tripwires(calls, [learner])
        import sympy

        for attempt in (lambda: sympy.sympify(learner), lambda: sympy.S(learner),
                        lambda: builtins.eval(learner, {"x": 1}),
                        lambda: builtins.exec(learner, {"x": 1}),
                        lambda: builtins.compile(learner, "<string>", "eval")):
            try:
                attempt()
            except _Tripped:
                pass
        # Code that claims to be a file of the project, as a vulnerable grader's frame would.
        namespace: dict[str, Any] = {}
        builtins.exec(builtins.compile(
            "def vulnerable(text):\n    import sympy\n    return sympy.sympify(text)\n",
            PROJECT + "canary.py", "exec"), namespace)
        try:
            namespace["vulnerable"]("2 + 3")
        except _Tripped:
            pass
        sympy.sympify(5)  # not text: passes
        sympy.sympify("7")  # library-style text that is not the learner's: passes
        send.send(calls)
        send.close()

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=probe, args=(send,), daemon=True)
    child.start()
    send.close()
    assert receive.poll(HANG_GUARD)
    calls = receive.recv()
    child.join()
    assert [call.split("(")[0] for call in calls] == [
        "sympify", "sympify", "eval", "exec", "compile", "sympify"]


@pytest.mark.parametrize("item", ALL)
def test_no_text_reaches_an_interpreter(item: Hostile) -> None:
    assert outcome(item)["tripwires"] == []


@pytest.mark.parametrize("item", ALL)
def test_parse_refuses_or_builds(item: Hostile) -> None:
    parsed = outcome(item)["parse"]
    assert parsed[0] in ("value", "input_error"), parsed
    if item.refused is None:
        return
    if item.refused:
        assert parsed[0] == "input_error", parsed
        assert parsed[1] in item.codes, parsed
        _assert_located(parsed, item)
    else:
        assert parsed[0] == "value", parsed


@pytest.mark.parametrize("item", ALL)
def test_preview_never_evaluates_and_locates_its_errors(item: Hostile) -> None:
    parsed, shown = outcome(item)["parse"], outcome(item)["preview"]
    assert shown[0] in ("value", "input_error"), shown
    if parsed[0] == "input_error" and parsed[1] != "number_too_large":
        # The same mistake, at the same place, as parse() reports it.
        assert shown[:4] == parsed[:4], (shown, parsed)
    elif shown[0] == "input_error":
        # Only sizes stop a preview: a literal too long to read (1e401, 101 digits) or a
        # value the grader refuses too (10^10^10, estimated in log space, never evaluated).
        assert shown[:4] == parsed[:4] and shown[1] == "number_too_large", (shown, parsed)
    if shown[0] == "input_error":
        _assert_located(shown, item)


def _assert_answer_verdict(graded: tuple[Any, ...], parsed: tuple[Any, ...],
                           item: Hostile, right: bool) -> None:
    assert graded[0] == "grade", graded
    _, verdict, score, _feedback, error = graded
    assert verdict in VERDICTS and verdict != "error", graded  # the reference is fine
    assert verdict == "correct" if right else verdict != "correct", graded
    assert score == (1.0 if verdict == "correct" else 0.0), graded
    if parsed[0] == "input_error" and parsed[1] not in SIZE_CODES:
        # A learner mistake comes back as `invalid` with parse()'s located error.
        assert verdict == "invalid", graded
        assert (error["code"], error["column"]) == (parsed[1], parsed[2]), graded
    if verdict == "invalid":
        assert error["code"] in ERROR_CODES and isinstance(error["column"], int), graded


@pytest.mark.parametrize("item", AS_ANSWER)
def test_graded_as_an_answer(item: Hostile) -> None:
    result = outcome(item)
    _assert_answer_verdict(result["answer_x"], result["parse"], item, right=item.equals_x)
    _assert_answer_verdict(result["answer_decimal"], result["parse"], item, right=False)


@pytest.mark.parametrize("item", AS_REFERENCE)
def test_graded_as_a_reference(item: Hostile) -> None:
    """A reference is instructor input, but keys can be shared or tampered with: still safe."""
    graded, parsed = outcome(item)["reference"], outcome(item)["parse"]
    assert graded[0] == "grade", graded
    _, verdict, _score, _feedback, error = graded
    assert verdict in ("error", "incorrect", "timeout", "correct"), graded
    assert (verdict == "correct") == item.equals_x, graded
    if parsed[0] == "input_error" and parsed[1] not in SIZE_CODES:
        assert verdict == "error", graded
    if verdict == "error":
        assert error["code"] == "config", graded


@pytest.mark.parametrize("name", NAMES)
def test_python_names_are_plain_variables(name: str) -> None:
    """`eval`, `open` or `Symbol` typed alone are variables of that name: nothing is called."""
    import sympy as sp

    assert mathgrader.parse(name) == sp.Symbol(name, real=True)
    assert mathgrader.preview(name).variables == [name]
    assert mathgrader.grade(name, name).verdict == "correct"
    assert mathgrader.grade("x", name).verdict == "incorrect"


def test_no_code_runs_under_an_audit_hook() -> None:
    """The whole table through the API and the CLI in a process watched by an audit hook; then
    a canary does each watched thing once, to show the hook would have seen it."""
    texts = [item.text for item in TABLE if not item.hangs] + NAMES
    command = [sys.executable, str(HERE / "audited_run.py"), "--canary"]
    done = subprocess.run(command, input=json.dumps(texts), capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["events"] == []
    assert report["calls"] == 7 * len(texts)  # parse, preview, 2 grades, 3 CLI runs each
    canary = "\n".join(report["canary_events"])
    assert "compile of 'canary + 1'" in canary  # the learner's text compiled
    assert "Integer (2 )+Integer (3 )" in canary  # project code handing text to sympify
    assert "os.system" in canary
    assert "open(" in canary and "mathgrader-canary" in canary


# --------------------------------------------------------- the hang guard: one grade-batch


@pytest.fixture(scope="module")
def batch_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The whole table, hanging rows included, through `grade-batch --timeout 1` once: as an
    answer to "x" and as a reference for the answer "x"."""
    folder = tmp_path_factory.mktemp("hostile-batch")
    source = folder / "in.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for index, item in enumerate(TABLE):
            for role, reference, answer in (("answer", "x", item.text),
                                            ("reference", item.text, "x")):
                line = {"id": f"{role}:{index}", "reference": reference, "answer": answer}
                out.write(json.dumps(line) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "mathgrader.cli", "grade-batch", str(source), "--workers", "2",
         "--timeout", "1"],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 2 * len(TABLE)  # every line answered, none lost
    records = (json.loads(text) for text in lines)
    return {record["id"]: record for record in records}


def _batch_params() -> list[Any]:
    params = []
    for index, item in enumerate(TABLE):
        marks = [] if item.hangs else item.marks("batch")
        params.append(pytest.param(index, item, id=item.name, marks=marks))
    return params


@pytest.mark.parametrize(("index", "item"), _batch_params())
def test_grade_batch_answers_every_row_within_the_budget(
    batch_results: dict[str, dict[str, Any]], index: int, item: Hostile
) -> None:
    answer, reference = batch_results[f"answer:{index}"], batch_results[f"reference:{index}"]
    # Hanging rows end as `timeout`: the pool's hard kill, not the cooperative deadline.
    allowed = {"invalid", "incorrect", "timeout"} | ({"correct"} if item.equals_x else set())
    assert answer["verdict"] in allowed, answer
    assert reference["verdict"] in ({"error", "incorrect", "timeout"}
                                    | ({"correct"} if item.equals_x else set())), reference
    for record in (answer, reference):
        if record["verdict"] == "error":
            assert record["error"]["code"] == "config", record  # never a grader crash
