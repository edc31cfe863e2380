"""The per-worker memory limit: a check that allocates too much is answered `error`, not the box.

Grading functions come from `memory_fns` (see conftest.py): allocations there never touch their
pages, so these tests cost address space, not RAM, even if the limit failed to apply.
"""

from __future__ import annotations

import io
import json
import resource
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mathgrader import batch
from mathgrader.batch import BatchError, BatchStats, run_batch
from mathgrader.batch.pool import (
    DEFAULT_MEMORY_LIMIT,
    WorkerPool,
    _describe_exit,
    grade_payload,
)
from mathgrader.cli import app
from mathgrader.cli.commands import DEFAULT_MEMORY_LIMIT_MB

pytestmark = [
    pytest.mark.slow,  # most tests here start worker processes
    pytest.mark.skipif(sys.platform != "linux", reason="only Linux enforces RLIMIT_AS"),
]

FNS = "memory_fns:grade"
MB = 2**20
# Well above what a worker maps before grading (about 100 MB with these functions, 260 MB when
# the fork server preloaded mathgrader's checker for an earlier test), well below 2 GB.
LIMIT = 768 * MB


def line(ident: Any, do: str | None = None, **fields: Any) -> str:
    item: dict[str, Any] = {"id": ident, "reference": "x", "answer": "x", **fields}
    if do is not None:
        item["do"] = do
    return json.dumps(item)


def run(lines: list[str], **kwargs: Any) -> tuple[list[dict[str, Any]], BatchStats]:
    kwargs.setdefault("grade_fn", FNS)
    kwargs.setdefault("memory_limit", LIMIT)
    kwargs.setdefault("timeout", 5.0)
    out = io.StringIO()
    stats = run_batch(lines, out, **kwargs)
    return [json.loads(text) for text in out.getvalue().splitlines()], stats


def verdicts(records: list[dict[str, Any]]) -> list[str]:
    return [r["verdict"] for r in records]


def inherited_limit() -> str:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return "none" if soft == resource.RLIM_INFINITY else str(soft)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"memory_limit": LIMIT}, str(LIMIT), id="given"),
        pytest.param({}, str(DEFAULT_MEMORY_LIMIT), id="default"),
        pytest.param({"memory_limit": None}, None, id="none"),
    ],
)
def test_every_worker_runs_under_the_limit(kwargs: dict[str, Any], expected: str | None) -> None:
    out = io.StringIO()
    run_batch([line(i, "limit") for i in range(4)], out, grade_fn=FNS, workers=2, **kwargs)
    records = [json.loads(text) for text in out.getvalue().splitlines()]
    assert {r["feedback"] for r in records} == {expected or inherited_limit()}


def test_allocation_over_the_limit_is_an_error_and_its_neighbours_are_graded() -> None:
    lines = [line(i, "pid") for i in range(10)]
    lines[4] = line(4, "allocate", mb=4096)
    records, stats = run(lines, chunk_size=10)
    assert [r["id"] for r in records] == list(range(10))
    assert verdicts(records) == ["correct"] * 4 + ["error"] + ["correct"] * 5
    assert records[4]["error"] == {
        "code": "out_of_memory",
        "message": "the check ran out of memory (limit 768 MB)",
    }
    assert records[4]["feedback"] == records[4]["error"]["message"]
    # The failed allocation was freed: the same worker went on with the rest of its chunk.
    assert len({r["feedback"] for r in records if r["id"] != 4}) == 1
    assert stats.worker_restarts == 0
    assert stats.verdicts["error"] == 1


def test_allocation_under_the_limit_succeeds() -> None:
    records, _ = run([line(0, "allocate", mb=64)])
    assert verdicts(records) == ["correct"]
    assert records[0]["feedback"] == str(64 * MB)


def test_a_worker_that_cannot_get_its_memory_back_is_replaced() -> None:
    lines = [line(i, "pid") for i in range(8)]
    lines[2] = line(2, "hoard")
    records, stats = run(lines, chunk_size=8)
    assert [r["id"] for r in records] == list(range(8))
    assert verdicts(records) == ["correct", "correct", "error", *["correct"] * 5]
    assert records[2]["error"]["code"] == "out_of_memory"
    before = {records[0]["feedback"], records[1]["feedback"]}
    after = {r["feedback"] for r in records[3:]}
    # Lines after the hoard, sent in the same chunk, were graded once, by a fresh worker.
    assert len(before) == len(after) == 1 and before != after
    assert stats.worker_restarts == 1


