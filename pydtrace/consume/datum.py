"""How DTrace prints single values: trace(), tracemem(), stack(), sym() ...

Mirrors libdtrace/dt_consume.c of Oracle's DTrace for Linux: dt_print_trace
(trace()), dt_print_datum (aggregation keys and values in a default
printa()), dt_print_bytes / dt_print_rawbytes (strings and byte dumps,
tracemem()), dt_print_stack / dt_print_ustack, dt_print_sym / mod / usym /
umod, and dtrace_addr2str / dtrace_uaddr2str.

Everything returns text: bytes decoded as UTF-8 with surrogateescape (see
printf.to_text), so writing it with errors='surrogateescape' gives DTrace's
bytes exactly.
"""

from __future__ import annotations

import re
import struct

from .printf import _as_bytes, csprintf, to_text

#: DTrace's default indentation of stack frames (_dtrace_stkindent).
STACK_INDENT = 14


class Symbolizer:
    """Address-to-name lookups used when printing.

    The default knows no symbols, so addresses print raw ("0xffff...").
    Subclass it (kernel symbols from /proc/kallsyms, user symbols from the
    process's ELF objects) and pass the instance to the formatting functions.
    """

    def ksym(self, addr: int) -> tuple[str, str, int] | None:
        """(module, symbol name, symbol start address) for a kernel address."""
        return None

    def kmod(self, addr: int) -> str | None:
        """Name of the kernel module (or 'vmlinux') holding an address."""
        return None

    def usym(self, pid: int, addr: int) -> tuple[str, str, int] | None:
        """(object basename, symbol name, symbol start) in process `pid`."""
        return None

    def umod(self, pid: int, addr: int) -> str | None:
        """Basename of the object of process `pid` mapping `addr`."""
        return None


_NOSYMS = Symbolizer()
_U64 = 0xFFFFFFFFFFFFFFFF


def _syms(syms: Symbolizer | None) -> Symbolizer:
    return _NOSYMS if syms is None else syms


# --------------------------------------------------------------------------
# Addresses and symbols
# --------------------------------------------------------------------------

def addr2str(addr: int, syms: Symbolizer | None = None) -> str:
    """dtrace_addr2str(): "mod`sym+0x10", "mod`sym", "mod`0x..." or "0x..."."""
    syms = _syms(syms)
    addr &= _U64
    hit = syms.ksym(addr)
    if hit is not None:
        mod, name, start = hit
        if addr != start:
            return "%s`%s+0x%x" % (mod, name, (addr - start) & _U64)
        return "%s`%s" % (mod, name)
    mod = syms.kmod(addr)
    if mod is not None:
        return "%s`0x%x" % (mod, addr)
    return "0x%x" % addr


def uaddr2str(pid: int, addr: int, syms: Symbolizer | None = None) -> str:
    """dtrace_uaddr2str(): the same for a user address of process `pid`."""
    syms = _syms(syms)
    addr &= _U64
    hit = syms.usym(pid, addr)
    if hit is not None:
        obj, name, start = hit
        if addr > start:
            return "%s`%s+0x%x" % (obj, name, addr - start)
        return "%s`%s" % (obj, name)
    obj = syms.umod(pid, addr)
    if obj is not None:
        return "%s`0x%x" % (obj, addr)
    return "0x%x" % addr


def _frame(pc: int, syms: Symbolizer) -> str:
    hit = syms.ksym(pc)
    if hit is not None:
        mod, name, start = hit
        if pc > start:
            return "%s`%s+0x%x" % (mod, name, pc - start)
        return "%s`%s" % (mod, name)
    mod = syms.kmod(pc)
    if mod is not None:
        return "%s`0x%x" % (mod, pc)
    return "0x%x" % pc


def format_stack(pcs, syms: Symbolizer | None = None, *, indent: int = STACK_INDENT,
                 fmt: str | None = None) -> str:
    """dt_print_stack(): a newline, then one indented frame a line, up to the
    first zero pc.  `fmt` formats each frame (printf's %k passes its own)."""
    syms = _syms(syms)
    fmt = fmt or "%s"
    out = bytearray(b"\n")
    for pc in pcs:
        pc = int(pc) & _U64
        if pc == 0:
            break
        out += b" " * abs(indent)
        out += csprintf(fmt, _frame(pc, syms))
        out += b"\n"
    return to_text(bytes(out))


