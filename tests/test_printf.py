"""printf(): format parsing, argument checks and run-time formatting.

Expected texts come from the conformance corpus (Oracle's DTrace for Linux)
where it has them, and from C's printf(3) (glibc, through ctypes) for the
plain conversions.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import time

import pytest
from hypothesis import assume, given, settings, strategies as st

from pydtrace.consume.datum import Symbolizer
from pydtrace.consume.printf import (
    Arg, ArgType, FormatError, FormatPiece, PrintfArgError, check_arg,
    conversion_accepts, csprintf, escape_string, format_printf, parse_format,
    type_error, validate_printf, walltime_str)

from corpus import CORPUS


def expected(rel: str) -> str:
    path = os.path.join(CORPUS, rel)
    if not os.path.exists(path):
        pytest.skip(f"conformance corpus not found: {path}")
    return open(path, encoding="utf-8").read().split("-- @@stderr --\n")[0]


def expected_error(rel: str) -> tuple[str, str]:
    """(tag, message) of a corpus error test's expected stderr."""
    path = os.path.join(CORPUS, rel)
    if not os.path.exists(path):
        pytest.skip(f"conformance corpus not found: {path}")
    err = open(path, encoding="utf-8").read().split("-- @@stderr --\n")[1]
    m = re.search(r"\[(D_\w+)\] line \d+: (.*)", err, re.S)
    return m.group(1), m.group(2).rstrip("\n")


def pf(fmt: str, *args: Arg, syms=None) -> str:
    return format_printf(parse_format(fmt), list(args), syms=syms)


def I(v, size=4, signed=True):            # an integer argument
    return Arg(v, "int", size, signed)


def S(s: bytes | str, size=256):           # a string argument
    return Arg(s.encode() if isinstance(s, str) else s, "string", size, False)


INT = ArgType("int", "int", 4, True, "int")
LONG = ArgType("int", "long", 8, True, "long")
UINT64 = ArgType("int", "uint64_t", 8, False, "unsigned long", ("uint64_t",))
STRING = ArgType("string", "string", 256)
VOID = ArgType("void", "void", 0)


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------

def test_parse_pieces_and_fields():
    pieces = parse_format("a%-*.3lldb%%c%?p%@u")
    assert [p.literal for p in pieces] == ["a", None, "b", None, "c", None, None]
    c = pieces[1].conv
    assert (c.text, c.flags, c.width, c.width_star, c.prec, c.prec_star, c.length, c.conv,
            c.number) == ("%-*.3lld", "-", None, True, 3, False, "ll", "d", 1)
    assert pieces[3].conv.conv == "%" and pieces[3].conv.number == 2
    assert pieces[5].conv.width == 16 and pieces[5].conv.conv == "p"
    assert pieces[6].conv.agg and not pieces[6].conv.takes_value
    assert parse_format("") == []
    assert parse_format("plain") == [FormatPiece("plain", None)]


def test_parse_zero_flag_only_before_digits():
    c = parse_format("%010d")[0].conv
    assert (c.zpad, c.width) == (True, 10)
    c = parse_format("%.05d")[0].conv
    assert (c.zpad, c.prec) == (False, 5)
    c = parse_format("%-05d")[0].conv          # '0' after '-' cancels it
    assert (c.left, c.zpad) == (False, True)
    c = parse_format("%0-5d")[0].conv
    assert (c.left, c.zpad) == (True, False)


@pytest.mark.parametrize("fmt,rel", [
    ("%3$d", "printf/err.D_SYNTAX.badconv1.r"),
    ("%Z", "printf/err.D_SYNTAX.badconv3.r"),
    ("%**d", "actions/printf/err.D_SYNTAX.double_width.r"),
    ("%*", "actions/printf/err.D_SYNTAX.missing_fmt-2.r"),
    ("%.*", "actions/printf/err.D_SYNTAX.missing_fmt-3.r"),
    ("%.**d", "actions/printf/err.D_SYNTAX.prec-width.r"),
])
def test_parse_errors_match_dtrace(fmt, rel):
    tag, msg = expected_error(rel)
    with pytest.raises(FormatError) as ei:
        parse_format(fmt)
    assert (ei.value.tag, ei.value.msg) == (tag, msg)


