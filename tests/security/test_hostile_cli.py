"""Hostile input through the command line: `check`, `preview`, `grade-batch` and `key lint`.

The whole table of `hostile_inputs` goes through `check` and `preview` in-process (the click
command built once, so each run costs a millisecond) for the exit codes of the contract and the
absence of tracebacks; a few rows also go through real processes, with the bytes a shell can
pass (invalid UTF-8 in argv, options-looking text). `grade-batch` gets a file of broken lines;
`key lint` gets keys whose answer, accept and feedback fields hold the hostile texts.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from click.testing import CliRunner, Result
from hostile_inputs import BY_NAME, ERROR_CODES, TABLE, Hostile

import mathgrader
from mathgrader.checker.grade import VERDICTS
from mathgrader.cli import app

# Built once: typer's own test runner builds the click command again on every call (50 ms);
# click's runner calls the command's main() as typer's does.
COMMAND: Any = typer.main.get_command(app)
RUNNER = CliRunner()
EXIT_OF = {"correct": 0, "incorrect": 1, "invalid": 1, "timeout": 1, "error": 2}


def run(*args: str) -> Result:
    return RUNNER.invoke(COMMAND, list(args))


def _no_crash(result: Result) -> None:
    """A clean exit: no exception escaped the command and nothing printed a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    assert "Traceback" not in result.output


def _params(role: str | None) -> list[Any]:
    """The rows that cannot hang (in-process, only `check`'s alarm would stop those: see the
    subprocess tests), marked where their known bug shows in `role`."""
    return [pytest.param(item, id=item.name, marks=item.marks(role) if role else [])
            for item in TABLE if not item.hangs]


@pytest.fixture(scope="module", autouse=True)
def _graded_x_first() -> None:
    """Import what grading imports lazily without `check`'s alarm (an alarm that goes off in
    the middle of importing SymPy leaves it half-imported for the rest of the process). Then
    grade "x" with check's options: results cached by a spacing-insensitive key must not skip
    the checks of the text as typed."""
    for reference, answer in [("x", "x"), ("2*x", "-2*x"), ("oo", "oo+1"), ("2/3", "0.67"),
                              ("1", "sin(1)"), ("1.5", "exp(x)"), ("x^2", "x*x")]:
        mathgrader.grade(reference, answer)
    for args in (["x", "x"], ["1.5", "x"]):
        run("check", "--json", "--timeout", "1", "--", *args)


# ------------------------------------------------------------------------------- check


@pytest.mark.parametrize("item", _params("answer"))
def test_check_with_a_hostile_answer(item: Hostile) -> None:
    result = run("check", "--json", "--timeout", "1", "--", "x", item.text)
    _no_crash(result)
    graded = json.loads(result.stdout)
    assert graded["verdict"] in VERDICTS and graded["verdict"] != "error", graded
    assert (graded["verdict"] == "correct") == item.equals_x, graded
    assert result.exit_code == EXIT_OF[graded["verdict"]], graded
    if graded["verdict"] == "invalid":
        assert graded["error"]["code"] in ERROR_CODES, graded


@pytest.mark.parametrize("item", _params("reference"))
def test_check_with_a_hostile_reference(item: Hostile) -> None:
    result = run("check", "--json", "--timeout", "1", "--", item.text, "x")
    _no_crash(result)
    graded = json.loads(result.stdout)
    assert graded["verdict"] in ("error", "incorrect", "timeout", "correct"), graded
    assert (graded["verdict"] == "correct") == item.equals_x, graded
    assert result.exit_code == EXIT_OF[graded["verdict"]], graded


@pytest.mark.parametrize("item", _params("answer"))
def test_check_plain_output_is_answered(item: Hostile) -> None:
    result = run("check", "--timeout", "1", "--", "x", item.text)
    _no_crash(result)
    assert result.exit_code == (0 if item.equals_x else 1), result.output
    assert result.stdout.split("\n", 1)[0] in VERDICTS


# ----------------------------------------------------------------------------- preview


@pytest.mark.parametrize("item", _params(None))
def test_preview_with_hostile_text(item: Hostile) -> None:
    result = run("preview", "--json", "--", item.text)
    _no_crash(result)
    shown = json.loads(result.stdout)
    assert result.exit_code == (0 if shown["ok"] else 1)
    if not shown["ok"]:
        error = shown["error"]
        assert error["code"] in ERROR_CODES
        assert 1 <= error["column"] <= len(item.text) + 1
    plain = run("preview", "--", item.text)
    _no_crash(plain)
    assert plain.exit_code == result.exit_code


