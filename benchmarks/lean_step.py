"""A training step written as straight-line NumPy: what NumPy itself can do for a workload.

The benchmark's profile compares it with deltaprop's ``Trainer._step``. It computes the
same step -- forward pass with ReLU hidden layers, softmax and cross-entropy (one-hot
targets) or identity and squared error, backpropagation, Nesterov momentum -- with
every array allocated once, all parameters in one flat vector, no validation, no
History, no callbacks and no abstraction, and with the tricks deltaprop uses where
they pay (row maxima and sums of short rows column-wise and by a product with ones,
outer products as multiplications, the update block by block). If even this step
is far above the floor, the gap is NumPy's, not deltaprop's.
"""

from __future__ import annotations

import functools
import itertools
import sys
import time
from collections.abc import Callable

import numpy as np

# Elements per block of the update: a block of each array it touches stays in a core's cache.
BLOCK = 1 << 15


def _matmul(A: np.ndarray, B: np.ndarray, out: np.ndarray) -> np.ndarray:
    """A @ B into ``out``; over a single index (one column of A) the outer product, which BLAS is slow at."""
    if A.shape[1] == 1:
        return np.multiply(A, B, out=out)
    return np.matmul(A, B, out=out)


def lean_step(
    sizes: tuple[int, ...],
    output: str,
    lr: float,
    Xb: np.ndarray,
    Yb: np.ndarray,
    beta: float = 0.9,
    start_params: tuple[list[np.ndarray], list[np.ndarray]] | None = None,
) -> Callable[[], float]:
    """A closure that makes one step on (Xb, Yb) and returns the batch loss (before the step).

    ``start_params`` = (W, b) sets the initial parameters (W[h-1] of shape (M_h, M_{h-1})).
    """
    D = len(sizes) - 1
    n, K = Yb.shape
    dtype = Xb.dtype
    shapes = [(m, k) for k, m in itertools.pairwise(sizes)]
    total = sum(m * k + m for m, k in shapes)
    rng = np.random.default_rng(0)
    params = (0.05 * rng.standard_normal(total)).astype(dtype)
    grads, velocity = np.zeros_like(params), np.zeros_like(params)
    step_buffer, update_buffer = np.empty(min(total, BLOCK), dtype), np.empty(min(total, BLOCK), dtype)
    W, b, dW, db = [], [], [], []
    start = 0
    for m, k in shapes:
        W.append(params[start : start + m * k].reshape(m, k))
        dW.append(grads[start : start + m * k].reshape(m, k))
        start += m * k
        b.append(params[start : start + m])
        db.append(grads[start : start + m])
        start += m
    if start_params is not None:
        for target, source in zip(W + b, start_params[0] + start_params[1], strict=True):
            target[...] = source
    a = [np.empty((n, m), dtype) for m in sizes[1:]]
    z = [Xb] + [np.empty((n, m), dtype) for m in sizes[1:-1]]
    back = [np.empty((n, m), dtype) for m in sizes[1:-1]]
    f = np.empty((n, K), dtype)
    m_row = np.empty(n, dtype)
    ones = np.ones(K, dtype)
    blocks = [(s, min(s + BLOCK, total)) for s in range(0, total, BLOCK)]
    softmax = output == "softmax"

    def step() -> float:
        for h in range(D):
            _matmul(z[h], W[h].T, a[h])
            a[h] += b[h]
            if h < D - 1:
                np.maximum(a[h], 0, out=z[h + 1])
        logits = a[-1]
        if softmax:
            np.copyto(m_row, logits[:, 0])
            for k in range(1, K):
                np.maximum(m_row, logits[:, k], out=m_row)
            np.subtract(logits, m_row[:, None], out=f)
            np.exp(f, out=f)
            s = f @ ones
            # one-hot Y: -sum_i log softmax(a_i)_{y_i} = sum_i (m_i + log s_i) - sum_ik Y_ik a_ik
            loss = (float(np.log(s).sum()) + float(m_row.sum()) - float(np.vdot(Yb, logits))) / n
            np.divide(f, s[:, None], out=f)
            delta = np.subtract(f, Yb, out=f)
        else:
            delta = np.subtract(logits, Yb, out=f)
            loss = 0.5 * float(np.vdot(delta, delta)) / n
        delta *= 1.0 / n
        for h in reversed(range(D)):
            _matmul(delta.T, z[h], dW[h])
            np.add.reduce(delta, axis=0, out=db[h])
            if h:
                _matmul(delta, W[h], back[h - 1])
                back[h - 1] *= a[h - 1] > 0
                delta = back[h - 1]
        for lo, hi in blocks:  # Nesterov: v <- beta v - lr g; w <- w + beta v - lr g
            g, v, p = grads[lo:hi], velocity[lo:hi], params[lo:hi]
            step = np.multiply(g, lr, out=step_buffer[: hi - lo])
            v *= beta
            v -= step
            update = np.multiply(v, beta, out=update_buffer[: hi - lo])
            update -= step
            p += update
        return loss

    return step


def per_call_us(step: Callable[[], object], repeats: int) -> float:
    """Median over 5 samples of the µs per call of ``step``."""
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        samples.append((time.perf_counter() - start) / repeats * 1e6)
    return float(np.median(samples))


def compare(keys: list[str], rounds: int = 3) -> None:
    """Print deltaprop's ``Trainer._step`` against the lean step, in alternation, 1 thread, float32."""
    from bench_training import WORKLOADS, initial_network, load_data  # the benchmark's own workloads
    from threadpoolctl import threadpool_limits

    from deltaprop.train import Trainer

    for key in keys:
        w = WORKLOADS[key]
        X, y = load_data(w)
        K = w.sizes[-1]
        Y = y[:, None] if w.task == "regression" else np.eye(K)[y]
        rows = w.batch_size or w.n
        Xb = np.ascontiguousarray(X[:rows], dtype=np.float32)
        Yb = np.ascontiguousarray(Y[:rows], dtype=np.float32)
        net = initial_network(w, "float32")
        lean = lean_step(w.sizes, net.output.name, w.learning_rate, Xb, Yb, start_params=(net.W, net.b))
        ours = functools.partial(Trainer(net, w.optimizer, w.learning_rate)._step, Xb, Yb, None)
        repeats = 10 if w.batch_size is None else 200
        with threadpool_limits(1), np.errstate(all="ignore"):
            ours()
            lean()
            for _ in range(rounds):
                print(
                    f"{key}: Trainer._step {per_call_us(ours, repeats):,.1f} µs, "
                    f"lean step {per_call_us(lean, repeats):,.1f} µs"
                )


if __name__ == "__main__":
    compare(sys.argv[1:] or ["W1", "W2", "W3", "W4"])
