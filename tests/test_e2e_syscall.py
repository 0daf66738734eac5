"""The syscall provider on real system calls."""

import subprocess
import time

import pytest

from dtrace_run import dtrace, start

pytestmark = pytest.mark.needs_bpf


def run_with_workload(script: str, workload, wait: float = 0.8, *flags):
    """Start dtrace, let it attach, run the workload, then stop dtrace with SIGINT."""
    p = start(*flags, "-n", script)
    deadline = time.time() + 20
    while time.time() < deadline:  # the "matched" line comes once probes are set up
        line = p.stderr.readline()
        if "matched" in line or not line:
            break
    time.sleep(wait)
    workload()
    time.sleep(wait)
    p.send_signal(2)
    out, err = p.communicate(timeout=20)
    return p.returncode, out, err


def test_openat_copyinstr_cat():
    rc, out, err = run_with_workload(
        'syscall::openat:entry /execname == "cat"/ { printf("%s %s\\n", execname, copyinstr(arg1)); }',
        lambda: subprocess.run(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL), 0.5, "-q")
    assert rc == 0, err
    assert "cat /etc/hostname\n" in out


def test_return_value_and_errno():
    rc, out, err = run_with_workload(
        'syscall::openat:return /execname == "cat"/ { printf("%d %d\\n", (int)arg1, errno); }',
        lambda: subprocess.run(["cat", "/nonexistent/file"], stderr=subprocess.DEVNULL), 0.5, "-q")
    assert "-1 2\n" in out, (out, err)  # ENOENT


def test_count_by_execname_is_printed_at_exit():
    rc, out, err = run_with_workload(
        'syscall::getppid:entry /execname == "python3"/ { @[execname] = count(); }',
        lambda: subprocess.run(["python3", "-c", "import os\nfor i in range(7): os.getppid()"]),
        0.5, "-q")
    lines = [l for l in out.split("\n") if l.strip()]
    assert lines and lines[-1].split() == ["python3", "7"], out
