"""Diagnostics of the D front end: every fault carries a DTrace tag and a location."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """Where a token or node starts: file name as the user gave it, 1-based line and column."""

    file: str = ""
    line: int = 0
    col: int = 0


class DError(Exception):
    """A compile-time fault in a D program: `tag` is DTrace's D_* name (e.g. D_SYNTAX)."""

    def __init__(self, tag: str, loc: Loc | None, msg: str):
        super().__init__(msg)
        self.tag = tag
        self.loc = loc
        self.msg = msg

    def __str__(self) -> str:
        return self.msg
