"""The optimiser state as a flat dict of arrays: the format of checkpoints and fitted estimators.

:func:`state_to_arrays` names every array of a state by its path (NamedTuple field
names and list positions joined by dots); :func:`state_from_arrays` rebuilds a state
of a given structure from such a dict, checking every name and shape.  Both are
public as ``deltaprop.optim.state_to_arrays`` and ``deltaprop.optim.state_from_arrays``.
Both walk the state with :func:`map_tree`, as :func:`map_params` does for the
training loop: one walker for every optimiser state.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deltaprop._types import Params, State


def _join(key: str, part: str) -> str:
    return f"{key}.{part}" if key else part


def map_tree(
    tree: Any, fn: Callable[[Any, str], Any], key: str = "", is_leaf: Callable[[Any], bool] | None = None
) -> Any:
    """``tree`` rebuilt with ``fn(leaf, path)`` in place of each leaf.

    NamedTuples, tuples and lists are walked, anything else is a leaf, and so is every
    node ``is_leaf`` is true for.  A path joins NamedTuple field names and list/tuple
    positions with dots, under ``key``.

    >>> map_tree((1, [2, 3]), lambda leaf, path: f"{path}={leaf}")
    ('0=1', ['1.0=2', '1.1=3'])
    """
    if is_leaf is not None and is_leaf(tree):
        return fn(tree, key)
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        children = (map_tree(getattr(tree, name), fn, _join(key, name), is_leaf) for name in tree._fields)
        return type(tree)(*children)
    if isinstance(tree, (tuple, list)):
        return type(tree)(map_tree(child, fn, _join(key, str(i)), is_leaf) for i, child in enumerate(tree))
    return fn(tree, key)


def _is_params(node: Any) -> bool:
    return isinstance(node, Params)


def map_params(state: State, fn: Callable[[Params], Params]) -> State:
    """``state`` with ``fn`` applied to every :class:`Params` in it; steps and the like are kept."""
    return map_tree(state, lambda node, _: fn(node) if isinstance(node, Params) else node, is_leaf=_is_params)


def state_to_arrays(state: State, prefix: str = "") -> dict[str, NDArray[Any]]:
    """A flat dict of arrays for a checkpoint: ``{"step": 0-d int, "velocity.W.0": ..., ...}``.

    Keys are the NamedTuple field names and list/tuple positions joined by dots,
    under ``prefix`` if given (``"optimizer"`` gives ``"optimizer.step"``); a
    :func:`chain`'s states are numbered ``"0.…"``, ``"1.…"``.  ints and floats become
    0-d int64 and float64 arrays.  The arrays are not copied.

    >>> import numpy as np
    >>> from deltaprop.network import Params
    >>> from deltaprop.optim._transforms import adam, momentum
    >>> p = Params([np.zeros((2, 3))], [np.zeros(2)])
    >>> {k: v.shape for k, v in state_to_arrays(momentum(0.1).init(p)).items()}
    {'step': (), 'velocity.W.0': (2, 3), 'velocity.b.0': (2,)}
    """
    arrays: dict[str, NDArray[Any]] = {}

    def store(node: Any, key: str) -> Any:
        if isinstance(node, np.ndarray):
            arrays[key] = node
        elif isinstance(node, numbers.Integral) and not isinstance(node, bool):
            arrays[key] = np.array(node, dtype=np.int64)
        elif isinstance(node, numbers.Real) and not isinstance(node, bool):
            arrays[key] = np.array(node, dtype=np.float64)
        else:
            raise TypeError(
                f"The optimiser state holds a {type(node).__name__} at {key!r}; "
                "expected arrays, ints or floats."
            )
        return node

    map_tree(state, store, prefix)
    return arrays


def state_from_arrays(template: State, arrays: Any, prefix: str = "") -> State:
    """Rebuild a state of ``template``'s structure from :func:`state_to_arrays`'s dict.

    ``template`` is ``opt.init(params)`` for the same optimiser and network; every
    array is copied and cast to the template's dtype.  ``arrays`` may be any
    mapping, an ``np.load``-ed ``.npz`` file included.  Keys outside ``prefix``
    are ignored; a missing key, a key of the wrong shape, or a key under ``prefix``
    that the template does not have raises a ValueError naming it.

    >>> import numpy as np
    >>> from deltaprop.network import Params
    >>> from deltaprop.optim._transforms import adam, momentum
    >>> p = Params([np.zeros((2, 3))], [np.zeros(2)])
    >>> opt = adam()
    >>> saved = state_to_arrays(opt.init(p)._replace(step=5))
    >>> state_from_arrays(opt.init(p), saved).step
    5
    """
    used: set[str] = set()

    def load(node: Any, key: str) -> Any:
        if key not in arrays:
            raise ValueError(f"The optimiser state needs the array {key!r}, which is missing.")
        used.add(key)
        value = np.asarray(arrays[key])
        expected = node.shape if isinstance(node, np.ndarray) else ()
        if value.shape != expected:
            raise ValueError(
                f"The array {key!r} has shape {value.shape}; the optimiser state expects {expected}."
            )
        if isinstance(node, np.ndarray):
            return np.array(value, dtype=node.dtype)
        return int(value) if isinstance(node, numbers.Integral) else float(value)

    state = map_tree(template, load, prefix)
    unexpected = sorted(
        key
        for key in arrays
        if (not prefix or key == prefix or key.startswith(prefix + ".")) and key not in used
    )
    if unexpected:
        raise ValueError(f"The arrays {unexpected} do not belong to this optimiser's state.")
    return state
