"""The D parser: precedence, statements, probe descriptions, declarations, macros, and faults
with DTrace's tags, messages and line numbers.  Ends with the conformance corpus."""

from __future__ import annotations

import glob
import os
import re

import pytest

from pydtrace.lang import ast
from pydtrace.lang.errors import DError
from pydtrace.lang.parser import parse, parse_expr, parse_type


def body(stmts: str, **kw) -> list[ast.Stmt]:
    prog = parse("BEGIN\n{\n" + stmts + "\n}\n", **kw)
    return prog.items[-1].body


def expr(text: str, **kw) -> ast.Expr:
    return body(text + ";", **kw)[0].expr


def sx(e) -> str:
    """An expression as a compact prefix string, to compare trees."""
    if isinstance(e, ast.IntLit):
        return e.text
    if isinstance(e, ast.CharLit):
        return e.text
    if isinstance(e, ast.StrLit):
        return repr(e.val.decode())
    if isinstance(e, ast.Ident):
        return e.name
    if isinstance(e, ast.Symbol):
        return f"sym({e.module},{e.name}{',user' if e.user else ''})"
    if isinstance(e, ast.AggVar):
        return "@" + e.name
    if isinstance(e, ast.ScopedVar):
        return f"{e.scope}->{e.name}"
    if isinstance(e, ast.Binary):
        return f"({e.op} {sx(e.left)} {sx(e.right)})"
    if isinstance(e, ast.Assign):
        return f"({e.op} {sx(e.target)} {sx(e.val)})"
    if isinstance(e, ast.Unary):
        return f"({e.op} {sx(e.operand)})"
    if isinstance(e, ast.Postfix):
        return f"(post{e.op} {sx(e.operand)})"
    if isinstance(e, ast.Ternary):
        return f"(? {sx(e.cond)} {sx(e.then)} {sx(e.other)})"
    if isinstance(e, ast.Call):
        return f"{e.name}({', '.join(sx(a) for a in e.args)})"
    if isinstance(e, ast.Index):
        return f"{sx(e.base)}[{', '.join(sx(a) for a in e.args)}]"
    if isinstance(e, ast.Member):
        return f"{sx(e.base)}{'->' if e.arrow else '.'}{e.name}"
    if isinstance(e, ast.Cast):
        return f"(cast {ty(e.to)} {sx(e.operand)})"
    if isinstance(e, ast.SizeofType):
        return f"(sizeof-type {ty(e.of)})"
    if isinstance(e, ast.SizeofExpr):
        return f"(sizeof {sx(e.operand)})"
    if isinstance(e, ast.Stringof):
        return f"(stringof {sx(e.operand)})"
    if isinstance(e, ast.Offsetof):
        return f"(offsetof {ty(e.of)} {e.member})"
    if isinstance(e, ast.Xlate):
        return f"(xlate {ty(e.to)} {sx(e.operand)})"
    raise AssertionError(f"no sx for {e!r}")


def ty(t) -> str:
    """A type expression as a compact string, outermost derivation first."""
    if isinstance(t, ast.BaseTypeSpec):
        return " ".join(sorted(t.quals) + list(t.words)) or "implicit-int"
    if isinstance(t, ast.TypedefRef):
        return (f"{t.module}`" if t.module else "") + t.name
    if isinstance(t, ast.StructSpec):
        return f"{t.kind} {(t.module + '`') if t.module else ''}{t.name}"
    if isinstance(t, ast.EnumSpec):
        return f"enum {t.name}"
    if isinstance(t, ast.PointerOf):
        quals = " ".join(sorted(t.quals))
        return f"{quals} ptr({ty(t.base)})" if quals else f"ptr({ty(t.base)})"
    if isinstance(t, ast.ArrayOf):
        if t.keys is not None:
            return f"assoc[{', '.join(ty(k) for k in t.keys)}]({ty(t.base)})"
        return f"array[{sx(t.size) if t.size else ''}]({ty(t.base)})"
    if isinstance(t, ast.FuncOf):
        ps = [ty(p.type) + (f" {p.name}" if p.name else "") for p in t.params]
        return f"func({', '.join(ps + (['...'] if t.varargs else []))})({ty(t.base)})"
    raise AssertionError(f"no ty for {t!r}")