@pytest.mark.parametrize("fmt,msg", [
    ("%hhd", "format conversion #1 is undefined: %hhd"),
    ("%jd", "format conversion #1 is undefined: %j"),      # only h, l, L, w are modifiers
    ("%d%zu", "format conversion #2 is undefined: %z"),
    ("%5%", "format conversion #1 cannot be combined with other format flags: %%"),
    ("%1.2.3d", "format conversion #1 has more than one '.' specified"),
    ("%", "format conversion #1 name expected before end of format string"),
])
def test_parse_errors(fmt, msg):
    with pytest.raises(FormatError, match=re.escape(msg)):
        parse_format(fmt)


# --------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------

def test_conversion_accepts():
    cv = lambda f: parse_format(f)[0].conv
    assert "string" in conversion_accepts(cv("%s"))
    assert "int" in conversion_accepts(cv("%d")) and "float" not in conversion_accepts(cv("%d"))
    assert conversion_accepts(cv("%f")) == {"float"}
    assert "symaddr" in conversion_accepts(cv("%a"))
    assert conversion_accepts(cv("%A")) == {"uaddr"}
    assert "ptr" in conversion_accepts(cv("%A"), target=True)
    assert conversion_accepts(cv("%k")) == {"stack"}
    assert conversion_accepts(cv("%%")) == frozenset()


def test_check_arg_exact_types():
    cv = lambda f: parse_format(f)[0].conv
    short = ArgType("int", "short", 2, True, "short")
    assert check_arg(cv("%hd"), short) and not check_arg(cv("%hd"), INT)
    assert check_arg(cv("%ld"), LONG) and not check_arg(cv("%lld"), LONG)
    assert check_arg(cv("%llx"), UINT64)                 # via the uint64_t typedef
    assert check_arg(cv("%c"), INT) and not check_arg(cv("%c"), LONG)
    assert check_arg(cv("%Y"), UINT64) and not check_arg(cv("%Y"), INT)
    chars = ArgType("array", "char [16]", 16, elem=ArgType("int", "char", 1, True, is_char=True))
    assert check_arg(cv("%s"), chars) and not check_arg(cv("%s"), INT)
    assert check_arg(cv("%p"), ArgType("ptr", "void *", 8, False))
    assert not check_arg(cv("%A"), INT) and check_arg(cv("%A"), INT, target=True)


@pytest.mark.parametrize("fmt,args,rel", [
    ("%s", [], "printf/err.D_PRINTF_ARG_PROTO.novalue.r"),
    ("%s\n", [VOID], "printf/err.D_PRINTF_ARG_TYPE.recursive.r"),
    ("%s %.*d\n", [STRING], "printf/err.D_PRINTF_DYN_PROTO.noprec.r"),
    ("%.*d\n", [STRING, INT], "printf/err.D_PRINTF_DYN_TYPE.badprec.r"),
    ("%d", [INT, INT, INT], "actions/printf/err.D_PRINTF_ARG_EXTRA.too_many_vals.r"),
    ("%d", [], "actions/printf/err.D_PRINTF_ARG_PROTO.missing_val.r"),
    ("%.*d", [INT], "actions/printf/err.D_PRINTF_ARG_PROTO.prec.r"),
    ("%*.*d", [INT, INT], "actions/printf/err.D_PRINTF_ARG_PROTO.width-prec.r"),
    ("%d", [ArgType("agg", "aggregation")], "actions/printf/err.D_PRINTF_ARG_TYPE.agg.r"),
    ("%d", [VOID], "actions/printf/err.D_PRINTF_ARG_TYPE.void.r"),
    ("%*.*d", [INT], "actions/printf/err.D_PRINTF_DYN_PROTO.missing_prec-2.r"),
    ("%.*d", [], "actions/printf/err.D_PRINTF_DYN_PROTO.missing_prec.r"),
    ("%*.*d", [], "actions/printf/err.D_PRINTF_DYN_PROTO.missing_width-2.r"),
    ("%*.*d", [STRING, STRING, INT], "actions/printf/err.D_PRINTF_DYN_TYPE.width-prec.r"),
    ("%*d", [STRING, INT], "actions/printf/err.D_PRINTF_DYN_TYPE.width.r"),
])
def test_validate_printf_matches_dtrace(fmt, args, rel):
    tag, msg = expected_error(rel)
    with pytest.raises(PrintfArgError) as ei:
        validate_printf(parse_format(fmt), args, exact_len=True)
    assert (ei.value.tag, ei.value.msg) == (tag, msg)


