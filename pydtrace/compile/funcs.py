"""D subroutines (functions that return a value) → BPF. One generator per name in FUNCS.

A generator takes the Gen and the checked Call and leaves the result in r0: a scalar, or the
address of a string/buffer (usually a scratch temporary it allocates with g.scratch()).
The string and utility subroutines (strjoin, substr, index, strtok, alloca, inet_ntoa, ...)
are in strings.py, which registers them here.
"""

from __future__ import annotations

from typing import Callable

from ..bpf.asm import R
from ..bpf.sys import Helper
from ..lang import ast
from ..lang.errors import DError
from . import layout as L
from .codegen import FP_FADDR, Gen

FUNCS: dict[str, Callable[[Gen, ast.Call], None]] = {}


def func(*names: str):
    def register(fn):
        for n in names:
            FUNCS[n] = fn
        return fn
    return register


def gen_call(g: Gen, e: ast.Call) -> None:
    fn = FUNCS.get(e.name)
    if fn is None:
        raise DError("D_UNKNOWN", e.loc, f"{e.name}( ) is not supported yet")
    fn(g, e)


def clamp(g: Gen, reg: int, lo: int, hi: int) -> None:
    """reg = min(max(reg, lo), hi) as signed values, in a form the verifier can bound."""
    a = g.a
    ok_lo, ok_hi = a.new_label("lo"), a.new_label("hi")
    a.jcc("s>=", reg, None, ok_lo, imm=lo)
    a.movi(reg, lo)
    a.label(ok_lo)
    a.jcc("s<=", reg, None, ok_hi, imm=hi)
    a.movi(reg, hi)
    a.label(ok_hi)


@func("copyinstr")
def gen_copyinstr(g: Gen, e: ast.Call) -> None:
    """copyinstr(addr[, maxlen]): a user string into a scratch string (at most strsize-1 chars)."""
    a = g.a
    n = g.u.strsize
    dst = g.scratch(n, e.loc)
    size_slot = None
    if len(e.args) > 1:
        g.gen(e.args[1])
        a.alu("+", R.R0, None, 1)
        clamp(g, R.R0, 1, n)
        size_slot = g.push()
    g.gen(e.args[0])
    a.stx(8, R.FP, FP_FADDR, R.R0)
    a.mov(R.R3, R.R0)
    g.scratch_ptr(R.R1, dst)
    if size_slot is not None:
        g.pop(R.R2, size_slot)
    else:
        a.movi(R.R2, n)
    a.call(Helper.probe_read_user_str)
    ok = a.new_label("cis")
    a.jcc("s>=", R.R0, None, ok, imm=0)
    g.fail(L.FLT_BADADDR)
    a.label(ok)
    g.scratch_ptr(R.R0, dst)


@func("stringof")
def gen_stringof(g: Gen, e: ast.Call) -> None:
    g.gen(e.args[0])


def byteswap(g: Gen, bits: int) -> None:
    """r0 = the low `bits` of r0 with their bytes reversed (BPF_END to big endian)."""
    from ..bpf.asm import ALU, Insn

    # BPF_ALU | BPF_END | BPF_TO_BE: on little-endian x86-64 this swaps
    g.a.emit(Insn(ALU | 0xD0 | 0x08, R.R0, 0, 0, bits))


@func("htons", "ntohs")
def gen_htons(g: Gen, e: ast.Call) -> None:
    g.gen(e.args[0])
    byteswap(g, 16)


@func("htonl", "ntohl")
def gen_htonl(g: Gen, e: ast.Call) -> None:
    g.gen(e.args[0])
    byteswap(g, 32)


@func("htonll", "ntohll")
def gen_htonll(g: Gen, e: ast.Call) -> None:
    g.gen(e.args[0])
    byteswap(g, 64)


@func("rand")
def gen_rand(g: Gen, e: ast.Call) -> None:
    g.a.call(Helper.get_prandom_u32)


@func("getmajor")
def gen_getmajor(g: Gen, e: ast.Call) -> None:
    """Linux dev_t: major in bits 20 and up (MINORBITS = 20)."""
    g.gen(e.args[0])
    g.a.zext(R.R0, R.R0, 32)  # dev_t is 32 bits
    g.a.alu(">>", R.R0, None, 20)


@func("getminor")
def gen_getminor(g: Gen, e: ast.Call) -> None:
    g.gen(e.args[0])
    g.a.alu("&", R.R0, None, (1 << 20) - 1)


# the string and utility subroutines register themselves in FUNCS
from . import strings  # noqa: E402,F401