# ---------------------------------------------------------------- real processes, real argv


def _mathgrader(*args: str | bytes, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mathgrader.cli", *args], capture_output=True,
                          timeout=timeout, check=False)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["check", "x", "__import__('os').system('id')"], 1, id="injection"),
        pytest.param(["check", "x", b"x+\xff\xfe"], 1, id="invalid UTF-8 in argv"),
        pytest.param(["check", b"x+\xff", "x"], 2, id="invalid UTF-8 reference"),
        pytest.param(["preview", b"\xc3\x28"], 1, id="invalid UTF-8 preview"),
        pytest.param(["check", "x", "x" * 100_000], 1, id="100 kB answer"),
        # an answer that starts with a minus is an answer (it was "No such option: -x^2")
        pytest.param(["check", "x", "-x^2"], 1, id="answer that looks like an option"),
        pytest.param(["check", "--", "x", "-x^2"], 1, id="the same after --"),
    ],
)
def test_real_processes_exit_cleanly(args: list[str | bytes], code: int) -> None:
    done = _mathgrader(*args)
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr[-2000:]
    assert done.returncode == code, (done.stdout[-500:], stderr[-500:])


_STUCK = """
import sys, time
import mathgrader.checker.grade as grade
grade.grade_with = lambda *args: time.sleep(60)  # stuck in C, where no deadline is looked at
from mathgrader.cli import main
sys.argv = ["mathgrader", *sys.argv[1:]]
main()
"""


