"""Kernel types and symbols for the D checker: a TypeSource backed by BTF and /proc/kallsyms.

`KernelTypes.lookup(kind, name, module)` turns BTF records into D types (types.py) on
demand: struct/union members, bit-fields, enums, typedefs, pointers, arrays and function
prototypes.  A struct is created as a shell that knows its tag and size and converts its
members the first time someone looks at them, so a recursive struct (task_struct points at
task_struct) and the thousands of structs reachable from it cost nothing until used.

`symbol(name, module)` gives (type, address) of a kernel symbol: the address from
/proc/kallsyms, the type from a BTF VAR or FUNC of that name, else int, as DTrace does for a
symbol it has no type for.  A kernel built without CONFIG_KALLSYMS_ALL lists only functions
there, so its data symbols (`max_pfn, `linux_banner) cannot be resolved.

Nothing is read when the object is made.  `has_typedef(name)`, which the parser asks about
identifiers that could be type names, searches the raw BTF bytes (~5-10 ms a name, plus
reading them once) instead of indexing them (~0.1 s, and ~0.03 s more for the name index);
the full index is built on the first real type lookup.
Caches (per object, kernel types do not change while we run): converted types by BTF id,
lookups by name, symbols by name, typedef-name answers.
"""

from __future__ import annotations

import os
import struct
from typing import Any, Optional

from .types import (
    CHAR, INT, SCHAR, UCHAR, VOID, ArrayType, DType, EnumType, Field, FloatType, FuncType,
    IntType, PtrType, StructType, TypedefType,
)

__all__ = ["KernelTypes", "BTFStruct"]

BTF_DIR = "/sys/kernel/btf"
KALLSYMS = "/proc/kallsyms"

#: Module names that mean the kernel itself (DTrace on Solaris called it genunix/unix).
KERNEL_MODULES = (None, "vmlinux", "genunix", "unix")


class Kind:
    """BTF_KIND_* (include/uapi/linux/btf.h; bpf.btf.Kind has the same values).  Plain
    numbers here so that making a KernelTypes does not import the BTF reader."""

    INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF = 1, 2, 3, 4, 5, 6, 7, 8
    VOLATILE, CONST, RESTRICT, FUNC, FUNC_PROTO, VAR = 9, 10, 11, 12, 13, 14
    DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = 15, 16, 17, 18, 19


INT_SIGNED, INT_CHAR, INT_BOOL = 1, 2, 4  # BTF_INT_* encoding bits

_SOU_KINDS = {"struct": (Kind.STRUCT,), "union": (Kind.UNION,),
              "enum": (Kind.ENUM, Kind.ENUM64)}
#: A D type name (what TypeTable.typedef asks for) is a typedef or a base type.
_NAME_KINDS = (Kind.TYPEDEF, Kind.INT, Kind.FLOAT)
_MODIFIERS = (Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPE_TAG)
_CHAR_NAMES = {"char": CHAR, "signed char": SCHAR, "unsigned char": UCHAR}


class BTFStruct(StructType):
    """A struct/union from BTF whose members are converted on first access.

    The size is known from the BTF record at once; members (and so alignment and
    completeness) wait until something asks.  (BTF_KIND_FWD records, not these, are the
    kernel's forward declarations.)"""

    def __init__(self, conv: "_Converter", type_id: int, kind: str, name: Optional[str],
                 size: int, vlen: int):
        self._conv: Optional[_Converter] = conv
        self._tid = type_id
        super().__init__(kind, name)
        self._size = size

    @property  # type: ignore[override]
    def members(self):
        if self._conv is not None:
            conv, self._conv = self._conv, None
            self.define(conv.fields(self._tid), self._size)
        return self._members

    @members.setter
    def members(self, value) -> None:
        self._members = value

    @property
    def size(self) -> int:  # type: ignore[override]
        return self._size

    @property
    def align(self) -> int:  # type: ignore[override]
        self.members  # noqa: B018 -- alignment comes from the members
        return self._align


