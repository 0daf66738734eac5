"""print(): a typed value as DTrace for Linux shows it, member by member.

`print(ptr)` shows the address, then the object it points to:

    0xffff8881234 = *
                                                (struct foo) {
                                                 .a = (int)1,
                                                 .s = (struct) {
                                                  .p = (void *)0xfeedface,
                                                 },
                                                 .b = (char [4]) [
                                                  (char)'h',
                                                  (char)'i',
                                                 ],
                                                }

The object starts in column 44 (where data follows a default-mode probe line) and nests one
column per level.  Members whose bytes are all zero are left out, char arrays stop at their
first NUL, enums show their name.  The `printsize` option cuts the object: the first member
(in declaration order, depth first) that starts at or beyond that many bytes prints as `...`
at that member's depth, and the rest is left out.

The walk follows libctf's ctf_type_visit(): every member, nested ones included, is one step in
declaration order, and a struct or union is closed only when a member of a shallower level (or
the end) comes: a `...` cutting a member that follows a union shows inside the union.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterator, Optional

from ..lang import types as T

#: Column of the object's first line.
INDENT = 44


def type_label(t: T.DType) -> str:
    """A type as print() names it: anonymous structs and unions are just `struct`/`union`."""
    return t.name().replace(" (anon)", "")


@dataclass
class _Step:
    """One visited member: where it is, how deep, and what it is."""

    depth: int
    name: str
    type: T.DType
    offset: int  # bytes from the start of the object
    bits: Optional[int] = None  # bit-field width
    bit_offset: int = 0  # bit-field start, in bits from the start of the object


def _members(t: T.DType, offset: int, depth: int) -> Iterator[_Step]:
    """Pre-order walk of the members of a struct at byte `offset`, nested ones included."""
    r = t.resolved
    if not isinstance(r, T.StructType) or not r.members:
        return
    for m in r.members:
        at = offset + m.offset_bits // 8
        yield _Step(depth, m.name, m.type, at, m.bits, offset * 8 + m.offset_bits)
        if m.bits is None and isinstance(m.type.resolved, T.StructType):
            yield from _members(m.type, at, depth + 1)


def _is_zero(data: bytes, offset: int, size: int) -> bool:
    chunk = data[offset:offset + size]
    return not any(chunk)


def _read_int(data: bytes, offset: int, size: int, signed: bool) -> Optional[int]:
    chunk = data[offset:offset + size]
    if len(chunk) < size or size <= 0:
        return None
    return int.from_bytes(chunk, "little", signed=signed)


def _bitfield(data: bytes, bit_offset: int, bits: int, signed: bool) -> Optional[int]:
    first = bit_offset // 8
    last = (bit_offset + bits + 7) // 8
    chunk = data[first:last]
    if len(chunk) < last - first:
        return None
    v = (int.from_bytes(chunk, "little") >> (bit_offset - first * 8)) & ((1 << bits) - 1)
    if signed and v >> (bits - 1):
        v -= 1 << bits
    return v


def _char(v: int) -> str:
    c = v & 0xFF
    if 0x20 <= c < 0x7F:
        return f"'{chr(c)}'"
    return str(v)


def _is_signed_char(r: T.DType) -> bool:
    return isinstance(r, T.IntType) and r.char and r.signed


def scalar_text(t: T.DType, data: bytes, offset: int, bits: Optional[int] = None,
                bit_offset: int = 0) -> Optional[str]:
    """`(type)value` for an integer, enum, pointer or float; None for anything else."""
    r = t.resolved
    label = type_label(t)
    if isinstance(r, T.IntType):
        if bits is not None:
            v = _bitfield(data, bit_offset, bits, r.signed)
        else:
            v = _read_int(data, offset, r.size, r.signed)
        if v is None:
            return None
        return f"({label}){_char(v) if _is_signed_char(r) else v}"
    if isinstance(r, T.EnumType):
        v = _read_int(data, offset, r.size or 4, True)
        if v is None:
            return None
        for name, val in r.values.items():
            if val == v:
                return f"({label}){name}"
        return f"({label}){v}"
    if isinstance(r, T.PtrType):
        v = _read_int(data, offset, 8, False)
        return None if v is None else f"({label})0x{v:x}"
    if isinstance(r, T.FloatType):
        chunk = data[offset:offset + r.size]
        if r.size == 4 and len(chunk) == 4:
            return f"({label}){struct.unpack('<f', chunk)[0]:g}"
        if r.size == 8 and len(chunk) == 8:
            return f"({label}){struct.unpack('<d', chunk)[0]:g}"
        return None
    return None


class _Printer:
    """Builds the lines of one print()."""

    def __init__(self, data: bytes, limit: int):
        self.data = data
        self.limit = limit
        self.lines: list[str] = []
        self.open: list[tuple[int, str]] = []  # (depth, closing text) of open structs

    def emit(self, depth: int, text: str) -> None:
        self.lines.append(" " * (INDENT + depth) + text)

    def close_to(self, depth: int) -> None:
        """Close every open struct/union at `depth` or deeper."""
        while self.open and self.open[-1][0] >= depth:
            d, closing = self.open.pop()
            self.emit(d, closing)

    def value(self, depth: int, prefix: str, t: T.DType, offset: int, suffix: str,
              bits: Optional[int] = None, bit_offset: int = 0) -> bool:
        """Emit one member or element; a struct or union is left open. False: no data."""
        r = t.resolved
        if isinstance(r, T.StructType):
            self.emit(depth, f"{prefix}({type_label(t)}) {{")
            self.open.append((depth, "}" + suffix))
            return True
        if isinstance(r, T.ArrayType):
            self.array(depth, prefix, t, offset, suffix)
            return True
        text = scalar_text(t, self.data, offset, bits, bit_offset)
        if text is None:
            return False
        self.emit(depth, prefix + text + suffix)
        return True

    def array(self, depth: int, prefix: str, t: T.DType, offset: int, suffix: str) -> None:
        """`(elem [n]) [` one line a non-zero element `]`; char arrays end at a NUL."""
        r = t.resolved
        assert isinstance(r, T.ArrayType)
        self.emit(depth, f"{prefix}({type_label(t)}) [")
        elem = r.elem
        esize = elem.size
        chars = _is_char(elem)
        for i in range(r.count if esize else 0):
            off = offset + i * esize
            if off + esize > len(self.data):
                break
            if chars and not self.data[off]:
                break
            if _is_zero(self.data, off, esize):
                continue
            if isinstance(elem.resolved, T.StructType):
                base = len(self.open)
                self.value(depth + 1, "", elem, off, ",")
                self.members(elem, off, depth + 2, base, bounded=False)
            else:
                self.value(depth + 1, "", elem, off, ",")
        self.emit(depth, "]" + suffix)

    def members(self, t: T.DType, offset: int, depth: int, base: int, bounded: bool = True) -> bool:
        """Emit the members of the struct t (already opened); False if printsize cut it."""
        skip_below: Optional[int] = None  # depth of a zero struct whose members are skipped
        whole = True
        for st in _members(t, offset, depth):
            if skip_below is not None:
                if st.depth > skip_below:
                    continue
                skip_below = None
            if bounded and st.offset >= self.limit:
                # `...` takes the cut member's place, before the open structs close
                self.emit(st.depth, "...")
                whole = False
                break
            self.close_to(st.depth)
            size = st.type.size
            zero = (_bitfield(self.data, st.bit_offset, st.bits, False) == 0 if st.bits
                    else _is_zero(self.data, st.offset, size))
            if zero or st.offset >= len(self.data):
                if isinstance(st.type.resolved, T.StructType):
                    skip_below = st.depth
                continue
            prefix = f".{st.name} = " if st.name else ""  # an anonymous struct or union
            self.value(st.depth, prefix, st.type, st.offset, ",", st.bits, st.bit_offset)
        while len(self.open) > base:
            d, closing = self.open.pop()
            self.emit(d, closing)
        return whole


def _is_char(t: T.DType) -> bool:
    r = t.resolved
    return isinstance(r, T.IntType) and r.char and r.bits is None


def format_object(t: T.DType, data: bytes, limit: Optional[int] = None) -> str:
    """The lines print() shows for an object of type t held in data (ending in a newline).

    `limit` is the printsize cut (None: all of data).
    """
    data = bytes(data)
    p = _Printer(data, len(data) if limit is None else min(limit, len(data)))
    r = t.resolved
    if isinstance(r, T.StructType):
        p.emit(0, f"({type_label(t)}) {{")
        p.open.append((0, "}"))
        p.members(t, 0, 1, 0)
    elif not p.value(0, "", t, 0, ""):
        p.emit(0, f"({type_label(t)})")
    return "\n".join(p.lines) + "\n"


def format_print(t: T.DType, data: bytes, addr: Optional[int] = None,
                 limit: Optional[int] = None) -> str:
    """print(): `0x... = *` for a pointer's address (when given), then the object."""
    head = f"0x{addr & 0xFFFFFFFFFFFFFFFF:x} = *\n" if addr is not None else ""
    return head + format_object(t, data, limit)


