"""Clause → BPF: the program of one site, with every clause enabled on it in script order.

Register conventions inside a generated program:

    r6  the context (as the kernel passed it)
    r7  this CPU's scratch area (map value: this-> variables, the record, temporaries)
    r8  this firing's row of the probe table (probe id, clause mask, probe names)
    r0  the value of the expression just generated; r1-r5 are clobbered by every call

Scalars are 64-bit in registers, normalised to their D type (sign- or zero-extended).
Strings, arrays and structs are addresses: a string is any readable NUL-terminated buffer
(rodata, a map value, scratch, kernel memory), copied with probe_read_kernel_str where needed.
Temporaries live in stack slots (r10 - n) and scratch slots allocated per statement.
"""

from __future__ import annotations

from typing import Any, Optional

from ..bpf.asm import Asm, R, INVERSE
from ..bpf.sys import Helper
from ..lang import ast
from ..lang import types as T
from ..lang.errors import DError
from ..providers.base import Ctx, Site
from . import layout as L
from .unit import ACTIVE, DRAINING, G_ACTIVITY, PROBE_ENTRY, SCRATCH, Unit, align, no_scratch

FP_KEY = -8  # u32/u64 map key
FP_FAULT = -16
FP_FADDR = -24
FP_TMP = -32  # destination of 8-byte probe reads
STACK_FIXED = 40
STACK_MAX = 512

PT_REGS = {"bp": 32, "ax": 80, "cx": 88, "dx": 96, "si": 104, "di": 112, "orig_ax": 120,
           "ip": 128, "cs": 136, "sp": 152, "r8": 72, "r9": 64, "r10": 56}
SYSCALL_ARG_REGS = ["di", "si", "dx", "r10", "r8", "r9"]
NSYSCALLS = 1024

CMP_OPS = {"<": ("<", "s<"), "<=": ("<=", "s<="), ">": (">", "s>"), ">=": (">=", "s>="),
           "==": ("==", "=="), "!=": ("!=", "!=")}
ARITH_OPS = {"+": "+", "-": "-", "*": "*", "&": "&", "|": "|", "^": "^", "<<": "<<"}


def rt(t: Any) -> Any:
    return t.resolved if t is not None else None


def is_str(t: Any) -> bool:
    return isinstance(t, T.StringType)


def int_info(t: Any) -> tuple[int, bool]:
    """(bytes, signed) of a scalar type; pointers are unsigned 8-byte values."""
    r = rt(t)
    if isinstance(r, T.IntType):
        return r.size, r.signed
    if isinstance(r, T.EnumType):
        return 4, True
    return 8, False


