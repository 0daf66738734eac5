"""print() and printm(): the typed formatter (hand-built types, no kernel) and the actions end
to end (real BPF, run by BPF_PROG_TEST_RUN)."""

import re
import struct

import pytest

from dtrace_run import dtrace
from pydtrace.compile import layout as L
from pydtrace.consume.printtype import (INDENT, format_action, format_object, format_print,
                                        printsize_limit)
from pydtrace.lang import types as T

F = T.Field
TD = T.KERNEL_FALLBACK_TYPEDEFS
PAD = " " * INDENT


def block(text: str) -> str:
    """Expected lines written at column 0 in the test, moved to print()'s column 44."""
    return "".join(PAD + line + "\n" for line in text.strip("\n").split("\n"))


def ptrs(text: str) -> str:
    return re.sub(r"0x[0-9a-f]+", "{ptr}", text)


# ------------------------------------------------------------------ the test_struct of the corpus

EH = T.EnumType("eh", {"FIRSTVAL": 1, "SECONDVAL": 2, "THIRDVAL": 3})
U = T.StructType("union", None, [F("c", TD["__u8"], 0), F("d", TD["__u64"], 0)])
S = T.StructType("struct", None, [F("e", T.PtrType(T.VOID), 0), F("f", T.UINT64, 64)])
TEST_STRUCT = T.StructType("struct", "test_struct", [
    F("a", T.INT, 0), F("b", T.ArrayType(T.CHAR, 5), 32), F("u", U, 128), F("s", S, 192),
    F("g", TD["bool"], 320), F("h", EH, 352)])


