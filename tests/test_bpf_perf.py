"""Perf-event attachments: a tracepoint, the CPU clock (profile), uprobes and uprobe_multi."""

from __future__ import annotations

import ctypes
import os
import struct
import time

import pytest

from test_bpf_handasm import count_if_pid_program
from pydtrace.bpf import perf, tracefs
from pydtrace.bpf.maps import Map, online_cpus
from pydtrace.bpf.program import attach_perf_event, attach_uprobe_multi, load_program
from pydtrace.bpf.sys import AttachType, MapType, ProgType

pytestmark = pytest.mark.needs_bpf

_libc = ctypes.CDLL(None)


def _count(m: Map) -> int:
    return struct.unpack("<Q", m.lookup(b"\0\0\0\0"))[0]


def _file_offset_of(func) -> tuple[str, int]:
    """(file, FILE offset) of a loaded function, from its address and /proc/self/maps."""
    addr = ctypes.cast(func, ctypes.c_void_p).value
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if lo <= addr < hi and len(parts) >= 6:
                return parts[5], addr - lo + int(parts[2], 16)
    raise LookupError(f"{addr:#x} is in no file mapping")


def test_build_attr_layout():
    attr = perf.build_attr(perf.PERF_TYPE_SOFTWARE, perf.PERF_COUNT_SW_CPU_CLOCK, sample_freq=997)
    assert len(attr) == 136
    typ, size, config, freq = struct.unpack_from("<IIQQ", attr, 0)
    assert (typ, size, config, freq) == (1, 136, 0, 997)
    assert struct.unpack_from("<Q", attr, 40)[0] & perf.FLAG_FREQ
    with pytest.raises(ValueError):
        perf.build_attr(1, 0, sample_period=1, sample_freq=1)


def test_tracepoint_perf_event_counts_getpid():
    tp = tracefs.event_id("syscalls", "sys_enter_getpid")
    with Map.create(MapType.ARRAY, 4, 8, 1, "t_tpcnt") as m:
        with load_program(count_if_pid_program(m.fd), ProgType.TRACEPOINT, "t_tp") as prog:
            with attach_perf_event(prog, perf.open_tracepoint(tp)):
                for _ in range(10):
                    os.getpid()
        assert _count(m) >= 10


def test_cpu_clock_profile_samples_a_busy_cpu():
    with Map.create(MapType.ARRAY, 4, 8, 1, "t_prof") as m:
        code = count_if_pid_program(m.fd)
        with load_program(code, ProgType.PERF_EVENT, "t_prof") as prog:
            links = [attach_perf_event(prog, perf.open_cpu_clock(freq=997, cpu=c))
                     for c in online_cpus()]
            try:
                end = time.monotonic() + 0.3
                while time.monotonic() < end:
                    pass
            finally:
                for link in links:
                    link.close()
        assert _count(m) > 10  # ~300 expected at 997 Hz


def test_cpu_clock_period_mode_opens():
    fd = perf.open_cpu_clock(period_ns=1_000_000_000, cpu=0)
    os.close(fd)
    with pytest.raises(ValueError):
        perf.open_cpu_clock()


def test_uprobe_on_libc_getpid():
    path, off = _file_offset_of(_libc.getpid)
    with Map.create(MapType.ARRAY, 4, 8, 1, "t_up") as m:
        with load_program(count_if_pid_program(m.fd), ProgType.KPROBE, "t_up") as prog:
            fd = perf.open_uprobe(path, off, pid=os.getpid())
            with attach_perf_event(prog, fd):
                for _ in range(7):
                    _libc.getpid()
        assert _count(m) >= 7


def test_uretprobe_on_libc_getpid():
    path, off = _file_offset_of(_libc.getpid)
    with Map.create(MapType.ARRAY, 4, 8, 1, "t_uret") as m:
        with load_program(count_if_pid_program(m.fd), ProgType.KPROBE, "t_uret") as prog:
            with attach_perf_event(prog, perf.open_uprobe(path, off, retprobe=True)):
                for _ in range(3):
                    _libc.getpid()
        assert _count(m) >= 3


def test_uprobe_multi_on_two_libc_functions():
    path1, off1 = _file_offset_of(_libc.getpid)
    path2, off2 = _file_offset_of(_libc.getppid)
    assert path1 == path2
    with Map.create(MapType.ARRAY, 4, 8, 1, "t_upm") as m:
        prog = load_program(count_if_pid_program(m.fd), ProgType.KPROBE, "t_upm",
                            expected_attach_type=AttachType.TRACE_UPROBE_MULTI)
        with prog, attach_uprobe_multi(prog, path1, [off1, off2], cookies=[1, 2],
                                       pid=os.getpid()):
            for _ in range(4):
                _libc.getpid()
                _libc.getppid()
        assert _count(m) >= 8
        with pytest.raises(ValueError):
            attach_uprobe_multi(prog, path1, [off1], cookies=[1, 2])
