"""printf()/printa() format strings: parsing, argument checking and formatting.

Mirrors DTrace's libdtrace/dt_printf.c: the same conversion dictionary
(``_CONVERSIONS`` below is its ``_dtrace_conversions`` table), the same
parser state machine (``dt_printf_create``), the same argument checks and
messages (``dt_printf_validate``) and the same run-time formatting
(``dt_printf_format`` and the ``pfprint_*`` functions) done with C printf
semantics in pure Python.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence


class FormatError(Exception):
    """A malformed format string.  DTrace reports these as ``D_SYNTAX``."""

    tag = "D_SYNTAX"

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg


class PrintfArgError(Exception):
    """An argument that does not fit the format string (compile time)."""

    def __init__(self, tag: str, msg: str):
        super().__init__(msg)
        self.tag = tag
        self.msg = msg


# --------------------------------------------------------------------------
# The conversion dictionary (dt_printf.c: _dtrace_conversions)
# --------------------------------------------------------------------------

PROTO_XINT = "char, short, int, long, or long long"
PROTO_CSI = "char, short, or int"
PROTO_FP = "float, double, or long double"
PROTO_ADDR = "pointer or integer"
PROTO_UADDR = "pointer or integer (with -p/-c) or _usymaddr (without -p/-c)"
PROTO_CSTR = "char [] or string (or use stringof)"
PROTO_WSTR = "wchar_t []"


@dataclass(frozen=True)
class _ConvDef:
    name: str    # pfc_name: length modifier + conversion character
    ofmt: str    # pfc_ofmt: the C conversion really used for output
    proto: str   # pfc_tstr: the prototype shown in messages (or type name)
    check: str   # which pfcheck_* function
    printer: str  # which pfprint_* function


def _c(name, ofmt, proto, check, printer):
    return name, _ConvDef(name, ofmt, proto, check, printer)


_CONVERSIONS: dict[str, _ConvDef] = dict([
    _c("a", "s", PROTO_ADDR, "kaddr", "addr"),
    _c("A", "s", PROTO_UADDR, "uaddr", "uaddr"),
    _c("c", "c", PROTO_CSI, "csi", "sint"),
    _c("C", "s", PROTO_CSI, "csi", "echr"),
    _c("d", "d", PROTO_XINT, "dint", "dint"),
    _c("e", "e", PROTO_FP, "fp", "fp"),
    _c("E", "E", PROTO_FP, "fp", "fp"),
    _c("f", "f", PROTO_FP, "fp", "fp"),
    _c("g", "g", PROTO_FP, "fp", "fp"),
    _c("G", "G", PROTO_FP, "fp", "fp"),
    _c("hd", "d", "short", "type", "sint"),
    _c("hi", "i", "short", "type", "sint"),
    _c("ho", "o", "unsigned short", "type", "uint"),
    _c("hu", "u", "unsigned short", "type", "uint"),
    _c("hx", "x", "short", "xshort", "uint"),
    _c("hX", "X", "short", "xshort", "uint"),
    _c("i", "i", PROTO_XINT, "dint", "dint"),
    _c("k", "s", "stack", "stack", "stack"),
    _c("lc", "lc", "int", "type", "sint"),
    _c("ld", "d", "long", "type", "sint"),
    _c("li", "i", "long", "type", "sint"),
    _c("lo", "o", "unsigned long", "type", "uint"),
    _c("lu", "u", "unsigned long", "type", "uint"),
    _c("ls", "ls", PROTO_WSTR, "wstr", "wstr"),
    _c("lx", "x", "long", "xlong", "uint"),
    _c("lX", "X", "long", "xlong", "uint"),
    _c("lld", "d", "long long", "type", "sint"),
    _c("lli", "i", "long long", "type", "sint"),
    _c("llo", "o", "unsigned long long", "type", "uint"),
    _c("llu", "u", "unsigned long long", "type", "uint"),
    _c("llx", "x", "long long", "xlonglong", "uint"),
    _c("llX", "X", "long long", "xlonglong", "uint"),
    _c("Le", "e", "long double", "type", "fp"),
    _c("LE", "E", "long double", "type", "fp"),
    _c("Lf", "f", "long double", "type", "fp"),
    _c("Lg", "g", "long double", "type", "fp"),
    _c("LG", "G", "long double", "type", "fp"),
    _c("o", "o", PROTO_XINT, "xint", "uint"),
    _c("p", "x", PROTO_ADDR, "addr", "uint"),
    _c("s", "s", PROTO_CSTR, "str", "cstr"),
    _c("S", "s", PROTO_CSTR, "str", "estr"),
    _c("T", "s", "int64_t", "time", "time822"),
    _c("u", "u", PROTO_XINT, "xint", "uint"),
    _c("wc", "wc", "int", "type", "sint"),
    _c("ws", "ws", PROTO_WSTR, "wstr", "wstr"),
    _c("x", "x", PROTO_XINT, "xint", "uint"),
    _c("X", "X", PROTO_XINT, "xint", "uint"),
    _c("Y", "s", "int64_t", "time", "time"),
    _c("%", "%", "void", "type", "pct"),
])

#: Every conversion name DTrace knows (length modifier + character).
CONVERSION_NAMES = frozenset(_CONVERSIONS)


# --------------------------------------------------------------------------
# Parsed format strings
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Conversion:
    """One %-conversion of a format string, as dt_printf_create parses it."""

    text: str            # the spec as written, e.g. '%-*.3lld'
    flags: str           # flag characters in the order written: any of "#0-+' @"
    width: int | None    # explicit width ('?' gives 16), None if none
    width_star: bool     # '*': the width is taken from an argument
    prec: int | None     # explicit precision, None if none
    prec_star: bool      # '.*': the precision is taken from an argument
    length: str          # '', 'h', 'l', 'll', 'L', 'w' (DTrace knows no others)
    conv: str            # 'd','i','u','o','x','X','c','C','s','S','e','E','f',
                         # 'g','G','a','A','p','k','Y','T','%'
    number: int = 0      # 1-based ordinal among the conversions ("conversion #N")

    @property
    def name(self) -> str:
        """DTrace's conversion name (length + char), as in its messages: 'lld'."""
        return self.length + self.conv

    @property
    def agg(self) -> bool:
        """'@' flag: the value is the aggregation's (printa only)."""
        return "@" in self.flags

    @property
    def left(self) -> bool:
        return _flag_state(self.flags)[0]

    @property
    def zpad(self) -> bool:
        return _flag_state(self.flags)[1]

    @property
    def takes_value(self) -> bool:
        """Whether the conversion consumes a value argument (not %% nor %@)."""
        return self.conv != "%" and not self.agg

    @property
    def nargs(self) -> int:
        """How many arguments this conversion consumes ('*', '.*', value)."""
        if self.conv == "%":
            return 0
        return int(self.width_star) + int(self.prec_star) + int(self.takes_value)


