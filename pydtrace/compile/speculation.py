"""Speculations → BPF: speculation(), speculate(), commit() and discard().

The kernel side keeps one u64 state word per speculation id in the `specs` array map
(key = id, 1..nspec; key 0 holds the failure counters instead):

    bits 0-1   status: FREE, ACTIVE (speculation() returned it), DRAINING (commit/discard ran)
    bits 8-15  generation, bumped by the consumer each time it frees the id

speculation() claims the lowest FREE id with a compare-and-exchange (0 when none is free: a
"failed speculation", counted as busy when some id is still DRAINING, else unavailable).
speculate(id) checks that id is ACTIVE and writes id and generation into the clause record's
kind word (layout.SPEC_ID_SHIFT / SPEC_GEN_SHIFT), so the consumer keeps the record back; an
unusable id ends the clause silently, as in DTrace. commit(id)/discard(id) move ACTIVE to
DRAINING and record the id, with generation + 1 in the upper half when they took effect; the
consumer then prints or drops the kept records and frees the id (DRAINING words are written
by nobody else, so that write races with no BPF update). An id above nspec faults (illegal
operation); 0 and inactive ids do nothing.

nspec is a load-time constant, as `NSPEC` is a relocation in DTrace's BPF library: the
compiler records the instructions that compare against it on the map spec, and link() fills
them in (and sizes the map) once the options are final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..bpf.asm import ATOMIC, SIZE, STX, Insn, R
from ..bpf.sys import Helper, MapType
from ..lang import ast
from . import layout as L
from .actions import ACTIONS, begin_action, reserve
from .codegen import FP_KEY, Gen
from .funcs import func

FREE, ACTIVE, DRAINING = 0, 1, 2
STATUS_MASK = 3
GEN_SHIFT = 8
GEN_MASK = 0xFF
ID_MAX = 0xFFFF  # ids are 16 bits in a record's kind word
# The verifier walks speculation()'s loop once per id and keeps a pending state for each exit
# it has not followed yet; more than 8192 of those is "The sequence of 8193 jumps is too
# complex". nspec times the speculation() calls in one probe's program must stay below this.
SEARCH_BUDGET = 6000
BPF_CMPXCHG = 0xF1  # BPF_CMPXCHG | BPF_FETCH: r0 = expected in, old value out
CNT_BUSY = 0  # words of key 0: failed speculations with a DRAINING id around ...
CNT_UNAVAIL = 8  # ... and with every id ACTIVE


@dataclass(eq=False)
class SpecMapSpec(L.MapSpec):
    """The `specs` map, with the instructions whose immediate is nspec (filled by link())."""

    nspec_insns: list[Insn] = field(default_factory=list)


def spec_map(g: Gen) -> SpecMapSpec:
    """The unit's speculation state map, made on first use."""
    u = g.u
    if u.specs is None:
        u.specs = SpecMapSpec("specs", MapType.ARRAY, 4, 16, 2)
        u.maps.append(u.specs)
    return u.specs


def find_spec_map(compiled: L.Compiled) -> SpecMapSpec | None:
    return next((m for m in compiled.maps if isinstance(m, SpecMapSpec)), None)


def option_nspec(options: dict[str, Any]) -> int:
    from ..options import parse_size

    v = options.get("nspec", 1)
    n = parse_size(v) if isinstance(v, str) else int(v if v is not None else 1)
    return max(0, n if n is not None else 1)  # 0: every speculation() fails


def link(compiled: L.Compiled, options: dict[str, Any]) -> str | None:
    """Size the map for nspec ids and fill nspec into the search loops (before loading).
    Returns why the programs cannot be enabled, if they cannot."""
    m = find_spec_map(compiled)
    if m is None:
        return None
    nspec = option_nspec(options)
    marks = {id(insn) for insn in m.nspec_insns}
    for sp in compiled.programs:
        calls = sum(1 for insn in sp.asm.insns if id(insn) in marks)
        if calls * nspec > SEARCH_BUDGET:
            return (f"nspec {nspec} is too large for {calls} speculation( ) calls on "
                    f"{sp.site.probes[0].desc} (nspec times calls may be at most {SEARCH_BUDGET})")
    m.max_entries = nspec + 1
    for insn in m.nspec_insns:
        insn.imm = nspec
    return None


