"""What every optimiser of :mod:`deltaprop.optim` is made of.

The type of a gradient transformation and of its states, the helpers that map a
function over parameter-shaped trees, :func:`apply_updates` and :func:`global_norm`,
and the blocks in which the in-place steps walk their arrays.  All public names are
importable from :mod:`deltaprop.optim`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from deltaprop._types import Grads, Params, State


class GradientTransformation(NamedTuple):
    """An optimiser: ``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``.

    ``apply_in_place(grads, state, params) -> state`` is optional: the same step done
    in place.  It adds the updates to ``params``, writes the new moments into the
    arrays of ``state`` and returns the state with its step advanced -- bit for bit
    what ``update`` followed by :func:`apply_updates` gives.  It works leaf by leaf, so
    it accepts any arrays of matching shapes, e.g. all parameters as one flat vector.
    """

    init: Callable[[Params], State]
    update: Callable[[Grads, State, Params], tuple[Params, State]]
    apply_in_place: Callable[[Grads, State, Params], State] | None = None


class StepState(NamedTuple):
    """The state of :func:`gd`: the number of updates applied."""

    step: int


class MomentumState(NamedTuple):
    """The state of :func:`momentum`: the step and the velocity v."""

    step: int
    velocity: Params


class AdamState(NamedTuple):
    """The state of :func:`adam` and :func:`adamw`: the step and the moments m, v."""

    step: int
    m: Params
    v: Params


class EmptyState(NamedTuple):
    """The state of a stateless transformation (:func:`clip_by_global_norm`)."""


def _map(fn: Callable[..., NDArray[Any]], *trees: Params) -> Params:
    """Apply ``fn`` leaf by leaf to Params of one structure."""
    return Params(
        [fn(*leaves) for leaves in zip(*(tree.W for tree in trees), strict=True)],
        [fn(*leaves) for leaves in zip(*(tree.b for tree in trees), strict=True)],
    )


def _zeros_like(params: Params) -> Params:
    return _map(np.zeros_like, params)


def _leaves(tree: Params) -> list[NDArray[Any]]:
    return [*tree.W, *tree.b]


# Elements per block of the in-place steps: a block of each array a step touches
# (up to six of them for Adam) fits in a core's L2 cache, and the block is long
# enough that NumPy's per-call overhead stays small next to the work.
BLOCK = 1 << 15


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


def apply_updates(params: Params, updates: Params) -> Params:
    """``params + updates`` as new arrays of the parameters' dtypes.

    Examples
    --------
    >>> import numpy as np
    >>> apply_updates(Params([np.ones((1, 2))], [np.zeros(1)]), Params([np.ones((1, 2))], [-np.ones(1)]))
    Params(W=[array([[2., 2.]])], b=[array([-1.])])
    """
    return _map(lambda p, u: (p + u).astype(p.dtype, copy=False), params, updates)


def global_norm(tree: Params) -> float:
    """sqrt(sum_h ||W^(h)||^2 + ||b^(h)||^2), the norm of all arrays together."""
    return math.hypot(*(float(np.linalg.norm(leaf)) for leaf in [*tree.W, *tree.b]))
