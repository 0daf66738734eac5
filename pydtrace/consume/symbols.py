"""Address-to-symbol resolution for printing: kernel symbols and user ELF symbols.

SystemSymbolizer is the datum.Symbolizer of a running system, as Oracle's
DTrace has dt_module.c (kernel symbols from /proc/kallsyms) and libproc's
Psymtab.c (user symbols from the ELF objects a process maps).  Standard
library only: the ELF reader below is a small `struct` parser of headers,
section tables, .symtab/.dynsym and their string tables.

Caches (these are the module's only state, all per SystemSymbolizer):
the kernel table is built on the first kernel lookup and kept; each pid's
/proc/PID/maps is read once (again after invalidate(), or on a miss at most
once per `maps_retry` seconds); parsed ELF symbol tables are shared by file
identity (device, inode, mtime, size).
"""

from __future__ import annotations

import binascii
import lzma
import operator
import os
import stat
import struct
import threading
import time
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from itertools import compress, repeat

from .datum import Symbolizer

__all__ = ["SystemSymbolizer", "KernelSymbols", "ElfSymbols", "ElfError", "Mapping",
           "read_maps", "KSYM_TAIL"]

_U64_END = 1 << 64

# --------------------------------------------------------------------------
# Kernel: /proc/kallsyms
# --------------------------------------------------------------------------

#: kallsyms types of text symbols: local/global functions and weak symbols.
_TEXT_TYPES = frozenset((b"t", b"T", b"w", b"W"))

#: vmlinux markers that end a stretch of text: an address from one of them up
#: to the next symbol is in no function (the kernel would print "_etext+0x...").
_TEXT_END_MARKERS = (b"_etext", b"_einittext")

#: How far past the last symbol of a module (or of vmlinux, a bpf program or
#: an ftrace trampoline) an address is still taken to be inside that symbol
#: when nothing says where the text ends: kallsyms gives no sizes.
KSYM_TAIL = 0x10000


class KernelSymbols:
    """The text symbols of /proc/kallsyms, sorted by address for bisection.

    `addrs`, `names` and `mods` are parallel lists.  Names stay bytes until a
    lookup returns one (decoding 200k names would double the load time); a
    name of None is an end marker (the end of a text region), so an address
    between a region's end and the next symbol resolves to nothing.
    `regions` are (start, end, module) extents from /proc/modules and
    vmlinux, used by module().
    """

    __slots__ = ("addrs", "names", "mods", "regions", "load_seconds")

    def __init__(self, addrs: list[int], names: list, mods: list[str],
                 regions: list[tuple[int, int, str]] | None = None):
        self.addrs = addrs
        self.names = names
        self.mods = mods
        self.regions = sorted(regions or [])
        self.load_seconds = 0.0

    def __len__(self) -> int:
        return len(self.addrs)

    @classmethod
    def load(cls, path: str = "/proc/kallsyms",
             modules_path: str | None = "/proc/modules") -> "KernelSymbols":
        """Read and parse `path` (and module extents from `modules_path`)."""
        t0 = time.perf_counter()
        with open(path, "rb") as f:
            text = f.read()
        modules_text = b""
        if modules_path:
            try:
                with open(modules_path, "rb") as f:
                    modules_text = f.read()
            except OSError:
                pass  # no /proc/modules: a kernel without loadable modules
        table = cls.from_text(text, modules_text)
        table.load_seconds = time.perf_counter() - t0
        return table

    @classmethod
    def from_text(cls, text: bytes | str, modules_text: bytes | str = b"") -> "KernelSymbols":
        """Parse kallsyms text ("ADDR TYPE NAME[\\t[MODULE]]" lines).

        Speed matters (200k lines): vmlinux's lines come first, sorted and
        with exactly three fields, so one bytes.split() and C-level slicing,
        filtering (itertools.compress) and hex conversion (unhexlify) do them
        without a Python loop; module lines after them have four fields and
        go the same way, then are sorted.
        """
        if isinstance(text, str):
            text = text.encode("latin-1")
        if isinstance(modules_text, bytes):
            modules_text = modules_text.decode("latin-1")
        tab = text.find(b"\t")
        cut = len(text) if tab < 0 else text.rfind(b"\n", 0, tab) + 1
        head = _parse_vmlinux(text[:cut])
        fast = head is not None
        if fast:
            tail = _parse_modules(text[cut:])
        else:  # not the expected layout: the slow, general way
            head, tail = _parse_lines(text.split(b"\n")), ([], [], [])
        ha, hn, hm = head
        ta, tn, tm = tail
        if not ha and not ta or max(ha[-1:] + ta[-1:]) == 0:
            # kptr_restrict: an unprivileged reader sees every address as 0
            return cls([], [], [])

        regions = _module_regions(modules_text)
        vm = ha if fast else [a for a, m in zip(ha, hm) if m == "vmlinux"]
        if vm:
            regions.append((vm[0], _last_addr(text, cut, vm[-1]) + 1, "vmlinux"))
        if not ta or ha and ta[0] >= ha[-1]:
            parts = [(ha, hn, hm), (ta, tn, tm)]
        elif not ha or ta[-1] < ha[0]:
            parts = [(ta, tn, tm), (ha, hn, hm)]
        else:  # interleaved: sort the lot (stable: the first alias stays first)
            parts = [_sort3(ha + ta, hn + tn, hm + tm)]
        addrs: list[int] = []
        names: list = []
        mods: list[str] = []
        for i, (pa, pn, pm) in enumerate(parts):
            nxt = parts[i + 1][0][0] if i + 1 < len(parts) and parts[i + 1][0] else _U64_END
            pa, pn, pm = _close_runs(pa, pn, pm, regions, nxt)
            addrs += pa
            names += pn
            mods += pm
        return cls(addrs, names, mods, regions)

    def lookup(self, addr: int) -> tuple[str, str, int] | None:
        """(module, name, start) of the symbol containing `addr`, or None.

        Of several symbols at one address the first in kallsyms order wins,
        as in the kernel's own kallsyms_lookup() (so stacks match %pS).
        """
        addrs = self.addrs
        i = bisect_right(addrs, addr) - 1
        if i < 0:
            return None
        a = addrs[i]
        while i > 0 and addrs[i - 1] == a:
            i -= 1
        n = len(addrs)
        while self.names[i] is None:  # an end marker; a symbol may share it
            i += 1
            if i >= n or addrs[i] != a:
                return None
        return self.mods[i], self.names[i].decode("utf-8", "surrogateescape"), a

    def module(self, addr: int) -> str | None:
        """The module (or 'vmlinux') holding `addr`, symbol or not."""
        hit = self.lookup(addr)
        if hit is not None:
            return hit[0]
        for start, end, mod in self.regions:
            if start <= addr < end:
                return mod
        return None