def fault(text: str, **kw) -> DError:
    with pytest.raises(DError) as e:
        parse(text, "t.d", **kw)
    return e.value


def decl(text: str) -> ast.Decl:
    items = [i for i in parse(text).items if isinstance(i, ast.Decl)]
    return items[-1]


# ---------------------------------------------------------------- precedence and associativity


@pytest.mark.parametrize("text, tree", [
    ("a + b * c", "(+ a (* b c))"),
    ("a - b - c", "(- (- a b) c)"),
    ("a / b % c", "(% (/ a b) c)"),
    ("a << b + c", "(<< a (+ b c))"),
    ("a < b == c > d", "(== (< a b) (> c d))"),
    ("a | b ^ c & d", "(| a (^ b (& c d)))"),
    ("a || b ^^ c && d", "(|| a (^^ b (&& c d)))"),
    ("a ^^ b ^^ c", "(^^ (^^ a b) c)"),
    ("x = a ? b : c ? d : e", "(= x (? a b (? c d e)))"),
    ("x = a ? y = 1 : 2", "(= x (? a (= y 1) 2))"),
    ("a = b += c", "(= a (+= b c))"),
    ("a = 1, b = 2", "(, (= a 1) (= b 2))"),
    ("-x++", "(- (post++ x))"),
    ("*p->q", "(* p->q)"),
    ("!a[1]", "(! a[1])"),
    ("~-+x", "(~ (- (+ x)))"),
    ("++*p", "(++ (* p))"),
    ("&`max_pfn", "(& sym(None,max_pfn))"),
    ("vmlinux`jiffies + x", "(+ sym(vmlinux,jiffies) x)"),
    ("libc``errno", "sym(libc,errno,user)"),
    ("sizeof x + 1", "(+ (sizeof x) 1)"),
    ("sizeof(x)[0]", "(sizeof x[0])"),
    ("sizeof (int) * 2", "(* (sizeof-type int) 2)"),
    ("(int)x + 1", "(+ (cast int x) 1)"),
    ("(x) + 1", "(+ x 1)"),
    ("(uint32_t)-1", "(cast uint32_t (- 1))"),
    ("(struct foo *)p->next", "(cast ptr(struct foo) p->next)"),
    ("(unsigned long long)x", "(cast unsigned long long x)"),
    ("(char *const)x", "(cast const ptr(char) x)"),
    ("(int (*)(int))f", "(cast ptr(func(int)(int)) f)"),
    ("(x)(1)", "x(1)"),
    ("stringof(x) == \"a\"", "(== (stringof x) 'a')"),
    ("offsetof(struct foo, bar) + 1", "(+ (offsetof struct foo bar) 1)"),
    ("offsetof(struct vmlinux`file, string)", "(offsetof struct vmlinux`file string)"),
    ("(vmlinux`pid_t)x", "(cast vmlinux`pid_t x)"),
    ("xlate<psinfo_t *>(curthread)->pr_pid", "(xlate ptr(psinfo_t) curthread)->pr_pid"),
    ("args[0]->f_path.dentry", "args[0]->f_path.dentry"),
    ("x->string + y.signed", "(+ x->string y.signed)"),
    ("self->x = this->y", "(= self->x this->y)"),
    ("self->a[1, \"k\"]++", "(post++ self->a[1, 'k'])"),
    ("@a[execname, pid] = count()", "(= @a[execname, pid] count())"),
    ("@ = quantize(x)", "(= @ quantize(x))"),
    ("printf(\"%d\\n\", 'a' + 'bc')", "printf('%d\\n', (+ 'a' 'bc'))"),
    ("0x10UL + 017", "(+ 0x10UL 017)"),
])
def test_expression_trees(text, tree):
    assert sx(expr(text)) == tree


def test_literal_values():
    e = expr("'ab' + 0x1fULL")
    assert (e.left.val, e.right.val, e.right.text) == (0x6162, 31, "0x1fULL")
    assert expr('"a\\tb"').val == b"a\tb"


