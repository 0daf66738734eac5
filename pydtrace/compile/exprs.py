"""Expressions → BPF. `gen_expr(g, e)` leaves e's value in r0 (see codegen's conventions)."""

from __future__ import annotations

from typing import Any

from ..bpf.asm import R
from ..bpf.sys import Helper
from ..lang import ast
from ..lang import types as T
from ..lang.errors import DError
from ..providers.base import Ctx
from . import layout as L
from .codegen import (ARITH_OPS, CMP_OPS, FP_FADDR, PT_REGS,
                      SYSCALL_ARG_REGS, Gen, int_info, is_str, rt)
from .unit import G_WALLOFF, PROBE_STR, SCRATCH, align


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
    gen_addr(g, e)
    load_object(g, e.type)


def load_object(g: Gen, t: Any) -> None:
    """r0 holds the address of an object of type t: load it if scalar, else keep the address."""
    r = rt(t)
    if isinstance(r, (T.IntType, T.EnumType, T.PtrType)):
        size, signed = int_info(r)
        g.load_mem(size, signed)


def by_ref(t: Any) -> bool:
    """Values of these types are addresses in registers: strings, structs/unions, arrays."""
    return t is not None and (is_str(t) or isinstance(rt(t), (T.ArrayType, T.StructType)))


def is_zero(e: ast.Expr) -> bool:
    return isinstance(e.value, int) and not isinstance(e.value, bool) and e.value == 0 \
        and e.type is not None and e.type.is_integer()


# ------------------------------------------------------------------ variables


def var_size(g: Gen, t: Any) -> int:
    """Bytes of a variable's value: strsize for strings, the declared size of a struct,
    union or array, 8 for scalars (kept 64-bit, normalised to their type)."""
    if is_str(t):
        return g.u.strsize
    if by_ref(t):
        return max(t.size or 1, 1)
    return 8


def key_datum(g: Gen, k: Any) -> tuple[int, str]:
    """(size, kind) of one key component: strings and structs are keyed by their bytes."""
    if is_str(k):
        return g.u.strsize, "string"
    if isinstance(rt(k), T.SymAddrType):  # usym()/uaddr()/umod() keys hold [pid][address]
        return (16, "usym") if rt(k).user else (8, "sym")
    if by_ref(k):
        return max(k.size or 1, 1), "bytes"
    return 8, "int"


def key_datums(g: Gen, sym: Any) -> list[tuple[int, str]]:
    return [key_datum(g, k) for k in (sym.keys or ())]


STR_NULL = 8  # a global or clause-local string: [u64 NULL flag][text]


def var_home(g: Gen, sym: Any):
    keys = key_datums(g, sym) if sym.keys is not None else None
    size = var_size(g, sym.type)
    if is_str(sym.type) and keys is None and sym.scope != "self":
        size += STR_NULL  # a string variable may hold NULL (strchr() found nothing)
    return g.u.home(sym.scope, sym.name, size, keys)


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
    for d, arg, kt in zip(datums, args or [], sym.keys or ()):
        g.gen(arg)
        if d.kind == "string":
            g.copy_str(off + d.offset)
        elif d.kind == "bytes":
            g.probe_read(off + d.offset, max(kt.size or 1, 1), R.R0)
        else:
            normalize(g, arg.type)
            g.a.stx(8, R.R7, off + d.offset, R.R0)
    return off


def zero_value(g: Gen, size: int, reg: int = R.R0) -> None:
    """reg = address of `size` zero bytes (what a missing struct-valued variable reads as)."""
    g.u.zeros.value_size = max(g.u.zeros.value_size, align(size))
    g.a.ld_map_value(reg, g.u.zeros, 0)


