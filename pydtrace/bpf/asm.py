"""A small BPF assembler with labels: the code generator's only way of writing instructions.

Instructions are kept as (opcode, dst, src, off, imm) tuples plus pending label references and
encoded at the end, so forward jumps need no back-patching by the caller.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

# Instruction classes and fields (include/uapi/linux/bpf.h, bpf_common.h).
LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
K, X = 0x00, 0x08
IMM, MEM, ATOMIC = 0x00, 0x60, 0xC0
SIZE = {1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18}

PSEUDO_MAP_FD = 1
PSEUDO_MAP_VALUE = 2
PSEUDO_CALL = 1
PSEUDO_FUNC = 4


class R(IntEnum):
    """BPF registers: R0 return value, R1-R5 arguments (clobbered by calls), R6-R9 callee
    saved, R10 read-only frame pointer."""

    R0 = 0
    R1 = 1
    R2 = 2
    R3 = 3
    R4 = 4
    R5 = 5
    R6 = 6
    R7 = 7
    R8 = 8
    R9 = 9
    FP = 10


ALU_OPS = {
    "+": 0x00, "-": 0x10, "*": 0x20, "/": 0x30, "|": 0x40, "&": 0x50, "<<": 0x60, ">>": 0x70,
    "neg": 0x80, "%": 0x90, "^": 0xA0, "mov": 0xB0, "s>>": 0xC0,
}
# Signed division and modulo are the same opcodes with off=1 (kernel >= 6.6, "cpu v4").
SIGNED_ALU = {"s/": ("/", 1), "s%": ("%", 1)}

JMP_OPS = {
    "ja": 0x00, "==": 0x10, ">": 0x20, ">=": 0x30, "&": 0x40, "!=": 0x50, "s>": 0x60,
    "s>=": 0x70, "call": 0x80, "exit": 0x90, "<": 0xA0, "<=": 0xB0, "s<": 0xC0, "s<=": 0xD0,
}
INVERSE = {"==": "!=", "!=": "==", ">": "<=", "<=": ">", ">=": "<", "<": ">=",
           "s>": "s<=", "s<=": "s>", "s>=": "s<", "s<": "s>="}


@dataclass
class Insn:
    code: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    target: str | None = None  # label whose distance goes into off (jumps) or imm (calls)
    map: object = None  # map whose fd goes into imm, resolved when assembling

    def encode(self) -> bytes:
        imm = self.imm & 0xFFFFFFFF
        if imm >= 1 << 31:
            imm -= 1 << 32
        return struct.pack("<BBhi", self.code, (self.src << 4) | self.dst, self.off, imm)


@dataclass
class Asm:
    """Collects instructions; `assemble()` resolves labels and returns the program bytes."""

    insns: list[Insn] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    _next: int = 0

    # -- labels
    def new_label(self, hint: str = "L") -> str:
        self._next += 1
        return f"{hint}{self._next}"

    def label(self, name: str) -> None:
        if name in self.labels:
            raise ValueError(f"label {name} defined twice")
        self.labels[name] = len(self.insns)

    def emit(self, insn: Insn) -> None:
        self.insns.append(insn)

    # -- ALU
    def alu(self, op: str, dst: int, src: int | None = None, imm: int = 0, *, w32: bool = False) -> None:
        """`dst op= src` (register) or `dst op= imm` when src is None."""
        off = 0
        if op in SIGNED_ALU:
            op, off = SIGNED_ALU[op]
        cls = ALU if w32 else ALU64
        if src is None:
            self.emit(Insn(cls | ALU_OPS[op] | K, dst, 0, off, imm))
        else:
            self.emit(Insn(cls | ALU_OPS[op] | X, dst, src, off, 0))

    def mov(self, dst: int, src: int) -> None:
        self.alu("mov", dst, src)

    def movi(self, dst: int, imm: int) -> None:
        """Load any 64-bit constant, with the short form when it fits a signed imm32."""
        imm = to_s64(imm)
        if -(1 << 31) <= imm < (1 << 31):
            self.alu("mov", dst, None, imm)
        else:
            self.ld_imm64(dst, imm)

    def neg(self, dst: int) -> None:
        self.emit(Insn(ALU64 | ALU_OPS["neg"], dst))

    def sext(self, dst: int, src: int, bits: int) -> None:
        """Sign-extend the low `bits` of src into dst (shift pair; works on every kernel)."""
        if dst != src:
            self.mov(dst, src)
        if bits < 64:
            self.alu("<<", dst, None, 64 - bits)
            self.alu("s>>", dst, None, 64 - bits)

    def zext(self, dst: int, src: int, bits: int) -> None:
        """Zero-extend the low `bits` of src into dst."""
        if dst != src:
            self.mov(dst, src)
        if bits == 32:
            self.alu("mov", dst, dst, w32=True)
        elif bits < 32:
            self.alu("&", dst, None, (1 << bits) - 1)
        elif bits < 64:
            self.alu("<<", dst, None, 64 - bits)
            self.alu(">>", dst, None, 64 - bits)

    def ld_imm64(self, dst: int, imm: int, src: int = 0) -> None:
        imm &= (1 << 64) - 1
        self.emit(Insn(LD | IMM | SIZE[8], dst, src, 0, imm & 0xFFFFFFFF))
        self.emit(Insn(0, 0, 0, 0, imm >> 32))

    def ld_map_fd(self, dst: int, map: object) -> None:
        """dst = the map (for helper arguments); `map` is resolved to an fd by assemble()."""
        self.emit(Insn(LD | IMM | SIZE[8], dst, PSEUDO_MAP_FD, 0, 0, map=map))
        self.emit(Insn(0, 0, 0, 0, 0))

    def ld_map_value(self, dst: int, map: object, off: int = 0) -> None:
        """dst = address of element 0 of array `map` plus off (direct value access)."""
        self.emit(Insn(LD | IMM | SIZE[8], dst, PSEUDO_MAP_VALUE, 0, 0, map=map))
        self.emit(Insn(0, 0, 0, 0, off))

    def ld_func(self, dst: int, label: str) -> None:
        """dst = pointer to the subprogram at `label` (for bpf_loop callbacks)."""
        self.emit(Insn(LD | IMM | SIZE[8], dst, PSEUDO_FUNC, 0, 0, target=label))
        self.emit(Insn(0, 0, 0, 0, 0))

    # -- memory
    def ldx(self, size: int, dst: int, src: int, off: int = 0) -> None:
        self.emit(Insn(LDX | MEM | SIZE[size], dst, src, off))

    def stx(self, size: int, dst: int, off: int, src: int) -> None:
        self.emit(Insn(STX | MEM | SIZE[size], dst, src, off))

    def st(self, size: int, dst: int, off: int, imm: int) -> None:
        self.emit(Insn(ST | MEM | SIZE[size], dst, 0, off, imm))

    def atomic_add(self, size: int, dst: int, off: int, src: int) -> None:
        self.emit(Insn(STX | ATOMIC | SIZE[size], dst, src, off, 0))

    # -- control flow
    def ja(self, label: str) -> None:
        self.emit(Insn(JMP | JMP_OPS["ja"], target=label))

    def jcc(self, op: str, dst: int, src: int | None, label: str, imm: int = 0, *, w32: bool = False) -> None:
        """if (dst op src/imm) goto label."""
        cls = JMP32 if w32 else JMP
        if src is None:
            self.emit(Insn(cls | JMP_OPS[op] | K, dst, 0, 0, imm, target=label))
        else:
            self.emit(Insn(cls | JMP_OPS[op] | X, dst, src, 0, 0, target=label))

    def call(self, helper: int) -> None:
        self.emit(Insn(JMP | JMP_OPS["call"], imm=int(helper)))

    def call_local(self, label: str) -> None:
        self.emit(Insn(JMP | JMP_OPS["call"], src=PSEUDO_CALL, target=label))

    def exit(self) -> None:
        self.emit(Insn(JMP | JMP_OPS["exit"]))

    def ret(self, value: int = 0) -> None:
        self.movi(R.R0, value)
        self.exit()

    # -- output
    def assemble(self, map_fd=lambda m: m) -> bytes:
        """Encode, resolving labels and map references (`map_fd(map)` gives the fd).

        A jump whose target is beyond the 16-bit offset becomes a `gotol` (JMP32|JA with a
        32-bit immediate, kernel >= 6.4); a conditional one becomes `jcc +1; ja +1; gotol`.
        Expanding a jump moves the code after it, so positions are recomputed until stable.
        """
        for name in {i.target for i in self.insns if i.target is not None}:
            if name not in self.labels:
                raise ValueError(f"undefined label {name}")
        far: set[int] = set()  # conditional jumps expanded to three instructions
        while True:
            pos, p = [], 0
            for i in range(len(self.insns)):
                pos.append(p)
                p += 3 if i in far else 1
            pos.append(p)
            at = {name: pos[idx] for name, idx in self.labels.items()}
            grew = False
            for i, insn in enumerate(self.insns):
                if _is_cond_jump(insn) and i not in far and not _fits16(at[insn.target] - pos[i] - 1):
                    far.add(i)
                    grew = True
            if not grew:
                break
        out = []
        for i, insn in enumerate(self.insns):
            if insn.map is not None:
                insn = Insn(insn.code, insn.dst, insn.src, insn.off, map_fd(insn.map), insn.target)
            if insn.target is None:
                out.append(insn.encode())
                continue
            delta = at[insn.target] - pos[i] - 1
            if i in far:
                out.append(Insn(insn.code, insn.dst, insn.src, 1, insn.imm).encode())
                out.append(Insn(JMP | JMP_OPS["ja"], off=1).encode())
                out.append(Insn(JMP32 | JMP_OPS["ja"], imm=delta - 2).encode())
            elif insn.code == JMP | JMP_OPS["ja"]:
                if _fits16(delta):
                    out.append(Insn(insn.code, off=delta).encode())
                else:
                    out.append(Insn(JMP32 | JMP_OPS["ja"], imm=delta).encode())
            elif _is_cond_jump(insn):
                out.append(Insn(insn.code, insn.dst, insn.src, delta, insn.imm).encode())
            else:  # calls and function pointers carry the distance in imm
                out.append(Insn(insn.code, insn.dst, insn.src, insn.off, delta).encode())
        return b"".join(out)

    def __len__(self) -> int:
        return len(self.insns)


def _fits16(delta: int) -> bool:
    return -(1 << 15) <= delta < (1 << 15)


def _is_cond_jump(insn: Insn) -> bool:
    """A conditional jump with a label (not ja, call or exit)."""
    op = insn.code & 0xF0
    return (insn.target is not None and insn.code & 0x07 in (JMP, JMP32)
            and op not in (JMP_OPS["ja"], JMP_OPS["call"], JMP_OPS["exit"]))


def to_s64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def disassemble(code: bytes) -> list[str]:
    """A terse listing for `dtrace -S`: one instruction per line."""
    lines = []
    for pc in range(0, len(code), 8):
        op, regs, off, imm = struct.unpack_from("<BBhi", code, pc)
        lines.append(f"{pc // 8:04d}: {op:02x} r{regs & 15} r{regs >> 4} {off:+d} {imm:#x}")
    return lines
