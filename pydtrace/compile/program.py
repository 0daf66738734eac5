"""The compile stage's entry: checked D program + matched probes → programs, maps, layouts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..lang import ast
from ..lang.errors import DError
from ..providers.base import Ctx, Probe, ProbeTable, Site, group_sites
from . import layout as L
from .actions import count_actions
from .codegen import NSYSCALLS, Gen
from .exprs import var_home
from .strings import reserve_areas
from .unit import PROBE_ENTRY, Unit


TUPLE_REGS = 8  # DTrace's DIF_DTR_NREGS: at most this many components in a key tuple


@dataclass
class Matched:
    """The probes each clause's descriptions matched, in clause order."""

    per_clause: list[list[Probe]] = field(default_factory=list)
    per_desc: list[tuple[ast.ProbeDesc, int]] = field(default_factory=list)

    @property
    def probes(self) -> list[Probe]:
        seen: dict[int, Probe] = {}
        for ps in self.per_clause:
            for p in ps:
                seen.setdefault(p.id, p)
        return list(seen.values())


def match_probes(clauses: list[ast.Clause], table: ProbeTable, zero_ok: bool = False) -> Matched:
    """Match every clause's descriptions; a description matching nothing is D_PDESC_ZERO
    unless -Z (zero_ok) was given."""
    m = Matched()
    for c in clauses:
        found: dict[int, Probe] = {}
        for d in c.probes:
            ps = table.match(*desc_fields(d))
            m.per_desc.append((d, len(ps)))
            if not ps and not zero_ok:
                raise DError("D_PDESC_ZERO", d.loc,
                             f"probe description {d.text} does not match any probes")
            for p in ps:
                found.setdefault(p.id, p)
        m.per_clause.append(list(found.values()))
    return m


def desc_fields(d: ast.ProbeDesc) -> tuple[str, str, str, str]:
    """A description's four fields; `BEGIN` alone is the name, as DTrace reads it."""
    return d.provider, d.module, d.function, d.name


def compile_program(checked: Any, matched: Matched, table: ProbeTable, options: dict[str, Any]) -> L.Compiled:
    # a D string holds up to `strsize` characters plus its NUL, as DTrace's string buffers
    strsize = int(options.get("strsize", 256)) + 1
    unit = Unit(strsize=strsize, bufsize=int(options.get("bufsize", 4 << 20)),
                dynvars=int(options.get("dynvarsize", 1 << 20)))
    quiet = bool(options.get("quiet"))
    for sym in checked.vars.values():
        if sym.keys is not None and len(sym.keys) > TUPLE_REGS:
            raise DError("D_UNKNOWN", None, "Insufficient tuple registers to generate code")
    # clause-local variables first: their space precedes the record in scratch
    for sym in checked.vars.values():
        if sym.scope == "this":
            var_home(_Shim(unit), sym)
    reserve_areas(unit, checked.clauses, options)  # strtok()/alloca() state, per firing
    for i, c in enumerate(checked.clauses):
        nact = count_actions(c.body)
        words = max(1, (nact + 63) // 64)
        # the default action (the probe line) is only for an empty clause
        has_data = nact > 0 or (not quiet and not c.body)
        unit.clauses.append(L.ClauseLayout(i, [], L.HEADER + 8 * words, words, has_data))
    programs = []
    for site in group_sites(table, matched.probes):
        enabled = [(i, c, {p.id for p in matched.per_clause[i] if p in site.probes})
                   for i, c in enumerate(checked.clauses)]
        enabled = [x for x in enabled if x[2]]
        if len(enabled) > 64:
            raise DError("D_UNKNOWN", None, "more than 64 clauses enabled on one probe site")
        order = [i for i, _c, _p in enabled]
        base = probe_rows(unit, site, enabled)
        multi = site.probe_of is not None
        gen = Gen(unit, site, base, multi, order)
        programs.append(L.SiteProgram(site, gen.program(enabled), order))
    unit.finish()
    return L.Compiled(unit.maps, programs, unit.clauses, unit.aggs, unit.ringbuf, unit.counters,
                      unit.globals, dict(options), unit.destructive)


def probe_rows(unit: Unit, site: Site, enabled: list) -> int:
    """Rows of the probe table for a site: one per probe, or one per selector value."""
    def row(p: Probe) -> tuple[int, int, tuple[str, str, str, str]]:
        mask = 0
        for bit, (_i, _c, ids) in enumerate(enabled):
            if p.id in ids:
                mask |= 1 << bit
        return (p.id, mask, (p.provider, p.module, p.function, p.name))

    if site.probe_of is None:
        return unit.probe_entries([row(site.probes[0])])
    empty = (0, 0, ("", "", "", ""))
    rows = [row(site.probe_of[n]) if n in site.probe_of else empty for n in range(NSYSCALLS)]
    return unit.probe_entries(rows)


class _Shim:
    """The little of a generator that allocating a variable's home needs."""

    def __init__(self, unit: Unit):
        self.u = unit


__all__ = ["compile_program", "match_probes", "Matched", "PROBE_ENTRY", "Ctx"]
