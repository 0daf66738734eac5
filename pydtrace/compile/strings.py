"""D's string and utility subroutines → BPF (strjoin, substr, index, strtok, lltostr, ...).

Every generator leaves its result in r0: a scalar, or the address of a string (a number:
strings are only ever read with bpf_probe_read_kernel_str) - NULL (0) where DTrace returns
NULL (strchr/strrchr/strstr/strtok finding nothing).

A string buffer is N = g.u.strsize bytes: strsize characters and the NUL.

The verifier walks every loop iteration by iteration, and it only prunes a state against
one it stored earlier at the same instruction - which it does not do at every join (it
wants 2 jumps and 8 instructions since its last stored state).  A branch that splits the
state before a loop can therefore make it walk the whole loop (and everything after it)
twice.  So the code here is branch-free wherever it can be:

  * loops run a constant number of times from a constant start, so each iteration's
    offsets are constants, and their bodies compute conditions as 0/1 values (`sel`,
    `zero`, `below`) instead of branching;
  * lengths are never clamped with branches: copies use constant sizes (a copy of a
    NUL-terminated temporary stops at its NUL anyway) and variable offsets are bounded
    with a power-of-two mask, backed by slack in the scratch temporary;
  * addresses computed from run-time offsets are plain numbers (r7's value plus an
    offset), which bpf_probe_read_kernel_str accepts and the verifier does not bound.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

from ..bpf.asm import R
from ..bpf.sys import Helper
from ..lang import ast
from ..lang import types as T
from ..lang.errors import DError
from ..providers.base import Ctx
from . import layout as L
from .codegen import FP_FADDR, FP_TMP, STACK_MAX, Gen, is_str, rt
from .funcs import func
from .unit import SCRATCH, align

AREA_STRTOK = "%strtok"  # strtok() state: [offset + 1][length][copy of the string]
AREA_ALLOCA = "%alloca"  # [top][guard][alloca arena][guard]
GUARD = 64               # bytes around the arena that still count as alloca space
ALLOCA_USERS = {"alloca", "copyin", "copyinto", "bcopy"}
ONES = b"\xff"


# ------------------------------------------------------------------ storage


def pow2_mask(n: int) -> int:
    """The smallest 2**k - 1 >= n: ANDing a register with it bounds it for the verifier."""
    m = 1
    while m - 1 < n:
        m <<= 1
    return m - 1


def buf(g: Gen, size: int, slack: int = 0) -> int:
    """A scratch temporary of `size` bytes, with `slack` bytes after it that exist so a
    masked variable offset stays inside the map value (they are not written)."""
    off = g.scratch(size)
    if off + align(size) + slack > SCRATCH:
        g.scratch(slack)
    return off


def slot(g: Gen, init: Optional[int] = 0) -> int:
    """A new 8-byte stack slot (give it back with drop()), initialised to `init`."""
    g.stack += 8
    if g.stack > STACK_MAX:
        raise DError("D_NOSCRATCH", None, "expression too complex: BPF stack exhausted")
    off = -g.stack
    if init is not None:
        g.a.st(8, R.FP, off, init)
    return off


def drop(g: Gen, *slots: Optional[int]) -> None:
    """Release stack slots (the ones taken last)."""
    g.stack -= 8 * len([s for s in slots if s is not None])


def area(g: Gen, name: str, loc: Any = None) -> int:
    """Scratch offset of a per-firing area reserved by reserve_areas()."""
    home = g.u.homes.get(("this", name))
    if home is None:
        raise DError("D_UNKNOWN", loc, f"internal error -- no {name[1:]}() state reserved")
    return home.offset


def calls_in(node: Any, found: set[str]) -> None:
    """Collect the names of the subroutines a checked AST calls."""
    if isinstance(node, list):
        for x in node:
            calls_in(x, found)
        return
    if not isinstance(node, ast.Node):
        return
    if isinstance(node, ast.Call):
        found.add(node.name)
    for f in dataclasses.fields(node):
        v = getattr(node, f.name, None)
        if isinstance(v, (list, ast.Node)):
            calls_in(v, found)


def reserve_areas(unit: Any, clauses: list, options: dict) -> None:
    """Give strtok() and alloca() their state in the clause-local (`this`) part of
    scratch, which every program zeroes as it starts: the state lasts one probe firing."""
    names: set[str] = set()
    for c in clauses:
        calls_in([c.predicate, c.body], names)
    if "strtok" in names:
        unit.home("this", AREA_STRTOK, 16 + unit.strsize)
    if names & ALLOCA_USERS:
        unit.home("this", AREA_ALLOCA, 8 + 2 * GUARD + arena_size(options))


def arena_size(options: dict) -> int:
    """Bytes alloca() may hand out in one clause: the scratchsize option, rounded to 8."""
    try:
        return align(int(options.get("scratchsize") or 256))
    except (TypeError, ValueError):
        return 256


# ------------------------------------------------------------------ emitting helpers


def str_arg(g: Gen, e: ast.Expr) -> None:
    """r0 = the address of string (or pointer) argument e; NULL is an invalid address."""
    g.gen(e)
    g.fault_if("==", R.R0, 0, L.FLT_BADADDR)


def r7num(g: Gen, reg: int) -> None:
    """reg = the numeric value of r7 (a map value pointer stored to a map and read back is
    a plain number; programs loaded by root may store pointers)."""
    off = g.scratch(8)
    g.a.stx(8, R.R7, off, R.R7)
    g.a.ldx(8, reg, R.R7, off)


def launder(g: Gen, reg: int) -> None:
    """reg = its numeric value, even when it is a pointer (math mixing a map value pointer
    with an unbounded number is refused; numbers are fine)."""
    off = g.scratch(8)
    g.a.stx(8, R.R7, off, reg)
    g.a.ldx(8, reg, R.R7, off)


def saddr(g: Gen, reg: int, off: int, idx: int | None = None, base: int | None = None) -> None:
    """reg = the number r7 + off [+ idx]; `base` holds r7's number if already loaded."""
    if base is None:
        r7num(g, reg)
    elif base != reg:
        g.a.mov(reg, base)
    if off:
        g.a.alu("+", reg, None, off)
    if idx is not None:
        g.a.alu("+", reg, idx)


def read_str(g: Gen, dst: int, src: int, size: int | None = None, size_reg: int | None = None,
             dst_reg: int | None = None) -> None:
    """r0 = bpf_probe_read_kernel_str(r7 + dst [+ dst_reg], size, src): the length with
    the NUL, or a negative error (the kernel then zeroes the destination)."""
    a = g.a
    if src != R.R3:
        a.mov(R.R3, src)
    if size_reg is not None and size_reg != R.R2:
        a.mov(R.R2, size_reg)
    a.mov(R.R1, R.R7)
    if dst_reg is not None:
        a.alu("+", R.R1, dst_reg)
    if dst:
        a.alu("+", R.R1, None, dst)
    if size_reg is None:
        a.movi(R.R2, g.u.strsize if size is None else size)
    a.call(Helper.probe_read_kernel_str)


def str_len(g: Gen, reg: int = R.R0) -> None:
    """After read_str: reg = the length without the NUL (0 for an unreadable string).
    Branch-free; the verifier learns no bounds (use `bound` before using it as an offset)."""
    a = g.a
    if reg != R.R0:
        a.mov(reg, R.R0)
    a.alu("-", reg, None, 1)
    nonneg(g, reg, R.R2 if reg != R.R2 else R.R1)


def nonneg(g: Gen, reg: int, tmp: int) -> None:
    """reg = max(reg, 0), branch-free."""
    a = g.a
    a.mov(tmp, reg)
    a.alu("s>>", tmp, None, 63)
    a.alu("^", tmp, None, -1)
    a.alu("&", reg, tmp)


def bound(g: Gen, reg: int, n: int) -> None:
    """reg &= the power-of-two mask covering n: for the verifier, reg is then in [0, mask]
    (a value known to be at most n keeps its value)."""
    g.a.alu("&", reg, None, pow2_mask(n))


def zero(g: Gen, reg: int) -> None:
    """reg = (reg == 0) for a value in [0, 2**63)."""
    g.a.alu("-", reg, None, 1)
    g.a.alu(">>", reg, None, 63)


def nonzero_any(g: Gen, dst: int, src: int) -> None:
    """dst = (src != 0) for any 64-bit src (dst != src)."""
    a = g.a
    a.mov(dst, src)
    a.neg(dst)
    a.alu("|", dst, src)
    a.alu(">>", dst, None, 63)


def below(g: Gen, dst: int, x: int, y: int | None = None, imm: int = 0) -> None:
    """dst = (x < y) (or x < imm) for signed values less than 2**62 apart."""
    a = g.a
    if dst != x:
        a.mov(dst, x)
    if y is None:
        a.alu("-", dst, None, imm)
    else:
        a.alu("-", dst, y)
    a.alu(">>", dst, None, 63)


def eq_imm(g: Gen, dst: int, x: int, imm: int) -> None:
    """dst = (x == imm) for a byte x and a byte imm."""
    a = g.a
    a.mov(dst, x)
    a.alu("^", dst, None, imm)
    zero(g, dst)


def sel(g: Gen, dst: int, cond: int, val: int | None, tmp: int, imm: int = 0) -> None:
    """dst = cond ? val (or imm) : dst, for cond in {0, 1}."""
    a = g.a
    if val is None:
        a.movi(tmp, imm)
    else:
        a.mov(tmp, val)
    a.alu("-", tmp, dst)
    a.alu("*", tmp, cond)
    a.alu("+", dst, tmp)


def loop(g: Gen, reg: int, count: int, body: Callable[[], None], start: int = 0) -> None:
    """for (reg = start; reg < count; reg++) body(): a constant trip count."""
    a = g.a
    top, end = a.new_label("loop"), a.new_label("pool")
    a.movi(reg, start)
    a.label(top)
    a.jcc(">=", reg, None, end, imm=count)
    body()
    a.alu("+", reg, None, 1)
    a.ja(top)
    a.label(end)


def const_str(e: ast.Expr) -> Optional[bytes]:
    """The bytes of a string constant argument, if it is one."""
    if not is_str(e.type):
        return None
    v = e.value
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return v
    if isinstance(e, ast.StrLit):
        return e.val if isinstance(e.val, bytes) else str(e.val).encode()
    return None


def const_int(e: ast.Expr) -> Optional[int]:
    v = e.value
    if isinstance(v, bool) or not isinstance(v, int) or is_str(e.type):
        return None
    return v


def fault_always(g: Gen, code: int, addr_reg: int | None = None) -> None:
    """Fault here, keeping the code after reachable for the verifier's CFG check
    ("unreachable insn"): the jump around the fault is one it can only prove dead."""
    a = g.a
    skip = a.new_label("nf")
    a.movi(R.R0, 1)
    a.jcc("==", R.R0, None, skip, imm=0)
    g.fault(code, addr_reg)
    a.label(skip)


def null_or(g: Gen, found: int, off: int, reg: int = R.R0) -> None:
    """reg = found ? the number r7 + off : NULL (found in {0, 1}; clobbers r1)."""
    saddr(g, reg, off)
    g.a.alu("*", reg, found)