def _parse_vmlinux(text: bytes) -> tuple[list, list, list] | None:
    """The fast path of from_text(): lines of exactly "ADDR TYPE NAME".

    None when the text does not split into such triples (then the caller
    parses line by line).
    """
    fields = text.split()
    if len(fields) % 3 or len(fields) // 3 != text.count(b"\n") + (not text.endswith(b"\n")) \
            - (not text):
        return None  # some line has more or fewer than three fields
    sel = list(map(_TEXT_TYPES.__contains__, fields[1::3]))
    hexes = list(compress(fields[0::3], sel))
    names: list = list(compress(fields[2::3], sel))
    del fields
    addrs = _hex_addrs(hexes)
    if addrs is None:
        return None
    for marker in _TEXT_END_MARKERS:
        # the markers sit near the end: search a reversed copy
        try:
            names[len(names) - 1 - names[::-1].index(marker)] = None
        except ValueError:
            pass
    mods = ["vmlinux"] * len(addrs)
    if addrs != sorted(addrs):
        addrs, names, mods = _sort3(addrs, names, mods)
    return addrs, names, mods


def _parse_modules(text: bytes) -> tuple[list, list, list]:
    """Module lines, "ADDR TYPE NAME\\t[MODULE]", sorted by address.

    A distribution kernel has tens of thousands of them, so they take the
    same C-level path as vmlinux (four fields a line), then one sort.
    """
    fields = text.split()
    if len(fields) % 4 or len(fields) // 4 != text.count(b"\n") + (not text.endswith(b"\n")) \
            - (not text):
        return _parse_lines(text.split(b"\n"))
    sel = list(map(_TEXT_TYPES.__contains__, fields[1::4]))
    hexes = list(compress(fields[0::4], sel))
    names = list(compress(fields[2::4], sel))
    raw_mods = list(compress(fields[3::4], sel))
    del fields
    addrs = _hex_addrs(hexes)
    if addrs is None:
        return _parse_lines(text.split(b"\n"))
    modname = {m: (m[1:-1] if m.startswith(b"[") else m).decode("latin-1")
               for m in set(raw_mods)}
    mods = list(map(modname.__getitem__, raw_mods))
    return _sort3(addrs, names, mods)  # a module's symbols come in its symtab's order


