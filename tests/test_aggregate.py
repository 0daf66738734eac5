"""Aggregations: bucket math, merging, sorting and DTrace's exact printing.

The end-to-end cases feed the values a D program of the conformance corpus
would produce and compare with its expected output (.r file), which comes
from Oracle's DTrace for Linux.  As dtrace does, a newline is printed at
exit before the aggregations not yet printed.
"""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import given, strategies as st

from pydtrace.consume.aggregate import (
    AggData, AggDesc, AggKind, AggOptions, KeyDesc, QUANTIZE_NBUCKETS, QUANTIZE_ZEROBUCKET,
    format_aggregation, format_exit_aggregations, format_lquantize,
    format_multi_aggregations, format_printa, format_printa_fmt, format_quantize,
    initial, joined_rows, llquantize_bucket, llquantize_labels, llquantize_nbins,
    lquantize_bucket, merge_cpus, quantize_bucket, quantize_bucket_value,
    sort_entries, stddev_value, avg_value, trunc, update, zero, s64)
from pydtrace.consume.printf import parse_format

from corpus import CORPUS

INT64 = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)


def expected(rel: str) -> str:
    """Expected stdout of a corpus test (skips when the corpus is absent)."""
    path = os.path.join(CORPUS, rel)
    if not os.path.exists(path):
        pytest.skip(f"conformance corpus not found: {path}")
    text = open(path, encoding="utf-8").read()
    return text.split("-- @@stderr --\n")[0]


def agg(kind, keys=(), id=1, **kw) -> AggDesc:
    return AggDesc("a", kind, tuple(keys), id=id, **kw)


def feed(desc, entries, key, x=0, incr=1):
    entries[key] = update(desc, entries.get(key, initial(desc)), x, incr)


INT = KeyDesc("int", 4)
STR = KeyDesc("string", 256)


# --------------------------------------------------------------------------
# Buckets
# --------------------------------------------------------------------------

def test_quantize_bucket_fixed_points():
    assert quantize_bucket(0) == 63
    assert quantize_bucket(1) == 64
    assert quantize_bucket(2) == quantize_bucket(3) == 65
    assert quantize_bucket(-1) == 62
    assert quantize_bucket(-(1 << 63)) == 0
    assert quantize_bucket((1 << 63) - 1) == 126
    assert quantize_bucket_value(0) == -(1 << 62)
    assert quantize_bucket_value(126) == 1 << 62


@given(INT64)
def test_quantize_bucket_bounds(v):
    b = quantize_bucket(v)
    assert 0 <= b < QUANTIZE_NBUCKETS
    lo = quantize_bucket_value(b)
    if v > 0:
        assert lo <= v and (b == QUANTIZE_NBUCKETS - 1 or v < quantize_bucket_value(b + 1))
        assert lo & (lo - 1) == 0                       # a power of two
    elif v < 0:
        assert v <= lo and (b == 0 or v > quantize_bucket_value(b - 1))
        assert (-lo) & (-lo - 1) == 0
    else:
        assert b == QUANTIZE_ZEROBUCKET


@given(st.integers(-1000, 1000), st.integers(-100, 100), st.integers(1, 50), st.integers(1, 20))
def test_lquantize_bucket(v, base, span, step):
    limit = base + span * step
    levels = (limit - base) // step
    b = lquantize_bucket(v, base, limit, step)
    if v < base:
        assert b == 0
    elif v >= base + levels * step:
        assert b == levels + 1
    else:
        assert base + (b - 1) * step <= v < base + b * step


@pytest.mark.parametrize("factor,lmag,hmag,steps",
                         [(10, 0, 2, 20), (10, 0, 5, 5), (10, 7, 10, 10), (2, 0, 8, 2),
                          (10, 1, 3, 10), (4, 0, 4, 16), (10, 2, 4, 100)])