def test_assignment_needs_a_unary_target():
    e = fault("BEGIN { a + b = 1; }")
    assert (e.tag, e.msg) == ("D_SYNTAX", 'syntax error near "="')
    assert sx(expr("(a + b) = 1")) == "(= (+ a b) 1)"  # parenthesised: a primary


def test_cast_needs_a_type_inside_unary_operand():
    e = fault("BEGIN { x = ++(int)y; }")
    assert e.msg == 'syntax error near "int"'


def test_type_name_in_expression_is_a_syntax_error():
    e = fault("BEGIN\n{\n\ttrace(int8_t);\n}\n")
    assert (e.tag, e.loc.line) == ("D_SYNTAX", 3)


def test_calling_a_non_name_is_d_func_ident():
    e = fault("BEGIN\n{\n\tx = (a + b)\n(1);\n}\n")
    assert (e.tag, e.loc.line, e.msg) == ("D_FUNC_IDENT", 4,
                                          "function designator is not of function type")


def test_big_constants_that_fit_no_type():
    e = fault("BEGIN\n{\n\tx = 18446744073709551615;\n}\n")
    assert (e.tag, e.loc.line) == ("D_INT_OFLOW", 3)
    assert e.msg == ("integer constant 0xffffffffffffffff cannot be represented in any "
                     "built-in integral type")
    assert expr("0xffffffffffffffff").val == (1 << 64) - 1  # hex may be unsigned


# ---------------------------------------------------------------- statements and clauses


def test_statements_last_semicolon_optional_and_empty_statements_dropped():
    stmts = body(";; a = 1;; b = 2")
    assert [sx(s.expr) for s in stmts] == ["(= a 1)", "(= b 2)"]


def test_empty_clauses_and_predicates():
    prog = parse("BEGIN {}\nBEGIN\n/1/\n{}\ntick-1 { exit(0); }\n")
    assert [(len(c.body), c.predicate is not None) for c in prog.items] == [
        (0, False), (0, True), (1, False)]


def test_if_else_with_and_without_braces():
    (s,) = body("if (x) { a = 1; b = 2 } else c = 3;")
    assert sx(s.cond) == "x" and len(s.then) == 2 and sx(s.other[0].expr) == "(= c 3)"
    (s,) = body("if (x) a = 1;")
    assert s.other is None
    (s,) = body("if (a) if (b) x = 1; else x = 2;")  # else binds to the inner if
    assert s.other is None and s.then[0].other is not None
    (s,) = body("if (a) {} else if (b) ; else {}")
    assert s.then == [] and isinstance(s.other[0], ast.If)


def test_if_branch_needs_its_semicolon():
    e = fault("BEGIN\n{\n\tif (x) trace(1)\n}\n")
    assert (e.msg, e.loc.line) == ('syntax error near "}"', 4)


def test_declaration_inside_a_clause_is_a_syntax_error():
    e = fault("BEGIN\n{\n\tint x = 123;\n}\n")
    assert (e.tag, e.loc.line, e.msg) == ("D_SYNTAX", 3, 'syntax error near "int"')


def test_probe_without_body_in_a_file():
    e = fault("\n\nprofile-1\nint i;\n{ }\n")
    assert (e.tag, e.loc.line, e.msg) == (
        "D_SYNTAX", 3, "expected predicate and/or actions following probe description")


def test_probe_without_body_from_the_command_line():
    prog = parse("BEGIN", is_file=False)
    assert prog.items[0].body == [] and prog.items[0].predicate is None


def test_predicate_without_actions():
    e = fault("BEGIN\n/x/\n;\n")
    assert (e.loc.line, e.msg) == (2, "expected actions { } following probe description and "
                                      "predicate")


def test_unclosed_clause_reports_end_of_input():
    e = fault("BEGIN\n{\n\ttrace(1);\n")
    assert (e.loc.line, e.msg) == (4, "syntax error near end of input")


def test_name_at_end_of_input():
    e = fault("\nint*x\n")
    assert (e.loc.line, e.msg) == (3, "syntax error near end-of-input")


