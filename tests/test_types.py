"""D type rules: names, sizes, promotions, compatibility, constant typing and folding."""

import pytest

from pydtrace.lang import types as T
from pydtrace.lang.types import (
    CHAR, INT, INT64, LLONG, LONG, SHORT, UCHAR, UINT, UINT64, ULONG, VOID, ArrayType,
    EnumType, Field, PtrType, StringType, StructType, TypedefType, TypeTable,
)


@pytest.mark.parametrize("t, name, size", [
    (INT, "int", 4), (CHAR, "char", 1), (SHORT, "short", 2), (LONG, "long", 8),
    (LLONG, "long long", 8), (ULONG, "unsigned long", 8), (VOID, "void", 0),
    (PtrType(CHAR), "char *", 8), (PtrType(PtrType(CHAR)), "char **", 8),
    (ArrayType(INT, 5), "int [5]", 20), (ArrayType(PtrType(CHAR), 3), "char *[3]", 24),
    (PtrType(ArrayType(INT, 5)), "int (*)[5]", 8), (INT64, "int64_t", 8),
    (PtrType(INT64), "int64_t *", 8), (StringType(), "string", 256),
    (StructType("struct", "foo"), "struct foo", 0), (T.STACK, "stack", 8),
    (T.SYMADDR, "_symaddr", 8), (T.USYMADDR, "_usymaddr", 8),
])
def test_names_and_sizes(t, name, size):
    assert t.name() == name
    assert t.size == size


def test_typedef_keeps_name_and_resolves():
    t = TypedefType("foo_t", TypedefType("bar_t", UINT))
    assert t.name() == "foo_t"
    assert t.resolved is UINT
    assert t.size == 4 and t.is_integer() and not t.is_signed()


def test_struct_layout_and_forward_completion():
    s = StructType("struct", "rec")
    assert not s.complete and s.size == 0
    s.define([Field("i", INT, 0), Field("c", CHAR, 32)])
    assert s.complete and s.size == 8 and s.align == 4
    assert s.member("c").offset_bits == 32
    assert s.member("nope") is None
    node = StructType("struct", "node")
    node.define([Field("next", PtrType(node), 0), Field("v", INT, 64)])
    assert node.size == 16
    assert PtrType(node).name() == "struct node *"


def test_classification():
    assert INT.is_integer() and INT.is_arith() and INT.is_scalar()
    assert PtrType(INT).is_scalar() and PtrType(INT).is_pointer()
    assert ArrayType(INT, 2).is_pointer() and not ArrayType(INT, 2).is_scalar()
    assert not StringType().is_pointer() and StringType().is_strcompat()
    assert PtrType(CHAR).is_strcompat() and ArrayType(CHAR, 4).is_strcompat()
    assert not PtrType(INT).is_strcompat()
    assert PtrType(VOID).is_vfptr() and not PtrType(INT).is_vfptr()
    assert T.FLOAT.is_float() and not T.FLOAT.is_arith()
    e = EnumType("color", {"RED": 0})
    assert e.is_integer() and e.size == 4 and e.name() == "enum color"


@pytest.mark.parametrize("l, r, want", [
    (CHAR, CHAR, "char"),          # D does not promote to int
    (CHAR, INT, "int"),
    (UCHAR, INT, "int"),
    (INT, UINT, "unsigned int"),
    (LONG, UINT, "long"),
    (UINT, LONG, "long"),
    (LONG, ULONG, "unsigned long"),
    (INT64, INT, "int64_t"),
    (EnumType("e", {}), CHAR, "int"),
])
def test_usual_arithmetic_conversions(l, r, want):
    assert T.promote(l, r).name() == want


@pytest.mark.parametrize("value, text, want", [
    (0, "0", "int"), (0x7FFFFFFF, "0x7fffffff", "int"),
    (0x80000000, "0x80000000", "unsigned int"), (2147483648, "2147483648", "long"),
    (1, "1u", "unsigned int"), (1, "1l", "long"), (1, "1ul", "unsigned long"),
    (1, "1ll", "long long"), (1, "1ull", "unsigned long long"),
    (0xFFFFFFFFFFFFFFFF, "0xffffffffffffffff", "unsigned long"),
    (9223372036854775808, "9223372036854775808", None),
    (1 << 64, "18446744073709551616", None),
])
def test_integer_constant_types(value, text, want):
    t = T.int_literal_type(value, text)
    assert (t.name() if t else None) == want


