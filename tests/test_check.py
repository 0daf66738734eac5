"""The D semantic checker: D programs in, symbols/types or DTrace's error tag and line out."""

import os
import re

import pytest

from pydtrace.lang import ast as A
from pydtrace.lang import types as T
from pydtrace.lang.check import AggSym, VarSym, check
from pydtrace.lang.errors import DError

try:
    from pydtrace.lang.parser import parse
except ImportError:  # the parser is written concurrently
    parse = None

needs_parser = pytest.mark.skipif(parse is None, reason="pydtrace.lang.parser not available")

from corpus import CORPUS


class FakeKernel:
    """A TypeSource with the few kernel symbols the corpus tests lean on."""

    def __init__(self):
        self.task = T.StructType("struct", "task_struct")
        self.task.define([T.Field("pid", T.INT, 0), T.Field("tgid", T.INT, 32),
                          T.Field("comm", T.ArrayType(T.CHAR, 16), 64)])

    def lookup(self, kind, name, module=None):
        if kind == "struct" and name == "task_struct":
            return self.task
        return None

    def symbol(self, name, module=None):
        syms = {"max_pfn": T.ULONG, "linux_banner": T.ArrayType(T.CHAR, 256),
                "init_task": self.task, "cad_pid": T.PtrType(T.VOID)}
        if name in syms:
            return syms[name], 0xffffffff81000000
        return None


def D(text, **kw):
    """Check a D program given as text."""
    return check(parse(text, file="t.d"), **kw)


def Derr(text, **kw):
    with pytest.raises(DError) as ei:
        D(text, **kw)
    return ei.value.tag, ei.value.loc.line if ei.value.loc else None, ei.value.msg


# ------------------------------------------------------------------ hand-built ASTs
# (these run without the parser)

def L(n):
    from pydtrace.lang.errors import Loc
    return Loc("t.d", n, 1)


def clause(*stmts, pred=None, probe="BEGIN"):
    pd = A.ProbeDesc(probe, name=probe, loc=L(1))
    return A.Clause([pd], pred, [A.ExprStmt(s, loc=s.loc) for s in stmts], loc=L(1))


def test_ast_assignment_types_a_new_global():
    x = A.Ident("x", loc=L(2))
    s = A.Assign("=", x, A.Binary("+", A.IntLit(1, "1", loc=L(2)), A.IntLit(2, "2", loc=L(2)),
                                  loc=L(2)), loc=L(2))
    cp = check(A.Program([clause(s)]))
    v = cp.vars[("global", "x")]
    assert isinstance(v, VarSym) and v.type is T.INT and v.kind == "scalar"
    val = cp.clauses[0].body[0].expr.val
    assert val.value == 3 and val.type is T.INT


def test_ast_printf_argument_type_error():
    call = A.Call("printf", [A.StrLit(b"%d", loc=L(3)), A.Ident("execname", loc=L(3))], loc=L(3))
    with pytest.raises(DError) as ei:
        check(A.Program([clause(call)]))
    assert ei.value.tag == "D_PRINTF_ARG_TYPE" and ei.value.loc.line == 3
    assert "argument #2 is incompatible with conversion #1 prototype" in ei.value.msg


def test_ast_aggregation_symbol():
    agg = A.Index(A.AggVar("a", loc=L(4)), [A.Ident("execname", loc=L(4))], loc=L(4))
    s = A.Assign("=", agg, A.Call("count", [], loc=L(4)), loc=L(4))
    cp = check(A.Program([clause(s)]))
    a = cp.aggs["a"]
    assert isinstance(a, AggSym) and a.func == "count" and a.keys == (T.StringType(),)


def test_ast_proto_len():
    with pytest.raises(DError) as ei:
        check(A.Program([clause(A.Call("exit", [], loc=L(7)))]))
    assert ei.value.tag == "D_PROTO_LEN" and ei.value.loc.line == 7
    assert ei.value.msg == "exit( ) prototype mismatch: 0 args passed, 1 expected"


# ------------------------------------------------------------------ D text