def test_the_alarm_answers_timeout() -> None:
    """A check stuck where the checker's own deadline is never looked at (a C call) is stopped
    by check's alarm and answered `timeout`, well before it would return."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _STUCK, "check", "x", "x", "--timeout", "1",
                           "--json"], capture_output=True, timeout=50, check=False)
    assert "Traceback" not in done.stderr.decode("utf-8", "replace")
    assert done.returncode == 1
    assert json.loads(done.stdout)["verdict"] == "timeout"
    assert time.monotonic() - started < 50  # the 60 s sleep did not run to its end


# ------------------------------------------------------------------------- grade-batch

BROKEN_LINES: list[bytes] = [
    b'{"id": "ok", "reference": "x", "answer": "x"}',
    b'{"id": "bytes", "reference": "x", "answer": "x+\xff\xfe"}',  # invalid UTF-8
    b'{"id": "nul-escape", "reference": "x", "answer": "x\\u0000"}',
    b'{"id": "nul-raw", "reference": "x", "answer": "x\x00"}',  # a raw NUL: not JSON
    b'\x00\x00\x00',
    b'{"id": "surrogate", "reference": "x", "answer": "\\ud800"}',
    b'{"id": "\\udfff", "reference": "x", "answer": "x"}',  # a lone surrogate as the id
    b'{"id": "rtl", "reference": "x", "answer": "x\\u202e+1"}',
    b'{"id": "injection", "reference": "x", "answer": "__import__(\'os\').system(\'id\')"}',
    b'{"id": "injection-ref", "reference": "eval(\'1\')", "answer": "x"}',
    b'{"id": "number", "reference": "x", "answer": 5}',
    b'{"id": "null", "reference": null, "answer": "x"}',
    b'{"id": "options", "reference": "x", "answer": "x", "options": {"timeout": 1e999}}',
    b'{"id": "options-nan", "reference": "x", "answer": "x", "options": {"timeout": NaN}}',
    b'{"id": "seed", "reference": "x", "answer": "x", "options": {"seed": 1' + b"0" * 30 + b"}}",
    b'{"id": "seed-5000-digits", "reference": "x", "answer": "x", "options": {"seed": '
    + b"9" * 5000 + b"}}",  # beyond Python's int parsing limit: answered as bad JSON
    b'{"id": "unknown-option", "reference": "x", "answer": "x", "options": {"__class__": 1}}',
    b'{"id": "variables", "reference": "x", "answer": "x", "options": {"variables": '
    b'{"__import__": "real"}}}',
    b'{"id": "forbid", "reference": "x", "answer": "x", "options": {"forbid": ["__import__"]}}',
    b'{"id": "feedback", "reference": "x", "answer": "y", "options": {"feedback": '
    b'[{"answer": "__import__(\'os\')", "message": "m"}]}}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"id": "long", "reference": "x", "answer": "' + b"x+" * 500_000 + b'x"}',
    b'{"id": "tower", "reference": "x", "answer": "x^exp(exp(10))"}',
    # Used to keep mpmath busy for minutes (killed at the budget): now refused past 2^16384.
    b'{"id": "huge-cosh", "reference": "x", "answer": "cosh(cosh(cosh(cosh(x))))"}',
    b"\xef\xbb\xbf{\"id\": \"bom\", \"reference\": \"x\", \"answer\": \"x\"}",
    b'{"id": "crlf", "reference": "x", "answer": "x"}\r',
    b"not json at all",
    b"{",
    b'"a string"',
    b"null",
    b'{"id": "last", "reference": "x", "answer": "x"}',
]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], str]:
    source = tmp_path_factory.mktemp("broken") / "in.jsonl"
    source.write_bytes(b"\n".join(BROKEN_LINES) + b"\n\n")
    done = _mathgrader("grade-batch", str(source), "--timeout", "1", "--workers", "2",
                       timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.decode("utf-8").splitlines()
    return [json.loads(line) for line in lines], done.stderr.decode("utf-8", "replace")


def test_grade_batch_answers_every_broken_line(batch: tuple[list[dict[str, Any]], str]) -> None:
    records, stderr = batch
    assert "Traceback" not in stderr
    assert len(records) == len(BROKEN_LINES)  # one line out per non-blank line in
    assert records[0]["id"] == "ok" and records[-1]["id"] == "last"  # in input order
    for record in records:
        assert record["verdict"] in VERDICTS
        assert 0.0 <= record["score"] <= 1.0
        assert record["verdict"] != "error" or record["error"]["code"] != "grader_failed", record


@pytest.mark.parametrize(
    ("ident", "verdicts"),
    [
        ("ok", {"correct"}),
        ("nul-escape", {"invalid"}),
        ("surrogate", {"invalid"}),
        ("\udfff", {"correct"}),
        ("rtl", {"invalid"}),
        ("injection", {"invalid"}),
        ("injection-ref", {"error"}),
        ("number", {"error"}),
        ("null", {"error"}),
        ("seed", {"error"}),
        ("unknown-option", {"error"}),
        ("variables", {"correct"}),  # __import__ is just a name of a variable
        ("forbid", {"error"}),  # __import__ is no function of the syntax: an error to forbid
        ("feedback", {"error"}),
        ("long", {"invalid"}),
        ("tower", {"invalid"}),
        ("huge-cosh", {"incorrect"}),
        ("crlf", {"correct"}),
        ("last", {"correct"}),
    ],
)
def test_grade_batch_verdicts(batch: tuple[list[dict[str, Any]], str], ident: str,
                              verdicts: set[str]) -> None:
    records = {record["id"]: record for record in batch[0] if isinstance(record["id"], str)}
    assert records[ident]["verdict"] in verdicts, records[ident]


@pytest.mark.parametrize(("ident", "message"), [
    # bytes that are not UTF-8: the file's error, not the learner's "invisible character"
    ("bytes", "not valid UTF-8 (the byte 0xFF at column 48)"),
    # 1e999 reads as inf, which no JSON output holds: the line is not usable JSON
    ("options", "1e999 is beyond the range of numbers"),
])
def test_grade_batch_lines_the_file_spoils(batch: tuple[list[dict[str, Any]], str], ident: str,
                                           message: str) -> None:
    index = next(i for i, line in enumerate(BROKEN_LINES) if f'"id": "{ident}"'.encode() in line)
    record = batch[0][index]
    assert record["id"] is None and record["verdict"] == "error", record
    assert record["error"]["code"] == "bad_json" and message in record["feedback"], record


# ------------------------------------------------------------------------------ key lint


def toml_string(text: str) -> str:
    """A TOML basic string holding `text` (surrogates escaped, which TOML then refuses)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F or 0xD800 <= ord(char) <= 0xDFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(answer: str = '"x"', accept: str = '"x"', feedback: str | None = None) -> str:
    lines = ["[quiz]", 'id = "hostile"', 'title = "Hostile"', "", "[[questions]]", 'id = "q"',
             'prompt = "p"', f"answer = {answer}", f"accept = [{accept}]"]
    if feedback is not None:
        lines.append(f'feedback = [ {{ answer = {feedback}, message = "m" }} ]')
    return "\n".join(lines) + "\n"


