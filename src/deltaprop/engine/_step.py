"""The engine's training steps: what the reference computes, in arrays allocated once, compiled.

The step is the reference's (``Network.forward``, ``Network.cache_loss``,
``Network.backward``, the optimiser's ``update`` and ``apply_updates``), computed in
the engine's own arrays: the parameters, their gradients and the optimiser's moments
are flat vectors (every W^(h), then every b^(h)), loaded from ``net.W`` and ``net.b``
when a run starts and written back into those same arrays when it ends, so that a
network's parameters stay ordinary arrays of its own.

Two ways to compute a step, both compiled:

- the fused step (:func:`deltaprop.engine._fused.run_batches`): every batch of an
  epoch in one compiled call, for hidden layers of identity, relu or leaky_relu units;
- the split step, for hidden layers with tanh, sigmoid, softplus or gelu: compiled
  loops (:mod:`deltaprop.engine._kernels`) between NumPy's products and NumPy's
  vectorised transcendental ufuncs, which numba's scalar ``tanh`` and ``exp`` are
  several times slower than (``benchmarks/bench_transcendentals.py``).

Both end in the same compiled clipping and optimiser update.  The order of some
additions differs from NumPy's (sums over a row), so the numbers agree with the
reference to rounding, not to the bit; ``tests/test_engine.py`` bounds the
difference after 50 steps.
"""

from __future__ import annotations

import importlib
import math
import os
import threading
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from deltaprop._types import Array, Grads, State
from deltaprop.activations import LEAKY_RELU_SLOPE, builtin_name
from deltaprop.engine._layout import FlatLayout, FlatState
from deltaprop.losses import builtin_output_name, weighted_mean
from deltaprop.network import Network
from deltaprop.optim import GradientTransformation
from deltaprop.schedules import get_lr

# What the engine computes: every built-in activation and output unit, the named
# optimisers, alone or after one clip_by_global_norm in a chain.
ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "gelu")
FUSED_ACTIVATIONS = ("identity", "relu", "leaky_relu")  # no transcendental function
OUTPUTS = ("softmax", "identity", "sigmoid")
OPTIMIZERS = ("gd", "momentum", "adam", "adamw")
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# The fused step runs a batch of more rows (the full batch) in chunks of CHUNK_ROWS rows,
# each chunk's forward and backward pass in cache, its gradient added to the others'.
CHUNK_ROWS = 1024

_compiled: dict[str, ModuleType] = {}


def compiled(name: str = "_fused") -> ModuleType:
    """A module of compiled loops (``"_fused"`` or ``"_kernels"``), imported with numba on first use."""
    module = _compiled.get(name)  # a lazy import, not state of the numerics
    if module is None:
        module = _compiled[name] = importlib.import_module(f"deltaprop.engine.{name}")
    return module


def loaded() -> bool:
    """Whether this process has already loaded the engine's compiled code (start-up is paid)."""
    return bool(_compiled)


class Plan(NamedTuple):
    """What the engine runs for one optimiser: the named one, its hyper-parameters, clipping."""

    name: str
    hyper: dict[str, Any]
    max_norm: float  # clip_by_global_norm's bound first, 0 for none
    in_chain: bool  # the state is (EmptyState(), the optimiser's state)


def plan(optimizer: GradientTransformation) -> Plan | None:
    """How the engine computes ``optimizer``'s updates, or None where it does not."""
    spec = optimizer.spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        return None
    name, hyper = spec
    if name in OPTIMIZERS:
        return Plan(name, hyper, 0.0, False)
    if name != "chain":
        return None
    transforms = hyper["transforms"]
    if len(transforms) != 2 or transforms[0].spec is None or transforms[0].spec[0] != "clip_by_global_norm":
        return None
    inner = plan(transforms[1])
    if inner is None or inner.in_chain:
        return None
    return Plan(inner.name, inner.hyper, float(transforms[0].spec[1]["max_norm"]), True)