class _Converter:
    """BTF records of one blob (vmlinux or a module's split BTF) as D types, cached by id."""

    def __init__(self, btf: Any, base: Optional["_Converter"] = None):
        self.btf = btf
        self.base = base
        self.cache: dict[int, DType] = {}

    def type(self, tid: int) -> DType:
        if tid == 0:
            return VOID
        if tid < self.btf.first_id:
            assert self.base is not None
            return self.base.type(tid)
        t = self.cache.get(tid)
        if t is None:
            t = self._convert(tid)
            self.cache[tid] = t
        return t

    def _convert(self, tid: int) -> DType:
        rec = self.btf.type(tid)
        k = rec.kind
        if k == Kind.INT:
            return self._int(rec)
        if k == Kind.PTR:
            return PtrType(self.type(rec.type))
        if k == Kind.ARRAY:
            return ArrayType(self.type(rec.elem_type), rec.nelems)
        if k in (Kind.STRUCT, Kind.UNION):
            kind = "struct" if k == Kind.STRUCT else "union"
            # registered before any member is converted: recursive types find the shell
            return BTFStruct(self, tid, kind, rec.name or None, rec.size, rec.vlen)
        if k == Kind.FWD:
            return StructType("union" if rec.kind_flag else "struct", rec.name or None)
        if k in (Kind.ENUM, Kind.ENUM64):
            e = EnumType(rec.name or None, dict(rec.values) if rec.vlen else None)
            if rec.size and rec.size != 4:
                e.size = rec.size  # type: ignore[misc]  # 1-, 2- and 8-byte enums exist
            return e
        if k == Kind.TYPEDEF:
            return TypedefType(rec.name, self.type(rec.type))
        if k in _MODIFIERS or k == Kind.VAR:
            return self.type(rec.type)  # D has no qualifiers
        if k == Kind.FUNC:
            return self.type(rec.type)
        if k == Kind.FUNC_PROTO:
            params = [p for p in rec.params]
            varargs = bool(params) and params[-1].type == 0 and not params[-1].name
            if varargs:
                params = params[:-1]
            return FuncType(self.type(rec.type), tuple(self.type(p.type) for p in params),
                            varargs)
        if k == Kind.FLOAT:
            return FloatType(rec.name, rec.size)
        return VOID

    @staticmethod
    def _int(rec) -> DType:
        name, size, enc = rec.name, rec.size, rec.encoding
        if name in _CHAR_NAMES and size == 1:
            return _CHAR_NAMES[name]  # BTF marks no char as signed; x86 char is
        if enc & INT_BOOL:
            return IntType(name, size, False)
        t = IntType(name, size, bool(enc & INT_SIGNED), bool(enc & INT_CHAR))
        if t == INT:
            return INT
        return t

    def fields(self, tid: int) -> list[Field]:
        """The members of struct/union `tid`, bit-fields typed as types.py expects them."""
        rec = self.btf.type(tid)
        out = []
        for m in rec.members:
            t = self.type(m.type)
            bits = m.bitfield_size or None
            off = m.bit_offset
            if bits is None and not rec.kind_flag:
                # old-style bit-field: the width lives in the INT record
                r = self.btf.resolve(m.type)
                if self.btf.kind_of(r) == Kind.INT:
                    irec = self.btf.type(r)
                    if irec.bits != irec.size * 8 or irec.int_offset:
                        bits, off = irec.bits, off + irec.int_offset
            if bits is not None:
                r = t.resolved
                base = r if isinstance(r, IntType) else INT
                # as check.define_sou: CTF sizes a bit-field's type a power of two bytes
                nbytes = (bits + 7) // 8
                nbytes = 1 << (nbytes - 1).bit_length() if nbytes > 1 else 1
                t = IntType(base.iname, nbytes, base.signed, base.char, bits)
            out.append(Field(m.name, t, off, bits))
        return out


