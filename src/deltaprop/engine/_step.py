"""One training step of the engine: BLAS's products into arrays allocated once, compiled loops between them.

The step is the reference's (``Network.forward``, ``Network.cache_loss``,
``Network.backward``, the optimiser's ``update`` and ``apply_updates``), computed in
place: the parameters, their gradients and the optimiser state are flat vectors (every
W^(h), then every b^(h)); ``net.W`` and ``net.b`` are views of the parameter vector.
The order of the additions differs in places from NumPy's (sums over a row), so the
numbers agree with the reference to rounding, not to the bit; ``tests/test_engine.py``
bounds the difference after 50 steps.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from deltaprop._types import Array, Grads, Params, State
from deltaprop.activations import LEAKY_RELU_SLOPE, builtin_name
from deltaprop.engine._layout import FlatLayout, FlatState
from deltaprop.losses import builtin_output_name, weighted_mean
from deltaprop.network import Network
from deltaprop.optim import AdamState, GradientTransformation, MomentumState, StepState, map_params
from deltaprop.schedules import get_lr

# What the engine computes: every built-in activation and output unit, the named optimisers.
ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "gelu")
OUTPUTS = ("softmax", "identity", "sigmoid")
OPTIMIZERS = ("gd", "momentum", "adam", "adamw")
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_kernels: ModuleType | None = None


def kernels() -> ModuleType:
    """The compiled kernels, imported (and numba with them) on first use."""
    global _kernels  # a lazy import, not state of the numerics
    if _kernels is None:
        from deltaprop.engine import _kernels as compiled

        _kernels = compiled
    return _kernels


def supports(net: Network, optimizer: GradientTransformation) -> bool:
    """Whether the engine computes this network's steps with this optimiser.

    True for built-in activations and output units, float32 or float64, and an
    optimiser whose ``spec`` names gd, momentum (nesterov), adam or adamw; a user-defined
    activation or a chain of transformations runs elsewhere.

    >>> from deltaprop.activations import Activation
    >>> from deltaprop.optim import adam, chain
    >>> supports(Network([2, 3, 1]), adam(0.01)), supports(Network([2, 3, 1]), chain(adam(0.01)))
    (True, False)
    """
    spec = optimizer.spec
    return (
        isinstance(spec, tuple)
        and len(spec) == 2
        and spec[0] in OPTIMIZERS
        and net.dtype in DTYPES
        and builtin_output_name(net.output) in OUTPUTS
        and all(builtin_name(act) in ACTIVATIONS for act in net.activations)
    )


class EngineWorkspace(FlatLayout):
    """The engine's arrays: flat parameters, gradients and state; a^(h), z^(h), delta^(h) per layer."""

    def __init__(self, net: Network, rows: int) -> None:
        super().__init__(net)
        self.widths = net.sizes[1:]
        self.flat_grads = self.flatten(net.params)
        self.grads = self.unflatten(self.flat_grads)
        self.rows_allocated = 0
        self._scale: tuple[int, Array] | None = None
        self.ones = np.ones(self.widths[-1], dtype=self.dtype)
        self.output = builtin_output_name(net.output)
        self.hidden = [(builtin_name(act), act) for act in net.activations]
        self.reserve(rows)

    def reserve(self, rows: int) -> None:
        """Make room for batches of ``rows`` samples (arrays are reallocated only to grow)."""
        if rows <= self.rows_allocated:
            return
        self.rows_allocated = rows
        self.a = [np.empty((rows, M), self.dtype) for M in self.widths]
        self.z = [np.empty((rows, M), self.dtype) for M in self.widths[:-1]]
        self.delta = [np.empty((rows, M), self.dtype) for M in self.widths]
        self.row_max = np.empty(rows, self.dtype)

    def scale(self, n: int, sample_weight: Array | None) -> Array:
        """c_i = 1/n, or s_i / sum s: delta^(D) is scaled so that sums over samples are means."""
        if sample_weight is not None:
            return sample_weight / sample_weight.sum()
        if self._scale is None or self._scale[0] != n:
            self._scale = (n, np.full(n, 1.0 / n, dtype=self.dtype))
        return self._scale[1]


def _flat(p: Params) -> Array:
    """The whole flat vector of which ``Params([all W], [all b])`` are the two parts."""
    base = p.W[0].base
    assert base is not None and base.size == p.W[0].size + p.b[0].size
    return base


