"""Expressions → BPF. `gen_expr(g, e)` leaves e's value in r0 (see codegen's conventions)."""

from __future__ import annotations

from typing import Any

from ..bpf.asm import INVERSE, R
from ..bpf.sys import Helper
from ..lang import ast
from ..lang import types as T
from ..lang.errors import DError
from ..providers.base import Ctx
from . import layout as L
from .codegen import (ARITH_OPS, CMP_OPS, FP_FADDR, FP_KEY, FP_SELF, FP_TMP, PT_REGS,
                      SYSCALL_ARG_REGS, Gen, int_info, is_str, rt)
from .unit import G_WALLOFF, PROBE_STR


def gen_expr(g: Gen, e: ast.Expr) -> None:
    if e.value is not None and not isinstance(e, (ast.Assign, ast.Call)):
        if isinstance(e.value, int):
            g.a.movi(R.R0, e.value)
            return
        if isinstance(e.value, (bytes, str)):
            g.string_const(e.value.encode() if isinstance(e.value, str) else e.value)
            return
    fn = GENERATORS.get(type(e))
    if fn is None:
        raise DError("D_UNKNOWN", e.loc, f"{type(e).__name__} expressions are not supported yet")
    fn(g, e)


# ------------------------------------------------------------------ leaves


def gen_int(g: Gen, e: ast.Expr) -> None:
    g.a.movi(R.R0, e.val)


def gen_str(g: Gen, e: ast.StrLit) -> None:
    g.string_const(e.val)


def gen_ident(g: Gen, e: ast.Ident) -> None:
    sym = e.sym
    kind = type(sym).__name__
    if kind == "VarSym":
        load_var(g, sym, None, e)
    elif kind in ("BuiltinSym", "BuiltinVar"):
        gen_builtin(g, e.name, e)
    else:
        raise DError("D_UNKNOWN", e.loc, f"cannot generate code for identifier {e.name}")


def gen_scoped(g: Gen, e: ast.ScopedVar) -> None:
    load_var(g, e.sym, None, e)


def gen_index(g: Gen, e: ast.Index) -> None:
    sym = e.sym
    if type(sym).__name__ == "VarSym":
        load_var(g, sym, e.args, e)
        return
    if isinstance(e.base, ast.Ident) and e.base.name == "args":
        gen_arg(g, e.args[0].value, e)
        return
    # array or pointer subscript: *(base + i)
    base_t = rt(e.base.type)
    elem = base_t.elem if isinstance(base_t, T.ArrayType) else base_t.target
    g.gen(e.base)
    slot = g.push()
    g.gen(e.args[0])
    g.a.alu("*", R.R0, None, elem.size)
    g.pop(R.R1, slot)
    g.a.alu("+", R.R0, R.R1)
    load_object(g, e.type)


def load_object(g: Gen, t: Any) -> None:
    """r0 holds the address of an object of type t: load it if scalar, else keep the address."""
    r = rt(t)
    if isinstance(r, (T.IntType, T.EnumType, T.PtrType)):
        size, signed = int_info(r)
        g.load_mem(size, signed)


# ------------------------------------------------------------------ variables


def var_size(g: Gen, t: Any) -> int:
    return g.u.strsize if is_str(t) else max(getattr(t, "size", 8) or 8, 8)


def key_datums(g: Gen, sym: Any) -> list[tuple[int, str]]:
    return [(g.u.strsize if is_str(k) else 8, "string" if is_str(k) else "int") for k in (sym.keys or ())]


def var_home(g: Gen, sym: Any):
    keys = key_datums(g, sym) if sym.keys is not None else None
    return g.u.home(sym.scope, sym.name, var_size(g, sym.type), keys)


def build_key(g: Gen, sym: Any, args: list[ast.Expr] | None) -> int:
    """Serialise a dynamic variable's key into scratch; returns its scratch offset."""
    home = var_home(g, sym)
    off = g.scratch(home.key_size)
    g.zero_scratch(off, home.key_size)
    datums = list(home.keys)
    if sym.scope == "self":
        g.a.call(Helper.get_current_pid_tgid)
        g.a.stx(8, R.R7, off, R.R0)
        datums = datums[1:]
    for d, arg in zip(datums, args or []):
        g.gen(arg)
        if d.kind == "string":
            g.copy_str(off + d.offset)
        else:
            g.a.stx(8, R.R7, off + d.offset, R.R0)
    return off