def var_addr(g: Gen, sym: Any, args: list[ast.Expr] | None, create: bool = False) -> None:
    """r0 = the address of a variable's storage (a pointer the verifier knows). A missing
    dynamic variable is NULL; with `create` it is made (zero-filled) first, as a member or
    element store into it needs."""
    a = g.a
    home = var_home(g, sym)
    text = STR_NULL if is_str(sym.type) else 0
    if home.kind == "global":
        a.ld_map_value(R.R0, g.u.globals, home.offset + text)
        return
    if home.kind == "this":
        g.scratch_ptr(R.R0, home.offset + text)
        return
    koff = build_key(g, sym, args)
    done = a.new_label("var")
    a.ld_map_fd(R.R1, home.map)
    g.scratch_ptr(R.R2, koff)
    a.call(Helper.map_lookup_elem)
    a.jcc("!=", R.R0, None, done, imm=0)
    if not create:
        a.label(done)  # a missing variable is NULL (as DTrace's dt_get_dvar() returns)
        return
    a.ld_map_fd(R.R1, home.map)
    g.scratch_ptr(R.R2, koff)
    zero_value(g, home.size, R.R3)
    a.movi(R.R4, 1)  # BPF_NOEXIST
    a.call(Helper.map_update_elem)
    a.ld_map_fd(R.R1, home.map)
    g.scratch_ptr(R.R2, koff)
    a.call(Helper.map_lookup_elem)
    a.jcc("!=", R.R0, None, done, imm=0)
    g.count(L.CNT_DYNDROPS)
    g.scratch_ptr(R.R0, g.scratch(home.size))  # no room: the store goes nowhere
    a.label(done)


def load_var(g: Gen, sym: Any, args: list[ast.Expr] | None, e: ast.Expr) -> None:
    a = g.a
    home = var_home(g, sym)
    if is_str(sym.type) and home.kind != "map":
        if home.kind == "global":
            a.ld_map_value(R.R1, g.u.globals, home.offset)
        else:
            g.scratch_ptr(R.R1, home.offset)
        a.ldx(8, R.R0, R.R1, 0)
        null, done = a.new_label("null"), a.new_label("str")
        a.jcc("!=", R.R0, None, null, imm=0)
        a.mov(R.R0, R.R1)
        a.alu("+", R.R0, None, STR_NULL)
        a.ja(done)
        a.label(null)
        a.movi(R.R0, 0)
        a.label(done)
        return
    if by_ref(sym.type):
        var_addr(g, sym, args)
        return
    if home.kind == "global":
        a.ld_map_value(R.R0, g.u.globals, home.offset)
        a.ldx(8, R.R0, R.R0, 0)
        return
    if home.kind == "this":
        a.ldx(8, R.R0, R.R7, home.offset)
        return
    koff = build_key(g, sym, args)
    a.ld_map_fd(R.R1, home.map)
    g.scratch_ptr(R.R2, koff)
    a.call(Helper.map_lookup_elem)
    found, done = a.new_label("found"), a.new_label("var")
    a.jcc("!=", R.R0, None, found, imm=0)
    a.movi(R.R0, 0)
    a.ja(done)
    a.label(found)
    a.ldx(8, R.R0, R.R0, 0)
    a.label(done)


def store_var(g: Gen, sym: Any, args: list[ast.Expr] | None, e: ast.Expr) -> None:
    """Store r0 (a scalar, or the address of a string/struct) into the variable; r0 is
    kept (for a struct: the address of the stored copy)."""
    a = g.a
    home = var_home(g, sym)
    string = is_str(sym.type)
    if by_ref(sym.type) and not string:
        store_ref_var(g, sym, args, home)
        return
    if not string:
        size, signed = int_info(sym.type)
        g.extend(size, signed)
    if home.kind in ("global", "this"):
        if home.kind == "global":
            a.ld_map_value(R.R1, g.u.globals, home.offset)
        else:
            g.scratch_ptr(R.R1, home.offset)
        if string:
            # NULL sets the flag; anything else is copied (unreadable: the empty string)
            null, done = a.new_label("null"), a.new_label("str")
            a.jcc("==", R.R0, None, null, imm=0)
            a.st(8, R.R1, 0, 0)
            a.mov(R.R3, R.R0)
            a.alu("+", R.R1, None, STR_NULL)
            slot = g.push(R.R1)
            a.movi(R.R2, g.u.strsize)
            a.call(Helper.probe_read_kernel_str)
            g.pop(R.R0, slot)
            a.ja(done)
            a.label(null)
            a.st(8, R.R1, 0, 1)
            a.st(1, R.R1, STR_NULL, 0)
            a.movi(R.R0, 0)
            a.label(done)
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
    # assigning zero (for a string: NULL, not "") to a dynamic variable deletes it
    delete, done = a.new_label("del"), a.new_label("st")
    a.ldx(8, R.R0, R.FP, slot)
    a.jcc("==", R.R0, None, delete, imm=0)
    update_or_delete(g, home, koff, voff, delete, done)
    if string:
        g.scratch_ptr(R.R0, voff)
        g.pop(R.R1, slot)
    else:
        g.pop(R.R0, slot)