def supports(net: Network, optimizer: GradientTransformation | None = None) -> bool:
    """Whether the engine computes this network's steps with this optimiser.

    True for built-in activations and output units, float32 or float64, and a named
    optimiser (gd, sgd, momentum, nesterov, adam, adamw), alone or chained after one
    ``clip_by_global_norm``; a user-defined activation or transformation runs on the
    reference path.  ``optimizer`` None asks about the loss and gradient alone.

    >>> from deltaprop.optim import adam, chain, clip_by_global_norm
    >>> supports(Network([2, 3, 1]), chain(clip_by_global_norm(1.0), adam(0.01)))
    True
    >>> supports(Network([2, 3, 1]), chain(adam(0.01), clip_by_global_norm(1.0)))
    False
    """
    return (
        (optimizer is None or plan(optimizer) is not None)
        and net.dtype in DTYPES
        and builtin_output_name(net.output) in OUTPUTS
        and all(builtin_name(act) in ACTIVATIONS for act in net.activations)
    )


def fused(net: Network) -> bool:
    """Whether the network's steps run as the fused step (no transcendental hidden unit)."""
    return all(builtin_name(act) in FUSED_ACTIVATIONS for act in net.activations)


class EngineWorkspace(FlatLayout):
    """The engine's arrays: flat parameters and gradients (with per-layer views), the work arrays."""

    def __init__(self, net: Network, rows: int) -> None:
        super().__init__(net, transpose_first=fused(net))  # the fused step's W^(1) as its transpose
        self.sizes = net.sizes
        self.widths = self.sizes[1:]
        self.p = self.flatten(net.params)
        self.g = self.flatten(net.params)
        self.params = self.unflatten(self.p)  # W^(h), b^(h): views of the flat vector
        self.grads = self.unflatten(self.g)
        self.flat_p, self.flat_g = _whole(self.p), _whole(self.g)
        self.output = builtin_output_name(net.output)
        self.output_unit = net.output
        self.hidden = [(builtin_name(act), act) for act in net.activations]
        self.fused = fused(net)
        self.rows_allocated = 0
        self.work = np.empty(0, self.dtype)
        self.works = np.empty((0, 0), self.dtype)  # the threaded step's: a work vector per thread
        self.gs = np.empty((0, self.p.W[0].size + self.p.b[0].size), self.dtype)  # gradients of threads 1..
        self.reserve(rows, gather=False)

    def reserve(self, rows: int, gather: bool) -> None:
        """Make room for batches of ``rows`` samples, gathered or not (arrays only grow).

        The fused step's work vectors wait for its run, which knows how many threads
        share the batch (:meth:`reserve_fused`): a threaded run needs no one-thread vector.
        """
        d, K = self.sizes[0], self.sizes[-1]
        if self.fused:
            self.rows_allocated = max(self.rows_allocated, min(rows, CHUNK_ROWS))
            return
        if rows <= self.rows_allocated:
            return
        self.rows_allocated = rows
        self.a = [np.empty((rows, M), self.dtype) for M in self.widths]
        self.z = [np.empty((rows, M), self.dtype) for M in self.widths[:-1]]
        self.delta = [np.empty((rows, M), self.dtype) for M in self.widths]
        self.row_max = np.empty(rows, self.dtype)
        self.ones = np.ones(self.widths[-1], dtype=self.dtype)
        self.X_batch = np.empty((rows, d), self.dtype)
        self.Y_batch = np.empty((rows, K), self.dtype)

    def fused_size(self, rows: int, gather: bool) -> int:
        """The numbers of the fused step's work vector for chunks of ``rows`` rows
        (:func:`deltaprop.engine._fused.offsets`): X_B and Y_B when gathering, PER_ROW
        numbers a row, z^(h) (a^(D)) and delta^(h) per layer."""
        d, K = self.sizes[0], self.sizes[-1]
        per_row = compiled("_fused").PER_ROW
        return rows * (per_row + 2 * sum(self.widths)) + (rows * (d + K) if gather else 0)

    def reserve_fused(self, rows: int, gather: bool, threads: int) -> int:
        """Make room for ``threads`` threads' shares of batches of ``rows`` samples; returns the
        rows of a thread's chunk (at most CHUNK_ROWS: a longer share runs chunk by chunk)."""
        share = min(-(-rows // threads), CHUNK_ROWS)
        size = self.fused_size(share, gather)
        if threads == 1:
            if size > self.work.size:
                self.work = np.empty(size, self.dtype)
            return share
        if self.works.shape[0] != threads or self.works.shape[1] < size:
            self.works = np.empty((threads, max(size, self.works.shape[1])), self.dtype)
        if self.gs.shape[0] != threads - 1:
            self.gs = np.empty((threads - 1, self.gs.shape[1]), self.dtype)
        return share

    def load(self, net: Network) -> None:
        """Copy the network's parameters into the flat vector."""
        for mine, theirs in zip(self.params.W + self.params.b, net.W + net.b, strict=True):
            np.copyto(mine, theirs)

    def store(self, net: Network) -> None:
        """Copy the flat vector back into the network's own arrays."""
        for theirs, mine in zip(net.W + net.b, self.params.W + self.params.b, strict=True):
            np.copyto(theirs, mine)


def _whole(flat: Any) -> Array:
    """The flat vector of which ``Params([all W], [all b])`` are the two parts."""
    base = flat.W[0].base
    assert base is not None and base.size == flat.W[0].size + flat.b[0].size
    return base


_OUTPUT_CODES = {"softmax": 0, "identity": 1, "sigmoid": 2}
_ACTIVATION_CODES = {"identity": 0, "relu": 1, "leaky_relu": 2}
_OPTIMIZER_CODES = {"gd": 1, "momentum": 2, "adam": 4, "adamw": 5}
NESTEROV = 3


class Run(NamedTuple):
    """What a run of batches gave: per batch (loss, weight, ||dL/dW^(h)|| ...), and the updates made."""

    out: NDArray[np.float64]  # (batches run, 2 + D)
    updates: int


class Engine(FlatState):
    """What the engine keeps between runs: its arrays and the optimiser state (flat)."""

    workspace: EngineWorkspace | None

    def __init__(self, state: State) -> None:
        super().__init__(state)
        self.fused = compiled("_fused")

    def _prepare(self, net: Network, rows: int, gather: bool) -> EngineWorkspace:
        ws = self.workspace
        if ws is None or ws.sizes != net.sizes:
            if ws is not None:  # a network of other shapes: the state as it stands, per layer
                self._state = self.state
            ws = self.workspace = EngineWorkspace(net, rows)
            self._flat_state = None
        ws.reserve(rows, gather)
        ws.load(net)
        self.flat_state(ws)
        return ws

    def run(
        self,
        net: Network,
        optimizer: GradientTransformation | None,
        X: Array,
        Y: Array,
        sample_weight: Array | None,
        order: NDArray[np.intp] | None,
        starts: NDArray[np.int64],
        l2: float,
        epochs: int = 1,
    ) -> Run:
        """Steps on the batches ``starts[i]:starts[i+1]`` of (X, Y) (rows ``order[...]`` if given).

        ``epochs`` passes over those batches; with ``order``, epoch e takes its rows from
        ``order[e * n : (e + 1) * n]``, n = ``starts[-1]``.  ``optimizer`` None computes
        the loss and gradients only (``gradients``).  Stops after a batch whose loss is not
        finite, before its update; the network then holds the parameters of the last
        finite step.
        """
        how = None if optimizer is None else plan(optimizer)
        assert optimizer is None or how is not None
        rows = int(np.max(np.diff(starts)))
        ws = self._prepare(net, rows, order is not None)
        state: Any = self._flat_state
        inner = state[1] if how is not None and how.in_chain else state
        step0 = inner.step if how is not None else 0
        n_batches = epochs * (starts.shape[0] - 1)
        lrs = self._learning_rates(how, step0, n_batches)
        moments = _moments(inner, how, ws.dtype)
        hyper, wide = _hyper(how, l2, ws.dtype)
        code = 0 if how is None else _OPTIMIZER_CODES[how.name]
        if how is not None and how.name == "momentum" and how.hyper["nesterov"]:
            code = NESTEROV
        if ws.fused:
            out = self._run_fused(
                net, ws, X, Y, sample_weight, order, starts, epochs, code, hyper, wide, lrs, step0, moments
            )
        else:
            out = self._run_split(
                net, ws, X, Y, sample_weight, order, starts, epochs, code, hyper, wide, lrs, step0, moments
            )
        updates = out.shape[0] - (0 if math.isfinite(out[-1, 0]) else 1) if how is not None else 0
        if how is not None:
            inner = inner._replace(step=step0 + updates)
            self._flat_state = (state[0], inner) if how.in_chain else inner
        ws.store(net)
        return Run(out, updates)

    def epoch_means(self, out: NDArray[np.float64], steps: int) -> NDArray[np.float64]:
        """Per epoch of ``steps`` rows of a run's ``out``: the weighted mean loss, then the mean
        ||dL/dW^(h)|| per layer, summed in order as :func:`deltaprop.train.fit` sums a Python epoch."""
        means: NDArray[np.float64] = self.fused.epoch_means(out, steps)
        return means

    def gradients(self) -> Grads:
        """dL/dW^(h), dL/db^(h) of the last batch: views of the engine's arrays, until its next run."""
        assert self.workspace is not None
        return self.workspace.grads

    @staticmethod
    def _learning_rates(how: Plan | None, step0: int, n_batches: int) -> NDArray[np.float64]:
        if how is None:
            return np.zeros(n_batches)
        lr = how.hyper["learning_rate"]
        if not callable(lr):
            return np.full(n_batches, float(lr))
        return np.array([get_lr(lr, step0 + i) for i in range(n_batches)], dtype=np.float64)

    def _run_fused(self, net, ws, X, Y, s, order, starts, epochs, code, hyper, wide, lrs, step0, moments):
        D = net.D
        weighted = s is not None
        batch = int(np.max(np.diff(starts)))
        threads = threads_for(batch, sum(w.size for w in net.W))
        rows = ws.reserve_fused(batch, order is not None, threads)
        layout = np.array(
            [D, rows, _OUTPUT_CODES[ws.output], code, order is not None, weighted]
            + ws.sizes
            + [_ACTIVATION_CODES[name] for name, _ in ws.hidden],
            dtype=np.int64,
        )
        out = np.empty((epochs * (starts.shape[0] - 1), 2 + D))
        sw = s if weighted else np.empty(0, ws.dtype)
        Xf, Yf = np.ascontiguousarray(X).reshape(-1), np.ascontiguousarray(Y).reshape(-1)
        index = np.empty(0, np.intp) if order is None else order
        if threads == 1:
            ran = self.fused.run_batches(
                Xf, Yf, sw, index, starts, epochs, ws.flat_p, ws.flat_g, moments[0], moments[1],
                layout, hyper, wide, lrs, step0, ws.work, out,
            )  # fmt: skip
            return out[:ran]
        ran = _threaded_run(
            threads, Xf, Yf, sw, index, starts, epochs, ws.flat_p, ws.flat_g, ws.gs, moments[0], moments[1],
            layout, hyper, wide, lrs, step0, ws.works, out,
        )  # fmt: skip
        return out[:ran]

    def _run_split(self, net, ws, X, Y, s, order, starts, epochs, code, hyper, wide, lrs, step0, moments):
        k = compiled("_kernels")
        n_batches = starts.shape[0] - 1
        out = np.empty((epochs * n_batches, 2 + net.D))
        for i in range(epochs * n_batches):
            start, stop = int(starts[i % n_batches]), int(starts[i % n_batches + 1])
            if order is None:
                Xb, Yb, sb = X[start:stop], Y[start:stop], None if s is None else s[start:stop]
            else:
                first = (i // n_batches) * int(starts[-1])
                index = order[first + start : first + stop]
                Xb = X.take(index, axis=0, out=ws.X_batch[: index.size], mode="clip")
                Yb = Y.take(index, axis=0, out=ws.Y_batch[: index.size], mode="clip")
                sb = None if s is None else s[index]
            out[i] = _split_step(k, ws, Xb, Yb, sb, float(hyper[2]))
            if not math.isfinite(out[i, 0]):
                return out[: i + 1]
            self.fused.clip(ws.flat_g, wide[3], hyper)
            self.fused.update(
                ws.flat_p,
                ws.flat_g,
                moments[0],
                moments[1],
                code,
                hyper,
                wide,
                lrs[i],
                step0 + i + 1,
                ws.n_weights,
            )
        return out


# The fused step runs on several threads (deltaprop.engine._threaded) as many as BLAS's
# limit allows (threadpoolctl's: the one setting for both, so a one-thread limit stays on
# one core), at most DELTAPROP_ENGINE_THREADS=N where that is set (1: one thread), and
# where every thread gets at least THREAD_ROWS rows of the batch and THREAD_WORK forward
# multiply-adds (rows x weights): below, starting the threads costs more than sharing the
# work saves.  Each thread's products run on one BLAS thread (docs/benchmarks.md, "Where
# the time goes": faster than BLAS's own threads on every workload measured).
THREADS_VARIABLE = "DELTAPROP_ENGINE_THREADS"
THREAD_ROWS = 16
THREAD_WORK = 200_000
_threads_started_in: list[int] = []  # the process that started the engine's threads


def threads_for(rows: int, weights: int) -> int:
    """How many threads the fused step of batches of ``rows`` rows runs on: up to BLAS's limit
    (and ``DELTAPROP_ENGINE_THREADS``, where set), where the work is large enough and a
    thread-safe threading layer is there; else 1."""
    asked = os.environ.get(THREADS_VARIABLE)
    limit = _one_blas_thread.limit()
    if asked is not None:
        try:
            wanted = int(asked)
        except ValueError:
            wanted = 0
        if wanted < 1:
            raise ValueError(
                f"{THREADS_VARIABLE} must be a whole number of threads, 1 or more. Got {asked!r} instead."
            ) from None
        limit = min(limit, wanted)
    if limit < 2:
        return 1
    import numba

    threads = min(
        limit,
        int(getattr(numba.config, "NUMBA_NUM_THREADS", 1)),
        rows // THREAD_ROWS,
        rows * weights // THREAD_WORK,
    )
    if threads < 2 or not _thread_safe_layer():
        return 1
    # GNU OpenMP's threads do not survive a fork: a forked child runs on one thread
    if _threads_started_in and _threads_started_in[0] != os.getpid():
        return 1
    return threads


def _thread_safe_layer() -> bool:
    """Whether numba will run parallel loops on TBB or OpenMP (safe from several Python threads),
    not its workqueue layer (which aborts the process when two threads launch at once)."""
    import numba

    layer = getattr(numba.config, "THREADING_LAYER", "default")
    if layer == "workqueue":
        return False
    for name in ("tbb", "omp"):
        if layer in (name, "default", "safe", "threadsafe"):
            try:
                importlib.import_module(f"numba.np.ufunc.{name}pool")
            except ImportError:
                continue
            return True
    return False


class _OneBlasThread:
    """BLAS on one thread while any threaded step runs, in any Python thread; the limit it had
    before the first of them started comes back when the last of them ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.limit_before = 1

    def __enter__(self) -> None:
        from deltaprop.engine import _blas

        with self.lock:
            if self.running == 0:
                self.limit_before = _blas.threads()
                _blas.set_threads(1)
            self.running += 1

    def limit(self) -> int:
        """BLAS's thread limit, as it was before the threaded steps running now set it to 1."""
        from deltaprop.engine import _blas

        with self.lock:
            return self.limit_before if self.running else _blas.threads()

    def __exit__(self, *exc: object) -> None:
        from deltaprop.engine import _blas

        with self.lock:
            self.running -= 1
            if self.running == 0:
                _blas.set_threads(self.limit_before)


_one_blas_thread = _OneBlasThread()


def _threaded_run(threads: int, *args: Any) -> int:
    """run_batches_threaded on ``threads`` threads, BLAS on one thread in each, its limit restored."""
    import numba

    kernel = compiled("_threaded").run_batches_threaded
    if not _threads_started_in:
        _threads_started_in.append(os.getpid())
    numba.set_num_threads(threads)
    with _one_blas_thread:
        return int(kernel(*args, threads))


def _moments(inner: Any, how: Plan | None, dtype: np.dtype[Any]) -> tuple[Array, Array]:
    """The optimiser state's flat vectors: (velocity, unused) or (m, v); empty ones where none."""
    empty = np.empty(0, dtype)
    if how is None or how.name == "gd":
        return empty, empty
    if how.name == "momentum":
        return _whole(inner.velocity), empty
    return _whole(inner.m), _whole(inner.v)


def _hyper(how: Plan | None, l2: float, dtype: np.dtype[Any]) -> tuple[Array, NDArray[np.float64]]:
    """The scalars of the step in the arrays' dtype, and those computed in float64."""
    hp = {} if how is None else how.hyper
    b1, b2 = hp.get("b1", 0.9), hp.get("b2", 0.999)
    hyper = np.array(
        [
            1.0,
            LEAKY_RELU_SLOPE,
            l2,
            hp.get("beta", 0.0),
            b1,
            1.0 - b1,
            b2,
            1.0 - b2,
            hp.get("eps", 1e-8),
            0.0,
        ],
        dtype=dtype,
    )
    wide = np.array([b1, b2, hp.get("weight_decay", 0.0), 0.0 if how is None else how.max_norm])
    return hyper, wide


# ------------------------------------------------------------------ the split step
def _split_step(k: ModuleType, ws: EngineWorkspace, X: Array, Y: Array, s: Array | None, l2: float) -> Array:
    """Forward, loss and backward of one batch into ``ws.grads``: (loss, weight, ||dL/dW^(h)|| ...)."""
    n = X.shape[0]
    dtype = ws.dtype.type
    W, b = ws.params
    D = len(W)
    a = [x[:n] for x in ws.a]
    z = [X, *(x[:n] for x in ws.z)]
    delta = [x[:n] for x in ws.delta]
    for h in range(1, D + 1):
        _matmul(z[h - 1], W[h - 1].T, a[h - 1])  # a^(h) = W^(h) z^(h-1) + b^(h)
        if h < D:
            name, act = ws.hidden[h - 1]
            _activate(k, name, act, a[h - 1], b[h - 1], z[h], dtype)
    c = np.full(n, 1.0 / n, dtype=ws.dtype) if s is None else s / s.sum()
    # The output unit and its loss by the reference's own ufuncs and row sums;
    # delta^(D) = c_i (f - Y) compiled.
    if ws.output == "softmax":
        per_sample = _softmax_cross_entropy_delta(k, ws, a[D - 1], b[D - 1], Y, c, delta[D - 1])
    else:
        k.bias(a[D - 1], b[D - 1])
        output = ws.output_unit
        per_sample = output.per_sample(a[D - 1], Y)
        k.output_delta(output.f(a[D - 1]), Y, c, delta[D - 1])
    penalty = 0.5 * l2 * float(sum(np.vdot(w, w) for w in W)) if l2 else 0.0
    result = np.empty(2 + D)
    result[0] = weighted_mean(per_sample, s) + penalty
    result[1] = n if s is None else float(s.sum())
    if not math.isfinite(result[0]):
        return result
    dW, db = ws.grads
    for h in reversed(range(1, D + 1)):
        _matmul(delta[h - 1].T, z[h - 1], dW[h - 1])  # sum_i delta^(h)_i z^(h-1)_i^T
        if l2:
            k.add_scaled(dW[h - 1].reshape(-1), W[h - 1].reshape(-1), dtype(l2))  # + lambda W^(h)
        result[1 + h] = math.sqrt(float(np.vdot(dW[h - 1], dW[h - 1])))
        k.column_sums(delta[h - 1], db[h - 1], False)  # sum_i delta^(h)_i, rows in order
        if h > 1:
            # delta^(h-1) = sigma'(a^(h-1)) o (W^(h))^T delta^(h)
            _matmul(delta[h - 1], W[h - 1], delta[h - 2])
            name, act = ws.hidden[h - 2]
            _times_derivative(k, name, act, a[h - 2], z[h - 1], delta[h - 2], dtype)
    return result


def _matmul(A: Array, B: Array, out: Array) -> None:
    """A @ B into ``out``; over a single index (one column of A) the outer product, as the reference."""
    if A.shape[1] == 1:
        np.multiply(A, B, out=out)
    else:
        np.matmul(A, B, out=out)


def _softmax_cross_entropy_delta(
    k: ModuleType, ws: EngineWorkspace, a: Array, b: Array, Y: Array, c: Array, delta: Array
) -> Array:
    """a += b, the per-sample cross-entropy, and delta^(D) = c_i (softmax(a) - Y) into ``delta``.

    The reference's softmax and cross-entropy with NumPy's (vectorised) exp and log; the
    sums over k are products with ones, as the reference's.
    """
    n = a.shape[0]
    m = ws.row_max[:n]
    k.bias_max_shift(a, b, m, delta)  # delta = a - m
    e = np.exp(delta, out=delta)
    ones = ws.ones
    s = e @ ones
    # logsumexp(a) sum_k Y_k - sum_k Y_k a_k, with logsumexp(a) = m + log s
    per_sample = (m + np.log(s)) * (Y @ ones) - (Y * a) @ ones
    k.softmax_delta(e, s, Y, c)
    return per_sample


def _activate(k: ModuleType, name: str | None, act: Any, a: Array, b: Array, z: Array, dtype: Any) -> None:
    """a += b, z = sigma(a), for a hidden layer."""
    if name == "relu":
        k.bias_relu(a, b, z)
        return
    if name == "leaky_relu":
        k.bias_leaky_relu(a, b, z, dtype(LEAKY_RELU_SLOPE))
        return
    k.bias(a, b)
    if name == "identity":
        np.copyto(z, a)
    elif name == "tanh":
        np.tanh(a, out=z)  # NumPy's vectorised tanh: numba's scalar one is slower
    else:
        np.copyto(z, act.f(a))  # sigmoid, softplus, gelu: the reference's ufuncs


def _times_derivative(
    k: ModuleType, name: str | None, act: Any, a: Array, z: Array, g: Array, dtype: Any
) -> None:
    """g o sigma'(a), in place in g."""
    if name == "sigmoid":
        k.times_sigmoid_df(z, g, dtype(1))
    elif name == "tanh":
        k.times_tanh_df(z, g, dtype(1))
    elif name == "relu":
        k.times_relu_df(a, g)
    elif name == "leaky_relu":
        k.times_leaky_relu_df(a, g, dtype(1), dtype(LEAKY_RELU_SLOPE))
    elif name != "identity":
        g *= act.df(a, z)  # softplus, gelu: sigma' needs exp or tanh, NumPy's
