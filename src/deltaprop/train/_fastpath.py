"""The training loop's fast path: the lecture's step in memory allocated once, updated in place.

The lecture's modules (:mod:`~deltaprop.network`, :mod:`~deltaprop.activations`,
:mod:`~deltaprop.losses`, :mod:`~deltaprop.optim`) are the reference: pure, and
allocating their results.  :class:`deltaprop.train.Trainer` computes the same step
here, with the same operations in the same order, so bit for bit the same numbers,
but without allocating anything large:

- a :class:`Workspace` holds every array a step writes -- a^(h), z^(h), the
  backpropagated errors, the gradients -- and the network's parameters, their
  gradients and the optimiser's state as flat vectors, all parameters in one;
- :func:`forward`, :func:`forward_loss` and :func:`backward` are
  ``Network._forward``, ``Network.cache_loss`` and ``Network._backward`` written into
  those arrays, with in-place kernels for the built-in activations (looked up by
  name; a user-defined activation runs its own ``f`` and ``df``) and softmax fused
  with its cross-entropy;
- :func:`in_place_update` gives the in-place step of a built-in optimiser, found by
  its ``spec``; a transformation without one is run by ``update`` and
  ``apply_updates`` instead.

Nothing outside :mod:`deltaprop.train` uses this module.  The Trainer runs the
compiled engine (:mod:`deltaprop.engine`) where it covers the network and optimiser;
this path computes the rest (user-defined activations or output units, ``chain``,
clipping and other transformations) and stays until the engine covers those too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from deltaprop._types import Array, Grads, Params, State
from deltaprop.activations import Activation, builtin_name
from deltaprop.engine import FlatLayout, FlatState
from deltaprop.losses import builtin_output_name, output_delta, weighted_mean
from deltaprop.network import Cache, Network
from deltaprop.optim import (
    AdamState,
    GradientTransformation,
    MomentumState,
    StepState,
    apply_updates,
    map_params,
)
from deltaprop.schedules import LearningRate, get_lr

InPlaceUpdate = Callable[[Grads, State, Params], State]


# ------------------------------------------------------------------ the arrays
class _Buffers(NamedTuple):
    """Where one pass writes: arrays of a Workspace."""

    a: Sequence[Array]  # a^(h), h = 1..D
    z: Sequence[Array]  # z^(h), hidden h = 1..D-1
    back: Sequence[Array]  # (W^(h+1))^T delta^(h+1), then delta^(h), hidden h
    dW: Sequence[Array]
    db: Sequence[Array]


class Workspace(FlatLayout):
    """The NumPy fast path's preallocated arrays, in the flat layout the engine shares.

    A training step computes arrays of the same shapes on every batch.  A Workspace
    holds them, allocated once for batches of up to ``rows`` samples (a smaller batch
    uses the first rows), so that the hot path of :class:`deltaprop.train.Trainer`
    allocates nothing large.  Passed to :func:`forward` and :func:`backward`, it
    changes where the results are written, never their values:

    ======================  ==========================================================
    ``a[h-1]``              a^(h), (rows, M_h)
    ``z[h-1]``              z^(h) of a hidden layer, (rows, M_h)
    ``back[h-1]``           (W^(h+1))^T delta^(h+1), then delta^(h) in place, hidden h
    ``grads``               dL/dW^(h), dL/db^(h): views of the flat vector ``flat_grads``
    ======================  ==========================================================

    The flat layout -- every W^(h), then every b^(h), in one vector -- is what lets an
    optimiser update all parameters in a few array operations: :meth:`flatten` packs
    parameter-shaped arrays into it as ``Params([all W], [all b])``, :meth:`unflatten`
    gives the per-layer views back, and :meth:`bind` moves a network's own parameters
    into it.  Arrays that a pass returns live here and are overwritten by the next one.

    Examples
    --------
    >>> import numpy as np
    >>> net = Network([3, 4, 2], random_state=0)
    >>> X, Y = np.ones((5, 3)), np.eye(2)[[0, 1, 0, 1, 0]]
    >>> ws = Workspace(net, rows=8)
    >>> grads = backward(net, forward(net, X, ws), Y, 0.0, None, ws)
    >>> pure = net.backward(net.forward(X), Y)
    >>> all(np.array_equal(g, p) for g, p in zip(grads.W + grads.b, pure.W + pure.b))
    True
    >>> np.shares_memory(grads.W[0], ws.flat_grads.W[0])
    True
    """

    def __init__(self, net: Network, rows: int) -> None:
        super().__init__(net)
        self.widths = net.sizes[1:]
        self.flat_grads = self.flatten(net.params)
        self.grads = self.unflatten(self.flat_grads)
        self.rows_allocated = 0
        self._ones: dict[int, Array] = {}
        self.reserve(rows)

    def reserve(self, rows: int) -> None:
        """Make room for batches of ``rows`` samples (arrays are reallocated only to grow)."""
        if rows <= self.rows_allocated:
            return
        self.rows_allocated = rows
        hidden = self.widths[:-1]
        self._a = [np.empty((rows, M), self.dtype) for M in self.widths]
        self._z = [np.empty((rows, M), self.dtype) for M in hidden]
        self._back = [np.empty((rows, M), self.dtype) for M in hidden]
        self._full = _Buffers(self._a, self._z, self._back, self.grads.W, self.grads.b)

    def rows(self, n: int) -> _Buffers:
        """The arrays for a batch of ``n`` samples: views of the first ``n`` rows."""
        if n == self.rows_allocated:
            return self._full
        if n > self.rows_allocated:
            raise ValueError(f"This Workspace holds {self.rows_allocated} rows; the batch has {n}.")
        return _Buffers(
            [x[:n] for x in self._a], [x[:n] for x in self._z], [x[:n] for x in self._back], *self._full[3:]
        )

    def ones(self, width: int) -> Array:
        """A read-only vector of ``width`` ones of the workspace's dtype, made once per width."""
        ones = self._ones.get(width)
        if ones is None:
            ones = np.ones(width, dtype=self.dtype)
            ones.flags.writeable = False
            self._ones[width] = ones
        return ones