def load_var(g: Gen, sym: Any, args: list[ast.Expr] | None, e: ast.Expr) -> None:
    a = g.a
    home = var_home(g, sym)
    string = is_str(sym.type)
    if home.kind == "global":
        a.ld_map_value(R.R0, g.u.globals, home.offset)
        if not string:
            a.ldx(8, R.R0, R.R0, 0)
        return
    if home.kind == "this":
        g.scratch_ptr(R.R0, home.offset)
        if not string:
            a.ldx(8, R.R0, R.R0, 0)
        return
    koff = build_key(g, sym, args)
    a.ld_map_fd(R.R1, home.map)
    g.scratch_ptr(R.R2, koff)
    a.call(Helper.map_lookup_elem)
    found, done = a.new_label("found"), a.new_label("var")
    a.jcc("!=", R.R0, None, found, imm=0)
    if string:
        g.string_const(b"")
    else:
        a.movi(R.R0, 0)
    a.ja(done)
    a.label(found)
    if not string:
        a.ldx(8, R.R0, R.R0, 0)
    a.label(done)


def store_var(g: Gen, sym: Any, args: list[ast.Expr] | None, e: ast.Expr) -> None:
    """Store r0 (a scalar, or the address of a string) into the variable; r0 is kept."""
    a = g.a
    home = var_home(g, sym)
    string = is_str(sym.type)
    if not string:
        size, signed = int_info(sym.type)
        g.extend(size, signed)
    if home.kind in ("global", "this"):
        if home.kind == "global":
            a.ld_map_value(R.R1, g.u.globals, home.offset)
        else:
            g.scratch_ptr(R.R1, home.offset)
        if string:
            slot = g.push()
            a.mov(R.R3, R.R0)
            a.mov(R.R1, R.R1)
            a.movi(R.R2, g.u.strsize)
            a.call(Helper.probe_read_kernel_str)
            g.pop(R.R0, slot)
        else:
            a.stx(8, R.R1, 0, R.R0)
        return
    slot = g.push()
    koff = build_key(g, sym, args)
    voff = g.scratch(home.size)
    g.a.ldx(8, R.R0, R.FP, slot)
    if string:
        g.copy_str(voff)
    else:
        a.stx(8, R.R7, voff, R.R0)
    # assigning zero to a dynamic variable deletes it
    delete, done = a.new_label("del"), a.new_label("st")
    if not string:
        a.ldx(8, R.R0, R.FP, slot)
        a.jcc("==", R.R0, None, delete, imm=0)
    else:
        a.ldx(1, R.R0, R.R7, voff)
        a.jcc("==", R.R0, None, delete, imm=0)
    a.ld_map_fd(R.R1, home.map)
    g.scratch_ptr(R.R2, koff)
    g.scratch_ptr(R.R3, voff)
    a.movi(R.R4, 0)
    a.call(Helper.map_update_elem)
    a.jcc("==", R.R0, None, done, imm=0)
    g.count(L.CNT_DYNDROPS)
    a.ja(done)
    a.label(delete)
    a.ld_map_fd(R.R1, home.map)
    g.scratch_ptr(R.R2, koff)
    a.call(Helper.map_delete_elem)
    a.label(done)
    if string:
        g.scratch_ptr(R.R0, voff)
        g.pop(R.R1, slot)
    else:
        g.pop(R.R0, slot)


# ------------------------------------------------------------------ built-in variables


