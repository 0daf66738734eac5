"""D parser: recursive descent over the lexer's tokens, building `ast` nodes.

It follows DTrace's grammar (dt_grammar.y, with the if/else statements of illumos and Oracle
DTrace) and the checks DTrace makes while parsing (dt_decl.c, dt_parser.c, dt_pragma.c), so a
fault comes out as a `DError` with DTrace's tag, message and line.  Checks that need types or
the kernel (undefined names, prototypes, sizes) belong to the checker, not here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Container, Mapping, Optional, Sequence

from . import ast
from .errors import DError, Loc
from .lexer import (
    EXPR_KEYWORDS,
    STD_TYPEDEFS,
    TYPE_WORDS,
    Lexer,
    Mode,
    Token,
    int_type_name,
)

MAX_DEPTH = 100  # nesting of parentheses, unary operators, blocks and declarators

_ASSIGN_OPS = frozenset("= += -= *= /= %= &= ^= |= <<= >>=".split())
_UNARY_OPS = frozenset("& * + - ~ !".split())
_BINARY_PREC = {
    "||": 1, "^^": 2, "&&": 3, "|": 4, "^": 5, "&": 6, "==": 7, "!=": 7,
    "<": 8, "<=": 8, ">": 8, ">=": 8, "<<": 9, ">>": 9, "+": 10, "-": 10,
    "*": 11, "/": 11, "%": 11,
}
_STORAGE = frozenset(("auto", "register", "static", "extern", "typedef"))
_D_STORAGE = _STORAGE | {"self", "this"}
_QUALS = frozenset(("const", "volatile", "restrict"))
_SOU = frozenset(("struct", "union", "enum"))
_TYPE_START = TYPE_WORDS | _QUALS | _SOU
_PROBE_PARTS = ("provider", "module", "function", "name")


def parse(
    text: str,
    file: str = "<stdin>",
    macro_args: Sequence[str] = (),
    macro_vars: Mapping[str, int | str] | None = None,
    *,
    typedef_names: Container[str] = frozenset(),
    defaultargs: bool = False,
    pspec: bool = False,
    is_file: bool = True,
    probe_part: str = "name",
    library: bool = False,
) -> ast.Program:
    """Parse a D program.

    `macro_args[0]` is `$0`, the rest `$1`...; `macro_vars` gives `$pid`, `$target` and the
    like (default: this process's ids).  `typedef_names` adds type names (e.g. from BTF) to
    DTrace's own.  `defaultargs`, `pspec` are the DTrace options of those names; `is_file` is
    False for `-n`-style text, where a probe description may stand alone; `probe_part` is the
    field a one-part description names (`-P`/`-m`/`-f`/`-n`); `library` allows
    `#pragma D depends_on library`.
    """
    if macro_vars is None:
        macro_vars = default_macro_vars()
    p = Parser(text, file, macro_args, macro_vars, typedef_names=typedef_names,
               defaultargs=defaultargs, pspec=pspec, is_file=is_file, probe_part=probe_part,
               library=library)
    try:
        return p.program()
    except RecursionError:
        err = p.too_deep()
    except DError as e:
        err = e
    # DTrace checks declarations, inlines and translators as it parses them, so a fault in
    # one of them comes before a syntax error further down: the caller can check `partial`.
    err.partial = ast.Program(items=p.items + p.pending,
                              used_macro_args=p.lx.used_macro_args())
    raise err


def parse_type(text: str, *, typedef_names: Container[str] = frozenset()) -> ast.TypeExpr:
    """Parse a C/D type name such as "struct file *" (DTrace's DT_CTX_DTYPE), e.g. a probe
    argument type read from tracefs."""
    p = Parser(text, "<type>", (), {}, typedef_names=typedef_names, defaultargs=False,
               pspec=False, is_file=False, probe_part="name", library=False)
    p.mode = Mode.EXPR
    p.lx.eof_nul_quirk = False
    t = p.type_name()
    p.expect("eof")
    return t


def parse_expr(text: str, **kw) -> ast.Expr:
    """Parse one D expression (DTrace's DT_CTX_DEXPR); keywords as for `parse`."""
    p = Parser(text, kw.pop("file", "<expr>"), kw.pop("macro_args", ()),
               kw.pop("macro_vars", None) or {}, typedef_names=kw.pop("typedef_names", ()),
               defaultargs=kw.pop("defaultargs", False), pspec=False, is_file=False,
               probe_part="name", library=False)
    if kw:
        raise TypeError(f"unexpected arguments: {', '.join(kw)}")
    p.mode = Mode.EXPR
    p.lx.eof_nul_quirk = False
    e = p.expression()
    p.expect("eof")
    return e


def default_macro_vars() -> dict[str, int]:
    """The macro variables DTrace defines, taken from the calling process."""
    return {
        "pid": os.getpid(), "ppid": os.getppid(), "uid": os.getuid(), "gid": os.getgid(),
        "euid": os.geteuid(), "egid": os.getegid(), "pgid": os.getpgid(0), "sid": os.getsid(0),
        "projid": 0, "taskid": 0, "target": 0,
    }


# ---------------------------------------------------------------- declaration helpers


class _SpecCheck:
    """DTrace's checks on a list of type specifier words (dt_decl_spec, dt_decl_attr)."""

    def __init__(self, parser: "Parser"):
        self.parser = parser
        self.kind: Optional[str] = None  # int, float, typedef, struct, union, enum
        self.name: Optional[str] = None
        self.attrs: set[str] = set()

    def word(self, word: str, line: int) -> None:
        if word in ("short", "long", "signed", "unsigned"):
            self.attr(word, line)
        else:
            kind = {"float": "float", "double": "float", "string": "typedef"}.get(word, "int")
            self.spec(kind, word, line)

    def spec(self, kind: str, name: Optional[str], line: int) -> None:
        if self.name is not None or self.kind is not None:
            raise self.parser.fail("D_DECL_COMBO", line, "invalid type combination")
        self.kind, self.name = kind, name
        self.check(line)

    def attr(self, attr: str, line: int) -> None:
        if attr == "long" and "long" in self.attrs:
            self.attrs.discard("long")
            attr = "longlong"
        self.attrs.add(attr)
        self.check(line)

    def check(self, line: int) -> None:
        if self.kind is None:
            return
        fail = self.parser.fail
        if self.name == "char" and self.attrs & {"short", "long", "longlong"}:
            raise fail("D_DECL_CHARATTR", line,
                       "invalid type declaration: short and long may not be used with char type")
        if self.name == "void" and self.attrs:
            raise fail("D_DECL_VOIDATTR", line,
                       "invalid type declaration: attributes may not be used with void type")
        if self.kind != "int" and self.attrs & {"signed", "unsigned"}:
            raise fail("D_DECL_SIGNINT", line, "invalid type declaration: signed and unsigned "
                       "may only be used with integer type")
        if self.kind not in ("int", "float") and self.attrs & {"long", "longlong"}:
            raise fail("D_DECL_LONGINT", line, "invalid type declaration: long and long long may "
                       "only be used with integer or floating-point type")


@dataclass
class _Declarator:
    """A parsed declarator: its name (if any) and how it derives a type from the specifier."""

    name: Optional[str]
    tok: Optional[Token]
    build: Callable[[ast.TypeExpr], ast.TypeExpr]
    params: Optional[list[ast.ParamDecl]] = None  # key list of an array suffix on the name


def _identity(t: ast.TypeExpr) -> ast.TypeExpr:
    return t


def _split_scope(name: str) -> tuple[Optional[str], str, bool]:
    """``mod`name`` -> ('mod', 'name', False); `` `name`` -> (None, 'name', False);
    a doubled backquote marks a user-space symbol (dt_xcook_ident)."""
    i = name.rfind("`")
    if i < 0:
        return None, name, False
    user = i > 0 and name[i - 1] == "`"
    scope = name[:i - 1] if user else name[:i]
    return (scope or None), name[i + 1:], user


def _is_void(t: ast.TypeExpr) -> bool:
    return isinstance(t, ast.BaseTypeSpec) and t.words == ("void",)


def _is_assoc(t: ast.TypeExpr) -> bool:
    return isinstance(t, ast.ArrayOf) and t.keys is not None


# ---------------------------------------------------------------- the parser


class Parser:
    """One parse of one D text.  Grammar rules are methods named after dt_grammar.y's rules."""

    def __init__(self, text: str, file: str, macro_args: Sequence[str],
                 macro_vars: Mapping[str, int | str], *, typedef_names: Container[str],
                 defaultargs: bool, pspec: bool, is_file: bool, probe_part: str, library: bool):
        self.lx = Lexer(text, file, macro_args=macro_args, macro_vars=macro_vars,
                        defaultargs=defaultargs, pspec=pspec, library=library,
                        is_typename=self.is_typename, on_pragma=self._pragma)
        self.extra_typedefs = typedef_names
        self.typedefs: set[str] = set()  # typedef names this program declares
        self.defined: set[tuple[str, str]] = set()  # struct/union/enum tags it defines
        self.is_file = is_file
        self.probe_part = _PROBE_PARTS.index(probe_part)
        self.mode = Mode.OUTER
        self._tok: Optional[Token] = None
        self.prev: Optional[Token] = None
        self.depth = 0
        self.items: list[ast.Node] = []
        self.pending: list[ast.Pragma] = []
        self.parens: set[int] = set()  # id() of expressions written in parentheses
        self.parens_alive: list = []  # ...kept alive, so that no other node reuses an id

    # ------------------------------------------------------------ tokens

    @property
    def tok(self) -> Token:
        """The lookahead token, lexed on first use in the current mode."""
        t = self._tok
        if t is None:
            t = self.lx.next(self.mode)
            if t.kind == "error":
                raise DError(t.tag, t.loc, t.value)
            self._tok = t
        return t

    def advance(self) -> Token:
        """Consume the lookahead."""
        t = self.tok
        self._tok = None
        self.prev = t
        return t

    def expect(self, kind: str) -> Token:
        """Consume a token of this kind, or fail as bison does."""
        if self.tok.kind != kind:
            raise self.syntax_error()
        return self.advance()

    def set_mode(self, mode: Mode) -> None:
        """Switch lexer state; a lookahead lexed in another state is lexed again."""
        if mode is self.mode:
            return
        self.mode = mode
        t = self._tok
        if t is not None and t.mode is not mode:
            self.lx.restore(t.before)
            self._tok = None

    def syntax_error(self, t: Optional[Token] = None) -> DError:
        """bison's "syntax error" at the lookahead, worded as DTrace's yyerror() does."""
        t = t or self.tok
        loc = Loc(t.loc.file, t.end_line, t.loc.col)
        if t.kind == "eof":
            return DError("D_SYNTAX", loc, "syntax error near end of input")
        return DError("D_SYNTAX", loc, f'syntax error near "{t.near}"')

    def fail(self, tag: str, line: int, msg: str) -> DError:
        """A fault DTrace reports with xyerror(), on the lexer's current line."""
        return DError(tag, Loc(self.lx.state.file, line, 0), msg)

    def too_deep(self) -> DError:
        t = self._tok or self.prev
        line = t.end_line if t else self.lx.state.line
        return self.fail("D_SYNTAX", line, "program is nested too deeply")

    def enter(self) -> None:
        """Count one level of nesting; DTrace's parser stack is big, ours is not."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.too_deep()

    def leave(self) -> None:
        """Close a level opened by enter()."""
        self.depth -= 1

    def _pragma(self, node: ast.Pragma) -> None:
        self.pending.append(node)

    def _add(self, node: ast.Node) -> None:
        self.items.extend(self.pending)
        self.pending.clear()
        self.items.append(node)

    # ------------------------------------------------------------ type names

    def is_typename(self, name: str) -> bool:
        """dt_type_lookup() for a bare or module-scoped name."""
        if name.startswith("`"):
            return False
        base = name.rsplit("`", 1)[-1]
        return (base in STD_TYPEDEFS or base in self.typedefs or base in TYPE_WORDS
                or base in self.extra_typedefs)

    def is_tname(self, t: Token) -> bool:
        """Is this identifier token a type name where a type could start (DT_TOK_TNAME)?"""
        if t.kind != "ident":
            return False
        return t.tname or (t.maybe_type and self.is_typename(t.value))

    def type_starts(self, t: Token) -> bool:
        """Does a type name start at this token?"""
        return t.kind in _TYPE_START or self.is_tname(t)

    # ------------------------------------------------------------ program

    def program(self) -> ast.Program:
        """translation_unit: external declarations until end of input."""
        first = self.tok
        while True:
            self.set_mode(Mode.OUTER)
            if self.tok.kind == "eof":
                break
            self.external_declaration()
        self.items.extend(self.pending)
        return ast.Program(items=self.items, used_macro_args=self.lx.used_macro_args(),
                           loc=first.loc)

    def external_declaration(self) -> None:
        """A clause, declaration, inline, translator or provider definition."""
        t = self.tok
        k = t.kind
        if k in ("pspec", "num"):
            self.probe_definition()
        elif k == "inline":
            self._add(self.inline_definition())
        elif k == "translator":
            self._add(self.translator_definition())
        elif k == "provider":
            self._add(self.provider_definition())
        elif k in _D_STORAGE or k in _TYPE_START or (k == "ident" and t.tname):
            self._add(self.declaration())
        else:
            raise self.syntax_error()

    # ------------------------------------------------------------ clauses

    def probe_definition(self) -> None:
        """Probe descriptions, then an optional `/predicate/`, then `{ actions }`."""
        first_line = self.tok.end_line
        probes = [self.probe_specifier()]
        while self.tok.kind == ",":
            self.advance()
            if self.tok.kind not in ("pspec", "num"):
                raise self.syntax_error()
            probes.append(self.probe_specifier())
        first = probes[0]
        t = self.tok
        if t.kind == "{":
            self.advance()
            self.set_mode(Mode.EXPR)
            body = self.braced_statements()
            self._add(ast.Clause(probes, None, body, loc=first.loc))
        elif t.kind == "/":
            self.advance()
            self.set_mode(Mode.EXPR)
            pred = self.expression()
            end = self.expect("epred")
            if self.tok.kind != "{":
                line = pred.loc.line if self._is_leaf(pred) else end.end_line
                raise self.fail("D_SYNTAX", line, "expected actions { } following probe "
                                "description and predicate")
            self.advance()
            body = self.braced_statements()
            self._add(ast.Clause(probes, pred, body, loc=first.loc))
        elif self.is_file:
            raise self.fail("D_SYNTAX", first_line,
                            "expected predicate and/or actions following probe description")
        else:
            self._add(ast.Clause(probes, None, [], loc=first.loc))

    @staticmethod
    def _is_leaf(e: ast.Expr) -> bool:
        return isinstance(e, (ast.Ident, ast.IntLit, ast.CharLit, ast.StrLit, ast.AggVar,
                              ast.Symbol))

    def probe_specifier(self) -> ast.ProbeDesc:
        """One probe description (a pspec word, or a probe number)."""
        t = self.advance()
        if t.kind == "num":
            return self._probe_by_id(t)
        return self._probe_by_name(t)

    def _probe_by_id(self, t: Token) -> ast.ProbeDesc:
        """dt_node_pdesc_by_id(): a probe named by its number."""
        if t.value > 0xFFFFFFFF:
            raise self.fail("D_PDESC_INVAL", t.end_line,
                            f"identifier {t.value} exceeds maximum probe id")
        if self.probe_part != 3:
            what = ("providers", "modules", "functions")[self.probe_part]
            raise self.fail("D_PDESC_INVAL", t.end_line,
                            f"probe identifier {t.value} not permitted when specifying {what}")
        return ast.ProbeDesc(t.text, id=t.value, loc=t.loc)

    def _probe_by_name(self, t: Token) -> ast.ProbeDesc:
        """dtrace_xstr2desc(): split at ':' from the right and expand macro references."""
        text = t.value
        parts = text.split(":")
        fields = ["", "", "", ""]
        if len(parts) > self.probe_part + 1:
            raise self.fail("D_PDESC_INVAL", t.end_line,
                            f'invalid probe description "{text}": Overspecified probe description')
        for i, part in enumerate(reversed(parts)):
            value = self._expand_pdesc(part)
            if value is None:
                raise self.fail("D_PDESC_INVAL", t.end_line, f'invalid probe description "{text}": '
                                "Undefined macro variable in probe description")
            fields[self.probe_part - i] = value
        return ast.ProbeDesc(text, *fields, loc=t.loc)

    def _expand_pdesc(self, part: str) -> Optional[str]:
        """The first `$` of a description part: `$N`/`$$N` argument or `$name` variable."""
        i = part.find("$")
        if i < 0:
            return part
        var = part[i:]
        if len(var) > 2 and var[1] == "$":
            var = var[1:]
        if len(var) > 1 and var[1].isascii() and var[1].isdigit():
            j = 1
            while j < len(var) and var[j].isascii() and var[j].isdigit():
                j += 1
            digits = var[1:j].lstrip("0") or "0"
            index = int(digits) if len(digits) < 10 else 1 << 32  # strtol() overflow
            if index >= len(self.lx.macro_args):
                return None
            self.lx.used_args.add(index)
            return part[:i] + self.lx.macro_args[index] + var[j:]
        if len(var) > 1:
            value = self.lx.macro_vars.get(var[1:])
            if value is None:
                return None
            return part[:i] + str(value)
        return None

    def braced_statements(self) -> list[ast.Stmt]:
        """`{ statement_list }` of a clause; `{` already consumed.  Back to outer scope after."""
        body = self.statement_list()
        self.expect("}")
        self.set_mode(Mode.OUTER)
        return body

    # ------------------------------------------------------------ statements

    def statement_list(self) -> list[ast.Stmt]:
        """Statements up to `}`; the last one's `;` is optional."""
        stmts: list[ast.Stmt] = []
        while True:
            k = self.tok.kind
            if k == "}":
                return stmts
            if k == ";":
                self.advance()
            elif k == "if":
                stmts.append(self.if_statement())
            else:
                e = self.expression()
                stmts.append(ast.ExprStmt(e, loc=e.loc))
                if self.tok.kind == ";":
                    self.advance()
                elif self.tok.kind != "}":
                    raise self.syntax_error()

    def if_statement(self) -> ast.If:
        t = self.advance()
        self.enter()
        self.expect("(")
        cond = self.expression()
        self.expect(")")
        then = self.statement_or_block()
        other = None
        if self.tok.kind == "else":
            self.advance()
            other = self.statement_or_block()
        self.leave()
        return ast.If(cond, then, other, loc=t.loc)

    def statement_or_block(self) -> list[ast.Stmt]:
        """An if/else branch: one statement or a braced list."""
        k = self.tok.kind
        if k == "{":
            self.advance()
            body = self.statement_list()
            self.expect("}")
            return body
        if k == ";":
            self.advance()
            return []
        if k == "if":
            return [self.if_statement()]
        e = self.expression()
        self.expect(";")
        return [ast.ExprStmt(e, loc=e.loc)]

    # ------------------------------------------------------------ expressions

    def expression(self) -> ast.Expr:
        """expression: assignment_expression { , assignment_expression }"""
        e = self.assignment()
        while self.tok.kind == ",":
            self.advance()
            e = ast.Binary(",", e, self.assignment(), loc=e.loc)
        return e

    def assignment(self) -> ast.Expr:
        """Right-associative assignments; the target must be a unary expression."""
        targets: list[tuple[ast.Expr, str]] = []
        while True:
            e = self.conditional()
            op = self.tok.kind
            if op not in _ASSIGN_OPS:
                break
            if not self._is_unary(e):
                raise self.syntax_error()
            self.advance()
            targets.append((e, op))
        for target, op in reversed(targets):
            e = ast.Assign(op, target, e, loc=target.loc)
        return e

    def _is_unary(self, e: ast.Expr) -> bool:
        return id(e) in self.parens or not isinstance(
            e, (ast.Binary, ast.Ternary, ast.Cast, ast.Assign))

    def conditional(self) -> ast.Expr:
        """a ? b : c ? d : e, right-associative, without recursing on the chain."""
        arms: list[tuple[ast.Expr, ast.Expr]] = []
        while True:
            cond = self.binary(1)
            if self.tok.kind != "?":
                break
            self.advance()
            then = self.expression()
            self.expect(":")
            arms.append((cond, then))
        e = cond
        for c, then in reversed(arms):
            e = ast.Ternary(c, then, e, loc=c.loc)
        return e

    def binary(self, min_prec: int) -> ast.Expr:
        """Binary operators by precedence climbing; all are left-associative."""
        left = self.cast()
        while True:
            op = self.tok.kind
            prec = _BINARY_PREC.get(op)
            if prec is None or prec < min_prec:
                return left
            self.advance()
            right = self.binary(prec + 1)
            left = ast.Binary(op, left, right, loc=left.loc)

    def cast(self) -> ast.Expr:
        return self.unary(cast_ok=True)

    def unary(self, cast_ok: bool = False) -> ast.Expr:
        """unary_expression (cast_expression too when `cast_ok`)."""
        self.enter()
        try:
            return self._unary(cast_ok)
        finally:
            self.leave()

    def _unary(self, cast_ok: bool) -> ast.Expr:
        t = self.tok
        k = t.kind
        if k in ("++", "--"):
            self.advance()
            return ast.Unary(k, self.unary(), loc=t.loc)
        if k in _UNARY_OPS:
            self.advance()
            return ast.Unary(k, self.cast(), loc=t.loc)
        if k == "sizeof":
            return self.sizeof()
        if k == "stringof":
            self.advance()
            return ast.Stringof(self.unary(), loc=t.loc)
        if k == "(":
            self.advance()
            if self.type_starts(self.tok):
                if not cast_ok:
                    raise self.syntax_error()
                to = self.type_name()
                self.expect(")")
                return ast.Cast(to, self.cast(), loc=t.loc)
            return self.postfix(self.paren_rest())
        return self.postfix(self.primary())

    def paren_rest(self) -> ast.Expr:
        """`( expression )` after its `(`."""
        e = self.expression()
        self.expect(")")
        self.parens.add(id(e))
        self.parens_alive.append(e)
        return e

    def sizeof(self) -> ast.Expr:
        """`sizeof (type)` or `sizeof unary_expression`."""
        t = self.advance()
        if self.tok.kind == "(":
            self.advance()
            if self.type_starts(self.tok):
                of = self.type_name()
                self.expect(")")
                return ast.SizeofType(of, loc=t.loc)
            return ast.SizeofExpr(self.postfix(self.paren_rest()), loc=t.loc)
        return ast.SizeofExpr(self.unary(), loc=t.loc)

    def postfix(self, e: ast.Expr) -> ast.Expr:
        """Subscripts, calls, members and ++/-- after a primary expression."""
        while True:
            t = self.tok
            k = t.kind
            if k == "[":
                self.advance()
                args = self.arguments()
                self.expect("]")
                e = ast.Index(e, args, loc=e.loc)
            elif k == "(":
                self.advance()
                args = [] if self.tok.kind == ")" else self.arguments()
                close = self.expect(")")
                e = self.call(e, args, close)
            elif k in (".", "->"):
                self.advance()
                e = self.member(e, k == "->")
            elif k in ("++", "--"):
                self.advance()
                e = ast.Postfix(k, e, loc=e.loc)
            else:
                return e

    def arguments(self) -> list[ast.Expr]:
        """Comma-separated assignment expressions (calls, subscripts)."""
        args = [self.assignment()]
        while self.tok.kind == ",":
            self.advance()
            args.append(self.assignment())
        return args

    def call(self, callee: ast.Expr, args: list[ast.Expr], close: Token) -> ast.Expr:
        """dt_node_func(): only a name can be called."""
        if isinstance(callee, ast.Ident):
            name = callee.name
        elif isinstance(callee, ast.Symbol):
            name = (callee.module or "") + ("``" if callee.user else "`") + callee.name
        elif isinstance(callee, ast.AggVar):
            name = "@" + callee.name
        else:
            raise self.fail("D_FUNC_IDENT", close.end_line,
                            "function designator is not of function type")
        return ast.Call(name, args, loc=callee.loc)

    def member(self, base: ast.Expr, arrow: bool) -> ast.Expr:
        """The name after `.` or `->`, lexed with keywords allowed as names."""
        self.set_mode(Mode.MEMBER)
        t = self.tok
        if t.kind != "ident":
            raise self.syntax_error()
        self.advance()
        self.set_mode(Mode.EXPR)
        if arrow and isinstance(base, ast.Ident) and base.name in ("self", "this"):
            return ast.ScopedVar(base.name, t.value, loc=base.loc)
        return ast.Member(base, t.value, arrow, loc=base.loc)

    def primary(self) -> ast.Expr:
        """Names, constants, aggregations, offsetof and xlate."""
        t = self.tok
        k = t.kind
        if k == "ident":
            if self.is_tname(t):
                raise self.syntax_error()
            self.advance()
            if "`" in t.value:
                module, name, user = _split_scope(t.value)
                return ast.Symbol(name, module, user, loc=t.loc)
            return ast.Ident(t.value, loc=t.loc)
        if k in ("self", "this"):
            self.advance()
            return ast.Ident(k, loc=t.loc)
        if k == "num":
            self.advance()
            return self.int_literal(t)
        if k == "charlit":
            self.advance()
            self._check_int(t.value, "", True, t.end_line)
            return ast.CharLit(t.value, t.text, loc=t.loc)
        if k == "strlit":
            self.advance()
            return ast.StrLit(t.value, loc=t.loc)
        if k == "agg":
            self.advance()
            return ast.AggVar(t.value, loc=t.loc)
        if k == "offsetof":
            return self.offsetof()
        if k == "xlate":
            return self.xlate()
        raise self.syntax_error()

    def int_literal(self, t: Token) -> ast.Expr:
        """dt_node_int(): the constant must fit one of D's integer types."""
        self._check_int(t.value, t.suffix, t.decimal, t.end_line)
        text = t.text
        if text.startswith("$"):  # from a macro: a spelling that keeps its base and suffix
            digits = f"0x{t.value:x}" if not t.decimal and t.value else str(t.value)
            text = digits + t.suffix
        lit = ast.IntLit(t.value, text, loc=t.loc)
        if t.prefix == "-":
            return ast.Unary("-", lit, loc=t.loc)
        return lit

    def _check_int(self, value: int, suffix: str, decimal: bool, line: int) -> None:
        if int_type_name(value, suffix, decimal) is None:
            raise self.fail("D_INT_OFLOW", line, f"integer constant 0x{value:x} cannot be "
                            "represented in any built-in integral type")

    def offsetof(self) -> ast.Expr:
        """`offsetof(type, member)`; the member may be spelled like a keyword."""
        t = self.advance()
        self.expect("(")
        of = self.type_name()
        self.expect(",")
        m = self.tok
        if m.kind != "ident" and m.kind not in EXPR_KEYWORDS:
            raise self.syntax_error()
        self.advance()
        self.expect(")")
        return ast.Offsetof(of, m.value if m.kind == "ident" else m.kind, loc=t.loc)

    def xlate(self) -> ast.Expr:
        """`xlate <type> (expression)`."""
        t = self.advance()
        self.expect("<")
        to = self.type_name()
        self.expect(">")
        self.expect("(")
        operand = self.expression()
        self.expect(")")
        return ast.Xlate(to, operand, loc=t.loc)

    # ------------------------------------------------------------ types

    def type_name(self) -> ast.TypeExpr:
        """specifier_qualifier_list [abstract_declarator], as in casts and sizeof."""
        _, spec = self.specifiers("")
        return self.declarator("abstract").build(spec)

    def specifiers(self, storage_ok: str) -> tuple[Optional[str], ast.TypeSpec]:
        """Storage classes ('d': with self/this, 'c': C only, '': none), qualifiers and type
        words, checked in order as DTrace does."""
        first = self.tok
        storage: Optional[str] = None
        quals: set[str] = set()
        words: list[str] = []
        named: Optional[ast.TypeSpec] = None
        chk = _SpecCheck(self)
        count = 0
        while True:
            t = self.tok
            k = t.kind
            if storage_ok and (k in _STORAGE or (storage_ok == "d" and k in ("self", "this"))):
                if storage is not None:
                    raise self.fail("D_DECL_CLASS", t.end_line,
                                    "only one storage class allowed in a declaration")
                storage = k
                if k == "typedef":
                    self.lx.decl_typedef = True
            elif k in _QUALS:
                quals.add(k)
            elif k in TYPE_WORDS:
                words.append(k)
                chk.word(k, t.end_line)
            elif k in ("struct", "union"):
                named = self.struct_specifier(chk)
                count += 1
                continue
            elif k == "enum":
                named = self.enum_specifier(chk)
                count += 1
                continue
            elif k == "ident" and chk.name is None and self.is_tname(t):
                chk.spec("typedef", t.value, t.end_line)
                module, name, _ = _split_scope(t.value)
                named = ast.TypedefRef(name, module, loc=t.loc)
            else:
                break
            self.advance()
            count += 1
        if count == 0:
            raise self.syntax_error()
        if named is not None:
            named.quals = frozenset(quals)
            return storage, named
        return storage, ast.BaseTypeSpec(tuple(words), frozenset(quals), loc=first.loc)

    def struct_specifier(self, chk: _SpecCheck) -> ast.StructSpec:
        kw = self.advance()
        name, module = self._tag()
        if self.tok.kind != "{":
            if name is None:
                raise self.syntax_error()
            chk.spec(kw.kind, name, self.tok.end_line)
            return ast.StructSpec(kw.kind, name, None, module, loc=kw.loc)
        brace = self.tok
        chk.spec(kw.kind, name, brace.end_line)
        full = self._full_tag(name, module)
        if name is not None and (kw.kind, full) in self.defined:
            raise self.fail("D_DECL_TYPERED", brace.end_line, f"type redeclared: {kw.kind} {full}")
        self.advance()
        self.enter()
        members: list[ast.MemberDecl] = []
        names: set[str] = set()
        while True:
            members += self.struct_declaration(names)
            if self.tok.kind == "}":
                break
        self.advance()
        self.leave()
        if name is not None:
            self.defined.add((kw.kind, full))
        return ast.StructSpec(kw.kind, name, members, module, loc=kw.loc)

    def _tag(self) -> tuple[Optional[str], Optional[str]]:
        """The optional name after struct/union/enum: (name, module)."""
        if self.tok.kind != "ident":
            if self.tok.kind != "{":
                raise self.syntax_error()
            return None, None
        t = self.advance()
        module, name, _ = _split_scope(t.value)
        return name, module

    @staticmethod
    def _full_tag(name: Optional[str], module: Optional[str]) -> str:
        return f"{module}`{name}" if module else (name or "")

    def struct_declaration(self, names: set[str]) -> list[ast.MemberDecl]:
        """specifier_qualifier_list struct_declarator_list ';'"""
        _, spec = self.specifiers("")
        out: list[ast.MemberDecl] = []
        while True:
            start = self.tok
            if start.kind == ":":
                self.advance()
                name, typ, bits = "", spec, self.conditional()
            else:
                d = self.declarator("named")
                name, typ, bits = d.name or "", d.build(spec), None
                if self.tok.kind == ":":
                    self.advance()
                    bits = self.conditional()
            line = self.tok.end_line
            if "`" in name:
                raise self.fail("D_DECL_SCOPE", line,
                                f"D scoping operator may not be used in a member name ({name})")
            if name and name in names:
                raise self.fail("D_UNKNOWN", line, f"failed to define member '{name}': "
                                "Duplicate member or variable name")
            names.add(name)
            out.append(ast.MemberDecl(name, typ, bits, loc=start.loc))
            if self.tok.kind != ",":
                break
            self.advance()
        self.expect(";")
        return out

    def enum_specifier(self, chk: _SpecCheck) -> ast.EnumSpec:
        kw = self.advance()
        name, module = self._tag()
        if self.tok.kind != "{":
            chk.spec("enum", name, self.tok.end_line)
            return ast.EnumSpec(name, None, module, loc=kw.loc)
        brace = self.tok
        chk.spec("enum", name, brace.end_line)
        full = self._full_tag(name, module)
        if name is not None and ("enum", full) in self.defined:
            raise self.fail("D_DECL_TYPERED", brace.end_line, f"type redeclared: enum {full}")
        self.advance()
        items: list[ast.Enumerator] = []
        seen: set[str] = set()
        while True:
            t = self.tok
            if t.kind != "ident":
                raise self.syntax_error()
            self.advance()
            value = None
            if self.tok.kind == "=":
                self.advance()
                value = self.assignment()
            self._enumerator(t.value, seen, self.tok.end_line)
            items.append(ast.Enumerator(t.value, value, loc=t.loc))
            if self.tok.kind != ",":
                break
            self.advance()
        self.expect("}")
        if name is not None:
            self.defined.add(("enum", full))
        return ast.EnumSpec(name, items, module, loc=kw.loc)

    def _enumerator(self, name: str, seen: set[str], line: int) -> None:
        """dt_decl_enumerator()'s checks that need no types."""
        if "`" in name:
            raise self.fail("D_DECL_SCOPE", line,
                            f"D scoping operator may not be used in an enumerator name ({name})")
        if name in seen:
            raise self.fail("D_UNKNOWN", line, f"failed to define enumerator '{name}': "
                            "Duplicate member or variable name")
        seen.add(name)
        self.lx.known.add(name)

    # ------------------------------------------------------------ declarators

    def declarator(self, how: str) -> _Declarator:
        """Pointers then a direct declarator.  `how`: 'named' (a name is required),
        'abstract' (no name, as in casts) or 'either' (function parameters)."""
        self.enter()
        ptrs: list[frozenset[str]] = []
        while self.tok.kind == "*":
            self.advance()
            quals: set[str] = set()
            while self.tok.kind in _QUALS:
                quals.add(self.advance().kind)
            ptrs.append(frozenset(quals))
        d = self.direct_declarator(how)
        self.leave()
        inner = d.build

        def build(base: ast.TypeExpr) -> ast.TypeExpr:
            for q in ptrs:
                base = ast.PointerOf(base, q, loc=base.loc)
            return inner(base)

        return _Declarator(d.name, d.tok, build, d.params)

    def direct_declarator(self, how: str) -> _Declarator:
        t = self.tok
        name: Optional[str] = None
        ntok: Optional[Token] = None
        inner: Callable[[ast.TypeExpr], ast.TypeExpr] = _identity
        suffixes: list[Callable[[ast.TypeExpr], ast.TypeExpr]] = []
        params: Optional[list[ast.ParamDecl]] = None
        if t.kind == "ident" and how != "abstract":
            ntok = self.advance()
            name = ntok.value
        elif t.kind == "(":
            self.advance()
            n = self.tok
            if how == "named" or n.kind in ("*", "(", "[") or (
                    how == "either" and n.kind == "ident" and not self.is_tname(n)):
                sub = self.declarator(how)
                self.expect(")")
                name, ntok, inner = sub.name, sub.tok, sub.build
            else:
                suffixes.append(self.function_suffix())
        elif how == "named":
            raise self.syntax_error()
        while True:
            k = self.tok.kind
            if k == "[":
                suffix, keys = self.array_suffix()
                if not suffixes and inner is _identity:
                    params = keys
                suffixes.append(suffix)
            elif k == "(":
                self.advance()
                suffixes.append(self.function_suffix())
            else:
                break

        def build(base: ast.TypeExpr) -> ast.TypeExpr:
            for s in reversed(suffixes):
                base = s(base)
            return inner(base)

        return _Declarator(name, ntok, build, params)

    def array_suffix(self):
        """`[]`, `[size]` or `[key types]` (an associative array)."""
        self.advance()
        t = self.tok
        if t.kind == "]":
            self.advance()
            return (lambda b: ast.ArrayOf(b, loc=b.loc)), None
        if t.kind == "..." or t.kind in _STORAGE or self.type_starts(t):
            params, lines, va = self.parameter_type_list()
            close = self.expect("]")
            self.check_prototype(params, lines, va, "array", close.end_line,
                                 varargs_ok=False, void_ok=False)
            keys = [p.type for p in params]
            return (lambda b: ast.ArrayOf(b, None, keys, loc=b.loc)), params
        size = self.conditional()
        self.expect("]")
        return (lambda b: ast.ArrayOf(b, size, loc=b.loc)), None

    def function_suffix(self):
        """A parameter list after its `(`; `(void)` and `(...)` included."""
        if self.tok.kind == ")":
            self.advance()
            return lambda b: ast.FuncOf(b, [], False, loc=b.loc)
        params, lines, va = self.parameter_type_list()
        close = self.expect(")")
        self.check_prototype(params, lines, va, "function", close.end_line,
                             varargs_ok=True, void_ok=True)
        varargs = va is not None
        return lambda b: ast.FuncOf(b, params, varargs, loc=b.loc)

    def parameter_type_list(self):
        """Parameters with, for each, the line DTrace reports its faults on, and the `...`."""
        params: list[ast.ParamDecl] = []
        lines: list[int] = []
        if self.tok.kind == "...":
            return params, lines, self.advance()
        while True:
            p, line = self.parameter_declaration()
            params.append(p)
            lines.append(line)
            if self.tok.kind != ",":
                return params, lines, None
            self.advance()
            if self.tok.kind == "...":
                return params, lines, self.advance()

    def parameter_declaration(self) -> tuple[ast.ParamDecl, int]:
        first = self.tok
        storage, spec = self.specifiers("c")
        d = self.declarator("either")
        line = self.tok.end_line
        if storage not in (None, "register"):
            raise self.fail("D_DECL_PARMCLASS", line, "inappropriate storage class for function "
                            "or associative array parameter")
        return ast.ParamDecl(d.build(spec), d.name, loc=first.loc), line

    def check_prototype(self, params, lines, va: Optional[Token], kind: str, end_line: int, *,
                        varargs_ok: bool, void_ok: bool) -> None:
        """dt_decl_prototype()'s checks that need no types beyond the word `void`."""
        voids = 0
        seen: set[str] = set()
        for i, (p, line) in enumerate(zip(params, lines), 1):
            who = p.name or "(anonymous)"
            if _is_assoc(p.type) and kind == "function":
                raise self.fail("D_DECL_PROTO_TYPE", line, f"{kind} prototype may not use "
                                f"parameter of type dynamic variable: {who}, parameter #{i}")
            void = _is_void(p.type)
            voids += void
            if void and not void_ok:
                raise self.fail("D_DECL_PROTO_TYPE", line, f"{kind} prototype may not use "
                                f"parameter of type void: {who}, parameter #{i}")
            if void and p.name:
                raise self.fail("D_DECL_PROTO_NAME", line,
                                f"void parameter may not have a name: {p.name}")
            if p.name and p.name in seen:
                raise self.fail("D_DECL_PROTO_FORM", line, "parameter is already declared in "
                                f"{kind} prototype: {p.name}, parameter #{i}")
            if p.name:
                seen.add(p.name)
        if va is not None and not varargs_ok:
            raise self.fail("D_DECL_PROTO_VARARGS", va.end_line,
                            f"{kind} prototype may not use a variable-length argument list")
        if voids and len(params) + (va is not None) > 1:
            raise self.fail("D_DECL_PROTO_VOID", end_line, "void must be sole parameter")

    # ------------------------------------------------------------ declarations

    def declaration(self) -> ast.Decl:
        """declaration_specifiers [init_declarator_list] ';' at program scope."""
        first = self.tok
        self.mode = Mode.EXPR  # the first word was lexed at outer scope; the rest are not
        storage, spec = self.specifiers("d")
        decls: list[ast.Declarator] = []
        if self.tok.kind == ";":
            semi = self.advance()
            if not isinstance(spec, (ast.StructSpec, ast.EnumSpec)):
                raise self.fail("D_DECL_USELESS", semi.end_line, "useless declaration")
        else:
            while True:
                d = self.declarator("named")
                typ = d.build(spec)
                self.check_declaration(storage, d.name, typ, self.tok.end_line)
                decls.append(ast.Declarator(d.name, typ, loc=d.tok.loc))
                if self.tok.kind != ",":
                    break
                self.advance()
            self.expect(";")
        self.lx.decl_typedef = False
        self.set_mode(Mode.OUTER)
        return ast.Decl(storage, spec, decls, loc=first.loc)

    def check_declaration(self, storage: Optional[str], name: str, typ: ast.TypeExpr,
                          line: int) -> None:
        """dt_node_decl()'s checks that need no types; records typedef and variable names."""
        if "`" in name:
            raise self.fail("D_DECL_SCOPE", line,
                            f"D scoping operator may not be used in a declaration name ({name})")
        cls = storage
        if isinstance(typ, ast.FuncOf) and cls in (None, "static"):
            cls = "extern"
        if cls in ("auto", "register", "static"):
            raise self.fail("D_DECL_BADCLASS", line, "specified storage class not appropriate in D")
        if cls == "typedef":
            self.typedefs.add(name)
            return
        if cls == "extern":
            return
        if isinstance(typ, ast.ArrayOf) and typ.size is None and typ.keys is None:
            raise self.fail("D_DECL_ARRNULL", line, "array declaration requires array dimension "
                            f"or tuple signature: {name}")
        if cls == "this" and _is_assoc(typ):
            raise self.fail("D_DECL_LOCASSC", line,
                            f"associative arrays may not be declared as local variables: {name}")
        if cls is None:
            self.lx.known.add(name)

    def inline_definition(self) -> ast.Inline:
        """`inline TYPE NAME [params] = expr;`"""
        kw = self.advance()
        self.set_mode(Mode.EXPR)
        storage, spec = self.specifiers("d")
        d = self.declarator("named")
        typ = d.build(spec)
        self.expect("=")
        expr = self.assignment()
        semi = self.expect(";")
        if storage is not None:
            raise self.fail("D_DECL_BADCLASS", semi.end_line,
                            "specified storage class not appropriate for inline declaration")
        if isinstance(typ, ast.ArrayOf) and typ.keys is None:
            raise self.fail("D_DECL_ARRNULL", semi.end_line,
                            f"inline declaration requires array tuple signature: {d.name}")
        self.lx.known.add(d.name)
        self.set_mode(Mode.OUTER)
        return ast.Inline(typ, d.name, expr, d.params, loc=kw.loc)

    def translator_definition(self) -> ast.Translator:
        """`translator TO < FROM NAME > { member = expr; ... };`"""
        kw = self.advance()
        self.set_mode(Mode.EXPR)
        to = self.type_name()
        self.expect("<")
        self.lx.xlator_input = True
        frm = self.type_name()
        param = self.tok
        if param.kind != "ident":
            raise self.syntax_error()
        self.advance()
        self.lx.xlator_input = False
        self.expect(">")
        self.expect("{")
        members: list[ast.XlateMember] = []
        while self.tok.kind != "}":
            m = self.expect("ident")
            self.expect("=")
            expr = self.assignment()
            self.expect(";")
            members.append(ast.XlateMember(m.value, expr, loc=m.loc))
        self.advance()
        self.expect(";")
        self.set_mode(Mode.OUTER)
        return ast.Translator(to, frm, param.value, members, loc=kw.loc)

    def provider_definition(self) -> ast.Provider:
        """`provider NAME { probe NAME(types) [: (types)]; ... };`"""
        kw = self.advance()
        self.set_mode(Mode.EXPR)
        name = self.expect("ident")
        self.expect("{")
        probes: list[ast.ProviderProbe] = []
        while self.tok.kind == "probe":
            self.advance()
            pname = self.expect("ident")
            self.expect("(")
            params = self.probe_params()
            xlated = None
            if self.tok.kind == ":":
                self.advance()
                self.expect("(")
                xlated = self.probe_params()
            self.expect(";")
            probes.append(ast.ProviderProbe(pname.value, params, xlated, loc=pname.loc))
        self.expect("}")
        self.expect(";")
        self.set_mode(Mode.OUTER)
        return ast.Provider(name.value, probes, loc=kw.loc)

    def probe_params(self) -> list[ast.ParamDecl]:
        if self.tok.kind == ")":
            self.advance()
            return []
        params, _, _ = self.parameter_type_list()
        self.expect(")")
        return params