@dataclass(frozen=True)
class FormatPiece:
    """Literal text or one conversion; exactly one of the two is set."""

    literal: str | None
    conv: Conversion | None


def _flag_state(flags: str) -> tuple[bool, bool]:
    """(LEFT, ZPAD) after applying the flags in order: '-' clears ZPAD, '0' LEFT."""
    left = zpad = False
    for f in flags:
        if f == "-":
            left, zpad = True, False
        elif f == "0":
            left, zpad = False, True
    return left, zpad


def parse_format(fmt: str) -> list[FormatPiece]:
    """Split a printf format into literal and conversion pieces.

    Follows dt_printf_create() step by step, including its quirks: '0' is
    the zero-pad flag only before any width digit, '?' is a width of 16,
    "%%" is a conversion of its own, and h/l/L/w collect into the name that
    is then looked up in the dictionary.  Raises FormatError with DTrace's
    message for a malformed specification.
    """
    pieces: list[FormatPiece] = []
    n = len(fmt)
    q = 0
    number = 0
    while True:
        p = fmt.find("%", q)
        if p < 0:
            break
        number += 1
        if p > q:
            pieces.append(FormatPiece(fmt[q:p], None))
        start = p
        flags = ""
        width = None
        prec = None
        wstar = pstar = False
        digits = 0
        dot = 0
        name = ""
        while True:
            p += 1
            c = fmt[p] if p < n else "\0"
            if c.isdigit() and c.isascii():
                if dot == 0 and digits == 0 and c == "0":
                    flags += "0"
                    continue
                v = 0
                while p < n and fmt[p].isascii() and fmt[p].isdigit():
                    v = v * 10 + ord(fmt[p]) - 48
                    p += 1
                p -= 1
                if dot:
                    prec = v
                else:
                    width = v
                digits += 1
                continue
            if c == "#":
                flags += "#"
                continue
            if c == "*":
                if dot:
                    if pstar:
                        raise FormatError(
                            f"format conversion #{number} has more than one '*' specified for the output precision")
                    pstar = True
                else:
                    if wstar:
                        raise FormatError(
                            f"format conversion #{number} has more than one '*' specified for the output width")
                    wstar = True
                continue
            if c in "+-@' ":
                flags += c
                continue
            if c == ".":
                if dot:
                    raise FormatError(f"format conversion #{number} has more than one '.' specified")
                dot += 1
                digits = 0
                continue
            if c == "?":
                width = 16
                continue
            if c == "$":
                raise FormatError(f"format conversion #{number} uses unsupported positional format (%n$)")
            if c == "%":
                if fmt[p - 1] == "%":
                    name += c
                    break
                raise FormatError(
                    f"format conversion #{number} cannot be combined with other format flags: %%")
            if c == "\0" and p >= n:
                raise FormatError(
                    f"format conversion #{number} name expected before end of format string")
            if c in "hlLw":
                if len(name) < 6:
                    name += c
                continue
            name += c
            break
        if name not in _CONVERSIONS:
            raise FormatError(f"format conversion #{number} is undefined: %{name}")
        length, conv = name[:-1], name[-1]
        pieces.append(FormatPiece(None, Conversion(
            text=fmt[start:p + 1], flags=flags, width=width, width_star=wstar,
            prec=prec, prec_star=pstar, length=length, conv=conv, number=number)))
        q = p + 1
    if q < n:
        pieces.append(FormatPiece(fmt[q:], None))
    return pieces