def test_unknown_name_message_shows_rest_of_line():
    e = fault("BEGIN\n{\n\ttrace(offsetof(vnode_t, v_no_such_member));\n}\n")
    assert e.msg == 'syntax error near "vnode_t, v_no_such_member));"'


# ---------------------------------------------------------------- probe descriptions


def pdescs(text: str, **kw) -> list[tuple]:
    prog = parse(text + " {}", **kw)
    return [(p.provider, p.module, p.function, p.name) for p in prog.items[0].probes]


def test_probe_description_forms():
    assert pdescs("BEGIN, tick-1s, :::END, syscall::open*:entry, fbt:vmlinux:do_sys_open:entry,"
                  " sdt:::a?[bc]*, pid123::malloc:, proc:::exec-success") == [
        ("", "", "", "BEGIN"), ("", "", "", "tick-1s"), ("", "", "", "END"),
        ("syscall", "", "open*", "entry"), ("fbt", "vmlinux", "do_sys_open", "entry"),
        ("sdt", "", "", "a?[bc]*"), ("pid123", "", "malloc", ""),
        ("proc", "", "", "exec-success")]


def test_probe_description_keeps_written_text_and_location():
    prog = parse("\n  syscall::read:entry\n{}")
    p = prog.items[0].probes[0]
    assert (p.text, p.loc.line, p.loc.col) == ("syscall::read:entry", 2, 3)


def test_probe_description_with_macros():
    prog = parse("syscall::$1:entry, pid$2:::entry, pid$$2::f:, x$pid {}",
                 macro_args=["t.d", "read", "42"], macro_vars={"pid": 7})
    assert [(p.function, p.provider, p.name) for p in prog.items[0].probes] == [
        ("read", "syscall", "entry"), ("", "pid42", "entry"), ("f", "pid42", ""),
        ("", "", "x7")]
    assert prog.used_macro_args == {1, 2}


def test_probe_description_faults():
    e = fault("\nprofile::::tick-1sec\n{}\n")
    assert (e.tag, e.loc.line, e.msg) == ("D_PDESC_INVAL", 2, 'invalid probe description '
                                          '"profile::::tick-1sec": Overspecified probe description')
    e = fault("pid$1:::entry {}")
    assert (e.tag, e.msg) == ("D_PDESC_INVAL", 'invalid probe description "pid$1:::entry": '
                              "Undefined macro variable in probe description")


def test_probe_part_for_dash_f():
    prog = parse("vfs_read", is_file=False, probe_part="function")
    p = prog.items[0].probes[0]
    assert (p.provider, p.module, p.function, p.name) == ("", "", "vfs_read", "")
    assert fault("a:b:c:d", is_file=False, probe_part="function").tag == "D_PDESC_INVAL"


def test_probe_by_number():
    prog = parse("123 {}")
    assert prog.items[0].probes[0].id == 123


# ---------------------------------------------------------------- declarations


@pytest.mark.parametrize("text, storage, name, typ", [
    ("int x;", None, "x", "int"),
    ("self int x;", "self", "x", "int"),
    ("this string s;", "this", "s", "string"),
    ("extern int y;", "extern", "y", "int"),
    ("unsigned long long c;", None, "c", "unsigned long long"),
    ("const volatile char *p;", None, "p", "ptr(const volatile char)"),
    ("char *const q;", None, "q", "const ptr(char)"),
    ("int a[string, int];", None, "a", "assoc[string, int](int)"),
    ("int m[3][5];", None, "m", "array[3](array[5](int))"),
    ("int *ap[4];", None, "ap", "array[4](ptr(int))"),
    ("int (*pa)[4];", None, "pa", "ptr(array[4](int))"),
    ("int (*fp)(int, char *);", None, "fp", "ptr(func(int, ptr(char))(int))"),
    ("extern int f(int a, ...);", "extern", "f", "func(int a, ...)(int)"),
    ("int g(void);", None, "g", "func(void)(int)"),
    ("struct vmlinux`task_struct *t;", None, "t", "ptr(struct vmlinux`task_struct)"),
    ("uint64_t u;", None, "u", "uint64_t"),
    ("pid_t *pp;", None, "pp", "ptr(pid_t)"),
    ("x;", None, None, None),
])
def test_declarations(text, storage, name, typ):
    if name is None:
        assert fault(text).tag == "D_SYNTAX"  # a lone name is a probe description
        return
    d = decl(text)
    assert (d.storage, d.declarators[0].name, ty(d.declarators[0].type)) == (storage, name, typ)


