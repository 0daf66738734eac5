"""The profile provider: profile-N fires on every CPU at a rate, tick-N on one CPU.

Both are created on demand for any rate (`profile-997`, `tick-100ms`, `tick-1s`) and run as
perf-event programs on a CPU clock event.
"""

from __future__ import annotations

import re

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
        return Site(self, key, Ctx.PERF, ProgType.PERF_EVENT, probes,
                    data={"period_ns": period_ns(name), "tick": name.startswith("tick-")})

    def attach(self, site: Site, prog) -> list:
        cpus = online_cpus()
        if site.data["tick"]:
            cpus = cpus[:1]
        out = []
        for cpu in cpus:
            fd = open_cpu_clock(period_ns=site.data["period_ns"], cpu=cpu)
            out.append(attach_perf_event(prog, fd))
        return out