class KernelTypes:
    """The running kernel's types and symbols (a types.TypeSource); nothing is read until
    asked.  `btf_dir` holds vmlinux and module BTF; `kallsyms` lists symbol addresses."""

    def __init__(self, btf_dir: str = BTF_DIR, kallsyms: str = KALLSYMS,
                 vmlinux: Any = None):
        self.btf_dir = btf_dir
        self.kallsyms_path = kallsyms
        self._vmlinux: Any = vmlinux  # bpf.btf.BTF
        self._vmlinux_failed = False
        self._raw: Optional[bytes] = vmlinux.data if vmlinux is not None else None
        self._convs: dict[str, Optional[_Converter]] = {}
        self._named: dict[tuple, Optional[DType]] = {}
        self._symbols: dict[tuple, Optional[tuple[DType, int]]] = {}
        self._typedef_names: dict[str, bool] = {}
        self._ksyms: Optional[bytes] = None
        self._raw_modules: dict[str, bytes] = {}
        self._modules: Optional[list[str]] = None

    # -- BTF blobs ------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Has the BTF index been built (a real type lookup happened)?"""
        return "vmlinux" in self._convs

    def _path(self, module: str) -> str:
        return os.path.join(self.btf_dir, module)

    def vmlinux(self) -> Any:
        """The kernel's BTF (a bpf.btf.BTF), indexed on first use (None: there is none)."""
        if self._vmlinux is None and not self._vmlinux_failed:
            from ..bpf.btf import BTF, BTFError

            path = self._path("vmlinux")
            try:
                cached = BTF._cache.get(path)
                if cached is None:
                    cached = BTF(self._raw_vmlinux() or b"")
                    BTF._cache[path] = cached  # share with bpf.btf users (task_path)
                self._vmlinux = cached
            except (OSError, BTFError, struct.error):
                self._vmlinux_failed = True
        return self._vmlinux

    def _raw_vmlinux(self) -> Optional[bytes]:
        if self._raw is None:
            cached = _btf_cache().get(self._path("vmlinux"))
            if cached is not None:
                self._raw = cached.data
            else:
                try:
                    with open(self._path("vmlinux"), "rb") as f:
                        self._raw = f.read()
                except OSError:
                    self._raw = b""
        return self._raw or None

    def modules(self) -> list[str]:
        """Modules with BTF of their own (split on vmlinux)."""
        if self._modules is None:
            try:
                self._modules = sorted(n for n in os.listdir(self.btf_dir) if n != "vmlinux")
            except OSError:
                self._modules = []
        return self._modules

    def _converter(self, module: str) -> Optional[_Converter]:
        if module in self._convs:
            return self._convs[module]
        conv = None
        base = self.vmlinux()
        if base is not None:
            from ..bpf.btf import BTF, BTFError

            if module == "vmlinux":
                conv = _Converter(base)
            elif module in self.modules():
                vconv = self._converter("vmlinux")
                try:
                    with open(self._path(module), "rb") as f:
                        conv = _Converter(BTF(f.read(), base=base), vconv)
                except (OSError, BTFError, struct.error):
                    conv = None
        self._convs[module] = conv
        return conv

    def _search_order(self, module: Optional[str]) -> list[str]:
        if module in KERNEL_MODULES:
            order = ["vmlinux"]
            if module is None:
                order += self.modules()  # DTrace searches every module for unscoped names
            return order
        return [module] if module in self.modules() else []

    # -- TypeSource --------------------------------------------------------------------

    def lookup(self, kind: str, name: str, module: Optional[str] = None) -> Optional[DType]:
        """`struct NAME`, `union NAME`, `enum NAME` or a type name (kind 'typedef': a
        typedef or base type) from the kernel's BTF; None when BTF has no such type."""
        key = (kind, name, module)
        if key in self._named:
            return self._named[key]
        kinds = _SOU_KINDS.get(kind, _NAME_KINDS)
        if kinds is _NAME_KINDS and not self.has_typedef(name):
            self._named[key] = None  # the cheap answer: no type of that name anywhere
            return None
        found: Optional[DType] = None
        for mod in self._search_order(module):
            conv = self._converter(mod)
            if conv is None:
                continue
            tid = self._find(conv, name, kinds)
            if tid:
                found = conv.type(tid)
                break
        self._named[key] = found
        return found

    @staticmethod
    def _find(conv: _Converter, name: str, kinds: tuple) -> int:
        """The id of the best type called `name` in this blob: a definition over a forward
        declaration, the blob's own types over its base's."""
        btf = conv.btf
        best = 0
        for k in kinds:
            for tid in btf.find_type(name, k):
                if tid < btf.first_id and conv.base is not None:
                    continue  # the base is searched as a module of its own
                rec = btf.type(tid)
                if rec.kind in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64) and \
                        not rec.vlen and not rec.size:
                    best = best or tid  # an empty record: keep looking for a definition
                    continue
                return tid
        return best

    def symbol(self, name: str, module: Optional[str] = None) -> Optional[tuple[DType, int]]:
        """(type, address) of kernel symbol `name`: the address from kallsyms, the type from
        BTF (a VAR's type, a FUNC's prototype) or int when BTF does not know it."""
        key = (name, module)
        if key in self._symbols:
            return self._symbols[key]
        got = None
        addr = self.address(name, module)
        if addr:
            t = None
            for mod in self._search_order(module):
                conv = self._converter(mod)
                if conv is None:
                    continue
                tid = self._find(conv, name, (Kind.VAR, Kind.FUNC))
                if tid:
                    t = conv.type(tid)
                    break
            got = (t if t is not None else INT, addr)
        self._symbols[key] = got
        return got

    # -- kallsyms ------------------------------------------------------------------------

    def _kallsyms(self) -> bytes:
        if self._ksyms is None:
            try:
                with open(self.kallsyms_path, "rb") as f:
                    self._ksyms = f.read()
            except OSError:
                self._ksyms = b""
        return self._ksyms

    def address(self, name: str, module: Optional[str] = None) -> Optional[int]:
        """The kallsyms address of `name` (in `module`; None: the kernel, then any module).
        Zero addresses (kptr_restrict) count as unknown."""
        data = self._kallsyms()
        if module in KERNEL_MODULES:
            suffixes = [b"\n"] + ([b"\t["] if module is None else [])
        else:
            suffixes = [b"\t[" + module.encode() + b"]"]
        needle_name = b" " + name.encode()
        for suffix in suffixes:
            needle = needle_name + suffix
            pos = data.find(needle)
            while pos >= 0:
                # a line is "ADDR T NAME[\t[MOD]]": check the type letter and the address
                start = data.rfind(b"\n", 0, pos) + 1
                line = data[start:pos]
                parts = line.split(b" ")
                if len(parts) == 2 and len(parts[1]) == 1:
                    try:
                        addr = int(parts[0], 16)
                    except ValueError:
                        addr = 0
                    if addr:
                        return addr
                pos = data.find(needle, pos + 1)
        return None

    # -- names the parser needs --------------------------------------------------------

    def has_typedef(self, name: str) -> bool:
        """Is `name` a kernel typedef (or base type)?  Answered from the raw BTF bytes
        without indexing them, unless the index is already built."""
        got = self._typedef_names.get(name)
        if got is not None:
            return got
        raw = self._raw_vmlinux() or b""
        if self._vmlinux is not None:
            btf = self._vmlinux
            got = any(btf.find_type(name, k) for k in _NAME_KINDS)
        else:
            got = _raw_has_name(raw, name, _NAME_KINDS)
        if not got and self.modules() and len(raw) >= 24:
            # split BTF: a module's string offsets continue after vmlinux's strings
            base = struct.unpack_from("<I", raw, 20)[0]
            got = any(_raw_has_name(self._raw_module(m), name, _NAME_KINDS, base)
                      for m in self.modules())
        self._typedef_names[name] = got
        return got

    def _raw_module(self, module: str) -> bytes:
        data = self._raw_modules.get(module)
        if data is None:
            try:
                with open(self._path(module), "rb") as f:
                    data = f.read()
            except OSError:
                data = b""
            self._raw_modules[module] = data
        return data

    def __contains__(self, name: object) -> bool:
        """`name in kernel_types`: the parser's typedef_names protocol."""
        return isinstance(name, str) and self.has_typedef(name)


