"""Training speed: deltaprop against scikit-learn's MLP, PyTorch on the CPU, and the BLAS floor.

Four workloads (synthetic data with fixed seeds, and scikit-learn's bundled digits):

    W1 mnist-like   n=60000, d=784, hidden (256, 128), 10 classes, batch 128, SGD
    W2 small        digits 1797 x 64, hidden (64,), 10 classes, batch 32, SGD
    W3 full batch   n=20000, d=100, hidden (100,), 5 classes, batch n, GD
    W4 regression   n=50000, d=50, hidden (128, 64), 1 output, batch 256, SGD
    W5 lecture toy  two moons n=200, d=2, hidden (8, 8), 2 classes, full batch, GD, 500 steps

Every network uses ReLU, the same initial weights, data, batch size, epochs and
solver in each library: SGD is Nesterov momentum 0.9 (scikit-learn's
solver="sgd" default, PyTorch's SGD(momentum=0.9, nesterov=True)), GD is plain
gradient descent; no L2 penalty, no early stopping.  deltaprop trains through its
public API, ``deltaprop.train.fit``, in the compiled engine (``Trainer(..., path="engine")``,
loaded before the timings; its start-up is reported apart, with W5's whole fit in a
fresh process on each path).  The *floor* is the time of the matrix
products alone of one epoch, into preallocated arrays: forward a = z W^T, backward
dW = delta^T z and delta W (all but the first layer).

For each workload and BLAS thread count (1 and 2), every repetition runs all the
contenders one after the other (so a slower minute of the machine hits them all),
and the tables give medians over the repetitions (W5, a fit of milliseconds, runs five
times as many).  On two threads each contender starts after a pause of ``PAUSE``
seconds, so that the one before's idle threads have stopped spinning.  Ratios are
taken within the run.  The script unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for its own process
(it re-executes itself; they select a slower kernel here) and records the BLAS
kernel that ran, with threadpoolctl.

    python benchmarks/bench_training.py                      # everything, prints the tables
    python benchmarks/bench_training.py --output docs/benchmarks.md   # and writes them there
    python benchmarks/bench_training.py --workloads W2 W3 --threads 1 --repeats 3
"""

from __future__ import annotations

import os
import sys

_SLOW_KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(name in os.environ for name in _SLOW_KERNEL_VARIABLES):  # before NumPy loads OpenBLAS
    _env = {k: v for k, v in os.environ.items() if k not in _SLOW_KERNEL_VARIABLES}
    _env["DELTAPROP_BENCH_UNSET"] = " ".join(
        f"{name}={os.environ[name]}" for name in _SLOW_KERNEL_VARIABLES if name in os.environ
    )
    os.execve(sys.executable, [sys.executable, *sys.argv], _env)

import argparse  # noqa: E402
import importlib.metadata  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from lean_step import _matmul, lean_step, per_call_us  # noqa: E402  (benchmarks/ is the script's directory)
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from deltaprop.network import Network  # noqa: E402
from deltaprop.optim import apply_updates  # noqa: E402
from deltaprop.train import Trainer, fit  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is a benchmark peer only: `pip install torch==2.13.0`
    torch = None

# On more than one thread, each contender starts after a pause: OpenBLAS's idle threads
# spin for about 0.1 s after a product before they sleep, and take the cores meanwhile.
PAUSE = 0.25
START_MARK = "<!-- bench_training:start -->"
END_MARK = "<!-- bench_training:end -->"


