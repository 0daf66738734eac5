"""The provider plug-in interface: probes, the sites programs attach to, and matching.

A *probe* is what a D program names (`syscall::openat:entry`). A *site* is one kernel
attachment point that runs one BPF program; several probes may share a site (every system
call entry shares the `sys_enter` raw tracepoint), in which case the program learns which
probe fired at run time (`Site.probe_of`).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional


@dataclass(frozen=True)
class Probe:
    id: int
    provider: str
    module: str
    function: str
    name: str
    args: tuple[str, ...] = ()  # C type names of args[0..], when the provider knows them

    @property
    def desc(self) -> str:
        return f"{self.provider}:{self.module}:{self.function}:{self.name}"


class Ctx:
    """How a site's program reaches its context; the code generator switches on these."""

    TESTRUN = "testrun"  # BEGIN/END/ERROR: raw_tp program run by BPF_PROG_TEST_RUN, ctx = u64[]
    SYSCALL_ENTRY = "syscall_entry"  # raw_tp sys_enter: ctx[0] pt_regs *, ctx[1] number
    SYSCALL_RETURN = "syscall_return"  # raw_tp sys_exit: ctx[0] pt_regs *, ctx[1] return value
    PERF = "perf"  # perf event program: ctx is bpf_perf_event_data (pt_regs first)
    TRACEPOINT = "tracepoint"  # tracepoint program: ctx is the raw event record


@dataclass
class Site:
    """One BPF program's attachment point and what its code needs to know about it."""

    provider: "Provider"
    key: tuple
    ctx: str
    prog_type: int
    probes: list[Probe] = field(default_factory=list)
    # Run-time probe selection: a selector value (e.g. the syscall number) -> probe.
    probe_of: Optional[dict[int, Probe]] = None
    data: dict[str, Any] = field(default_factory=dict)


class Provider:
    """Base of all providers. Subclasses list their probes and attach programs to sites."""

    name = ""

    def probes(self) -> Iterable[tuple[str, str, str, str]]:
        """(provider, module, function, name) of every probe, in listing order."""
        return ()

    def create(self, module: str, function: str, name: str) -> Optional[tuple[str, str, str, str]]:
        """A probe made on demand for a non-glob description (profile-N, tick-N); else None."""
        return None

    def site_key(self, probe: Probe) -> tuple:
        return (self.name, probe.id)

    def make_site(self, key: tuple, probes: list[Probe]) -> Site:
        raise NotImplementedError

    def attach(self, site: Site, prog: Any) -> list[Any]:
        """Attach the loaded program; return objects whose close() detaches."""
        raise NotImplementedError


GLOB_CHARS = re.compile(r"[*?\[]")


def field_matches(pattern: str, value: str) -> bool:
    """DTrace probe-description field match: empty matches all, globs as in fnmatch."""
    if pattern == "" or pattern == "*":
        return True
    if GLOB_CHARS.search(pattern):
        return fnmatch.fnmatchcase(value, pattern)
    return pattern == value


class ProbeTable:
    """All providers' probes with stable ids (dtrace:::BEGIN is 1, END 2, ERROR 3)."""

    def __init__(self, providers: list[Provider]):
        self.providers = providers
        self._probes: Optional[list[Probe]] = None
        self._created: dict[tuple, Probe] = {}

    def all(self) -> list[Probe]:
        if self._probes is None:
            out = []
            for prov in self.providers:
                for tup in prov.probes():
                    out.append(Probe(len(out) + 1, *tup))
            self._probes = out
        return self._probes

    def provider(self, name: str) -> Optional[Provider]:
        for prov in self.providers:
            if prov.name == name:
                return prov
        return None

    def match(self, provider: str, module: str, function: str, name: str) -> list[Probe]:
        """Probes matching a description; on-demand probes (tick-1s) are created here."""
        found = [p for p in self.all()
                 if field_matches(provider, p.provider) and field_matches(module, p.module)
                 and field_matches(function, p.function) and field_matches(name, p.name)]
        if found or GLOB_CHARS.search(name) or not name:
            return found
        for prov in self.providers:
            if not field_matches(provider, prov.name):
                continue
            tup = prov.create(module, function, name)
            if tup is None:
                continue
            if tup not in self._created:
                self._created[tup] = Probe(len(self.all()) + len(self._created) + 1, *tup)
            found.append(self._created[tup])
        return found

    def provider_of(self, probe: Probe) -> Provider:
        prov = self.provider(probe.provider)
        assert prov is not None
        return prov


def group_sites(table: ProbeTable, probes: list[Probe]) -> list[Site]:
    """Group probes by the site their programs attach to, in first-seen order."""
    groups: dict[tuple, list[Probe]] = {}
    owner: dict[tuple, Provider] = {}
    for p in probes:
        prov = table.provider_of(p)
        key = prov.site_key(p)
        groups.setdefault(key, []).append(p)
        owner[key] = prov
    return [owner[k].make_site(k, ps) for k, ps in groups.items()]

