"""BTF reader: vmlinux lookups used by the compiler, and a round trip of the BTF we build."""

from __future__ import annotations

import os
import time

import pytest

from pydtrace.bpf.btf import BTF, BTFType, Kind, func_info_btf, load_btf, task_path

vmlinux = pytest.mark.skipif(not os.path.exists("/sys/kernel/btf/vmlinux"),
                             reason="no /sys/kernel/btf/vmlinux (kernel without BTF)")


def test_parse_built_blob():
    btf = BTF(func_info_btf(["main", "cb"]))
    assert btf.count == 4
    assert btf.type(1).kind == Kind.INT and btf.type(1).signed and btf.type(1).bits == 32
    assert btf.type(2).kind == Kind.FUNC_PROTO and btf.type(2).type == 1
    assert btf.find_type("cb") == [4]
    assert btf.find_type("cb", Kind.STRUCT) == []
    assert btf.type_str(3) == "main: int (*)(void)"
    assert btf.type(0).name == "void"


@vmlinux
def test_load_is_cached_and_fast():
    start = time.perf_counter()
    btf = BTF.load()
    assert BTF.load() is btf
    assert btf.count > 10000
    assert time.perf_counter() - start < 5  # ~0.15 s measured; generous for a busy CI


@vmlinux
def test_task_struct_members():
    btf = BTF.load()
    (tid,) = btf.find_type("task_struct", Kind.STRUCT)
    ts = btf.type(tid)
    assert isinstance(ts, BTFType) and ts.size > 1000
    comm = btf.member(tid, "comm")
    assert btf.type_str(comm.type) == "char[16]"
    assert btf.size_of(comm.type) == 16
    assert btf.type_str(btf.member(tid, "real_parent").type) == "struct task_struct *"
    pid = btf.member(tid, "pid")
    assert btf.type_str(pid.type) == "pid_t"
    assert btf.type(btf.resolve(pid.type)).kind == Kind.INT
    assert btf.size_of(pid.type) == 4
    assert btf.member(tid, "no_such_member") is None


@vmlinux
def test_anonymous_members_and_bitfields():
    btf = BTF.load()
    skb = btf.find_type("sk_buff", Kind.STRUCT)[0]
    # `len` sits inside nested anonymous unions/structs in recent kernels: offsets add up.
    m = btf.member(skb, "len")
    assert m is not None and m.offset > 0 and btf.size_of(m.type) == 4
    assert any(mm.bitfield_size for mm in btf.type(skb).members)


@vmlinux
def test_tp_btf_typedef_and_pt_regs():
    btf = BTF.load()
    (td,) = btf.find_type("btf_trace_sys_enter", Kind.TYPEDEF)
    assert btf.type_str(btf.type(td).type) == "void (*)(void *, struct pt_regs *, long int)"
    regs = btf.find_type("pt_regs", Kind.STRUCT)[0]
    # pt_regs offsets the syscall provider relies on (kernel-facts.md)
    offsets = {n: btf.member(regs, n).offset for n in ("di", "si", "dx", "r10", "orig_ax", "sp")}
    assert offsets == {"di": 112, "si": 104, "dx": 96, "r10": 56, "orig_ax": 120, "sp": 152}


@vmlinux
def test_enums_and_funcs():
    btf = BTF.load()
    e = btf.find("bpf_map_type", Kind.ENUM)
    assert ("BPF_MAP_TYPE_RINGBUF", 27) in e.values
    fn = btf.find("do_sys_openat2", Kind.FUNC)
    if fn is not None:
        proto = btf.type(fn.type)
        assert proto.kind == Kind.FUNC_PROTO
        assert [p.name for p in proto.params][:2] == ["dfd", "filename"]


@pytest.mark.needs_bpf
def test_kernel_accepts_built_btf():
    fd = load_btf(func_info_btf(["main", "cb", "other"]))
    assert fd >= 0
    os.close(fd)


@vmlinux
def test_task_path_steps():
    btf = BTF.load()
    (tid,) = btf.find_type("task_struct", Kind.STRUCT)
    parent = btf.member(tid, "real_parent").offset
    tgid = btf.member(tid, "tgid").offset
    assert task_path(("tgid",)) == [(tgid, 4, True)]
    assert task_path(("real_parent", "tgid")) == [(parent, 8, False), (tgid, 4, True)]
    assert task_path(("comm",)) is None  # an array is not a scalar load
    assert task_path(("no_such_member",)) is None
    # an embedded struct folds into the following step: se.vruntime is one load
    se = btf.member(tid, "se").offset
    sched = btf.find_type("sched_entity", Kind.STRUCT)[0]
    assert task_path(("se", "vruntime")) == [(se + btf.member(sched, "vruntime").offset, 8, False)]