@pytest.mark.parametrize("rel", ["printa/err.D_PRINTF_ARG_TYPE.ustack.r",
                                 "printa/err.D_PRINTF_ARG_TYPE.jstack.r"])
def test_validate_printa_key(rel):
    tag, msg = expected_error(rel)
    with pytest.raises(PrintfArgError) as ei:
        validate_printf(parse_format("%p\n"), [ArgType("stack", "stack")], func="printa",
                        aggregation=True)
    assert (ei.value.tag, ei.value.msg) == (tag, msg)


def test_validate_agg_conversion():
    validate_printf(parse_format("%d %@d\n"), [INT], func="printa", aggregation=True)
    with pytest.raises(PrintfArgError) as ei:
        validate_printf(parse_format("%@d"), [], func="printf")
    assert ei.value.tag == "D_PRINTF_AGG_CONV"
    with pytest.raises(PrintfArgError) as ei:
        validate_printf(parse_format("%@s"), [], func="printa", aggregation=True)
    assert ei.value.msg == ("printa( ) aggregating action is incompatible with conversion #1 "
                            "prototype:\n\tconversion: %s\n\t prototype: char [] or string "
                            "(or use stringof)\n\t  argument: int64_t")
    assert type_error(parse_format("%d")[0].conv, INT, argno=2) is None


# --------------------------------------------------------------------------
# The C printf engine, against glibc
# --------------------------------------------------------------------------

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None)


def c_snprintf(fmt: bytes, *args) -> bytes:
    buf = ctypes.create_string_buffer(4096)
    _libc.snprintf(buf, 4096, fmt, *args)
    return buf.value


FLAGS = st.lists(st.sampled_from("-+ #0"), max_size=4, unique=True).map("".join)
WIDTH = st.one_of(st.just(""), st.integers(0, 30).map(str))
PREC = st.one_of(st.just(""), st.integers(0, 25).map(lambda p: "." + str(p)))


@settings(max_examples=400)
@given(FLAGS, WIDTH, PREC, st.sampled_from(["", "h", "hh", "l", "ll"]),
       st.sampled_from("diouxXc"), st.integers(-(1 << 64), 1 << 64))
def test_csprintf_integers_match_glibc(flags, width, prec, length, conv, v):
    if conv == "c":
        length, prec = "", ""
        v &= 0x7F
        assume(v != 0)
    fmt = "%" + flags + width + prec + length + conv
    if length in ("l", "ll"):
        carg = ctypes.c_ulonglong(v & ((1 << 64) - 1))
    else:
        carg = ctypes.c_uint(v & 0xFFFFFFFF)
    assert csprintf(fmt, v) == c_snprintf(fmt.encode(), carg)


@settings(max_examples=300)
@given(FLAGS, WIDTH, PREC, st.sampled_from("eEfgG"),
       st.floats(allow_nan=False, width=64, min_value=-1e300, max_value=1e300))
def test_csprintf_floats_match_glibc(flags, width, prec, conv, v):
    fmt = "%" + flags + width + prec + conv
    assert csprintf(fmt, v) == c_snprintf(fmt.encode(), ctypes.c_double(v))