def gen_builtin(g: Gen, name: str, e: ast.Expr) -> None:
    a = g.a
    if name in ("pid", "tid"):
        a.call(Helper.get_current_pid_tgid)
        if name == "pid":
            a.alu(">>", R.R0, None, 32)
        else:
            a.zext(R.R0, R.R0, 32)
    elif name in ("uid", "gid"):
        a.call(Helper.get_current_uid_gid)
        if name == "gid":
            a.alu(">>", R.R0, None, 32)
        else:
            a.zext(R.R0, R.R0, 32)
    elif name == "execname":
        off = g.scratch(16)
        g.scratch_ptr(R.R1, off)
        a.movi(R.R2, 16)
        a.call(Helper.get_current_comm)
        g.scratch_ptr(R.R0, off)
    elif name in ("timestamp", "vtimestamp"):
        a.call(Helper.ktime_get_ns)
    elif name == "walltimestamp":
        a.call(Helper.ktime_get_boot_ns)
        a.ld_map_value(R.R1, g.u.globals, G_WALLOFF)
        a.ldx(8, R.R1, R.R1, 0)
        a.alu("+", R.R0, R.R1)
    elif name == "cpu":
        a.call(Helper.get_smp_processor_id)
    elif name in ("id", "epid"):
        a.ldx(8, R.R0, R.R8, 0)
    elif name in PROBE_STR:
        a.mov(R.R0, R.R8)
        a.alu("+", R.R0, None, PROBE_STR[name])
    elif name in ("ppid",):
        gen_task_field(g, ("real_parent", "tgid"), e)
    elif name == "curthread":
        a.call(Helper.get_current_task)
    elif name == "errno":
        gen_errno(g)
    elif name.startswith("arg") and name[3:].isdigit():
        gen_arg(g, int(name[3:]), e)
    else:
        raise DError("D_UNKNOWN", e.loc, f"built-in variable {name} is not supported yet")


def gen_task_field(g: Gen, path: tuple[str, ...], e: ast.Expr) -> None:
    """r0 = current->path[0]->path[1]... using kernel type offsets from BTF."""
    from ..bpf.btf import task_path

    steps = task_path(path)
    if steps is None:
        raise DError("D_UNKNOWN", e.loc, "kernel type information (BTF) is not available")
    g.a.call(Helper.get_current_task)
    for off, size, signed in steps:
        g.a.alu("+", R.R0, None, off)
        g.load_mem(size, signed)


def gen_errno(g: Gen) -> None:
    a = g.a
    if g.site.ctx != Ctx.SYSCALL_RETURN:
        a.movi(R.R0, 0)
        return
    a.ldx(8, R.R0, R.R6, 8)
    zero, done = a.new_label("ok"), a.new_label("errno")
    a.jcc("s>=", R.R0, None, zero, imm=0)
    a.jcc("s<", R.R0, None, zero, imm=-4095)
    a.neg(R.R0)
    a.ja(done)
    a.label(zero)
    a.movi(R.R0, 0)
    a.label(done)


def gen_arg(g: Gen, n: int, e: ast.Expr) -> None:
    """r0 = argument n of the probe, as the site's context provides it."""
    a = g.a
    ctx = g.site.ctx
    if ctx == Ctx.TESTRUN:
        if n < 10:
            a.ldx(8, R.R0, R.R6, 8 * n)
        else:
            a.movi(R.R0, 0)
    elif ctx == Ctx.SYSCALL_ENTRY:
        if n >= len(SYSCALL_ARG_REGS):
            a.movi(R.R0, 0)
            return
        g.read_regs_field(PT_REGS[SYSCALL_ARG_REGS[n]], g.err_label)
    elif ctx == Ctx.SYSCALL_RETURN:
        # as DTrace documents it: a failed call returns -1 and sets errno
        if n < 2:
            a.ldx(8, R.R0, R.R6, 8)
            ok = a.new_label("ret")
            a.jcc("s>=", R.R0, None, ok, imm=0)
            a.jcc("s<", R.R0, None, ok, imm=-4095)
            a.movi(R.R0, -1)
            a.label(ok)
        else:
            a.movi(R.R0, 0)
    elif ctx == Ctx.PERF:
        # arg0: kernel pc (0 in user mode), arg1: user pc (0 in kernel mode)
        if n > 1:
            a.movi(R.R0, 0)
            return
        a.ldx(8, R.R1, R.R6, PT_REGS["cs"])
        a.alu("&", R.R1, None, 3)  # CPL: 0 in the kernel, 3 in user mode
        a.movi(R.R0, 0)
        skip = a.new_label("pc")
        a.jcc("!=" if n == 0 else "==", R.R1, None, skip, imm=0)
        a.ldx(8, R.R0, R.R6, PT_REGS["ip"])
        a.label(skip)
    elif ctx == Ctx.TRACEPOINT:
        fields = g.site.data["fields"]
        if n >= len(fields):
            a.movi(R.R0, 0)
            return
        f = fields[n]
        size = f.size if f.size in (1, 2, 4, 8) else 8
        if f.is_data_loc:
            a.ldx(4, R.R0, R.R6, f.offset)
            a.zext(R.R0, R.R0, 16)
            a.alu("+", R.R0, R.R6)
            return
        a.ldx(size, R.R0, R.R6, f.offset)
        g.extend(size, f.signed)
    else:
        a.movi(R.R0, 0)