@needs_parser
def test_builtin_variable_types():
    cp = D("BEGIN { a = pid; b = execname; c = timestamp; d = arg0; e = curthread; }",
           types=FakeKernel())
    v = cp.vars
    assert v[("global", "a")].type.name() == "pid_t"
    assert v[("global", "b")].type.is_string()
    assert v[("global", "c")].type.name() == "uint64_t"
    assert v[("global", "d")].type.name() == "int64_t"
    assert v[("global", "e")].type.name() == "struct task_struct *"


@needs_parser
def test_self_this_and_assoc_arrays():
    cp = D("BEGIN { self->t = timestamp; this->s = \"x\"; a[pid, \"k\"] = 1; }")
    v = cp.vars
    assert v[("self", "t")].scope == "self" and v[("self", "t")].type.name() == "uint64_t"
    assert v[("this", "s")].type.is_string()
    arr = v[("global", "a")]
    assert arr.kind == "array" and [k.name() for k in arr.keys] == ["pid_t", "string"]
    assert arr.type is T.INT


@needs_parser
def test_declarations_fix_types():
    cp = D("int x; self string s; int a[string]; BEGIN { x = 'c'; self->s = \"a\"; a[\"k\"] = 2; }")
    assert cp.vars[("global", "x")].type is T.INT
    assert cp.vars[("self", "s")].type.is_string()
    assert cp.vars[("global", "a")].keys[0].is_string()


@needs_parser
def test_constant_folding_is_64_bit_and_casts_narrow():
    cp = D("BEGIN { x = 0x7fffffff + 1; y = (char)300; z = -1 / 2; w = 7 % -3; }")
    body = cp.clauses[0].body
    assert body[0].expr.val.value == 2147483648
    assert body[1].expr.val.value == 44
    assert body[2].expr.val.value == 0
    assert body[3].expr.val.value == 1


@needs_parser
def test_sizeof_offsetof_rewritten_to_constants():
    cp = D("struct s { int a; char b; long c; }; BEGIN { x = sizeof(struct s); "
           "y = offsetof(struct s, c); z = sizeof (int); }")
    b = cp.clauses[0].body
    assert isinstance(b[0].expr.val, A.IntLit) and b[0].expr.val.value == 16
    assert b[1].expr.val.value == 8
    assert b[2].expr.val.value == 4 and b[2].expr.val.type.name() == "size_t"


@needs_parser
def test_inline_and_enum_substitution():
    cp = D("inline int NINE = 9; enum e { A, B = 5, C }; BEGIN { x = NINE + C; }")
    val = cp.clauses[0].body[0].expr.val
    assert val.value == 15


@needs_parser
def test_translator_member_rewrite():
    src = """
    struct in { int i; };
    struct out { int o; };
    translator struct out < struct in *p > { o = p->i * 2; };
    struct in *v;
    BEGIN { x = xlate<struct out>(v).o; }
    """
    cp = D(src)
    val = cp.clauses[0].body[0].expr.val
    assert isinstance(val, A.Binary) and val.op == "*"
    assert val.type is T.INT


@needs_parser
def test_member_symbols():
    cp = D("struct r { int a; int b : 3; } v; BEGIN { x = v.b; y = v.a; }")
    m = cp.clauses[0].body[0].expr.val
    assert m.sym.name == "b" and m.sym.bits == 3 and m.sym.offset == 4


@needs_parser
def test_aggregation_params():
    cp = D("BEGIN { @a = lquantize(1, 0, 100, 10); @b = llquantize(1, 10, 0, 6, 20); }")
    assert cp.aggs["a"].params == (0, 100, 10) and cp.aggs["a"].func == "lquantize"
    assert cp.aggs["b"].params == (10, 0, 6, 20)


@needs_parser
def test_pragma_options_collected():
    cp = D("#pragma D option quiet\n#pragma D option bufsize=4m\nBEGIN { exit(0); }")
    assert [(n, v) for n, v, _ in cp.options] == [("quiet", None), ("bufsize", "4m")]


@needs_parser
def test_predicate_may_create_variables():
    D("BEGIN /x++ == 0/ { trace(x); }")


