"""D types: the C type system of LP64 Linux plus D's own types (string, stack, ...).

Types are immutable values except struct/union/enum types, which compare by
identity (like CTF type ids) so that a forward declaration can be completed
in place and recursive structs (``struct n { struct n *next; }``) work.
The rules follow DTrace's dt_parser.c: integer "promotion" picks the operand
of higher rank (size in bits plus one if unsigned) without C's promotion to
int, comparison and assignment compatibility follow ctf_type_compat() and
dt_node_is_argcompat(), and constants fold in the result type's width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Protocol

POINTER_SIZE = 8
DEFAULT_STRSIZE = 256


class DType:
    """Base of every D type (every subclass has `size` in bytes)."""

    # -- classification (what dt_node_is_* asks) -----------------------------
    @property
    def resolved(self) -> "DType":
        """The type with typedefs stripped."""
        return self

    @property
    def kind(self) -> str:
        return "unknown"

    @property
    def align(self) -> int:
        size = getattr(self, "size", 0)
        return max(1, min(size, 8)) if size else 1

    def name(self) -> str:
        return _declname(self, "")

    def __str__(self) -> str:
        return self.name()

    def is_void(self) -> bool:
        return isinstance(self.resolved, VoidType)

    def is_integer(self) -> bool:
        return isinstance(self.resolved, (IntType, EnumType))

    def is_float(self) -> bool:
        return isinstance(self.resolved, FloatType)

    def is_arith(self) -> bool:
        """Integers and enums (DTrace's dt_node_is_arith: floats are not arithmetic)."""
        return self.is_integer()

    def is_scalar(self) -> bool:
        return isinstance(self.resolved, (IntType, EnumType, PtrType))

    def is_pointer(self) -> bool:
        """Pointers and arrays (dt_node_is_pointer); D strings are not pointers."""
        return isinstance(self.resolved, (PtrType, ArrayType))

    def is_string(self) -> bool:
        return isinstance(self, StringType)

    def is_sou(self) -> bool:
        return isinstance(self.resolved, StructType)

    def is_signed(self) -> bool:
        r = self.resolved
        if isinstance(r, IntType):
            return r.signed
        return isinstance(r, EnumType)

    def is_bitfield(self) -> bool:
        r = self.resolved
        return isinstance(r, IntType) and r.bits is not None

    def is_dynamic(self) -> bool:
        return isinstance(self, DynType)

    def is_vfptr(self) -> bool:
        """Pointer to void or to a function (pointer arithmetic is meaningless)."""
        r = self.resolved
        if not isinstance(r, PtrType):
            return False
        t = r.target.resolved
        return isinstance(t, (VoidType, FuncType))

    def is_strcompat(self) -> bool:
        """char pointers, char arrays and strings (dt_node_is_strcompat)."""
        if isinstance(self, StringType):
            return True
        r = self.resolved
        if isinstance(r, PtrType):
            t = r.target.resolved
            return isinstance(t, IntType) and t.char
        if isinstance(r, ArrayType):
            t = r.elem.resolved
            return isinstance(t, IntType) and t.char
        return False


# ------------------------------------------------------------------ concrete types


@dataclass(frozen=True, eq=True)
class VoidType(DType):
    size: int = 0

    @property
    def kind(self) -> str:
        return "void"


@dataclass(frozen=True, eq=True)
class IntType(DType):
    """An integer. `char` marks the CTF char encoding (char, signed/unsigned char);
    `bits` is set for bit-field members (the width in bits)."""

    iname: str
    size: int
    signed: bool
    char: bool = False
    bits: Optional[int] = None

    @property
    def kind(self) -> str:
        return "int"

    @property
    def align(self) -> int:
        return max(1, self.size)


@dataclass(frozen=True, eq=True)
class FloatType(DType):
    fname: str
    size: int

    @property
    def kind(self) -> str:
        return "float"


@dataclass(frozen=True, eq=True)
class PtrType(DType):
    target: DType
    size: int = POINTER_SIZE

    @property
    def kind(self) -> str:
        return "ptr"

    @property
    def align(self) -> int:
        return POINTER_SIZE


@dataclass(frozen=True, eq=True)
class ArrayType(DType):
    elem: DType
    count: int

    @property
    def kind(self) -> str:
        return "array"

    @property
    def size(self) -> int:  # type: ignore[override]
        return self.elem.size * self.count

    @property
    def align(self) -> int:
        return self.elem.align


@dataclass(frozen=True, eq=True)
class FuncType(DType):
    ret: DType
    params: tuple = ()
    varargs: bool = False
    size: int = 0

    @property
    def kind(self) -> str:
        return "func"

    def name(self) -> str:
        return "function"


@dataclass(frozen=True, eq=True)
class TypedefType(DType):
    """A named alias; `name()` keeps the typedef name as DTrace prints it."""

    tname: str
    target: DType

    @property
    def resolved(self) -> DType:
        t: DType = self.target
        while isinstance(t, TypedefType):
            t = t.target
        return t

    @property
    def kind(self) -> str:
        return self.resolved.kind

    @property
    def size(self) -> int:  # type: ignore[override]
        return self.target.size

    @property
    def align(self) -> int:
        return self.target.align


@dataclass(frozen=True)
class Field:
    name: str
    type: DType
    offset_bits: int
    bits: Optional[int] = None


class StructType(DType):
    """A struct or union. `members` is None while the type is only forward-declared."""

    def __init__(self, kind: str, name: Optional[str], members: Optional[Iterable[Field]] = None,
                 size: Optional[int] = None, align: Optional[int] = None):
        self.sou = kind
        self.tag = name
        self.members: Optional[tuple[Field, ...]] = None
        self._size = 0
        self._align = 1
        if members is not None:
            self.define(members, size, align)

    def define(self, members: Iterable[Field], size: Optional[int] = None,
               align: Optional[int] = None) -> None:
        """Complete the type; size/alignment are computed C-style when not given."""
        members = tuple(members)
        self.members = members
        al = 1
        for m in members:
            al = max(al, m.type.align if m.bits is None else m.type.resolved.align)
        self._align = align or al
        if size is None:
            end = 0
            for m in members:
                if m.bits is not None:
                    end = max(end, m.offset_bits + m.bits)
                else:
                    end = max(end, m.offset_bits + m.type.size * 8)
            nbytes = (end + 7) // 8
            size = (nbytes + self._align - 1) // self._align * self._align
        self._size = size

    @property
    def complete(self) -> bool:
        return self.members is not None

    @property
    def kind(self) -> str:
        return self.sou

    @property
    def size(self) -> int:  # type: ignore[override]
        return self._size

    @property
    def align(self) -> int:
        return self._align

    def member(self, name: str) -> Optional[Field]:
        """Look a member up by name, descending into anonymous members as C does."""
        for m in self.members or ():
            if m.name == name:
                return m
            if not m.name and isinstance(m.type.resolved, StructType):
                sub = m.type.resolved.member(name)
                if sub is not None:
                    return Field(sub.name, sub.type, m.offset_bits + sub.offset_bits, sub.bits)
        return None

    def __repr__(self) -> str:
        return f"StructType({self.sou} {self.tag or '(anon)'})"


class EnumType(DType):
    """An enumeration (4 bytes, an int for arithmetic). Identity equality."""

    def __init__(self, name: Optional[str], values: Optional[dict] = None):
        self.tag = name
        self.values: dict[str, int] = dict(values or {})
        self.defined = values is not None

    size = 4

    @property
    def kind(self) -> str:
        return "enum"

    @property
    def align(self) -> int:
        return 4

    def __repr__(self) -> str:
        return f"EnumType({self.tag or '(anon)'})"


@dataclass(frozen=True, eq=True)
class StringType(DType):
    """D's string: a by-value character buffer of `strsize` bytes."""

    size: int = DEFAULT_STRSIZE

    @property
    def kind(self) -> str:
        return "string"

    @property
    def align(self) -> int:
        return 1

    def name(self) -> str:
        return "string"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StringType)

    def __hash__(self) -> int:
        return hash("string")


