"""In-process tests of what a worker does with one line, and of the pool's building blocks."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mathgrader.batch.pool import (
    CHUNK_SECONDS,
    MAX_CHUNK_LINES,
    MIN_CHUNK_LINES,
    BatchError,
    Task,
    WorkerPool,
    decode_line,
    grade_payload,
    load_grade_fn,
    result_line,
    soft_timer,
    start_fork_server,
)


def _payload(text: str, lineno: int = 1) -> tuple[int, str | None, Any, Any]:
    return (lineno, text, None, None)


def _const(result: Any) -> Any:
    return lambda item: result


DECODE_PAIRS = [
    ('{"id": 1}', (1, {"id": 1}, None)),
    ('{"answer": "x"}', (None, {"answer": "x"}, None)),
    (
        "{oops",
        (
            None,
            None,
            "line 4: not valid JSON (Expecting property name enclosed in double "
            "quotes at column 2)",
        ),
    ),
    ("[1, 2]", (None, None, "line 4: each line must be a JSON object, not an array")),
    ('"text"', (None, None, "line 4: each line must be a JSON object, not a string")),
    ("42", (None, None, "line 4: each line must be a JSON object, not a number")),
    ("null", (None, None, "line 4: each line must be a JSON object, not null")),
    ('{"id": NaN}', (None, None, "line 4: not valid JSON (NaN is not a JSON value)")),
    ('{"id": 1e999}',
     (None, None, "line 4: not valid JSON (1e999 is beyond the range of numbers)")),
    ('{"id": 1.5e300}', (1.5e300, {"id": 1.5e300}, None)),
    # json's own messages that end on "at" are not given a second one
    ('{"answer": "x\x00"}',
     (None, None, "line 4: not valid JSON (Invalid control character at column 14)")),
    ('{"answer": "x',
     (None, None, "line 4: not valid JSON (Unterminated string starting at column 12)")),
]


@pytest.mark.parametrize(("text", "expected"), DECODE_PAIRS, ids=[t for t, _ in DECODE_PAIRS])
def test_decode_line(text: str, expected: tuple[Any, Any, str | None]) -> None:
    assert decode_line(text, 4) == expected


def test_decode_line_deep_nesting_is_an_error_not_a_crash() -> None:
    ident, item, problem = decode_line("[" * 100_000 + "]" * 100_000, 1)
    assert (ident, item) == (None, None)
    assert problem is not None and problem.startswith("line 1: not valid JSON")


# (what the grading function returns, expected verdict, expected error code)
RESULT_PAIRS: list[tuple[str, Any, str, str | None]] = [
    ("dict", {"verdict": "correct", "score": 1.0}, "correct", None),
    ("int-score", {"verdict": "incorrect", "score": 0}, "incorrect", None),
    ("partial", {"verdict": "incorrect", "score": 0.5, "feedback": "half"}, "incorrect", None),
    ("unknown-verdict", {"verdict": "maybe", "score": 0.5}, "error", "bad_result"),
    ("score-too-big", {"verdict": "correct", "score": 2}, "error", "bad_result"),
    ("score-nan", {"verdict": "correct", "score": float("nan")}, "error", "bad_result"),
    ("score-bool", {"verdict": "correct", "score": True}, "error", "bad_result"),
    ("feedback-not-str", {"verdict": "correct", "score": 1, "feedback": 3}, "error", "bad_result"),
    ("not-a-grade", "correct", "error", "bad_result"),
    ("extra-not-json", {"verdict": "correct", "score": 1, "x": object()}, "error", "bad_result"),
    ("extra-nan", {"verdict": "correct", "score": 1, "x": float("inf")}, "error", "bad_result"),
]


@pytest.mark.parametrize(
    ("name", "result", "verdict", "code"), RESULT_PAIRS, ids=[r[0] for r in RESULT_PAIRS]
)
def test_grade_payload_checks_results(
    name: str, result: Any, verdict: str, code: str | None
) -> None:
    got_verdict, line = grade_payload(_const(result), _payload('{"id": "a"}'), 2.0)
    record = json.loads(line)
    assert (got_verdict, record["verdict"], record["id"]) == (verdict, verdict, "a")
    assert (record["error"] or {}).get("code") == code
    assert 0.0 <= record["score"] <= 1.0


def test_grade_payload_keeps_extra_fields_but_not_reserved_ones() -> None:
    result = {"verdict": "correct", "score": 1.0, "preview": {"latex": "x"}, "id": "forged"}
    _, line = grade_payload(_const(result), _payload('{"id": "a"}'), 2.0)
    record = json.loads(line)
    assert record["id"] == "a"
    assert record["preview"] == {"latex": "x"}
    assert list(record) == ["id", "verdict", "score", "feedback", "error", "preview", "seconds"]


def test_grade_payload_reports_exceptions_on_the_line() -> None:
    def boom(item: Any) -> Any:
        raise ZeroDivisionError("division by zero")

    verdict, line = grade_payload(boom, _payload('{"id": 9}'), 2.0)
    record = json.loads(line)
    assert verdict == "error"
    assert record["error"]["code"] == "grader_failed"
    assert "ZeroDivisionError: division by zero" in record["error"]["message"]


def test_grade_payload_soft_timeout_in_process() -> None:
    def spin(item: Any) -> Any:
        while True:
            pass

    with soft_timer() as active:
        assert active
        verdict, line = grade_payload(spin, _payload('{"id": 1}'), 0.2)
    record = json.loads(line)
    assert verdict == "timeout"
    assert record["error"]["code"] == "timeout"
    assert record["score"] == 0.0


def test_grade_payload_with_decoded_item_skips_decoding() -> None:
    seen = []

    def keep(item: Any) -> Any:
        seen.append(item)
        return {"verdict": "correct", "score": 1.0}

    verdict, line = grade_payload(keep, (3, None, "q1", {"reference": "x"}), 2.0)
    assert verdict == "correct" and json.loads(line)["id"] == "q1"
    assert seen == [{"reference": "x"}]


def test_result_line_field_order() -> None:
    line = result_line(None, "error", 0.0, "m", {"code": "c", "message": "m"}, 1.0)
    assert list(json.loads(line)) == ["id", "verdict", "score", "feedback", "error", "seconds"]


@pytest.mark.parametrize(
    "spec",
    [
        "no_colon",
        ":f",
        "m:",
        "batch_fns_missing_module:f",
        "batch_fns:missing",
        "batch_fns:NOT_CALLABLE",
    ],
)
def test_load_grade_fn_rejects(spec: str) -> None:
    with pytest.raises(BatchError):
        load_grade_fn(spec)


def test_load_grade_fn_default() -> None:
    from mathgrader.checker.grade import grade_item

    assert load_grade_fn("mathgrader.checker.grade:grade_item") is grade_item


@pytest.mark.parametrize(
    "kwargs", [{"workers": 0}, {"timeout": 0}, {"timeout": float("inf")}, {"chunk_size": 0}]
)
def test_pool_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(BatchError):
        WorkerPool("batch_fns:scripted", **kwargs)


@pytest.mark.slow
def test_pool_used_directly() -> None:
    with WorkerPool("batch_fns:scripted", workers=2, timeout=1.0) as pool:
        for seq in range(10):
            pool.submit(
                Task(seq, seq + 1, json.dumps({"id": seq, "reference": "x", "answer": "x"}))
            )
        finished: list[tuple[Task, str, str]] = []
        while pool.pending:
            finished += pool.step(timeout=5.0)
        pids = pool.pids()
    assert sorted(t.seq for t, _, _ in finished) == list(range(10))
    assert {v for _, v, _ in finished} == {"correct"}
    assert len(pids) == 2


def _pid_task(seq: int, home: int | None) -> Task:
    text = json.dumps({"id": seq, "reference": "x", "answer": "x", "do": "pid"})
    return Task(seq, seq + 1, text, nbytes=len(text), home=home)


def _graded_by(pool: WorkerPool, tasks: list[Task]) -> dict[int, int]:
    """seq -> pid of the worker that graded it, once every worker is ready to take work."""
    deadline = time.monotonic() + 30
    while not all(w.ready for w in pool._workers) and time.monotonic() < deadline:
        pool.step(timeout=0.05)
    for task in tasks:
        pool.submit(task)
    graders: dict[int, int] = {}
    while pool.pending:
        for task, _, line in pool.step(timeout=5.0):
            graders[task.seq] = int(json.loads(line)["feedback"])
    return graders


@pytest.mark.slow
def test_tasks_with_the_same_home_go_to_the_same_worker() -> None:
    with WorkerPool("batch_fns:scripted", workers=2, timeout=5.0) as pool:
        graders = _graded_by(pool, [_pid_task(seq, home=seq % 2) for seq in range(40)])
    assert len({graders[seq] for seq in range(0, 40, 2)}) == 1
    assert len({graders[seq] for seq in range(1, 40, 2)}) == 1
    assert graders[0] != graders[1]


@pytest.mark.slow
def test_a_worker_with_nothing_of_its_own_takes_work_from_another() -> None:
    with WorkerPool("batch_fns:scripted", workers=2, timeout=5.0) as pool:
        graders = _graded_by(pool, [_pid_task(seq, home=0) for seq in range(40)])
    assert sorted(graders) == list(range(40))
    assert len(set(graders.values())) == 2


def test_chunks_grow_for_cheap_lines_and_keep_a_floor_for_costly_ones() -> None:
    pool = WorkerPool("batch_fns:scripted", workers=1)
    assert pool._chunk_limit() == MIN_CHUNK_LINES  # nothing timed yet
    pool._line_seconds = 1e-5
    assert pool._chunk_limit() == MAX_CHUNK_LINES
    pool._line_seconds = CHUNK_SECONDS / 100.5
    assert pool._chunk_limit() == 100
    pool._line_seconds = 1.0
    assert pool._chunk_limit() == MIN_CHUNK_LINES
    fixed = WorkerPool("batch_fns:scripted", workers=1, chunk_size=3)
    fixed._line_seconds = 1e-5
    assert fixed._chunk_limit() == 3
    pool.close()
    fixed.close()


@pytest.mark.slow
def test_a_fork_server_started_early_serves_the_pool() -> None:
    assert start_fork_server("batch_fns:scripted")
    assert start_fork_server("batch_fns:scripted")  # already running: nothing more to do
    with WorkerPool("batch_fns:scripted", workers=1, timeout=5.0) as pool:
        graders = _graded_by(pool, [_pid_task(0, home=None)])
    assert list(graders) == [0]


def _run_all(pool: WorkerPool,
             items: list[dict[str, Any]]) -> dict[int, tuple[str, dict[str, Any]]]:
    """seq -> (verdict, output record) for `items`, submitted in order with one home."""
    for seq, item in enumerate(items):
        text = json.dumps({"id": seq, "reference": "x", **item})
        pool.submit(Task(seq, seq + 1, text, nbytes=len(text), home=0))
    done: dict[int, tuple[str, dict[str, Any]]] = {}
    while pool.pending:
        for task, verdict, line in pool.step(timeout=5.0):
            done[task.seq] = (verdict, json.loads(line))
    return done


@pytest.mark.slow
def test_a_worker_killed_with_results_unsent_is_blamed_for_the_right_line() -> None:
    # Results wait up to result_delay to be sent together; a line stuck where no signal reaches
    # it keeps the two quick ones unsent until the kill. The shared progress record says the
    # third line was running: only it is a timeout, and the first two are graded again.
    with WorkerPool("batch_fns:scripted", workers=1, timeout=0.5, grace=0.3,
                    result_delay=60.0, chunk_size=8) as pool:
        done = _run_all(pool, [{"answer": "x"}, {"answer": "y"}, {"do": "masked"},
                               {"answer": "x"}])
        killed = pool.stats.killed
    assert {seq: verdict for seq, (verdict, _) in done.items()} == {
        0: "correct", 1: "incorrect", 2: "timeout", 3: "correct"}
    assert killed == 1


@pytest.mark.slow
def test_results_do_not_wait_for_a_slow_line() -> None:
    # The first line's result is held to be sent with others, but a check that runs longer than
    # result_delay has it sent meanwhile (here: a C loop that lets go of the GIL).
    with WorkerPool("batch_fns:scripted", workers=1, timeout=2.0, result_delay=0.05,
                    chunk_size=8) as pool:
        for seq, item in enumerate([{"answer": "x"}, {"do": "sleep", "seconds": 1.5}]):
            text = json.dumps({"id": seq, "reference": "x", **item})
            pool.submit(Task(seq, seq + 1, text, nbytes=len(text)))
        seen: dict[int, float] = {}
        start = time.monotonic()
        while pool.pending:
            for task, _, _ in pool.step(timeout=5.0):
                seen[task.seq] = time.monotonic() - start
    assert seen[0] < seen[1] - 1.0


@pytest.mark.slow
def test_prepare_runs_before_the_budget_starts() -> None:
    # A 0.8 s prepare and a 0.1 s check against a 0.5 s budget: the line is graded.
    with WorkerPool("batch_fns:prepared", workers=1, timeout=0.5, grace=0.2) as pool:
        done = _run_all(pool, [{"answer": "x", "prepare": 0.8},
                               {"answer": "x", "do": "sleep", "seconds": 0.1}])
    assert [done[seq][0] for seq in range(2)] == ["correct", "correct"]
    assert done[0][1]["seconds"] < 0.5


_JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
                          st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=300, deadline=None)
@given(
    ident=st.one_of(_JSON_SCALARS, st.lists(_JSON_SCALARS, max_size=3)),
    verdict=st.sampled_from(["correct", "incorrect", "invalid", "error", "timeout"]),
    score=st.floats(0, 1),
    feedback=st.one_of(st.none(), st.text()),
    error=st.one_of(st.none(), st.dictionaries(st.text(max_size=8), _JSON_SCALARS, max_size=3)),
    seconds=st.floats(0, 100),
    extra=st.one_of(st.none(), st.dictionaries(
        st.sampled_from(["verdict", "score", "preview", "id", "x"]), _JSON_SCALARS, max_size=2)),
)
def test_result_line_writes_what_the_json_encoder_writes(
    ident: Any, verdict: str, score: float, feedback: str | None,
    error: dict[str, Any] | None, seconds: float, extra: dict[str, Any] | None,
) -> None:
    # result_line spells out the common case by hand; it must be the encoder's text exactly.
    record = {"id": ident, "verdict": verdict, "score": score, "feedback": feedback,
              "error": error}
    record.update((k, v) for k, v in (extra or {}).items()
                  if k not in {"id", "verdict", "score", "feedback", "error", "seconds"})
    record["seconds"] = round(seconds, 6)
    expected = json.dumps(record, allow_nan=False)
    assert result_line(ident, verdict, score, feedback, error, seconds, extra) == expected
