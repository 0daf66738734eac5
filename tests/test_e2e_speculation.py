"""Speculations end to end: speculation(), speculate(), commit(), discard(), nspec, specsize."""

import pytest

from dtrace_run import dtrace

pytestmark = pytest.mark.needs_bpf

LINE = "                          :BEGIN "  # a probe line in testing mode


def test_commit_prints_in_commit_order():
    r = dtrace("-qxnspec=3", "-n", """
        BEGIN { i = speculation(); j = speculation(); k = speculation();
                printf("ids %d %d %d\\n", i, j, k); }
        BEGIN { speculate(i); printf("i\\n"); }
        BEGIN { speculate(j); printf("j\\n"); }
        BEGIN { speculate(k); printf("k\\n"); }
        BEGIN { printf("before\\n"); }
        BEGIN { commit(k); discard(j); commit(i); }
        BEGIN { printf("after\\n"); exit(0); }
    """)
    assert (r.rc, r.out) == (0, "ids 1 2 3\nbefore\nk\ni\nafter\n\n"), r.err


def test_uncommitted_speculations_are_dropped_and_end_may_commit():
    r = dtrace("-qn", 'BEGIN { s = speculation(); } BEGIN { speculate(s); printf("never\\n"); } '
                      'END { printf("end\\n"); } BEGIN { exit(0); }')
    assert (r.rc, r.out, r.err) == (0, "end\n\n", "")
    # committed in END: printed there, in order
    r = dtrace("-qn", 'BEGIN { s = speculation(); } BEGIN { speculate(s); printf("spec\\n"); } '
                      'BEGIN { printf("begin\\n"); exit(0); } END { commit(s); } '
                      'END { printf("end\\n"); }')
    assert (r.rc, r.out) == (0, "begin\nspec\nend\n\n")


def test_committed_records_keep_their_probe_line():
    spec = dtrace("-n", 'BEGIN { s = speculation(); } BEGIN { speculate(s); trace(42); } '
                        'BEGIN { commit(s); } BEGIN { exit(0); }', testing=True)
    plain = dtrace("-n", 'BEGIN { trace(42); } BEGIN { exit(0); }', testing=True)
    # the speculative clause's line comes out at the commit; the commit-only clause has none
    assert spec.out == plain.out and spec.out.count(":BEGIN") == 2
    r = dtrace("-n", 'BEGIN { s = speculation(); } BEGIN { speculate(s); trace(42); } '
                     'BEGIN { commit(s); } BEGIN { exit(0); }')
    cpu, pid, fn, val = r.out.split("\n")[1].split()
    assert (pid, fn, val) == ("1", ":BEGIN", "42") and cpu.isdigit()


def test_speculate_only_clause_records_nothing():
    # a clause whose only action is speculate() has no default probe line, even committed
    r = dtrace("-n", 'BEGIN { s = speculation(); } BEGIN { speculate(s); } BEGIN { commit(s); } '
                     'BEGIN { exit(0); }', testing=True)
    assert r.out == "                   FUNCTION:NAME\n" + LINE + "\n\n"


def test_unusable_id_ends_the_clause_quietly():
    r = dtrace("-qn", 'BEGIN { speculate(0); x = 1; printf("no\\n"); } '
                      'BEGIN { speculate(-1); x = 2; } BEGIN { speculate(1); x = 3; } '
                      'BEGIN { printf("x=%d\\n", x); exit(0); }')
    assert (r.rc, r.out, r.err) == (0, "x=0\n\n", "")


def test_commit_zero_and_inactive_do_nothing_but_out_of_range_faults():
    r = dtrace("-qxnspec=2", "-n",
               'BEGIN { commit(0); discard(2); commit(1); } BEGIN { printf("ok\\n"); } '
               'BEGIN { commit(3); } BEGIN { commit(-1); } BEGIN { exit(0); }')
    assert (r.rc, r.out) == (0, "ok\n\n")
    assert "error in dt_clause_2 for probe ID 1 (dtrace:::BEGIN): illegal operation" in r.err
    assert "error in dt_clause_3 for probe ID 1 (dtrace:::BEGIN): illegal operation" in r.err


def test_discard_frees_the_id_and_data_after_discard_prints():
    r = dtrace("-qn", 'BEGIN { s = speculation(); } BEGIN { speculate(s); printf("dropped\\n"); } '
                      'BEGIN { discard(s); printf("shown\\n"); } '
                      'BEGIN { printf("again\\n"); discard(s); } BEGIN { commit(s); } '
                      'BEGIN { exit(0); }')
    assert (r.rc, r.out, r.err) == (0, "shown\nagain\n\n", "")