def format_value(t: T.DType, data: bytes, limit: Optional[int] = None) -> str:
    """print() of a value that is not a pointer: the object, its first line where the output
    is (after the probe line, by default), the rest in print()'s columns."""
    return format_object(t, data, limit)[INDENT:]


def format_string(text: bytes) -> str:
    """print() of a D string."""
    return '(string)"' + text.decode("utf-8", "surrogateescape") + '"\n'


def printsize_limit(value) -> Optional[int]:
    """The printsize option as a byte count: an int (-x, pragma) or setopt()'s text."""
    if value is None or value is True or value is False:
        return None
    if isinstance(value, int):
        return value
    from ..options import parse_size

    return parse_size(str(value))


def format_action(act, mv, printsize=None) -> str:
    """One print() record: its data (see compile/actions.py gen_print) formatted."""
    limit = printsize_limit(printsize)
    d = act.data
    if len(d) == 2:  # a pointer: its value, then the object it points to
        addr = int.from_bytes(mv[d[0].offset:d[0].offset + 8], "little")
        return format_print(d[1].type, bytes(mv[d[1].offset:d[1].offset + d[1].size]), addr, limit)
    d0 = d[0]
    raw = bytes(mv[d0.offset:d0.offset + (8 if d0.kind == "int" else d0.size)])
    if isinstance(d0.type, T.StringType):
        n = raw.find(b"\0")
        return format_string(raw if n < 0 else raw[:n])
    return format_value(d0.type, raw, limit)
