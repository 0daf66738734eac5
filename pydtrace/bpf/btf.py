"""A lazy reader of kernel BTF (/sys/kernel/btf/vmlinux): find types by name, decode records.

Loading walks the type section once to note where each record starts (types have variable
length); records are decoded only when asked for, and names are indexed on first search.
Layout: include/uapi/linux/btf.h (12-byte `struct btf_type` plus kind-specific data).
"""

from __future__ import annotations

import enum
import struct
from array import array
from dataclasses import dataclass, field

__all__ = [
    "BTF", "BTFType", "Kind", "Member", "Param", "BTFError", "VMLINUX", "task_path",
    "func_info_btf", "load_btf",
]

VMLINUX = "/sys/kernel/btf/vmlinux"
BTF_MAGIC = 0xEB9F


class BTFError(Exception):
    """Malformed BTF, or a type that is not there."""


class Kind(enum.IntEnum):
    """BTF_KIND_* values."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


# Bytes of kind-specific data after the 12-byte header: (fixed, per vlen entry).
_EXTRA = {
    Kind.INT: (4, 0), Kind.ARRAY: (12, 0), Kind.STRUCT: (0, 12), Kind.UNION: (0, 12),
    Kind.ENUM: (0, 8), Kind.FUNC_PROTO: (0, 8), Kind.VAR: (4, 0), Kind.DATASEC: (0, 12),
    Kind.DECL_TAG: (4, 0), Kind.ENUM64: (0, 12),
}
_EXTRA_FIXED = [0] * 32
_EXTRA_VLEN = [0] * 32
for _k, (_f, _v) in _EXTRA.items():
    _EXTRA_FIXED[_k], _EXTRA_VLEN[_k] = _f, _v

# Kinds whose `size_type` word is a size (others: a referenced type id).
_SIZED = {Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC, Kind.FLOAT}
# Modifiers that `resolve` looks through.
_MODIFIERS = {Kind.TYPEDEF, Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPE_TAG}

INT_SIGNED = 1
INT_CHAR = 2
INT_BOOL = 4


@dataclass
class Member:
    """A struct/union member; `bit_offset` from the start of the enclosing type."""

    name: str
    type: int
    bit_offset: int
    bitfield_size: int = 0  # 0: not a bitfield

    @property
    def offset(self) -> int:
        """Byte offset (of the containing storage unit for a bitfield)."""
        return self.bit_offset // 8


@dataclass
class Param:
    """A FUNC_PROTO parameter (name may be empty); type 0 with no name means '...'."""

    name: str
    type: int


@dataclass
class BTFType:
    """One decoded BTF record; fields that do not apply to the kind stay at their defaults."""

    id: int
    kind: Kind
    name: str
    size: int = 0        # INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT
    type: int = 0        # PTR, TYPEDEF, modifiers, FUNC (its proto), FUNC_PROTO (return), VAR
    vlen: int = 0
    kind_flag: bool = False
    members: list[Member] = field(default_factory=list)
    elem_type: int = 0   # ARRAY
    index_type: int = 0  # ARRAY
    nelems: int = 0      # ARRAY
    values: list[tuple[str, int]] = field(default_factory=list)  # ENUM, ENUM64
    params: list[Param] = field(default_factory=list)            # FUNC_PROTO
    encoding: int = 0    # INT: INT_SIGNED | INT_CHAR | INT_BOOL
    bits: int = 0        # INT
    int_offset: int = 0  # INT
    linkage: int = 0     # FUNC (vlen), VAR
    component_idx: int = -1  # DECL_TAG

    @property
    def signed(self) -> bool:
        """Signedness of an INT, or of an ENUM/ENUM64 (kind_flag)."""
        if self.kind == Kind.INT:
            return bool(self.encoding & INT_SIGNED)
        return self.kind in (Kind.ENUM, Kind.ENUM64) and self.kind_flag


class BTF:
    """Types of one BTF blob (vmlinux, or a module's split BTF on top of a base)."""

    _cache: dict[str, "BTF"] = {}  # cache: kernel BTF does not change while we run

    def __init__(self, data: bytes, base: "BTF | None" = None):
        magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = \
            struct.unpack_from("<HBBIIIII", data, 0)
        if magic != BTF_MAGIC:
            raise BTFError(f"not BTF data (magic {magic:#x})")
        self.data = data
        self.base = base
        self._types_start = hdr_len + type_off
        self._str_start = hdr_len + str_off
        self._str_end = self._str_start + str_len
        self.first_id = base.first_id + base.count if base else 1
        self._str_base = base._str_base + (base._str_end - base._str_start) if base else 0
        self._offsets = array("I")
        self._name_offs = array("I")
        self._index(self._types_start, self._types_start + type_len)
        self.count = len(self._offsets)
        self._names: dict[int, list[int]] | None = None  # name offset -> ids, built lazily
        self._decoded: dict[int, BTFType] = {}

    @classmethod
    def load(cls, path: str = VMLINUX) -> "BTF":
        """The BTF in `path` (default vmlinux), read and indexed once per process."""
        btf = cls._cache.get(path)
        if btf is None:
            with open(path, "rb") as f:
                btf = cls(f.read())
            cls._cache[path] = btf
        return btf

    def _index(self, pos: int, end: int) -> None:
        unpack = struct.Struct("<II").unpack_from
        data, fixed, per = self.data, _EXTRA_FIXED, _EXTRA_VLEN
        offsets, names = [], []
        add_off, add_name = offsets.append, names.append
        while pos < end:
            name_off, info = unpack(data, pos)
            add_off(pos)
            add_name(name_off)
            kind = (info >> 24) & 0x1F
            pos += 12 + fixed[kind] + per[kind] * (info & 0xFFFF)
        if pos != end:
            raise BTFError("BTF type section does not end on a record boundary")
        self._offsets = array("I", offsets)
        self._name_offs = array("I", names)

    # -- strings and names ----------------------------------------------------------

    def string(self, off: int) -> str:
        """The string at offset `off` of the string section (split BTF: after the base's)."""
        if off < self._str_base:
            return self.base.string(off)
        start = self._str_start + off - self._str_base
        return self.data[start:self.data.index(b"\0", start)].decode()

    def name_of(self, type_id: int) -> str:
        """The name of `type_id` without decoding the rest of its record."""
        if type_id < self.first_id:
            return self.base.name_of(type_id) if self.base else ""
        return self.string(self._name_offs[type_id - self.first_id])

    def _name_index(self) -> dict[int, list[int]]:
        if self._names is None:
            idx: dict[int, list[int]] = {}
            first = self.first_id
            for i, off in enumerate(self._name_offs):
                if off:
                    lst = idx.get(off)
                    if lst is None:
                        idx[off] = [i + first]
                    else:
                        lst.append(i + first)
            self._names = idx
        return self._names

    def _string_offsets(self, name: str) -> list[int]:
        """Every string-section offset holding exactly `name` (a NUL precedes every string)."""
        needle = b"\0" + name.encode() + b"\0"
        data, out = self.data, []
        pos = data.find(needle, self._str_start, self._str_end)
        while pos >= 0:
            out.append(pos + 1 - self._str_start + self._str_base)
            pos = data.find(needle, pos + 1, self._str_end)
        return out

    def find_type(self, name: str, kind: Kind | int | None = None) -> list[int]:
        """Ids of the types called `name` (of `kind` if given), base BTF first."""
        ids = self.base.find_type(name, kind) if self.base else []
        index = self._name_index()
        for off in self._string_offsets(name):
            for tid in index.get(off, ()):
                if kind is None or self.kind_of(tid) == kind:
                    ids.append(tid)
        return ids

    def find(self, name: str, kind: Kind | int | None = None) -> BTFType | None:
        """The first type called `name` (of `kind`), decoded, or None."""
        ids = self.find_type(name, kind)
        return self.type(ids[0]) if ids else None

    # -- records -------------------------------------------------------------------

    def kind_of(self, type_id: int) -> Kind:
        """The kind of `type_id` (0 is void, reported as UNKN)."""
        if type_id == 0:
            return Kind.UNKN
        if type_id < self.first_id:
            return self.base.kind_of(type_id)
        info = struct.unpack_from("<I", self.data, self._offsets[type_id - self.first_id] + 4)[0]
        return Kind((info >> 24) & 0x1F)

    def type(self, type_id: int) -> BTFType:
        """The decoded record of `type_id` (cached); id 0 is void."""
        if type_id == 0:
            return BTFType(0, Kind.UNKN, "void")
        if type_id < self.first_id:
            if self.base is None:
                raise BTFError(f"no BTF type {type_id}")
            return self.base.type(type_id)
        rec = self._decoded.get(type_id)
        if rec is None:
            rec = self._decode(type_id)
            self._decoded[type_id] = rec
        return rec

    def _decode(self, type_id: int) -> BTFType:
        idx = type_id - self.first_id
        if not 0 <= idx < self.count:
            last = self.first_id + self.count - 1
            raise BTFError(f"no BTF type {type_id} (ids {self.first_id}..{last})")
        data, pos = self.data, self._offsets[idx]
        name_off, info, size_type = struct.unpack_from("<III", data, pos)
        kind = Kind((info >> 24) & 0x1F)
        vlen = info & 0xFFFF
        kflag = bool(info >> 31)
        t = BTFType(type_id, kind, self.string(name_off) if name_off else "", vlen=vlen,
                    kind_flag=kflag)
        if kind in _SIZED:
            t.size = size_type
        else:
            t.type = size_type
        p = pos + 12
        s = self.string
        if kind == Kind.INT:
            enc = struct.unpack_from("<I", data, p)[0]
            t.encoding, t.int_offset, t.bits = (enc >> 24) & 0x0F, (enc >> 16) & 0xFF, enc & 0xFF
        elif kind == Kind.ARRAY:
            t.elem_type, t.index_type, t.nelems = struct.unpack_from("<III", data, p)
        elif kind in (Kind.STRUCT, Kind.UNION):
            for i in range(vlen):
                mname, mtype, moff = struct.unpack_from("<III", data, p + 12 * i)
                if kflag:
                    t.members.append(Member(s(mname) if mname else "", mtype, moff & 0xFFFFFF,
                                            moff >> 24))
                else:
                    t.members.append(Member(s(mname) if mname else "", mtype, moff))
        elif kind == Kind.ENUM:
            fmt = "<Ii" if kflag else "<II"
            for i in range(vlen):
                ename, val = struct.unpack_from(fmt, data, p + 8 * i)
                t.values.append((s(ename), val))
        elif kind == Kind.ENUM64:
            for i in range(vlen):
                ename, lo, hi = struct.unpack_from("<III", data, p + 12 * i)
                val = (hi << 32) | lo
                if kflag and val >= 1 << 63:
                    val -= 1 << 64
                t.values.append((s(ename), val))
        elif kind == Kind.FUNC_PROTO:
            for i in range(vlen):
                pname, ptype = struct.unpack_from("<II", data, p + 8 * i)
                t.params.append(Param(s(pname) if pname else "", ptype))
        elif kind == Kind.FUNC:
            t.linkage = vlen
        elif kind == Kind.VAR:
            t.linkage = struct.unpack_from("<I", data, p)[0]
        elif kind == Kind.DATASEC:
            for i in range(vlen):
                vtype, voff, vsize = struct.unpack_from("<III", data, p + 12 * i)
                t.members.append(Member(self.name_of(vtype), vtype, voff * 8, 0))
        elif kind == Kind.DECL_TAG:
            t.component_idx = struct.unpack_from("<i", data, p)[0]
        return t

    # -- type algebra ------------------------------------------------------------------

    def resolve(self, type_id: int) -> int:
        """Look through typedef, const, volatile, restrict and type tags."""
        while type_id and self.kind_of(type_id) in _MODIFIERS:
            type_id = self.type(type_id).type
        return type_id

    def size_of(self, type_id: int) -> int:
        """sizeof(type) in bytes (pointers 8, arrays elem * n, void and functions 0)."""
        type_id = self.resolve(type_id)
        t = self.type(type_id)
        if t.kind == Kind.PTR:
            return 8
        if t.kind == Kind.ARRAY:
            return self.size_of(t.elem_type) * t.nelems
        return t.size

    def member(self, type_id: int, name: str) -> Member | None:
        """Member `name` of a struct/union (through typedefs), searching anonymous members;
        the returned bit_offset is from the start of the outer type."""
        t = self.type(self.resolve(type_id))
        if t.kind not in (Kind.STRUCT, Kind.UNION):
            return None
        for m in t.members:
            if m.name == name:
                return m
        for m in t.members:
            if not m.name:
                inner = self.member(m.type, name)
                if inner is not None:
                    return Member(inner.name, inner.type, m.bit_offset + inner.bit_offset,
                                  inner.bitfield_size)
        return None

    def type_str(self, type_id: int) -> str:
        """A C spelling of the type: 'struct task_struct *', 'char[16]', 'const char *'."""
        t = self.type(type_id)
        k = t.kind
        if k == Kind.UNKN:
            return "void"
        if k in (Kind.INT, Kind.FLOAT, Kind.TYPEDEF):
            return t.name
        if k in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FWD):
            tag = {Kind.STRUCT: "struct", Kind.UNION: "union", Kind.FWD:
                   "union" if t.kind_flag else "struct"}.get(k, "enum")
            return f"{tag} {t.name}" if t.name else f"{tag} <anon>"
        if k == Kind.PTR:
            if self.kind_of(t.type) == Kind.FUNC_PROTO:
                return self.type_str(t.type)  # already spelled as a function pointer
            inner = self.type_str(t.type)
            return inner + ("*" if inner.endswith("*") else " *")
        if k == Kind.ARRAY:
            return f"{self.type_str(t.elem_type)}[{t.nelems}]"
        if k in (Kind.CONST, Kind.VOLATILE, Kind.RESTRICT):
            word = k.name.lower()
            inner = self.type_str(t.type)
            return f"{inner} {word}" if inner.endswith("*") else f"{word} {inner}"
        if k == Kind.TYPE_TAG:
            return self.type_str(t.type)
        if k == Kind.FUNC_PROTO:
            args = ", ".join("..." if p.type == 0 else self.type_str(p.type) for p in t.params)
            return f"{self.type_str(t.type)} (*)({args or 'void'})"
        if k == Kind.FUNC:
            return f"{t.name}: {self.type_str(t.type)}"
        return t.name or k.name.lower()


