"""Semantic checker of D programs: types, symbols, constant folding, D's rules.

`check()` takes the parser's AST and returns a CheckedProgram in which every
expression carries its D type (`.type`), folded constant (`.value`) and the
symbol it names (`.sym`), or raises DError with DTrace's tag, line and
message.  The passes follow DTrace's compiler (dt_parser.c, dt_cc.c, dt_cg.c):

1. "parse time", in source order: declarations, inlines, translators and
   pragmas take effect; inside clauses the things DTrace checks while
   building nodes (constant division by zero, integer constant overflow,
   unknown functions, type names in casts/sizeof/offsetof) are checked.
2. "cook": each clause's actions are typed, then its predicate (retrying
   predicate-first when an action uses a variable the predicate creates).
3. "code generation checks": each clause's actions are validated in order
   (printf formats, aggregation parameters, speculation ordering ...).

Rewrites (nodes replaced by new ones): inline names become a copy of their
definition, enumerators become integer constants, sizeof/offsetof become
constants, and translated member references become the translator's member
expression with its parameter bound to the translated operand.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence

from . import ast
from . import builtins as B
from .errors import DError, Loc
from .types import (
    CHAR, DOUBLE, DYN, INT, INT64, INTRINSICS, PTRDIFF_T, SIZE_T, STACK,
    SYMADDR, UINT64, USYMADDR, ArrayType, DType, DynType, EnumType,
    Field, FloatType, FuncType, IntType, NullTypeSource, PtrType, StackType, StringType,
    StructType, SymAddrType, TypedefType, TypeSource, TypeTable, VoidType, arg_compat,
    fold_binary, int_literal_type, promote, ptr_compat, type_compat, type_equal, wrap,
)

__all__ = ["VarSym", "AggSym", "BuiltinSym", "KernelSym", "FuncSym", "FieldSym", "EnumSym",
           "InlineSym", "Translator", "XlateSym", "CheckedProgram", "check"]


# ------------------------------------------------------------------ symbols


@dataclass(eq=False)
class VarSym:
    """A D variable.  keys is the associative array signature (None: scalar)."""

    name: str
    scope: str                      # 'global', 'self' or 'this'
    type: Optional[DType]
    keys: Optional[tuple] = None
    id: int = 0
    kind: str = "scalar"            # 'scalar' or 'array'
    declared: bool = False
    ref: bool = False
    mod: bool = False
    loc: Optional[Loc] = field(default=None, repr=False)
    alloca: bool = False            # assigned a pointer into alloca() scratch space
    nonalloca: bool = False         # assigned a value that is not (nor 0)

    @property
    def unref(self) -> bool:
        return not (self.ref or self.mod or self.declared)

    @property
    def prefix(self) -> str:
        return {"self": "self->", "this": "this->"}.get(self.scope, "")


@dataclass(eq=False)
class AggSym:
    """An aggregation: its function, key signature, argument type and parameters
    (lquantize: base, limit, step; llquantize: factor, low, high, nsteps)."""

    name: str
    func: Optional[str] = None
    keys: Optional[tuple] = None
    argtype: Optional[DType] = None
    params: tuple = ()
    id: int = 0
    loc: Optional[Loc] = field(default=None, repr=False)
    mod: bool = False


@dataclass(eq=False)
class BuiltinSym:
    """A built-in variable (pid, execname, args[N] ...)."""

    name: str
    type: Optional[DType]
    index: Optional[int] = None


class KernelSym(NamedTuple):
    """A kernel symbol named with ` (`max_pfn, vmlinux`jiffies): the code generator
    reads its address as sym[1]; an extern the program declares itself has address 0."""

    name: str
    addr: int
    type: DType


@dataclass(eq=False)
class FuncSym:
    """A built-in function/action/aggregating function named by a Call."""

    name: str
    kind: str
    ret: DType


@dataclass(eq=False)
class FieldSym:
    """A struct/union member reached by `.` or `->`."""

    name: str
    type: DType
    offset: int                      # byte offset of the storage unit
    bit_offset: int                  # offset in bits from the start of the struct
    bits: Optional[int] = None       # width of a bit-field


@dataclass(eq=False)
class EnumSym:
    name: str
    type: DType
    value: int


@dataclass(eq=False)
class InlineSym:
    """An inline: `expr` is its checked definition; for inline arrays
    (`inline int f[int a] = ...`) `params` names the keys and `source` keeps the
    unchecked definition to instantiate per use."""

    name: str
    type: DType
    expr: Any
    keys: Optional[tuple] = None
    loc: Optional[Loc] = field(default=None, repr=False)
    params: tuple = ()
    source: Any = None


@dataclass(eq=False)
class Translator:
    src: DType
    dst: DType
    param: str
    members: dict
    loc: Optional[Loc] = field(default=None, repr=False)


@dataclass(eq=False)
class XlateSym:
    """The result of xlate<T>(e): translated data (pointer=False) or a pointer to it."""

    translator: Translator
    operand: Any
    pointer: bool


@dataclass
class CheckedProgram:
    clauses: list
    vars: dict
    aggs: dict
    options: list
    types: TypeTable
    inlines: dict = field(default_factory=dict)
    translators: list = field(default_factory=list)
    externs: dict = field(default_factory=dict)


# ------------------------------------------------------------------ helpers

REF, MOD = 1, 2
LVALUE, WRITABLE, ALLOCA = "lvalue", "writable", "alloca"

_OPT_SIZE = {"aggsize", "bufsize", "dynvarsize", "specsize", "strsize", "pcapsize",
             "scratchsize", "lockmem", "printsize"}
_OPT_RATE = {"aggrate", "cleanrate", "statusrate", "switchrate"}
_OPT_NUM = {"cpu", "jstackframes", "jstackstrsize", "nspec", "stackframes", "ustackframes",
            "maxframes", "stackindent", "aggsortkeypos", "aggsortpos", "bpflogsize",
            "maxlogsize"}
_OPT_BOOL = {"quiet", "flowindent", "destructive", "zdefs", "rawbytes", "aggpercpu",
             "aggsortkey", "aggsortrev", "aggzoom", "debug", "defaultargs", "droptags",
             "errtags", "grabanon", "nolibs", "noresolve", "core", "cpp", "empty",
             "knodefs", "linktype", "verbose", "norestrict", "preallocate", "procfs",
             "unodefs", "argref", "lazyload", "ctfpath", "useruid", "iregs", "tregs",
             "modpath", "disasm", "bpflog", "enable", "evaltime", "bufresize", "bufpolicy",
             "linkmode", "stdc", "syslibdir", "libdir", "incdir", "cppargs", "cpppath",
             "define", "undef", "version", "amin", "ldpath", "pgmax", "dtypes", "ctypes",
             "strip", "temporal", "xlate", "quietresize"}
_SIZE_SUFFIX = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_RATE_SUFFIX = ("nsec", "ns", "usec", "us", "msec", "ms", "sec", "s", "min", "m",
                "hour", "h", "day", "d", "hz")


def _opt_value_ok(name: str, val: Optional[str]) -> bool:
    if name in _OPT_SIZE:
        if not val:
            return False
        v = val.lower()
        num = v.rstrip("kmgt")
        suf = v[len(num):]
        return num.isdigit() and len(suf) <= 1 and suf in _SIZE_SUFFIX
    if name in _OPT_RATE:
        if not val:
            return False
        v = val.lower()
        num = v
        for s in _RATE_SUFFIX:
            if v.endswith(s):
                num = v[:-len(s)]
                break
        return num.isdigit()
    if name in _OPT_NUM:
        return val is not None and val.lstrip("-").isdigit() and not val.startswith("-")
    return name in _OPT_BOOL


def _as_i64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def _as_u64(v: int) -> int:
    return v & ((1 << 64) - 1)


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _cmod(a: int, b: int) -> int:
    return a - b * _cdiv(a, b)


def _err(tag: str, node: Any, msg: str) -> DError:
    """A DError at `node`.  DTrace dates a node by the token after it (yacc's
    lookahead); a parser that knows that line may store it as `node.dline`."""
    loc = node.loc if node is not None and hasattr(node, "loc") else node
    dline = getattr(node, "dline", None)
    if dline and loc is not None:
        loc = Loc(loc.file, dline, 0)
    return DError(tag, loc, msg)


def _tname(e: Any) -> str:
    """dt_node_type_name(): what DTrace calls an expression's type in messages."""
    t = getattr(e, "type", None)
    if t is None:
        return "<none>"
    return t.name()


def _is_intconst(e: Any) -> bool:
    return isinstance(e, ast.Expr) and isinstance(e.value, int) and not isinstance(e.value, bool) \
        and e.type is not None and e.type.is_integer()


def _is_posconst(e: Any) -> bool:
    """dt_node_is_posconst(): a non-zero integer constant, positive if signed."""
    if not _is_intconst(e):
        return False
    v = e.value
    if v == 0:
        return False
    return not (e.type.is_signed() and _as_i64(v) <= 0)


def _walk_exprs(node: Any):
    """Yield the expressions below `node` in evaluation (source) order, children first."""
    if isinstance(node, list):
        for n in node:
            yield from _walk_exprs(n)
        return
    if isinstance(node, ast.Stmt):
        if isinstance(node, ast.ExprStmt):
            yield from _walk_exprs(node.expr)
        elif isinstance(node, ast.If):
            yield from _walk_exprs(node.cond)
            yield from _walk_exprs(node.then)
            if node.other:
                yield from _walk_exprs(node.other)
        elif isinstance(node, ast.Block):
            yield from _walk_exprs(node.body)
        return
    if not isinstance(node, ast.Expr):
        return
    for name in node.__dataclass_fields__:
        if name in ("type", "value", "sym", "loc"):
            continue
        v = getattr(node, name)
        if isinstance(v, ast.Expr):
            yield from _walk_exprs(v)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, ast.Expr):
                    yield from _walk_exprs(x)
    yield node


# ------------------------------------------------------------------ the checker


class _Checker:
    """One check() run: symbol tables and the per-clause context."""

    def __init__(self, types: Optional[TypeSource], options: Mapping[str, str],
                 probe_args: Any):
        strsize = 256
        if options and options.get("strsize"):
            try:
                strsize = _parse_size(options["strsize"])
            except ValueError:
                pass
        self.T = TypeTable(types or NullTypeSource(), strsize)
        self.options_in = dict(options or {})
        self.probe_args = probe_args
        self.globals: dict[str, Any] = {}       # user globals, inlines, enumerators
        self.tls: dict[str, VarSym] = {}
        self.locals: dict[str, VarSym] = {}
        self.aggs: dict[str, AggSym] = {}
        self.translators: list[Translator] = []
        self.externs: dict[str, DType] = {}
        self.options: list = []
        # Both are keyed by id(node); `alive` holds every such node so that no id can be
        # reused by a new node while the check runs (that made results depend on the heap).
        self.flags: dict[int, set] = {}
        self.precooked: set[int] = set()
        self.alive: list[Any] = []
        self.ids = {"global": 0, "self": 0, "this": 0, "agg": 0}
        self.pdesc: Optional[ast.ProbeDesc] = None
        self.clause: Optional[ast.Clause] = None
        self.xparams: list[dict] = []           # translator parameter scopes
        self.clsflags: set[str] = set()
        self.version: tuple = (9, 9)
        if options and options.get("version"):
            self.version = _parse_version(options["version"]) or self.version
        for name, tname, val in B.HARDWIRED_INLINES:
            t = INTRINSICS[tname]
            n = ast.IntLit(val, str(val))
            n.type, n.value = t, val
            self.globals[name] = InlineSym(name, t, n)

    # ---------------------------------------------------------------- flags
    def fl(self, e: Any) -> set:
        s = self.flags.get(id(e))
        if s is None:
            s = self.flags[id(e)] = set()
            self.alive.append(e)
        return s

    def mark_precooked(self, e: Any) -> None:
        self.precooked.add(id(e))
        self.alive.append(e)

    def setfl(self, e: Any, *fs: str) -> None:
        self.fl(e).update(fs)

    # ---------------------------------------------------------------- program
    def run(self, program: ast.Program) -> CheckedProgram:
        clauses = []
        for item in program.items:
            if isinstance(item, ast.Clause):
                self.parse_clause(item)
                clauses.append(item)
            elif isinstance(item, ast.Decl):
                self.decl(item)
            elif isinstance(item, ast.Inline):
                self.inline(item)
            elif isinstance(item, ast.Translator):
                self.translator(item)
            elif isinstance(item, ast.Pragma):
                self.pragma(item)
        for c in clauses:
            self.cook_clause(c)
            _validate_clause(self, c)
        vars_: dict = {}
        for scope, table in (("global", self.globals), ("self", self.tls),
                             ("this", self.locals)):
            for name, s in table.items():
                if isinstance(s, VarSym) and s.type is not None:
                    vars_[(scope, name)] = s
        inlines = {n: s for n, s in self.globals.items() if isinstance(s, InlineSym)}
        return CheckedProgram(clauses, vars_, dict(self.aggs), self.options, self.T,
                              inlines, self.translators, self.externs)

    # ================================================================ types
    def resolve_type(self, te: Any, what: str = "") -> DType:
        """Turn a type expression from the parser into a DType (D_DECL_* on faults)."""
        if isinstance(te, DType):
            return te
        if isinstance(te, ast.BaseTypeSpec):
            return self._base_type(te)
        if isinstance(te, ast.TypedefRef):
            name = te.name
            t = self.T.typedef(name, te.module)
            if t is None and te.module is None and name in INTRINSICS:
                t = INTRINSICS[name]
            if t is None:
                raise _err("D_UNKNOWN", te, f"failed to resolve type {name}: Unknown type name")
            return t
        if isinstance(te, ast.StructSpec):
            if te.members is not None:
                return self.define_sou(te)
            if te.name is None:
                raise _err("D_UNKNOWN", te, f"failed to resolve type {te.kind} (anon)")
            return self.T.tag(te.kind, te.name, te.module)
        if isinstance(te, ast.EnumSpec):
            if te.items is not None:
                return self.define_enum(te)
            return self.T.tag("enum", te.name, te.module)
        if isinstance(te, ast.PointerOf):
            base = te.base
            if isinstance(base, ast.FuncOf):
                self._check_proto(base.params, "function", varargs_ok=True, void_ok=True,
                                  anon_ok=True)
                return PtrType(FuncType(self.resolve_type(base.base), (), base.varargs))
            return PtrType(self.resolve_type(base))
        if isinstance(te, ast.ArrayOf):
            if te.keys is not None:
                return DYN
            elem = self.resolve_type(te.base)
            if elem.is_void() and not isinstance(elem, DynType):
                raise _err("D_DECL_VOIDOBJ", te, "cannot declare array of void")
            if te.size is None:
                return ArrayType(elem, 0)
            n = self.const_expr(te.size)
            if not _is_posconst(n):
                raise _err("D_DECL_ARRSUB", te, "positive integral constant expression or "
                           "tuple signature expected as array declaration subscript")
            if _as_u64(n.value) > 0xFFFFFFFF:
                raise _err("D_DECL_ARRBIG", te, "array dimension too big")
            return ArrayType(elem, n.value)
        if isinstance(te, ast.FuncOf):
            self._check_proto(te.params, "function", varargs_ok=True, void_ok=True,
                              anon_ok=True)
            return FuncType(self.resolve_type(te.base), (), te.varargs)
        raise _err("D_UNKNOWN", te, f"internal error -- bad type expression {te!r}")

    def _base_type(self, te: ast.BaseTypeSpec) -> DType:
        """dt_decl_spec/dt_decl_attr/dt_decl_check over the specifier words."""
        kind = None      # 'int', 'float', 'void', 'string'
        name = None
        attrs: list[str] = []

        def check() -> None:
            if kind is None:
                return
            if name == "char" and ({"short", "long", "long long"} & set(attrs)):
                raise _err("D_DECL_CHARATTR", te, "invalid type declaration: short and long "
                           "may not be used with char type")
            if name == "void" and attrs:
                raise _err("D_DECL_VOIDATTR", te, "invalid type declaration: attributes may "
                           "not be used with void type")
            if kind != "int" and ({"signed", "unsigned"} & set(attrs)):
                raise _err("D_DECL_SIGNINT", te, "invalid type declaration: signed and "
                           "unsigned may only be used with integer type")
            if kind not in ("int", "float") and ({"long", "long long"} & set(attrs)):
                raise _err("D_DECL_LONGINT", te, "invalid type declaration: long and long "
                           "long may only be used with integer or floating-point type")

        for w in te.words:
            if w in ("signed", "unsigned", "short", "long"):
                if w == "long" and "long" in attrs:
                    attrs.remove("long")
                    w = "long long"
                attrs.append(w)
                check()
                continue
            if name is not None or kind is not None:
                raise _err("D_DECL_COMBO", te, "invalid type combination")
            name = w
            kind = {"float": "float", "double": "float", "void": "void",
                    "string": "string"}.get(w, "int")
            check()
        if kind is None:
            kind = "int"
            check()
        if name == "string" and not attrs:
            return self.T.string
        if kind == "string":
            raise _err("D_DECL_COMBO", te, "invalid type combination")
        parts = []
        for a in ("signed", "unsigned", "short", "long", "long long"):
            if a in attrs:
                parts.append(a)
        if name is not None and (kind != "int" or not ({"short", "long", "long long"} & set(attrs))):
            parts.append(name)
        if not parts:
            parts.append("int")
        full = " ".join(parts)
        t = INTRINSICS.get(full)
        if t is None:
            raise _err("D_UNKNOWN", te, f"failed to resolve type {full}: Unknown type name")
        return t

    def _check_proto(self, params: Sequence[Any], kind: str, varargs_ok: bool, void_ok: bool,
                     anon_ok: bool) -> None:
        """dt_decl_prototype() for function, array and probe prototypes."""
        v = 0
        seen: list[str] = []
        for i, p in enumerate(params, 1):
            if p is None or getattr(p, "type", None) is None or p == "...":
                if not varargs_ok:
                    raise _err("D_DECL_PROTO_VARARGS", p if p is not None else None,
                               f"{kind} prototype may not use a variable-length argument list")
                continue
            pname = getattr(p, "name", None)
            t = self.resolve_type(p.type)
            if isinstance(t, DynType):
                raise _err("D_DECL_PROTO_TYPE", p, f"{kind} prototype may not use parameter of "
                           f"type {t.name()}: {pname or '(anonymous)'}, parameter #{i}")
            is_void = t.is_void()
            v += is_void
            if is_void and not void_ok:
                raise _err("D_DECL_PROTO_TYPE", p, f"{kind} prototype may not use parameter of "
                           f"type {t.name()}: {pname or '(anonymous)'}, parameter #{i}")
            if is_void and pname:
                raise _err("D_DECL_PROTO_NAME", p, f"void parameter may not have a name: {pname}")
            if pname and pname in seen:
                raise _err("D_DECL_PROTO_FORM", p, f"parameter is already declared in {kind} "
                           f"prototype: {pname}, parameter #{i}")
            if pname:
                seen.append(pname)
            if not pname and not is_void and not anon_ok:
                raise _err("D_DECL_PROTO_NAME", p, f"parameter declaration requires a name: "
                           f"parameter #{i}")
        if v and len(params) > 1:
            raise _err("D_DECL_PROTO_VOID", params[0], "void must be sole parameter")

    def define_sou(self, te: ast.StructSpec) -> DType:
        """Define a struct/union from its member list, completing any forward tag."""
        kind = te.kind
        tname = f"{kind} {te.name}" if te.name else f"{kind} (anon)"
        if te.name is not None:
            old = self.T.local_tag(kind, te.name)
            if old is not None and isinstance(old, StructType) and old.complete:
                raise _err("D_DECL_TYPERED", te, f"type redeclared: {tname}")
            st = old if isinstance(old, StructType) else StructType(kind, te.name)
            self.T.define_tag(kind, te.name, st)
        else:
            st = StructType(kind, None)
        fields: list[Field] = []
        off = 0
        size = 0
        maxalign = 1
        for m in te.members or []:
            mname = m.name or None
            idname = mname or "(anon)"
            t = self.resolve_type(m.type)
            if isinstance(t, DynType):
                raise _err("D_DECL_DYNOBJ", m, f"cannot have dynamic member: {mname}")
            r = t.resolved
            if (isinstance(r, StructType) and (not r.complete or r.size == 0)) or \
                    (isinstance(r, EnumType) and not r.defined and False):
                raise _err("D_DECL_INCOMPLETE", m,
                           f"incomplete struct/union/enum {t.name()}: {mname}")
            if t.size == 0 and not isinstance(r, EnumType):
                raise _err("D_DECL_VOIDOBJ", m, f"cannot have void member: {mname}")
            bits = None
            if m.bits is not None:
                bn = self.const_expr(m.bits)
                if mname is None and _is_intconst(bn) and bn.value == 0:
                    continue
                if not _is_posconst(bn):
                    raise _err("D_DECL_BFCONST", m, "positive integral constant expression "
                               "expected as bit-field size")
                if not isinstance(r, (IntType, EnumType)) or r.is_void():
                    raise _err("D_DECL_BFTYPE", m, f"invalid type for bit-field: {idname}")
                tbits = r.size * 8 if isinstance(r, IntType) else 32
                if bn.value > tbits:
                    raise _err("D_DECL_BFSIZE", m, f"bit-field too big for type: {idname}")
                bits = bn.value
                base = r if isinstance(r, IntType) else INT
                # CTF sizes a bit-field's integer type as a power of two bytes
                msize = (bits + 7) // 8
                msize = 1 << (msize - 1).bit_length() if msize > 1 else 1
                malign = min(msize, 8)
                t = IntType(base.iname, msize, base.signed, base.char, bits)
            else:
                msize = t.size
                malign = t.align
            if any(f.name == mname and mname for f in fields):
                raise _err("D_UNKNOWN", m, f"failed to define member '{idname}': Duplicate "
                           f"member or variable name")
            maxalign = max(maxalign, malign)
            if kind == "struct":
                o = (off + 7) // 8
                o = (o + malign - 1) // malign * malign
                fields.append(Field(mname or "", t, o * 8, bits))
                off = o * 8 + (bits if bits is not None else msize * 8)
                size = max(size, o + msize)
            else:
                fields.append(Field(mname or "", t, 0, bits))
                size = max(size, msize)
        # libctf lays members out C-style but adds no tail padding (sizeof a struct
        # { int a : 1; } is 1 in DTrace).
        st.define(fields, size, maxalign)
        return st

    def define_enum(self, te: ast.EnumSpec) -> DType:
        tname = f"enum {te.name}" if te.name else "enum (anon)"
        if te.name is not None:
            old = self.T.local_tag("enum", te.name)
            if isinstance(old, EnumType) and old.values:
                raise _err("D_DECL_TYPERED", te, f"type redeclared: {tname}")
            et = old if isinstance(old, EnumType) else EnumType(te.name, None)
            self.T.define_tag("enum", te.name, et)
        else:
            et = EnumType(None, None)
        et.defined = True
        value = -1
        items = te.items or []
        for idx, it in enumerate(items):
            # DTrace reports enumerator faults at the token after the enumerator:
            # the ',' on the same line, or the closing '}' (taken as the next line).
            eloc = it.loc
            if idx == len(items) - 1 and it.loc is not None and te.loc is not None and \
                    te.loc.line != it.loc.line:
                eloc = Loc(it.loc.file, it.loc.line + 1, 0)
            if "`" in it.name:
                raise DError("D_DECL_SCOPE", eloc, f"D scoping operator may not be used in an "
                             f"enumerator name ({it.name})")
            value += 1
            if it.value is not None:
                v = it.value
                if isinstance(v, ast.Ident) and v.name in et.values:
                    value = et.values[v.name]
                else:
                    n = self.const_expr(v, loc=eloc)
                    if not _is_intconst(n):
                        raise DError("D_DECL_ENCONST", eloc, f"enumerator '{it.name}' must be "
                                     f"assigned to an integral constant expression")
                    val = n.value if n.type.is_signed() else _as_i64(n.value)
                    if val > 0x7FFFFFFF or val < -0x80000000:
                        raise DError("D_DECL_ENOFLOW", eloc, f"enumerator '{it.name}' value "
                                     f"overflows INT_MAX (2147483647)")
                    value = val
            if it.name in et.values:
                raise DError("D_UNKNOWN", eloc, f"failed to define enumerator '{it.name}': "
                             f"Duplicate member or variable name")
            et.values[it.name] = value
            if self.lookup_global(it.name) is not None:
                raise DError("D_DECL_IDRED", eloc, f"identifier redeclared: {it.name}")
            self.globals[it.name] = EnumSym(it.name, et, value)
        return et

    # ================================================================ globals
    def lookup_global(self, name: str) -> Any:
        for scope in reversed(self.xparams):
            if name in scope:
                return scope[name]
        if name in self.globals:
            return self.globals[name]
        if name in B.VARIABLES and B.VARIABLES[name].since <= self.version:
            return B.VARIABLES[name]
        if name in B.FUNCTIONS and B.FUNCTIONS[name].since <= self.version:
            return B.FUNCTIONS[name]
        if name in B.SCOPE_NAMES:
            return "ptr"
        return None

    @staticmethod
    def kind_name(s: Any) -> str:
        if isinstance(s, VarSym):
            return "associative array" if s.kind == "array" else "scalar"
        if isinstance(s, B.BuiltinVar):
            return "associative array" if s.kind == "array" else "scalar"
        if isinstance(s, B.BuiltinFunc):
            return B.KIND_NAMES[s.kind]
        if isinstance(s, EnumSym):
            return "enumerator"
        if isinstance(s, InlineSym):
            return "associative array" if s.keys else "scalar"
        if s == "ptr":
            return "pointer"
        return "scalar"

    def new_var(self, name: str, scope: str, kind: str, loc: Optional[Loc]) -> VarSym:
        sid = self.ids[scope]
        self.ids[scope] += 1
        v = VarSym(name, scope, None, None, sid, kind, loc=loc)
        {"global": self.globals, "self": self.tls, "this": self.locals}[scope][name] = v
        return v

    # ================================================================ decls
    def decl(self, d: ast.Decl) -> None:
        storage = d.storage
        if not d.declarators:
            self.resolve_type(d.spec)  # defines the struct/enum
            if not isinstance(d.spec, (ast.StructSpec, ast.EnumSpec)):
                raise _err("D_DECL_USELESS", d, "useless declaration")
            return
        for dl in d.declarators:
            self.declarator(d, dl, storage)

    def declarator(self, d: ast.Decl, dl: ast.Declarator, storage: Optional[str]) -> None:
        name = dl.name
        te = dl.type
        # Resolve the type (array subscripts and prototypes are checked on the way).
        assoc_keys = None
        if isinstance(te, ast.ArrayOf) and te.keys is not None:
            assoc_keys = te.keys
        if assoc_keys is not None:
            vt = self.resolve_type(te.base)
            keyparams = [k if isinstance(k, ast.ParamDecl) or k is None or k == "..."
                         else ast.ParamDecl(k, None, loc=getattr(k, "loc", dl.loc))
                         for k in assoc_keys]
            self._check_proto(keyparams, "array", varargs_ok=False, void_ok=False,
                              anon_ok=True)
            keys = tuple(self.resolve_type(k.type) for k in keyparams)
            t: DType = DYN
        else:
            t = self.resolve_type(te)
            keys = None
            vt = t
        if "`" in name:
            raise _err("D_DECL_SCOPE", dl, f"D scoping operator may not be used in a "
                       f"declaration name ({name})")
        if isinstance(t.resolved, FuncType) and storage in (None, "static"):
            storage = "extern"
        if storage in ("auto", "register", "static"):
            raise _err("D_DECL_BADCLASS", dl, "specified storage class not appropriate in D")
        if storage == "extern":
            old = self.externs.get(name)
            if old is not None and not type_equal(old, t):
                raise _err("D_DECL_IDRED", dl, f"identifier redeclared: vmlinux`{name}\n"
                           f"\t current: {t.name()}\n\tprevious: {old.name()}")
            self.externs[name] = t
            return
        if storage == "typedef":
            if self.lookup_global(name) is not None:
                raise _err("D_DECL_IDRED", dl, f"global variable identifier redeclared: {name}")
            if name in self.T.typedefs or self.T.is_typedef_name(name):
                raise _err("D_DECL_IDRED", dl, f"typedef redeclared: {name}")
            self.T.define_typedef(name, t)
            return
        scope = {"self": "self", "this": "this"}.get(storage or "", "global")
        table = {"global": self.globals, "self": self.tls, "this": self.locals}[scope]
        if scope == "global":
            idp = self.lookup_global(name)
        else:
            idp = table.get(name)
        if isinstance(te, ast.ArrayOf) and te.keys is None and te.size is None:
            raise _err("D_DECL_ARRNULL", dl, f"array declaration requires array dimension or "
                       f"tuple signature: {name}")
        if idp is not None and isinstance(idp, (B.BuiltinVar, B.BuiltinFunc, str)):
            raise _err("D_DECL_IDRED", dl, f"built-in identifier redeclared: {name}")
        if self.T.is_typedef_name(name):
            raise _err("D_DECL_IDRED", dl, f"typedef identifier redeclared: {name}")
        kind = "array" if assoc_keys is not None else "scalar"
        if assoc_keys is not None and scope == "this":
            raise _err("D_DECL_LOCASSC", dl, f"associative arrays may not be declared as local "
                       f"variables: {name}")
        if idp is not None:
            okind = self.kind_name(idp)
            otype = idp.type if hasattr(idp, "type") else None
            ntype = vt
            same_kind = (isinstance(idp, VarSym) and idp.kind == kind)
            if not same_kind or otype is None or not type_equal(ntype, otype):
                pt = otype.name() if otype is not None else "<none>"
                raise _err("D_DECL_IDRED", dl, f"identifier redeclared: {name}\n\t current: "
                           f"{self.kind_name_k(kind)} {ntype.name()}\n\tprevious: {okind} {pt}")
            if kind == "array" and idp.keys is not None:
                for i, (a, b) in enumerate(zip(keys, idp.keys), 1):
                    if not type_equal(a, b):
                        raise _err("D_DECL_IDRED", dl, f"identifier redeclared: {name}\n"
                                   f"\t current: associative array, key #{i} of type "
                                   f"{a.name()}\n\tprevious: associative array, key #{i} of "
                                   f"type {b.name()}")
                if len(keys) != len(idp.keys):
                    raise _err("D_DECL_IDRED", dl, f"identifier redeclared: {name}\n\t current: "
                               f"associative array of {vt.name()}, tuple length {len(keys)}\n"
                               f"\tprevious: associative array of {otype.name()}, tuple length "
                               f"{len(idp.keys)}")
            return
        r = vt.resolved
        if vt.is_void() and not isinstance(vt, DynType):
            raise _err("D_DECL_VOIDOBJ", dl, f"cannot have void object: {name}")
        if isinstance(r, StructType) and (not r.complete or r.size == 0):
            raise _err("D_DECL_INCOMPLETE", dl, f"incomplete struct/union/enum {vt.name()}: "
                       f"{name}")
        v = self.new_var(name, scope, kind, dl.loc)
        v.type = vt
        v.keys = keys
        v.declared = True

    @staticmethod
    def kind_name_k(kind: str) -> str:
        return "associative array" if kind == "array" else "scalar"

    # ================================================================ inline
    def inline(self, il: ast.Inline) -> None:
        name = il.name
        te = il.type
        keys = None
        if isinstance(te, ast.ArrayOf):
            if te.keys is None and te.size is None:
                raise _err("D_DECL_ARRNULL", il, f"inline declaration requires array tuple "
                           f"signature: {name}")
            if te.keys is None:
                raise _err("D_DECL_ARRNULL", il, f"inline declaration cannot be of scalar array "
                           f"type: {name}")
            keys = te.keys
            t = self.resolve_type(te.base)
        else:
            t = self.resolve_type(te)
        idp = self.lookup_global(name)
        if idp is not None:
            kn = self.kind_name(idp)
            inl = "inline" if isinstance(idp, InlineSym) else ""
            raise _err("D_DECL_IDRED", il, f"identifier redefined: {name}\n\t current: inline "
                       f"definition\n\tprevious: {kn} {inl}")
        if t.is_void():
            raise _err("D_DECL_VOIDOBJ", il, f"cannot declare void inline: {name}")
        r = t.resolved
        if isinstance(r, StructType) and not r.complete:
            raise _err("D_DECL_INCOMPLETE", il, f"incomplete struct/union/enum {t.name()}: {name}")
        scope: dict = {}
        keytypes = None
        pnames: list = []
        if keys is not None:
            plist = getattr(il, "params", None) or keys
            keytypes = []
            for k in plist:
                kt = self.resolve_type(k.type if isinstance(k, ast.ParamDecl) else k)
                keytypes.append(kt)
                pn = getattr(k, "name", None)
                pnames.append(pn)
                if pn:
                    scope[pn] = InlineSym(pn, kt, None)
            keytypes = tuple(keytypes)
            self.xparams.append(scope)
        source = _copy_ast(il.expr)
        saved = self.pdesc, self.clause
        self.pdesc = self.clause = None
        try:
            self.parse_expr(il.expr)
            expr = self.cook(il.expr, REF)
        finally:
            self.pdesc, self.clause = saved
            if keys is not None:
                self.xparams.pop()
        if isinstance(expr.sym, XlateSym) and isinstance(expr.type, DynType):
            dst = expr.sym.translator.dst
            lt = t.resolved.target if isinstance(t.resolved, PtrType) else t
            if not type_compat(lt.resolved, dst.resolved):
                raise _err("D_OP_INCOMPAT", il, f"inline {name} definition uses incompatible "
                           f"types: \"{lt.name()}\" = \"{dst.name()}\"")
        elif not arg_compat(t, expr.type, _is_intconst(expr) and expr.value == 0):
            raise _err("D_OP_INCOMPAT", il, f"inline {name} definition uses incompatible types: "
                       f"\"{t.name()}\" = \"{_tname(expr)}\"")
        self.globals[name] = InlineSym(name, t, expr, keytypes, il.loc, tuple(pnames), source)

    # ================================================================ translators
    def find_translator(self, src: DType, dst: DType, exact: bool = False) -> Optional[Translator]:
        dstr = dst.resolved
        if isinstance(dstr, PtrType):
            dstr = dstr.target.resolved
        if not isinstance(dstr, StructType):
            return None
        for x in self.translators:
            if type_compat(x.src, src) and type_compat(x.dst.resolved, dstr):
                return x
        if exact:
            return None
        for x in self.translators:
            if type_compat(x.src.resolved, src) and type_compat(x.dst.resolved, dstr):
                return x
        for x in self.translators:
            if type_compat(x.dst.resolved, dstr) and arg_compat(x.src, src):
                return x
        return None

    def translator(self, tr: ast.Translator) -> None:
        dst = self.resolve_type(tr.to)
        src = self.resolve_type(tr.frm)
        if self.find_translator(src, dst, exact=True) is not None:
            raise _err("D_XLATE_REDECL", tr, f"translator from {src.name()} to {dst.name()} has "
                       f"already been declared")
        r = dst.resolved
        if isinstance(r, StructType) and not r.complete:
            raise _err("D_XLATE_SOU", tr, f"incomplete struct/union/enum {dst.name()}")
        if not isinstance(r, StructType):
            raise _err("D_XLATE_SOU", tr, "translator output type must be a struct or union")
        x = Translator(src, dst, tr.param, {}, tr.loc)
        self.translators.append(x)
        # DTrace cooks the members when the whole definition has been read: its
        # faults carry the line of the closing brace (`dline`, when the parser knows it).
        end = None
        if getattr(tr, "dline", None) and tr.loc is not None:
            end = Loc(tr.loc.file, tr.dline, 0)
        saved = self.pdesc, self.clause
        self.pdesc = self.clause = None
        self.xparams.append({tr.param: InlineSym(tr.param, src, None)})
        try:
            for m in tr.members:
                where = end or m.loc
                f = r.member(m.name)
                if f is None:
                    raise DError("D_XLATE_MEMB", where, f"translator member {m.name} is not a "
                                 f"member of {dst.name()}")
                self.parse_expr(m.expr)
                orig = _copy_ast(m.expr)
                e = self.cook(m.expr, REF)
                if not arg_compat(f.type, e.type, _is_intconst(e) and e.value == 0):
                    raise DError("D_XLATE_INCOMPAT", where, f"translator member {m.name} "
                                 f"definition uses incompatible types: \"{f.type.name()}\" = "
                                 f"\"{_tname(e)}\"")
                m.expr = e
                x.members[m.name] = (orig, f.type)
        finally:
            self.xparams.pop()
            self.pdesc, self.clause = saved

    # ================================================================ pragmas
    def pragma(self, p: ast.Pragma) -> None:
        words = list(p.words)
        kind = "sub"
        if words and words[0] == "pragma":
            words = words[1:]
        if words and words[0] == "D":
            kind = "dcp"
            words = words[1:]
        if not words:
            return
        name, args = words[0], words[1:]
        if name == "option" and kind == "dcp":
            if not args:
                raise _err("D_PRAGMA_MALFORM", p, "malformed #pragma option <option>=<val>")
            if len(args) > 1:
                raise _err("D_PRAGMA_MALFORM", p, "superfluous arguments specified for #pragma "
                           "option")
            opt, _, val = args[0].partition("=")
            value = val if "=" in args[0] else None
            if opt.startswith("no") and opt[2:] in _OPT_BOOL and value is None:
                ok = True
            elif opt == "version":
                ok = value is not None and _parse_version(value) is not None
            else:
                ok = _opt_value_ok(opt, value)
            if not ok:
                if opt not in _OPT_SIZE | _OPT_RATE | _OPT_NUM | _OPT_BOOL:
                    why = "Invalid option name"
                else:
                    why = "Invalid value for specified option"
                if value is None:
                    raise _err("D_PRAGMA_OPTSET", p, f"failed to set option '{opt}': {why}")
                raise _err("D_PRAGMA_OPTSET", p, f"failed to set option '{opt}' to '{value}': "
                           f"{why}")
            self.options.append((opt, value, p.loc))
            if opt == "version" and value:
                self.version = _parse_version(value) or self.version
            if opt == "strsize" and value:
                self.T.strsize = _parse_size(value)
                self.T.string = StringType(self.T.strsize)
            return
        if name == "attributes" and kind == "dcp":
            if len(args) < 2:
                raise _err("D_PRAGMA_MALFORM", p, "malformed #pragma attributes <attributes> "
                           "<ident>")
            return
        if name == "binding" and kind == "dcp":
            if len(args) < 2 or not args[0].startswith('"'):
                raise _err("D_PRAGMA_MALFORM", p, "malformed #pragma binding \"version\" <ident>")
            return
        if name == "depends_on" and kind == "dcp":
            if len(args) < 2:
                raise _err("D_PRAGMA_MALFORM", p, "malformed #pragma depends_on <class> <name>")
            cls = args[0]
            if cls == "library":
                raise _err("D_PRAGMA_DEPEND", p, "main program may not explicitly depend on a "
                           "library")
            if cls not in ("provider", "module"):
                raise _err("D_PRAGMA_INVAL", p, f"invalid class {cls} specified by #pragma "
                           f"depends_on")
            return
        if name == "error":
            text = "".join(a.strip('"') + " " for a in args)
            raise _err("D_PRAGERR", p, f"#error: {text}")
        if name in ("ident", "line"):
            return
        if kind == "dcp":
            raise _err("D_PRAGMA_INVAL", p, f"invalid D pragma: {name}")

    # ================================================================ parse-time pass
    def const_expr(self, e: ast.Expr, loc: Optional[Loc] = None) -> ast.Expr:
        """Type an expression needed as a constant while declaring (array sizes,
        bit-field widths, enumerator values)."""
        self.parse_expr(e)
        saved = self.pdesc, self.clause
        self.pdesc = self.clause = None
        try:
            r = self.cook(e, REF)
        except DError as err:
            if loc is not None and err.tag in ("D_IDENT_UNDEF",):
                err.loc = loc
            raise
        finally:
            self.pdesc, self.clause = saved
        return r

    def parse_clause(self, c: ast.Clause) -> None:
        for e in (c.predicate,) if c.predicate is not None else ():
            self.parse_expr(e)
        self.parse_expr(c.body)

    def parse_expr(self, root: Any) -> None:
        """What DTrace checks while building nodes: constant folding faults, unknown
        functions and type names."""
        consts: dict[int, Optional[int]] = {}
        for e in _walk_exprs(root):
            v = self._fold_parse(e, consts)
            consts[id(e)] = v

    def _fold_parse(self, e: ast.Expr, consts: dict) -> Optional[int]:
        """Constant value of `e` as dt_node_op1/op2 fold it at parse time (or None)."""
        if isinstance(e, ast.IntLit):
            t = int_literal_type(e.val, e.text or str(e.val))
            if t is None:
                raise _err("D_INT_OFLOW", e, f"integer constant 0x{e.val:x} cannot be "
                           f"represented in any built-in integral type")
            return e.val
        if isinstance(e, ast.CharLit):
            return e.val
        if isinstance(e, ast.Ident):
            s = self.lookup_global(e.name)
            if isinstance(s, InlineSym) and s.expr is not None and _is_intconst(s.expr):
                return s.expr.value
            return None
        if isinstance(e, ast.Unary):
            v = consts.get(id(e.operand))
            if v is None:
                return None
            if e.op == "-":
                return -v
            if e.op == "+":
                return v
            if e.op == "~":
                return ~v
            if e.op == "!":
                return int(not v)
            return None
        if isinstance(e, ast.Binary):
            r = consts.get(id(e.right))
            if r is not None and _as_u64(r) == 0 and e.op in ("/", "%"):
                raise _err("D_DIV_ZERO", e, "expression contains division by zero")
            l = consts.get(id(e.left))
            if l is None or r is None:
                return None
            lu, ru = _as_u64(l), _as_u64(r)
            try:
                v = {"+": lambda: lu + ru, "-": lambda: lu - ru, "*": lambda: lu * ru,
                     "/": lambda: _cdiv(_as_i64(lu), _as_i64(ru)),
                     "%": lambda: _cmod(_as_i64(lu), _as_i64(ru)),
                     "&": lambda: lu & ru, "|": lambda: lu | ru, "^": lambda: lu ^ ru,
                     "<<": lambda: lu << (ru & 63), ">>": lambda: lu >> (ru & 63),
                     "==": lambda: int(lu == ru), "!=": lambda: int(lu != ru),
                     "<": lambda: int(_as_i64(lu) < _as_i64(ru)),
                     "<=": lambda: int(_as_i64(lu) <= _as_i64(ru)),
                     ">": lambda: int(_as_i64(lu) > _as_i64(ru)),
                     ">=": lambda: int(_as_i64(lu) >= _as_i64(ru)),
                     "&&": lambda: int(bool(lu) and bool(ru)),
                     "||": lambda: int(bool(lu) or bool(ru)),
                     "^^": lambda: int(bool(lu) != bool(ru))}[e.op]()
            except KeyError:
                return None
            return _as_i64(v)
        if isinstance(e, ast.Ternary):
            c = consts.get(id(e.cond))
            if c is None:
                return None
            return consts.get(id(e.then if c else e.other))
        if isinstance(e, ast.Assign):
            r = consts.get(id(e.val))
            if r is not None and _as_u64(r) == 0 and e.op in ("/=", "%="):
                raise _err("D_DIV_ZERO", e, "expression contains division by zero")
            return None
        if isinstance(e, ast.Call):
            s = self.lookup_global(e.name)
            if s is None:
                raise _err("D_FUNC_UNDEF", e, f"undefined function name: {e.name}")
            if not isinstance(s, B.BuiltinFunc):
                raise _err("D_FUNC_IDKIND", e, f"{self.kind_name(s)} '{e.name}' may not be "
                           f"referenced as a function")
            return None
        if isinstance(e, ast.SizeofType):
            t = self.resolve_type(e.of)
            if self._sizeof_type(t) == 0:
                raise _err("D_SIZEOF_TYPE", e, "cannot apply sizeof to an operand of unknown size")
            return None
        if isinstance(e, ast.Offsetof):
            self._offsetof(e)
            return None
        if isinstance(e, (ast.Cast, ast.Xlate)):
            self.resolve_type(e.to)
            return None
        return None

    def _sizeof_type(self, t: DType) -> int:
        if isinstance(t, StringType):
            return self.T.strsize
        if isinstance(t.resolved, StructType) and not t.resolved.complete:
            return 0
        return t.size

    def _offsetof(self, e: ast.Offsetof) -> ast.Expr:
        t = self.resolve_type(e.of)
        r = t.resolved
        if not isinstance(r, StructType) or not r.complete:
            raise _err("D_OFFSETOF_TYPE", e, "offsetof operand must be a struct or union type")
        f = r.member(e.member)
        if f is None:
            raise _err("D_UNKNOWN", e, f"failed to determine offset of {e.member}: Member name "
                       f"not found")
        if f.bits is not None or f.type.is_bitfield():
            raise _err("D_OFFSETOF_BITFIELD", e, f"cannot take offset of a bit-field: {e.member}")
        n = ast.IntLit(f.offset_bits // 8, str(f.offset_bits // 8), loc=e.loc)
        n.type = SIZE_T
        n.value = f.offset_bits // 8
        return n

    # ================================================================ clauses
    def probe_argtypes(self, pd: Optional[ast.ProbeDesc]) -> Optional[list]:
        """Argument types of the probe a clause is cooked for (None: unknown count)."""
        if pd is None:
            return None
        pa = self.probe_args
        got = None
        if callable(pa):
            got = pa(pd)
        elif isinstance(pa, Mapping):
            got = pa.get(pd.text)
            if got is None:
                got = pa.get(f"{pd.provider}:{pd.module}:{pd.function}:{pd.name}")
        if got is not None:
            return [self.T.parse(t) if isinstance(t, str) else t for t in got]
        prov, name = pd.provider, pd.name
        if not prov and not pd.module and not pd.function and name in ("BEGIN", "END"):
            return []
        if prov in ("", "dtrace") and name in ("BEGIN", "END") and not pd.function:
            return []
        if prov in ("", "dtrace") and name == "ERROR" and not pd.function:
            return [INT64] * 6
        return None

    def cook_clause(self, c: ast.Clause) -> None:
        self.clause = c
        self.pdesc = c.probes[0] if c.probes else None
        try:
            self._cook_clause(c)
        finally:
            self.clause = None
        for table in (self.globals, self.tls, self.locals):
            for v in table.values():
                if isinstance(v, VarSym) and v.alloca and v.nonalloca:
                    raise _err("D_ALLOCA_INCOMPAT", c.probes[0] if c.probes else c,
                               f"{v.name}: cannot reuse the same identifier for both alloca "
                               f"and non-alloca allocations")

    def _cook_clause(self, c: ast.Clause) -> None:
        """Actions first, then the predicate; if an action names a variable that only
        the predicate creates, cook the predicate first instead (dt_cook_clause)."""
        if c.predicate is None:
            c.body = self.cook_stmts(c.body)
            return
        saved_body = _copy_ast(c.body)
        try:
            c.body = self.cook_stmts(c.body)
        except DError as err:
            if err.tag not in ("D_IDENT_UNDEF", "D_VAR_UNDEF"):
                raise
            c.body = saved_body
            c.predicate = self.cook_pred(c.predicate)
            c.body = self.cook_stmts(c.body)
            return
        c.predicate = self.cook_pred(c.predicate)

    def cook_pred(self, e: ast.Expr) -> ast.Expr:
        e = self.cook(e, REF)
        if not e.type.is_scalar():
            raise _err("D_PRED_SCALAR", e, "predicate result must be of scalar type")
        return e

    def cook_stmts(self, stmts: list) -> list:
        out = []
        for s in stmts:
            out.append(self.cook_stmt(s))
        return out

    def cook_stmt(self, s: ast.Stmt) -> ast.Stmt:
        if isinstance(s, ast.ExprStmt):
            s.expr = self.cook(s.expr, REF, stmt=True)
        elif isinstance(s, ast.If):
            s.cond = self.cook(s.cond, REF)
            if not s.cond.type.is_scalar():
                raise _err("D_OP_SCALAR", s.cond, "if statement condition must be of scalar "
                           "type")
            s.then = self.cook_stmts(s.then)
            if s.other is not None:
                s.other = self.cook_stmts(s.other)
        elif isinstance(s, ast.Block):
            s.body = self.cook_stmts(s.body)
        return s

    # ================================================================ expressions
    def cook(self, e: ast.Expr, flags: int = REF, stmt: bool = False) -> ast.Expr:
        if id(e) in self.precooked:
            return e
        m = getattr(self, "c_" + type(e).__name__, None)
        if m is None:
            raise _err("D_UNKNOWN", e, f"internal error -- cannot check {type(e).__name__}")
        if stmt and isinstance(e, (ast.AggVar, ast.Index)) and self._agg_of(e) is not None:
            return self.c_aggref(e)
        r = m(e, flags)
        assert r.type is not None, (e, r)
        return r

    def scratchsize(self) -> int:
        val = self.options_in.get("scratchsize")
        for name, v, _ in self.options:
            if name == "scratchsize" and v:
                val = v
        try:
            return _parse_size(val) if val else 256
        except ValueError:
            return 256

    def _agg_of(self, e: ast.Expr) -> Optional[ast.AggVar]:
        while isinstance(e, ast.Index):
            e = e.base
        return e if isinstance(e, ast.AggVar) else None

    # -- leaves ---------------------------------------------------------------
    def c_IntLit(self, e: ast.IntLit, flags: int) -> ast.Expr:
        t = int_literal_type(e.val, e.text or str(e.val))
        if t is None:
            raise _err("D_INT_OFLOW", e, f"integer constant 0x{e.val:x} cannot be represented "
                       f"in any built-in integral type")
        e.type = t
        e.value = e.val
        return e

    def c_CharLit(self, e: ast.CharLit, flags: int) -> ast.Expr:
        # the lexer makes a character constant an integer token (not decimal): a
        # multi-character constant too long for an int is unsigned int, then long
        e.type = int_literal_type(e.val, hex(e.val)) or INT
        e.value = e.val
        return e

    def c_FloatLit(self, e: ast.FloatLit, flags: int) -> ast.Expr:
        e.type = DOUBLE
        e.value = e.val
        return e

    def c_StrLit(self, e: ast.StrLit, flags: int) -> ast.Expr:
        e.type = self.T.string
        e.value = e.val
        return e

    def _intconst(self, value: int, t: DType, like: Any, narrow: bool = False,
                  src: Optional[DType] = None) -> ast.Expr:
        """A folded constant. DTrace keeps folded values in 64 bits whatever their type
        (dt_node_op2); only a cast narrows them to the type (dt_cast)."""
        if narrow and src is not None and src.is_integer() and 0 < t.size < src.size:
            value &= (1 << 8 * t.size) - 1  # dt_cast(): narrowing keeps the bits, unsigned
        elif narrow:
            value = wrap(value, t)
        else:
            value &= (1 << 64) - 1
            if t.is_signed() and value >> 63:
                value -= 1 << 64
        n = ast.IntLit(value, str(value), loc=like.loc)
        n.type = t
        n.value = value
        return n

    # -- names ----------------------------------------------------------------
    def c_Ident(self, e: ast.Ident, flags: int, create: bool = False) -> ast.Expr:
        name = e.name
        s = self.lookup_global(name)
        if s is None and create:
            s = self.new_var(name, "global", "scalar", e.loc)
        if s is None:
            raise _err("D_IDENT_UNDEF", e, f"failed to resolve {name}: Unknown variable name")
        if isinstance(s, VarSym):
            if s.kind != "scalar":
                raise _err("D_IDENT_BADREF", e, f"associative array '{name}' may not be "
                           f"referenced as scalar")
            return self._var(e, s, flags)
        if isinstance(s, B.BuiltinVar):
            if s.kind != "scalar":
                raise _err("D_IDENT_BADREF", e, f"associative array '{name}' may not be "
                           f"referenced as scalar")
            try:
                e.type = self.T.parse(s.type)
            except KeyError:
                raise _err("D_UNKNOWN", e, f"failed to resolve type {s.type} for identifier "
                           f"{name}: Unknown type name")
            e.sym = BuiltinSym(name, e.type)
            self.setfl(e, LVALUE)
            return e
        if isinstance(s, B.BuiltinFunc):
            raise _err("D_IDENT_BADREF", e, f"{B.KIND_NAMES[s.kind]} '{name}' may not be "
                       f"referenced as scalar")
        if isinstance(s, EnumSym):
            n = self._intconst(s.value, s.type, e)
            n.sym = s
            return n
        if isinstance(s, InlineSym):
            if s.expr is None:          # translator or inline parameter
                e.type = s.type
                e.sym = s
                self.setfl(e, LVALUE)
                return e
            if s.keys:
                raise _err("D_IDENT_BADREF", e, f"associative array '{name}' may not be "
                           f"referenced as scalar")
            return self._inline_copy(s, e)
        if s == "ptr":
            raise _err("D_IDENT_BADREF", e, f"pointer '{name}' may not be referenced as scalar")
        raise _err("D_IDENT_UNDEF", e, f"failed to resolve {name}: Unknown variable name")

    def _inline_copy(self, s: InlineSym, at: Any) -> ast.Expr:
        n = _copy_ast(s.expr)
        for x in _walk_exprs(n):
            self.mark_precooked(x)
        _copy_flags(self, s.expr, n)
        if isinstance(n.type, DynType) or type_equal(n.type, s.type):
            return n
        c = ast.Cast(s.type, n, loc=at.loc)
        c.type = s.type
        if _is_intconst(n) and s.type.is_integer():
            c = self._intconst(n.value, s.type, at)
        c.sym = s
        return c

    def _var(self, e: Any, v: VarSym, flags: int) -> ast.Expr:
        if (flags & REF) and v.unref:
            raise _err("D_VAR_UNDEF", e, f"{v.prefix}{v.name} has not yet been declared or "
                       f"assigned")
        e.sym = v
        e.type = v.type if v.type is not None else DynType("dynamic variable")
        self.setfl(e, LVALUE, WRITABLE)
        if v.alloca:
            self.setfl(e, ALLOCA)
        if flags & REF:
            v.ref = True
        if flags & MOD:
            v.mod = True
        return e

    def c_ScopedVar(self, e: ast.ScopedVar, flags: int) -> ast.Expr:
        table = self.tls if e.scope == "self" else self.locals
        v = table.get(e.name)
        if v is None:
            v = self.new_var(e.name, e.scope, "scalar", e.loc)
        if v.kind != "scalar":
            if not flags:
                e.sym = v
                e.type = DynType("associative array")
                return e
            raise _err("D_IDENT_BADREF", e, f"associative array '{e.name}' may not be "
                       f"referenced as scalar")
        return self._var(e, v, flags)

    def c_Symbol(self, e: ast.Symbol, flags: int) -> ast.Expr:
        got = self.T.symbol(e.name, e.module)
        if got is None and e.module is None and e.name in self.externs:
            got = (self.externs[e.name], 0)
        if got is None:
            scope = e.module or ""
            raise _err("D_IDENT_UNDEF", e, f"failed to resolve {scope}`{e.name}: Unknown symbol "
                       f"name")
        e.type, addr = got
        e.sym = KernelSym(f"{e.module or ''}`{e.name}", addr, e.type)
        e.value = None
        self.setfl(e, LVALUE)
        if not isinstance(e.type.resolved, ArrayType):
            pass
        return e

    def c_AggVar(self, e: ast.AggVar, flags: int) -> ast.Expr:
        a = self.aggs.get(e.name)
        if a is None:
            raise _err("D_IDENT_UNDEF", e, f"failed to resolve @{e.name}: Unknown variable name")
        e.sym = a
        e.type = DynType("aggregation")
        return e

    def c_aggref(self, e: ast.Expr) -> ast.Expr:
        """`@a[k];` as a statement: typed as the aggregation, keys left alone (D_AGG_NULL later)."""
        agg = self._agg_of(e)
        if isinstance(e, ast.Index) and isinstance(e.base, ast.Index):
            raise _err("D_AGG_MDIM", e, f"improper attempt to reference @{agg.name} as a "
                       f"multi-dimensional array")
        a = self.aggs.get(agg.name)
        if a is None:
            a = AggSym(agg.name, id=self.ids["agg"], loc=agg.loc)
            self.ids["agg"] += 1
            self.aggs[agg.name] = a
        agg.sym = a
        agg.type = DynType("aggregation")
        e.sym = a
        e.type = agg.type
        return e

    # -- calls ----------------------------------------------------------------
    def func_ret(self, f: B.BuiltinFunc) -> DType:
        r = f.proto.ret
        if f.kind == "aggfunc":
            return DynType("aggregating function")
        if r == "stack":
            return STACK
        if r == "_symaddr":
            return SYMADDR
        if r == "_usymaddr":
            return USYMADDR
        if r == "string":
            return self.T.string
        return self.T.parse(r)

    def c_Call(self, e: ast.Call, flags: int) -> ast.Expr:
        f = self.lookup_global(e.name)
        if f is None:
            raise _err("D_FUNC_UNDEF", e, f"undefined function name: {e.name}")
        if not isinstance(f, B.BuiltinFunc):
            raise _err("D_FUNC_IDKIND", e, f"{self.kind_name(f)} '{e.name}' may not be "
                       f"referenced as a function")
        e.args = [self.cook(a, REF) for a in e.args]
        self.check_sig(e, f.name, f.proto, e.args, "", "( )", key=False)
        e.type = self.func_ret(f)
        e.sym = FuncSym(f.name, f.kind, e.type)
        if f.name == "alloca":
            self.setfl(e, ALLOCA)
            sz = e.args[0]
            scratch = self.scratchsize()
            if _is_intconst(sz) and _as_u64(sz.value) > scratch:
                raise _err("D_ALLOCA_SIZE", e, f"alloca({_as_u64(sz.value)}) size larger than "
                           f"scratchsize {scratch}")
        dst = {"bcopy": 1, "copyinto": 2}.get(f.name)
        if dst is not None:
            a = e.args[dst]
            if ALLOCA not in self.fl(a) or a.type.is_string():
                what = _tname(a) if a.type.is_string() else "non-alloca pointer"
                raise _err("D_PROTO_ARG", e, f"{f.name}( ) argument #{dst + 1} is incompatible "
                           f"with prototype:\n\tprototype: alloca pointer\n\t argument: {what}")
        return e

    def check_sig(self, at: Any, name: str, proto: B.Proto, args: Sequence[ast.Expr],
                  prefix: str, suffix: str, key: bool) -> None:
        """dt_idcook_sign(): argument count and types against a prototype."""
        argc = len(args)
        cmp = ""
        if proto.varargs is not None:
            mismatch = argc < proto.varargs
            limit = proto.varargs
            cmp = "at least "
        elif proto.optargs is not None:
            if argc < proto.optargs:
                mismatch, cmp, limit = True, "at least ", proto.optargs
            elif argc > proto.argc:
                mismatch, cmp, limit = True, "at most ", proto.argc
            else:
                mismatch, limit = False, argc
        else:
            mismatch = argc != proto.argc
            limit = proto.argc
        what = "key" if key else "arg"
        if mismatch:
            raise _err("D_PROTO_LEN", at, f"{prefix}{name}{suffix} prototype mismatch: {argc} "
                       f"{what}{' ' if argc == 1 else 's '}passed, {cmp}{limit} expected")
        for i in range(limit):
            p = proto.params[i]
            if p.type is None:
                continue
            pt = self.T.parse(p.type) if p.type != "string" else self.T.string
            a = args[i]
            if not arg_compat(pt, a.type, _is_intconst(a) and a.value == 0):
                word = "key" if key else "argument"
                raise _err("D_PROTO_ARG", at, f"{prefix}{name}{suffix} {word} #{i + 1} is "
                           f"incompatible with prototype:\n\tprototype: {pt.name()}\n"
                           f"\t{word:>9}: {_tname(a)}")

    # -- unary ----------------------------------------------------------------
    def c_Unary(self, e: ast.Unary, flags: int) -> ast.Expr:
        op = e.op
        if op in ("++", "--"):
            return self._incdec(e, e.operand, op)
        if op == "&":
            cp = e.operand = self._unary_operand(e.operand)
            if isinstance(cp.sym, (VarSym, AggSym)) or isinstance(cp, (ast.AggVar,)) or \
                    (isinstance(cp.sym, BuiltinSym) and isinstance(cp, ast.Ident)):
                raise _err("D_ADDROF_VAR", e, "cannot take address of dynamic variable")
            if isinstance(cp.type, DynType):
                raise _err("D_ADDROF_VAR", e, "cannot take address of dynamic object")
            if LVALUE not in self.fl(cp):
                raise _err("D_ADDROF_LVAL", e, "unacceptable operand for unary & operator")
            if cp.type.is_bitfield():
                raise _err("D_ADDROF_BITFIELD", e, "cannot take address of bit-field")
            e.type = PtrType(cp.type)
            if ALLOCA in self.fl(cp) or (isinstance(cp, ast.Unary) and cp.op == "*" and
                                         ALLOCA in self.fl(cp.operand)):
                self.setfl(e, ALLOCA)
            return e
        if op == "*":
            cp = e.operand = self._unary_operand(e.operand)
            if isinstance(cp.sym, XlateSym) and cp.sym.pointer:
                e.sym = XlateSym(cp.sym.translator, cp.sym.operand, False)
                e.type = DynType("translated data")
                return e
            r = cp.type.resolved
            if isinstance(r, ArrayType):
                t = r.elem
            elif isinstance(r, PtrType):
                t = r.target
            elif isinstance(r, StringType):
                t = CHAR
            else:
                raise _err("D_DEREF_NONPTR", e, "cannot dereference non-pointer type")
            e.type = t
            tr = t.resolved
            if isinstance(tr, VoidType):
                raise _err("D_DEREF_VOID", e, "cannot dereference pointer to void")
            if isinstance(tr, FuncType):
                raise _err("D_DEREF_FUNC", e, "cannot dereference pointer to function")
            if not isinstance(tr, ArrayType) or isinstance(t, StringType):
                self.setfl(e, LVALUE)
            cfl = self.fl(cp)
            if WRITABLE in cfl or (isinstance(cp, ast.Binary) and cp.op == "+" and
                                   WRITABLE in self.fl(cp.left)):
                self.setfl(e, WRITABLE)
            return e
        cp = e.operand = self._unary_operand(e.operand)
        if op in ("+", "-"):
            if not cp.type.is_arith():
                raise _err("D_OP_ARITH", e, f"operator {op} requires an operand of arithmetic "
                           f"type")
            e.type = cp.type
            if _is_intconst(cp):
                return self._intconst(-cp.value if op == "-" else cp.value, cp.type, e)
            return e
        if op == "~":
            if not cp.type.is_integer():
                raise _err("D_OP_INT", e, f"operator {op} requires an operand of integral type")
            e.type = cp.type
            if _is_intconst(cp):
                return self._intconst(~cp.value, cp.type, e)
            return e
        if op == "!":
            if not cp.type.is_scalar():
                raise _err("D_OP_SCALAR", e, f"operator {op} requires an operand of scalar type")
            e.type = INT
            if _is_intconst(cp):
                return self._intconst(int(not cp.value), INT, e)
            return e
        raise _err("D_UNKNOWN", e, f"invalid unary op {op}")

    def _unary_operand(self, operand: ast.Expr) -> ast.Expr:
        """dt_cook_op1(): the operand is cooked without REF; a variable this clause
        created but has not yet given a type becomes an int64_t."""
        cp = self.cook(operand, 0)
        self._default_int64(cp)
        self._mark(cp, REF)
        return cp

    def c_Postfix(self, e: ast.Postfix, flags: int) -> ast.Expr:
        return self._incdec(e, e.operand, e.op)

    def _incdec(self, e: Any, operand: ast.Expr, op: str) -> ast.Expr:
        if isinstance(operand, ast.Ident):
            cp = self.c_Ident(operand, 0, create=True)
        else:
            cp = self.cook(operand, 0)
        self._default_int64(cp)
        self._mark(cp, REF | MOD)
        e.operand = cp
        t = cp.type
        if not t.is_scalar():
            raise _err("D_OP_SCALAR", e, f"operator {op} requires operand of scalar type")
        if t.is_vfptr():
            raise _err("D_OP_VFPTR", e, f"operator {op} requires an operand of known size")
        if LVALUE not in self.fl(cp):
            raise _err("D_OP_LVAL", e, f"operator {op} requires modifiable lvalue as an operand")
        if WRITABLE not in self.fl(cp):
            raise _err("D_OP_WRITE", e, f"operator {op} can only be applied to a writable "
                       f"variable")
        e.type = t
        return e

    def _default_int64(self, cp: ast.Expr) -> None:
        """A variable first used with ++/-- or op= becomes an int64_t."""
        v = cp.sym
        if isinstance(v, VarSym) and v.unref and (v.type is None or isinstance(cp, ast.Index)
                                                  and cp.type is not None and
                                                  isinstance(cp.type, DynType)):
            if v.kind == "array":
                if v.type is None or isinstance(v.type, DynType):
                    v.type = INT64
            else:
                v.type = INT64
            cp.type = INT64
        elif isinstance(v, VarSym) and v.kind == "array" and isinstance(cp.type, DynType):
            v.type = INT64
            cp.type = INT64

    def _mark(self, cp: ast.Expr, flags: int) -> None:
        v = cp.sym
        if isinstance(v, VarSym):
            if flags & REF:
                v.ref = True
            if flags & MOD:
                v.mod = True

    # -- sizeof, offsetof, stringof, casts ---------------------------------------
    def c_SizeofType(self, e: ast.SizeofType, flags: int) -> ast.Expr:
        t = self.resolve_type(e.of)
        n = self._sizeof_type(t)
        if n == 0:
            raise _err("D_SIZEOF_TYPE", e, "cannot apply sizeof to an operand of unknown size")
        return self._intconst(n, SIZE_T, e)

    def c_SizeofExpr(self, e: ast.SizeofExpr, flags: int) -> ast.Expr:
        if isinstance(e.operand, ast.StrLit):
            return self._intconst(len(e.operand.val) + 1, SIZE_T, e)
        cp = e.operand = self._unary_operand(e.operand)
        if cp.type.is_bitfield():
            raise _err("D_SIZEOF_BITFIELD", e, "cannot apply sizeof to a bit-field")
        if isinstance(cp.sym, VarSym) and cp.sym.kind == "array" and not isinstance(cp, ast.Index):
            n = 0
        else:
            n = self._sizeof_type(cp.type) if not isinstance(cp.type, DynType) else 0
        if n == 0:
            raise _err("D_SIZEOF_TYPE", e, "cannot apply sizeof to an operand of unknown size")
        return self._intconst(n, SIZE_T, e)

    def c_Offsetof(self, e: ast.Offsetof, flags: int) -> ast.Expr:
        return self._offsetof(e)

    def c_Stringof(self, e: ast.Stringof, flags: int) -> ast.Expr:
        cp = e.operand = self._unary_operand(e.operand)
        t = cp.type
        if not (t.is_scalar() or t.is_pointer() or t.is_strcompat()):
            raise _err("D_STRINGOF_TYPE", e, f"cannot apply stringof to a value of type "
                       f"{_tname(cp)}")
        e.type = self.T.string
        return e

    def c_Cast(self, e: ast.Cast, flags: int) -> ast.Expr:
        lt = self.resolve_type(e.to) if not isinstance(e.to, DType) else e.to
        cp = e.operand = self.cook(e.operand, REF)
        rt = cp.type
        lr, rr = lt.resolved, rt.resolved
        ok = (type_compat(lt, rt) or
              (lt.is_scalar() and (rt.is_scalar() or isinstance(rr, FuncType))) or
              lt.is_void() or
              (isinstance(lr, PtrType) and rt.is_pointer()) or
              (isinstance(lt, StringType) and (rt.is_scalar() or rt.is_pointer() or
                                               rt.is_strcompat())))
        if isinstance(rt, (DynType, StackType)) and not lt.is_void():
            ok = ok and type_compat(lt, rt)
        if not ok:
            raise _err("D_CAST_INVAL", e, f"invalid cast expression: \"{_tname(cp)}\" to "
                       f"\"{lt.name()}\"")
        e.type = lt
        if ALLOCA in self.fl(cp):
            self.setfl(e, ALLOCA)
        if _is_intconst(cp) and lt.is_integer():
            n = self._intconst(cp.value, lt, e, narrow=True, src=rt)
            return n
        return e

    # -- binary ---------------------------------------------------------------
    def c_Binary(self, e: ast.Binary, flags: int) -> ast.Expr:
        op = e.op
        if op in ("&", "^", "|", "<<", ">>", "%"):
            lp = e.left = self.cook(e.left, REF)
            rp = e.right = self.cook(e.right, REF)
            if not lp.type.is_integer() or not rp.type.is_integer():
                raise _err("D_OP_INT", e, f"operator {op} requires operands of integral type")
            e.type = lp.type if op in ("<<", ">>") else promote(lp.type, rp.type)
            return self._fold(e)
        if op in ("*", "/"):
            lp = e.left = self.cook(e.left, REF)
            rp = e.right = self.cook(e.right, REF)
            if not lp.type.is_arith() or not rp.type.is_arith():
                raise _err("D_OP_ARITH", e, f"operator {op} requires operands of arithmetic type")
            e.type = promote(lp.type, rp.type)
            return self._fold(e)
        if op in ("&&", "^^", "||"):
            lp = e.left = self.cook(e.left, REF)
            rp = e.right = self.cook(e.right, REF)
            if not lp.type.is_scalar() or not rp.type.is_scalar():
                raise _err("D_OP_SCALAR", e, f"operator {op} requires operands of scalar type")
            e.type = INT
            return self._fold(e)
        if op in ("<", "<=", ">", ">=", "==", "!="):
            lp = e.left = self.cook(e.left, REF)
            lr = lp.type.resolved
            if isinstance(lr, EnumType) and isinstance(e.right, ast.Ident) and \
                    e.right.name in lr.values:
                s = self.lookup_global(e.right.name)
                if s is not None and not (isinstance(s, EnumSym) and s.type is lr):
                    raise _err("D_IDENT_AMBIG", e, f"ambiguous use of operator {op}: "
                               f"{e.right.name} is both a {_tname(lp)} enum tag and a global "
                               f"{self.kind_name(s)}")
                e.right = self._intconst(lr.values[e.right.name], lp.type, e.right)
                self.mark_precooked(e.right)
            rp = e.right = self.cook(e.right, REF)
            lt, rt = lp.type, rp.type
            if type_compat(lt, rt) and not isinstance(lt, DynType):
                pass
            elif lt.is_integer() and rt.is_integer():
                pass
            elif lt.is_strcompat() and rt.is_strcompat() and (lt.is_string() or rt.is_string()):
                pass
            elif ptr_compat(lt, rt, _is_intconst(lp) and lp.value == 0,
                            _is_intconst(rp) and rp.value == 0) is None:
                raise _err("D_OP_INCOMPAT", e, f"operands have incompatible types: "
                           f"\"{_tname(lp)}\" {op} \"{_tname(rp)}\"")
            e.type = INT
            return self._fold(e)
        if op in ("+", "-"):
            lp = e.left = self.cook(e.left, REF)
            rp = e.right = self.cook(e.right, REF)
            lt, rt = lp.type, rp.type
            lptr = lt.is_string() or (lt.is_pointer() and not lt.is_vfptr())
            rptr = rt.is_string() or (rt.is_pointer() and not rt.is_vfptr())
            li, ri = lt.is_integer(), rt.is_integer()
            if li and ri:
                t = promote(lt, rt)
            elif lptr and ri:
                t = lt
            elif li and rptr and op == "+":
                t = rt
            elif lptr and rptr and op == "-" and ptr_compat(lt, rt) is not None:
                t = PTRDIFF_T
            else:
                raise _err("D_OP_INCOMPAT", e, f"operands have incompatible types: "
                           f"\"{_tname(lp)}\" {op} \"{_tname(rp)}\"")
            if lptr and rptr and (ALLOCA in self.fl(lp)) != (ALLOCA in self.fl(rp)):
                raise _err("D_OP_INCOMPAT", e, f"adding or subtracting pointers to alloca and "
                           f"non-alloca space is meaningless: \"{_tname(lp)}\" {op} "
                           f"\"{_tname(rp)}\"")
            e.type = t
            if ALLOCA in self.fl(lp) or ALLOCA in self.fl(rp):
                self.setfl(e, ALLOCA)
            return self._fold(e)
        if op == ",":
            lp = e.left = self.cook(e.left, REF)
            rp = e.right = self.cook(e.right, REF)
            if isinstance(lp.type, DynType) or isinstance(rp.type, DynType):
                raise _err("D_OP_DYN", e, f"operator {op} operands cannot be of dynamic type")
            if self._is_actfunc(lp) or self._is_actfunc(rp):
                raise _err("D_OP_ACT", e, f"operator {op} operands cannot be actions")
            e.type = rp.type
            return e
        raise _err("D_UNKNOWN", e, f"invalid binary op {op}")

    @staticmethod
    def _is_actfunc(e: ast.Expr) -> bool:
        return isinstance(e, ast.Call) and isinstance(e.sym, FuncSym) and e.sym.kind == "action"

    def _fold(self, e: ast.Binary) -> ast.Expr:
        """Fold an operation on two integer constants into a constant of the result type."""
        lp, rp = e.left, e.right
        if not (_is_intconst(lp) and _is_intconst(rp)):
            return e
        try:
            v, t = fold_binary(e.op, lp.value, lp.type, rp.value, rp.type)
        except ZeroDivisionError:
            raise _err("D_DIV_ZERO", e, "expression contains division by zero")
        return self._intconst(v, t, e)

    # -- ternary --------------------------------------------------------------
    def c_Ternary(self, e: ast.Ternary, flags: int) -> ast.Expr:
        c = e.cond = self.cook(e.cond, REF)
        lp = e.then = self.cook(e.then, REF)
        rp = e.other = self.cook(e.other, REF)
        if not c.type.is_scalar():
            raise _err("D_OP_SCALAR", e, "operator ?: expression must be of scalar type")
        if isinstance(lp.type, DynType) or isinstance(rp.type, DynType):
            raise _err("D_OP_DYN", e, "operator ?: operands cannot be of dynamic type")
        lt, rt = lp.type, rp.type
        if type_compat(lt, rt):
            t = lt
        elif lt.is_integer() and rt.is_integer():
            t = promote(lt, rt)
        elif lt.is_strcompat() and rt.is_strcompat() and (lt.is_string() or rt.is_string()):
            t = self.T.string
        else:
            t = ptr_compat(lt, rt, _is_intconst(lp) and lp.value == 0,
                           _is_intconst(rp) and rp.value == 0)
            if t is None:
                raise _err("D_OP_INCOMPAT", e, "operator ?: operands must have compatible types")
        if self._is_actfunc(lp) or self._is_actfunc(rp):
            raise _err("D_OP_ACT", e, "action cannot be used in a conditional context")
        e.type = t
        if _is_intconst(c) and t.is_integer() and _is_intconst(lp) and _is_intconst(rp):
            return self._intconst(lp.value if c.value else rp.value, t, e)
        return e

    # -- assignment -------------------------------------------------------------
    def c_Assign(self, e: ast.Assign, flags: int) -> ast.Expr:
        op = e.op
        tgt = e.target
        if op == "=" and self._agg_of(tgt) is not None:
            return self._agg_assign(e)
        if op == "=":
            if isinstance(tgt, ast.Ident):
                lp = self.c_Ident(tgt, 0, create=True)
            else:
                lp = self.cook(tgt, 0)
            e.target = lp
            rp = e.val = self.cook(e.val, REF)
            rt = rp.type
            if isinstance(rp.sym, XlateSym) and not rp.sym.pointer:
                rt = rp.sym.translator.dst
            v = lp.sym
            if isinstance(v, VarSym) and v.unref:
                self._first_assign(lp, v, rt)
            elif isinstance(v, VarSym) and v.kind == "array" and isinstance(lp.type, DynType) \
                    and not v.declared:
                self._first_assign(lp, v, rt)
            if isinstance(v, VarSym):
                v.mod = True
            lt = lp.type
            if not lt.is_string():
                if isinstance(lt.resolved, (ArrayType, FuncType)):
                    raise _err("D_OP_ARRFUN", e, f"operator {op} may not be applied to operand "
                               f"of type \"{_tname(lp)}\"")
            zero = _is_intconst(rp) and rp.value == 0
            compat = arg_compat(lt, rp.type, zero)
            if zero and isinstance(v, VarSym) and (v.scope == "self" or v.kind == "array"):
                compat = True       # storing 0 deletes a dynamic variable of any type
            if isinstance(rp.sym, XlateSym) and not rp.sym.pointer and type_compat(lt, rt):
                compat = True
            if not compat:
                raise _err("D_OP_INCOMPAT", e, f"operands have incompatible types: "
                           f"\"{_tname(lp)}\" {op} \"{_tname(rp)}\"")
            return self._asgn_common(e, lp, rp)
        # compound assignment: the target may be created (int64_t)
        if isinstance(tgt, ast.Ident):
            lp = self.c_Ident(tgt, REF | MOD, create=True)
        else:
            lp = self.cook(tgt, REF | MOD)
        e.target = lp
        rp = e.val = self.cook(e.val, REF | MOD)
        base = op[:-1]
        if base in ("|", "^", "&", "<<", ">>", "%"):
            if not lp.type.is_integer() or not rp.type.is_integer():
                raise _err("D_OP_INT", e, f"operator {op} requires operands of integral type")
        elif base in ("*", "/"):
            if not lp.type.is_arith() or not rp.type.is_arith():
                raise _err("D_OP_ARITH", e, f"operator {op} requires operands of arithmetic "
                           f"type")
        else:   # += -=
            if lp.type.is_string() or rp.type.is_string():
                raise _err("D_OP_INCOMPAT", e, f"operands have incompatible types: "
                           f"\"{_tname(lp)}\" {op} \"{_tname(rp)}\"")
            if not lp.type.is_integer() or not rp.type.is_integer():
                if not lp.type.is_pointer() or lp.type.is_vfptr():
                    raise _err("D_OP_VFPTR", e, f"operator {op} requires left-hand scalar "
                               f"operand of known size")
                if not rp.type.is_integer() and ptr_compat(lp.type, rp.type) is None:
                    raise _err("D_OP_INCOMPAT", e, f"operands have incompatible types: "
                               f"\"{_tname(lp)}\" {op} \"{_tname(rp)}\"")
        return self._asgn_common(e, lp, rp)

    def _first_assign(self, lp: ast.Expr, v: VarSym, t: DType) -> None:
        v.type = t
        lp.type = t

    def _asgn_common(self, e: ast.Assign, lp: ast.Expr, rp: ast.Expr) -> ast.Expr:
        v = lp.sym
        if isinstance(v, VarSym):
            if ALLOCA in self.fl(rp):
                v.alloca = True
                self.setfl(lp, ALLOCA)
            elif not (_is_intconst(rp) and rp.value == 0):
                v.nonalloca = True
        fl = self.fl(lp)
        if LVALUE not in fl:
            raise _err("D_OP_LVAL", e, f"operator {e.op} requires modifiable lvalue as an "
                       f"operand")
        if WRITABLE not in fl:
            raise _err("D_OP_WRITE", e, f"operator {e.op} can only be applied to a writable "
                       f"variable")
        e.type = lp.type
        return e

    def _agg_assign(self, e: ast.Assign) -> ast.Expr:
        tgt = e.target
        agg = self._agg_of(tgt)
        if isinstance(tgt, ast.Index) and isinstance(tgt.base, ast.Index):
            raise _err("D_AGG_MDIM", tgt, f"improper attempt to reference @{agg.name} as a "
                       f"multi-dimensional array")
        a = self.aggs.get(agg.name)
        new = a is None
        if new:
            a = AggSym(agg.name, id=self.ids["agg"], loc=e.loc)
        rp = e.val = self.cook(e.val, REF)
        if not (isinstance(rp, ast.Call) and isinstance(rp.sym, FuncSym) and
                rp.sym.kind == "aggfunc"):
            raise _err("D_AGG_FUNC", e, f"@{agg.name} must be assigned the result of an "
                       f"aggregating function")
        if a.func is not None and a.func != rp.name:
            line = a.loc.line if a.loc else 0
            raise _err("D_AGG_REDEF", e, f"aggregation redefined: @{agg.name}\n\t current: "
                       f"@{agg.name} = {rp.name}( )\n\tprevious: @{agg.name} = {a.func}( ) : "
                       f"line {line}")
        if new:
            self.ids["agg"] += 1
            self.aggs[agg.name] = a
        if a.func is None:
            a.func = rp.name
            a.loc = e.loc
        keys = []
        if isinstance(tgt, ast.Index):
            tgt.args = [self.cook(k, REF) for k in tgt.args]
            keys = tgt.args
        self._assc_sig(tgt, a, keys, "@", agg.name, is_agg=True)
        a.mod = True
        if rp.args and a.argtype is None:
            a.argtype = rp.args[0].type
        agg.sym = a
        agg.type = DynType("aggregation")
        if isinstance(tgt, ast.Index):
            tgt.sym = a
            tgt.type = agg.type
        e.type = agg.type
        e.sym = a
        return e

    def _assc_sig(self, at: Any, s: Any, keys: Sequence[ast.Expr], prefix: str, name: str,
                  is_agg: bool) -> None:
        """dt_idcook_assc(): set the key signature on first use, check it afterwards."""
        if s.keys is None:
            for i, k in enumerate(keys, 1):
                if isinstance(k.type, DynType) or k.type.is_void():
                    what = "aggregation" if is_agg else "associative array"
                    raise _err("D_KEY_TYPE", at, f"{_tname(k)} expression may not be used as "
                               f"{what} index: key #{i}")
            s.keys = tuple(k.type for k in keys)
            return
        argc = len(keys)
        if argc != len(s.keys):
            raise _err("D_PROTO_LEN", at, f"{prefix}{name}[ ] prototype mismatch: {argc} "
                       f"key{' ' if argc == 1 else 's '}passed, {len(s.keys)} expected")
        for i, (kt, k) in enumerate(zip(s.keys, keys), 1):
            if not arg_compat(kt, k.type, _is_intconst(k) and k.value == 0):
                raise _err("D_PROTO_ARG", at, f"{prefix}{name}[ ] key #{i} is incompatible with "
                           f"prototype:\n\tprototype: {kt.name()}\n\t{'key':>9}: {_tname(k)}")

    # -- subscripts -------------------------------------------------------------
    def c_Index(self, e: ast.Index, flags: int) -> ast.Expr:
        base = e.base
        if isinstance(base, ast.AggVar) or (isinstance(base, ast.Index) and
                                            self._agg_of(base) is not None):
            return self.c_aggref(e)
        if isinstance(base, ast.Ident):
            name = base.name
            if name in ("args", "uregs") and self.lookup_global(name) is B.VARIABLES[name]:
                return self._builtin_array(e, name)
            s = self.lookup_global(name)
            if s is None:
                s = self.new_var(name, "global", "array", base.loc)
            if isinstance(s, VarSym) and s.kind == "scalar" and s.unref:
                raise _err("D_IDENT_BADREF", base, f"scalar '{name}' may not be referenced as "
                           f"associative array")
            if isinstance(s, VarSym) and s.kind == "array":
                return self._assoc(e, s, flags)
            if isinstance(s, InlineSym) and s.keys:
                return self._inline_array(e, s)
        elif isinstance(base, ast.ScopedVar):
            table = self.tls if base.scope == "self" else self.locals
            v = table.get(base.name)
            if v is None:
                v = self.new_var(base.name, base.scope, "scalar", base.loc)
            if v.kind == "scalar" and v.unref:
                if base.scope == "this":
                    raise _err("D_ARR_LOCAL", e, f"local variables may not be used as "
                               f"associative arrays: {base.name}")
                v.kind = "array"
            if v.kind == "array":
                return self._assoc(e, v, flags)
        return self._subscript(e)

    def _inline_array(self, e: ast.Index, s: InlineSym) -> ast.Expr:
        """`f[a, b]` for `inline T f[int x, int y] = expr`: expr with the keys bound."""
        e.args = [self.cook(k, REF) for k in e.args]
        self._assc_sig(e, s, e.args, "", s.name, is_agg=False)
        body = _copy_ast(s.source)
        for pname, arg in zip(s.params, e.args):
            if pname:
                body = _substitute(self, body, pname, arg)
        r = self.cook(body, REF)
        if not type_equal(r.type, s.type):
            if _is_intconst(r) and s.type.is_integer():
                r = self._intconst(r.value, s.type, e)
            else:
                c = ast.Cast(s.type, r, loc=e.loc)
                c.type = s.type
                r = c
        return r

    def _assoc(self, e: ast.Index, v: VarSym, flags: int) -> ast.Expr:
        if (flags & REF) and v.unref:
            raise _err("D_VAR_UNDEF", e, f"{v.prefix}{v.name} has not yet been declared or "
                       f"assigned")
        e.args = [self.cook(k, REF) for k in e.args]
        self._assc_sig(e, v, e.args, "", v.name, is_agg=False)
        e.base.sym = v
        e.base.type = DynType("associative array")
        e.sym = v
        e.type = v.type if v.type is not None else DynType("associative array")
        self.setfl(e, LVALUE, WRITABLE)
        if flags & REF:
            v.ref = True
        if flags & MOD:
            v.mod = True
        return e

    def _builtin_array(self, e: ast.Index, name: str) -> ast.Expr:
        e.args = [self.cook(k, REF) for k in e.args]
        argc = len(e.args)
        if argc != 1:
            raise _err("D_PROTO_LEN", e, f"{name}[ ] prototype mismatch: {argc} "
                       f"arg{' ' if argc == 1 else 's '}passed, 1 expected")
        ap = e.args[0]
        if not _is_intconst(ap):
            raise _err("D_PROTO_ARG", e, f"{name}[ ] argument #1 is incompatible with prototype:"
                       f"\n\tprototype: integer constant\n\t argument: {_tname(ap)}")
        idx = _as_i64(ap.value) if ap.type.is_signed() else ap.value
        if name == "uregs":
            if idx < 0:
                raise _err("D_REGS_IDX", e, f"index {idx} is out of range for array {name}")
            t = UINT64
        else:
            if self.pdesc is None:
                raise _err("D_ARGS_NONE", e, f"{name}[ ] may not be referenced outside of a "
                           f"probe clause")
            argv = self.probe_argtypes(self.pdesc)
            i32 = ((idx + (1 << 31)) % (1 << 32)) - (1 << 31)
            if i32 < 0 or (argv is not None and i32 >= len(argv)):
                raise _err("D_ARGS_IDX", e, f"index {idx} is out of range for "
                           f"{_desc2str(self.pdesc)} {name}[ ]")
            t = argv[i32] if argv is not None else INT64
            if t is None:
                t = INT64
        e.base.type = DynType("associative array")
        e.base.sym = BuiltinSym(name, None)
        e.type = t
        e.sym = BuiltinSym(name, t, idx)
        self.setfl(e, LVALUE)
        return e

    def _subscript(self, e: ast.Index) -> ast.Expr:
        """E1[E2] is *(E1 + E2) for arrays and pointers."""
        lp = e.base = self.cook(e.base, REF)
        if not e.args:
            raise _err("D_SYNTAX", e, "missing array subscript")
        rp = e.args[0] = self.cook(e.args[0], REF)
        lt, rt = lp.type, rp.type
        lptr = lt.is_string() or (lt.is_pointer() and not lt.is_vfptr())
        rptr = rt.is_string() or (rt.is_pointer() and not rt.is_vfptr())
        li, ri = lt.is_integer(), rt.is_integer()
        if li and ri:
            t = promote(lt, rt)
        elif lptr and ri:
            t = lt
        elif li and rptr:
            t = rt
        else:
            raise _err("D_OP_INCOMPAT", e, f"operands have incompatible types: \"{_tname(lp)}\" "
                       f"+ \"{_tname(rp)}\"")
        lr = lt.resolved
        # a kernel array of dynamic size (a flexible array member, `numbers[]`) has count 0
        if isinstance(lr, ArrayType) and lr.count and _is_intconst(rp) and \
                _as_u64(rp.value) >= lr.count \
                and not (isinstance(lp, ast.Index) and isinstance(lp.sym, VarSym)):
            raise _err("D_ARR_BOUNDS", e, f"index outside array bounds: {_as_u64(rp.value)}, max "
                       f"is {lr.count}")
        if len(e.args) > 1:
            what = f"identifier {e.base.name}" if isinstance(e.base, ast.Ident) else "expression"
            if isinstance(lp.sym, (VarSym, BuiltinSym)):
                what = f"scalar {getattr(lp.sym, 'name', '')}"
            raise _err("D_ARR_BADREF", e, f"cannot access {what} as an associative array")
        r = t.resolved
        if isinstance(r, ArrayType):
            et = r.elem
        elif isinstance(r, PtrType):
            et = r.target
        elif isinstance(r, StringType):
            et = CHAR
        else:
            raise _err("D_DEREF_NONPTR", e, "cannot dereference non-pointer type")
        er = et.resolved
        if isinstance(er, VoidType):
            raise _err("D_DEREF_VOID", e, "cannot dereference pointer to void")
        if isinstance(er, FuncType):
            raise _err("D_DEREF_FUNC", e, "cannot dereference pointer to function")
        e.type = et
        if not isinstance(er, ArrayType):
            self.setfl(e, LVALUE)
        if WRITABLE in self.fl(lp):
            self.setfl(e, WRITABLE)
        return e

    # -- members and translators -------------------------------------------------
    def c_Member(self, e: ast.Member, flags: int) -> ast.Expr:
        op = "->" if e.arrow else "."
        lp = e.base = self.cook(e.base, REF)
        if isinstance(lp.sym, XlateSym):
            return self._xlate_member(e, lp, op)
        t = lp.type.resolved
        if e.arrow:
            if not isinstance(t, PtrType):
                raise _err("D_OP_PTR", e, f"operator {op} must be applied to a pointer")
            t = t.target.resolved
        if isinstance(t, StructType) and not t.complete:
            again = self.T.tag(t.sou, t.tag, None, create=False) if t.tag else None
            if isinstance(again, StructType) and again.complete:
                t = again
            else:
                raise _err("D_OP_INCOMPLETE", e, f"operator {op} cannot be applied to a forward "
                           f"declaration: no {t.name()} definition is available")
        if not isinstance(t, StructType):
            if e.arrow:
                raise _err("D_OP_SOU", e, f"operator -> cannot be applied to pointer to type "
                           f"\"{t.name()}\"; must be applied to a struct or union pointer")
            raise _err("D_OP_SOU", e, f"operator {op} cannot be applied to type \"{t.name()}\"; "
                       f"must be applied to a struct or union")
        f = t.member(e.name)
        if f is None:
            raise _err("D_TYPE_MEMBER", e, f"{e.name} is not a member of {t.name()}")
        e.type = f.type
        e.sym = FieldSym(e.name, f.type, f.offset_bits // 8, f.offset_bits, f.bits)
        mr = f.type.resolved
        notarr = not isinstance(mr, ArrayType) or isinstance(f.type, StringType)
        if e.arrow and notarr:
            self.setfl(e, LVALUE)
        if not e.arrow and LVALUE in self.fl(lp) and notarr:
            self.setfl(e, LVALUE)
        if WRITABLE in self.fl(lp):
            self.setfl(e, WRITABLE)
        return e

    def c_Xlate(self, e: ast.Xlate, flags: int) -> ast.Expr:
        to = self.resolve_type(e.to)
        rp = e.operand = self.cook(e.operand, REF)
        x = self.find_translator(rp.type, to)
        if x is None:
            raise _err("D_XLATE_NONE", e, f"cannot translate from \"{_tname(rp)}\" to "
                       f"\"{to.name()}\"")
        ptr = isinstance(to.resolved, PtrType)
        e.sym = XlateSym(x, rp, ptr)
        e.type = DynType("pointer to translated data" if ptr else "translated data")
        if not ptr:  # the whole translated struct may be a value: cook its members for codegen
            try:
                e.sym.members = {n: self._xlate_member(ast.Member(e, n, loc=e.loc), e, ".")
                                 for n in x.members}
            except DError:
                e.sym.members = None
        return e

    def _xlate_member(self, e: ast.Member, lp: ast.Expr, op: str) -> ast.Expr:
        xs: XlateSym = lp.sym
        x = xs.translator
        if e.name not in x.members:
            raise _err("D_XLATE_NOCONV", e, f"translator does not define conversion for member: "
                       f"{e.name}")
        if e.arrow and not xs.pointer:
            raise _err("D_OP_PTR", e, f"operator {op} must be applied to a pointer")
        if not e.arrow and xs.pointer:
            raise _err("D_OP_SOU", e, f"operator {op} cannot be applied to type "
                       f"\"{PtrType(x.dst).name()}\"; must be applied to a struct or union")
        orig, mtype = x.members[e.name]
        body = _copy_ast(orig)
        operand = xs.operand
        body = _substitute(self, body, x.param, operand)
        r = self.cook(body, REF)
        if not type_equal(r.type, mtype):
            if _is_intconst(r) and mtype.is_integer():
                r = self._intconst(r.value, mtype, e)
            else:
                c = ast.Cast(mtype, r, loc=e.loc)
                c.type = mtype
                r = c
        r.sym = r.sym if r.sym is not None else FieldSym(e.name, mtype, 0, 0)
        return r


def _copy_ast(node: Any) -> Any:
    """Copy AST nodes (and lists of them) but share types, symbols and values."""
    if isinstance(node, list):
        return [_copy_ast(x) for x in node]
    if not isinstance(node, ast.Node):
        return node
    new = copy.copy(node)
    for fname in node.__dataclass_fields__:
        if fname in ("type", "value", "sym", "loc"):
            continue
        v = getattr(node, fname)
        if isinstance(v, (ast.Node, list)):
            setattr(new, fname, _copy_ast(v))
    return new


def _substitute(ck: _Checker, node: Any, name: str, repl: ast.Expr) -> Any:
    """Replace the translator parameter `name` by (a copy of) the cooked operand."""
    if isinstance(node, ast.Ident) and node.name == name:
        n = _copy_ast(repl)
        _copy_flags(ck, repl, n)
        for x in _walk_exprs(n):
            ck.mark_precooked(x)
        return n
    if isinstance(node, ast.Expr):
        for fname in node.__dataclass_fields__:
            if fname in ("type", "value", "sym", "loc"):
                continue
            v = getattr(node, fname)
            if isinstance(v, ast.Expr):
                setattr(node, fname, _substitute(ck, v, name, repl))
            elif isinstance(v, list):
                setattr(node, fname, [_substitute(ck, x, name, repl) if isinstance(x, ast.Expr)
                                      else x for x in v])
    return node


def _copy_flags(ck: _Checker, src: Any, dst: Any) -> None:
    for a, b in zip(_walk_exprs(src), _walk_exprs(dst)):
        f = ck.flags.get(id(a))
        if f:
            ck.flags[id(b)] = set(f)
            ck.alive.append(b)


def _desc2str(pd: ast.ProbeDesc) -> str:
    prov = pd.provider
    if not prov and not pd.module and not pd.function and pd.name in ("BEGIN", "END", "ERROR"):
        prov = "dtrace"
    return f"{prov}:{pd.module}:{pd.function}:{pd.name}"


def _parse_version(s: str) -> Optional[tuple]:
    try:
        return tuple(int(x) for x in s.split("."))
    except ValueError:
        return None


def _parse_size(s: str | int) -> int:
    if isinstance(s, int):  # -x options arrive already parsed (options.set_option)
        return s
    v = s.strip().lower()
    num = v.rstrip("kmgt")
    suf = v[len(num):]
    if not num.isdigit() or len(suf) > 1:
        raise ValueError(s)
    return int(num) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[suf]


# ------------------------------------------------------------------ code-generation checks
# What DTrace checks while generating code for a clause (dt_cg.c): action
# arguments, printf formats, aggregation parameters and the order rules of
# speculations, in statement order.

_ACT_KIND = {"speculate": "spec", "commit": "commit", "discard": "discard", "exit": "exit"}
_DESTRUCTIVE = {"stop", "raise", "system", "breakpoint", "panic", "chill"}


def _validate_clause(ck: _Checker, c: ast.Clause) -> None:
    ck.clsflags = set()
    ck.clause = c
    ck.pdesc = c.probes[0] if c.probes else None
    try:
        _validate_stmts(ck, c.body)
    finally:
        ck.clause = None


def _validate_stmts(ck: _Checker, stmts: list) -> None:
    for s in stmts:
        if isinstance(s, ast.ExprStmt):
            _validate_stmt(ck, s)
        elif isinstance(s, ast.If):
            _validate_stmts(ck, s.then)
            if s.other:
                _validate_stmts(ck, s.other)
        elif isinstance(s, ast.Block):
            _validate_stmts(ck, s.body)


def _clsflags(ck: _Checker, kind: str, node: Any) -> None:
    cf = ck.clsflags
    if kind == "commit":
        if cf & {"datarec", "agg"}:
            raise _err("D_COMM_DREC", node, "commit( ) may not follow data-recording action(s)")
        cf.update({"commit", "commit_discard"})
        return
    if kind == "discard":
        cf.add("commit_discard")
        return
    if kind == "spec":
        if "spec" in cf:
            raise _err("D_SPEC_SPEC", node, "speculate( ) may not follow speculate( )")
        if "commit" in cf:
            raise _err("D_SPEC_COMM", node, "speculate( ) may not follow commit( )")
        if cf & {"datarec", "agg"}:
            raise _err("D_SPEC_DREC", node, "speculate( ) may not follow data-recording "
                       "action(s)")
        cf.add("spec")
        return
    if kind == "agg":
        if "commit" in cf:
            raise _err("D_AGG_COMM", node, "aggregating actions may not follow commit( )")
        if "spec" in cf:
            raise _err("D_AGG_SPEC", node, "aggregating actions may not follow speculate( )")
        cf.add("agg")
        return
    if "spec" in cf:
        if kind in ("destructive", "destructive-norec"):
            raise _err("D_ACT_SPEC", node, "destructive actions may not follow speculate( )")
        if kind == "exit":
            raise _err("D_EXIT_SPEC", node, "exit( ) may not follow speculate( )")
    if kind == "destructive-norec":     # chill(), raise() ... record no data
        return
    if "commit" in cf:
        raise _err("D_DREC_COMM", node, "data-recording actions may not follow commit( )")
    cf.add("datarec")


def _validate_stmt(ck: _Checker, s: ast.ExprStmt) -> None:
    e = s.expr
    if isinstance(e, ast.Assign) and isinstance(e.sym, AggSym):
        _validate_agg(ck, e)
        return
    if isinstance(e.sym, AggSym) and isinstance(e, (ast.AggVar, ast.Index)):
        _clsflags(ck, "agg", e)
        raise _err("D_AGG_NULL", e, f"expression has null effect: @{e.sym.name}")
    if isinstance(e, ast.Call) and isinstance(e.sym, FuncSym) and e.sym.kind == "action":
        name = e.name
        kind = _ACT_KIND.get(name, "datarec")
        if name in _DESTRUCTIVE:
            kind = "destructive" if name == "system" else "destructive-norec"
        _clsflags(ck, kind, e)
        fn = _ACTION_CHECKS.get(name)
        if fn is not None:
            fn(ck, e)
        return
    if isinstance(e.sym, XlateSym):
        raise _err("D_CG_DYN", e, "expression cannot evaluate to result of dynamic type")


def _argtype(t: DType) -> Any:
    """The printf checker's view of a D type (consume.printf.ArgType)."""
    from ..consume.printf import ArgType
    name = t.name()
    tds = []
    x = t
    while isinstance(x, TypedefType):
        tds.append(x.tname)
        x = x.target
    r = t.resolved
    if isinstance(t, StringType):
        return ArgType("string", name, t.size, False)
    if isinstance(t, StackType):
        return ArgType("stack", name)
    if isinstance(t, SymAddrType):
        return ArgType("usymaddr" if t.user else "symaddr", name)
    if isinstance(t, DynType):
        return ArgType("dyn", name, 0)
    if isinstance(r, IntType):
        return ArgType("int", name, r.size, r.signed, r.name(), tuple(tds), None, r.char)
    if isinstance(r, EnumType):
        return ArgType("int", name, 4, True, r.name(), tuple(tds))
    if isinstance(r, FloatType):
        return ArgType("float", name, r.size, True, r.name(), tuple(tds))
    if isinstance(r, PtrType):
        return ArgType("ptr", name, 8, False, r.name(), tuple(tds))
    if isinstance(r, ArrayType):
        return ArgType("array", name, r.size, False, r.name(), tuple(tds), _argtype(r.elem))
    if isinstance(r, StructType):
        return ArgType(r.sou, name, r.size, False, r.name(), tuple(tds))
    if isinstance(r, VoidType):
        return ArgType("void", name, 0)
    if isinstance(r, FuncType):
        return ArgType("func", name, 0)
    return ArgType("unknown", name)


def _printf_check(ck: _Checker, call: ast.Call, fmt: str, args: Sequence[Any], *,
                  aggregation: bool, agg_is_count: bool, exact: bool) -> None:
    from ..consume import printf as P
    func = call.name
    try:
        pieces = P.parse_format(fmt)
    except P.FormatError as err:
        raise _err(getattr(err, "tag", "D_SYNTAX"), call, err.msg)
    try:
        P.validate_printf(pieces, [_argtype(a) for a in args], func=func, foff=1,
                          aggregation=aggregation, agg_is_count=agg_is_count, exact_len=exact)
    except P.PrintfArgError as err:
        raise _err(err.tag, call, err.msg)


def _fmt_arg(call: ast.Call) -> Optional[ast.Expr]:
    a = call.args[0] if call.args else None
    if isinstance(a, ast.StrLit):
        return a
    return None


def _act_printf(ck: _Checker, e: ast.Call) -> None:
    first = e.args[0]
    if not isinstance(first, ast.StrLit):
        raise _err("D_PRINTF_ARG_FMT", e, f"{e.name}( ) argument #1 is incompatible with "
                   f"prototype:\n\tprototype: string constant\n\t argument: {_tname(first)}")
    fmt = first.val.decode("latin-1") if isinstance(first.val, bytes) else str(first.val)
    if e.name == "freopen":
        if fmt == "\x7f":
            raise _err("D_FREOPEN_INVALID", e, f"{e.name}( ) argument #1 cannot be \"\\x7f\"")
        if fmt == "":
            return
    _printf_check(ck, e, fmt, [a.type for a in e.args[1:]], aggregation=False,
                  agg_is_count=False, exact=True)


def _act_printa(ck: _Checker, e: ast.Call) -> None:
    args = e.args
    argc = len(args)
    if args and isinstance(args[0], ast.StrLit):
        first = args[0]
        fmt = first.val.decode("latin-1") if isinstance(first.val, bytes) else str(first.val)
        rest = args[1:]
        argr = 2
    else:
        fmt = None
        rest = args
        argr = 1
    if argc < argr:
        raise _err("D_PRINTA_PROTO", e, f"{e.name}( ) prototype mismatch: {argc} args passed, "
                   f"{argr} expected")
    proto = None
    for a in rest:
        if not isinstance(a, ast.AggVar):
            raise _err("D_PRINTA_AGGARG", e, f"{e.name}( ) argument #{argr} is incompatible with "
                       f"prototype:\n\tprototype: aggregation\n\t argument: {_tname(a)}")
        s: AggSym = a.sym
        if not s.mod:
            raise _err("D_PRINTA_AGGBAD", e, f"undefined aggregation: @{s.name}")
        if proto is not None:
            _printa_validate(e, proto, s)
        else:
            proto = s
        if fmt is not None:
            _printf_check(ck, e, fmt, list(s.keys or ()), aggregation=True,
                          agg_is_count=(s.func == "count"), exact=False)
        argr += 1


def _printa_validate(e: Any, l: AggSym, r: AggSym) -> None:
    lk, rk = l.keys or (), r.keys or ()
    if len(lk) != len(rk):
        raise _err("D_PRINTA_AGGKEY", e, f"printa( ): @{l.name} and @{r.name} do not have "
                   f"matching key signatures: @{l.name} has {len(lk)} "
                   f"key{'' if len(lk) == 1 else 's'}, @{r.name} has {len(rk)} "
                   f"key{'' if len(rk) == 1 else 's'}")
    for n, (a, b) in enumerate(zip(lk, rk), 1):
        if not arg_compat(a, b):
            raise _err("D_PRINTA_AGGPROTO", e, f"printa( ): @{r.name}[ ] key #{n} is incompatible "
                       f"with @{l.name}:\n{l.name:>9} key #{n}: {a.name()}\n"
                       f"{r.name:>9} key #{n}: {b.name()}")


def _act_trace(ck: _Checker, e: ast.Call) -> None:
    a = e.args[0]
    if a.type.is_void() and not isinstance(a.type, DynType):
        raise _err("D_TRACE_VOID", a, "trace( ) may not be applied to a void expression")
    if isinstance(a.type, DynType):
        raise _err("D_TRACE_DYN", a, "trace( ) may not be applied to a dynamic expression")


def _act_tracemem(ck: _Checker, e: ast.Call) -> None:
    addr, size = e.args[0], e.args[1]
    if not addr.type.is_integer() and not addr.type.is_pointer():
        raise _err("D_TRACEMEM_ADDR", addr, f"tracemem( ) argument #1 is incompatible with "
                   f"prototype:\n\tprototype: pointer or integer\n\t argument: {_tname(addr)}")
    if not _is_posconst(size):
        raise _err("D_TRACEMEM_SIZE", size, "tracemem( ) argument #2 must be a non-zero positive "
                   "integral constant expression")


def _stack_args(e: ast.Call) -> None:
    name = e.name
    args = e.args
    if name == "stack":
        if args and not _is_posconst(args[0]):
            raise _err("D_STACK_SIZE", args[0], "stack( ) argument #1 must be a non-zero positive "
                       "integer constant")
        return
    if args and not _is_posconst(args[0]):
        raise _err("D_USTACK_FRAMES", args[0], f"{name}( ) argument #1 must be a non-zero "
                   f"positive integer constant")
    if len(args) > 1:
        a1 = args[1]
        if not _is_intconst(a1) or (a1.type.is_signed() and _as_i64(a1.value) < 0):
            raise _err("D_USTACK_STRSIZE", a1, f"{name}( ) argument #2 must be a positive "
                       f"integer constant")


def _act_stack(ck: _Checker, e: ast.Call) -> None:
    _stack_args(e)


def _agg_action(tag: str):
    def check(ck: _Checker, e: ast.Call) -> None:
        a = e.args[0]
        if not isinstance(a, ast.AggVar):
            raise _err(f"D_{tag}_AGGARG", e, f"{e.name}( ) argument #1 is incompatible with "
                       f"prototype:\n\tprototype: aggregation\n\t argument: {_tname(a)}")
        if e.name == "normalize" and len(e.args) > 1 and not e.args[1].type.is_scalar():
            raise _err("D_NORMALIZE_SCALAR", e, f"{e.name}( ) argument #2 must be of scalar type")
        if not a.sym.mod:
            raise _err(f"D_{tag}_AGGBAD", e, f"undefined aggregation: @{a.sym.name}")
    return check


def _act_print(ck: _Checker, e: ast.Call) -> None:
    a = e.args[0]
    r = a.type.resolved
    if isinstance(r, PtrType):
        tgt = r.target
        size = tgt.size if not (isinstance(tgt.resolved, StructType) and
                                not tgt.resolved.complete) else 0
        if size == 0:
            raise _err("D_PRINT_SIZE", a, f"print( ) argument #1 reference has type "
                       f"'{tgt.name()}' with size 0; cannot print( ) it.")


def _act_pcap(ck: _Checker, e: ast.Call) -> None:
    a = e.args[0]
    if not a.type.is_integer() and not a.type.is_pointer():
        raise _err("D_PCAP_ADDR", a, f"pcap( ) argument #1 is incompatible with prototype:\n"
                   f"\tprototype: pointer or integer\n\t argument: {_tname(a)}")


_ACTION_CHECKS: dict[str, Callable] = {
    "printf": _act_printf, "system": _act_printf, "freopen": _act_printf,
    "printa": _act_printa, "trace": _act_trace, "tracemem": _act_tracemem,
    "stack": _act_stack, "ustack": _act_stack, "jstack": _act_stack,
    "clear": _agg_action("CLEAR"), "normalize": _agg_action("NORMALIZE"),
    "denormalize": _agg_action("NORMALIZE"), "trunc": _agg_action("TRUNC"),
    "print": _act_print, "pcap": _act_pcap,
}


def _opt_incr(agg_node: Any, args: list, last: int, fn: str, argmax: int) -> Optional[ast.Expr]:
    """dt_cg_agg_opt_incr(): the optional increment argument after args[last]."""
    if last >= len(args) or last + 1 >= len(args):
        return None
    incr = args[last + 1]
    if not incr.type.is_scalar():
        raise _err("D_PROTO_ARG", agg_node, f"{fn}( ) increment value (argument #{argmax}) must "
                   f"be of scalar type")
    extra = len(args) - (last + 2)
    if extra:
        raise _err("D_PROTO_LEN", incr, f"{fn}( ) prototype mismatch: {argmax + extra} args "
                   f"passed, at most {argmax} expected")
    return incr


def _validate_agg(ck: _Checker, e: ast.Assign) -> None:
    tgt = e.target
    a: AggSym = e.sym
    fn: ast.Call = e.val
    _clsflags(ck, "agg", tgt)
    args = fn.args
    if args and not args[0].type.is_scalar():
        raise _err("D_AGG_SCALAR", fn, f"{fn.name}( ) argument #1 must be of scalar type")
    if isinstance(tgt, ast.Index):
        for k in tgt.args:
            if isinstance(k, ast.Call) and k.name in ("stack", "ustack", "jstack"):
                _stack_args(k)
    name = fn.name
    params: tuple = ()
    if name == "quantize":
        _opt_incr(tgt, args, 0, "quantize", 2)
    elif name == "lquantize":
        a1, a2 = args[1], args[2]
        a3 = args[3] if len(args) > 3 else None
        if not _is_intconst(a1):
            raise _err("D_LQUANT_BASETYPE", a1, "lquantize( ) argument #1 must be an integer "
                       "constant")
        base = _as_i64(a1.value)
        if base < -0x80000000 or base > 0x7FFFFFFF:
            raise _err("D_LQUANT_BASEVAL", a1, "lquantize( ) argument #1 must be a 32-bit "
                       "quantity")
        if not _is_intconst(a2):
            raise _err("D_LQUANT_LIMTYPE", a2, "lquantize( ) argument #2 must be an integer "
                       "constant")
        limit = _as_i64(a2.value)
        if limit < -0x80000000 or limit > 0x7FFFFFFF:
            raise _err("D_LQUANT_LIMVAL", a2, "lquantize( ) argument #2 must be a 32-bit "
                       "quantity")
        if limit <= base:
            raise _err("D_LQUANT_MISMATCH", tgt, "lquantize( ) base (argument #1) must be less "
                       "than limit (argument #2)")
        step = 1
        if a3 is not None:
            if not _is_posconst(a3):
                raise _err("D_LQUANT_STEPTYPE", a3, "lquantize( ) argument #3 must be a non-zero "
                           "positive integer constant")
            step = _as_u64(a3.value)
            if step > 0xFFFF:
                raise _err("D_LQUANT_STEPVAL", a3, "lquantize( ) argument #3 must be a 16-bit "
                           "quantity")
        nlevels = (limit - base) // step
        if nlevels == 0:
            raise _err("D_LQUANT_STEPLARGE", tgt, "lquantize( ) step (argument #3) too large: "
                       "must have at least one quantization level")
        if nlevels > 0xFFFF:
            raise _err("D_LQUANT_STEPSMALL", tgt, "lquantize( ) step (argument #3) too small: "
                       "number of quantization levels must be a 16-bit quantity")
        if a.params:
            obase, olevels, ostep = a.params[0], (a.params[1] - a.params[0]) // a.params[2], \
                a.params[2]
            if obase != base:
                raise _err("D_LQUANT_MATCHBASE", tgt, f"lquantize( ) base (argument #1) doesn't "
                           f"match previous declaration: expected {obase}, found {base}")
            if olevels * ostep != nlevels * step:
                raise _err("D_LQUANT_MATCHLIM", tgt, f"lquantize( ) limit (argument #2) doesn't "
                           f"match previous declaration: expected {obase + olevels * ostep}, "
                           f"found {base + nlevels * step}")
            if ostep != step:
                raise _err("D_LQUANT_MATCHSTEP", tgt, f"lquantize( ) step (argument #3) doesn't "
                           f"match previous declaration: expected {ostep}, found {step}")
        params = (base, limit, step)
        if a3 is not None:
            _opt_incr(tgt, args, 3, "lquantize", 5)
    elif name == "llquantize":
        a1, a2, a3, a4 = args[1], args[2], args[3], args[4]
        if not _is_intconst(a1):
            raise _err("D_LLQUANT_FACTORTYPE", a1, "llquantize( ) argument #1 must be an integer "
                       "constant")
        factor = _as_u64(a1.value)
        if factor > 0xFFFF or factor < 2:
            raise _err("D_LLQUANT_FACTORVAL", a1, "llquantize( ) argument #1 must be an unsigned "
                       "16-bit quantity greater than or equal to 2")
        if not _is_intconst(a2):
            raise _err("D_LLQUANT_LMAGTYPE", a2, "llquantize( ) argument #2 must be an integer "
                       "constant")
        lmag = _as_u64(a2.value)
        if lmag > 0xFFFF:
            raise _err("D_LLQUANT_LMAGVAL", a2, "llquantize( ) argument #2 must be an unsigned "
                       "16-bit quantity")
        if not _is_intconst(a3):
            raise _err("D_LLQUANT_HMAGTYPE", a3, "llquantize( ) argument #3 must be an integer "
                       "constant")
        hmag = _as_u64(a3.value)
        if hmag > 0xFFFF:
            raise _err("D_LLQUANT_HMAGVAL", a3, "llquantize( ) argument #3 must be an unsigned "
                       "16-bit quantity")
        if hmag < lmag:
            raise _err("D_LLQUANT_HMAGVAL", a3, "llquantize( ) argument #3 (high magnitude) must "
                       "be at least argument #2 (low magnitude)")
        if factor ** (hmag + 1) > (1 << 64) - 1:
            raise _err("D_LLQUANT_HMAGVAL", a3, "llquantize( ) argument #3 (high magnitude) will "
                       "cause overflow of 64 bits")
        if not _is_posconst(a4):
            raise _err("D_LLQUANT_STEPTYPE", a4, "llquantize( ) argument #4 must be a non-zero "
                       "positive integer constant")
        steps = _as_u64(a4.value)
        if steps > 0xFFFF:
            raise _err("D_LLQUANT_STEPVAL", a4, "llquantize( ) argument #4 must be an unsigned "
                       "16-bit quantity")
        if steps < factor and factor % steps != 0:
            raise _err("D_LLQUANT_STEPVAL", a1, "llquantize() argument #4 (steps) must evenly "
                       "divide argument #1 (factor) when steps<factor")
        if steps > factor:
            if steps % factor != 0:
                raise _err("D_LLQUANT_STEPVAL", a1, "llquantize() argument #4 (steps) must be a "
                           "multiple of argument #1 (factor) when steps>factor")
            if lmag == 0:
                if (factor * factor) % steps != 0:
                    raise _err("D_LLQUANT_STEPVAL", a1, "llquantize() argument #4 (steps) must "
                               "evenly divide the square of argument #1 (factor) when "
                               "steps>factor and lmag==0")
            elif factor ** (lmag + 1) % steps != 0:
                raise _err("D_LLQUANT_STEPVAL", a1, "llquantize() argument #4 (steps) must evenly "
                           "divide pow(argument #1 (factor), lmag (argument #2) + 1) when "
                           "steps>factor and lmag>0")
        if a.params:
            of, ol, oh, os_ = a.params
            if of != factor:
                raise _err("D_LLQUANT_MATCHFACTOR", tgt, f"llquantize() factor (argument #1) "
                           f"doesn't match previous declaration: expected {of}, found {factor}")
            if ol != lmag:
                raise _err("D_LLQUANT_MATCHLMAG", tgt, f"llquantize() lmag (argument #2) doesn't "
                           f"match previous declaration: expected {ol}, found {lmag}")
            if oh != hmag:
                raise _err("D_LLQUANT_MATCHHMAG", tgt, f"llquantize() hmag (argument #3) doesn't "
                           f"match previous declaration: expected {oh}, found {hmag}")
            if os_ != steps:
                raise _err("D_LLQUANT_MATCHSTEPS", tgt, f"llquantize() steps (argument #4) "
                           f"doesn't match previous declaration: expected {os_}, found {steps}")
        params = (factor, lmag, hmag, steps)
        _opt_incr(tgt, args, 4, "llquantize", 6)
    if params and not a.params:
        a.params = params


# ------------------------------------------------------------------ entry point


def check(program: ast.Program, types: Optional[TypeSource] = None,
          options: Optional[Mapping[str, str]] = None, probe_args: Any = None) -> CheckedProgram:
    """Type-check `program` and resolve its names; raises DError on the first fault.

    `types` supplies kernel types and symbols; `options` are -x options (strsize
    matters here); `probe_args` gives the argument types of probes, as a mapping
    from probe description text to a list of DTypes/type strings or a callable
    taking an ast.ProbeDesc (None: unknown, args[N] is int64_t).
    """
    return _Checker(types, options or {}, probe_args).run(program)