@needs_parser
@pytest.mark.parametrize("src, tag, line", [
    ("BEGIN {\n x = y;\n}", "D_IDENT_UNDEF", 2),
    ("BEGIN {\n x = 1;\n x = \"s\";\n}", "D_OP_INCOMPAT", 3),
    ("BEGIN {\n trace(1, 2);\n}", "D_PROTO_LEN", 2),
    ("BEGIN {\n strlen(1);\n}", "D_PROTO_ARG", 2),
    ("BEGIN {\n x = 1 / 0;\n}", "D_DIV_ZERO", 2),
    ("BEGIN {\n @a = count();\n @a = sum(1);\n}", "D_AGG_REDEF", 3),
    ("BEGIN {\n @a = trace(1);\n}", "D_AGG_FUNC", 2),
    ("BEGIN {\n @a = sum(\"x\");\n}", "D_AGG_SCALAR", 2),
    ("BEGIN {\n @a = lquantize(1, 10, 5);\n}", "D_LQUANT_MISMATCH", 2),
    ("BEGIN {\n x = *1;\n}", "D_DEREF_NONPTR", 2),
    ("BEGIN {\n x = &pid;\n}", "D_ADDROF_VAR", 2),
    ("BEGIN {\n pid = 1;\n}", "D_OP_WRITE", 2),
    ("BEGIN {\n x = \"a\" * 2;\n}", "D_OP_ARITH", 2),
    ("BEGIN {\n x = ~\"a\";\n}", "D_OP_INT", 2),
    ("BEGIN {\n printf(\"%d %d\", 1);\n}", "D_PRINTF_ARG_PROTO", 2),
    ("BEGIN {\n speculate(1);\n speculate(2);\n}", "D_SPEC_SPEC", 3),
    ("BEGIN {\n trace(1);\n commit(1);\n}", "D_COMM_DREC", 3),
    ("int x;\nchar x;", "D_DECL_IDRED", 2),
    ("BEGIN {\n x = (char int)1;\n}", "D_DECL_COMBO", 2),
    ("BEGIN {\n x = sizeof(void);\n}", "D_SIZEOF_TYPE", 2),
    ("BEGIN {\n x = stringof(trace(1));\n}", "D_STRINGOF_TYPE", 2),
    ("BEGIN {\n this->a[1] = 1;\n}", "D_ARR_LOCAL", 2),
])
def test_errors(src, tag, line):
    got = Derr(src)
    assert got[:2] == (tag, line), got


@needs_parser
def test_types_of_operators():
    cp = D("char c; unsigned u; long l; int *p; BEGIN { a = c + c; b = u + 1; d = l + u; "
           "e = p + 1; f = p - p; g = c == 1; h = \"a\" < \"b\"; i = p[1]; j = *p; }")
    b = cp.clauses[0].body
    names = [s.expr.val.type.name() for s in b]
    assert names == ["char", "unsigned", "long", "int *", "ptrdiff_t", "int", "int",
                     "int", "int"]


@needs_parser
def test_enum_tag_on_right_of_comparison():
    cp = D("enum color { RED, GREEN }; enum color c; BEGIN { x = c == GREEN; }")
    cmp_ = cp.clauses[0].body[0].expr.val
    assert cmp_.right.value == 1 and cmp_.right.type.name() == "enum color"


@needs_parser
def test_probe_args_types():
    cp = D("syscall::read:entry { x = args[1]; y = args[0]; }",
           probe_args={"syscall::read:entry": ["int", "char *"]})
    assert cp.vars[("global", "x")].type.name() == "char *"
    assert Derr("syscall::read:entry {\n x = args[2];\n}",
                probe_args={"syscall::read:entry": ["int", "char *"]})[:2] == ("D_ARGS_IDX", 2)
    assert Derr("BEGIN {\n trace(args[0]);\n}")[:2] == ("D_ARGS_IDX", 2)


@needs_parser
def test_inline_array_instantiation():
    cp = D("inline int f[int a, int b] = a * b; BEGIN { x = f[3, 4]; }")
    assert cp.clauses[0].body[0].expr.val.value == 12


@needs_parser
def test_alloca_pointer_rules():
    D("BEGIN { p = alloca(8); bcopy(probename, p, 4); }")
    assert Derr("int *q;\nBEGIN {\n bcopy(probename, q, 4);\n}")[:2] == ("D_PROTO_ARG", 3)
    assert Derr("BEGIN {\n p = alloca(1000);\n}")[0] == "D_ALLOCA_SIZE"


