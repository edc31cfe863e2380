"""`grade-batch --resume`: an interrupted run continues without redoing or dropping a line.

The command runs with the test grading function `batch_fns:scripted` in place of mathgrader's
checker (see conftest.py), so that lines take as long as the tests need and verdicts never
depend on the machine's speed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mathgrader import batch
from mathgrader.batch import BatchStats, run_batch
from mathgrader.cli import app

pytestmark = pytest.mark.slow  # every test here starts worker processes

HERE = Path(__file__).parent
FNS = "batch_fns:scripted"


def submissions(n: int, seconds: float = 0.0) -> list[str]:
    """Input lines with what resuming must get right: blank lines, bad lines (whose messages
    carry line numbers), lines without an id and repeated ids."""
    lines = []
    for i in range(n):
        if i % 41 == 7:
            lines.append("")
        if i % 29 == 5:
            lines.append("{not json")
            continue
        item: dict[str, Any] = {"reference": "x", "answer": "x" if i % 3 else "y"}
        if i % 17 != 3:
            item["id"] = "repeated" if i % 23 == 0 else f"s{i}"
        if seconds:
            item.update(do="sleep", seconds=seconds)
        lines.append(json.dumps(item))
    return lines


def without_seconds(text: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in text.splitlines()]
    for record in records:
        record.pop("seconds")
    return records


@pytest.fixture
def graded(monkeypatch: pytest.MonkeyPatch) -> list[BatchStats]:
    """Make the command grade with `batch_fns:scripted`; collects each run's statistics."""
    runs: list[BatchStats] = []

    def scripted_run_batch(*args: Any, **kwargs: Any) -> BatchStats:
        stats = run_batch(*args, **{**kwargs, "grade_fn": FNS, "preload": []})
        runs.append(stats)
        return stats

    monkeypatch.setattr(batch, "run_batch", scripted_run_batch)
    return runs


def cli(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["grade-batch", *args], input=input)


@pytest.fixture
def files(tmp_path: Path, graded: list[BatchStats]) -> tuple[Path, Path, str]:
    """(input, output, what an uninterrupted run writes)."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(submissions(120)) + "\n", encoding="utf-8")
    full = tmp_path / "full.jsonl"
    result = cli(str(source), "-o", str(full))
    assert result.exit_code == 0, result.output
    graded.clear()
    return source, target, full.read_text(encoding="utf-8")


def first_lines(text: str, k: int) -> str:
    return "".join(text.splitlines(keepends=True)[:k])


def test_torn_last_line_is_cut_off_and_graded_again(
    files: tuple[Path, Path, str], graded: list[BatchStats]
) -> None:
    source, target, full = files
    kept = first_lines(full, 50)
    torn = full.splitlines(keepends=True)[50][:25]
    target.write_text(kept + torn, encoding="utf-8")
    result = cli(str(source), "-o", str(target), "--resume")
    assert result.exit_code == 0, result.output
    assert f"cut off a torn last line ({len(torn)} bytes)" in result.stderr
    got = target.read_text(encoding="utf-8")
    assert got.startswith(kept)  # the answered lines are kept as they were
    assert without_seconds(got) == without_seconds(full)
    assert graded[0].lines == 120 - 50


def test_complete_last_line_that_is_not_a_result_is_dropped(
    files: tuple[Path, Path, str],
) -> None:
    source, target, full = files
    target.write_text(first_lines(full, 30) + '{"id": "s31", "verd\n', encoding="utf-8")
    result = cli(str(source), "-o", str(target), "--resume")
    assert result.exit_code == 0, result.output
    assert without_seconds(target.read_text(encoding="utf-8")) == without_seconds(full)


def test_resume_continues_line_numbers(files: tuple[Path, Path, str]) -> None:
    source, target, full = files
    # Stop just before a bad line, whose message names its line in the whole input.
    records = without_seconds(full)
    bad = [i for i, r in enumerate(records) if (r["error"] or {}).get("code") == "bad_json"]
    assert len(bad) >= 3
    target.write_text(first_lines(full, bad[2]), encoding="utf-8")
    result = cli(str(source), "-o", str(target), "--resume")
    assert result.exit_code == 0, result.output
    resumed = without_seconds(target.read_text(encoding="utf-8"))
    assert resumed[bad[2]]["error"]["message"].startswith("line ")
    assert resumed == records


def test_complete_output_grades_nothing(
    files: tuple[Path, Path, str], graded: list[BatchStats]
) -> None:
    source, target, full = files
    target.write_text(full, encoding="utf-8")
    result = cli(str(source), "-o", str(target), "--resume")
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == full  # byte for byte, seconds included
    assert graded[0].lines == 0


@pytest.mark.parametrize("content", ["", None], ids=["empty", "missing"])
def test_empty_or_missing_output_runs_from_the_start(
    files: tuple[Path, Path, str], content: str | None
) -> None:
    source, target, full = files
    if content is not None:
        target.write_text(content, encoding="utf-8")
    result = cli(str(source), "-o", str(target), "--resume")
    assert result.exit_code == 0, result.output
    assert without_seconds(target.read_text(encoding="utf-8")) == without_seconds(full)


def test_stdin_input_is_read_again_and_its_answered_lines_skipped(
    files: tuple[Path, Path, str], graded: list[BatchStats]
) -> None:
    source, target, full = files
    target.write_text(first_lines(full, 70), encoding="utf-8")
    result = cli("-", "-o", str(target), "--resume", input=source.read_text(encoding="utf-8"))
    assert result.exit_code == 0, result.output
    assert without_seconds(target.read_text(encoding="utf-8")) == without_seconds(full)
    assert graded[0].lines == 120 - 70


def edit_line(text: str, index: int, **fields: Any) -> str:
    lines = text.splitlines(keepends=True)
    record = json.loads(lines[index])
    record.update(fields)
    lines[index] = json.dumps(record) + "\n"
    return "".join(lines)


# (how the output differs from a run of this input, fragment of the message)
MISMATCHES = [
    pytest.param(
        lambda full: edit_line(first_lines(full, 40), 12, id="other"),
        'line 13 of {out} answers id "other", but input line 14 (submission 13) has id "s12"',
        id="other-id",
    ),
    pytest.param(  # a line whose input has no id
        lambda full: edit_line(first_lines(full, 40), 3, id="s3"),
        'answers id "s3", but input line 4 (submission 4) has id null',
        id="id-where-input-has-none",
    ),
    pytest.param(  # a repeated id is matched by position too
        lambda full: edit_line(first_lines(full, 40), 0, id="s1"),
        'line 1 of {out} answers id "s1", but input line 1 (submission 1) has id "repeated"',
        id="repeated-id",
    ),
    pytest.param(
        lambda full: edit_line(first_lines(full, 40), 4, id=4),
        'line 5 of {out} answers id 4, but input line 5 (submission 5) has id "s4"',
        id="number-for-string",
    ),
    pytest.param(
        lambda full: full + full.splitlines(keepends=True)[0],
        "has more result lines than the input has submissions (120)",
        id="longer-than-input",
    ),
    pytest.param(
        lambda full: first_lines(full, 10) + "garbage\n" + first_lines(full, 20)[-200:],
        "line 11 of {out} is not a result line of grade-batch, and more lines follow it",
        id="damaged-middle",
    ),
]


@pytest.mark.parametrize(("make", "message"), MISMATCHES)
def test_output_of_another_input_is_refused_and_left_alone(
    files: tuple[Path, Path, str], make: Any, message: str
) -> None:
    source, target, full = files
    content = make(full)
    target.write_text(content, encoding="utf-8")
    result = cli(str(source), "-o", str(target), "--resume")
    assert result.exit_code == 2
    assert message.format(out=target) in result.stderr.replace("\n", " ")
    assert target.read_text(encoding="utf-8") == content


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["in.jsonl", "--resume"], "name it with -o OUTPUT", id="no-output"),
        pytest.param(
            ["in.jsonl", "-o", "out.jsonl", "--resume", "--engine", "dask"],
            "--engine local only",
            id="dask",
        ),
    ],
)
def test_unusable_resume_exits_2(args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr


# -- a real interruption -------------------------------------------------------------------

# The real command, grading with batch_fns:scripted (on PYTHONPATH) instead of the checker, which
# its fork server then need not load. `main` is the `mathgrader` command's (plain arguments take
# its fast path, without Typer) or the Typer app's.
DRIVER = """
import sys
import mathgrader.batch

