"""A tracing session: the pipeline of DESIGN.md wired together, usable without the CLI.

    parse → check → match probes → compile → load → BEGIN → attach → consume → END → print
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from .bpf.loader import Loaded, create_maps, load_programs
from .bpf.ringbuf import RingBuffer
from .compile import layout as L
from .compile.unit import ACTIVE, G_ACTIVITY, WARMUP
from .compile.program import Matched, compile_program, match_probes
from .compile.speculation import find_spec_map, link as link_speculations
from .consume.consumer import Consumer, Output, decode_key, decode_value
from .consume import aggregate as A
from .lang import ast
from .lang.errors import DError
from .options import OptionError, set_option
from .providers import ProbeTable, default_table
from .providers.profile import Ticker

class EnableError(Exception):
    """The program compiled but cannot be enabled (dtrace: could not enable tracing: ...)."""


POLL_MS = 50  # how long the consumer sleeps waiting for records


@dataclass
class Source:
    """One program text: from -s FILE (kind 'script') or -n/-P/-m/-f/-i (kind 'description')."""

    text: str
    name: str
    kind: str  # 'script' or 'description'
    probe_part: str = "name"  # what a one-part description names: -P provider, -m module...


@dataclass
class Session:
    options: dict[str, Any] = field(default_factory=dict)
    macro_args: list[str] = field(default_factory=list)
    table: ProbeTable = field(default_factory=default_table)
    testing: bool = False

    def __post_init__(self) -> None:
        self.programs: list[tuple[Source, Any, Matched]] = []
        self.compiled: Optional[L.Compiled] = None
        self.loaded: Optional[Loaded] = None
        self.links: list[Any] = []
        self.ring: Optional[RingBuffer] = None
        self.consumer: Optional[Consumer] = None
        self.stopping = False
        self.counted: dict[tuple[int, int], int] = {}  # drop counters already reported
        self._kernel_types: Any = None  # lang.btftypes.KernelTypes, made on first compile
        self.last_status = time.monotonic()

    # ------------------------------------------------------------ compile

    def compile(self, src: Source) -> Matched:
        """Parse, check and match one program; returns the probes it matched."""
        from .lang import check as checker
        from .lang import dlib, parser

        types = self.kernel_types()
        names = dlib.TypeNames(types)
        try:
            prog = parser.parse(src.text, src.name, macro_args=self.macro_args,
                                macro_vars=self.macro_vars(), is_file=src.kind == "script",
                                probe_part=src.probe_part, typedef_names=names,
                                defaultargs=bool(self.options.get("defaultargs")))
        except DError as e:
            # DTrace checks declarations as it parses: an earlier one's fault comes first
            partial = getattr(e, "partial", None)
            if partial is not None:
                checker.check(self.with_library(partial, src, names), types=types,
                              options=self.options)
            raise
        checked = checker.check(self.with_library(prog, src, names), types=types,
                                options=self.options)
        for name, value, loc in checked.options:
            try:
                set_option(self.options, name, value)
            except OptionError:
                raise DError("D_PRAGMA_OPTSET", loc,
                             f"failed to set option '{name}' to '{value}': Invalid value for specified option") from None
        matched = match_probes(checked.clauses, self.table, zero_ok=bool(self.options.get("zdefs")))
        self.programs.append((src, checked, matched))
        return matched

    def kernel_types(self) -> Any:
        """The running kernel's types and symbols (lang.btftypes), one per session; nothing
        is read until a program needs a kernel type name, type or symbol."""
        if self._kernel_types is None:
            from .lang.btftypes import KernelTypes

            self._kernel_types = KernelTypes()
        return self._kernel_types

    def with_library(self, prog: ast.Program, src: Source, names: Any) -> ast.Program:
        """`prog` behind the D library declarations it needs (lang.dlib; none with -xnolibs)."""
        if self.options.get("nolibs"):
            return prog
        from .lang import dlib

        types = self.kernel_types()
        items = dlib.library_items(src.text, self.macro_args, type_names=names,
                                   module_ok=lambda m: m == "vmlinux" or m in types.modules())
        if not items:
            return prog
        return ast.Program(items=items + prog.items, used_macro_args=prog.used_macro_args,
                           loc=prog.loc)

    def macro_vars(self) -> dict[str, int]:
        return {"pid": os.getpid(), "ppid": os.getppid(), "uid": os.getuid(), "gid": os.getgid(),
                "euid": os.geteuid(), "egid": os.getegid(), "sid": os.getsid(0),
                "pgid": os.getpgid(0), "target": int(self.options.get("target", 0) or 0),
                "projid": 0, "taskid": 0}

    def build(self) -> L.Compiled:
        """Compile every program given so far into one set of maps and site programs."""
        merged = Merged(self.programs)
        self.compiled = compile_program(merged, merged.matched, self.table, self.options)
        return self.compiled

    # ------------------------------------------------------------ run

    def enable_check(self) -> None:
        """What DTrace refuses when enabling: raises EnableError with its message."""
        c = self.compiled
        if c.destructive and not self.options.get("destructive"):
            raise EnableError("Destructive actions not allowed")
        aggsize = self.options.get("aggsize")
        for agg in c.aggs.values():
            if aggsize is not None and aggsize < agg.map.key_size + agg.map.value_size:
                raise EnableError("Enabling exceeds size of buffer")
        dynvarsize = self.options.get("dynvarsize")
        for spec in c.maps:
            if spec.dynamic and dynvarsize is not None \
                    and dynvarsize < spec.key_size + spec.value_size:
                raise EnableError("Enabling exceeds size of buffer")

    def load(self) -> None:
        self.enable_check()
        c = self.compiled
        problem = link_speculations(c, self.options)  # nspec sizes the speculation map, loops
        if problem:
            raise EnableError(problem)
        self.loaded = create_maps(c)
        load_programs(c, self.loaded)
        self.ring = RingBuffer(self.loaded.map(c.ringbuf))
        probes = {p.id: p for _s, _c, m in self.programs for p in m.probes}
        from .consume.symbols import SystemSymbolizer

        self.consumer = Consumer(c, probes, Output(self.options.get("_stream")), self.options,
                                 self.read_agg, self.clear_agg, testing=self.testing,
                                 syms=SystemSymbolizer())
        self.consumer.on_error = self.fire_error
        if find_spec_map(c) is not None:
            self.consumer.specs.use_map(self.loaded.map(find_spec_map(c)))

    def special(self, name: str):
        """The loaded program of dtrace:::BEGIN/END/ERROR, if the script enables it."""
        for sp, prog in self.loaded.programs:
            p = sp.site.probes[0]
            if p.provider == "dtrace" and p.name == name:
                return prog
        return None

    def run_special(self, name: str, args: tuple[int, ...] = ()) -> None:
        prog = self.special(name)
        if prog is not None:
            ctx = testrun_ctx(args)
            prog.test_run(ctx)
        self.drain()

    def fire_error(self, clause: int, probe_id: int, fault: int, action: int, addr: int) -> None:
        """Run ERROR clauses for a fault: arg1 epid, arg2 clause, arg3 action, arg4 fault, arg5 addr."""
        if self.special("ERROR") is not None:
            self.pending_errors.append((0, probe_id, clause, action, fault, addr))

    def start(self) -> None:
        """As dtrace_go(): enable every probe while the state is WARMUP (they fire but
        record nothing), run BEGIN (synchronously, in our process), then go ACTIVE unless
        BEGIN called exit(); only then are BEGIN's records consumed."""
        self.pending_errors: list[tuple[int, ...]] = []
        for sp, prog in self.loaded.programs:
            if sp.site.probes[0].provider != "dtrace":
                try:
                    self.links.extend(sp.site.provider.attach(sp.site, prog))
                except OSError as e:  # BPFError, TracefsError: the kernel refused this site
                    raise EnableError(f"failed to enable {sp.site.probes[0].desc}: "
                                      f"{e.strerror or e}") from None
        prog = self.special("BEGIN")
        if prog is not None:
            prog.test_run(testrun_ctx(()))
        g = self.loaded.map(self.compiled.globals)
        value = bytearray(g.lookup(b"\0\0\0\0"))
        if struct.unpack_from("<q", value, G_ACTIVITY)[0] == WARMUP:
            # nothing but BEGIN can have run, so nothing else wrote the globals meanwhile
            struct.pack_into("<q", value, G_ACTIVITY, ACTIVE)
            g.update(b"\0\0\0\0", bytes(value))
        self.drain()

    def drain(self) -> None:
        self.ring.drain(self.consumer.record)
        while self.pending_errors:
            args = self.pending_errors.pop(0)
            prog = self.special("ERROR")
            prog.test_run(testrun_ctx(args))
            self.ring.drain(self.consumer.record)
        now = time.monotonic()
        if now - self.last_status >= self.status_interval():
            self.last_status = now
            self.report_drops()

    def status_interval(self) -> float:
        """How often drops are gathered and reported (statusrate, default 1s)."""
        return (self.options.get("statusrate") or 10**9) / 1e9

    def done(self) -> bool:
        return self.consumer.state.exit_status is not None or self.stopping

    def loop_until(self, child=None) -> None:
        """Consume until exit(), a signal, or the end of the -c command."""
        tickers = [link for link in self.links if isinstance(link, Ticker)]
        while not self.done():
            if child is not None and child.poll() is not None:
                break
            now = time.monotonic()
            wait = POLL_MS / 1000
            for t in tickers:
                wait = min(wait, max(0.0, t.due() - now))
            if wait > 0:
                self.ring.poll(int(wait * 1000) or 1)
            for t in tickers:
                t.fire_due(time.monotonic())
                if self.done():
                    break
            self.drain()
            self.consumer.out.flush()

    def stop(self) -> None:
        """Detach, drain, run END, drain, print the aggregations."""
        for link in self.links:
            link.close()
        self.links.clear()
        self.drain()
        self.run_special("END")
        self.report_drops()
        self.consumer.out.write("\n")
        self.consumer.exit_aggregations()
        self.consumer.out.flush()

    def close(self) -> None:
        for link in self.links:
            link.close()
        self.links.clear()
        if self.ring is not None:
            self.ring.close()
            self.ring = None
        if self.loaded is not None:
            self.loaded.close()
            self.loaded = None

    # ------------------------------------------------------------ maps

    def read_agg(self, agg: L.AggLayout) -> dict:
        m = self.loaded.map(agg.map)
        out = {}
        for key, values in m.items_percpu():
            vals = [decode_value(agg, struct.unpack(f"<{agg.value_words}Q", v[:8 * agg.value_words]))
                    for v in values]
            vals = [v for v in vals if v is not None]
            if not vals:
                continue
            out[decode_key(agg, key)] = A.merge_cpus(A.AggKind(agg.func), vals)
        return out

    def clear_agg(self, agg: L.AggLayout, delete: bool, keep: Optional[set] = None) -> None:
        """clear(): zero every value; trunc(): delete the keys not kept."""
        m = self.loaded.map(agg.map)
        zero = bytes(8 * agg.value_words)
        for key, values in m.items_percpu():
            if delete:
                if keep is None or decode_key(agg, key) not in keep:
                    m.delete(key)
            else:
                m.update_percpu(key, [zero] * len(values))

    def report_drops(self) -> None:
        if self.loaded is None:
            return
        m = self.loaded.map(self.compiled.counters)
        vals = m.lookup_percpu(b"\0\0\0\0") or []
        tags = bool(self.options.get("droptags"))
        dyn = 0  # dynamic variable drops are reported for all CPUs together
        for cpu, v in enumerate(vals):
            counts = struct.unpack_from(f"<{L.NCOUNTERS}Q", v)
            for i, n in enumerate(counts):
                prev = self.counted.get((cpu, i), 0)
                if n > prev:
                    self.counted[(cpu, i)] = n
                    if i == L.CNT_DYNDROPS:
                        dyn += n - prev
                    else:
                        self.consumer.err.write(drop_message(i, n - prev, cpu, tags))
        if dyn:
            self.consumer.err.write(drop_message(L.CNT_DYNDROPS, dyn, 0, tags))
        self.consumer.err.write(self.consumer.specs.drop_messages(tags))
        self.consumer.err.flush()


