"""Speculative records on the consumer side (dt_consume.c's speculation buffers).

A record whose kind word carries a speculation id (compile/speculation.py) is kept back in
the buffer of that (id, generation), up to `specsize` bytes; more is a speculative drop.
A commit()/discard() record that took effect prints the buffer's records in order (with
their original probe and CPU) or drops them, after the rest of its own record, then frees
the id in the kernel's `specs` map. Records still in flight for a speculation already
finished (speculate() ran on another CPU just before the commit) are printed or dropped as
it was. Speculations never committed are dropped when tracing ends.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..compile import layout as L

SPEC_ID_MASK = 0xFFFF
GEN_SHIFT = 8  # compile/speculation.py's state word: generation in bits 8-15
GEN_MASK = 0xFF
DEFAULT_SPECSIZE = 4 << 20
HEADER = struct.Struct("<IIII")
COUNTERS = struct.Struct("<QQ")


def records_data(lay: L.ClauseLayout) -> bool:
    """Whether a clause is data-recording to the user: one that only commits or discards
    prints no probe line (dt_consume_one_probe's only_commit_discards)."""
    return not lay.actions or any(a.kind not in ("commit", "discard") for a in lay.actions)


@dataclass
class SpecBuffer:
    records: list[bytes] = field(default_factory=list)
    size: int = 0


class Speculations:
    """The consumer's speculation buffers; `free` and `counters` reach the kernel map."""

    def __init__(self, consumer: Any):
        self.consumer = consumer
        self.bufs: dict[tuple[int, int], SpecBuffer] = {}
        self.finished: dict[int, tuple[int, bool]] = {}  # id -> (generation, committed)
        self.pending: list[tuple[bool, int, int]] = []  # (commit, id, generation)
        self.settling = False
        self.drops = 0  # DTRACEDROP_SPEC: over specsize
        self.reported = [0, 0, 0]  # drops, busy, unavailable already reported
        self.free: Optional[Callable[[int, int], None]] = None  # (id, new state word)
        self.counters: Optional[Callable[[], tuple[int, int]]] = None  # (busy, unavailable)

    def use_map(self, m: Any) -> None:
        """Reach the `specs` map through m (lookup/update by 4-byte key)."""
        def free(spec_id: int, state: int) -> None:
            m.update(struct.pack("<I", spec_id), COUNTERS.pack(state, 0))

        def counters() -> tuple[int, int]:
            v = m.lookup(b"\0\0\0\0")
            return COUNTERS.unpack_from(v) if v else (0, 0)

        self.free, self.counters = free, counters

    @property
    def specsize(self) -> int:
        from ..options import parse_size

        v = self.consumer.options.get("specsize")
        if v is None:
            return DEFAULT_SPECSIZE
        n = parse_size(v) if isinstance(v, str) else int(v)
        return DEFAULT_SPECSIZE if n is None else n

    # ------------------------------------------------------------ records

    def hold(self, kind: int, lay: L.ClauseLayout, mv: memoryview) -> None:
        """Keep a speculative record until its speculation is committed or discarded."""
        spec_id = (kind >> L.SPEC_ID_SHIFT) & SPEC_ID_MASK
        gen = kind >> L.SPEC_GEN_SHIFT
        raw = bytes(mv)
        done = self.finished.get(spec_id)
        if (spec_id, gen) not in self.bufs and done is not None and done[0] == gen:
            if done[1]:  # in flight when its speculation was committed
                self.replay(raw)
            return
        buf = self.bufs.setdefault((spec_id, gen), SpecBuffer())
        # what DTrace counts: the record's id words and its data, not our header and mask
        size = 8 + lay.size - L.HEADER - 8 * lay.mask_words
        if buf.size + size > self.specsize:
            self.drops += 1
        else:
            buf.records.append(raw)
            buf.size += size
        # commit()/discard() after speculate() in the same clause still take effect
        masks = struct.unpack_from(f"<{lay.mask_words}Q", mv, L.HEADER)
        for act in lay.actions:
            if act.kind in ("commit", "discard") and masks[act.index // 64] >> (act.index % 64) & 1:
                self.finish(act.kind, self.consumer.value(act.data[0], mv))
        self.settle()

    def finish(self, kind: str, value: int) -> None:
        """A commit()/discard() record: acted on once the rest of its record is done."""
        value &= (1 << 64) - 1
        took_effect = value >> 32
        if took_effect:
            self.pending.append((kind == "commit", value & 0xFFFFFFFF, took_effect - 1))

    def settle(self) -> None:
        """Print or drop the buffers of the commits and discards seen, in their order."""
        if self.settling:
            return
        self.settling = True
        try:
            while self.pending:
                commit, spec_id, gen = self.pending.pop(0)
                buf = self.bufs.pop((spec_id, gen), None)
                for key in [k for k in self.bufs if k[0] == spec_id]:
                    del self.bufs[key]  # stale: an earlier generation of this id
                self.finished[spec_id] = (gen, commit)
                if self.free is not None:
                    self.free(spec_id, ((gen + 1) & GEN_MASK) << GEN_SHIFT)
                if commit and buf is not None:
                    for raw in buf.records:
                        self.replay(raw)
        finally:
            self.settling = False

    def replay(self, raw: bytes) -> None:
        """Print a committed record as if it had just arrived, on its own probe and CPU."""
        c = self.consumer
        _kind, clause, probe_id, cpu = HEADER.unpack_from(raw, 0)
        c.data(c.c.clauses[clause], probe_id, cpu, memoryview(raw))

    # ------------------------------------------------------------ status

    def drop_messages(self, tags: bool = False) -> str:
        """New speculative drops and failed speculations, as dt_handle_status() words them."""
        busy, unavail = self.counters() if self.counters is not None else (0, 0)
        out = []
        for i, (n, tag, text) in enumerate((
                (self.drops, "DTRACEDROP_SPEC", "dtrace: {tag}{n} speculative drop{s}\n"),
                (busy, "DTRACEDROP_SPECBUSY",
                 "dtrace: {tag}{n} failed speculation{s} (available buffer(s) still busy)\n"),
                (unavail, "DTRACEDROP_SPECUNAVAIL",
                 "dtrace: {tag}{n} failed speculation{s} (no speculative buffer available)\n"))):
            new = n - self.reported[i]
            if new > 0:
                self.reported[i] = n
                out.append(text.format(tag=f"[{tag}] " if tags else "", n=new, s="s" if new > 1 else ""))
        return "".join(out)