# ------------------------------------------------------------------ operators


def gen_unary(g: Gen, e: ast.Unary) -> None:
    a = g.a
    op = e.op
    if op in ("++", "--"):
        gen_incdec(g, e.operand, op, prefix=True)
        return
    if op == "&":
        gen_address(g, e.operand)
        return
    g.gen(e.operand)
    if op == "-":
        a.neg(R.R0)
    elif op == "~":
        a.alu("^", R.R0, None, -1)
    elif op == "!":
        if is_str(e.operand.type):
            string_empty(g)
            return
        set_bool(g, "==", 0)
        return
    elif op == "*":
        load_object(g, e.type)
        return
    normalize(g, e.type)


def string_empty(g: Gen) -> None:
    """r0 = (string at r0 is empty)."""
    off = g.scratch(8)
    g.copy_str(off, size=2)
    g.a.ldx(1, R.R0, R.R7, off)
    set_bool(g, "==", 0)


def set_bool(g: Gen, op: str, imm: int, src: int | None = None) -> None:
    """r0 = (r0 op imm/src) ? 1 : 0."""
    a = g.a
    t = a.new_label("t")
    done = a.new_label("b")
    a.jcc(op, R.R0, src, t, imm=imm)
    a.movi(R.R0, 0)
    a.ja(done)
    a.label(t)
    a.movi(R.R0, 1)
    a.label(done)


def normalize(g: Gen, t: Any) -> None:
    r = rt(t)
    if isinstance(r, (T.IntType, T.EnumType)):
        size, signed = int_info(r)
        g.extend(size, signed)


def gen_binary(g: Gen, e: ast.Binary) -> None:
    a = g.a
    op = e.op
    if op in ("&&", "||"):
        out, short = a.new_label("sc"), a.new_label("sv")
        g.gen(e.left)
        to_bool(g, e.left)
        a.jcc("==" if op == "&&" else "!=", R.R0, None, short, imm=0)
        g.gen(e.right)
        to_bool(g, e.right)
        a.ja(out)
        a.label(short)
        a.movi(R.R0, 0 if op == "&&" else 1)
        a.label(out)
        return
    if op == "^^":
        g.gen(e.left)
        to_bool(g, e.left)
        slot = g.push()
        g.gen(e.right)
        to_bool(g, e.right)
        g.pop(R.R1, slot)
        a.alu("^", R.R0, R.R1)
        return
    if op == ",":
        g.gen(e.left)
        g.gen(e.right)
        return
    lt, rtype = e.left.type, e.right.type
    if op in CMP_OPS and (is_str(lt) or is_str(rtype)):
        gen_strcmp(g, e.left, e.right)
        set_bool(g, CMP_OPS[op][1], 0)
        return
    g.gen(e.left)
    slot = g.push()
    g.gen(e.right)
    a.mov(R.R1, R.R0)
    g.pop(R.R0, slot)
    # r0 = left, r1 = right
    if op in CMP_OPS:
        common = T.promote(lt, rtype) if lt.is_integer() and rtype.is_integer() else None
        signed = common is not None and common.is_signed()
        set_bool(g, CMP_OPS[op][1 if signed else 0], 0, R.R1)
        return
    lptr, rptr = rt(lt).kind in ("ptr", "array"), rt(rtype).kind in ("ptr", "array")
    if op in ("+", "-") and (lptr or rptr):
        gen_ptr_arith(g, e, lptr, rptr)
        return
    signed = e.type.is_signed() if e.type is not None else True
    if op in ("/", "%"):
        ok = a.new_label("div")
        a.jcc("!=", R.R1, None, ok, imm=0)
        g.fault(L.FLT_DIVZERO)
        a.label(ok)
        a.alu(("s" + op) if signed else op, R.R0, R.R1)
    elif op == ">>":
        a.alu("s>>" if e.left.type.is_signed() else ">>", R.R0, R.R1)
    else:
        a.alu(ARITH_OPS[op], R.R0, R.R1)
    normalize(g, e.type)