# ---------------------------------------------------------------- workloads
@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    sizes: tuple[int, ...]
    batch_size: int | None  # None: the full batch
    optimizer: str  # "sgd" (Nesterov momentum 0.9) or "gd"
    learning_rate: float
    epochs: int  # timed epochs per repetition
    n: int = 0
    task: str = "classification"
    rounds: int = 1  # repetitions per --repeats: more for a fit of milliseconds, whose median is noisier

    @property
    def steps_per_epoch(self) -> int:
        return 1 if self.batch_size is None else math.ceil(self.n / self.batch_size)

    def batch_rows(self) -> list[int]:
        """The batch sizes of one epoch (the last may be smaller)."""
        if self.batch_size is None:
            return [self.n]
        full, rest = divmod(self.n, self.batch_size)
        return [self.batch_size] * full + ([rest] if rest else [])

    def flops_per_epoch(self) -> float:
        """Multiply-adds x 2 of the floor's products: forward, dW, and delta W for h > 1."""
        total = 0.0
        for h, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True), start=1):
            total += 2.0 * self.n * fan_in * fan_out * (3 if h > 1 else 2)
        return total


WORKLOADS = {
    "W1": Workload("W1", "mnist-like", (784, 256, 128, 10), 128, "sgd", 0.01, 2, n=60000),
    "W2": Workload("W2", "small (digits)", (64, 64, 10), 32, "sgd", 0.01, 30, n=1797),
    "W3": Workload("W3", "full batch", (100, 100, 5), None, "gd", 0.5, 40, n=20000),
    "W4": Workload("W4", "regression", (50, 128, 64, 1), 256, "sgd", 0.001, 3, n=50000, task="regression"),
    "W5": Workload("W5", "lecture toy (two moons)", (2, 8, 8, 2), None, "gd", 0.1, 500, n=200, rounds=5),
}