def test_failed_speculations_unavailable_and_busy():
    r = dtrace("-qn", 'BEGIN { a = speculation(); b = speculation(); printf("%d %d\\n", a, b); '
                      'exit(0); }')
    assert (r.rc, r.out) == (0, "1 0\n\n")
    assert r.err == "dtrace: 1 failed speculation (no speculative buffer available)\n"
    # a committed id stays busy until the consumer has drained it
    r = dtrace("-qn", 'BEGIN { a = speculation(); commit(a); } '
                      'BEGIN { b = speculation(); c = speculation(); printf("%d %d %d\\n", a, b, c); '
                      'exit(0); }')
    assert r.out == "1 0 0\n\n"
    assert r.err == "dtrace: 2 failed speculations (available buffer(s) still busy)\n"


def test_ids_are_reused_once_drained():
    r = dtrace("-qn", 'BEGIN { n = 0; } tick-100ms /n < 3/ { s = speculation(); } '
                      'tick-100ms /n < 3/ { speculate(s); printf("%d:%d\\n", n, s); } '
                      'tick-100ms /n < 3/ { commit(s); n++; } '
                      'tick-100ms /n == 3/ { exit(0); }')
    assert (r.rc, r.out, r.err) == (0, "0:1\n1:1\n2:1\n\n", "")


def test_specsize_drops_and_droptags():
    prog = ('BEGIN { s = speculation(); } BEGIN { speculate(s); trace(1); } '
            'BEGIN { speculate(s); trace("a string longer than the speculation buffer"); } '
            'BEGIN { commit(s); } BEGIN { exit(0); }')
    r = dtrace("-qxspecsize=40", "-n", prog)
    assert (r.rc, r.out) == (0, "1\n")
    assert r.err == "dtrace: 1 speculative drop\n"
    r = dtrace("-qxspecsize=40", "-xdroptags", "-n", prog)
    assert r.err == "dtrace: [DTRACEDROP_SPEC] 1 speculative drop\n"


def test_nspec_allows_more_and_ids_are_lowest_free():
    r = dtrace("-qxnspec=8", "-n",
               'BEGIN { a = speculation(); b = speculation(); c = speculation(); '
                      'd = speculation(); e = speculation(); f = speculation(); g = speculation(); '
                      'h = speculation(); i = speculation(); '
                      'printf("%d %d %d %d %d %d %d %d %d\\n", a, b, c, d, e, f, g, h, i); exit(0); }')
    assert r.out == "1 2 3 4 5 6 7 8 0\n\n"
    assert r.err == "dtrace: 1 failed speculation (no speculative buffer available)\n"


def test_ordering_errors_are_compile_errors():
    r = dtrace("-qn", 'BEGIN { printf("x"); speculate(1); }')
    assert r.rc == 1 and "speculate( ) may not follow data-recording action(s)" in r.err
    r = dtrace("-qn", 'BEGIN { speculate(1); exit(0); }')
    assert r.rc == 1 and "exit( ) may not follow speculate( )" in r.err


def test_consumer_keeps_late_records_with_their_speculation():
    """Records of a speculation that arrive after its commit/discard (speculate() ran on
    another CPU just before) follow it; a new generation of the id is kept apart."""
    import struct

    from pydtrace.compile import layout as L
    from pydtrace.consume.speculation import Speculations

    lay = L.ClauseLayout(0, [L.Action("trace", 0, [L.Datum(24, 8, "int")])], 32, 1, True)

    class FakeConsumer:
        options: dict = {}
        c = L.Compiled([], [], [lay], {}, None, None, None)
        shown: list = []

        def data(self, lay, probe_id, cpu, mv):
            self.shown.append(struct.unpack_from("<q", mv, 24)[0])
            specs.settle()

        def value(self, d, mv):
            return struct.unpack_from("<q", mv, d.offset)[0]

    def hold(spec_id, gen, v):
        kind = L.REC_DATA | spec_id << L.SPEC_ID_SHIFT | gen << L.SPEC_GEN_SHIFT
        specs.hold(kind, lay, memoryview(struct.pack("<IIIIQq", kind, 0, 1, 0, 1, v)))

    def finish(kind, value):
        specs.finish(kind, value)
        specs.settle()

    fc = FakeConsumer()
    specs = Speculations(fc)
    freed = []
    specs.free = lambda i, state: freed.append((i, state))
    hold(1, 0, 10)
    hold(1, 0, 11)
    assert fc.shown == []
    finish("commit", 1 | 1 << 32)  # id 1, generation 0 + 1: it took effect
    assert fc.shown == [10, 11] and freed == [(1, 1 << 8)]
    hold(1, 0, 12)  # late: printed at once
    hold(1, 1, 20)  # the id's next speculation: kept back
    assert fc.shown == [10, 11, 12]
    finish("discard", 1 | 2 << 32)
    hold(1, 1, 21)  # late, discarded
    finish("commit", 1)  # took no effect (an inactive id): nothing happens
    assert fc.shown == [10, 11, 12] and freed == [(1, 1 << 8), (1, 2 << 8)]