def _parse_lines(lines: list[bytes]) -> tuple[list, list, list]:
    """kallsyms lines one at a time, sorted by address: (addrs, names, mods)."""
    rows = []
    interned: dict[bytes, str] = {}
    for ln in lines:
        f = ln.split()
        if len(f) < 3 or f[1] not in _TEXT_TYPES:
            continue
        try:
            a = int(f[0], 16)
        except ValueError:
            continue
        m = f[3][1:-1] if len(f) > 3 and f[3].startswith(b"[") else b"vmlinux"
        mod = interned.get(m)
        if mod is None:
            mod = interned[m] = m.decode("latin-1")
        name = None if mod == "vmlinux" and f[2] in _TEXT_END_MARKERS else f[2]
        rows.append((a, name, mod))
    rows.sort(key=lambda r: r[0])
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _last_addr(text: bytes, end: int, default: int) -> int:
    """The address on the last line of text[:end] (bss end with KALLSYMS_ALL)."""
    while end and text[end - 1] in b" \t\n":
        end -= 1
    i = text.rfind(b"\n", 0, end) + 1
    try:
        return max(default, int(text[i:end].split()[0], 16))
    except (ValueError, IndexError):
        return default


def _hex_addrs(hexes: list[bytes]) -> list[int] | None:
    """Hex address fields to ints (None if one is not hex); 16-digit ones,
    as on 64-bit kernels, in one unhexlify() and struct.unpack()."""
    try:
        if hexes and len(hexes[0]) == 16:
            return list(struct.unpack(">%dQ" % len(hexes), binascii.unhexlify(b"".join(hexes))))
        return [int(h, 16) for h in hexes]
    except (ValueError, struct.error, binascii.Error):
        return None


def _sort3(addrs: list, names: list, mods: list) -> tuple[list, list, list]:
    """Sort three parallel lists by address (stably: the first alias stays first).

    Sorting plain ints (address << bits | index) is a third faster than
    sorting indices with a key function; map() keeps the loops in C.
    """
    bits = len(addrs).bit_length()
    keyed = sorted(map(operator.or_, map(operator.lshift, addrs, repeat(bits)),
                       range(len(addrs))))
    order = list(map(operator.and_, keyed, repeat((1 << bits) - 1)))
    return (list(map(addrs.__getitem__, order)), list(map(names.__getitem__, order)),
            list(map(mods.__getitem__, order)))