def test_several_declarators_share_the_specifier():
    d = decl("int a, *b, c[2];")
    assert [(x.name, ty(x.type)) for x in d.declarators] == [
        ("a", "int"), ("b", "ptr(int)"), ("c", "array[2](int)")]


def test_typedef_then_use_in_declaration_and_cast():
    prog = parse("typedef unsigned int myint_t;\nmyint_t v;\nBEGIN { x = (myint_t)y; }")
    d0, d1, clause = prog.items
    assert d0.storage == "typedef" and d0.declarators[0].name == "myint_t"
    assert ty(d1.declarators[0].type) == "myint_t"
    assert sx(clause.body[0].expr) == "(= x (cast myint_t y))"


def test_extra_typedef_names_change_casts():
    assert sx(expr("(u_foo)(y)")) == "u_foo(y)"  # unknown name: a call
    assert sx(expr("(u_foo)(y)", typedef_names={"u_foo"})) == "(cast u_foo y)"


def test_struct_union_enum_definitions():
    prog = parse("struct s { int a : 3; unsigned : 0; char *b[4], c; };\n"
                 "union u { int i; long l; } uu;\n"
                 "enum e { A, B = 5, C };\n"
                 "typedef struct { int z; } anon_t;\n")
    s = prog.items[0].spec
    assert [(m.name, ty(m.type), sx(m.bits) if m.bits else None) for m in s.members] == [
        ("a", "int", "3"), ("", "unsigned", "0"), ("b", "array[4](ptr(char))", None),
        ("c", "char", None)]
    assert prog.items[1].spec.kind == "union" and prog.items[1].declarators[0].name == "uu"
    assert [(i.name, sx(i.value) if i.value else None) for i in prog.items[2].spec.items] == [
        ("A", None), ("B", "5"), ("C", None)]
    assert prog.items[3].spec.name is None


def test_inline_definitions():
    prog = parse("inline int SIZE = 5 * 2;\n"
                 "inline struct pid *task_pid[struct task_struct *t] = t->thread_pid;\n")
    a, b = prog.items
    assert (a.name, ty(a.type), sx(a.expr), a.params) == ("SIZE", "int", "(* 5 2)", None)
    assert ty(b.type) == "assoc[ptr(struct task_struct)](ptr(struct pid))"
    assert [(p.name, ty(p.type)) for p in b.params] == [("t", "ptr(struct task_struct)")]


def test_translator_definition():
    prog = parse("translator psinfo_t < struct task_struct *T > {\n"
                 "\tpr_pid = T->tgid;\n\tpr_fname = T->comm;\n};\n"
                 "translator struct empty < int x > { };\n")
    t = prog.items[0]
    assert (ty(t.to), ty(t.frm), t.param) == ("psinfo_t", "ptr(struct task_struct)", "T")
    assert [(m.name, sx(m.expr)) for m in t.members] == [("pr_pid", "T->tgid"),
                                                         ("pr_fname", "T->comm")]
    assert prog.items[1].members == []


def test_translator_needs_braces():
    e = fault("struct a { int i; };\ntranslator struct a < int x >\n\ti = x;\n;\n")
    assert (e.loc.line, e.msg) == (3, 'syntax error near "i"')


def test_provider_definition():
    prog = parse("provider myapp {\n\tprobe start(int, char *);\n"
                 "\tprobe done(int a) : (int);\n\tprobe none();\n};\n")
    p = prog.items[0]
    assert p.name == "myapp"
    assert [(q.name, [ty(x.type) for x in q.params], q.xlated is not None) for q in p.probes] == [
        ("start", ["int", "ptr(char)"], False), ("done", ["int"], True), ("none", [], False)]


