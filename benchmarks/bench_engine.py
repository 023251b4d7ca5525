"""The compiled engine against the reference path, scikit-learn and the BLAS floor, per training step.

W1 784-256-128-10, batch 128 (synthetic) and W2 64-64-10, batch 32 (digits), float32
for deltaprop, ReLU, Nesterov momentum 0.9 (scikit-learn's solver="sgd"), one BLAS
thread.  A step's time is the median over repetitions of an epoch's time divided by its
steps; every repetition runs all contenders one after the other.  The floor is the
matrix products alone.  Then the engine's first step in a fresh process, with an empty
numba cache (cold) and with the cache it left (warm).

    python benchmarks/bench_engine.py [--repeats 5]
"""

from __future__ import annotations

import os
import sys

_SLOW_KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(name in os.environ for name in _SLOW_KERNEL_VARIABLES):  # before NumPy loads OpenBLAS
    _env = {k: v for k, v in os.environ.items() if k not in _SLOW_KERNEL_VARIABLES}
    os.execve(sys.executable, [sys.executable, *sys.argv], _env)

import argparse  # noqa: E402
import itertools  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from deltaprop import Network  # noqa: E402
from deltaprop.train import Trainer  # noqa: E402


def workloads() -> dict[str, tuple[np.ndarray, np.ndarray, list[int], int]]:
    rng = np.random.default_rng(0)
    X1 = rng.normal(size=(128 * 60, 784))
    y1 = rng.integers(0, 10, X1.shape[0])
    digits = load_digits()
    X2 = (digits.data - digits.data.mean(0)) / (digits.data.std(0) + 1e-8)
    return {"W1": (X1, y1, [784, 256, 128, 10], 128), "W2": (X2, digits.target, [64, 64, 10], 32)}


def deltaprop_epoch(X: np.ndarray, y: np.ndarray, sizes: list[int], batch: int, engine: bool) -> float:
    net = Network(sizes, activation="relu", random_state=0, dtype="float32")
    Xf, Yf = X.astype(np.float32), np.eye(sizes[-1], dtype=np.float32)[y]
    trainer = Trainer(net, optimizer="sgd", learning_rate=0.01, path="engine" if engine else "numpy")
    Xb, Yb, s = Xf[:batch], Yf[:batch], None
    trainer._step(Xb, Yb, s)  # compile / allocate outside the timing
    assert trainer.path == ("engine" if engine else "numpy")
    batches = [(Xf[i : i + batch], Yf[i : i + batch]) for i in range(0, len(Xf) - batch + 1, batch)]
    start = time.perf_counter()
    for Xb, Yb in batches:
        trainer._step(Xb, Yb, None)
    return (time.perf_counter() - start) / len(batches)


def sklearn_epoch(X: np.ndarray, y: np.ndarray, sizes: list[int], batch: int) -> float:
    model = MLPClassifier(
        hidden_layer_sizes=sizes[1:-1], solver="sgd", batch_size=batch, max_iter=1, shuffle=False,
        learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=True, alpha=0.0, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
    return (time.perf_counter() - start) / (len(X) // batch)


def floor_step(sizes: list[int], batch: int) -> float:
    rng = np.random.default_rng(0)
    W = [rng.normal(size=(m, k)).astype(np.float32) for k, m in itertools.pairwise(sizes)]
    z = [rng.normal(size=(batch, k)).astype(np.float32) for k in sizes]
    a = [np.empty((batch, m), np.float32) for m in sizes[1:]]
    dW = [np.empty_like(w) for w in W]
    back = [np.empty((batch, k), np.float32) for k in sizes[:-1]]
    reps = 200
    start = time.perf_counter()
    for _ in range(reps):
        for h, w in enumerate(W):
            np.matmul(z[h], w.T, out=a[h])
        for h in reversed(range(len(W))):
            np.matmul(a[h].T, z[h], out=dW[h])
            if h:
                np.matmul(a[h], W[h], out=back[h])
    return (time.perf_counter() - start) / reps


FIRST_STEP = """
import time, numpy as np
from deltaprop import Network, Trainer
net = Network([784, 256, 128, 10], random_state=0, dtype="float32")
X = np.ones((128, 784), np.float32); Y = np.eye(10, dtype=np.float32)[np.arange(128) % 10]
for opt in ("sgd", "adam"):
    t = Trainer(net, optimizer=opt, learning_rate=0.01, path="engine")
    start = time.perf_counter(); t.step(X, Y)
    print(opt, time.perf_counter() - start)
"""


def first_steps() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold (empty numba cache)", "warm (cache on disk)"):
            out = subprocess.run([sys.executable, "-c", FIRST_STEP], env=env, capture_output=True, text=True)
            times = dict(line.split() for line in out.stdout.split("\n") if line)
            sgd, adam = float(times["sgd"]), float(times["adam"])
            print(f"first engine step, {label}: sgd {sgd:.2f} s, then adam {adam:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with threadpool_limits(limits=1):
        for name, (X, y, sizes, batch) in workloads().items():
            times: dict[str, list[float]] = {"engine": [], "numpy": [], "sklearn": [], "floor": []}
            for _ in range(args.repeats):
                times["engine"].append(deltaprop_epoch(X, y, sizes, batch, engine=True))
                times["numpy"].append(deltaprop_epoch(X, y, sizes, batch, engine=False))
                times["sklearn"].append(sklearn_epoch(X, y, sizes, batch))
                times["floor"].append(floor_step(sizes, batch))
            med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
            engine, numpy, sk, floor = (med[key] for key in ("engine", "numpy", "sklearn", "floor"))
            print(
                f"{name} {sizes} batch {batch}, us/step: engine {engine:.1f}, reference path {numpy:.1f}, "
                f"sklearn (float64) {sk:.1f}, floor {floor:.1f}; engine/floor {engine / floor:.2f}, "
                f"numpy/floor {numpy / floor:.2f}, numpy/engine {numpy / engine:.2f}, "
                f"sklearn/engine {sk / engine:.2f}"
            )
    first_steps()


if __name__ == "__main__":
    main()
