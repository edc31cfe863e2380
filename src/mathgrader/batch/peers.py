"""Finished results shared by the worker processes of one pool, through shared memory.

Why: each worker's checker caches its results, but a batch repeats the same few hundred answers
over and over, and with several workers each distinct answer was checked once by every worker
(a first check costs ~0.4 ms, a cached one ~15 us): with two workers, twice the first-time work.
Here a worker publishes what it has checked and the others look it up before checking it again.

Why this design: the workers of a pool already share nothing but pipes and a few numbers; a lock
that a worker killed at its deadline could leave held, or a server process in the middle, would be
worse than checking an answer twice. So the store is lock-free and never trusted blindly:

- One shared mapping, split into one slot per worker. A slot is an append-only log written only by
  that slot's current worker (a single writer), read by all of them. After writing an entry, the
  writer stores the slot's new committed length (one aligned 8-byte store); entries before it are
  never written again. A replacement for a killed worker attaches to the same slot and appends
  after what its predecessor committed, overwriting whatever it left half-written past that.
- An entry is a header (its CRC32, a 64-bit hash of its key, the lengths) + key + value, 8-byte
  aligned. The CRC covers everything after itself, so a reader that sees the new committed length
  before the entry's bytes (a weakly ordered CPU) or a torn entry finds a CRC that does not verify,
  stops indexing that slot there, and retries on its next lookup.
- A reader indexes the new committed entries of every slot (their hashes and offsets only, from
  the headers, nothing decoded) when it looks something up, then looks up the key's hash. A hit is
  read in one copy, checked against its CRC and compared with the key byte for byte, so a hash
  collision or a damaged entry is a miss, never another key's value.
- The store never grows: a slot that is full stops publishing, silently (a lookup miss only costs
  the check it would have saved).

The mapping is an unlinked file in /dev/shm (`multiprocessing.heap.Arena`, what `RawArray` is
built on, without `RawArray`'s memset): it goes to a forkserver or spawn child as a file descriptor
and stays sparse, so a page costs memory only once an entry is written there, and the writer
reserves the space it writes (`posix_fallocate`) so that a full /dev/shm refuses an entry instead
of killing the worker with SIGBUS. Every worker maps the whole store, which counts against its
address-space limit (RLIMIT_AS, 2 GiB by default): 64 MiB for up to 16 workers, 4 MiB a worker
beyond that.

Values and keys are bytes; what they mean is the caller's business (the checker's `check` keys
its results by a canonical encoding of reference, answer and options, and stores pickled grades).
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from hashlib import blake2b
from multiprocessing.heap import Arena
from typing import Any

__all__ = ["DEFAULT_TOTAL", "MIN_SLOT_CAPACITY", "PeerResults", "PeerView"]

DEFAULT_TOTAL = 64 * 1024 * 1024  # bytes for the whole store, split evenly over its slots
MIN_SLOT_CAPACITY = 4 * 1024 * 1024  # but at least this much a slot (a few thousand results)
SLOT_HEADER = 64  # committed length, owner token; a cache line, so slots never share one
RESERVE_CHUNK = 256 * 1024  # the writer reserves its slot's space this much at a time

# An entry's header: CRC32 of everything after it, reserved (0), key hash, key and value lengths.
_HEADER = struct.Struct("<II8sII")
_BODY = struct.Struct("<I8sII")  # the header after its CRC
_CRC = struct.Struct("<I")
_HEADER_SIZE = _HEADER.size  # 24: keys start 8-byte aligned
_COMMITTED, _OWNER = 0, 1  # words of a slot's header


def _key_hash(key: bytes) -> bytes:
    """A 64-bit hash of `key`, the same in every process (Python's `hash` of bytes is salted per
    process under spawn)."""
    return blake2b(key, digest_size=8).digest()


def _aligned(size: int, alignment: int = 8) -> int:
    return (size + alignment - 1) // alignment * alignment


class PeerResults:
    """The shared store of one pool: create it in the parent, pass it to each worker process as
    a `Process` argument (it pickles only there, as a file descriptor), `attach` in the worker.

    >>> store = PeerResults.create(2, capacity=4096)
    >>> first, second = store.attach(0), store.attach(1)
    >>> first.publish(b"key", b"value"), second.lookup(b"key"), second.lookup(b"other")
    (True, b'value', None)
    """

    def __init__(self, arena: Arena, slots: int, capacity: int) -> None:
        """Use `create`: this also rebuilds the store in a worker, over the same `arena`."""
        if slots < 1 or capacity < SLOT_HEADER + _HEADER_SIZE or capacity % 8:
            raise ValueError(f"bad store shape: {slots} slots of {capacity} bytes")
        if arena.size < slots * capacity:
            raise ValueError("the mapping is smaller than its slots")
        self._arena = arena
        self.slots = slots
        self.capacity = capacity  # bytes a slot, its header included
        self._words = memoryview(arena.buffer).cast("Q")

    @classmethod
    def create(cls, slots: int, capacity: int | None = None) -> PeerResults:
        """A store of `slots` logs of `capacity` bytes each (by default `DEFAULT_TOTAL` split
        evenly, but at least `MIN_SLOT_CAPACITY`); no memory is used until entries are
        written."""
        if slots < 1:
            raise ValueError("a store needs at least one slot")
        if capacity is None:
            capacity = max(DEFAULT_TOTAL // slots, MIN_SLOT_CAPACITY)
        capacity = _aligned(capacity)
        return cls(Arena(_aligned(slots * capacity, mmap.PAGESIZE)), slots, capacity)

    def __reduce__(self) -> tuple[Any, ...]:
        # The arena reduces to a duplicated file descriptor, which only the pickler that starts
        # a process knows how to send (plain pickle refuses the mmap inside it).
        return (PeerResults, (self._arena, self.slots, self.capacity))

    def attach(self, slot: int) -> PeerView:
        """A view for the worker that writes `slot` from now on (the one it replaces, if any,
        must be dead: it stops publishing once it sees another owner, but that is a guard, not a
        lock)."""
        if not 0 <= slot < self.slots:
            raise ValueError(f"slot {slot} is not in 0..{self.slots - 1}")
        return PeerView(self, slot)

    def committed(self) -> list[int]:
        """Bytes committed in each slot (entries and their padding)."""
        return [self._words[s * self.capacity // 8 + _COMMITTED] for s in range(self.slots)]


class PeerView:
    """One worker's access to the store: `lookup` anything, `publish` into its own slot.

    Not thread-safe (a worker grades one line at a time), but safe to interrupt anywhere (a soft
    time limit raising inside `publish` leaves at most an uncommitted entry, written over next
    time; inside `lookup`, at most an entry indexed twice).
    """

    def __init__(self, store: PeerResults, slot: int) -> None:
        self._store = store  # keeps the mapping alive
        self._buffer = memoryview(store._arena.buffer)
        self._words = store._words
        self._fd = store._arena.fd
        self._slot = slot
        self._data_size = store.capacity - SLOT_HEADER  # bytes of entries a slot holds
        # Every slot's committed word and start of entries, and how far it is indexed
        self._commit_words = [s * store.capacity // 8 + _COMMITTED for s in range(store.slots)]
        self._starts = [s * store.capacity + SLOT_HEADER for s in range(store.slots)]
        self._indexed = [0] * store.slots
        self._index: dict[bytes, int] = {}  # key hash -> offset of the first entry with it
        self._more: dict[bytes, list[int]] = {}  # key hash -> offsets of later entries with it
        # The writer's side: take the slot over, and continue after what is committed there.
        self._commit_word = self._commit_words[slot]
        self._owner_word = self._commit_word - _COMMITTED + _OWNER
        self._data = self._starts[slot]
        self._token = int.from_bytes(os.urandom(8), "little") | 1
        self._words[self._owner_word] = self._token
        committed = self._words[self._commit_word]
        self._full = committed % 8 != 0 or committed > self._data_size  # not a length we wrote
        self._reserved = committed  # written bytes are allocated already

    # ------------------------------------------------------------------------------ reading

    def lookup(self, key: bytes) -> bytes | None:
        """The value some worker of the pool published for `key`, or None."""
        self._catch_up()
        digest = _key_hash(key)
        offset = self._index.get(digest)
        if offset is None:
            return None
        value = self._read(offset, digest, key)
        if value is None and digest in self._more:
            for offset in self._more[digest]:
                value = self._read(offset, digest, key)
                if value is not None:
                    break
        return value

    def _catch_up(self) -> None:
        """Index the entries committed since the last lookup, in every slot."""
        words, indexed = self._words, self._indexed
        for slot, word in enumerate(self._commit_words):
            if words[word] > indexed[slot]:
                self._index_slot(slot)

    def _index_slot(self, slot: int) -> None:
        data = self._starts[slot]
        # A committed length beyond the slot is not one the writer stored: go no further.
        committed = min(self._words[self._commit_words[slot]], self._data_size)
        position = self._indexed[slot]
        buffer, index, unpack, crc32 = self._buffer, self._index, _HEADER.unpack_from, zlib.crc32
        while position + _HEADER_SIZE <= committed:
            start = data + position
            crc, _, digest, key_size, value_size = unpack(buffer, start)
            size = _aligned(_HEADER_SIZE + key_size + value_size)
            if position + size > committed:
                break  # lengths that are not an entry's: damaged, or not yet visible
            if crc32(buffer[start + 4 : start + _HEADER_SIZE + key_size + value_size]) != crc:
                break  # not yet visible on this CPU, or torn: from here again next time
            if digest in index:
                self._more.setdefault(digest, []).append(start)
            else:
                index[digest] = start
            position += size
            self._indexed[slot] = position

    def _read(self, start: int, digest: bytes, key: bytes) -> bytes | None:
        """The value of the entry at `start` if it is `key`'s and intact: its bytes are copied
        once, then checked, so what is returned is what was verified."""
        crc, _, stored, key_size, value_size = _HEADER.unpack_from(self._buffer, start)
        if stored != digest or key_size != len(key):
            return None
        end = start + _HEADER_SIZE + key_size + value_size
        if end > len(self._buffer):
            return None
        entry = self._buffer[start + 4 : end].tobytes()
        if zlib.crc32(entry) != crc:
            return None
        if entry[_BODY.size : _BODY.size + key_size] != key:
            return None
        return entry[_BODY.size + key_size :]

    # ------------------------------------------------------------------------------ writing

    def publish(self, key: bytes, value: bytes) -> bool:
        """Append `key` -> `value` to this worker's slot; False (and nothing stored, now or later)
        once the slot is full or another worker has taken it over."""
        if self._full:
            return False
        words = self._words
        if words[self._owner_word] != self._token:
            self._full = True
            return False
        position = words[self._commit_word]  # ours alone: the truth even after an interruption
        body = _BODY.pack(0, _key_hash(key), len(key), len(value)) + key + value
        end = position + _aligned(4 + len(body))
        if end > self._data_size or (end > self._reserved and not self._reserve(end)):
            self._full = True
            return False
        start = self._data + position
        self._buffer[start + 4 : start + 4 + len(body)] = body
        _CRC.pack_into(self._buffer, start, zlib.crc32(body))
        if words[self._owner_word] != self._token:  # taken over while writing: not ours to commit
            self._full = True
            return False
        words[self._commit_word] = end  # the commit: one aligned 8-byte store
        return True

    def _reserve(self, end: int) -> bool:
        """Allocate the slot's file space up to `end` (and a chunk more): writing into a page of
        a full /dev/shm would kill the worker with SIGBUS, reserving it fails with an error."""
        if not hasattr(os, "posix_fallocate"):  # macOS: the file is on disk, in a temp dir
            self._reserved = self._data_size
            return True
        target = min(_aligned(end, RESERVE_CHUNK), self._data_size)
        try:
            os.posix_fallocate(self._fd, self._data + self._reserved, target - self._reserved)
        except OSError:
            return False
        self._reserved = target
        return True