def _teacher_data(w: Workload, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian inputs labelled by a random ReLU teacher network: learnable, not trivial."""
    rng = np.random.default_rng(seed)
    d, K = w.sizes[0], w.sizes[-1]
    X = rng.standard_normal((w.n, d))
    hidden = np.maximum(X @ rng.standard_normal((d, 64)) / np.sqrt(d), 0)
    out = hidden @ rng.standard_normal((64, K)) + 0.1 * rng.standard_normal((w.n, K))
    if w.task == "regression":
        y = (out[:, 0] - out[:, 0].mean()) / out[:, 0].std()
        return X, y
    return X, out.argmax(axis=1)


def load_data(w: Workload) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, d) float64 and labels (n,) int or targets (n,) float."""
    if w.key == "W5":
        from sklearn.datasets import make_moons

        return make_moons(w.n, noise=0.2, random_state=0)
    if w.key == "W2":
        digits = load_digits()
        X = digits.data
        X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        return X, digits.target
    return _teacher_data(w, seed=int(w.key[1]))


# ---------------------------------------------------------------- contenders
@dataclass
class Result:
    seconds: list[float] = field(default_factory=list)
    quality: float = float("nan")  # accuracy, or R^2 for regression


def _quality(w: Workload, predicted: np.ndarray, y: np.ndarray) -> float:
    if predicted.shape != y.shape:  # scikit-learn's binary MLP given deltaprop's two softmax outputs (W5)
        return float("nan")
    if w.task == "regression":
        return float(1.0 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    return float((predicted == y).mean())


def floor_epoch(w: Workload, dtype: str, rng: np.random.Generator) -> Callable[[], None]:
    """The matrix products of one epoch, into preallocated arrays (fixed random operands)."""
    W = [0.1 * rng.standard_normal((m, k)).astype(dtype) for k, m in itertools.pairwise(w.sizes)]
    plans = []
    for rows in sorted(set(w.batch_rows())):
        z = [0.1 * rng.standard_normal((rows, k)).astype(dtype) for k in w.sizes[:-1]]
        delta = [0.1 * rng.standard_normal((rows, m)).astype(dtype) for m in w.sizes[1:]]
        a = [np.empty((rows, m), dtype) for m in w.sizes[1:]]
        back = [np.empty((rows, k), dtype) for k in w.sizes[:-1]]
        dW = [np.empty_like(weights) for weights in W]
        plans.append((rows, z, delta, a, back, dW))
    schedule = [next(p for p in plans if p[0] == rows) for rows in w.batch_rows()]
    D = len(W)

    # deltaprop's own product: np.matmul, or an outer product where the sum runs over a
    # single index (W4's one output), which BLAS computes several times slower.
    def run() -> None:
        for _, z, delta, a, back, dW in schedule:
            for h in range(D):
                _matmul(z[h], W[h].T, a[h])
            for h in reversed(range(D)):
                _matmul(delta[h].T, z[h], dW[h])
                if h > 0:
                    _matmul(delta[h], W[h], back[h])

    return run


def initial_network(w: Workload, dtype: str) -> Network:
    output = "identity" if w.task == "regression" else "softmax"
    return Network(
        list(w.sizes), activation="relu", output=output, init="sklearn", random_state=0, dtype=dtype
    )


def run_deltaprop(w: Workload, X: np.ndarray, Y: np.ndarray, dtype: str) -> tuple[float, Network]:
    net = initial_network(w, dtype)
    start = time.perf_counter()
    fit(
        net,
        X,
        Y,
        optimizer=Trainer(net, w.optimizer, w.learning_rate, path="engine"),
        batch_size=w.batch_size,
        epochs=w.epochs,
        shuffle=True,
        random_state=0,
    )
    return time.perf_counter() - start, net


def sklearn_model(w: Workload, X: np.ndarray, y: np.ndarray) -> Any:
    """A scikit-learn MLP set up to start from deltaprop's initial weights (warm start)."""
    cls = MLPRegressor if w.task == "regression" else MLPClassifier
    sgd = w.optimizer == "sgd"
    model = cls(
        hidden_layer_sizes=w.sizes[1:-1],
        activation="relu",
        solver="sgd",
        alpha=0.0,
        batch_size=w.n if w.batch_size is None else w.batch_size,
        learning_rate="constant",
        learning_rate_init=w.learning_rate,
        momentum=0.9 if sgd else 0.0,
        nesterovs_momentum=sgd,
        shuffle=w.batch_size is not None,
        tol=0.0,
        n_iter_no_change=w.epochs + 1,
        early_stopping=False,
        max_iter=1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # a full batch larger than the setup rows
        setup = np.arange(min(300, w.n))
        if w.task == "classification":  # every class, for the label encoding
            setup = np.union1d(setup, [np.flatnonzero(y == label)[0] for label in np.unique(y)])
        model.fit(X[setup], y[setup])  # builds the layers and the label encoding only
    net = initial_network(w, "float64")
    model.coefs_ = [W.T.copy() for W in net.W]
    model.intercepts_ = [b.copy() for b in net.b]
    model.set_params(warm_start=True, max_iter=w.epochs)
    return model


def run_sklearn(w: Workload, X: np.ndarray, y: np.ndarray) -> tuple[float, Any]:
    model = sklearn_model(w, X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start, model


def torch_model(w: Workload, dtype: str) -> Any:
    net = initial_network(w, "float64")
    layers: list[Any] = []
    for h, (W, b) in enumerate(zip(net.W, net.b, strict=True)):
        linear = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))  # same (M_h, M_{h-1}) layout as deltaprop
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if h < net.D - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    return model.double() if dtype == "float64" else model.float()


def run_torch(w: Workload, X: Any, y: Any, dtype: str) -> tuple[float, Any]:
    """The usual PyTorch loop: a permutation per epoch, index the batch, step."""
    model = torch_model(w, dtype)
    sgd = w.optimizer == "sgd"
    opt = torch.optim.SGD(model.parameters(), lr=w.learning_rate, momentum=0.9 if sgd else 0.0, nesterov=sgd)
    if w.task == "regression":
        mse = torch.nn.MSELoss()

        def loss_fn(out: Any, target: Any) -> Any:
            return 0.5 * mse(out[:, 0], target)  # deltaprop's and scikit-learn's 1/2 (f - y)^2

    else:
        loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    n = X.shape[0]
    start = time.perf_counter()
    for _ in range(w.epochs):
        if w.batch_size is None:
            batches = [(X, y)]
        else:
            order = torch.randperm(n, generator=generator)
            batches = ((X[idx], y[idx]) for idx in torch.split(order, w.batch_size))
        total = 0.0
        for xb, yb in batches:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]  # the epoch's loss, as History and loss_curve_ keep it
    return time.perf_counter() - start, model


def peak_fit_memory(w: Workload, X: np.ndarray, Y: np.ndarray, dtype: str) -> float:
    """Peak bytes NumPy allocated during fit (X and Y excluded), by tracemalloc, untimed."""
    net = initial_network(w, dtype)
    tracemalloc.start()
    try:
        fit(
            net,
            X,
            Y,
            optimizer=Trainer(net, w.optimizer, w.learning_rate, path="engine"),
            batch_size=w.batch_size,
            epochs=1,
            random_state=0,
        )
        return float(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------ profile
def profile_step(w: Workload, X: np.ndarray, Y: np.ndarray, repeats: int = 200) -> dict[str, float]:
    """Microseconds per training step of the reference's parts and of the engine, on one batch.

    The reference path's parts one at a time (forward, loss, backward, the optimiser's
    update and apply_updates), the whole step on each path (``Trainer._step``), the
    engine's step within a compiled epoch, and the floor's share of one step.
    """
    rows = w.n if w.batch_size is None else w.batch_size
    repeats = 10 if w.batch_size is None else repeats
    index = np.random.default_rng(0).permutation(w.n)[:rows]
    Xb, Yb = np.ascontiguousarray(X[index]), np.ascontiguousarray(Y[index])
    net = initial_network(w, "float32")
    reference = Trainer(net.copy(), w.optimizer, w.learning_rate, path="numpy")
    engine = Trainer(net.copy(), w.optimizer, w.learning_rate, path="engine")
    engine._step(Xb, Yb, None)
    cache = net._forward(Xb)
    grads = net._backward(cache, Yb, 0.0, None)
    optimizer = reference.optimizer
    state = optimizer.init(net.params)
    floor_rows = Workload(w.key, w.title, w.sizes, rows, w.optimizer, w.learning_rate, 1, n=rows)
    products = floor_epoch(floor_rows, "float32", np.random.default_rng(1))
    epoch_steps = 20
    order = np.tile(np.arange(rows), epoch_steps)
    starts = np.arange(0, rows * epoch_steps + 1, rows)

    parts: dict[str, Callable[[], Any]] = {
        "matrix products (the floor)": products,
        "reference: forward (Network._forward)": lambda: net._forward(Xb),
        "reference: loss (cache_loss)": lambda: net.cache_loss(cache, Yb, 0.0, None),
        "reference: backward (Network._backward)": lambda: net._backward(cache, Yb, 0.0, None),
        "reference: update + apply_updates": lambda: apply_updates(
            net.params, optimizer.update(grads, state, net.params)[0]
        ),
        "reference: whole step (Trainer._step)": lambda: reference._step(Xb, Yb, None),
        "engine: one step (Trainer._step)": lambda: engine._step(Xb, Yb, None),
        "the same step as straight-line NumPy (lean_step.py)": lean_step(
            w.sizes, net.output.name, w.learning_rate, Xb, Yb, start_params=(net.W, net.b)
        ),
    }
    timings = {}
    for name, part in parts.items():
        part()
        timings[name] = per_call_us(part, repeats)
    epoch = lambda: engine._run_epoch(Xb, Yb, None, None if w.batch_size is None else order, starts)  # noqa: E731
    if w.batch_size is None:
        starts = np.arange(0, rows + 1, rows)
    else:
        epoch()
        per_epoch = per_call_us(epoch, max(1, repeats // 20))
        timings["engine: a step within a compiled epoch"] = per_epoch / epoch_steps
    return timings


# ------------------------------------------------------------------- driver
START_UP = """
import time
start = time.perf_counter()
import numpy as np
from sklearn.datasets import make_moons
from deltaprop import Network
from deltaprop.train import Trainer, fit
X, y = make_moons(200, noise=0.2, random_state=0)
net = Network([2, 8, 8, 2], random_state=0)
trainer = Trainer(net, "gd", 0.1, path="{path}")
fit(net, X, np.eye(2)[y], optimizer=trainer, epochs=500)
print(trainer.path, time.perf_counter() - start)
"""
# The threaded step's first fit: W3's network on 4,000 rows, 5 full-batch epochs, 2 threads.
START_UP_THREADED = """
import time
start = time.perf_counter()
import numpy as np
from threadpoolctl import threadpool_limits
from deltaprop import Network
from deltaprop.engine import _step
from deltaprop.train import Trainer, fit
rng = np.random.default_rng(0)
X, y = rng.standard_normal((4000, 100)), rng.integers(0, 5, 4000)
net = Network([100, 100, 5], random_state=0)
trainer = Trainer(net, "gd", 0.1, path="engine")
with threadpool_limits(limits=2):
    fit(net, X, np.eye(5)[y], optimizer=trainer, epochs=5)
print("threaded" if _step._threads_started_in else "one-thread", time.perf_counter() - start)
"""


def start_up() -> dict[str, float]:
    """Seconds of W5's whole fit in a fresh process (imports included), per path and numba cache state."""
    import subprocess
    import tempfile

    times = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = [
            ("auto (reference for this size), any cache", START_UP.format(path="auto")),
            ("reference path (path='numpy')", START_UP.format(path="numpy")),
            ("engine, empty numba cache (compiles)", START_UP.format(path="engine")),
            ("engine, cache on disk (loads)", START_UP.format(path="engine")),
            ("W3's network, 4,000 rows, 2 threads, threaded step not yet cached", START_UP_THREADED),
            ("the same, cache on disk", START_UP_THREADED),
        ]
        for label, script in runs:
            out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
            ran, seconds = out.stdout.split()
            times[f"{label}: {ran}"] = float(seconds)
    return times


def start_up_table(times: dict[str, float]) -> str:
    lines = ["| a fit in a fresh process, imports included (W5's unless said) | seconds |", "|---|---|"]
    lines += [f"| {label} | {seconds:.2f} |" for label, seconds in times.items()]
    return "\n".join(lines)


def warm_engine() -> float:
    """Load (or compile) the engine in this process, one-thread and threaded steps: seconds, so that
    every fit after it may use it."""
    start = time.perf_counter()
    for dtype in ("float32", "float64"):
        for activation in ("relu", "tanh"):
            net = Network([2, 3, 2], activation=activation, dtype=dtype, random_state=0)
            Trainer(net, "sgd", 0.1, path="engine").step(np.ones((2, 2)), np.eye(2))
        # the threaded step, where two threads are there (a batch large enough for two)
        net = Network([100, 100, 5], dtype=dtype, random_state=0)
        X = np.random.default_rng(0).standard_normal((4000, 100)).astype(dtype)
        with threadpool_limits(limits=2):
            Trainer(net, "sgd", 0.1, path="engine").step(X, np.eye(5, dtype=dtype)[np.arange(4000) % 5])
    return time.perf_counter() - start


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu in ("", platform.machine()):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = line
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    blas = [
        {k: info.get(k) for k in ("internal_api", "version", "architecture", "threading_layer", "filepath")}
        for info in threadpool_info()
    ]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "avx512": "avx512f" in flags.split(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": None if torch is None else torch.__version__,
        "deltaprop": importlib.metadata.version("deltaprop"),
        "blas": blas,
        "unset": os.environ.get("DELTAPROP_BENCH_UNSET", "") or "(none were set)",
    }


def benchmark(w: Workload, threads: int, repeats: int, peers: set[str]) -> dict[str, Any]:
    X64, y = load_data(w)
    n_classes = w.sizes[-1]
    Y64 = y[:, None] if w.task == "regression" else np.eye(n_classes)[y]
    data = {dtype: (X64.astype(dtype), Y64.astype(dtype)) for dtype in ("float32", "float64")}
    rng = np.random.default_rng(0)
    floors = {dtype: floor_epoch(w, dtype, rng) for dtype in ("float32", "float64")}
    torch_data = {}
    if "torch" in peers:
        torch.set_num_threads(threads)
        for dtype in ("float32", "float64"):
            targets = y.astype(dtype if w.task == "regression" else np.int64)  # class indices for CE
            torch_data[dtype] = (torch.from_numpy(X64.astype(dtype)), torch.from_numpy(targets))
    results: dict[str, Result] = {}
    contenders: dict[str, Callable[[], tuple[float, Any]]] = {}
    for dtype in ("float32", "float64"):
        contenders[f"floor {dtype}"] = lambda dtype=dtype: (_timed(floors[dtype], w.epochs), None)
        contenders[f"deltaprop {dtype}"] = lambda dtype=dtype: run_deltaprop(w, *data[dtype], dtype)
        if "torch" in peers:
            contenders[f"torch {dtype}"] = lambda dtype=dtype: run_torch(w, *torch_data[dtype], dtype)
    if "sklearn" in peers:
        contenders["sklearn float64"] = lambda: run_sklearn(w, X64, y)
    models: dict[str, Any] = {}
    with threadpool_limits(limits=threads):
        for _ in range(repeats * w.rounds):
            for name, run in contenders.items():
                if threads > 1:  # the last contender's idle threads stop spinning and sleep
                    time.sleep(PAUSE)
                seconds, model = run()
                results.setdefault(name, Result()).seconds.append(seconds / w.epochs)
                models[name] = model
        for name, model in models.items():
            if model is None:
                continue
            results[name].quality = _quality(w, _predict(w, name, model, X64), y)
    return {name: {"seconds": r.seconds, "quality": r.quality} for name, r in results.items()}


def _timed(run: Callable[[], None], epochs: int) -> float:
    start = time.perf_counter()
    for _ in range(epochs):
        run()
    return time.perf_counter() - start


def _predict(w: Workload, name: str, model: Any, X64: np.ndarray) -> np.ndarray:
    if name.startswith("deltaprop"):
        f = model.predict(X64.astype(model.dtype))
        return f[:, 0] if w.task == "regression" else f.argmax(axis=1)
    if name.startswith("sklearn"):
        return model.predict(X64)
    with torch.no_grad():
        dtype = torch.float64 if name.endswith("float64") else torch.float32
        out = model(torch.from_numpy(X64).to(dtype)).numpy()
    return out[:, 0] if w.task == "regression" else out.argmax(axis=1)


# ------------------------------------------------------------------ reports
def _ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1e3


def _shown(ms: float) -> str:
    """Milliseconds with three or more significant digits (W5's epochs take some 0.01 ms)."""
    return f"{ms:.1f}" if ms >= 100 or math.isnan(ms) else f"{ms:.2f}" if ms >= 1 else f"{ms:.4f}"


def results_table(runs: dict[str, Any]) -> str:
    lines = [
        "| workload | threads | dtype | floor ms/epoch | deltaprop ms/epoch | samples/s | GFLOP/s | "
        "deltaprop / floor | sklearn (f64) ms | sklearn / deltaprop | torch ms | torch / deltaprop | "
        "accuracy or R²: deltaprop / sklearn / torch |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, by_threads in runs["results"].items():
        w = WORKLOADS[key]
        for threads, res in by_threads.items():
            for dtype in ("float32", "float64"):
                floor = _ms(res[f"floor {dtype}"]["seconds"])
                ours = _ms(res[f"deltaprop {dtype}"]["seconds"])
                sk = res.get("sklearn float64")
                th = res.get(f"torch {dtype}")
                sk_ms = _ms(sk["seconds"]) if sk else float("nan")
                th_ms = _ms(th["seconds"]) if th else float("nan")
                quality = " / ".join(
                    "–" if r is None else f"{r['quality']:.3f}" for r in (res[f"deltaprop {dtype}"], sk, th)
                )
                lines.append(
                    f"| {key} {w.title} | {threads} | {dtype} | {_shown(floor)} | {_shown(ours)} | "
                    f"{w.n / ours * 1e3:,.0f} | {w.flops_per_epoch() / ours / 1e6:.1f} | "
                    f"**{ours / floor:.2f}** | {_shown(sk_ms)} | **{sk_ms / ours:.1f}** | {_shown(th_ms)} | "
                    f"**{th_ms / ours:.1f}** | {quality} |"
                )
    return "\n".join(lines)


TARGETS = {  # deltaprop/floor <=, sklearn/deltaprop >=, torch float32/deltaprop >= (issue 11)
    "W1": (1.15, 3.0, 1.3),
    "W2": (2.0, 7.0, 8.0),
    "W3": (1.15, 3.8, 1.3),
    "W4": (1.3, 5.0, 3.5),
    "W5": (math.inf, 8.0, 20.0),
}


def targets_table(runs: dict[str, Any]) -> str:
    lines = [
        "| workload | deltaprop / floor (target) | sklearn / deltaprop (target) "
        "| torch f32 / deltaprop (target) |",
        "|---|---|---|---|",
    ]
    for key, by_threads in runs["results"].items():
        res = by_threads.get("1")
        if res is None:
            continue
        floor_max, sk_min, th_min = TARGETS[key]
        ours = _ms(res["deltaprop float32"]["seconds"])
        cells = [f"{ours / _ms(res['floor float32']['seconds']):.2f} (<= {floor_max}) "]
        cells[0] += "met" if ours / _ms(res["floor float32"]["seconds"]) <= floor_max else "**missed**"
        if math.isinf(floor_max):
            cells = [f"{ours / _ms(res['floor float32']['seconds']):.2f} (no target)"]
        for peer, minimum in (("sklearn float64", sk_min), ("torch float32", th_min)):
            if peer in res:
                ratio = _ms(res[peer]["seconds"]) / ours
                cells.append(f"{ratio:.1f} (>= {minimum}) " + ("met" if ratio >= minimum else "**missed**"))
            else:
                cells.append("not run")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def profile_table(profiles: dict[str, dict[str, float]], runs: dict[str, Any]) -> str:
    keys = list(profiles)
    lines = [
        "| part of one step (µs, 1 thread, float32, one batch over and over) | " + " | ".join(keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    names = list(dict.fromkeys(name for k in keys for name in profiles[k]))
    for part in names:
        cells = [f"{profiles[k][part]:,.1f}" if part in profiles[k] else "–" for k in keys]
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    per_step = []
    for k in keys:
        res = runs["results"].get(k, {}).get("1")
        seconds = res["deltaprop float32"]["seconds"] if res else None
        per_step.append("–" if not seconds else f"{_ms(seconds) * 1e3 / WORKLOADS[k].steps_per_epoch:,.1f}")
    lines.append("| fit, per step (the timed epochs above) | " + " | ".join(per_step) + " |")
    return "\n".join(lines)


def memory_table(memory: dict[str, dict[str, float]]) -> str:
    counts = sorted({threads for peaks in memory.values() for threads in peaks}, key=int)
    head = " | ".join(f"peak memory of fit, {t} thread{'s' if t != '1' else ''}" for t in counts)
    lines = [f"| workload (float32, X and Y excluded) | {head} |", "|---|" + "---|" * len(counts)]
    for key, peaks in memory.items():
        lines.append(f"| {key} | " + " | ".join(f"{peaks[t] / 2**20:.1f} MiB" for t in counts) + " |")
    return "\n".join(lines)


def report(runs: dict[str, Any]) -> str:
    m = runs["machine"]
    blas = "; ".join(
        f"{b['internal_api']} {b['version'] or ''} from {Path(b['filepath']).parent.parent.name}/"
        f"{Path(b['filepath']).parent.name}"
        + (f", kernel {b['architecture']}, {b['threading_layer']}" if b["architecture"] else "")
        for b in m["blas"]
    )
    header = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, AVX-512: {'yes' if m['avx512'] else 'no'}.",
        f"Python {m['python']}, deltaprop {m['deltaprop']}, NumPy {m['numpy']}, "
        f"scikit-learn {m['scikit-learn']}, "
        f"PyTorch {m['torch'] or 'not installed'}.",
        f"BLAS and thread pools (threadpoolctl): {blas}.",
        f"Unset for the benchmark's process: {m['unset']}.",
        f"Medians of {runs['repeats']} repetitions; epochs timed per repetition: "
        + ", ".join(f"{k} {WORKLOADS[k].epochs}" for k in runs["results"])
        + ". Command: `"
        + runs["command"]
        + "`.",
    ]
    parts = [
        "\n".join(header),
        "### Targets (float32, 1 thread)\n\n" + targets_table(runs),
        "### All results\n\n" + results_table(runs),
    ]
    if runs.get("start_up"):
        parts.append(
            "### Start-up\n\nLoading the engine in this process before the timings: "
            f"{runs['engine_load']:.2f} s. W5's whole fit (500 steps), and a first fit on the threaded "
            "step, in a fresh process:\n\n" + start_up_table(runs["start_up"])
        )
    if runs.get("memory"):
        parts.append("### Memory\n\n" + memory_table(runs["memory"]))
    if runs.get("profile"):
        parts.append("### Where a step's time goes\n\n" + profile_table(runs["profile"], runs))
    return "\n\n".join(parts)


def write_report(path: Path, text: str) -> None:
    """Replace the text between the two marks in ``path`` (or append it with the marks)."""
    block = f"{START_MARK}\n{text}\n{END_MARK}"
    old = path.read_text() if path.exists() else ""
    if START_MARK in old and END_MARK in old:
        new = old[: old.index(START_MARK)] + block + old[old.index(END_MARK) + len(END_MARK) :]
    else:
        new = old + ("\n" if old else "") + block + "\n"
    path.write_text(new)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if installed")
    parser.add_argument("--no-sklearn", action="store_true", help="leave scikit-learn out")
    parser.add_argument("--output", type=Path, help="write the tables into this Markdown file")
    parser.add_argument("--json", type=Path, help="write the raw timings here")
    args = parser.parse_args(argv)
    peers = set()
    if not args.no_sklearn:
        peers.add("sklearn")
    if torch is not None and not args.no_torch:
        peers.add("torch")
    runs: dict[str, Any] = {
        "machine": machine(),
        "repeats": args.repeats,
        "command": "python benchmarks/bench_training.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "results": {},
        "memory": {},
        "profile": {},
    }
    runs["start_up"] = start_up()
    runs["engine_load"] = warm_engine()
    for key in args.workloads:
        w = WORKLOADS[key]
        runs["results"][key] = {}
        for threads in args.threads:
            started = time.perf_counter()
            runs["results"][key][str(threads)] = benchmark(w, threads, args.repeats, peers)
            print(f"{key} with {threads} thread(s): {time.perf_counter() - started:.0f} s", file=sys.stderr)
        X64, y = load_data(w)
        Y = (y[:, None] if w.task == "regression" else np.eye(w.sizes[-1])[y]).astype("float32")
        X = X64.astype("float32")
        for threads in args.threads:
            with threadpool_limits(limits=threads):
                runs["memory"].setdefault(key, {})[str(threads)] = peak_fit_memory(w, X, Y, "float32")
        with threadpool_limits(limits=1):
            runs["profile"][key] = profile_step(w, X, Y)
    text = report(runs)
    print(text)
    if args.output:
        write_report(args.output, text)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