def test_a_worker_killed_by_the_system_is_replaced_and_its_line_answered() -> None:
    lines = [line(i) for i in range(6)]
    lines[3] = line(3, "oom_killed")
    records, stats = run(lines, workers=2, chunk_size=2)
    assert verdicts(records) == ["correct"] * 3 + ["error"] + ["correct"] * 2
    message = records[3]["error"]["message"]
    assert records[3]["error"]["code"] == "worker_crashed"
    assert "died 2 times" in message
    assert "killed by SIGKILL, usually the system running out of memory" in message
    assert stats.worker_restarts == 2


@pytest.mark.parametrize(
    ("code", "limit", "expected"),
    [
        (86, LIMIT, "out of memory at its limit of 768 MB"),
        (86, None, "out of memory"),
        (-9, None, "killed by SIGKILL, usually the system running out of memory"),
        (-6, LIMIT, "killed by SIGABRT, perhaps at the memory limit of 768 MB"),
        (-6, None, "killed by SIGABRT"),
        (-15, LIMIT, "killed by SIGTERM"),
        (1, LIMIT, "exit code 1"),
    ],
)
def test_exit_descriptions(code: int, limit: int | None, expected: str) -> None:
    assert _describe_exit(code, limit) == expected


def test_memory_error_in_process_is_reported_on_its_line() -> None:
    def greedy(item: Any) -> Any:
        raise MemoryError

    verdict, text = grade_payload(greedy, (1, '{"id": 5}', None, None), 2.0, memory_limit=LIMIT)
    record = json.loads(text)
    assert (verdict, record["id"], record["error"]["code"]) == ("error", 5, "out_of_memory")
    assert record["error"]["message"] == "the check ran out of memory (limit 768 MB)"


def test_a_limit_below_what_a_worker_needs_is_refused_at_start() -> None:
    with pytest.raises(BatchError, match="memory limit of 1 MB per worker is too low"):
        run([line(0)], memory_limit=1 * MB)


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_must_be_positive(limit: int) -> None:
    with pytest.raises(BatchError, match="memory limit must be a positive"):
        WorkerPool(FNS, memory_limit=limit)


# What the real grader does with the largest inputs it accepts: each is refused before any work,
# or bounded by the grammar's size limits, and answered without touching the memory limit.
HOSTILE = [
    # a reference too large to build is the author's error (it was blamed on the answer)
    ("binomial(10^5, 5*10^4)", "binomial(10^5, 5*10^4) + 1", "error"),
    ("binomial(13000, 6500)", "binomial(13000, 6500)", "correct"),
    ("10^3999*10^3999", "10^7998", "invalid"),
    ("10^3999", "10^3999 + 1", "incorrect"),
    ("gcd(10^3999 + 1, 10^3998 + 7)", "1", "correct"),
    ("(x+1)^10000", "(x+1)^9999*(x+1)", "correct"),
    ("9^9^9^9", "x", "error"),
]


def test_the_real_grader_stays_within_a_tight_limit() -> None:
    lines = [
        json.dumps({"id": i, "reference": reference, "answer": answer})
        for i, (reference, answer, _) in enumerate(HOSTILE)
    ]
    records, stats = run(
        lines,
        grade_fn="mathgrader.checker.grade:grade_item",
        memory_limit=1024 * MB,
        timeout=20.0,  # loading SymPy in a worker not forked warm must not count
    )
    assert verdicts(records) == [expected for _, _, expected in HOSTILE]
    assert all((r["error"] or {}).get("code") != "out_of_memory" for r in records)
    assert stats.worker_restarts == 0


# -- command line --------------------------------------------------------------------------


def test_cli_default_matches_the_pool() -> None:
    assert DEFAULT_MEMORY_LIMIT_MB * MB == DEFAULT_MEMORY_LIMIT


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        pytest.param([], DEFAULT_MEMORY_LIMIT, id="default"),
        pytest.param(["--memory-limit", "1024"], 1024 * MB, id="1024"),
        pytest.param(["--memory-limit", "0"], None, id="none"),
    ],
)
def test_cli_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], expected: int | None
) -> None:
    seen: list[int | None] = []

    def spy(*args: Any, **kwargs: Any) -> BatchStats:
        seen.append(kwargs["memory_limit"])
        return run_batch(*args, **kwargs)

    monkeypatch.setattr(batch, "run_batch", spy)
    source = tmp_path / "in.jsonl"
    source.write_text(line(1, reference="x^2", answer="x*x") + "\n", encoding="utf-8")
    # A generous budget: the fork server may have been started without mathgrader preloaded.
    args = ["grade-batch", str(source), "--timeout", "30", *flags]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verdict"] == "correct"
    assert seen == [expected]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param(["--memory-limit", "-5"], "--memory-limit must be", id="negative"),
        pytest.param(["--memory-limit", "1"], "too low", id="too-low"),
    ],
)
def test_cli_unusable_memory_limit_exits_2(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(line(1) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["grade-batch", str(source), *flags])
    assert result.exit_code == 2
    assert message in result.output
