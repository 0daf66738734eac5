"""No program of ours stays loaded after dtrace ends: by SIGINT, SIGTERM or SIGKILL."""

import signal
import time

import pytest

from dtrace_run import start, wait_matched

pytestmark = pytest.mark.needs_bpf


def our_program_ids(pid_hint=None) -> set[int]:
    from pydtrace.bpf.program import list_loaded_programs

    return {p["id"] for p in list_loaded_programs() if p["name"].startswith("dt_")}


def started_dtrace():
    before = our_program_ids()
    p = start("-n", "syscall::read:entry { @[execname] = count(); } tick-1s { printf(\"tick\\n\"); }")
    wait_matched(p)
    deadline = time.time() + 10
    while time.time() < deadline and not (our_program_ids() - before):
        time.sleep(0.05)
    mine = our_program_ids() - before
    assert mine, "dtrace loaded no programs"
    return p, mine


def wait_gone(ids: set[int]) -> set[int]:
    deadline = time.time() + 10
    while time.time() < deadline:
        left = ids & our_program_ids()
        if not left:
            return left
        time.sleep(0.05)
    return ids & our_program_ids()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_programs_detached_after_signal(sig):
    p, mine = started_dtrace()
    p.send_signal(sig)
    out, err = p.communicate(timeout=20)
    assert not wait_gone(mine)
    if sig != signal.SIGKILL:
        assert p.returncode == 0, err
        assert "Traceback" not in err
