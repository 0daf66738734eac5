"""Address-to-symbol resolution: /proc/kallsyms and the ELF objects of processes.

Synthetic kallsyms texts and ELF images pin the rules down exactly; the real
kernel, the test process itself (libc through ctypes) and, when a C compiler
is at hand, small compiled programs check them against the running system.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import struct
import subprocess
import pytest

from pydtrace.consume.datum import addr2str, format_stack, format_ustack, uaddr2str
from pydtrace.consume.symbols import (
    KSYM_TAIL, ElfError, ElfSymbols, KernelSymbols, SystemSymbolizer, read_maps)

# --------------------------------------------------------------------------
# Kernel: synthetic kallsyms
# --------------------------------------------------------------------------

KALLSYMS = """\
ffffffff81000000 T _text
ffffffff81000000 T startup_64
ffffffff81000100 t helper
ffffffff81000180 W weak_fn
ffffffff81000200 T _etext
ffffffff81100000 D some_data
ffffffff82000000 T _sinittext
ffffffff82000010 t init_fn
ffffffff82000100 T _einittext
ffffffff82100000 B __bss_stop
ffffffffc0001100 T mod_fn2\t[mymod]
ffffffffc0001000 t mod_fn\t[mymod]
ffffffffc0001000 d mod_data\t[mymod]
ffffffffc0100000 t bpf_prog_0123456789abcdef_foo\t[bpf]
"""
MODULES = "mymod 8192 0 - Live 0xffffffffc0001000\n"


@pytest.fixture(scope="module")
def ksyms() -> KernelSymbols:
    return KernelSymbols.from_text(KALLSYMS, MODULES)


def test_kernel_first_alias_and_offsets(ksyms):
    # of several symbols at one address the kernel's own lookup shows the first
    assert ksyms.lookup(0xffffffff81000000) == ("vmlinux", "_text", 0xffffffff81000000)
    assert ksyms.lookup(0xffffffff81000150) == ("vmlinux", "helper", 0xffffffff81000100)
    assert ksyms.lookup(0xffffffff81000190) == ("vmlinux", "weak_fn", 0xffffffff81000180)
    assert ksyms.lookup(0xffffffff82000020) == ("vmlinux", "init_fn", 0xffffffff82000010)


def test_kernel_region_ends(ksyms):
    assert ksyms.lookup(0xffffffff80ffffff) is None          # below the first symbol
    assert ksyms.lookup(0xffffffff81000200) is None          # _etext ends the text
    assert ksyms.lookup(0xffffffff81100000) is None          # data symbols are not text
    assert ksyms.module(0xffffffff81100000) == "vmlinux"     # ... but inside vmlinux
    assert ksyms.lookup(0xffffffff82000100) is None          # _einittext
    assert ksyms.module(0xffffffff80000000) is None


def test_kernel_modules(ksyms):
    assert ksyms.lookup(0xffffffffc0001000) == ("mymod", "mod_fn", 0xffffffffc0001000)
    assert ksyms.lookup(0xffffffffc0001110) == ("mymod", "mod_fn2", 0xffffffffc0001100)
    # /proc/modules says where mymod ends (base 0xffffffffc0001000, 8192 bytes)
    assert ksyms.lookup(0xffffffffc0002fff) == ("mymod", "mod_fn2", 0xffffffffc0001100)
    assert ksyms.lookup(0xffffffffc0003000) is None
    assert ksyms.module(0xffffffffc0001234) == "mymod"
    assert ksyms.module(0xffffffffc0003000) is None
    bpf = ksyms.lookup(0xffffffffc0100020)
    assert bpf == ("bpf", "bpf_prog_0123456789abcdef_foo", 0xffffffffc0100000)
    # no extent known: KSYM_TAIL past the last symbol, then nothing
    assert ksyms.lookup(0xffffffffc0100000 + KSYM_TAIL - 1) is not None
    assert ksyms.lookup(0xffffffffc0100000 + KSYM_TAIL) is None
    assert ksyms.lookup((1 << 64) - 1) is None


def test_kernel_module_without_extent():
    ks = KernelSymbols.from_text(KALLSYMS)  # no /proc/modules
    assert ks.lookup(0xffffffffc0001100 + KSYM_TAIL - 1)[1] == "mod_fn2"
    assert ks.lookup(0xffffffffc0001100 + KSYM_TAIL) is None


def test_kernel_formatting(ksyms):
    class K(SystemSymbolizer):
        kernel = ksyms
    syms = K()
    assert addr2str(0xffffffff81000110, syms) == "vmlinux`helper+0x10"
    assert addr2str(0xffffffffc0001000, syms) == "mymod`mod_fn"
    assert addr2str(0xffffffff81100000, syms) == "vmlinux`0xffffffff81100000"
    assert addr2str(0xffffffff00000000, syms) == "0xffffffff00000000"
    assert format_stack([0xffffffff81000104, 0xffffffffc0001101, 0], syms, indent=2) == \
        "\n  vmlinux`helper+0x4\n  mymod`mod_fn2+0x1\n"


def test_kernel_kptr_restrict():
    # an unprivileged reader sees every address as 0: no symbols, no false hits
    text = re.sub(r"^[0-9a-f]{16}", "0" * 16, KALLSYMS, flags=re.M)
    ks = KernelSymbols.from_text(text)
    assert len(ks) == 0 and ks.lookup(0) is None and ks.module(0x1000) is None


def test_kernel_slow_path_same_answers(ksyms):
    # narrow addresses and a malformed line force the line-by-line parser
    odd = KALLSYMS.replace("ffffffff81000100 t helper\n", "ffffffff81000100 t helper\nbogus\n")
    ks = KernelSymbols.from_text(odd, MODULES)
    for a in (0xffffffff81000150, 0xffffffff81000200, 0xffffffffc0002fff, 0xffffffffc0003000):
        assert ks.lookup(a) == ksyms.lookup(a)
    ks32 = KernelSymbols.from_text("c1000000 T _text\nc1000010 t foo\nc1000100 T _etext\n")
    assert ks32.lookup(0xc1000020) == ("vmlinux", "foo", 0xc1000010)
    assert ks32.lookup(0xc1000100) is None


def test_kernel_unsorted_vmlinux():
    ks = KernelSymbols.from_text("ffffffff81000100 t b\nffffffff81000000 t a\n")
    assert ks.lookup(0xffffffff81000050) == ("vmlinux", "a", 0xffffffff81000000)
    assert ks.lookup(0xffffffff81000150) == ("vmlinux", "b", 0xffffffff81000100)


def test_kernel_table_is_lazy():
    syms = SystemSymbolizer(kallsyms="/nonexistent/kallsyms")
    assert not syms.kernel_loaded
    syms.usym(os.getpid(), 0)
    syms.umod(os.getpid(), 0)
    assert not syms.kernel_loaded  # user lookups never read kallsyms
    assert syms.ksym(0xffffffff81000000) is None  # unreadable: no symbols, no exception
    assert syms.kmod(0xffffffff81000000) is None
    assert syms.kernel_loaded


# --------------------------------------------------------------------------
# Kernel: the running system
# --------------------------------------------------------------------------

def _kallsyms_text() -> str:
    try:
        with open("/proc/kallsyms") as f:
            text = f.read()
    except OSError as e:
        pytest.skip(f"/proc/kallsyms is not readable: {e}")
    if not re.search(r"^0*[1-9a-f][0-9a-f]* [tT] ", text, re.M):
        pytest.skip("kallsyms addresses are hidden (kptr_restrict)")
    return text


def _first_text_symbol_at(text: str, addr: int) -> str:
    for m in re.finditer(r"^%016x [tTwW] (\S+)" % addr, text, re.M):
        return m.group(1)
    raise AssertionError("no symbol at 0x%x" % addr)


def test_kallsyms_load_time():
    _kallsyms_text()
    table = KernelSymbols.load()
    lines = open("/proc/kallsyms", "rb").read().count(b"\n")
    print("\nkallsyms: %d lines, %d text symbols, first load %.3f s"
          % (lines, len(table), table.load_seconds))
    assert len(table) > 1000
    assert table.load_seconds < 5.0  # a sanity bound, not a benchmark


@pytest.mark.parametrize("name", ["do_sys_openat2", "schedule"])
def test_kernel_well_known_symbol(name):
    text = _kallsyms_text()
    m = re.search(r"^([0-9a-f]+) [tTwW] %s$" % name, text, re.M)
    if m is None:
        pytest.skip(f"{name} is not in this kernel")
    addr = int(m.group(1), 16)
    first = _first_text_symbol_at(text, addr)
    syms = SystemSymbolizer()
    assert syms.ksym(addr) == ("vmlinux", first, addr)
    assert syms.ksym(addr + 0x10) == ("vmlinux", first, addr)
    assert syms.kmod(addr + 0x10) == "vmlinux"
    assert addr2str(addr + 0x10, syms) == "vmlinux`%s+0x10" % first


def test_kernel_module_attribution():
    text = _kallsyms_text()
    hits = re.findall(r"^([0-9a-f]+) [tTwW] (\S+)\t\[(\S+)\]$", text, re.M)
    if not hits:
        pytest.skip("no module symbols in kallsyms (no modules, bpf programs or trampolines)")
    # bpf programs come and go as other tests run: resolve against this very text
    table = KernelSymbols.from_text(text)

    class Same(SystemSymbolizer):
        kernel = table
    syms = Same()
    for a, name, mod in hits[:50]:
        addr = int(a, 16)
        hit = syms.ksym(addr)
        assert hit is not None and hit[2] == addr
        assert hit[1] == _first_text_symbol_at(text, addr)
        if hit[1] == name:  # not an alias of a symbol elsewhere
            assert hit[0] == mod
        assert syms.kmod(addr) == hit[0]
        assert addr2str(addr + 1, syms) == "%s`%s+0x1" % (hit[0], hit[1])


# --------------------------------------------------------------------------
# ELF: synthetic images
# --------------------------------------------------------------------------

STT_OBJECT, STT_FUNC = 1, 2
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2


def make_elf(symbols, *, elf32=False, big=False, vaddr=0x400000, text_size=0x400) -> bytes:
    """A minimal ELF with one PT_LOAD, .text, .symtab, .strtab and .shstrtab.

    `symbols` are (name, offset in .text, size, type, bind); .text sits at
    file offset 0x1000 and address vaddr + 0x1000.
    """
    e = ">" if big else "<"
    strtab = b"\0"
    syms = [b""]
    sym_fmt = e + ("IIIBBH" if elf32 else "IBBHQQ")
    syms[0] = struct.pack(sym_fmt, *([0] * 6))
    for name, off, size, typ, bind in symbols:
        noff = len(strtab)
        strtab += name.encode() + b"\0"
        value = vaddr + 0x1000 + off
        info = (bind << 4) | typ
        if elf32:
            syms.append(struct.pack(sym_fmt, noff, value, size, info, 0, 1))
        else:
            syms.append(struct.pack(sym_fmt, noff, info, 0, 1, value, size))
    symtab = b"".join(syms)
    shstr = b"\0.text\0.symtab\0.strtab\0.shstrtab\0"
    text = b"\xcc" * text_size
    # layout: ehdr, phdr | .text at 0x1000 | symtab | strtab | shstrtab | shdrs
    body = bytearray(0x1000) + text
    symoff = len(body); body += symtab
    stroff = len(body); body += strtab
    shsoff = len(body); body += shstr
    while len(body) % 8:
        body += b"\0"
    shoff = len(body)
    ehsize, phsize, shsize = (52, 32, 40) if elf32 else (64, 56, 64)
    sh_fmt = e + ("IIIIIIIIII" if elf32 else "IIQQQQIIQQ")
    sections = [
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (1, 1, 6, vaddr + 0x1000, 0x1000, len(text), 0, 0, 16, 0),          # .text
        (7, 2, 0, 0, symoff, len(symtab), 3, 1, 8, len(syms[0])),          # .symtab
        (15, 3, 0, 0, stroff, len(strtab), 0, 0, 1, 0),                    # .strtab
        (23, 3, 0, 0, shsoff, len(shstr), 0, 0, 1, 0),                     # .shstrtab
    ]
    body += b"".join(struct.pack(sh_fmt, *s) for s in sections)
    ident = b"\x7fELF" + bytes([1 if elf32 else 2, 2 if big else 1, 1]) + bytes(9)
    if elf32:
        ehdr = struct.pack(e + "16sHHIIIIIHHHHHH", ident, 3, 3, 1, 0, ehsize, shoff, 0,
                           ehsize, phsize, 1, shsize, len(sections), 4)
        phdr = struct.pack(e + "IIIIIIII", 1, 0, vaddr, vaddr, len(body), len(body), 5, 0x1000)
    else:
        ehdr = struct.pack(e + "16sHHIQQQIHHHHHH", ident, 3, 62, 1, 0, ehsize, shoff, 0,
                           ehsize, phsize, 1, shsize, len(sections), 4)
        phdr = struct.pack(e + "IIQQQQQQ", 1, 5, 0, vaddr, vaddr, len(body), len(body), 0x1000)
    body[0:len(ehdr)] = ehdr
    body[ehsize:ehsize + len(phdr)] = phdr
    return bytes(body)


SYMS = [
    ("__getpid", 0x100, 0x10, STT_FUNC, STB_GLOBAL),
    ("getpid", 0x100, 0x10, STT_FUNC, STB_WEAK),
    ("local_getpid", 0x100, 0x10, STT_FUNC, STB_LOCAL),
    ("a_table", 0x200, 0x20, STT_OBJECT, STB_GLOBAL),
    ("table_fn", 0x200, 0x20, STT_FUNC, STB_LOCAL),
    ("asm_entry", 0x300, 0, STT_FUNC, STB_GLOBAL),     # unsized: up to the next symbol
    ("asm_next", 0x380, 0, STT_FUNC, STB_GLOBAL),      # unsized: up to the end of .text
    ("big", 0x000, 0x80, STT_FUNC, STB_GLOBAL),
    ("inner", 0x010, 0x10, STT_FUNC, STB_LOCAL),       # nested in big
]


@pytest.mark.parametrize("elf32,big", [(False, False), (True, True), (True, False)])
def test_elf_lookup_rules(elf32, big):
    elf = ElfSymbols.from_bytes(make_elf(SYMS, elf32=elf32, big=big))
    base = 0x401000
    assert elf.has_symtab
    # Solaris libproc's choice among aliases: globals over locals, then fewer
    # leading underscores (getpid over __getpid), functions over objects
    assert elf.lookup(base + 0x100) == ("getpid", base + 0x100)
    assert elf.lookup(base + 0x10f) == ("getpid", base + 0x100)
    assert elf.lookup(base + 0x110) is None                      # the gap after a sized symbol
    assert elf.lookup(base + 0x210) == ("table_fn", base + 0x200)
    assert elf.lookup(base + 0x37f) == ("asm_entry", base + 0x300)
    assert elf.lookup(base + 0x3ff) == ("asm_next", base + 0x380)
    assert elf.lookup(base + 0x400) is None                      # past .text
    assert elf.lookup(base + 0x14) == ("inner", base + 0x10)
    assert elf.lookup(base + 0x24) == ("big", base)              # after inner, still in big
    assert elf.lookup(base - 1) is None
    assert elf.file_to_vaddr(0x1100) == base + 0x100


def test_elf_rejects_garbage():
    with pytest.raises(ElfError):
        ElfSymbols.from_bytes(b"#!/bin/sh\necho hi\n")
    image = make_elf(SYMS)
    with pytest.raises((ElfError, struct.error)):
        ElfSymbols.from_bytes(image[:len(image) - 100])  # truncated section table


def test_elf_stripped():
    image = make_elf([])
    elf = ElfSymbols.from_bytes(image)
    assert len(elf) == 0 and elf.lookup(0x401100) is None


# --------------------------------------------------------------------------
# User: the test process itself
# --------------------------------------------------------------------------

def _addr(fn) -> int:
    return ctypes.cast(fn, ctypes.c_void_p).value


def _mapping_of(pid: int, addr: int):
    for m in read_maps("/proc/%d/maps" % pid):
        if m.start <= addr < m.end:
            return m
    raise AssertionError("0x%x is not mapped" % addr)


def test_usym_libc_getpid():
    libc = ctypes.CDLL("libc.so.6")
    addr = _addr(libc.getpid)
    syms = SystemSymbolizer()
    pid = os.getpid()
    obj, name, start = syms.usym(pid, addr)
    assert obj == "libc.so.6" and "getpid" in name and start == addr
    assert syms.usym(pid, addr + 4) == (obj, name, addr)
    assert syms.umod(pid, addr) == "libc.so.6"
    assert uaddr2str(pid, addr + 4, syms) == "libc.so.6`%s+0x4" % name
    assert format_ustack(pid, [addr + 4, 0], syms, indent=2) == \
        "\n  libc.so.6`%s+0x4\n" % name
    assert not syms.kernel_loaded


def test_usym_python_api():
    # Py_Initialize lives in the python executable or in libpython
    addr = _addr(ctypes.pythonapi.Py_Initialize)
    pid = os.getpid()
    obj, name, start = SystemSymbolizer().usym(pid, addr + 3)
    assert obj == os.path.basename(_mapping_of(pid, addr).path)
    assert name == "Py_Initialize" and start == addr


def test_usym_anonymous_memory_and_garbage():
    syms = SystemSymbolizer()
    pid = os.getpid()
    buf = ctypes.create_string_buffer(1 << 20)  # malloc'd: [heap] or anonymous
    addr = ctypes.addressof(buf)
    assert syms.usym(pid, addr) is None
    assert syms.umod(pid, addr) is None
    for bad_pid, bad_addr in ((pid, 0), (pid, (1 << 64) - 1), (pid, -5), (-1, 0x1000),
                              (0, 0x1000), (1 << 40, 0x1000)):
        assert syms.usym(bad_pid, bad_addr) is None
        assert syms.umod(bad_pid, bad_addr) is None


def test_usym_vdso():
    pid = os.getpid()
    vdso = [m for m in read_maps("/proc/self/maps") if m.path == "[vdso]"]
    if not vdso:
        pytest.skip("no vDSO mapped")
    m = vdso[0]
    try:
        with open("/proc/self/mem", "rb") as f:
            f.seek(m.start)
            image = f.read(m.end - m.start)
    except OSError as e:
        pytest.skip(f"cannot read the vDSO: {e}")
    elf = ElfSymbols.from_bytes(image)
    assert len(elf)
    v = elf.starts[0]
    name, start = elf.lookup(v)
    syms = SystemSymbolizer()
    assert syms.usym(pid, m.start + v + 1) == ("[vdso]", name, m.start + start)
    assert syms.umod(pid, m.start + v) == "[vdso]"


def test_exited_process():
    libc_getpid = _addr(ctypes.CDLL("libc.so.6").getpid)
    p = subprocess.Popen(["sleep", "0"])
    p.wait()
    syms = SystemSymbolizer()
    assert syms.usym(p.pid, libc_getpid) is None
    assert syms.umod(p.pid, libc_getpid) is None
    assert uaddr2str(p.pid, libc_getpid, syms) == "0x%x" % libc_getpid


def test_caches():
    libc = ctypes.CDLL("libc.so.6")
    addrs = [_addr(getattr(libc, f)) for f in ("getpid", "malloc", "qsort", "printf")]
    syms = SystemSymbolizer()
    pid = os.getpid()
    first = [syms.usym(pid, a) for a in addrs]
    assert all(h is not None and h[0] == "libc.so.6" for h in first)
    stats = dict(syms.stats)
    assert stats["maps_read"] == 1 and stats["elf_parsed"] == 1
    assert [syms.usym(pid, a) for a in addrs] == first
    assert syms.stats == stats                       # nothing read again
    syms.invalidate(pid)
    assert [syms.usym(pid, a) for a in addrs] == first
    assert syms.stats["maps_read"] == 2              # maps again ...
    assert syms.stats["elf_parsed"] == 1             # ... the ELF table is kept
    syms.invalidate()
    assert syms.usym(pid, addrs[0]) == first[0]


# --------------------------------------------------------------------------
# User: compiled programs (PIE, non-PIE, stripped, deleted)
# --------------------------------------------------------------------------

PROG = r"""
#include <stdio.h>
#include <unistd.h>
static int __attribute__((noinline)) local_fn(int x) { return x * 3 + 1; }
int __attribute__((noinline)) global_fn(int x) { return local_fn(x) + 2; }
int main(void) {
    char c = 0;
    printf("%lx %lx\n", (unsigned long)&local_fn, (unsigned long)&global_fn);
    fflush(stdout);
    if (read(0, &c, 1) < 0) return 1;
    return global_fn(c) & 1;
}
"""


@pytest.fixture(scope="module")
def cc_dir(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("prog")
    (d / "prog.c").write_text(PROG)
    for name, flags in (("pie", ["-fPIE", "-pie"]), ("nopie", ["-fno-PIE", "-no-pie"])):
        r = subprocess.run([cc, "-O1", "-g0", *flags, "-o", str(d / name), str(d / "prog.c")],
                           capture_output=True, text=True)
        if r.returncode:
            pytest.skip(f"cannot compile: {r.stderr.strip()}")
    if shutil.which("strip"):
        shutil.copy(d / "pie", d / "stripped")
        subprocess.run(["strip", str(d / "stripped")], check=True)
    return d


class Running:
    """A compiled program blocked on stdin, with its two function addresses."""

    def __init__(self, path):
        self.p = subprocess.Popen([str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        local, glob = self.p.stdout.readline().split()
        self.pid, self.local_fn, self.global_fn = self.p.pid, int(local, 16), int(glob, 16)

    def stop(self):
        self.p.stdin.close()
        self.p.wait()
        self.p.stdout.close()


@pytest.mark.parametrize("variant", ["pie", "nopie"])
def test_compiled_static_function(cc_dir, variant):
    run = Running(cc_dir / variant)
    try:
        syms = SystemSymbolizer()
        assert syms.usym(run.pid, run.local_fn) == (variant, "local_fn", run.local_fn)
        assert syms.usym(run.pid, run.global_fn + 2) == (variant, "global_fn", run.global_fn)
        assert syms.umod(run.pid, run.local_fn) == variant
    finally:
        run.stop()


def test_compiled_stripped(cc_dir):
    if not (cc_dir / "stripped").exists():
        pytest.skip("no strip(1)")
    run = Running(cc_dir / "stripped")
    try:
        syms = SystemSymbolizer(debug_dirs=())
        assert syms.usym(run.pid, run.local_fn) is None  # no .symtab, not in .dynsym
        assert syms.umod(run.pid, run.local_fn) == "stripped"
        assert uaddr2str(run.pid, run.local_fn, syms) == "stripped`0x%x" % run.local_fn
    finally:
        run.stop()


def test_compiled_deleted_and_exited(cc_dir, tmp_path):
    exe = tmp_path / "gone"
    shutil.copy(cc_dir / "pie", exe)
    run = Running(exe)
    try:
        exe.unlink()
        syms = SystemSymbolizer()
        if os.geteuid() == 0:  # map_files needs CAP_SYS_ADMIN
            assert syms.usym(run.pid, run.local_fn) == ("gone", "local_fn", run.local_fn)
        assert syms.umod(run.pid, run.local_fn) == "gone"
        # preload() keeps what it read: the process may exit before printing
        kept = SystemSymbolizer()
        assert kept.preload(run.pid)
        expect = kept.usym(run.pid, run.global_fn)
    finally:
        run.stop()
    assert kept.usym(run.pid, run.global_fn) == expect
    kept.invalidate(run.pid)
    assert kept.usym(run.pid, run.global_fn) is None
    assert not kept.preload(run.pid)


def test_maps_reread_after_dlopen():
    import ctypes.util
    pid = os.getpid()
    mapped = {os.path.basename(m.path) for m in read_maps("/proc/self/maps")}
    for lib, fn in (("bz2", "BZ2_bzlibVersion"), ("z", "zlibVersion"), ("m", "cos"),
                    ("crypt", "crypt"), ("util", "openpty")):
        path = ctypes.util.find_library(lib)
        if path and os.path.basename(path) not in mapped:
            break
    else:
        pytest.skip("no library left to dlopen")
    syms = SystemSymbolizer(maps_retry=0.0)
    syms.umod(pid, 0x1000)  # cache the maps before the dlopen
    addr = _addr(getattr(ctypes.CDLL(path), fn))
    assert syms.umod(pid, addr) == os.path.basename(_mapping_of(pid, addr).path)
    assert fn in syms.usym(pid, addr)[1]
