"""The engine's threaded fused step (its default on two cores) against BLAS's own threads.

For W1, W3 and W4 of ``bench_training.py`` (the same data, networks and fit), at a BLAS
limit of two threads (threadpoolctl): the floor (the products alone, on BLAS's two
threads), deltaprop's engine on one thread with BLAS threading its products
(``DELTAPROP_ENGINE_THREADS=1``), and the engine's threaded step (``=2``, the default),
where each thread computes a share of the batch (products included, BLAS on one
thread each).  Every contender runs once per
repetition, one after the other, in two orders of the day: back to back, and after a
pause of ``--pause`` seconds, in which OpenBLAS's idle threads stop spinning and go to
sleep.  Milliseconds per epoch, medians; ratios to the floor of the same repetition.

    python benchmarks/bench_engine_threads.py [--workloads W1 W3 W4] [--repeats 5] [--pause 1.0]
"""

from __future__ import annotations

import os
import sys

_SLOW_KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(name in os.environ for name in _SLOW_KERNEL_VARIABLES):  # before NumPy loads OpenBLAS
    _env = {k: v for k, v in os.environ.items() if k not in _SLOW_KERNEL_VARIABLES}
    os.execve(sys.executable, [sys.executable, *sys.argv], _env)

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from bench_training import WORKLOADS, _timed, floor_epoch, load_data, run_deltaprop  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from deltaprop.engine._step import THREADS_VARIABLE  # noqa: E402


def _engine(w, X, Y, dtype, threads: str) -> float:
    os.environ[THREADS_VARIABLE] = threads
    try:
        return run_deltaprop(w, X, Y, dtype)[0]
    finally:
        del os.environ[THREADS_VARIABLE]


def measure(key: str, repeats: int, pause: float) -> list[str]:
    w = WORKLOADS[key]
    X64, y = load_data(w)
    Y64 = y[:, None] if w.task == "regression" else np.eye(w.sizes[-1])[y]
    lines = []
    for dtype in ("float32", "float64"):
        X, Y = X64.astype(dtype), Y64.astype(dtype)
        floor = floor_epoch(w, dtype, np.random.default_rng(0))
        contenders: dict[str, Callable[[], float]] = {
            "floor": lambda floor=floor: _timed(floor, w.epochs),
            "BLAS threads": lambda X=X, Y=Y, dtype=dtype: _engine(w, X, Y, dtype, "1"),
            "engine threads": lambda X=X, Y=Y, dtype=dtype: _engine(w, X, Y, dtype, "2"),
        }
        with threadpool_limits(limits=2):
            _engine(w, X, Y, dtype, "2")  # compiled before the timings
            for order, wait in (("back to back", 0.0), ("after a pause", pause)):
                seconds: dict[str, list[float]] = {name: [] for name in contenders}
                for _ in range(repeats):
                    for name, run in contenders.items():
                        time.sleep(wait)
                        seconds[name].append(run() / w.epochs)
                ms = {name: 1e3 * statistics.median(s) for name, s in seconds.items()}
                ratio = {
                    name: statistics.median(a / b for a, b in zip(s, seconds["floor"], strict=True))
                    for name, s in seconds.items()
                }
                lines.append(
                    f"| {key} | {dtype} | {order} | {ms['floor']:.1f} "
                    f"| {ms['BLAS threads']:.1f} ({ratio['BLAS threads']:.2f}) "
                    f"| {ms['engine threads']:.1f} ({ratio['engine threads']:.2f}) |"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["W1", "W3", "W4"], choices=sorted(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pause", type=float, default=1.0)
    args = parser.parse_args()
    print(
        "| workload | dtype | runs | floor (2 BLAS threads) ms/epoch | engine, BLAS's threads (/ floor) "
        "| engine's threaded step (/ floor) |"
    )
    print("|---|---|---|---|---|---|")
    for key in args.workloads:
        for line in measure(key, args.repeats, args.pause):
            print(line, flush=True)


if __name__ == "__main__":
    main()
