"""Transcendental functions compiled by numba against NumPy's vectorised ufuncs.

The engine leaves tanh, sigmoid, softplus and gelu to NumPy's ufuncs between its
compiled loops because numba compiles ``math.tanh`` and ``math.exp`` as scalar calls
into libm, several times slower than NumPy's SIMD loops; softmax's exponential is the
engine's own vectorised loop (``deltaprop.engine._exp``).  This measures them: microseconds
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

from deltaprop.engine._exp import exp_nonpositive


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
    print(
        "| function | dtype | NumPy ufunc µs | numba scalar loop µs | numba / NumPy "
        "| engine's vectorised loop µs (copy included) | engine / NumPy |"
    )
    print("|---|---|---|---|---|---|---|")
    for dtype in (np.float32, np.float64):
        a = rng.normal(size=args.size).astype(dtype)
        out = np.empty_like(a)
        for name, ufunc, compiled in (("tanh", np.tanh, numba_tanh), ("exp", np.exp, numba_exp)):
            x = -np.abs(a) if name == "exp" else a  # softmax's exponent, a - max <= 0
            compiled(x, out)
            ours = per_call_us(lambda: ufunc(x, out=out), args.repeats)  # noqa: B023
            theirs = per_call_us(lambda: compiled(x, out), args.repeats)  # noqa: B023
            row = f"| {name} | {np.dtype(dtype).name} | {ours:.2f} | {theirs:.2f} | {theirs / ours:.1f} |"
            if name == "exp":  # the engine's own, for x <= 0, in place: a copy of x first
                engine = per_call_us(lambda: _engine_exp(x, out), args.repeats)  # noqa: B023
                row += f" {engine:.2f} | {engine / ours:.1f} |"
            else:
                row += " – | – |"
            print(row)


def _engine_exp(x: np.ndarray, out: np.ndarray) -> None:
    np.copyto(out, x)
    exp_nonpositive(out)


if __name__ == "__main__":
    main()
