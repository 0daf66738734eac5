"""The D lexer: tokens, states, constants, control lines and DTrace's lexical faults."""

from __future__ import annotations

import pytest

from pydtrace.lang.errors import DError
from pydtrace.lang.lexer import (
    Lexer,
    Mode,
    bad_idnum,
    int_type_name,
    split_int_text,
    strtoull,
    tokenize,
    unescape,
)


def kinds(text: str, mode: Mode = Mode.EXPR) -> list[str]:
    return [t.kind for t in tokenize(text, mode)][:-1]


def fault(text: str, mode: Mode = Mode.EXPR) -> DError:
    with pytest.raises(DError) as e:
        tokenize(text, mode)
    return e.value


# ---------------------------------------------------------------- expressions (S0)


def test_operators_take_the_longest_match():
    assert kinds("a<<=b>>=c...d->e;") == ["ident", "<<=", "ident", ">>=", "ident", "...",
                                          "ident", "->", "ident", ";"]
    assert kinds("a^^b^c;") == ["ident", "^^", "ident", "^", "ident", ";"]


def test_keywords_and_identifiers_with_backquotes():
    toks = tokenize("sizeof vmlinux`max_pfn `jiffies self this")
    assert [t.kind for t in toks][:-1] == ["sizeof", "ident", "ident", "self", "this"]
    assert toks[1].value == "vmlinux`max_pfn" and toks[2].value == "`jiffies"


def test_aggregation_names():
    toks = tokenize("@counts @ @_")
    assert [(t.kind, t.value) for t in toks][:-1] == [("agg", "counts"), ("agg", ""), ("agg", "")]


def test_integer_constants_keep_spelling_suffix_and_base():
    toks = tokenize("10 0x1fUL 017 0 123ull")
    assert [t.value for t in toks][:-1] == [10, 31, 15, 0, 123]
    assert [t.text for t in toks][:-1] == ["10", "0x1fUL", "017", "0", "123ull"]
    assert [t.suffix for t in toks][:-1] == ["", "UL", "", "", "ull"]
    assert [t.decimal for t in toks][:-1] == [True, False, False, False, True]


def test_integer_overflow_is_d_int_oflow():
    e = fault("\n\n0x12345678123456781")
    assert (e.tag, e.loc.line) == ("D_INT_OFLOW", 3)
    assert e.msg == "constant 0x12345678123456781 results in integer overflow"


def test_bad_octal_digit_is_d_int_digit():
    e = fault("x = 0779;")
    assert (e.tag, e.msg) == ("D_INT_DIGIT", "constant 0779 contains invalid digit 9")


def test_floating_point_constants_are_refused():
    for text in ("1.5", ".5", "1e10", "2f"):
        e = fault(text)
        assert (e.tag, e.msg) == ("D_SYNTAX", "floating-point constants are not permitted"), text
    assert kinds("1L 1u") == ["num", "num"]  # same length as the float spelling: integers


def test_string_escapes():
    tok = tokenize(r'"a\tb\n\x41\101\"\\\q"')[0]
    assert tok.kind == "strlit"
    assert tok.value == b"a\tb\nAA\"\\\\q"  # an unknown escape keeps its backslash


def test_string_stops_at_nul():
    assert tokenize(r'"ab\0cd"')[0].value == b"ab"


def test_newline_in_string_reports_the_next_line():
    e = fault('x = "abc\n";')
    assert (e.tag, e.loc.line, e.msg) == ("D_STR_NL", 2, "newline encountered in string literal")


def test_character_constants():
    toks = tokenize(r"'a' 'ab' '\n' '\0'")
    assert [t.value for t in toks][:-1] == [97, 0x6162, 10, 0]
    assert fault("''").tag == "D_CHR_NULL"
    assert fault("'abcdefghi'").tag == "D_CHR_OFLOW"
    e = fault("'a\n'")
    assert (e.tag, e.loc.line) == ("D_CHR_NL", 2)


