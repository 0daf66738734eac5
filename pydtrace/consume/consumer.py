"""Turn ring-buffer records and aggregation maps into DTrace's output.

The consumer knows records only through the layout table the compiler produced (`Compiled`);
it reads aggregation maps through callables the session gives it, so it needs no kernel.
"""

from __future__ import annotations

import os
import struct
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..compile import layout as L
from . import aggregate as A
from . import datum as D
from . import printtype
from .printf import Arg, format_printf
from .speculation import Speculations, records_data

HEADER = struct.Struct("<IIII")
ERROR = struct.Struct("<IIQ")


class Output:
    """Where text goes: a binary stream, written with the bytes printf produced."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stdout.buffer

    def write(self, text: str) -> None:
        self.stream.write(text.encode("utf-8", "surrogateescape"))

    def flush(self) -> None:
        self.stream.flush()


@dataclass
class ConsumerState:
    exit_status: Optional[int] = None  # set by exit()
    errors: list[tuple[int, int, int, int, int]] = field(default_factory=list)


class Consumer:
    """Formats records as DTrace does (dt_consume.c) for the text output."""

    def __init__(self, compiled: L.Compiled, probes: dict[int, Any], out: Output,
                 options: dict[str, Any], read_agg: Callable[[L.AggLayout], dict],
                 clear_agg: Callable[[L.AggLayout, bool], None], testing: bool = False,
                 err: Optional[Output] = None, syms: Optional[D.Symbolizer] = None):
        self.c = compiled
        self.probes = probes
        self.out = out
        self.err = err or Output(sys.stderr.buffer)
        self.options = options
        self.read_agg = read_agg
        self.clear_agg = clear_agg
        self.testing = testing
        self.syms = syms
        self.state = ConsumerState()
        self.header_done = False
        self.normal: dict[str, int] = {}
        self.saved_out: Optional[Output] = None  # the output before freopen() redirected it
        self.printed: set[str] = set()  # aggregations printa() showed: not printed again at exit
        self.on_error: Optional[Callable[[int, int, int, int, int], None]] = None
        self.specs = Speculations(self)

    @property
    def quiet(self) -> bool:
        return bool(self.options.get("quiet"))

    def agg_options(self) -> A.AggOptions:
        o = self.options
        return A.AggOptions(aggsortkey=bool(o.get("aggsortkey")), aggsortrev=bool(o.get("aggsortrev")),
                            aggsortpos=int(o.get("aggsortpos") or 0),
                            aggsortkeypos=int(o.get("aggsortkeypos") or 0),
                            rawbytes=bool(o.get("rawbytes")))

    # ------------------------------------------------------------ records

    def record(self, mv: memoryview) -> None:
        kind, clause, probe_id, cpu = HEADER.unpack_from(mv, 0)
        if kind >> L.SPEC_ID_SHIFT:  # speculative: kept until committed or discarded
            self.specs.hold(kind, self.c.clauses[clause], mv)
        elif kind == L.REC_DATA:
            self.data(self.c.clauses[clause], probe_id, cpu, mv)
        elif kind == L.REC_ERROR:
            fault, action, addr = ERROR.unpack_from(mv, L.HEADER)
            self.error(clause, probe_id, cpu, fault, action, addr)

    def probe_line(self, probe_id: int, cpu: int) -> None:
        p = self.probes.get(probe_id)
        fn = f"{p.function}:{p.name}" if p is not None else f":{probe_id}"
        if not self.header_done:
            self.header_done = True
            if self.testing:
                self.out.write(f"{'FUNCTION:NAME':>32}\n")
            else:
                self.out.write(f"{'CPU':>3} {'ID':>6} {'FUNCTION:NAME':>32}\n")
        if self.testing:
            self.out.write(f"{fn:>32} ")
        else:
            self.out.write(f"{cpu:>3} {probe_id:>6} {fn:>32} ")

    def data(self, lay: L.ClauseLayout, probe_id: int, cpu: int, mv: memoryview) -> None:
        line = not self.quiet and records_data(lay)
        if line:
            self.probe_line(probe_id, cpu)
        masks = struct.unpack_from(f"<{lay.mask_words}Q", mv, L.HEADER)
        for act in lay.actions:
            if masks[act.index // 64] >> (act.index % 64) & 1:
                self.action(act, mv, probe_id)
        if line:
            self.out.write("\n")
        self.specs.settle()

    def value(self, d: L.Datum, mv: memoryview) -> Any:
        if d.kind == "int":
            raw = int.from_bytes(mv[d.offset:d.offset + 8], "little", signed=True)
            return raw
        if d.kind == "string":
            b = bytes(mv[d.offset:d.offset + d.size])
            n = b.find(b"\0")
            return b if n < 0 else b[:n]
        if d.kind in ("stack", "ustack"):
            pcs = struct.unpack_from(f"<{d.size // 8}Q", mv, d.offset)
            return tuple(pc for pc in pcs if pc)
        if d.kind in ("sym", "mod"):  # sym()/func()/mod(): a kernel address
            return struct.unpack_from("<Q", mv, d.offset)[0]
        if d.kind in ("usym", "uaddr", "umod"):  # (pid, user address)
            return struct.unpack_from("<QQ", mv, d.offset)
        return bytes(mv[d.offset:d.offset + d.size])

    def arg(self, d: L.Datum, mv: memoryview) -> Arg:
        return Arg(self.value(d, mv), d.kind, d.size, d.signed)

    def action(self, act: L.Action, mv: memoryview, probe_id: int) -> None:
        kind = act.kind
        if kind == "printf":
            self.out.write(format_printf(act.fmt, [self.arg(d, mv) for d in act.data], syms=self.syms))
        elif kind == "trace" and act.data[0].kind in ("sym", "mod", "usym", "uaddr", "umod"):
            d = act.data[0]
            self.out.write(D.format_key(self.value(d, mv), d.kind, d.size, self.syms))
        elif kind == "trace":
            d = act.data[0]
            self.out.write(D.format_trace(self.value(d, mv), d.kind, d.size, d.signed, quiet=self.quiet,
                                          rawbytes=bool(self.options.get("rawbytes"))))
        elif kind == "tracemem":
            data = self.value(act.data[0], mv)
            dsize = self.value(act.data[1], mv) if len(act.data) > 1 else None
            self.out.write(D.format_tracemem(data, dsize))
        elif kind == "print":
            self.out.write(printtype.format_action(act, mv, self.options.get("printsize")))
        elif kind == "printm":
            self.out.write(D.format_rawbytes(self.value(act.data[0], mv)))
        elif kind in ("stack", "ustack"):
            d = act.data[0]
            pcs = self.value(d, mv)
            if kind == "stack":
                self.out.write(D.format_stack(pcs, self.syms))
            else:
                self.out.write(D.format_ustack(0, pcs, self.syms))
        elif kind == "exit":
            # only END can run after the first exit(); its exit() sets the final status
            status = self.value(act.data[0], mv) & 0xFF
            self.state.exit_status = status
        elif kind == "printa":
            self.printa(act, mv)
        elif kind in ("commit", "discard"):
            self.specs.finish(kind, self.value(act.data[0], mv))
        elif kind in ("clear", "trunc"):
            for agg in act.aggs:
                if kind == "clear":
                    self.clear_agg(agg, False)
                else:
                    n = self.value(act.data[0], mv) if act.data else None
                    self.trunc(agg, n)
        elif kind == "normalize":
            self.normal[act.aggs[0].name] = self.value(act.data[0], mv)
        elif kind == "denormalize":
            self.normal.pop(act.aggs[0].name, None)
        elif kind == "setopt":
            self.setopt(act.extra["option"], act.extra["value"])
        elif kind == "freopen":
            self.freopen(format_printf(act.fmt, [self.arg(d, mv) for d in act.data]))
        elif kind == "ftruncate":
            self.out.flush()
            try:
                os.ftruncate(self.out.stream.fileno(), 0)
                self.out.stream.seek(0)
            except (OSError, ValueError, AttributeError):
                pass  # not a regular file: nothing to truncate
        elif kind == "system":
            import subprocess

            self.out.flush()
            cmd = format_printf(act.fmt, [self.arg(d, mv) for d in act.data])
            subprocess.run(cmd, shell=True)

    def freopen(self, path: str) -> None:
        """freopen(path): later output goes to path (appended); freopen("") restores it."""
        self.out.flush()
        if self.saved_out is None:
            self.saved_out = self.out
        elif self.out is not self.saved_out:
            self.out.stream.close()
        if not path:
            self.out = self.saved_out
            return
        try:
            self.out = Output(open(path, "ab"))
        except OSError as e:
            self.err.write(f"dtrace: failed to open {path}: {e.strerror}\n")
            self.out = self.saved_out

    def setopt(self, name: str, value: Optional[str]) -> None:
        if name.startswith("no") and value is None:
            self.options[name[2:]] = None
        else:
            self.options[name] = value if value is not None else True

    # ------------------------------------------------------------ aggregations

    def agg_data(self, agg: L.AggLayout) -> A.AggData:
        desc = agg_desc(agg)
        entries = self.read_agg(agg)
        return A.AggData(desc, entries, self.normal.get(agg.name, 1))

    def printa(self, act: L.Action, mv: memoryview) -> None:
        aggs = [self.agg_data(a) for a in act.aggs]
        self.printed.update(a.name for a in act.aggs)
        self.out.write(A.format_multi_aggregations(aggs, self.agg_options(), act.fmt, syms=self.syms))

    def trunc(self, agg: L.AggLayout, n: Optional[int]) -> None:
        data = self.agg_data(agg)
        keep = A.trunc(data.desc, list(data.entries.items()), n) if n else []
        keep_keys = {k for k, _v in keep}
        self.clear_agg(agg, True, keep_keys)

    def exit_aggregations(self) -> None:
        """What dtrace prints at the end: the aggregations that hold data."""
        aggs = [self.agg_data(a) for a in sorted(self.c.aggs.values(), key=lambda a: a.id)
                if a.name not in self.printed]
        aggs = [a for a in aggs if a.entries]
        self.out.write(A.format_exit_aggregations(aggs, self.agg_options(), self.syms))

    # ------------------------------------------------------------ faults

    def error(self, clause: int, probe_id: int, cpu: int, fault: int, action: int, addr: int) -> None:
        p = self.probes.get(probe_id)
        desc = p.desc if p is not None else str(probe_id)
        if p is not None and p.provider == "dtrace" and p.name == "ERROR":
            # a fault in an ERROR clause does not fire ERROR again (DTRACEDROP_DBLERROR)
            tag = "[DTRACEDROP_DBLERROR] " if self.options.get("droptags") else ""
            self.err.write(f"dtrace: {tag}1 error in ERROR probe enabling\n")
            self.err.flush()
            return
        text = L.FAULT_TEXT.get(fault & 0xFFFFFFFF, "unknown fault").format(
            addr=f"{addr:#x}", index=addr - (1 << 64) if addr >> 63 else addr)
        self.err.write(f"dtrace: error in dt_clause_{clause} for probe ID {probe_id} ({desc}): "
                       f"{text} at BPF pc {action}\n")
        self.err.flush()
        if self.on_error is not None:
            self.on_error(clause, probe_id, fault & 0xFFFFFFFF, action, addr)


def agg_desc(agg: L.AggLayout) -> A.AggDesc:
    keys = tuple(A.KeyDesc(d.kind, d.size, d.signed) for d in agg.keys)
    kw: dict[str, int] = {}
    if agg.func == "lquantize":
        kw = dict(base=agg.params[0], limit=agg.params[1], step=agg.params[2])
    elif agg.func == "llquantize":
        kw = dict(factor=agg.params[0], lmag=agg.params[1], hmag=agg.params[2], steps=agg.params[3])
    return A.AggDesc(agg.name, A.AggKind(agg.func), keys, agg.id, **kw)


def decode_value(agg: L.AggLayout, words: tuple[int, ...]) -> Optional[Any]:
    """One CPU's value words in aggregate.py's representation; None if it holds nothing."""
    f = agg.func
    s = [w - (1 << 64) if w >= 1 << 63 else w for w in words]
    if f in ("count", "sum"):
        return s[0]
    if f == "avg":
        return (s[0], s[1]) if s[0] else None
    if f in ("min", "max"):
        return s[1] if words[0] else None
    if f == "stddev":
        return (s[0], s[1], words[2] | words[3] << 64) if s[0] else None
    return list(s)


def decode_key(agg: L.AggLayout, key: bytes) -> tuple:
    out = []
    for d in agg.keys:
        if d.kind == "string":
            b = key[d.offset:d.offset + d.size]
            n = b.find(b"\0")
            out.append(b if n < 0 else b[:n])
        elif d.kind in ("usym", "uaddr", "umod"):  # (pid, user address)
            out.append(struct.unpack_from("<QQ", key, d.offset))
        elif d.kind in ("sym", "mod"):
            out.append(struct.unpack_from("<Q", key, d.offset)[0])
        else:
            v = int.from_bytes(key[d.offset:d.offset + 8], "little", signed=True)
            out.append(v)
    return tuple(out)
