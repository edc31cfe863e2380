"""The store through which a pool's workers share finished results (`batch.peers`), and the
checker's use of it: a result found there must be exactly the one checking would have given.

A lookup must return what was published for that very key or nothing: never another key's value
(hash collisions are forced here), never a torn or uncommitted entry, never more than a slot
holds. The sharing must work between real processes started the ways the pool starts them
(forkserver, spawn), whose keys must then be the same bytes.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathgrader.batch import peers as peers_module
from mathgrader.batch.peers import SLOT_HEADER, PeerResults, PeerView
from mathgrader.checker import equivalence
from mathgrader.checker.equivalence import Checker, _options_bytes
from mathgrader.checker.grade import Grade, grade_item
from mathgrader.checker.options import FeedbackRule, GradeOptions
from strategies import property_settings

COLLIDING = b"\x00" * 8  # every key's hash, when collisions are forced


@pytest.fixture
def colliding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers_module, "_key_hash", lambda key: COLLIDING)


def _slot_start(store: PeerResults, slot: int) -> int:
    return slot * store.capacity + SLOT_HEADER


def _committed_word(store: PeerResults, slot: int) -> int:
    return slot * store.capacity // 8


# -------------------------------------------------------------------------------- the store

def test_what_one_worker_publishes_the_others_find() -> None:
    store = PeerResults.create(3, capacity=8192)
    views = [store.attach(slot) for slot in range(3)]
    assert views[0].publish(b"2*x|2x", b"correct")
    assert views[2].publish(b"x|y", b"incorrect")
    for view in views:
        assert view.lookup(b"2*x|2x") == b"correct"
        assert view.lookup(b"x|y") == b"incorrect"
        assert view.lookup(b"x|z") is None
    assert views[1].publish(b"", b"")  # empty keys and values are entries too
    assert views[0].lookup(b"") == b""


def test_a_store_is_sparse_and_pickles_only_to_start_a_process() -> None:
    store = PeerResults.create(4)
    assert store.capacity >= peers_module.MIN_SLOT_CAPACITY
    blocks = os.fstat(store._arena.fd).st_blocks * 512
    assert blocks < store.capacity  # nothing was written, so (almost) nothing is allocated
    with pytest.raises(TypeError):
        pickle.dumps(store)  # an mmap: only the pickler that starts a process sends its fd


@pytest.mark.usefixtures("colliding")
def test_a_hash_collision_never_gives_another_keys_value() -> None:
    store = PeerResults.create(2, capacity=8192)
    first, second = store.attach(0), store.attach(1)
    assert first.publish(b"key-1", b"one")
    assert second.publish(b"key-2", b"two")
    assert first.publish(b"key-3", b"three")
    for view in (first, second):
        assert view.lookup(b"key-1") == b"one"
        assert view.lookup(b"key-2") == b"two"
        assert view.lookup(b"key-3") == b"three"
        assert view.lookup(b"key-4") is None  # same hash, same length, other bytes
        assert view.lookup(b"key-") is None


def test_a_full_slot_publishes_nothing_more() -> None:
    store = PeerResults.create(2, capacity=SLOT_HEADER + 256)
    writer, other = store.attach(0), store.attach(1)
    published = []
    for n in range(20):
        key = b"key %d" % n
        if not writer.publish(key, b"v" * 40):
            break
        published.append(key)
    assert 0 < len(published) < 20
    assert not writer.publish(b"k", b"")  # even what would still fit: full is full
    assert store.committed()[0] <= 256
    assert [other.lookup(key) for key in published] == [b"v" * 40] * len(published)
    assert other.lookup(b"key %d" % len(published)) is None
    assert other.publish(b"elsewhere", b"fine")  # other slots are not affected
    assert not store.attach(1).publish(b"x" * 300, b"")  # never larger than its slot


def test_a_replacement_continues_its_slot_and_its_predecessor_stops() -> None:
    store = PeerResults.create(2, capacity=8192)
    first, reader = store.attach(0), store.attach(1)
    assert first.publish(b"a", b"1")
    committed = store.committed()[0]
    # The first writer is killed while writing an entry after its committed ones.
    start = _slot_start(store, 0) + committed
    store._arena.buffer[start : start + 40] = b"\xff" * 40
    replacement = store.attach(0)
    assert not first.publish(b"late", b"x")  # the slot has another owner now
    assert replacement.publish(b"b", b"2")
    assert replacement.publish(b"c", b"3")
    assert store.committed()[0] > committed
    for view in (reader, replacement):
        assert [view.lookup(k) for k in (b"a", b"b", b"c", b"late")] == [b"1", b"2", b"3", None]


def test_an_uncommitted_entry_is_not_seen() -> None:
    store = PeerResults.create(2, capacity=8192)
    writer, reader = store.attach(0), store.attach(1)
    assert writer.publish(b"a", b"1")
    word = _committed_word(store, 0)
    committed = store._words[word]
    assert writer.publish(b"b", b"2")
    store._words[word] = committed  # written, but as if the commit had not happened yet
    assert reader.lookup(b"b") is None
    assert reader.lookup(b"a") == b"1"
    assert writer.publish(b"c", b"3")  # written over the uncommitted one
    assert reader.lookup(b"c") == b"3"
    assert reader.lookup(b"b") is None


def test_a_damaged_entry_stops_indexing_its_slot_until_it_verifies() -> None:
    store = PeerResults.create(2, capacity=8192)
    writer, reader = store.attach(0), store.attach(1)
    assert writer.publish(b"a", b"value a")
    end_of_a = store.committed()[0]
    assert writer.publish(b"b", b"value b")
    assert writer.publish(b"c", b"value c")
    # The last byte of b's value, as a reader on a weakly ordered CPU might see it at first.
    last = _slot_start(store, 0) + end_of_a + 24 + 1 + 7 - 1
    assert store._arena.buffer[last] == ord("b")
    store._arena.buffer[last] = ord("?")
    assert reader.lookup(b"a") == b"value a"
    assert reader.lookup(b"b") is None
    assert reader.lookup(b"c") is None  # after the damaged entry: not indexed yet
    store._arena.buffer[last] = ord("b")  # now visible as written
    assert reader.lookup(b"c") == b"value c"
    assert reader.lookup(b"b") == b"value b"


def test_a_damaged_entry_already_indexed_is_a_miss() -> None:
    store = PeerResults.create(1, capacity=8192)
    view = store.attach(0)
    assert view.publish(b"a", b"value a")
    assert view.lookup(b"a") == b"value a"
    store._arena.buffer[_slot_start(store, 0) + 24 + 1] = ord("V")
    assert view.lookup(b"a") is None


@pytest.mark.parametrize("committed", [7, 8192 * 4, 2**63])
def test_a_committed_length_the_writer_never_stored_is_not_trusted(committed: int) -> None:
    store = PeerResults.create(2, capacity=8192)
    assert store.attach(1).publish(b"b", b"2")
    store._words[_committed_word(store, 0)] = committed
    view = store.attach(0)
    assert not view.publish(b"a", b"1")  # its slot is not usable: nothing more goes there
    assert view.lookup(b"a") is None
    assert view.lookup(b"b") == b"2"


keys = st.binary(max_size=6)
operations = st.lists(st.one_of(
    st.tuples(st.just("publish"), st.integers(0, 2), keys),
    st.tuples(st.just("lookup"), st.integers(0, 2), keys),
    st.tuples(st.just("replace"), st.integers(0, 2), st.just(b"")),
), max_size=40)


def _value(key: bytes) -> bytes:
    return b"value of " + key * 3  # a function of the key, as a check's result is


def _model_run(steps: list[tuple[str, int, bytes]]) -> None:
    store = PeerResults.create(3, capacity=SLOT_HEADER + 320)
    views = [store.attach(slot) for slot in range(3)]
    published: set[bytes] = set()
    for action, slot, key in steps:
        if action == "publish":
            if views[slot].publish(key, _value(key)):
                published.add(key)
        elif action == "lookup":
            assert views[slot].lookup(key) == (_value(key) if key in published else None)
        else:
            views[slot] = store.attach(slot)
    for view in views:
        for key in published:
            assert view.lookup(key) == _value(key)


@property_settings(200)
@given(operations)
def test_lookups_give_exactly_what_was_published(steps: list[tuple[str, int, bytes]]) -> None:
    _model_run(steps)


@property_settings(200)
@given(operations)
def test_lookups_give_exactly_what_was_published_when_all_hashes_collide(
    steps: list[tuple[str, int, bytes]]
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(peers_module, "_key_hash", lambda key: COLLIDING)
        _model_run(steps)


# ----------------------------------------------------------------------- between processes

# Options whose keys a child process must encode to the same bytes (hash seeds differ there).
KEY_OPTIONS = [
    GradeOptions(),
    GradeOptions.from_mapping({"variables": {"x": "positive", "n": [0, 2.5]}, "seed": 3}),
    GradeOptions.from_mapping({"feedback": [{"answer": "-x", "message": "Check the sign."}],
                               "relative_tolerance": 0.05, "list": "unordered"}),
]


def _keys_of_checks() -> list[Any]:
    checker = Checker()
    return [checker._shared_keys("sin(x)^2", "1 - cos(x)^2", "1-cos(x)^2", options)
            for options in KEY_OPTIONS]


def _in_child(store: PeerResults, slot: int, wanted: list[bytes],
              publish: dict[bytes, bytes], conn: Connection) -> None:
    """A worker's part: attach to `slot`, look up `wanted`, publish, report back."""
    view = store.attach(slot)
    found = [view.lookup(key) for key in wanted]
    for key, value in publish.items():
        view.publish(key, value)
    conn.send((found, _keys_of_checks(), os.getpid()))
    conn.close()


