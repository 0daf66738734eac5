"""Providers: probe listing, matching and attachment, one module per provider."""

from .base import Probe, ProbeTable, Provider, Site, group_sites


def default_table() -> ProbeTable:
    """Every provider this system offers, in the order their probes are numbered."""
    from .dtrace import DTraceProvider
    from .profile import ProfileProvider
    from .sdt import SDTProvider
    from .syscall import SyscallProvider

    return ProbeTable([DTraceProvider(), SyscallProvider(), ProfileProvider(), SDTProvider()])


__all__ = ["Probe", "ProbeTable", "Provider", "Site", "group_sites", "default_table"]
