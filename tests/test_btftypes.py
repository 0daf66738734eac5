"""Kernel types for the checker (lang.btftypes) and the D library (lang.dlib).

BTF in, D types out: a hand-built BTF blob pins the conversion rules (offsets, bit-fields,
recursion, typedefs, enums, prototypes); the running kernel's BTF, where there is one, checks
the real thing; D programs that use the library check through lang.check as DTrace would.
"""

from __future__ import annotations

import os
import struct

import pytest

from pydtrace.bpf.btf import BTF
from pydtrace.lang import ast as A
from pydtrace.lang import dlib
from pydtrace.lang import types as T
from pydtrace.lang.btftypes import BTFStruct, KernelTypes, _raw_has_name
from pydtrace.lang.check import FieldSym, check
from pydtrace.lang.errors import DError
from pydtrace.lang.parser import parse

VMLINUX = "/sys/kernel/btf/vmlinux"
vmlinux = pytest.mark.skipif(not os.path.exists(VMLINUX), reason="kernel without BTF")


# ---------------------------------------------------------------- a BTF blob by hand


class Blob:
    """Build BTF: add() returns the new type id; bytes() the whole blob.  A split blob
    (a module's) numbers its types after `first_id - 1` and its strings after `str_base`."""

    def __init__(self, first_id: int = 1, str_base: int = 0):
        self.strings = bytearray(b"\0")
        self.types = bytearray()
        self.n = first_id - 1
        self.str_base = str_base

    def s(self, name: str) -> int:
        if not name:
            return 0
        off = self.str_base + len(self.strings)
        self.strings += name.encode() + b"\0"
        return off

    def add(self, name: str, kind: int, vlen: int, size_type: int, extra: bytes = b"",
            kflag: bool = False) -> int:
        info = (kind << 24) | vlen | (1 << 31 if kflag else 0)
        self.types += struct.pack("<III", self.s(name), info, size_type) + extra
        self.n += 1
        return self.n

    def bytes(self) -> bytes:
        hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(self.types), len(self.types),
                          len(self.strings))
        return hdr + bytes(self.types) + bytes(self.strings)


def sample_btf() -> bytes:
    b = Blob()
    i_int = b.add("int", 1, 0, 4, struct.pack("<I", (1 << 24) | 32))           # 1
    i_char = b.add("char", 1, 0, 1, struct.pack("<I", 8))                      # 2
    node = b.n + 1                                                              # 3
    members = b"".join((
        struct.pack("<III", b.s("next"), node + 1, 0),
        struct.pack("<III", b.s("v"), i_int, 64),
        struct.pack("<III", b.s("flags"), i_int, (3 << 24) | 96),
        struct.pack("<III", b.s("name"), node + 2, 128),
    ))
    assert b.add("node", 4, 4, 24, members, kflag=True) == node
    b.add("", 2, 0, node)                                                       # 4: node *
    b.add("", 3, 0, 0, struct.pack("<III", i_char, i_int, 8))                   # 5: char[8]
    b.add("node_t", 8, 0, node)                                                 # 6
    b.add("color", 6, 2, 4, struct.pack("<Ii", b.s("RED"), 0) +
          struct.pack("<Ii", b.s("BLUE"), 5), kflag=True)                       # 7
    proto = b.add("", 13, 2, i_int, struct.pack("<II", b.s("a"), 4) +
                  struct.pack("<II", 0, 0))                                     # 8
    b.add("walk", 12, 1, proto)                                                 # 9
    b.add("opaque", 7, 0, 0)                                                    # 10: fwd
    b.add("u", 5, 2, 8, struct.pack("<III", b.s("i"), i_int, 0) +
          struct.pack("<III", b.s("p"), 4, 0))                                  # 11
    b.add("u32", 8, 0, 13)                                                      # 12
    b.add("unsigned int", 1, 0, 4, struct.pack("<I", 32))                      # 13
    b.add("cpu_var", 14, 0, i_int, struct.pack("<I", 1))                       # 14: VAR
    return b.bytes()


