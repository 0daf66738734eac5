"""D lexer: D source text to tokens, one at a time, in the mode the parser asks for.

DTrace's lexer (dt_lex.l) scans in three states that matter here: the outer scope of a program
(probe descriptions and declarations), expressions, and member names after `.` or `->`.  The
parser passes the state to `Lexer.next`; a token lexed in the wrong state is lexed again from
its saved start (`Lexer.restore`).  Control lines (`#pragma ...`, `# 12 "file"`) are handled
while scanning, as DTrace does, so their faults come in DTrace's order and with its lines.

Line numbers follow DTrace's `yylineno`: a fault is reported on the line the lexer has reached,
which is why tokens carry `end_line` besides their start `loc`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Callable, Mapping, Optional, Sequence

from .ast import Pragma
from .errors import DError, Loc


class Mode(Enum):
    """Lexer states of dt_lex.l that the parser selects."""

    OUTER = "outer"  # S2: probe descriptions and declarations at program scope
    EXPR = "expr"  # S0: clause bodies, predicates, declarations after their first word
    MEMBER = "member"  # SIDENT: the name after `.` or `->` (keywords are names here)


EXPR_KEYWORDS = frozenset(
    "auto break case char const continue counter default do double else enum extern float for "
    "goto if import inline int long offsetof probe provider register restrict return self short "
    "signed sizeof static string stringof struct switch this translator typedef union unsigned "
    "void volatile while xlate".split())

OUTER_KEYWORDS = frozenset(
    "auto char const counter double enum extern float import inline int long provider register "
    "restrict self short signed static string struct this translator typedef union unsigned void "
    "volatile".split())

TYPE_WORDS = frozenset("void char short int long float double signed unsigned string".split())

# Names that DTrace always knows as variables or functions (its pcb_globals): they are never
# taken for type names and never trigger the one-character lookahead of id_or_type().
BUILTIN_IDENTS = frozenset(
    "arg0 arg1 arg2 arg3 arg4 arg5 arg6 arg7 arg8 arg9 args caller chip cpu curcpu curlwpsinfo "
    "curpsinfo curthread cwd epid errno execargs execname fds gid id ipl lgrp pid ppid probefunc "
    "probemod probename probeprov pset regs root stackdepth tid timestamp ucaller uid uregs "
    "ustackdepth vtimestamp walltimestamp zonename "
    "alloca avg basename bcopy breakpoint chill cleanpath clear commit copyin copyinstr copyinto "
    "copyout copyoutstr count d_path denormalize dirname discard exit freopen ftruncate func "
    "getmajor getminor htonl htonll htons index inet_ntoa inet_ntoa6 inet_ntop jstack link_ntop "
    "llquantize lltostr lquantize max min mod msgdsize msgsize mutex_owned mutex_owner "
    "mutex_type_adaptive mutex_type_spin normalize ntohl ntohll ntohs panic pcap print printa "
    "printf progenyof quantize raise rand rindex rw_iswriter rw_read_held rw_write_held setopt "
    "speculate speculation stack stddev stop strchr strjoin strlen strrchr strstr strtok substr "
    "sum sym symaddr system tolower toupper trace tracemem trunc uaddr ufunc umod uregs usym "
    "ustack".split())

# Type names a D program can always use: D's intrinsic typedefs, those of the D library that
# DTrace loads before every program, and common Linux kernel typedefs.  A caller with real type
# information (BTF) passes more through parse(typedef_names=...).
STD_TYPEDEFS = frozenset(
    "int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t intptr_t uintptr_t "
    "ptrdiff_t size_t ssize_t off_t off64_t loff_t caddr_t daddr_t id_t pid_t uid_t gid_t "
    "mode_t umode_t dev_t ino_t nlink_t time_t clock_t key_t hrtime_t uchar_t ushort_t uint_t "
    "ulong_t longlong_t u_longlong_t boolean_t processorid_t psetid_t chipid_t lgrp_id_t "
    "zoneid_t taskid_t projid_t poolid_t timestruc_t lwpsinfo_t psinfo_t cpuinfo_t "
    "conninfo_t netstackid_t ipaddr_t in6_addr_t pktinfo_t csinfo_t ipinfo_t ipv4info_t "
    "ipv6info_t ifinfo_t tcpinfo_t tcpsinfo_t tcplsinfo_t tcpinfoh_t udpinfo_t udpsinfo_t "
    "bufinfo_t devinfo_t fileinfo_t "
    "u8 u16 u32 u64 s8 s16 s32 s64 __u8 __u16 __u32 __u64 __s8 __s16 __s32 __s64 "
    "__be16 __be32 __be64 __le16 __le32 __le64 bool".split())

_WS = frozenset("\f\n\r\t\v ")
_DIGITS = frozenset("0123456789")
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_`")

_IDENT_RE = re.compile(r"[a-zA-Z_`][0-9a-zA-Z_`]*")
_INT_RE = re.compile(r"(?:0[xX][0-9A-Fa-f]+|[0-9]+)[uU]?[lL]?[lL]?")
_FP_RE = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFlL]?")
_PSPEC_RE = re.compile(r"[-$:a-zA-Z_.?*\\\[\]!][-$:0-9a-zA-Z_.`?*\\\[\]!]*")
_STR_BODY_RE = re.compile(r'(?:[^"\\\n]|\\[^\n])*')
_CHR_BODY_RE = re.compile(r"(?:[^'\\\n]|\\[^\n])*")
_AGG_RE = re.compile(r"@[a-zA-Z_][0-9a-zA-Z_]*")
_MACRO_RE = re.compile(
    r"\$\$([0-9]+)|\$([0-9]+)|\$\$([a-zA-Z_`][0-9a-zA-Z_`]*)|\$([a-zA-Z_`][0-9a-zA-Z_`]*)")
_CTL_RE = re.compile(r"[\f\t\v ]*#")
_CTL_WS_RE = re.compile(r"[\f\t\v ]*")
_CTL_WORD_RE = re.compile(r'[^\f\n\t\v "]+')
_COMMENT_END_RE = re.compile(r"/\*|\*/")

_OPERATORS = sorted(
    "... <<= >>= -> ++ -- && || ^^ == != <= >= << >> += -= *= /= %= &= ^= |= "
    "| ^ & < > + - * % ~ ! ? : . = , ; ( ) [ ] { } /".split(), key=len, reverse=True)

_UINT64_MAX = (1 << 64) - 1

# dt_node_int(): the types an integer constant may take, in DTrace's order.
_INT_TYPES = ("int", "unsigned int", "long", "unsigned long", "long long", "unsigned long long")
_INT_LIMITS = (0x7FFFFFFF, 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF, _UINT64_MAX, 0x7FFFFFFFFFFFFFFF,
               _UINT64_MAX)

_STABILITY = ("internal", "private", "obsolete", "external", "unstable", "evolving", "stable",
              "standard")
_DEPCLASS = ("unknown", "cpu", "platform", "group", "isa", "common")


# ---------------------------------------------------------------- helpers shared with the parser


def unescape(text: str) -> bytes:
    """DTrace's stresc2chr(): C escapes to bytes; an unknown escape keeps its backslash."""
    raw = text.encode("utf-8", "surrogatepass")
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        i += 1
        if c != 0x5C or i >= n:
            out.append(c)
            continue
        e = raw[i]
        i += 1
        if 0x30 <= e <= 0x37:  # up to three octal digits
            v = e - 0x30
            for _ in range(2):
                if i < n and 0x30 <= raw[i] <= 0x37:
                    v = v * 8 + raw[i] - 0x30
                    i += 1
                else:
                    break
            out.append(v & 0xFF)
        elif e == ord("x"):
            v = 0
            while i < n and chr(raw[i]) in "0123456789abcdefABCDEF":
                v = v * 16 + int(chr(raw[i]), 16)
                i += 1
            out.append(v & 0xFF)
        elif chr(e) in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[chr(e)])
        else:
            out += bytes((0x5C, e))
    return bytes(out)


