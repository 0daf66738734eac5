"""The assembler's far jumps: beyond 16-bit offsets they become gotol, and the kernel agrees."""

import struct

import pytest

from pydtrace.bpf.asm import Asm, R


def far_program(taken: bool) -> Asm:
    """r0 = 7 if the (far) conditional jump is taken, else 7 + 40000."""
    a = Asm()
    a.movi(R.R0, 7)
    a.movi(R.R1, 1 if taken else 0)
    a.jcc("!=", R.R1, None, "end", imm=0)
    for _ in range(40000):
        a.alu("+", R.R0, None, 1)
    a.label("end")
    a.exit()
    return a


def test_far_conditional_expands_to_three_instructions():
    code = far_program(True).assemble()
    assert len(code) // 8 == 2 + 3 + 40000 + 1
    op, _regs, off, _imm = struct.unpack_from("<BBhi", code, 16)
    assert off == 1  # jcc +1 over the ja, onto the gotol
    op, _regs, _off, imm = struct.unpack_from("<BBhi", code, 32)
    assert op == 0x06 and imm == 40000  # JMP32|JA: gotol over the additions


def test_near_jumps_keep_their_form():
    a = Asm()
    a.movi(R.R0, 1)
    a.jcc("==", R.R0, None, "x", imm=1)
    a.movi(R.R0, 2)
    a.label("x")
    a.exit()
    assert len(a.assemble()) == 4 * 8


@pytest.mark.needs_bpf
@pytest.mark.parametrize("taken, want", [(True, 7), (False, 40007)])
def test_kernel_runs_far_jumps(taken, want):
    from pydtrace.bpf.program import load_program
    from pydtrace.bpf.sys import ProgType

    prog = load_program(far_program(taken).assemble(), ProgType.RAW_TRACEPOINT, "far")
    try:
        assert prog.test_run(bytes(8)) == want
    finally:
        prog.close()
