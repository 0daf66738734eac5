"""The whole front end, D text to BPF instructions (parse, check, match, generate code),
either succeeds or raises DError, for any input, and quickly. No kernel needed."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pydtrace.compile.program import compile_program, match_probes
from pydtrace.lang import check as checker
from pydtrace.lang.errors import DError
from pydtrace.lang.parser import parse
from pydtrace.providers import default_table
from test_parser_fuzz import FRAGMENTS, PROGRAMS

TABLE = default_table()

VALID = [
    'BEGIN { x = 1; y = x * 2 + 3; printf("%d %d\\n", x, y); exit(0); }',
    'BEGIN { s = "abc"; t = s == "abc" ? "yes" : "no"; trace(t); exit(0); }',
    "syscall::read:entry { self->ts = timestamp; }\n"
    "syscall::read:return /self->ts/ { @[execname] = quantize(timestamp - self->ts); self->ts = 0; }",
    'tick-1s { @a[probefunc, pid] = count(); @b = avg(arg0); @c = lquantize(arg0, 0, 100, 10); }',
    "BEGIN { a[1, \"x\"] = 3; this->v = a[1, \"x\"]; @ = sum(this->v); printa(\"%@d\\n\", @); }",
    "BEGIN { if (pid > 1) { x = 1; } else { x = 2; } trace(x); exit(0); }",
    "END { printf(\"%s %s %s\\n\", probeprov, probefunc, probename); }",
]


def front_end(text: str) -> None:
    """Run every compile stage; only DError may come out."""
    try:
        prog = parse(text, "fuzz.d", ["fuzz.d", "1", "foo"], {"pid": 1})
        checked = checker.check(prog, options={})
        matched = match_probes(checked.clauses, TABLE, zero_ok=True)
        compile_program(checked, matched, TABLE, {})
    except DError as e:
        assert e.tag.startswith("D_") and e.msg


def test_valid_programs_compile():
    for text in VALID:
        prog = parse(text, "ok.d")
        checked = checker.check(prog, options={})
        matched = match_probes(checked.clauses, TABLE)
        compiled = compile_program(checked, matched, TABLE, {})
        assert compiled.programs and all(len(p.asm) > 0 for p in compiled.programs)


@settings(max_examples=150, deadline=2000, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_token_soup(frags):
    front_end(" ".join(frags))


@settings(max_examples=150, deadline=3000, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(PROGRAMS + VALID), st.integers(0, 2**32), st.integers(1, 6))
def test_mutated_programs(text, seed, edits):
    rnd = random.Random(seed)
    chars = list(text)
    for _ in range(edits):
        if not chars:
            break
        i = rnd.randrange(len(chars))
        op = rnd.randrange(3)
        if op == 0:
            del chars[i]
        elif op == 1:
            chars.insert(i, rnd.choice(FRAGMENTS))
        else:
            j = rnd.randrange(len(chars))
            chars[i], chars[j] = chars[j], chars[i]
    front_end("".join(chars))


@settings(max_examples=60, deadline=3000, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(PROGRAMS))
def test_corpus_programs(text):
    front_end(text)