def gen_ptr_arith(g: Gen, e: ast.Binary, lptr: bool, rptr: bool) -> None:
    """Pointer +/- integer scales by the pointee size; pointer - pointer divides by it."""
    a = g.a

    def elem_size(t: Any) -> int:
        r = rt(t)
        target = r.elem if isinstance(r, T.ArrayType) else r.target
        return max(getattr(target, "size", 1) or 1, 1)

    if lptr and rptr:
        a.alu("-", R.R0, R.R1)
        a.alu("s/", R.R0, None, elem_size(e.left.type))
        return
    if lptr:
        a.alu("*", R.R1, None, elem_size(e.left.type))
    else:
        a.alu("*", R.R0, None, elem_size(e.right.type))
    a.alu(e.op if e.op == "+" else "-", R.R0, R.R1)


def to_bool(g: Gen, e: ast.Expr) -> None:
    if is_str(e.type):
        string_empty(g)
        g.a.alu("^", R.R0, None, 1)
    else:
        set_bool(g, "!=", 0)


def gen_strcmp(g: Gen, left: ast.Expr, right: ast.Expr) -> None:
    """r0 = <0, 0, >0 as strcmp(left, right)."""
    a = g.a
    n = g.u.strsize
    g.gen(left)
    loff = g.scratch(n)
    g.copy_str(loff)
    g.gen(right)
    roff = g.scratch(n)
    g.copy_str(roff)
    loop, diff, eq, done = (a.new_label(x) for x in ("cmp", "diff", "eq", "cmpd"))
    a.movi(R.R1, 0)
    a.label(loop)
    a.jcc(">=", R.R1, None, eq, imm=n)
    a.mov(R.R2, R.R7)
    a.alu("+", R.R2, None, loff)
    a.alu("+", R.R2, R.R1)
    a.ldx(1, R.R3, R.R2, 0)
    a.mov(R.R4, R.R7)
    a.alu("+", R.R4, None, roff)
    a.alu("+", R.R4, R.R1)
    a.ldx(1, R.R5, R.R4, 0)
    a.jcc("!=", R.R3, R.R5, diff)
    a.jcc("==", R.R3, None, eq, imm=0)
    a.alu("+", R.R1, None, 1)
    a.ja(loop)
    a.label(diff)
    a.mov(R.R0, R.R3)
    a.alu("-", R.R0, R.R5)
    a.ja(done)
    a.label(eq)
    a.movi(R.R0, 0)
    a.label(done)


def gen_ternary(g: Gen, e: ast.Ternary) -> None:
    a = g.a
    other, done = a.new_label("else"), a.new_label("fi")
    g.gen(e.cond)
    if is_str(e.cond.type):
        to_bool(g, e.cond)
    a.jcc("==", R.R0, None, other, imm=0)
    g.gen(e.then)
    a.ja(done)
    a.label(other)
    g.gen(e.other)
    a.label(done)


def gen_cast(g: Gen, e: ast.Cast) -> None:
    g.gen(e.operand)
    normalize(g, e.type)


# ------------------------------------------------------------------ assignment


def lvalue_sym(e: ast.Expr):
    """(VarSym, index args) of an assignable variable expression."""
    if isinstance(e, (ast.Ident, ast.ScopedVar)) and type(e.sym).__name__ == "VarSym":
        return e.sym, None
    if isinstance(e, ast.Index) and type(e.sym).__name__ == "VarSym":
        return e.sym, e.args
    raise DError("D_OP_LVAL", e.loc, "operator = requires modifiable lvalue as an operand")


def gen_assign(g: Gen, e: ast.Assign) -> None:
    sym, args = lvalue_sym(e.target)
    if e.op == "=":
        g.gen(e.val)
        if not is_str(sym.type):
            normalize(g, e.target.type)
        store_var(g, sym, args, e)
        return
    load_var(g, sym, args, e)
    slot = g.push()
    g.gen(e.val)
    g.a.mov(R.R1, R.R0)
    g.pop(R.R0, slot)
    op = e.op[:-1]
    signed = e.target.type.is_signed()
    if op in ("/", "%"):
        ok = g.a.new_label("div")
        g.a.jcc("!=", R.R1, None, ok, imm=0)
        g.fault(L.FLT_DIVZERO)
        g.a.label(ok)
        g.a.alu(("s" + op) if signed else op, R.R0, R.R1)
    elif op == ">>":
        g.a.alu("s>>" if signed else ">>", R.R0, R.R1)
    elif op in ("+", "-") and rt(e.target.type).kind == "ptr":
        tsize = max(rt(e.target.type).target.size or 1, 1)
        g.a.alu("*", R.R1, None, tsize)
        g.a.alu(op, R.R0, R.R1)
    else:
        g.a.alu(ARITH_OPS[op], R.R0, R.R1)
    normalize(g, e.target.type)
    store_var(g, sym, args, e)