def test_llquantize_bucket_monotone_and_labelled(factor, lmag, hmag, steps):
    """Buckets grow with the value and mirror for negatives; the label of
    every bucket a value reaches is the smallest value that reaches it."""
    d = agg(AggKind.LLQUANTIZE, factor=factor, lmag=lmag, hmag=hmag, steps=steps)
    nb = llquantize_nbins(factor, lmag, hmag, steps)
    assert d.nbuckets == nb
    labels = llquantize_labels(d, 0, nb - 1)
    top = factor ** (hmag + 1)
    under = (nb - 1) // 2
    last = -1
    smallest = {}
    values = range(factor ** lmag, min(top, factor ** lmag + 5000))
    assert llquantize_bucket(top - 1, factor, lmag, hmag, steps) == nb - 2
    for v in values:
        b = llquantize_bucket(v, factor, lmag, hmag, steps)
        assert under < b < nb - 1
        assert b >= last
        last = b
        smallest.setdefault(b, v)
        assert llquantize_bucket(-v, factor, lmag, hmag, steps) == nb - 1 - b
    for b, v in smallest.items():
        assert labels[b] == str(v)
    assert llquantize_bucket(top, factor, lmag, hmag, steps) == nb - 1
    assert llquantize_bucket(-top, factor, lmag, hmag, steps) == 0
    assert llquantize_bucket(0, factor, lmag, hmag, steps) == under
    assert labels[nb - 1] == ">= %d" % top


def test_llquantize_layout():
    # llquantize(320, 10, 0, 5, 5): 200 <= 320 < 400
    d = agg(AggKind.LLQUANTIZE, factor=10, lmag=0, hmag=5, steps=5)
    b = llquantize_bucket(320, 10, 0, 5, 5)
    assert llquantize_labels(d, b, b)[b] == "200"
    assert llquantize_bucket(0, 10, 0, 5, 5) == (d.nbuckets - 1) // 2
    assert llquantize_bucket(10 ** 6, 10, 0, 5, 5) == d.nbuckets - 1
    assert llquantize_bucket(-(10 ** 6), 10, 0, 5, 5) == 0


# --------------------------------------------------------------------------
# Values, merging, avg and stddev
# --------------------------------------------------------------------------

def test_update_and_initial():
    for kind, xs, want in [(AggKind.COUNT, [5, 6], 2), (AggKind.SUM, [5, -7], -2),
                           (AggKind.MIN, [5, -7, 3], -7), (AggKind.MAX, [-100, -900], -100),
                           (AggKind.AVG, [1, 2, 4], (3, 7))]:
        d = agg(kind)
        v = initial(d)
        for x in xs:
            v = update(d, v, x)
        assert v == want
    d = agg(AggKind.STDDEV)
    v = initial(d)
    for x in (10, 20):
        v = update(d, v, x)
    assert v == (2, 30, 500)
    assert stddev_value(v) == 5


def test_sum_wraps_like_int64():
    d = agg(AggKind.SUM)
    assert update(d, (1 << 63) - 1, 1) == -(1 << 63)


@given(st.lists(st.tuples(st.integers(0, 3), INT64), max_size=30))
def test_merge_equals_single_cpu(events):
    """Aggregating per CPU then merging gives what one CPU would have."""
    for kind in AggKind:
        kw = {}
        if kind is AggKind.LQUANTIZE:
            kw = dict(base=-10, limit=10, step=2)
        if kind is AggKind.LLQUANTIZE:
            kw = dict(factor=10, lmag=0, hmag=3, steps=10)
        d = agg(kind, **kw)
        cpus = [initial(d) for _ in range(4)]
        whole = initial(d)
        for cpu, x in events:
            cpus[cpu] = update(d, cpus[cpu], x)
            whole = update(d, whole, x)
        assert merge_cpus(kind, cpus) == whole


def test_avg_and_stddev_formulas():
    assert avg_value((0, 0)) == 0
    assert avg_value((2, -7)) == -3              # C division truncates
    assert avg_value((2, 100), normal=5) == 10
    d = agg(AggKind.STDDEV)
    v = initial(d)
    for x in (10, 20, 30, 40, 50):
        v = update(d, v, x)
    assert stddev_value(v) == 14                 # sqrt(200) truncated
    v = initial(d)
    for x in (-5, 5):
        v = update(d, v, x)
    assert stddev_value(v) == 5


