"""The fast path of `mathgrader preview | check`: the same answers as the Typer app, a light
start-up (no Typer, pydantic, SymPy...), and a time budget that starts when grading does.

Start-up time itself is measured by `benchmarks/scale.py` (cold start, against `python -c pass`
in the same run), never here: these tests check what is imported and what is printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mathgrader.cli import app, fast, main

runner = CliRunner()

# Command lines the fast path answers: each must print exactly what the Typer app prints.
SAME_AS_TYPER = [
    ["preview", "3*x^2 + 2"],
    ["preview", "x/2*y", "--json"],
    ["preview", "--json", "3x"],
    ["preview", "3x + 1"],
    ["preview", "sin^2(x)"],
    ["preview", "e^x"],
    ["preview", "2×π"],
    ["preview", ""],
    ["preview", "--", "-x^2"],
    ["preview", "2, -3", "--list"],
    ["preview", "--list", "--json", "[1, 2]"],
    ["preview", "2, -3"],
    ["preview", "x\x1b[31m"],  # an ANSI escape: Click strips it from output that is no terminal
    ["check", "3*x^2 + 2", "2 + 3*x*x"],
    ["check", "3*x^2 + 2", "3*x^2"],
    ["check", "--json", "5*x", "5x"],
    ["check", "ln(x)", "log(x)"],
    ["check", "x(", "x"],
    ["check", "1", "1.04", "--relative-tolerance", "0.05"],
    ["check", "1", "1.05", "--absolute-tolerance", "1e-1", "--json"],
    ["check", "abs(x)", "x", "--variable", "x=positive"],
    ["check", "abs(x)", "x", "-v", "x=positive", "-v", "y=real"],
    ["check", "sqrt(x^2)", "x", "--variable", "x=[0, 5]"],
    ["check", "x", "x", "--variable", "x"],
    ["check", "x", "x", "--variable", "x=[0,"],
    ["check", "2*x", "x+x", "--answer", "x*2"],
    ["check", "x^2-5*x+6", "x^2-5*x+6", "--form", "factored"],
    ["check", "2, -3", "2", "--list", "unordered", "--json"],
    ["check", "sin(x)", "sin(x)", "--forbid", "cos", "--forbid", "sin"],
    ["check", "x", "x", "--timeout", "0"],
    ["check", "x", "x", "--seed", "7", "--seed", "8", "--json"],
    ["check", "x", "x", "--timeout", "1e999"],
    ["check", "x", "x", "--timeout", "1e300"],
    ["check", "--", "x", "-x"],
]

# Command lines left to Typer: help, usage errors, spellings the fast path does not read.
LEFT_TO_TYPER = [
    [],
    ["--help"],
    ["serve"],
    ["preview"],
    ["preview", "x", "y"],
    ["preview", "--help"],
    ["preview", "-x"],
    ["preview", "-"],
    ["preview", "x", "--json=1"],
    ["check", "x"],
    ["check", "x", "-x^2"],
    ["check", "x", "x", "--timeout"],
    ["check", "x", "x", "--timeout=1"],
    ["check", "x", "x", "--timeout", "-1"],
    ["check", "x", "x", "--timeout", "1_0"],
    ["check", "x", "x", "--relative-tolerance", " 1"],
    ["check", "x", "x", "--seed", "1.5"],
    ["check", "x", "x", "--seed", "9" * 5000],
    ["check", "x", "x", "--tolerance", "1"],
    ["check", "x", "x", "-vx=real"],
]


@pytest.mark.parametrize("argv", SAME_AS_TYPER, ids=repr)
def test_fast_path_prints_what_typer_prints(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status = fast.run(argv)
    printed = capsys.readouterr()
    typer_result = runner.invoke(app, argv)
    assert status is not None, "the fast path should answer this command line"
    assert (status, printed.out, printed.err) == (
        typer_result.exit_code, typer_result.stdout, typer_result.stderr
    )


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=repr)
def test_fast_path_leaves_the_rest_to_typer(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert fast.run(argv) is None
    assert capsys.readouterr() == ("", "")


def test_shell_completion_is_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_MATHGRADER_COMPLETE", "bash_source")
    assert fast.run(["preview", "x"]) is None


@pytest.mark.parametrize(("args", "status", "stream", "text"), [
    (["preview", "--help"], 0, "out", "Show how the grader reads EXPRESSION"),  # Typer's help
    (["preview", "3x"], 1, "err", "write 3*x"),  # the fast path's own status
])
def test_main_answers_through_the_fast_path_or_typer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    args: list[str], status: int, stream: str, text: str,
) -> None:
    monkeypatch.setattr(sys, "argv", ["mathgrader", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == status
    assert text in getattr(capsys.readouterr(), stream)


def test_a_reader_that_went_away_exits_1_quietly_as_with_typer() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "mathgrader", "preview", "x"],
                              stdout=write_end, stderr=subprocess.PIPE, timeout=120, check=False)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (1, b"")


# ------------------------------------------------------------- what a cold start imports

HEAVY = {"sympy", "pydantic", "pydantic_core", "typer", "click", "rich", "fastapi", "starlette",
         "uvicorn", "sqlalchemy", "jinja2", "tomlkit", "dask"}


def _imported(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `python -X importtime -m mathgrader ARGS`; the top-level packages it imported."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "mathgrader", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    names = {line.rsplit("|", 1)[1].strip().split(".")[0]
             for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "mathgrader" in names, done.stderr[-2000:]
    return done, names


def test_preview_imports_nothing_heavy() -> None:
    done, names = _imported("preview", "3*x^2 + 2*sin(x)", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["latex"] == r"3 \cdot x^{2} + 2 \cdot \sin\left(x\right)"
    assert names & (HEAVY | {"numpy", "mpmath"}) == set()


def test_check_imports_the_checker_only() -> None:
    done, names = _imported("check", "x^2 - 1", "(x - 1)*(x + 1)")
    assert (done.returncode, done.stdout) == (0, "correct\n")
    assert names & HEAVY == set()


# ----------------------------------------------------------------- the time budget of check

# Importing NumPy takes a second (a cold disk, a busy machine); the budget is half a second.
SLOW_NUMPY = """
import sys
from pathlib import Path
from typing import Any
import time


