"""Statements and actions → BPF: what a clause records for the consumer, and aggregations.

Each recording action gets a fixed place in its clause's record (see layout.py) and sets its
bit in the record's action mask when it runs, so `if`/`else` need no variable offsets.
"""

from __future__ import annotations

from typing import Any

from ..bpf.asm import R
from ..bpf.sys import Helper, MapType
from ..lang import ast
from ..lang import types as T
from ..lang.errors import DError
from . import layout as L
from .aggbuckets import bucket_bounds, value_words
from .codegen import Gen, int_info, is_str, rt
from .strings import SYM_KINDS, store_symaddr, symaddr_kind, symaddr_size
from .exprs import key_datums, normalize
from .unit import G_ACTIVITY, REC_MAX, align

# Actions the consumer carries out (no data of their own beyond their arguments).
RECORDING = {"printf", "trace", "tracemem", "print", "stack", "ustack", "printa", "exit", "clear",
             "commit", "discard",
             "trunc", "normalize", "denormalize", "setopt", "ftruncate", "freopen", "system",
             "raise", "stop", "jstack", "printm",
             "func", "sym", "mod", "ufunc", "usym", "umod", "uaddr"}


DESTRUCTIVE = {"system", "raise", "stop", "chill", "panic", "breakpoint", "copyout", "copyoutstr",
               "freopen"}


def statement(g: Gen, st: ast.Stmt) -> None:
    if isinstance(st, ast.ExprStmt):
        e = st.expr
        if isinstance(e, ast.Call) and e.name in DESTRUCTIVE:
            g.u.destructive = True
        if isinstance(e, ast.Call) and e.name in RECORDING:
            ACTIONS.get(e.name, gen_unsupported)(g, e)
        elif isinstance(e, ast.Assign) and isinstance(agg_target(e.target), ast.AggVar):
            gen_aggregate(g, e)
        elif isinstance(e, ast.Call) and e.name in ("speculate", "chill", "breakpoint", "panic"):
            ACTIONS.get(e.name, gen_unsupported)(g, e)
        else:
            g.gen(e)
    elif isinstance(st, ast.If):
        other, done = g.a.new_label("else"), g.a.new_label("endif")
        g.cond(st.cond, other)
        g.statements(st.then)
        g.a.ja(done)
        g.a.label(other)
        if st.other:
            g.statements(st.other)
        g.a.label(done)
    elif isinstance(st, ast.Block):
        g.statements(st.body)
    elif isinstance(st, ast.Empty):
        pass
    else:
        raise DError("D_UNKNOWN", st.loc, f"{type(st).__name__} statements are not supported yet")


def agg_target(e: ast.Expr) -> ast.Expr:
    return e.base if isinstance(e, ast.Index) else e


def gen_unsupported(g: Gen, e: ast.Call) -> None:
    raise DError("D_UNKNOWN", e.loc, f"{e.name}() is not supported yet")


# ------------------------------------------------------------------ record building


def begin_action(g: Gen, kind: str, e: ast.Expr) -> L.Action:
    """Start the next action of the clause: set its mask bit and describe it."""
    lay = g.clause_layout
    index = g.action_index
    g.action_index += 1
    word, bit = divmod(index, 64)
    off = g.u.rec_base + L.HEADER + 8 * word
    g.a.ldx(8, R.R0, R.R7, off)
    if bit < 31:
        g.a.alu("|", R.R0, None, 1 << bit)
    else:
        g.a.movi(R.R1, 1 << bit)
        g.a.alu("|", R.R0, R.R1)
    g.a.stx(8, R.R7, off, R.R0)
    if index < len(lay.actions):
        act = lay.actions[index]  # generated already for another probe: same layout
        act.data.clear()
        return act
    act = L.Action(kind, index)
    lay.actions.append(act)
    return act