def module_btf(base: bytes) -> bytes:
    """A module's split BTF on sample_btf(): typedef mod_t (int), struct modstruct."""
    str_len = struct.unpack_from("<I", base, 20)[0]
    b = Blob(first_id=15, str_base=str_len)
    b.add("mod_t", 8, 0, 1)                                                     # 15
    b.add("modstruct", 4, 1, 8, struct.pack("<III", b.s("owner"), 4, 0))        # 16
    return b.bytes()


@pytest.fixture
def fake(tmp_path):
    """KernelTypes over the sample blob and a small kallsyms; no real kernel files."""
    (tmp_path / "btf").mkdir()
    (tmp_path / "btf" / "vmlinux").write_bytes(sample_btf())
    (tmp_path / "kallsyms").write_text(
        "ffffffff81000000 T _stext\n"
        "ffffffff81001000 T walk\n"
        "ffffffff82000000 D cpu_var\n"
        "ffffffff82000100 B plain_var\n"
        "0000000000000000 D zero_var\n"
        "ffffffffc0001000 t modfunc\t[mymod]\n")
    return KernelTypes(str(tmp_path / "btf"), str(tmp_path / "kallsyms"))


def test_struct_layout_bitfields_and_recursion(fake):
    node = fake.lookup("struct", "node")
    assert isinstance(node, BTFStruct) and node.size == 24
    nxt = node.member("next")
    assert nxt.offset_bits == 0 and isinstance(nxt.type, T.PtrType)
    assert nxt.type.target is node                          # recursive: one object
    assert node.member("v").offset_bits == 64 and node.member("v").type == T.INT
    flags = node.member("flags")
    assert (flags.offset_bits, flags.bits) == (96, 3)
    assert flags.type.is_bitfield() and flags.type.signed and flags.type.size == 1
    name = node.member("name")
    assert name.type.name() == "char [8]" and name.offset_bits == 128
    assert name.type.is_strcompat()
    assert node.align == 8 and node.complete
    assert fake.lookup("struct", "node") is node             # cached
    assert T.PtrType(node).name() == "struct node *"


def test_typedef_enum_union_proto_forward(fake):
    t = fake.lookup("typedef", "node_t")
    assert t.name() == "node_t" and t.resolved is fake.lookup("struct", "node")
    assert fake.lookup("typedef", "u32").resolved.name() == "unsigned int"
    assert fake.lookup("typedef", "int") == T.INT            # base types are type names too
    e = fake.lookup("enum", "color")
    assert e.values == {"RED": 0, "BLUE": 5} and e.size == 4
    u = fake.lookup("union", "u")
    assert u.sou == "union" and u.size == 8 and u.member("p").offset_bits == 0
    assert fake.lookup("struct", "u") is None                # a union is not a struct
    assert fake.lookup("struct", "opaque") is None           # a forward: TypeTable makes one
    assert not T.TypeTable(fake).tag("struct", "opaque").complete
    assert fake.lookup("struct", "missing") is None
    assert fake.lookup("typedef", "missing_t") is None


def test_symbols_from_kallsyms_typed_from_btf(fake):
    t, addr = fake.symbol("walk")
    assert addr == 0xffffffff81001000
    assert isinstance(t, T.FuncType) and t.ret == T.INT and t.varargs
    assert t.params[0].name() == "struct node *"
    assert fake.symbol("cpu_var") == (T.INT, 0xffffffff82000000)        # BTF VAR type
    assert fake.symbol("plain_var") == (T.INT, 0xffffffff82000100)      # no type: int
    assert fake.symbol("zero_var") is None                              # kptr_restrict
    assert fake.symbol("nope") is None
    assert fake.symbol("modfunc") == (T.INT, 0xffffffffc0001000)        # any module
    assert fake.symbol("modfunc", "mymod")[1] == 0xffffffffc0001000
    assert fake.symbol("modfunc", "vmlinux") is None
    assert fake.symbol("walk", "mymod") is None


def test_typedef_names_without_indexing(fake):
    assert fake.has_typedef("node_t") and "u32" in fake and "int" in fake
    assert not fake.has_typedef("node") and "walk" not in fake and "y" not in fake
    assert not fake.loaded                                   # the raw bytes answered
    blob = sample_btf()
    assert _raw_has_name(blob, "u32", (8,)) and not _raw_has_name(blob, "color", (8,))