def _module_regions(modules_text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) from /proc/modules: "name size refs deps state addr"."""
    out = []
    for ln in modules_text.splitlines():
        f = ln.split()
        if len(f) < 6:
            continue
        try:
            size, base = int(f[1]), int(f[5], 16)
        except ValueError:
            continue
        if base:
            out.append((base, base + size, f[0]))
    return out


def _close_runs(addrs: list, names: list, mods: list, regions: list[tuple[int, int, str]],
                after: int = _U64_END) -> tuple[list, list, list]:
    """End each run of one module's symbols with an end marker.

    Without it the last symbol of a module would swallow every address up to
    the next module.  The end is the module's extent from /proc/modules when
    it covers the last symbol, else KSYM_TAIL past the last symbol.  `after`
    is the first address following these symbols.
    """
    n = len(addrs)
    if not n:
        return addrs, names, mods
    if mods[0] is mods[-1] and mods.count(mods[0]) == n:
        bounds = [n]  # one module (vmlinux): no loop over its 100k symbols
    else:
        bounds = [i for i in range(1, n) if mods[i] != mods[i - 1]] + [n]
    oa: list[int] = []
    on: list = []
    om: list[str] = []
    a = 0
    for b in bounds:
        oa += addrs[a:b]
        on += names[a:b]
        om += mods[a:b]
        last = b - 1
        if names[last] is not None:
            mod = mods[last]
            end = addrs[last] + KSYM_TAIL
            if mod != "vmlinux":  # vmlinux's regions end with _etext/_einittext
                for s, e, rmod in regions:
                    if rmod == mod and s <= addrs[last] < e:
                        end = e
            nxt = addrs[b] if b < n else after
            if end < nxt:
                oa.append(end)
                on.append(None)
                om.append(mod)
        a = b
    return oa, on, om


# --------------------------------------------------------------------------
# User: a small ELF reader
# --------------------------------------------------------------------------

class ElfError(ValueError):
    """Not an ELF file, or one this reader cannot make sense of."""


_PT_LOAD = 1
_SHT_SYMTAB, _SHT_NOTE, _SHT_NOBITS, _SHT_DYNSYM = 2, 7, 8, 11
_SHF_ALLOC = 0x2
_STT_OBJECT, _STT_FUNC, _STT_GNU_IFUNC = 1, 2, 10
_STB_LOCAL = 0
_SYM_TYPES = frozenset((_STT_OBJECT, _STT_FUNC, _STT_GNU_IFUNC))
_SHN_UNDEF, _SHN_LORESERVE, _SHN_XINDEX = 0, 0xFF00, 0xFFFF
_NT_GNU_BUILD_ID = 3
_EM_ARM = 40

# Per ELF class: header, program header, section header, symbol formats and the
# field positions that differ between ELF32 and ELF64.
_EHDR = {1: "16sHHIIIIIHHHHHH", 2: "16sHHIQQQIHHHHHH"}
_PHDR = {1: "IIIIIIII", 2: "IIQQQQQQ"}      # ELF32 moves p_flags after p_memsz
_SHDR = {1: "IIIIIIIIII", 2: "IIQQQQIIQQ"}
_SYM = {1: "IIIBBH", 2: "IBBHQQ"}
#: (st_name, st_value, st_size, st_info, st_shndx) positions in a _SYM tuple
_SYMPOS = {1: (0, 1, 2, 3, 5), 2: (0, 4, 5, 1, 3)}

_MAX_TABLE = 1 << 31  # refuse absurd section sizes from a corrupt header


class ElfSymbols:
    """The function and object symbols of one ELF file, sorted by address.

    Built from .symtab and .dynsym (a stripped object still has .dynsym),
    plus the MiniDebugInfo .gnu_debugdata table when present.  Names are
    decoded only when a lookup returns them.
    """

    def __init__(self):
        #: PT_LOAD program headers: (p_offset, p_filesz, p_vaddr, p_memsz)
        self.segments: list[tuple[int, int, int, int]] = []
        self.build_id: bytes | None = None
        self.has_symtab = False
        self.starts: list[int] = []
        self._ends: list[int] = []
        #: (st_value, st_size, st_info, st_name, index into _strtabs), sorted
        self._syms: list[tuple[int, int, int, int, int]] = []
        self._strtabs: list[bytes] = []
        self._memo: dict[int, tuple[str, int] | None] = {}

    def __len__(self) -> int:
        return len(self.starts)

    # -- building ----------------------------------------------------------

    @classmethod
    def from_fd(cls, fd: int, size: int) -> "ElfSymbols":
        def read(off: int, n: int) -> bytes:
            if off < 0 or n < 0 or off + n > size:
                raise ElfError("read beyond the end of the file")
            data = os.pread(fd, n, off)
            if len(data) != n:
                raise ElfError("short read")
            return data
        return cls._parse(read)

    @classmethod
    def from_bytes(cls, image: bytes) -> "ElfSymbols":
        image = bytes(image)

        def read(off: int, n: int) -> bytes:
            if off < 0 or n < 0 or off + n > len(image):
                raise ElfError("read beyond the end of the image")
            return image[off:off + n]
        return cls._parse(read)

    @classmethod
    def _parse(cls, read) -> "ElfSymbols":
        ident = read(0, 16)
        if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise ElfError("not an ELF file")
        klass = ident[4]
        end = "<" if ident[5] == 1 else ">"
        ehdr = struct.Struct(end + _EHDR[klass])
        (_, _etype, machine, _ver, _entry, phoff, shoff, _flags, _ehsize,
         phentsize, phnum, shentsize, shnum, shstrndx) = ehdr.unpack(read(0, ehdr.size))

        self = cls()
        phdr = struct.Struct(end + _PHDR[klass])
        if phoff and phnum and phentsize >= phdr.size:
            table = read(phoff, phentsize * phnum)
            for i in range(phnum):
                p = phdr.unpack_from(table, i * phentsize)
                if klass == 2:
                    ptype, _pf, poff, pvaddr, _pa, pfilesz, pmemsz, _al = p
                else:
                    ptype, poff, pvaddr, _pa, pfilesz, pmemsz, _pf, _al = p
                if ptype == _PT_LOAD:
                    self.segments.append((poff, pfilesz, pvaddr, pmemsz))

        shdr = struct.Struct(end + _SHDR[klass])
        if not shoff or shentsize < shdr.size:
            return self  # no section table: no symbols (as a fully stripped object)
        if shnum == 0 or shstrndx == _SHN_XINDEX:
            # extended numbering: the real counts live in section header 0
            sh0 = shdr.unpack(read(shoff, shdr.size))
            shnum = shnum or sh0[5]
            if shstrndx == _SHN_XINDEX:
                shstrndx = sh0[6]
        if shnum > 1 << 20:
            raise ElfError("too many sections")
        table = read(shoff, shentsize * shnum)
        # (name, type, flags, addr, offset, size, link, info, align, entsize)
        sections = [shdr.unpack_from(table, i * shentsize) for i in range(shnum)]

        def data(sh) -> bytes:
            if sh[1] == _SHT_NOBITS or sh[5] > _MAX_TABLE:
                return b""
            return read(sh[4], sh[5])

        shstr = data(sections[shstrndx]) if shstrndx < shnum else b""

        def secname(sh) -> bytes:
            o = sh[0]
            return shstr[o:shstr.find(b"\0", o)] if o < len(shstr) else b""

        sec_ends = [sh[3] + sh[5] if sh[2] & _SHF_ALLOC else _U64_END for sh in sections]
        raw: list[tuple[int, int, int, int, int, int]] = []  # _syms rows + st_shndx
        for sh in sections:
            if sh[1] in (_SHT_SYMTAB, _SHT_DYNSYM) and sh[6] < shnum:
                self.has_symtab |= sh[1] == _SHT_SYMTAB
                tab = len(self._strtabs)
                self._strtabs.append(data(sections[sh[6]]))
                self._collect(raw, data(sh), klass, end, tab, machine)
            elif sh[1] == _SHT_NOTE and self.build_id is None:
                self.build_id = _note_build_id(data(sh), end)
            elif secname(sh) == b".gnu_debugdata":
                # MiniDebugInfo (Fedora): an xz-compressed ELF with a .symtab of
                # the local functions that stripping removed
                try:
                    mini = cls.from_bytes(lzma.decompress(data(sh)))
                except (lzma.LZMAError, ElfError, struct.error):
                    continue
                self._adopt(raw, mini)
        self._finish(raw, sec_ends)
        return self

    def _collect(self, raw: list, symdata: bytes, klass: int, end: str, tab: int,
                 machine: int) -> None:
        fmt = struct.Struct(end + _SYM[klass])
        if not symdata or len(symdata) % fmt.size:
            symdata = symdata[:len(symdata) - len(symdata) % fmt.size]
        iname, ivalue, isize, iinfo, ishndx = _SYMPOS[klass]
        thumb = machine == _EM_ARM
        for s in fmt.iter_unpack(symdata):
            info = s[iinfo]
            if ((info & 0xF) not in _SYM_TYPES or s[ishndx] == _SHN_UNDEF or not s[ivalue]
                    or not s[iname]):
                continue
            value = s[ivalue]
            if thumb and (info & 0xF) == _STT_FUNC:
                value &= ~1  # the low bit of an ARM function address selects Thumb
            raw.append((value, s[isize], info, s[iname], tab, s[ishndx]))

    def _adopt(self, raw: list, other: "ElfSymbols") -> None:
        """Take another table's symbols (MiniDebugInfo, a separate debug file)."""
        base = len(self._strtabs)
        self._strtabs.extend(other._strtabs)
        for (v, size, info, noff, tab), e in zip(other._syms, other._ends):
            # the section end is gone by now: carry the computed end as a size
            raw.append((v, size or (e - v), info, noff, tab + base, _SHN_UNDEF))
        self.has_symtab |= other.has_symtab

    def _finish(self, raw: list, sec_ends: list[int]) -> None:
        raw.sort(key=lambda r: r[0])
        n = len(raw)
        ends = [0] * n
        cur = nxt = None
        for i in range(n - 1, -1, -1):
            v, size, _info, _noff, _tab, shndx = raw[i]
            if v != cur:
                nxt, cur = cur, v
            if size:
                ends[i] = v + size
            else:  # unsized (assembler) symbol: up to the next one, within its section
                sec = sec_ends[shndx] if 0 < shndx < len(sec_ends) else _U64_END
                e = min(nxt, sec) if nxt is not None else (sec if sec != _U64_END else v + 1)
                ends[i] = max(e, v + 1)
        self.starts = [r[0] for r in raw]
        self._ends = ends
        self._syms = [r[:5] for r in raw]
        self._memo.clear()

    def merge(self, other: "ElfSymbols") -> None:
        """Add the symbols of a separate debug file for this object."""
        raw = [(v, size or (e - v), info, noff, tab, _SHN_UNDEF)
               for (v, size, info, noff, tab), e in zip(self._syms, self._ends)]
        self._adopt(raw, other)
        self._finish(raw, [])

    # -- lookups -----------------------------------------------------------

    def file_to_vaddr(self, off: int) -> int | None:
        """The link-time virtual address of file offset `off` (via PT_LOAD)."""
        segs = self.segments
        if not segs:
            return off  # no program headers: take offsets as addresses
        for poff, filesz, vaddr, _memsz in segs:
            if poff <= off < poff + filesz:
                return off - poff + vaddr
        below = [s for s in segs if s[0] <= off]
        if not below:
            return None
        # in a segment's bss or page-alignment slack: the nearest one below
        poff, _filesz, vaddr, _memsz = max(below)
        return off - poff + vaddr

    def lookup(self, vaddr: int) -> tuple[str, int] | None:
        """(name, start) of the symbol containing link-time address `vaddr`."""
        try:
            return self._memo[vaddr]
        except KeyError:
            pass
        hit = self._lookup(vaddr)
        if len(self._memo) > 65536:
            self._memo.clear()
        self._memo[vaddr] = hit
        return hit

    def _lookup(self, vaddr: int) -> tuple[str, int] | None:
        starts, ends = self.starts, self._ends
        i = bisect_right(starts, vaddr) - 1
        # the containing symbol with the greatest start; a big one may enclose
        # smaller ones that end before vaddr, so look a little way back
        j = i
        while j >= 0 and i - j < 64 and vaddr >= ends[j]:
            j -= 1
        if j < 0 or i - j >= 64:
            return None
        start = starts[j]
        lo = hi = j
        while lo > 0 and starts[lo - 1] == start:
            lo -= 1
        while hi < i and starts[hi + 1] == start:
            hi += 1
        best = min((k for k in range(lo, hi + 1) if vaddr < ends[k]), key=self._rank)
        return self._name(best), start

    def _name(self, k: int) -> str:
        _v, _size, _info, noff, tab = self._syms[k]
        strtab = self._strtabs[tab]
        e = strtab.find(b"\0", noff)
        return strtab[noff:e if e >= 0 else len(strtab)].decode("utf-8", "surrogateescape")

    def _rank(self, k: int):
        """Which of several symbols at one address to show, as Solaris libproc
        chooses: functions, then globals, no '$', fewer leading '_', smaller, name."""
        _v, size, info, _noff, _tab = self._syms[k]
        name = self._name(k)
        return ((info & 0xF) == _STT_OBJECT, (info >> 4) == _STB_LOCAL, name.startswith("$"),
                len(name) - len(name.lstrip("_")), size, name)