# ------------------------------------------------------------------ strlen, strjoin, substr


@func("strlen")
def gen_strlen(g: Gen, e: ast.Call) -> None:
    str_arg(g, e.args[0])
    tmp = g.scratch(g.u.strsize, e.loc)
    read_str(g, tmp, R.R0)
    str_len(g)


@func("strjoin")
def gen_strjoin(g: Gen, e: ast.Call) -> None:
    """The two strings one after the other, cut at strsize characters: the second is
    copied whole after the first, then the result is cut with a NUL."""
    a = g.a
    n = g.u.strsize
    str_arg(g, e.args[0])
    s1 = g.push()
    str_arg(g, e.args[1])
    s2 = g.push()
    dst = buf(g, n + pow2_mask(n) + 1)
    a.ldx(8, R.R3, R.FP, s1)
    read_str(g, dst, R.R3)
    str_len(g, R.R4)
    bound(g, R.R4, n - 1)
    a.ldx(8, R.R3, R.FP, s2)
    read_str(g, dst, R.R3, dst_reg=R.R4)
    a.st(1, R.R7, dst + n - 1, 0)
    drop(g, s1, s2)
    saddr(g, R.R0, dst)


@func("substr")
def gen_substr(g: Gen, e: ast.Call) -> None:
    """substr(s, index[, length]) as DTrace has it: a negative index counts from the end
    (clipped at the start, which shortens the length), a negative length stops that many
    characters before the end; index and length are 32-bit ints."""
    a = g.a
    n = g.u.strsize
    str_arg(g, e.args[0])
    s_slot = g.push()
    g.gen(e.args[1])
    a.sext(R.R0, R.R0, 32)
    i_slot = g.push()
    c_slot = None
    if len(e.args) > 2:
        g.gen(e.args[2])
        a.sext(R.R0, R.R0, 32)
        c_slot = g.push()
    tmp = buf(g, n)
    dst = buf(g, n, slack=pow2_mask(n))
    a.ldx(8, R.R3, R.FP, s_slot)
    read_str(g, tmp, R.R3)
    str_len(g, R.R9)                         # r9 = len
    a.ldx(8, R.R1, R.FP, i_slot)             # r1 = index
    if c_slot is not None:
        a.ldx(8, R.R2, R.FP, c_slot)         # r2 = count
    else:
        a.movi(R.R2, n - 1)
    # index < 0: index += len
    below(g, R.R3, R.R1, imm=0)
    a.mov(R.R4, R.R9)
    a.alu("*", R.R4, R.R3)
    a.alu("+", R.R1, R.R4)
    # still < 0: count += index, index = 0 (nothing left if count <= 0 then)
    below(g, R.R3, R.R1, imm=0)
    a.mov(R.R4, R.R1)
    a.alu("*", R.R4, R.R3)
    a.alu("+", R.R2, R.R4)
    a.alu("-", R.R1, R.R4)
    below(g, R.R4, R.R2, imm=1)
    a.alu("&", R.R3, R.R4)
    a.alu("^", R.R3, None, 1)
    a.alu("-", R.R3, None, 1)                # -1 when gone, else 0
    a.alu("|", R.R2, R.R3)                   # count -1 stays negative: empty below
    a.alu("*", R.R3, R.R9)
    a.alu("-", R.R1, R.R3)                   # and index = len
    # count < 0: count += len - index
    below(g, R.R3, R.R2, imm=0)
    a.mov(R.R4, R.R9)
    a.alu("-", R.R4, R.R1)
    a.alu("*", R.R4, R.R3)
    a.alu("+", R.R2, R.R4)
    # empty when index >= len or count <= 0
    below(g, R.R3, R.R1, R.R9)               # r3 = index < len
    below(g, R.R4, R.R2, imm=1)              # r4 = count < 1
    a.alu("^", R.R4, None, 1)
    a.alu("&", R.R3, R.R4)                   # r3 = not empty
    # count = min(count, strsize) * not empty; index *= not empty
    below(g, R.R4, R.R2, imm=n)
    a.alu("^", R.R4, None, 1)                # r4 = count > strsize
    a.movi(R.R5, n - 1)
    a.alu("-", R.R5, R.R2)
    a.alu("*", R.R5, R.R4)
    a.alu("+", R.R2, R.R5)
    a.alu("*", R.R2, R.R3)
    a.alu("*", R.R1, R.R3)
    a.mov(R.R9, R.R2)                        # r9 = characters to keep
    saddr(g, R.R3, tmp, R.R1)
    read_str(g, dst, R.R3)
    bound(g, R.R9, n - 1)
    a.mov(R.R1, R.R7)
    a.alu("+", R.R1, R.R9)
    a.st(1, R.R1, dst, 0)
    drop(g, s_slot, i_slot, c_slot)
    saddr(g, R.R0, dst)


# ------------------------------------------------------------------ index, rindex, strstr


def find(g: Gen, e: ast.Call, last: bool, start: Optional[ast.Expr]) -> int:
    """r0 = the first (or, for rindex, the last) position of t in s within the bounds
    DTrace gives, or -1.  Returns the scratch offset of s's copy (strstr uses it).

    A short constant t is compared at every position a word at a time; any other t is
    found with the bit-parallel Shift-And scan (one pass over s, whatever t's length)."""
    a = g.a
    n = g.u.strsize
    tconst = const_str(e.args[1])
    if tconst is not None:
        tconst = tconst[:n - 1]
        if len(tconst) > 64:
            tconst = None
    str_arg(g, e.args[0])
    s_slot = g.push()
    t_slot = None
    if tconst is None:
        str_arg(g, e.args[1])
        t_slot = g.push()
    st_slot = None
    if start is not None:
        g.gen(start)
        a.sext(R.R0, R.R0, 32)
        st_slot = g.push()
    sbuf = buf(g, n + 72)
    a.ldx(8, R.R3, R.FP, s_slot)
    read_str(g, sbuf, R.R3)
    str_len(g, R.R0)
    slen = slot(g, None)
    a.stx(8, R.FP, slen, R.R0)
    tlen = slot(g, None)
    tbuf = 0
    if tconst is None:
        tbuf = buf(g, n)
        a.ldx(8, R.R3, R.FP, t_slot)
        read_str(g, tbuf, R.R3)
        a.mov(R.R9, R.R0)
        a.alu("s>>", R.R9, None, 63)         # r9 = -1 if t is unreadable (it finds nothing)
        str_len(g, R.R0)
    else:
        a.movi(R.R9, 0)
        a.movi(R.R0, len(tconst))
    a.stx(8, R.FP, tlen, R.R0)
    # positions: index: [max(start, 0), slen - tlen]; rindex: [0, min(start, slen - tlen)]
    lo = slot(g, 0)
    hi = slot(g, None)
    a.ldx(8, R.R1, R.FP, slen)
    a.alu("-", R.R1, R.R0)                   # r1 = slen - tlen
    if st_slot is not None:
        a.ldx(8, R.R2, R.FP, st_slot)
        if last:                             # hi = min(start, r1)
            below(g, R.R3, R.R2, R.R1)
            sel(g, R.R1, R.R3, R.R2, R.R4)
        else:                                # lo = max(start, 0)
            nonneg(g, R.R2, R.R3)
            a.stx(8, R.FP, lo, R.R2)
    a.alu("|", R.R1, R.R9)                   # unreadable t: hi = -1
    a.stx(8, R.FP, hi, R.R1)

    def found(pos: int) -> None:
        """r5 = pos (a register) if r3 (a match there) and pos is within [lo, hi] (and,
        for index, nothing was found before).  Clobbers r0, r4."""
        a.ldx(8, R.R4, R.FP, lo)
        below(g, R.R0, pos, R.R4)
        a.alu("^", R.R0, None, 1)            # pos >= lo
        a.alu("&", R.R3, R.R0)
        a.ldx(8, R.R4, R.FP, hi)
        below(g, R.R0, R.R4, pos)
        a.alu("^", R.R0, None, 1)            # pos <= hi
        a.alu("&", R.R3, R.R0)
        if not last:
            a.mov(R.R0, R.R5)
            a.alu(">>", R.R0, None, 63)      # nothing found yet
            a.alu("&", R.R3, R.R0)
        sel(g, R.R5, R.R3, pos, R.R0)

    if tconst is not None:
        def body() -> None:
            a.mov(R.R1, R.R7)
            a.alu("+", R.R1, R.R9)
            a.movi(R.R2, 0)
            for j in range(0, len(tconst), 8):
                chunk = tconst[j:j + 8]
                a.ldx(8, R.R3, R.R1, sbuf + j)
                if len(chunk) < 8:
                    a.movi(R.R4, (1 << (8 * len(chunk))) - 1)
                    a.alu("&", R.R3, R.R4)
                a.movi(R.R4, int.from_bytes(chunk, "little"))
                a.alu("^", R.R3, R.R4)
                a.alu("|", R.R2, R.R3)
            nonzero_any(g, R.R3, R.R2)
            a.alu("^", R.R3, None, 1)        # r3 = t matches here
            found(R.R9)

        a.movi(R.R5, -1)                     # r5 = the result
        loop(g, R.R9, n, body)
    else:
        shift_and(g, sbuf, tbuf, tlen, found)
        # an empty t is found wherever the bounds allow
        a.ldx(8, R.R1, R.FP, tlen)
        zero(g, R.R1)
        a.ldx(8, R.R2, R.FP, lo)
        a.ldx(8, R.R3, R.FP, hi)
        below(g, R.R4, R.R3, R.R2)
        a.alu("^", R.R4, None, 1)            # lo <= hi
        a.movi(R.R0, -1)
        sel(g, R.R0, R.R4, R.R3 if last else R.R2, R.R9)
        sel(g, R.R5, R.R1, R.R0, R.R9)
    a.mov(R.R0, R.R5)
    drop(g, slen, tlen, lo, hi)
    drop(g, s_slot, t_slot, st_slot)
    return sbuf


