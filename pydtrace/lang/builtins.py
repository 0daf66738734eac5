"""D's built-in variables, subroutines, actions and aggregating functions.

The table mirrors DTrace's `_dtrace_globals` (libdtrace/dt_open.c): each
function carries its prototype string in DTrace's notation, where `@` is a
parameter of any type, `...` a variable-length tail and `[type]` an
optional parameter.  Types are written as the type table parses them
(`vmlinux`` prefixes name kernel types).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Param:
    """One prototype parameter: `type` None means any type ("@")."""

    type: Optional[str]
    optional: bool = False


@dataclass(frozen=True)
class Proto:
    ret: str
    params: tuple[Param, ...]
    varargs: Optional[int] = None   # index of "..." (it matches any number of args)
    optargs: Optional[int] = None   # index of the first optional parameter

    @property
    def argc(self) -> int:
        return len(self.params)


def parse_proto(text: str) -> Proto:
    """Split "ret(arg, [opt], ...)" the way dt_idcook_func() does."""
    lp = text.index("(")
    rp = text.rindex(")")
    ret = text[:lp].strip()
    inner = text[lp + 1:rp].strip()
    params: list[Param] = []
    varargs = optargs = None
    if inner:
        for i, p in enumerate(s.strip() for s in inner.split(",")):
            if p in ("@", "..."):
                params.append(Param(None))
                if p == "...":
                    varargs = i
                continue
            if p.startswith("[") and p.endswith("]"):
                if optargs is None:
                    optargs = i
                params.append(Param(p[1:-1].strip(), True))
            else:
                params.append(Param(p))
    return Proto(ret, tuple(params), varargs, optargs)


@dataclass(frozen=True)
class BuiltinFunc:
    """kind: 'func' (subroutine), 'action' (tracing function) or 'aggfunc'."""

    name: str
    kind: str
    proto_text: str
    since: tuple = (1, 0)           # D API version that introduced it (#pragma D option version)
    proto: Proto = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "proto", parse_proto(self.proto_text))


@dataclass(frozen=True)
class BuiltinVar:
    """kind: 'scalar', or 'array' for args[] and uregs[]; `type` as a type string."""

    name: str
    type: Optional[str]
    kind: str = "scalar"
    since: tuple = (1, 0)


# What dt_idkind_name() calls each identifier kind, for messages.
KIND_NAMES = {
    "func": "function",
    "action": "tracing function",
    "aggfunc": "aggregating function",
    "scalar": "scalar",
    "array": "associative array",
    "agg": "aggregation",
    "enum": "enumerator",
    "inline": "scalar",
}

_F = "func"
_A = "action"
_G = "aggfunc"

FUNCTIONS: dict[str, BuiltinFunc] = {f.name: f for f in (
    BuiltinFunc("alloca", _F, "void *(size_t)"),
    BuiltinFunc("avg", _G, "void(@)"),
    BuiltinFunc("basename", _F, "string(const char *)"),
    BuiltinFunc("bcopy", _F, "void(void *, void *, size_t)"),
    BuiltinFunc("breakpoint", _A, "void()"),
    BuiltinFunc("chill", _A, "void(int)"),
    BuiltinFunc("cleanpath", _F, "string(const char *)"),
    BuiltinFunc("clear", _A, "void(@)"),
    BuiltinFunc("commit", _A, "void(int)"),
    BuiltinFunc("copyin", _F, "void *(uintptr_t, size_t)"),
    BuiltinFunc("copyinstr", _F, "string(uintptr_t, [size_t])"),
    BuiltinFunc("copyinto", _F, "void(uintptr_t, size_t, void *)"),
    BuiltinFunc("copyout", _F, "void(void *, uintptr_t, size_t)"),
    BuiltinFunc("copyoutstr", _F, "void(char *, uintptr_t, size_t)"),
    BuiltinFunc("count", _G, "void()"),
    BuiltinFunc("d_path", _F, "string(struct path *)"),
    BuiltinFunc("ddi_pathname", _F, "string(void *, int64_t)"),
    BuiltinFunc("denormalize", _A, "void(@)"),
    BuiltinFunc("dirname", _F, "string(const char *)"),
    BuiltinFunc("discard", _A, "void(int)"),
    BuiltinFunc("exit", _A, "void(int)"),
    BuiltinFunc("freopen", _A, "void(@, ...)", (1, 1)),
    BuiltinFunc("ftruncate", _A, "void()"),
    BuiltinFunc("func", _A, "_symaddr(uintptr_t)", (1, 2)),
    BuiltinFunc("getmajor", _F, "vmlinux`dev_t(vmlinux`dev_t)"),
    BuiltinFunc("getminor", _F, "vmlinux`dev_t(vmlinux`dev_t)"),
    BuiltinFunc("htonl", _F, "uint32_t(uint32_t)", (1, 3)),
    BuiltinFunc("htonll", _F, "uint64_t(uint64_t)", (1, 3)),
    BuiltinFunc("htons", _F, "uint16_t(uint16_t)", (1, 3)),
    BuiltinFunc("index", _F, "int(const char *, const char *, [int])", (1, 1)),
    BuiltinFunc("inet_ntoa", _F, "string(ipaddr_t *)", (1, 5)),
    BuiltinFunc("inet_ntoa6", _F, "string(struct in6_addr *, [int])", (1, 5)),
    BuiltinFunc("inet_ntop", _F, "string(int, void *)", (1, 5)),
    BuiltinFunc("jstack", _A, "stack([uint32_t], [uint32_t])"),
    BuiltinFunc("link_ntop", _F, "string(int, void *)", (1, 5)),
    BuiltinFunc("llquantize", _G, "void(@, int32_t, int32_t, int32_t, int32_t, ...)", (1, 6, 4)),
    BuiltinFunc("lltostr", _F, "string(int64_t, [int])"),
    BuiltinFunc("lquantize", _G, "void(@, int32_t, int32_t, ...)"),
    BuiltinFunc("max", _G, "void(@)"),
    BuiltinFunc("min", _G, "void(@)"),
    BuiltinFunc("mod", _A, "_symaddr(uintptr_t)", (1, 2)),
    BuiltinFunc("msgdsize", _F, "size_t(mblk_t *)"),
    BuiltinFunc("msgsize", _F, "size_t(mblk_t *)"),
    BuiltinFunc("mutex_owned", _F, "int(vmlinux`struct mutex *)"),
    BuiltinFunc("mutex_owner", _F, "vmlinux`struct task_struct *(vmlinux`struct mutex *)"),
    BuiltinFunc("mutex_type_adaptive", _F, "int(vmlinux`struct mutex *)"),
    BuiltinFunc("mutex_type_spin", _F, "int(vmlinux`struct mutex *)"),
    BuiltinFunc("ntohl", _F, "uint32_t(uint32_t)", (1, 3)),
    BuiltinFunc("ntohll", _F, "uint64_t(uint64_t)", (1, 3)),
    BuiltinFunc("ntohs", _F, "uint16_t(uint16_t)", (1, 3)),
    BuiltinFunc("normalize", _A, "void(@, uint64_t)"),
    BuiltinFunc("panic", _A, "void()"),
    BuiltinFunc("pcap", _A, "void(void *, int)", (1, 6, 4)),
    BuiltinFunc("print", _A, "void(@)", (1, 9)),
    BuiltinFunc("printa", _A, "void(@, ...)"),
    BuiltinFunc("printf", _A, "void(string, ...)"),
    BuiltinFunc("printm", _A, "void(size_t, @)"),
    BuiltinFunc("progenyof", _F, "int(pid_t)"),
    BuiltinFunc("quantize", _G, "void(@, ...)"),
    BuiltinFunc("raise", _A, "void(int)"),
    BuiltinFunc("rand", _F, "int()"),
    BuiltinFunc("rindex", _F, "int(const char *, const char *, [int])", (1, 1)),
    BuiltinFunc("rw_iswriter", _F, "int(vmlinux`rwlock_t *)"),
    BuiltinFunc("rw_read_held", _F, "int(vmlinux`rwlock_t *)"),
    BuiltinFunc("rw_write_held", _F, "int(vmlinux`rwlock_t *)"),
    BuiltinFunc("setopt", _A, "void(const char *, [const char *])", (1, 2)),
    BuiltinFunc("speculate", _A, "void(int)"),
    BuiltinFunc("speculation", _F, "int()"),
    BuiltinFunc("stack", _A, "stack([uint32_t])"),
    BuiltinFunc("stddev", _G, "void(@)", (1, 6)),
    BuiltinFunc("stop", _A, "void()"),
    BuiltinFunc("strchr", _F, "string(const char *, char)", (1, 1)),
    BuiltinFunc("strlen", _F, "size_t(const char *)"),
    BuiltinFunc("strjoin", _F, "string(const char *, const char *)"),
    BuiltinFunc("strrchr", _F, "string(const char *, char)", (1, 1)),
    BuiltinFunc("strstr", _F, "string(const char *, const char *)", (1, 1)),
    BuiltinFunc("strtok", _F, "string(const char *, const char *)", (1, 1)),
    BuiltinFunc("substr", _F, "string(const char *, int, [int])", (1, 1)),
    BuiltinFunc("sum", _G, "void(@)"),
    BuiltinFunc("sym", _A, "_symaddr(uintptr_t)", (1, 2)),
    BuiltinFunc("system", _A, "void(@, ...)"),
    BuiltinFunc("tolower", _F, "string(const char *)", (1, 8)),
    BuiltinFunc("toupper", _F, "string(const char *)", (1, 8)),
    BuiltinFunc("trace", _A, "void(@)"),
    BuiltinFunc("tracemem", _A, "void(@, size_t, [size_t])"),
    BuiltinFunc("trunc", _A, "void(@, [uint64_t])"),
    BuiltinFunc("uaddr", _A, "_usymaddr(uintptr_t)", (1, 2)),
    BuiltinFunc("ufunc", _A, "_usymaddr(uintptr_t)", (1, 2)),
    BuiltinFunc("umod", _A, "_usymaddr(uintptr_t)", (1, 2)),
    BuiltinFunc("ustack", _A, "stack([uint32_t], [uint32_t])"),
    BuiltinFunc("usym", _A, "_usymaddr(uintptr_t)", (1, 2)),
)}

#: Built-in variables (names DTrace reserves; they may not be declared or assigned).
VARIABLES: dict[str, BuiltinVar] = {v.name: v for v in (
    *(BuiltinVar(f"arg{i}", "int64_t") for i in range(10)),
    BuiltinVar("args", None, "array"),
    BuiltinVar("caller", "uintptr_t"),
    BuiltinVar("cpu", "int"),
    BuiltinVar("curcpu", "cpuinfo_t *"),
    BuiltinVar("curthread", "vmlinux`struct task_struct *"),
    BuiltinVar("epid", "uint_t"),
    BuiltinVar("errno", "int"),
    BuiltinVar("execname", "string"),
    BuiltinVar("gid", "gid_t"),
    BuiltinVar("id", "uint_t"),
    BuiltinVar("ipl", "uint_t"),
    BuiltinVar("pid", "pid_t"),
    BuiltinVar("ppid", "pid_t"),
    BuiltinVar("probefunc", "string"),
    BuiltinVar("probemod", "string"),
    BuiltinVar("probename", "string"),
    BuiltinVar("probeprov", "string"),
    BuiltinVar("stackdepth", "uint32_t"),
    BuiltinVar("tid", "id_t"),
    BuiltinVar("timestamp", "uint64_t"),
    BuiltinVar("ucaller", "uint64_t", "scalar", (1, 2)),
    BuiltinVar("uid", "uid_t"),
    BuiltinVar("uregs", None, "array"),
    BuiltinVar("ustackdepth", "uint32_t", "scalar", (1, 2)),
    BuiltinVar("vtimestamp", "uint64_t"),
    BuiltinVar("walltimestamp", "int64_t"),
)}

#: Inline definitions DTrace compiles into every program (dt_open.c _dtrace_hardwire).
HARDWIRED_INLINES = (("NULL", "long", 0),)

#: Names that only make sense before `->`.
SCOPE_NAMES = frozenset({"self", "this"})

#: Aggregating functions and the parameters D checks for them.
AGG_FUNCS = frozenset(n for n, f in FUNCTIONS.items() if f.kind == _G)

#: Actions that record data into the trace buffer (DTRACEACT_* other than
#: speculate/commit/discard); used for the speculation ordering rules.
DESTRUCTIVE_ACTIONS = frozenset({"stop", "raise", "system", "breakpoint", "panic", "chill",
                                 "copyout", "copyoutstr"})

#: Actions whose argument must be an aggregation.
AGG_ACTIONS = frozenset({"printa", "clear", "normalize", "denormalize", "trunc"})


def is_reserved(name: str) -> bool:
    """Is `name` a built-in identifier (variable, function or self/this)?"""
    return name in VARIABLES or name in FUNCTIONS or name in SCOPE_NAMES