def conversions(pieces: Iterable[FormatPiece]) -> list[Conversion]:
    """The conversions of a parsed format, in order."""
    return [pc.conv for pc in pieces if pc.conv is not None]


# --------------------------------------------------------------------------
# Compile-time argument checks (dt_printf_validate and the pfcheck_* table)
# --------------------------------------------------------------------------

_ACCEPTS: dict[str, frozenset[str]] = {
    "kaddr": frozenset({"ptr", "int", "sint", "uint", "char", "symaddr"}),
    "uaddr": frozenset({"uaddr"}),
    "csi": frozenset({"char", "int", "sint", "uint"}),
    "dint": frozenset({"char", "int", "sint", "uint"}),
    "xint": frozenset({"char", "int", "sint", "uint"}),
    "fp": frozenset({"float"}),
    "type": frozenset({"int", "sint", "uint"}),
    "xshort": frozenset({"int", "sint", "uint"}),
    "xlong": frozenset({"int", "sint", "uint"}),
    "xlonglong": frozenset({"int", "sint", "uint"}),
    "stack": frozenset({"stack"}),
    "time": frozenset({"int", "sint", "uint"}),
    "str": frozenset({"string"}),
    "wstr": frozenset(),
    "addr": frozenset({"ptr", "int", "sint", "uint", "char"}),
}


def conversion_accepts(conv: Conversion, target: bool = False) -> frozenset[str]:
    """The classes of argument a conversion may take (coarse view of pfcheck_*).

    Classes: 'int' (any integer), 'sint'/'uint' (signed/unsigned integer),
    'char', 'ptr', 'string' (string or char array), 'float', 'stack'
    (stack()/ustack()/jstack()), 'symaddr' (func()/sym()/mod() results),
    'uaddr' (ufunc()/usym()/umod() results).  Size and exact-type rules
    (%c wants at most an int, %Y/%T a 64-bit integer, %hd a short, %ld a
    long, ...) need the full type: use check_arg() for those.  '%%' takes
    nothing: the empty set.  With target (-p/-c) %A also takes pointers and
    integers.
    """
    d = _CONVERSIONS[conv.name]
    if d.printer == "pct":
        return frozenset()
    if d.check == "type" and d.proto == "long double":
        return frozenset({"float"})
    acc = _ACCEPTS[d.check]
    if d.check == "uaddr" and target:
        acc = acc | {"ptr", "int", "sint", "uint", "char"}
    return acc


@dataclass(frozen=True)
class ArgType:
    """What the checker knows of one argument's D type.

    kind: 'int' (integers and enums), 'float', 'ptr', 'array', 'string',
    'struct', 'union', 'void', 'stack' (stack/ustack/jstack), 'symaddr'
    (func/sym/mod), 'usymaddr' (ufunc/usym/umod), 'func', ...
    name: the type as DTrace prints it in messages (dt_node_type_name), e.g.
    'int', 'string', 'char [32]', 'void', 'stack'.
    base: the type name after resolving typedefs (uint64_t -> 'unsigned long').
    typedefs: names of the typedefs crossed while resolving (for %llx, which
    accepts int64_t/uint64_t).  elem: for arrays, the element type.
    """

    kind: str
    name: str
    size: int = 8
    signed: bool = True
    base: str = ""
    typedefs: tuple[str, ...] = ()
    elem: "ArgType | None" = None
    is_char: bool = False   # an integer with the CTF char encoding (char, signed/unsigned char)

    @property
    def resolved(self) -> str:
        return self.base or self.name


def _is_integer(t: ArgType) -> bool:
    return t.kind == "int"