def record_value(g: Gen, act: L.Action, e: ast.Expr, char_arrays_as_strings: bool = True) -> L.Datum:
    """Evaluate e and store it at the clause record's next free place. A char array is
    recorded as a string (printf's %s) unless the action shows raw bytes (trace())."""
    t = e.type
    r = rt(t)
    a = g.a
    sk = symaddr_kind(e)
    if sk is not None:  # sym()/usym()...: the address (and pid), symbolised when printed
        size = symaddr_size(sk)
        d = L.Datum(reserve(g, size, e), size, sk, False, t)
        g.gen(e)
        store_symaddr(g, sk, g.u.rec_base + d.offset)
        act.data.append(d)
        return d
    char_array = isinstance(r, T.ArrayType) and getattr(r.elem.resolved, "char", False)
    if is_str(t) or (char_array and char_arrays_as_strings):
        size = g.u.strsize if is_str(t) else r.size
        d = L.Datum(reserve(g, size, e), size, "string", type=t)
        g.gen(e)
        g.copy_str(g.u.rec_base + d.offset, size=size)
    elif isinstance(r, (T.ArrayType, T.StructType)):
        size = r.size
        d = L.Datum(reserve(g, size, e), size, "bytes", type=t)
        g.gen(e)
        g.probe_read(g.u.rec_base + d.offset, size, R.R0)
    else:
        size, signed = int_info(t)
        d = L.Datum(reserve(g, 8, e), size, "int", signed, t)
        g.gen(e)
        a.stx(8, R.R7, g.u.rec_base + d.offset, R.R0)
    act.data.append(d)
    return d


def reserve(g: Gen, size: int, e: ast.Expr) -> int:
    off = g.rec_off
    g.rec_off += align(size)
    if g.rec_off > g.clause_layout.size:
        g.clause_layout.size = g.rec_off
    if g.rec_off > REC_MAX:
        raise DError("D_NOSCRATCH", e.loc, "clause records too much data")
    return off


def fmt_of(e: ast.Expr) -> str:
    v = e.value if e.value is not None else getattr(e, "val", b"")
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


def gen_printf(g: Gen, e: ast.Call) -> None:
    from ..consume.printf import parse_format

    act = begin_action(g, "printf", e)
    act.fmt_text = fmt_of(e.args[0])
    act.fmt = parse_format(act.fmt_text)
    for arg in e.args[1:]:
        record_value(g, act, arg)


def gen_trace(g: Gen, e: ast.Call) -> None:
    act = begin_action(g, "trace", e)
    record_value(g, act, e.args[0], char_arrays_as_strings=False)


def gen_exit(g: Gen, e: ast.Call) -> None:
    act = begin_action(g, "exit", e)
    record_value(g, act, e.args[0])
    g.a.ld_map_value(R.R1, g.u.globals, G_ACTIVITY)
    g.a.movi(R.R0, 1)
    g.a.stx(8, R.R1, 0, R.R0)


def gen_tracemem(g: Gen, e: ast.Call) -> None:
    act = begin_action(g, "tracemem", e)
    size = e.args[1].value
    d = L.Datum(reserve(g, size, e), size, "bytes")
    g.gen(e.args[0])
    g.probe_read(g.u.rec_base + d.offset, size, R.R0)
    act.data.append(d)
    if len(e.args) > 2:
        record_value(g, act, e.args[2])


PRINT_MAX = 8192  # bytes of the object print() records at most (the rest shows as "...")


def gen_print(g: Gen, e: ast.Call) -> None:
    """print(ptr): the address and the object it points to, formatted by consume/printtype.py
    (which cuts it at the printsize option, settable at run time); other values as themselves."""
    arg = e.args[0]
    act = begin_action(g, "print", e)
    r = rt(arg.type)
    if not isinstance(r, T.PtrType):
        record_value(g, act, arg)
        return
    size = min(r.target.size, PRINT_MAX)
    ptr = L.Datum(reserve(g, 8, e), 8, "int", False, arg.type)
    obj = L.Datum(reserve(g, size, e), size, "bytes", type=r.target)
    g.gen(arg)
    g.a.stx(8, R.R7, g.u.rec_base + ptr.offset, R.R0)
    g.probe_read(g.u.rec_base + obj.offset, size, R.R0)
    act.data += [ptr, obj]


def gen_printm(g: Gen, e: ast.Call) -> None:
    """printm(size, addr) (BSD's): size bytes at addr, shown as tracemem() shows them."""
    size_e, addr_e = e.args
    size = size_e.value
    if not size_e.type.is_integer() or not isinstance(size, int) or size <= 0:
        raise DError("D_PRINTM_SIZE", size_e.loc, "printm( ) argument #1 must be a non-zero "
                     "positive integral constant expression")
    if not addr_e.type.is_pointer():
        raise DError("D_PRINTM_ADDR", addr_e.loc, "printm( ) argument #2 is incompatible with "
                     f"prototype:\n\tprototype: pointer\n\t argument: {addr_e.type.name()}")
    act = begin_action(g, "printm", e)
    d = L.Datum(reserve(g, size, e), size, "bytes")
    g.gen(addr_e)
    g.probe_read(g.u.rec_base + d.offset, size, R.R0)
    act.data.append(d)


