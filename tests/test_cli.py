"""The dtrace command line: usage, options, listing, messages and exit status."""

import pytest

from dtrace_run import dtrace


def test_no_arguments_is_usage():
    r = dtrace()
    assert r.rc == 2 and r.err.startswith("Usage: dtrace")


def test_unknown_flag_is_usage():
    r = dtrace("-Q")
    assert r.rc == 2 and "Usage: dtrace" in r.err


def test_version():
    r = dtrace("-V")
    assert r.rc == 0 and r.out.startswith("dtrace: Sun D")


def test_bad_x_option_name_and_value():
    r = dtrace("-x", "nosuchoption", "-n", "BEGIN")
    assert (r.rc, r.err) == (1, "dtrace: failed to set -x nosuchoption: Invalid option name\n")
    r = dtrace("-x", "strsize=1", "-n", "BEGIN")
    assert (r.rc, r.err) == (1, "dtrace: failed to set -x strsize: Invalid value for specified option\n")


def test_compile_error_has_line_and_tag(tmp_path):
    f = tmp_path / "bad.d"
    f.write_text("BEGIN\n{\n\tx = ;\n}\n")
    r = dtrace("-xerrtags", "-s", str(f))
    assert r.rc == 1
    assert r.err == f'dtrace: failed to compile script {f}: [D_SYNTAX] line 3: syntax error near ";"\n'
    assert "Traceback" not in r.err


def test_missing_script_file():
    r = dtrace("-s", "/nonexistent/x.d")
    assert r.rc == 1 and r.err.startswith("dtrace: failed to open /nonexistent/x.d")


def test_pdesc_zero_and_Z():
    r = dtrace("-e", "-n", "syscall::nosuchcall:entry")
    assert r.rc == 1
    assert "probe description syscall::nosuchcall:entry does not match any probes" in r.err
    r = dtrace("-Z", "-n", "syscall::nosuchcall:entry", "-n", "BEGIN { exit(0); }")
    assert r.rc == 0
    assert "description 'syscall::nosuchcall:entry' matched 0 probes" in r.err


def test_compile_only_enables_nothing_and_reports_no_matches():
    r = dtrace("-e", "-n", "syscall::read*:entry")
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_run_reports_matches():
    r = dtrace("-n", "syscall::read*:entry /pid == $target/ { exit(0); }", "-c", "cat /etc/hostname")
    assert r.rc == 0
    assert r.err.startswith("dtrace: description 'syscall::read*:entry /pid == $target/ { exit(0); }' matched 5 probes")


def test_list_header_and_dtrace_probes():
    r = dtrace("-l", "-n", "dtrace:::")
    assert r.rc == 0
    lines = r.out.split("\n")
    assert lines[0] == "   ID   PROVIDER            MODULE                          FUNCTION NAME"
    assert [l.split() for l in lines[1:4]] == [["1", "dtrace", "BEGIN"], ["2", "dtrace", "END"],
                                                ["3", "dtrace", "ERROR"]]


def test_list_globs_syscalls_and_tracepoints():
    r = dtrace("-l", "-n", "syscall::openat:")
    rows = [l.split() for l in r.out.split("\n")[1:] if l]
    assert [row[1:] for row in rows] == [["syscall", "vmlinux", "openat", "entry"],
                                         ["syscall", "vmlinux", "openat", "return"]]
    r = dtrace("-l", "-n", "sdt:sched::sched_switch")
    assert r.rc == 0 and r.out.split("\n")[1].split()[1:] == ["sdt", "sched", "sched_switch"]


def test_list_unmatched_is_an_error():
    r = dtrace("-l", "-n", "nosuchprovider:::")
    assert r.rc == 1 and "No probe matches description" in r.err


def test_probe_by_id():
    r = dtrace("-q", "-i", '1 { printf("by id\\n"); exit(0); }')
    assert (r.rc, r.out) == (0, "by id\n\n")
    r = dtrace("-i", "99999")
    assert r.rc == 1 and "probe description 99999 does not match any probes" in r.err
    assert "internal error" not in r.err
