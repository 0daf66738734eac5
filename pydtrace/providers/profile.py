"""The profile provider: profile-N fires on every CPU at a rate, tick-N on one CPU.

Both are created on demand for any rate (`profile-997`, `tick-100ms`, `tick-1s`). profile-N
runs as a perf-event program on each CPU's clock event. tick-N is fired by the consumer's own
timer through BPF_PROG_TEST_RUN: a CPU-clock event on an idle CPU does not fire at all here
(measured: 0 of 10 expected samples in a second on the idle CPU, NO_HZ_IDLE kernel), while
tick-N must fire at its rate whatever the load.
"""

from __future__ import annotations

import re
import struct
import time

from ..bpf.maps import online_cpus
from ..bpf.perf import open_cpu_clock
from ..bpf.program import attach_perf_event
from ..bpf.sys import ProgType
from .base import Ctx, Probe, Provider, Site

NAME = re.compile(r"^(profile|tick)-(\d+)([a-z]*)$")
NSEC_PER = {"ns": 1, "nsec": 1, "us": 1000, "usec": 1000, "ms": 10**6, "msec": 10**6,
            "s": 10**9, "sec": 10**9, "m": 60 * 10**9, "min": 60 * 10**9,
            "h": 3600 * 10**9, "hour": 3600 * 10**9, "d": 86400 * 10**9, "day": 86400 * 10**9}
LISTED = ["profile-97", "profile-199", "profile-499", "profile-997", "profile-1999",
          "profile-4001", "profile-4999", "tick-1", "tick-10", "tick-100", "tick-500",
          "tick-1000", "tick-5000"]
MIN_PERIOD_NS = 200_000  # DTrace refuses faster rates than 200us (profile_interval_min)


def period_ns(name: str) -> int | None:
    """The firing period of `profile-N[unit]`/`tick-N[unit]`, None if the name is not one."""
    m = NAME.match(name)
    if not m:
        return None
    n, unit = int(m.group(2)), m.group(3)
    if n == 0:
        return None
    if unit in ("", "hz"):
        return 10**9 // n
    if unit not in NSEC_PER:
        return None
    return n * NSEC_PER[unit]


class ProfileProvider(Provider):
    name = "profile"

    def probes(self):
        return [(self.name, "", "", n) for n in LISTED]

    def create(self, module: str, function: str, name: str):
        if module or function:
            return None
        p = period_ns(name)
        if p is None or p < MIN_PERIOD_NS:
            return None
        return (self.name, "", "", name)

    def make_site(self, key: tuple, probes: list[Probe]) -> Site:
        name = probes[0].name
        data = {"period_ns": period_ns(name)}
        if name.startswith("tick-"):
            return Site(self, key, Ctx.TESTRUN, ProgType.RAW_TRACEPOINT, probes, data=data)
        return Site(self, key, Ctx.PERF, ProgType.PERF_EVENT, probes, data=data)

    def attach(self, site: Site, prog) -> list:
        if site.ctx == Ctx.TESTRUN:
            return [Ticker(prog, site.data["period_ns"])]
        return [attach_perf_event(prog, open_cpu_clock(period_ns=site.data["period_ns"], cpu=cpu))
                for cpu in online_cpus()]


_libc = None


def other_cpu() -> int:
    """An online CPU other than the one we run on (ours if it is the only one)."""
    global _libc
    if _libc is None:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
    cur = _libc.sched_getcpu()
    for cpu in online_cpus():
        if cpu != cur:
            return cpu
    return max(cur, 0)


class Ticker:
    """A tick-N probe: the session calls fire_due() from its loop; due() says when next."""

    CTX = struct.pack("<12Q", *([0] * 12))

    def __init__(self, prog, period_ns: int):
        self.prog = prog
        self.period = period_ns / 1e9
        self.next = time.monotonic() + self.period

    def due(self) -> float:
        return self.next

    def fire_due(self, now: float) -> None:
        """Fire once per elapsed period (a late consumer catches up, as a timer would).
        The run happens on another CPU than ours, in interrupt context with whatever task
        is current there (often the idle task, pid 0), as a timer interrupt's probe would."""
        while self.prog is not None and now >= self.next:
            self.prog.test_run(self.CTX, cpu=other_cpu())
            self.next += self.period

    def close(self) -> None:
        self.prog = None