def gen_agg_action(g: Gen, e: ast.Call) -> None:
    """printa, clear, trunc, normalize, denormalize: the consumer does the work."""
    act = begin_action(g, e.name, e)
    args = list(e.args)
    if e.name == "printa" and args and not isinstance(agg_target(args[0]), ast.AggVar):
        act.fmt_text = fmt_of(args[0])
        from ..consume.printf import parse_format

        act.fmt = parse_format(act.fmt_text)
        args = args[1:]
    for arg in args:
        if isinstance(arg, ast.AggVar):
            act.aggs.append(agg_layout(g, arg.sym, arg))
        else:
            record_value(g, act, arg)


def gen_setopt(g: Gen, e: ast.Call) -> None:
    act = begin_action(g, "setopt", e)
    act.extra["option"] = fmt_of(e.args[0])
    act.extra["value"] = fmt_of(e.args[1]) if len(e.args) > 1 else None


def gen_stack(g: Gen, e: ast.Call) -> None:
    """stack()/ustack(): the frames' addresses, symbolised by the consumer."""
    user = e.name == "ustack"
    nframes = e.args[0].value if e.args and e.args[0].value else (20 if not user else 100)
    nframes = min(nframes, 127)
    act = begin_action(g, e.name, e)
    size = 8 * nframes
    d = L.Datum(reserve(g, size, e), size, "ustack" if user else "stack")
    g.zero_scratch(g.u.rec_base + d.offset, size)
    g.a.mov(R.R1, R.R6)
    g.scratch_ptr(R.R2, g.u.rec_base + d.offset)
    g.a.movi(R.R3, size)
    g.a.movi(R.R4, 1 << 8 if user else 0)  # BPF_F_USER_STACK
    g.a.call(Helper.get_stack)
    act.data.append(d)


def gen_system(g: Gen, e: ast.Call) -> None:
    from ..consume.printf import parse_format

    act = begin_action(g, e.name, e)
    act.fmt_text = fmt_of(e.args[0])
    act.fmt = parse_format(act.fmt_text)
    for arg in e.args[1:]:
        record_value(g, act, arg)


def gen_ftruncate(g: Gen, e: ast.Call) -> None:
    begin_action(g, "ftruncate", e)


def gen_stop(g: Gen, e: ast.Call) -> None:
    """stop(): the current process stops (SIGSTOP), as DTrace's stop action does."""
    begin_action(g, "stop", e)
    g.a.movi(R.R1, 19)
    g.a.call(Helper.send_signal)


def gen_raise(g: Gen, e: ast.Call) -> None:
    begin_action(g, "raise", e)
    g.gen(e.args[0])
    g.a.mov(R.R1, R.R0)
    g.a.call(Helper.send_signal)


ACTIONS = {
    "printf": gen_printf,
    "trace": gen_trace,
    "exit": gen_exit,
    "tracemem": gen_tracemem,
    "print": gen_print,
    "printm": gen_printm,
    "printa": gen_agg_action,
    "clear": gen_agg_action,
    "trunc": gen_agg_action,
    "normalize": gen_agg_action,
    "denormalize": gen_agg_action,
    "setopt": gen_setopt,
    "stack": gen_stack,
    "ustack": gen_stack,
    "system": gen_system,
    "freopen": gen_system,
    "ftruncate": gen_ftruncate,
    "stop": gen_stop,
    "raise": gen_raise,
    # sym(x); records like trace(sym(x))
    **{name: lambda g, e: record_value(g, begin_action(g, "trace", e), e) for name in SYM_KINDS},
}


def count_actions(body: list[ast.Stmt]) -> int:
    """How many recording actions a clause body holds (sizes the action mask)."""
    n = 0
    for st in body:
        if isinstance(st, ast.ExprStmt) and isinstance(st.expr, ast.Call) and st.expr.name in RECORDING:
            n += 1
        elif isinstance(st, ast.If):
            n += count_actions(st.then) + count_actions(st.other or [])
        elif isinstance(st, ast.Block):
            n += count_actions(st.body)
    return n


# ------------------------------------------------------------------ aggregations