def _child_target() -> Callable[..., None]:
    """`_in_child` under a module name a child can import (pytest's own name for this module is
    not importable there; the batch conftest puts this folder on sys.path)."""
    if __name__ == "test_peers":
        return _in_child
    module = sys.modules.get("test_peers") or importlib.import_module("test_peers")
    return module._in_child


def _run_child(ctx: Any, store: PeerResults, slot: int, wanted: list[bytes],
               publish: dict[bytes, bytes]) -> tuple[list[bytes | None], list[Any]]:
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child_target(), args=(store, slot, wanted, publish, send))
    process.start()
    send.close()
    try:
        found, checks, pid = receive.recv()
    finally:
        process.join(60)
    assert process.exitcode == 0 and pid != os.getpid()
    return found, checks


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_workers_started_by_the_pool_share_results(method: str) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    ctx = multiprocessing.get_context(method)
    store = PeerResults.create(3, capacity=64 * 1024)
    parent = store.attach(0)
    assert parent.publish(b"from parent", b"p")
    found, checks = _run_child(ctx, store, 1, [b"from parent", b"nowhere"],
                               {b"from child": b"c", b"again": b"c2"})
    assert found == [b"p", None]
    assert checks == _keys_of_checks()  # the same bytes keys, whatever the process's hash seed
    assert parent.lookup(b"from child") == b"c"
    if method != "forkserver":
        return  # the pool's way to start workers (spawn is its fallback): the rest once
    # A replacement for that child continues its slot after what it committed.
    committed = store.committed()[1]
    found, _ = _run_child(ctx, store, 1, [b"from child", b"again"], {b"replacement": b"r"})
    assert found == [b"c", b"c2"]
    assert store.committed()[1] > committed
    assert [parent.lookup(k) for k in (b"from child", b"again", b"replacement")] == [
        b"c", b"c2", b"r"]


