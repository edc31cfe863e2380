"""Text blocks without processes: how the parent reads a regular file as text and how a block
is cut when a worker dies in it (the end-to-end cases are in test_runner.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathgrader.batch.pool import Task, _text_pieces, split_text, text_lines, text_tasks
from mathgrader.batch.runner import _TEXT_CHARS, _LineReader

# Lines as a file holds them: JSON-ish text, blank and white-space-only lines.
line_text = st.one_of(
    st.sampled_from(["", " ", "\t", "\u00a0", '{"id": 1}', ' {"id": 2} ', "{oops"]),
    st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)),
            max_size=30),
)
texts = st.builds(
    lambda lines, end: "\n".join(lines) + end, st.lists(line_text, max_size=12),
    st.sampled_from(["", "\n"]),
)


def file_lines(text: str) -> list[str]:
    """The lines iterating a file of `text` gives (newlines kept)."""
    return list(io.StringIO(text, newline="\n"))


@given(texts)
def test_text_lines_and_pieces_count_as_iterating_a_file_does(text: str) -> None:
    assert _text_pieces(text) == file_lines(text)
    assert text_lines(text) == len(file_lines(text))


@given(texts, st.integers(1, 5))
def test_a_text_is_cut_into_blocks_of_whole_lines_numbered_on(text: str, size: int) -> None:
    tasks = text_tasks(text, 7, size)
    assert "".join(task.text or "" for task in tasks) == text
    assert sum(task.count for task in tasks) == text_lines(text)
    seq = 0
    for task in tasks:
        assert (task.seq, task.lineno, task.nbytes) == (seq, 7 + seq, len(task.text or ""))
        assert task.count >= 1 and split_text(task.text or "") == [
            piece.rstrip("\n") for piece in file_lines(task.text or "")]
        seq += task.count


@given(texts, st.data())
def test_cutting_a_text_block_keeps_every_line_once(text: str, data: st.DataObject) -> None:
    task = Task(10, 100, None, nbytes=len(text), home=7, text=text)
    i = data.draw(st.integers(0, task.count))
    head, tail = task.cut(i)
    assert (head.text if head else "") + (tail.text if tail else "") == text
    assert (head.count if head else 0) == i
    if tail is not None:
        assert (tail.seq, tail.lineno, tail.count, tail.home) == (10 + i, 100 + i,
                                                                  task.count - i, 7)
        assert tail.nbytes == len(tail.text)


@given(texts.filter(lambda t: t != ""), st.data())
def test_splitting_a_text_block_blames_the_next_line_that_is_not_blank(
    text: str, data: st.DataObject
) -> None:
    task = Task(0, 1, None, nbytes=len(text), text=text)
    i = data.draw(st.integers(0, task.count - 1))
    pieces = file_lines(text)
    before, one, after = task.split(i)
    culprits = [j for j in range(i, len(pieces)) if pieces[j].strip()]
    assert (before.text if before else "") == "".join(pieces[: culprits[0] if culprits else i])
    if not culprits:  # only blank lines from i on: handed back whole, nobody is blamed
        assert one.text == "".join(pieces[i:]) and after is None
        return
    j = culprits[0]
    assert one.text is None and one.raw == pieces[j].strip()
    assert (one.seq, one.lineno, one.count) == (j, 1 + j, 1)
    assert (after.text if after else "") == "".join(pieces[j + 1 :])
    if after is not None:
        assert (after.seq, after.lineno) == (j + 1, j + 2)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("end", ["", "\n"])
def test_the_reader_hands_over_whole_lines(tmp_path: Path, newline: str, end: str) -> None:
    # Lines shorter and much longer than what the reader takes at a time.
    lines = [f'{{"id": {i}, "pad": "{"x" * (i * 997 % (3 * _TEXT_CHARS))}"}}' for i in range(40)]
    path = tmp_path / "in.jsonl"
    path.write_bytes((newline.join(lines) + end.replace("\n", newline)).encode())
    with path.open(encoding="utf-8") as source:
        reader = _LineReader(source)
        pieces = []
        while (piece := reader.take_text()) is not None:
            pieces.append(piece)
        reader.close()
    assert reader.exhausted and reader.error is None
    assert all(piece.endswith("\n") for piece in pieces[:-1])
    assert "".join(pieces) == "\n".join(lines) + end  # universal newlines, as iterating


def test_only_a_regular_text_file_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("{}\n")
    with path.open(encoding="utf-8") as text, path.open("rb") as binary:
        assert _LineReader(text).text
        assert not _LineReader(binary).text
    assert not _LineReader(iter(["{}"])).text