def task_path(path: tuple[str, ...] | list[str], root: str = "task_struct",
              btf: BTF | None = None) -> list[tuple[int, int, bool]] | None:
    """How to read `root->path[0]->path[1]...` (e.g. curthread->real_parent->tgid).

    One (byte offset, load size, signed) step per load: add the offset to the pointer in
    hand, then load `size` bytes. Embedded structs fold into the next step's offset. None
    when BTF is missing or the path does not lead to a scalar (unknown member, bitfield,
    array, struct at the end).
    """
    if btf is None:
        try:
            btf = BTF.load()
        except (OSError, BTFError):
            return None
    ids = btf.find_type(root, Kind.STRUCT)
    if not ids or not path:
        return None
    cur, pending, steps = ids[0], 0, []
    for i, name in enumerate(path):
        m = btf.member(cur, name)
        if m is None or m.bitfield_size or m.bit_offset % 8:
            return None
        off = pending + m.offset
        tid = btf.resolve(m.type)
        kind = btf.kind_of(tid)
        last = i == len(path) - 1
        if kind in (Kind.STRUCT, Kind.UNION) and not last:
            cur, pending = tid, off  # embedded: keep walking without a load
            continue
        if kind == Kind.PTR:
            steps.append((off, 8, False))
            cur, pending = btf.resolve(btf.type(tid).type), 0
            continue
        if not last or kind not in (Kind.INT, Kind.ENUM, Kind.ENUM64):
            return None
        size = btf.size_of(tid)
        if size not in (1, 2, 4, 8):
            return None
        steps.append((off, size, btf.type(tid).signed))
    return steps or None