def _note_build_id(notes: bytes, end: str) -> bytes | None:
    """The NT_GNU_BUILD_ID descriptor in a note section, if any."""
    off = 0
    while off + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from(end + "III", notes, off)
        off += 12
        name = notes[off:off + namesz]
        off += (namesz + 3) & ~3
        desc = notes[off:off + descsz]
        off += (descsz + 3) & ~3
        if ntype == _NT_GNU_BUILD_ID and name.rstrip(b"\0") == b"GNU":
            return desc
    return None


# --------------------------------------------------------------------------
# User: process mappings
# --------------------------------------------------------------------------

_UNKNOWN = object()
_VDSO = "[vdso]"


@dataclass(eq=False)
class Mapping:
    """One line of /proc/PID/maps."""

    start: int
    end: int
    perms: str
    offset: int
    dev: str
    inode: int
    path: str
    elf: object = _UNKNOWN  # ElfSymbols once loaded, None when it has none

    @property
    def objname(self) -> str | None:
        """Basename of the mapped object; None for anonymous memory."""
        if self.path == _VDSO:
            return _VDSO
        if not self.inode or not self.path.startswith("/"):
            return None
        return os.path.basename(self.path.removesuffix(" (deleted)"))


def read_maps(path: str) -> list[Mapping]:
    """Parse a /proc/PID/maps file into Mappings sorted by address."""
    out = []
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "surrogateescape")
    for ln in text.splitlines():
        f = ln.split(None, 5)
        if len(f) < 5:
            continue
        lo, _, hi = f[0].partition("-")
        try:
            out.append(Mapping(int(lo, 16), int(hi, 16), f[1], int(f[2], 16), f[3],
                               int(f[4]), f[5] if len(f) > 5 else ""))
        except ValueError:
            continue
    out.sort(key=lambda m: m.start)
    return out