def gen_incdec(g: Gen, target: ast.Expr, op: str, prefix: bool) -> None:
    sym, args = lvalue_sym(target)
    load_var(g, sym, args, target)
    step = 1
    r = rt(target.type)
    if isinstance(r, T.PtrType):
        step = max(r.target.size or 1, 1)
    slot = g.push()
    g.a.alu("+" if op == "++" else "-", R.R0, None, step)
    normalize(g, target.type)
    store_var(g, sym, args, target)
    if prefix:
        g.pop(R.R1, slot)
    else:
        g.pop(R.R0, slot)


def gen_postfix(g: Gen, e: ast.Postfix) -> None:
    gen_incdec(g, e.operand, e.op, prefix=False)


# ------------------------------------------------------------------ members and addresses


def gen_address(g: Gen, e: ast.Expr) -> None:
    """r0 = the address of an lvalue in kernel memory (members, subscripts, derefs)."""
    if isinstance(e, ast.Member):
        member_address(g, e)
    elif isinstance(e, ast.Unary) and e.op == "*":
        g.gen(e.operand)
    elif isinstance(e, ast.Index) and e.sym is None:
        base_t = rt(e.base.type)
        elem = base_t.elem if isinstance(base_t, T.ArrayType) else base_t.target
        g.gen(e.base)
        slot = g.push()
        g.gen(e.args[0])
        g.a.alu("*", R.R0, None, elem.size)
        g.pop(R.R1, slot)
        g.a.alu("+", R.R0, R.R1)
    elif isinstance(e, ast.Symbol) and e.sym is not None:
        g.a.movi(R.R0, e.sym[1] if isinstance(e.sym, tuple) else 0)
    else:
        raise DError("D_ADDROF_LVAL", e.loc, "unacceptable operand for unary & operator")


def member_address(g: Gen, e: ast.Member) -> None:
    f = e.sym
    if e.arrow:
        g.gen(e.base)
    else:
        gen_address(g, e.base)
    off = f.offset
    if off:
        g.a.alu("+", R.R0, None, off)


def gen_member(g: Gen, e: ast.Member) -> None:
    f = e.sym
    member_address(g, e)
    bits = getattr(f, "bits", None)
    if bits:
        # load the containing bytes, then shift the field down and mask it
        start = f.bit_offset - 8 * f.offset
        nbytes = (start + bits + 7) // 8
        size = 1 if nbytes <= 1 else 2 if nbytes <= 2 else 4 if nbytes <= 4 else 8
        g.load_mem(size, False)
        if start:
            g.a.alu(">>", R.R0, None, start)
        g.a.zext(R.R0, R.R0, bits)
        return
    load_object(g, e.type)


def gen_symbol(g: Gen, e: ast.Symbol) -> None:
    gen_address(g, e)
    load_object(g, e.type)


def gen_stringof(g: Gen, e: ast.Stringof) -> None:
    g.gen(e.operand)


GENERATORS = {
    ast.IntLit: gen_int,
    ast.CharLit: gen_int,
    ast.StrLit: gen_str,
    ast.Ident: gen_ident,
    ast.ScopedVar: gen_scoped,
    ast.Index: gen_index,
    ast.Unary: gen_unary,
    ast.Postfix: gen_postfix,
    ast.Binary: gen_binary,
    ast.Ternary: gen_ternary,
    ast.Cast: gen_cast,
    ast.Assign: gen_assign,
    ast.Member: gen_member,
    ast.Symbol: gen_symbol,
    ast.Stringof: gen_stringof,
}


def _gen_call(g: Gen, e: ast.Call) -> None:
    from .funcs import gen_call

    gen_call(g, e)


GENERATORS[ast.Call] = _gen_call