@pytest.mark.parametrize("text, tag, msg, line", [
    ("\nint int x;\n", "D_DECL_COMBO", "invalid type combination", 2),
    ("BEGIN\n{\n\ti = (char long)0;\n}\n", "D_DECL_CHARATTR",
     "invalid type declaration: short and long may not be used with char type", 3),
    ("long void x;", "D_DECL_VOIDATTR",
     "invalid type declaration: attributes may not be used with void type", 1),
    ("unsigned struct s\n{ int i; };", "D_DECL_SIGNINT",
     "invalid type declaration: signed and unsigned may only be used with integer type", 2),
    ("long string s;", "D_DECL_LONGINT", "invalid type declaration: long and long long may only "
     "be used with integer or floating-point type", 1),
    ("self extern int x;", "D_DECL_CLASS", "only one storage class allowed in a declaration", 1),
    ("register x;", "D_DECL_BADCLASS", "specified storage class not appropriate in D", 1),
    ("\nextern int\n;", "D_DECL_USELESS", "useless declaration", 3),
    ("int a[];", "D_DECL_ARRNULL",
     "array declaration requires array dimension or tuple signature: a", 1),
    ("this int a[int];", "D_DECL_LOCASSC",
     "associative arrays may not be declared as local variables: a", 1),
    ("int `xyz;", "D_DECL_SCOPE",
     "D scoping operator may not be used in a declaration name (`xyz)", 1),
    ("int f(static int);", "D_DECL_PARMCLASS",
     "inappropriate storage class for function or associative array parameter", 1),
    ("int x[void, char];", "D_DECL_PROTO_TYPE",
     "array prototype may not use parameter of type void: (anonymous), parameter #1", 1),
    ("int a(int a[int]);", "D_DECL_PROTO_TYPE", "function prototype may not use parameter of "
     "type dynamic variable: a, parameter #1", 1),
    ("int a(void v);", "D_DECL_PROTO_NAME", "void parameter may not have a name: v", 1),
    ("int a(void, int);", "D_DECL_PROTO_VOID", "void must be sole parameter", 1),
    ("int a(int x, int x);", "D_DECL_PROTO_FORM",
     "parameter is already declared in function prototype: x, parameter #2", 1),
    ("int a[...];", "D_DECL_PROTO_VARARGS",
     "array prototype may not use a variable-length argument list", 1),
    ("struct s { int a; };\nstruct s\n{ int b; };", "D_DECL_TYPERED",
     "type redeclared: struct s", 3),
    ("struct s { int a;\n char a; };", "D_UNKNOWN",
     "failed to define member 'a': Duplicate member or variable name", 2),
    ("enum e {\n\tx = 3,\n\tx = 4\n};", "D_UNKNOWN",
     "failed to define enumerator 'x': Duplicate member or variable name", 4),
    ("enum e { a`b };", "D_DECL_SCOPE",
     "D scoping operator may not be used in an enumerator name (a`b)", 1),
    ("inline self int x = 1;", "D_DECL_BADCLASS",
     "specified storage class not appropriate for inline declaration", 1),
    ("enum foo`bar\n{\n\n};", "D_SYNTAX", 'syntax error near "}"', 4),
    ("struct a { int x; }\nstruct b { int y; };", "D_DECL_COMBO", "invalid type combination", 2),
])
def test_declaration_faults(text, tag, msg, line):
    e = fault(text)
    assert (e.tag, e.msg, e.loc.line) == (tag, msg, line)


def test_partial_program_comes_with_the_fault():
    e = fault("struct s { int a; };\nint x;\nBEGIN { +; }")
    assert [type(i).__name__ for i in e.partial.items] == ["Decl", "Decl"]


# ---------------------------------------------------------------- macros


def test_macro_arguments_in_expressions():
    e = expr("x = $1 + $2 + $3 + $$1", macro_args=["s.d", "10", "-3", "foo"])
    assert sx(e) == "(= x (+ (+ (+ 10 (- 3)) foo) '10'))"


def test_macro_integers_keep_their_base_for_typing():
    e = expr("x = $1 + $2", macro_args=["s.d", "0x80000000", "2147483648UL"])
    assert (e.val.left.text, e.val.right.text) == ("0x80000000", "2147483648UL")


