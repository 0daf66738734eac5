"""tracefs listing and format parsing, the syscall table, and the sys.py constants."""

from __future__ import annotations

import errno

import pytest

from pydtrace.bpf import syscall_table, tracefs
from pydtrace.bpf.sys import BPFError, Cmd, Helper, bpf, errno_name

FORMAT = """name: sched_process_exec
ID: 300
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;
\tfield:char comm[16];\toffset:16;\tsize:16;\tsigned:0;
\tfield:const char * name;\toffset:32;\tsize:8;\tsigned:0;

print fmt: "filename=%s pid=%d", __get_str(filename), REC->pid
"""


def test_parse_format_text():
    fields = tracefs.parse_format(FORMAT)
    got = [(f.name, f.type, f.offset, f.size, f.signed) for f in fields]
    assert got == [
        ("common_type", "unsigned short", 0, 2, False),
        ("common_pid", "int", 4, 4, True),
        ("filename", "__data_loc char[]", 8, 4, False),
        ("pid", "pid_t", 12, 4, True),
        ("comm", "char[16]", 16, 16, False),
        ("name", "const char *", 32, 8, False),
    ]
    assert fields[0].is_common and not fields[3].is_common
    assert fields[2].is_data_loc


@pytest.mark.needs_bpf
def test_live_tracefs():
    events = tracefs.list_events()
    assert ("syscalls", "sys_enter_openat") in events
    assert ("sched", "sched_switch") in events
    assert tracefs.event_id("syscalls", "sys_enter_openat") > 0
    fields = {f.name: f for f in tracefs.event_format("syscalls", "sys_enter_openat")}
    assert fields["filename"].offset == 24 and fields["filename"].size == 8
    assert fields["__syscall_nr"].offset == 8
    with pytest.raises(tracefs.TracefsError):
        tracefs.event_id("syscalls", "sys_enter_no_such_call")


@pytest.mark.needs_bpf
def test_syscall_table_matches_tracefs():
    names = set(tracefs.syscall_names())
    assert {"openat", "read", "write", "getpid"} <= names
    known = {syscall_table.tracepoint_name(nr) for nr in syscall_table.SYSCALLS}
    assert names - known == set(), "tracefs knows system calls the table lacks"


def test_syscall_table_entries():
    t = syscall_table.SYSCALLS
    assert (t[0], t[1], t[2], t[3], t[39], t[59], t[60]) == (
        "read", "write", "open", "close", "getpid", "execve", "exit")
    assert (t[231], t[257], t[321], t[435], t[437]) == (
        "exit_group", "openat", "bpf", "clone3", "openat2")
    assert 512 not in t  # no x32 rows
    assert syscall_table.syscall_number("openat") == 257
    assert syscall_table.syscall_number("newstat") == 4
    assert syscall_table.tracepoint_name(4) == "newstat"
    assert syscall_table.syscall_name(9999) == "syscall_9999"


def test_helper_ids_match_uapi():
    assert (Helper.map_lookup_elem, Helper.probe_read, Helper.get_current_pid_tgid) == (1, 4, 14)
    assert (Helper.ringbuf_reserve, Helper.ringbuf_submit) == (131, 132)
    assert Helper.get_current_task_btf == 158 and Helper.get_func_ip == 173
    assert (Helper.bpf_loop, Helper.loop, Helper.ktime_get_tai_ns) == (181, 181, 208)
    assert Helper(27).name == "get_stackid"
    assert Cmd.LINK_CREATE == 28 and Cmd.ENABLE_STATS == 32 and Cmd.MAP_FREEZE == 22


def test_bpf_error_carries_errno_and_command():
    try:
        bpf(Cmd.MAP_LOOKUP_ELEM, bytearray(160))  # fd 0 is not a map
    except BPFError as e:
        assert e.errno in (errno.EBADF, errno.EINVAL, errno.EPERM)
        assert "BPF_MAP_LOOKUP_ELEM" in str(e)
    else:
        pytest.fail("bpf() on fd 0 should fail")
    assert errno_name(524) == "ENOTSUPP" and errno_name(errno.EPERM) == "EPERM"
