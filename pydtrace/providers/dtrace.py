"""The dtrace provider: BEGIN, END and ERROR, run in our own process by BPF_PROG_TEST_RUN."""

from __future__ import annotations

from ..bpf.sys import ProgType
from .base import Ctx, Probe, Provider, Site


class DTraceProvider(Provider):
    name = "dtrace"

    def probes(self):
        return [("dtrace", "", "", "BEGIN"), ("dtrace", "", "", "END"), ("dtrace", "", "", "ERROR")]

    def make_site(self, key: tuple, probes: list[Probe]) -> Site:
        return Site(self, key, Ctx.TESTRUN, ProgType.RAW_TRACEPOINT, probes)

    def attach(self, site: Site, prog) -> list:
        return []  # the session runs these programs itself, at the right moment