_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, '"': 34, "\\": 92}


def strtoull(s: str) -> tuple[Optional[int], int, bool]:
    """C strtoull(s, &end, 0): (value or None if no digits, end index, overflowed)."""
    i, n = 0, len(s)
    while i < n and s[i] in _WS:
        i += 1
    neg = False
    if i < n and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    if s.startswith(("0x", "0X"), i) and i + 2 < n and s[i + 2] in "0123456789abcdefABCDEF":
        base, j = 16, i + 2
        digits = "0123456789abcdefABCDEF"
    elif i < n and s[i] == "0":
        base, j, digits = 8, i, "01234567"
    else:
        base, j, digits = 10, i, "0123456789"
    k = j
    while k < n and s[k] in digits:
        k += 1
    if k == j:
        return None, 0, False
    digits = s[j:k].lstrip("0") or "0"
    if len(digits) > 24:  # far beyond 64 bits (and int() limits long decimal strings)
        return _UINT64_MAX, k, True
    value = int(digits, base)
    if value > _UINT64_MAX:
        return _UINT64_MAX, k, True
    return ((-value) & _UINT64_MAX if neg else value), k, False


def bad_idnum(s: str) -> bool:
    """DTrace's strbadidnum(): true unless `s` is a whole integer or identifier-like word."""
    if not s:
        return True
    value, end, overflow = strtoull(s)
    if value is not None and not overflow and end == len(s):
        return False
    return any(not (c.isascii() and (c.isalnum() or c in "_`")) for c in s)


