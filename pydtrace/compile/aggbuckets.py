"""Bucket boundaries of quantize, lquantize and llquantize, as DTrace computes them.

The code generator picks a bucket by binary search over these lower bounds, so the BPF and
the consumer share one definition (dtrace_aggregate_quantize / _lquantize / _llquantize).
"""

from __future__ import annotations

QUANTIZE_ZERO = 63
QUANTIZE_BUCKETS = 127
NEG_INF = -(1 << 63)


def quantize_bounds() -> list[int]:
    """Lower bounds of the 127 power-of-two buckets: bucket 63 holds 0."""
    bounds = [NEG_INF]
    bounds += [-(1 << (63 - i)) + 1 for i in range(1, QUANTIZE_ZERO)]
    bounds.append(0)
    bounds += [1 << k for k in range(QUANTIZE_BUCKETS - QUANTIZE_ZERO - 1)]
    return bounds


def lquantize_bounds(base: int, limit: int, step: int) -> list[int]:
    """levels + 2 buckets: below base, one per step, and limit and above."""
    levels = (limit - base) // step
    return [NEG_INF] + [base + i * step for i in range(levels + 1)]


def llquantize_bounds(factor: int, low: int, high: int, nsteps: int) -> list[int]:
    """Lower bounds of the llquantize buckets as the consumer numbers them (negative values
    mirror positive ones below the middle underflow bucket): derived from the consumer's
    bucket function, which is monotonic, by a binary search per bucket."""
    from ..consume.aggregate import llquantize_bucket, llquantize_nbins

    def bucket(v: int) -> int:
        return llquantize_bucket(v, factor, low, high, nsteps)

    bounds = [NEG_INF]
    for b in range(1, llquantize_nbins(factor, low, high, nsteps)):
        lo, hi = NEG_INF, (1 << 63) - 1  # least v with bucket(v) >= b
        while lo < hi:
            mid = (lo + hi) // 2
            if bucket(mid) >= b:
                hi = mid
            else:
                lo = mid + 1
        bounds.append(lo)
    return bounds


def bucket_bounds(func: str, params: tuple[int, ...]) -> list[int]:
    if func == "quantize":
        return quantize_bounds()
    if func == "lquantize":
        base, limit, step = params[:3]
        return lquantize_bounds(base, limit, step or 1)
    return llquantize_bounds(*params[:4])


def value_words(func: str, params: tuple[int, ...]) -> int:
    """u64 words of one aggregation value in the per-CPU map."""
    fixed = {"count": 1, "sum": 1, "avg": 2, "min": 2, "max": 2, "stddev": 4}
    if func in fixed:
        return fixed[func]
    return len(bucket_bounds(func, params))