DROP_TAGS = {L.CNT_DROPS: "DTRACEDROP_PRINCIPAL", L.CNT_DYNDROPS: "DTRACEDROP_DYNAMIC",
             L.CNT_AGGDROPS: "DTRACEDROP_AGGREGATION", L.CNT_ERRORS: "DTRACEDROP_DBLERROR"}


def drop_message(counter: int, n: int, cpu: int, tags: bool = False) -> str:
    """DTrace's drop report; with -xdroptags it carries the DTRACEDROP_* tag."""
    s = "" if n == 1 else "s"
    tag = f"[{DROP_TAGS[counter]}] " if tags else ""
    if counter == L.CNT_DROPS:
        return f"dtrace: {tag}{n} drop{s} on CPU {cpu}\n"
    if counter == L.CNT_DYNDROPS:
        return f"dtrace: {tag}{n} dynamic variable drop{s}\n"
    if counter == L.CNT_AGGDROPS:
        return f"dtrace: {tag}{n} aggregation drop{s} on CPU {cpu}\n"
    return f"dtrace: {tag}{n} error{s} on CPU {cpu}\n"


class Merged:
    """Several checked programs (-n and -s may be given together) seen as one."""

    def __init__(self, programs: list[tuple[Source, Any, Matched]]):
        self.clauses: list[ast.Clause] = []
        self.vars: dict = {}
        self.matched = Matched()
        for _src, checked, matched in programs:
            self.clauses.extend(checked.clauses)
            self.vars.update(checked.vars)
            self.matched.per_clause.extend(matched.per_clause)


def testrun_ctx(args: tuple[int, ...]) -> bytes:
    """The u64 arguments of a raw_tp test run: at most 12 (MAX_BPF_FUNC_ARGS), else EINVAL."""
    vals = [a & 0xFFFFFFFFFFFFFFFF for a in args][:12]
    return struct.pack("<12Q", *(vals + [0] * (12 - len(vals))))
