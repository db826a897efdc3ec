"""`BatchSlots`: shared memory that loader workers build batches in, reused from batch to batch.

A ``DataLoader`` worker hands a tensor to the main process by moving it to a new shared-memory
segment; the first write to each of its pages faults, and at 5k nodes a batch of 32 graphs is
45 MB: 39 ms per batch, more than reading and building it (``tools/bench_generate.py``). Here each
worker owns a few slots of one anonymous shared mapping made before the workers fork, so both
processes see the same pages: a worker builds a batch straight into a free slot, the main process
wraps the slot's bytes as tensors (no copy), and the slot is free again once every tensor of that
batch is gone (a finalizer on the slot's array). Pages are touched once, then reused.

A slot holds one batch; a batch larger than a slot, or one built while all of a worker's slots are
still held by the main process, is handed over the usual way (correct, slower). A record the main
process drops unseen must `free` its slot, or be freed by `reclaim` once nothing is in flight
(`meshsim.data.batches.BatchLoader` does both).

Linux only (needs ``fork`` to share the mapping); the mapping reserves no memory up front
(``MAP_NORESERVE``), only the pages written count: once the largest batch is known, each slot
of the worker is faulted in to 1.25x its size, at once (`used`).
"""
from __future__ import annotations

import math
import mmap
import sys
import weakref
from dataclasses import dataclass

import numpy as np
import torch

#: Linux's MAP_NORESERVE (Python's mmap module exposes it only from 3.13 on)
_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)
#: madvise(MADV_POPULATE_WRITE) (Linux 5.14): fault a range of pages in at once, 2.7x faster than
#: first writes do page by page (40 MB: 26 against 72 ms)
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)
#: byte alignment of each tensor in a slot (cache lines; SIMD loads)
_ALIGN = 64
FREE, TAKEN = 0, 1
#: numpy's dtype of each torch dtype a slot holds (viewing bytes through numpy costs a tenth of torch's view)
_NUMPY = {dtype: torch.empty(0, dtype=dtype).numpy().dtype for dtype in
          (torch.float16, torch.float32, torch.float64, torch.int8, torch.int16, torch.int32, torch.int64,
           torch.uint8, torch.bool, torch.complex64, torch.complex128)}


def _view(memory: np.ndarray, start: int, dtype: torch.dtype, shape: tuple[int, ...]) -> torch.Tensor:
    """The tensor of ``dtype`` and ``shape`` on ``memory``'s bytes from ``start``."""
    size = math.prod(shape) * dtype.itemsize
    if dtype not in _NUMPY:  # bfloat16 & co.: no numpy dtype
        return torch.from_numpy(memory[start:start + size]).view(dtype).view(shape)
    return torch.from_numpy(memory[start:start + size].view(_NUMPY[dtype]).reshape(shape))


def slots_supported() -> bool:
    return sys.platform.startswith("linux")


class SlotFull(Exception):
    """The batch does not fit in its slot."""


@dataclass(frozen=True)
class InSlot:
    """A tensor held in a slot: where it starts (bytes), its dtype and shape."""
    offset: int
    dtype: torch.dtype
    shape: tuple[int, ...]