_LOCATED = re.compile(r"^error \S+\.toml:\d+(:\d+)?: ", re.MULTILINE)


def _lint(tmp_path: Path, text: str) -> Result:
    path = tmp_path / "key.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = run("key", "lint", str(path))
    _no_crash(result)
    return result


def _lint_params(role: str | None) -> list[Any]:
    # Rows that hang are left out (lint has no hard time limit: see SECURITY.md), and so are
    # the megabyte texts (the parser refuses them like the shorter ones, in a slower file).
    return [pytest.param(item, id=item.name, marks=item.marks(role) if role else [])
            for item in TABLE if not item.hangs and len(item.text) <= 20_000]


# A failed example names its file, line and column, then the question: "FAIL  key.toml:8:19: ..."
# (the column is left out where the TOML string's escapes hide it)
_FAILED = re.compile(r"FAIL  \S+\.toml:\d+(?::\d+)?: hostile/q: ")
_FAILED_ACCEPT = re.compile(r"^FAIL  \S+\.toml:\d+(?::\d+)?: hostile/q: accept ", re.MULTILINE)


@pytest.mark.parametrize("item", _lint_params("reference"))
def test_key_lint_with_a_hostile_answer(tmp_path: Path, item: Hostile) -> None:
    result = _lint(tmp_path, _key(answer=toml_string(item.text)))
    if item.equals_x:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code in (1, 2), result.output
    if result.exit_code == 2:
        assert _LOCATED.search(result.output), result.output  # file:line[:column]
    else:  # an unusable reference is named first; either way the accept example fails
        assert _FAILED.match(result.output), result.output
        assert "accept 'x' graded" in result.output, result.output


@pytest.mark.parametrize("item", _lint_params("lint-accept"))
def test_key_lint_with_a_hostile_accept_example(tmp_path: Path, item: Hostile) -> None:
    result = _lint(tmp_path, _key(accept=toml_string(item.text)))
    if item.equals_x:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code in (1, 2), result.output
    if result.exit_code == 2:  # only a text TOML itself cannot hold (a lone surrogate)
        assert _LOCATED.search(result.output) and "TOML" in result.output, result.output
    else:
        assert _FAILED_ACCEPT.match(result.output), result.output


@pytest.mark.parametrize("item", _lint_params(None))
def test_key_lint_with_a_hostile_feedback_answer(tmp_path: Path, item: Hostile) -> None:
    result = _lint(tmp_path, _key(feedback=toml_string(item.text)))
    assert result.exit_code in (0, 1, 2), result.output
    if item.refused and not item.codes <= {"number_too_large"}:
        # Keys are checked by the parser and the size estimate; only the builder refuses
        # some huge values (binomial(100000, 50000)), and lint never builds feedback answers.
        assert result.exit_code == 2, result.output
    if result.exit_code == 2:
        assert _LOCATED.search(result.output), result.output


def test_key_lint_process_over_hostile_keys(tmp_path: Path) -> None:
    """One real `key lint` over several hostile keys: exit 2 (unusable files), no traceback."""
    texts = {
        "injection.toml": _key(answer=toml_string("__import__('os').system('id')")),
        "tower.toml": _key(accept=toml_string("9^9^9^9")),
        "feedback.toml": _key(feedback=toml_string("open('/etc/passwd')")),
        "nul.toml": _key(answer=toml_string("x\x00")),
        "surrogate.toml": _key(answer=toml_string("\ud800")),
        "deep.toml": _key(accept=toml_string(BY_NAME["61 nested brackets"].text)),
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "bytes.toml").write_bytes(_key().encode() + b"# \xff\xfe\n")
    done = _mathgrader("key", "lint", *sorted(str(p) for p in tmp_path.iterdir()))
    output = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 2, output
    assert "Traceback" not in done.stderr.decode("utf-8", "replace")
    for name in ("injection", "feedback", "nul", "surrogate"):
        assert re.search(rf"^error \S*{name}\.toml:\d+", output, re.MULTILINE), (name, output)
    assert re.search(r"^error \S*bytes\.toml: cannot read the file", output, re.MULTILINE)
    assert len(_FAILED_ACCEPT.findall(output)) == 2, output  # tower and deep