class _ProcMaps:
    """The cached mappings of one process."""

    __slots__ = ("maps", "starts", "read_at")

    def __init__(self, maps: list[Mapping]):
        self.maps = maps
        self.starts = [m.start for m in maps]
        self.read_at = time.monotonic()

    def find(self, addr: int) -> Mapping | None:
        i = bisect_right(self.starts, addr) - 1
        if i >= 0 and addr < self.maps[i].end:
            return self.maps[i]
        return None


# --------------------------------------------------------------------------
# The symbolizer
# --------------------------------------------------------------------------

class SystemSymbolizer(Symbolizer):
    """Symbols of the running system: /proc/kallsyms and the processes' ELF files.

    Nothing is read at construction: the kernel table on the first kernel
    lookup, a process's maps on its first user lookup.  Lookups never raise;
    anything unreadable (an exited process, EACCES, a non-ELF mapping, a
    stripped object) gives None, so the caller prints the raw address.
    """

    def __init__(self, *, kallsyms: str = "/proc/kallsyms", modules: str | None = "/proc/modules",
                 proc: str = "/proc", max_pids: int = 1024, maps_retry: float = 1.0,
                 debug_dirs: tuple[str, ...] = ("/usr/lib/debug",)):
        self._kallsyms_path = kallsyms
        self._modules_path = modules
        self._proc = proc
        self._max_pids = max_pids
        self.maps_retry = maps_retry
        self._debug_dirs = debug_dirs
        self._kernel: KernelSymbols | None = None
        self._lock = threading.RLock()
        self._pids: OrderedDict[int, _ProcMaps] = OrderedDict()  # cache: LRU by pid
        self._elves: dict[object, ElfSymbols | None] = {}  # cache: by file identity
        #: counters for tests and -xdebug: maps files read, ELF files parsed
        self.stats = {"maps_read": 0, "elf_parsed": 0}

    # -- kernel ------------------------------------------------------------

    @property
    def kernel(self) -> KernelSymbols:
        """The kernel symbol table, read from kallsyms on first use."""
        table = self._kernel
        if table is None:
            with self._lock:
                table = self._kernel
                if table is None:
                    try:
                        table = KernelSymbols.load(self._kallsyms_path, self._modules_path)
                    except Exception:  # unreadable (EACCES, ENOENT...): addresses print raw
                        table = KernelSymbols([], [], [])
                    self._kernel = table
        return table

    @property
    def kernel_loaded(self) -> bool:
        return self._kernel is not None

    def ksym(self, addr: int) -> tuple[str, str, int] | None:
        try:
            return self.kernel.lookup(addr)
        except Exception:  # a printing helper must not take the consumer down
            return None

    def kmod(self, addr: int) -> str | None:
        try:
            return self.kernel.module(addr)
        except Exception:
            return None

    # -- user --------------------------------------------------------------

    def usym(self, pid: int, addr: int) -> tuple[str, str, int] | None:
        try:
            with self._lock:
                m = self._mapping(pid, addr)
                if m is None:
                    return None
                elf = self._elf(pid, m)
                if elf is None:
                    return None
                v = elf.file_to_vaddr(addr - m.start + m.offset)
                if v is None:
                    return None
                hit = elf.lookup(v)
                if hit is None:
                    return None
                name, start = hit
                return m.objname, name, addr - v + start
        except Exception:
            return None

    def umod(self, pid: int, addr: int) -> str | None:
        try:
            with self._lock:
                m = self._mapping(pid, addr)
                return None if m is None else m.objname
        except Exception:
            return None

    def invalidate(self, pid: int | None = None, *, kernel: bool = False) -> None:
        """Forget the cached maps of `pid` (of every process when None), e.g.
        after an exec or when a pid may have been reused; with kernel=True also
        the kernel table (modules or bpf programs loaded since).  Parsed ELF
        tables stay: they are keyed by file identity, not by process."""
        with self._lock:
            if pid is None:
                self._pids.clear()
            else:
                self._pids.pop(pid, None)
            if kernel:
                self._kernel = None

    def preload(self, pid: int) -> bool:
        """Read `pid`'s maps and symbol tables now, while it is alive, so its
        addresses still resolve after it exits.  False if it is gone and
        nothing was cached for it."""
        try:
            with self._lock:
                pm = self._read_maps(pid)
                for m in pm.maps:
                    if m.objname is not None:
                        self._elf(pid, m)
                return bool(pm.maps)
        except Exception:
            return False

    def _read_maps(self, pid: int) -> _ProcMaps:
        try:
            maps = read_maps("%s/%d/maps" % (self._proc, pid))
            self.stats["maps_read"] += 1
        except (OSError, ValueError):
            old = self._pids.get(pid)
            if old is not None:  # exited since: what we knew is still the best answer
                old.read_at = time.monotonic()
                return old
            maps = []
        pm = _ProcMaps(maps)
        self._pids[pid] = pm
        self._pids.move_to_end(pid)
        while len(self._pids) > self._max_pids:
            self._pids.popitem(last=False)
        return pm

    def _mapping(self, pid: int, addr: int) -> Mapping | None:
        pm = self._pids.get(pid)
        if pm is None:
            pm = self._read_maps(pid)
        else:
            self._pids.move_to_end(pid)
        m = pm.find(addr)
        if m is None and time.monotonic() - pm.read_at >= self.maps_retry:
            m = self._read_maps(pid).find(addr)  # maybe mapped since (dlopen)
        return m

    def _elf(self, pid: int, m: Mapping) -> ElfSymbols | None:
        if m.elf is _UNKNOWN:
            m.elf = None
            try:
                m.elf = self._load_elf(pid, m)
            except (OSError, ValueError, struct.error, MemoryError):
                pass
        return m.elf  # type: ignore[return-value]

    def _load_elf(self, pid: int, m: Mapping) -> ElfSymbols | None:
        if m.path == _VDSO:
            return self._load_vdso(pid, m)
        if m.objname is None:
            return None  # anonymous, [heap], [stack]...
        path = m.path.removesuffix(" (deleted)")
        # map_files opens exactly the mapped file, even deleted or in another
        # mount namespace (needs CAP_SYS_ADMIN); then the process's root (a
        # container); then our own view of the path, if it is the same inode.
        candidates = (("%s/%d/map_files/%x-%x" % (self._proc, pid, m.start, m.end), False),
                      ("%s/%d/root%s" % (self._proc, pid, path), False),
                      (path, True))
        for cand, check_inode in candidates:
            try:
                fd = os.open(cand, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue  # ENOENT (exited), EACCES/EPERM (not ours)
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or (check_inode and st.st_ino != m.inode):
                    continue
                key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
                if key not in self._elves:
                    self._elves[key] = self._parse_file(fd, st.st_size, pid)
                return self._elves[key]
            finally:
                os.close(fd)
        return None

    def _parse_file(self, fd: int, size: int, pid: int) -> ElfSymbols | None:
        try:
            elf = ElfSymbols.from_fd(fd, size)
        except (ElfError, struct.error):
            return None  # not ELF (a font, a database...): cached as "no symbols"
        self.stats["elf_parsed"] += 1
        if not elf.has_symtab and elf.build_id:
            debug = self._debug_file(elf.build_id, pid)
            if debug is not None:
                elf.merge(debug)
        return elf

    def _debug_file(self, build_id: bytes, pid: int) -> ElfSymbols | None:
        """The separate debug file of a stripped object, found by build id."""
        h = build_id.hex()
        if len(h) < 3:
            return None
        rel = "/.build-id/%s/%s.debug" % (h[:2], h[2:])
        for d in self._debug_dirs:
            for cand in ("%s/%d/root%s%s" % (self._proc, pid, d, rel), d + rel):
                try:
                    fd = os.open(cand, os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    return ElfSymbols.from_fd(fd, os.fstat(fd).st_size)
                except (ElfError, struct.error, OSError):
                    continue
                finally:
                    os.close(fd)
        return None

    def _load_vdso(self, pid: int, m: Mapping) -> ElfSymbols | None:
        """The vDSO has no file: read its image from the process's memory."""
        size = m.end - m.start
        if size <= 0 or size > 1 << 20:
            return None
        fd = os.open("%s/%d/mem" % (self._proc, pid), os.O_RDONLY | os.O_CLOEXEC)
        try:
            image = os.pread(fd, size, m.start)
        finally:
            os.close(fd)
        key = ("vdso", image)  # the same image in every process of one ABI
        if key not in self._elves:
            try:
                self._elves[key] = ElfSymbols.from_bytes(image)
                self.stats["elf_parsed"] += 1
            except (ElfError, struct.error):
                self._elves[key] = None
        return self._elves[key]