def format_ustack(pid: int, pcs, syms: Symbolizer | None = None, *,
                  indent: int = STACK_INDENT, fmt: str | None = None,
                  strs: list[bytes] | None = None) -> str:
    """dt_print_ustack(): like format_stack() for a user stack of `pid`.

    `strs` are the per-frame strings a ustack helper gave (jstack()); an
    empty record (no frames requested) prints nothing.
    """
    syms = _syms(syms)
    pcs = list(pcs)
    if not pcs:
        return ""
    fmt = fmt or "%s"
    out = bytearray(b"\n")
    strs = list(strs or [])
    for i, pc in enumerate(pcs):
        pc = int(pc) & _U64
        if pc == 0:
            break
        out += b" " * abs(indent)
        hit = syms.usym(pid, pc)
        s = strs[i] if i < len(strs) else None
        if hit is not None:
            obj, name, start = hit
            c = ("%s`%s+0x%x" % (obj, name, pc - start)) if pc > start \
                else ("%s`%s" % (obj, name))
        elif s and not s.startswith(b"@"):
            c = s
        else:
            obj = syms.umod(pid, pc)
            c = ("%s`0x%x" % (obj, pc)) if obj is not None else ("0x%x" % pc)
        out += csprintf(fmt, c)
        out += b"\n"
        if s and s.startswith(b"@"):
            out += b" " * abs(indent)
            out += csprintf(fmt, b"  [ " + s[1:] + b" ]")
            out += b"\n"
    return to_text(bytes(out))


def format_sym(addr: int, syms: Symbolizer | None = None, fmt: str | None = None) -> str:
    """dt_print_sym() (sym()/func()): "mod`name" without offset, "  %-50s"."""
    syms = _syms(syms)
    addr &= _U64
    hit = syms.ksym(addr)
    if hit is not None:
        c = "%s`%s" % (hit[0], hit[1])
    else:
        mod = syms.kmod(addr)
        c = ("%s`0x%x" % (mod, addr)) if mod is not None else ("0x%x" % addr)
    return to_text(csprintf(fmt or "  %-50s", c))


def format_mod(addr: int, syms: Symbolizer | None = None, fmt: str | None = None) -> str:
    """dt_print_mod() (mod()): the module name or "0x...", "  %-50s"."""
    syms = _syms(syms)
    addr &= _U64
    mod = syms.kmod(addr)
    if mod is None:
        hit = syms.ksym(addr)
        mod = hit[0] if hit is not None else None
    return to_text(csprintf(fmt or "  %-50s", mod if mod is not None else "0x%x" % addr))


def format_usym(pid: int, addr: int, syms: Symbolizer | None = None, *,
                exact: bool = False) -> str:
    """dt_print_usym(): usym()/ufunc() print the symbol without offset;
    uaddr() (exact=True) keeps the offset.  "  %-50s"."""
    syms = _syms(syms)
    addr &= _U64
    if not exact:
        hit = syms.usym(pid, addr)
        if hit is not None:
            addr = hit[2]
    return to_text(csprintf("  %-50s", uaddr2str(pid, addr, syms)))


def format_umod(pid: int, addr: int, syms: Symbolizer | None = None,
                fmt: str | None = None) -> str:
    """dt_print_umod() (umod()): object basename or "0x...", "  %-50s"."""
    syms = _syms(syms)
    obj = syms.umod(pid, addr & _U64)
    return to_text(csprintf(fmt or "  %-50s", obj if obj is not None else "0x%x" % (addr & _U64)))


# --------------------------------------------------------------------------
# Bytes and strings
# --------------------------------------------------------------------------

def format_rawbytes(data: bytes) -> str:
    """dt_print_rawbytes(): the hex dump of tracemem() and of non-string data.

    A header line of column numbers, then 16 bytes a line with an offset,
    the hex bytes and the printable characters ('.' for others).
    """
    data = bytes(data)
    if not data:
        return ""
    out = ["\n" + " " * 5 + "      "]
    out.extend("  %s" % "0123456789abcdef"[i] for i in range(16))
    out.append("  0123456789abcdef\n")
    for i in range(0, len(data), 16):
        row = data[i:i + 16]
        out.append(" " * 5 + "%5x:" % i)
        out.extend(" %02x" % b for b in row)
        out.append("   " * (16 - len(row)))
        out.append("  ")
        out.append("".join("." if b < 0x20 or b > 0x7E else chr(b) for b in row))
        out.append("\n")
    return "".join(out)


# Not isprint() || isspace() || '\b' || '\a' in the C locale; bytes >= 0x80
# are negative chars there, and not printable.
_UNPRINTABLE = re.compile(rb"[^\x20-\x7e\t\n\v\f\r\b\a]")


def format_bytes(data: bytes, width: int = 50, quiet: bool = False,
                 rawbytes: bool = False) -> str:
    """dt_print_bytes(): a byte record that looks like a string prints as one
    ("  %-*s", or "%s" when quiet); anything else as a hex dump.

    `data` is the whole record (a string key is its strsize bytes, the text
    then NULs).  An empty string (first byte NUL) is not a string here and
    dumps as bytes, as in DTrace.
    """
    data = bytes(data)
    if not data:
        return ""
    if rawbytes:
        return format_rawbytes(data)
    m = _UNPRINTABLE.search(data)
    if m is None:
        return to_text(b"  " + data.ljust(width))
    i = m.start()
    if data[i] == 0 and i > 0 and not data[i + 1:].strip(b"\0"):
        s = data[:i]
        return to_text(s if quiet else b"  " + s.ljust(width))
    return format_rawbytes(data)