@dataclass(frozen=True, eq=True)
class StackType(DType):
    """Result of stack()/ustack()/jstack(): only usable as a key or printed."""

    size: int = 8

    @property
    def kind(self) -> str:
        return "stack"

    def name(self) -> str:
        return "stack"


@dataclass(frozen=True, eq=True)
class SymAddrType(DType):
    """Result of func()/sym()/mod() (user: ufunc()/usym()/umod()/uaddr())."""

    user: bool = False
    size: int = 8

    @property
    def kind(self) -> str:
        return "usymaddr" if self.user else "symaddr"

    def name(self) -> str:
        return "_usymaddr" if self.user else "_symaddr"


@dataclass(frozen=True, eq=True)
class DynType(DType):
    """DTrace's <DYN>: associative arrays without a value type yet, aggregations,
    translated data.  `what` is the identifier kind DTrace names in messages."""

    what: str = "dynamic variable"
    size: int = 0

    @property
    def kind(self) -> str:
        return "dyn"

    def name(self) -> str:
        return self.what


# ------------------------------------------------------------------ names


def _is_derived_suffix(t: DType) -> bool:
    return isinstance(t, (ArrayType, FuncType)) and not isinstance(t, TypedefType)


def _declname(t: DType, inner: str) -> str:
    """Spell a type (with `inner` as the declarator) the way ctf_type_name() does."""
    if isinstance(t, TypedefType):
        base = t.tname
    elif isinstance(t, IntType):
        base = t.iname
    elif isinstance(t, FloatType):
        base = t.fname
    elif isinstance(t, VoidType):
        base = "void"
    elif isinstance(t, StructType):
        # CTF forward declarations print as "struct" whatever the tag's kind
        sou = t.sou if t.complete else "struct"
        base = f"{sou} {t.tag}" if t.tag else f"{sou} (anon)"
    elif isinstance(t, EnumType):
        base = f"enum {t.tag}" if t.tag else "enum (anon)"
    elif isinstance(t, PtrType):
        tgt = t.target
        if isinstance(tgt, (ArrayType, FuncType)):
            return _declname(tgt, f"(*{inner})")
        return _declname(tgt, "*" + inner)
    elif isinstance(t, ArrayType):
        return _declname(t.elem, f"{inner}[{t.count}]")
    elif isinstance(t, FuncType):
        return _declname(t.ret, f"{inner}()")
    else:
        base = t.name()
    if not inner:
        return base
    if inner.startswith("["):
        return f"{base} {inner}"
    if inner.startswith("*") or inner.startswith("("):
        return f"{base} {inner}"
    return f"{base} {inner}"