def check_arg(conv: Conversion, arg: ArgType, target: bool = False) -> bool:
    """Whether `arg` may be formatted by `conv` (DTrace's pfcheck_* functions)."""
    d = _CONVERSIONS[conv.name]
    ck = d.check
    if ck == "addr":
        return arg.kind in ("ptr", "array") or _is_integer(arg)
    if ck == "kaddr":
        return arg.kind in ("ptr", "array", "symaddr") or _is_integer(arg)
    if ck == "uaddr":
        if arg.kind == "usymaddr":
            return True
        if not target:
            return False
        return arg.kind in ("ptr", "array") or _is_integer(arg)
    if ck == "stack":
        return arg.kind == "stack"
    if ck == "time":
        return _is_integer(arg) and arg.size == 8
    if ck == "str":
        if arg.kind == "string":
            return True
        return arg.kind == "array" and arg.elem is not None and arg.elem.is_char
    if ck == "wstr":
        return (arg.kind == "array" and arg.elem is not None
                and arg.elem.kind == "int" and arg.elem.size == 4)
    if ck == "csi":
        return _is_integer(arg) and arg.size <= 4
    if ck == "fp":
        return arg.kind == "float"
    if ck in ("xint", "dint"):
        return _is_integer(arg)
    if ck == "xshort":
        return arg.resolved in ("short", "signed short", "unsigned short")
    if ck == "xlong":
        return arg.resolved in ("long", "signed long", "unsigned long")
    if ck == "xlonglong":
        if arg.resolved in ("long long", "signed long long", "unsigned long long"):
            return True
        return any(t in ("int64_t", "uint64_t") for t in arg.typedefs)
    if ck == "type":
        # ctf_type_compat(): same kind and same (resolved) type name
        want = d.proto
        if want == "void":
            return False
        if want == "long double":
            return arg.kind == "float" and arg.resolved == want
        return arg.kind == "int" and arg.resolved == want
    raise AssertionError(ck)


def type_error(conv: Conversion, arg: ArgType, *, func: str = "printf",
               argno: int | None = None, vname: str | None = None,
               target: bool = False) -> str | None:
    """DTrace's D_PRINTF_ARG_TYPE message if `arg` does not fit `conv`, else None.

    `argno` is the 1-based argument position as DTrace counts it (the
    format string is argument #1 for printf, the aggregation for printa);
    `vname` overrides the "argument #N" wording ("aggregating action").
    """
    if check_arg(conv, arg, target):
        return None
    if vname is None:
        vname = f"argument #{argno}"
    d = _CONVERSIONS[conv.name]
    return (f"{func}( ) {vname} is incompatible with conversion #{conv.number} prototype:\n"
            f"\tconversion: %{conv.name}\n"
            f"\t prototype: {d.proto}\n"
            f"\t  argument: {arg.name}")


#: The type of the value %@ formats: uint64_t for count(), int64_t otherwise.
AGG_COUNT_TYPE = ArgType("int", "uint64_t", 8, False, "unsigned long", ("uint64_t",))
AGG_VALUE_TYPE = ArgType("int", "int64_t", 8, True, "long", ("int64_t",))


def validate_printf(pieces: Sequence[FormatPiece], args: Sequence[ArgType], *,
                    func: str = "printf", foff: int = 1, aggregation: bool = False,
                    agg_is_count: bool = False, exact_len: bool = False,
                    target: bool = False) -> None:
    """Check the arguments against the format as dt_printf_validate() does.

    `args` are the arguments after the format string (for printa: the
    aggregation's key types); `foff` is how many arguments precede them
    (1 for printf's format; printa passes 1 as well, so keys are #2 on).
    `aggregation` allows %@ (printa); `exact_len` reports extra arguments
    (D_PRINTF_ARG_EXTRA): DTrace sets it for printf-like actions, not for
    printa (whose keys may outnumber the conversions).  Raises PrintfArgError(tag, message) at the first
    fault; messages are DTrace's, without the trailing newline.
    """
    if not pieces:
        raise PrintfArgError("D_PRINTF_FMT_EMPTY", f"{func}( ) format string is empty")
    j = 0
    argv = list(args)
    for pc in pieces:
        cv = pc.conv
        if cv is None or cv.conv == "%":
            continue
        dyns = []
        if cv.width_star:
            dyns.append("*")
        if cv.prec_star:
            dyns.append(".*")
        # DTrace fills dyns as [".*", "*"] and pops from the end: width first.
        for dyn in dyns:
            if j >= len(argv):
                raise PrintfArgError(
                    "D_PRINTF_DYN_PROTO",
                    f'{func}( ) prototype mismatch: conversion #{cv.number} (%{cv.name}) '
                    f'is missing a corresponding "{dyn}" argument')
            a = argv[j]
            if not _is_integer(a):
                raise PrintfArgError(
                    "D_PRINTF_DYN_TYPE",
                    f"{func}( ) argument #{j + foff + 1} is incompatible with conversion "
                    f"#{cv.number} prototype:\n\tconversion: % {dyn} {cv.name}\n"
                    f"\t prototype: int\n\t  argument: {a.name}")
            j += 1
        if cv.agg:
            if not aggregation:
                raise PrintfArgError(
                    "D_PRINTF_AGG_CONV",
                    f"%@ conversion requires an aggregation and is not for use with {func}( )")
            vname = "aggregating action"
            vt = AGG_COUNT_TYPE if agg_is_count else AGG_VALUE_TYPE
        elif j >= len(argv):
            raise PrintfArgError(
                "D_PRINTF_ARG_PROTO",
                f"{func}( ) prototype mismatch: conversion #{cv.number} (%{cv.name}) "
                f"is missing a corresponding value argument")
        else:
            vname = f"argument #{j + foff + 1}"
            vt = argv[j]
            j += 1
        msg = type_error(cv, vt, func=func, vname=vname, target=target)
        if msg is not None:
            raise PrintfArgError("D_PRINTF_ARG_TYPE", msg)
    if exact_len and j < len(argv):
        raise PrintfArgError(
            "D_PRINTF_ARG_EXTRA",
            f"{func}( ) prototype mismatch: only {j} arguments required by this format string")


