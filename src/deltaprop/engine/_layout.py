"""The engine's flat layout: every W^(h), then every b^(h), in one vector.

``Params([all W], [all b])`` holds its two parts, and :meth:`FlatLayout.unflatten` gives
the per-layer views back, so one compiled loop over the vector updates every parameter
(and every moment of the optimiser's state).  With ``transpose_first`` (the fused step)
W^(1) is kept as its transpose, M_0 x M_1 row by row: the first layer's forward product
z W^T is then BLAS's ``A B`` kernel, faster than its ``A B^T`` on this kind of machine
(W1's 128 x 784 x 256: 541 against 646 µs), and the first layer has no backward
product, which would want the other order.  Its view is W^(1) all the same (a transposed
view), so whoever holds the views sees the network's shapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from deltaprop._types import Array, Params, State
from deltaprop.network import Network
from deltaprop.optim import map_params


class FlatLayout:
    """Parameter-shaped arrays of one network as views of one flat vector."""

    def __init__(self, net: Network, transpose_first: bool = False) -> None:
        self.dtype = net.dtype
        self.weight_shapes = [w.shape for w in net.W]
        self.bias_shapes = [v.shape for v in net.b]
        self.n_weights = sum(math.prod(s) for s in self.weight_shapes)
        self.transpose_first = transpose_first

    def flatten(self, tree: Params) -> Params:
        """A copy of parameter-shaped arrays in the flat layout: ``Params([all W], [all b])``."""
        n_biases = sum(math.prod(s) for s in self.bias_shapes)
        flat = np.empty(self.n_weights + n_biases, self.dtype)
        out = self.unflatten(Params([flat[: self.n_weights]], [flat[self.n_weights :]]))
        for mine, theirs in zip(out.W + out.b, tree.W + tree.b, strict=True):
            np.copyto(mine, theirs, casting="unsafe")  # into the views: no temporary copy
        return Params([flat[: self.n_weights]], [flat[self.n_weights :]])

    def unflatten(self, flat: Params) -> Params:
        """Per-layer views of a flat ``Params([all W], [all b])``: shapes of the network."""
        if not self.transpose_first:
            return Params(_views(flat.W[0], self.weight_shapes), _views(flat.b[0], self.bias_shapes))
        (rows, columns), *rest = self.weight_shapes
        weights = _views(flat.W[0], [(columns, rows), *rest])
        return Params([weights[0].T, *weights[1:]], _views(flat.b[0], self.bias_shapes))


class FlatState:
    """An optimiser state kept in a workspace's flat layout between steps, given back per layer.

    ``state`` is the state in the optimiser's own structure (one array per W^(h) and
    b^(h)); setting it hands the steps a new one, moved into flat vectors at the next step
    (:meth:`flat_state`), after which the flat vectors are its only copy.
    """

    workspace: FlatLayout | None

    def __init__(self, state: State) -> None:
        self.workspace = None
        self._state: State = state  # None once moved into the flat layout
        self._flat_state: State | None = None  # the state in the workspace's flat layout

    @property
    def state(self) -> State:
        """The optimiser state, one array per W^(h) and b^(h), as ``optimizer.init`` makes it."""
        if self._flat_state is not None and self.workspace is not None:
            return map_params(self._flat_state, self.workspace.unflatten)
        return self._state

    @state.setter
    def state(self, state: State) -> None:
        self._state = state
        self._flat_state = None

    def flat_state(self, layout: FlatLayout) -> State:
        """The state in ``layout``'s flat vectors, moved there (and the per-layer copy let go)
        if it is not there yet."""
        if self._flat_state is None:
            self._flat_state = map_params(self.state, layout.flatten)
            self._state = None
        return self._flat_state


def _views(flat: Array, shapes: Sequence[tuple[int, ...]]) -> list[Array]:
    views, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        views.append(flat[start : start + size].reshape(shape))
        start += size
    return views