# ------------------------------------------------------------------ intrinsics

def _int(name: str, size: int, signed: bool, char: bool = False) -> IntType:
    return IntType(name, size, signed, char)


VOID = VoidType()
CHAR = _int("char", 1, True, True)
SCHAR = _int("signed char", 1, True, True)
UCHAR = _int("unsigned char", 1, False, True)
SHORT = _int("short", 2, True)
USHORT = _int("unsigned short", 2, False)
INT = _int("int", 4, True)
UINT = _int("unsigned int", 4, False)
LONG = _int("long", 8, True)
ULONG = _int("unsigned long", 8, False)
LLONG = _int("long long", 8, True)
ULLONG = _int("unsigned long long", 8, False)
BOOL = _int("_Bool", 1, False)
FLOAT = FloatType("float", 4)
DOUBLE = FloatType("double", 8)
LDOUBLE = FloatType("long double", 16)
STRING = StringType()
STACK = StackType()
SYMADDR = SymAddrType(False)
USYMADDR = SymAddrType(True)
DYN = DynType()

#: The C intrinsic type names (LP64), as DTrace's "C" container holds them.
INTRINSICS: dict[str, DType] = {
    "void": VOID,
    "signed": _int("signed", 4, True),
    "unsigned": _int("unsigned", 4, False),
    "char": CHAR,
    "short": SHORT,
    "int": INT,
    "long": LONG,
    "long long": LLONG,
    "signed char": SCHAR,
    "signed short": _int("signed short", 2, True),
    "signed int": _int("signed int", 4, True),
    "signed long": _int("signed long", 8, True),
    "signed long long": _int("signed long long", 8, True),
    "unsigned char": UCHAR,
    "unsigned short": USHORT,
    "unsigned int": UINT,
    "unsigned long": ULONG,
    "unsigned long long": ULLONG,
    "_Bool": BOOL,
    "float": FLOAT,
    "double": DOUBLE,
    "long double": LDOUBLE,
}