def _btf_cache() -> dict:
    """bpf.btf's cache of loaded BTF, if that module is loaded (else nothing is cached)."""
    import sys

    mod = sys.modules.get("pydtrace.bpf.btf")
    return mod.BTF._cache if mod is not None else {}


def _raw_has_name(data: bytes, name: str, kinds: tuple, str_base: int = 0) -> bool:
    """Does a BTF record of one of `kinds` (vlen 0, no kind_flag) carry `name`?

    The name's string offset and the record's info word are searched for together as
    8 aligned bytes of the type section: no other BTF data can hold that pair (type ids
    and string offsets are far below 2^24), so the answer is exact.  `str_base` is where
    the blob's strings start for a split BTF (a module's: after vmlinux's)."""
    if len(data) < 24:
        return False
    magic, _v, _f, hdr_len, type_off, type_len, str_off, str_len = \
        struct.unpack_from("<HBBIIIII", data, 0)
    if magic != 0xEB9F:
        return False
    s0, s1 = hdr_len + str_off, hdr_len + str_off + str_len
    t0, t1 = hdr_len + type_off, hdr_len + type_off + type_len
    infos = {struct.pack("<I", k << 24) for k in kinds}
    needle = b"\0" + name.encode() + b"\0"
    pos = data.find(needle, s0, s1)
    while pos >= 0:
        pat = struct.pack("<I", str_base + pos + 1 - s0)
        q = data.find(pat, t0, t1)  # one pass: every use of the name, then its info word
        while q >= 0:
            if (q - t0) % 4 == 0 and data[q + 4:q + 8] in infos:
                return True
            q = data.find(pat, q + 1, t1)
        pos = data.find(needle, pos + 1, s1)
    return False
