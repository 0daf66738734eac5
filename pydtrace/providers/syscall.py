"""The syscall provider: every system call's entry and return through the two raw
tracepoints sys_enter and sys_exit, so matching all of them costs two attachments."""

from __future__ import annotations

from ..bpf.program import attach_raw_tracepoint
from ..bpf.sys import ProgType
from ..bpf.syscall_table import SYSCALLS
from .base import Ctx, Probe, Provider, Site

MODULE = "vmlinux"


class SyscallProvider(Provider):
    name = "syscall"

    def probes(self):
        out = []
        for nr in sorted(SYSCALLS):
            out.append((self.name, MODULE, SYSCALLS[nr], "entry"))
            out.append((self.name, MODULE, SYSCALLS[nr], "return"))
        return out

    def site_key(self, probe: Probe) -> tuple:
        return (self.name, probe.name)

    def make_site(self, key: tuple, probes: list[Probe]) -> Site:
        number = {name: nr for nr, name in SYSCALLS.items()}
        ctx = Ctx.SYSCALL_ENTRY if key[1] == "entry" else Ctx.SYSCALL_RETURN
        probe_of = {number[p.function]: p for p in probes}
        return Site(self, key, ctx, ProgType.RAW_TRACEPOINT, probes, probe_of=probe_of)

    def attach(self, site: Site, prog) -> list:
        tp = "sys_enter" if site.ctx == Ctx.SYSCALL_ENTRY else "sys_exit"
        return [attach_raw_tracepoint(prog, tp)]
