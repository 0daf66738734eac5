"""The sdt provider: the kernel's static tracepoints, `sdt:CATEGORY::NAME`, with the event's
fields available as arguments in the order of its format file."""

from __future__ import annotations

from ..bpf import tracefs
from ..bpf.perf import open_tracepoint
from ..bpf.program import attach_perf_event
from ..bpf.sys import ProgType
from .base import Ctx, Probe, Provider, Site


class SDTProvider(Provider):
    name = "sdt"

    def probes(self):
        # syscalls are the syscall provider's; ftrace's "events" are not tracepoints (no id)
        return [(self.name, cat, "", ev) for cat, ev in tracefs.list_events()
                if cat not in ("syscalls", "ftrace")]

    def make_site(self, key: tuple, probes: list[Probe]) -> Site:
        p = probes[0]
        fields = [f for f in tracefs.event_format(p.module, p.name) if not f.name.startswith("common_")]
        return Site(self, key, Ctx.TRACEPOINT, ProgType.TRACEPOINT, probes, data={"fields": fields})

    def attach(self, site: Site, prog) -> list:
        p = site.probes[0]
        fd = open_tracepoint(tracefs.event_id(p.module, p.name))
        return [attach_perf_event(prog, fd)]