def update_or_delete(g: Gen, home: Any, koff: int, voff: int, delete: str, done: str) -> None:
    """Store the value at scratch voff under the key at koff; `delete` deletes it instead."""
    a = g.a
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


def store_ref_var(g: Gen, sym: Any, args: list[ast.Expr] | None, home: Any) -> None:
    """Copy the struct/union at r0 (BPF or kernel memory) into the variable; r0 = the copy.
    A dynamic variable assigned an all-zero value is deleted, as DTrace does."""
    a = g.a
    size = max(sym.type.size or 1, 1)
    src = g.push()
    if home.kind in ("global", "this"):
        var_addr(g, sym, args)
        a.ldx(8, R.R1, R.FP, src)
        copy_mem(g, R.R0, R.R1, size)
        g.pop(R.R1, src)
        return
    koff = build_key(g, sym, args)
    voff = g.scratch(home.size)
    g.zero_scratch(voff, home.size)
    a.ldx(8, R.R0, R.FP, src)
    g.probe_read(voff, size, R.R0)
    delete, done = a.new_label("del"), a.new_label("st")
    a.movi(R.R0, 0)
    for o in range(0, align(size), 8):
        a.ldx(8, R.R1, R.R7, voff + o)
        a.alu("|", R.R0, R.R1)
    a.jcc("==", R.R0, None, delete, imm=0)
    update_or_delete(g, home, koff, voff, delete, done)
    g.scratch_ptr(R.R0, voff)
    g.pop(R.R1, src)


def delete_var(g: Gen, sym: Any, args: list[ast.Expr] | None) -> None:
    """`var = 0` for a struct-valued dynamic variable: delete it (zero a static one)."""
    a = g.a
    home = var_home(g, sym)
    if home.kind in ("global", "this"):
        var_addr(g, sym, args)
        for o in range(0, home.size, 8):
            a.st(8, R.R0, o, 0)
    else:
        koff = build_key(g, sym, args)
        a.ld_map_fd(R.R1, home.map)
        g.scratch_ptr(R.R2, koff)
        a.call(Helper.map_delete_elem)
    a.movi(R.R0, 0)


def copy_mem(g: Gen, dst: int, src: int, size: int, string: bool = False) -> None:
    """Copy `size` bytes (a string: up to its NUL) from src (any kernel or BPF address) to
    the verified pointer dst; r0 = dst after. A bad source address faults."""
    a = g.a
    slot = g.push(dst)
    a.stx(8, R.FP, FP_FADDR, src)
    if src != R.R3:
        a.mov(R.R3, src)
    if dst != R.R1:
        a.mov(R.R1, dst)
    a.movi(R.R2, size)
    a.call(Helper.probe_read_kernel_str if string else Helper.probe_read_kernel)
    ok = a.new_label("cp")
    if string:
        a.jcc("s>", R.R0, None, ok, imm=0)
        a.ldx(8, R.R1, R.FP, slot)
        a.st(1, R.R1, 0, 0)  # unreadable: the empty string
        a.ja(ok)
    else:
        a.jcc("==", R.R0, None, ok, imm=0)
        g.fail(L.FLT_BADADDR)
    a.label(ok)
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
    elif name == "vtimestamp":
        # the thread's time on CPU as the scheduler accounts it (updated at ticks and switches)
        gen_task_field(g, ("se", "sum_exec_runtime"), e)
    elif name == "timestamp":
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
    elif name in ("stackdepth", "ustackdepth", "caller", "ucaller"):
        from .strings import gen_stack_builtin

        gen_stack_builtin(g, name)
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
        g.read_regs_field(PT_REGS[SYSCALL_ARG_REGS[n]])
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
        if gen_addr(g, e.operand) != "foreign":
            to_scalar(g)
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
        return max(elem_type(t).size or 1, 1)

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