def test_used_macro_args_and_undefined_ones():
    prog = parse("BEGIN { trace($2); }", macro_args=["s.d", "a", "b"])
    assert prog.used_macro_args == {2}
    e = fault("BEGIN\n{\n\ttrace($1);\n\ttrace($3);\n}\n", macro_args=["s.d", "1", "2"])
    assert (e.tag, e.loc.line, e.msg) == ("D_MACRO_UNDEF", 4, "macro argument $3 is not defined")


def test_defaultargs_option_and_pragma():
    assert sx(expr("x = $4", defaultargs=True)) == "(= x 0)"
    prog = parse("#pragma D option defaultargs\nBEGIN { x = $$4; }")
    assert sx(prog.items[-1].body[0].expr) == "(= x '')"


def test_macro_variables():
    assert sx(expr("x = $pid + $target", macro_vars={"pid": 4, "target": 9})) == "(= x (+ 4 9))"
    e = fault("BEGIN { x = $nosuch; }", macro_vars={})
    assert (e.tag, e.msg) == ("D_MACRO_UNDEF", "macro variable $nosuch is not defined")


# ---------------------------------------------------------------- pragmas and #line


def test_pragmas_are_items_in_order():
    prog = parse("#pragma D option quiet\nBEGIN {}\n#pragma D option switchrate=10hz\n")
    assert [type(i).__name__ for i in prog.items] == ["Pragma", "Clause", "Pragma"]
    assert prog.items[2].words == ["D", "option", "switchrate=10hz"]


def test_cpp_line_markers_move_fault_lines():
    e = fault('# 1 "<stdin>"\nBEGIN\n# 100 "/tmp/orig.d"\n{\n\tx = ;\n}\n')
    assert (e.loc.line, e.loc.file) == (101, "/tmp/orig.d")


def test_pragma_error_stops_compilation():
    e = fault("BEGIN {}\n#pragma D error \"nope\"\nEND {}\n")
    assert (e.tag, e.loc.line) == ("D_PRAGERR", 2)


# ---------------------------------------------------------------- the conformance corpus

from corpus import CORPUS
_CPP_LINE = re.compile(r"^\s*#\s*(include|define|undef|if|ifdef|ifndef|elif|else|endif)\b", re.M)


def _runtest_opts(path: str, text: str) -> str:
    opts = " ".join(re.findall(r"@@runtest-opts:\s*(.*?)\s*\*/", text))
    folder = os.path.join(os.path.dirname(path), "test.options")
    if os.path.exists(folder):
        with open(folder) as f:
            opts += " " + " ".join(re.findall(r"@@runtest-opts:\s*(.*)", f.read()))
    return opts


def _needs_cpp(text: str, opts: str) -> bool:
    """Run through the C preprocessor (-C, -xcpp) and written for it: not a parser input."""
    flags = opts.split()
    cpp = any(f.startswith("-") and not f.startswith("--") and "C" in f and "x" not in f
              for f in flags) or "-xcpp" in flags
    return cpp and bool(_CPP_LINE.search(text))


def _valid_programs() -> list[str]:
    """tst.* files and the other non-err.* files (compiled with -e): all must compile."""
    files = sorted(glob.glob(f"{CORPUS}/**/*.d", recursive=True))
    return [f for f in files if not os.path.basename(f).startswith("err.")]


def _load(path: str) -> tuple[str, list[str]]:
    with open(path, errors="surrogateescape") as f:
        text = f.read()
    opts = _runtest_opts(path, text)
    if _needs_cpp(text, opts):
        pytest.skip("needs the C preprocessor (-C/-xcpp with #include/#define/#if)")
    rel = os.path.relpath(path, os.path.dirname(os.path.dirname(CORPUS)))
    return text, [rel] + [a for a in opts.split() if not a.startswith("-")]


needs_corpus = pytest.mark.skipif(not os.path.isdir(CORPUS), reason="conformance corpus absent")


@needs_corpus
@pytest.mark.parametrize("path", _valid_programs() if os.path.isdir(CORPUS) else [],
                         ids=lambda p: os.path.relpath(p, CORPUS))
def test_corpus_valid_program_parses(path):
    text, args = _load(path)
    parse(text, args[0], args)