# -- building the BTF that programs with subprograms need ------------------------------

BTF_FUNC_STATIC = 0
BTF_FUNC_GLOBAL = 1


def func_info_btf(func_names: list[str]) -> bytes:
    """A minimal BTF blob for PROG_LOAD func_info: `int` plus one static FUNC per name.

    The verifier wants func_info (with BTF) before it accepts a callback pointer
    (ld_imm64 src=BPF_PSEUDO_FUNC, as for bpf_loop): "missing btf func_info", EINVAL.
    FUNC type ids are 3, 4, ... in the order of `func_names`; pair them with each
    subprogram's first instruction in load_program(func_info=[(insn_off, type_id), ...]).
    """
    strings = bytearray(b"\0int\0")
    types = bytearray()
    # [1] int: 4 bytes, signed, 32 bits
    types += struct.pack("<IIII", 1, Kind.INT << 24, 4, (INT_SIGNED << 24) | 32)
    # [2] int (void): the prototype every function is described with
    types += struct.pack("<III", 0, Kind.FUNC_PROTO << 24, 1)
    for name in func_names:
        off = len(strings)
        strings += name.encode() + b"\0"
        types += struct.pack("<III", off, (Kind.FUNC << 24) | BTF_FUNC_STATIC, 2)
    hdr = struct.pack("<HBBIIIII", BTF_MAGIC, 1, 0, 24, 0, len(types), len(types), len(strings))
    return hdr + bytes(types) + bytes(strings)


def load_btf(data: bytes) -> int:
    """BPF_BTF_LOAD a BTF blob; returns its fd (raises BPFError with the BTF log on failure)."""
    import ctypes

    from .sys import BPFError, Cmd, bpf

    blob = ctypes.create_string_buffer(data, len(data))
    log = ctypes.create_string_buffer(64 * 1024)
    attr = bytearray(32)
    struct.pack_into("<QQIII", attr, 0, ctypes.addressof(blob), ctypes.addressof(log),
                     len(data), len(log), 1)
    try:
        return bpf(Cmd.BTF_LOAD, attr, 32)
    except BPFError as e:
        text = log.value.decode(errors="replace").strip()
        raise BPFError(e.errno, f"{e.strerror}; BTF log: {text}" if text else e.strerror) from None