real_run_batch = mathgrader.batch.run_batch

def run_batch(*args, **kwargs):
    return real_run_batch(*args, **{{**kwargs, "grade_fn": {fns!r}, "preload": []}})

mathgrader.batch.run_batch = run_batch
from {entry} import main
sys.argv[0] = "mathgrader"
main()
"""
ENTRIES = {"typer": "mathgrader.cli.commands", "fast path": "mathgrader.cli"}


def command(*args: str, entry: str = "typer") -> list[str]:
    driver = DRIVER.format(fns=FNS, entry=ENTRIES[entry])
    return [sys.executable, "-c", driver, "grade-batch", *args]


def env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(HERE) + (os.pathsep + path if path else "")}


@pytest.fixture(scope="module")
def slow_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An input of 200 lines at 5 ms each, and an uninterrupted run's output."""
    folder = tmp_path_factory.mktemp("resume")
    source, full = folder / "in.jsonl", folder / "full.jsonl"
    source.write_text("\n".join(submissions(200, seconds=0.005)) + "\n", encoding="utf-8")
    subprocess.run(command(str(source), "-o", str(full)), env=env(), check=True, timeout=300)
    return source, full.read_text(encoding="utf-8")


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize("entry", list(ENTRIES))
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_resumes_to_the_same_output(
    slow_input: tuple[Path, str], tmp_path: Path, signum: int, entry: str
) -> None:
    source, full = slow_input
    target = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        command(str(source), "-o", str(target), entry=entry), env=env(), stderr=subprocess.PIPE,
        text=True
    )
    try:
        while count_lines(target) < 40:
            assert proc.poll() is None, "the run ended before it could be interrupted"
            time.sleep(0.01)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum
    assert "--resume" in stderr
    interrupted = target.read_bytes()
    answered = interrupted.count(b"\n")
    assert interrupted.endswith(b"\n")  # only complete lines
    assert 40 <= answered < len(full.splitlines())

    resumed = subprocess.run(
        command(str(source), "-o", str(target), "--resume", entry=entry),
        env=env(), capture_output=True, text=True, timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {answered} lines already in" in resumed.stderr
    final = target.read_text(encoding="utf-8")
    assert final.encode().startswith(interrupted)  # nothing answered twice
    records = without_seconds(final)
    assert len(records) == len(full.splitlines())  # nothing dropped
    assert records == without_seconds(full)