@given(st.lists(st.integers(-10 ** 6, 10 ** 6), min_size=1, max_size=40))
def test_stddev_matches_integer_formula(xs):
    d = agg(AggKind.STDDEV)
    v = initial(d)
    for x in xs:
        v = update(d, v, x)
    n = len(xs)
    mean = abs(int(sum(xs) / n)) if sum(xs) >= 0 else abs(-((-sum(xs)) // n))
    want = math.isqrt(sum(x * x for x in xs) // n - mean * mean) \
        if sum(x * x for x in xs) // n >= mean * mean else None
    if want is not None:
        assert stddev_value(v) == want


# --------------------------------------------------------------------------
# Sorting and trunc()
# --------------------------------------------------------------------------

def test_sort_by_value_then_key_and_options():
    d = agg(AggKind.SUM, [INT, INT])
    e = {(1, 3): 0, (2, 2): 0, (3, 1): 0, (0, 9): 5}
    assert [k for k, _ in sort_entries(d, e)] == [(1, 3), (2, 2), (3, 1), (0, 9)]
    assert [k for k, _ in sort_entries(d, e, AggOptions(aggsortkeypos=1))] == \
        [(3, 1), (2, 2), (1, 3), (0, 9)]
    assert [k for k, _ in sort_entries(d, e, AggOptions(aggsortkey=True))] == \
        [(0, 9), (1, 3), (2, 2), (3, 1)]
    assert [k for k, _ in sort_entries(d, e, AggOptions(aggsortkey=True, aggsortrev=True))] == \
        [(3, 1), (2, 2), (1, 3), (0, 9)]


def test_integer_keys_compare_unsigned():
    d = agg(AggKind.SUM, [KeyDesc("int", 8)])
    e = {(-1,): 0, (1,): 0, (0,): 0}
    assert [k for k, _ in sort_entries(d, e, AggOptions(aggsortkey=True))] == [(0,), (1,), (-1,)]


def test_trunc_keeps_top_and_bottom():
    d = agg(AggKind.SUM, [INT])
    e = {(i,): i for i in range(100)}
    assert sorted(k for k, _ in trunc(d, e, 10)) == [(i,) for i in range(90, 100)]
    assert sorted(k for k, _ in trunc(d, e, -3)) == [(0,), (1,), (2,)]
    assert trunc(d, e) == []
    assert trunc(d, e, 0) == []


# --------------------------------------------------------------------------
# Printing, checked against the corpus
# --------------------------------------------------------------------------

def exit_print(*aggs, options=AggOptions()) -> str:
    return "\n" + format_exit_aggregations(list(aggs), options)


def test_corpus_count_sum_max_empty():
    d = agg(AggKind.COUNT)
    assert exit_print(AggData(d, {(): 2})) == expected("aggs/tst.count.r")
    d = agg(AggKind.SUM)
    assert exit_print(AggData(d, {(): sum(range(0, 1000, 100))})) == expected("aggs/tst.sum.r")
    d = agg(AggKind.MAX)
    e = {}
    feed(d, e, (), -100)
    feed(d, e, (), -900)
    assert exit_print(AggData(d, e)) == expected("aggs/tst.max_neg.r")
    assert exit_print(AggData(agg(AggKind.SUM), {(): 12345678})) == expected("aggs/tst.empty.r")


def test_corpus_count_notquiet_value_line():
    assert format_aggregation(agg(AggKind.COUNT), {(): 10}) == "               10\n"


def test_corpus_quantize_per_key():
    d = agg(AggKind.QUANTIZE, [INT])
    e = {}
    for i in range(0, 1000, 100):
        feed(d, e, (i,), i)
    assert exit_print(AggData(d, e)) == expected("aggs/tst.quantize.r")


def test_corpus_quantround_and_lquantround():
    d = agg(AggKind.QUANTIZE)
    e = {}
    for _ in range(2):
        feed(d, e, (), 0)
    for _ in range(6):
        feed(d, e, (), 1)
    for _ in range(19):
        feed(d, e, (), 2)
    assert exit_print(AggData(d, e)) == expected("aggs/tst.quantround.r")
    d = agg(AggKind.LQUANTIZE, base=0, limit=4)
    e = {}
    for x, n in ((0, 2), (1, 6), (2, 19)):
        for _ in range(n):
            feed(d, e, (), x)
    assert exit_print(AggData(d, e)) == expected("aggs/tst.lquantround.r")


def test_corpus_quantlast():
    d = agg(AggKind.QUANTIZE)
    e = {}
    feed(d, e, (), 0x4000000000000000, 1234)
    assert exit_print(AggData(d, e)) == expected("aggs/tst.quantlast.r")


def test_corpus_quantzero():
    # quantize(0, incr) with the increments tst.quantzero.d produces, then printa(@);
    # the key i is an undeclared global, so a 64-bit integer
    d = agg(AggKind.QUANTIZE, [KeyDesc("int", 8)])
    e = {}
    a, b = 7, 13
    val = (-a * b) + a
    i = 0
    while True:
        incr = s64(val) % b if val >= 0 else -((-val) % b)   # D's % truncates
        val += a
        if val == 0:
            val += a
        if incr != 0:
            i += 1
            feed(d, e, (i,), 0, incr)
        else:
            break
    out = format_printa(AggData(d, e)) + "\n"
    assert out == expected("aggs/tst.quantzero.r")


def test_corpus_neglquant():
    d = agg(AggKind.LQUANTIZE, [STR], base=0, limit=10, step=1)
    e = {}

    def add(k, v, inc=1):
        feed(d, e, (k,), v, inc)
    add(b"j-church", 1, 100); add(b"j-church", 1, -99); add(b"j-church", 1, -1)
    val = 123
    add(b"k-ingleside", 1, -val)
    add(b"l-taraval", 0, -val); add(b"l-taraval", -1, -val)
    add(b"l-taraval", 1, val); add(b"l-taraval", 1, val)
    add(b"m-oceanview", 1, (1 << 63) - 1); add(b"m-oceanview", 1)
    add(b"m-oceanview", 2, (1 << 63) - 1); add(b"m-oceanview", 8, 400000)
    add(b"n-judah", 1, val); add(b"n-judah", 2, val); add(b"n-judah", 2, val); add(b"n-judah", 2)
    i, v = 1, (1 << 63) - 1
    for _ in range(7):
        add(b"f-market", i, v)
        i += 1
        v = ((1 << 63) - 1) // i
    i, v = 1, (1 << 63) - 7
    for _ in range(7):
        add(b"s-castro", i, v)
        i += 1
        v = ((1 << 63) - 1) // i
    assert exit_print(AggData(d, e)) == expected("aggs/tst.neglquant.r")


def test_corpus_signedkeyspos():
    rows = {
        "i8": (1, [("cat", -2, -2), ("dog", -2, -22), ("mouse", -2, -222), ("cat", -1, -1),
                   ("dog", -1, -11), ("mouse", -1, -111), ("cat", 0, 0), ("dog", 0, 10),
                   ("mouse", 0, 100), ("cat", 1, 1), ("dog", 1, 11), ("mouse", 1, 111),
                   ("cat", 2, 2), ("dog", 2, 22), ("mouse", 2, 222)]),
        "i16": (2, [("mouse", -2, -2), ("dog", -2, -22), ("cat", -2, -222), ("mouse", -1, -1),
                    ("dog", -1, -11), ("cat", -1, -111), ("mouse", 0, 0), ("dog", 0, 10),
                    ("cat", 0, 100), ("mouse", 1, 1), ("dog", 1, 11), ("cat", 1, 111),
                    ("mouse", 2, 2), ("dog", 2, 22), ("cat", 2, 222)]),
        "i32": (4, [("mouse", -2, -2), ("bear", -2, -22), ("cat", -2, -222), ("mouse", -1, -1),
                    ("bear", -1, -11), ("cat", -1, -111), ("mouse", 0, 0), ("bear", 0, 10),
                    ("cat", 0, 100), ("mouse", 1, 1), ("bear", 1, 11), ("cat", 1, 111),
                    ("mouse", 2, 2), ("bear", 2, 22), ("cat", 2, 222)]),
        "i64": (8, [("cat", -2, -2), ("bear", -2, -22), ("dog", -2, -222), ("cat", -1, -1),
                    ("bear", -1, -11), ("dog", -1, -111), ("cat", 0, 0), ("bear", 0, 10),
                    ("dog", 0, 100), ("cat", 1, 1), ("bear", 1, 11), ("dog", 1, 111),
                    ("cat", 2, 2), ("bear", 2, 22), ("dog", 2, 222)]),
    }
    aggs = []
    for n, (name, (size, data)) in enumerate(rows.items()):
        d = AggDesc(name, AggKind.SUM, (STR, KeyDesc("int", size)), id=n + 1)
        aggs.append(AggData(d, {(s.encode(), k): v for s, k, v in data}))
    opts = AggOptions(aggsortkey=True, aggsortkeypos=1, aggsortrev=True)
    assert exit_print(*aggs, options=opts) == expected("aggs/tst.signedkeyspos.r")


def test_corpus_valsortkeypos():
    d = agg(AggKind.SUM, [INT, INT])
    e = {(1, 3): 0, (2, 2): 0, (3, 1): 0}
    assert exit_print(AggData(d, e), options=AggOptions(aggsortkeypos=1)) == \
        expected("aggs/tst.valsortkeypos.r")


def test_corpus_trunc_and_truncquant():
    d = agg(AggKind.SUM, [INT])
    e = {(i,): i for i in range(100)}
    kept = dict(trunc(d, e, 10))
    assert exit_print(AggData(d, kept)) == expected("aggs/tst.trunc.r")
    d = agg(AggKind.LQUANTIZE, [INT], base=0, limit=150)
    e = {}
    for i in range(100):
        for j in range(4):
            feed(d, e, (i,), i + j)
    kept = dict(trunc(d, e, 5))
    assert exit_print(AggData(d, kept)) == expected("aggs/tst.truncquant.r")


def test_corpus_trunc_one():
    mk = lambda name, i, vals: AggData(AggDesc(name, AggKind.SUM, (INT,), id=i),
                                       {(k,): v for k, v in vals})
    a = mk("a", 1, [(1, 100), (2, 20), (3, 3)])
    b = mk("b", 2, [(4, 400), (5, 50), (6, 6)])
    c = mk("c", 3, [(7, 700), (8, 80), (9, 9)])
    b.entries = dict(trunc(b.desc, b.entries))
    out = format_printa(a) + format_printa(b) + format_printa(c) + "\n"
    assert out == expected("aggs/tst.trunc-one.r")


def test_corpus_normalize():
    d1 = AggDesc("func1", AggKind.SUM, (INT,), id=1)
    d2 = AggDesc("func2", AggKind.SUM, (INT,), id=2)
    e1, e2 = {}, {}
    for i in range(20):
        feed(d1, e1, (i % 5,), i * 100)
        feed(d2, e2, (i % 5 + 1,), i * 200)
    out = "normalized data #1:\n" + format_printa(AggData(d1, e1, normal=5))
    out += "\nnormalized data #2:\n" + "\n"
    out += format_exit_aggregations([AggData(d2, e2, normal=5)])
    assert out == expected("aggs/tst.multinormalize.r")
    out = "normalized data:\n" + format_printa_fmt(parse_format("%u %@u\n"),
                                                     [AggData(d1, e1, normal=5)]) + "\n"
    assert out == expected("aggs/tst.fmtnormalize.r")


def test_corpus_normalize_multiple_times_and_denormalize():
    s = sum(i * 100 for i in range(20))
    a = AggData(AggDesc("a", AggKind.SUM, id=1), {(): s}, normal=5)
    b = AggData(AggDesc("b", AggKind.SUM, id=2), {(): s})
    assert exit_print(a, b) == expected("aggs/tst.normalize_multiple_times.r")
    a.normal = 1                                 # denormalize(@a)
    assert exit_print(a, b) == expected("aggs/tst.denormalize.r")


def test_normalized_negative_sum_divides_unsigned():
    # (long long)value / normal: normal is unsigned in DTrace, so is the division
    d = agg(AggKind.SUM)
    assert format_aggregation(d, {(): -100}, normal=5) == " %16d\n" % (((1 << 64) - 100) // 5)


def test_corpus_reset_printa_all_kinds():
    vals = [10, 20, 30, 40, 50]
    aggs = []
    for i, kind in enumerate([AggKind.SUM, AggKind.STDDEV, AggKind.COUNT, AggKind.AVG,
                              AggKind.QUANTIZE]):
        d = AggDesc("abcde"[i], kind, id=i + 1)
        v = initial(d)
        for x in vals:
            v = update(d, v, x)
        aggs.append(AggData(d, {(): v}))
    out = "".join(format_printa(a) for a in aggs) * 5 + "\n"
    assert out == expected("aggs/tst.reset.r")


def test_corpus_llquantize_normal_overflow_sorts():
    d = agg(AggKind.LLQUANTIZE, factor=10, lmag=0, hmag=2, steps=20)
    e = {}
    for i in range(1, 11):
        for _ in range(5):
            feed(d, e, (), i)
    out = format_printa(AggData(d, e, normal=5)) + "\n"
    assert out == expected("aggs/tst.llquantnormal.r")

    aggs = []
    for n, v in enumerate([1100000000, 1200000000, 1300000000, 1400000000, 1788008280]):
        d = AggDesc("abcde"[n], AggKind.LLQUANTIZE, id=n + 1, factor=10, lmag=7, hmag=10,
                    steps=10)
        e = {}
        feed(d, e, (), v)
        aggs.append(AggData(d, e))
    assert exit_print(*aggs) == expected("aggs/tst.llquantoverflow.r")

    def ll(rows):
        d = agg(AggKind.LLQUANTIZE, [STR], factor=10, lmag=0, hmag=2, steps=20)
        e = {}
        for k, v, inc in rows:
            feed(d, e, (k,), v, inc)
        return format_printa(AggData(d, e)) + "\n"
    assert ll([(b"Spanky", 10, 20), (b"Buckwheat", 4, 50), (b"Alfalfa", 2, 100)]) == \
        expected("aggs/tst.llquantsortkey.r")
    assert ll([(b"Larry", 1, -25), (b"Moe", 2, -50), (b"Shemp", 3, 50), (b"Curly", 4, 25)]) == \
        expected("aggs/tst.llquantsortsum.r")
    assert ll([(b"Alfalfa", 0, 25), (b"Buckwheat", 0, -25), (b"Alfalfa", 2, 100),
               (b"Buckwheat", 4, 50)]) == expected("aggs/tst.llquantsortzero.r")


def test_corpus_printa_basics_every_kind():
    def one(kind, vals, **kw):
        d = agg(kind, **kw)
        v = initial(d)
        for x in vals:
            v = update(d, v, *x) if isinstance(x, tuple) else update(d, v, x)
        return AggData(d, {(): v})
    cases = [("a", one(AggKind.AVG, [1]), "%@u"), ("b", one(AggKind.COUNT, [0]), "%@u"),
             ("c", one(AggKind.LQUANTIZE, [1], base=1, limit=10), "%@d"),
             ("d", one(AggKind.MAX, [1]), "%@u"), ("e", one(AggKind.MIN, [1]), "%@u"),
             ("f", one(AggKind.SUM, [1]), "%@u"), ("g", one(AggKind.QUANTIZE, [1]), "%@d"),
             ("h", one(AggKind.LLQUANTIZE, [(320, 8)], factor=10, lmag=0, hmag=5, steps=5),
              "%@d"),
             ("i", one(AggKind.STDDEV, [10, 20]), "%@d")]
    out = "".join(format_printa_fmt(parse_format("@%s = %s\n" % (n, f)), [a])
                  for n, a, f in cases)
    assert out + "\n" == expected("printa/tst.basics.r")
    assert format_printa_fmt(parse_format("%@u"), [one(AggKind.COUNT, [0])]) + "\n" == \
        expected("printa/tst.fmt.r")


def test_corpus_multiaggs():
    foo = AggData(AggDesc("foo", AggKind.SUM, (INT,), id=3), {(123,): 123, (789,): 789})
    bar = AggData(AggDesc("bar", AggKind.SUM, (INT,), id=4), {(456,): 456, (789,): 789})
    bop = AggData(AggDesc("bop", AggKind.QUANTIZE, (INT,), id=1), {(345,): [0] * 127})
    baz = AggData(AggDesc("baz", AggKind.LQUANTIZE, (INT,), id=2, base=-10, limit=10),
                  {(345,): [0] * 22})
    out = format_printa_fmt(parse_format("%10d %@10d %@10d\n"), [foo, bar])
    out += format_printa_fmt(parse_format("%10d %@10d %@10d %@10d\n"), [foo, bar, bop])
    out += format_printa_fmt(parse_format("%10d %@10d %@10d %@10d %@10d\n"),
                             [foo, bar, bop, baz])
    assert out + "\n" == expected("multiaggs/tst.zero2.r")

    s = AggData(agg(AggKind.SUM), {(): 90904})
    out = format_printa_fmt(parse_format("%@d %@d %@d\n"), [s, s, s])
    out += format_printa_fmt(parse_format("%@d %@d %@d\n"), [s])
    assert out + "\n" == expected("multiaggs/tst.same.r")

    keys = (KeyDesc("string", 128), INT, KeyDesc("string", 128), KeyDesc("int", 8, False))
    one = AggData(AggDesc("one", AggKind.SUM, keys, id=1), {(b"foo", 789, b"bar", 0xffff8881): 123})
    two = AggData(AggDesc("two", AggKind.SUM, keys, id=2), {(b"foo", 789, b"bar", 0xffff8881): 456})
    out = format_printa_fmt(parse_format("%10s %10d %10s %@10d %@10d\n"), [one, two])
    assert out + "\n" == expected("multiaggs/tst.tuplecompat.r")


def test_corpus_multiaggs_no_data():
    bop = AggData(AggDesc("bop", AggKind.QUANTIZE, (INT,), id=1), {})
    baz = AggData(AggDesc("baz", AggKind.LQUANTIZE, (INT,), id=2, base=-10, limit=10), {})
    out = format_printa(bop) + format_printa(baz)
    out += format_printa_fmt(parse_format("%@10d %@10d\n"), [bop, baz])
    assert out + "\n" == expected("multiaggs/tst.zero3.r")


def test_multi_aggregations_default_layout_and_sortpos():
    a = AggData(AggDesc("a", AggKind.SUM, (INT,), id=1), {(1,): 30, (2,): 10})
    b = AggData(AggDesc("b", AggKind.COUNT, (INT,), id=2), {(1,): 1, (3,): 7})
    out = format_multi_aggregations([a, b])
    assert out == ("\n"
                   "        3                0                7\n"
                   "        2               10                0\n"
                   "        1               30                1\n")
    rows = joined_rows([a, b], AggOptions(aggsortpos=1))
    assert [k for k, _ in rows] == [(2,), (1,), (3,)]


def test_quantize_tables_edge_cases():
    empty = format_quantize([0] * 127)
    assert empty.splitlines()[2:] == [
        "              -1 |                                         0        ",
        "               0 |                                         0        ",
        "               1 |                                         0        "]
    d = agg(AggKind.LQUANTIZE, base=0, limit=10)
    t = format_lquantize(d, zero(d))
    assert "             < 0 |" in t and "               1 |" in t


def test_aggpercpu_lines():
    d = agg(AggKind.COUNT, [INT])
    a = AggData(d, {(1,): 3}, percpu={(1,): [(0, 1), (1, 2)]})
    assert format_printa(a) == ("\n        1                3"
                                "\n    [CPU 0]                1"
                                "\n    [CPU 1]                2\n")


def test_multi_aggregations_with_format_text():
    a = AggData(AggDesc("a", AggKind.SUM, (INT,), id=1), {(1,): 30, (2,): 10})
    b = AggData(AggDesc("b", AggKind.COUNT, (INT,), id=2), {(1,): 1})
    assert format_multi_aggregations([a, b], AggOptions(), "%d:%@d:%@d\n") == "2:10:0\n1:30:1\n"
    assert format_multi_aggregations([a], AggOptions()) == format_printa(a)