# ------------------------------------------------------------ products, sums
def _matmul(A: Array, B: Array, out: Array | None = None) -> Array:
    """A @ B, into ``out`` if given.

    A product over a single index (A has one column: a batch of one sample, a layer of
    width 1, or a single output) is an outer product, one multiplication per entry;
    NumPy's broadcasting multiply computes it several times faster than BLAS does, and
    to the same bits.
    """
    if A.shape[1] == 1:
        return np.multiply(A, B, out=out)
    return np.matmul(A, B, out=out)


# NumPy reduces along axis=1 one row at a time (about 60 ns a row), which dominates the
# short rows of an output layer (K = 5 or 10 classes, thousands of samples).  The two
# helpers below give the same numbers as the reference's (losses._softmax and
# losses._cross_entropy) faster: the maximum as a running maximum over the K columns,
# the sum as the same product with ones, the ones made once.


def _row_max(a: Array) -> Array:
    """max_k a_ik, shape (n,)."""
    n, K = a.shape
    if K > 32 or n < 8 * K:  # long rows or few samples: NumPy's own reduction is faster
        return a.max(axis=1)
    m = a[:, 0].copy()
    for k in range(1, K):
        np.maximum(m, a[:, k], out=m)
    return m


def _row_sum(a: Array, ones: Array) -> Array:
    """sum_k a_ik, shape (n,), given a vector of K ones of a's dtype."""
    return a @ ones


def _softmax_and_cross_entropy(a: Array, Y: Array, ones: Array) -> tuple[Array, Array]:
    """softmax(a) and the per-sample cross-entropy from one computation on the logits."""
    # With m = max_k a_k and s = sum_k e^{a_k - m}: softmax(a) = e^{a - m} / s and
    # logsumexp(a) = m + log s, so f and the loss share m and s.
    m = _row_max(a)
    e = np.exp(a - m[:, None])
    s = _row_sum(e, ones)
    per_sample = (m + np.log(s)) * _row_sum(Y, ones) - _row_sum(Y * a, ones)
    e /= s[:, None]
    return e, per_sample


# Output units whose f(X) and per-sample loss are computed together, by built-in name.
_FUSED = {"softmax": _softmax_and_cross_entropy}


# ------------------------------------------------------------ activations
# In-place kernels of built-in activations, by name; each gives exactly what the
# activation's f and df give.  f(a) into ``out``:
def _identity_out(a: Array, out: Array) -> Array:
    np.copyto(out, a)
    return out


def _tanh_out(a: Array, out: Array) -> Array:
    return np.tanh(a, out=out)


def _relu_out(a: Array, out: Array) -> Array:
    return np.maximum(a, 0, out=out)


# g o sigma'(a), in place in g:
def _identity_mul_df(a: Array, z: Array, g: Array) -> Array:
    return g  # g * 1


def _sigmoid_mul_df(a: Array, z: Array, g: Array) -> Array:
    df = 1.0 - z
    df *= z
    g *= df
    return g


def _tanh_mul_df(a: Array, z: Array, g: Array) -> Array:
    df = z * z
    np.subtract(1.0, df, out=df)
    g *= df
    return g