@needs_parser
def test_version_pragma_hides_newer_builtins():
    D("#pragma D option version=1.0\nint strstr;\nBEGIN { strstr = 1; }")
    assert Derr("int strstr;")[0] == "D_DECL_IDRED"


@needs_parser
def test_string_is_a_char_array():
    cp = D("BEGIN { c = execname[0]; d = *execname; }")
    assert cp.vars[("global", "c")].type is T.CHAR


@needs_parser
def test_struct_layout_matches_ctf():
    cp = D("struct b { int a : 1; int b : 3; }; struct c { char ch; int in; }; "
           "BEGIN { x = sizeof(struct b); y = sizeof(struct c); }")
    b = cp.clauses[0].body
    assert (b[0].expr.val.value, b[1].expr.val.value) == (2, 8)


@needs_parser
@pytest.mark.parametrize("src, tag, line", [
    ("BEGIN {\n @a = count();\n @b[1] = count();\n printa(@a, @b);\n}", "D_PRINTA_AGGKEY", 4),
    ("BEGIN {\n printa(1);\n}", "D_PRINTA_AGGARG", 2),
    ("BEGIN {\n speculate(1);\n exit(0);\n}", "D_EXIT_SPEC", 3),
    ("BEGIN {\n commit(1);\n exit(0);\n}", "D_DREC_COMM", 3),
    ("BEGIN {\n speculate(1);\n @a = count();\n}", "D_AGG_SPEC", 3),
    ("BEGIN {\n @a = llquantize(1, 10, 0, 6, 25);\n}", "D_LLQUANT_STEPVAL", 2),
    ("BEGIN {\n @a = lquantize(0, 0, 10, 1);\n @a = lquantize(0, 0, 20, 1);\n}",
     "D_LQUANT_MATCHLIM", 3),
    ("BEGIN {\n @a[1][2] = count();\n}", "D_AGG_MDIM", 2),
    ("BEGIN {\n @a[1];\n}", "D_AGG_NULL", 2),
    ("BEGIN {\n tracemem(1, 0);\n}", "D_TRACEMEM_SIZE", 2),
    ("BEGIN {\n ustack(0);\n}", "D_USTACK_FRAMES", 2),
    ("BEGIN {\n x = 1;\n trace(x[1]);\n}", "D_DEREF_NONPTR", 3),
    ("struct s { int a; } v;\nBEGIN {\n trace(v.b);\n}", "D_TYPE_MEMBER", 3),
    ("struct s { int a; } v;\nBEGIN {\n trace(v->a);\n}", "D_OP_PTR", 3),
    ("BEGIN {\n trace(pid.a);\n}", "D_OP_SOU", 2),
    ("struct s { int a : 3; } v;\nBEGIN {\n trace(&v.a);\n}", "D_ADDROF_BITFIELD", 3),
    ("struct s { int a; };\nstruct t { int b; };\nstruct s *p;\nBEGIN {\n"
     " trace(xlate<struct t>(p).b);\n}", "D_XLATE_NONE", 5),
    ("struct s { int a; };\nstruct t { int b; int c; };\n"
     "translator struct t < struct s *p > { b = p->a; };\nstruct s *p;\nBEGIN {\n"
     " trace(xlate<struct t *>(p)->c);\n}", "D_XLATE_NOCONV", 6),
    ("#pragma D option bufsize=1q\n", "D_PRAGMA_OPTSET", 1),
    ("#pragma D option nosuchoption\n", "D_PRAGMA_OPTSET", 1),
    ("enum e { A = 2147483648 };", "D_DECL_ENOFLOW", 1),
    ("struct s { float f : 1; };", "D_DECL_BFTYPE", 1),
    ("int a[0];", "D_DECL_ARRSUB", 1),
    ("BEGIN {\n x = 1 ? trace(1) : trace(2);\n}", "D_OP_ACT", 2),
    ("BEGIN {\n x = (struct foo)1;\n}", "D_CAST_INVAL", 2),
    ("BEGIN /\"x\"/ {\n}", "D_PRED_SCALAR", 1),
])
def test_more_errors(src, tag, line):
    got = Derr(src)
    assert got[:2] == (tag, line), got