def _td(name: str, target: str) -> TypedefType:
    return TypedefType(name, INTRINSICS[target])


#: D's predefined typedefs (dt_open.c _dtrace_typedefs_64) plus D's `string`.
D_TYPEDEFS: dict[str, DType] = {t.tname: t for t in (
    _td("int8_t", "signed char"), _td("int16_t", "short"), _td("int32_t", "int"),
    _td("int64_t", "long"), _td("intptr_t", "long"), _td("ssize_t", "long"),
    _td("uint8_t", "unsigned char"), _td("uint16_t", "unsigned short"),
    _td("uint32_t", "unsigned"), _td("uint64_t", "unsigned long"),
    _td("uchar_t", "unsigned char"), _td("ushort_t", "unsigned short"),
    _td("uint_t", "unsigned"), _td("ulong_t", "unsigned long"),
    _td("u_longlong_t", "unsigned long long"), _td("ptrdiff_t", "long"),
    _td("uintptr_t", "unsigned long"), _td("size_t", "unsigned long"),
    _td("id_t", "int"), _td("pid_t", "int"),
)}

INT64 = D_TYPEDEFS["int64_t"]
UINT64 = D_TYPEDEFS["uint64_t"]
UINT32 = D_TYPEDEFS["uint32_t"]
SIZE_T = D_TYPEDEFS["size_t"]
PTRDIFF_T = D_TYPEDEFS["ptrdiff_t"]
UINTPTR_T = D_TYPEDEFS["uintptr_t"]

#: Kernel typedefs and tags D's built-ins mention, used when no TypeSource knows
#: them (as in tests): Linux's definitions on x86_64.
KERNEL_FALLBACK_TYPEDEFS: dict[str, DType] = {t.tname: t for t in (
    _td("uid_t", "unsigned int"), _td("gid_t", "unsigned int"),
    _td("dev_t", "unsigned int"), _td("ipaddr_t", "unsigned int"),
    _td("time_t", "long"), _td("off_t", "long"), _td("mode_t", "unsigned int"),
    _td("u8", "unsigned char"), _td("u16", "unsigned short"),
    _td("u32", "unsigned int"), _td("u64", "unsigned long long"),
    _td("s8", "signed char"), _td("s16", "short"), _td("s32", "int"),
    _td("s64", "long long"), _td("__u8", "unsigned char"), _td("__u16", "unsigned short"),
    _td("__u32", "unsigned int"), _td("__u64", "unsigned long long"), _td("__s8", "signed char"),
    _td("__s16", "short"), _td("__s32", "int"), _td("__s64", "long long"),
    _td("caddr_t", "long"), _td("bool", "_Bool"),
)}


# ------------------------------------------------------------------ rules


def rank(t: DType) -> int:
    r = t.resolved
    if isinstance(r, EnumType):
        return 32
    assert isinstance(r, IntType), t
    return r.size * 8 + (0 if r.signed else 1)


def promote(lt: DType, rt: DType) -> DType:
    """dt_type_promote: the integer operand of higher rank (enums count as int).
    Equal ranks keep the left operand's type (the choice DTrace leaves to CTF ids)."""
    if isinstance(lt.resolved, EnumType):
        lt = INT
    if isinstance(rt.resolved, EnumType):
        rt = INT
    lr, rr = rank(lt), rank(rt)
    if rr > lr:
        return rt
    return lt