@settings(max_examples=200)
@given(st.sampled_from(["", "-"]), WIDTH, PREC,
       st.binary(max_size=40).map(lambda b: b.replace(b"\0", b"x")))
def test_csprintf_strings_match_glibc(flags, width, prec, s):
    fmt = "%" + flags + width + prec + "s"
    assert csprintf(fmt, s) == c_snprintf(fmt.encode(), ctypes.c_char_p(s))


def test_csprintf_special_floats_and_star():
    assert csprintf("%05f|%-6e|%+G", float("inf"), float("-inf"), float("nan")) == \
        b"  inf|-inf  |+NAN"
    assert csprintf("%*d|%-*d|%.*s", 4, 7, -4, 7, 2, b"abc") == b"   7|7   |ab"


# --------------------------------------------------------------------------
# Run-time formatting against the corpus
# --------------------------------------------------------------------------

class MaxPfn(Symbolizer):
    def ksym(self, addr):
        return ("vmlinux", "max_pfn", 0xffffffff82000000) if addr == 0xffffffff82000000 \
            else None


def test_corpus_printf_basics():
    i = 97
    out = "\n"
    out += pf("%%a = %a\n", Arg(0xffffffff82000000, "ptr", 8, False), syms=MaxPfn())
    out += pf("%%c = %c\n", I(i))
    out += pf("%%d = %d\n", I(i))
    out += pf("%%hd = %hd\n", I(i, 2))
    out += pf("%%hi = %hi\n", I(i, 2))
    out += pf("%%ho = %ho\n", I(i, 2, False))
    out += pf("%%hu = %hu\n", I(i, 2, False))
    out += pf("%%hx = %hx\n", I(i, 2, False))
    out += pf("%%hX = %hX\n", I(i, 2, False))
    out += pf("%%i = %i\n", I(i))
    out += pf("%%lc = %lc\n", I(i))
    out += pf("%%ld = %ld\n", I(i, 8))
    out += pf("%%li = %li\n", I(i, 8))
    out += pf("%%lo = %lo\n", I(i, 8, False))
    out += pf("%%lu = %lu\n", I(i, 8, False))
    out += pf("%%lx = %lx\n", I(i, 8, False))
    out += pf("%%lX = %lX\n", I(i, 8, False))
    out += pf("%%o = %o\n", I(i, 4, False))
    out += pf("%%p = %p\n", Arg(i, "ptr", 8, False))
    out += pf("%%s = %s\n", S("hello"))
    out += pf("%%u = %u\n", I(i, 4, False))
    out += pf("%%x = %x\n", I(i, 4, False))
    out += pf("%%X = %X\n", I(i, 4, False))
    assert out + "\n" == expected("printf/tst.basics.r")


def test_corpus_printf_ints():
    big = 0x1234567890abcdef
    # DTrace records casts to char and short as 4-byte values (zero-extended)
    narrow = lambda n, signed: I(big & ((1 << (8 * n)) - 1), 4, signed)
    out = ""
    for conv in ("d", "u"):
        for signed in (True, False):
            out += "\n" + "".join(pf("%%%s\n" % conv, a) for a in (
                narrow(1, signed), narrow(2, signed), I(big, 4, signed), I(big, 8, signed)))
    for conv in ("x", "o"):
        for signed in (False, True):
            out += "\n" + "".join(pf("%%%s\n" % conv, a) for a in (
                narrow(1, signed), narrow(2, signed), I(big, 4, signed), I(big, 8, signed)))
    out += pf("\n%p\n", Arg(0x12345678, "ptr", 8, False))
    out += pf("%p\n", Arg(0x90abcdef, "ptr", 8, False))
    out += pf("%p\n", I(0x67890abc, 8, False))
    assert out + "\n" == expected("printf/tst.ints.r")


