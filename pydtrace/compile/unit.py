"""Storage shared by every program of one D program: maps, variable homes, string tables.

Scratch is one per-CPU array element (the BPF stack is only 512 bytes):

    [0, this_size)                     this-> variables
    [rec_base, rec_base + REC_MAX)     the record being built for the ring buffer
    [tmp_base, SCRATCH)                string and key temporaries, allocated per statement
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from ..bpf.sys import MapType
from ..lang.errors import DError
from .layout import NCOUNTERS, AggLayout, ClauseLayout, Datum, MapSpec

SCRATCH = 32768  # per-CPU array values are limited to 32 KiB (PCPU_MIN_UNIT_SIZE)
REC_MAX = 12288
PROBE_ENTRY = 8 + 8 + 64 * 4  # probe id, clause mask, provider, module, function, name
PROBE_STR = {"probeprov": 16, "probemod": 16 + 64, "probefunc": 16 + 128, "probename": 16 + 192}
G_ACTIVITY = 0  # globals[0]: the tracing state, one of:
ACTIVE, DRAINING, WARMUP = 0, 1, 2  # probes record only while ACTIVE; exit() sets DRAINING
G_WALLOFF = 8  # globals[8]: walltimestamp - boot-time clock, set at load
G_FIRST = 16
DYNVAR_OVERHEAD = 64  # bytes DTrace charges each dynamic variable beyond key and value


def align(n: int, a: int = 8) -> int:
    return (n + a - 1) & ~(a - 1)


@dataclass
class VarHome:
    """Where a variable lives: 'global' (offset in the globals value), 'this' (offset in
    scratch), or 'map' (its own hash map: self-> variables and associative arrays)."""

    kind: str
    offset: int = 0
    size: int = 8
    map: MapSpec | None = None
    key_size: int = 0
    keys: list[Datum] = field(default_factory=list)


class Unit:
    """Allocates the maps and storage for one compilation."""

    def __init__(self, strsize: int = 256, bufsize: int = 4 << 20, dynvars: int = 16384,
                 aggsize: int = 16384):
        self.strsize = strsize
        self.maps: list[MapSpec] = []
        self.ringbuf = self.add_map("ringbuf", MapType.RINGBUF, 0, 0, ringbuf_size(bufsize))
        self.counters = self.add_map("counters", MapType.PERCPU_ARRAY, 4, 8 * NCOUNTERS, 1)
        self.scratch = self.add_map("scratch", MapType.PERCPU_ARRAY, 4, SCRATCH, 1)
        self.globals = self.add_map("globals", MapType.ARRAY, 4, G_FIRST, 1)
        self.strtab = self.add_map("strtab", MapType.ARRAY, 4, 8, 1)
        self.probetab = self.add_map("probetab", MapType.ARRAY, 4, PROBE_ENTRY, 1)
        self.zeros = self.add_map("zeros", MapType.ARRAY, 4, 8, 1)  # initial aggregation values
        self.dynvars = dynvars
        self.destructive = False  # uses an action that needs -w
        self.aggsize = aggsize
        self._strings: dict[bytes, int] = {}
        self._strtab = bytearray(8)  # offset 0..7: the empty string
        self._probetab = bytearray()
        self.homes: dict[tuple[str, str], VarHome] = {}
        self.this_size = 0
        self.clauses: list[ClauseLayout] = []
        self.aggs: dict[str, AggLayout] = {}
        self.specs: MapSpec | None = None  # speculation states, made on first use (speculation.py)

    # -- maps
    def add_map(self, name: str, type_: int, key_size: int, value_size: int, max_entries: int,
                flags: int = 0) -> MapSpec:
        spec = MapSpec(name[:15], type_, key_size, value_size, max_entries, flags)
        self.maps.append(spec)
        return spec

    # -- read-only data
    def string(self, s: bytes) -> int:
        """Offset of a NUL-terminated constant string in the string table."""
        if s == b"":
            return 0
        if s not in self._strings:
            self._strings[s] = len(self._strtab)
            self._strtab += s + b"\0"
            self._strtab += b"\0" * (align(len(self._strtab)) - len(self._strtab))
        return self._strings[s]

    def probe_entries(self, rows: list[tuple[int, int, tuple[str, str, str, str]]]) -> int:
        """Append probe-table rows (probe id, clause mask, names); return the first's offset."""
        base = len(self._probetab)
        for pid, mask, names in rows:
            row = struct.pack("<QQ", pid, mask)
            for n in names:
                row += n.encode()[:63].ljust(64, b"\0")
            self._probetab += row
        return base

    # -- variables
    def home(self, scope: str, name: str, size: int, keys: list[tuple[int, str]] | None = None) -> VarHome:
        """The storage of a variable, allocated on first use. `keys` are (size, kind) of
        an associative array's key components."""
        k = (scope, name)
        if k in self.homes:
            return self.homes[k]
        exact, size = max(size, 1), align(max(size, 1))
        if scope == "this":
            h = VarHome("this", self.this_size, size)
            self.this_size += size
        elif scope == "global" and keys is None:
            h = VarHome("global", self.globals.value_size, size)
            self.globals.value_size += size
        else:
            datums, off = [], 0
            if scope == "self":
                datums.append(Datum(0, 8, "int"))
                off = 8
            for ksize, kind in keys or []:
                datums.append(Datum(off, align(ksize), kind))
                off += align(ksize)
            prefix = "s_" if scope == "self" else "a_"
            entries = max(1, self.dynvars // (max(off, 8) + exact + DYNVAR_OVERHEAD))
            spec = self.add_map(prefix + name, MapType.HASH, max(off, 8), exact, entries,
                                flags=1)  # BPF_F_NO_PREALLOC: pay for what is used
            spec.dynamic = True
            h = VarHome("map", 0, exact, spec, max(off, 8), datums)
        self.homes[k] = h
        return h

    def finish(self) -> None:
        """Size the read-only tables now that every program is generated."""
        self.strtab.value_size = align(max(len(self._strtab), 8))
        self.strtab.init = bytes(self._strtab).ljust(self.strtab.value_size, b"\0")
        self.strtab.freeze = True
        self.probetab.value_size = max(len(self._probetab), PROBE_ENTRY)
        self.probetab.init = bytes(self._probetab).ljust(self.probetab.value_size, b"\0")
        self.probetab.freeze = True
        self.zeros.freeze = True
        if self.rec_base + REC_MAX > SCRATCH:
            raise DError("D_NOSCRATCH", None, "too many clause-local variables")

    @property
    def rec_base(self) -> int:
        return align(self.this_size, 64)

    @property
    def tmp_base(self) -> int:
        return self.rec_base + REC_MAX


def ringbuf_size(n: int) -> int:
    """Ring buffers are a power-of-two number of pages."""
    size = 4096
    while size < n:
        size <<= 1
    return size


def no_scratch(loc: Any) -> DError:
    return DError("D_NOSCRATCH", loc, "expression needs more scratch space than is available")
