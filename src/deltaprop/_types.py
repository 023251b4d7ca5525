"""The names every module shares for its arrays, parameters and seeds: one home each.

``Params`` is the structure of the lecture's parameters, ``W[h-1]`` = W^(h) of shape
(M_h, M_{h-1}) and ``b[h-1]`` = b^(h) of shape (M_h,); a gradient has the same
structure (``Grads``), and so has every array of an optimiser's state.
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeAlias

import numpy as np
from numpy.typing import NDArray

Array: TypeAlias = NDArray[np.floating]

# A seed, a Generator or a legacy RandomState: turned into one Generator by _checks.as_generator.
RandomState: TypeAlias = int | np.random.Generator | np.random.RandomState | None


class Params(NamedTuple):
    """Network parameters: ``W[h-1]`` is W^(h) (M_h, M_{h-1}), ``b[h-1]`` is b^(h) (M_h,)."""

    W: list[Array]
    b: list[Array]


# The gradient has the parameters' structure: grads.W[h-1] = dL/dW^(h).
Grads: TypeAlias = Params

# An optimiser's state: a NamedTuple of ints, floats and Params, or a tuple of them (chain).
State: TypeAlias = Any