def var_lvalue(e: ast.Expr):
    """(VarSym, index args) of a variable lvalue, or None for a memory lvalue."""
    if isinstance(e, (ast.Ident, ast.ScopedVar)) and type(e.sym).__name__ == "VarSym":
        return e.sym, None
    if isinstance(e, ast.Index) and type(e.sym).__name__ == "VarSym":
        return e.sym, e.args
    return None


def gen_assign(g: Gen, e: ast.Assign) -> None:
    lv = var_lvalue(e.target)
    if lv is None:
        gen_store_mem(g, e)
        return
    sym, args = lv
    if e.op == "=":
        if by_ref(sym.type) and not is_str(sym.type) and is_zero(e.val):
            delete_var(g, sym, args)
            return
        g.gen(e.val)
        if not by_ref(sym.type):
            normalize(g, e.target.type)
        store_var(g, sym, args, e)
        return
    load_var(g, sym, args, e)
    slot = g.push()
    g.gen(e.val)
    g.a.mov(R.R1, R.R0)
    g.pop(R.R0, slot)
    apply_op(g, e.op[:-1], e.target.type)
    store_var(g, sym, args, e)


def apply_op(g: Gen, op: str, t: Any) -> None:
    """r0 = r0 op r1 for a compound assignment to an lvalue of type t."""
    a = g.a
    signed = t.is_signed()
    if op in ("/", "%"):
        ok = a.new_label("div")
        a.jcc("!=", R.R1, None, ok, imm=0)
        g.fault(L.FLT_DIVZERO)
        a.label(ok)
        a.alu(("s" + op) if signed else op, R.R0, R.R1)
    elif op == ">>":
        a.alu("s>>" if signed else ">>", R.R0, R.R1)
    elif op in ("+", "-") and rt(t).kind == "ptr":
        a.alu("*", R.R1, None, max(rt(t).target.size or 1, 1))
        a.alu(op, R.R0, R.R1)
    else:
        a.alu(ARITH_OPS[op], R.R0, R.R1)
    normalize(g, t)


def gen_store_mem(g: Gen, e: ast.Assign) -> None:
    """An assignment to a member, an array element or through a pointer."""
    target = e.target
    t = target.type
    f = bitfield_of(target)
    if e.op == "=":
        g.gen(e.val)
        if not by_ref(t):
            normalize(g, t)
        vslot = g.push()
        lvalue_ptr(g, target, t, f)
        g.a.ldx(8, R.R1, R.FP, vslot)
        mem_store(g, t, f, e.val.type)
        g.pop(R.R1, vslot)
        return
    lvalue_ptr(g, target, t, f)
    aslot = g.push()
    mem_load(g, t, f)
    cslot = g.push()
    g.gen(e.val)
    g.a.mov(R.R1, R.R0)
    g.pop(R.R0, cslot)
    apply_op(g, e.op[:-1], t)
    g.a.mov(R.R1, R.R0)
    g.a.ldx(8, R.R0, R.FP, aslot)
    mem_store(g, t, f)
    g.pop(R.R1, aslot)


def gen_incdec(g: Gen, target: ast.Expr, op: str, prefix: bool) -> None:
    step = 1
    r = rt(target.type)
    if isinstance(r, T.PtrType):
        step = max(r.target.size or 1, 1)
    lv = var_lvalue(target)
    if lv is None:
        f = bitfield_of(target)
        lvalue_ptr(g, target, target.type, f)
        aslot = g.push()
        mem_load(g, target.type, f)
        old = g.push()
        g.a.alu("+" if op == "++" else "-", R.R0, None, step)
        normalize(g, target.type)
        g.a.mov(R.R1, R.R0)
        g.a.ldx(8, R.R0, R.FP, aslot)
        mem_store(g, target.type, f)
        if prefix:
            g.pop(R.R1, old)
        else:
            g.pop(R.R0, old)
        g.pop(R.R1, aslot)
        return
    sym, args = lv
    load_var(g, sym, args, target)
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


# ------------------------------------------------------------------ memory lvalues