def int_bits(t: DType) -> tuple[int, bool]:
    """(width in bits, signed) of an integer type."""
    r = t.resolved
    if isinstance(r, EnumType):
        return 32, True
    if isinstance(r, IntType):
        return (r.bits or r.size * 8), r.signed
    if isinstance(r, PtrType):
        return 64, False
    return 64, True


def wrap(value: int, t: DType) -> int:
    """Reduce `value` to the range of integer type `t` (C modular arithmetic)."""
    bits, signed = int_bits(t)
    mask = (1 << bits) - 1
    value &= mask
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def fold_binary(op: str, lv: int, lt: DType, rv: int, rt: DType) -> tuple[int, DType]:
    """Fold `lv op rv` on integer constants as dt_node_op2() does: the value is computed in
    64 bits (uintmax_t, signed where the promoted type is) and not narrowed to the type,
    so `(1 << 63) - 1` is INT64_MAX although its type is int; relational and logical
    operators give an int 0/1. Raises ZeroDivisionError for / and % by zero (D_DIV_ZERO).
    """
    if op in ("&&", "||", "^^"):
        a, b = bool(lv), bool(rv)
        return int({"&&": a and b, "||": a or b, "^^": a != b}[op]), INT
    if op in ("<", "<=", ">", ">=", "==", "!="):
        pt = promote(lt, rt)
        a, b = (_s64(lv), _s64(rv)) if pt.is_signed() else (lv & _U64, rv & _U64)
        return int({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b,
                    "!=": a != b}[op]), INT
    if op in ("<<", ">>"):
        t = lt
        v = (lv << rv) if op == "<<" else ((lv & _U64) >> rv) if rv < 64 else 0
        return _as64(v, t), t
    t = promote(lt, rt)
    signed = t.is_signed()
    a, b = (_s64(lv), _s64(rv)) if signed else (lv & _U64, rv & _U64)
    if op in ("/", "%") and b == 0:
        raise ZeroDivisionError(op)
    if op == "/":
        v = _cdiv(a, b)
    elif op == "%":
        v = a - b * _cdiv(a, b)
    else:
        v = {"+": a + b, "-": a - b, "*": a * b, "&": a & b, "|": a | b, "^": a ^ b}[op]
    return _as64(v, t), t


_U64 = (1 << 64) - 1


def _s64(v: int) -> int:
    v &= _U64
    return v - (1 << 64) if v >> 63 else v


def _as64(v: int, t: DType) -> int:
    """A 64-bit result, read as signed when the type is."""
    return _s64(v) if t.is_signed() else v & _U64


# integer constant typing (dt_node_int) -----------------------------------------

_INT_LADDER = [(INT, 0x7FFFFFFF), (UINT, 0xFFFFFFFF), (LONG, 0x7FFFFFFFFFFFFFFF),
               (ULONG, 0xFFFFFFFFFFFFFFFF), (LLONG, 0x7FFFFFFFFFFFFFFF),
               (ULLONG, 0xFFFFFFFFFFFFFFFF)]


def int_literal_type(value: int, text: str = "") -> Optional[DType]:
    """The C99 type of an integer constant (None: no type can hold it, D_INT_OFLOW).

    Decimal constants without 'u' only take signed types; octal/hex try the
    unsigned ones too; suffixes set the starting rank.
    """
    t = text.lower()
    suffix = ""
    while t and t[-1] in "ul":
        suffix = t[-1] + suffix
        t = t[:-1]
    decimal = not (t.startswith("0x") or (len(t) > 1 and t.startswith("0"))) if t else True
    i = 0
    for c in suffix:
        i += 1 if c == "u" else 2
    # DTrace: n = (yyintdecimal | (suffix[0] == 'u')) + 1: decimal constants skip unsigned types
    step = ((1 if decimal else 0) | (1 if suffix[:1] == "u" else 0)) + 1
    while i < len(_INT_LADDER):
        ty, limit = _INT_LADDER[i]
        if value <= limit:
            return ty
        i += step
    return None


# compatibility -------------------------------------------------------------------