def _relu_mul_df(a: Array, z: Array, g: Array) -> Array:
    # The mask a > 0 multiplies g directly: no float copy of sigma' is made.
    g *= a > 0
    return g


_F_OUT: dict[str, Callable[[Array, Array], Array]] = {
    "identity": _identity_out,
    "tanh": _tanh_out,
    "relu": _relu_out,
}
_MUL_DF: dict[str, Callable[[Array, Array, Array], Array]] = {
    "identity": _identity_mul_df,
    "sigmoid": _sigmoid_mul_df,
    "tanh": _tanh_mul_df,
    "relu": _relu_mul_df,
}


def activate(act: Activation, a: Array, out: Array | None = None) -> Array:
    """z = sigma(a): written into ``out`` where a built-in kernel does that, else ``act.f(a)``.

    >>> import numpy as np
    >>> from deltaprop.activations import relu
    >>> out = np.empty(3)
    >>> activate(relu, np.array([-1.0, 0.0, 2.0]), out) is out
    True
    """
    kernel = _F_OUT.get(builtin_name(act) or "")
    if out is None or kernel is None:
        return act.f(a)
    return kernel(a, out)


def times_derivative(act: Activation, a: Array, z: Array, g: Array) -> Array:
    """g o sigma'(a), computed in place in ``g`` (which the caller gives up).

    A built-in kernel where there is one, else ``g *= act.df(a, z)``; both give the same
    numbers as ``act.df(a, z) * g``.

    >>> import numpy as np
    >>> from deltaprop.activations import relu
    >>> a = np.array([-1.0, 0.0, 2.0])
    >>> times_derivative(relu, a, relu.f(a), np.array([5.0, 5.0, 5.0]))
    array([0., 0., 5.])
    """
    kernel = _MUL_DF.get(builtin_name(act) or "")
    if kernel is not None:
        return kernel(a, z, g)
    g *= act.df(a, z)
    return g


# ------------------------------------------------------- forward and backward
def forward(net: Network, X: Array, workspace: Workspace, output: bool = True) -> Cache:
    """``net._forward(X)`` into ``workspace``'s arrays.

    With ``output=False`` it stops at the logits a^(D): z^(D) = f(X) is left out.
    """
    D = net.D
    out = workspace.rows(X.shape[0])
    a: list[Array] = []
    z: list[Array] = [X]  # z^(0) = X
    for h in range(1, D + 1):
        # a^(h) = W^(h) z^(h-1) + b^(h), rows are samples
        a_h = _matmul(z[h - 1], net.W[h - 1].T, out.a[h - 1])
        a_h += net.b[h - 1]
        a.append(a_h)
        if h < D:
            z.append(activate(net.activations[h - 1], a_h, out.z[h - 1]))  # z^(h) = sigma(a^(h))
        elif output:
            z.append(net.output.f(a_h))  # z^(D) = f(X)
    return Cache(a, z)


def forward_loss(
    net: Network, X: Array, Y: Array, l2: float, sample_weight: Array | None, workspace: Workspace
) -> tuple[Cache, float]:
    """The forward pass and its loss, as ``net._forward`` and ``net.cache_loss`` give them.

    Where the output unit is fused with its loss (softmax), f(X) and the per-sample
    losses come from one computation on the logits a^(D).
    """
    fused = _FUSED.get(builtin_output_name(net.output) or "")
    if fused is None:
        cache = forward(net, X, workspace)
        return cache, net.cache_loss(cache, Y, l2, sample_weight)
    cache = forward(net, X, workspace, output=False)
    f, per_sample = fused(cache.a[-1], Y, workspace.ones(Y.shape[1]))
    cache.z.append(f)  # z^(D) = f(X)
    return cache, weighted_mean(per_sample, sample_weight) + net.penalty(l2)


def backward(
    net: Network, cache: Cache, Y: Array, l2: float, sample_weight: Array | None, workspace: Workspace
) -> Grads:
    """``net._backward(cache, Y, l2, sample_weight)`` into ``workspace``'s arrays."""
    D = net.D
    a, z = cache
    out = workspace.rows(Y.shape[0])
    # delta^(D) = f(X) - Y, scaled by 1/n (or s_i / sum s) so that the sums over
    # samples below are the means of L_S.
    delta = output_delta(z[D], Y)
    if sample_weight is None:
        delta *= 1.0 / Y.shape[0]
    else:
        delta *= (sample_weight / sample_weight.sum())[:, None]
    dW: list[Array] = [np.empty(0)] * D
    db: list[Array] = [np.empty(0)] * D
    for h in reversed(range(1, D + 1)):
        # sum_i delta^(h)_i z^(h-1)_i^T
        dW[h - 1] = _matmul(delta.T, z[h - 1], out.dW[h - 1])
        if l2:
            dW[h - 1] += l2 * net.W[h - 1]  # + lambda W^(h): the penalty, weights only
        db[h - 1] = np.add.reduce(delta, axis=0, out=out.db[h - 1])  # sum_i delta^(h)_i
        if h > 1:
            # delta^(h-1) = sigma'(a^(h-1)) o (W^(h))^T delta^(h)
            back = _matmul(delta, net.W[h - 1], out.back[h - 2])
            delta = times_derivative(net.activations[h - 2], a[h - 2], z[h - 1], back)
    return Grads(dW, db)