# --------------------------------------------------------------------------
# A C printf(3) for the formats DTrace builds
# --------------------------------------------------------------------------

_CSPEC = re.compile(
    rb"%([-+ #0']*)(\*|\d+)?(?:\.(\*|\d*))?(hh|h|ll|l|L|j|z|t|q)?([diouxXcsSeEfFgGaAp%])")

_INT_BITS = {b"hh": 8, b"h": 16, b"": 32, b"l": 64, b"ll": 64, b"q": 64,
             b"j": 64, b"z": 64, b"t": 64, b"L": 64}


def _as_bytes(s) -> bytes:
    """Bytes of a value printed as a string.  Text is taken as one byte per
    character when it can be (a format string decoded as latin-1 keeps its
    exact bytes), else as UTF-8 (with surrogateescape)."""
    if isinstance(s, bytes):
        return s
    if isinstance(s, (bytearray, memoryview)):
        return bytes(s)
    s = str(s)
    try:
        return s.encode("latin-1")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape")


def _pad(body: bytes, width: int, left: bool) -> bytes:
    if len(body) >= width:
        return body
    fill = b" " * (width - len(body))
    return body + fill if left else fill + body


def _cfmt_int(flags: bytes, width: int, prec: int | None, length: bytes,
              conv: bytes, value: int) -> bytes:
    bits = _INT_BITS[length]
    mask = (1 << bits) - 1
    v = int(value) & mask
    sign = b""
    if conv in b"di":
        if v >> (bits - 1):
            v -= 1 << bits
        if v < 0:
            sign, v = b"-", -v
        elif b"+" in flags:
            sign = b"+"
        elif b" " in flags:
            sign = b" "
    if conv == b"o":
        digits = b"%o" % v
    elif conv == b"x":
        digits = b"%x" % v
    elif conv == b"X":
        digits = b"%X" % v
    else:
        digits = b"%d" % v
    if prec is not None:
        if prec == 0 and v == 0:
            digits = b""
        elif len(digits) < prec:
            digits = b"0" * (prec - len(digits)) + digits
    prefix = b""
    if b"#" in flags:
        if conv == b"o":
            if not digits.startswith(b"0"):
                digits = b"0" + digits
        elif conv in b"xX" and v != 0:
            prefix = b"0x" if conv == b"x" else b"0X"
    left = b"-" in flags
    head = sign + prefix
    if not left and b"0" in flags and prec is None:
        n = width - len(head) - len(digits)
        if n > 0:
            digits = b"0" * n + digits
    return _pad(head + digits, width, left)


def _cfmt_float(flags: bytes, width: int, prec: int | None, conv: bytes,
                value: float) -> bytes:
    value = float(value)
    left = b"-" in flags
    if math.isinf(value) or math.isnan(value):
        neg = math.copysign(1.0, value) < 0
        body = b"nan" if math.isnan(value) else b"inf"
        if conv in b"EFGA":
            body = body.upper()
        if neg:
            body = b"-" + body
        elif b"+" in flags:
            body = b"+" + body
        elif b" " in flags:
            body = b" " + body
        return _pad(body, width, left)
    pyflags = "".join(c for c in flags.decode() if c in "-+ #0")
    spec = "%" + pyflags + (str(width) if width else "")
    if prec is not None:
        spec += "." + str(prec)
    return (spec + conv.decode()) .__mod__(value).encode()