def test_corpus_printf_flags_widths():
    out = "\n" + pf("# %#8x\n", I(0x123)) + pf("0 %08x\n", I(0x123)) + \
        pf("- %-8x\n", I(0x123)) + pf("+ %+8d\n", I(123)) + pf("  % 8d\n", I(123))
    exp = expected("printf/tst.flags.r")
    assert re.sub(r"0x[0-9a-f]+", "{ptr}", out + "\n") == exp
    out = "\n" + "".join(pf("%%%dd\n" % w, I(1)) for w in range(6))
    out += "".join(pf("%*d\n", I(w, 8), I(1)) for w in range(6))
    assert out + "\n" == expected("printf/tst.widths.r")
    out = "\n" + "".join(pf("%?d\n", I(x, 8)) for x in range(6))
    assert out + "\n" == expected("printf/tst.widths1.r")
    out = "\n" + pf("%u\n", I(123, 1, False)) + pf("%u\n", I(123, 2, False)) + \
        pf("%u\n", I(123, 8, False)) + pf("%u\n", I(123, 8, False))
    assert out + "\n" == expected("printf/tst.uints.r")
    out = "".join(pf("%u\n", I(53114233149441, 8, False)) for _ in range(15))
    assert out + "\n" == expected("printf/tst.printcont.r")


@pytest.mark.parametrize("fmt,arg,rel", [
    ("%G", Arg(0.0, "float", 8), "actions/printf/tst.conv_G_double.r"),
    ("%G", Arg(0.0, "float", 4), "actions/printf/tst.conv_G_float.r"),
    ("%e", Arg(0.0, "float", 8), "actions/printf/tst.conv_e_double.r"),
    ("%e", Arg(0.0, "float", 4), "actions/printf/tst.conv_e_float.r"),
    ("%f", Arg(0.0, "float", 8), "actions/printf/tst.conv_f_double.r"),
    ("%g", Arg(0.0, "float", 4), "actions/printf/tst.conv_g_float.r"),
    ("'%s'", S("BEGIN", 10), "actions/printf/tst.conv_s_alloca_var.r"),
])
def test_corpus_printf_conversions(fmt, arg, rel):
    assert pf(fmt, arg) + "\n" == expected(rel)


def test_printf_rawfmt_and_precision_zero_quirk():
    assert pf("hello world from BEGIN") + "\n" == expected("printf/tst.rawfmt.r")
    # DTrace only passes a precision when it is > 0: "%.0f" prints 6 decimals
    assert pf("%.0f|%.2f", Arg(1.5, "float"), Arg(1.5, "float")) == "1.500000|1.50"
    assert pf("%.*s", I(0), S("abc")) == "abc"


def test_printf_dynamic_width_negative_means_left():
    assert pf("[%*d]", I(-5), I(42)) == "[42   ]"
    assert pf("[%*s]", I(6), S("ab")) == "[    ab]"


def test_printf_integer_sizes_and_signs():
    assert pf("%d", I(-1, 1)) == "-1"
    assert pf("%d", I(0xff, 1, False)) == "255"
    assert pf("%x", I(-1, 4)) == "ffffffff"
    assert pf("%x", I(-1, 8)) == "ffffffffffffffff"
    assert pf("%d", I(-1, 8, False)) == "18446744073709551615"
    assert pf("%i", I(-7, 8)) == "-7"
    assert pf("%c%c", I(ord("o")), I(0x100 + ord("k"))) == "ok"


def test_printf_strings_and_escapes():
    assert pf("%s|%-5s|%5.2s|", S("abc"), S("x"), S("hello")) == "abc|x    |   he|"
    assert pf("%S", S("a\tb\"\\\x01")) == 'a\\tb\\"\\\\\\001\\0'
    assert pf("%C%C", I(ord("\n"), 1), I(ord("z"), 1)) == "\\nz"
    assert escape_string(b"x", nul=False) == b"x"
    s = "h\u00e9llo"                         # UTF-8 bytes: widths count bytes
    assert pf("[%7s]", S(s)) == "[ " + s + "]"