def agg_layout(g: Gen, sym: Any, e: ast.Expr) -> L.AggLayout:
    u = g.u
    if sym.name in u.aggs:
        return u.aggs[sym.name]
    keys, off = [], 0
    for size, kind in key_datums(g, sym):
        keys.append(L.Datum(off, size, kind))
        off += align(size)
    for d, kt in zip(keys, sym.keys or ()):
        d.type = kt
        if d.kind == "int":
            d.size, d.signed = int_info(kt)
    words = value_words(sym.func, sym.params)
    spec = u.add_map("g_" + (sym.name or "_"), MapType.PERCPU_HASH, max(off, 8), 8 * words, u.aggsize)
    u.zeros.value_size = max(u.zeros.value_size, 8 * words)
    lay = L.AggLayout(len(u.aggs) + 1, sym.name, sym.func, spec, keys, max(off, 8), words,
                      tuple(sym.params or ()), sym)
    u.aggs[sym.name] = lay
    return lay


def gen_aggregate(g: Gen, e: ast.Assign) -> None:
    """@name[keys] = func(args): find or insert the key's value, then update it."""
    a = g.a
    target = e.target
    aggvar = agg_target(target)
    sym = aggvar.sym
    lay = agg_layout(g, sym, aggvar)
    call = e.val
    func = sym.func
    # the value (and quantize increment) first, kept on the stack
    val_slot = incr_slot = None
    if func != "count":
        g.gen(call.args[0])
        val_slot = g.push()
    incr_pos = {"quantize": 1, "lquantize": 4, "llquantize": 5}.get(func)
    if incr_pos is not None and len(call.args) > incr_pos:
        g.gen(call.args[incr_pos])
        incr_slot = g.push()
    koff = g.scratch(lay.key_size)
    g.zero_scratch(koff, lay.key_size)
    args = target.args if isinstance(target, ast.Index) else []
    for d, arg in zip(lay.keys, args):
        sk = symaddr_kind(arg)
        if sk is not None and d.size == symaddr_size(sk):
            d.kind = sk  # sym() keys print as symbols (the key type does not say which)
        g.gen(arg)
        if d.kind in SYM_KINDS.values():
            store_symaddr(g, d.kind, koff + d.offset)
        elif d.kind == "string":
            g.copy_str(koff + d.offset)
        else:
            normalize(g, arg.type)
            a.stx(8, R.R7, koff + d.offset, R.R0)
    found, done = a.new_label("agg"), a.new_label("aggd")
    lookup_agg(g, lay, koff)
    a.jcc("!=", R.R0, None, found, imm=0)
    a.ld_map_fd(R.R1, lay.map)
    g.scratch_ptr(R.R2, koff)
    a.ld_map_value(R.R3, g.u.zeros, 0)
    a.movi(R.R4, 1)  # BPF_NOEXIST: another CPU may have inserted meanwhile
    a.call(Helper.map_update_elem)
    lookup_agg(g, lay, koff)
    a.jcc("!=", R.R0, None, found, imm=0)
    g.count(L.CNT_AGGDROPS)
    a.ja(done)
    a.label(found)
    update_value(g, func, lay, val_slot, incr_slot)
    a.label(done)
    if incr_slot is not None:
        g.stack -= 8
    if val_slot is not None:
        g.stack -= 8


def lookup_agg(g: Gen, lay: L.AggLayout, koff: int) -> None:
    g.a.ld_map_fd(R.R1, lay.map)
    g.scratch_ptr(R.R2, koff)
    g.a.call(Helper.map_lookup_elem)


def update_value(g: Gen, func: str, lay: L.AggLayout, val_slot, incr_slot) -> None:
    """r0 points at this CPU's value words; update them for one more datum."""
    a = g.a
    if val_slot is not None:
        a.ldx(8, R.R1, R.FP, val_slot)
    if func == "count":
        a.ldx(8, R.R1, R.R0, 0)
        a.alu("+", R.R1, None, 1)
        a.stx(8, R.R0, 0, R.R1)
    elif func == "sum":
        add_word(g, 0, R.R1)
    elif func == "avg":
        a.ldx(8, R.R2, R.R0, 0)
        a.alu("+", R.R2, None, 1)
        a.stx(8, R.R0, 0, R.R2)
        add_word(g, 8, R.R1)
    elif func in ("min", "max"):
        store, skip = a.new_label("mm"), a.new_label("mmd")
        a.ldx(8, R.R2, R.R0, 0)
        a.jcc("==", R.R2, None, store, imm=0)
        a.ldx(8, R.R2, R.R0, 8)
        a.jcc("s>=" if func == "min" else "s<=", R.R1, R.R2, skip)
        a.label(store)
        a.st(8, R.R0, 0, 1)
        a.stx(8, R.R0, 8, R.R1)
        a.label(skip)
    elif func == "stddev":
        stddev_update(g)
    else:
        bucket_update(g, func, lay, incr_slot)