class Engine(FlatState):
    """What the engine's steps keep between them: the arrays and the optimiser state (flat)."""

    workspace: EngineWorkspace | None

    def __init__(self, state: State) -> None:
        super().__init__(state)
        self.k = kernels()

    def _prepare(self, net: Network, rows: int) -> EngineWorkspace:
        ws = self.workspace
        if ws is None:
            ws = self.workspace = EngineWorkspace(net, rows)
        ws.reserve(rows)
        if not ws.is_bound(net):
            ws.bind(net)
        if self._flat_state is None:
            self._flat_state = map_params(self._state, ws.flatten)
        return ws

    def step(
        self,
        net: Network,
        optimizer: GradientTransformation,
        X: Array,
        Y: Array,
        l2: float,
        sample_weight: Array | None,
    ) -> tuple[float, Grads | None]:
        """Forward, loss, backward, update: ``(loss, grads)``, or ``(loss, None)`` unchanged if not finite."""
        k = self.k
        n = X.shape[0]
        ws = self._prepare(net, n)
        dtype = ws.dtype.type
        D = net.D
        W, b = net.W, net.b
        a = [x[:n] for x in ws.a]
        z = [X, *(x[:n] for x in ws.z)]
        delta = [x[:n] for x in ws.delta]
        for h in range(1, D + 1):
            _matmul(z[h - 1], W[h - 1].T, a[h - 1])  # a^(h) = W^(h) z^(h-1) + b^(h)
            if h < D:
                name, act = ws.hidden[h - 1]
                _activate(k, name, act, a[h - 1], b[h - 1], z[h], dtype)
        c = ws.scale(n, sample_weight)
        # The output unit and its loss by the reference's own ufuncs and row sums (the
        # numbers of Network.cache_loss, to the bit); delta^(D) = c_i (f - Y) compiled.
        if ws.output == "softmax":
            per_sample = _softmax_cross_entropy_delta(k, ws, a[D - 1], b[D - 1], Y, c, delta[D - 1])
        else:
            k.bias(a[D - 1], b[D - 1])
            per_sample = net.output.per_sample(a[D - 1], Y)
            k.output_delta(net.output.f(a[D - 1]), Y, c, delta[D - 1])
        loss = weighted_mean(per_sample, sample_weight) + net.penalty(l2)
        if not math.isfinite(loss):
            return loss, None
        dW, db = ws.grads
        for h in reversed(range(1, D + 1)):
            _matmul(delta[h - 1].T, z[h - 1], dW[h - 1])  # sum_i delta^(h)_i z^(h-1)_i^T
            if db[h - 1].shape[0] == 1:  # one unit: NumPy sums the column pairwise; so does the reference
                np.add.reduce(delta[h - 1], axis=0, out=db[h - 1])
            else:
                k.column_sums(delta[h - 1], db[h - 1])  # sum_i delta^(h)_i, rows in order
            if h > 1:
                # delta^(h-1) = sigma'(a^(h-1)) o (W^(h))^T delta^(h)
                _matmul(delta[h - 1], W[h - 1], delta[h - 2])
                name, act = ws.hidden[h - 2]
                _times_derivative(k, name, act, a[h - 2], z[h - 1], delta[h - 2], dtype)
        assert ws.flat_params is not None
        g = _flat(ws.flat_grads)
        p = _flat(ws.flat_params)
        if l2:
            k.add_scaled(g[: ws.n_weights], p[: ws.n_weights], dtype(l2))  # + lambda W, weights only
        self._flat_state = _update(k, optimizer, self._flat_state, p, g, ws.n_weights, dtype)
        return loss, ws.grads


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

    The numbers of the reference's softmax and cross-entropy to the bit: exp is NumPy's
    (vectorised), the sums over k are the same products with ones.
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
    elif name == "leaky_relu":
        k.bias_leaky_relu(a, b, z, dtype(LEAKY_RELU_SLOPE))
    else:
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
    if name == "relu":
        k.times_relu_df(a, g)
    elif name == "leaky_relu":
        k.times_leaky_relu_df(a, g, dtype(1), dtype(LEAKY_RELU_SLOPE))
    elif name == "sigmoid":
        k.times_sigmoid_df(z, g, dtype(1))
    elif name == "tanh":
        k.times_tanh_df(z, g, dtype(1))
    elif name != "identity":
        g *= act.df(a, z)  # softplus, gelu: sigma' needs exp or tanh, NumPy's


def _update(
    k: ModuleType,
    optimizer: GradientTransformation,
    state: Any,
    p: Array,
    g: Array,
    n_weights: int,
    dtype: Any,
) -> State:
    """The optimiser's update and apply_updates, one compiled loop over the flat vectors."""
    assert optimizer.spec is not None
    name, hp = optimizer.spec
    lr = get_lr(hp["learning_rate"], state.step)
    if name == "gd":
        k.gd_step(p, g, dtype(-lr))
        return StepState(state.step + 1)
    if name == "momentum":
        k.momentum_step(p, g, _flat(state.velocity), dtype(lr), dtype(hp["beta"]), bool(hp["nesterov"]))
        return MomentumState(state.step + 1, state.velocity)
    b1, b2 = hp["b1"], hp["b2"]
    t = state.step + 1
    alpha = lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
    decay = lr * hp["weight_decay"] if name == "adamw" else 0.0
    k.adam_step(
        p, g, _flat(state.m), _flat(state.v),
        dtype(-alpha), dtype(b1), dtype(1.0 - b1), dtype(b2), dtype(1.0 - b2), dtype(hp["eps"]),
        dtype(decay), n_weights if name == "adamw" else 0,
    )  # fmt: skip
    return AdamState(t, state.m, state.v)
