"""Aggregations: the data model, per-CPU merging, sorting and printing.

Mirrors Oracle's DTrace for Linux: the bucket functions of its BPF code
(bpf/agg_qbin.c, bpf/agg_lqbin.c, dt_cg_agg_llquantize_bin), the merge of
per-CPU data and the sort order of libdtrace/dt_aggregate.c (aggsortkey,
aggsortrev, aggsortpos, aggsortkeypos, trunc()), and the printing of
libdtrace/dt_consume.c (dt_print_aggs, dt_print_quantize, ...) and of
printa() with a format string (dt_printf.c).

Value representation, per kind (plain Python ints, wrapped to DTrace's
64-bit arithmetic by merge() and update()):

    COUNT, SUM, MIN, MAX   int
    AVG                    (count, total)
    STDDEV                 (count, total, sum of squares as a 128-bit int)
    QUANTIZE               list of 127 bucket counts: bucket 63 holds 0,
                           64+k holds [2**k, 2**(k+1)), 62-k holds
                           (-2**(k+1), -2**k]  (quantize_bucket_value())
    LQUANTIZE              list of levels + 2 counts: [< base] + levels +
                           [>= base + levels * step]
    LLQUANTIZE             list of llquantize_nbins() counts: negative
                           overflow, negative ranges, underflow (|v| <
                           factor**lmag) in the middle, positive ranges,
                           positive overflow

Keys are tuples with one item per key column, described by the KeyDesc of
the same position: int for integers and kernel addresses (sym/mod), bytes
for strings (up to the first NUL), (pid, addr) for usym/uaddr/umod, a tuple
of pcs for stack(), (pid, pcs) for ustack().
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from typing import Iterable, Sequence

from . import datum
from .printf import (Arg, Conversion, FormatPiece, csprintf, format_printf_bytes,
                     from_text, int_fmt, parse_format, to_text, _as_bytes)

INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)
_U64 = (1 << 64) - 1
_U128 = (1 << 128) - 1


def s64(v: int) -> int:
    """v wrapped to a signed 64-bit integer."""
    v = int(v) & _U64
    return v - (1 << 64) if v >> 63 else v


class AggKind(Enum):
    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    STDDEV = "stddev"
    QUANTIZE = "quantize"
    LQUANTIZE = "lquantize"
    LLQUANTIZE = "llquantize"


# --------------------------------------------------------------------------
# Bucket functions (the BPF side implements the same arithmetic)
# --------------------------------------------------------------------------

QUANTIZE_NBUCKETS = 127          # DTRACE_QUANTIZE_NBUCKETS: (64 - 1) * 2 + 1
QUANTIZE_ZEROBUCKET = 63         # DTRACE_QUANTIZE_ZEROBUCKET


def quantize_bucket_value(i: int) -> int:
    """DTRACE_QUANTIZE_BUCKETVAL(i): the lower bound (upper for negatives) of bucket i."""
    if i < QUANTIZE_ZEROBUCKET:
        return -(1 << (QUANTIZE_ZEROBUCKET - 1 - i))
    if i == QUANTIZE_ZEROBUCKET:
        return 0
    return 1 << (i - QUANTIZE_ZEROBUCKET - 1)


def quantize_bucket(v: int) -> int:
    """dt_agg_qbin(): the quantize() bucket of a (64-bit signed) value.

    0 goes to bucket 63; a positive v to 63 + 1 + floor(log2(v)); a negative
    v to 63 - 1 - floor(log2(-v)); INT64_MIN to bucket 0.
    """
    v = s64(v)
    if v == 0:
        return QUANTIZE_ZEROBUCKET
    if v == INT64_MIN:
        return 0
    off = abs(v).bit_length()
    return QUANTIZE_ZEROBUCKET - off if v < 0 else QUANTIZE_ZEROBUCKET + off


def lquantize_levels(base: int, limit: int, step: int = 1) -> int:
    """Number of linear levels: (limit - base) / step."""
    return (limit - base) // step


def lquantize_bucket(v: int, base: int, limit: int, step: int = 1) -> int:
    """dt_agg_lqbin(): 0 below base, 1 + (v - base) / step, levels + 1 at or above the limit."""
    levels = lquantize_levels(base, limit, step)
    v = s64(v)
    if step == 0 or v < base:
        return 0
    level = ((v - base) & _U64) // step
    if level > levels:
        level = levels
    return level + 1


def llquantize_nbins(factor: int, lmag: int, hmag: int, steps: int) -> int:
    """Number of llquantize() buckets: 2 * ranges * bins/range + 3."""
    return (hmag - lmag + 1) * (steps - steps // factor) * 2 + 3


def llquantize_bucket(v: int, factor: int, lmag: int, hmag: int, steps: int) -> int:
    """dt_cg_agg_llquantize_bin(): the llquantize() bucket of a value.

    |v| < factor**lmag goes to the middle (underflow) bucket; otherwise the
    logarithmic range of |v| is found and, within it, the linear step;
    beyond factor**(hmag+1) is overflow.  Negative values mirror positive
    ones below the middle.
    """
    v = s64(v)
    sf = steps // factor
    under = 1 + (hmag - lmag + 1) * (steps - sf)
    tmp = abs(v) & _U64
    mx = factor ** lmag
    if tmp < mx:
        return under
    mag = lmag
    ind = 0
    while True:
        mx *= factor
        if tmp < mx:
            if mag != 0:
                ind = tmp // (mx // steps)
            else:
                ind = tmp * steps // mx
            ind -= sf
            break
        mag += 1
        if mag > hmag:
            ind = 0
            break
    b = (mag - lmag) * (steps - sf) + ind + 1
    if v < 0:
        b = -b
    return b + under


# --------------------------------------------------------------------------
# Descriptions and values
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyDesc:
    """One key column: how it prints and compares.

    kind: 'int', 'string', 'bytes', 'sym', 'mod', 'usym', 'uaddr', 'umod',
    'stack', 'ustack'.  size: record size in bytes (1/2/4/8 for integers,
    strsize for strings).  signed: the D type's signedness (used when a
    printa() format converts the key).
    """

    kind: str = "int"
    size: int = 8
    signed: bool = True


@dataclass(frozen=True)
class AggDesc:
    """An aggregation variable: its name, kind, keys and quantize parameters.

    id orders aggregations when several print (DTrace's aggregation
    variable id: order of first appearance in the program).
    """

    name: str
    kind: AggKind
    keys: tuple[KeyDesc, ...] = ()
    id: int = 1
    base: int = 0          # lquantize
    limit: int = 0
    step: int = 1
    factor: int = 0        # llquantize
    lmag: int = 0
    hmag: int = 0
    steps: int = 0

    @property
    def levels(self) -> int:
        return lquantize_levels(self.base, self.limit, self.step)

    @property
    def nbuckets(self) -> int:
        if self.kind is AggKind.QUANTIZE:
            return QUANTIZE_NBUCKETS
        if self.kind is AggKind.LQUANTIZE:
            return self.levels + 2
        if self.kind is AggKind.LLQUANTIZE:
            return llquantize_nbins(self.factor, self.lmag, self.hmag, self.steps)
        return 0

    def bucket(self, v: int) -> int:
        """The bucket of value v for a quantizing aggregation."""
        if self.kind is AggKind.QUANTIZE:
            return quantize_bucket(v)
        if self.kind is AggKind.LQUANTIZE:
            return lquantize_bucket(v, self.base, self.limit, self.step)
        if self.kind is AggKind.LLQUANTIZE:
            return llquantize_bucket(v, self.factor, self.lmag, self.hmag, self.steps)
        raise ValueError(f"{self.kind} has no buckets")


def initial(desc: AggDesc):
    """The value before any data: min() starts at INT64_MAX, max() at INT64_MIN."""
    k = desc.kind
    if k is AggKind.MIN:
        return INT64_MAX
    if k is AggKind.MAX:
        return INT64_MIN
    return zero(desc)


def zero(desc: AggDesc):
    """An all-zero value (what a printa() of several aggregations shows for
    a key that one of them lacks, and what clear() leaves for sums)."""
    k = desc.kind
    if k in (AggKind.COUNT, AggKind.SUM, AggKind.MIN, AggKind.MAX):
        return 0
    if k is AggKind.AVG:
        return (0, 0)
    if k is AggKind.STDDEV:
        return (0, 0, 0)
    return [0] * desc.nbuckets


def update(desc: AggDesc, value, x: int = 0, incr: int = 1):
    """Apply one aggregating action (@[...] = func(x[, incr])) to a value.

    For quantizations `incr` is the optional increment; count() ignores x.
    Returns the new value (lists are copied).
    """
    k = desc.kind
    if k is AggKind.COUNT:
        return s64(value + 1)
    if k is AggKind.SUM:
        return s64(value + x)
    if k is AggKind.MIN:
        return min(s64(value), s64(x))
    if k is AggKind.MAX:
        return max(s64(value), s64(x))
    if k is AggKind.AVG:
        return (s64(value[0] + 1), s64(value[1] + x))
    if k is AggKind.STDDEV:
        sq = abs(s64(x)) ** 2
        return (s64(value[0] + 1), s64(value[1] + x), (value[2] + sq) & _U128)
    out = list(value)
    b = desc.bucket(x)
    out[b] = s64(out[b] + incr)
    return out


def merge(kind: AggKind, a, b):
    """Combine two per-CPU values of the same aggregation (dt_agg_one_agg)."""
    if kind is AggKind.MIN:
        return min(s64(a), s64(b))
    if kind is AggKind.MAX:
        return max(s64(a), s64(b))
    if kind in (AggKind.COUNT, AggKind.SUM):
        return s64(a + b)
    if kind is AggKind.AVG:
        return (s64(a[0] + b[0]), s64(a[1] + b[1]))
    if kind is AggKind.STDDEV:
        return (s64(a[0] + b[0]), s64(a[1] + b[1]), (a[2] + b[2]) & _U128)
    return [s64(x + y) for x, y in zip(a, b)]


def merge_cpus(kind: AggKind, values: Iterable):
    """Merge the values of one key from all CPUs."""
    it = iter(values)
    acc = next(it)
    for v in it:
        acc = merge(kind, acc, v)
    return acc


# --------------------------------------------------------------------------
# avg() and stddev()
# --------------------------------------------------------------------------

def _cdiv(a: int, b: int) -> int:
    """C division of signed integers (truncating toward zero)."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def avg_value(value, normal: int = 1) -> int:
    """dt_print_average(): total / normal / count in signed 64-bit (0 if no data)."""
    count, total = s64(value[0]), s64(value[1])
    if count == 0:
        return 0
    n = s64(normal) or 1
    return s64(_cdiv(_cdiv(total, n), count))