def test_unknown_character_is_a_syntax_error():
    e = fault("a # b")
    assert (e.tag, e.msg) == ("D_SYNTAX", 'syntax error near "#"')


def test_comments_and_line_numbers():
    toks = tokenize("/* one\ntwo */ a\n\n  b;")
    assert [(t.value, t.loc.line, t.loc.col) for t in toks[:2]] == [("a", 2, 8), ("b", 4, 3)]


def test_nested_and_unterminated_comments():
    e = fault("/* a\n /* b */")
    assert (e.tag, e.loc.line, e.msg) == ("D_SYNTAX", 2, "/* encountered inside a comment")
    e = fault("/* a\n\n")
    assert (e.loc.line, e.msg) == (3, "end-of-file encountered before matching */")


def test_slash_closes_a_predicate_only_before_end_semicolon_brace_or_slash():
    assert kinds("a / b;") == ["ident", "/", "ident", ";"]
    assert kinds("a / { ") == ["ident", "epred", "{"]
    assert kinds("a / / ;") == ["ident", "epred", "epred", ";"]
    assert kinds("a\n/\n;")[1:] == ["epred", ";"]
    assert kinds("a /= b;") == ["ident", "/=", "ident", ";"]


def test_unbalanced_brackets():
    assert fault("a)").msg == "extra ) in input stream"
    assert fault("a]]").msg == "extra ] in input stream"
    assert fault("(a / {").msg == "closing ) expected in predicate before /"
    assert fault("a[0 /").msg == "closing ] expected in predicate before /"


def test_line_continuation_in_expressions():
    toks = tokenize("a \\\nb;")
    assert [(t.value, t.loc.line) for t in toks[:2]] == [("a", 1), ("b", 2)]


# ---------------------------------------------------------------- outer scope (S2)


def test_probe_descriptions_are_single_tokens():
    toks = tokenize("syscall::open*:entry,tick-1s :::BEGIN fbt:vmlinux:do_sys_open:entry "
                    "pid$1:::entry a[bc]?\\d", Mode.OUTER)
    assert [t.kind for t in toks][:-1] == ["pspec", ",", "pspec", "pspec", "pspec", "pspec",
                                          "pspec"]
    assert toks[0].value == "syscall::open*:entry"


def test_outer_keywords_and_type_names():
    toks = tokenize("int uint32_t x BEGIN", Mode.OUTER)
    assert [t.kind for t in toks][:-1] == ["int", "ident", "pspec", "pspec"]
    assert toks[1].tname
    # `int*x` is a pspec by the longest match; DTrace gives back the type name
    assert kinds("int*x", Mode.OUTER) == ["int", "pspec"]


def test_pspec_option_keeps_words_as_probe_descriptions():
    lx = Lexer("uint32_t", "f", pspec=True, is_typename=lambda n: True)
    assert lx.next(Mode.OUTER).kind == "pspec"


def test_outer_scope_refuses_expression_characters():
    assert fault("BEGIN ;", Mode.OUTER).msg == 'syntax error near ";"'
    assert fault("}", Mode.OUTER).msg == 'syntax error near "}"'


def test_member_names_may_be_keywords():
    lx = Lexer("string", "f")
    tok = lx.next(Mode.MEMBER)
    assert (tok.kind, tok.value) == ("ident", "string")


def test_relexing_from_a_saved_state():
    lx = Lexer("int*x", "f")
    t = lx.next(Mode.OUTER)
    lx.restore(t.before)
    assert lx.next(Mode.EXPR).kind == "int"


# ---------------------------------------------------------------- identifiers (id_or_type)


def test_names_followed_by_assignment_are_known_variables():
    lx = Lexer("pid_t = 1; (pid_t)", "f")
    first = lx.next(Mode.EXPR)
    assert not first.maybe_type  # `=` follows: a variable
    while (t := lx.next(Mode.EXPR)).kind != "ident":
        pass
    assert not t.maybe_type  # and it stays one