def int_type_name(value: int, suffix: str, decimal: bool) -> Optional[str]:
    """C type DTrace gives an integer constant (dt_node_int), or None if none can hold it."""
    n = (1 if decimal or suffix[:1] == "u" else 0) + 1
    i = sum(1 if c in "uU" else 2 for c in suffix if c in "uUlL")
    while i < len(_INT_TYPES):
        if value <= _INT_LIMITS[i]:
            return _INT_TYPES[i]
        i += n
    return None


def split_int_text(text: str) -> tuple[str, bool]:
    """(suffix, decimal) of an integer constant's spelling, as dt_lex.l records them."""
    m = re.match(r"(?:0[xX][0-9A-Fa-f]+|[0-9]+)", text)
    end = m.end() if m else 0
    suffix = "".join(c for c in text[end:] if c in "uUlL")
    return suffix, not text.startswith("0")


def _valid_attr(text: str) -> bool:
    """dtrace_str2attr(): name/data/class stability triple, each part optional from the end."""
    parts = text.split("/") if text else []
    if len(parts) > 3:
        return False
    tables = (_STABILITY, _STABILITY, _DEPCLASS)
    return all(p.lower() in t for p, t in zip(parts, tables) if p) and "" not in parts[:-1]


def _valid_version(text: str) -> bool:
    """dt_version_str2num(): up to three dot-separated decimal numbers within DTrace's limits."""
    nums = [0, 0, 0]
    i = 0
    for c in text:
        if c in _DIGITS:
            nums[i] = nums[i] * 10 + int(c)
        elif c != "." or i >= 2:
            return False
        else:
            i += 1
    return nums[0] <= 0xFF and nums[1] <= 0xFFF and nums[2] <= 0xFFF


def _std_typename(name: str) -> bool:
    """Type names D knows without any declaration or kernel types."""
    return name in STD_TYPEDEFS or name in TYPE_WORDS


# ---------------------------------------------------------------- tokens and lexer state


@dataclass
class LexState:
    """Everything the lexer changes while scanning; saved with each token so it can be re-lexed."""

    pos: int = 0
    line: int = 1
    bol: int = 0  # offset where the current line starts, for columns
    file: str = ""
    parens: int = 0  # pcb_parens, pcb_brackets, pcb_braces of dt_lex.l
    brackets: int = 0
    braces: int = 0
    sou_type: bool = False  # just saw struct/union/enum: the next name is a type tag
    eof_nul: bool = False  # a lookahead hit end of input: DTrace pushed back a NUL byte


@dataclass(eq=False)
class Token:
    """One token.  `kind` is the keyword or operator itself, or one of ident, num (integer
    constant), charlit, strlit, agg, pspec, epred (the `/` closing a predicate), eof, error."""

    kind: str  # see the class docstring
    text: str
    loc: Loc
    end_line: int  # DTrace's yylineno once this token is read: the line its faults report
    value: object = None
    near: Optional[str] = None  # DTrace's yytext in "syntax error near ..."
    mode: Mode = Mode.EXPR
    before: Optional[LexState] = None
    tname: bool = False  # certainly a type name (after struct/union/enum, or at outer scope)
    maybe_type: bool = False  # a type name if a type by that name exists (id_or_type)
    suffix: str = ""  # integer constants: [uU][lL][lL] spelling
    decimal: bool = True
    prefix: str = ""  # sign taken from a macro argument's text: "+", "-" or ""
    tag: str = ""  # error tokens: the D_* tag; the message is in `value`


