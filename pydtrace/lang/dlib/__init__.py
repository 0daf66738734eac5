"""DTrace's D library: the .d files of this directory, compiled in front of every program.

DTrace reads every library file before each program (/usr/lib/dtrace/*.d).  Here the same
declarations are made, but only those a program can reach: each file is cut once into its
top-level declarations ("chunks": an inline, typedef, struct, translator... with the
`#pragma D binding/attributes` lines after it), each chunk knowing the names it defines and
the words it uses.  `library_items()` takes the chunks that define a word of the program,
then those their own words need, and parses just them.  A program that names nothing of the
library (`BEGIN { exit(0); }`) pays for nothing but a regular-expression scan; one that uses
`curpsinfo` gets the psinfo_t typedef, its translator and the inlines it needs.  Since a
name the program declares itself selects the library's declaration of it too, clashes are
reported as DTrace reports them.

File-level pragmas, as DTrace has them:
    #pragma D depends_on library F.d   F's declarations come first (F is read before this)
    #pragma D depends_on module M      the file is skipped when the kernel has no module M
    #pragma D depends_on provider P    recorded only (providers are matched later)

Caches: the scanned files (module-level, read once per process: the files do not change
while we run).  Parsed declarations are not cached: the checker annotates them in place.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable, Container, Iterable, Optional

from .. import ast

__all__ = ["LIBDIR", "TypeNames", "library_items", "typedef_names", "program_words",
           "defined_names"]

LIBDIR = os.path.dirname(os.path.abspath(__file__))

_WORD_RE = re.compile(r"(?<![0-9A-Za-z_])[A-Za-z_][A-Za-z0-9_]*")
# comments, strings and character constants, left to right (what a word scan must skip)
_SKIP_RE = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'", re.S)
_DEPENDS_RE = re.compile(r"^[ \t]*#[ \t]*pragma[ \t]+D[ \t]+depends_on[ \t]+(\w+)[ \t]+(\S+)",
                         re.M)
_CONTROL_RE = re.compile(r"^[ \t]*#[^\n]*", re.M)
_KEYWORDS = frozenset(
    "auto break case char const continue counter default do double else enum extern float "
    "for goto if import inline int long offsetof probe provider register restrict return "
    "self short signed sizeof static string stringof struct switch this translator typedef "
    "union unsigned userland void volatile while xlate".split())


@dataclass
class _Chunk:
    """One top-level declaration of a library file: text[start:end] (with its pragmas)."""

    start: int
    end: int
    defines: frozenset
    uses: frozenset
    typedefs: frozenset = frozenset()


@dataclass
class _File:
    name: str
    path: str
    text: str
    chunks: list[_Chunk]
    libraries: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)


_FILES: Optional[list[_File]] = None   # cache: the library, scanned once per process


def _blank(text: str) -> str:
    """`text` with comments blanked (newlines kept, so offsets and lines stay put)."""
    def repl(m: re.Match) -> str:
        s = m.group(0)
        if s.startswith("/*") or s.startswith("//"):
            return re.sub(r"[^\n]", " ", s)
        return s
    return _SKIP_RE.sub(repl, text)


def _words(text: str) -> list[str]:
    """Identifiers of `text` outside strings (comments must already be blank)."""
    return _WORD_RE.findall(_SKIP_RE.sub(" ", text))


_PUNCT_RE = re.compile(r"[{}()\[\];\"']")


def _top_level_split(code: str, start: int, end: int) -> list[tuple[int, int]]:
    """Statements of code[start:end]: spans ending at a `;` outside braces and parentheses."""
    spans, depth, s = [], 0, start
    m = _PUNCT_RE.search(code, start, end)
    while m is not None:
        c, i = m.group(0), m.start()
        nxt = i + 1
        if c in "\"'":
            q = _SKIP_RE.match(code, i)
            nxt = q.end() if q else nxt
        elif c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif depth == 0:  # a top-level ';'
            body = code[s:i + 1]
            lead = len(body) - len(body.lstrip())
            spans.append((s + lead, i + 1))
            s = i + 1
        m = _PUNCT_RE.search(code, nxt, end)
    return spans


_STOP_RES: dict[str, re.Pattern] = {}


def _before_top(stmt: str, stops: str) -> str:
    """The text of `stmt` before the first of `stops` outside brackets."""
    pat = _STOP_RES.get(stops)
    if pat is None:
        pat = _STOP_RES[stops] = re.compile("[{}()\\[\\]" + re.escape(stops) + "]")
    depth = 0
    for m in pat.finditer(stmt):
        c = m.group(0)
        if depth == 0 and c in stops:
            return stmt[:m.start()]
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
    return stmt


def _enumerators(stmt: str) -> set[str]:
    """Names an `enum ... { A, B = 2 }` body defines."""
    lb, rb = stmt.find("{"), stmt.rfind("}")
    if lb < 0 or rb < lb:
        return set()
    out = set()
    for item in stmt[lb + 1:rb].split(","):
        w = _WORD_RE.findall(item)
        if w:
            out.add(w[0])
    return out


def defined_names(stmt: str) -> tuple[set[str], set[str]]:
    """(names, typedef names) a top-level D declaration defines: an inline's or variable's
    name, typedef names, struct/union/enum tags and enumerators, a translator's output type."""
    words = _words(stmt)
    if not words:
        return set(), set()
    names: set[str] = set()
    typedefs: set[str] = set()
    first = words[0]
    head = _words(_before_top(stmt, "{"))
    if first in ("struct", "union", "enum") or (first == "typedef" and len(words) > 2
                                                and words[1] in ("struct", "union", "enum")):
        i = 0 if first != "typedef" else 1
        if len(head) > i + 1:
            names.add(head[i + 1])  # the tag
        if words[i] == "enum":
            names |= _enumerators(stmt)
    if first == "inline":
        w = _words(_before_top(stmt, "=["))
        if w:
            names.add(w[-1])
    elif first == "translator":
        w = _words(_before_top(stmt, "<"))
        if w:
            names.add(w[-1])
    elif first == "typedef":
        body_end = stmt.rfind("}")
        tail = stmt[body_end + 1:] if body_end >= 0 else stmt
        w = _words(_before_top(tail.rstrip().rstrip(";"), "["))
        if w:
            names.add(w[-1])
            typedefs.add(w[-1])
    elif first not in ("struct", "union", "enum") or "}" in stmt:
        body_end = stmt.rfind("}")
        tail = stmt[body_end + 1:] if body_end >= 0 else stmt
        w = _words(_before_top(tail.rstrip().rstrip(";"), "[="))
        if w and w[-1] not in _KEYWORDS:
            names.add(w[-1])
    return names, typedefs