@needs_parser
def test_messages_are_dtraces():
    assert Derr("BEGIN { exit(\"a\"); }")[2] == (
        "exit( ) argument #1 is incompatible with prototype:\n\tprototype: int\n"
        "\t argument: string")
    assert Derr("BEGIN { x[1] = 1; x[1, 2] = 2; }")[2] == (
        "x[ ] prototype mismatch: 2 keys passed, 1 expected")
    assert Derr("BEGIN { printf(\"%d\", 1, 2); }")[2] == (
        "printf( ) prototype mismatch: only 1 arguments required by this format string")
    assert Derr("BEGIN { x = y; }")[2] == "failed to resolve y: Unknown variable name"


# ------------------------------------------------------------------ the conformance corpus

#: Tags owned by other stages (lexer/parser, probe matching, run time).
NOT_SEMANTIC = {"D_SYNTAX", "D_PDESC_ZERO", "D_PDESC_INVAL", "D_MACRO_UNDEF", "D_MACRO_UNUSED",
                "D_EMPTY", "D_ASRELO", "D_CG_DYN"}

#: Floor of corpus err.D_* tests (semantic tags) that give the right tag and line.
CORPUS_FLOOR = 192


def _corpus_cases():
    cases = []
    if not os.path.isdir(CORPUS):
        return cases
    for d, _, files in os.walk(CORPUS):
        for f in sorted(files):
            m = re.match(r"err\.(D_[A-Z0-9_]+)\..*\.d$", f)
            if not m or m.group(1) in NOT_SEMANTIC:
                continue
            path = os.path.join(d, f)
            want_line = None
            r = path[:-2] + ".r"
            if os.path.exists(r):
                mm = re.search(r"\[(D_[A-Z0-9_]+)\]\s*line\s*(\d+)", open(r, errors="replace").read())
                if mm:
                    want_line = int(mm.group(2))
            cases.append((path, m.group(1), want_line))
    return sorted(cases)


def run_corpus(verbose=False):
    """Run every semantic err.D_* corpus test through parse+check: (passed, total, failures)."""
    passed, fails = 0, []
    cases = _corpus_cases()
    for path, tag, line in cases:
        src = open(path, errors="replace").read()
        try:
            check(parse(src, file=path), types=FakeKernel())
            got = ("<none>", None, "")
        except DError as e:
            got = (e.tag, e.loc.line if e.loc else None, e.msg)
        except Exception as e:  # a crash is a failure too
            got = ("<crash>", None, f"{type(e).__name__}: {e}")
        if got[0] == tag and (line is None or got[1] == line):
            passed += 1
        else:
            fails.append((os.path.relpath(path, CORPUS), tag, line, got))
    return passed, len(cases), fails


@needs_parser
def test_corpus_semantic_errors():
    passed, total, fails = run_corpus()
    print(f"\ncorpus semantic err.D_* tests: {passed}/{total} pass")
    for f in fails:
        print("  FAIL", f[0], "want", f[1], f[2], "got", f[3][:2], f[3][2][:100].replace("\n", " | "))
    assert passed >= CORPUS_FLOOR


#: Floor of corpus programs expected to compile (tst.*.d and plain .d files) that parse and
#: then check cleanly against FakeKernel (the rest need the D library or real kernel types).
VALID_FLOOR = 360


def run_valid():
    ok, fails = 0, []
    for d, _, files in os.walk(CORPUS):
        for f in sorted(files):
            if not f.endswith(".d") or f.startswith("err."):
                continue
            path = os.path.join(d, f)
            src = open(path, errors="replace").read()
            try:
                prog = parse(src, file=path)
            except DError:
                continue                      # the parser's business
            try:
                check(prog, types=FakeKernel())
                ok += 1
            except DError as e:
                fails.append((os.path.relpath(path, CORPUS), e.tag, e.msg.splitlines()[0]))
    return ok, fails


@needs_parser
def test_corpus_valid_programs_check_cleanly():
    ok, fails = run_valid()
    print(f"\ncorpus valid programs: {ok} check cleanly, {len(fails)} do not")
    for f in fails:
        print("  ", *f)
    assert ok >= VALID_FLOOR


if __name__ == "__main__":
    p, t, fs = run_corpus()
    for f in fs:
        print("FAIL", f[0], "want", f[1], f[2], "got", f[3][:2], f[3][2][:160].replace("\n", " | "))
    print(f"{p}/{t}")