# ------------------------------------------------------------------------------ the checker

def _key(result: Grade) -> tuple[Any, ...]:
    return (result.verdict, result.score, result.feedback, result.error)


REFERENCES = ["3*x^2 + 2", "sin(x)^2", "sqrt(x^2)", "1/2", "x, 2*x"]
ANSWERS = ["2 + 3*x*x", "3*x^2+2.01", "1-cos(x)^2", "x", "0.51", "x +", "5x", "2*x, x",
           "x, 2*x", "abs(x)", "y", "sin(x)*sin(x)", "1/2", "(x", "x^2-1"]
SPACINGS: list[Callable[[str], str]] = [
    lambda text: text,
    lambda text: " " + text,
    lambda text: text.replace("*", " * ").replace("+", " + "),
    lambda text: text.replace(",", " ,\t") + "  ",
]
OPTIONS = [
    {},
    {"relative_tolerance": 0.05},
    {"list": "unordered"},
    {"feedback": [{"answer": "x-1", "message": "Check the sign."}]},
    {"forbid": ["cos"]},
    {"variables": {"x": "positive"}},
]
_PLAIN = Checker()  # the oracle: no peers (caches never change an answer: test_determinism)


@st.composite
def submissions(draw: st.DrawFn) -> list[tuple[int, str, str, Callable[[str], str], Any]]:
    """Checks by three workers, from a few references, answers and options, so that the same
    answer comes back often: as typed, spaced otherwise, under other options."""
    references = draw(st.lists(st.sampled_from(REFERENCES), min_size=1, max_size=2, unique=True))
    answers = draw(st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=3, unique=True))
    options = draw(st.lists(st.sampled_from(range(len(OPTIONS))), min_size=1, max_size=3,
                            unique=True))
    return draw(st.lists(st.tuples(
        st.integers(0, 2), st.sampled_from(references), st.sampled_from(answers),
        st.sampled_from(SPACINGS), st.sampled_from([OPTIONS[n] for n in options]),
    ), min_size=1, max_size=12))


