"""End-to-end tests of `run_batch` with real worker processes.

Grading functions come from `batch_fns` (see conftest.py). Time assertions are deliberately loose
(a multiple of the budget): they check that a hang is cut off, not how fast the machine is.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mathgrader.batch import BatchError, BatchInputError, BatchStats, run_batch
from mathgrader.batch.runner import _home_of_text, _LineReader
from mathgrader.errors import ConfigError

pytestmark = pytest.mark.slow  # every test here starts worker processes

FNS = "batch_fns:scripted"
BUDGET = 0.5


def line(ident: Any, do: str | None = None, *, right: bool = True, **fields: Any) -> str:
    item: dict[str, Any] = {"id": ident, "reference": "x", "answer": "x" if right else "y"}
    if do is not None:
        item["do"] = do
    item.update(fields)
    return json.dumps(item)


def run(lines: list[str] | Iterator[str], **kwargs: Any) -> tuple[list[dict[str, Any]], BatchStats]:
    kwargs.setdefault("grade_fn", FNS)
    kwargs.setdefault("timeout", BUDGET)
    out = io.StringIO()
    stats = run_batch(lines, out, **kwargs)
    return [json.loads(text) for text in out.getvalue().splitlines()], stats


def verdicts(records: list[dict[str, Any]]) -> list[str]:
    return [r["verdict"] for r in records]


def assert_gone(pids: list[int]) -> None:
    assert multiprocessing.active_children() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# -- order, shape, blank lines -------------------------------------------------------------


def test_order_is_kept_with_several_workers_and_uneven_costs() -> None:
    rng = random.Random(7)
    lines = [
        line(i, "sleep", seconds=rng.choice([0, 0, 0.001, 0.005, 0.02]), right=i % 3 > 0)
        for i in range(300)
    ]
    records, stats = run(lines, workers=3, chunk_size=4)
    assert [r["id"] for r in records] == list(range(300))
    assert verdicts(records) == ["correct" if i % 3 else "incorrect" for i in range(300)]
    assert stats.lines == 300 and stats.worker_restarts == 0


def test_every_record_has_the_contract_fields() -> None:
    records, _ = run([line("a"), line("b", right=False)])
    for record in records:
        assert list(record) == ["id", "verdict", "score", "feedback", "error", "seconds"]
        assert isinstance(record["seconds"], float) and record["seconds"] >= 0
    assert [(r["verdict"], r["score"]) for r in records] == [("correct", 1.0), ("incorrect", 0.0)]


def test_blank_lines_are_skipped_and_every_other_line_answered() -> None:
    lines = ["\n", line(1) + "\n", "   \n", line(2) + "\r\n", "", "\t\n", line(3)]
    records, stats = run(lines, workers=2)
    assert [r["id"] for r in records] == [1, 2, 3]
    assert (stats.lines, stats.blank_lines) == (3, 4)


def test_empty_input() -> None:
    records, stats = run([])
    assert records == [] and stats.lines == 0


def test_write_may_be_a_callable_getting_whole_lines() -> None:
    chunks: list[str] = []
    run_batch([line(i) for i in range(50)], chunks.append, grade_fn=FNS, workers=2)
    assert all(chunk.endswith("\n") for chunk in chunks)
    assert [json.loads(t)["id"] for t in "".join(chunks).splitlines()] == list(range(50))


def test_grade_objects_with_to_dict() -> None:
    records, _ = run([line(1)], grade_fn="batch_fns:with_to_dict")
    assert verdicts(records) == ["correct"]


# -- bad lines -----------------------------------------------------------------------------

# (input line, expected id, fragment of the message)
BAD_LINES = [
    ("{oops", None, "line 2: not valid JSON"),
    ("[1, 2, 3]", None, "line 3: each line must be a JSON object, not an array"),
    ('"just text"', None, "line 4: each line must be a JSON object, not a string"),
    ("17", None, "line 5: each line must be a JSON object, not a number"),
    ('{"id": "x", "answer": Infinity}', None, "line 6: not valid JSON"),
    # an id beyond the range of numbers stopped the whole run when its line was written
    ('{"id": 1e999, "reference": "x", "answer": "x"}', None,
     "line 7: not valid JSON (1e999 is beyond the range of numbers)"),
    ('{"id": [-1e999], "reference": "x", "answer": "x"}', None,
     "line 8: not valid JSON (-1e999 is beyond the range of numbers)"),
]


@pytest.fixture(scope="module")
def bad_line_records() -> list[dict[str, Any]]:
    lines = [line("first")] + [text for text, _, _ in BAD_LINES] + [line("last")]
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(Path(__file__).parent))
        records, _ = run(lines, workers=2)
    return records


@pytest.mark.parametrize(
    ("index", "case"), list(enumerate(BAD_LINES)), ids=[text for text, _, _ in BAD_LINES]
)
def test_bad_lines_get_error_and_the_run_goes_on(
    bad_line_records: list[dict[str, Any]], index: int, case: tuple[str, Any, str]
) -> None:
    _, ident, fragment = case
    record = bad_line_records[index + 1]
    assert (record["id"], record["verdict"], record["score"]) == (ident, "error", 0.0)
    assert record["error"]["code"] == "bad_json"
    assert fragment in record["error"]["message"]
    assert record["feedback"] == record["error"]["message"]


def test_lines_around_bad_lines_are_graded(bad_line_records: list[dict[str, Any]]) -> None:
    assert len(bad_line_records) == len(BAD_LINES) + 2
    assert [bad_line_records[0]["verdict"], bad_line_records[-1]["verdict"]] == ["correct"] * 2


def test_missing_fields_with_the_real_grade_item() -> None:
    lines = [
        json.dumps({"id": "no-reference", "answer": "x"}),
        json.dumps({"id": "no-answer", "reference": "x"}),
        json.dumps({"id": "bad-options", "reference": "x", "answer": "x", "options": [1]}),
        "not json",
    ]
    # Only error paths: they do not need the equivalence checker, which is built elsewhere.
    records, stats = run(lines, grade_fn="mathgrader.checker.grade:grade_item", preload=[])
    assert [r["id"] for r in records] == ["no-reference", "no-answer", "bad-options", None]
    assert verdicts(records) == ["error"] * 4
    assert "reference" in records[0]["error"]["message"]
    assert "answer" in records[1]["error"]["message"]
    assert stats.verdicts["error"] == 4


# -- time budget ---------------------------------------------------------------------------


def test_python_hang_times_out_softly_and_later_lines_are_graded() -> None:
    lines = [line(0), line(1, "hang"), line(2), line(3, right=False)]
    started = time.monotonic()
    records, stats = run(lines)
    assert time.monotonic() - started < 10 * BUDGET
    assert verdicts(records) == ["correct", "timeout", "correct", "incorrect"]
    hung = records[1]
    assert (hung["id"], hung["score"], hung["error"]["code"]) == (1, 0.0, "timeout")
    assert "0.5 s" in hung["error"]["message"]
    assert BUDGET * 0.9 <= hung["seconds"] < 10 * BUDGET
    assert stats.verdicts["timeout"] == 1
    assert stats.worker_restarts == 0  # the soft timer handled it without a kill


@pytest.mark.parametrize("do", ["c_loop", "masked", "swallow"])
def test_uninterruptible_hang_is_killed_and_later_lines_are_graded(do: str) -> None:
    lines = [line(0), line(1, do)] + [line(i) for i in range(2, 40)]
    started = time.monotonic()
    records, stats = run(lines, workers=2, chunk_size=8)
    assert time.monotonic() - started < 10 * BUDGET
    assert [r["id"] for r in records] == list(range(40))
    assert verdicts(records) == ["correct", "timeout"] + ["correct"] * 38
    assert records[1]["error"]["code"] == "timeout"
    assert stats.worker_restarts == 1


def test_big_integer_work_times_out() -> None:
    records, _ = run([line(0, "bigint"), line(1)])
    assert verdicts(records) == ["timeout", "correct"]


def test_several_hangs_in_a_row() -> None:
    lines = [line(0, "masked"), line(1, "hang"), line(2, "c_loop"), line(3)]
    started = time.monotonic()
    records, _ = run(lines, workers=2)
    assert time.monotonic() - started < 3 * 10 * BUDGET
    assert verdicts(records) == ["timeout", "timeout", "timeout", "correct"]


# -- crashes and exceptions ----------------------------------------------------------------


def test_line_that_kills_its_worker_twice_gets_error_and_others_are_unaffected() -> None:
    lines = [line(i) for i in range(20)]
    lines[7] = line(7, "exit")
    records, stats = run(lines, workers=2, chunk_size=4)
    assert [r["id"] for r in records] == list(range(20))
    assert verdicts(records) == ["correct"] * 7 + ["error"] + ["correct"] * 12
    crashed = records[7]
    assert crashed["error"]["code"] == "worker_crashed"
    assert "died 2 times" in crashed["error"]["message"]
    assert "exit code 1" in crashed["error"]["message"]
    assert stats.worker_restarts == 2


def test_line_that_kills_one_worker_is_rerun(tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    records, stats = run([line(0), line(1, "exit_once", marker=str(marker)), line(2)])
    assert marker.exists()
    assert verdicts(records) == ["correct"] * 3
    assert stats.worker_restarts == 1


def test_exception_in_the_grading_function_gives_error() -> None:
    records, stats = run([line(0), line(1, "raise"), line(2)])
    assert verdicts(records) == ["correct", "error", "correct"]
    assert records[1]["error"]["code"] == "grader_failed"
    assert "RuntimeError: boom" in records[1]["error"]["message"]
    assert stats.worker_restarts == 0


def test_unusable_results_give_error() -> None:
    records, _ = run([line(0, "bad_verdict"), line(1, "not_json"), line(2)])
    assert verdicts(records) == ["error", "error", "correct"]
    assert {r["error"]["code"] for r in records[:2]} == {"bad_result"}


# -- statistics ----------------------------------------------------------------------------


def test_stats_count_every_verdict() -> None:
    lines = [line(0), line(1, right=False), "", "nope", line(3, "hang"), line(4, "raise"), line(5)]
    records, stats = run(lines, workers=2)
    assert len(records) == stats.lines == 6
    assert stats.blank_lines == 1
    assert stats.verdicts == {"correct": 2, "incorrect": 1, "invalid": 0, "error": 2, "timeout": 1}
    assert sum(stats.verdicts.values()) == stats.lines
    assert stats.seconds > 0 and stats.workers == 2 and stats.lines_per_second > 0


# -- resolver (answer keys) ----------------------------------------------------------------

KEY = {"q1": {"reference": "x", "options": {}}, "q2": {"reference": "y", "options": {}}}


def resolve(item: dict[str, Any]) -> dict[str, Any]:
    question = item["question"]
    if not isinstance(question, str):
        raise ValueError('"question" must be a string')
    if question == "retired":
        raise ConfigError("question retired is no longer graded", field="question")
    return {**KEY[question], "answer": item.get("answer")}


def test_resolver_maps_items_and_its_errors_become_error_lines() -> None:
    lines = [
        json.dumps({"id": "a", "question": "q1", "answer": "x"}),
        json.dumps({"id": "b", "question": "q2", "answer": "x"}),
        json.dumps({"id": "c", "question": "q9", "answer": "x"}),
        json.dumps({"id": "d", "question": 5, "answer": "x"}),
        json.dumps({"id": "e", "answer": "x"}),
        "[]",
        json.dumps({"id": "f", "question": "q1", "answer": "x", "do": "hang"}),
        json.dumps({"id": "g", "question": "retired", "answer": "x"}),
    ]
    records, stats = run(lines, resolve=resolve, workers=2)
    assert [r["id"] for r in records] == ["a", "b", "c", "d", "e", None, "f", "g"]
    assert verdicts(records) == [
        "correct",
        "incorrect",
        "error",
        "error",
        "error",
        "error",
        "correct",
        "error",
    ]  # the resolver drops "do": no hang
    assert records[2]["error"] == {"code": "not_found", "message": "not found: q9"}
    assert records[3]["error"]["message"] == '"question" must be a string'
    assert records[4]["error"]["message"] == "not found: question"
    assert records[5]["error"]["code"] == "bad_json"
    assert records[7]["error"] == {
        "code": "config",
        "field": "question",
        "message": "question retired is no longer graded",
    }
    assert records[7]["feedback"] == "question retired is no longer graded"
    assert stats.lines == 8


def test_resolver_bug_stops_the_run_and_leaves_no_process() -> None:
    def broken(item: dict[str, Any]) -> Any:
        raise RuntimeError("resolver bug")

    with pytest.raises(RuntimeError, match="resolver bug"):
        run([line(0)], resolve=broken, workers=2)
    assert multiprocessing.active_children() == []


# -- streaming, input failures, shutdown ---------------------------------------------------


def test_input_is_read_lazily_with_bounded_buffering() -> None:
    pulled = 0
    written = 0
    most_ahead = 0

    def source() -> Iterator[str]:
        nonlocal pulled
        for i in range(6000):
            pulled += 1
            yield line(i) + "\n"

    def write(text: str) -> None:
        nonlocal written, most_ahead
        most_ahead = max(most_ahead, pulled - written)
        written += text.count("\n")

    stats = run_batch(source(), write, grade_fn=FNS, workers=2, max_pending=200)
    assert stats.lines == written == 6000
    # The window, plus batches of 256 lines: 4 queued by the reader thread, 1 it is building
    # and 1 taken but not yet numbered by the parent. Without laziness it would be 6000.
    assert most_ahead <= 200 + 6 * 256


def test_failing_input_answers_what_was_read_then_raises() -> None:
    def source() -> Iterator[str]:
        yield line(0)
        yield line(1)
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    out = io.StringIO()
    with pytest.raises(BatchInputError, match="could not read the input") as info:
        run_batch(source(), out, grade_fn=FNS)
    assert [json.loads(t)["id"] for t in out.getvalue().splitlines()] == [0, 1]
    assert info.value.stats.lines == 2


def test_a_regular_file_is_read_without_the_thread_and_fails_alike(tmp_path: Path) -> None:
    # 600 lines (more than one batch of the reader), then a byte that is not UTF-8.
    path = tmp_path / "in.jsonl"
    path.write_bytes("".join(line(i) + "\n" for i in range(600)).encode() + b"\xff\n")
    out = io.StringIO()
    with path.open(encoding="utf-8") as source:
        reader = _LineReader(source)
        assert reader._direct
        reader.close()
        source.seek(0)
        with pytest.raises(BatchInputError, match="could not read the input") as info:
            run_batch(source, out, grade_fn=FNS, workers=2)
    # The text layer decodes 8 KiB at a time: lines in the block with the bad byte are lost.
    answered = [json.loads(t)["id"] for t in out.getvalue().splitlines()]
    assert answered == list(range(len(answered)))
    assert len(answered) >= 512  # two batches of the reader, at least
    assert info.value.stats.lines == len(answered)
    assert not any(t.name == "mathgrader-batch-reader" for t in threading.enumerate())


def test_bad_grading_function_is_refused_before_starting() -> None:
    with pytest.raises(BatchError, match="cannot import"):
        run([line(0)], grade_fn="batch_fns_nowhere:grade")


def test_no_process_is_left_after_a_run() -> None:
    records, _ = run([line(i, "pid") for i in range(20)], workers=2, chunk_size=2)
    pids = sorted({int(r["feedback"]) for r in records})
    assert 1 <= len(pids) <= 2
    assert_gone(pids)


def test_interrupt_kills_every_worker() -> None:
    pids: list[int] = []

    def write(text: str) -> None:
        pids.extend(int(json.loads(t)["feedback"]) for t in text.splitlines())
        raise KeyboardInterrupt

    lines = [line(0, "pid"), line(1, "c_loop"), line(2, "masked"), line(3)]
    with pytest.raises(KeyboardInterrupt):
        run_batch(lines, write, grade_fn=FNS, workers=2, timeout=30)
    assert pids
    assert_gone(pids)


def test_progress_bar_does_not_touch_the_output(capsys: pytest.CaptureFixture[str]) -> None:
    records, _ = run([line(i) for i in range(30)], progress=True, total=30)
    assert [r["id"] for r in records] == list(range(30))
    assert capsys.readouterr().out == ""


def test_many_lines_in_order() -> None:
    n = 10_000
    records, stats = run((line(i, right=i % 2 == 0) for i in range(n)), workers=2)
    assert [r["id"] for r in records] == list(range(n))
    assert stats.verdicts["correct"] == stats.verdicts["incorrect"] == n // 2


def test_worker_that_cannot_load_the_grading_function_stops_the_run() -> None:
    with pytest.raises(BatchError, match="refuses to load in a worker"):
        run([line(0)], grade_fn="batch_fns_parent_only:grade")
    assert multiprocessing.active_children() == []


# -- routing: repeated answers go to one worker --------------------------------------------

SAME_HOME_PAIRS = [
    ('{"id": 1, "reference": "x", "answer": "2*x"}',
     '{"id": 2, "reference": "x", "answer": "2*x"}'),
    ('{"id": 1, "answer": "a\\"b", "reference": "x"}',
     '{"answer": "a\\"b", "id": 9, "reference": "x"}'),
    ('{"id": "q", "question": "quiz/q1", "answer": "3"}',
     '{"id": "r", "question": "quiz/q1", "answer": "3"}'),
]
OTHER_HOME_PAIRS = [
    ('{"reference": "x", "answer": "2*x"}', '{"reference": "x", "answer": "x*2"}'),
    ('{"reference": "x", "answer": "1"}', '{"reference": "y", "answer": "1"}'),
    ('{"question": "quiz/q1", "answer": "3"}', '{"question": "quiz/q2", "answer": "3"}'),
]


@pytest.mark.parametrize(("a", "b"), SAME_HOME_PAIRS, ids=[a for a, _ in SAME_HOME_PAIRS])
def test_lines_graded_alike_share_a_home(a: str, b: str) -> None:
    assert _home_of_text(a) is not None
    assert _home_of_text(a) == _home_of_text(b)


@pytest.mark.parametrize(("a", "b"), OTHER_HOME_PAIRS, ids=[a for a, _ in OTHER_HOME_PAIRS])
def test_lines_graded_differently_get_different_homes(a: str, b: str) -> None:
    assert _home_of_text(a) != _home_of_text(b)


@pytest.mark.parametrize("text", ["{oops", '{"id": 1}', "[1, 2]", '{"answer": 3}'])
def test_lines_without_graded_fields_have_no_home(text: str) -> None:
    assert _home_of_text(text) is None


# -- blocks: consecutive raw lines travel as one task ----------------------------------------

def test_a_line_that_hangs_in_a_block_is_the_only_timeout() -> None:
    # Lines 0-9 form one block (a block holds 32 lines or more); line 4 hangs where no signal
    # reaches it, so the worker is killed: the lines it had finished run again, the rest of the
    # block goes on.
    lines = [line(i, "masked" if i == 4 else None, right=i % 3 != 0) for i in range(10)]
    records, stats = run(lines, workers=1, timeout=0.5)
    assert [r["id"] for r in records] == list(range(10))
    assert verdicts(records) == [
        "timeout" if i == 4 else ("incorrect" if i % 3 == 0 else "correct") for i in range(10)]
    assert stats.worker_restarts == 1


def test_a_line_that_crashes_its_worker_in_a_block_is_the_only_error() -> None:
    lines = [line(i, "exit" if i == 2 else None) for i in range(6)]
    records, stats = run(lines, workers=1)
    assert verdicts(records) == ["correct", "correct", "error", "correct", "correct", "correct"]
    assert records[2]["error"]["code"] == "worker_crashed"
    assert stats.worker_restarts == 2  # the line is given a second worker before it is blamed


def test_blank_lines_end_a_block_and_line_numbers_stay_right() -> None:
    lines = ["{oops", line(1), "", "", "[1]", line(5), "{bad"]
    records, stats = run(lines, workers=2)
    assert [r["error"]["message"][:7] if r["error"] else r["verdict"] for r in records] == [
        "line 1:", "correct", "line 5:", "correct", "line 7:"]
    assert stats.blank_lines == 2


@pytest.mark.parametrize("source", ["file", "generator"])
@pytest.mark.parametrize("max_pending", [37, 4096])
def test_long_input_with_scattered_blank_lines_keeps_order_and_line_numbers(
    tmp_path: Path, source: str, max_pending: int
) -> None:
    # The parent numbers and cuts raw lines a batch at a time; blank lines, lines with spaces
    # around them and a window smaller than a batch must not shift a line number or an id.
    rng = random.Random(max_pending)
    lines: list[str] = []
    expected: list[tuple[Any, str]] = []  # (id, verdict or "line N:") per non-blank line
    for n in range(1, 3001):
        kind = rng.random()
        if kind < 0.1:
            lines.append(rng.choice(["", "  ", "\t"]))
        elif kind < 0.15:
            lines.append(" {oops ")
            expected.append((None, f"line {n}:"))
        else:
            lines.append(rng.choice(["", " "]) + line(n, right=kind < 0.9))
            expected.append((n, "correct" if kind < 0.9 else "incorrect"))
    if source == "file":
        path = tmp_path / "in.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with path.open(encoding="utf-8") as f:
            records, stats = run(f, workers=2, max_pending=max_pending)
    else:
        records, stats = run(iter(lines), workers=2, max_pending=max_pending)
    got = [(r["id"], r["error"]["message"][: len(want)] if r["error"] else r["verdict"])
           for r, (_, want) in zip(records, expected, strict=True)]
    assert got == expected
    assert (stats.lines, stats.blank_lines) == (len(expected), len(lines) - len(expected))


@pytest.mark.parametrize("preload", [["mathgrader.batch._warmup"], []])
def test_the_warm_up_hides_preloaded_modules_from_the_collector(preload: list[str]) -> None:
    # In a process of its own: a process starts one fork server, with the first run's preload.
    from mathgrader.batch.pool import GC_YOUNG_THRESHOLD

    script = textwrap.dedent(f"""
        import io, json, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from mathgrader.batch import run_batch
        out = io.StringIO()
        lines = [json.dumps({{"id": i}}) for i in range(4)]
        run_batch(lines, out, grade_fn="batch_fns:gc_state", preload={preload!r}, workers=2)
        print(json.dumps([json.loads(line)["feedback"] for line in out.getvalue().splitlines()]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, timeout=120)
    states = json.loads(result.stdout)
    assert len(states) == 4
    for state in states:
        frozen, young = map(int, state.split())
        if preload:  # numpy, mpmath, the parser and the checker: tens of thousands of objects
            assert frozen > 10_000 and young == GC_YOUNG_THRESHOLD
        else:
            assert frozen == 0 and young != GC_YOUNG_THRESHOLD


# -- text blocks: a regular file goes to the workers as text ----------------------------------


def run_file(tmp_path: Path, text: str, **kwargs: Any) -> tuple[list[dict[str, Any]], BatchStats]:
    """`run` over a regular file holding `text`: the parent cuts it into text blocks."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(text.encode())
    with path.open(encoding="utf-8") as source:
        assert _LineReader(source).text
        return run(source, **kwargs)


def test_a_line_that_hangs_in_a_text_block_is_the_only_timeout(tmp_path: Path) -> None:
    # Blank lines before it shift the culprit's place in the block but not its line number.
    lines = ["", *[line(i, "masked" if i == 5 else None, right=i % 3 != 0) for i in range(10)],
             "  ", "{bad"]
    records, stats = run_file(tmp_path, "\n".join(lines) + "\n", workers=1, timeout=0.5)
    assert [r["id"] for r in records] == [*range(10), None]
    assert verdicts(records) == [
        "timeout" if i == 5 else ("incorrect" if i % 3 == 0 else "correct")
        for i in range(10)] + ["error"]
    assert records[5]["error"]["code"] == "timeout"
    assert records[10]["error"]["message"].startswith("line 13:")
    assert (stats.lines, stats.blank_lines, stats.worker_restarts) == (11, 2, 1)


def test_a_line_that_crashes_workers_in_a_text_block_is_the_only_error(tmp_path: Path) -> None:
    lines = [line(i, "exit" if i == 3 else None) for i in range(8)]
    lines[1:1] = ["", "\t"]
    records, stats = run_file(tmp_path, "\n".join(lines), workers=2)  # no final newline
    assert [r["id"] for r in records] == list(range(8))
    assert verdicts(records) == ["correct"] * 3 + ["error"] + ["correct"] * 4
    assert "died 2 times" in records[3]["error"]["message"]
    assert (stats.lines, stats.blank_lines, stats.worker_restarts) == (8, 2, 2)


def test_a_line_that_crashes_a_worker_once_in_a_text_block_is_rerun(tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    lines = [line(0), "", line(1, "exit_once", marker=str(marker)), "", line(2)]
    records, stats = run_file(tmp_path, "\n".join(lines) + "\n", workers=1)
    assert marker.exists()
    assert [(r["id"], r["verdict"]) for r in records] == [(i, "correct") for i in range(3)]
    assert (stats.blank_lines, stats.worker_restarts) == (2, 1)


def test_a_file_and_the_same_lines_as_a_list_give_the_same_output(tmp_path: Path) -> None:
    # Padding, CRLF endings, blank lines of every kind of white space, bad JSON, a line longer
    # than what the reader takes at a time, and a last line without its newline.
    lines = [line(0), "  " + line(1, right=False) + " ", "", " \t ", "\u00a0", "{oops",
             line(2, answer="x" * 20_000), "[1, 2]", line(3) + "\r", "", line(4)]
    for workers in (1, 2):
        from_file, file_stats = run_file(tmp_path, "\n".join(lines), workers=workers)
        from_list, list_stats = run(lines, workers=workers)
        for record in (*from_file, *from_list):
            record.pop("seconds")
        assert from_file == from_list
        assert (file_stats.lines, file_stats.blank_lines, file_stats.verdicts) == (
            list_stats.lines, list_stats.blank_lines, list_stats.verdicts)
        assert file_stats.blank_lines == 4


# -- workers share what they find -------------------------------------------------------------


def test_workers_of_a_pool_share_results_through_the_grading_functions_hook() -> None:
    # Lines without graded fields have no home: round robin, so usually one line to each worker
    # (an idle worker may also take the other's; test_peers.py shares between processes for
    # sure). Whichever worker waits finds what was published.
    lines = [json.dumps({"id": 0, "publish": "k"}), json.dumps({"id": 1, "wait_for": "k"})]
    records, _ = run(lines, grade_fn="batch_fns:sharing", workers=2, chunk_size=1)
    published, found = records[0]["feedback"].split(), records[1]["feedback"].split()
    assert published[0] == "published" and found[:2] == ["found", published[1]]


def test_a_single_worker_has_no_one_to_share_with() -> None:
    records, _ = run([json.dumps({"id": 0, "publish": "k"})], grade_fn="batch_fns:sharing")
    assert records[0]["feedback"] == "no peers"
