"""A tiny hand assembler for the back-end tests, independent of pydtrace.bpf.asm on purpose.

Other tests import `Asm` from here; the tests in this file check the encodings themselves
against instruction bytes from include/uapi/linux/bpf.h and the kernel docs.
"""

from __future__ import annotations

import struct

from pydtrace.bpf.sys import BPF_PSEUDO_MAP_FD

BPF_PSEUDO_FUNC = 4


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One 8-byte instruction: opcode, dst/src nibbles, signed off16, signed imm32."""
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


class Asm:
    """Builds a program; jumps name labels, resolved by `bytes()`. ld_imm64 takes two slots."""

    def __init__(self) -> None:
        self.items: list = []  # bytes, or ("jmp", code, dst, src, imm, label), or ("label", name)
        self._n = 0

    def _emit(self, item, slots: int = 1) -> "Asm":
        self.items.append(item)
        self._n += slots
        return self

    def label(self, name: str) -> "Asm":
        self.items.append(("label", name))
        return self

    def mov_imm(self, dst: int, imm: int) -> "Asm":
        return self._emit(insn(0xB7, dst, imm=imm))

    def mov_reg(self, dst: int, src: int) -> "Asm":
        return self._emit(insn(0xBF, dst, src))

    def add_imm(self, dst: int, imm: int) -> "Asm":
        return self._emit(insn(0x07, dst, imm=imm))

    def rsh_imm(self, dst: int, imm: int) -> "Asm":
        return self._emit(insn(0x77, dst, imm=imm))

    def ld_map_fd(self, dst: int, fd: int) -> "Asm":
        return self._emit(insn(0x18, dst, BPF_PSEUDO_MAP_FD, imm=fd) + insn(0), 2)

    def ld_func(self, dst: int, label: str) -> "Asm":
        return self._emit(("ldfunc", dst, label), 2)

    def ldx_dw(self, dst: int, src: int, off: int) -> "Asm":
        return self._emit(insn(0x79, dst, src, off))

    def stx_dw(self, dst: int, off: int, src: int) -> "Asm":
        return self._emit(insn(0x7B, dst, src, off))

    def st_dw(self, dst: int, off: int, imm: int) -> "Asm":
        return self._emit(insn(0x7A, dst, off=off, imm=imm))

    def st_w(self, dst: int, off: int, imm: int) -> "Asm":
        return self._emit(insn(0x62, dst, off=off, imm=imm))

    def atomic_add_dw(self, dst: int, off: int, src: int) -> "Asm":
        return self._emit(insn(0xDB, dst, src, off, 0))

    def call(self, helper: int) -> "Asm":
        return self._emit(insn(0x85, imm=int(helper)))

    def jeq_imm(self, dst: int, imm: int, label: str) -> "Asm":
        return self._emit(("jmp", 0x15, dst, 0, imm, label))

    def jne_imm(self, dst: int, imm: int, label: str) -> "Asm":
        return self._emit(("jmp", 0x55, dst, 0, imm, label))

    def ja(self, label: str) -> "Asm":
        return self._emit(("jmp", 0x05, 0, 0, 0, label))

    def exit(self) -> "Asm":
        return self._emit(insn(0x95))

    def labels(self) -> dict[str, int]:
        """Instruction index of every label."""
        pos, labels = 0, {}
        for it in self.items:
            if isinstance(it, bytes):
                pos += len(it) // 8
            elif it[0] == "label":
                labels[it[1]] = pos
            else:
                pos += 2 if it[0] == "ldfunc" else 1
        return labels

    def __bytes__(self) -> bytes:
        labels = self.labels()
        out, pos = [], 0
        for it in self.items:
            if isinstance(it, bytes):
                out.append(it)
                pos += len(it) // 8
            elif it[0] == "jmp":
                _, code, dst, src, imm, label = it
                out.append(insn(code, dst, src, labels[label] - pos - 1, imm))
                pos += 1
            elif it[0] == "ldfunc":
                _, dst, label = it
                out.append(insn(0x18, dst, BPF_PSEUDO_FUNC, imm=labels[label] - pos - 1) + insn(0))
                pos += 2
        return b"".join(out)


def count_if_pid_program(map_fd: int, ctx_pid: bool = False, nr_filter: int | None = None,
                         nr_ctx_off: int = 8) -> bytes:
    """Count into array[0] when the current tgid is ours (and ctx[nr_ctx_off] == nr_filter)."""
    import os

    a = Asm().mov_reg(6, 1)
    if nr_filter is not None:
        a.ldx_dw(1, 6, nr_ctx_off).jne_imm(1, nr_filter, "out")
    a.call(14).rsh_imm(0, 32).jne_imm(0, os.getpid(), "out")
    a.st_w(10, -4, 0).mov_reg(2, 10).add_imm(2, -4).ld_map_fd(1, map_fd).call(1)
    a.jeq_imm(0, 0, "out").mov_imm(1, 1).atomic_add_dw(0, 0, 1)
    a.label("out").mov_imm(0, 0).exit()
    return bytes(a)


def test_encodings():
    assert insn(0xB7, 0, imm=0) + insn(0x95) == bytes.fromhex("b700000000000000" "9500000000000000")
    assert insn(0xBF, 6, 1) == bytes.fromhex("bf16000000000000")
    assert insn(0x18, 1, 1, imm=5) == bytes.fromhex("1811000005000000")
    assert insn(0x7A, 10, off=-8, imm=7) == bytes.fromhex("7a0af8ff07000000")


def test_labels_resolve_forward_over_ld_imm64():
    prog = bytes(Asm().jeq_imm(1, 0, "end").ld_map_fd(2, 3).label("end").exit())
    assert len(prog) == 4 * 8
    code, regs, off, imm = struct.unpack_from("<BBhi", prog, 0)
    assert (code, regs, off) == (0x15, 1, 2)  # skips both slots of ld_imm64