def _scan(name: str, path: str) -> _File:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    code = _blank(text)
    lib = _File(name, path, text, [])
    for m in _DEPENDS_RE.finditer(code):
        cls, what = m.group(1), m.group(2)
        {"library": lib.libraries, "module": lib.modules,
         "provider": lib.providers}.get(cls, []).append(what)
    # control lines are not statements: find the statements in the text between them
    stmt_spans: list[tuple[int, int]] = []
    pos = 0
    for m in _CONTROL_RE.finditer(code):
        stmt_spans += _top_level_split(code, pos, m.start())
        pos = m.end()
    stmt_spans += _top_level_split(code, pos, len(code))
    for i, (s, e) in enumerate(stmt_spans):
        # a chunk runs to the next statement: the pragmas after a declaration are its own
        end = stmt_spans[i + 1][0] if i + 1 < len(stmt_spans) else len(code)
        stmt = code[s:e]
        defs, tdefs = defined_names(stmt)
        uses = frozenset(w for w in _words(stmt) if w not in _KEYWORDS) - defs
        lib.chunks.append(_Chunk(s, end, frozenset(defs), frozenset(uses), frozenset(tdefs)))
    return lib


def _order(files: dict[str, _File]) -> list[_File]:
    """Files with each one's `depends_on library` files before it (then by name)."""
    out: list[_File] = []
    seen: set[str] = set()

    def visit(name: str, stack: tuple = ()) -> None:
        if name in seen or name not in files or name in stack:
            return
        for dep in files[name].libraries:
            visit(dep, stack + (name,))
        seen.add(name)
        out.append(files[name])

    for name in sorted(files):
        visit(name)
    return out


def _library() -> list[_File]:
    global _FILES
    if _FILES is None:
        files = {}
        for name in sorted(os.listdir(LIBDIR)):
            if name.endswith(".d"):
                files[name] = _scan(name, os.path.join(LIBDIR, name))
        _FILES = _order(files)
    return _FILES


_TYPEDEFS: Optional[frozenset] = None  # cache: the typedef names of the library


def typedef_names() -> frozenset:
    """Every type name the library defines (the parser must know them as type names)."""
    global _TYPEDEFS
    if _TYPEDEFS is None:
        out: set[str] = set()
        for f in _library():
            for c in f.chunks:
                out |= c.typedefs
        _TYPEDEFS = frozenset(out)
    return _TYPEDEFS


