"""Turn a compiled D program into kernel objects: maps (with their initial data) and programs."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

from ..compile.layout import Compiled, MapSpec, SiteProgram
from ..compile.unit import G_ACTIVITY, G_WALLOFF, WARMUP
from .maps import Map
from .program import Program, VerifierError, load_program


@dataclass
class Loaded:
    maps: dict[int, Map] = field(default_factory=dict)  # id(MapSpec) -> Map
    programs: list[tuple[SiteProgram, Program]] = field(default_factory=list)

    def map(self, spec: MapSpec) -> Map:
        return self.maps[id(spec)]

    def close(self) -> None:
        for _sp, prog in self.programs:
            prog.close()
        for m in self.maps.values():
            m.close()
        self.programs.clear()
        self.maps.clear()


class InternalError(Exception):
    """A program the kernel refused: a compiler bug, reported with the verifier's log."""

    def __init__(self, msg: str, log: str = ""):
        super().__init__(msg)
        self.log = log


def create_maps(compiled: Compiled) -> Loaded:
    out = Loaded()
    try:
        for spec in compiled.maps:
            m = Map.create(spec.type, spec.key_size, spec.value_size, spec.max_entries,
                           spec.name, spec.flags)
            out.maps[id(spec)] = m
            if spec.init is not None:
                m.update(b"\0\0\0\0", spec.init)
            if spec.freeze:
                m.freeze()
        boot_to_wall = time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        g = out.map(compiled.globals)
        value = bytearray(g.value_size)
        struct.pack_into("<q", value, G_WALLOFF, boot_to_wall)
        struct.pack_into("<q", value, G_ACTIVITY, WARMUP)  # until BEGIN has run
        g.update(b"\0\0\0\0", bytes(value))
    except Exception:
        out.close()
        raise
    return out


def load_programs(compiled: Compiled, loaded: Loaded) -> None:
    """Assemble each site's program with the map fds resolved, then load it."""
    for sp in compiled.programs:
        code = sp.asm.assemble(lambda spec: loaded.map(spec).fd)
        name = "dt_" + "_".join(str(k) for k in sp.site.key[1:])[:11]
        try:
            prog = load_program(code, sp.site.prog_type, name=name)
        except VerifierError as e:
            raise InternalError(
                f"internal error: the kernel rejected the program for {sp.site.probes[0].desc}: "
                f"{e.summary()}", e.log) from None
        loaded.programs.append((sp, prog))