# ---------------------------------------------------------------- optimisers
# Elements per block of the in-place steps: a block of each array a step touches
# (up to six of them for Adam) fits in a core's L2 cache, and the block is long
# enough that NumPy's per-call overhead stays small next to the work.
BLOCK = 1 << 15


def _leaves(tree: Params) -> list[NDArray[Any]]:
    return [*tree.W, *tree.b]


def _blocks(*leaves: NDArray[Any]) -> Sequence[tuple[NDArray[Any], ...]]:
    """Aligned 1-D views of equal-shaped arrays, ``BLOCK`` elements at a time.

    Element-wise operations give the same numbers block by block as on the whole
    arrays.  Arrays of at most ``BLOCK`` elements, or not all C-contiguous, come back
    whole, as one block.
    """
    size = leaves[0].size
    if size <= BLOCK or not all(leaf.flags.c_contiguous for leaf in leaves):
        return (leaves,)
    flat = [leaf.reshape(-1) for leaf in leaves]  # views, as the arrays are contiguous
    return [tuple(x[start : start + BLOCK] for x in flat) for start in range(0, size, BLOCK)]


# Each in-place step adds the updates to ``params``, writes the new moments into the
# arrays of ``state`` and returns the state with its step advanced: the operations of
# the optimiser's ``update`` followed by ``apply_updates``, in order, so bit for bit
# what they give.  It works leaf by leaf, so it accepts any arrays of matching
# shapes, e.g. all parameters as one flat vector; every operation of a step runs on
# one block of the arrays before the next block, while it is in the core's cache.
def _gd(learning_rate: LearningRate) -> InPlaceUpdate:
    def apply_in_place(grads: Grads, state: StepState, params: Params) -> StepState:
        lr = get_lr(learning_rate, state.step)
        for leaves in zip(_leaves(params), _leaves(grads), strict=True):
            for p, g in _blocks(*leaves):
                p += np.multiply(g, -lr)
        return StepState(state.step + 1)

    return apply_in_place


def _momentum(learning_rate: LearningRate, beta: float, nesterov: bool) -> InPlaceUpdate:
    def apply_in_place(grads: Grads, state: MomentumState, params: Params) -> MomentumState:
        lr = get_lr(learning_rate, state.step)
        for leaves in zip(_leaves(params), _leaves(grads), _leaves(state.velocity), strict=True):
            for p, g, v in _blocks(*leaves):
                step = np.multiply(g, lr)
                v *= beta
                v -= step  # v_{t+1} = beta v_t - eta g
                if nesterov:
                    u = np.multiply(v, beta)
                    u -= step  # u = beta v_{t+1} - eta g
                    p += u
                else:
                    p += v
        return MomentumState(state.step + 1, state.velocity)

    return apply_in_place


def _adam(learning_rate: LearningRate, b1: float, b2: float, eps: float) -> InPlaceUpdate:
    def apply_in_place(grads: Grads, state: AdamState, params: Params) -> AdamState:
        return _adam_in_place(grads, state, params, get_lr(learning_rate, state.step), b1, b2, eps, None)

    return apply_in_place


def _adamw(
    learning_rate: LearningRate, b1: float, b2: float, eps: float, weight_decay: float
) -> InPlaceUpdate:
    def apply_in_place(grads: Grads, state: AdamState, params: Params) -> AdamState:
        lr = get_lr(learning_rate, state.step)
        return _adam_in_place(grads, state, params, lr, b1, b2, eps, lr * weight_decay)

    return apply_in_place