def program_words(text: str, extra: Iterable[str] = ()) -> set[str]:
    """The identifiers a D program mentions outside comments and strings, plus the words of
    `extra` (e.g. macro arguments that may expand to identifiers) and of the types of the
    built-ins it names (curcpu is a `cpuinfo_t *`, a type of the library)."""
    from .. import builtins

    words = set(_WORD_RE.findall(_SKIP_RE.sub(" ", text)))
    for x in extra:
        words.update(_WORD_RE.findall(str(x)))
    for w in list(words):
        v = builtins.VARIABLES.get(w)
        f = builtins.FUNCTIONS.get(w)
        if v is not None and v.type:
            words.update(_WORD_RE.findall(v.type))
        if f is not None:
            words.update(_WORD_RE.findall(f.proto_text))
    return words


_WORDS: Optional[frozenset] = None  # cache: every identifier of the library's text


def _library_words() -> frozenset:
    """Every identifier in the library files (comments included): a superset of the names
    the library defines, found without cutting the files into declarations."""
    global _WORDS
    if _WORDS is None:
        from .. import builtins

        words: set[str] = set()
        for name in os.listdir(LIBDIR):
            if name.endswith(".d"):
                with open(os.path.join(LIBDIR, name), encoding="utf-8") as f:
                    words.update(_WORD_RE.findall(f.read()))
        # names the library uses but cannot define (it would be an error to)
        words -= _KEYWORDS | builtins.VARIABLES.keys() | builtins.FUNCTIONS.keys()
        _WORDS = frozenset(words)
    return _WORDS


def select(words: set[str], module_ok: Callable[[str], bool] = lambda m: True
           ) -> list[tuple[_File, list[_Chunk]]]:
    """The library chunks a program with these words needs, file by file in load order."""
    if not words & _library_words():
        return []  # the common case, decided without scanning the library
    files = [f for f in _library() if all(module_ok(m) for m in f.modules)]
    needed = set(words)
    chosen: dict[int, bool] = {}
    changed = True
    while changed:
        changed = False
        for f in files:
            for c in f.chunks:
                if id(c) not in chosen and c.defines & needed:
                    chosen[id(c)] = True
                    needed |= c.uses
                    changed = True
    out = []
    for f in files:
        picked = [c for c in f.chunks if id(c) in chosen]
        if picked:
            out.append((f, picked))
    return out


def _chunk_text(f: _File, chunks: list[_Chunk]) -> str:
    """The file's text with everything but `chunks` blanked (lines keep their numbers)."""
    text = f.text
    parts, pos = [], 0
    for c in chunks:
        parts.append(re.sub(r"[^\n]", " ", text[pos:c.start]))
        parts.append(text[c.start:c.end])
        pos = c.end
    parts.append(re.sub(r"[^\n]", " ", text[pos:]))
    return "".join(parts)


class TypeNames:
    """The type names a parser must know besides D's own: the library's typedefs and,
    through `kernel` (e.g. btftypes.KernelTypes, anything supporting `in`), the kernel's."""

    def __init__(self, kernel: Container[str] = frozenset()):
        self.kernel = kernel

    def __contains__(self, name: object) -> bool:
        if name in _library_words() and name in typedef_names():  # scan only if it may be
            return True
        return name in self.kernel


def library_items(text: str, extra_words: Iterable[str] = (),
                  module_ok: Callable[[str], bool] = lambda m: True,
                  type_names: Optional[Container[str]] = None) -> list[ast.Node]:
    """Parsed library declarations the program `text` needs, to put before its own items.
    `type_names` are the type names the parser knows (default: the library's own, see
    TypeNames).  Raises DError (with the library file's name and line) if the library
    does not compile."""
    from ..parser import parse

    picked = select(program_words(text, extra_words), module_ok)
    items: list[ast.Node] = []
    names = type_names if type_names is not None else TypeNames()
    for f, chunks in picked:
        prog = parse(_chunk_text(f, chunks), f.path, (), {}, library=True, is_file=True,
                     typedef_names=names)
        items.extend(i for i in prog.items if not _is_depends(i))
    return items


def _is_depends(item: ast.Node) -> bool:
    if not isinstance(item, ast.Pragma):
        return False
    words = [w for w in item.words if w not in ("pragma",)]
    return len(words) >= 2 and words[0] == "D" and words[1] == "depends_on"
