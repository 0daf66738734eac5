"""DTrace's run-time and compile-time options (`-x name=value`, `#pragma D option`)."""

from __future__ import annotations

import re
from typing import Any, Optional


class OptionError(Exception):
    """A bad -x option: `kind` is 'name' (unknown) or 'value' (bad value)."""

    def __init__(self, name: str, kind: str):
        super().__init__(name)
        self.name = name
        self.kind = kind

    @property
    def message(self) -> str:
        if self.kind == "name":
            return f"dtrace: failed to set -x {self.name}: Invalid option name"
        return f"dtrace: failed to set -x {self.name}: Invalid value for specified option"


SIZE_OPTIONS = {"aggsize", "bufsize", "dynvarsize", "specsize", "strsize", "scratchsize",
                "lockstatsize", "maxframes", "nspec", "cpu", "jstackframes", "jstackstrsize",
                "stackframes", "ustackframes", "aggsortkeypos", "aggsortpos", "stackindent",
                "pcapsize", "dtypes", "printsize"}
RATE_OPTIONS = {"aggrate", "cleanrate", "statusrate", "switchrate"}
FLAG_OPTIONS = {"aggpercpu", "aggsortkey", "aggsortrev", "destructive", "flowindent", "quiet",
                "rawbytes", "zdefs", "errtags", "grabanon", "ctypes", "droptags", "knodefs",
                "kdefs", "nolibs", "empty", "cpp", "defaultargs", "stdc_", "verbose", "debug",
                "strip", "linktype", "quietresize", "aggzoom", "aggpack", "cpphdrs",
                "noresolve", "unodefs", "udefs", "lazyload", "evaltime", "useruntime",
                "bpflog", "core", "bpflogsize", "disasm", "preallocate"}
STRING_OPTIONS = {"bufpolicy", "bufresize", "define", "undef", "incdir", "linkmode", "ldpath",
                  "ctfpath", "cpppath", "stdc", "version", "iregs", "procfs", "modpath",
                  "libdir", "amin", "pspec", "pgmax", "freopen", "zone", "linktype", "evaltime",
                  "iregs", "syslibdir"}
SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
RATE_UNITS = {"": 1, "ns": 1, "nsec": 1, "us": 1000, "usec": 1000, "ms": 10**6, "msec": 10**6,
              "s": 10**9, "sec": 10**9, "m": 60 * 10**9, "min": 60 * 10**9,
              "h": 3600 * 10**9, "hour": 3600 * 10**9, "d": 86400 * 10**9, "day": 86400 * 10**9}
MIN_VALUES = {"strsize": 2}


def parse_size(text: str) -> Optional[int]:
    m = re.fullmatch(r"(\d+)([kmgtKMGT]?)", text.strip())
    if not m:
        return None
    return int(m.group(1)) * SIZE_UNITS[m.group(2).lower()]


def parse_rate(text: str) -> Optional[int]:
    """A rate as nanoseconds between events: `10hz`, `100ms`, or a bare number of Hz."""
    m = re.fullmatch(r"(\d+)([a-z]*)", text.strip())
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2)
    if unit in ("", "hz"):
        return 10**9 // n if n else None
    if unit not in RATE_UNITS:
        return None
    return n * RATE_UNITS[unit]


def set_option(options: dict[str, Any], name: str, value: Optional[str]) -> None:
    """Validate and record one option; raises OptionError."""
    if name.startswith("no") and name[2:] in FLAG_OPTIONS and value is None:
        options[name[2:]] = None
        return
    if name in SIZE_OPTIONS:
        if value is None:
            raise OptionError(name, "value")
        n = parse_size(value)
        if n is None or n < MIN_VALUES.get(name, 0):
            raise OptionError(name, "value")
        options[name] = n
    elif name in RATE_OPTIONS:
        n = parse_rate(value or "")
        if n is None:
            raise OptionError(name, "value")
        options[name] = n
    elif name in FLAG_OPTIONS:
        options[name] = True if value is None else value
    elif name in STRING_OPTIONS:
        options[name] = value if value is not None else True
    else:
        raise OptionError(name, "name")
