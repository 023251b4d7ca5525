"""Transcendental functions compiled by numba against NumPy's vectorised ufuncs.

The engine leaves tanh, sigmoid, softplus and gelu to NumPy's ufuncs between its
compiled loops because numba compiles ``math.tanh`` and ``math.exp`` as scalar calls
into libm, several times slower than NumPy's SIMD loops.  This measures it: microseconds
per call on arrays of a hidden layer's size (float32 and float64), median of repeats.

    python benchmarks/bench_transcendentals.py [--size 3200] [--repeats 2000]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import numpy as np
from numba import njit


@njit(cache=True)
def numba_tanh(a, out):
    for i in range(a.shape[0]):
        out[i] = math.tanh(a[i])


@njit(cache=True)
def numba_exp(a, out):
    for i in range(a.shape[0]):
        out[i] = math.exp(a[i])


def per_call_us(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        times.append((time.perf_counter() - start) / repeats * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=3200)
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{args.size} values per call")
    print("| function | dtype | NumPy ufunc µs | numba scalar loop µs | numba / NumPy |")
    print("|---|---|---|---|---|")
    for dtype in (np.float32, np.float64):
        a = rng.normal(size=args.size).astype(dtype)
        out = np.empty_like(a)
        for name, ufunc, compiled in (("tanh", np.tanh, numba_tanh), ("exp", np.exp, numba_exp)):
            compiled(a, out)
            ours = per_call_us(lambda: ufunc(a, out=out), args.repeats)  # noqa: B023
            theirs = per_call_us(lambda: compiled(a, out), args.repeats)  # noqa: B023
            print(f"| {name} | {np.dtype(dtype).name} | {ours:.2f} | {theirs:.2f} | {theirs / ours:.1f} |")


if __name__ == "__main__":
    main()
