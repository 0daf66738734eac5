"""Run the `dtrace` command as a user would, for the integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Result:
    rc: int
    out: str
    err: str


def dtrace(*args: str, testing: bool = False, timeout: float = 30, stdin=None, env=None) -> Result:
    """`python -m pydtrace ARGS`, with `_DTRACE_TESTING` set when asked."""
    e = dict(os.environ)
    e.pop("_DTRACE_TESTING", None)
    if testing:
        e["_DTRACE_TESTING"] = "t"
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    if env:
        e.update(env)
    p = subprocess.run([sys.executable, "-m", "pydtrace", *args], capture_output=True, text=True,
                       timeout=timeout, env=e, stdin=stdin if stdin is not None else subprocess.DEVNULL)
    return Result(p.returncode, p.stdout, p.stderr)


def start(*args: str) -> subprocess.Popen:
    """A long-running `dtrace` in the background (stop it with a signal)."""
    e = dict(os.environ, PYTHONPATH=ROOT)
    e.pop("_DTRACE_TESTING", None)
    return subprocess.Popen([sys.executable, "-m", "pydtrace", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=e)


def wait_matched(p: subprocess.Popen, timeout: float = 20) -> str:
    """Read dtrace's stderr until its 'matched N probes' notice (printed once the programs
    are compiled; not in quiet mode), or until the timeout; returns what was read."""
    import select
    import time

    seen = ""
    deadline = time.time() + timeout
    while time.time() < deadline and "matched" not in seen:
        ready, _, _ = select.select([p.stderr], [], [], max(0.0, deadline - time.time()))
        if not ready:
            break
        line = p.stderr.readline()
        if not line:
            break
        seen += line
    return seen