@property_settings(80)
@given(submissions())
def test_a_checker_with_peers_gives_what_one_without_gives(
    steps: list[tuple[int, str, str, Callable[[str], str], dict[str, Any]]]
) -> None:
    store = PeerResults.create(3, capacity=64 * 1024)
    checkers = [Checker(peers=store.attach(slot)) for slot in range(3)]
    for which, reference, answer, spacing, mapping in steps:
        options = GradeOptions.from_mapping(mapping)
        text = spacing(answer)
        got = checkers[which].check(reference, text, options)
        assert _key(got) == _key(_PLAIN.check(reference, text, options))


def _no_check(*args: Any) -> Grade:
    raise AssertionError("checked again: the peer's result was not used")


@pytest.mark.parametrize(("published", "asked"), [
    ("3*x^2+2", "3*x^2+2"),
    ("3*x^2+2", "3 * x^2 + 2"),  # spacing-insensitive, for a verdict on a parsed answer
    ("2*x, x", "2*x, x"),
], ids=["as typed", "spaced", "list"])
def test_a_result_a_peer_published_is_not_checked_again(
    monkeypatch: pytest.MonkeyPatch, published: str, asked: str
) -> None:
    store = PeerResults.create(2, capacity=64 * 1024)
    first, second = Checker(peers=store.attach(0)), Checker(peers=store.attach(1))
    options = GradeOptions.from_mapping({"list": "ordered"} if "," in asked else {})
    expected = first.check("3*x^2 + 2" if "," not in asked else "x, 2*x", published, options)
    monkeypatch.setattr(second, "_check", _no_check)
    got = second.check("3*x^2 + 2" if "," not in asked else "x, 2*x", asked, options)
    assert _key(got) == _key(expected)
    if asked != published:  # kept as a local hit would be: other spacings need no peer now
        second.peers = None
        assert _key(second.check("3*x^2 + 2", asked + "  ", options)) == _key(expected)


@pytest.mark.parametrize(("answer", "asked"), [
    ("x +", " x +"),  # invalid: its error's column quotes the text as typed
    ("(x", "( x"),
], ids=["operator", "bracket"])
def test_errors_are_shared_only_as_typed(monkeypatch: pytest.MonkeyPatch, answer: str,
                                         asked: str) -> None:
    store = PeerResults.create(2, capacity=64 * 1024)
    first, second = Checker(peers=store.attach(0)), Checker(peers=store.attach(1))
    options = GradeOptions()
    assert first.check("x", answer, options).verdict == "invalid"
    checked: list[str] = []
    original = second._check

    def counting(reference: str, text: str, options: GradeOptions) -> Grade:
        checked.append(text)
        return original(reference, text, options)

    monkeypatch.setattr(second, "_check", counting)
    assert _key(second.check("x", asked, options)) == _key(Checker().check("x", asked, options))
    assert _key(second.check("x", answer, options)) == _key(first.check("x", answer, options))
    assert checked == [asked]


def test_a_timeout_is_not_published(monkeypatch: pytest.MonkeyPatch) -> None:
    store = PeerResults.create(1, capacity=64 * 1024)
    checker = Checker(peers=store.attach(0))
    monkeypatch.setattr(checker, "_check", lambda *args: Grade("timeout", 0.0, "too slow"))
    assert checker.check("x", "x", GradeOptions()).verdict == "timeout"
    assert store.committed() == [0]


def test_a_value_that_is_not_a_grade_is_checked_instead() -> None:
    class Planted:
        def lookup(self, key: bytes) -> bytes | None:
            return pickle.dumps(("correct", 1.0))

        def publish(self, key: bytes, value: bytes) -> bool:
            return False

    checker = Checker(peers=Planted())
    assert checker.check("x", "y", GradeOptions()).verdict == "incorrect"