def csprintf(fmt, *args) -> bytes:
    """C printf(3) semantics, in Python, for the formats DTrace's consumer uses.

    Integers are truncated to the length modifier's width (none = int, 'h',
    'hh', 'l'/'ll' = 64 bits) and read as signed for %d/%i, unsigned for
    %u/%o/%x/%X; %c takes the low byte; %s takes bytes or str (precision and
    width count bytes); floats follow glibc, including inf/nan.  The C
    locale is assumed: the "'" flag adds no separators.  Returns bytes.
    """
    fmt = _as_bytes(fmt)
    out = bytearray()
    ai = 0
    pos = 0
    for m in _CSPEC.finditer(fmt):
        out += fmt[pos:m.start()]
        pos = m.end()
        flags, w, p, length, conv = m.groups()
        length = length or b""
        if conv == b"%":
            out += b"%"
            continue
        if w == b"*":
            width = int(args[ai]); ai += 1
            if width < 0:
                flags += b"-"
                width = -width
        else:
            width = int(w) if w else 0
        if p is None:
            prec = None
        elif p == b"*":
            prec = int(args[ai]); ai += 1
            if prec < 0:
                prec = None
        else:
            prec = int(p) if p else 0
        val = args[ai]; ai += 1
        left = b"-" in flags
        if conv in b"diouxX":
            out += _cfmt_int(flags, width, prec, length, conv, val)
        elif conv == b"c":
            if length == b"l":
                body = chr(int(val) & 0x1FFFFF).encode("utf-8", "surrogateescape") \
                    if int(val) else b"\0"
            else:
                body = bytes([int(val) & 0xFF])
            out += _pad(body, width, left)
        elif conv in b"sS":
            body = _as_bytes(val)
            if prec is not None:
                body = body[:prec]
            out += _pad(body, width, left)
        elif conv == b"p":
            v = int(val) & 0xFFFFFFFFFFFFFFFF
            body = b"(nil)" if v == 0 else b"0x%x" % v
            out += _pad(body, width, left)
        else:
            out += _cfmt_float(flags, width, prec, conv, val)
    out += fmt[pos:]
    return bytes(out)


def to_text(b: bytes) -> str:
    """Output bytes as str: UTF-8 with surrogateescape, so that writing the
    text with errors='surrogateescape' gives back DTrace's exact bytes."""
    return b.decode("utf-8", "surrogateescape")


def from_text(t: str) -> bytes:
    """The inverse of to_text()."""
    return t.encode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------
# Run-time formatting (dt_printf_format and the pfprint_* functions)
# --------------------------------------------------------------------------

@dataclass
class Arg:
    """One traced value handed to printf().

    kind: 'int' (value: int), 'ptr' (int), 'float' (float), 'string'
    (bytes up to the first NUL), 'bytes' (raw bytes), 'stack' (tuple of
    kernel pcs), 'ustack' ((pid, tuple of pcs)), 'sym'/'mod' (kernel
    address from sym()/func()/mod()), 'usym'/'umod'/'uaddr' ((pid, addr)).
    size: the record size in bytes (1, 2, 4 or 8 for integers; 4, 8 or 16
    for floats); signed: the D type's signedness.
    """

    value: int | float | bytes | tuple | str
    kind: str = "int"
    size: int = 8
    signed: bool = True


def _wrap(v: int, size: int, signed: bool) -> int:
    """v truncated to `size` bytes, read as signed or unsigned."""
    bits = size * 8
    v = int(v) & ((1 << bits) - 1)
    if signed and v >> (bits - 1):
        v -= 1 << bits
    return v


def getint(arg: Arg) -> int:
    """dt_printf_getint(): a '*' width or precision argument as a C int."""
    if isinstance(arg.value, (bytes, str, tuple)):
        return 0
    v = _wrap(int(arg.value), arg.size if arg.size in (1, 2, 4, 8) else 8, True)
    return _wrap(v, 4, True)


def int_fmt(conv: Conversion, size: int, signed: bool) -> str:
    """The C conversion DTrace really uses for an integer conversion: 'll'
    for 8-byte values, the table's output conversion, and %d/%i turned into
    %u for unsigned arguments (pfcheck_dint)."""
    d = _CONVERSIONS[conv.name]
    f = ("ll" if size == 8 else "") + d.ofmt
    if d.check == "dint" and not signed:
        f = f[:-1] + "u"
    return f