def type_compat(a: DType, b: DType) -> bool:
    """ctf_type_compat(): same kind and name after resolving typedefs, then per-kind rules."""
    if a is b or a == b:
        return True
    if isinstance(a, (StringType, StackType, SymAddrType, DynType)) or \
            isinstance(b, (StringType, StackType, SymAddrType, DynType)):
        return type(a) is type(b) and a.name() == b.name()
    ra, rb = a.resolved, b.resolved
    if ra is rb:
        return True
    if type(ra) is not type(rb):
        return False
    if isinstance(ra, StructType):
        return ra.sou == rb.sou and ra.tag == rb.tag and ra.size == rb.size  # type: ignore[attr-defined]
    if ra.name() != rb.name():
        return False
    if isinstance(ra, (IntType, FloatType)):
        return ra.size == rb.size and getattr(ra, "signed", None) == getattr(rb, "signed", None)
    if isinstance(ra, PtrType):
        return type_compat(ra.target, rb.target)  # type: ignore[attr-defined]
    if isinstance(ra, ArrayType):
        return ra.count == rb.count and type_compat(ra.elem, rb.elem)  # type: ignore[attr-defined]
    if isinstance(ra, EnumType):
        return True
    if isinstance(ra, VoidType):
        return True
    return False


def type_equal(a: DType, b: DType) -> bool:
    """ctf_type_cmp() == 0 for declarations: the very same type (typedef names matter)."""
    if a is b or a == b:
        return True
    return type_compat(a, b) and a.name() == b.name()


def ptr_compat(lt: DType, rt: DType, lzero: bool = False, rzero: bool = False) -> Optional[DType]:
    """dt_node_is_ptrcompat(): returns the more specific pointer type, or None.

    `lzero`/`rzero` say the operand is the integer constant 0.
    """
    if lt.is_dynamic() or rt.is_dynamic():
        return None
    li, ri = lt.is_integer(), rt.is_integer()
    if li and ri:
        return None
    if li and not lzero:
        return None
    if ri and not rzero:
        return None
    lb, rb = lt.resolved, rt.resolved
    if isinstance(lb, StringType):      # D strings are char arrays to CTF
        lb = ArrayType(CHAR, lb.size)
    if isinstance(rb, StringType):
        rb = ArrayType(CHAR, rb.size)
    if li:
        lb, lt = rb, rt
    elif ri:
        rb, rt = lb, lt
    if not isinstance(lb, (PtrType, ArrayType)) or not isinstance(rb, (PtrType, ArrayType)):
        return None
    lref = lb.target if isinstance(lb, PtrType) else lb.elem
    rref = rb.target if isinstance(rb, PtrType) else rb.elem
    lvoid, rvoid = lref.is_void(), rref.is_void()
    if lvoid or rvoid or type_compat(lref.resolved, rref.resolved):
        return lt if rvoid else rt
    return None


def arg_compat(param: DType, arg: DType, arg_is_zero: bool = False) -> bool:
    """dt_node_is_argcompat(param, arg): may `arg` be passed/assigned where `param` is?"""
    if param.is_integer() and arg.is_integer():
        return True
    if param.is_strcompat() and arg.is_strcompat():
        return True
    for k in (StackType,):
        if isinstance(param, k) and isinstance(arg, k):
            return True
    if isinstance(param, SymAddrType) and isinstance(arg, SymAddrType):
        return param.user == arg.user
    r = param.resolved
    if isinstance(r, (FuncType, StructType)):
        return type_compat(param, arg)
    return ptr_compat(param, arg, False, arg_is_zero) is not None


# ------------------------------------------------------------------ type sources


class TypeSource(Protocol):
    """Where kernel types come from (bpf.btf implements it)."""

    def lookup(self, kind: str, name: str, module: Optional[str] = None) -> Optional[DType]: ...

    def symbol(self, name: str, module: Optional[str] = None) -> Optional[tuple[DType, int]]: ...


class NullTypeSource:
    """A kernel that knows no types and no symbols."""

    def lookup(self, kind: str, name: str, module: Optional[str] = None) -> Optional[DType]:
        return None

    def symbol(self, name: str, module: Optional[str] = None) -> Optional[tuple[DType, int]]:
        return None