def bitfield_of(e: ast.Expr) -> Any:
    """The FieldSym of a bit-field member expression, else None."""
    f = e.sym if isinstance(e, ast.Member) else None
    return f if f is not None and getattr(f, "bits", None) else None


def unit_size(f: Any) -> int:
    """Bytes to load/store to reach every bit of a bit-field (from its byte offset)."""
    start = f.bit_offset - 8 * f.offset
    nbytes = (start + f.bits + 7) // 8
    return 1 if nbytes <= 1 else 2 if nbytes <= 2 else 4 if nbytes <= 4 else 8


def store_size(g: Gen, t: Any, f: Any) -> int:
    if f is not None:
        return unit_size(f)
    if is_str(t):
        # a string member holds sizeof (string) = strsize bytes: the buffer less one
        return min(g.u.strsize, getattr(rt(t), "size", 0) or g.u.strsize)
    if by_ref(t):
        return max(t.size or 1, 1)
    return int_info(t)[0]


def lvalue_ptr(g: Gen, e: ast.Expr, t: Any, f: Any) -> None:
    """r0 = a pointer the verifier accepts for a store to lvalue e: D variables are written
    directly; any other address must fall inside D's own memory (scratch, globals)."""
    if gen_addr(g, e, create=True) == "foreign":
        checked_ptr(g, store_size(g, t, f))


def to_scalar(g: Gen) -> None:
    """r0 = the numeric value of r0, which may be a pointer into a map value: a pointer
    stored to map memory reads back as a plain number (root may store pointers), which
    may then be kept, compared or masked."""
    off = g.scratch(8)
    g.a.stx(8, R.R7, off, R.R0)
    g.a.ldx(8, R.R0, R.R7, off)


def checked_ptr(g: Gen, size: int) -> None:
    """r0 (an address) → a pointer to the same `size` bytes that a program may write: the
    alloca() space handed out so far, clause-local variables or the globals. Any other
    address faults (invalid address), as a store outside DTrace's own memory does."""
    from .strings import AREA_ALLOCA, GUARD

    a = g.a
    u = g.u
    to_scalar(g)
    slot = g.push()
    done, glob, bad, in_scratch = (a.new_label(x) for x in ("ptr", "glob", "bad", "scr"))
    a.mov(R.R0, R.R7)
    to_scalar(g)
    a.ldx(8, R.R1, R.FP, slot)
    a.alu("-", R.R1, R.R0)  # r1 = offset in scratch
    al = u.homes.get(("this", AREA_ALLOCA))
    if al is not None:
        # alloca space: [top][guard][arena][guard]; only [arena, arena + top) is writable
        other = a.new_label("nal")
        a.mov(R.R2, R.R1)
        a.alu("-", R.R2, None, al.offset)
        a.jcc(">=", R.R2, None, other, imm=al.size)
        a.alu("-", R.R2, None, 8 + GUARD)
        a.jcc("s<", R.R2, None, bad, imm=0)
        a.ldx(8, R.R3, R.R7, al.offset)
        a.alu("-", R.R3, None, size)
        a.jcc("s>", R.R2, R.R3, bad)
        a.ja(in_scratch)
        a.label(other)
    if u.this_size >= size or al is not None:
        if u.this_size >= size:
            a.jcc(">", R.R1, None, glob, imm=u.this_size - size)
        else:
            a.ja(glob)
        a.label(in_scratch)
        a.jcc(">", R.R1, None, bad, imm=SCRATCH - size)  # (what the verifier needs to know)
        a.mov(R.R0, R.R7)
        a.alu("+", R.R0, R.R1)
        a.ja(done)
    a.label(glob)
    limit = u.globals.value_size - size
    if limit >= 0:
        a.ld_map_value(R.R0, u.globals, 0)
        to_scalar(g)
        a.ldx(8, R.R1, R.FP, slot)
        a.alu("-", R.R1, R.R0)
        a.jcc(">", R.R1, None, bad, imm=limit)
        a.ld_map_value(R.R0, u.globals, 0)
        a.alu("+", R.R0, R.R1)
        a.ja(done)
    a.label(bad)
    a.ldx(8, R.R1, R.FP, slot)
    g.fault(L.FLT_BADADDR, R.R1)
    a.label(done)
    g.pop(R.R1, slot)


