"""perf_event_open(2) for the events BPF programs attach to: tracepoints, uprobes, CPU clock.

`perf_event_attr` is built by hand (size 136, PERF_ATTR_SIZE_VER8) with struct; the fields we
set are type, config, sample_period/freq, sample_type, the flag bits, wakeup_events,
config1 and config2.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import struct
from functools import lru_cache

from .sys import perf_event_open

__all__ = [
    "build_attr", "open_tracepoint", "open_cpu_clock", "open_uprobe", "uprobe_pmu_type",
    "enable", "disable", "PERF_TYPE_HARDWARE", "PERF_TYPE_SOFTWARE", "PERF_TYPE_TRACEPOINT",
    "PERF_COUNT_SW_CPU_CLOCK", "PERF_COUNT_SW_BPF_OUTPUT", "PERF_SAMPLE_RAW",
]

PERF_ATTR_SIZE = 136

PERF_TYPE_HARDWARE = 0
PERF_TYPE_SOFTWARE = 1
PERF_TYPE_TRACEPOINT = 2

PERF_COUNT_SW_CPU_CLOCK = 0
PERF_COUNT_SW_TASK_CLOCK = 1
PERF_COUNT_SW_BPF_OUTPUT = 10

PERF_SAMPLE_RAW = 1 << 10

# Bits of the flags word at offset 40.
FLAG_DISABLED = 1 << 0
FLAG_INHERIT = 1 << 1
FLAG_EXCLUDE_USER = 1 << 4
FLAG_EXCLUDE_KERNEL = 1 << 5
FLAG_EXCLUDE_HV = 1 << 6
FLAG_EXCLUDE_IDLE = 1 << 7
FLAG_FREQ = 1 << 10

PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401


def build_attr(type_: int, config: int = 0, sample_period: int = 0, sample_freq: int = 0,
               sample_type: int = 0, flags: int = 0, wakeup_events: int = 0,
               config1: int = 0, config2: int = 0) -> bytes:
    """A perf_event_attr image; give sample_freq (sets the freq bit) or sample_period, not both."""
    if sample_freq and sample_period:
        raise ValueError("perf_event_attr takes a sample period or a frequency, not both")
    if sample_freq:
        flags |= FLAG_FREQ
    attr = bytearray(PERF_ATTR_SIZE)
    struct.pack_into("<IIQQQ", attr, 0, type_, PERF_ATTR_SIZE, config,
                     sample_freq or sample_period, sample_type)
    struct.pack_into("<QI", attr, 40, flags, wakeup_events)
    struct.pack_into("<QQ", attr, 56, config1, config2)
    return bytes(attr)


def open_tracepoint(tp_id: int, cpu: int = 0, pid: int = -1) -> int:
    """Open tracepoint `tp_id` (tracefs events/<cat>/<name>/id) for a BPF program.

    With pid=-1 one fd opened on cpu 0 fires on every CPU once a program is attached.
    """
    attr = build_attr(PERF_TYPE_TRACEPOINT, tp_id, sample_period=1,
                      sample_type=PERF_SAMPLE_RAW, wakeup_events=1)
    return perf_event_open(attr, pid, cpu)


def open_cpu_clock(freq: int | None = None, period_ns: int | None = None, cpu: int = 0,
                   pid: int = -1) -> int:
    """A CPU-clock sampling event on `cpu` (open one per CPU for profile-N).

    `freq` samples per second (profile-997), or `period_ns` between samples (tick-1s).
    No hardware PMU here: PERF_TYPE_HARDWARE gives ENOENT, the software clock works.
    """
    if (freq is None) == (period_ns is None):
        raise ValueError("open_cpu_clock needs exactly one of freq= or period_ns=")
    attr = build_attr(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK,
                      sample_period=period_ns or 0, sample_freq=freq or 0)
    return perf_event_open(attr, pid, cpu)


@lru_cache(maxsize=None)
def uprobe_pmu_type() -> int:
    """The dynamic PMU type of uprobes (/sys/bus/event_source/devices/uprobe/type); cached."""
    with open("/sys/bus/event_source/devices/uprobe/type") as f:
        return int(f.read())


def open_uprobe(path: str, offset: int, retprobe: bool = False, pid: int = -1,
                ref_ctr_offset: int = 0) -> int:
    """A uprobe (or uretprobe) at FILE offset `offset` in `path` through the uprobe PMU.

    config bit 0 = return probe, config[63:32] = USDT semaphore file offset, config1 = path
    pointer, config2 = offset. pid=-1 probes every process (opened on cpu 0, as libbpf does);
    a pid restricts it to that process (cpu -1).
    """
    pbuf = ctypes.create_string_buffer(os.fsencode(path))
    config = (1 if retprobe else 0) | (ref_ctr_offset << 32)
    attr = build_attr(uprobe_pmu_type(), config, sample_period=1, wakeup_events=1,
                      config1=ctypes.addressof(pbuf), config2=offset)
    return perf_event_open(attr, pid, 0 if pid == -1 else -1)


def enable(fd: int) -> None:
    """PERF_EVENT_IOC_ENABLE."""
    fcntl.ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)


def disable(fd: int) -> None:
    """PERF_EVENT_IOC_DISABLE."""
    fcntl.ioctl(fd, PERF_EVENT_IOC_DISABLE, 0)
