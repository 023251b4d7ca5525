"""The engine's flat layout: every W^(h), then every b^(h), in one vector.

``Params([all W], [all b])`` holds its two parts, and :meth:`FlatLayout.unflatten` gives
the per-layer views back, so one compiled loop over the vector updates every parameter
(and every moment of the optimiser's state).
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

    def __init__(self, net: Network) -> None:
        self.dtype = net.dtype
        self.weight_shapes = [w.shape for w in net.W]
        self.bias_shapes = [v.shape for v in net.b]
        self.n_weights = sum(math.prod(s) for s in self.weight_shapes)

    def flatten(self, tree: Params) -> Params:
        """A copy of parameter-shaped arrays in the flat layout: ``Params([all W], [all b])``."""
        flat = np.concatenate([np.ravel(x) for x in (*tree.W, *tree.b)]).astype(self.dtype, copy=False)
        return Params([flat[: self.n_weights]], [flat[self.n_weights :]])

    def unflatten(self, flat: Params) -> Params:
        """Per-layer views of a flat ``Params([all W], [all b])``: shapes of the network."""
        return Params(_views(flat.W[0], self.weight_shapes), _views(flat.b[0], self.bias_shapes))


class FlatState:
    """An optimiser state kept in a workspace's flat layout between steps, given back per layer.

    ``state`` is the state in the optimiser's own structure (one array per W^(h) and
    b^(h)); setting it hands the steps a new one, moved into flat vectors at the next step.
    """

    workspace: FlatLayout | None

    def __init__(self, state: State) -> None:
        self.workspace = None
        self._state = state
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


def _views(flat: Array, shapes: Sequence[tuple[int, ...]]) -> list[Array]:
    views, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        views.append(flat[start : start + size].reshape(shape))
        start += size
    return views