def mem_load(g: Gen, t: Any, f: Any) -> None:
    """r0 = the value at the verified pointer r0 (a scalar or bit-field lvalue)."""
    a = g.a
    if f is not None:
        a.ldx(unit_size(f), R.R0, R.R0, 0)
        extract_bits(g, f, t)
        return
    size, signed = int_info(t)
    a.ldx(size, R.R0, R.R0, 0)
    g.extend(size, signed)


def mem_store(g: Gen, t: Any, f: Any, src_t: Any = None) -> None:
    """Store r1 (a scalar, or the address of a struct/string) at the verified pointer r0;
    r0 = the value stored (for a struct or string: its new address)."""
    a = g.a
    if by_ref(t):
        string = is_str(t) or (src_t is not None and is_str(src_t))
        copy_mem(g, R.R0, R.R1, store_size(g, t, None), string=string)
        return
    if f is None:
        size = int_info(t)[0]
        a.stx(size, R.R0, 0, R.R1)
        a.mov(R.R0, R.R1)
        normalize(g, t)
        return
    size = unit_size(f)
    start = f.bit_offset - 8 * f.offset
    mask = ((1 << f.bits) - 1) << start
    a.ldx(size, R.R2, R.R0, 0)
    a.movi(R.R3, ~mask & ((1 << 64) - 1))
    a.alu("&", R.R2, R.R3)
    a.mov(R.R4, R.R1)
    a.zext(R.R4, R.R4, f.bits)
    if start:
        a.alu("<<", R.R4, None, start)
    a.alu("|", R.R2, R.R4)
    a.stx(size, R.R0, 0, R.R2)
    a.mov(R.R0, R.R1)
    a.sext(R.R0, R.R0, f.bits) if t.is_signed() else a.zext(R.R0, R.R0, f.bits)


def extract_bits(g: Gen, f: Any, t: Any) -> None:
    """r0 holds the bytes from a bit-field's byte offset: shift the field down, then
    sign- or zero-extend it as its type says."""
    start = f.bit_offset - 8 * f.offset
    a = g.a
    if t is not None and t.is_signed():
        if 64 - start - f.bits:
            a.alu("<<", R.R0, None, 64 - start - f.bits)
        a.alu("s>>", R.R0, None, 64 - f.bits)
        return
    if start:
        a.alu(">>", R.R0, None, start)
    a.zext(R.R0, R.R0, f.bits)


# ------------------------------------------------------------------ members and addresses


def elem_type(t: Any) -> Any:
    """What an array, pointer or string (a char array) holds."""
    r = rt(t)
    if isinstance(r, T.ArrayType):
        return r.elem
    if isinstance(r, T.PtrType):
        return r.target
    return T.CHAR


def gen_addr(g: Gen, e: ast.Expr, create: bool = False) -> str:
    """r0 = the address of lvalue (or by-reference value) e. Returns 'direct' when r0 is a
    pointer into a global or clause-local variable's storage, 'dynamic' into a dynamic
    variable's value (the verifier knows both: loads and stores may use them as they are),
    'foreign' when it is a plain address (kernel memory, or D memory reached through a
    pointer value). `create` makes a missing dynamic variable (for a store)."""
    a = g.a
    lv = var_lvalue(e)
    if lv is not None:
        sym, args = lv
        if not by_ref(sym.type):
            raise DError("D_ADDROF_VAR", e.loc, "cannot take address of dynamic variable")
        var_addr(g, sym, args, create)
        return "dynamic" if sym.scope == "self" or sym.keys is not None else "direct"
    if isinstance(e, ast.Member):
        if e.arrow:
            g.gen(e.base)
            kind = "foreign"
        else:
            kind = gen_addr(g, e.base, create)
        if e.sym.offset:
            a.alu("+", R.R0, None, e.sym.offset)
        return kind
    if isinstance(e, ast.Unary) and e.op == "*":
        g.gen(e.operand)
        return "foreign"
    if isinstance(e, ast.Index) and e.sym is None:
        return index_addr(g, e, create)
    if isinstance(e, ast.Symbol) and e.sym is not None:
        a.movi(R.R0, e.sym[1] if isinstance(e.sym, tuple) else 0)
        return "foreign"
    if by_ref(e.type):
        g.gen(e)
        return "foreign"
    raise DError("D_ADDROF_LVAL", e.loc, "unacceptable operand for unary & operator")