def test_module_types(fake, tmp_path):
    (tmp_path / "btf" / "mymod").write_bytes(module_btf(sample_btf()))
    k = KernelTypes(str(tmp_path / "btf"), str(tmp_path / "kallsyms"))
    assert "mod_t" in k and not k.loaded                     # raw search of the split blob
    assert k.lookup("typedef", "mod_t").resolved == T.INT
    ms = k.lookup("struct", "modstruct", "mymod")
    assert ms.size == 8 and ms.member("owner").type.target is k.lookup("struct", "node")
    assert k.lookup("struct", "modstruct") is ms            # unscoped: every module
    assert k.lookup("struct", "modstruct", "vmlinux") is None
    assert k.lookup("struct", "node", "mymod") is None      # the module's own types only


def test_nothing_is_read_until_asked(tmp_path):
    k = KernelTypes(str(tmp_path / "none"), str(tmp_path / "none"))
    assert k.lookup("struct", "task_struct") is None and k.symbol("x") is None
    assert "u32" not in k and k.modules() == []


def test_checker_uses_offsets(fake):
    prog = parse("BEGIN { trace(((struct node *)arg0)->name[1]); "
                 "trace(((struct node *)arg0)->next->flags); }", is_file=False)
    checked = check(prog, types=fake)
    exprs = [n for c in checked.clauses for n in _walk(c.body) if isinstance(n, A.Member)]
    syms = {m.name: m.sym for m in exprs}
    assert isinstance(syms["name"], FieldSym) and syms["name"].offset == 16
    assert syms["next"].offset == 0
    assert (syms["flags"].offset, syms["flags"].bit_offset, syms["flags"].bits) == (12, 96, 3)


def _walk(node):
    if isinstance(node, list):
        for n in node:
            yield from _walk(n)
        return
    if not isinstance(node, A.Node):
        return
    yield node
    for name in getattr(node, "__dataclass_fields__", {}):
        if name in ("type", "value", "sym", "loc"):
            continue
        yield from _walk(getattr(node, name))


# ---------------------------------------------------------------- the running kernel


@vmlinux
def test_task_struct_matches_the_btf_reader():
    k = KernelTypes()
    btf = BTF.load()
    ts = k.lookup("struct", "task_struct")
    (tid,) = btf.find_type("task_struct", 4)
    assert ts.size == btf.type(tid).size
    for name in ("pid", "tgid", "comm", "real_parent", "cred", "mm", "__state", "thread_info"):
        assert ts.member(name).offset_bits == btf.member(tid, name).bit_offset, name
    assert ts.member("comm").type.name() == "char [16]"
    assert ts.member("real_parent").type.target is ts
    assert ts.member("pid").type.name() == "pid_t" and ts.member("pid").type.is_signed()
    assert k.lookup("typedef", "u32").resolved.name() == "unsigned int"
    assert k.lookup("struct", "no_such_struct_xyz") is None
    # an anonymous member is searched through, as C does
    assert k.lookup("struct", "dentry").member("d_name").type.name() == "struct qstr"


@vmlinux
def test_whole_library_checks_against_this_kernel():
    k = KernelTypes()
    words = set()
    for f in dlib._library():
        for c in f.chunks:
            words |= c.defines
    items = dlib.library_items(" ".join(sorted(words)), type_names=dlib.TypeNames(k))
    checked = check(A.Program(items=items), types=k)
    for name in ("curpsinfo", "curlwpsinfo", "fds", "EPERM", "R_SP", "SIGKILL",
                 "DTRACEFLT_BADADDR", "AF_INET6"):
        assert name in checked.inlines, name


# ---------------------------------------------------------------- the D library


def lib_check(text: str, types=None):
    names = dlib.TypeNames(types or frozenset())
    prog = parse(text, is_file=False, typedef_names=names)
    items = dlib.library_items(text, type_names=names)
    return check(A.Program(items=items + prog.items), types=types)


def traced_values(checked) -> list:
    out = []
    for c in checked.clauses:
        for s in c.body:
            out.append(s.expr.args[0].value)
    return out