class SlotAllocator:
    """Bump allocation of tensors in one slot (a worker's view of its bytes)."""

    def __init__(self, memory: np.ndarray):
        self.memory, self.used = memory, 0

    def empty(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        """An uninitialised tensor of ``shape`` and ``dtype`` in the slot (`SlotFull` when it is full)."""
        start = -(-self.used // _ALIGN) * _ALIGN
        size = math.prod(shape) * dtype.itemsize
        if start + size > len(self.memory):
            raise SlotFull(f"slot of {len(self.memory)} bytes full")
        self.used = start + size
        return _view(self.memory, start, dtype, shape)

    def place(self, tensor: torch.Tensor) -> InSlot:
        """Where ``tensor`` lies in the slot, copying it there first unless it is a contiguous
        tensor built in it."""
        base = self.memory.ctypes.data
        start = tensor.data_ptr() - base
        if not (tensor.is_contiguous() and 0 <= start and start + tensor.nbytes <= len(self.memory)):
            copy = self.empty(tuple(tensor.shape), tensor.dtype)
            copy.copy_(tensor)
            start = copy.data_ptr() - base
        return InSlot(start, tensor.dtype, tuple(tensor.shape))


class BatchSlots:
    """``slots_per_worker`` slots of ``slot_bytes`` for each of ``num_workers`` workers, in one
    shared mapping; make it in the main process before the workers start.

    Worker side: `take` a free slot (or None), build in `allocator`, hand over `InSlot` records.
    Main side: `tensor` wraps a record as a tensor on the slot's bytes; the slot is freed when the
    last tensor of it is gone."""

    def __init__(self, num_workers: int, slots_per_worker: int = 4, slot_bytes: int = 256 << 20):
        self.num_workers, self.slots_per_worker, self.slot_bytes = num_workers, slots_per_worker, slot_bytes
        count = num_workers * slots_per_worker
        self._memory = mmap.mmap(-1, count * slot_bytes, flags=mmap.MAP_SHARED | _MAP_NORESERVE)
        self._state_memory = mmap.mmap(-1, max(count, 1), flags=mmap.MAP_SHARED)
        self.state = np.frombuffer(self._state_memory, np.uint8, count=count)
        #: this process's view: bytes of each slot faulted in, and the most one batch used
        self._touched, self._peak = [0] * count, 0
        #: main side: the slots whose batch still has tensors alive here
        self._held: set[int] = set()

    def _bytes(self, slot: int) -> np.ndarray:
        return np.frombuffer(self._memory, np.uint8, count=self.slot_bytes, offset=slot * self.slot_bytes)

    def take(self, worker: int) -> int | None:
        """A free slot of ``worker``, now taken (None when all are taken)."""
        first = worker * self.slots_per_worker
        for slot in range(first, first + self.slots_per_worker):
            if self.state[slot] == FREE:
                self.state[slot] = TAKEN
                return slot
        return None

    def used(self, worker: int, nbytes: int) -> None:
        """Worker side: a batch of ``nbytes`` was built. A new largest batch has the pages of all
        of ``worker``'s slots faulted in, to 1.25x its size, at once: a one-off cost (about 0.6 ms
        per MB), paid here rather than by first writes one page at a time (1.8 ms per MB)."""
        if nbytes <= self._peak:
            return
        self._peak = nbytes
        want = min(self.slot_bytes, -(-int(1.25 * nbytes) // mmap.PAGESIZE) * mmap.PAGESIZE)
        first = worker * self.slots_per_worker
        for slot in range(first, first + self.slots_per_worker):
            if want > self._touched[slot]:
                try:
                    self._memory.madvise(_MADV_POPULATE_WRITE, slot * self.slot_bytes + self._touched[slot],
                                         want - self._touched[slot])
                except OSError:  # an older kernel: the first writes fault the pages in instead
                    pass
                self._touched[slot] = want

    def free(self, slot: int) -> None:
        self.state[slot] = FREE

    def _release(self, slot: int) -> None:
        self._held.discard(slot)
        self.free(slot)

    def reclaim(self) -> None:
        """Main side, when no batch is in flight: free the taken slots that no batch here holds
        (their records were dropped unseen)."""
        for slot in np.flatnonzero(self.state).tolist():
            if slot not in self._held:
                self.free(slot)

    def allocator(self, slot: int) -> SlotAllocator:
        return SlotAllocator(self._bytes(slot))

    def holder(self, slot: int) -> np.ndarray:
        """Main side: the slot's bytes, as an array whose collection frees the slot (every tensor
        made by `tensor` from it keeps it alive)."""
        memory = self._bytes(slot)
        self._held.add(slot)
        weakref.finalize(memory, self._release, slot)
        return memory

    @staticmethod
    def tensor(holder: np.ndarray, record: InSlot) -> torch.Tensor:
        """Main side: the tensor of ``record`` on the slot's bytes ``holder`` (`holder`)."""
        return _view(holder, record.offset, record.dtype, record.shape)