def index_addr(g: Gen, e: ast.Index, create: bool) -> str:
    """r0 = &base[i] (see gen_addr). A run-time index outside an array held by a D
    variable faults: a global or clause-local array reports the index (index out of
    bounds), an array in a dynamic variable the address (invalid address), as DTrace."""
    a = g.a
    base_t = rt(e.base.type)
    esize = max(elem_type(base_t).size or 1, 1)
    if isinstance(base_t, T.ArrayType):
        kind = gen_addr(g, e.base, create)
        check = base_t.count if (kind != "foreign" or base_t.count > 1) else 0
    else:
        g.gen(e.base)
        kind, check = "foreign", 0
    idx = e.args[0]
    const = idx.value if isinstance(idx.value, int) and not isinstance(idx.value, bool) else None
    if const is not None and (not check or 0 <= const < check):
        if const:
            a.alu("+", R.R0, None, const * esize)
        return kind
    slot = g.push()
    g.gen(idx)
    if check:
        ok = a.new_label("idx")
        a.jcc("<", R.R0, None, ok, imm=check)
        if kind == "dynamic":
            a.alu("*", R.R0, None, esize)
            a.mov(R.R9, R.R0)
            a.ldx(8, R.R0, R.FP, slot)
            to_scalar(g)
            a.alu("+", R.R0, R.R9)
            g.fault(L.FLT_BADADDR, R.R0)
        else:
            g.fault(L.FLT_BADINDEX, R.R0)
        a.label(ok)
    a.alu("*", R.R0, None, esize)
    g.pop(R.R1, slot)
    a.alu("+", R.R1, R.R0)
    a.mov(R.R0, R.R1)
    return kind


def gen_address(g: Gen, e: ast.Expr) -> None:
    """r0 = the address of lvalue e, as a number."""
    if gen_addr(g, e) != "foreign":
        to_scalar(g)


def gen_member(g: Gen, e: ast.Member) -> None:
    f = e.sym
    gen_addr(g, e)
    if getattr(f, "bits", None):
        g.load_mem(unit_size(f), False)
        extract_bits(g, f, e.type)
        return
    load_object(g, e.type)


def gen_symbol(g: Gen, e: ast.Symbol) -> None:
    gen_addr(g, e)
    load_object(g, e.type)


def gen_stringof(g: Gen, e: ast.Stringof) -> None:
    g.gen(e.operand)


def gen_xlate(g: Gen, e: ast.Xlate) -> None:
    """xlate<struct T>(x) as a value: a scratch struct filled member by member."""
    xs = e.sym
    members = getattr(xs, "members", None)
    st = rt(xs.translator.dst)
    if xs.pointer or members is None or not isinstance(st, T.StructType):
        raise DError("D_UNKNOWN", e.loc, "translated data cannot be used as a value here")
    off = g.scratch(st.size, e.loc)
    g.zero_scratch(off, st.size)
    for name, val in members.items():
        fld = st.member(name)
        fs = FieldRef(fld.offset_bits // 8, fld.offset_bits, fld.bits)
        g.gen(val)
        if not by_ref(fld.type):
            normalize(g, fld.type)
        g.a.mov(R.R1, R.R0)
        g.scratch_ptr(R.R0, off + fs.offset)
        mem_store(g, fld.type, fs if fld.bits else None, val.type)
    g.scratch_ptr(R.R0, off)


class FieldRef:
    """Where a member lies (as the checker's FieldSym says it)."""

    def __init__(self, offset: int, bit_offset: int, bits: Any):
        self.offset, self.bit_offset, self.bits = offset, bit_offset, bits


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
    ast.Xlate: gen_xlate,
}


def _gen_call(g: Gen, e: ast.Call) -> None:
    from .funcs import gen_call

    gen_call(g, e)


GENERATORS[ast.Call] = _gen_call