class SlowNumpy:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            time.sleep(1.0)
        return None  # the usual finders import it


sys.meta_path.insert(0, SlowNumpy())
from mathgrader.cli import main

main()
"""


@pytest.mark.parametrize("budget", [["--timeout", "0.5"], ["--timeout=0.5"]],
                         ids=["fast path", "typer"])
def test_start_up_does_not_count_against_the_time_budget(budget: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", SLOW_NUMPY, "check", "x", "x", *budget, "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert json.loads(done.stdout)["verdict"] == "correct", done.stderr[-2000:]
    assert done.returncode == 0


@pytest.mark.parametrize("budget", ["-1", "nan", "inf", "1e999"])
def test_an_unusable_time_budget_is_an_error_verdict(budget: str) -> None:
    """Not an exception from arming the alarm: the options are checked before grading."""
    result = runner.invoke(app, ["check", "x", "x", f"--timeout={budget}", "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["field"] == "timeout"


@pytest.mark.parametrize(("args", "starts"), [
    (["grade-batch", "in.jsonl", "--workers", "2"], True),
    (["grade-batch", "--engine", "local", "in.jsonl"], True),
    (["grade-batch", "--engine", "dask", "in.jsonl"], False),  # Dask workers preload their own
    (["grade-batch", "--engine=dask", "in.jsonl"], False),
    (["grade-batch", "--help"], False),
    (["key", "lint", "quiz.toml"], False),
    ([], False),
])
def test_grade_batch_starts_its_fork_server_before_typer_reads_the_arguments(
    monkeypatch: pytest.MonkeyPatch, args: list[str], starts: bool,
) -> None:
    import mathgrader.batch.pool as pool
    from mathgrader import cli

    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(pool, "start_fork_server",
                        lambda preload=(): calls.append(tuple(preload)) or True)
    cli._start_batch_early(args)
    assert calls == ([cli.BATCH_PRELOAD] if starts else [])


# -------------------------------------------------------------------------- grade-batch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BATCH_LINES = [
    {"id": "a", "reference": "3*x^2 + 2", "answer": "2 + 3*x*x"},
    {"id": "b", "reference": "3*x^2 + 2", "answer": "3x^2"},
    {"id": "c", "reference": "sin(2*x)", "answer": "2*sin(x)*cos(x)"},
    {"reference": "1/2", "answer": "0.5", "options": {"form": "exact"}},
]


@pytest.fixture
def batch_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder (the working directory) with an input, a half-written output to resume, and an
    input for the example answer key."""
    monkeypatch.chdir(tmp_path)
    lines = [json.dumps(item) for item in BATCH_LINES] + ["{not json", ""]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "keyed.jsonl").write_bytes((EXAMPLES / "submissions.jsonl").read_bytes())
    (tmp_path / "key.toml").write_bytes((EXAMPLES / "calculus.toml").read_bytes())
    return tmp_path


def _records(text: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in text.splitlines()]
    for record in records:
        record.pop("seconds", None)  # a timing: differs between any two runs
    return records


# Each runs through the fast path and through Typer; an output file named `out.jsonl` is
# compared too (a resumed one starts from the same half-written lines).
BATCH_SAME_AS_TYPER = [
    ["grade-batch", "in.jsonl"],
    ["grade-batch", "in.jsonl", "-o", "out.jsonl"],
    ["grade-batch", "--workers", "2", "in.jsonl", "--output", "out.jsonl", "--timeout", "1.5"],
    ["grade-batch", "in.jsonl", "-o", "out.jsonl", "--engine", "local", "--memory-limit", "0"],
    ["grade-batch", "keyed.jsonl", "--key", "key.toml", "-o", "out.jsonl"],
    ["grade-batch", "in.jsonl", "-o", "out.jsonl", "--resume"],
    ["grade-batch", "in.jsonl", "-o", "out.jsonl", "--workers", "1", "--workers", "2"],
    ["grade-batch", "--", "in.jsonl"],
    # unusable runs: the same message and status 2
    ["grade-batch", "missing.jsonl"],
    ["grade-batch", "in.jsonl", "-o", "no/such/folder/out.jsonl"],
    ["grade-batch", "in.jsonl", "--timeout", "0"],
    ["grade-batch", "in.jsonl", "--resume"],
    ["grade-batch", "in.jsonl", "--key", "missing.toml"],
    ["grade-batch", "in.jsonl", "--key", "in.jsonl"],
    ["grade-batch", "keyed.jsonl", "-o", "out.jsonl", "--resume"],  # out.jsonl is not its output
]