def test_grade_item_share_installs_the_view_on_the_default_checker(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(equivalence, "_DEFAULT", Checker())
    assert equivalence._DEFAULT.peers is None  # the service and the CLI never share
    view = PeerResults.create(1, capacity=8192).attach(0)
    share = grade_item.share  # type: ignore[attr-defined]  # what the pool's workers call
    share(view)
    assert equivalence._DEFAULT.peers is view
    share(None)
    assert equivalence._DEFAULT.peers is None


# ------------------------------------------------------------------------- the options' keys

numbers = st.one_of(st.sampled_from([0, 1, 2, True, False, 0.0, -0.0, 1.0, 2.0, 0.5, 1e-3,
                                     float("inf")]), st.integers(-3, 3))
texts = st.sampled_from(["x", "n", "real", "positive", "sin", ""])
option_values = st.builds(
    GradeOptions,
    relative_tolerance=st.none() | numbers,
    absolute_tolerance=st.none() | numbers,
    variables=st.lists(st.tuples(texts, texts | st.tuples(numbers, numbers)),
                       max_size=2).map(tuple),
    form=st.sampled_from(["any", "factored"]),
    forbid=st.lists(texts, max_size=2).map(tuple),
    answers=st.lists(texts, max_size=2).map(tuple),
    list=st.sampled_from([None, "ordered"]),
    feedback=st.lists(st.builds(FeedbackRule, texts, texts), max_size=2).map(tuple),
    timeout=numbers,
    seed=numbers,
    extra=st.sampled_from([(), (("tolerance", 1),)]),  # not compared: not in the key either
)


def _twin(value: Any, rng: Any) -> Any:
    """An equal value built differently: 1, 1.0 or True; 0.0, -0.0, 0 or False; new strings."""
    if type(value) in (bool, int, float):
        twins = [value, float(value)]
        if float(value).is_integer():
            twins.append(int(value))
        if value in (0, 1):
            twins.append(bool(value))
        return rng.choice([twin for twin in twins if twin == value])
    if type(value) is str:
        return "".join(list(value))
    if type(value) is tuple:
        return tuple(_twin(item, rng) for item in value)
    if type(value) is FeedbackRule:
        return FeedbackRule(_twin(value.answer, rng), _twin(value.message, rng))
    return value


@property_settings(150)
@given(option_values, option_values, st.randoms(use_true_random=False))
def test_options_have_equal_keys_exactly_when_they_are_equal(
    first: GradeOptions, second: GradeOptions, rng: Any
) -> None:
    first_key, second_key = _options_bytes(first), _options_bytes(second)
    assert first_key is not None and second_key is not None
    assert (first_key == second_key) == (first == second)
    twin = GradeOptions(**{name: _twin(getattr(first, name), rng)
                           for name in equivalence._COMPARED_OPTIONS},
                        extra=rng.choice([(), (("tolerance", 2),)]))
    assert twin == first and _options_bytes(twin) == first_key
    assert _options_bytes(pickle.loads(pickle.dumps(first))) == first_key


@pytest.mark.parametrize(("first", "second"), [
    (GradeOptions(seed=1), GradeOptions(seed=True)),
    (GradeOptions(timeout=2), GradeOptions(timeout=2.0)),
    (GradeOptions(absolute_tolerance=0.0), GradeOptions(absolute_tolerance=-0.0)),
    (GradeOptions(variables=(("x", (0, 1)),)), GradeOptions(variables=(("x", (0.0, True)),))),
    (GradeOptions(), GradeOptions(extra=(("tolerance", 1),))),
])
def test_options_equal_in_python_have_the_same_key(first: GradeOptions,
                                                   second: GradeOptions) -> None:
    assert first == second
    assert _options_bytes(first) == _options_bytes(second)


@pytest.mark.parametrize(("first", "second"), [
    (GradeOptions(feedback=(FeedbackRule("x", "y"),)), GradeOptions(feedback=(("x", "y"),))),  # type: ignore[arg-type]
    (GradeOptions(variables=(("x", "real"),)), GradeOptions(variables=(("x", ("real",)),))),  # type: ignore[arg-type]
    (GradeOptions(relative_tolerance=0.1), GradeOptions(absolute_tolerance=0.1)),
    (GradeOptions(seed=2**53 + 1), GradeOptions(seed=float(2**53 + 1))),  # type: ignore[arg-type]
    (GradeOptions(forbid=("x",)), GradeOptions(answers=("x",))),
])
def test_options_that_differ_have_other_keys(first: GradeOptions, second: GradeOptions) -> None:
    assert first != second
    assert _options_bytes(first) != _options_bytes(second)


def test_options_that_cannot_be_keyed_are_not_shared() -> None:
    assert _options_bytes(GradeOptions(relative_tolerance=float("nan"))) is None

    class Special(GradeOptions):
        pass

    assert _options_bytes(Special()) is None  # never equal to a GradeOptions


def test_a_view_is_what_the_checker_expects() -> None:
    view: equivalence.Peers = PeerResults.create(1, capacity=8192).attach(0)
    assert isinstance(view, PeerView)