def test_unknown_name_shows_rest_of_line_as_dtrace_does():
    tok = tokenize("(vnode_t, x);\nnext;")[1]
    assert tok.near == "vnode_t, x);"


def test_name_at_end_of_input_leaves_dtraces_nul():
    e = fault("x = y")
    assert (e.tag, e.msg) == ("D_SYNTAX", "syntax error near end-of-input")


# ---------------------------------------------------------------- macros


def test_macro_arguments():
    lx = Lexer("$1 $2 $$2 $3 $4 $0", "f", macro_args=["s.d", "42", "foo", '"quoted"', "-7"])
    toks = [lx.next(Mode.EXPR) for _ in range(6)]
    assert [(t.kind, t.value) for t in toks] == [
        ("num", 42), ("ident", "foo"), ("strlit", b"foo"), ("strlit", b"quoted"),
        ("num", 7), ("strlit", b"s.d")]  # "s.d" is neither a number nor a name
    assert toks[4].prefix == "-"
    assert lx.used_macro_args() == {0, 1, 2, 3, 4}


def test_undefined_macro_argument():
    e = fault("\n$1")
    assert (e.tag, e.loc.line, e.msg) == ("D_MACRO_UNDEF", 2, "macro argument $1 is not defined")


def test_defaultargs_gives_zero_and_empty_string():
    lx = Lexer("$5 $$5", "f", defaultargs=True)
    assert [(t.kind, t.value) for t in (lx.next(Mode.EXPR), lx.next(Mode.EXPR))] == [
        ("num", 0), ("strlit", b"")]


def test_macro_variables():
    lx = Lexer("$pid $$uid $nope", "f", macro_vars={"pid": 123, "uid": 0})
    assert (lx.next(Mode.EXPR).value, lx.next(Mode.EXPR).value) == (123, b"0")
    bad = lx.next(Mode.EXPR)
    assert (bad.kind, bad.tag, bad.value) == ("error", "D_MACRO_UNDEF",
                                              "macro variable $nope is not defined")


def test_macro_integer_overflow():
    lx = Lexer("$1", "f", macro_args=["p", "99999999999999999999999"])
    t = lx.next(Mode.EXPR)
    assert (t.tag, t.value) == ("D_MACRO_OFLOW", "macro argument $1 constant "
                                "99999999999999999999999 results in integer overflow")


# ---------------------------------------------------------------- control lines


def pragmas(text: str, **kw):
    got = []
    lx = Lexer(text, "f.d", on_pragma=got.append, **kw)
    toks = []
    while (t := lx.next(Mode.OUTER)).kind != "eof":
        toks.append(t)
    return got, toks


def test_pragma_words_are_reported():
    got, _ = pragmas("#pragma D option quiet\n  #pragma D option bufsize=16k\n")
    assert [p.words for p in got] == [["D", "option", "quiet"], ["D", "option", "bufsize=16k"]]
    assert [p.loc.line for p in got] == [1, 2]


def test_cpp_line_markers_renumber_and_rename():
    _, toks = pragmas('BEGIN\n# 40 "/tmp/x.d"\nEND\n#line 7\nERROR\n')
    assert [(t.value, t.loc.line, t.loc.file) for t in toks] == [
        ("BEGIN", 1, "f.d"), ("END", 40, "/tmp/x.d"), ("ERROR", 8, "/tmp/x.d")]


def test_interpreter_line_is_ignored():
    _, toks = pragmas("#!/usr/sbin/dtrace -s\nBEGIN")
    assert [(t.value, t.loc.line) for t in toks] == [("BEGIN", 2)]