def cmpxchg(g: Gen, ptr: int, new: int) -> None:
    """r0 = cmpxchg(*(u64 *)ptr, expected r0, new): r0 is the old value afterwards."""
    g.a.emit(Insn(STX | ATOMIC | SIZE[8], ptr, new, 0, BPF_CMPXCHG))


def lookup_key_slot(g: Gen, m: SpecMapSpec) -> None:
    """r0 = &specs[*(u32 *)(fp + FP_KEY)] or NULL."""
    a = g.a
    a.ld_map_fd(R.R1, m)
    a.mov(R.R2, R.FP)
    a.alu("+", R.R2, None, FP_KEY)
    a.call(Helper.map_lookup_elem)


@func("speculation")
def gen_speculation(g: Gen, e: ast.Call) -> None:
    """r0 = the lowest FREE id, now ACTIVE; 0 (and a failure counted) when there is none."""
    a = g.a
    m = spec_map(g)
    loop, fail, got, done = (a.new_label(h) for h in ("sp", "spf", "spg", "spd"))
    a.movi(R.R0, 1)
    ids = g.push(R.R0)
    a.movi(R.R0, 0)
    busy = g.push(R.R0)
    a.label(loop)
    a.ldx(8, R.R1, R.FP, ids)
    a.stx(4, R.FP, FP_KEY, R.R1)  # a constant 4-byte key: the verifier knows the lookup succeeds
    lookup_key_slot(g, m)
    a.jcc("==", R.R0, None, fail, imm=0)
    a.ldx(8, R.R1, R.R0, 0)
    # busy |= (status == DRAINING); then claim the id if it is FREE: one compare-and-exchange
    # expecting the FREE word of its generation, which fails for ACTIVE and DRAINING ids.
    # No branch but the loop's own: the verifier walks the loop once per id.
    a.mov(R.R2, R.R1)
    a.alu("&", R.R2, None, STATUS_MASK)
    a.alu(">>", R.R2, None, 1)
    a.ldx(8, R.R3, R.FP, busy)
    a.alu("|", R.R3, R.R2)
    a.stx(8, R.FP, busy, R.R3)
    a.alu("&", R.R1, None, ~STATUS_MASK)
    a.mov(R.R3, R.R1)
    a.alu("|", R.R3, None, ACTIVE)
    a.mov(R.R4, R.R0)
    a.mov(R.R0, R.R1)
    cmpxchg(g, R.R4, R.R3)
    a.jcc("==", R.R0, R.R1, got)  # else it was taken (or taken first by another CPU)
    a.ldx(8, R.R1, R.FP, ids)
    a.alu("+", R.R1, None, 1)
    a.stx(8, R.FP, ids, R.R1)
    a.jcc("<=", R.R1, None, loop, imm=1)
    m.nspec_insns.append(a.insns[-1])
    a.label(fail)
    a.st(8, R.FP, FP_KEY, 0)
    lookup_key_slot(g, m)
    a.jcc("==", R.R0, None, done, imm=0)
    a.movi(R.R1, 1)
    counted = a.new_label("spc")
    a.ldx(8, R.R2, R.FP, busy)
    a.jcc("==", R.R2, None, unavail := a.new_label("spu"), imm=0)
    a.atomic_add(8, R.R0, CNT_BUSY, R.R1)
    a.ja(counted)
    a.label(unavail)
    a.atomic_add(8, R.R0, CNT_UNAVAIL, R.R1)
    a.label(counted)
    a.movi(R.R0, 0)
    a.ja(done)
    a.label(got)
    a.ldx(8, R.R0, R.FP, ids)
    a.label(done)
    g.stack -= 16