@pytest.mark.parametrize("name, value", [
    ("EPERM", 1), ("ENOENT", 2), ("EAGAIN", 11), ("EWOULDBLOCK", 11), ("ENOSYS", 38),
    ("EOPNOTSUPP", 95), ("ENOTSUP", 95), ("ENOTSUPP", 524), ("SIGKILL", 9), ("SIGCHLD", 17),
    ("SIGSYS", 31), ("SIGRTMIN", 32), ("DTRACEFLT_UNKNOWN", 0), ("DTRACEFLT_BADADDR", 1),
    ("DTRACEFLT_DIVZERO", 4), ("DTRACEFLT_TUPOFLOW", 8), ("DTRACEFLT_BADSTACK", 9),
    ("R_PC", 16), ("R_SP", 19), ("R_R0", 10), ("R_R1", 5), ("R_EFL", 18), ("R_GS", 24),
    ("R_TRAPNO", 25), ("AF_INET", 2), ("AF_INET6", 10), ("ARPHRD_ETHER", 1),
    ("ARPHRD_INFINIBAND", 32), ("IPPROTO_TCP", 6), ("O_CREAT", 64), ("B_WRITE", 0x100),
    ("PR_MODEL_LP64", 2), ("SONPROC", 6), ("PIDTYPE_PGID", 2), ("CLD_EXITED", 1),
])
def test_library_constants(name, value):
    checked = lib_check(f"BEGIN {{ trace({name}); }}")
    assert traced_values(checked) == [value]


def test_only_needed_declarations_are_read():
    assert dlib.library_items("BEGIN { exit(0); }") == []
    items = dlib.library_items("BEGIN { trace(R_SP); }")
    names = [i.name for i in items if isinstance(i, A.Inline)]
    assert names == ["R_RSP", "R_SP"]                        # R_SP is defined as R_RSP
    assert dlib.library_items("/* EPERM */ BEGIN { trace(\"EPERM\"); }") == []


def test_library_clash_is_reported_as_dtrace_does():
    with pytest.raises(DError) as e:
        lib_check("inline int EPERM = 3; BEGIN { trace(EPERM); }")
    assert e.value.tag == "D_DECL_IDRED"
    with pytest.raises(DError) as e:
        lib_check("BEGIN { EPERM = 3; }")
    assert e.value.tag == "D_OP_LVAL"


def test_library_typedefs_are_type_names():
    assert {"psinfo_t", "lwpsinfo_t", "cpuinfo_t", "fileinfo_t", "timestruc_t",
            "dprojid_t"} <= dlib.typedef_names()
    names = dlib.TypeNames()
    assert "dprojid_t" in names and "EPERM" not in names and "y" not in names


def test_defined_names():
    assert dlib.defined_names("inline int X = 1;") == ({"X"}, set())
    assert dlib.defined_names("inline fileinfo_t fds[int fd] = xlate <fileinfo_t> (fd);") \
        == ({"fds"}, set())
    assert dlib.defined_names("typedef struct ps { int a; } ps_t;") == ({"ps", "ps_t"}, {"ps_t"})
    assert dlib.defined_names("typedef id_t taskid_t;") == ({"taskid_t"}, {"taskid_t"})
    assert dlib.defined_names("enum e { A, B = 2 };") == ({"e", "A", "B"}, set())
    assert dlib.defined_names("translator psinfo_t < struct task_struct *T > { a = 1; };") \
        == ({"psinfo_t"}, set())


@vmlinux
def test_procfs_translators_read_task_struct():
    k = KernelTypes()
    btf = BTF.load()
    (tid,) = btf.find_type("task_struct", 4)
    checked = lib_check("BEGIN { trace(curpsinfo->pr_ppid); trace(curlwpsinfo->pr_name[0]); }",
                        types=k)
    members = [n for c in checked.clauses for n in _walk(c.body) if isinstance(n, A.Member)]
    offs = {m.name: m.sym.offset for m in members}
    assert offs["real_parent"] == btf.member(tid, "real_parent").offset
    assert offs["tgid"] == btf.member(tid, "tgid").offset
    assert offs["comm"] == btf.member(tid, "comm").offset
    with pytest.raises(DError) as e:
        lib_check("BEGIN { trace(curpsinfo->pr_size); }", types=k)
    assert e.value.tag == "D_XLATE_NOCONV"
