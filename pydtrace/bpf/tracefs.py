"""Tracepoints as tracefs lists them: names, ids and record layouts (the `format` files).

tracefs lives at /sys/kernel/tracing (or /sys/kernel/debug/tracing); when neither is
mounted and we are root, it is mounted at /sys/kernel/tracing.
"""

from __future__ import annotations

import ctypes
import os
import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "Field", "TracefsError", "tracefs_root", "list_events", "event_id", "event_format",
    "syscall_names",
]

_CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
_NOT_EVENTS = {"enable", "filter", "header_page", "header_event"}


class TracefsError(OSError):
    """tracefs is missing or an event does not exist."""


@dataclass(frozen=True)
class Field:
    """One field of a tracepoint record: C type, name, byte offset and size, signedness."""

    name: str
    type: str
    offset: int
    size: int
    signed: bool

    @property
    def is_common(self) -> bool:
        """True for the common_* header fields every event starts with."""
        return self.name.startswith("common_")

    @property
    def is_data_loc(self) -> bool:
        """True for `__data_loc` fields: a u32 holding (length << 16) | offset of the data."""
        return self.type.startswith("__data_loc")


def _mount_tracefs(path: str) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.mount(b"nodev", path.encode(), b"tracefs", 0, None) == 0


@lru_cache(maxsize=1)
def tracefs_root() -> str:
    """The tracefs mount point; mounts it at /sys/kernel/tracing if needed (cached)."""
    for path in _CANDIDATES:
        if os.path.isdir(os.path.join(path, "events")):
            return path
    if os.path.isdir(_CANDIDATES[0]) and _mount_tracefs(_CANDIDATES[0]):
        return _CANDIDATES[0]
    raise TracefsError(2, "tracefs is not mounted at /sys/kernel/tracing or "
                          "/sys/kernel/debug/tracing and could not be mounted")


def _events_dir() -> str:
    return os.path.join(tracefs_root(), "events")


def list_events() -> list[tuple[str, str]]:
    """Every tracepoint as (category, name), sorted; one listdir per category."""
    base = _events_dir()
    out = []
    for cat in os.scandir(base):
        if not cat.is_dir():
            continue
        for ev in os.scandir(cat.path):
            if ev.name not in _NOT_EVENTS and ev.is_dir():
                out.append((cat.name, ev.name))
    out.sort()
    return out


def _event_file(cat: str, name: str, leaf: str) -> str:
    path = os.path.join(_events_dir(), cat, name, leaf)
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        raise TracefsError(2, f"no tracepoint {cat}:{name} ({path} does not exist)") from None


def event_id(cat: str, name: str) -> int:
    """The perf tracepoint id of cat:name (for perf_event_open type TRACEPOINT)."""
    return int(_event_file(cat, name, "id"))


_FIELD_RE = re.compile(
    r"^\s*field:(?P<decl>.*?);\s*offset:(?P<off>\d+);\s*size:(?P<size>\d+);"
    r"(?:\s*signed:(?P<signed>-?\d+);)?")
_ARRAY_RE = re.compile(r"^(?P<rest>.*?)\s*(?P<dims>(?:\[[^\]]*\])+)$")


def _split_decl(decl: str) -> tuple[str, str]:
    """Split a field declaration into (type, name).

    'const char * filename' -> ('const char *', 'filename');
    'char comm[16]' -> ('char[16]', 'comm').
    """
    decl = decl.strip()
    dims = ""
    m = _ARRAY_RE.match(decl)
    if m and not decl.startswith("__data_loc"):
        decl, dims = m.group("rest"), m.group("dims")
    m = re.match(r"^(?P<type>.*?[\s*])(?P<name>[A-Za-z_]\w*)$", decl)
    if not m:
        return decl + dims, ""
    return (m.group("type").strip() + dims), m.group("name")


def parse_format(text: str) -> list[Field]:
    """Parse the text of a tracefs `format` file into Fields (common ones included)."""
    fields = []
    for line in text.splitlines():
        m = _FIELD_RE.match(line)
        if not m:
            continue
        ctype, name = _split_decl(m.group("decl"))
        fields.append(Field(name, ctype, int(m.group("off")), int(m.group("size")),
                            m.group("signed") == "1"))
    return fields


def event_format(cat: str, name: str) -> list[Field]:
    """The record layout of cat:name, common_* fields first."""
    return parse_format(_event_file(cat, name, "format"))


def syscall_names() -> list[str]:
    """System calls that have tracepoints (events/syscalls/sys_enter_*), sorted."""
    try:
        names = os.listdir(os.path.join(_events_dir(), "syscalls"))
    except FileNotFoundError:
        return []
    return sorted(n[len("sys_enter_"):] for n in names if n.startswith("sys_enter_"))
