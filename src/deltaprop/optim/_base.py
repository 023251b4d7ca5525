"""What every optimiser of :mod:`deltaprop.optim` is made of.

The type of a gradient transformation and of its states, the helpers that map a
function over parameter-shaped trees, :func:`apply_updates` and :func:`global_norm`.
All public names are importable from :mod:`deltaprop.optim`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from deltaprop._types import Grads, Params, State


class GradientTransformation(NamedTuple):
    """An optimiser: ``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``.

    ``spec`` is optional and declarative: ``(name, hyper_parameters)``, which built-in
    transformation ``update`` computes, e.g. ``("momentum", {"learning_rate": 0.1, "beta": 0.9,
    "nesterov": True})``.  :func:`gd`, :func:`momentum`, :func:`adam`, :func:`adamw` (and so
    :func:`by_name`), :func:`clip_by_global_norm` (``("clip_by_global_norm", {"max_norm":
    ...})``) and :func:`chain` (``("chain", {"transforms": (...)})``) set it; a
    transformation of your own leaves it None.  It is how the compiled engine
    (:mod:`deltaprop.engine`) recognises what it can compute itself; with ``spec=None``
    training calls ``update`` and :func:`apply_updates`.  Set it only on a transformation
    whose ``update`` is exactly the named one's.

    Examples
    --------
    >>> from deltaprop.optim import chain, gd
    >>> gd(0.1).spec
    ('gd', {'learning_rate': 0.1})
    >>> chain(gd(0.1)).spec[0]
    'chain'
    """

    init: Callable[[Params], State]
    update: Callable[[Grads, State, Params], tuple[Params, State]]
    spec: tuple[str, dict[str, Any]] | None = None


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
    """Apply ``fn`` leaf by leaf to Params of one structure (a ValueError where they differ)."""
    first, *others = trees
    for tree in others:
        if len(tree.W) != len(first.W) or len(tree.b) != len(first.b):
            raise ValueError(
                f"Parameter trees of different structures: {len(first.W)} and {len(tree.W)} weight "
                f"matrices, {len(first.b)} and {len(tree.b)} bias vectors."
            )
    return Params(list(map(fn, *[tree.W for tree in trees])), list(map(fn, *[tree.b for tree in trees])))


def _zeros_like(params: Params) -> Params:
    return _map(np.zeros_like, params)


def apply_updates(params: Params, updates: Params) -> Params:
    """``params + updates`` as new arrays of the parameters' dtypes (an update of another
    dtype, from a transformation of your own, is cast).

    Examples
    --------
    >>> import numpy as np
    >>> apply_updates(Params([np.ones((1, 2))], [np.zeros(1)]), Params([np.ones((1, 2))], [-np.ones(1)]))
    Params(W=[array([[2., 2.]])], b=[array([-1.])])
    """
    return _map(_add, params, updates)


def _add(p: NDArray[Any], u: Any) -> NDArray[Any]:
    w = p + u
    return w if w.dtype == p.dtype else w.astype(p.dtype)


def global_norm(tree: Params) -> float:
    """sqrt(sum_h ||W^(h)||^2 + ||b^(h)||^2), the norm of all arrays together."""
    return math.hypot(*(float(np.linalg.norm(leaf)) for leaf in [*tree.W, *tree.b]))