def stddev_value(value, normal: int = 1) -> int:
    """dt_stddev(): sqrt(avg(x**2) - avg(x)**2) in DTrace's 128-bit integer
    arithmetic (unsigned divisions, wrapping subtraction, integer sqrt)."""
    count, total, sumsq = value
    count &= _U64
    normal = int(normal) & _U64 or 1
    if count == 0:
        return 0
    avg_sq = ((sumsq & _U128) // normal) // count
    norm_avg = _cdiv(_cdiv(s64(total), s64(normal) or 1), s64(count) or 1)
    norm_avg = s64(norm_avg)
    if norm_avg < 0:
        norm_avg = -norm_avg
    sq_avg = ((norm_avg & _U64) ** 2) & _U128
    diff = (avg_sq - sq_avg) & _U128
    return math.isqrt(diff)


# --------------------------------------------------------------------------
# Sorting (dt_aggregate.c)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class AggOptions:
    """The options that shape aggregation output."""

    aggsortkey: bool = False
    aggsortrev: bool = False
    aggsortpos: int = 0
    aggsortkeypos: int = 0
    rawbytes: bool = False
    stackindent: int = datum.STACK_INDENT


@dataclass
class AggData:
    """One aggregation's current data: its entries and normalization.

    entries maps key tuples to values; normal is set by normalize() and
    reset to 1 by denormalize().
    """

    desc: AggDesc
    entries: dict = field(default_factory=dict)
    normal: int = 1
    percpu: dict | None = None    # key -> [(cpu id, value), ...] for the aggpercpu option


def _key_item(kd: KeyDesc, v):
    """A key column as DTrace compares it: integers unsigned, strings and
    other records byte by byte, user addresses as (pid, pc)."""
    k = kd.kind
    if k in ("int", "sym", "mod"):
        if kd.size in (1, 2, 4, 8):
            return int(v) & ((1 << (8 * kd.size)) - 1)
        return int(v) & _U64
    if k == "string":
        b = _as_bytes(v)
        nul = b.find(b"\0")
        return b if nul < 0 else b[:nul]
    if k in ("usym", "uaddr", "umod"):
        return (int(v[0]) & _U64, int(v[1]) & _U64)
    if k == "stack":
        return b"".join((int(pc) & _U64).to_bytes(8, "little") for pc in v)
    if k == "ustack":
        pid, pcs = v
        return (int(pid) & _U64).to_bytes(8, "little") + \
            b"".join((int(pc) & _U64).to_bytes(8, "little") for pc in pcs)
    return _as_bytes(v)


def _key_order(desc: AggDesc, key: tuple, keypos: int) -> tuple:
    """A sort key equivalent to dt_aggregate_keycmp(): the key columns from
    position aggsortkeypos on, wrapping around, each compared as DTrace does."""
    nkrecs = len(desc.keys) + 1
    kp = 0 if keypos + 1 >= nkrecs else keypos
    out = []
    for i in range(1, nkrecs):
        ndx = i + kp
        if ndx >= nkrecs:
            ndx = ndx - nkrecs + 1
        out.append(_key_item(desc.keys[ndx - 1], key[ndx - 1]))
    return tuple(out)


def _lquantized_sum(desc: AggDesc, q) -> int:
    base, step, levels = desc.base, desc.step, desc.levels
    total = q[0] * (base - 1)
    for i in range(levels):
        total += q[i + 1] * base
        base += step
    return total + q[levels + 1] * (base + 1)


def _lquantized_zero(desc: AggDesc, q) -> int:
    base, step, levels = desc.base, desc.step, desc.levels
    if base - 1 == 0:
        return q[0]
    for i in range(levels):
        if base == 0:
            return q[i + 1]
        base += step
    if base + 1 == 0:
        return q[levels + 1]
    return 0


def _llquantized_sum(desc: AggDesc, q) -> Fraction:
    factor, lmag, hmag, steps = desc.factor, desc.lmag, desc.hmag, desc.steps
    sf = steps // factor
    bin0 = 1 + (hmag - lmag + 1) * (steps - sf)
    total = Fraction(factor) ** lmag * (s64(q[bin0 + 1] - q[bin0 - 1]))
    i = 1
    if lmag == 0 and steps > factor:
        for step in range(2, factor + 1):
            i += sf
            total += step * s64(q[bin0 + i] - q[bin0 - i])
        lmag = 1
    scale = Fraction(factor) ** (lmag + 1) / steps
    for _mag in range(lmag, hmag + 1):
        for step in range(sf + 1, steps + 1):
            i += 1
            total += step * scale * s64(q[bin0 + i] - q[bin0 - i])
        scale *= factor
    return total


def _llquantized_zero(desc: AggDesc, q) -> int:
    sf = desc.steps // desc.factor
    return q[1 + (desc.hmag - desc.lmag + 1) * (desc.steps - sf)]


def _value_order(desc: AggDesc, v) -> tuple:
    """A sort key equivalent to dt_aggregate_valcmp(): the value (avg, stddev),
    or for quantizations the sum of bucket values weighted by the counts,
    then the count at zero."""
    k = desc.kind
    if k in (AggKind.COUNT, AggKind.SUM, AggKind.MIN, AggKind.MAX):
        return (s64(v),)
    if k is AggKind.AVG:
        return (s64(_cdiv(s64(v[1]), s64(v[0]))) if s64(v[0]) else 0,)
    if k is AggKind.STDDEV:
        return (stddev_value(v),)
    if k is AggKind.QUANTIZE:
        total = sum(quantize_bucket_value(i) * s64(c) for i, c in enumerate(v) if c)
        return (total, s64(v[QUANTIZE_ZEROBUCKET]))
    if k is AggKind.LQUANTIZE:
        q = [s64(c) for c in v]
        return (_lquantized_sum(desc, q), _lquantized_zero(desc, q))
    if k is AggKind.LLQUANTIZE:
        return (_llquantized_sum(desc, v), s64(_llquantized_zero(desc, v)))
    raise AssertionError(k)


def _entry_order(desc: AggDesc, keysort: bool, keypos: int):
    if keysort:
        return lambda e: _key_order(desc, e[0], keypos)
    return lambda e: (_value_order(desc, e[1]), _key_order(desc, e[0], keypos))


def sort_entries(desc: AggDesc, entries, options: AggOptions = AggOptions()) -> list:
    """The (key, value) pairs of one aggregation in DTrace's printing order.

    By value (ties by key), or by key with aggsortkey; aggsortkeypos picks
    the key column compared first; aggsortrev reverses everything.
    """
    items = list(entries.items() if isinstance(entries, dict) else entries)
    return sorted(items, key=_entry_order(desc, options.aggsortkey, options.aggsortkeypos),
                  reverse=options.aggsortrev)


def trunc(desc: AggDesc, entries, n: int | None = None) -> list:
    """trunc(@, n): the entries kept, in no particular order.

    n > 0 keeps the n largest values, n < 0 the |n| smallest, n == 0 (or
    None: trunc(@)) none.  Ties go by key as in DTrace's sort; the options
    aggsort* do not apply.
    """
    items = list(entries.items() if isinstance(entries, dict) else entries)
    n = 0 if n is None else int(n)
    if n == 0:
        return []
    items.sort(key=_entry_order(desc, False, 0), reverse=n > 0)
    return items[:abs(n)]


# --------------------------------------------------------------------------
# Distributions (dt_print_quantize and friends)
# --------------------------------------------------------------------------

_ATS = "@" * 40
_SPACES = " " * 40
_HEADER = "\n%16s %41s %-9s\n" % ("value", "------------- Distribution -------------", "count")


def _count_str(val: int, normal: int) -> str:
    # (long long)val / normal: normal is unsigned, so the division is too
    return "%-9d" % s64((int(val) & _U64) // ((int(normal) & _U64) or 1))


def _quantline(val: int, normal: int, total: int, positives: bool, negatives: bool) -> str:
    """dt_print_quantline(): one bar of a distribution."""
    val = s64(val)
    width = 40
    if not negatives:
        if positives:
            depth = int(Fraction(abs(val) * width, total) + Fraction(1, 2))
        else:
            depth = 0
        return "|%s%s %s\n" % (_ATS[:depth], _SPACES[depth:], _count_str(val, normal))
    if not positives:
        depth = int(Fraction(abs(val) * width, total) + Fraction(1, 2))
        return "%s%s| %s\n" % (_SPACES[depth:], _ATS[:depth], _count_str(val, normal))
    width //= 2
    depth = int(Fraction(abs(val) * width, total) + Fraction(1, 2))
    if val <= 0:
        return "%s%s|%s %s\n" % (_SPACES[depth:width], _ATS[:depth], " " * width,
                                  _count_str(val, normal))
    return "%20s|%s%s %s\n" % ("", _ATS[:depth], _SPACES[depth:width], _count_str(val, normal))


def _bars(data, first: int, last: int):
    positives = negatives = False
    total = 0
    for i in range(first, last + 1):
        v = s64(data[i])
        positives |= v > 0
        negatives |= v < 0
        total += abs(v)
    return total, positives, negatives


def format_quantize(data: Sequence[int], normal: int = 1) -> str:
    """dt_print_quantize(): the power-of-two distribution table.

    Shows the buckets from one before the first non-zero to one after the
    last; with no data at all, the buckets -1, 0 and 1.
    """
    data = [s64(c) for c in data]
    first, last = 0, QUANTIZE_NBUCKETS - 1
    while first <= last and data[first] == 0:
        first += 1
    if first > last:
        first, last = QUANTIZE_ZEROBUCKET - 1, QUANTIZE_ZEROBUCKET + 1
    else:
        if first > 0:
            first -= 1
        while last > 0 and data[last] == 0:
            last -= 1
        if last < QUANTIZE_NBUCKETS - 1:
            last += 1
    total, pos, neg = _bars(data, first, last)
    out = [_HEADER]
    for i in range(first, last + 1):
        out.append("%16d " % quantize_bucket_value(i))
        out.append(_quantline(data[i], normal, total, pos, neg))
    return "".join(out)


def format_lquantize(desc: AggDesc, data: Sequence[int], normal: int = 1) -> str:
    """dt_print_lquantize(): the linear distribution table ("< base", the
    levels, ">= limit")."""
    data = [s64(c) for c in data]
    levels = desc.levels
    base, step = desc.base, desc.step
    first, last = 0, levels + 1
    while first <= last and data[first] == 0:
        first += 1
    if first > last:
        first, last = 0, 2
    else:
        if first > 0:
            first -= 1
        while last > 0 and data[last] == 0:
            last -= 1
        if last < levels + 1:
            last += 1
    total, pos, neg = _bars(data, first, last)
    out = [_HEADER]
    for i in range(first, last + 1):
        if i == 0:
            out.append("%16s " % ("< %d" % base))
        elif i == levels + 1:
            out.append("%16s " % (">= %d" % (base + levels * step)))
        else:
            out.append("%16d " % (base + (i - 1) * step))
        out.append(_quantline(data[i], normal, total, pos, neg))
    return "".join(out)


def llquantize_labels(desc: AggDesc, first: int, last: int) -> dict[int, str]:
    """The bucket labels dt_print_llquantize() computes (15 characters at most)."""
    factor, lmag, hmag, steps = desc.factor, desc.lmag, desc.hmag, desc.steps
    sf = steps // factor
    bin0 = 1 + (hmag - lmag + 1) * (steps - sf)
    nbins = llquantize_nbins(factor, lmag, hmag, steps)
    pad = sf if (lmag == 0 and steps > factor) else 0
    labels: dict[int, str] = {}

    def put(i: int, s: str):
        if first - pad <= i <= last + pad:
            labels[i] = s[:15]

    scale = factor ** lmag
    if scale == 1:
        put(bin0, "0")
    elif first >= bin0:
        put(bin0, "< %d" % scale)
    else:
        put(bin0, "abs() < %d" % scale)
    put(bin0 - 1, "-%d" % scale)
    put(bin0 + 1, "%d" % scale)
    mag = lmag
    i = 1
    if lmag == 0 and steps > factor:
        for step in range(2, factor + 1):
            i += sf
            put(bin0 - i, "-%d" % step)
            put(bin0 + i, "%d" % step)
        mag += 1
    scale = (factor ** (mag + 1)) // steps
    while mag <= hmag:
        for step in range(sf + 1, steps + 1):
            i += 1
            put(bin0 - i, "-%d" % ((step * scale) & _U64))
            put(bin0 + i, "%d" % ((step * scale) & _U64))
        scale *= factor
        mag += 1
    scale = factor ** (hmag + 1)
    put(0, "<= -%d" % (scale & _U64))
    put(nbins - 1, ">= %d" % (scale & _U64))
    if pad > 0:
        # the "ghost bin" problem: a first or last bin without a label
        # borrows the nearest label outside the range
        if first not in labels:
            for j in range(1, pad):
                if first - j in labels:
                    labels[first] = labels[first - j]
                    break
        if last not in labels:
            for j in range(1, pad):
                if last + j in labels:
                    labels[last] = labels[last + j]
                    break
    return labels


def format_llquantize(desc: AggDesc, data: Sequence[int], normal: int = 1) -> str:
    """dt_print_llquantize(): the log-linear distribution table; buckets
    that can never be hit have no label and are not shown."""
    data = [s64(c) for c in data]
    nbins = len(data)
    sf = desc.steps // desc.factor
    bin0 = 1 + (desc.hmag - desc.lmag + 1) * (desc.steps - sf)
    first, last = 0, nbins - 1
    while first <= last and data[first] == 0:
        first += 1
    if first > last:
        first = last = bin0 + 1
    else:
        while data[last] == 0:
            last -= 1
    total, pos, neg = _bars(data, first, last)
    out = [_HEADER]
    if first > 0:
        first -= 1
    if last < nbins - 1:
        last += 1
    labels = llquantize_labels(desc, first, last)
    for i in range(first, last + 1):
        if i not in labels or labels[i] == "":
            continue
        out.append("%16s " % labels[i])
        out.append(_quantline(data[i], normal, total, pos, neg))
    return "".join(out)


# --------------------------------------------------------------------------
# Values and entries
# --------------------------------------------------------------------------

def format_value(desc: AggDesc, value, normal: int = 1) -> str:
    """An aggregation value as a default printa() prints it (dt_print_datum):
    " %16lld" for count/sum/min/max/avg, " %16llu" for stddev, a table for
    the quantizations."""
    k = desc.kind
    if k is AggKind.QUANTIZE:
        return format_quantize(value, normal)
    if k is AggKind.LQUANTIZE:
        return format_lquantize(desc, value, normal)
    if k is AggKind.LLQUANTIZE:
        return format_llquantize(desc, value, normal)
    if k is AggKind.AVG:
        return " %16d" % avg_value(value, normal)
    if k is AggKind.STDDEV:
        v = stddev_value(value, normal) if s64(value[0]) else 0
        return " %16d" % (v & _U64)
    return datum.format_datum_int(value, 8, normal)


def format_keys(desc: AggDesc, key: tuple, syms=None, options: AggOptions = AggOptions()) -> str:
    """The key columns of an entry (dt_print_datum per key record)."""
    return "".join(datum.format_key(v, kd.kind, kd.size, syms, rawbytes=options.rawbytes,
                                    stackindent=options.stackindent)
                   for kd, v in zip(desc.keys, key))


def format_entry(desc: AggDesc, key: tuple, value, normal: int = 1, syms=None,
                 options: AggOptions = AggOptions(), percpu=None) -> str:
    """One line (or table) of a default printa(): keys, value, newline.

    With per-CPU values (the aggpercpu option), each follows the value as
    "\n    [CPU n]" and that CPU's value.
    """
    out = format_keys(desc, key, syms, options) + format_value(desc, value, normal)
    for cpu, v in percpu or ():
        out += "\n    [CPU %d]" % cpu + format_value(desc, v, normal)
    return out + "\n"


def format_aggregation(desc: AggDesc, entries, options: AggOptions = AggOptions(), *,
                       normal: int = 1, syms=None, percpu: dict | None = None) -> str:
    """All entries of one aggregation, sorted, as DTrace prints them
    (dt_print_agg over a sorted walk).  No leading newline: printa() adds
    one (format_printa), the exit-time print gets one from the command."""
    return "".join(format_entry(desc, k, v, normal, syms, options,
                                (percpu or {}).get(k))
                   for k, v in sort_entries(desc, entries, options))


def format_printa(agg: AggData, options: AggOptions = AggOptions(), syms=None) -> str:
    """printa(@a) without a format: a newline, then the sorted entries."""
    return "\n" + format_aggregation(agg.desc, agg.entries, options,
                                     normal=agg.normal, syms=syms, percpu=agg.percpu)


def format_exit_aggregations(aggs: Sequence[AggData], options: AggOptions = AggOptions(),
                             syms=None) -> str:
    """What dtrace prints for the not-yet-printed aggregations at exit
    (dtrace_aggregate_print): each aggregation's sorted entries, the
    aggregations in id order (reversed under aggsortrev), nothing between
    them.  The command itself prints a newline before this."""
    order = sorted(aggs, key=lambda a: a.desc.id, reverse=options.aggsortrev)
    return "".join(format_aggregation(a.desc, a.entries, options, normal=a.normal, syms=syms,
                                      percpu=a.percpu)
                   for a in order)


# --------------------------------------------------------------------------
# Several aggregations with the same keys (dtrace_aggregate_walk_joined)
# --------------------------------------------------------------------------

def joined_rows(aggs: Sequence[AggData], options: AggOptions = AggOptions()) -> list:
    """The rows of a printa() of several aggregations, in printing order.

    Each row is (key, [value of aggs[0], value of aggs[1], ...]); a key one
    aggregation lacks gets a zero value for it.  Rows sort by the value of
    the aggregation at position aggsortpos, then the others in turn, then
    by key (or by key first with aggsortkey).
    """
    n = len(aggs)
    if n == 0:
        return []
    sortpos = options.aggsortpos if 0 <= options.aggsortpos < n else 0
    keys = []
    seen = set()
    for a in aggs:
        for k in (a.entries.keys() if isinstance(a.entries, dict) else (e[0] for e in a.entries)):
            if k not in seen:
                seen.add(k)
                keys.append(k)
    if not keys:
        return []
    dicts = [a.entries if isinstance(a.entries, dict) else dict(a.entries) for a in aggs]
    rows = [(k, [d.get(k, zero(a.desc)) if k in d else zero(a.desc)
                 for a, d in zip(aggs, dicts)]) for k in keys]
    rep = aggs[0].desc
    rotated = [(i + sortpos) % n for i in range(n)]
    keypos = options.aggsortkeypos

    def order(row):
        key, vals = row
        ko = _key_order(rep, key, keypos)
        vo = tuple(_value_order(aggs[p].desc, vals[p]) for p in rotated)
        return (ko, vo) if options.aggsortkey else (vo, ko)

    return sorted(rows, key=order, reverse=options.aggsortrev)


def format_multi_aggregations(aggs: Sequence[AggData], options: AggOptions = AggOptions(),
                              fmt=None, syms=None) -> str:
    """printa(@a, @b, ...): with a format (parsed pieces or text), see
    format_printa_fmt(); without, a newline, then per key the key columns
    and each aggregation's value (dt_print_aggs).  One aggregation works too."""
    if fmt is not None:
        pieces = parse_format(fmt) if isinstance(fmt, str) else fmt
        return format_printa_fmt(pieces, aggs, options, syms)
    if not aggs:
        return ""
    if len(aggs) == 1:
        return format_printa(aggs[0], options, syms)
    out = ["\n"]
    rep = aggs[0].desc
    for key, vals in joined_rows(aggs, options):
        out.append(format_keys(rep, key, syms, options))
        for a, v in zip(aggs, vals):
            out.append(format_value(a.desc, v, a.normal))
        out.append("\n")
    return "".join(out)


# --------------------------------------------------------------------------
# printa() with a format string
# --------------------------------------------------------------------------

def _agg_value_bytes(desc: AggDesc, value, normal: int, cv: Conversion,
                     flags: str, width: int, prec: int) -> bytes:
    """A %@ conversion: pfprint_average/stddev/quantize... or the integer
    printers, with the format DTrace builds for the aggregation's type
    (int64_t, or uint64_t for count())."""
    k = desc.kind
    if k is AggKind.QUANTIZE:
        return to_bytes(format_quantize(value, normal))
    if k is AggKind.LQUANTIZE:
        return to_bytes(format_lquantize(desc, value, normal))
    if k is AggKind.LLQUANTIZE:
        return to_bytes(format_llquantize(desc, value, normal))
    head = "%" + flags + (str(abs(width)) if width else "") + (".%d" % prec if prec > 0 else "")
    signed = k is not AggKind.COUNT
    try:
        f = int_fmt(cv, 8, signed)
    except KeyError:
        f = "lld"
    n = int(normal) & _U64 or 1
    if k is AggKind.AVG:
        count = int(value[0]) & _U64
        v = ((int(value[1]) & _U64) // n // count) if count else 0
    elif k is AggKind.STDDEV:
        v = stddev_value(value, normal) if int(value[0]) & _U64 else 0
    else:
        if f[-1] in "di" and "ll" in f:
            v = _cdiv(s64(value), s64(normal) or 1)
        else:
            v = (int(value) & _U64) // n
    if f[-1] in "eEfgG":
        return csprintf(head + f, float(s64(v)))
    if f[-1] == "s":
        return csprintf(head + "s", str(s64(v)))
    return csprintf(head + f, v)


def to_bytes(text: str) -> bytes:
    return from_text(text)


def _key_arg(kd: KeyDesc, v) -> Arg:
    k = kd.kind
    if k == "int":
        return Arg(int(v), "int", kd.size, kd.signed)
    if k == "string":
        return Arg(_as_bytes(v), "string", kd.size, False)
    if k in ("sym", "mod"):
        return Arg(int(v), k, 8, False)
    if k in ("usym", "uaddr", "umod"):
        return Arg(tuple(v), k, 16, False)
    if k == "stack":
        return Arg(tuple(v), "stack", 8 * len(v), False)
    if k == "ustack":
        return Arg(v, "ustack", 8, False)
    return Arg(_as_bytes(v), "bytes", kd.size, False)


def format_printa_entry(pieces: Sequence[FormatPiece], rep: AggDesc, key: tuple,
                        values: Sequence[tuple[AggDesc, object, int]], syms=None) -> str:
    """One entry of printa(fmt, @a[, @b ...]): keys feed the conversions
    without '@' in order; the i-th %@ takes the i-th aggregation's value
    (the last one again once they run out).  values: (desc, value, normal)."""
    args = [_key_arg(kd, v) for kd, v in zip(rep.keys, key)]
    state = {"i": 0}

    def agg(cv: Conversion, flags: str, width: int, prec: int) -> bytes:
        i = min(state["i"], len(values) - 1)
        state["i"] += 1
        d, v, normal = values[i]
        return _agg_value_bytes(d, v, normal, cv, flags, width, prec)

    nconv = sum(1 for p in pieces if p.conv is not None and not p.conv.agg
                and p.conv.conv != "%")
    nstar = sum(int(p.conv.width_star) + int(p.conv.prec_star)
                for p in pieces if p.conv is not None)
    if nconv + nstar > len(args):
        args = args + [Arg(0)] * (nconv + nstar - len(args))
    return to_text(format_printf_bytes(pieces, args, syms=syms, agg=agg))


def format_printa_fmt(pieces: Sequence[FormatPiece], aggs: Sequence[AggData],
                      options: AggOptions = AggOptions(), syms=None) -> str:
    """printa(fmt, @a[, @b ...]): the format applied to each entry, sorted as
    DTrace sorts them (no leading newline).  An aggregation without data
    prints nothing."""
    if not aggs:
        return ""
    out = []
    if len(aggs) == 1:
        a = aggs[0]
        for key, value in sort_entries(a.desc, a.entries, options):
            out.append(format_printa_entry(pieces, a.desc, key,
                                           [(a.desc, value, a.normal)], syms))
        return "".join(out)
    rep = aggs[0].desc
    for key, vals in joined_rows(aggs, options):
        out.append(format_printa_entry(pieces, rep, key,
                                       [(a.desc, v, a.normal) for a, v in zip(aggs, vals)],
                                       syms))
    return "".join(out)
