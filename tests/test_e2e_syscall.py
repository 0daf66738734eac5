"""The syscall provider on real system calls."""

import subprocess
import sys
import time

import pytest

from dtrace_run import dtrace, start, wait_matched

pytestmark = pytest.mark.needs_bpf


def run_with_workload(script: str, workload, wait: float = 0.8, *flags):
    """Start dtrace, let it attach, run the workload, then stop dtrace with SIGINT."""
    p = start(*flags, "-n", script)
    wait_matched(p)  # not quiet: the notice says the programs are compiled
    time.sleep(wait)
    workload()
    time.sleep(wait)
    p.send_signal(2)
    out, err = p.communicate(timeout=20)
    return p.returncode, out, err


def test_openat_copyinstr_cat():
    rc, out, err = run_with_workload(
        'syscall::openat:entry /execname == "cat"/ { printf("%s %s\\n", execname, copyinstr(arg1)); }',
        lambda: subprocess.run(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL), 0.5)
    assert rc == 0, err
    assert "cat /etc/hostname\n" in out


def test_return_value_and_errno():
    rc, out, err = run_with_workload(
        'syscall::openat:return /execname == "cat"/ { printf("%d %d\\n", (int)arg1, errno); }',
        lambda: subprocess.run(["cat", "/nonexistent/file"], stderr=subprocess.DEVNULL), 0.5)
    assert "-1 2\n" in out, (out, err)  # ENOENT


def test_count_by_execname_is_printed_at_exit(tmp_path):
    # a program name of our own, so no other process's calls are counted
    worker = tmp_path / "dtworker"
    worker.symlink_to(sys.executable)
    rc, out, err = run_with_workload(
        'syscall::getppid:entry /execname == "dtworker"/ { @[execname] = count(); }',
        lambda: subprocess.run([str(worker), "-c", "import os\nfor i in range(7): os.getppid()"]),
        0.5)
    lines = [l for l in out.split("\n") if l.strip()]
    assert lines and lines[-1].split() == ["dtworker", "7"], out
    assert "FUNCTION:NAME" not in out  # an aggregation records no data: no probe lines, no header


def test_target_is_the_c_command():
    r = dtrace("-qn", 'syscall::write:entry /pid == $target/ { printf("write %d\\n", arg2); }',
               "-c", "echo hello")
    assert r.rc == 0, r.err
    assert r.out == "hello\nwrite 6\n\n" or r.out == "write 6\nhello\n\n"
    assert "has exited" in r.err