# The corpus' err.* tests whose fault DTrace reports while parsing (the rest are the checker's).
PARSE_FAULTS = """
arithmetic/err.D_SYNTAX.addmin.d arrays/err.D_DECL_ARRNULL.bad.d
arrays/err.D_DECL_PROTO_TYPE.badtuple.d decls/err.D_DECL_LONGINT.LongStruct.d
decls/err.D_DECL_PROTO_NAME.VoidName.d decls/err.D_DECL_PROTO_TYPE.Dyn.d
decls/err.D_DECL_PROTO_VARARGS.VarLenArgs.d decls/err.D_DECL_SIGNINT.UnsignedStruct.d
enum/err.D_UNKNOWN.RepeatIdentifiers.d lexer/err.D_INT_OFLOW.BigInt.d
lexer/err.D_SYNTAX.brace2.d lexer/err.D_SYNTAX.brack1.d lexer/err.D_SYNTAX.brack2.d
lexer/err.D_SYNTAX.brack3.d lexer/err.D_SYNTAX.paren2.d lexer/err.D_SYNTAX.paren3.d
lexer/err.eof-in-pragma.d offsetof/err.D_SYNTAX.badmemb.d
options/err.D_MACRO_UNDEF.no-defaultargs.d options/err.D_MACRO_UNDEF.no-defaultargs2.d
options/err.pspec-default.d options/err.pspec-on.d pragma/err.D_PRAGERR.d
pragma/err.D_PRAGMA_DEPEND.main.d pragma/err.D_PRAGMA_MALFORM.d
predicates/err.D_SYNTAX.invalid.d preprocessor/err.D_SYNTAX.withoutpound.d
probes/err.D_SYNTAX.declarein.d providers/err.D_PDESC_INVAL.wrongdec4.d
scalars/err.D_SYNTAX.declare.d struct/err.D_DECL_COMBO.StructWithoutColon.d
translators/err.D_DECL_TYPERED.BadTransDecl.d translators/err.D_SYNTAX.BadTransDecl3.d
typedef/err.D_SYNTAX.BadExistingTypedef.d types/err.D_DECL_BADCLASS.bad.d
types/err.D_DECL_CHARATTR.badtype3.d types/err.D_DECL_COMBO.badtype4.d
types/err.D_DECL_COMBO.badtype5.d types/err.D_DECL_SCOPE.scopeop.d
types/err.D_DECL_USELESS.baddec.d types/err.D_SYNTAX.badenum.d types/err.D_SYNTAX.badid.d
types/err.D_UNKNOWN.dupenum.d union/err.D_DECL_COMBO.UnionWithoutColon1.d
""".split()


@needs_corpus
@pytest.mark.parametrize("rel", PARSE_FAULTS)
def test_corpus_parse_fault_matches_dtrace(rel):
    path = os.path.join(CORPUS, rel)
    text, args = _load(path)
    with pytest.raises(DError) as e:
        parse(text, args[0], args)
    tag = re.match(r"err\.(D_[A-Z0-9_]+)\.", os.path.basename(rel))
    if tag:
        assert e.value.tag == tag.group(1)
    expected = path[:-2] + ".r"
    if os.path.exists(expected):
        with open(expected) as f:
            m = re.search(r"(?:\[(D_\w+)\] )?line (\d+): (.*)", f.read())
        assert e.value.loc.line == int(m.group(2))
        assert e.value.msg == m.group(3).replace("{ptr}", "0x12345678123456781")


# ---------------------------------------------------------------- type and expression strings


def test_parse_type_strings():
    assert ty(parse_type("struct file *")) == "ptr(struct file)"
    assert ty(parse_type("const char **")) == "ptr(ptr(const char))"
    assert ty(parse_type("u_foo *", typedef_names={"u_foo"})) == "ptr(u_foo)"
    with pytest.raises(DError):
        parse_type("int x")


def test_parse_expr_strings():
    assert sx(parse_expr("a + b * c")) == "(+ a (* b c))"
    assert sx(parse_expr("x + $1", macro_args=["s", "5"])) == "(+ x 5)"
    with pytest.raises(DError):
        parse_expr("a +")