class Gen:
    """Generates the program of one site."""

    def __init__(self, unit: Unit, site: Site, probe_base: int, multi: bool, compiled_clauses: list):
        self.u = unit
        self.site = site
        self.a = Asm()
        self.probe_base = probe_base
        self.multi = multi
        self.stack = STACK_FIXED
        self.tmp = unit.tmp_base
        self.rec_off = 0
        self.clause_layout: Optional[L.ClauseLayout] = None
        self.err_label = ""
        self.compiled_clauses = compiled_clauses

    # ------------------------------------------------------------ temporaries

    def push(self, reg: int = R.R0) -> int:
        """Spill reg to a new stack slot; returns its offset from r10."""
        self.stack += 8
        if self.stack > STACK_MAX:
            raise DError("D_NOSCRATCH", None, "expression too complex: BPF stack exhausted")
        off = -self.stack
        self.a.stx(8, R.FP, off, reg)
        return off

    def pop(self, reg: int, off: int) -> None:
        self.a.ldx(8, reg, R.FP, off)
        assert off == -self.stack
        self.stack -= 8

    def scratch(self, size: int, loc: Any = None) -> int:
        """A scratch temporary of `size` bytes that lives until the statement ends."""
        off = self.tmp
        self.tmp += align(size)
        if self.tmp > SCRATCH:
            raise no_scratch(loc)
        return off

    def scratch_ptr(self, reg: int, off: int) -> None:
        self.a.mov(reg, R.R7)
        if off:
            self.a.alu("+", reg, None, off)

    # ------------------------------------------------------------ program

    def program(self, clauses: list[tuple[int, ast.Clause, set[int]]]) -> Asm:
        """Prologue, then each (clause index, clause, probe ids it is enabled for)."""
        a = self.a
        a.mov(R.R6, R.R1)
        self.lookup_first(self.u.scratch)
        done = a.new_label("done")
        a.jcc("==", R.R0, None, done, imm=0)
        a.mov(R.R7, R.R0)
        # The activity word (globals[0]) follows dtrace_state: WARMUP until BEGIN has run,
        # then ACTIVE, then DRAINING once exit() ran. END and ERROR always run; BEGIN runs
        # in WARMUP; every other probe records only while ACTIVE.
        first = self.site.probes[0]
        self.after_exit = first.provider == "dtrace" and first.name in ("END", "ERROR")
        self.is_begin = first.provider == "dtrace" and first.name == "BEGIN"
        if not self.after_exit and not self.is_begin:
            a.ld_map_value(R.R1, self.u.globals, G_ACTIVITY)
            a.ldx(8, R.R1, R.R1, 0)
            a.jcc("!=", R.R1, None, done, imm=ACTIVE)
        self.select_probe(done)
        if self.u.this_size:
            for off in range(0, self.u.this_size, 8):
                a.st(8, R.R7, off, 0)
        for index, clause, probe_ids in clauses:
            self.clause(index, clause, probe_ids)
        a.label(done)
        a.ret(0)
        return a

    def select_probe(self, done: str) -> None:
        """Point r8 at this firing's probe-table row, or leave if no enabled probe fired."""
        a = self.a
        if self.site.ctx in (Ctx.SYSCALL_ENTRY, Ctx.SYSCALL_RETURN):
            if self.site.ctx == Ctx.SYSCALL_ENTRY:
                a.ldx(8, R.R0, R.R6, 8)
            else:
                self.read_regs_field(PT_REGS["orig_ax"], done)
            a.jcc(">=", R.R0, None, done, imm=NSYSCALLS)
            a.alu("*", R.R0, None, PROBE_ENTRY)
            a.ld_map_value(R.R8, self.u.probetab, self.probe_base)
            a.alu("+", R.R8, R.R0)
            a.ldx(8, R.R0, R.R8, 0)
            a.jcc("==", R.R0, None, done, imm=0)
        else:
            a.ld_map_value(R.R8, self.u.probetab, self.probe_base)

    def read_regs_field(self, off: int, leave: Optional[str] = None) -> None:
        """r0 = ((struct pt_regs *)ctx[0])->field, for raw syscall tracepoints. An unreadable
        field jumps to `leave` (in the prologue) or faults the clause."""
        a = self.a
        a.mov(R.R1, R.FP)
        a.alu("+", R.R1, None, FP_TMP)
        a.movi(R.R2, 8)
        a.ldx(8, R.R3, R.R6, 0)
        a.alu("+", R.R3, None, off)
        a.stx(8, R.FP, FP_FADDR, R.R3)
        a.call(Helper.probe_read_kernel)
        if leave is not None:
            a.jcc("!=", R.R0, None, leave, imm=0)
        else:
            ok = a.new_label("regs")
            a.jcc("==", R.R0, None, ok, imm=0)
            self.fail(L.FLT_BADADDR)
            a.label(ok)
        a.ldx(8, R.R0, R.FP, FP_TMP)

    # ------------------------------------------------------------ clauses

    def clause(self, index: int, clause: ast.Clause, probe_ids: set[int]) -> None:
        a = self.a
        lay = self.u.clauses[index]
        self.clause_layout = lay
        skip = self.skip_label = a.new_label("skip")  # ends the clause quietly (speculate())
        self.err_label = a.new_label("fault")
        self.err_used = False
        if self.multi:
            a.ldx(8, R.R0, R.R8, 8)
            a.jcc("&", R.R0, None, run := a.new_label("run"), imm=1 << self.compiled_clauses.index(index))
            a.ja(skip)
            a.label(run)
        if not self.after_exit:
            # once exit() ran, later clauses of this firing do nothing (DTrace's draining)
            a.ld_map_value(R.R1, self.u.globals, G_ACTIVITY)
            a.ldx(8, R.R1, R.R1, 0)
            a.jcc("==", R.R1, None, skip, imm=DRAINING)
        self.tmp = self.u.tmp_base
        self.action_index = 0  # a fault in the predicate reports no action
        if clause.predicate is not None:
            self.cond(clause.predicate, skip)
            self.tmp = self.u.tmp_base
        # record header: kind, clause, probe id, cpu; then the action mask words
        rec = self.u.rec_base
        a.st(4, R.R7, rec, L.REC_DATA)
        a.st(4, R.R7, rec + 4, index)
        a.ldx(8, R.R0, R.R8, 0)
        a.stx(4, R.R7, rec + 8, R.R0)
        a.call(Helper.get_smp_processor_id)
        a.stx(4, R.R7, rec + 12, R.R0)
        for w in range(lay.mask_words):
            a.st(8, R.R7, rec + L.HEADER + 8 * w, 0)
        self.action_index = 0
        self.rec_off = L.HEADER + 8 * lay.mask_words
        self.statements(clause.body)
        if lay.has_data:
            a.ld_map_fd(R.R1, self.u.ringbuf)
            self.scratch_ptr(R.R2, rec)
            a.movi(R.R3, lay.size)
            a.movi(R.R4, 0)
            a.call(Helper.ringbuf_output)
            a.jcc("==", R.R0, None, skip, imm=0)
            self.count(L.CNT_DROPS)
        if self.err_used:
            a.ja(skip)
            self.fault_block(index, skip)
        a.label(skip)

    def fault_block(self, index: int, skip: str) -> None:
        """A fault ends the clause: report it (the consumer then runs ERROR clauses)."""
        a = self.a
        rec = self.u.rec_base
        a.label(self.err_label)
        a.st(4, R.R7, rec, L.REC_ERROR)
        a.st(4, R.R7, rec + 4, index)
        a.ldx(8, R.R0, R.R8, 0)
        a.stx(4, R.R7, rec + 8, R.R0)
        a.call(Helper.get_smp_processor_id)
        a.stx(4, R.R7, rec + 12, R.R0)
        a.ldx(8, R.R0, R.FP, FP_FAULT)
        a.stx(8, R.R7, rec + 16, R.R0)
        a.ldx(8, R.R0, R.FP, FP_FADDR)
        a.stx(8, R.R7, rec + 24, R.R0)
        a.ld_map_fd(R.R1, self.u.ringbuf)
        self.scratch_ptr(R.R2, rec)
        a.movi(R.R3, 40)
        a.movi(R.R4, 0)
        a.call(Helper.ringbuf_output)
        a.jcc("==", R.R0, None, skip, imm=0)
        self.count(L.CNT_ERRORS)

    def fault(self, code: int, addr_reg: Optional[int] = None) -> None:
        """Abort the clause with fault `code` (address in addr_reg, if any)."""
        if addr_reg is None:
            self.a.st(8, R.FP, FP_FADDR, 0)
        else:
            self.a.stx(8, R.FP, FP_FADDR, addr_reg)
        self.fail(code)

    def fail(self, code: int) -> None:
        """Abort the clause with fault `code`; the address is already in its stack slot.
        The fault word is u32 code, u32 index of the action that faulted."""
        self.a.st(4, R.FP, FP_FAULT, code)
        self.a.st(4, R.FP, FP_FAULT + 4, self.action_index + 1)
        self.a.ja(self.err_label)
        self.err_used = True

    def fault_if(self, op: str, reg: int, imm: int, code: int, addr_reg: Optional[int] = None) -> None:
        ok = self.a.new_label("ok")
        self.a.jcc(INVERSE[op], reg, None, ok, imm=imm)
        self.fault(code, addr_reg)
        self.a.label(ok)

    def lookup_first(self, map_spec) -> None:
        """r0 = &map[0] (NULL if absent), for per-CPU arrays the direct value access can't reach."""
        a = self.a
        a.st(8, R.FP, FP_KEY, 0)
        a.ld_map_fd(R.R1, map_spec)
        a.mov(R.R2, R.FP)
        a.alu("+", R.R2, None, FP_KEY)
        a.call(Helper.map_lookup_elem)

    def count(self, counter: int) -> None:
        """counters[counter] += 1 on this CPU."""
        a = self.a
        self.lookup_first(self.u.counters)
        out = a.new_label("cnt")
        a.jcc("==", R.R0, None, out, imm=0)
        a.movi(R.R1, 1)
        a.atomic_add(8, R.R0, counter * 8, R.R1)
        a.label(out)

    # ------------------------------------------------------------ statements

    def statements(self, body: list[ast.Stmt]) -> None:
        for st in body:
            self.tmp = self.u.tmp_base  # temporaries live for one statement
            self.statement(st)

    def statement(self, st: ast.Stmt) -> None:
        from .actions import statement

        statement(self, st)

    # ------------------------------------------------------------ conditions

    def cond(self, e: ast.Expr, false_label: str) -> None:
        """Jump to false_label when e is false (zero / empty)."""
        self.gen(e)
        self.a.jcc("==", R.R0, None, false_label, imm=0)

    # ------------------------------------------------------------ expressions

    def gen(self, e: ast.Expr) -> None:
        from .exprs import gen_expr

        gen_expr(self, e)

    # ------------------------------------------------------------ memory helpers

    def probe_read(self, dst_off: int, size: int, src: int, user: bool = False, on_stack: bool = False) -> None:
        """Copy `size` bytes from the address in register src to scratch (or stack) dst_off;
        faults on a bad address."""
        a = self.a
        a.stx(8, R.FP, FP_FADDR, src)
        if src != R.R3:
            a.mov(R.R3, src)
        if on_stack:
            a.mov(R.R1, R.FP)
            a.alu("+", R.R1, None, dst_off)
        else:
            self.scratch_ptr(R.R1, dst_off)
        a.movi(R.R2, size)
        a.call(Helper.probe_read_user if user else Helper.probe_read_kernel)
        ok = a.new_label("rd")
        a.jcc("==", R.R0, None, ok, imm=0)
        self.fail(L.FLT_BADADDR)
        a.label(ok)

    def load_mem(self, size: int, signed: bool) -> None:
        """r0 = *(intN *)r0 from kernel memory, faulting on a bad address."""
        from .strings import alloca_guard

        alloca_guard(self, size)  # alloca space is only readable below its top
        a = self.a
        a.stx(8, R.FP, FP_FADDR, R.R0)
        a.mov(R.R3, R.R0)
        a.mov(R.R1, R.FP)
        a.alu("+", R.R1, None, FP_TMP)
        a.movi(R.R2, size)
        a.call(Helper.probe_read_kernel)
        ok = a.new_label("rd")
        a.jcc("==", R.R0, None, ok, imm=0)
        self.fail(L.FLT_BADADDR)
        a.label(ok)
        a.ldx(size, R.R0, R.FP, FP_TMP)
        self.extend(size, signed)

    def extend(self, size: int, signed: bool, reg: int = R.R0) -> None:
        """Normalise reg to a `size`-byte integer of the given signedness."""
        if size >= 8:
            return
        if signed:
            self.a.sext(reg, reg, size * 8)
        else:
            self.a.zext(reg, reg, size * 8)

    def copy_str(self, dst_off: int, src: int = R.R0, size: Optional[int] = None) -> None:
        """Copy the string at src into scratch dst_off (at most strsize bytes with the NUL)."""
        a = self.a
        if src != R.R3:
            a.mov(R.R3, src)
        self.scratch_ptr(R.R1, dst_off)
        a.movi(R.R2, size or self.u.strsize)
        a.call(Helper.probe_read_kernel_str)
        ok = a.new_label("str")
        a.jcc("s>", R.R0, None, ok, imm=0)
        a.st(1, R.R7, dst_off, 0)  # unreadable: the empty string
        a.label(ok)

    def zero_scratch(self, off: int, size: int) -> None:
        for o in range(off, off + align(size), 8):
            self.a.st(8, R.R7, o, 0)

    def string_const(self, s: bytes, reg: int = R.R0) -> None:
        self.a.ld_map_value(reg, self.u.strtab, self.u.string(s))
