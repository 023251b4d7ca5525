"""Small matrix products: compiled loops against BLAS, and the forward product's two BLAS kernels.

The fused step's three products (``deltaprop.engine._fused``) on a grid of shapes, float32
and float64, one BLAS thread, each timed in a compiled loop (no Python in between):

- ``loops``: IEEE loops in the axpy form that LLVM vectorises without reassociation
  (the innermost loop over a contiguous output row: a_i += z_iq (W^T)_q, dW_j += delta_ij z_i,
  back_i += delta_ij W_j), against the BLAS call each replaces;
- ``forward``: a = z W^T as OpenBLAS's ``A B^T`` kernel, against W^T copied to the stack
  (``deltaprop.engine._small``) and the ``A B`` kernel.

It prints, per shape, the times and which is faster, and the crossover: the shapes where
the loops (or the copy) win.

    python benchmarks/bench_small_products.py            # the default grid
    python benchmarks/bench_small_products.py --quick    # fewer shapes
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from numba import carray, njit
from threadpoolctl import threadpool_limits

from deltaprop.engine._blas import gemm
from deltaprop.engine._small import CAPACITY, stack_buffer


@njit(cache=True)
def loop_forward(z, W, a):
    """a = z W^T, W^T copied to the stack, rows of a as axpys (mul + add, in order over q)."""
    n, k = z.shape
    M = W.shape[0]
    Wt = carray(stack_buffer(W), (k, M))
    for q in range(k):
        for j in range(M):
            Wt[q, j] = W[j, q]
    for i in range(n):
        x = z[i, 0]
        for j in range(M):
            a[i, j] = x * Wt[0, j]
        for q in range(1, k):
            x = z[i, q]
            for j in range(M):
                a[i, j] = a[i, j] + x * Wt[q, j]


@njit(cache=True)
def loop_weight_gradient(delta, z, dW):
    """dW = delta^T z, rows of dW as axpys over the samples in order."""
    n, M = delta.shape
    k = z.shape[1]
    for j in range(M):
        x = delta[0, j]
        for q in range(k):
            dW[j, q] = x * z[0, q]
    for i in range(1, n):
        for j in range(M):
            x = delta[i, j]
            for q in range(k):
                dW[j, q] = dW[j, q] + x * z[i, q]


@njit(cache=True)
def loop_back(delta, W, back):
    """back = delta W, rows of back as axpys over j in order."""
    n, M = delta.shape
    k = W.shape[1]
    for i in range(n):
        x = delta[i, 0]
        for q in range(k):
            back[i, q] = x * W[0, q]
        for j in range(1, M):
            x = delta[i, j]
            for q in range(k):
                back[i, q] = back[i, q] + x * W[j, q]


@njit(cache=True)
def transposed_forward(z, W, a):
    """a = z (W^T): W^T copied to the stack, OpenBLAS's ``A B`` kernel."""
    M, k = W.shape
    Wt = carray(stack_buffer(W), (k, M))
    for q in range(k):
        for j in range(M):
            Wt[q, j] = W[j, q]
    gemm(False, False, z, Wt, a, False)


@njit(cache=True)
def repeat(which, z, W, a, delta, dW, back, reps):
    """``reps`` times one of the candidates (0-6), in compiled code."""
    for _ in range(reps):
        if which == 0:
            loop_forward(z, W, a)
        elif which == 1:
            gemm(False, True, z, W, a, False)
        elif which == 2:
            loop_weight_gradient(delta, z, dW)
        elif which == 3:
            gemm(True, False, delta, z, dW, False)
        elif which == 4:
            loop_back(delta, W, back)
        elif which == 5:
            gemm(False, False, delta, W, back, False)
        else:
            transposed_forward(z, W, a)


def seconds(which: int, arrays: tuple[np.ndarray, ...], budget: float) -> float:
    """The best of three timings of one call of candidate ``which``, each about ``budget`` seconds."""
    repeat(which, *arrays, 1)
    t = time.perf_counter()
    repeat(which, *arrays, 3)
    reps = max(1, int(budget / max((time.perf_counter() - t) / 3, 1e-9)))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        repeat(which, *arrays, reps)
        best = min(best, (time.perf_counter() - t) / reps)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a coarser grid")
    parser.add_argument("--budget", type=float, default=0.004, help="seconds per timing (default 0.004)")
    args = parser.parse_args()
    rows = (1, 8, 200, 1024) if args.quick else (1, 2, 8, 32, 200, 256, 1024)
    widths = (1, 2, 8, 64, 256) if args.quick else (1, 2, 8, 10, 16, 64, 128, 256)
    rng = np.random.default_rng(0)
    wins: dict[str, list[tuple[str, int, int, int]]] = {"forward": [], "dW": [], "back": [], "W^T copy": []}
    print("µs per call; loops/BLAS and copy/NT < 1: the loops, the copy are faster")
    print(
        f"{'dtype':8} {'n':>5} {'M':>4} {'k':>4} | {'fwd loops':>9} {'BLAS':>7} |"
        f" {'dW loops':>9} {'BLAS':>7} | {'back loops':>10} {'BLAS':>7} | {'fwd NT':>7} {'W^T+NN':>7}"
    )
    with threadpool_limits(1):
        for dtype in (np.float32, np.float64):
            for n, M, k in itertools.product(rows, widths, widths):
                z, W, delta = (rng.normal(size=s).astype(dtype) for s in [(n, k), (M, k), (n, M)])
                a, dW, back = np.empty((n, M), dtype), np.empty((M, k), dtype), np.empty((n, k), dtype)
                arrays = (z, W, a, delta, dW, back)
                fits = M * k <= CAPACITY  # candidates 0 and 6 copy W^T to the stack
                t = [
                    np.nan if w in (0, 6) and not fits else seconds(w, arrays, args.budget) * 1e6
                    for w in range(7)
                ]
                name = np.dtype(dtype).name
                print(f"{name:8} {n:5} {M:4} {k:4} | {t[0]:9.2f} {t[1]:7.2f} | {t[2]:9.2f} {t[3]:7.2f} |"
                      f" {t[4]:10.2f} {t[5]:7.2f} | {t[1]:7.2f} {t[6]:7.2f}", flush=True)  # fmt: skip
                for key, loops, blas in (("forward", 0, 1), ("dW", 2, 3), ("back", 4, 5), ("W^T copy", 6, 1)):
                    if t[loops] < t[blas]:
                        wins[key].append((name, n, M, k))
    print("\nThe crossover: shapes (dtype, n, M, k) where the candidate beats the BLAS call")
    for key, shapes in wins.items():
        print(f"{key}: {len(shapes)} shapes", *shapes, sep="\n  " if shapes else " ")


if __name__ == "__main__":
    main()