def test_printf_walltime(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        ns = 1795875791 * 1_000_000_000 + 123
        assert pf("%Y", I(ns, 8, False)) == "2026 Nov 28 14:23:11"
        assert walltime_str(0) == "1970 Jan  1 00:00:00"
        assert pf("%T", I(0, 8, False)) == "Thu, 01 Jan 1970 00:00:00 UTC"
        assert pf("[%-22Y]", I(0, 8, False)) == "[1970 Jan  1 00:00:00  ]"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


class Kernel(Symbolizer):
    syms = [(0xffffffff81000000, 0x100, "vmlinux", "do_sys_open"),
            (0xffffffffc0000000, 0x80, "ext4", "ext4_file_open")]

    def ksym(self, addr):
        for start, size, mod, name in self.syms:
            if start <= addr < start + size:
                return (mod, name, start)
        return None

    def kmod(self, addr):
        if 0xffffffffc0000000 <= addr < 0xffffffffc1000000:
            return "ext4"
        return None

    def usym(self, pid, addr):
        return ("libc.so.6", "read", 0x7f0000001000) if 0x7f0000001000 <= addr < 0x7f0000001100 \
            else None

    def umod(self, pid, addr):
        return "libc.so.6" if 0x7f0000000000 <= addr < 0x7f0000100000 else None


def test_printf_symbols():
    k = Kernel()
    assert pf("%a", Arg(0xffffffff81000010, "ptr"), syms=k) == "vmlinux`do_sys_open+0x10"
    assert pf("%a", Arg(0xffffffff81000000, "ptr"), syms=k) == "vmlinux`do_sys_open"
    assert pf("%a", Arg(0xffffffffc0000400, "ptr"), syms=k) == "ext4`0xffffffffc0000400"
    assert pf("[%20a]", Arg(0x1234, "ptr"), syms=k) == "[              0x1234]"
    assert pf("%a", Arg(0xffffffffc0000004, "mod"), syms=k) == "ext4"
    assert pf("%A", Arg((42, 0x7f0000001004), "uaddr"), syms=k) == "libc.so.6`read+0x4"
    assert pf("%A", Arg((42, 0x7f0000002000), "uaddr"), syms=k) == "libc.so.6`0x7f0000002000"


def test_printf_stack():
    k = Kernel()
    st_ = Arg((0xffffffffc0000010, 0xffffffff81000000, 0), "stack")
    assert pf("%k", st_, syms=k) == "\next4`ext4_file_open+0x10\nvmlinux`do_sys_open\n"
    assert pf("%-4k", st_, syms=k) == \
        "\n    ext4`ext4_file_open+0x10\n    vmlinux`do_sys_open\n"
    assert pf("%30k", st_, syms=k) == \
        "\n%30s\n%30s\n" % ("ext4`ext4_file_open+0x10", "vmlinux`do_sys_open")


def test_printa_key_signatures():
    from pydtrace.consume.printf import printa_key_error
    tag, msg = expected_error("multiaggs/err.D_PRINTA_AGGKEY.r")
    err = printa_key_error("foo", [INT], "bar", [])
    assert (err.tag, err.msg) == (tag, msg)
    assert printa_key_error("a", [INT, STRING], "b", [LONG, STRING]) is None
    err = printa_key_error("a", [INT], "b", [STRING])
    assert err.tag == "D_PRINTA_AGGPROTO"
    assert err.msg == ("printa( ): @b[ ] key #1 is incompatible with @a:\n"
                       "        a key #1: int\n        b key #1: string")


def test_format_literals_keep_their_bytes():
    from pydtrace.consume.printf import from_text
    fmt = b"caf\xc3\xa9 %d\xff\n".decode("latin-1")     # as the checker decodes D strings
    assert from_text(pf(fmt, I(1))) == b"caf\xc3\xa9 1\xff\n"
