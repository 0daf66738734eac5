"""D's aggregate types and lvalues end to end: structs, unions, arrays, bit-fields, pointers
into D variables, translators. Each test is a D program in and its exact output out."""

import os
import tempfile

import pytest

from dtrace_run import dtrace

pytestmark = pytest.mark.needs_bpf

DECLS = """
#pragma D option quiet
struct coords { int x, y; };
struct particle { struct coords pos; struct coords vel; };
"""


def d(src: str, *args: str) -> tuple[int, str, str]:
    """Run the D program `src`; returns (exit status, stdout, stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".d", delete=False) as f:
        f.write(src)
        path = f.name
    try:
        r = dtrace("-s", path, *args)
    finally:
        os.unlink(path)
    return r.rc, r.out, r.err


def test_struct_members_global_and_clause_local():
    rc, out, err = d(DECLS + """
struct particle P;
this struct particle p;
BEGIN {
    P.pos.x = 1; P.pos.y = 2; P.vel.x = 3; P.vel.y = 4;
    this->p.pos.x = 5; this->p.vel.y = 6;
}
BEGIN {
    printf("%d %d %d %d %d %d %d\\n", P.pos.x, P.pos.y, P.vel.x, P.vel.y,
        this->p.pos.x, this->p.pos.y, this->p.vel.y);
    exit(0);
}
""")
    assert (rc, out, err) == (0, "1 2 3 4 5 0 6\n\n", "")


def test_whole_struct_assignment_copies():
    rc, out, err = d(DECLS + """
struct particle A;
this struct particle b;
BEGIN {
    A.pos.x = 11; A.vel.y = 14;
    this->b = A;            /* global to clause-local */
    C = this->b;            /* implicitly declared global */
    A.pos.x = 99;           /* the copies are copies */
    C.vel = this->b.pos;    /* a struct member of struct type */
    printf("%d %d %d %d %d\\n", this->b.pos.x, this->b.vel.y, C.pos.x, C.vel.x, A.pos.x);
    exit(0);
}
""")
    assert (rc, out) == (0, "11 14 11 11 99\n\n"), err


def test_compound_assignment_and_increments_on_members():
    rc, out, err = d(DECLS + """
struct coords c;
BEGIN {
    c.x = 5; c.x += 3; c.x *= 2; c.x++; ++c.x; c.y--; c.y <<= 4;
    printf("%d %d %d\\n", c.x, c.y, c.x++ + ++c.y);
    exit(0);
}
""")
    assert (rc, out) == (0, "18 -16 3\n\n"), err


def test_union_members_share_storage():
    rc, out, err = d("""
#pragma D option quiet
union u { char ch; int in; long lg; };
union u v;
BEGIN {
    v.ch = 'd'; v.in = 0x40; v.lg = 0x4142;
    printf("%c %d %d\\n", v.ch, v.in, v.lg);
    exit(0);
}
""")
    assert (rc, out) == (0, "B 16706 16706\n\n"), err


def test_declared_arrays_and_runtime_bounds():
    rc, out, err = d("""
#pragma D option quiet
int a[5];
this short s[3];
BEGIN {
    i = 4; a[i] = 12345678; a[0] = a[i] / 2; this->s[1] = -2; this->s[i - 2] = this->s[1] * 3;
    printf("%d %d %d %d %d\\n", a[0], a[4], this->s[1], this->s[2], sizeof(a));
}
BEGIN {
    i = 5;
    a[i] = 1;
    printf("not reached\\n");
}
ERROR { printf("fault %d index %d\\n", arg4, arg5); exit(0); }
""")
    assert rc == 0, err
    assert out == "6172839 12345678 -2 -6 20\nfault 11 index 5\n\n"
    assert "index out of bounds (5)" in err


def test_bitfields_store_truncate_and_sign_extend():
    rc, out, err = d("""
#pragma D option quiet
struct bits { int a : 1; int b : 15; unsigned int c : 3; int d : 31; } v;
BEGIN {
    v.a = 256; v.b = -5; v.c = 13; v.d = 4294967296;
    printf("%d %d %d %d\\n", v.a, v.b, v.c, v.d);
    v.c++; v.b += 7;
    printf("%d %d %d\\n", v.c, v.b, v.c = 8);
    exit(0);
}
""")
    assert (rc, out) == (0, "0 -5 5 0\n6 2 0\n\n"), err


def test_struct_valued_dynamic_variables_and_zero_deletes():
    rc, out, err = d(DECLS + """