@pytest.mark.parametrize("value, t, want", [
    (0x80000000, INT, -2147483648), (-1, UINT, 0xFFFFFFFF), (256, CHAR, 0), (255, CHAR, -1),
    (255, UCHAR, 255), (1 << 64, UINT64, 0), (-1, UINT64, (1 << 64) - 1), (70000, SHORT, 4464),
])
def test_wrap(value, t, want):
    assert T.wrap(value, t) == want


def test_compatibility():
    assert T.type_compat(INT, TypedefType("int32_t", INT))
    assert not T.type_compat(LONG, LLONG)            # same size, different names
    assert not T.type_compat(PtrType(INT), PtrType(T.D_TYPEDEFS["int32_t"]))  # names differ
    assert not T.type_compat(PtrType(INT), PtrType(CHAR))
    assert T.arg_compat(INT, CHAR)                  # all integers pass each other
    assert T.arg_compat(StringType(), PtrType(CHAR))
    assert not T.arg_compat(INT, StringType())
    assert T.arg_compat(PtrType(VOID), PtrType(INT))
    assert T.arg_compat(PtrType(INT), INT, arg_is_zero=True)
    assert not T.arg_compat(PtrType(INT), INT)
    assert T.ptr_compat(PtrType(VOID), PtrType(INT)) == PtrType(INT)


def test_type_table_parses_prototype_strings():
    tt = TypeTable()
    assert tt.parse("const char *").name() == "char *"
    assert tt.parse("uintptr_t").name() == "uintptr_t"
    assert tt.parse("void *").name() == "void *"
    t = tt.parse("vmlinux`struct task_struct *")
    assert t.name() == "struct task_struct *" and not t.target.complete
    assert tt.parse("string") is tt.string
    assert tt.parse("uid_t").resolved is T.INTRINSICS["unsigned int"]
    assert tt.tag("struct", "x") is tt.tag("struct", "x")
    assert TypeTable(strsize=512).string.size == 512


@pytest.mark.parametrize("op, l, lt, r, rt, want, wtype", [
    # dt_node_op2 folds in 64 bits and does not narrow to the type
    ("+", 0x7FFFFFFF, INT, 1, INT, 2147483648, "int"),
    ("+", 0xFFFFFFFF, UINT, 1, INT, 0x100000000, "unsigned int"),
    ("-", 0, UINT, 1, UINT, 0xFFFFFFFFFFFFFFFF, "unsigned int"),
    ("*", 1 << 62, LONG, 4, INT, 0, "long"),
    ("/", -7, INT, 2, INT, -3, "int"),                        # truncates toward zero
    ("%", -7, INT, 2, INT, -1, "int"),
    ("/", 7, UINT, -1, INT, 0, "unsigned int"),               # -1 becomes 0xffffffff
    ("<<", 1, INT, 31, INT, 2147483648, "int"),               # shifts keep the left type
    ("<<", 1, INT, 63, INT, -(1 << 63), "int"),
    (">>", -8, INT, 1, INT, (1 << 63) - 4, "int"),            # uintmax_t: a logical shift
    ("<", -1, INT, 1, UINT, 0, "int"),                        # compared as unsigned
    ("<", -1, INT, 1, LONG, 1, "int"),
    ("==", 3, CHAR, 3, LONG, 1, "int"),
    ("&&", 2, INT, 0, INT, 0, "int"),
    ("&", 0xF0, UCHAR, 0x3C, UCHAR, 0x30, "unsigned char"),
])
def test_fold_binary(op, l, lt, r, rt, want, wtype):
    v, t = T.fold_binary(op, l, lt, r, rt)
    assert (v, t.name()) == (want, wtype)


def test_fold_division_by_zero():
    with pytest.raises(ZeroDivisionError):
        T.fold_binary("%", 1, INT, 0, INT)