def int_value(conv: Conversion, value: int, size: int, signed: bool, normal: int = 1) -> int:
    """The value pfprint_sint/uint/dint pass to printf for `conv`."""
    d = _CONVERSIONS[conv.name]
    printer = d.printer
    if size not in (1, 2, 4, 8):
        size = 8
    if printer == "dint":
        printer = "sint" if signed else "uint"
        if signed and size < 4:
            # %d passes a char or short as C passes it to printf: promoted to int from
            # the value as computed (a folded (char)0x...ef is 0xef, as dt_cast leaves it)
            size = 4
    if printer == "sint":
        v = _wrap(value, size, True)
        n = _wrap(normal, 8 if size == 8 else 4, True) or 1
        q = abs(v) // abs(n)
        return -q if (v < 0) != (n < 0) else q
    v = _wrap(value, size, False)
    n = _wrap(normal, 8 if size == 8 else 4, False) or 1
    return v // n


def escape_string(s: bytes, nul: bool = False) -> bytes:
    """strchr2esc(): C escapes for special and non-printable characters (%S, %C).

    DTrace escapes the record up to and including its first NUL, so a string
    shorter than its record ends in a literal "\\0": pass nul=True for that.
    """
    out = bytearray()
    names = {7: b"\\a", 8: b"\\b", 12: b"\\f", 10: b"\\n", 13: b"\\r",
             9: b"\\t", 11: b"\\v", 0x5c: b"\\\\", 0x22: b'\\"'}
    for c in s:
        if c == 0:
            nul = True
            break
        if c in names:
            out += names[c]
        elif 0x20 <= c < 0x7F:
            out.append(c)
        else:
            out += b"\\%03o" % c
    if nul:
        out += b"\\0"
    return bytes(out)