def shift_and(g: Gen, sbuf: int, tbuf: int, tlen: int, found: Callable[[int], None]) -> None:
    """Shift-And: D holds one bit per prefix of t, bit k set when t[0..k] ends at the
    current character; D = ((D << 1) | 1) & B[c], where B[c] has bit k set when t[k] == c.
    A set bit tlen - 1 after s[j] is a match at j - tlen + 1 (handed to `found`).  The
    256-entry table is scratch only while the scan runs."""
    a = g.a
    n = g.u.strsize
    k_words = max(1, (n - 1 + 63) // 64)
    row = 8 * k_words
    saved_tmp = g.tmp
    dwords = buf(g, row)
    table = buf(g, 256 * row)
    # B = 0 (copied from the zeros map), D = 0
    g.u.zeros.value_size = max(g.u.zeros.value_size, 256 * row)
    a.mov(R.R1, R.R7)
    a.alu("+", R.R1, None, table)
    a.movi(R.R2, 256 * row)
    a.ld_map_value(R.R3, g.u.zeros, 0)
    a.call(Helper.probe_read_kernel)
    for w in range(k_words):
        a.st(8, R.R7, dwords + 8 * w, 0)
    a.ldx(8, R.R4, R.FP, tlen)

    def build() -> None:                     # B[t[k]] |= 1 << k, for k < tlen
        a.mov(R.R1, R.R7)
        a.alu("+", R.R1, R.R9)
        a.ldx(1, R.R2, R.R1, tbuf)           # r2 = t[k]
        a.alu("*", R.R2, None, row)
        a.mov(R.R3, R.R9)
        a.alu(">>", R.R3, None, 6)
        a.alu("<<", R.R3, None, 3)
        a.alu("+", R.R2, R.R3)
        a.alu("+", R.R2, R.R7)               # r2 = &B[t[k]] word k / 64
        below(g, R.R3, R.R9, R.R4)           # k < tlen
        a.mov(R.R0, R.R9)
        a.alu("&", R.R0, None, 63)
        a.alu("<<", R.R3, R.R0)
        a.ldx(8, R.R0, R.R2, table)
        a.alu("|", R.R0, R.R3)
        a.stx(8, R.R2, table, R.R0)

    loop(g, R.R9, min(n - 1, 64 * k_words), build)
    # where the match bit is: word (tlen - 1) / 64, bit (tlen - 1) % 64
    hitw = slot(g, None)
    hitb = slot(g, None)
    a.mov(R.R1, R.R4)
    a.alu("-", R.R1, None, 1)
    a.alu("&", R.R1, None, 64 * k_words - 1)
    a.mov(R.R2, R.R1)
    a.alu(">>", R.R2, None, 6)
    a.alu("<<", R.R2, None, 3)
    a.stx(8, R.FP, hitw, R.R2)
    a.alu("&", R.R1, None, 63)
    a.stx(8, R.FP, hitb, R.R1)

    def scan() -> None:
        a.mov(R.R1, R.R7)
        a.alu("+", R.R1, R.R9)
        a.ldx(1, R.R2, R.R1, sbuf)           # r2 = s[j]
        a.alu("*", R.R2, None, row)
        a.alu("+", R.R2, R.R7)               # r2 = &B[s[j]]
        a.movi(R.R3, 1)                      # r3 = the bit shifted in
        for w in range(k_words):
            a.ldx(8, R.R4, R.R7, dwords + 8 * w)
            a.mov(R.R0, R.R4)
            a.alu("<<", R.R0, None, 1)
            a.alu("|", R.R0, R.R3)
            a.mov(R.R3, R.R4)
            a.alu(">>", R.R3, None, 63)
            a.ldx(8, R.R4, R.R2, table + 8 * w)
            a.alu("&", R.R0, R.R4)
            a.stx(8, R.R7, dwords + 8 * w, R.R0)
        a.ldx(8, R.R1, R.FP, hitw)
        a.alu("+", R.R1, R.R7)
        a.ldx(8, R.R3, R.R1, dwords)
        a.ldx(8, R.R1, R.FP, hitb)
        a.alu(">>", R.R3, R.R1)
        a.alu("&", R.R3, None, 1)            # r3 = t ends at j
        a.mov(R.R2, R.R9)
        a.alu("+", R.R2, None, 1)
        a.ldx(8, R.R1, R.FP, tlen)
        a.alu("-", R.R2, R.R1)               # r2 = where it starts
        found(R.R2)

    a.movi(R.R5, -1)                         # r5 = the result
    loop(g, R.R9, n, scan)
    drop(g, hitw, hitb)
    g.tmp = saved_tmp


@func("index")
def gen_index(g: Gen, e: ast.Call) -> None:
    find(g, e, False, e.args[2] if len(e.args) > 2 else None)


@func("rindex")
def gen_rindex(g: Gen, e: ast.Call) -> None:
    find(g, e, True, e.args[2] if len(e.args) > 2 else None)


def suffix(g: Gen, src_off: int, pos: int) -> None:
    """r0 = a new string: the NUL-terminated copy at scratch src_off from position `pos`
    (a register) on, or NULL when pos is negative."""
    a = g.a
    n = g.u.strsize
    dst = buf(g, n)
    a.mov(R.R9, pos)
    a.alu(">>", R.R9, None, 63)
    a.alu("^", R.R9, None, 1)                # r9 = found
    a.mov(R.R4, pos)
    a.alu("*", R.R4, R.R9)                   # position 0 when not found
    saddr(g, R.R3, src_off, R.R4)
    read_str(g, dst, R.R3)
    null_or(g, R.R9, dst)


@func("strstr")
def gen_strstr(g: Gen, e: ast.Call) -> None:
    sbuf = find(g, e, False, None)
    suffix(g, sbuf, R.R0)


# ------------------------------------------------------------------ strchr, strrchr


@func("strchr")
def gen_strchr(g: Gen, e: ast.Call) -> None:
    """From the first c on, or NULL: XOR every byte with c, then the copy's first NUL
    (found by bpf_probe_read_kernel_str) is the first c."""
    a = g.a
    n = g.u.strsize
    words = (n + 7) // 8
    str_arg(g, e.args[0])
    s_slot = g.push()
    g.gen(e.args[1])
    a.alu("&", R.R0, None, 0xFF)
    c_slot = g.push()
    sbuf = buf(g, 8 * words)
    xbuf = buf(g, 8 * words, slack=pow2_mask(n))
    tmp = buf(g, n)
    a.ldx(8, R.R3, R.FP, s_slot)
    read_str(g, sbuf, R.R3)
    a.mov(R.R3, R.R7)
    a.alu("+", R.R3, None, sbuf)
    read_str(g, xbuf, R.R3)
    str_len(g, R.R9)                         # r9 = len
    bound(g, R.R9, n - 1)
    a.ldx(8, R.R1, R.FP, c_slot)
    for sh in (8, 16, 32):                   # c in every byte
        a.mov(R.R2, R.R1)
        a.alu("<<", R.R2, None, sh)
        a.alu("|", R.R1, R.R2)
    for j in range(words):
        a.ldx(8, R.R2, R.R7, xbuf + 8 * j)
        a.alu("^", R.R2, R.R1)
        a.stx(8, R.R7, xbuf + 8 * j, R.R2)
    a.mov(R.R1, R.R7)
    a.alu("+", R.R1, R.R9)
    a.st(1, R.R1, xbuf, 0)                   # stop at the end when there is no c
    a.mov(R.R3, R.R7)
    a.alu("+", R.R3, None, xbuf)
    read_str(g, tmp, R.R3)
    str_len(g, R.R4)                         # r4 = where the first c is (len if none)
    below(g, R.R5, R.R4, R.R9)
    a.alu("-", R.R5, None, 1)                # found: 0, else -1
    a.alu("|", R.R4, R.R5)
    suffix(g, sbuf, R.R4)
    drop(g, s_slot, c_slot)


@func("strrchr")
def gen_strrchr(g: Gen, e: ast.Call) -> None:
    """From the last c on, or NULL."""
    a = g.a
    n = g.u.strsize
    str_arg(g, e.args[0])
    s_slot = g.push()
    g.gen(e.args[1])
    a.alu("&", R.R0, None, 0xFF)
    c_slot = g.push()
    sbuf = buf(g, n)
    a.ldx(8, R.R3, R.FP, s_slot)
    read_str(g, sbuf, R.R3)
    str_len(g, R.R4)                         # r4 = len
    a.ldx(8, R.R2, R.FP, c_slot)             # r2 = c
    a.movi(R.R5, -1)

    def body() -> None:
        a.mov(R.R1, R.R7)
        a.alu("+", R.R1, R.R9)
        a.ldx(1, R.R3, R.R1, sbuf)
        a.alu("^", R.R3, R.R2)
        zero(g, R.R3)                        # byte == c
        below(g, R.R0, R.R9, R.R4)           # before the end
        a.alu("&", R.R3, R.R0)
        sel(g, R.R5, R.R3, R.R9, R.R0)

    loop(g, R.R9, n, body)
    suffix(g, sbuf, R.R5)
    drop(g, s_slot, c_slot)


# ------------------------------------------------------------------ strtok


@func("strtok")
def gen_strtok(g: Gen, e: ast.Call) -> None:
    """strtok(s, delims): the next token of s, or NULL.  strtok(NULL, delims) goes on with
    the string of the last strtok(s, ...) of this probe firing (it faults if there is none).
    The state is a copy of s, its length and where the next search starts."""
    a = g.a
    n = g.u.strsize
    base = area(g, AREA_STRTOK, e.loc)
    copy = base + 16
    if not (const_int(e.args[0]) == 0):
        str_arg(g, e.args[0])
        read_str(g, copy, R.R0)
        str_len(g, R.R0)
        a.stx(8, R.R7, base + 8, R.R0)       # length
        a.st(8, R.R7, base, 1)               # next position + 1
    else:
        a.ldx(8, R.R0, R.R7, base)
        g.fault_if("==", R.R0, 0, L.FLT_BADADDR)
    str_arg(g, e.args[1])
    dbuf = buf(g, n)
    tab = buf(g, 32)                         # one bit per delimiter byte value
    read_str(g, dbuf, R.R0)
    str_len(g, R.R4)                         # r4 = number of delimiters
    for w in range(4):
        a.st(8, R.R7, tab + 8 * w, 0)

    def mark() -> None:
        a.mov(R.R1, R.R7)
        a.alu("+", R.R1, R.R9)
        a.ldx(1, R.R2, R.R1, dbuf)           # r2 = delimiter byte
        below(g, R.R3, R.R9, R.R4)           # r3 = before the end
        a.mov(R.R5, R.R2)
        a.alu("&", R.R5, None, 63)
        a.alu("<<", R.R3, R.R5)              # r3 = its bit (or 0)
        a.alu(">>", R.R2, None, 6)
        a.alu("<<", R.R2, None, 3)
        a.mov(R.R1, R.R7)
        a.alu("+", R.R1, R.R2)
        a.ldx(8, R.R0, R.R1, tab)
        a.alu("|", R.R0, R.R3)
        a.stx(8, R.R1, tab, R.R0)

    loop(g, R.R9, n, mark)
    # the token: from the first non-delimiter at or after the start position to the next
    # delimiter (or the end); r4 = its start, r5 = its end (-1 while not seen)
    a.ldx(8, R.R0, R.R7, base)
    a.alu("-", R.R0, None, 1)
    start = slot(g, None)
    a.stx(8, R.FP, start, R.R0)
    end = slot(g, -1)
    a.movi(R.R4, -1)

    def scan() -> None:
        a.mov(R.R1, R.R7)
        a.alu("+", R.R1, R.R9)
        a.ldx(1, R.R2, R.R1, copy)           # r2 = byte
        a.mov(R.R3, R.R2)
        a.alu(">>", R.R3, None, 6)
        a.alu("<<", R.R3, None, 3)
        a.mov(R.R1, R.R7)
        a.alu("+", R.R1, R.R3)
        a.ldx(8, R.R3, R.R1, tab)
        a.alu("&", R.R2, None, 63)
        a.alu(">>", R.R3, R.R2)
        a.alu("&", R.R3, None, 1)            # r3 = a delimiter
        a.ldx(8, R.R1, R.R7, base + 8)
        below(g, R.R2, R.R9, R.R1)           # r2 = before the end
        a.mov(R.R1, R.R2)
        a.alu("^", R.R1, None, 1)
        a.alu("|", R.R3, R.R1)               # r3 = ends a token (delimiter or the end)
        a.ldx(8, R.R1, R.FP, start)
        below(g, R.R0, R.R9, R.R1)
        a.alu("^", R.R0, None, 1)
        a.alu("&", R.R2, R.R0)               # r2 = in the part to search
        a.mov(R.R0, R.R4)
        a.alu(">>", R.R0, None, 63)          # r0 = no token yet
        a.mov(R.R1, R.R3)
        a.alu("^", R.R1, None, 1)
        a.alu("&", R.R1, R.R2)
        a.alu("&", R.R1, R.R0)               # r1 = the token starts here
        a.alu("^", R.R0, None, 1)            # r0 = in a token
        a.alu("&", R.R3, R.R0)
        a.ldx(8, R.R2, R.FP, end)
        a.mov(R.R0, R.R2)
        a.alu(">>", R.R0, None, 63)
        a.alu("&", R.R3, R.R0)               # r3 = the token ends here
        sel(g, R.R4, R.R1, R.R9, R.R0)
        sel(g, R.R2, R.R3, R.R9, R.R0)
        a.stx(8, R.FP, end, R.R2)

    loop(g, R.R9, n, scan)
    dst = buf(g, n, slack=pow2_mask(n))
    a.mov(R.R9, R.R4)
    a.alu(">>", R.R9, None, 63)
    a.alu("^", R.R9, None, 1)                # r9 = found
    a.mov(R.R5, R.R4)
    a.alu("*", R.R5, R.R9)                   # start (0 if none)
    a.ldx(8, R.R1, R.FP, end)
    a.ldx(8, R.R2, R.R7, base + 8)
    sel(g, R.R2, R.R9, R.R1, R.R3)           # next search from the token's end, or the end
    a.alu("+", R.R2, None, 1)
    a.stx(8, R.R7, base, R.R2)
    a.alu("-", R.R1, R.R5)                   # token length
    a.alu("*", R.R1, R.R9)
    drop(g, start, end)
    keep = slot(g, None)
    a.stx(8, R.FP, keep, R.R1)
    saddr(g, R.R3, copy, R.R5)
    read_str(g, dst, R.R3)
    a.ldx(8, R.R1, R.FP, keep)
    bound(g, R.R1, n - 1)
    a.alu("+", R.R1, R.R7)
    a.st(1, R.R1, dst, 0)
    drop(g, keep)
    null_or(g, R.R9, dst)


# ------------------------------------------------------------------ lltostr, toupper, tolower


@func("lltostr")
def gen_lltostr(g: Gen, e: ast.Call) -> None:
    """The decimal text of a 64-bit value; with a base (2 to 36) the digits of the value
    as unsigned, after "0x" in base 16 and "0" in base 8.  Digits are written backwards
    from the end of a temporary; the result keeps the first strsize characters."""
    a = g.a
    base = const_int(e.args[1]) if len(e.args) > 1 else 10
    g.gen(e.args[0])
    v_slot = g.push()
    if base is None:
        g.gen(e.args[1])
        ok = a.new_label("base")
        bad = a.new_label("bbad")
        a.jcc("s<", R.R0, None, bad, imm=2)
        a.jcc("s<=", R.R0, None, ok, imm=36)
        a.label(bad)
        g.fault(L.FLT_ILLOP)
        a.label(ok)
        a.mov(R.R2, R.R0)
        digits = 64
    else:
        if base < 2 or base > 36:
            fault_always(g, L.FLT_ILLOP)
            base = 10
        a.movi(R.R2, base)
        digits = len(_digits((1 << 64) - 1, base))
    end = 68
    tmp = buf(g, end + 8, slack=128)
    a.st(1, R.R7, tmp + end, 0)
    a.ldx(8, R.R1, R.FP, v_slot)             # r1 = the value
    a.movi(R.R9, 0)                          # r9 = negative (base 10)
    if base == 10 or base is None:
        if base is None:
            eq_imm(g, R.R4, R.R2, 10)
        a.mov(R.R9, R.R1)
        a.alu(">>", R.R9, None, 63)
        if base is None:
            a.alu("&", R.R9, R.R4)
        a.mov(R.R4, R.R1)                    # |value| when negative
        a.alu("*", R.R4, R.R9)
        a.alu("<<", R.R4, None, 1)
        a.alu("-", R.R1, R.R4)
    a.movi(R.R3, 0)                          # r3 = digits so far
    for k in range(digits):
        a.mov(R.R4, R.R1)
        a.alu("/", R.R4, R.R2)
        a.mov(R.R5, R.R4)
        a.alu("*", R.R5, R.R2)
        a.mov(R.R0, R.R1)
        a.alu("-", R.R0, R.R5)               # r0 = digit
        a.mov(R.R5, R.R0)
        a.alu("-", R.R5, None, 10)
        a.alu(">>", R.R5, None, 63)
        a.alu("^", R.R5, None, 1)            # a letter
        a.alu("*", R.R5, None, ord("a") - ord("0") - 10)
        a.alu("+", R.R0, R.R5)
        a.alu("+", R.R0, None, ord("0"))
        a.stx(1, R.R7, tmp + end - 1 - k, R.R0)
        nonzero_any(g, R.R5, R.R1)
        a.alu("+", R.R3, R.R5)
        a.mov(R.R1, R.R4)
    a.mov(R.R5, R.R3)                        # at least one digit ("0")
    zero(g, R.R5)
    a.alu("+", R.R3, R.R5)
    a.movi(R.R4, end)
    a.alu("-", R.R4, R.R3)                   # r4 = where the text starts
    if base is None or base in (8, 16):
        a.ldx(8, R.R1, R.FP, v_slot)
        nonzero_any(g, R.R5, R.R1)
        if base is None:
            eq_imm(g, R.R0, R.R2, 8)
            a.alu("&", R.R5, R.R0)
        elif base != 8:
            a.movi(R.R5, 0)
        a.alu("-", R.R4, R.R5)               # base 8: a leading "0" (except for 0 itself)
        put_if(g, R.R5, R.R4, tmp, "0")
        if base is None:
            eq_imm(g, R.R5, R.R2, 16)
        else:
            a.movi(R.R5, 1 if base == 16 else 0)
        a.alu("-", R.R4, R.R5)               # base 16: "0x"
        a.alu("-", R.R4, R.R5)
        put_if(g, R.R5, R.R4, tmp, "0")
        put_if(g, R.R5, R.R4, tmp + 1, "x")
    a.alu("-", R.R4, R.R9)                   # '-'
    put_if(g, R.R9, R.R4, tmp, "-")
    dst = buf(g, g.u.strsize)
    saddr(g, R.R3, tmp, R.R4)
    read_str(g, dst, R.R3)
    drop(g, v_slot)
    saddr(g, R.R0, dst)


def put_if(g: Gen, cond: int, pos: int, off: int, ch: str) -> None:
    """The byte at r7 + off + pos (pos <= 127) = ch if cond (0 or 1); clobbers r0, r1, r3."""
    a = g.a
    a.mov(R.R1, pos)
    a.alu("&", R.R1, None, 127)
    a.alu("+", R.R1, R.R7)
    a.ldx(1, R.R0, R.R1, off)
    a.movi(R.R3, ord(ch))
    a.alu("-", R.R3, R.R0)
    a.alu("*", R.R3, cond)
    a.alu("+", R.R0, R.R3)
    a.stx(1, R.R1, off, R.R0)


def _digits(v: int, base: int) -> str:
    s = ""
    while v:
        s = "0123456789abcdefghijklmnopqrstuvwxyz"[v % base] + s
        v //= base
    return s or "0"


def change_case(g: Gen, e: ast.Call, lo: str, hi: str) -> None:
    """Flip bit 0x20 of every byte in [lo, hi], eight bytes at a time: for each byte
    y = x & 0x7f, (y + 0x80 - lo) has its top bit set when y >= lo, (y + 0x7f - hi) when
    y > hi, and bytes with the top bit set in x are no letters."""
    a = g.a
    n = g.u.strsize
    words = (n + 7) // 8
    str_arg(g, e.args[0])
    dst = buf(g, 8 * words)
    read_str(g, dst, R.R0)
    ones = 0x0101010101010101
    a.movi(R.R4, 0x7F * ones)
    a.movi(R.R5, 0x80 * ones)
    for j in range(words):
        a.ldx(8, R.R0, R.R7, dst + 8 * j)
        a.mov(R.R1, R.R0)
        a.alu("&", R.R1, R.R4)               # y
        a.mov(R.R2, R.R1)
        a.movi(R.R3, (0x80 - ord(lo)) * ones)
        a.alu("+", R.R2, R.R3)               # top bit: y >= lo
        a.movi(R.R3, (0x7F - ord(hi)) * ones)
        a.alu("+", R.R1, R.R3)               # top bit: y > hi
        a.alu("^", R.R1, R.R5)               # top bit: y <= hi
        a.alu("&", R.R2, R.R1)
        a.mov(R.R1, R.R0)
        a.alu("^", R.R1, R.R5)               # top bit: x < 0x80
        a.alu("&", R.R2, R.R1)
        a.alu("&", R.R2, R.R5)
        a.alu(">>", R.R2, None, 2)           # 0x20 where a letter is
        a.alu("^", R.R0, R.R2)
        a.stx(8, R.R7, dst + 8 * j, R.R0)
    saddr(g, R.R0, dst)


@func("toupper")
def gen_toupper(g: Gen, e: ast.Call) -> None:
    change_case(g, e, "a", "z")


@func("tolower")
def gen_tolower(g: Gen, e: ast.Call) -> None:
    change_case(g, e, "A", "Z")


# ------------------------------------------------------------------ basename, dirname, cleanpath


def copy_char(g: Gen, src: int, dst: int, m: int) -> None:
    """r2 = scratch[src + r9]; scratch[dst + min(r5, m)] = r2 (cleanpath's passes)."""
    a = g.a
    a.mov(R.R1, R.R7)
    a.alu("+", R.R1, R.R9)
    a.ldx(1, R.R2, R.R1, src)
    bound(g, R.R5, m)
    a.mov(R.R1, R.R7)
    a.alu("+", R.R1, R.R5)
    a.stx(1, R.R1, dst, R.R2)


def ld_slot(g: Gen, reg: int, s: int) -> None:
    g.a.ldx(8, reg, R.FP, s)


def st_slot(g: Gen, s: int, reg: int) -> None:
    g.a.stx(8, R.FP, s, reg)


def sel_slot(g: Gen, s: int, cond: int, val: int, tmp: int, tmp2: int) -> None:
    """slot s = cond ? val : slot s."""
    ld_slot(g, tmp2, s)
    sel(g, tmp2, cond, val, tmp)
    st_slot(g, s, tmp2)


def special_result(g: Gen, dst: int, apply: int, ch: int) -> None:
    """When `apply` (0 or 1): dst becomes the one-character string ch (a register;
    0 makes the empty string).  Clobbers r0, r1."""
    a = g.a
    a.ldx(1, R.R0, R.R7, dst)
    sel(g, R.R0, apply, ch, R.R1)
    a.stx(1, R.R7, dst, R.R0)
    a.ldx(1, R.R0, R.R7, dst + 1)
    sel(g, R.R0, apply, None, R.R1, 0)
    a.stx(1, R.R7, dst + 1, R.R0)


def path_parts(g: Gen, e: ast.Call, want_dir: bool) -> None:
    """basename() and dirname(): one pass over the string finds the end of the last
    component (the last non-slash), where it starts (after the slash before it) and the
    end of the directory part (the last non-slash before that slash)."""
    a = g.a
    n = g.u.strsize
    str_arg(g, e.args[0])
    sbuf = buf(g, n)
    dst = buf(g, n, slack=pow2_mask(n))
    read_str(g, sbuf, R.R0)
    str_len(g, R.R4)                         # r4 = len
    last_ns = slot(g, -1)                    # last non-slash
    last_sl = slot(g, -1)                    # last slash
    cand = slot(g, -2)                       # last non-slash before the last slash (-2: none)
    first_b = slot(g, 0)                     # where the last component starts
    last_d = slot(g, -2)                     # end of the directory part

    def body() -> None:
        a.mov(R.R1, R.R7)
        a.alu("+", R.R1, R.R9)
        a.ldx(1, R.R2, R.R1, sbuf)
        eq_imm(g, R.R3, R.R2, ord("/"))      # r3 = slash
        below(g, R.R5, R.R9, R.R4)           # r5 = before the end
        a.mov(R.R2, R.R3)
        a.alu("^", R.R2, None, 1)
        a.alu("&", R.R2, R.R5)               # r2 = a non-slash
        a.alu("&", R.R3, R.R5)               # r3 = a slash
        # a non-slash: first_b = last_sl + 1, last_d = cand, last_ns = i
        ld_slot(g, R.R5, last_sl)
        a.alu("+", R.R5, None, 1)
        sel_slot(g, first_b, R.R2, R.R5, R.R0, R.R1)
        ld_slot(g, R.R5, cand)
        sel_slot(g, last_d, R.R2, R.R5, R.R0, R.R1)
        # a slash: cand = last_ns, last_sl = i
        ld_slot(g, R.R5, last_ns)
        sel_slot(g, cand, R.R3, R.R5, R.R0, R.R1)
        sel_slot(g, last_sl, R.R3, R.R9, R.R0, R.R1)
        sel_slot(g, last_ns, R.R2, R.R9, R.R0, R.R1)

    loop(g, R.R9, n, body)
    a.mov(R.R2, R.R4)
    zero(g, R.R2)                            # r2 = empty string
    ld_slot(g, R.R3, last_ns)
    a.alu(">>", R.R3, None, 63)              # no non-slash
    a.mov(R.R5, R.R2)
    a.alu("^", R.R5, None, 1)
    a.alu("&", R.R3, R.R5)                   # r3 = only slashes
    if want_dir:
        ld_slot(g, R.R5, last_d)
        a.alu(">>", R.R5, None, 63)          # no directory part: "." or "/"
        a.alu("|", R.R5, R.R2)
        a.alu("|", R.R5, R.R3)               # r5 = a one-character result
        ld_slot(g, R.R0, last_d)
        a.alu("+", R.R0, None, 2)
        zero(g, R.R0)                        # no slash before the last component
        a.mov(R.R1, R.R3)
        a.alu("^", R.R1, None, 1)
        a.alu("&", R.R0, R.R1)
        a.alu("|", R.R0, R.R2)               # r0 = the result is "."
        a.movi(R.R4, 0)                      # copy from the start
        ld_slot(g, R.R1, last_d)
        a.alu("+", R.R1, None, 1)            # r1 = characters
    else:
        a.mov(R.R5, R.R2)
        a.alu("|", R.R5, R.R3)
        a.mov(R.R0, R.R2)
        ld_slot(g, R.R4, first_b)
        ld_slot(g, R.R1, last_ns)
        a.alu("+", R.R1, None, 1)
        a.alu("-", R.R1, R.R4)
    # r0 = ".", r5 = one character, r4 = start, r1 = length
    a.movi(R.R9, ord("/"))
    a.alu("*", R.R0, None, ord(".") - ord("/"))
    a.alu("+", R.R9, R.R0)                   # r9 = the character
    keep = slot(g, None)
    st_slot(g, keep, R.R1)
    sp = slot(g, None)
    st_slot(g, sp, R.R5)
    a.mov(R.R0, R.R5)
    a.alu("^", R.R0, None, 1)
    a.alu("*", R.R4, R.R0)
    saddr(g, R.R3, sbuf, R.R4)
    read_str(g, dst, R.R3)
    ld_slot(g, R.R1, keep)
    bound(g, R.R1, n - 1)
    a.alu("+", R.R1, R.R7)
    a.st(1, R.R1, dst, 0)
    ld_slot(g, R.R5, sp)
    special_result(g, dst, R.R5, R.R9)
    drop(g, last_ns, last_sl, cand, first_b, last_d, keep, sp)
    saddr(g, R.R0, dst)


@func("basename")
def gen_basename(g: Gen, e: ast.Call) -> None:
    path_parts(g, e, False)


@func("dirname")
def gen_dirname(g: Gen, e: ast.Call) -> None:
    path_parts(g, e, True)


@func("cleanpath")
def gen_cleanpath(g: Gen, e: ast.Call) -> None:
    """cleanpath(): "//" and "/./" go, "dir/.." goes with dir, a trailing "/" goes; ".."
    at the start of an absolute path goes too, and is kept at the start of a relative one;
    "" stays "", a path that becomes empty is "." (or "/").  The path, between two added
    slashes, is copied twice: once dropping "//" and "/./", once resolving "/../" with a
    stack of where each kept component starts."""
    a = g.a
    n = g.u.strsize
    m = pow2_mask(n + 2)
    str_arg(g, e.args[0])
    b1 = buf(g, n + 2, slack=m)
    b2 = buf(g, n + 2, slack=m)
    b3 = buf(g, n + 2, slack=m)
    stk = buf(g, 2 * (n + 3), slack=2 * m)
    dst = buf(g, n, slack=m)
    a.st(1, R.R7, b1, ord("/"))
    read_str(g, b1 + 1, R.R0)
    str_len(g, R.R4)                         # r4 = len
    length = slot(g, None)
    st_slot(g, length, R.R4)
    bound(g, R.R4, n - 1)
    a.mov(R.R1, R.R7)
    a.alu("+", R.R1, R.R4)
    a.st(1, R.R1, b1 + 1, ord("/"))
    a.alu("+", R.R4, None, 2)                # r4 = characters in "/path/"

    # pass 1: r9 = i, r5 = to, r2 = the last characters written (one per byte)
    seq = slot(g, 0)
    a.movi(R.R5, 0)

    def pass1() -> None:
        copy_char(g, b1, b2, m)              # r2 = c
        below(g, R.R3, R.R9, R.R4)           # r3 = active
        a.alu("+", R.R5, R.R3)
        ld_slot(g, R.R0, seq)
        a.mov(R.R1, R.R0)
        a.alu("<<", R.R1, None, 8)
        a.alu("|", R.R1, R.R2)
        sel(g, R.R0, R.R3, R.R1, R.R2)       # r0 = seq
        for pat, width, back in ((0x2F2F, 0xFFFF, 1), (0x2F2E2F, 0xFFFFFF, 2)):
            a.mov(R.R1, R.R0)
            a.alu("&", R.R1, None, width)
            a.alu("^", R.R1, None, pat)
            zero(g, R.R1)
            a.alu("&", R.R1, R.R3)           # r1 = drop `back` characters
            a.mov(R.R2, R.R1)
            a.alu("*", R.R2, None, back)
            a.alu("-", R.R5, R.R2)
            a.alu("*", R.R2, None, 8)
            a.alu(">>", R.R0, R.R2)
        st_slot(g, seq, R.R0)

    loop(g, R.R9, n + 2, pass1)
    tlen = slot(g, None)
    st_slot(g, tlen, R.R5)
    # pass 2 over "/c1/c2/.../": w = r5, d = depth, fl = kept leading "..", cur = where the
    # current component starts; the stack holds where each component on it starts
    a.ldx(1, R.R0, R.R7, b1 + 1)
    eq_imm(g, R.R0, R.R0, ord("/"))
    rooted = slot(g, None)
    st_slot(g, rooted, R.R0)
    depth, floor, cur = slot(g, 0), slot(g, 0), slot(g, 0)
    a.st(8, R.FP, seq, ord("/"))
    a.st(1, R.R7, b3, ord("/"))
    a.st(2, R.R7, stk, 0)
    a.movi(R.R5, 1)

    def pass2() -> None:
        copy_char(g, b2, b3, m)              # r2 = c
        ld_slot(g, R.R4, tlen)
        below(g, R.R3, R.R9, R.R4)           # r3 = active
        a.alu("+", R.R5, R.R3)
        ld_slot(g, R.R0, seq)
        a.mov(R.R1, R.R0)
        a.alu("<<", R.R1, None, 8)
        a.alu("|", R.R1, R.R2)
        sel(g, R.R0, R.R3, R.R1, R.R4)
        st_slot(g, seq, R.R0)
        eq_imm(g, R.R4, R.R2, ord("/"))
        a.alu("&", R.R3, R.R4)               # r3 = a component ends here
        a.mov(R.R1, R.R0)
        a.movi(R.R4, 0xFFFFFFFF)
        a.alu("&", R.R1, R.R4)
        a.movi(R.R4, 0x2F2E2E2F)
        a.alu("^", R.R1, R.R4)
        zero(g, R.R1)
        a.alu("&", R.R1, R.R3)               # r1 = it is ".."
        # r2 = pop a component (one is there to pop)
        ld_slot(g, R.R2, floor)
        ld_slot(g, R.R4, depth)
        below(g, R.R2, R.R2, R.R4)
        a.alu("&", R.R2, R.R1)
        # r4 = drop it (absolute path), r0 = keep it (relative path)
        a.mov(R.R0, R.R2)
        a.alu("^", R.R0, None, 1)
        a.alu("&", R.R0, R.R1)
        ld_slot(g, R.R4, rooted)
        a.alu("&", R.R4, R.R0)
        a.alu("^", R.R0, R.R4)
        # push cur when a component (not "..") ends, or when ".." is kept
        a.alu("^", R.R1, None, 1)
        a.alu("&", R.R1, R.R3)
        a.alu("|", R.R1, R.R0)               # r1 = push
        drops = slot(g, None)
        st_slot(g, drops, R.R4)
        ld_slot(g, R.R4, floor)
        a.alu("+", R.R4, R.R0)
        st_slot(g, floor, R.R4)
        pops = slot(g, None)
        st_slot(g, pops, R.R2)
        ld_slot(g, R.R4, depth)
        bound(g, R.R4, m)
        a.alu("<<", R.R4, None, 1)
        a.alu("+", R.R4, R.R7)
        a.ldx(2, R.R0, R.R4, stk)            # r0 = top of the stack
        ld_slot(g, R.R2, cur)
        a.stx(2, R.R4, stk + 2, R.R2)        # (the push, whether or not it counts)
        ld_slot(g, R.R4, depth)
        a.alu("+", R.R4, R.R1)
        ld_slot(g, R.R2, pops)
        a.alu("-", R.R4, R.R2)
        st_slot(g, depth, R.R4)
        a.alu("+", R.R0, None, 1)
        sel(g, R.R5, R.R2, R.R0, R.R4)       # pop: w = top + 1
        ld_slot(g, R.R4, drops)
        a.mov(R.R0, R.R4)
        a.alu("*", R.R0, None, 3)
        a.alu("-", R.R5, R.R0)               # drop: w -= 3 ("../")
        a.alu("|", R.R2, R.R4)               # popped or dropped: the last character is '/'
        ld_slot(g, R.R0, seq)
        sel(g, R.R0, R.R2, None, R.R4, ord("/"))
        st_slot(g, seq, R.R0)
        a.mov(R.R0, R.R5)
        a.alu("-", R.R0, None, 1)
        sel_slot(g, cur, R.R3, R.R0, R.R4, R.R2)
        drop(g, drops, pops)

    loop(g, R.R9, n + 2, pass2, start=1)
    # the result: b3[start, w - 1) with start 0 (absolute) or 1 (relative)
    ld_slot(g, R.R4, rooted)
    a.alu("^", R.R4, None, 1)                # r4 = start
    a.alu("-", R.R5, None, 1)
    a.alu("-", R.R5, R.R4)                   # r5 = characters
    keep = slot(g, None)
    st_slot(g, keep, R.R5)
    saddr(g, R.R3, b3, R.R4)
    read_str(g, dst, R.R3)
    ld_slot(g, R.R1, keep)
    nonneg(g, R.R1, R.R2)
    bound(g, R.R1, m)
    a.alu("+", R.R1, R.R7)
    a.st(1, R.R1, dst, 0)
    # "" stays "", one character stays itself, an empty result is "." or "/"
    ld_slot(g, R.R2, length)
    a.mov(R.R3, R.R2)
    zero(g, R.R3)                            # r3 = ""
    a.alu("^", R.R2, None, 1)
    zero(g, R.R2)                            # r2 = one character
    ld_slot(g, R.R5, keep)
    below(g, R.R5, R.R5, imm=1)
    a.mov(R.R0, R.R3)
    a.alu("|", R.R0, R.R2)
    a.alu("^", R.R0, None, 1)
    a.alu("&", R.R5, R.R0)                   # r5 = nothing left of a longer path
    ld_slot(g, R.R4, rooted)
    a.movi(R.R9, ord("."))
    a.alu("*", R.R4, None, ord("/") - ord("."))
    a.alu("+", R.R9, R.R4)
    a.alu("*", R.R9, R.R5)                   # r9 = '.' or '/' (0 unless r5)
    a.ldx(1, R.R4, R.R7, b1 + 1)
    a.alu("*", R.R4, R.R2)
    a.alu("+", R.R9, R.R4)                   # or the one character
    a.alu("|", R.R5, R.R2)
    a.alu("|", R.R5, R.R3)
    special_result(g, dst, R.R5, R.R9)
    drop(g, length, seq, tlen, rooted, depth, floor, cur, keep)
    saddr(g, R.R0, dst)


# ------------------------------------------------------------------ inet_ntoa, inet_ntoa6, inet_ntop


def hex_digit(g: Gen, reg: int, tmp: int) -> None:
    """reg (0-15) → its lowercase hex digit character."""
    a = g.a
    a.mov(tmp, reg)
    a.alu("-", tmp, None, 10)
    a.alu(">>", tmp, None, 63)
    a.alu("^", tmp, None, 1)
    a.alu("*", tmp, None, ord("a") - ord("0") - 10)
    a.alu("+", reg, tmp)
    a.alu("+", reg, None, ord("0"))


def dotted_quad(g: Gen, src: int, out: int, pos: int) -> None:
    """Write the four bytes at scratch src as "a.b.c.d\\0" at scratch out + pos (a
    register, advanced past the text)."""
    a = g.a
    for k in range(4):
        a.ldx(1, R.R1, R.R7, src + k)        # r1 = byte
        a.mov(R.R2, R.R1)
        a.alu("/", R.R2, None, 100)
        a.alu("+", R.R2, None, ord("0"))     # hundreds
        a.mov(R.R3, R.R1)
        a.alu("/", R.R3, None, 10)
        a.alu("%", R.R3, None, 10)
        a.alu("+", R.R3, None, ord("0"))
        a.alu("<<", R.R3, None, 8)
        a.alu("|", R.R2, R.R3)               # tens
        a.mov(R.R3, R.R1)
        a.alu("%", R.R3, None, 10)
        a.alu("+", R.R3, None, ord("0"))
        a.alu("<<", R.R3, None, 16)
        a.alu("|", R.R2, R.R3)               # ones; r2 = "htoX"
        a.movi(R.R3, 2)                      # r3 = leading digits to drop
        below(g, R.R4, R.R1, imm=100)
        a.alu("^", R.R4, None, 1)
        a.alu("-", R.R3, R.R4)
        below(g, R.R4, R.R1, imm=10)
        a.alu("^", R.R4, None, 1)
        a.alu("-", R.R3, R.R4)
        a.mov(R.R4, R.R3)
        a.alu("<<", R.R4, None, 3)
        a.alu(">>", R.R2, R.R4)
        if k < 3:
            a.movi(R.R4, ord("."))
            a.mov(R.R1, R.R3)
            a.alu("^", R.R1, None, 3)        # 3 - dropped = digits
            a.alu("<<", R.R1, None, 3)
            a.alu("<<", R.R4, R.R1)
            a.alu("|", R.R2, R.R4)           # the '.' after the digits
        bound(g, pos, 31)
        a.mov(R.R1, R.R7)
        a.alu("+", R.R1, pos)
        a.stx(4, R.R1, out, R.R2)
        a.alu("+", pos, None, 4 if k < 3 else 3)
        a.alu("-", pos, R.R3)
    bound(g, pos, 31)
    a.mov(R.R1, R.R7)
    a.alu("+", R.R1, pos)
    a.st(1, R.R1, out, 0)


def read_addr(g: Gen, e: ast.Expr, size: int) -> int:
    """Copy `size` bytes from the address argument e (not NULL) to a new temporary."""
    tmp = buf(g, align(size))
    str_arg(g, e)
    g.probe_read(tmp, size, R.R0)
    return tmp


def gen_ntoa(g: Gen, e: ast.Expr) -> None:
    """r0 = inet_ntoa(e): e points at an IPv4 address in network byte order."""
    src = read_addr(g, e, 4)
    out = buf(g, 16, slack=32)
    a = g.a
    a.movi(R.R5, 0)
    dotted_quad(g, src, out, R.R5)
    saddr(g, R.R0, out)


@func("inet_ntoa")
def gen_inet_ntoa(g: Gen, e: ast.Call) -> None:
    gen_ntoa(g, e.args[0])


def zero_runs() -> bytes:
    """For each bitmap of an IPv6 address's non-zero words (bit 7 - n for word n): the
    longest run of two or more zero words (the first of equal ones) as start << 4 | length,
    or 0x70 (start 7, length 0) when there is none."""
    out = bytearray()
    for bits in range(256):
        best_s, best_l, n = 7, 0, 0
        while n < 8:
            if bits >> (7 - n) & 1:
                n += 1
                continue
            s = n
            while n < 8 and not bits >> (7 - n) & 1:
                n += 1
            if n - s >= 2 and n - s > best_l:
                best_s, best_l = s, n - s
        out.append(best_s << 4 | best_l)
    return bytes(out)


def gen_ntoa6(g: Gen, e: ast.Expr, strict: bool) -> None:
    """r0 = inet_ntoa6(e): hex words with the longest run of zero words as "::"; an
    IPv4-mapped (::ffff:a.b.c.d) or -compatible (::a.b.c.d, not :: or ::1) address is
    written as a.b.c.d, with its prefix when `strict`.  Both forms are written; the
    result is picked arithmetically."""
    a = g.a
    src = read_addr(g, e, 16)
    words = buf(g, 16)
    out6 = buf(g, 48, slack=64)
    out4 = buf(g, 32, slack=32)
    a.movi(R.R5, 0)                          # r5 = bitmap of non-zero words
    for n in range(8):
        a.ldx(2, R.R0, R.R7, src + 2 * n)
        from ..bpf.asm import ALU, Insn
        a.emit(Insn(ALU | 0xD0 | 0x08, R.R0, 0, 0, 16))   # to big endian: the word's value
        a.stx(2, R.R7, words + 2 * n, R.R0)
        a.neg(R.R0)
        a.alu(">>", R.R0, None, 63)
        a.alu("<<", R.R0, None, 7 - n)
        a.alu("|", R.R5, R.R0)
    # IPv4 in IPv6: words 0-4 zero and (word 5 = ffff, or word 5 = 0 and (word 6 != 0 or
    # word 7 > 1))
    is4 = slot(g, None)
    a.mov(R.R1, R.R5)
    a.alu("&", R.R1, None, 0xF8)
    zero(g, R.R1)                            # r1 = words 0-4 zero
    a.ldx(2, R.R2, R.R7, words + 10)
    a.mov(R.R3, R.R2)
    a.alu("^", R.R3, None, 0xFFFF)
    zero(g, R.R3)                            # r3 = mapped
    a.mov(R.R4, R.R2)
    zero(g, R.R4)                            # word 5 zero
    a.ldx(2, R.R2, R.R7, words + 12)
    nonzero_any(g, R.R0, R.R2)
    a.ldx(2, R.R2, R.R7, words + 14)
    below(g, R.R2, R.R2, imm=2)
    a.alu("^", R.R2, None, 1)
    a.alu("|", R.R0, R.R2)
    a.alu("&", R.R4, R.R0)                   # r4 = compatible
    mapped = slot(g, None)
    st_slot(g, mapped, R.R3)
    a.alu("|", R.R3, R.R4)
    a.alu("&", R.R3, R.R1)
    st_slot(g, is4, R.R3)
    # the IPv4 form, after "::ffff:" or "::" when strict
    a.ld_imm64(R.R2, int.from_bytes(b"::ffff:\0", "little"))
    a.stx(8, R.R7, out4, R.R2)
    if strict:
        ld_slot(g, R.R3, mapped)
        a.movi(R.R5, 2)
        a.alu("*", R.R3, None, 5)
        a.alu("+", R.R5, R.R3)               # r5 = 7 or 2
    else:
        a.movi(R.R5, 0)
    dotted_quad(g, src + 12, out4, R.R5)
    # the IPv6 form: r4 = run start, r9 = run end (start + length), r5 = position
    a.movi(R.R0, 0)
    for n in range(8):
        a.ldx(2, R.R1, R.R7, words + 2 * n)
        nonzero_any(g, R.R2, R.R1)
        a.alu("<<", R.R2, None, 7 - n)
        a.alu("|", R.R0, R.R2)
    g.string_const(zero_runs(), R.R1)
    a.alu("+", R.R1, R.R0)
    a.ldx(1, R.R4, R.R1, 0)
    a.mov(R.R9, R.R4)
    a.alu("&", R.R9, None, 15)               # length
    a.alu(">>", R.R4, None, 4)
    a.alu("+", R.R9, R.R4)
    a.movi(R.R5, 0)
    for n in range(8):
        # in the run: rs <= n < re; the run starts here: n == rs and it is not empty
        below(g, R.R1, R.R4, imm=n + 1)      # rs <= n
        below(g, R.R2, R.R9, imm=n + 1)
        a.alu("^", R.R2, None, 1)            # n < re
        a.alu("&", R.R1, R.R2)               # r1 = in the run
        a.mov(R.R2, R.R4)
        a.alu("^", R.R2, None, n)
        zero(g, R.R2)
        a.alu("&", R.R2, R.R1)               # r2 = the run starts here
        bound(g, R.R5, 63)
        a.mov(R.R3, R.R7)
        a.alu("+", R.R3, R.R5)
        a.st(2, R.R3, out6, int.from_bytes(b"::", "little"))
        a.alu("<<", R.R2, None, 1)
        a.alu("+", R.R5, R.R2)               # "::"
        a.alu("^", R.R1, None, 1)            # r1 = write this word
        if n > 0:
            # a ':' before it, unless it comes right after the run
            a.mov(R.R2, R.R9)
            a.alu("^", R.R2, None, n)
            nonzero_any(g, R.R3, R.R2)
            a.mov(R.R0, R.R9)
            a.alu("-", R.R0, R.R4)
            zero(g, R.R0)                    # an empty run
            a.alu("|", R.R3, R.R0)
            a.alu("&", R.R3, R.R1)
            bound(g, R.R5, 63)
            a.mov(R.R2, R.R7)
            a.alu("+", R.R2, R.R5)
            a.st(1, R.R2, out6, ord(":"))
            a.alu("+", R.R5, R.R3)
        # the word in hex without leading zeros (one 0 for 0)
        seen = slot(g, 0)
        for d in range(4):
            a.ldx(2, R.R2, R.R7, words + 2 * n)
            a.alu(">>", R.R2, None, 4 * (3 - d))
            a.alu("&", R.R2, None, 15)
            ld_slot(g, R.R3, seen)
            a.alu("|", R.R3, R.R2)
            if d == 3:
                a.alu("|", R.R3, None, 1)
            nonzero_any(g, R.R0, R.R3)
            st_slot(g, seen, R.R0)
            a.alu("&", R.R0, R.R1)           # r0 = advance
            hex_digit(g, R.R2, R.R3)
            bound(g, R.R5, 63)
            a.mov(R.R3, R.R7)
            a.alu("+", R.R3, R.R5)
            a.stx(1, R.R3, out6, R.R2)
            a.alu("+", R.R5, R.R0)
        drop(g, seen)
    bound(g, R.R5, 63)
    a.mov(R.R3, R.R7)
    a.alu("+", R.R3, R.R5)
    a.st(1, R.R3, out6, 0)
    # r0 = is4 ? out4 : out6
    r7num(g, R.R1)
    ld_slot(g, R.R2, is4)
    a.mov(R.R0, R.R1)
    a.alu("+", R.R0, None, out6)
    a.alu("+", R.R1, None, out4)
    sel(g, R.R0, R.R2, R.R1, R.R3)
    drop(g, is4, mapped)


@func("inet_ntoa6")
def gen_inet_ntoa6(g: Gen, e: ast.Call) -> None:
    strict = False
    if len(e.args) > 1:
        v = const_int(e.args[1])
        if v is None:
            raise DError("D_PROTO_ARG", e.args[1].loc,
                         "inet_ntoa6( ) argument #2 must be an integer constant")
        strict = v != 0
    gen_ntoa6(g, e.args[0], strict)


AF_INET6 = 10


@func("inet_ntop")
def gen_inet_ntop(g: Gen, e: ast.Call) -> None:
    """inet_ntop(af, addr): an IPv6 address (strict inet_ntoa6()) when af is AF_INET6,
    else an IPv4 one (inet_ntoa())."""
    a = g.a
    af = const_int(e.args[0])
    if af is not None:
        if af == AF_INET6:
            gen_ntoa6(g, e.args[1], True)
        else:
            gen_ntoa(g, e.args[1])
        return
    g.gen(e.args[0])
    v4, done = a.new_label("v4"), a.new_label("ntop")
    a.jcc("!=", R.R0, None, v4, imm=AF_INET6)
    gen_ntoa6(g, e.args[1], True)
    a.ja(done)
    a.label(v4)
    gen_ntoa(g, e.args[1])
    a.label(done)


ARPHRD_ETHER = 1
ARPHRD_INFINIBAND = 32


@func("link_ntop")
def gen_link_ntop(g: Gen, e: ast.Call) -> None:
    """link_ntop(type, addr): an Ethernet (6 bytes) or InfiniBand (20 bytes) address as
    hex bytes joined by ':'; any other type is an illegal operation."""
    a = g.a
    g.gen(e.args[0])
    ok = a.new_label("lt")
    a.jcc("==", R.R0, None, ok, imm=ARPHRD_ETHER)
    a.jcc("==", R.R0, None, ok, imm=ARPHRD_INFINIBAND)
    g.fault(L.FLT_ILLOP, R.R0)
    a.label(ok)
    eq_imm(g, R.R0, R.R0, ARPHRD_ETHER)
    t_slot = g.push()
    str_arg(g, e.args[1])
    src = buf(g, 24)
    a.stx(8, R.FP, FP_FADDR, R.R0)
    a.mov(R.R3, R.R0)
    a.ldx(8, R.R2, R.FP, t_slot)
    a.alu("*", R.R2, None, 6 - 20)
    a.alu("+", R.R2, None, 20)               # 6 or 20 bytes
    a.mov(R.R1, R.R7)
    a.alu("+", R.R1, None, src)
    a.call(Helper.probe_read_kernel)
    rd = a.new_label("rd")
    a.jcc("==", R.R0, None, rd, imm=0)
    g.fail(L.FLT_BADADDR)
    a.label(rd)
    out = buf(g, 64)
    for k in range(20):
        a.ldx(1, R.R1, R.R7, src + k)
        a.mov(R.R2, R.R1)
        a.alu(">>", R.R2, None, 4)
        hex_digit(g, R.R2, R.R3)
        a.alu("&", R.R1, None, 15)
        hex_digit(g, R.R1, R.R3)
        a.stx(1, R.R7, out + 3 * k, R.R2)
        a.stx(1, R.R7, out + 3 * k + 1, R.R1)
        a.st(1, R.R7, out + 3 * k + 2, ord(":"))
    a.st(1, R.R7, out + 59, 0)
    a.ldx(8, R.R1, R.FP, t_slot)
    a.alu("*", R.R1, None, 17 - 59)
    a.alu("+", R.R1, None, 59)               # the last ':' (of byte 6 or 20)
    bound(g, R.R1, 63)
    a.alu("+", R.R1, R.R7)
    a.st(1, R.R1, out, 0)
    g.pop(R.R1, t_slot)
    saddr(g, R.R0, out)


# ------------------------------------------------------------------ progenyof, d_path


@func("progenyof")
def gen_progenyof(g: Gen, e: ast.Call) -> None:
    """1 when the current process is pid or one of its descendants: walk up to 256
    real_parent links comparing each task's tgid."""
    from ..bpf.btf import task_path

    tgid = task_path(("tgid",))
    parent = task_path(("real_parent",))
    if not tgid or not parent:
        raise DError("D_UNKNOWN", e.loc, "progenyof( ) needs kernel type information (BTF)")
    a = g.a
    g.gen(e.args[0])
    a.zext(R.R0, R.R0, 32)
    want = g.push()
    found = slot(g, 0)
    count = slot(g, 0)
    a.call(Helper.get_current_task)
    a.mov(R.R9, R.R0)
    top, end = a.new_label("pg"), a.new_label("pge")
    a.label(top)
    a.ldx(8, R.R0, R.FP, count)
    a.jcc(">=", R.R0, None, end, imm=256)
    a.alu("+", R.R0, None, 1)
    a.stx(8, R.FP, count, R.R0)
    a.st(8, R.FP, FP_TMP, 0)
    a.mov(R.R1, R.FP)
    a.alu("+", R.R1, None, FP_TMP)
    a.movi(R.R2, tgid[0][1])
    a.mov(R.R3, R.R9)
    a.alu("+", R.R3, None, tgid[0][0])
    a.call(Helper.probe_read_kernel)
    a.ldx(4, R.R1, R.FP, FP_TMP)
    a.ldx(8, R.R2, R.FP, want)
    a.alu("^", R.R1, R.R2)
    zero(g, R.R1)
    a.ldx(8, R.R2, R.FP, found)
    a.alu("|", R.R2, R.R1)
    a.stx(8, R.FP, found, R.R2)
    a.st(8, R.FP, FP_TMP, 0)
    a.mov(R.R1, R.FP)
    a.alu("+", R.R1, None, FP_TMP)
    a.movi(R.R2, 8)
    a.mov(R.R3, R.R9)
    a.alu("+", R.R3, None, parent[0][0])
    a.call(Helper.probe_read_kernel)
    a.ldx(8, R.R9, R.FP, FP_TMP)
    a.ja(top)
    a.label(end)
    a.ldx(8, R.R0, R.FP, found)
    drop(g, found, count)
    g.pop(R.R1, want)


@func("d_path")
def gen_d_path(g: Gen, e: ast.Call) -> None:
    raise DError("D_UNKNOWN", e.loc, "d_path( ) is not supported: the kernel gives tracing "
                 "programs of this kind no bpf_d_path() helper")


# ------------------------------------------------------------------ alloca, bcopy, copyin, copyinto


@dataclasses.dataclass
class Arena:
    """alloca() space of the clause being generated: handed out at compile time (a clause
    runs each alloca() at most once, in order), so each one has a constant offset."""

    clause: Any
    top: int = 0


def arena(g: Gen, loc: Any) -> tuple[int, int, Arena]:
    """(scratch offset of the arena, its size, this clause's allocation state)."""
    base = area(g, AREA_ALLOCA, loc)
    size = g.u.homes[("this", AREA_ALLOCA)].size - 8 - 2 * GUARD
    st = getattr(g, "_arena", None)
    if st is None or st.clause is not g.clause_layout:
        st = Arena(g.clause_layout)
        g._arena = st
    return base + 8 + GUARD, size, st


def allocate(g: Gen, e: ast.Call, size_expr: ast.Expr) -> int:
    """Allocate alloca space of size_expr's bytes (zeroed); r0 = its address.  Returns the
    allocation's offset in scratch.  Too much is a run-time "out of scratch space"."""
    a = g.a
    off, total, st = arena(g, e.loc)
    size = const_int(size_expr)
    start = st.top
    if size is not None:
        if size < 0 or st.top + align(size) > total:
            fault_always(g, L.FLT_NOSCRATCH)
            size = 0
        st.top += align(size)
    else:
        g.gen(size_expr)
        ok = a.new_label("al")
        a.jcc("<=", R.R0, None, ok, imm=total - st.top)
        g.fault(L.FLT_NOSCRATCH)
        a.label(ok)
        st.top = total
    for o in range(start, st.top, 8):
        a.st(8, R.R7, off + o, 0)
    a.st(8, R.R7, off - 8 - GUARD, st.top)   # the top, for checks made elsewhere
    saddr(g, R.R0, off + start)
    return off + start


@func("alloca")
def gen_alloca(g: Gen, e: ast.Call) -> None:
    allocate(g, e, e.args[0])


def arena_check(g: Gen, e: ast.Call, addr: int, size: int, dst: bool) -> None:
    """Check [addr, addr + size) (registers) against this clause's alloca space, as
    DTrace does: an address below it or at/after its top is invalid, a size reaching
    past the top is invalid.  For a source (dst False) an address outside the arena and
    its guards is not alloca memory and passes.  On return r1 = the offset in the arena.
    Clobbers r0-r3."""
    a = g.a
    off, total, st = arena(g, e.loc)
    a.mov(R.R2, addr)
    launder(g, R.R2)
    r7num(g, R.R1)
    a.alu("+", R.R1, None, off)
    a.mov(R.R0, R.R2)
    a.alu("-", R.R0, R.R1)                   # r0 = offset (signed)
    out = a.new_label("na")
    if not dst:
        a.mov(R.R1, R.R0)
        a.alu("+", R.R1, None, GUARD)
        a.jcc(">=", R.R1, None, out, imm=total + 2 * GUARD)
    bad, badsize = a.new_label("ab"), a.new_label("as")
    a.jcc("s<", R.R0, None, bad, imm=0)
    a.jcc("s>=", R.R0, None, bad, imm=st.top)
    a.mov(R.R1, R.R0)
    a.alu("+", R.R1, size)
    a.jcc("s>", R.R1, None, badsize, imm=st.top)
    a.mov(R.R1, R.R0)
    a.ja(out)
    a.label(bad)
    g.fault(L.FLT_BADADDR, addr)
    a.label(badsize)
    g.fault(FLT_BADSIZE_CODE, size)
    a.label(out)


FLT_BADSIZE_CODE = L.FLT_BADSIZE


def copy_to_arena(g: Gen, e: ast.Call, dst_e: ast.Expr, src_e: ast.Expr, size_e: ast.Expr,
                  user: bool) -> None:
    """bcopy() and copyinto(): copy size bytes from src (kernel or user memory) to dst,
    which must be alloca space."""
    a = g.a
    off, total, st = arena(g, e.loc)
    order = [src_e, dst_e, size_e] if not user else [src_e, size_e, dst_e]
    slots = {}
    for x in order:
        g.gen(x)
        slots[id(x)] = g.push()
    src, dst, size = slots[id(src_e)], slots[id(dst_e)], slots[id(size_e)]
    bad = a.new_label("bsz")
    ok = a.new_label("bok")
    a.ldx(8, R.R4, R.FP, size)
    a.jcc("s<", R.R4, None, bad, imm=0)
    a.jcc("s<=", R.R4, None, ok, imm=total)
    a.label(bad)
    g.fault(FLT_BADSIZE_CODE, R.R4)
    a.label(ok)
    a.ldx(8, R.R5, R.FP, src)
    g.fault_if("==", R.R5, 0, L.FLT_BADADDR)
    if not user:
        a.ldx(8, R.R4, R.FP, size)
        arena_check(g, e, R.R5, R.R4, dst=False)
    a.ldx(8, R.R5, R.FP, dst)
    a.ldx(8, R.R4, R.FP, size)
    arena_check(g, e, R.R5, R.R4, dst=True)  # r1 = offset
    a.ldx(8, R.R2, R.FP, size)
    bound(g, R.R2, total)                    # (checked above: in [0, total])
    a.ldx(8, R.R3, R.FP, src)
    a.stx(8, R.FP, FP_FADDR, R.R3)
    a.alu("+", R.R1, R.R7)
    a.alu("+", R.R1, None, off)
    a.call(Helper.probe_read_user if user else Helper.probe_read_kernel)
    rd = a.new_label("rd")
    a.jcc("==", R.R0, None, rd, imm=0)
    g.fail(L.FLT_BADADDR)
    a.label(rd)
    for x in reversed(order):
        g.pop(R.R1, slots[id(x)])


@func("bcopy")
def gen_bcopy(g: Gen, e: ast.Call) -> None:
    copy_to_arena(g, e, e.args[1], e.args[0], e.args[2], user=False)


@func("copyinto")
def gen_copyinto(g: Gen, e: ast.Call) -> None:
    copy_to_arena(g, e, e.args[2], e.args[0], e.args[1], user=True)


@func("copyin")
def gen_copyin(g: Gen, e: ast.Call) -> None:
    """copyin(addr, size): user memory copied into new alloca space (its address)."""
    a = g.a
    _off, total, _st = arena(g, e.loc)
    size = const_int(e.args[1])
    if size is None:
        g.gen(e.args[1])
        bad, ok = a.new_label("csz"), a.new_label("cok")
        a.jcc("s<", R.R0, None, bad, imm=0)
        a.jcc("s<=", R.R0, None, ok, imm=total)
        a.label(bad)
        g.fault(FLT_BADSIZE_CODE, R.R0)
        a.label(ok)
        n_slot = g.push()
    elif size < 0 or size > total:
        a.movi(R.R0, size)
        fault_always(g, FLT_BADSIZE_CODE, R.R0)
    start = allocate(g, e, e.args[1])
    r_slot = g.push()
    g.gen(e.args[0])
    a.stx(8, R.FP, FP_FADDR, R.R0)
    a.mov(R.R3, R.R0)
    if size is None:
        a.ldx(8, R.R2, R.FP, n_slot)
        bound(g, R.R2, total)                # (checked above: in [0, total])
    else:
        a.movi(R.R2, max(0, min(size, total)))
    a.mov(R.R1, R.R7)
    a.alu("+", R.R1, None, start)
    a.call(Helper.probe_read_user)
    ok = a.new_label("ci")
    a.jcc("==", R.R0, None, ok, imm=0)
    g.fail(L.FLT_BADADDR)
    a.label(ok)
    g.pop(R.R0, r_slot)
    if size is None:
        g.pop(R.R1, n_slot)


# ------------------------------------------------------------------ symbol addresses


@func("func", "sym", "mod", "ufunc", "usym", "umod", "uaddr")
def gen_symaddr(g: Gen, e: ast.Call) -> None:
    """func()/sym()/mod() and their user-space twins: the address itself; what it names
    is looked up when the record is printed."""
    g.gen(e.args[0])


# ------------------------------------------------------------------ stack built-in variables

MAX_FRAMES = 127  # kernel.perf_event_max_stack
BPF_F_USER_STACK = 1 << 8


def gen_stack_builtin(g: Gen, name: str) -> None:
    """stackdepth/ustackdepth (frames on the kernel/user stack) and caller/ucaller (the
    pc that called the probed function: the second frame).  BEGIN, END and ERROR fire in
    dtrace itself, where DTrace has no stack to report: 0."""
    a = g.a
    if g.site.ctx == Ctx.TESTRUN and name in ("stackdepth", "caller"):
        a.movi(R.R0, 0)
        return
    user = name.startswith("u")
    depth = name.endswith("depth")
    size = 8 * (MAX_FRAMES if depth else 2)
    frames = buf(g, size)
    if not depth:
        a.st(8, R.R7, frames + 8, 0)
    a.mov(R.R1, R.R6)
    a.mov(R.R2, R.R7)
    a.alu("+", R.R2, None, frames)
    a.movi(R.R3, size)
    a.movi(R.R4, BPF_F_USER_STACK if user else 0)
    a.call(Helper.get_stack)
    if depth:
        nonneg(g, R.R0, R.R1)                # an error: no stack
        a.alu(">>", R.R0, None, 3)
    else:
        a.ldx(8, R.R0, R.R7, frames + 8)


def alloca_guard(g: Gen, size: int) -> None:
    """Before r0's `size` bytes are read or written: if r0 is in alloca space (the arena
    or the guards around it), it must lie below the top handed out so far, and so must
    its last byte ("invalid address" / "invalid size", as DTrace checks alloca pointers).
    No code when the program makes no alloca space.  Keeps r0; clobbers r1-r3."""
    home = g.u.homes.get(("this", AREA_ALLOCA))
    if home is None:
        return
    a = g.a
    base = home.offset
    total = home.size - 8 - 2 * GUARD
    tmp = g.scratch(8)
    a.stx(8, R.R7, tmp, R.R0)
    a.ldx(8, R.R1, R.R7, tmp)                # r1 = the address as a number
    a.stx(8, R.R7, tmp, R.R7)
    a.ldx(8, R.R2, R.R7, tmp)
    a.alu("+", R.R2, None, base + 8 + GUARD)
    a.alu("-", R.R1, R.R2)                   # r1 = offset in the arena
    out, bad, badsize = a.new_label("ag"), a.new_label("agb"), a.new_label("ags")
    a.mov(R.R2, R.R1)
    a.alu("+", R.R2, None, GUARD)
    a.jcc(">=", R.R2, None, out, imm=total + 2 * GUARD)
    a.ldx(8, R.R2, R.R7, base)               # the top
    a.jcc("s<", R.R1, None, bad, imm=0)
    a.jcc("s>=", R.R1, R.R2, bad)
    a.mov(R.R3, R.R1)
    a.alu("+", R.R3, None, size)
    a.jcc("s>", R.R3, R.R2, badsize)
    a.ja(out)
    a.label(bad)
    g.fault(L.FLT_BADADDR, R.R0)
    a.label(badsize)
    a.movi(R.R3, size)
    g.fault(L.FLT_BADSIZE, R.R3)
    a.label(out)


# how func()/sym()/mod() and the user-space ones are recorded: the consumer symbolises
SYM_KINDS = {"func": "sym", "sym": "sym", "mod": "mod", "ufunc": "usym", "usym": "usym",
             "uaddr": "uaddr", "umod": "umod"}
USER_SYM_KINDS = ("usym", "uaddr", "umod")


def symaddr_kind(e: ast.Expr) -> Optional[str]:
    """The record kind ('sym', 'mod', 'usym', 'uaddr', 'umod') of a symbol-address value,
    None for any other expression."""
    if isinstance(e, ast.Call) and e.name in SYM_KINDS:
        return SYM_KINDS[e.name]
    r = rt(e.type)
    if isinstance(r, T.SymAddrType):
        return "usym" if r.user else "sym"
    return None


def symaddr_size(kind: str) -> int:
    """Bytes of a symbol-address record: a user address is preceded by the process id."""
    return 16 if kind in USER_SYM_KINDS else 8


def store_symaddr(g: Gen, kind: str, off: int) -> None:
    """Store the address in r0 at scratch off as a `kind` record: [pid] address."""
    a = g.a
    if kind in USER_SYM_KINDS:
        a.stx(8, R.R7, off + 8, R.R0)
        a.call(Helper.get_current_pid_tgid)
        a.alu(">>", R.R0, None, 32)
        a.stx(8, R.R7, off, R.R0)
    else:
        a.stx(8, R.R7, off, R.R0)
