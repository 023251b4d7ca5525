"""Threading the engine's element-wise work with numba's prange, measured against one thread.

The engine's element-wise passes run on one core; BLAS threads its products.  This
asks whether splitting an element-wise pass over the threads with ``numba.prange``
(``parallel=True``) pays on this machine: the optimiser's update of W1's 235,146
parameters (Nesterov momentum, float32), alone and after W1's largest product
(128 x 784 by 784 x 256, NumPy's OpenBLAS from compiled code, as the engine calls it),
for 1 and 2 threads (threadpoolctl for BLAS, ``numba.set_num_threads`` for prange), in
numba's threading layers ("omp", "workqueue"; "tbb" where installed).  Each layer runs
in a fresh process (numba picks its layer once per process); microseconds per call,
median of repeats.

    python benchmarks/bench_threads.py [--repeats 300]
"""

from __future__ import annotations

import os
import sys

_SLOW_KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(name in os.environ for name in _SLOW_KERNEL_VARIABLES):  # before NumPy loads OpenBLAS
    _env = {k: v for k, v in os.environ.items() if k not in _SLOW_KERNEL_VARIABLES}
    os.execve(sys.executable, [sys.executable, *sys.argv], _env)

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

PARAMETERS = 784 * 256 + 256 * 128 + 128 * 10 + 256 + 128 + 10  # W1's weights and biases


def measure(repeats: int) -> dict[str, float]:
    """Microseconds per call of each variant, in this process's threading layer."""
    from numba import njit, prange, set_num_threads, threading_layer
    from threadpoolctl import threadpool_limits

    from deltaprop.engine._blas import gemm

    @njit
    def serial(p, g, m, beta, eta):
        for q in range(p.shape[0]):
            velocity = beta * m[q] - eta * g[q]
            m[q] = velocity
            p[q] = p[q] + (beta * velocity - eta * g[q])

    @njit(parallel=True)
    def threaded(p, g, m, beta, eta):
        n = p.shape[0]
        for c in prange(2):  # two halves, one a thread, each a whole (sliced) vector
            lo, hi = c * n // 2, (c + 1) * n // 2
            serial(p[lo:hi], g[lo:hi], m[lo:hi], beta, eta)

    @njit
    def after_product(update, z, W, a, p, g, m, beta, eta):
        gemm(False, True, z, W, a, False)  # a = z W^T
        update(p, g, m, beta, eta)

    rng = np.random.default_rng(0)
    p, g, m = (rng.normal(size=PARAMETERS).astype(np.float32) for _ in range(3))
    z = rng.normal(size=(128, 784)).astype(np.float32)
    W = rng.normal(size=(256, 784)).astype(np.float32)
    a = np.empty((128, 256), np.float32)
    beta, eta = np.float32(0.9), np.float32(0.01)

    def per_call(fn: object, *args: object) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                fn(*args)  # type: ignore[operator]
            times.append((time.perf_counter() - start) / repeats * 1e6)
        return statistics.median(times)

    results: dict[str, float] = {}
    for update in (serial, threaded):
        update(p, g, m, beta, eta)
        after_product(update, z, W, a, p, g, m, beta, eta)
    results["layer"] = threading_layer()  # type: ignore[assignment]
    for threads in (1, 2):
        with threadpool_limits(threads):
            set_num_threads(threads)
            for name, update in (("serial", serial), ("prange", threaded)):
                results[f"{threads} {name} update"] = per_call(update, p, g, m, beta, eta)
                results[f"{threads} {name} product + update"] = per_call(
                    after_product, update, z, W, a, p, g, m, beta, eta
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--layer", help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args()
    if args.layer:
        print(json.dumps(measure(args.repeats)))
        return
    rows = []
    for layer in ("omp", "workqueue", "tbb"):
        env = {**os.environ, "NUMBA_THREADING_LAYER": layer}
        command = [sys.executable, __file__, "--repeats", str(args.repeats), "--layer", layer]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            print(f"{layer}: not available here ({done.stderr.strip().splitlines()[-1][:100]})")
            continue
        rows.append(json.loads(done.stdout))
    print("| layer | threads | update serial µs | update prange µs | product+update serial µs | prange µs |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        for t in (1, 2):
            print(
                f"| {r['layer']} | {t} | {r[f'{t} serial update']:.0f} | {r[f'{t} prange update']:.0f} | "
                f"{r[f'{t} serial product + update']:.0f} | {r[f'{t} prange product + update']:.0f} |"
            )


if __name__ == "__main__":
    main()