class Lexer:
    """Scans D text on demand.  The parser owns the flags `decl_typedef` and `xlator_input`
    (DTrace keeps them in its pcb) and adds declared names to `known`."""

    def __init__(
        self,
        text: str,
        file: str,
        *,
        macro_args: Sequence[str] = (),
        macro_vars: Mapping[str, int | str] | None = None,
        defaultargs: bool = False,
        pspec: bool = False,
        library: bool = False,
        is_typename: Optional[Callable[[str], bool]] = None,
        on_pragma: Callable[[Pragma], None] = lambda node: None,
    ):
        self.src = text
        self.main_file = file
        self.state = LexState(file=file)
        self.macro_args = list(macro_args)
        self.macro_vars = dict(macro_vars or {})
        self.defaultargs = defaultargs
        self.pspec = pspec
        self.library = library
        self.is_typename = is_typename or _std_typename
        self.on_pragma = on_pragma
        self.known: set[str] = set(BUILTIN_IDENTS)
        self.used_args: set[int] = set()
        self.decl_typedef = False
        self.xlator_input = False
        self.eof_nul_quirk = True  # off for single expressions, where it only gets in the way

    # ------------------------------------------------------------ public

    def restore(self, state: LexState) -> None:
        """Rewind to a saved state (a token's `before`), to lex it again in another mode."""
        self.state = replace(state)

    def next(self, mode: Mode) -> Token:
        """Lex the next token in `mode`; lexical faults come back as kind 'error' tokens."""
        self._skip(mode)
        st = self.state
        before = replace(st)
        if st.pos >= len(self.src):
            if st.eof_nul and self.eof_nul_quirk:
                return self._error(before, mode, "D_SYNTAX", "syntax error near end-of-input",
                                   st.line)
            return Token("eof", "", self._loc(st.pos), st.line, mode=mode, before=before)
        if mode is Mode.OUTER:
            tok = self._outer(mode)
        else:
            tok = self._expr(mode)
        tok.before = before
        tok.mode = mode
        return tok

    def used_macro_args(self) -> set[int]:
        """Indices of the macro arguments ($0, $1, ...) the program referred to."""
        return set(self.used_args)

    # ------------------------------------------------------------ small helpers

    def _loc(self, pos: int, line: int | None = None) -> Loc:
        st = self.state
        return Loc(st.file, st.line if line is None else line, pos - st.bol + 1)

    def _error(self, before: LexState, mode: Mode, tag: str, msg: str, line: int) -> Token:
        return Token("error", "", Loc(self.state.file, line, before.pos - before.bol + 1), line,
                     value=msg, mode=mode, before=before, tag=tag)

    def _fail(self, tag: str, msg: str, line: int) -> DError:
        return DError(tag, Loc(self.state.file, line, 0), msg)

    def _make(self, kind: str, start: int, end: int, **kw) -> Token:
        """A token spanning src[start:end] on the current line; advances past it."""
        st = self.state
        text = self.src[start:end]
        loc = Loc(st.file, st.line, start - st.bol + 1)
        st.pos = end
        kw.setdefault("near", text)
        return Token(kind, text, loc, st.line, **kw)

    def _newline(self, pos: int) -> None:
        st = self.state
        st.line += 1
        st.bol = pos + 1

    def _rest_of_line(self, start: int) -> str:
        end = self.src.find("\n", start)
        return self.src[start:] if end < 0 else self.src[start:end]

    # ------------------------------------------------------------ whitespace, comments, #lines

    def _skip(self, mode: Mode) -> None:
        """Skip blanks, comments, `#!` lines and control lines (which are processed)."""
        src, st, n = self.src, self.state, len(self.src)
        while st.pos < n:
            pos = st.pos
            if mode is not Mode.MEMBER and (pos == 0 or src[pos - 1] == "\n"):
                m = _CTL_RE.match(src, pos)
                if m:
                    if src.startswith("!", m.end()):
                        eol = src.find("\n", pos)
                        st.pos = n if eol < 0 else eol
                    else:
                        self._control_line(m.end())
                    continue
            c = src[pos]
            if c in _WS:
                if c == "\n":
                    self._newline(pos)
                st.pos = pos + 1
            elif c == "\\" and mode is Mode.EXPR and src.startswith("\n", pos + 1):
                self._newline(pos + 1)
                st.pos = pos + 2
            elif src.startswith("/*", pos):
                self._comment(pos)
            else:
                return

    def _comment(self, pos: int) -> None:
        """Skip one comment; DTrace rejects a nested `/*` and a comment left open at the end."""
        src, st = self.src, self.state
        m = _COMMENT_END_RE.search(src, pos + 2)
        end = len(src) if m is None else m.end()
        for i in range(pos, end):
            if src[i] == "\n":
                self._newline(i)
        st.pos = end
        if m is None:
            raise self._fail("D_SYNTAX", "end-of-file encountered before matching */", st.line)
        if m.group() == "/*":
            raise self._fail("D_SYNTAX", "/* encountered inside a comment", st.line)

    def _control_line(self, pos: int) -> None:
        """Read the words of a `#` line (dt_lex.l state S3) and act on them (dt_pragma.c)."""
        src, st, n = self.src, self.state, len(self.src)
        line = st.line
        st.pos = pos
        words: list[tuple[str, object, str]] = []  # (kind, value, source spelling)
        while True:
            st.pos = _CTL_WS_RE.match(src, st.pos).end()
            if st.pos >= n:
                raise self._fail("D_SYNTAX", "end-of-file encountered before end of control line",
                                 st.line)
            c = src[st.pos]
            if c == "\n":
                self._newline(st.pos)
                st.pos += 1
                break
            if c == '"':
                words.append(self._control_string())
                continue
            m = _CTL_WORD_RE.match(src, st.pos)
            word = m.group()
            im = _INT_RE.match(src, st.pos)
            if im and im.end() == m.end():
                value, suffix, decimal = self._int_value(word, st.line)
                if int_type_name(value, suffix, decimal) is None:
                    raise self._fail("D_INT_OFLOW", f"integer constant 0x{value:x} cannot be "
                                     "represented in any built-in integral type", st.line)
                words.append(("int", value, word))
            else:
                words.append(("ident", word, word))
            st.pos = m.end()
        self._directive(words, line)

    def _control_string(self) -> tuple[str, object, str]:
        """A quoted string on a control line: its text without escapes, and as written."""
        src, st = self.src, self.state
        m = _STR_BODY_RE.match(src, st.pos + 1)
        end = m.end()
        if end < len(src) and src[end] == '"':
            written = src[st.pos:end + 1]
            st.pos = end + 1
            value = unescape(m.group()).split(b"\0")[0]
            return "string", value.decode("utf-8", "replace"), written
        if end < len(src) and src[end] == "\n":
            raise self._fail("D_STR_NL", "newline encountered in string literal", st.line + 1)
        raise self._fail("D_SYNTAX", 'syntax error near """', st.line)

    def _directive(self, words: list[tuple[str, object, str]], line: int) -> None:
        """dt_pragma(): dispatch a control line; `line` is the line it is on."""
        if not words:
            return
        level = "dir"
        for i, (kind, value, text) in enumerate(words):
            if kind == "int":
                self._line_directive(words[i:], line, naked=True)
                return
            if kind != "ident":
                raise self._fail("D_PRAGCTL_INVAL", "invalid control directive", line + 1)
            if level == "dir" and text == "pragma":
                level = "sub"
                continue
            if level == "sub" and text == "D":
                level = "dcp"
                continue
            handler = _PRAGMAS.get(text)
            if handler is not None and _LEVELS[handler[0]] <= _LEVELS[level]:
                getattr(self, handler[1])(words[i + 1:], line)
            elif level == "dir":
                raise self._fail("D_PRAGCTL_INVAL", f"invalid control directive: #{text}", line)
            elif level == "dcp":
                raise self._fail("D_PRAGMA_INVAL", f"invalid D pragma: {text}", line)
            if level != "dir":
                self.on_pragma(Pragma([w[2] for w in words[1:]], loc=Loc(self.state.file, line, 1)))
            return

    def _line_directive(self, args, line: int, naked: bool) -> None:
        """`# N ["file" flags...]` from cpp, or `#line N ["file"]`."""
        bad = (not args or args[0][0] != "int"
               or (len(args) > 1 and args[1][0] != "string")
               or any(a[0] != "int" for a in args[2:]))
        if bad:
            raise self._fail("D_PRAGMA_MALFORM", 'malformed #line <line> [ ["file"] state ]',
                             line + 1 if naked else line)
        st = self.state
        if len(args) > 1:
            name = args[1][1]
            st.file = self.main_file if name.startswith("/dev/fd/") else name
        # DTrace sets yylineno to N; after `#line` (not after a bare `#`) it then adds one.
        st.line = args[0][1] if naked else args[0][1] + 1

    def _pragma_attributes(self, args, line: int) -> None:
        if len(args) < 2 or args[0][0] != "ident" or args[1][0] != "ident":
            raise self._fail("D_PRAGMA_MALFORM",
                             "malformed #pragma attributes <attributes> <ident>", line)
        if not _valid_attr(args[0][2]):
            raise self._fail("D_PRAGMA_INVAL", "invalid attributes specified by #pragma attributes",
                             line)

    def _pragma_binding(self, args, line: int) -> None:
        if len(args) < 2 or args[0][0] != "string" or args[1][0] != "ident":
            raise self._fail("D_PRAGMA_MALFORM",
                             'malformed #pragma binding "version" <ident>', line)
        if not _valid_version(args[0][1]):
            raise self._fail("D_PRAGMA_INVAL",
                             "invalid version string specified by #pragma binding",
                             line)

    def _pragma_depends(self, args, line: int) -> None:
        if len(args) < 2 or args[0][0] != "ident" or args[1][0] != "ident":
            raise self._fail("D_PRAGMA_MALFORM",
                             "malformed #pragma depends_on <class> <name>", line)
        cls = args[0][2]
        if cls == "library" and not self.library:
            raise self._fail("D_PRAGMA_DEPEND",
                             "main program may not explicitly depend on a library",
                             line)
        if cls not in ("provider", "module", "library"):
            raise self._fail("D_PRAGMA_INVAL",
                             f"invalid class {cls} specified by #pragma depends_on",
                             line)

    def _pragma_error(self, args, line: int) -> None:
        text = "".join(f"{a[1]} " for a in args if a[0] != "int")
        raise self._fail("D_PRAGERR", f"#error: {text}", line)

    def _pragma_ident(self, args, line: int) -> None:
        """`#ident` and `#pragma ident` are ignored, as in C."""

    def _pragma_line(self, args, line: int) -> None:
        self._line_directive(args, line, naked=False)

    def _pragma_option(self, args, line: int) -> None:
        if not args or args[0][0] != "ident":
            raise self._fail("D_PRAGMA_MALFORM", "malformed #pragma option <option>=<val>", line)
        if len(args) > 1:
            raise self._fail("D_PRAGMA_MALFORM",
                             "superfluous arguments specified for #pragma option",
                             line)
        # Compiler flags set by a pragma change how the rest of this program is lexed.
        if args[0][2] == "pspec":
            self.pspec = True
        elif args[0][2] == "defaultargs":
            self.defaultargs = True

    # ------------------------------------------------------------ outer scope (S2)

    def _outer(self, mode: Mode) -> Token:
        src, st = self.src, self.state
        pos = st.pos
        c = src[pos]
        if c in _DIGITS:
            return self._int_token(pos, _INT_RE.match(src, pos).end())
        m = _PSPEC_RE.match(src, pos)
        if m:
            return self._pspec(pos, m.group())
        if c in "/,{":
            if c == "{":
                st.braces += 1
                st.sou_type = False
            return self._make(c, pos, pos + 1)
        return self._error(replace(st), mode, "D_SYNTAX", self._near_char(c), st.line)

    def _pspec(self, pos: int, text: str) -> Token:
        """A probe description, an outer keyword, or a type name starting a declaration."""
        if text in OUTER_KEYWORDS:
            if text in ("struct", "union", "enum"):
                self.state.sou_type = True
            return self._make(text, pos, pos + len(text))
        if (not self.pspec and not any(ch in text for ch in ":-.?!`")
                and text not in ("BEGIN", "END", "ERROR")):
            star = text.find("*")
            base = text[:star] if star > 0 else text
            if base in TYPE_WORDS:
                return self._make(base, pos, pos + len(base))
            if self.is_typename(base):
                return self._make("ident", pos, pos + len(base), value=base, tname=True)
        return self._make("pspec", pos, pos + len(text), value=text)

    # ------------------------------------------------------------ expressions (S0, SIDENT)

    def _expr(self, mode: Mode) -> Token:
        src, st = self.src, self.state
        pos = st.pos
        c = src[pos]
        if c in _IDENT_START:
            end = _IDENT_RE.match(src, pos).end()
            return self._word(pos, end, mode)
        if c == "$":
            m = _MACRO_RE.match(src, pos)
            if m and (mode is Mode.EXPR or m.group(2) is not None):
                return self._macro(m, mode)
        if c in _DIGITS or (c == "." and pos + 1 < len(src) and src[pos + 1] in _DIGITS):
            return self._number(pos, mode)
        if c == "@":
            m = _AGG_RE.match(src, pos)
            end = m.end() if m else pos + 1
            name = src[pos + 1:end]
            # `@` alone is DTrace's anonymous aggregation "@_"; both are named ''.
            return self._make("agg", pos, end, value="" if name in ("", "_") else name)
        if c == '"':
            return self._string(pos, mode)
        if c == "'":
            return self._char(pos, mode)
        for op in _OPERATORS:
            if src.startswith(op, pos):
                return self._operator(op, pos, mode)
        return self._error(replace(st), mode, "D_SYNTAX", self._near_char(c), st.line)

    @staticmethod
    def _near_char(c: str) -> str:
        if c == "\0":
            return "syntax error near end-of-input"
        return f'syntax error near "{c}"'

    def _word(self, pos: int, end: int, mode: Mode) -> Token:
        """A keyword or identifier; identifiers get DTrace's id_or_type() classification."""
        text = self.src[pos:end]
        if mode is Mode.EXPR and text in EXPR_KEYWORDS:
            if text in ("struct", "union", "enum"):
                self.state.sou_type = True
            return self._make(text, pos, end)
        if mode is Mode.MEMBER:
            return self._make("ident", pos, end, value=text)
        return self._ident(text, pos, end)

    def _ident(self, name: str, pos: int, end: int) -> Token:
        """id_or_type(): names after struct/union/enum are type tags; unknown names get a
        one-character lookahead that marks likely variables (and corrupts yytext, so DTrace's
        message then shows the rest of the line)."""
        st = self.state
        if st.sou_type:
            st.sou_type = False
            return self._make("ident", pos, end, value=name, tname=True)
        if name in self.known:
            return self._make("ident", pos, end, value=name)
        forced = self._forced_ident(end)
        if forced and not self.decl_typedef:
            self.known.add(name)
        tok = self._make("ident", pos, end, value=name, maybe_type=not forced)
        tok.near = self._rest_of_line(pos)
        return tok

    def _forced_ident(self, end: int) -> bool:
        """The lookahead of id_or_type(): is the name surely a variable, not a type?"""
        src, n, st = self.src, len(self.src), self.state
        p = end
        while p < n and src[p] in _WS:
            p += 1
        if p >= n:
            st.eof_nul = True
            return False
        c0 = src[p]
        c1 = src[p + 1] if p + 1 < n else ""
        if c0 in "+-=" and not c1:
            st.eof_nul = True
        if c0 in "+-":
            return c1 == c0
        if c0 == "=":
            return c1 != "="
        if c0 in "[;":
            return True
        if c0 == ",":
            return st.parens == 0
        if c0 == ">":
            return self.xlator_input
        return False

    def _macro(self, m: re.Match, mode: Mode) -> Token:
        """`$N`, `$$N`, `$name`, `$$name`: macro arguments and macro variables."""
        st = self.state
        text = m.group()
        start, end = m.start(), m.end()
        if m.group(1) is not None or m.group(2) is not None:
            digits = (m.group(1) or m.group(2)).lstrip("0") or "0"
            index = int(digits) if len(digits) < 10 else 1 << 32
            if index >= len(self.macro_args) and not self.defaultargs:
                return self._error(replace(st), mode, "D_MACRO_UNDEF",
                                   f"macro argument {text} is not defined", st.line)
            if index < len(self.macro_args):
                self.used_args.add(index)
                value = self.macro_args[index]
            else:
                value = "" if m.group(1) is not None else "0"
            if m.group(1) is not None:
                return self._make("strlit", start, end, value=unescape(value).split(b"\0")[0])
            return self._macro_value(text, value, start, end, mode)
        name = m.group(3) or m.group(4)
        if name not in self.macro_vars:
            return self._error(replace(st), mode, "D_MACRO_UNDEF",
                               f"macro variable {text} is not defined", st.line)
        value = self.macro_vars[name]
        if isinstance(value, str):
            if m.group(3) is not None:
                return self._make("strlit", start, end, value=unescape(value).split(b"\0")[0])
            return self._macro_value(text, value, start, end, mode)
        if m.group(3) is not None:
            return self._make("strlit", start, end, value=str(value & 0xFFFFFFFF).encode())
        return self._make("num", start, end, value=value & _UINT64_MAX)

    def _macro_value(self, text: str, value: str, start: int, end: int, mode: Mode) -> Token:
        """The `$N` rule: the argument becomes a string, an integer or an identifier."""
        st = self.state
        if bad_idnum(value):
            if len(value) != 1 and value.startswith('"') and value.endswith('"'):
                value = value[1:-1]
            return self._make("strlit", start, end, value=unescape(value).split(b"\0")[0])
        if value[0] in _DIGITS or value[0] in "+-":
            prefix = value[0] if value[0] in "+-" else ""
            digits = value[1:] if prefix else value
            number, stop, overflow = strtoull(digits)
            if overflow:
                return self._error(replace(st), mode, "D_MACRO_OFLOW",
                                   f"macro argument {text} constant {digits} results in integer "
                                   "overflow", st.line)
            suffix = "".join(c for c in digits[stop:] if c in "uUlL")
            return self._make("num", start, end, value=number or 0, suffix=suffix,
                              decimal=not digits.startswith("0"), prefix=prefix)
        if mode is Mode.MEMBER:
            return self._make("ident", start, end, value=value)
        return self._ident(value, start, end)

    def _int_value(self, text: str, line: int) -> tuple[int, str, bool]:
        """Value, suffix and decimal flag of an integer constant, checked as dt_lex.l does."""
        value, stop, overflow = strtoull(text)
        if overflow:
            raise self._fail("D_INT_OFLOW", f"constant {text} results in integer overflow", line)
        rest = text[stop:]
        if rest and rest[0] not in "uUlL":
            raise self._fail("D_INT_DIGIT", f"constant {text} contains invalid digit {rest[0]}",
                             line)
        return value or 0, rest, not text.startswith("0")

    def _int_token(self, pos: int, end: int) -> Token:
        st = self.state
        text = self.src[pos:end]
        try:
            value, suffix, decimal = self._int_value(text, st.line)
        except DError as e:
            return self._error(replace(st), Mode.EXPR, e.tag, e.msg, st.line)
        return self._make("num", pos, end, value=value, suffix=suffix, decimal=decimal)

    def _number(self, pos: int, mode: Mode) -> Token:
        """Integer constant; a floating-point spelling (longer match) is an error in D."""
        src, st = self.src, self.state
        im = _INT_RE.match(src, pos)
        fm = _FP_RE.match(src, pos)
        ilen = im.end() - pos if im else 0
        flen = fm.end() - pos if fm else 0
        if flen > ilen:
            return self._error(replace(st), mode, "D_SYNTAX",
                               "floating-point constants are not permitted", st.line)
        return self._int_token(pos, pos + ilen)

    def _string(self, pos: int, mode: Mode) -> Token:
        src, st = self.src, self.state
        m = _STR_BODY_RE.match(src, pos + 1)
        end = m.end()
        if end < len(src) and src[end] == '"':
            value = unescape(m.group()).split(b"\0")[0]
            return self._make("strlit", pos, end + 1, value=value)
        if end < len(src) and src[end] == "\n":
            return self._error(replace(st), mode, "D_STR_NL",
                               "newline encountered in string literal", st.line + 1)
        return self._error(replace(st), mode, "D_SYNTAX", 'syntax error near """', st.line)

    def _char(self, pos: int, mode: Mode) -> Token:
        """Character constant: its bytes, first one most significant, make an int."""
        src, st = self.src, self.state
        m = _CHR_BODY_RE.match(src, pos + 1)
        end = m.end()
        if end < len(src) and src[end] == "'":
            if end == pos + 1:
                return self._error(replace(st), mode, "D_CHR_NULL", "empty character constant",
                                   st.line)
            data = unescape(m.group())
            if len(data) > 8:
                return self._error(replace(st), mode, "D_CHR_OFLOW",
                                                      "character constant is too long",
                                   st.line)
            return self._make("charlit", pos, end + 1, value=int.from_bytes(data, "big"))
        if end < len(src) and src[end] == "\n":
            return self._error(replace(st), mode, "D_CHR_NL",
                               "newline encountered in character constant", st.line + 1)
        return self._error(replace(st), mode, "D_SYNTAX", "syntax error near \"'\"", st.line)

    def _operator(self, op: str, pos: int, mode: Mode) -> Token:
        """Operators, with DTrace's bracket counting and the predicate-closing `/`."""
        st = self.state
        if op == "/":
            return self._slash(pos, mode)
        if op in ("(", "[", "{", "<", ">"):
            st.sou_type = False
        if op in (")", "]", "}"):
            count = {")": "parens", "]": "brackets", "}": "braces"}[op]
            setattr(st, count, getattr(st, count) - 1)
            if getattr(st, count) < 0:
                return self._error(replace(st), mode, "D_SYNTAX", f"extra {op} in input stream",
                                   st.line)
            if op == ")":
                st.sou_type = False
        elif op in ("(", "[", "{"):
            count = {"(": "parens", "[": "brackets", "{": "braces"}[op]
            setattr(st, count, getattr(st, count) + 1)
        return self._make(op, pos, pos + len(op))

    def _slash(self, pos: int, mode: Mode) -> Token:
        """`/` closes a predicate when the next non-blank is end of input, `;`, `{` or `/`.
        Like DTrace, the blanks looked at stay consumed (they count in the line number)."""
        src, st, n = self.src, self.state, len(self.src)
        start_line, start_bol = st.line, st.bol
        p = pos + 1
        while p < n and src[p] in _WS:
            if src[p] == "\n":
                self._newline(p)
            p += 1
        c = src[p] if p < n else ""
        kind = "/"
        if c in ("", ";", "{", "/"):
            if st.parens != 0:
                return self._error(replace(st), mode, "D_SYNTAX",
                                   "closing ) expected in predicate before /", st.line)
            if st.brackets != 0:
                return self._error(replace(st), mode, "D_SYNTAX",
                                   "closing ] expected in predicate before /", st.line)
            kind = "epred"
            if not c:
                st.eof_nul = True
        near = "/" if p > pos + 1 else self._rest_of_line(pos)
        loc = Loc(st.file, start_line, pos - start_bol + 1)
        st.pos = p
        return Token(kind, "/", loc, st.line, near=near)


_LEVELS = {"dir": 0, "sub": 1, "dcp": 2}

# dt_pragma.c's table: directive -> (lowest prefix it needs, handler method)
_PRAGMAS = {
    "attributes": ("dcp", "_pragma_attributes"),
    "binding": ("dcp", "_pragma_binding"),
    "depends_on": ("dcp", "_pragma_depends"),
    "error": ("dir", "_pragma_error"),
    "ident": ("dir", "_pragma_ident"),
    "line": ("dir", "_pragma_line"),
    "option": ("dcp", "_pragma_option"),
}


def tokenize(text: str, mode: Mode = Mode.EXPR, file: str = "<stdin>") -> list[Token]:
    """All tokens of `text` lexed in one mode (for tests and tools); faults raise DError."""
    lx = Lexer(text, file)
    out = []
    while True:
        tok = lx.next(mode)
        if tok.kind == "error":
            raise DError(tok.tag, tok.loc, tok.value)
        out.append(tok)
        if tok.kind == "eof":
            return out