BATCH_LEFT_TO_TYPER = [
    ["grade-batch", "-"],
    ["grade-batch", "in.jsonl", "out.jsonl"],
    ["grade-batch", "in.jsonl", "--workers", "0"],
    ["grade-batch", "in.jsonl", "--workers", "257"],
    ["grade-batch", "in.jsonl", "--workers", "2.0"],
    ["grade-batch", "in.jsonl", "--engine", "dask"],
    ["grade-batch", "in.jsonl", "--engine", "Local"],
    ["grade-batch", "in.jsonl", "--scheduler", "tcp://localhost:8786"],
    ["grade-batch", "in.jsonl", "--timeout=1"],
    ["grade-batch", "in.jsonl", "--timeout", "-1"],
    ["grade-batch", "in.jsonl", "--memory-limit", "-5"],
    ["grade-batch", "in.jsonl", "-o"],
    ["grade-batch", "in.jsonl", "-o", "-"],
    ["grade-batch", "in.jsonl", "--resume", "yes"],
    ["grade-batch", "--help"],
]


def _half_written(folder: Path) -> None:
    """out.jsonl as an interrupted run of in.jsonl leaves it: two complete lines and a torn one."""
    done = subprocess.run([sys.executable, "-m", "mathgrader", "grade-batch", "in.jsonl"],
                          capture_output=True, text=True, timeout=300, check=True, cwd=folder)
    lines = done.stdout.splitlines(keepends=True)
    (folder / "out.jsonl").write_text("".join(lines[:2]) + lines[2][:9], encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("argv", BATCH_SAME_AS_TYPER, ids=repr)
def test_grade_batch_fast_path_does_what_typer_does(
    argv: list[str], batch_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = batch_files / "out.jsonl"
    runs = []
    for through in ("fast path", "typer"):
        if "--resume" in argv:
            _half_written(batch_files)
        else:
            out.unlink(missing_ok=True)
        if through == "fast path":
            status = fast.run(argv)
            assert status is not None, "the fast path should answer this command line"
            printed = capsys.readouterr()
            result = (status, printed.out, printed.err)
        else:
            typer_result = runner.invoke(app, argv)
            result = (typer_result.exit_code, typer_result.stdout, typer_result.stderr)
        written = (_records(out.read_text(encoding="utf-8"))
                   if result[0] == 0 and out.exists() else None)
        runs.append((result[0], _records(result[1]) if result[0] == 0 else result[1], result[2],
                     written))
    assert runs[0] == runs[1]
    status, stdout, stderr, written = runs[0]
    if status != 0:
        assert status == 2 and stderr.startswith("error: ")
        return
    graded = written if written is not None else stdout
    source = batch_files / ("keyed.jsonl" if "keyed.jsonl" in argv else "in.jsonl")
    expected = [json.loads(line).get("id") if line.startswith("{\"") else None
                for line in source.read_text(encoding="utf-8").splitlines() if line]
    assert [record.get("id") for record in graded] == expected  # every line, in order


@pytest.mark.parametrize("argv", BATCH_LEFT_TO_TYPER, ids=repr)
def test_grade_batch_fast_path_leaves_the_rest_to_typer(
    argv: list[str], batch_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fast.run(argv) is None
    assert capsys.readouterr() == ("", "")
    assert not (batch_files / "out.jsonl").exists()


@pytest.mark.slow
def test_grade_batch_runs_without_typer(batch_files: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mathgrader", "grade-batch", "in.jsonl",
         "--workers", "2"],
        capture_output=True, text=True, timeout=300, check=False, cwd=batch_files)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [record.get("id") for record in _records(done.stdout)] == ["a", "b", "c", None, None]
    names = {line.rsplit("|", 1)[1].strip().split(".")[0]
             for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "numpy" in names  # the fork server's preload writes to the same stderr
    assert names & {"typer", "click", "pydantic", "pydantic_core", "rich"} == set()


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--timeout=2"]], ids=["fast path", "typer"])
def test_grade_batch_exits_0_quietly_when_its_reader_goes_away(
    batch_files: Path, extra: list[str]
) -> None:
    lines = [json.dumps({"id": i, "reference": "x", "answer": f"x + {i}"}) for i in range(3000)]
    (batch_files / "many.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mathgrader", "grade-batch", "many.jsonl", *extra],
            stdout=write_end, stderr=subprocess.PIPE, timeout=300, check=False, cwd=batch_files)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, b"")
