"""`run_dask` and `grade-batch --engine dask` on a LocalCluster, checked against the local engine.

One cluster of two worker processes serves the whole module (starting one costs seconds). Its
workers are non-daemonic, as in the LocalCluster that `run_dask` starts itself, so each grades
through its own worker pool with the hard time budget. It fails a task at the first worker
death, so the crash test needs two deaths, not eight.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import dask
import pytest
from distributed import LocalCluster
from typer.testing import CliRunner

from mathgrader.batch import BatchError, dask_engine, run_batch
from mathgrader.batch.dask_engine import run_dask
from mathgrader.cli import app

pytestmark = pytest.mark.slow  # starts a Dask cluster

HERE = Path(__file__).parent
EXAMPLES = HERE.parents[1] / "examples"


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    # Workers take the parent's sys.path when spawned: `batch_fns` must be on it by then.
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(HERE))
        with (
            dask.config.set({"distributed.scheduler.allowed-failures": 0,
                             "distributed.worker.daemon": False}),
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=50,
            ) as cluster,
        ):
            yield cluster.scheduler_address


def mixed_lines(n: int = 200, seed: int = 7) -> list[str]:
    """Correct, incorrect, invalid, bad-JSON, blank and incomplete lines, in a seeded mix."""
    rng = random.Random(seed)
    kinds: list[Any] = [
        {"reference": "x^2 + 1", "answer": "1 + x*x"},
        {"reference": "2*x", "answer": "x + x", "options": {"form": "expanded"}},
        {"reference": "sin(x)^2", "answer": "1 - cos(x)^2"},
        {"reference": "x^2 + 1", "answer": "x^2"},
        {"reference": "3*x", "answer": "3x"},
        {"reference": "x", "answer": "sin x"},
        {"reference": "x", "answer": "(x"},
        {"answer": "x"},
        {"reference": "x"},
        {"reference": "x", "answer": "x", "options": {"nonsense": 1}},
        "{not json",
        "[1, 2]",
        "",
    ]
    lines = []
    for i in range(n):
        kind = rng.choice(kinds)
        lines.append(json.dumps({"id": i, **kind}) if isinstance(kind, dict) else kind)
    return lines


def without_seconds(text: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in text.splitlines()]
    for record in records:
        assert record.pop("seconds") >= 0
    return records


def local(lines: list[str], **kwargs: Any) -> str:
    out = io.StringIO()
    run_batch(lines, out, workers=2, **kwargs)
    return out.getvalue()


def on_dask(tmp_path: Path, lines: list[str], scheduler: str, **kwargs: Any) -> str:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_dask(str(source), str(target), scheduler=scheduler, **kwargs)
    return target.read_text(encoding="utf-8")


def test_same_lines_as_the_local_engine_in_input_order(tmp_path: Path, scheduler: str) -> None:
    lines = mixed_lines()
    got = on_dask(tmp_path, lines, scheduler, partition_lines=16, max_in_flight=3)
    records = without_seconds(got)
    assert records == without_seconds(local(lines))
    assert len(records) == sum(1 for line in lines if line.strip())
    ids = [r["id"] for r in records if r["id"] is not None]
    assert ids == sorted(ids)
    assert {r["verdict"] for r in records} >= {"correct", "incorrect", "invalid", "error"}


def test_a_bom_and_bytes_that_are_not_utf8_read_as_the_local_cli_reads(
        tmp_path: Path, scheduler: str) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_bytes(b'\xef\xbb\xbf{"id": 1, "reference": "x", "answer": "x"}\n'
                       b'{"id": 2, "reference": "x", "answer": "caf\xe9"}\n')
    run_dask(str(source), str(target), scheduler=scheduler)
    first, second = without_seconds(target.read_text(encoding="utf-8"))
    assert (first["id"], first["verdict"]) == (1, "correct")  # the BOM is not part of line 1
    assert second["verdict"] == "error"
    assert second["feedback"].startswith("line 2: not valid UTF-8 (the byte 0xE9 at column 43)")


def test_stats_count_lines_blank_lines_and_verdicts(tmp_path: Path, scheduler: str) -> None:
    lines = ['{"id": 1, "reference": "x", "answer": "x"}', "", "  ", "{oops"]
    source, out = tmp_path / "in.jsonl", io.StringIO()
    source.write_text("\n".join(lines), encoding="utf-8")
    stats = run_dask(str(source), out, scheduler=scheduler)
    assert (stats.lines, stats.blank_lines, stats.workers) == (2, 2, 2)
    assert (stats.verdicts["correct"], stats.verdicts["error"]) == (1, 1)
    assert "line 4: not valid JSON" in out.getvalue()  # line numbers count blank lines too


def test_key_resolution_matches_the_local_engine(tmp_path: Path, scheduler: str) -> None:
    from mathgrader.keys import load_resolver

    resolve = load_resolver(EXAMPLES / "calculus.toml")
    lines = [
        json.dumps({"id": "a", "question": "power-rule", "answer": "2 + 3*x^2"}),
        json.dumps({"id": "b", "question": "power-rule", "answer": "3*x^2"}),
        json.dumps({"id": "c", "question": "chain-rule", "answer": "cos(x^2)*2*x"}),
        json.dumps({"id": "d", "question": "no-such-question", "answer": "x"}),
        json.dumps({"id": "e", "question": "chain-rule"}),
        "{oops",
    ] * 5
    got = without_seconds(on_dask(tmp_path, lines, scheduler, resolve=resolve, partition_lines=4))
    assert got == without_seconds(local(lines, resolve=resolve))
    assert [r["verdict"] for r in got[:6]] == [
        "correct", "incorrect", "correct", "error", "error", "error"
    ]


def test_fsspec_urls_for_input_and_output(scheduler: str) -> None:
    import fsspec

    lines = mixed_lines(40, seed=3)
    fs = fsspec.filesystem("memory")
    fs.pipe("/dask-test/in.jsonl", ("\n".join(lines) + "\n").encode())
    run_dask("memory://dask-test/in.jsonl", "memory://dask-test/out.jsonl", scheduler=scheduler)
    got = fs.cat("/dask-test/out.jsonl").decode()
    assert without_seconds(got) == without_seconds(local(lines))


def test_a_line_that_kills_its_worker_is_answered_and_the_rest_graded(
    tmp_path: Path, scheduler: str
) -> None:
    lines = [json.dumps({"id": i, "reference": "x", "answer": "x"}) for i in range(4)]
    lines[2] = json.dumps({"id": 2, "do": "exit"})
    got = without_seconds(on_dask(tmp_path, lines, scheduler, grade_fn="batch_fns:scripted"))
    assert [r["verdict"] for r in got] == ["correct", "correct", "error", "correct"]
    assert got[2]["error"]["code"] == "worker_crashed"


@pytest.mark.parametrize("action", ["hang", "masked", "c_loop"])
def test_a_line_that_hangs_is_killed_at_its_budget_and_the_rest_graded(
    tmp_path: Path, scheduler: str, action: str
) -> None:
    # "masked" and "c_loop" never return to the interpreter: only a hard kill ends them.
    lines = [json.dumps({"id": i, "reference": "x", "answer": "x"}) for i in range(6)]
    lines[3] = json.dumps({"id": 3, "do": action})
    got = without_seconds(on_dask(tmp_path, lines, scheduler, grade_fn="batch_fns:scripted",
                                  timeout=0.5, partition_lines=3))
    assert [r["verdict"] for r in got] == ["correct"] * 3 + ["timeout"] + ["correct"] * 2
    assert [r["id"] for r in got] == list(range(6))


def test_grading_processes_run_under_the_memory_limit(tmp_path: Path, scheduler: str) -> None:
    lines = [json.dumps({"id": i, "reference": "x", "answer": "x", "do": "allocate", "mb": 1})
             for i in range(4)]
    lines[1] = json.dumps({"id": 1, "do": "allocate", "mb": 4096})
    lines[3] = json.dumps({"id": 3, "do": "limit"})
    got = without_seconds(on_dask(tmp_path, lines, scheduler, grade_fn="memory_fns:grade",
                                  memory_limit=768 * 2**20))
    assert [r["verdict"] for r in got] == ["correct", "error", "correct", "correct"]
    assert got[1]["error"]["code"] == "out_of_memory"
    assert got[3]["feedback"] == str(768 * 2**20)


def test_a_daemonic_worker_grades_in_its_own_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # Daemonic processes may not start children: the partition is graded in the caller.
    monkeypatch.setattr(dask_engine, "_pool", lambda *settings: None)
    payloads = [(1, json.dumps({"id": "a", "reference": "x", "answer": "x"}), None, None),
                (2, "{not json", None, None)]
    got = dask_engine.grade_partition(payloads, "batch_fns:scripted", 2.0)
    assert [verdict for verdict, _ in got] == ["correct", "error"]
    assert json.loads(got[0][1])["id"] == "a"


def test_cli_engine_dask(tmp_path: Path, scheduler: str) -> None:
    lines = mixed_lines(60, seed=11)
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = [
        "grade-batch", str(source), "-o", str(target), "--engine", "dask",
        "--scheduler", scheduler,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    got = target.read_text(encoding="utf-8")
    assert without_seconds(got) == without_seconds(local(lines))


def test_cli_unreachable_scheduler_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dask_engine, "run_dask", partial(run_dask, connect_timeout=0.5))
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "reference": "x", "answer": "x"}\n', encoding="utf-8")
    args = ["grade-batch", str(source), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler" in result.output


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["-", "--engine", "dask"], id="stdin"),
        pytest.param(["in.jsonl", "--scheduler", "tcp://127.0.0.1:9"], id="scheduler-without-dask"),
    ],
)
def test_cli_refuses_what_the_dask_engine_cannot_do(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["grade-batch", *args])
    assert result.exit_code == 2


def test_missing_input_is_a_batch_error(tmp_path: Path, scheduler: str) -> None:
    with pytest.raises(BatchError, match="cannot read"):
        run_dask(str(tmp_path / "nope.jsonl"), io.StringIO(), scheduler=scheduler)

