"""AST of D programs: plain dataclasses produced by the parser and annotated by the checker.

Every node has `loc` (keyword-only). Expressions also carry `type` (a `types.DType`, filled in by
the checker), `value` (the folded constant for constant expressions, else None) and `sym`
(what a name resolved to: a variable, aggregation, struct member..., set by the checker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import Loc


@dataclass
class Node:
    loc: Loc = field(default_factory=Loc, kw_only=True, compare=False, repr=False)


# ---------------------------------------------------------------- type syntax


@dataclass
class TypeSpec(Node):
    """Base of type specifiers; `const`/`volatile` qualifiers kept as a set of words."""


@dataclass
class BaseTypeSpec(TypeSpec):
    """Keyword types: words in source order, e.g. ('unsigned', 'long', 'long'), ('string',), ('void',).
    No words at all (`extern x;`, `const y;`) is C's implicit int."""

    words: tuple[str, ...]
    quals: frozenset[str] = frozenset()


@dataclass
class TypedefRef(TypeSpec):
    """A typedef name, optionally module scoped: ``vmlinux`pid_t`` -> module='vmlinux'."""

    name: str
    module: Optional[str] = None
    quals: frozenset[str] = frozenset()


@dataclass
class MemberDecl(Node):
    """One member of a struct/union definition: `int x : 3;` -> name 'x', bits Expr.
    An unnamed bit-field (`int : 0;`) has name ''."""

    name: str
    type: "TypeExpr"
    bits: Optional["Expr"] = None


@dataclass
class StructSpec(TypeSpec):
    """`struct NAME` (members None: a reference) or `struct NAME { ... }` (a definition)."""

    kind: str  # 'struct' or 'union'
    name: Optional[str]
    members: Optional[list[MemberDecl]] = None
    module: Optional[str] = None
    quals: frozenset[str] = frozenset()


@dataclass
class Enumerator(Node):
    name: str
    value: Optional["Expr"] = None


@dataclass
class EnumSpec(TypeSpec):
    name: Optional[str]
    items: Optional[list[Enumerator]] = None
    module: Optional[str] = None
    quals: frozenset[str] = frozenset()


@dataclass
class PointerOf(TypeSpec):
    """Derived type: pointer to `base`, with its own qualifiers (`char *const p`)."""

    base: "TypeExpr"
    quals: frozenset[str] = frozenset()


@dataclass
class ArrayOf(TypeSpec):
    """Derived type: `base[size]`; size None for `[]`. For associative arrays
    (`int a[string, int]`) `keys` holds the key types and size is None."""

    base: "TypeExpr"
    size: Optional["Expr"] = None
    keys: Optional[list["TypeExpr"]] = None


@dataclass
class ParamDecl(Node):
    type: "TypeExpr"
    name: Optional[str] = None


@dataclass
class FuncOf(TypeSpec):
    """Derived type: function returning `base`; `varargs` for a trailing `...`."""

    base: "TypeExpr"
    params: list[ParamDecl] = field(default_factory=list)
    varargs: bool = False


TypeExpr = TypeSpec  # a specifier, possibly wrapped in PointerOf/ArrayOf/FuncOf


# ---------------------------------------------------------------- expressions


@dataclass
class Expr(Node):
    type: Any = field(default=None, kw_only=True, compare=False, repr=False)
    value: Any = field(default=None, kw_only=True, compare=False, repr=False)
    sym: Any = field(default=None, kw_only=True, compare=False, repr=False)


@dataclass
class IntLit(Expr):
    """Integer constant; `text` is the source spelling (suffixes decide the C type)."""

    val: int
    text: str = ""


@dataclass
class FloatLit(Expr):
    val: float
    text: str = ""


@dataclass
class CharLit(Expr):
    val: int
    text: str = ""


@dataclass
class StrLit(Expr):
    val: bytes


@dataclass
class Ident(Expr):
    """A bare name: variable, built-in variable, enumerator, inline, function name."""

    name: str


@dataclass
class Symbol(Expr):
    """Backtick-scoped kernel symbol: `` `max_pfn `` (module None) or `` vmlinux`max_pfn ``."""

    name: str
    module: Optional[str] = None
    user: bool = False  # ``mod``sym`` / ````sym``: a user-space symbol


@dataclass
class ScopedVar(Expr):
    """`self->x` or `this->x`."""

    scope: str  # 'self' or 'this'
    name: str


@dataclass
class AggVar(Expr):
    """`@name` (name '' for the anonymous `@`)."""

    name: str


@dataclass
class Unary(Expr):
    """op in '-', '+', '!', '~', '*' (dereference), '&' (address of), '++', '--' (prefix)."""

    op: str
    operand: Expr


@dataclass
class Postfix(Expr):
    """op in '++', '--'."""

    op: str
    operand: Expr


