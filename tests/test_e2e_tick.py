"""profile provider: tick-N fires at its rate, profile-N on every CPU."""

import pytest

from dtrace_run import dtrace

pytestmark = pytest.mark.needs_bpf


def test_tick_100ms_fires_repeatedly():
    r = dtrace("-qn", 'tick-100ms { n++; } tick-100ms /n == 5/ { printf("five\\n"); exit(0); }')
    assert (r.rc, r.out) == (0, "five\n\n"), r.err


def test_tick_units():
    r = dtrace("-qn", 'tick-1s { printf("one second\\n"); exit(0); }')
    assert r.out == "one second\n\n"


def test_profile_fires_and_exits():
    r = dtrace("-qn", "profile-997 { @ = count(); } tick-200ms { exit(0); }")
    assert r.rc == 0
    assert int(r.out.split()[-1]) > 0
