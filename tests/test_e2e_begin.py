"""BEGIN/END/exit/printf/trace end to end: real BPF programs run by BPF_PROG_TEST_RUN."""

import pytest

from dtrace_run import dtrace

pytestmark = pytest.mark.needs_bpf


def test_hello_default_output():
    r = dtrace("-n", 'BEGIN { printf("hello, %s %d\\n", "world", 6 * 7); exit(0); }')
    assert r.rc == 0, r.err
    lines = r.out.split("\n")
    assert lines[0] == "CPU     ID                    FUNCTION:NAME"
    cpu, pid, fn, text = lines[1].split(None, 3)
    assert cpu.isdigit() and pid == "1" and fn == ":BEGIN" and text == "hello, world 42"
    assert "dtrace: description 'BEGIN" in r.err and "matched 1 probe" in r.err


def test_hello_quiet():
    r = dtrace("-qn", 'BEGIN { printf("hello, %s %d\\n", "world", 6 * 7); exit(0); }')
    assert (r.rc, r.out) == (0, "hello, world 42\n\n")


def test_testing_mode_drops_cpu_and_id():
    r = dtrace("-n", "BEGIN { trace(7); exit(0); }", testing=True)
    assert r.out == "                   FUNCTION:NAME\n                          :BEGIN           7\n\n"


def test_end_runs_after_exit_and_exit_status():
    r = dtrace("-qn", 'BEGIN { printf("a\\n"); exit(3); } END { printf("end\\n"); }')
    assert r.rc == 3
    assert r.out == "a\nend\n\n"


def test_trace_string_and_empty_clause():
    r = dtrace("-n", 'BEGIN { trace("hi"); } BEGIN { } BEGIN { x = 1; } BEGIN { exit(0); }', testing=True)
    lines = r.out.split("\n")
    assert lines[1] == "                          :BEGIN   hi" + " " * 31
    assert lines[2] == "                          :BEGIN "  # the empty clause's default action
    assert lines[3] == "                          :BEGIN "  # exit(0); the assignment-only clause prints nothing
    assert lines[4:] == ["", ""]


def test_clauses_run_in_order_and_share_variables():
    r = dtrace("-qn", 'BEGIN { x = 2; } BEGIN { x = x * 21; } BEGIN { printf("%d\\n", x); exit(0); }')
    assert r.out == "42\n\n"


def test_runtime_fault_reports_and_continues():
    r = dtrace("-qn", 'BEGIN { x = 0; y = 1 / x; printf("no\\n"); } BEGIN { printf("after\\n"); exit(0); }')
    assert r.rc == 0
    assert "no" not in r.out and "after" in r.out
    assert "error in dt_clause_0 for probe ID 1 (dtrace:::BEGIN): divide-by-zero" in r.err