@dataclass
class Binary(Expr):
    """op in '*', '/', '%', '+', '-', '<<', '>>', '<', '<=', '>', '>=', '==', '!=',
    '&', '^', '|', '&&', '^^', '||', ','."""

    op: str
    left: Expr
    right: Expr


@dataclass
class Assign(Expr):
    """op in '=', '+=', '-=', '*=', '/=', '%=', '&=', '^=', '|=', '<<=', '>>='."""

    op: str
    target: Expr
    val: Expr


@dataclass
class Ternary(Expr):
    cond: Expr
    then: Expr
    other: Expr


@dataclass
class Call(Expr):
    """A function or action call `name(args)`."""

    name: str
    args: list[Expr] = field(default_factory=list)


@dataclass
class Index(Expr):
    """`base[a, b]`: associative array, aggregation key, array or pointer subscript."""

    base: Expr
    args: list[Expr] = field(default_factory=list)


@dataclass
class Member(Expr):
    """`base.name` (arrow False) or `base->name` (arrow True)."""

    base: Expr
    name: str
    arrow: bool = False


@dataclass
class Cast(Expr):
    to: TypeExpr
    operand: Expr


@dataclass
class SizeofType(Expr):
    of: TypeExpr


@dataclass
class SizeofExpr(Expr):
    operand: Expr


@dataclass
class Offsetof(Expr):
    of: TypeExpr
    member: str


@dataclass
class Stringof(Expr):
    operand: Expr


@dataclass
class Xlate(Expr):
    """`xlate <to> (operand)`."""

    to: TypeExpr
    operand: Expr


# ---------------------------------------------------------------- statements


@dataclass
class Stmt(Node):
    pass


@dataclass
class ExprStmt(Stmt):
    expr: Expr


@dataclass
class If(Stmt):
    cond: Expr
    then: list[Stmt]
    other: Optional[list[Stmt]] = None


@dataclass
class Block(Stmt):
    """A braced statement list inside a clause body (as if/else branches may be)."""

    body: list[Stmt]


@dataclass
class Empty(Stmt):
    pass


# ---------------------------------------------------------------- program items


@dataclass
class ProbeDesc(Node):
    """One probe description as written (`syscall::open*:entry`, `BEGIN`, `tick-1s`).
    Fields are '' where omitted; `text` is the description as the user wrote it."""

    text: str
    provider: str = ""
    module: str = ""
    function: str = ""
    name: str = ""
    id: Optional[int] = None  # a probe given by number (`123 { }`); the fields are then ''


@dataclass
class Clause(Node):
    probes: list[ProbeDesc]
    predicate: Optional[Expr]
    body: list[Stmt]


@dataclass
class Declarator(Node):
    name: str
    type: TypeExpr  # the full type with pointers/arrays applied to the specifier


@dataclass
class Decl(Node):
    """Declaration: `self int x;`, `typedef int foo_t;`, `struct s { ... };`, `extern int y;`.
    `storage` in None, 'self', 'this', 'extern', 'static', 'register', 'auto', 'typedef'.
    A bare `struct s { ... };` has no declarators."""

    storage: Optional[str]
    spec: TypeSpec
    declarators: list[Declarator] = field(default_factory=list)


@dataclass
class Inline(Node):
    """`inline TYPE NAME = expr;`."""

    type: TypeExpr
    name: str
    expr: Expr
    params: Optional[list[ParamDecl]] = None  # `inline int f[int a, int b] = ...`


@dataclass
class XlateMember(Node):
    name: str
    expr: Expr


@dataclass
class Translator(Node):
    """`translator TO < FROM NAME > { member = expr; ... };`."""

    to: TypeExpr
    frm: TypeExpr
    param: str
    members: list[XlateMember] = field(default_factory=list)


@dataclass
class ProviderProbe(Node):
    """`probe NAME(types) [: (types)];` inside a provider definition."""

    name: str
    params: list[ParamDecl] = field(default_factory=list)
    xlated: Optional[list[ParamDecl]] = None


@dataclass
class Provider(Node):
    """`provider NAME { probe ...; };`: a USDT provider definition."""

    name: str
    probes: list[ProviderProbe] = field(default_factory=list)


@dataclass
class Pragma(Node):
    """`#pragma D option x=y`, `#pragma D depends_on ...`, `#pragma D attributes ...`,
    `#pragma D binding ...`, `#pragma ident`, unknown `#pragma`s. `words` are the tokens after
    `#pragma` as written (strings keep their quotes).  The lexer acts on `#line`/`# N "file"`
    and `#pragma error` itself; they leave no node."""

    words: list[str]


@dataclass
class Program(Node):
    items: list[Node] = field(default_factory=list)
    used_macro_args: set[int] = field(default_factory=set)  # $N indices the text referred to
