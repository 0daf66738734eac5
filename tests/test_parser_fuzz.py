"""Whatever the text, `parse` either returns a Program or raises DError, and does so quickly."""

from __future__ import annotations

import glob

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pydtrace.lang import ast
from pydtrace.lang.errors import DError
from pydtrace.lang.parser import parse

from corpus import CORPUS

SAMPLES = [
    "BEGIN\n{\n\tx = 1 + 2 * 3;\n\t@a[probefunc] = count();\n\texit(0);\n}\n",
    "syscall::open*:entry /pid == $1/ { self->t = timestamp; }\n"
    "syscall::open*:return /self->t/ { @[execname] = quantize(timestamp - self->t); }\n",
    "struct s { int a : 3; char *b[4]; } v;\ntypedef unsigned long ul_t;\n"
    "inline int K = 5;\nenum e { A, B = 2 };\n"
    "translator struct s < int x > { a = x; };\nBEGIN { trace((ul_t)sizeof(struct s)); }\n",
    '#pragma D option quiet\n# 10 "x.d"\ntick-1s { printf("%s %d\\n", stringof(x), '
    "offsetof(struct s, a)); if (x) { y = 1; } else y = 2; }\n",
    "provider p { probe q(int, char *) : (int); };\nint a[string, int];\nthis int b;\n",
]


def _corpus() -> list[str]:
    texts = []
    for path in sorted(glob.glob(f"{CORPUS}/**/*.d", recursive=True))[::3]:
        with open(path, errors="surrogateescape") as f:
            texts.append(f.read())
    return texts or SAMPLES


PROGRAMS = SAMPLES + _corpus()

FRAGMENTS = [
    "{", "}", "(", ")", "[", "]", ";", ":", ",", ".", "->", "/", "*", "+", "-", "=", "==", "?",
    "!", "~", "&", "&&", "|", "^^", "<", ">", "<<=", "...", "@", "@a", "$1", "$$2", "$pid", "$",
    "#", "\n#pragma D option quiet\n", "\n# 7 \"f.d\"\n", "\n#line 3\n", "\n#error x\n", "/*",
    "*/", "'", "'a'", '"', '"s\\n"', "\\", "\n", " ", "\t", "\0", "x", "y1", "`sym", "mod`sym",
    "0", "0x1F", "0777", "08", "1.5", "99999999999999999999", "BEGIN", "tick-1s",
    "syscall::open*:entry", ":::", "int", "char", "long", "unsigned", "struct", "union", "enum",
    "typedef", "inline", "translator", "provider", "probe", "self", "this", "sizeof", "stringof",
    "offsetof", "xlate", "if", "else", "string", "uint32_t", "pid_t", "const", "static",
    "register", "extern", "counter", "import", "é",
]


def check(text: str, **kw) -> None:
    try:
        prog = parse(text, "fuzz.d", ["fuzz.d", "1", "foo"], {"pid": 1}, **kw)
    except DError as e:
        assert isinstance(e.tag, str) and e.tag.startswith("D_"), e.tag
        assert isinstance(e.msg, str) and e.msg
        assert e.loc is None or e.loc.line >= 0
        return
    assert isinstance(prog, ast.Program)


FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text):
    check(text)


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60), st.booleans())
def test_token_soup(parts, sep):
    check((" " if sep else "").join(parts))


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_token_soup_in_a_clause_and_from_the_command_line(parts):
    check("BEGIN\n{\n" + " ".join(parts) + "\n}\n")
    check(" ".join(parts), is_file=False)


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(PROGRAMS))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["delete", "insert", "copy"]))
        if op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 8)):]
        elif op == "insert":
            text = text[:pos] + draw(st.sampled_from(FRAGMENTS)) + text[pos:]
        else:
            start = draw(st.integers(0, len(text)))
            text = text[:pos] + text[start:start + draw(st.integers(0, 40))] + text[pos:]
    return text


@FUZZ
@given(mutated())
def test_mutated_programs(text):
    check(text)


@settings(max_examples=30, deadline=5000)
@given(st.sampled_from(["(", "-", "!", "*", "++", "sizeof ", "x[", "f(", "a ? (", "if (1) "]),
       st.integers(50, 3000))
def test_deep_nesting_is_a_fault_not_a_crash(opener, depth):
    check("BEGIN\n{\n\tx = " + opener * depth + "1;\n}\n")
    check("int " + "(" * depth + "x" + ")" * depth + ";")
    check("struct a { " * depth + "int x;")


def test_long_flat_programs_are_fine():
    prog = parse("BEGIN { x = " + " + ".join(["1"] * 5000) + "; y = " + " = ".join(["a"] * 3000)
                 + "; z = " + " : ".join(["c ? 1"] * 2000) + " : 0; }")
    assert len(prog.items[0].body) == 3