def add_word(g: Gen, off: int, reg: int) -> None:
    g.a.ldx(8, R.R2, R.R0, off)
    g.a.alu("+", R.R2, reg)
    g.a.stx(8, R.R0, off, R.R2)


def stddev_update(g: Gen) -> None:
    """count, sum, and a 128-bit sum of squares (as dtrace_aggregate_stddev keeps)."""
    a = g.a
    a.ldx(8, R.R2, R.R0, 0)
    a.alu("+", R.R2, None, 1)
    a.stx(8, R.R0, 0, R.R2)
    add_word(g, 8, R.R1)
    pos = a.new_label("abs")
    a.jcc("s>=", R.R1, None, pos, imm=0)
    a.neg(R.R1)
    a.label(pos)
    # x = hi:lo (32-bit halves): x*x = hi*hi<<64 + 2*hi*lo<<32 + lo*lo
    a.mov(R.R2, R.R1)
    a.alu(">>", R.R2, None, 32)  # hi
    a.zext(R.R1, R.R1, 32)  # lo
    a.mov(R.R3, R.R2)
    a.alu("*", R.R3, R.R1)  # hi*lo (< 2^64)
    a.alu("*", R.R2, R.R2)  # hi*hi: the high word
    a.alu("*", R.R1, R.R1)  # lo*lo: the low word
    a.mov(R.R4, R.R3)
    a.alu(">>", R.R4, None, 31)
    a.alu("+", R.R2, R.R4)  # high word += (2*hi*lo) >> 64-32
    a.alu("<<", R.R3, None, 33)  # low part of (2*hi*lo) << 32
    add128(g, R.R1, R.R2, R.R3)  # (r1, r2) += r3
    # accumulate into words 2 (low) and 3 (high)
    a.ldx(8, R.R3, R.R0, 16)
    a.ldx(8, R.R4, R.R0, 24)
    a.alu("+", R.R4, R.R2)
    a.mov(R.R2, R.R3)
    a.alu("+", R.R3, R.R1)
    carry = a.new_label("c")
    a.jcc(">=", R.R3, R.R2, carry)
    a.alu("+", R.R4, None, 1)
    a.label(carry)
    a.stx(8, R.R0, 16, R.R3)
    a.stx(8, R.R0, 24, R.R4)


def add128(g: Gen, lo: int, hi: int, addend: int) -> None:
    """(hi:lo) += addend, with the carry; clobbers r5."""
    a = g.a
    a.mov(R.R5, lo)
    a.alu("+", lo, addend)
    nocarry = a.new_label("nc")
    a.jcc(">=", lo, R.R5, nocarry)
    a.alu("+", hi, None, 1)
    a.label(nocarry)


def bucket_update(g: Gen, func: str, lay: L.AggLayout, incr_slot) -> None:
    """quantize/lquantize/llquantize: pick the bucket by a binary search over its lower
    bounds (constants), then add the increment to it."""
    a = g.a
    a.mov(R.R9, R.R0)  # value words; r9 is free in clause bodies and survives the search
    bounds = bucket_bounds(func, lay.params)
    done = a.new_label("bk")
    emit_search(g, bounds, 0, len(bounds), R.R1, done)
    a.label(done)
    # r2 = bucket index (constant on each path)
    a.alu("*", R.R2, None, 8)
    a.alu("+", R.R9, R.R2)
    if incr_slot is not None:
        a.ldx(8, R.R3, R.FP, incr_slot)
    else:
        a.movi(R.R3, 1)
    a.ldx(8, R.R4, R.R9, 0)
    a.alu("+", R.R4, R.R3)
    a.stx(8, R.R9, 0, R.R4)


def emit_search(g: Gen, bounds: list[int], lo: int, hi: int, val: int, done: str) -> None:
    """r2 = i such that bounds[i] <= val < bounds[i+1] (bounds[0] is -inf), for i in [lo, hi)."""
    a = g.a
    if hi - lo == 1:
        a.movi(R.R2, lo)
        a.ja(done)
        return
    mid = (lo + hi) // 2
    left = a.new_label("lt")
    b = bounds[mid]
    if -(1 << 31) <= b < (1 << 31):
        a.jcc("s<", val, None, left, imm=b)
    else:
        a.ld_imm64(R.R3, b)
        a.jcc("s<", val, R.R3, left)
    emit_search(g, bounds, mid, hi, val, done)
    a.label(left)
    emit_search(g, bounds, lo, mid, val, done)


from . import speculation as _speculation  # noqa: E402,F401  (speculate/commit/discard, speculation())
