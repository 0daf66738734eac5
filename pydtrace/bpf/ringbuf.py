"""User-space consumer of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) through mmap.

Layout (kernel/bpf/ringbuf.c): page 0 is the consumer position (u64, ours to write); from
page 1 on, read-only, come the producer position page and then the data area mapped twice in a
row, so a record that wraps is still contiguous. Each record has an 8-byte header:
u32 len (bit 31 busy, bit 30 discarded), u32 page offset; records are 8-byte aligned.
"""

from __future__ import annotations

import mmap
import select
from typing import Callable

from .maps import Map
from .sys import MapType

__all__ = ["RingBuffer", "BUSY_BIT", "DISCARD_BIT", "HDR_SIZE"]

BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
HDR_SIZE = 8
PAGE = mmap.PAGESIZE



class RingBuffer:
    """mmap'ed view of a RINGBUF map; `drain(cb)` hands each committed record to `cb`.

    x86-64 is TSO, so plain loads of the positions and headers order correctly against the
    kernel's smp_store_release; no explicit barriers are needed from Python here.
    """

    def __init__(self, ring: Map | int, size: int | None = None, own_map: bool = False):
        if isinstance(ring, Map):
            if ring.map_type != MapType.RINGBUF:
                raise ValueError(f"map {ring.name!r} is not a RINGBUF map")
            fd, size = ring.fd, ring.max_entries
        else:
            fd = ring
            if size is None:
                raise ValueError("a bare ring buffer fd needs its size")
        if size <= 0 or size & (size - 1) or size % PAGE:
            raise ValueError(f"ring buffer size {size} is not a power-of-two multiple of the page")
        self.map = ring if isinstance(ring, Map) else None
        self._own_map = own_map
        self.fd = fd
        self.size = size
        self._mask = size - 1
        self._cons = mmap.mmap(fd, PAGE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE,
                               offset=0)
        self._prod = mmap.mmap(fd, PAGE + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ,
                               offset=PAGE)
        self._data = memoryview(self._prod)[PAGE:]
        # Typed views: indexing them is several times cheaper than struct.unpack_from.
        self._data32 = self._data.cast("I")
        self._prod_pos = memoryview(self._prod)[:8].cast("Q")
        self._cons_pos = memoryview(self._cons)[:8].cast("Q")
        self._epoll = select.epoll()
        self._epoll.register(fd, select.EPOLLIN)

    @classmethod
    def create(cls, size: int, name: str = "ringbuf") -> "RingBuffer":
        """Create a RINGBUF map of `size` bytes (power of two, >= a page) and map it."""
        return cls(Map.create(MapType.RINGBUF, 0, 0, size, name), own_map=True)

    def fileno(self) -> int:
        """The epoll fd: readable when the kernel signalled new data (for outer event loops)."""
        return self._epoll.fileno()

    def poll(self, timeout_ms: int = -1) -> bool:
        """Wait up to `timeout_ms` (-1: forever) for data; True if there may be records."""
        timeout = -1 if timeout_ms is None or timeout_ms < 0 else timeout_ms / 1000.0
        if self.available():
            return True
        return bool(self._epoll.poll(timeout, 1))

    def available(self) -> int:
        """Bytes between the consumer and producer positions (committed or not)."""
        return self._prod_pos[0] - self._cons_pos[0]

    def drain(self, callback: Callable[[memoryview], None]) -> int:
        """Consume every committed record, calling `callback(view)`; returns the count.

        `view` points into the ring and is only valid during the call: copy what you keep.
        Discarded records are skipped; a busy (reserved, uncommitted) one stops the drain.
        """
        data, data32, mask = self._data, self._data32, self._mask
        cons_pos, prod_pos = self._cons_pos, self._prod_pos
        cons = cons_pos[0]
        count = 0
        while True:
            prod = prod_pos[0]
            start = cons
            while cons < prod:
                off = cons & mask
                hdr = data32[off >> 2]
                if hdr & BUSY_BIT:
                    break
                length = hdr & 0x3FFFFFFF
                cons += (length + HDR_SIZE + 7) & ~7
                if not hdr & DISCARD_BIT:
                    try:
                        callback(data[off + HDR_SIZE:off + HDR_SIZE + length])
                    except BaseException:
                        cons_pos[0] = cons  # the record was delivered: do not repeat it
                        raise
                    count += 1
                cons_pos[0] = cons  # free the space as we go, as libbpf does
            if cons == start or cons < prod:
                return count  # nothing new, or stopped at a busy record

    def read_all(self) -> list[bytes]:
        """Drain into a list of byte strings (convenient in tests and slow paths)."""
        out: list[bytes] = []
        self.drain(lambda v: out.append(bytes(v)))
        return out

    def close(self) -> None:
        """Unmap, close the epoll fd and (if created here) the map."""
        if self._epoll is None:
            return
        self._epoll.close()
        self._epoll = None
        try:
            for view in (self._data32, self._prod_pos, self._cons_pos, self._data):
                view.release()
            self._prod.close()
        except BufferError:
            pass  # a callback kept a view of a record: the mapping goes when that view does
        self._cons.close()
        if self._own_map and self.map is not None:
            self.map.close()

    def __enter__(self) -> "RingBuffer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