@pytest.mark.parametrize("text, tag, msg, line", [
    ('\n#pragma D error "stop here"\n', "D_PRAGERR", "#error: stop here ", 2),
    ("#pragma D attributes Stable\n", "D_PRAGMA_MALFORM",
     "malformed #pragma attributes <attributes> <ident>", 1),
    ("#pragma D attributes Bogus/Stable x\n", "D_PRAGMA_INVAL",
     "invalid attributes specified by #pragma attributes", 1),
    ("#pragma D binding 1.0 x\n", "D_PRAGMA_MALFORM",
     'malformed #pragma binding "version" <ident>', 1),
    ('#pragma D binding "1.x" x\n', "D_PRAGMA_INVAL",
     "invalid version string specified by #pragma binding", 1),
    ("#pragma D option quiet flowindent\n", "D_PRAGMA_MALFORM",
     "superfluous arguments specified for #pragma option", 1),
    ("#pragma D option\n", "D_PRAGMA_MALFORM", "malformed #pragma option <option>=<val>", 1),
    ("#pragma D depends_on library net.d\n", "D_PRAGMA_DEPEND",
     "main program may not explicitly depend on a library", 1),
    ("#pragma D depends_on thing x\n", "D_PRAGMA_INVAL",
     "invalid class thing specified by #pragma depends_on", 1),
    ("#pragma D frobnicate\n", "D_PRAGMA_INVAL", "invalid D pragma: frobnicate", 1),
    ("\n#include <x.h>\n", "D_PRAGCTL_INVAL", "invalid control directive: #include", 2),
    ('#"x"\n', "D_PRAGCTL_INVAL", "invalid control directive", 2),
    ("#line x\n", "D_PRAGMA_MALFORM", 'malformed #line <line> [ ["file"] state ]', 1),
    ("#pragma D option quiet", "D_SYNTAX",
     "end-of-file encountered before end of control line", 1),
])
def test_control_line_faults(text, tag, msg, line):
    with pytest.raises(DError) as e:
        pragmas(text)
    assert (e.value.tag, e.value.msg, e.value.loc.line) == (tag, msg, line)


def test_pragma_words_are_spelled_as_written():
    got, _ = pragmas('#pragma D binding "1.0" foo\n#pragma ident "%Z%"\n')
    assert [p.words for p in got] == [["D", "binding", '"1.0"', "foo"], ["ident", '"%Z%"']]


def test_unknown_plain_pragma_is_ignored_and_library_may_depend():
    got, _ = pragmas("#pragma weak foo\n#pragma D depends_on library x.d\n", library=True)
    assert [p.words for p in got] == [["weak", "foo"], ["D", "depends_on", "library", "x.d"]]


def test_pragma_option_pspec_changes_lexing():
    _, toks = pragmas("#pragma D option pspec\nint", is_typename=lambda n: True)
    assert toks[0].kind == "int"  # a keyword stays a keyword
    _, toks = pragmas("#pragma D option pspec\nuint32_t", is_typename=lambda n: True)
    assert toks[0].kind == "pspec"


# ---------------------------------------------------------------- helpers


def test_unescape_octal_and_hex_are_bytes():
    assert unescape(r"\777\x1234\7") == bytes([0xFF, 0x34, 7])


def test_strtoull_like_c():
    assert strtoull("0x1fz") == (31, 4, False)
    assert strtoull("0779") == (0o77, 3, False)
    assert strtoull("-1") == ((1 << 64) - 1, 2, False)
    assert strtoull("x") == (None, 0, False)
    assert strtoull("1" * 30)[2] is True


def test_bad_idnum():
    assert not bad_idnum("123") and not bad_idnum("foo_bar") and not bad_idnum("-5")
    assert bad_idnum("a b") and bad_idnum("") and bad_idnum("x.y")


def test_integer_constant_types_follow_dtrace():
    assert int_type_name(5, "", True) == "int"
    assert int_type_name(0x80000000, "", True) == "long"
    assert int_type_name(0x80000000, "", False) == "unsigned int"
    assert int_type_name(5, "u", True) == "unsigned int"
    assert int_type_name(5, "ULL", False) == "unsigned long long"
    assert int_type_name(1 << 63, "", True) is None  # decimal: signed types only
    assert int_type_name(1 << 63, "", False) == "unsigned long"
    assert split_int_text("0x10UL") == ("UL", False)