this struct coords t;
self struct coords c;
BEGIN {
    self->c.x = 7;                      /* a member store makes the variable */
    this->t.y = 3;
    a[1] = this->t; a[2] = self->c; a[2].y = 9;
    printf("%d %d %d %d %d\\n", self->c.x, self->c.y, a[1].y, a[2].x, a[2].y);
    a[2] = 0; self->c = this->t; this->t.y = 0; self->d = this->t;
    printf("%d\\n", self->c.y);
}
BEGIN { trace(a[2].y); }    /* deleted: NULL */
BEGIN { trace(self->d.y); } /* assigned all zeros: deleted */
ERROR { printf("fault %d at %d\\n", arg4, arg5); }
BEGIN { exit(0); }
""")
    assert (rc, out) == (0, "7 0 3 7 9\n3\nfault 1 at 4\nfault 1 at 4\n\n"), err


def test_pointers_into_d_variables():
    rc, out, err = d(DECLS + """
int arr[4];
struct coords g;
BEGIN {
    p = &arr[0]; p[2] = 42; *(p + 1) = 17; *p = 5;
    q = &g.y; *q = 8;
    u = (uintptr_t)&arr[0];
    r = (int *)(u + 12); *r = 99;
    printf("%d %d %d %d %d %d %d\\n", arr[0], arr[1], arr[2], arr[3], g.y, &arr[3] - p,
        (char *)&arr[1] - (char *)p);
    exit(0);
}
""")
    assert (rc, out) == (0, "5 17 42 99 8 3 4\n\n"), err


def test_store_through_a_kernel_pointer_faults():
    rc, out, err = d("""
#pragma D option quiet
BEGIN { p = (int *)curthread; *p = 1; printf("not reached\\n"); }
ERROR { printf("fault %d\\n", arg4); exit(0); }
""")
    assert (rc, out) == (0, "fault 1\n\n"), err
    assert "invalid address (0x" in err


def test_struct_keys_and_struct_copies_from_kernel_memory():
    rc, out, err = d("""
#pragma D option quiet
union record { int position; char content; };
union record r1, r2;
BEGIN {
    r1.position = 1; r1.content = 'a';
    r2.position = 1; r2.content = 'a';
    k[r1] = 1000; k[r2] = 2000;
    printf("%d %d\\n", k[r1], k[r2]);
    exit(0);
}
""")
    assert (rc, out) == (0, "2000 2000\n\n"), err


def test_translator_struct_value():
    rc, out, err = d("""
#pragma D option quiet
struct in { int ii; char ic; };
struct out { int oi; char oc; int ox : 4; };
translator struct out < struct in v > { oi = v.ii * 2; ox = 15; };
struct in i;
struct out o;
BEGIN {
    i.ii = 21; i.ic = 'z';
    o = xlate < struct out > (i);
    printf("%d %d %d %d\\n", o.oi, o.oc, o.ox, xlate < struct out > (i).oi);
    exit(0);
}
""")
    assert (rc, out) == (0, "42 0 -1 42\n\n"), err


def test_strings_char_arrays_and_deref():
    rc, out, err = d("""
#pragma D option quiet
struct named { int n; char name[8]; string s; };
struct named x;
BEGIN {
    x.s = "hello"; this->s = "ABCDEFG"; self->t = "xyz";
    printf("[%s] [%s] %c %c %d %c\\n", x.s, x.name, *this->s, this->s[1], x.name[0],
        self->t[2]);
    exit(0);
}
""")
    assert (rc, out) == (0, "[hello] [] A B 0 z\n\n"), err


def test_printf_of_narrowed_constants_as_dtrace():
    rc, out, err = d("""
#pragma D option quiet
BEGIN {
    printf("%d %d %d %u %x\\n", (char)0x1234567890abcdef, (short)0x1234567890abcdef,
        (int)0x1234567890abcdef, (char)0x1234567890abcdef, (short)0x1234567890abcdef);
    exit(0);
}
""")
    assert (rc, out) == (0, "239 52719 -1867788817 239 cdef\n\n"), err


def test_multi_character_constants():
    rc, out, err = d("""
#pragma D option quiet
BEGIN { printf("%d %d %c\\n", 'ab', 'a\\bcdefgh', 'ab'); exit(0); }
""")
    assert (rc, out) == (0, "24930 6991947704341784424 b\n\n"), err


def test_trace_struct_prints_its_bytes():
    rc, out, err = d(DECLS + """
struct coords c;
BEGIN { c.x = 0x41424344; c.y = -1; trace(c); exit(0); }
""")
    assert rc == 0, err
    assert "44 43 42 41 ff ff ff ff" in out and "DCBA" in out


def test_string_variables_may_hold_null():
    rc, out, err = d("""
#pragma D option quiet
string s;
BEGIN {
    s = "hello"; this->t = s; self->u = s;
    printf("[%s] [%s] [%s] %d\\n", s, this->t, self->u, s == NULL);
    s = NULL; this->t = NULL; self->u = NULL;
    printf("%d %d %d\\n", s == NULL, this->t == NULL, self->u == NULL);
}
BEGIN { trace(s[1]); }
ERROR { printf("fault %d at %d\\n", arg4, arg5); exit(0); }
""")
    assert (rc, out) == (0, "[hello] [hello] [hello] 0\n1 1 1\nfault 1 at 1\n\n"), err