class TypeTable:
    """The program's own types (D definitions and D's predefined typedefs) in front
    of a TypeSource of kernel types.  Unknown struct/union/enum tags become
    forward declarations, as in DTrace."""

    def __init__(self, source: Optional[TypeSource] = None, strsize: int = DEFAULT_STRSIZE):
        self.source: TypeSource = source or NullTypeSource()
        self.strsize = strsize
        self.string = StringType(strsize)
        self.typedefs: dict[str, DType] = {}
        self.tags: dict[tuple[str, str], DType] = {}
        self._fwd: dict[tuple[str, str, Optional[str]], DType] = {}

    # -- names ------------------------------------------------------------------
    def typedef(self, name: str, module: Optional[str] = None) -> Optional[DType]:
        """A typedef name (or D's `string`), None if unknown.  Module "D" is the program's
        own types and D's typedefs, "C" the C intrinsics (DTrace's two containers)."""
        if module in (None, "D"):
            if name == "string":
                return self.string
            t = self.typedefs.get(name) or D_TYPEDEFS.get(name)
            if t is not None or module == "D":
                return t
        if module == "C":
            return INTRINSICS.get(name)
        t = self.source.lookup("typedef", name, module)
        if t is not None:
            return t
        if module in (None, "vmlinux", "genunix"):
            t = KERNEL_FALLBACK_TYPEDEFS.get(name)
            if t is None and name in ("cpuinfo_t", "mblk_t"):
                tag = {"cpuinfo_t": "cpuinfo", "mblk_t": "msgb"}[name]
                t = TypedefType(name, self.tag("struct", tag, None))
            return t
        return None

    def is_typedef_name(self, name: str) -> bool:
        return name == "string" or name in self.typedefs or name in D_TYPEDEFS

    def tag(self, kind: str, name: str, module: Optional[str] = None,
            create: bool = True) -> Optional[DType]:
        """`struct NAME` / `union NAME` / `enum NAME`; a forward tag if nobody defines it."""
        if module in (None, "D") and (kind, name) in self.tags:
            return self.tags[(kind, name)]
        t = self.source.lookup(kind, name, module) if module not in ("C", "D") else None
        if t is not None:
            return t
        if not create:
            return None
        key = (kind, name, module)
        if key not in self._fwd:
            self._fwd[key] = EnumType(name, None) if kind == "enum" else StructType(kind, name)
        t = self._fwd[key]
        if module is None:
            self.tags[(kind, name)] = t
        return t

    def local_tag(self, kind: str, name: str) -> Optional[DType]:
        return self.tags.get((kind, name))

    def define_tag(self, kind: str, name: str, t: DType) -> None:
        self.tags[(kind, name)] = t

    def define_typedef(self, name: str, t: DType) -> None:
        self.typedefs[name] = TypedefType(name, t)

    def intrinsic(self, name: str) -> Optional[DType]:
        return INTRINSICS.get(name)

    def symbol(self, name: str, module: Optional[str] = None) -> Optional[tuple[DType, int]]:
        return self.source.symbol(name, module)

    # -- type strings as the built-in table writes them --------------------------
    def parse(self, text: str) -> DType:
        """Parse a prototype type string such as ``vmlinux`struct task_struct *``,
        ``const char *``, ``uintptr_t`` or ``void *``."""
        s = text.strip()
        stars = 0
        while s.endswith("*"):
            stars += 1
            s = s[:-1].rstrip()
        module = None
        if "`" in s:
            module, s = s.split("`", 1)
        words = [w for w in s.split() if w not in ("const", "volatile")]
        t: Optional[DType]
        if words and words[0] in ("struct", "union", "enum"):
            t = self.tag(words[0], words[1], module)
        else:
            n = " ".join(words)
            t = INTRINSICS.get(n) if module is None else None
            if t is None:
                t = self.typedef(n, module)
            if t is None:
                t = self.typedef(n, None)
            if t is None:
                raise KeyError(text)
        for _ in range(stars):
            t = PtrType(t)
        return t