def test_struct_layout_matches_c():
    assert TEST_STRUCT.size == 48
    assert [m.offset_bits // 8 for m in TEST_STRUCT.members] == [0, 4, 16, 24, 40, 44]


def corpus_data(a=1, b=b"test\0", d=123456789, e=0xffff9b7aca7e0000, f=987654321, g=1, h=2):
    return struct.pack("<i5s7xQQQB3xi", a, b, d, e, f, g, h)


def test_print_local():
    """tst.print.local: every kind of member."""
    got = format_print(TEST_STRUCT, corpus_data(), 0xffffe8fffbe092d8)
    assert got == "0xffffe8fffbe092d8 = *\n" + block("""
(struct test_struct) {
 .a = (int)1,
 .b = (char [5]) [
  (char)'t',
  (char)'e',
  (char)'s',
  (char)'t',
 ],
 .u = (union) {
  .c = (__u8)21,
  .d = (__u64)123456789,
 },
 .s = (struct) {
  .e = (void *)0xffff9b7aca7e0000,
  .f = (uint64_t)987654321,
 },
 .g = (bool)1,
 .h = (enum eh)SECONDVAL,
}""")


def test_zero_members_are_left_out_and_a_char_array_ends_at_nul():
    """tst.print.local.zeroed."""
    data = corpus_data(a=0, b=b"\0est\0", d=0, e=0, f=0, g=1, h=1)
    assert format_object(TEST_STRUCT, data) == block("""
(struct test_struct) {
 .b = (char [5]) [
 ],
 .g = (bool)1,
 .h = (enum eh)FIRSTVAL,
}""")


def test_printsize_cut_before_a_member_and_after_a_union():
    """tst.print.local.trunc: `...` takes the cut member's place, inside an unclosed union."""
    data = corpus_data(d=12345678, e=0xfeedfacefeedface, f=100, h=1)
    head = """
(struct test_struct) {
 .a = (int)1,
 .b = (char [5]) [
  (char)'t',
  (char)'e',
  (char)'s',
  (char)'t',
 ],"""
    assert format_object(TEST_STRUCT, data, 8) == block(head + """
 ...
}""")
    assert format_object(TEST_STRUCT, data, 24) == block(head + """
 .u = (union) {
  .c = (__u8)78,
  .d = (__u64)12345678,
 ...
 },
}""")


def nested(level: int = 0) -> T.StructType:
    """tst.print.local.trunc2's struct: x, then a struct holding x and the next level."""
    members = [F("x", T.LLONG, 0)]
    if level < 7:
        members.append(F("abcdefg"[level], nested(level + 1), 64))
    return T.StructType("struct", None if level else "test_struct", members)


def test_printsize_cuts_nested_structs_at_every_depth():
    t = nested()
    data = b"".join(struct.pack("<q", int(str(i) * 16)) for i in range(1, 9))
    full = format_object(t, data)
    assert full.count("\n") == 24 and full == format_object(t, data, 64) == format_object(t, data, 90)
    cut = format_object(t, data, 32).split("\n")
    assert cut[8] == PAD + "    ..."  # c.d starts at 32: cut at its depth, 4
    assert cut[9:14] == [PAD + "   },", PAD + "  },", PAD + " },", PAD + "}", ""]
    assert "(long long)4444444444444444," in cut[7]
    assert format_object(t, data, 56).split("\n")[14] == PAD + "       ..."


def test_scalars_enums_floats_and_pointers():
    assert format_object(T.INT, struct.pack("<i", -5)) == PAD + "(int)-5\n"
    assert format_object(T.UINT, struct.pack("<I", 0xFFFFFFFF)) == PAD + "(unsigned int)4294967295\n"
    assert format_object(T.CHAR, b"A") == PAD + "(char)'A'\n"
    assert format_object(T.CHAR, b"\n") == PAD + "(char)10\n"
    assert format_object(T.UCHAR, b"A") == PAD + "(unsigned char)65\n"
    assert format_object(EH, struct.pack("<i", 3)) == PAD + "(enum eh)THIRDVAL\n"
    assert format_object(EH, struct.pack("<i", 7)) == PAD + "(enum eh)7\n"
    assert format_object(T.DOUBLE, struct.pack("<d", 1.5)) == PAD + "(double)1.5\n"
    page = T.PtrType(T.StructType("struct", "page"))
    assert format_object(page, struct.pack("<Q", 0xfeedface)) == PAD + "(struct page *)0xfeedface\n"
    assert format_object(T.INT, struct.pack("<i", 0)) == PAD + "(int)0\n"


def test_arrays_skip_zero_elements_and_hold_structs():
    pt = T.StructType("struct", "pt", [F("x", T.INT, 0), F("y", T.INT, 32)])
    t = T.StructType("struct", "s", [F("v", T.ArrayType(T.INT, 4), 0),
                                     F("p", T.ArrayType(pt, 2), 128)])
    data = struct.pack("<4i4i", 7, 0, 9, 0, 0, 0, 1, 2)
    assert format_object(t, data) == block("""
(struct s) {
 .v = (int [4]) [
  (int)7,
  (int)9,
 ],
 .p = (struct pt [2]) [
  (struct pt) {
   .x = (int)1,
   .y = (int)2,
  },
 ],
}""")


def test_bitfields_anonymous_members_and_typedefs():
    flags = T.StructType("struct", "f", [
        F("lo", T.UINT, 0, 3), F("hi", T.INT, 3, 4), F("zero", T.UINT, 7, 1),
        F("", T.StructType("union", None, [F("w", T.USHORT, 0)]), 16)])
    td = T.TypedefType("flags_t", flags)
    data = bytes([0b0111_1101, 0, 0x34, 0x12])  # lo = 5, hi = 0b1111 = -1
    assert format_object(td, data) == block("""
(flags_t) {
 .lo = (unsigned int)5,
 .hi = (int)-1,
 (union) {
  .w = (unsigned short)4660,
 },
}""")


def test_bitfields_in_an_array_element_read_that_element():
    fl = T.StructType("struct", "fl", [F("a", T.UINT, 0, 3), F("b", T.UINT, 3, 5)])
    t = T.StructType("struct", "w", [F("v", T.ArrayType(fl, 2), 0)])
    assert format_object(t, bytes([0, 0, 0, 0, 0b00010_010, 0, 0, 0])) == block("""
(struct w) {
 .v = (struct fl [2]) [
  (struct fl) {
   .a = (unsigned int)2,
   .b = (unsigned int)2,
  },
 ],
}""")


def test_zero_struct_members_are_left_out_with_their_members():
    t = T.StructType("struct", "o", [F("s", S, 0), F("n", T.INT, 128)])
    assert format_object(t, struct.pack("<QQi4x", 0, 0, 3)) == block("""
(struct o) {
 .n = (int)3,
}""")


def test_data_shorter_than_the_type_is_cut_like_printsize():
    assert format_object(TEST_STRUCT, corpus_data()[:16]).endswith(block(" ...\n}"))


def test_printsize_option_values():
    assert printsize_limit(None) is None and printsize_limit(True) is None
    assert printsize_limit(90) == 90
    assert printsize_limit("24") == 24 and printsize_limit("1k") == 1024


def test_format_action_reads_the_record():
    act = L.Action("print", 0, [L.Datum(16, 8, "int", False, T.PtrType(EH)),
                                L.Datum(24, 4, "bytes", type=EH)])
    rec = bytes(16) + struct.pack("<Q", 0x1000) + struct.pack("<i", 2) + bytes(4)
    assert format_action(act, memoryview(rec)) == "0x1000 = *\n" + PAD + "(enum eh)SECONDVAL\n"
    act = L.Action("print", 0, [L.Datum(16, 4, "int", True, T.INT)])
    assert format_action(act, memoryview(bytes(16) + struct.pack("<q", -2))) == "(int)-2\n"
    act = L.Action("print", 0, [L.Datum(16, 8, "string", type=T.StringType(8))])
    assert format_action(act, memoryview(bytes(16) + b"hi\0\0\0\0\0\0")) == '(string)"hi"\n'


# ------------------------------------------------------------------ end to end

DECLS = """
enum eh { FIRSTVAL = 1, SECONDVAL = 2, THIRDVAL = 3 };
struct test_struct { int a; char b[5]; union { __u8 c; __u64 d; } u;
                     struct { void *e; uint64_t f; } s; bool g; enum eh h; };
"""
FILL = """
t = (struct test_struct *)alloca(sizeof (struct test_struct));
t->a = 1; t->b[0] = 't'; t->b[1] = 'e'; t->b[2] = 's'; t->b[3] = 't';
t->u.d = 12345678; t->s.e = (void *)0xfeedfacefeedface; t->s.f = 100; t->g = 1; t->h = FIRSTVAL;
"""


@pytest.mark.needs_bpf
def test_e2e_print_pointer_quiet():
    r = dtrace("-qn", DECLS + "BEGIN {" + FILL + "print(t); exit(0); }")
    assert r.rc == 0, r.err
    assert ptrs(r.out) == "{ptr} = *\n" + ptrs(block("""
(struct test_struct) {
 .a = (int)1,
 .b = (char [5]) [
  (char)'t',
  (char)'e',
  (char)'s',
  (char)'t',
 ],
 .u = (union) {
  .c = (__u8)78,
  .d = (__u64)12345678,
 },
 .s = (struct) {
  .e = (void *)0xfeedfacefeedface,
  .f = (uint64_t)100,
 },
 .g = (bool)1,
 .h = (enum eh)FIRSTVAL,
}""")) + "\n"


@pytest.mark.needs_bpf
def test_e2e_printsize_pragma_then_setopt():
    r = dtrace("-qn", "#pragma D option printsize=8\n" + DECLS +
               "BEGIN {" + FILL + 'print(t); setopt("printsize", "24"); print(t); exit(0); }')
    assert r.rc == 0, r.err
    prints = r.out.split("0x")[1:]
    assert len(prints) == 2
    assert prints[0].endswith(block(" ],\n ...\n}"))
    assert prints[1].endswith(block("  .d = (__u64)12345678,\n ...\n },\n}") + "\n")


@pytest.mark.needs_bpf
def test_e2e_print_default_mode_follows_the_probe_line():
    r = dtrace("-n", "BEGIN { p = (int *)alloca(sizeof (int)); *p = 42; print(p); print(*p); exit(0); }",
               testing=True)
    assert r.rc == 0, r.err
    lines = r.out.split("\n")
    assert re.fullmatch(r" +:BEGIN 0x[0-9a-f]+ = \*", lines[1]), lines
    assert lines[2:4] == [PAD + "(int)42", "(int)42"]


@pytest.mark.needs_bpf
def test_e2e_print_null_faults():
    r = dtrace("-qn", "BEGIN { print((struct test_struct *)0); } BEGIN { exit(0); }".replace(
        "BEGIN {", DECLS + "BEGIN {", 1))
    assert r.rc == 0
    assert "invalid address (0x0)" in r.err and r.out == "\n"


@pytest.mark.needs_bpf
def test_e2e_printm_dumps_memory():
    r = dtrace("-qn", "BEGIN { p = (char *)alloca(20); p[0] = 'A'; p[1] = 'B'; p[17] = 0x7f; "
                      "printm(20, p); exit(0); }")
    assert r.rc == 0, r.err
    assert r.out == (
        "\n             0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f  0123456789abcdef\n"
        "         0: 41 42 00 00 00 00 00 00 00 00 00 00 00 00 00 00  AB..............\n"
        "        10: 00 7f 00 00" + " " * 36 + "  ....\n\n")


@pytest.mark.needs_bpf
@pytest.mark.parametrize("prog, tag", [
    ("BEGIN { p = alloca(8); printm(0, p); }", "D_PRINTM_SIZE"),
    ("BEGIN { n = 8; p = alloca(8); printm(n, p); }", "D_PRINTM_SIZE"),
    ("BEGIN { printm(8, 12); }", "D_PRINTM_ADDR"),
    ("BEGIN { print((void *)0); }", "D_PRINT_SIZE"),
])
def test_e2e_compile_errors(prog, tag):
    r = dtrace("-xerrtags", "-n", prog)
    assert r.rc == 1 and f"[{tag}]" in r.err, r.err
