"""What the compiler hands to the loader and the consumer: map specs and record layouts.

Every record in the ring buffer starts with a 16-byte header:

    u32 kind   (REC_DATA, REC_ERROR)
    u32 clause (index into Compiled.clauses)
    u32 probe  (probe id)
    u32 cpu

A data record then holds `mask_words` u64 words saying which actions ran (bit i = action i),
then each action's data at the fixed offset the layout gives, whether it ran or not.
An error record holds u64 fault, u64 address, u64 action index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

REC_DATA = 1
REC_ERROR = 2
HEADER = 16
# A speculative data record (speculate() ran) has its speculation in the kind word's upper
# bits: the id at SPEC_ID_SHIFT (16 bits), its generation at SPEC_GEN_SHIFT (compile/speculation.py).
SPEC_ID_SHIFT = 8
SPEC_GEN_SHIFT = 24

# Fault codes (DTRACEFLT_*), reported in error records and to ERROR clauses as arg4.
FLT_BADADDR = 1
FLT_BADALIGN = 2
FLT_ILLOP = 3
FLT_DIVZERO = 4
FLT_NOSCRATCH = 5
FLT_KPRIV = 6
FLT_UPRIV = 7
FLT_TUPOFLOW = 8
FLT_BADSTACK = 9
FLT_BADSIZE = 10
FLT_BADINDEX = 11  # index outside a declared array; the index is reported as the address

FAULT_TEXT = {
    FLT_BADADDR: "invalid address ({addr})",
    FLT_BADALIGN: "invalid alignment ({addr})",
    FLT_ILLOP: "illegal operation",
    FLT_DIVZERO: "divide-by-zero",
    FLT_NOSCRATCH: "out of scratch space",
    FLT_KPRIV: "invalid kernel access ({addr})",
    FLT_UPRIV: "invalid user access ({addr})",
    FLT_TUPOFLOW: "tuple stack overflow",
    FLT_BADSTACK: "bad stack",
    FLT_BADSIZE: "invalid size ({addr})",
    FLT_BADINDEX: "index out of bounds ({index})",
}

# Per-CPU counters in the `counters` map (u64 each).
CNT_DROPS = 0  # ring buffer full: record lost
CNT_DYNDROPS = 1  # dynamic variable space full
CNT_AGGDROPS = 2  # aggregation map full
CNT_ERRORS = 3  # error records that could not be written
NCOUNTERS = 4


@dataclass
class MapSpec:
    """A map the programs use; `init` bytes are written to key 0 after creation (rodata)."""

    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    init: Optional[bytes] = None
    freeze: bool = False
    dynamic: bool = False  # holds dynamic variables (self-> and associative arrays)


@dataclass
class Datum:
    """One value in a record: where it is and how to read it."""

    offset: int
    size: int
    kind: str  # 'int', 'string', 'bytes', 'stack', 'ustack', 'sym', 'usym'
    signed: bool = False
    type: Any = None  # the D type, for print() and trace() of structs


@dataclass
class Action:
    """One data-recording or consumer-side action of a clause, in source order."""

    kind: str  # 'printf', 'trace', 'tracemem', 'printa', 'exit', 'clear', 'trunc', 'normalize',
    #            'denormalize', 'setopt', 'print', 'stack', 'ustack', 'system', 'freopen', ...
    index: int
    data: list[Datum] = field(default_factory=list)
    fmt: Any = None  # parsed printf format (list of FormatPiece) for printf/printa
    fmt_text: str = ""
    aggs: list[Any] = field(default_factory=list)  # AggLayouts printed/changed by this action
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClauseLayout:
    index: int
    actions: list[Action]
    size: int  # bytes of a data record of this clause, header included
    mask_words: int
    has_data: bool  # whether a default-mode probe line or any data is printed for it


@dataclass
class AggLayout:
    """An aggregation's map and how its keys and values are laid out."""

    id: int
    name: str
    func: str
    map: MapSpec
    keys: list[Datum]  # offsets within the map key
    key_size: int
    value_words: int
    params: tuple[int, ...] = ()
    sym: Any = None


@dataclass
class SiteProgram:
    """The code for one site; `asm` is assembled once map fds exist."""

    site: Any
    asm: Any
    clauses: list[int]


@dataclass
class Compiled:
    maps: list[MapSpec]
    programs: list[SiteProgram]
    clauses: list[ClauseLayout]
    aggs: dict[str, AggLayout]
    ringbuf: MapSpec
    counters: MapSpec
    globals: MapSpec
    options: dict[str, Any] = field(default_factory=dict)
    destructive: bool = False
