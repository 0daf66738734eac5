"""`dtrace -l`: list probes, all of them or those matching -n/-P/-m/-f/-i descriptions."""

from __future__ import annotations

import sys

from .providers import default_table


def list_probes(cmd) -> int:
    table = default_table()
    out = sys.stdout
    out.write(f"{'ID':>5} {'PROVIDER':>10} {'MODULE':>17} {'FUNCTION':>33} NAME\n")
    if not cmd.specs:
        probes = table.all()
    else:
        seen: dict[int, object] = {}
        for flag, text in cmd.specs:
            fields = spec_fields(flag, text)
            if fields is None:
                sys.stderr.write(f"dtrace: invalid probe specifier {text}\n")
                return 1
            found = table.match(*fields) if flag != "i" else [p for p in table.all() if str(p.id) == text]
            if not found:
                sys.stderr.write(f"dtrace: failed to match {':'.join(fields)}: No probe matches description\n")
                return 1
            for p in found:
                seen.setdefault(p.id, p)
        probes = sorted(seen.values(), key=lambda p: p.id)
    for p in probes:
        out.write(f"{p.id:>5} {p.provider:>10} {p.module:>17} {p.function:>33} {p.name}\n")
    return 0


def spec_fields(flag: str, text: str):
    """The four fields of a -n/-P/-m/-f description: the given parts end at the field the
    flag names (provider, module, function or name); the others are empty."""
    parts = text.split("{")[0].split("/")[0].strip().split(":")
    if len(parts) > 4:
        return None
    end = max({"P": 1, "m": 2, "f": 3}.get(flag, 4), len(parts))
    return tuple([""] * (end - len(parts)) + parts + [""] * (4 - end))
