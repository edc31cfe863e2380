"""The Dask engine's partitions, without a cluster: how the client cuts raw text, what a worker
answers for it (`grade_text`), and the line-by-line re-run of a partition that kills workers.

`test_dask_engine.py` runs the same code on a LocalCluster against the local engine; these tests
pin the edges of the text a partition carries (blank lines, a last line without its newline,
line numbers), which a cluster run would only show as a wrong count or a shifted message.
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from distributed import KilledWorker

from mathgrader.batch import dask_engine
from mathgrader.batch.dask_engine import Graded, _one_by_one, _Partition, _Partitioner, grade_text

FN = "batch_fns:scripted"


def line(ident: Any, answer: str = "x", **extra: Any) -> str:
    return json.dumps({"id": ident, "reference": "x", "answer": answer, **extra})


def graded(first: int, text: str) -> Graded:
    result = pickle.loads(grade_text(first, text, FN, 5.0))
    assert isinstance(result, Graded)
    return result


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    """A worker thread keeps its grading pool for good; this thread is the test process's, and
    the other tests expect no child process left behind."""
    yield
    pools = getattr(dask_engine._threads, "pools", {})
    for pool in pools.values():
        pool.close(kill=True)
    pools.clear()


@pytest.fixture(params=["pool", "thread"])
def where(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Grade through a grading process, as on a non-daemonic worker, or in the calling thread,
    as on a daemonic one."""
    if request.param == "thread":
        monkeypatch.setattr(dask_engine, "_pool", lambda *settings: None)
    return str(request.param)


def test_a_partition_answers_each_non_blank_line_in_order(where: str) -> None:
    text = "\n".join([line(1), "", line(2, "y"), "   ", "{oops", line(3)]) + "\n"
    result = graded(41, text)
    out = result.text.split("\n")
    assert out[-1] == ""  # every output line ends in a newline
    records = [json.loads(x) for x in out[:-1]]
    assert [r["id"] for r in records] == [1, 2, None, 3]
    assert [r["verdict"] for r in records] == ["correct", "incorrect", "error", "correct"]
    # Line numbers go on from the partition's first line and count the blank lines.
    assert "line 45: not valid JSON" in records[2]["error"]["message"]
    assert (result.lines, result.blank_lines) == (4, 2)
    assert result.verdicts == {"correct": 2, "incorrect": 1, "error": 1}


def test_the_last_line_may_lack_its_newline(where: str) -> None:
    with_newline, without = graded(1, line(1) + "\n"), graded(1, line(1))
    for result in (with_newline, without):
        assert result.text.endswith("}\n") and result.text.count("\n") == 1
        assert json.loads(result.text)["verdict"] == "correct"
        assert (result.lines, result.blank_lines) == (1, 0)


def test_a_partition_of_blank_lines_answers_nothing(where: str) -> None:
    result = graded(7, "\n  \n\t\n")
    assert (result.text, result.lines, result.blank_lines, result.verdicts) == ("", 0, 3, {})


def test_a_hang_inside_a_partition_is_killed_and_counted() -> None:
    text = "\n".join([line(0), line(1, do="hang"), line(2)]) + "\n"
    # A budget of 2 s leaves the soft timer 0.4 s before the kill (`default_grace`): with 0.3 s
    # (0.23 s) a busy machine once delayed the worker past the kill in a full test run.
    result = pickle.loads(grade_text(1, text, FN, 2.0))
    verdicts = [json.loads(x)["verdict"] for x in result.text.splitlines()]
    assert verdicts == ["correct", "timeout", "correct"]
    assert result.restarts == 0  # the soft timer stopped it: no process was replaced
    masked = "\n".join([line(0), line(1, do="masked"), line(2)]) + "\n"
    result = pickle.loads(grade_text(1, masked, FN, 0.3))
    assert [json.loads(x)["verdict"] for x in result.text.splitlines()] == [
        "correct", "timeout", "correct"]
    assert result.restarts == 1  # only a kill ends it


class FailingReader(io.StringIO):
    """Text that raises OSError after `good` lines, as a network file can."""

    def __init__(self, text: str, good: int) -> None:
        super().__init__(text)
        self.good = good

    def __next__(self) -> str:  # type: ignore[override]
        if self.good == 0:
            raise OSError("connection reset")
        self.good -= 1
        return super().__next__()


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_raw_partitions_carry_the_input_text_exactly(size: int) -> None:
    text = "a\n\nb\n  c  \nd"
    parts = list(_Partitioner(io.StringIO(text), None, size))
    assert "".join(p.text or "" for p in parts) == text
    firsts = [p.first_lineno for p in parts]
    assert firsts == list(range(1, 6, size))
    assert all(p.payloads == [] and p.answers == [] for p in parts)


def test_a_read_failure_keeps_the_lines_read_before_it() -> None:
    partitioner = _Partitioner(FailingReader("a\nb\nc\nd\ne\n", good=3), None, 2)
    parts = list(partitioner)
    assert [(p.first_lineno, p.text) for p in parts] == [(1, "a\nb\n"), (3, "c\n")]
    assert isinstance(partitioner.error, OSError)


class FakeFuture:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def result(self) -> Any:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def release(self) -> None:
        pass


def killing_submit(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A `submit` that grades in this thread, except that a line with "do": "exit" kills its
    worker every time, as Dask reports it once a task has killed too many."""
    monkeypatch.setattr(dask_engine, "_pool", lambda *settings: None)
    submitted: list[_Partition] = []

    def submit(part: _Partition) -> FakeFuture:
        submitted.append(part)
        text = part.text or "".join(str(raw) for _, raw, _, _ in part.payloads)
        if '"exit"' in text:
            killed = KilledWorker("task", None, 0)  # type: ignore[arg-type]
            return FakeFuture(killed)
        if part.text is not None:
            return FakeFuture(grade_text(part.first_lineno, part.text, FN, 5.0))
        packed = pickle.dumps(part.payloads)
        return FakeFuture(dask_engine.grade_packed(packed, FN, 5.0))

    submit.submitted = submitted  # type: ignore[attr-defined]
    return submit


def test_a_raw_partition_that_kills_workers_is_rerun_line_by_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submit = killing_submit(monkeypatch)
    part = _Partition(10, "\n".join([line("a"), "", line("b", do="exit"), line("c", "y")]) + "\n")
    result = _one_by_one(submit, part)
    records = [json.loads(x) for x in result.text.splitlines()]
    assert [r["id"] for r in records] == ["a", "b", "c"]
    assert [r["verdict"] for r in records] == ["correct", "error", "incorrect"]
    assert records[1]["error"]["code"] == "worker_crashed"
    assert (result.lines, result.blank_lines) == (3, 1)
    assert result.verdicts == {"correct": 1, "error": 1, "incorrect": 1}
    # Each line went alone, with its own line number.
    assert [p.first_lineno for p in submit.submitted] == [10, 12, 13]


def test_a_resolved_partition_that_kills_workers_is_rerun_line_by_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submit = killing_submit(monkeypatch)
    part = _Partition(
        answers=[None, ("error", '{"id": "rejected"}'), None],
        payloads=[(1, line("a"), None, None), (3, line("b", do="exit"), None, None)],
    )
    result = _one_by_one(submit, part)
    records = [json.loads(x) for x in result.text.splitlines()]
    assert [r["id"] for r in records] == ["a", "rejected", "b"]
    assert records[2]["error"]["code"] == "worker_crashed"
    assert result.verdicts == {"correct": 1, "error": 2}
