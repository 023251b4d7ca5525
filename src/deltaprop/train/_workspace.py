"""The training loop's preallocated arrays: the one place where deltaprop reuses memory.

:meth:`Network.forward <deltaprop.network.Network.forward>` and ``backward`` are pure
and allocate their results.  The training loop (:class:`deltaprop.train.Trainer`)
passes a :class:`Workspace` to the same code instead: the arrays of every step are
then written into memory allocated once, and the network's parameters, their
gradients and the optimiser's state live in flat vectors that an optimiser updates
in a few array operations.  The numbers are the same, bit for bit.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from deltaprop._types import Array, Params
from deltaprop.network import Network, _Buffers


class Workspace:
    """The training loop's preallocated arrays: the one place where deltaprop reuses memory.

    A training step computes arrays of the same shapes on every batch.  A Workspace
    holds them, allocated once for batches of up to ``rows`` samples (a smaller batch
    uses the first rows), so that the hot path of :class:`deltaprop.train.Trainer`
    allocates nothing large.  Passed to ``Network._forward`` / ``Network._backward``,
    it changes where the results are written, never their values:

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
    >>> grads = net._backward(net._forward(X, ws), Y, 0.0, None, ws)
    >>> pure = net.backward(net.forward(X), Y)
    >>> all(np.array_equal(g, p) for g, p in zip(grads.W + grads.b, pure.W + pure.b))
    True
    >>> np.shares_memory(grads.W[0], ws.flat_grads.W[0])
    True
    """

    def __init__(self, net: Network, rows: int) -> None:
        self.dtype = net.dtype
        self.weight_shapes = [w.shape for w in net.W]
        self.bias_shapes = [v.shape for v in net.b]
        self.widths = net.sizes[1:]
        self.flat_grads = self.flatten(net.params)
        self.grads = self.unflatten(self.flat_grads)
        self.flat_params: Params | None = None
        self.rows_allocated = 0
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

    def flatten(self, tree: Params) -> Params:
        """A copy of parameter-shaped arrays in the flat layout: ``Params([all W], [all b])``."""
        weights = np.concatenate([np.ravel(w) for w in tree.W])
        flat = np.concatenate([weights, *(np.ravel(v) for v in tree.b)]).astype(self.dtype, copy=False)
        return Params([flat[: weights.size]], [flat[weights.size :]])

    def unflatten(self, flat: Params) -> Params:
        """Per-layer views of a flat ``Params([all W], [all b])``: shapes of the network."""
        return Params(_views(flat.W[0], self.weight_shapes), _views(flat.b[0], self.bias_shapes))

    def bind(self, net: Network) -> None:
        """Move ``net``'s parameters into a flat vector (``flat_params``); W and b become its views."""
        self.flat_params = self.flatten(net.params)
        net.params = self.unflatten(self.flat_params)
        self._bound = (list(net.W), list(net.b))

    def is_bound(self, net: Network) -> bool:
        """Whether ``net``'s W and b are still the views :meth:`bind` gave it."""
        if self.flat_params is None:
            return False
        W, b = self._bound
        return all(map(operator.is_, net.W, W)) and all(map(operator.is_, net.b, b))


def _views(flat: Array, shapes: Sequence[tuple[int, ...]]) -> list[Array]:
    views = []
    start = 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[start : start + size].reshape(shape))
        start += size
    return views