def walltime_str(ns: int) -> str:
    """%Y: "2026 Nov 28 14:03:11" from nanoseconds since the epoch (local time)."""
    v = _wrap(ns, 8, True)
    sec = -((-v) // 1_000_000_000) if v < 0 else v // 1_000_000_000
    s = time.ctime(sec)
    return s[20:24] + s[3:19]


def walltime822_str(ns: int) -> str:
    """%T: RFC 822 time, strftime("%a, %d %b %G %T %Z") as DTrace does."""
    v = _wrap(ns, 8, True)
    sec = -((-v) // 1_000_000_000) if v < 0 else v // 1_000_000_000
    return time.strftime("%a, %d %b %G %T %Z", time.localtime(sec))


#: A callback for '%@' conversions in printa(): agg(conv, flags, width, prec)
#: gets the conversion, the C flags DTrace put together for it (e.g. "-0"),
#: the width (negative from a '*' means left-aligned) and the precision
#: (used only when > 0), and returns the bytes to print.
AggFormatter = Callable[[Conversion, str, int, int], bytes]


def format_printf_bytes(pieces: Sequence[FormatPiece], args: Sequence[Arg], *,
                        syms=None, agg: "AggFormatter | None" = None) -> bytes:
    """Format one printf() record as dt_printf_format() does; returns bytes.

    `args` are the traced values in order, including the '*' and '.*'
    arguments.  `syms` resolves addresses (see datum.Symbolizer) for %a,
    %A and %k.  For printa(), `agg(conv, flags, width, prec)` formats a %@
    conversion (see aggregate.format_printa_entry).
    """
    from . import datum     # datum imports csprintf from here

    if syms is None:
        syms = datum.Symbolizer()
    out = bytearray()
    ai = 0
    for pc in pieces:
        if pc.conv is None:
            out += _as_bytes(pc.literal)
            continue
        cv = pc.conv
        if cv.conv == "%":
            out += b"%"
            continue
        width = cv.width or 0
        prec = cv.prec or 0
        if cv.width_star:
            width = getint(args[ai]); ai += 1
        if cv.prec_star:
            prec = getint(args[ai]); ai += 1
        left, zpad = _flag_state(cv.flags)
        flags = ""
        if "#" in cv.flags:
            flags += "#"
        if zpad:
            flags += "0"
        if width < 0 or left:
            flags += "-"
        if "+" in cv.flags:
            flags += "+"
        if "'" in cv.flags:
            flags += "'"
        if " " in cv.flags:
            flags += " "
        if cv.agg:
            if agg is None:
                raise ValueError("%@ conversion outside printa()")
            out += agg(cv, flags, width, prec)
            continue
        arg = args[ai]; ai += 1
        d = _CONVERSIONS[cv.name]
        printer = d.printer
        if arg.kind == "mod" and printer in ("addr", "cstr", "uint"):
            printer = "mod"
        elif arg.kind == "umod" and printer in ("uaddr", "addr", "cstr", "uint"):
            printer = "umod"
        if printer == "stack" and left:
            w = 0
        else:
            w = abs(width)
        head = "%" + flags + (str(w) if w else "") + (".%d" % prec if prec > 0 else "")
        if printer in ("sint", "uint", "dint"):
            if arg.kind == "float":
                v = int(arg.value)
            elif isinstance(arg.value, tuple):
                v = int(arg.value[-1])
            else:
                v = int(arg.value) if not isinstance(arg.value, (bytes, str)) else 0
            size = arg.size if arg.size in (1, 2, 4, 8) else 8
            signed = arg.signed and arg.kind not in ("ptr",)
            f = int_fmt(cv, size, signed)
            out += csprintf(head + f, int_value(cv, v, size, signed))
        elif printer == "fp":
            f = ("L" if arg.size == 16 else "") + d.ofmt
            out += csprintf(head + f, float(arg.value))
        elif printer == "cstr":
            s = _as_bytes(arg.value)
            nul = s.find(b"\0")
            if nul >= 0:
                s = s[:nul]
            out += csprintf(head + "s", s)
        elif printer == "estr":
            s = _as_bytes(arg.value)
            out += csprintf(head + "s", escape_string(s, len(s) < arg.size))
        elif printer == "echr":
            out += csprintf(head + "s", escape_string(bytes([int(arg.value) & 0xFF])))
        elif printer == "wstr":
            out += csprintf(head + "s", _as_bytes(arg.value))
        elif printer == "addr":
            addr = int(arg.value[-1] if isinstance(arg.value, tuple) else arg.value)
            addr &= 0xFFFFFFFF if arg.size == 4 else 0xFFFFFFFFFFFFFFFF
            out += csprintf(head + "s", datum.addr2str(addr, syms))
        elif printer == "uaddr":
            if isinstance(arg.value, tuple):
                pid, addr = int(arg.value[0]), int(arg.value[-1])
            else:
                pid, addr = 0, int(arg.value)
            out += csprintf(head + "s", datum.uaddr2str(pid, addr & 0xFFFFFFFFFFFFFFFF, syms))
        elif printer == "mod":
            addr = int(arg.value[-1] if isinstance(arg.value, tuple) else arg.value)
            out += from_text(datum.format_mod(addr, syms, head + "s"))
        elif printer == "umod":
            pid, addr = (arg.value if isinstance(arg.value, tuple) else (0, arg.value))
            out += from_text(datum.format_umod(int(pid), int(addr), syms, head + "s"))
        elif printer == "stack":
            if left:
                indent = width if width > 0 else -width
            elif width < 0:
                indent = -width
            else:
                indent = 0
            if arg.kind == "ustack":
                pid, pcs = arg.value
                out += from_text(datum.format_ustack(int(pid), pcs, syms, indent=indent,
                                                     fmt=head + "s"))
            else:
                out += from_text(datum.format_stack(arg.value, syms, indent=indent,
                                                    fmt=head + "s"))
        elif printer == "time":
            out += csprintf(head + "s", walltime_str(int(arg.value)))
        elif printer == "time822":
            out += csprintf(head + "s", walltime822_str(int(arg.value)))
        else:
            raise AssertionError(printer)
    return bytes(out)


def format_printf(pieces: Sequence[FormatPiece], args: Sequence[Arg], *,
                  syms=None, agg: "AggFormatter | None" = None) -> str:
    """format_printf_bytes() as text (see to_text())."""
    return to_text(format_printf_bytes(pieces, args, syms=syms, agg=agg))


def _argcompat(a: ArgType, b: ArgType) -> bool:
    """dt_node_is_argcompat(), approximately: integers with integers,
    strings with strings (or char arrays), otherwise the same type name."""
    def strish(t):
        return t.kind == "string" or (t.kind == "array" and t.elem is not None and t.elem.is_char)
    if _is_integer(a) and _is_integer(b):
        return True
    if strish(a) and strish(b):
        return True
    return a.kind == b.kind and a.resolved == b.resolved


def printa_key_error(lname: str, lkeys: Sequence[ArgType], rname: str,
                     rkeys: Sequence[ArgType]) -> PrintfArgError | None:
    """dt_printa_validate(): do @lname and @rname (printed by one printa())
    have matching keys?  Names are without '@'.  Returns the error or None."""
    if len(lkeys) != len(rkeys):
        nl, nr = len(lkeys), len(rkeys)
        return PrintfArgError(
            "D_PRINTA_AGGKEY",
            f"printa( ): @{lname} and @{rname} do not have matching key signatures: "
            f"@{lname} has {nl} key{'' if nl == 1 else 's'}, "
            f"@{rname} has {nr} key{'' if nr == 1 else 's'}")
    for n, (a, b) in enumerate(zip(lkeys, rkeys), 1):
        if not _argcompat(a, b):
            return PrintfArgError(
                "D_PRINTA_AGGPROTO",
                f"printa( ): @{rname}[ ] key #{n} is incompatible with @{lname}:\n"
                f"{lname:>9} key #{n}: {a.name}\n{rname:>9} key #{n}: {b.name}")
    return None