def gen_speculate(g: Gen, e: ast.Call) -> None:
    """Mark the clause's record speculative, or end the clause if the id is not ACTIVE."""
    a = g.a
    m = spec_map(g)
    skip = g.skip_label
    g.gen(e.args[0])
    a.jcc("==", R.R0, None, skip, imm=0)
    a.jcc(">", R.R0, None, skip, imm=ID_MAX)
    a.stx(8, R.FP, FP_KEY, R.R0)
    lookup_key_slot(g, m)
    a.jcc("==", R.R0, None, skip, imm=0)
    a.ldx(8, R.R1, R.R0, 0)
    a.mov(R.R2, R.R1)
    a.alu("&", R.R2, None, STATUS_MASK)
    a.jcc("!=", R.R2, None, skip, imm=ACTIVE)
    # kind word: REC_DATA | id << SPEC_ID_SHIFT | generation << SPEC_GEN_SHIFT
    a.alu(">>", R.R1, None, GEN_SHIFT)
    a.alu("&", R.R1, None, GEN_MASK)
    a.alu("<<", R.R1, None, L.SPEC_GEN_SHIFT)
    a.ldx(8, R.R2, R.FP, FP_KEY)
    a.alu("<<", R.R2, None, L.SPEC_ID_SHIFT)
    a.alu("|", R.R1, R.R2)
    a.alu("|", R.R1, None, L.REC_DATA)
    a.stx(4, R.R7, g.u.rec_base, R.R1)


def gen_commit_discard(g: Gen, e: ast.Call) -> None:
    """commit(id) / discard(id): ACTIVE → DRAINING; the record tells the consumer."""
    a = g.a
    m = spec_map(g)
    act = begin_action(g, e.name, e)
    d = L.Datum(reserve(g, 8, e), 8, "int")
    act.data.append(d)
    off = g.u.rec_base + d.offset
    illop, done = a.new_label("cdi"), a.new_label("cdd")
    g.gen(e.args[0])
    a.stx(8, R.R7, off, R.R0)
    a.mov(R.R1, R.R0)
    a.alu(">>", R.R1, None, 32)
    a.jcc("!=", R.R1, None, illop, imm=0)  # ids are 32-bit: -1 is 0xffffffff, above nspec
    a.jcc("==", R.R0, None, done, imm=0)
    a.stx(8, R.FP, FP_KEY, R.R0)
    lookup_key_slot(g, m)
    a.jcc("==", R.R0, None, illop, imm=0)  # past the map: id > nspec
    a.ldx(8, R.R1, R.R0, 0)
    a.mov(R.R2, R.R1)
    a.alu("&", R.R2, None, STATUS_MASK)
    a.jcc("!=", R.R2, None, done, imm=ACTIVE)  # inactive, or already committed/discarded
    a.mov(R.R3, R.R1)
    a.alu("&", R.R3, None, ~STATUS_MASK)
    a.alu("|", R.R3, None, DRAINING)
    a.mov(R.R4, R.R0)
    a.mov(R.R0, R.R1)
    cmpxchg(g, R.R4, R.R3)
    a.jcc("!=", R.R0, R.R1, done)
    a.alu(">>", R.R1, None, GEN_SHIFT)
    a.alu("&", R.R1, None, GEN_MASK)
    a.alu("+", R.R1, None, 1)
    a.alu("<<", R.R1, None, 32)
    a.ldx(8, R.R2, R.R7, off)
    a.alu("|", R.R2, R.R1)
    a.stx(8, R.R7, off, R.R2)
    a.ja(done)
    a.label(illop)
    g.fault(L.FLT_ILLOP)
    a.label(done)


ACTIONS.update({"speculate": gen_speculate, "commit": gen_commit_discard,
                "discard": gen_commit_discard})
