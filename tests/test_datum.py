"""How single values print: trace(), tracemem(), keys, stacks and symbols.

Expected texts are taken from the conformance corpus (Oracle's DTrace for
Linux).  Its non-quiet outputs carry the per-probe prefix the consumer
prints (":BEGIN " under _DTRACE_TESTING), which these tests add by hand.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, strategies as st

from pydtrace.consume.datum import (
    Symbolizer, addr2str, format_bytes, format_datum_int, format_key, format_mod,
    format_rawbytes, format_stack, format_sym, format_trace, format_tracemem,
    format_umod, format_usym, format_ustack, uaddr2str)

from corpus import CORPUS
HEADER = "                   FUNCTION:NAME\n"
BEGIN = "                          :BEGIN "


def expected(rel: str) -> str:
    path = os.path.join(CORPUS, rel)
    if not os.path.exists(path):
        pytest.skip(f"conformance corpus not found: {path}")
    return open(path, encoding="utf-8").read().split("-- @@stderr --\n")[0]


# --------------------------------------------------------------------------
# trace()
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value,size,signed,rel", [
    (-1, 1, True, "actions/trace/tst.int8_t.r"),
    (-1, 2, True, "actions/trace/tst.int16_t.r"),
    (-1, 2, False, "actions/trace/tst.uint16_t.r"),
])
def test_corpus_trace_ints(value, size, signed, rel):
    assert HEADER + BEGIN + format_trace(value, "int", size, signed) + "\n\n" == expected(rel)


@pytest.mark.parametrize("value,size,signed,rel", [
    (-1, 1, True, "actions/trace/tst.int8_t-quiet.r"),
    (-1, 2, False, "actions/trace/tst.uint16_t-quiet.r"),
    (-1, 4, False, "actions/trace/tst.uint32_t-quiet.r"),
    (-1, 8, False, "actions/trace/tst.uint64_t-quiet.r"),
])
def test_corpus_trace_ints_quiet(value, size, signed, rel):
    assert format_trace(value, "int", size, signed, quiet=True) + "\n" == expected(rel)


def test_trace_widths():
    assert format_trace(1, "int", 4) == "          1"
    assert format_trace(1, "int", 8) == "                   1"
    assert format_trace(1, "int", 8, False) == "                    1"
    assert format_trace(-5, "int", 4, False) == " 4294967291"


def test_corpus_trace_strings():
    out = HEADER + BEGIN + format_trace(b"this", "string")
    out += format_trace(b" %should work.\n", "string")
    out += format_trace(b"%don't w%orry -- this won't cause a %segfault.\n", "string")
    assert out + "\n\n" == expected("trace/tst.string.r")
    assert format_trace(b"a", "string", quiet=True) + "\n" == expected("actions/trace/tst.str-quiet.r")


def test_corpus_trace_default_action_mix():
    # printf() and trace() records after the probe prefix (actions/default/tst.default)
    out = HEADER + BEGIN + "hello world 1\n" + BEGIN + "3\n" + BEGIN + "\n"
    out += BEGIN + format_trace(7, "int", 4) + "\n" + BEGIN + "\n"
    assert out + "\n" == expected("actions/default/tst.default.r")


def test_corpus_trace_bytes():
    out = HEADER + BEGIN + format_trace((0x12345678).to_bytes(4, "little"), "bytes")
    assert out + "\n\n" == expected("actions/trace/tst.union.r")
    out = HEADER + BEGIN + format_trace(b"dtrace" + b"\0" * 10, "bytes")
    assert out + "\n\n" == expected("actions/trace/tst.array.r")


def test_trace_no_conversion_continuation():
    assert format_trace(1, "int", 4, quiet=True) + " two" + "\n" == \
        expected("actions/printf/tst.no-conv.last.r")


# --------------------------------------------------------------------------
# tracemem() and byte dumps
# --------------------------------------------------------------------------

def test_corpus_tracemem():
    data = b"Linux version "
    out = format_tracemem(data)
    out += format_tracemem(data, -1)
    out += format_tracemem(data, 0)
    for n in (2, 7, 12, 14, 15):
        out += format_tracemem(data, n)
    assert out + "\n" == expected("tracemem/tst.tracemem.r")


def test_rawbytes_layout():
    dump = format_rawbytes(bytes(range(0x1e, 0x1e + 20)))
    lines = dump.split("\n")
    assert lines[0] == ""
    assert lines[1] == " " * 11 + "".join("  %x" % i for i in range(16)) + "  0123456789abcdef"
    assert lines[2].startswith("         0: 1e 1f 20 21")
    assert lines[2].endswith("  .. !\"#$%&'()*+,-")
    assert lines[3] == "        10: 2e 2f 30 31" + "   " * 12 + "  ./01"
    assert format_rawbytes(b"") == ""


@given(st.binary(max_size=100))
def test_rawbytes_line_count(data):
    out = format_rawbytes(data)
    if data:
        assert out.count("\n") == 2 + (len(data) + 15) // 16
        assert all(len(l) == 11 + 3 * 16 + 2 + min(16, len(data) - 16 * i)
                   for i, l in enumerate(out.split("\n")[2:-1]))


def test_format_bytes_string_or_dump():
    assert format_bytes(b"dog\0\0\0") == "  dog" + " " * 47
    assert format_bytes(b"dog\0\0\0", quiet=True) == "dog"
    assert format_bytes(b"dogs") == "  dogs" + " " * 46           # no NUL: still a string
    assert format_bytes(b"do\0g\0").startswith("\n")             # bytes after the NUL
    assert format_bytes(b"\0\0\0").startswith("\n")              # an empty string dumps
    assert format_bytes(b"\x80abc\0").startswith("\n")           # not printable
    assert format_bytes(b"a\tb\0") == "  a\tb" + " " * 47
    assert format_bytes(b"dog\0", rawbytes=True).startswith("\n")


# --------------------------------------------------------------------------
# Aggregation keys
# --------------------------------------------------------------------------

def test_key_widths():
    assert format_key(-2, "int", 1, None) == " 254"
    assert format_key(-2, "int", 2, None) == " 65534"
    assert format_key(-1, "int", 4, None) == "       -1"
    assert format_key(-1, "int", 8, None) == "               -1"
    assert format_key(b"mouse", "string", 256, None) == "  mouse" + " " * 45
    assert format_datum_int(19000, 8, normal=5) == "             3800"


# --------------------------------------------------------------------------
# Symbols and stacks
# --------------------------------------------------------------------------

class Syms(Symbolizer):
    def ksym(self, addr):
        if 0xffffffff81000000 <= addr < 0xffffffff81000100:
            return ("vmlinux", "vfs_read", 0xffffffff81000000)
        return None

    def kmod(self, addr):
        return "vmlinux" if 0xffffffff80000000 <= addr < 0xffffffff90000000 else None

    def usym(self, pid, addr):
        if 0x401000 <= addr < 0x401080:
            return ("a.out", "main", 0x401000)
        return None

    def umod(self, pid, addr):
        return "a.out" if 0x400000 <= addr < 0x500000 else None


def test_addr2str_forms():
    s = Syms()
    assert addr2str(0xffffffff81000008, s) == "vmlinux`vfs_read+0x8"
    assert addr2str(0xffffffff81000000, s) == "vmlinux`vfs_read"
    assert addr2str(0xffffffff82000000, s) == "vmlinux`0xffffffff82000000"
    assert addr2str(0x10, s) == "0x10"
    assert addr2str(0x10) == "0x10"
    assert uaddr2str(1, 0x401004, s) == "a.out`main+0x4"
    assert uaddr2str(1, 0x402000, s) == "a.out`0x402000"
    assert uaddr2str(1, 0x9000000, s) == "0x9000000"


def test_sym_mod_usym_umod():
    s = Syms()
    assert format_sym(0xffffffff81000008, s) == "  %-50s" % "vmlinux`vfs_read"
    assert format_sym(0x10, s) == "  %-50s" % "0x10"
    assert format_mod(0xffffffff81000008, s) == "  %-50s" % "vmlinux"
    assert format_usym(7, 0x401004, s) == "  %-50s" % "a.out`main"
    assert format_usym(7, 0x401004, s, exact=True) == "  %-50s" % "a.out`main+0x4"
    assert format_umod(7, 0x401004, s) == "  %-50s" % "a.out"


def test_stack_and_ustack():
    s = Syms()
    out = format_stack([0xffffffff81000008, 0xffffffff82000000, 0, 0x1234], s)
    assert out == ("\n" + " " * 14 + "vmlinux`vfs_read+0x8\n"
                   + " " * 14 + "vmlinux`0xffffffff82000000\n")
    assert format_stack([], s) == "\n"
    out = format_ustack(9, [0x401000, 0x402000, 0x9000000], s, indent=2)
    assert out == "\n  a.out`main\n  a.out`0x402000\n  0x9000000\n"
    assert format_ustack(9, [], s) == ""
    assert format_key((0xffffffff81000008,), "stack", 8, s).startswith("\n" + " " * 14)