def format_tracemem(data: bytes, dsize: int | None = None, dsigned: bool = True,
                    dsize_bytes: int = 8) -> str:
    """dt_print_tracemem(): tracemem(addr, size[, dsize]) as a hex dump.

    With a dynamic size, only min(size, dsize) bytes print, unless dsize is
    negative (as a signed value of `dsize_bytes` bytes), which prints all.
    """
    data = bytes(data)
    if dsize is not None:
        bits = dsize_bytes * 8
        dsize &= (1 << bits) - 1
        positive = not dsigned or not (dsize >> (bits - 1))
        if positive and dsize < len(data):
            data = data[:dsize]
    return format_rawbytes(data)


# --------------------------------------------------------------------------
# trace() and aggregation keys
# --------------------------------------------------------------------------

_TRACE_SIGNED = {8: ("%lld", " %19lld"), 4: ("%d", " %10d"),
                 2: ("%hd", " %5hd"), 1: ("%hhd", " %3hhd")}
_TRACE_UNSIGNED = {8: ("%llu", " %20llu"), 4: ("%u", " %10u"),
                   2: ("%hu", " %5hu"), 1: ("%hhu", " %3hhu")}


def format_trace(value, kind: str = "int", size: int = 8, signed: bool = True,
                 quiet: bool = False, rawbytes: bool = False) -> str:
    """dt_print_trace(): how trace() prints its record.

    kind 'string' (value: bytes up to NUL): "%s" when quiet, else "  %-33s";
    kind 'int': by size and signedness, e.g. " %10d" for an int, " %20llu"
    for a uint64_t, "%d" when quiet; kind 'bytes' (structs, arrays, any
    non-string by-reference data): the hex dump.  With the rawbytes option
    everything is dumped.
    """
    if kind == "string":
        s = _as_bytes(value)
        nul = s.find(b"\0")
        if nul >= 0:
            s = s[:nul]
        if rawbytes:
            return format_rawbytes(s + b"\0" * max(size - len(s), 0 if size else 1))
        return to_text(csprintf("%s" if quiet else "  %-33s", s))
    if kind == "bytes":
        return format_rawbytes(value)
    if kind == "float":
        v = int.from_bytes(struct.pack("<d", float(value)), "little")
        value, kind, size = v, "int", 8
    v = int(value)
    if rawbytes:
        return format_rawbytes((v & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))
    table = _TRACE_SIGNED if signed else _TRACE_UNSIGNED
    if size not in table:
        return format_rawbytes((v & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))
    fmt = table[size][0 if quiet else 1]
    return to_text(csprintf(fmt, v))


def format_datum_int(value: int, size: int, normal: int = 1) -> str:
    """dt_print_datum() for an integer record: " %16lld" (8 bytes), " %8d",
    " %5d", " %3d"; the value is read unsigned and divided by `normal`."""
    normal = int(normal) & _U64 or 1
    if size == 8:
        v = (int(value) & _U64) // normal
        return " %16d" % (v - (1 << 64) if v >> 63 else v)
    v = (int(value) & ((1 << (8 * size)) - 1)) // (normal & 0xFFFFFFFF or 1)
    if size == 4 and v >> 31:
        v -= 1 << 32                  # printed with %d: an int
    return {4: " %8d", 2: " %5d", 1: " %3d"}[size] % v


def format_key(value, kind: str, size: int, syms: Symbolizer | None = None, *,
               rawbytes: bool = False, stackindent: int = STACK_INDENT) -> str:
    """One aggregation key as a default printa() prints it (dt_print_datum).

    kind: 'int' (value int; size 1/2/4/8), 'string' (bytes; size = strsize),
    'bytes' (raw record), 'stack' (tuple of pcs), 'ustack' ((pid, pcs)),
    'sym', 'mod' (address), 'usym', 'uaddr', 'umod' ((pid, address)).
    """
    if kind == "stack":
        return format_stack(value, syms, indent=stackindent)
    if kind == "ustack":
        pid, pcs = value
        return format_ustack(pid, pcs, syms, indent=stackindent)
    if kind == "sym":
        return format_sym(int(value), syms)
    if kind == "mod":
        return format_mod(int(value), syms)
    if kind in ("usym", "uaddr"):
        pid, addr = value
        return format_usym(pid, addr, syms, exact=(kind == "uaddr"))
    if kind == "umod":
        pid, addr = value
        return format_umod(pid, addr, syms)
    if kind in ("string", "bytes"):
        data = _as_bytes(value)
        if kind == "string":
            nul = data.find(b"\0")
            if nul >= 0:
                data = data[:nul]
            data = data + b"\0" * max(size - len(data), 0 if size else 1)
        return format_bytes(data, 50, False, rawbytes)
    if size in (1, 2, 4, 8):
        return format_datum_int(int(value), size)
    data = (int(value) & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    return format_bytes(data, 50, False, rawbytes)