def _adam_in_place(
    grads: Grads,
    state: AdamState,
    params: Params,
    lr: float,
    b1: float,
    b2: float,
    eps: float,
    decay: float | None,
) -> AdamState:
    """adam's (decay None) and adamw's step in place: the operations of their ``update``, in order."""
    t = state.step + 1
    alpha = lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
    n_weights = len(params.W)
    leaves = zip(_leaves(params), _leaves(grads), _leaves(state.m), _leaves(state.v), strict=True)
    for i, arrays in enumerate(leaves):
        for p, g, m, v in _blocks(*arrays):
            m *= b1
            m += np.multiply(g, 1.0 - b1)  # m_t = b1 m_{t-1} + (1 - b1) g
            g2 = np.multiply(g, g)
            g2 *= 1.0 - b2
            v *= b2
            v += g2  # v_t = b2 v_{t-1} + (1 - b2) g^2
            denominator = np.sqrt(v)
            denominator += eps
            u = np.multiply(m, -alpha)
            u /= denominator  # u_t = -alpha_t m_t / (sqrt(v_t) + eps)
            if decay is not None and i < n_weights:
                u -= np.multiply(p, decay)  # adamw: - eta weight_decay W, weights only
            p += u
    return AdamState(t, state.m, state.v)


# The in-place steps of the built-in optimisers, by the name in their spec.
_IN_PLACE: dict[str, Callable[..., InPlaceUpdate]] = {
    "gd": _gd,
    "momentum": _momentum,
    "adam": _adam,
    "adamw": _adamw,
}


def in_place_update(transformation: GradientTransformation) -> InPlaceUpdate | None:
    """``apply_in_place(grads, state, params) -> state`` for a built-in optimiser, else None.

    Found by ``transformation.spec``; a transformation without one (:func:`chain`,
    :func:`clip_by_global_norm`, your own) has no in-place step.

    >>> from deltaprop.optim import chain, gd
    >>> in_place_update(gd(0.1)) is not None, in_place_update(chain(gd(0.1)))
    (True, None)
    """
    spec = transformation.spec
    if spec is None:
        return None
    if not (
        isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], dict)
    ):
        raise TypeError(
            "A GradientTransformation's spec must be None or (name, hyper_parameters), a str and a "
            f"dict. Got {spec!r} instead; the third field is no longer an in-place update."
        )
    name, hyper_parameters = spec
    make = _IN_PLACE.get(name)
    return None if make is None else make(**hyper_parameters)


# ------------------------------------------------------------------ the step
class FastPath(FlatState):
    """What the Trainer's steps keep between them: the Workspace and the optimiser state.

    With an optimiser that has an in-place step (every built-in one), the network's W
    and b and the optimiser state are views of flat vectors of the Workspace that each
    step updates in place; otherwise the step is ``update`` + ``apply_updates``.
    ``state`` is the optimiser state in its own structure, either way.
    """

    workspace: Workspace | None

    def __init__(self, state: State) -> None:
        super().__init__(state)
        self._update_of: tuple[GradientTransformation, InPlaceUpdate | None] | None = None

    def _in_place(self, optimizer: GradientTransformation) -> InPlaceUpdate | None:
        if self._update_of is None or self._update_of[0] is not optimizer:
            self._update_of = (optimizer, in_place_update(optimizer))
        return self._update_of[1]

    def step(
        self,
        net: Network,
        optimizer: GradientTransformation,
        X: Array,
        Y: Array,
        l2: float,
        sample_weight: Array | None,
    ) -> tuple[float, Grads | None]:
        """Forward, loss, backward, update on validated arrays: ``(loss, grads)``.

        A loss that is not finite stops the step before the backward pass, with the
        network unchanged: ``(loss, None)``.  The gradients live in the workspace until
        the next step.
        """
        apply_in_place = self._in_place(optimizer)
        workspace = self._workspace(net, X.shape[0], apply_in_place is not None)
        cache, loss = forward_loss(net, X, Y, l2, sample_weight, workspace)
        if not math.isfinite(loss):
            return loss, None
        grads = backward(net, cache, Y, l2, sample_weight, workspace)
        if apply_in_place is None:
            updates, self._state = optimizer.update(grads, self._state, net.params)
            net.params = apply_updates(net.params, updates)
        else:
            assert workspace.flat_params is not None
            self._flat_state = apply_in_place(workspace.flat_grads, self._flat_state, workspace.flat_params)
        return loss, grads

    def _workspace(self, net: Network, rows: int, in_place: bool) -> Workspace:
        """The workspace for a batch of ``rows`` samples, with the network and state moved in if needed."""
        workspace = self.workspace
        if workspace is None:
            workspace = self.workspace = Workspace(net, rows)
        workspace.reserve(rows)
        if in_place:
            if not workspace.is_bound(net):  # first step, or net.params was replaced
                workspace.bind(net)
            if self._flat_state is None:  # first step, or state was replaced
                self._flat_state = map_params(self._state, workspace.flatten)
        return workspace
